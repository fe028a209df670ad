"""RDS, Lambda, load balancers and EFS: CloudTrail records → resources, and AWS's documented shapes
where moto lacks or bends them (fed through botocore's Stubber, no network).

CloudTrail records: DataDog/stratus-red-team detonation logs and cloud-custodian's samples
(Apache-2.0, in ../shared/data); the others follow the shapes of those records and AWS's API
reference, as noted on each.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

import offline
from checks_apps import CHECKS
from conftest import SHARED_DATA, Seeded
from vigil.aws import recorder
from vigil.aws.events_map import Target, targets
from vigil.aws.recorder import Request
from vigil.aws.resources import awslambda, efs, elbv2, kms, rds
from vigil.aws.resources.base import Fetch
from vigil.store import inventory, open_store

CLOUDTRAIL = SHARED_DATA / "cloudtrail"
STRATUS = CLOUDTRAIL / "stratus-red-team" / "docs" / "detonation-logs"
CUSTODIAN = CLOUDTRAIL / "custodian-cwe"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "eu-west-1"
LB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/shop/50dc6c495c0c9188"
LISTENER_ARN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
)
TG_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/shop/73e2d6bc24d8a067"

needs_samples = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)


def stratus(technique: str, event_name: str) -> dict[str, Any]:
    found = [
        r for r in json.loads((STRATUS / f"{technique}.json").read_text()) if r["eventName"] == event_name
    ]
    assert found, f"{event_name} not in {technique}"
    return found[0]


def custodian(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((CUSTODIAN / name).read_text())
    return record.get("detail", record)  # some samples come in their EventBridge envelope


def trail_record(source: str, name: str, request: dict[str, Any], response: Any = None) -> dict[str, Any]:
    """A management-event record as CloudTrail logs it (only the fields the mapping reads)."""
    return {
        "eventVersion": "1.08",
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "requestParameters": request,
        "responseElements": response,
    }


# -- CloudTrail record → resources to re-record ----------------------------------------------------


@needs_samples
def test_create_db_instance_names_identifier_and_resource_id() -> None:
    event = custodian("event-cloud-trail-create-db.json")
    assert targets(event) == [
        Target("AWS::RDS::DBInstance", "us-east-1", "onenessdb"),
        Target("AWS::RDS::DBInstance", "us-east-1", "db-7WHDN5VYHL4Q4ZXXM6CSILMFOM"),
    ]


@needs_samples
def test_sharing_a_snapshot_re_records_it() -> None:
    event = stratus("aws.exfiltration.rds-share-snapshot", "ModifyDBSnapshotAttribute")
    assert targets(event) == [Target("AWS::RDS::DBSnapshot", event["awsRegion"], "exfiltration")]


def test_rds_tag_events_name_the_arn() -> None:
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders"
    event = trail_record(
        "rds.amazonaws.com",
        "AddTagsToResource",
        {"resourceName": arn, "tags": [{"key": "env", "value": "x"}]},
    )
    # Both RDS types see the ARN; only the instance's collector finds something by it.
    assert targets(event) == [
        Target("AWS::RDS::DBInstance", REGION, arn),
        Target("AWS::RDS::DBSnapshot", REGION, arn),
    ]


@needs_samples
@pytest.mark.parametrize(
    ("technique", "event_name", "ref"),
    [
        (
            "aws.persistence.lambda-backdoor-function",
            "AddPermission20150331v2",
            "stratus-red-team-backdoor-f-func",
        ),
        (
            "aws.persistence.lambda-overwrite-code",
            "UpdateFunctionCode20150331v2",
            "arn:aws:lambda:ap-westeast-2r:266106314375:function:stratus-red-team-olc-func-vayhjqkdav",
        ),
    ],
)
def test_lambda_events(technique: str, event_name: str, ref: str) -> None:
    event = stratus(technique, event_name)
    name = awslambda.function_name(ref)
    assert name == ref.rsplit(":", 1)[-1]
    # UpdateFunctionCode answers with the function, naming it a second time (by name).
    assert set(targets(event)) == {
        Target("AWS::Lambda::Function", event["awsRegion"], r) for r in {ref, name}
    }


@needs_samples
def test_load_balancer_tags_in_an_eventbridge_envelope() -> None:
    event = custodian("event-cloud-trail-appelb-add-tags.json")
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789123:loadbalancer/app/test/433ae0ba96204181"
    assert targets(event) == [Target("AWS::ElasticLoadBalancingV2::LoadBalancer", "us-east-1", arn)]


def test_listener_and_target_group_events_name_what_the_collector_maps_to_the_load_balancer() -> None:
    modify = trail_record(
        "elasticloadbalancing.amazonaws.com",
        "ModifyListener",
        {"listenerArn": LISTENER_ARN, "port": 80, "protocol": "HTTP"},
    )
    register = trail_record(
        "elasticloadbalancing.amazonaws.com",
        "RegisterTargets",
        {"targetGroupArn": TG_ARN, "targets": [{"id": "i-0abc"}]},
    )
    assert targets(modify) == [Target("AWS::ElasticLoadBalancingV2::LoadBalancer", REGION, LISTENER_ARN)]
    assert targets(register) == [Target("AWS::ElasticLoadBalancingV2::LoadBalancer", REGION, TG_ARN)]
    assert elbv2.load_balancer_of_listener(LISTENER_ARN) == LB_ARN
    assert (
        elbv2.load_balancer_of_listener(
            f"{LISTENER_ARN.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee"
        )
        == LB_ARN
    )
    assert elbv2.load_balancer_of_listener(TG_ARN) is None


def test_classic_load_balancer_events_are_not_v2() -> None:
    classic = trail_record(
        "elasticloadbalancing.amazonaws.com", "DeleteLoadBalancer", {"loadBalancerName": "legacy-web"}
    )
    assert targets(classic) == []


@needs_samples
@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("event-cloud-trail-create-efs-mount-target.json", "fs-017557a9f00b1bec9"),
        ("event-cloud-trail-update-efs-mount-target-security-group.json", "fsmt-07e238762319765b9"),
    ],
)
def test_efs_mount_target_events(name: str, ref: str) -> None:
    assert targets(custodian(name)) == [Target("AWS::EFS::FileSystem", "us-east-1", ref)]


# -- AWS's shapes where moto differs ---------------------------------------------------------------


@pytest.fixture
def fx(monkeypatch: pytest.MonkeyPatch) -> Fetch:
    return offline.offline_fetch(monkeypatch, REGION)


def stub(fx: Fetch, service: str, region: str | None = REGION) -> Stubber:
    return offline.stub(fx, service, region)


def db_instance(name: str, resource_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "DBInstanceIdentifier": name,
        "DbiResourceId": resource_id,
        "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}",
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "AvailabilityZone": f"{REGION}b",
        "InstanceCreateTime": NOW,
        "TagList": [{"Key": "env", "Value": "prod"}],
        **extra,
    }


def test_db_instance_is_known_by_its_dbi_resource_id(fx: Fetch) -> None:
    """moto gap: every instance has the same DbiResourceId; AWS's are unique, and AWS Config's id."""
    rds_stub = stub(fx, "rds")
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    rds_stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                db_instance("orders", "db-7WHDN5VYHL4Q4ZXXM6CSILMFOM", PubliclyAccessible=True),
                db_instance(
                    "ledger",
                    "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    StorageEncrypted=True,
                    KmsKeyId=key_arn,
                    VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-0123", "Status": "active"}],
                    DBSubnetGroup={"DBSubnetGroupName": "data", "VpcId": "vpc-0123"},
                ),
            ]
        },
    )
    batch = rds.collect_db_instances(fx, REGION, frozenset({"ledger"}))
    (ci,) = batch.cis
    assert (ci.resourceId, ci.resourceName, ci.availabilityZone) == (
        "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "ledger",
        f"{REGION}b",
    )
    assert ci.configuration["dBInstanceIdentifier"] == "ledger"
    assert ci.configuration["tagList"] == [{"key": "env", "value": "prod"}]
    assert {(x.relationshipName, x.resourceId) for x in ci.relationships} == {
        ("Is associated with SecurityGroup", "sg-0123"),
        ("Is associated with DBSubnetGroup", "data"),
        ("Is associated with Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    }
    rds_stub.assert_no_pending_responses()


def test_resource_ids_fall_back_to_identifiers_only_when_shared() -> None:
    dbs = [db_instance("a", "db-SAME"), db_instance("b", "db-SAME"), db_instance("c", "db-OWN")]
    assert rds.resource_ids(dbs) == {"a": "a", "b": "b", "c": "db-OWN"}


def test_a_key_reference_names_the_key_by_id_arn_or_alias(fx: Fetch) -> None:
    kms_stub = stub(fx, "kms")
    kms_stub.add_response(
        "list_aliases",
        {
            "Aliases": [
                {
                    "AliasName": "alias/aws/rds",
                    "AliasArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/rds",
                    "TargetKeyId": "0987dcba-09fe-87dc-65ba-ab0987654321",
                }
            ],
            "Truncated": False,
        },
    )

    def ids(ref: str) -> list[str | None]:
        return [r.resourceId for r in kms.key_relationships(fx, REGION, ref)]

    aws_rds = "0987dcba-09fe-87dc-65ba-ab0987654321"
    assert ids("alias/aws/rds") == [aws_rds]
    assert ids(f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/rds") == [aws_rds]  # one ListAliases for both
    assert ids(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd") == ["1234abcd"]
    assert ids("1234abcd") == ["1234abcd"]
    assert ids(f"arn:aws:kms:{REGION}:999999999999:key/1234abcd") == []  # another account's key
    assert ids("alias/unknown") == []
    assert {r.relationshipName for r in kms.key_relationships(fx, REGION, "1234abcd")} == {
        "Is associated with Key"
    }
    kms_stub.assert_no_pending_responses()


def test_snapshot_vpc_comes_from_the_snapshot(fx: Fetch) -> None:
    """moto gap: its DescribeDBSnapshots has no VpcId (AWS's has); the instance is not looked up."""
    rds_stub = stub(fx, "rds")
    name = "orders-final"
    rds_stub.add_response(
        "describe_db_snapshots",
        {
            "DBSnapshots": [
                {
                    "DBSnapshotIdentifier": name,
                    "DBInstanceIdentifier": "orders",
                    "DBSnapshotArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:{name}",
                    "SnapshotType": "manual",
                    "VpcId": "vpc-0abc",
                    "Encrypted": False,
                    "SnapshotCreateTime": NOW,
                    "TagList": [],
                }
            ]
        },
        {"SnapshotType": "manual"},
    )
    rds_stub.add_response(
        "describe_db_snapshot_attributes",
        {
            "DBSnapshotAttributesResult": {
                "DBSnapshotIdentifier": name,
                "DBSnapshotAttributes": [{"AttributeName": "restore", "AttributeValues": ["503161813013"]}],
            }
        },
        {"DBSnapshotIdentifier": name},
    )
    (ci,) = rds.collect_db_snapshots(fx, REGION, None).cis
    assert [(x.relationshipName, x.resourceId) for x in ci.relationships] == [
        ("Is associated with Vpc", "vpc-0abc")
    ]
    assert ci.supplementaryConfiguration == {
        "DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": ["503161813013"]}]
    }
    rds_stub.assert_no_pending_responses()


