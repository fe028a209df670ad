"""Security-service types and the account's security facts.

* CloudTrail records map to the right resources (the AWS Config guide's StartConfigurationRecorder
  and stratus-red-team's GetSecretValue are real, see ../shared/data/INDEX.md; the others are built
  in the shape CloudTrail logs REST-JSON calls, after the service guides' examples).
* Where moto does not go, the collectors are fed AWS's documented shapes through botocore's Stubber:
  moto has no Access Analyzer backend at all and no ``GetEnabledStandards``/``BatchEnableStandards``
  in Security Hub; a refused call (AccessDenied) cannot be provoked there either.
* Against the emulator: the S3 Control fix in the session (a configured endpoint keeps its host),
  and an endpoint without the API answers once, without retries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

import offline
from conftest import SHARED_DATA, Account
from vigil.aws.events_map import Target, targets
from vigil.aws.resources import account as account_type
from vigil.aws.resources import ecr, guardduty, secretsmanager
from vigil.aws.resources.base import Fetch

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "us-east-1"
STRATUS = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"
DOC_EXAMPLES = SHARED_DATA / "cloudtrail" / "aws-docs-examples.jsonl"
needs_samples = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)


def api_record(
    source: str, name: str, request: dict[str, Any], response: dict[str, Any] | None
) -> dict[str, Any]:
    return offline.api_record(source, name, request, response, region=REGION)


# -- CloudTrail record → resources -------------------------------------------------------------


def test_detector_creation_and_update() -> None:
    detector = "12abc34d567e8fa901bc2d34e56789f0"
    created = api_record(
        "guardduty.amazonaws.com",
        "CreateDetector",
        {"enable": True, "findingPublishingFrequency": "SIX_HOURS"},
        {"detectorId": detector},
    )
    assert set(targets(created)) == {
        Target(guardduty.DETECTOR, REGION, detector),
        Target(account_type.ACCOUNT, REGION, ACCOUNT),
    }
    updated = api_record(
        "guardduty.amazonaws.com", "UpdateDetector", {"detectorId": detector, "enable": False}, None
    )
    assert targets(updated) == [Target(guardduty.DETECTOR, REGION, detector)]


def test_secret_creation_names_it_by_name_and_arn() -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db/app-password-0-AbCdEf"
    created = api_record(
        "secretsmanager.amazonaws.com",
        "CreateSecret",
        {"name": "prod/db/app-password-0", "description": "application database password"},
        {"arn": arn, "name": "prod/db/app-password-0", "versionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"},
    )
    assert targets(created) == [
        Target(secretsmanager.SECRET, REGION, "prod/db/app-password-0"),
        Target(secretsmanager.SECRET, REGION, arn),
    ]
    rotated = api_record(
        "secretsmanager.amazonaws.com",
        "RotateSecret",
        {"secretId": arn, "rotationRules": {"automaticallyAfterDays": 30}},
        {"arn": arn, "name": "prod/db/app-password-0"},
    )
    assert targets(rotated) == [Target(secretsmanager.SECRET, REGION, arn)]


@needs_samples
def test_reading_a_secret_changes_nothing() -> None:
    path = STRATUS / "aws.credential-access.secretsmanager-retrieve-secrets.json"
    reads = [r for r in json.loads(path.read_text()) if r["eventName"] == "GetSecretValue"]
    assert reads and all(targets(r) == [] for r in reads)


def test_repository_events_from_the_ecr_guide() -> None:
    # the ECR user guide's CreateRepository example (logging-using-cloudtrail)
    arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/testrepo"
    created = api_record(
        "ecr.amazonaws.com",
        "CreateRepository",
        {"repositoryName": "testrepo"},
        {
            "repository": {
                "repositoryArn": arn,
                "repositoryName": "testrepo",
                "repositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/testrepo",
                "createdAt": "Jul 11, 2018 10:17:44 PM",
                "registryId": ACCOUNT,
            }
        },
    )
    assert targets(created) == [Target(ecr.REPOSITORY, REGION, "testrepo")]
    tagged = api_record(
        "ecr.amazonaws.com",
        "TagResource",
        {"resourceArn": arn, "tags": [{"key": "env", "value": "prod"}]},
        {},
    )
    assert targets(tagged) == [Target(ecr.REPOSITORY, REGION, arn)]
    pushed = api_record("ecr.amazonaws.com", "PutImage", {"repositoryName": "testrepo"}, {})
    assert targets(pushed) == []  # an image is content, not the repository's configuration


@needs_samples
def test_recorder_start_from_the_config_guide_updates_the_account() -> None:
    events = [json.loads(line)["event"] for line in DOC_EXAMPLES.read_text().splitlines() if line.strip()]
    (started,) = [e for e in events if e["eventName"] == "StartConfigurationRecorder"]
    assert Target(account_type.ACCOUNT, started["awsRegion"], "222222222222") in targets(started)


@pytest.mark.parametrize(
    ("source", "name", "where"),
    [
        # account-wide settings change the account item of every region
        ("s3.amazonaws.com", "PutAccountPublicAccessBlock", "*"),
        ("account.amazonaws.com", "PutAlternateContact", "*"),
        # regional services change that region's item
        ("access-analyzer.amazonaws.com", "CreateAnalyzer", REGION),
        ("securityhub.amazonaws.com", "BatchEnableStandards", REGION),
    ],
)
def test_account_security_settings_update_the_account(source: str, name: str, where: str) -> None:
    assert targets(api_record(source, name, {}, None)) == [Target(account_type.ACCOUNT, where, ACCOUNT)]


# -- documented shapes through the Stubber ------------------------------------------------------


@pytest.fixture
def fx(monkeypatch: pytest.MonkeyPatch) -> Fetch:
    return offline.offline_fetch(monkeypatch, REGION)


def stub(fx: Fetch, service: str, region: str | None = None) -> Stubber:
    return offline.stub(fx, service, region)


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ANALYZER = {
    "arn": f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/ConsoleAnalyzer-EXAMPLE",
    "name": "ConsoleAnalyzer-EXAMPLE",
    "type": "ACCOUNT",
    "createdAt": datetime(2025, 3, 1, tzinfo=UTC),
    "lastResourceAnalyzed": "arn:aws:s3:::amzn-s3-demo-bucket",
    "lastResourceAnalyzedAt": datetime(2026, 11, 27, 11, tzinfo=UTC),
    "tags": {"owner": "security-team"},
    "status": "ACTIVE",
}
CIS = {
    "StandardsSubscriptionArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/cis-aws-foundations-benchmark/v/1.4.0",
    "StandardsArn": f"arn:aws:securityhub:{REGION}::standards/cis-aws-foundations-benchmark/v/1.4.0",
    "StandardsInput": {},
    "StandardsStatus": "READY",
}


def stub_account_wide(fx: Fetch) -> None:
    s3control = stub(fx, "s3control")
    s3control.add_response(
        "get_public_access_block",
        {"PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK},
        {"AccountId": ACCOUNT},
    )
    contacts = stub(fx, "account")
    contacts.add_response(
        "get_alternate_contact",
        {
            "AlternateContact": {
                "AlternateContactType": "SECURITY",
                "EmailAddress": "security@example.com",
                "Name": "Security Team",
                "PhoneNumber": "+1-555-0100",
                "Title": "CISO",
            }
        },
        {"AlternateContactType": "SECURITY"},
    )
    for kind in ("BILLING", "OPERATIONS"):
        contacts.add_client_error(
            "get_alternate_contact",
            "ResourceNotFoundException",
            "No contact of the inputted alternate contact type found.",
            404,
            expected_params={"AlternateContactType": kind},
        )


def stub_regional(fx: Fetch, *, analyzers: bool = True) -> None:
    if analyzers:
        stub(fx, "accessanalyzer", REGION).add_response("list_analyzers", {"analyzers": [ANALYZER]}, {})
    hub = stub(fx, "securityhub", REGION)
    hub.add_response(
        "describe_hub",
        {
            "HubArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default",
            "SubscribedAt": "2025-03-01T09:00:00.000Z",
            "AutoEnableControls": True,
            "ControlFindingGenerator": "SECURITY_CONTROL",
        },
        {},
    )
    hub.add_response("get_enabled_standards", {"StandardsSubscriptions": [CIS]}, {})
    stub(fx, "config", REGION).add_response(
        "describe_configuration_recorder_status",
        {
            "ConfigurationRecordersStatus": [
                {
                    "name": "default",
                    "lastStartTime": datetime(2025, 3, 1, 9, tzinfo=UTC),
                    "recording": True,
                    "lastStatus": "SUCCESS",
                    "lastStatusChangeTime": datetime(2026, 11, 27, 11, 55, tzinfo=UTC),
                }
            ]
        },
        {},
    )
    stub(fx, "guardduty", REGION).add_response("list_detectors", {"DetectorIds": []}, {})


def test_security_facts_from_documented_shapes(fx: Fetch) -> None:
    """moto gaps: no Access Analyzer; no Security Hub standards; no account-level public access block
    reachable without the session's host fix."""
    stub_account_wide(fx)
    stub_regional(fx)
    facts, unavailable, failures = account_type.security_facts(fx, REGION)
    assert (unavailable, failures) == ({}, [])
    assert facts == {
        "s3PublicAccessBlock": {
            "blockPublicAcls": True,
            "ignorePublicAcls": True,
            "blockPublicPolicy": True,
            "restrictPublicBuckets": True,
        },
        "alternateContacts": {
            "security": {
                "alternateContactType": "SECURITY",
                "emailAddress": "security@example.com",
                "name": "Security Team",
                "phoneNumber": "+1-555-0100",
                "title": "CISO",
            },
            "billing": None,
            "operations": None,
        },
        "accessAnalyzers": [
            {
                "arn": ANALYZER["arn"],
                "name": "ConsoleAnalyzer-EXAMPLE",
                "type": "ACCOUNT",
                "createdAt": "2025-03-01T00:00:00.000Z",
                "lastResourceAnalyzed": "arn:aws:s3:::amzn-s3-demo-bucket",
                "lastResourceAnalyzedAt": "2026-11-27T11:00:00.000Z",
                "tags": {"owner": "security-team"},
                "status": "ACTIVE",
            }
        ],
        "securityHub": {
            "enabled": True,
            "hubArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default",
            "subscribedAt": "2025-03-01T09:00:00.000Z",
            "autoEnableControls": True,
            "controlFindingGenerator": "SECURITY_CONTROL",
        },
        "securityHubStandards": [
            {
                "standardsSubscriptionArn": CIS["StandardsSubscriptionArn"],
                "standardsArn": CIS["StandardsArn"],
                "standardsInput": {},
                "standardsStatus": "READY",
            }
        ],
        "configRecorders": [
            {
                "name": "default",
                "lastStartTime": "2025-03-01T09:00:00.000Z",
                "recording": True,
                "lastStatus": "SUCCESS",
                "lastStatusChangeTime": "2026-11-27T11:55:00.000Z",
            }
        ],
        "guardDutyDetectorIds": [],
    }


