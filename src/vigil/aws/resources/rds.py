"""RDS DB instances and manual DB snapshots, named as AWS Config names them.

A DB instance's ``resourceId`` is its ``DbiResourceId`` (``db-…``, stable across renames) and its
``resourceName`` the instance identifier; a snapshot is known by its identifier for both. Both
describe calls return the tags (``TagList``), so an instance costs no call of its own and a snapshot
one (``describe_db_snapshot_attributes``: who may restore it; ``all`` means anyone, a public
snapshot). Only manual snapshots are recorded: automated ones cannot be shared and come and go daily.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.model import ConfigurationItem, Relationship

DB_INSTANCE = "AWS::RDS::DBInstance"
DB_SNAPSHOT = "AWS::RDS::DBSnapshot"
DB_SUBNET_GROUP = "AWS::RDS::DBSubnetGroup"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
VPC = "AWS::EC2::VPC"
KMS_KEY = "AWS::KMS::Key"

# Moves every five minutes with the continuous backup, without any change of configuration.
INSTANCE_VOLATILE = ("configuration.latestRestorableTime",)


def rds_config(value: Any) -> Any:
    """An RDS answer as AWS Config writes it: only the first letter of each key lowered
    (``DBInstanceIdentifier`` → ``dBInstanceIdentifier``, ``CACertificateIdentifier`` →
    ``cACertificateIdentifier``), then times and tags as every type (``to_config``)."""

    def keys(node: Any) -> Any:
        if isinstance(node, dict):
            return {k[:1].lower() + k[1:]: keys(v) for k, v in node.items()}
        if isinstance(node, list):
            return [keys(v) for v in node]
        return node

    return to_config(keys(value))


def db_instances(fx: Fetch, region: str) -> list[dict[str, Any]]:
    """Every DB instance of the region (memoised: snapshots look up their instance's VPC here)."""
    return fx.items("rds", region, "describe_db_instances", "DBInstances")


def _instance_rels(fx: Fetch, region: str, db: dict[str, Any]) -> list[Relationship]:
    rels = [
        rel(SECURITY_GROUP, g["VpcSecurityGroupId"], "Is associated with SecurityGroup")
        for g in db.get("VpcSecurityGroups", [])
    ]
    group = db.get("DBSubnetGroup", {}).get("DBSubnetGroupName")
    if group:
        rels.append(rel(DB_SUBNET_GROUP, group, "Is associated with DBSubnetGroup", group))
    if db.get("StorageEncrypted"):
        rels += key_relationships(fx, region, db.get("KmsKeyId"))
    return rels


def resource_ids(dbs: list[dict[str, Any]]) -> dict[str, str]:
    """Instance identifier → ``resourceId``: the ``DbiResourceId``, which AWS keeps unique per
    instance. An answer where two instances share one (moto gives every instance the same) cannot
    key a store, so those instances fall back to their identifiers, unique in a region too."""
    counts = Counter(db.get("DbiResourceId") for db in dbs)
    return {
        db["DBInstanceIdentifier"]: db["DbiResourceId"]
        if db.get("DbiResourceId") and counts[db["DbiResourceId"]] == 1
        else db["DBInstanceIdentifier"]
        for db in dbs
    }


def collect_db_instances(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    dbs = db_instances(fx, region)
    keys = resource_ids(dbs)
    for db in dbs:
        name, arn = db["DBInstanceIdentifier"], db.get("DBInstanceArn")
        rid = keys[name]
        if not wanted(ids, rid, name, arn):
            continue
        batch.cis.append(
            make_ci(
                fx,
                DB_INSTANCE,
                region,
                rid,
                name=name,
                arn=arn or fx.arn("rds", region, f"db:{name}"),
                configuration=rds_config(db),
                tags=tag_map(db.get("TagList")),
                relationships=_instance_rels(fx, region, db),
                availability_zone=db.get("AvailabilityZone"),
                created=db.get("InstanceCreateTime"),
            )
        )
    return batch


def _snapshot_vpc(fx: Fetch, region: str, snap: dict[str, Any]) -> str | None:
    """The snapshot's VPC: AWS returns ``VpcId``; without it (an emulator), its instance's VPC."""
    if snap.get("VpcId"):
        return str(snap["VpcId"])
    for db in db_instances(fx, region):
        if db["DBInstanceIdentifier"] == snap.get("DBInstanceIdentifier"):
            return db.get("DBSubnetGroup", {}).get("VpcId")
    return None


def collect_db_snapshots(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    snapshots = [
        s
        for s in fx.items("rds", region, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual")
        if wanted(ids, s["DBSnapshotIdentifier"], s.get("DBSnapshotArn"))
    ]
    client = fx.client("rds", region)

    def one(snap: dict[str, Any]) -> ConfigurationItem:
        name = snap["DBSnapshotIdentifier"]
        attributes = client.describe_db_snapshot_attributes(DBSnapshotIdentifier=name)
        vpc = _snapshot_vpc(fx, region, snap)
        rels = [rel(VPC, vpc, "Is associated with Vpc")] if vpc else []
        if snap.get("Encrypted"):
            rels += key_relationships(fx, region, snap.get("KmsKeyId"))
        return make_ci(
            fx,
            DB_SNAPSHOT,
            region,
            name,
            name=name,
            arn=snap.get("DBSnapshotArn") or fx.arn("rds", region, f"snapshot:{name}"),
            configuration=rds_config(snap),
            tags=tag_map(snap.get("TagList")),
            relationships=rels,
            supplementary={
                "DBSnapshotAttributes": rds_config(
                    attributes["DBSnapshotAttributesResult"].get("DBSnapshotAttributes", [])
                )
            },
            created=snap.get("SnapshotCreateTime"),
        )

    return fx.each(snapshots, one, lambda s: str(s["DBSnapshotIdentifier"]))