def test_function_without_a_policy_is_not_an_error(fx: Fetch) -> None:
    lambda_stub, iam_stub = stub(fx, "lambda"), stub(fx, "iam", None)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:resize"
    role = f"arn:aws:iam::{ACCOUNT}:role/resize"
    lambda_stub.add_response(
        "list_functions",
        {
            "Functions": [
                {
                    "FunctionName": "resize",
                    "FunctionArn": arn,
                    "Role": role,
                    "Runtime": "python3.12",
                    "VpcConfig": {
                        "SubnetIds": ["subnet-0abc1234def567890"],
                        "SecurityGroupIds": ["sg-1"],
                        "VpcId": "vpc-1",
                    },
                }
            ]
        },
    )
    lambda_stub.add_client_error(
        "get_policy", "ResourceNotFoundException", "The resource you requested does not exist.", 404
    )
    lambda_stub.add_response("list_tags", {"Tags": {"team": "media"}}, {"Resource": arn})
    iam_stub.add_response(
        "get_account_authorization_details",
        {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [
                {
                    "RoleName": "resize",
                    "RoleId": "AROAEXAMPLEEXAMPLE01",
                    "Arn": role,
                    "Path": "/",
                    "CreateDate": NOW,
                }
            ],
            "Policies": [],
            "IsTruncated": False,
        },
    )
    iam_stub.add_response("list_policies", {"Policies": [], "IsTruncated": False}, {"Scope": "Local"})
    batch = awslambda.collect_functions(fx, REGION, frozenset({arn}))
    assert batch.failures == []
    (ci,) = batch.cis
    assert (ci.resourceId, ci.supplementaryConfiguration, ci.tags) == ("resize", {}, {"team": "media"})
    assert {(x.relationshipName, x.resourceId) for x in ci.relationships} == {
        ("Is associated with Role", "AROAEXAMPLEEXAMPLE01"),
        ("Is associated with Subnet", "subnet-0abc1234def567890"),
        ("Is associated with SecurityGroup", "sg-1"),
        ("Is associated with Vpc", "vpc-1"),
    }