def test_a_refused_fact_is_unavailable_and_reported(fx: Fetch) -> None:
    """AccessDenied on one fact: the fact is null with the reason, the rest is recorded, and the
    failure is reported (the scan is partial: a denial must stay visible)."""
    stub_account_wide(fx)
    analyzers = stub(fx, "accessanalyzer", REGION)
    analyzers.add_client_error(
        "list_analyzers",
        "AccessDeniedException",
        "User: arn:aws:sts::111122223333:assumed-role/vigil-audit/scan is not authorized to perform: "
        "access-analyzer:ListAnalyzers",
        403,
    )
    stub_regional(fx, analyzers=False)
    facts, unavailable, failures = account_type.security_facts(fx, REGION)
    assert facts["accessAnalyzers"] is None and facts["securityHub"]["enabled"] is True
    assert unavailable == {
        "AccessAnalyzers": {
            "code": "AccessDeniedException",
            "message": "User: arn:aws:sts::111122223333:assumed-role/vigil-audit/scan is not authorized to "
            "perform: access-analyzer:ListAnalyzers",
        }
    }
    assert [account_type.unavailable_reason(e)["code"] for e in failures] == ["AccessDeniedException"]


def test_an_api_the_endpoint_lacks_is_unavailable_but_not_a_failure(fx: Fetch) -> None:
    """An answer that is not AWS's (botocore reports the bare HTTP status as the code): the
    endpoint does not offer the API; the item records it, the scan stays complete."""
    stub_account_wide(fx)
    stub(fx, "accessanalyzer", REGION).add_client_error("list_analyzers", "500", "<!doctype html>", 500)
    hub = stub(fx, "securityhub", REGION)
    hub.add_client_error(
        "describe_hub", "InvalidAccessException", "Account is not subscribed to AWS Security Hub", 401
    )
    stub(fx, "config", REGION).add_response(
        "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": []}, {}
    )
    stub(fx, "guardduty", REGION).add_response(
        "list_detectors", {"DetectorIds": ["12abc34d567e8fa901bc2d34e56789f0"]}, {}
    )
    facts, unavailable, failures = account_type.security_facts(fx, REGION)
    assert failures == []
    assert unavailable == {
        "AccessAnalyzers": {
            "code": "500",
            "message": "HTTP 500 without an AWS error: the endpoint does not offer this API",
        }
    }
    assert (facts["securityHub"], facts["securityHubStandards"]) == ({"enabled": False}, [])
    assert (facts["configRecorders"], facts["guardDutyDetectorIds"]) == (
        [],
        ["12abc34d567e8fa901bc2d34e56789f0"],
    )


