"""CloudTrail record → resources to re-record, on real records (../shared/data/cloudtrail).

Sources: DataDog/stratus-red-team detonation logs (Apache-2.0) and cloud-custodian's CloudTrail
samples (Apache-2.0), as copied into ../shared/data; see its INDEX.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_DATA
from vigil.aws.events_map import ALL_REGIONS, Target, targets
from vigil.aws.resources import RESOURCE_TYPES
from vigil.model import GLOBAL_REGION

STRATUS = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"
CUSTODIAN = SHARED_DATA / "cloudtrail" / "custodian-cwe"


pytestmark = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)


def record(technique: str, event_name: str) -> dict[str, Any]:
    path = STRATUS / f"{technique}.json"
    found = [r for r in json.loads(path.read_text()) if r["eventName"] == event_name]
    assert found, f"{event_name} not in {path.name}"
    return found[0]


def test_security_group_ingress() -> None:
    event = record(
        "aws.exfiltration.ec2-security-group-open-port-22-ingress", "AuthorizeSecurityGroupIngress"
    )
    assert targets(event) == [Target("AWS::EC2::SecurityGroup", event["awsRegion"], "sg-003dc7f1f1c686164")]


def test_instance_state_change() -> None:
    event = record("aws.execution.ec2-user-data", "StopInstances")
    assert targets(event) == [Target("AWS::EC2::Instance", event["awsRegion"], "i-DDd6c7B0e18F0E35f")]


def test_iam_user_events_are_global_and_touch_the_account_everywhere() -> None:
    event = record("aws.persistence.iam-create-admin-user", "CreateUser")
    found = targets(event)
    assert Target("AWS::IAM::User", GLOBAL_REGION, "malicious-iam-user") in found
    assert Target("AWS::IAM::User", GLOBAL_REGION, "AIDAL1XMLVWIUOK8KAF0") in found
    assert Target("AWS::::Account", ALL_REGIONS, event["recipientAccountId"]) in found


def test_policy_attachment_names_user_and_policy() -> None:
    event = record("aws.persistence.iam-create-admin-user", "AttachUserPolicy")
    assert set(targets(event)) == {
        Target("AWS::IAM::User", GLOBAL_REGION, "malicious-iam-user"),
        Target("AWS::IAM::Policy", GLOBAL_REGION, "arn:aws:iam::aws:policy/AdministratorAccess"),
    }


@pytest.mark.parametrize(
    ("technique", "event_name", "ref"),
    [
        (
            "aws.defense-evasion.cloudtrail-delete",
            "DeleteTrail",
            "stratus-red-team-cloudtraild-trail-kvrwohmiai",
        ),
        ("aws.defense-evasion.cloudtrail-stop", "StopLogging", "stratus-red-team-ct-stop-trail-buykxbqejv"),
    ],
)
def test_trail_events(technique: str, event_name: str, ref: str) -> None:
    event = record(technique, event_name)
    assert targets(event) == [Target("AWS::CloudTrail::Trail", event["awsRegion"], ref)]


def test_event_selectors_name_the_trail_by_name_and_arn() -> None:
    event = record("aws.defense-evasion.cloudtrail-event-selectors", "PutEventSelectors")
    region = event["awsRegion"]
    name = "stratus-red-team-ctes-trail-khlvciwdor"
    assert targets(event) == [
        Target("AWS::CloudTrail::Trail", region, name),
        Target("AWS::CloudTrail::Trail", region, f"arn:aws:cloudtrail:{region}:958312252124:trail/{name}"),
    ]


def test_failed_and_read_only_calls_change_nothing() -> None:
    failed = record("aws.execution.ec2-launch-unusual-instances", "RunInstances")
    assert failed["errorCode"] and targets(failed) == []
    described = record("aws.execution.ec2-user-data", "StopInstances") | {"readOnly": True}
    assert targets(described) == []
    assert targets({"eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances"}) == []


def test_types_not_recorded_yet_map_to_nothing() -> None:
    # AMIs are not a recorded type; sharing one must not be mistaken for another EC2 change
    event = record("aws.exfiltration.ec2-share-ami", "ModifyImageAttribute")
    assert targets(event) == []


def test_shared_tag_events_pick_the_type_by_id_prefix() -> None:
    event = {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "CreateTags",
        "awsRegion": "eu-west-1",
        "requestParameters": {
            "resourcesSet": {
                "items": [{"resourceId": "i-0abc"}, {"resourceId": "sg-0def"}, {"resourceId": "ami-123"}]
            }
        },
    }
    assert set(targets(event)) == {
        Target("AWS::EC2::Instance", "eu-west-1", "i-0abc"),
        Target("AWS::EC2::SecurityGroup", "eu-west-1", "sg-0def"),
    }


def test_bucket_creation_from_an_eventbridge_sample() -> None:
    path = CUSTODIAN / "event-cloud-trail-create-bucket.json"
    wrapped = json.loads(path.read_text())
    event = wrapped.get("detail", wrapped)
    assert targets(event) == [
        Target("AWS::S3::Bucket", event["awsRegion"], event["requestParameters"]["bucketName"])
    ]


def test_every_change_event_path_is_valid_jmespath_and_every_type_has_events() -> None:
    import jmespath

    for rtype in RESOURCE_TYPES.values():
        assert rtype.events, f"{rtype.name} lists no CloudTrail events that change it"
        for change in rtype.events:
            assert change.source.endswith(".amazonaws.com")
            for path in change.paths:
                jmespath.compile(path)


def test_all_real_records_parse_without_error() -> None:
    count = 0
    for path in sorted(Path(STRATUS).glob("*.json")):
        for event in json.loads(path.read_text()):
            for target in targets(event):
                assert target.resource_type in RESOURCE_TYPES and target.ref
            count += 1
    assert count == 310


def test_account_wide_settings_re_record_the_account_in_every_region() -> None:
    event = {
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutAccountPublicAccessBlock",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "requestParameters": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}},
    }
    assert targets(event) == [Target("AWS::::Account", "*", "123456789012")]
    contact = {**event, "eventSource": "account.amazonaws.com", "eventName": "PutAlternateContact"}
    assert targets(contact) == [Target("AWS::::Account", "*", "123456789012")]
    # a bucket's own block stays a change of that bucket, in its region
    bucket = {
        **event,
        "eventName": "PutBucketPublicAccessBlock",
        "requestParameters": {"bucketName": "logs-1"},
    }
    assert targets(bucket) == [Target("AWS::S3::Bucket", "us-east-1", "logs-1")]


def test_an_elastic_ip_association_re_records_the_instance_and_the_address() -> None:
    event = {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AssociateAddress",
        "awsRegion": "eu-west-1",
        "requestParameters": {"instanceId": "i-0abc", "allocationId": "eipalloc-0123"},
        "responseElements": {"associationId": "eipassoc-0456", "return": True},
    }
    assert Target("AWS::EC2::Instance", "eu-west-1", "i-0abc") in targets(event)