def test_load_balancer_re_recorded_for_its_target_group_with_https_and_lambda_targets(fx: Fetch) -> None:
    """AWS's shapes for an HTTPS listener (certificate, SSL policy) and a Lambda target group."""
    elb = stub(fx, "elbv2")
    certificate = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:checkout"
    elb.add_response(
        "describe_target_groups",
        {"TargetGroups": [{"TargetGroupArn": TG_ARN, "TargetType": "lambda", "LoadBalancerArns": [LB_ARN]}]},
    )
    elb.add_response(
        "describe_load_balancers",
        {
            "LoadBalancers": [
                {
                    "LoadBalancerArn": LB_ARN,
                    "LoadBalancerName": "shop",
                    "Scheme": "internal",
                    "Type": "application",
                    "VpcId": "vpc-1",
                    "AvailabilityZones": [{"ZoneName": f"{REGION}a", "SubnetId": "subnet-a"}],
                    "SecurityGroups": ["sg-1"],
                    "CreatedTime": NOW,
                }
            ]
        },
    )
    elb.add_response(
        "describe_tags",
        {"TagDescriptions": [{"ResourceArn": LB_ARN, "Tags": [{"Key": "env", "Value": "prod"}]}]},
        {"ResourceArns": [LB_ARN]},
    )
    elb.add_response(
        "describe_load_balancer_attributes",
        {"Attributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]},
        {"LoadBalancerArn": LB_ARN},
    )
    elb.add_response(
        "describe_listeners",
        {
            "Listeners": [
                {
                    "ListenerArn": LISTENER_ARN,
                    "LoadBalancerArn": LB_ARN,
                    "Port": 443,
                    "Protocol": "HTTPS",
                    "Certificates": [{"CertificateArn": certificate}],
                    "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG_ARN}],
                }
            ]
        },
        {"LoadBalancerArn": LB_ARN},
    )
    elb.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": function}, "TargetHealth": {"State": "unavailable"}}
            ]
        },
        {"TargetGroupArn": TG_ARN},
    )
    (ci,) = elbv2.collect_load_balancers(fx, REGION, frozenset({TG_ARN})).cis
    (listener,) = ci.supplementaryConfiguration["Listeners"]
    assert (listener["protocol"], listener["sslPolicy"], listener["certificates"]) == (
        "HTTPS",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        [{"certificateArn": certificate}],
    )
    assert ci.availabilityZone == f"{REGION}a" and ci.tags == {"env": "prod"}
    assert ("Is associated with Function", "AWS::Lambda::Function", "checkout") in {
        (x.relationshipName, x.resourceType, x.resourceId) for x in ci.relationships
    }
    elb.assert_no_pending_responses()


