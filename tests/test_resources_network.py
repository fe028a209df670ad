"""Network types and IAM groups: CloudTrail records map to the right resources, and the collectors
follow AWS's documented shapes where moto does not go (cross-account peering, copied snapshots,
a snapshot whose permissions cannot be read).

Records are real where the shared samples have them (stratus-red-team detonation logs, the AWS
CloudTrail user guide's examples, see ../shared/data/INDEX.md); the others are built in the shape
CloudTrail logs EC2 calls (lowerCamel query parameters; ``<Action>Request``/``<Action>Response``
wrappers for the newer calls).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

import offline
from conftest import SHARED_DATA
from vigil.aws.events_map import Target, targets
from vigil.aws.resources import ec2, iam
from vigil.aws.resources.base import Fetch
from vigil.model import GLOBAL_REGION

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "us-east-1"
STRATUS = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"
DOC_EXAMPLES = SHARED_DATA / "cloudtrail" / "aws-docs-examples.jsonl"
needs_samples = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)


def ec2_record(name: str, request: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any]:
    return offline.api_record("ec2.amazonaws.com", name, request, response, region=REGION)


def stratus(technique: str, event_name: str) -> dict[str, Any]:
    found = [
        r for r in json.loads((STRATUS / f"{technique}.json").read_text()) if r["eventName"] == event_name
    ]
    assert found, f"{event_name} not in {technique}"
    return found[0]


# -- CloudTrail record → resources ----------------------------------------------------------------


@needs_samples
def test_sharing_a_snapshot_re_records_the_snapshot() -> None:
    event = stratus("aws.exfiltration.ec2-share-ebs-snapshot", "ModifySnapshotAttribute")
    assert targets(event) == [Target("AWS::EC2::Snapshot", event["awsRegion"], "snap-041993b54a9b3af6f")]


def test_create_snapshot_names_the_new_snapshot_not_the_volume() -> None:
    event = ec2_record(
        "CreateSnapshot",
        {"volumeId": "vol-0123456789abcdef0", "description": "nightly"},
        {"snapshotId": "snap-0123456789abcdef0", "volumeId": "vol-0123456789abcdef0", "status": "pending"},
    )
    assert targets(event) == [Target("AWS::EC2::Snapshot", REGION, "snap-0123456789abcdef0")]


@needs_samples
def test_deleting_a_flow_log_re_records_it() -> None:
    event = stratus("aws.defense-evasion.vpc-remove-flow-logs", "DeleteFlowLogs")
    assert targets(event) == [Target("AWS::EC2::FlowLog", event["awsRegion"], "fl-0e17aa62a21d4bbfe")]


def test_create_flow_logs_names_every_new_flow_log() -> None:
    event = ec2_record(
        "CreateFlowLogs",
        {
            "CreateFlowLogsRequest": {
                "ResourceId": {"content": "vpc-0a1b2c3d", "tag": 1},
                "TrafficType": "ALL",
            }
        },
        {
            "CreateFlowLogsResponse": {
                "flowLogIdSet": {"item": ["fl-0aaa1111", "fl-0bbb2222"]},
                "unsuccessful": "",
                "requestId": "0f8d2c4e-1111-2222-3333-444455556666",
            }
        },
    )
    assert targets(event) == [
        Target("AWS::EC2::FlowLog", REGION, "fl-0aaa1111"),
        Target("AWS::EC2::FlowLog", REGION, "fl-0bbb2222"),
    ]


def test_create_nat_gateway() -> None:
    event = ec2_record(
        "CreateNatGateway",
        {"CreateNatGatewayRequest": {"AllocationId": "eipalloc-0abcdefa", "SubnetId": "subnet-0ababab"}},
        {
            "CreateNatGatewayResponse": {
                "natGateway": {
                    "subnetId": "subnet-0ababab",
                    "natGatewayAddressSet": {
                        "item": {"allocationId": "eipalloc-0abcdefa", "networkInterfaceId": "eni-0adadad"}
                    },
                    "vpcId": "vpc-0abababa",
                    "natGatewayId": "nat-00000001111111111",
                    "state": "pending",
                },
                "requestId": "d615c5f3-4ad2-40ba-97d7-951d050607f6",
            }
        },
    )
    assert targets(event) == [Target("AWS::EC2::NatGateway", REGION, "nat-00000001111111111")]
    deleted = ec2_record(
        "DeleteNatGateway",
        {"DeleteNatGatewayRequest": {"NatGatewayId": "nat-00000001111111111"}},
        {"DeleteNatGatewayResponse": {"natGatewayId": "nat-00000001111111111"}},
    )
    assert targets(deleted) == [Target("AWS::EC2::NatGateway", REGION, "nat-00000001111111111")]


def test_elastic_ip_events_name_the_allocation_or_the_address() -> None:
    allocated = ec2_record(
        "AllocateAddress",
        {"domain": "vpc"},
        {"publicIp": "203.0.113.25", "domain": "vpc", "allocationId": "eipalloc-0f1e2d3c4b5a69788"},
    )
    assert targets(allocated) == [Target("AWS::EC2::EIP", REGION, "eipalloc-0f1e2d3c4b5a69788")]
    associated = ec2_record(
        "AssociateAddress",
        {"allocationId": "eipalloc-0f1e2d3c4b5a69788", "instanceId": "i-0123456789abcdef0"},
        {"associationId": "eipassoc-0aa11bb22cc33dd44", "_return": True},
    )
    # the address and the instance it now sits on (whose relationships name it)
    assert set(targets(associated)) == {
        Target("AWS::EC2::EIP", REGION, "eipalloc-0f1e2d3c4b5a69788"),
        Target("AWS::EC2::Instance", REGION, "i-0123456789abcdef0"),
    }
    by_address = ec2_record("ReleaseAddress", {"publicIp": "203.0.113.25"}, {"_return": True})
    assert targets(by_address) == [Target("AWS::EC2::EIP", REGION, "203.0.113.25")]


def test_peering_events() -> None:
    created = ec2_record(
        "CreateVpcPeeringConnection",
        {"vpcId": "vpc-0aaa1111", "peerVpcId": "vpc-0bbb2222"},
        {
            "vpcPeeringConnection": {
                "vpcPeeringConnectionId": "pcx-0f1e2d3c4b5a69788",
                "requesterVpcInfo": {"vpcId": "vpc-0aaa1111", "ownerId": ACCOUNT},
                "accepterVpcInfo": {"vpcId": "vpc-0bbb2222", "ownerId": ACCOUNT},
                "status": {"code": "initiating-request"},
            }
        },
    )
    assert targets(created) == [Target("AWS::EC2::VPCPeeringConnection", REGION, "pcx-0f1e2d3c4b5a69788")]
    accepted = ec2_record(
        "AcceptVpcPeeringConnection", {"vpcPeeringConnectionId": "pcx-0f1e2d3c4b5a69788"}, None
    )
    assert targets(accepted) == [Target("AWS::EC2::VPCPeeringConnection", REGION, "pcx-0f1e2d3c4b5a69788")]


def test_tagging_names_each_network_type_by_its_prefix() -> None:
    event = ec2_record(
        "CreateTags",
        {
            "resourcesSet": {
                "items": [
                    {"resourceId": "snap-0a1"},
                    {"resourceId": "nat-0b2"},
                    {"resourceId": "eipalloc-0c3"},
                    {"resourceId": "fl-0d4"},
                    {"resourceId": "pcx-0e5"},
                ]
            },
            "tagSet": {"items": [{"key": "owner", "value": "platform-team"}]},
        },
        {"_return": True},
    )
    assert set(targets(event)) == {
        Target("AWS::EC2::Snapshot", REGION, "snap-0a1"),
        Target("AWS::EC2::NatGateway", REGION, "nat-0b2"),
        Target("AWS::EC2::EIP", REGION, "eipalloc-0c3"),
        Target("AWS::EC2::FlowLog", REGION, "fl-0d4"),
        Target("AWS::EC2::VPCPeeringConnection", REGION, "pcx-0e5"),
    }


@pytest.mark.skipif(not DOC_EXAMPLES.is_file(), reason="the shared CloudTrail samples are not available")
def test_adding_a_user_to_a_group_re_records_both() -> None:
    """The CloudTrail user guide's own AddUserToGroup example."""
    events = [json.loads(line)["event"] for line in DOC_EXAMPLES.read_text().splitlines() if line.strip()]
    (event,) = [e for e in events if e.get("eventName") == "AddUserToGroup"]
    assert set(targets(event)) == {
        Target("AWS::IAM::Group", GLOBAL_REGION, "admin"),
        Target("AWS::IAM::User", GLOBAL_REGION, "Bob"),
    }


