"""Storage: KMS keys and S3 buckets."""

from __future__ import annotations

from typing import Any

from vigil.demo.estate.model import OWNERS, RegionEstate


def seed_keys(kms: Any, i: int, out: RegionEstate) -> None:
    rotated = kms.create_key(
        Description=f"application data key {i}", Tags=[{"TagKey": "env", "TagValue": "prod"}]
    )["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_alias(AliasName=f"alias/app-data-{i}", TargetKeyId=rotated)
    unrotated = kms.create_key(Description=f"legacy key {i}", Tags=[{"TagKey": "env", "TagValue": "dev"}])[
        "KeyMetadata"
    ]["KeyId"]
    if i == 0:
        out.keys = {"rotated": rotated, "unrotated": unrotated}


def seed_buckets(s3: Any, account_id: str, region: str, i: int, out: RegionEstate) -> None:
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    names = {
        "logs": f"vigil-demo-logs-{account_id}-{region}-{i}",
        "data": f"vigil-demo-data-{account_id}-{region}-{i}",
        "public": f"vigil-demo-public-{account_id}-{region}-{i}",
        "unencrypted": f"vigil-demo-raw-{account_id}-{region}-{i}",
    }
    for role, name in names.items():
        s3.create_bucket(Bucket=name, **location)
        tags = [
            {"Key": "owner", "Value": OWNERS[i % len(OWNERS)]},
            {
                "Key": "data-classification",
                "Value": {"public": "public", "data": "confidential"}.get(role, "internal"),
            },
        ]
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        if role != "unencrypted":
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms" if role == "data" else "AES256"
                            }
                        }
                    ]
                },
            )
        if role in ("logs", "data"):
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
        if role == "public":
            s3.put_bucket_acl(Bucket=name, ACL="public-read")
    if i == 0:
        out.buckets = names
