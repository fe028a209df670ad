"""The demo's CloudTrail story and the benchmark's record generator: shapes, determinism, and the story's
alarms through the filter-pattern engine.

Real records are the oracle: the shape check must accept the stratus-red-team detonation records
(DataDog/stratus-red-team, Apache-2.0), the sign-ins must have the key sets of AWS's documented
ConsoleLogin examples (``aws-docs-examples.jsonl``), the security-group change the shape EC2 gave it
in stratus-red-team's detonation log. CIS patterns are those of spec §2.2 (v4.0.1+ text and the
older quoted forms).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_DATA, load_eventgen
from vigil.demo.events import STORY, WINDOW, demo_story, story_segments
from vigil.logs.pattern import compile_pattern

CLOUDTRAIL = SHARED_DATA / "cloudtrail"
STRATUS = CLOUDTRAIL / "stratus-red-team" / "docs" / "detonation-logs"
DOC_EXAMPLES = CLOUDTRAIL / "aws-docs-examples.jsonl"
needs_samples = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)

ACCOUNT, REGION, GROUP = "123456789012", "eu-west-1", "sg-0a1b2c3d4e5f60718"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# CIS AWS Foundations monitoring filters (spec §2.2), by v5.0+ control id; several texts per control.
CIS: dict[str, tuple[str, ...]] = {
    "5.1": (
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
        "{ ($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*) && "
        "($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }",
    ),
    "5.2": ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',),
    "5.3": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    ),
    "5.5": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    ),
    "5.6": ('{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',),
    "5.8": (
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) "
        "|| ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = "
        "PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
        "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    ),
    "5.10": (
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || "
        "($.eventName = ModifySecurityGroupRules) }",
    ),
}
COMPILED = {control: [compile_pattern(text) for text in texts] for control, texts in CIS.items()}
NO_MFA_API = compile_pattern(
    '{ ($.userIdentity.sessionContext.attributes.mfaAuthenticated = "false") && ($.eventType = "AwsApiCall") }'
)

IDENTITY_TYPES = {"Root", "IAMUser", "AssumedRole", "Role", "FederatedUser", "AWSAccount", "AWSService"}
EVENT_TYPES = {"AwsApiCall", "AwsServiceEvent", "AwsConsoleAction", "AwsConsoleSignIn"}
MODERN = {"readOnly", "managementEvent", "eventCategory", "tlsDetails"}


def _story(seed: int = 7) -> list[dict[str, Any]]:
    return demo_story(ACCOUNT, REGION, START, security_group_id=GROUP, seed=seed)


def _fired(record: dict[str, Any]) -> set[str]:
    message = json.dumps(record)
    return {control for control, patterns in COMPILED.items() if any(p.match(message) for p in patterns)}


# -- the shape every record must have (spec §6.1) -----------------------------------------------------


def check_core(record: dict[str, Any], account: str | None = None) -> None:
    """The fields every management event carries, with their types."""
    assert re.fullmatch(r"1\.\d\d", record["eventVersion"]), record["eventVersion"]
    identity = record["userIdentity"]
    assert identity["type"] in IDENTITY_TYPES
    assert isinstance(identity["principalId"], str) and identity["principalId"]
    assert isinstance(identity["accountId"], str) and re.fullmatch(r"\d{12}", identity["accountId"])
    if "arn" in identity:
        assert identity["arn"].startswith(("arn:aws:iam::", "arn:aws:sts::"))
    attributes = identity.get("sessionContext", {}).get("attributes")
    if attributes:
        assert attributes["mfaAuthenticated"] in {"true", "false"}
        assert ISO.match(attributes["creationDate"])
    assert ISO.match(record["eventTime"])
    assert record["eventSource"].endswith(".amazonaws.com")
    assert isinstance(record["eventName"], str) and record["eventName"]
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+-\d[a-z]?", record["awsRegion"])
    assert isinstance(record["sourceIPAddress"], str) and isinstance(record["userAgent"], str)
    assert "requestParameters" in record and isinstance(record["requestParameters"], dict | None)
    assert isinstance(record.get("responseElements"), dict | None)
    uuid.UUID(record["eventID"])
    assert record["eventType"] in EVENT_TYPES
    assert re.fullmatch(r"\d{12}", record["recipientAccountId"])
    if record["eventType"] == "AwsApiCall":
        assert isinstance(record["requestID"], str) and record["requestID"]
    assert ("errorCode" in record) <= ("errorMessage" in record)
    for name in ("errorCode", "errorMessage"):
        assert isinstance(record.get(name, ""), str)
    if account is not None:
        assert record["recipientAccountId"] == account
        assert identity["accountId"] == account
    json.dumps(record)


def check_modern(record: dict[str, Any]) -> None:
    """What records of event version 1.08 and later add."""
    assert isinstance(record["readOnly"], bool)
    assert record["managementEvent"] is True
    assert record["eventCategory"] == "Management"
    assert set(record["tlsDetails"]) == {"tlsVersion", "cipherSuite", "clientProvidedHostHeader"}
    assert record.get("sessionCredentialFromConsole", "true") == "true"


@needs_samples
def test_the_shape_check_accepts_real_records() -> None:
    """The checks below are real: every stratus-red-team detonation record passes them."""
    checked = 0
    for path in sorted(STRATUS.glob("*.json")):
        for record in json.loads(path.read_text()):
            if record["userIdentity"]["type"] in IDENTITY_TYPES:
                check_core(record, record["recipientAccountId"])
                check_modern(record)
                checked += 1
    assert checked >= 300


# -- the demo story -----------------------------------------------------------------------------------


def test_the_story_has_every_segment_with_its_records() -> None:
    segments = story_segments(ACCOUNT, REGION, START, security_group_id=GROUP)
    assert [s.name for s, _ in segments] == [s.name for s in STORY]
    assert {s.name for s in STORY} == {
        "background",
        "root-sign-in",
        "no-mfa-session",
        "failed-sign-in",
        "access-denied-burst",
        "ssh-open",
        "bucket-policy",
        "trail-stopped",
    }
    sizes = {segment.name: len(records) for segment, records in segments}
    assert 190 <= sizes["background"] <= 215
    assert all(sizes.values())
    assert all(s.title and s.shows for s in STORY)
    flat = sorted((r for _, records in segments for r in records), key=lambda r: r["eventTime"])
    assert flat == _story()


def test_every_record_has_the_shape_of_a_real_one() -> None:
    story = _story()
    for record in story:
        check_core(record, ACCOUNT)
        check_modern(record)
        global_event = record["eventSource"] in {"signin.amazonaws.com", "iam.amazonaws.com"}
        assert record["awsRegion"] == ("us-east-1" if global_event else REGION)
    background = story_segments(ACCOUNT, REGION, START, security_group_id=GROUP)[0][1]
    api = [r for r in background if r["eventType"] == "AwsApiCall"]
    assert all(r["readOnly"] is True and r["eventName"].startswith(("Describe", "List", "Get")) for r in api)
    assert len({r["sourceIPAddress"] for r in api}) >= 3
    assert {r["userIdentity"]["type"] for r in api} == {"IAMUser", "AssumedRole"}
    agents = {r["userAgent"].split("/")[0] for r in api}
    assert {"console.amazonaws.com", "aws-cli", "Boto3"} <= agents
    assert all(
        r["sessionCredentialFromConsole"] == "true" for r in api if r["userAgent"] == "console.amazonaws.com"
    )


def test_event_ids_are_unique_and_times_ordered_within_the_window() -> None:
    story = _story()
    assert len({r["eventID"] for r in story}) == len(story)
    times = [datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for r in story]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] <= START + WINDOW
    assert times[-1] - times[0] >= WINDOW - timedelta(minutes=5)


def test_the_story_is_deterministic_for_a_seed() -> None:
    assert _story(7) == _story(7)
    assert [r["eventID"] for r in _story(8)] != [r["eventID"] for r in _story(7)]
    naive = demo_story(ACCOUNT, REGION, START.replace(tzinfo=None), security_group_id=GROUP)
    assert naive == _story()


def test_each_segment_trips_the_cis_filters_it_names_and_no_others() -> None:
    for segment, records in story_segments(ACCOUNT, REGION, START, security_group_id=GROUP):
        fired = set().union(*(_fired(r) for r in records))
        assert fired == set(segment.controls), segment.name


def test_the_no_mfa_session_and_the_routine() -> None:
    segments = {
        s.name: records for s, records in story_segments(ACCOUNT, REGION, START, security_group_id=GROUP)
    }
    sign_in, *calls = segments["no-mfa-session"]
    assert sign_in["eventName"] == "ConsoleLogin" and sign_in["additionalEventData"]["MFAUsed"] == "No"
    user = sign_in["userIdentity"]["userName"]
    assert calls and all(r["userIdentity"]["userName"] == user for r in calls)
    assert all(NO_MFA_API.match(json.dumps(r)) for r in calls)
    routine = [r for r in segments["background"] if r["eventType"] == "AwsApiCall"]
    assert not any(NO_MFA_API.match(json.dumps(r)) for r in routine)
    assert {r["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] for r in routine} == {
        "true"
    }
    root_login, root_call = segments["root-sign-in"]
    assert root_login["userIdentity"]["type"] == root_call["userIdentity"]["type"] == "Root"
    assert root_login["additionalEventData"]["MFAUsed"] == "No"
    assert root_login["responseElements"] == {"ConsoleLogin": "Success"}
    assert root_call["eventType"] == "AwsApiCall"
    for failure in segments["failed-sign-in"]:
        assert failure["responseElements"] == {"ConsoleLogin": "Failure"}
        assert failure["errorMessage"] == "Failed authentication"


def test_the_denied_burst_is_one_principal_within_five_minutes() -> None:
    story = _story()
    denied = [r for r in story if r.get("errorCode") in {"AccessDenied", "Client.UnauthorizedOperation"}]
    assert len(denied) >= 20
    assert len({r["userIdentity"]["arn"] for r in denied}) == 1
    first, last = (datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ") for r in (denied[0], denied[-1]))
    assert last - first <= timedelta(minutes=5)
    assert {r["errorCode"] for r in denied} == {"AccessDenied", "Client.UnauthorizedOperation"}
    arn = denied[0]["userIdentity"]["arn"]
    for r in denied:
        assert r["responseElements"] is None
        if r["errorCode"] == "Client.UnauthorizedOperation":
            assert r["errorMessage"].startswith(
                f"You are not authorized to perform this operation. User: {arn} "
            )
        elif r["eventSource"] != "s3.amazonaws.com":
            assert re.fullmatch(
                rf"User: {re.escape(arn)} is not authorized to perform: \w+:\w+ on resource: \S+ because no "
                r"identity-based policy allows the \w+:\w+ action",
                r["errorMessage"],
            ), r["errorMessage"]


def _variant(record: dict[str, Any]) -> tuple[str, str, str]:
    return (
        record["userIdentity"]["type"],
        record["responseElements"]["ConsoleLogin"],
        record["additionalEventData"]["MFAUsed"].capitalize(),
    )


@needs_samples
def test_sign_ins_have_the_documented_key_sets() -> None:
    """Per variant (who, success or failure, MFA), the keys of AWS's documented examples, plus the four
    that records of version 1.08+ add (as stratus-red-team's real ConsoleLogin record shows)."""
    documented: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for line in DOC_EXAMPLES.read_text().splitlines():
        event = json.loads(line)["event"]
        if event.get("eventName") == "ConsoleLogin":
            documented.setdefault(_variant(event), []).append(event)
    real = json.loads((STRATUS / "aws.initial-access.console-login-without-mfa.json").read_text())[0]
    assert set(real) - set(documented[_variant(real)][-1]) == MODERN
    sign_ins = [r for r in _story() if r["eventName"] == "ConsoleLogin"]
    assert {_variant(r) for r in sign_ins} == {
        ("IAMUser", "Success", "Yes"),
        ("IAMUser", "Success", "No"),
        ("IAMUser", "Failure", "Yes"),
        ("Root", "Success", "No"),
    }
    for record in sign_ins:
        examples = documented[_variant(record)]
        assert set(record) - MODERN in [set(e) for e in examples], _variant(record)
        assert set(record["userIdentity"]) in [set(e["userIdentity"]) for e in examples]
        assert set(record["additionalEventData"]) in [set(e["additionalEventData"]) for e in examples]
        assert record["eventType"] == "AwsConsoleSignIn" and record["awsRegion"] == "us-east-1"
        assert record["requestParameters"] is None
        assert record["eventVersion"] == real["eventVersion"]
    assert set(next(r for r in sign_ins if _variant(r) == _variant(real))) == set(real)


@needs_samples
def test_the_security_group_change_has_ec2s_shape() -> None:
    real = json.loads(
        (STRATUS / "aws.exfiltration.ec2-security-group-open-port-22-ingress.json").read_text()
    )[0]
    ours = next(r for r in _story() if r["eventName"] == "AuthorizeSecurityGroupIngress")
    assert set(ours) == set(real)
    assert set(ours["userIdentity"]) == set(real["userIdentity"])
    assert ours["userIdentity"]["userName"] == "dev-alice"
    assert ours["requestParameters"] == {**real["requestParameters"], "groupId": GROUP, "cidrIp": "0.0.0.0/0"}
    (item,) = ours["responseElements"]["securityGroupRuleSet"]["items"]
    (real_item,) = real["responseElements"]["securityGroupRuleSet"]["items"]
    assert set(ours["responseElements"]) == set(real["responseElements"])
    assert set(item) == set(real_item)
    assert item | {"securityGroupRuleId": None} == {
        **real_item,
        "cidrIpv4": "0.0.0.0/0",
        "groupId": GROUP,
        "groupOwnerId": ACCOUNT,
        "securityGroupRuleId": None,
    }
    assert re.fullmatch(r"sgr-[0-9a-f]{17}", item["securityGroupRuleId"])
    assert ours["responseElements"]["requestId"] == ours["requestID"]
    assert ours["eventVersion"] == real["eventVersion"] and ours["readOnly"] is False


# -- the benchmark generator ----------------------------------------------------------------------------


@needs_samples
def test_generated_load_is_unique_ordered_and_shaped_like_its_templates() -> None:
    eventgen = load_eventgen()
    templates = eventgen.load_templates(SHARED_DATA)
    assert len(templates) >= 300
    records = list(eventgen.generate(10_000, seed=3, templates=templates))
    assert len(records) == 10_000
    assert len({r["eventID"] for r in records}) == 10_000
    times = [r["eventTime"] for r in records]
    assert times == sorted(times)
    assert times[0].startswith("2026-01-05T00:0") and times[-1].startswith("2026-01-05T23:5")
    for record in records:
        check_core(record, record["recipientAccountId"])
        assert not record["userAgent"].startswith("stratus-red-team")
        if "tlsDetails" in record:
            assert record["awsRegion"] in record["tlsDetails"]["clientProvidedHostHeader"] or (
                "iam" in record["tlsDetails"]["clientProvidedHostHeader"]
                or "signin" in record["tlsDetails"]["clientProvidedHostHeader"]
            )
    # the template's own fields are kept: each record has exactly the keys of some template
    key_sets = {frozenset(t) | {"recipientAccountId"} for t in templates}
    assert all(frozenset(r) in key_sets for r in records)
    kinds = Counter(eventgen._kind(r) for r in records)
    assert kinds["read"] / 10_000 > 0.8
    assert 0.01 < kinds["error"] / 10_000 < 0.06
    assert kinds["signin"] > 0
    assert 10 <= len({r["recipientAccountId"] for r in records}) <= 20
    assert len({r["awsRegion"] for r in records}) >= 5
    assert len({r["userIdentity"]["principalId"] for r in records}) >= 500
    assert len({r["sourceIPAddress"] for r in records}) >= 200
    again = list(eventgen.generate(1_000, seed=3, templates=templates))
    assert again == list(eventgen.generate(1_000, seed=3, templates=templates))
    assert [r["eventID"] for r in again] != [
        r["eventID"] for r in eventgen.generate(1_000, seed=4, templates=templates)
    ]


def test_generated_load_falls_back_to_the_demo_templates(tmp_path: Path) -> None:
    eventgen = load_eventgen()
    templates = eventgen.load_templates(tmp_path)  # no cloudtrail folder here
    assert {t["eventName"] for t in templates} >= {
        "ConsoleLogin",
        "AuthorizeSecurityGroupIngress",
        "StopLogging",
    }
    records = list(eventgen.generate(2_000, seed=5, templates=templates, accounts=3))
    assert len({r["eventID"] for r in records}) == 2_000
    for record in records:
        check_core(record, record["recipientAccountId"])
        check_modern(record)
    assert len({r["recipientAccountId"] for r in records}) == 3
    assert isinstance(eventgen.DESCRIPTION, str) and "seeded" in eventgen.DESCRIPTION


LAYOUT = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/"
    r"(?P=acct)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz"
)


def test_write_files_uses_cloudtrails_layout(tmp_path: Path) -> None:
    eventgen = load_eventgen()
    paths = eventgen.write_files(tmp_path, 3_000, per_file=400, seed=2, accounts=3)
    total = 0
    for path in paths:
        match = LAYOUT.fullmatch(path.relative_to(tmp_path).as_posix())
        assert match, path
        body = json.loads(gzip.decompress(path.read_bytes()))
        assert set(body) == {"Records"} and 0 < len(body["Records"]) <= 400
        for record in body["Records"]:
            assert record["recipientAccountId"] == match["acct"] and record["awsRegion"] == match["region"]
        newest = max(r["eventTime"] for r in body["Records"])
        assert path.name.split("_")[3] == newest[:16].replace("-", "").replace(":", "") + "Z"
        total += len(body["Records"])
    assert total == 3_000
    assert len({p.name for p in paths}) == len(paths)
