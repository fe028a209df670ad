"""S3 buckets, each recorded in its own region, with AWS Config's supplementary configuration:
ACL, policy, default encryption, public access block, versioning, logging, ownership controls.

The bucket list is global (one call per scan); each bucket's details are read from its region's
endpoint, fanned out over the scan's detail pool. An answer such as "no bucket policy" is recorded
as absent; a refused call (AccessDenied on one bucket's policy) is an item failure, so that bucket
keeps its previous CI instead of appearing to lose its policy.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, tag_map, to_config, wanted
from vigil.model import ConfigurationItem

BUCKET = "AWS::S3::Bucket"

# Where each piece of supplementary configuration comes from, and the error codes meaning "not set".
# name -> (operation, response key or None for the whole response, "absent" error codes)
SUPPLEMENTARY: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "AccessControlList": ("get_bucket_acl", None, ()),
    "BucketPolicy": ("get_bucket_policy", "Policy", ("NoSuchBucketPolicy",)),
    "ServerSideEncryptionConfiguration": (
        "get_bucket_encryption",
        "ServerSideEncryptionConfiguration",
        ("ServerSideEncryptionConfigurationNotFoundError",),
    ),
    "PublicAccessBlockConfiguration": (
        "get_public_access_block",
        "PublicAccessBlockConfiguration",
        ("NoSuchPublicAccessBlockConfiguration",),
    ),
    "BucketVersioningConfiguration": ("get_bucket_versioning", None, ()),
    "BucketLoggingConfiguration": ("get_bucket_logging", "LoggingEnabled", ()),
    "BucketOwnershipControls": (
        "get_bucket_ownership_controls",
        "OwnershipControls",
        ("OwnershipControlsNotFoundError",),
    ),
}


def buckets(fx: Fetch) -> list[dict[str, Any]]:
    return fx.items("s3", None, "list_buckets", "Buckets")


def bucket_region(fx: Fetch, name: str) -> str:
    """A bucket's region (``GetBucketLocation``; a null constraint means us-east-1)."""

    def fetch() -> str:
        location = fx.client("s3").get_bucket_location(Bucket=name).get("LocationConstraint")
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)

    return fx.memo(("s3", "location", name), fetch)


def _strip_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _supplementary(fx: Fetch, region: str, name: str) -> dict[str, Any]:
    s3 = fx.client("s3", region)
    out: dict[str, Any] = {}
    for label, (operation, key, absent) in SUPPLEMENTARY.items():
        response = fx.optional(partial(getattr(s3, operation), Bucket=name), absent)
        if response is None:
            continue
        value = _strip_metadata(response) if key is None else response.get(key)
        if label == "BucketPolicy":
            out[label] = {"policyText": value}
        elif label == "BucketVersioningConfiguration":
            out[label] = {
                "status": response.get("Status", "Off"),
                "isMfaDeleteEnabled": {"Enabled": True, "Disabled": False}.get(response.get("MFADelete", "")),
            }
        elif label == "BucketLoggingConfiguration":
            value = value or {}
            out[label] = {
                "destinationBucketName": value.get("TargetBucket"),
                "logFilePrefix": value.get("TargetPrefix"),
            }
        elif value is not None:
            out[label] = to_config(value)
    return out


def _tags(fx: Fetch, region: str, name: str) -> dict[str, str]:
    s3 = fx.client("s3", region)
    response = fx.optional(lambda: s3.get_bucket_tagging(Bucket=name), ("NoSuchTagSet",))
    return tag_map((response or {}).get("TagSet"))


def collect_buckets(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    candidates = [b for b in buckets(fx) if wanted(ids, b["Name"], f"arn:{fx.partition}:s3:::{b['Name']}")]
    # ListBuckets names each bucket's region (BucketRegion) since 2024; older endpoints need a call each.
    regions = fx.parallel(lambda b: b.get("BucketRegion") or bucket_region(fx, b["Name"]), candidates)
    here = [b for b, r in zip(candidates, regions, strict=True) if r == region]

    def one(bucket: dict[str, Any]) -> ConfigurationItem:
        name = bucket["Name"]
        return make_ci(
            fx,
            BUCKET,
            region,
            name,
            name=name,
            arn=f"arn:{fx.partition}:s3:::{name}",
            configuration={
                "name": name,
                "owner": to_config(_owner(fx)),
                "creationDate": to_config(bucket.get("CreationDate")),
            },
            tags=_tags(fx, region, name),
            supplementary=_supplementary(fx, region, name),
            created=bucket.get("CreationDate"),
        )

    return fx.each(here, one, lambda b: str(b["Name"]))


def _owner(fx: Fetch) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        return dict(fx.client("s3").list_buckets().get("Owner") or {})

    return fx.memo(("s3", "owner"), fetch)