def test_put_group_policy_names_the_group() -> None:
    event = {
        "eventSource": "iam.amazonaws.com",
        "eventName": "PutGroupPolicy",
        "awsRegion": "us-east-1",
        "requestParameters": {
            "groupName": "admins",
            "policyName": "manage-iam",
            "policyDocument": '{"Version":"2012-10-17","Statement":[]}',
        },
        "responseElements": None,
        "recipientAccountId": ACCOUNT,
    }
    assert targets(event) == [Target("AWS::IAM::Group", GLOBAL_REGION, "admins")]


# -- documented shapes moto does not produce -----------------------------------------------------


@pytest.fixture
def fx(monkeypatch: pytest.MonkeyPatch) -> Fetch:
    return offline.offline_fetch(monkeypatch, REGION)


def stub(fx: Fetch, service: str, region: str | None = None) -> Stubber:
    return offline.stub(fx, service, region)


def vpc_info(vpc_id: str, owner: str, region: str) -> dict[str, Any]:
    return {"CidrBlock": "10.0.0.0/16", "OwnerId": owner, "VpcId": vpc_id, "Region": region}


def test_peering_relates_only_the_vpcs_recorded_here(fx: Fetch) -> None:
    """moto gap: no peering with another account. The partner's VPC is not in this account's
    inventory, so only the local VPC is related; a deleted connection is not recorded at all."""
    ec2_stub = stub(fx, "ec2", REGION)
    ec2_stub.add_response(
        "describe_vpc_peering_connections",
        {
            "VpcPeeringConnections": [
                {
                    "VpcPeeringConnectionId": "pcx-111aaa111",
                    "RequesterVpcInfo": vpc_info("vpc-local", ACCOUNT, REGION),
                    "AccepterVpcInfo": vpc_info("vpc-partner", "444455556666", REGION),
                    "Status": {"Code": "active", "Message": "Active"},
                    "Tags": [],
                },
                {
                    "VpcPeeringConnectionId": "pcx-222bbb222",
                    "RequesterVpcInfo": vpc_info("vpc-local", ACCOUNT, REGION),
                    "AccepterVpcInfo": vpc_info("vpc-other-region", ACCOUNT, "eu-west-1"),
                    "Status": {"Code": "deleted", "Message": "Deleted by 111122223333"},
                    "Tags": [],
                },
            ]
        },
        {},
    )
    (ci,) = ec2.collector(ec2.KINDS[ec2.PEERING])(fx, REGION, None).cis
    assert ci.resourceId == "pcx-111aaa111"
    assert [(r.relationshipName, r.resourceId) for r in ci.relationships] == [
        ("Is associated with Vpc", "vpc-local")
    ]
    assert ci.configuration["accepterVpcInfo"]["ownerId"] == "444455556666"
    ec2_stub.assert_no_pending_responses()


