"""KMS keys: metadata, rotation status, key policy and tags.

Every key in the region is recorded (``configuration.keyManager`` tells customer keys from AWS
keys, as rules need). A key pending deletion or disabled has no readable rotation status; that is a
state, not an error, and is recorded as ``null``.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.model import ConfigurationItem, Relationship

KEY = "AWS::KMS::Key"


def key_id(fx: Fetch, region: str, ref: str | None) -> str | None:
    """The id of the key a reference names: a key id, a key ARN, an alias name or an alias ARN.

    Other accounts' keys name nothing recorded here (relationships stay within the account); aliases
    are looked up in the region's memoised ``ListAliases`` (the call the key collector makes)."""
    if not ref or (ref.startswith("arn:") and ref.split(":")[4] != fx.account_id):
        return None
    if ":key/" in ref:
        return ref.rsplit("/", 1)[1]
    alias = ref.split(":", 5)[5] if ref.startswith("arn:") else ref
    if alias.startswith("alias/"):
        for entry in fx.items("kms", region, "list_aliases", "Aliases"):
            if entry.get("AliasName") == alias:
                return entry.get("TargetKeyId")
        return None
    return ref


def key_relationships(fx: Fetch, region: str, ref: str | None) -> list[Relationship]:
    """``Is associated with Key`` for the key a resource is encrypted with (none when not told)."""
    found = key_id(fx, region, ref)
    return [rel(KEY, found, "Is associated with Key")] if found else []


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
