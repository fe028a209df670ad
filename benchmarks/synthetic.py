"""Synthetic but realistic configuration items for the store benchmarks.

Each CI looks like what the recorder writes for an EC2 security group: a ``configuration`` of about
1.7 KB (four ingress rules with CIDR ranges and a group pair, one egress rule, the tag list AWS
repeats inside the configuration), three tags and two relationships. ``revision`` changes the
description of the first rule and one port, so the same resource at another revision has a different
content hash (a new history row) while everything else stays put.

Generation is deterministic: resource ``i`` of account ``a`` is the same on every run.
"""

from __future__ import annotations

import random
from typing import Any

from vigil.model import ConfigurationItem, Relationship

SECURITY_GROUP = "AWS::EC2::SecurityGroup"
REGION = "eu-west-1"
OWNERS = ("platform-team", "payments-team", "data-team")
ACCOUNT_BASE = 200_000_000_000


def account_id(unit: int) -> str:
    """The account of collection unit ``unit``: one account per unit keeps every unit its own scope."""
    return str(ACCOUNT_BASE + unit)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _rule(rng: random.Random, port: int, description: str) -> dict[str, Any]:
    cidrs = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24" for _ in range(2)]
    return {
        "fromPort": port,
        "toPort": port,
        "ipProtocol": "tcp",
        "ipv6Ranges": [],
        "prefixListIds": [],
        "userIdGroupPairs": [],
        "ipv4Ranges": [{"cidrIp": cidr, "description": description} for cidr in cidrs],
        "ipRanges": cidrs,
    }


def security_group(account: str, index: int, revision: int = 0) -> ConfigurationItem:
    """Security group ``index`` of ``account``, as recorded at ``revision``."""
    rng = random.Random(f"{account}/{index}")
    group_id = f"sg-{_hex(rng, 17)}"
    vpc_id = f"vpc-{_hex(rng, 17)}"
    eni_id = f"eni-{_hex(rng, 17)}"
    owner = OWNERS[index % len(OWNERS)]
    env = "prod" if index % 2 == 0 else "dev"
    name = f"{env}-app-{index}"
    tags = {"Name": name, "env": env, "owner": owner}
    ingress = [
        _rule(rng, 443, f"https from partners (rev {revision})"),
        _rule(rng, 8080 + revision % 10, "internal load balancer health checks"),
        _rule(rng, 22, "ssh from the office range"),
        _rule(rng, 5432, "database from the application tier"),
    ]
    ingress[3]["userIdGroupPairs"] = [{"groupId": f"sg-{_hex(rng, 17)}", "userId": account}]
    egress = [
        {
            "ipProtocol": "-1",
            "ipv6Ranges": [],
            "prefixListIds": [],
            "userIdGroupPairs": [],
            "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}],
            "ipRanges": ["0.0.0.0/0"],
        }
    ]
    configuration = {
        "description": f"Application tier security group for {owner} ({env})",
        "groupName": name,
        "ipPermissions": ingress,
        "ownerId": account,
        "groupId": group_id,
        "ipPermissionsEgress": egress,
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
        "vpcId": vpc_id,
    }
    return ConfigurationItem(
        accountId=account,
        awsRegion=REGION,
        resourceType=SECURITY_GROUP,
        resourceId=group_id,
        resourceName=name,
        arn=f"arn:aws:ec2:{REGION}:{account}:security-group/{group_id}",
        configurationItemCaptureTime="",
        tags=tags,
        relationships=(
            Relationship("AWS::EC2::VPC", vpc_id, "Is contained in Vpc"),
            Relationship("AWS::EC2::NetworkInterface", eni_id, "Is associated with NetworkInterface"),
        ),
        configuration=configuration,
    )


def unit_cis(unit: int, size: int, revision: int = 0) -> list[ConfigurationItem]:
    """The ``size`` CIs of one collection unit (one account), at ``revision``."""
    account = account_id(unit)
    return [security_group(account, i, revision) for i in range(size)]