def test_the_account_item_carries_failures_and_still_updates(
    fx: Fetch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector writes the item and reports the refused fact as the account's failure."""
    denied = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetPublicAccessBlock"
    )
    monkeypatch.setattr(
        account_type,
        "security_facts",
        lambda fx, region: (
            {"s3PublicAccessBlock": None},
            {"S3PublicAccessBlock": {"code": "AccessDenied"}},
            [denied],
        ),
    )
    monkeypatch.setattr(account_type, "_iam_facts", lambda fx: {})
    stub(fx, "ec2", REGION).add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": False})
    batch = account_type.collect_account(fx, REGION, None)
    (ci,) = batch.cis
    assert ci.configuration["s3PublicAccessBlock"] is None
    assert ci.supplementaryConfiguration == {"Unavailable": {"S3PublicAccessBlock": {"code": "AccessDenied"}}}
    assert [(f.resource_id, f.code) for f in batch.failures] == [(ACCOUNT, "AccessDenied")]


def test_answers_that_are_not_aws_are_not_retried() -> None:
    def answer(status: int, headers: dict[str, str]) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("http://127.0.0.1:9/", status, headers, None), {}

    assert account_type._final_if_not_aws(answer(500, {"Content-Type": "text/html"})) is False
    assert account_type._final_if_not_aws(answer(500, {"x-amzn-RequestId": "b3c1-EXAMPLE"})) is None
    assert account_type._final_if_not_aws(answer(503, {"x-amz-request-id": "4442587FB7D0A2F9"})) is None
    assert account_type._final_if_not_aws(answer(404, {})) is None
    assert account_type._final_if_not_aws(None) is None