def snapshot(snapshot_id: str, volume_id: str) -> dict[str, Any]:
    return {
        "SnapshotId": snapshot_id,
        "VolumeId": volume_id,
        "State": "completed",
        "StartTime": NOW,
        "Progress": "100%",
        "OwnerId": ACCOUNT,
        "Description": "Copied for DestinationAmi ami-0abc from SourceAmi ami-0def",
        "VolumeSize": 8,
        "Encrypted": False,
    }


def test_snapshots_of_gone_volumes_and_unreadable_permissions(fx: Fetch) -> None:
    """moto gaps: copies reference ``vol-ffffffff`` on AWS, and a refused DescribeSnapshotAttribute
    (a key policy or SCP) must cost that snapshot only, not the region's unit."""
    ec2_stub = stub(fx, "ec2", REGION)
    ec2_stub.add_response(
        "describe_snapshots",
        {"Snapshots": [snapshot("snap-0copy", "vol-ffffffff"), snapshot("snap-0denied", "vol-0live")]},
        {"OwnerIds": ["self"]},
    )
    ec2_stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-0live", "Size": 8}]}, {})
    ec2_stub.add_response(
        "describe_snapshot_attribute",
        {"SnapshotId": "snap-0copy", "CreateVolumePermissions": [{"UserId": "444455556666"}]},
        {"SnapshotId": "snap-0copy", "Attribute": "createVolumePermission"},
    )
    ec2_stub.add_client_error(
        "describe_snapshot_attribute",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        403,
        expected_params={"SnapshotId": "snap-0denied", "Attribute": "createVolumePermission"},
    )
    batch = ec2.collector(ec2.KINDS[ec2.SNAPSHOT])(fx, REGION, None)
    (copy,) = batch.cis
    assert copy.resourceId == "snap-0copy" and copy.relationships == ()
    assert copy.supplementaryConfiguration == {"CreateVolumePermissions": [{"userId": "444455556666"}]}
    assert copy.arn == f"arn:aws:ec2:{REGION}::snapshot/snap-0copy"
    assert [(f.resource_id, f.code) for f in batch.failures] == [("snap-0denied", "UnauthorizedOperation")]
    ec2_stub.assert_no_pending_responses()


