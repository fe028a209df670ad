"""Where moto lacks what AWS has, the collectors follow AWS's documented shapes; these tests feed
those shapes through botocore's Stubber (no network) and say which moto gap each one covers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import offline
from vigil.aws.resources import account, iam
from vigil.aws.resources.base import Fetch
from vigil.aws.session import AwsSession
from vigil.settings import AwsSettings

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"

# The credential report as AWS documents it (IAM User Guide, "Getting credential reports"): the
# first row is the root user. moto's report has no <root_account> row.
REPORT = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated\n"
    "<root_account>,arn:aws:iam::111122223333:root,2019-01-01T00:00:00+00:00,not_supported,"
    "2026-11-20T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
    "false,N/A,false,N/A\n"
    "carol,arn:aws:iam::111122223333:user/carol,2024-05-01T00:00:00+00:00,true,no_information,"
    "2024-05-01T00:00:00+00:00,N/A,false,true,2024-05-01T00:00:00+00:00,2026-11-26T10:00:00+00:00,"
    "eu-west-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
)


@pytest.fixture
def fx(monkeypatch: pytest.MonkeyPatch) -> Fetch:
    return offline.offline_fetch(monkeypatch, "us-east-1")


def stub(fx: Fetch, service: str, region: str | None = None) -> Stubber:
    return offline.stub(fx, service, region)


def test_account_item_from_documented_iam_shapes(fx: Fetch) -> None:
    """moto gaps: no <root_account> row in the credential report; root virtual MFA not modelled."""
    iam_stub = stub(fx, "iam")
    iam_stub.add_client_error(
        "get_account_password_policy", "NoSuchEntity", "The Password Policy cannot be found.", 404
    )
    iam_stub.add_response(
        "get_account_summary",
        {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 1}},
    )
    iam_stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    iam_stub.add_response(
        "get_credential_report",
        {"Content": REPORT.encode(), "ReportFormat": "text/csv", "GeneratedTime": NOW},
    )
    iam_stub.add_response(
        "list_virtual_mfa_devices",
        {
            "VirtualMFADevices": [
                # AWS names the root's device root-account-mfa-device; its User element carries the account
                # id as UserId, which botocore's model (min length 16) rejects, so it is left out here.
                {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"}
            ],
            "IsTruncated": False,
        },
        {"AssignmentStatus": "Assigned"},
    )
    ec2_stub = stub(fx, "ec2", "us-east-1")
    ec2_stub.add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": True})

    (ci,) = account.collect_account(fx, "us-east-1", None).cis
    config: dict[str, Any] = dict(ci.configuration)
    assert config["passwordPolicy"] is None
    assert config["root"] == {
        "mfaActive": True,
        "mfaType": "virtual",
        "accessKeysPresent": False,
        "passwordLastUsed": "2026-11-20T08:00:00+00:00",
    }
    (carol,) = config["credentialReport"]["users"]
    assert carol["user"] == "carol" and carol["password_last_used"] is None
    assert carol["access_key_1_active"] is True and carol["access_key_2_last_rotated"] is None
    assert config["ebsEncryptionByDefault"] is True
    iam_stub.assert_no_pending_responses()


def test_parse_credential_report_types_values() -> None:
    rows = iam.parse_credential_report(REPORT)
    assert [r["user"] for r in rows] == ["<root_account>", "carol"]
    assert rows[0]["password_enabled"] is None  # not_supported
    assert rows[1]["mfa_active"] is False and rows[1]["access_key_1_last_used_region"] == "eu-west-1"


def test_policy_ids_from_the_documented_authorization_details(fx: Fetch) -> None:
    """moto gap: its ManagedPolicyDetail has no PolicyName/PolicyId; AWS's has both."""
    iam_stub = stub(fx, "iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/deny-all"
    iam_stub.add_response(
        "get_account_authorization_details",
        {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [
                {
                    "PolicyName": "deny-all",
                    "PolicyId": "ANPAEXAMPLE1234567890",
                    "Arn": arn,
                    "Path": "/",
                    "DefaultVersionId": "v2",
                    "AttachmentCount": 0,
                    "IsAttachable": True,
                    "CreateDate": NOW,
                    "UpdateDate": NOW,
                    "PolicyVersionList": [
                        {
                            "Document": '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}',
                            "VersionId": "v2",
                            "IsDefaultVersion": True,
                            "CreateDate": NOW,
                        },
                    ],
                }
            ],
            "IsTruncated": False,
        },
    )
    iam_stub.add_response("list_policies", {"Policies": [], "IsTruncated": False}, {"Scope": "Local"})
    iam_stub.add_response(
        "list_policy_tags",
        {"Tags": [{"Key": "team", "Value": "sec"}], "IsTruncated": False},
        {"PolicyArn": arn},
    )
    (ci,) = iam.collect_policies(fx, "global", None).cis
    assert (ci.resourceId, ci.resourceName, ci.arn) == ("ANPAEXAMPLE1234567890", "deny-all", arn)
    assert ci.tags == {"team": "sec"}
    assert ci.configuration["policyVersionList"][0]["isDefaultVersion"] is True


def test_boto3_endpoint_variable_is_honoured(
    moto_endpoint: str, base_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoint override through boto3's own AWS_ENDPOINT_URL, with nothing in Vigil's settings."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    session = AwsSession(AwsSettings(regions=["us-east-1"]))
    assert session.settings.endpoint_url is None
    assert session.account_id().isdigit()
    assert session.client("ec2", "us-east-1").meta.endpoint_url == moto_endpoint
    assert boto3.client("sts", region_name="us-east-1").meta.endpoint_url == moto_endpoint