def test_secret_policy_and_alias_key_from_documented_shapes(fx: Fetch) -> None:
    """The secret's key named by an alias ARN resolves through ListAliases; no value is ever read."""
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/api-key-AbCdEf"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    sm = stub(fx, "secretsmanager", REGION)
    sm.add_response(
        "list_secrets",
        {
            "SecretList": [
                {
                    "ARN": arn,
                    "Name": "prod/api-key",
                    "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app-data",
                    "RotationEnabled": True,
                    "RotationLambdaARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate-api-key",
                    "RotationRules": {"AutomaticallyAfterDays": 30},
                    "LastRotatedDate": datetime(2026, 11, 1, tzinfo=UTC),
                    "LastAccessedDate": datetime(2026, 11, 27, tzinfo=UTC),
                    "Tags": [{"Key": "env", "Value": "prod"}],
                    "CreatedDate": datetime(2024, 1, 1, tzinfo=UTC),
                }
            ]
        },
        {},
    )
    sm.add_response("get_resource_policy", {"ARN": arn, "Name": "prod/api-key"}, {"SecretId": arn})
    stub(fx, "kms", REGION).add_response(
        "list_aliases",
        {
            "Aliases": [
                {
                    "AliasName": "alias/app-data",
                    "AliasArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app-data",
                    "TargetKeyId": key_id,
                }
            ]
        },
        {},
    )
    (ci,) = secretsmanager.collect_secrets(fx, REGION, None).cis
    assert (ci.resourceId, ci.resourceName, ci.arn) == (arn, "prod/api-key", arn)
    assert [(r.relationshipName, r.resourceId) for r in ci.relationships] == [
        ("Is associated with Key", key_id)
    ]
    assert ci.supplementaryConfiguration == {"ResourcePolicy": None}
    assert ci.configuration["lastAccessedDate"] == "2026-11-27T00:00:00.000Z"
    assert "configuration.lastAccessedDate" in secretsmanager.VOLATILE
    sm.assert_no_pending_responses()


# -- against the emulator -----------------------------------------------------------------------


def test_account_public_access_block_through_a_configured_endpoint(account: Account) -> None:
    """The session keeps the configured host for S3 Control (moto reads the account from the
    header); the fact goes from "not configured" to the four settings."""
    session = account.session()
    fx = Fetch(session, account.account_id, now=NOW)
    facts, unavailable, failures = account_facts(fx)
    assert (facts["s3PublicAccessBlock"], failures) == (None, [])
    session.client("s3control").put_public_access_block(
        AccountId=account.account_id, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
    )
    facts, _, _ = account_facts(Fetch(session, account.account_id, now=NOW))
    assert facts["s3PublicAccessBlock"] == {
        "blockPublicAcls": True,
        "ignorePublicAcls": True,
        "blockPublicPolicy": True,
        "restrictPublicBuckets": True,
    }
    # the emulator has no Access Analyzer: unavailable, not a failure, and never retried
    assert "AccessAnalyzers" in unavailable
    assert session.stats.attempts["accessanalyzer"] == session.stats.calls["accessanalyzer"] == 2


def account_facts(fx: Fetch) -> tuple[dict[str, Any], dict[str, Any], list[BaseException]]:
    return account_type.security_facts(fx, REGION)