def test_group_members_come_from_the_users_listing(fx: Fetch) -> None:
    """AWS's GroupDetail does not name members and its ids are ``AGPA…`` (moto's are not): members
    are read off the users' GroupList, with no call per group."""
    iam_stub = stub(fx, "iam")
    group_arn = f"arn:aws:iam::{ACCOUNT}:group/ops/oncall"
    iam_stub.add_response(
        "get_account_authorization_details",
        {
            "UserDetailList": [
                {
                    "Path": "/",
                    "UserName": "carol",
                    "UserId": "AIDAEXAMPLECAROL12345",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:user/carol",
                    "CreateDate": NOW,
                    "GroupList": ["oncall"],
                    "AttachedManagedPolicies": [],
                }
            ],
            "GroupDetailList": [
                {
                    "Path": "/ops/",
                    "GroupName": "oncall",
                    "GroupId": "AGPAEXAMPLEONCALL1234",
                    "Arn": group_arn,
                    "CreateDate": NOW,
                    "GroupPolicyList": [
                        {
                            "PolicyName": "restart",
                            "PolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                            '"Action":"ec2:RebootInstances","Resource":"*"}]}',
                        }
                    ],
                    "AttachedManagedPolicies": [
                        {
                            "PolicyName": "ReadOnlyAccess",
                            "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                        }
                    ],
                }
            ],
            "RoleDetailList": [],
            "Policies": [],
            "IsTruncated": False,
        },
    )
    iam_stub.add_response("list_policies", {"Policies": [], "IsTruncated": False}, {"Scope": "Local"})
    (ci,) = iam.collect_groups(fx, GLOBAL_REGION, frozenset({group_arn})).cis
    assert (ci.resourceId, ci.resourceName, ci.awsRegion) == (
        "AGPAEXAMPLEONCALL1234",
        "oncall",
        GLOBAL_REGION,
    )
    # AWS-managed policies are not recorded resources, so only the member is related.
    assert [(r.relationshipName, r.resourceId, r.resourceName) for r in ci.relationships] == [
        ("Is attached to User", "AIDAEXAMPLECAROL12345", "carol")
    ]
    (inline,) = ci.configuration["groupPolicyList"]
    assert inline["policyDocument"]["Statement"][0]["Action"] == "ec2:RebootInstances"
    iam_stub.assert_no_pending_responses()
