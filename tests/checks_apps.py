"""Recording checks for RDS, Lambda, load balancers, EFS; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

import json
from collections.abc import Callable

from recorded import Recorded, rels
from vigil.model import ConfigurationItem


def one(r: Recorded, resource_type: str, ref: str) -> ConfigurationItem:
    """The first region's item known by ``ref`` (names repeat in every region of the estate)."""
    found = [c for c in r.of(resource_type, r.estate.first.region) if ref in (c.resourceId, c.resourceName)]
    assert len(found) == 1, f"{resource_type} {ref}: {len(found)} found"
    return found[0]


def check_db_instance(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    public = one(r, "AWS::RDS::DBInstance", first.db_instances["public"])
    config = public.configuration
    # AWS Config's resourceId is the DbiResourceId; moto gives every instance the same one, so the
    # collector falls back to the identifier (the DbiResourceId path is tested with AWS's shape).
    assert config["dbiResourceId"].startswith("db-")
    assert public.resourceId == public.resourceName == "orders-db-0"
    assert public.arn == f"arn:aws:rds:{first.region}:{account}:db:orders-db-0"
    assert (config["publiclyAccessible"], config["storageEncrypted"], config["engine"]) == (
        True,
        False,
        "postgres",
    )
    assert config["dBSubnetGroup"]["dBSubnetGroupName"] == "app-db-0"
    assert {s["subnetIdentifier"] for s in config["dBSubnetGroup"]["subnets"]} == {
        first.public_subnet,
        first.private_subnet,
    }
    assert public.tags == {"env": "prod", "owner": "platform-team", "data-classification": "confidential"}
    assert public.availabilityZone == config["availabilityZone"]
    assert public.resourceCreationTime == config["instanceCreateTime"]
    assert rels(public) == {
        ("Is associated with SecurityGroup", "AWS::EC2::SecurityGroup", first.groups["db"]),
        ("Is associated with DBSubnetGroup", "AWS::RDS::DBSubnetGroup", "app-db-0"),
    }
    private = one(r, "AWS::RDS::DBInstance", first.db_instances["private"])
    assert (private.configuration["publiclyAccessible"], private.configuration["storageEncrypted"]) == (
        False,
        True,
    )
    assert ("Is associated with Key", "AWS::KMS::Key", first.keys["rotated"]) in rels(private)
    # One public instance per copy in every region, the private one in each region's first copy.
    names = sorted(c.resourceName or "" for c in r.of("AWS::RDS::DBInstance", first.region))
    assert names == ["ledger-db-0", "orders-db-0"]


def check_db_snapshot(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    snap = one(r, "AWS::RDS::DBSnapshot", first.db_snapshots["public"])
    assert snap.resourceId == snap.resourceName == "orders-db-0-before-migration"
    assert snap.arn == f"arn:aws:rds:{first.region}:{account}:snapshot:orders-db-0-before-migration"
    config = snap.configuration
    assert (config["dBInstanceIdentifier"], config["snapshotType"], config["encrypted"]) == (
        "orders-db-0",
        "manual",
        False,
    )
    assert snap.supplementaryConfiguration == {
        "DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": ["all"]}]
    }
    assert snap.tags == {"env": "prod"}
    assert snap.resourceCreationTime == config["snapshotCreateTime"]
    assert rels(snap) == {("Is associated with Vpc", "AWS::EC2::VPC", first.vpc)}
    # Automated snapshots (moto makes one per instance) are not recorded.
    assert [c.resourceId for c in r.of("AWS::RDS::DBSnapshot", first.region)] == [snap.resourceId]


