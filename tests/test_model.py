"""vigil.model: configuration items in AWS Config's API and notification forms, and timestamps."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil.model import ConfigurationItem, Relationship, ResourceKey, iso_ms, parse_time

# An S3-delivery / notification CI, as printed in AWS Config's documentation.
AWS_VOLUME_CI = {
    "configurationItemVersion": "1.0",
    "configurationItemCaptureTime": "2014-03-07T23:47:08.918Z",
    "arn": "arn:aws:ec2:us-west-2:123456789012:volume/vol-ce676ccc",
    "resourceId": "vol-ce676ccc",
    "awsAccountId": "123456789012",
    "configurationStateID": "3e660fdf-4e34-4f32-afeb-0ace5bf3d63a",
    "configurationItemStatus": "OK",
    "relatedEvents": [],
    "availabilityZone": "us-west-2b",
    "resourceType": "AWS::EC2::Volume",
    "resourceCreationTime": "2014-02-27T21:43:53.885Z",
    "tags": {},
    "relationships": [
        {"resourceId": "i-344c463d", "resourceType": "AWS::EC2::Instance", "name": "Attached to Instance"}
    ],
    "configuration": {"volumeId": "vol-ce676ccc", "size": 1, "state": "in-use"},
}

POLICY = {"policyText": '{"Version":"2012-10-17","Statement":[]}'}
ACL = {"grantList": [{"grantee": "AllUsers", "permission": "Read"}], "owner": {"id": "abc"}}


def bucket_ci() -> ConfigurationItem:
    return ConfigurationItem(
        accountId="123456789012",
        awsRegion="eu-west-1",
        resourceType="AWS::S3::Bucket",
        resourceId="logs",
        resourceName="logs",
        arn="arn:aws:s3:::logs",
        configurationItemCaptureTime="2024-05-01T10:00:00.000Z",
        configurationItemStatus="OK",
        configurationStateId="1714557600000",
        resourceCreationTime="2023-01-01T00:00:00.000Z",
        tags={"env": "prod", "Owner": "sec"},
        relationships=(
            Relationship("AWS::KMS::Key", "k-1", "Is associated with KmsKey"),
            Relationship("AWS::IAM::Role", None, "Is assumed by Role", resourceName="writer"),
        ),
        configuration={"name": "logs", "owner": {"id": "abc"}, "versioning": [1, 2]},
        supplementaryConfiguration={"BucketPolicy": POLICY, "AccessControlList": ACL},
        relatedEvents=("evt-1",),
    )


def test_api_form_round_trip() -> None:
    ci = bucket_ci()
    data = ci.to_dict()
    assert data["relationships"] == [
        {
            "resourceType": "AWS::KMS::Key",
            "resourceId": "k-1",
            "resourceName": None,
            "relationshipName": "Is associated with KmsKey",
        },
        {
            "resourceType": "AWS::IAM::Role",
            "resourceId": None,
            "resourceName": "writer",
            "relationshipName": "Is assumed by Role",
        },
    ]
    assert ConfigurationItem.from_dict(data) == ci
    assert ConfigurationItem.from_dict(json.loads(json.dumps(data))) == ci


def test_notification_form_from_aws_docs() -> None:
    ci = ConfigurationItem.from_dict(AWS_VOLUME_CI)
    assert ci == ConfigurationItem(
        version="1.0",
        accountId="123456789012",
        awsRegion="",
        resourceType="AWS::EC2::Volume",
        resourceId="vol-ce676ccc",
        resourceName=None,
        arn="arn:aws:ec2:us-west-2:123456789012:volume/vol-ce676ccc",
        configurationItemCaptureTime="2014-03-07T23:47:08.918Z",
        configurationItemStatus="OK",
        configurationStateId="3e660fdf-4e34-4f32-afeb-0ace5bf3d63a",
        configurationItemMD5Hash="",
        availabilityZone="us-west-2b",
        resourceCreationTime="2014-02-27T21:43:53.885Z",
        tags={},
        relatedEvents=(),
        relationships=(Relationship("AWS::EC2::Instance", "i-344c463d", "Attached to Instance"),),
        configuration={"volumeId": "vol-ce676ccc", "size": 1, "state": "in-use"},
        supplementaryConfiguration={},
    )


def test_notification_form_with_json_strings() -> None:
    data = {
        "configurationItemVersion": "1.3",
        "awsAccountId": "123456789012",
        "awsRegion": "eu-west-1",
        "ARN": "arn:aws:s3:::logs",
        "resourceType": "AWS::S3::Bucket",
        "resourceId": "logs",
        "configurationStateID": 1714557600000,
        "configuration": json.dumps({"name": "logs"}),
        "supplementaryConfiguration": {
            "BucketPolicy": json.dumps(POLICY),
            "AccessControlList": json.dumps(ACL),
            "ServerSideEncryptionConfiguration": None,
            "Plain": "not json",
            "Broken": "{not json",
        },
        "tags": [{"key": "env", "value": "prod"}],
    }
    ci = ConfigurationItem.from_dict(data)
    assert (ci.version, ci.accountId, ci.arn, ci.configurationStateId, ci.tags, ci.configuration) == (
        "1.3",
        "123456789012",
        "arn:aws:s3:::logs",
        "1714557600000",
        {"env": "prod"},
        {"name": "logs"},
    )
    assert ci.supplementaryConfiguration == {
        "BucketPolicy": POLICY,
        "AccessControlList": ACL,
        "ServerSideEncryptionConfiguration": None,
        "Plain": "not json",
        "Broken": "{not json",
    }


def test_empty_configuration_string_is_an_empty_object() -> None:
    ci = ConfigurationItem.from_dict({**AWS_VOLUME_CI, "configuration": "  "})
    assert ci.configuration == {}


def test_relationship_without_a_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="relationship without a name"):
        Relationship.from_dict({"resourceType": "AWS::EC2::Instance", "resourceId": "i-1"})
    bad = {**AWS_VOLUME_CI, "relationships": [{"resourceType": "AWS::EC2::Instance", "name": ""}]}
    with pytest.raises(ValueError, match="relationship without a name"):
        ConfigurationItem.from_dict(bad)


def test_relationship_notification_form() -> None:
    rel = Relationship("AWS::EC2::Instance", "i-344c463d", "Attached to Instance")
    assert rel.to_dict(name_key="name") == {
        "resourceType": "AWS::EC2::Instance",
        "resourceId": "i-344c463d",
        "resourceName": None,
        "name": "Attached to Instance",
    }
    assert Relationship.from_dict(rel.to_dict(name_key="name")) == rel


def test_key_and_deleted() -> None:
    ci = bucket_ci()
    assert ci.key == ResourceKey("123456789012", "eu-west-1", "AWS::S3::Bucket", "logs")
    assert str(ci.key) == "AWS::S3::Bucket logs (123456789012/eu-west-1)"
    statuses = [
        "OK",
        "ResourceDiscovered",
        "ResourceNotRecorded",
        "ResourceDeleted",
        "ResourceDeletedNotRecorded",
    ]
    deleted = [dataclasses.replace(ci, configurationItemStatus=s).deleted for s in statuses]
    assert deleted == [False, False, False, True, True]


# -- timestamps ------------------------------------------------------------------------------


def test_iso_ms() -> None:
    assert [
        iso_ms(datetime(2014, 3, 7, 23, 47, 8, 918765, tzinfo=UTC)),
        iso_ms(datetime(2014, 3, 7, 23, 47, 8, 918999)),  # naive: UTC
        iso_ms(datetime(2014, 3, 8, 1, 47, 8, 5000, tzinfo=timezone(timedelta(hours=2)))),
        iso_ms(datetime(2014, 3, 7, 23, 47, 8)),
    ] == [
        "2014-03-07T23:47:08.918Z",
        "2014-03-07T23:47:08.918Z",
        "2014-03-07T23:47:08.005Z",
        "2014-03-07T23:47:08.000Z",
    ]


def test_parse_time_z_and_naive() -> None:
    parsed = [parse_time("2014-03-07T23:47:08.918Z"), parse_time("2014-03-07T23:47:08.918")]
    assert [(p, p.tzinfo) for p in parsed] == [(datetime(2014, 3, 7, 23, 47, 8, 918000, tzinfo=UTC), UTC)] * 2
    assert iso_ms(parsed[0]) == "2014-03-07T23:47:08.918Z"


def test_parse_time_offset_is_converted_to_utc() -> None:
    parsed = parse_time("2014-03-08T01:47:08.918+02:00")
    assert (parsed, parsed.isoformat()) == (
        datetime(2014, 3, 7, 23, 47, 8, 918000, tzinfo=UTC),
        "2014-03-07T23:47:08.918000+00:00",
    )