def test_encrypted_file_system_with_policies(fx: Fetch) -> None:
    """AWS's shapes for a backup policy and a file system policy; a mount target id selects its file
    system."""
    efs_stub = stub(fx, "efs")
    fs_id, key = "fs-0123456789abcdef0", "1234abcd-12ab-34cd-56ef-1234567890ab"
    efs_stub.add_response(
        "describe_mount_targets",
        {
            "MountTargets": [
                {
                    "MountTargetId": "fsmt-0abc1234def567890",
                    "FileSystemId": fs_id,
                    "SubnetId": "subnet-0abc1234def567890",
                    "LifeCycleState": "available",
                }
            ]
        },
        {"MountTargetId": "fsmt-0abc1234def567890"},
    )
    efs_stub.add_response(
        "describe_file_systems",
        {
            "FileSystems": [
                {
                    "OwnerId": ACCOUNT,
                    "CreationToken": "media",
                    "FileSystemId": fs_id,
                    "FileSystemArn": f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{fs_id}",
                    "CreationTime": NOW,
                    "LifeCycleState": "available",
                    "NumberOfMountTargets": 1,
                    "SizeInBytes": {"Value": 6144},
                    "PerformanceMode": "generalPurpose",
                    "Encrypted": True,
                    "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}",
                    "Tags": [],
                },
                {
                    "OwnerId": ACCOUNT,
                    "CreationToken": "other",
                    "FileSystemId": "fs-other",
                    "CreationTime": NOW,
                    "LifeCycleState": "available",
                    "NumberOfMountTargets": 0,
                    "SizeInBytes": {"Value": 0},
                    "PerformanceMode": "generalPurpose",
                    "Tags": [],
                },
            ]
        },
    )
    efs_stub.add_response(
        "describe_mount_targets",
        {
            "MountTargets": [
                {
                    "MountTargetId": "fsmt-0abc1234def567890",
                    "FileSystemId": fs_id,
                    "SubnetId": "subnet-0abc1234def567890",
                    "VpcId": "vpc-1",
                    "LifeCycleState": "available",
                }
            ]
        },
        {"FileSystemId": fs_id},
    )
    efs_stub.add_response(
        "describe_backup_policy", {"BackupPolicy": {"Status": "ENABLED"}}, {"FileSystemId": fs_id}
    )
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
    efs_stub.add_response(
        "describe_file_system_policy", {"FileSystemId": fs_id, "Policy": policy}, {"FileSystemId": fs_id}
    )
    (ci,) = efs.collect_file_systems(fx, REGION, frozenset({"fsmt-0abc1234def567890"})).cis
    assert ci.resourceId == fs_id and ci.resourceName is None
    assert ci.supplementaryConfiguration["BackupPolicy"] == {"status": "ENABLED"}
    assert ci.supplementaryConfiguration["FileSystemPolicy"] == {"policyText": policy}
    assert {(x.relationshipName, x.resourceId) for x in ci.relationships} == {
        ("Is associated with Subnet", "subnet-0abc1234def567890"),
        ("Is contained in Vpc", "vpc-1"),
        ("Is associated with Key", key),
    }
    efs_stub.assert_no_pending_responses()