def check_function(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    name = first.functions["public_invoke"]
    fn = one(r, "AWS::Lambda::Function", name)
    arn = f"arn:aws:lambda:{first.region}:{account}:function:{name}"
    assert (fn.resourceId, fn.resourceName, fn.arn) == (name, name, arn)
    config = fn.configuration
    assert (config["runtime"], config["handler"], config["functionArn"]) == (
        "python3.12",
        "index.handler",
        arn,
    )
    assert config["environment"] == {"variables": {"STAGE": "prod"}}
    role_arn = f"arn:aws:iam::{account}:role/service-role/orders-webhook-{first.region}-0"
    assert config["role"] == role_arn
    policy = json.loads(fn.supplementaryConfiguration["Policy"]["policyText"])
    assert policy["Statement"] == [
        {
            "Sid": "public-invoke",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
        }
    ]
    assert fn.tags == {"env": "prod", "owner": "platform-team"}
    role = [c for c in r.of("AWS::IAM::Role") if c.arn == role_arn]
    assert len(role) == 1
    assert rels(fn) == {("Is associated with Role", "AWS::IAM::Role", role[0].resourceId)}


def check_load_balancer(r: Recorded) -> None:
    first = r.estate.first
    arn = first.load_balancers["web"]
    lb = one(r, "AWS::ElasticLoadBalancingV2::LoadBalancer", arn)
    assert (lb.resourceId, lb.resourceName, lb.arn) == (arn, "web-alb-0", arn)
    config = lb.configuration
    assert (config["scheme"], config["type"], config["vpcId"]) == (
        "internet-facing",
        "application",
        first.vpc,
    )
    assert lb.availabilityZone == "Multiple Availability Zones"
    assert lb.tags == {"env": "prod", "owner": "platform-team"}
    assert lb.resourceCreationTime == config["createdTime"]
    sup = lb.supplementaryConfiguration
    (listener,) = sup["Listeners"]
    assert (listener["protocol"], listener["port"]) == ("HTTP", 80)
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": first.target_groups["web"]}]
    (group,) = sup["TargetGroups"]
    assert (group["targetGroupArn"], group["protocol"], group["port"], group["healthCheckPath"]) == (
        first.target_groups["web"],
        "HTTP",
        80,
        "/health",
    )
    assert [(t["target"]["id"], t["target"]["port"]) for t in group["targetHealthDescriptions"]] == [
        (first.instances["web"], 80)
    ]
    attributes = {a["key"]: a["value"] for a in sup["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "false"
    assert rels(lb) == {
        ("Is associated with SecurityGroup", "AWS::EC2::SecurityGroup", first.groups["web"]),
        ("Is contained in Subnet", "AWS::EC2::Subnet", first.public_subnet),
        ("Is contained in Subnet", "AWS::EC2::Subnet", first.private_subnet),
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with Instance", "AWS::EC2::Instance", first.instances["web"]),
    }


def check_file_system(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    fs_id = first.file_systems["shared"]
    fs = one(r, "AWS::EFS::FileSystem", fs_id)
    assert (fs.resourceId, fs.resourceName) == (fs_id, "shared-0")
    assert fs.arn == f"arn:aws:elasticfilesystem:{first.region}:{account}:file-system/{fs_id}"
    config = fs.configuration
    assert (config["encrypted"], config["performanceMode"], config["numberOfMountTargets"]) == (
        False,
        "generalPurpose",
        1,
    )
    assert "kmsKeyId" not in config
    assert fs.tags == {"Name": "shared-0", "env": "prod", "data-classification": "internal"}
    sup = fs.supplementaryConfiguration
    assert (sup["BackupPolicy"], sup["FileSystemPolicy"]) == (None, None)
    (mount,) = sup["MountTargets"]
    assert (mount["subnetId"], mount["vpcId"], mount["fileSystemId"]) == (
        first.private_subnet,
        first.vpc,
        fs_id,
    )
    assert rels(fs) == {
        ("Is associated with Subnet", "AWS::EC2::Subnet", first.private_subnet),
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
    }
    assert fs.resourceCreationTime == config["creationTime"]


CHECKS: dict[str, Callable[[Recorded], None]] = {
    "AWS::RDS::DBInstance": check_db_instance,
    "AWS::RDS::DBSnapshot": check_db_snapshot,
    "AWS::Lambda::Function": check_function,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": check_load_balancer,
    "AWS::EFS::FileSystem": check_file_system,
}
