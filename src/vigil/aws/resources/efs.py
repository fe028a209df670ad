"""EFS file systems: encryption and key, backup policy, file system policy, mount targets.

``describe_file_systems`` returns encryption, the KMS key, throughput settings and tags; each file
system then costs three calls: its mount targets (where it is reachable from), its backup policy and
its file system policy. "No policy" answers ``PolicyNotFound`` and is recorded as ``null``.
Relationships: ``Is associated with Subnet`` per mount target, ``Is contained in Vpc`` (all mount
targets of a file system share one VPC), ``Is associated with Key`` when encrypted.

A CloudTrail record about a mount target (``ModifyMountTargetSecurityGroups``, ``DeleteMountTarget``)
names only the mount target; ``file_systems_of`` maps it to its file system, and one that no longer
exists re-records every file system of the region (a deleted mount target names nothing else).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.model import ConfigurationItem, Relationship

FILE_SYSTEM = "AWS::EFS::FileSystem"
NO_POLICY = ("PolicyNotFound",)
NO_MOUNT_TARGET = ("MountTargetNotFound",)
# The metered size (and its timestamp) changes with every write to the file system.
VOLATILE = ("configuration.sizeInBytes",)


def file_systems_of(fx: Fetch, region: str, ids: frozenset[str] | None) -> frozenset[str] | None:
    """``ids`` with mount target ids replaced by their file systems' ids (``None``: all)."""
    if ids is None:
        return None
    client = fx.client("efs", region)
    out = {ref for ref in ids if not ref.startswith("fsmt-")}
    for ref in ids - out:
        found = fx.optional(partial(client.describe_mount_targets, MountTargetId=ref), NO_MOUNT_TARGET)
        if found is None or not found.get("MountTargets"):
            return None
        out.update(m["FileSystemId"] for m in found["MountTargets"])
    return frozenset(out)


def _relationships(
    fx: Fetch, region: str, fs: dict[str, Any], mounts: list[dict[str, Any]]
) -> list[Relationship]:
    rels = [rel("AWS::EC2::Subnet", m["SubnetId"], "Is associated with Subnet") for m in mounts]
    rels += [rel("AWS::EC2::VPC", v, "Is contained in Vpc") for v in {m.get("VpcId") for m in mounts} if v]
    if fs.get("Encrypted"):
        rels += key_relationships(fx, region, fs.get("KmsKeyId"))
    return rels


def collect_file_systems(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    refs = file_systems_of(fx, region, ids)
    systems = [
        fs
        for fs in fx.items("efs", region, "describe_file_systems", "FileSystems")
        if wanted(refs, fs["FileSystemId"], fs.get("FileSystemArn"), fs.get("Name"))
    ]
    client = fx.client("efs", region)

    def one(fs: dict[str, Any]) -> ConfigurationItem:
        fs_id = fs["FileSystemId"]
        mounts = fx.items("efs", region, "describe_mount_targets", "MountTargets", FileSystemId=fs_id)
        backup = fx.optional(lambda: client.describe_backup_policy(FileSystemId=fs_id), NO_POLICY)
        policy = fx.optional(lambda: client.describe_file_system_policy(FileSystemId=fs_id), NO_POLICY)
        return make_ci(
            fx,
            FILE_SYSTEM,
            region,
            fs_id,
            name=fs.get("Name") or None,
            arn=fs.get("FileSystemArn") or fx.arn("elasticfilesystem", region, f"file-system/{fs_id}"),
            configuration=to_config(fs),
            tags=tag_map(fs.get("Tags")),
            relationships=_relationships(fx, region, fs, mounts),
            supplementary={
                "BackupPolicy": None if backup is None else to_config(backup.get("BackupPolicy")),
                "FileSystemPolicy": None if policy is None else {"policyText": policy.get("Policy")},
                "MountTargets": to_config(mounts),
            },
            created=fs.get("CreationTime"),
        )

    return fx.each(systems, one, lambda fs: str(fs["FileSystemId"]))