def test_a_deleted_mount_target_re_records_every_file_system(fx: Fetch) -> None:
    efs_stub = stub(fx, "efs")
    efs_stub.add_client_error(
        "describe_mount_targets",
        "MountTargetNotFound",
        "Mount target 'fsmt-0ffffffffffffffff' does not exist.",
        404,
    )
    assert efs.file_systems_of(fx, REGION, frozenset({"fsmt-0ffffffffffffffff", "fs-1"})) is None
    assert efs.file_systems_of(fx, REGION, frozenset({"fs-1"})) == frozenset({"fs-1"})


# -- a CloudTrail record re-records what it changed, end to end on moto -----------------------------


def test_records_about_listeners_mount_targets_permissions_and_snapshots_re_record_the_items(
    seeded: Seeded, tmp_path: Path
) -> None:
    first = seeded.estate.first
    region, client = first.region, seeded.account.client
    types = list(CHECKS)
    store = open_store(tmp_path / "v.db")
    recorder.scan(seeded.account.session(), store, types=types)
    elb = client("elbv2", region)
    (listener,) = elb.describe_listeners(LoadBalancerArn=first.load_balancers["web"])["Listeners"]
    elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=8080)
    efs_client = client("efs", region)
    fs_id = first.file_systems["shared"]
    (mount,) = efs_client.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    efs_client.delete_mount_target(MountTargetId=mount["MountTargetId"])
    function = first.functions["public_invoke"]
    client("lambda", region).remove_permission(FunctionName=function, StatementId="public-invoke")
    snapshot = first.db_snapshots["public"]
    client("rds", region).modify_db_snapshot_attribute(
        DBSnapshotIdentifier=snapshot, AttributeName="restore", ValuesToRemove=["all"]
    )
    records = [
        trail_record(
            "elasticloadbalancing.amazonaws.com",
            "ModifyListener",
            {"listenerArn": listener["ListenerArn"], "port": 8080},
        ),
        trail_record(
            "elasticfilesystem.amazonaws.com", "DeleteMountTarget", {"mountTargetId": mount["MountTargetId"]}
        ),
        trail_record(
            "lambda.amazonaws.com",
            "RemovePermission20150331v2",
            {"functionName": function, "statementId": "public-invoke"},
        ),
        trail_record(
            "rds.amazonaws.com",
            "ModifyDBSnapshotAttribute",
            {"attributeName": "restore", "dBSnapshotIdentifier": snapshot, "valuesToRemove": ["all"]},
        ),
    ]
    requests = [Request(t.resource_type, region, t.ref) for record in records for t in targets(record)]
    report = recorder.rerecord(seeded.account.session(), store, requests)
    assert report.status == "complete" and report.totals.changed == 4 and report.totals.deleted == 0
    with store.connect() as conn:
        current = {
            (c.resourceType, c.resourceId): c for c in inventory.current(conn) if c.awsRegion == region
        }
    store.close()
    lb = current[("AWS::ElasticLoadBalancingV2::LoadBalancer", first.load_balancers["web"])]
    assert [x["port"] for x in lb.supplementaryConfiguration["Listeners"]] == [8080]
    fs = current[("AWS::EFS::FileSystem", fs_id)]
    assert fs.supplementaryConfiguration["MountTargets"] == [] and fs.relationships == ()
    assert current[("AWS::Lambda::Function", function)].supplementaryConfiguration == {}
    snap = current[("AWS::RDS::DBSnapshot", snapshot)]
    assert snap.supplementaryConfiguration["DBSnapshotAttributes"] == [
        {"attributeName": "restore", "attributeValues": []}
    ]
