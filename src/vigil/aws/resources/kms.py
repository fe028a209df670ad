"""KMS keys: metadata, rotation status, key policy and tags.

Every key in the region is recorded (``configuration.keyManager`` tells customer keys from AWS
keys, as rules need). A key pending deletion or disabled has no readable rotation status; that is a
state, not an error, and is recorded as ``null``.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, tag_map, to_config, wanted
from vigil.model import ConfigurationItem

KEY = "AWS::KMS::Key"
NO_ROTATION_STATE = ("KMSInvalidStateException", "UnsupportedOperationException")


def collect_keys(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    listed = [k for k in fx.items("kms", region, "list_keys", "Keys") if wanted(ids, k["KeyId"], k["KeyArn"])]
    kms = fx.client("kms", region)

    def one(entry: dict[str, Any]) -> ConfigurationItem:
        key_id = entry["KeyId"]
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        customer = meta.get("KeyManager") == "CUSTOMER"
        rotation = fx.optional(lambda: kms.get_key_rotation_status(KeyId=key_id), NO_ROTATION_STATE)
        policy = kms.get_key_policy(KeyId=key_id, PolicyName="default").get("Policy")
        tags = (
            tag_map(fx.items("kms", region, "list_resource_tags", "Tags", KeyId=key_id)) if customer else {}
        )
        aliases = [
            a["AliasName"]
            for a in fx.items("kms", region, "list_aliases", "Aliases")
            if a.get("TargetKeyId") == key_id
        ]
        return make_ci(
            fx,
            KEY,
            region,
            key_id,
            name=aliases[0] if aliases else None,
            arn=meta.get("Arn") or entry["KeyArn"],
            configuration=to_config(meta),
            tags=tags,
            supplementary={
                "KeyRotationStatus": None if rotation is None else bool(rotation.get("KeyRotationEnabled")),
                "KeyPolicy": {"policyText": policy},
                "Aliases": aliases,
            },
            created=meta.get("CreationDate"),
        )

    return fx.each(listed, one, lambda k: str(k["KeyId"]))
