"""The monitoring pack (CIS v7.0 5.1–5.15 + the two mission alarms) and pattern equivalence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from vigil.alarms import evaluation_range_size, initial_state, step_alarm
from vigil.errors import ConfigError, UsageError
from vigil.logs.equivalence import canonical, matches_cis, same_pattern
from vigil.logs.metric_filters import LogEvent, datapoints
from vigil.logs.monitoring import (
    PACK_IDS,
    PackEntry,
    entries,
    entry,
    load_pack,
    monitoring_pack,
    period_values,
)
from vigil.logs.pattern import compile_pattern

DOCS = SHARED_DATA / "cloudtrail" / "aws-docs-examples.jsonl"
GROUP = "/vigil/cloudtrail"
TOPIC = "arn:aws:sns:us-east-1:123456789012:security-alerts"

# ------------------------------------------------------------------------------------ the pack


def test_the_pack_has_cis_5_1_to_5_15_and_the_two_mission_alarms() -> None:
    cis = [e.cis for e in entries() if e.cis]
    assert cis == [f"5.{n}" for n in range(1, 16)]
    assert [e.id for e in entries() if not e.cis] == ["vigil-root-activity", "vigil-api-without-mfa"]
    assert tuple(e.id for e in entries()) == PACK_IDS
    assert all(e.id.startswith(f"cis-{e.cis}-") for e in entries() if e.cis)


def test_security_hub_controls_follow_the_cis_v1_2_numbering() -> None:
    hub = {e.cis: e.security_hub for e in entries() if e.cis}
    # CloudWatch.1 is root usage (CIS 1.2's 3.3); CloudWatch.2/3 are 5.1/5.2; the rest follow 5.n
    assert hub["5.3"] == "CloudWatch.1" and hub["5.1"] == "CloudWatch.2" and hub["5.2"] == "CloudWatch.3"
    assert [hub[f"5.{n}"] for n in range(4, 15)] == [f"CloudWatch.{n}" for n in range(4, 15)]
    assert hub["5.15"] is None


def test_alarm_settings_are_the_ones_cis_prescribes() -> None:
    for e in entries():
        s = e.alarm
        assert (s.statistic, s.period, s.threshold, s.comparison_operator, s.evaluation_periods) == (
            "Sum",
            300,
            1.0,
            "GreaterThanOrEqualToThreshold",
            1,
        ), e.id
        assert s.treat_missing_data == "notBreaching"
        assert e.namespace == ("CISBenchmark" if e.cis else "Vigil")


@pytest.mark.parametrize("pattern", [p for e in entries() for p in e.patterns])
def test_every_pattern_compiles_as_json(pattern: str) -> None:
    assert compile_pattern(pattern).kind == "json"


@pytest.mark.parametrize("e", entries(), ids=lambda e: e.id)
def test_older_forms_differ_from_the_current_one(e: PackEntry) -> None:
    forms = [canonical(p) for p in e.patterns]
    assert None not in forms and len(set(forms)) == len(forms), "list only forms whose meaning differs"


def test_monitoring_pack_builds_filters_and_alarms_on_the_log_group() -> None:
    pack = monitoring_pack(GROUP, actions=(TOPIC,))
    assert [f.name for f in pack.filters] == [a.name for a in pack.alarms] == list(PACK_IDS)
    assert {f.log_group for f in pack.filters} == {GROUP}
    assert all(a.alarm_actions == (TOPIC,) for a in pack.alarms)
    assert all(f.transformation.metric_value == "1" for f in pack.filters)
    assert [(a.metric.namespace, a.metric.name) for a in pack.alarms] == [
        (f.transformation.metric_namespace, f.transformation.metric_name) for f in pack.filters
    ]
    assert len({a.metric.name for a in pack.alarms}) == len(PACK_IDS)


def test_include_picks_entries_and_rejects_unknown_ids() -> None:
    pack = monitoring_pack(GROUP, include={"vigil-root-activity", "cis-5.3-root-usage"})
    assert [e.id for e in pack.entries] == ["cis-5.3-root-usage", "vigil-root-activity"]
    assert monitoring_pack(GROUP, include=()).filters == ()
    with pytest.raises(UsageError, match=r"cis-9\.9"):
        monitoring_pack(GROUP, include=["cis-9.9"])


def test_entry_is_found_by_pack_cis_or_security_hub_id() -> None:
    assert entry("5.5") is entry("CloudWatch.5") is entry("cis-5.5-cloudtrail-changes")
    with pytest.raises(UsageError):
        entry("5.16")


def test_a_broken_pack_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(
        "\n".join(
            [
                "alarm_defaults: {statistic: Sum, period: 300, evaluation_periods: 1, threshold: 1,",
                "  comparison_operator: GreaterThanOrEqualToThreshold, treat_missing_data: notBreaching}",
                "alarms:",
                "  - id: one",  # 4
                "    title: One",
                "    severity: high",
                "    description: d",
                "    metric: {name: One, namespace: Test}",
                "    patterns:",
                "      - '{ $.a = 1 '",  # 10: unclosed
                "  - id: two",  # 11
                "    title: Two",
                "    severity: urgent",  # 13: unknown severity
                "    colour: red",  # 14: unknown field
                "    description: d",
                "    metric: {name: Two, namespace: Test}",
                "    patterns: ['{ $.a = 1 }']",
                "    alarm: {period: 45}",  # 18: period not allowed
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_pack(path)
    where = {p.where.rsplit(":", 1)[1]: p.message for p in caught.value.problems}
    assert "filter pattern" in where["10"]
    assert "urgent" in where["13"] and "colour" in where["14"]
    assert "period" in where["18"]


# ------------------------------------------------------------------------------------ §2.3 vectors


def _documented(event_name: str, identity: str, **extra: object) -> str:
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)["event"]
        data = record.get("additionalEventData") or {}
        if (
            record.get("eventName") == event_name
            and record["userIdentity"].get("type") == identity
            and all(record.get(k, data.get(k)) == v for k, v in extra.items())
        ):
            return json.dumps(record)
    raise AssertionError(f"no documented {event_name} by {identity} with {extra}")


IAM_NO_MFA = _documented("ConsoleLogin", "IAMUser", MFAUsed="No")
IAM_MFA = _documented("ConsoleLogin", "IAMUser", MFAUsed="Yes", errorMessage=None)
IAM_FAILED = _documented("ConsoleLogin", "IAMUser", errorMessage="Failed authentication")
ROOT_NO_MFA = _documented("ConsoleLogin", "Root", MFAUsed="No", errorMessage=None)


@pytest.mark.parametrize(
    ("vector", "control", "form", "event", "expected"),
    [
        ("C1", "5.2", 0, IAM_NO_MFA, True),
        ("C2", "5.2", 0, IAM_MFA, False),
        ("C3", "5.2", 0, IAM_FAILED, False),
        ("C4", "5.6", 0, IAM_FAILED, True),
        ("C5", "5.6", 0, IAM_NO_MFA, False),
        ("C8", "5.2", 1, ROOT_NO_MFA, False),  # the IAMUser variant: type is Root
        ("C8'", "5.2", 0, ROOT_NO_MFA, True),  # the main form does catch it
    ],
)
def test_cis_sign_in_vectors(vector: str, control: str, form: int, event: str, expected: bool) -> None:
    pattern = compile_pattern(entry(control).patterns[form])
    assert (pattern.match(event) is not None) is expected, vector


# ------------------------------------------------------------------------------------ equivalence

# The CIS v7.0 texts as published (spec §2.2): unquoted values, the benchmark's own spacing.
PUBLISHED_V7 = {
    "5.1": "{ ($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*) && "
    "($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }",
    "5.2": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    "5.3": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != '
    '"AwsServiceEvent" }',
    "5.4": "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)"
    "||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)"
    "||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)"
    "||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)"
    "||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)"
    "||($.eventName=DetachGroupPolicy)}",
    "5.5": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
    "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "5.6": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "5.7": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
    "5.8": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = "
    "PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = "
    "PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
    "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    "5.9": "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||"
    "($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }",
    "5.10": "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
    "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = "
    "CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || ($.eventName = ModifySecurityGroupRules) }",
    "5.11": "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = "
    "DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || "
    "($.eventName = ReplaceNetworkAclAssociation) }",
    "5.12": "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = "
    "AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || "
    "($.eventName = DetachInternetGateway) }",
    "5.13": "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || "
    "($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = "
    "DeleteRoute) || ($.eventName = DisassociateRouteTable) }",
    "5.14": "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || "
    "($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = "
    "DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = "
    "AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || "
    "($.eventName = EnableVpcClassicLink) }",
    "5.15": "{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName "
    "= AttachPolicy) || ($.eventName = CreateAccount) || ($.eventName = CreateOrganizationalUnit) || ($.eventName "
    "= CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = "
    "DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = DetachPolicy) || ($.eventName = "
    "DisablePolicyType) || ($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || "
    "($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName = "
    "RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }",
}

# ≤ v3.0 and v1.2 / Security Hub texts, as transcribed (spec §2.2)
PUBLISHED_OLDER = {
    "5.1": [
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || '
        '($.sourceIPAddress!="delivery.logs.amazonaws.com") || ($.eventName!="HeadBucket") }',
    ],
    "5.10": [
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"
    ],
    "5.13": [
        "{($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) "
        "|| ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = "
        "DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }"
    ],
}


@pytest.mark.parametrize("control", sorted(PUBLISHED_V7, key=lambda c: int(c.split(".")[1])))
def test_the_published_v7_text_matches_its_control_and_no_other(control: str) -> None:
    assert matches_cis(PUBLISHED_V7[control], control)
    assert same_pattern(PUBLISHED_V7[control], entry(control).pattern)
    others = [c for c in PUBLISHED_V7 if c != control and matches_cis(PUBLISHED_V7[control], c)]
    assert others == []


@pytest.mark.parametrize(("control", "text"), [(c, t) for c, texts in PUBLISHED_OLDER.items() for t in texts])
def test_older_published_forms_are_accepted(control: str, text: str) -> None:
    assert matches_cis(text, control)
    assert not same_pattern(text, PUBLISHED_V7[control])


CT = entry("5.5").pattern


@pytest.mark.parametrize(
    "variant",
    [
        # reordered operands
        "{ ($.eventName = StopLogging) || ($.eventName = StartLogging) || ($.eventName = DeleteTrail) || "
        "($.eventName = UpdateTrail) || ($.eventName = CreateTrail) }",
        # reparenthesised (nested ORs flatten), requoted, respaced
        '{(($.eventName="CreateTrail")||($.eventName=UpdateTrail))||(($.eventName = DeleteTrail)||'
        "($.eventName = StartLogging || $.eventName = StopLogging))}",
        # a duplicated clause
        "{ $.eventName = CreateTrail || $.eventName = CreateTrail || $.eventName = UpdateTrail || "
        "$.eventName = DeleteTrail || $.eventName = StartLogging || $.eventName = StopLogging }",
        # bracket selector
        '{ $["eventName"] = CreateTrail || $.eventName = UpdateTrail || $.eventName = DeleteTrail || '
        "$.eventName = StartLogging || $.eventName = StopLogging }",
    ],
)
def test_respelled_patterns_are_the_same(variant: str) -> None:
    assert same_pattern(variant, CT) and same_pattern(CT, variant)
    assert matches_cis(variant, "cis-5.5-cloudtrail-changes")


@pytest.mark.parametrize(
    "variant",
    [
        # StopLogging dropped
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) }",
        # a name changed
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLoggin) }",
        # an operator changed
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName != StopLogging) }",
        # a clause added (narrows the pattern)
        "{ ($.eventSource = cloudtrail.amazonaws.com) && (($.eventName = CreateTrail) || ($.eventName = "
        "UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging)) }",
        # a different selector
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.requestParameters.eventName = StopLogging) }",
        # not JSON at all
        "CreateTrail UpdateTrail DeleteTrail StartLogging StopLogging",
        # not a pattern the engine accepts
        "{ ($.eventName = CreateTrail) ||",
    ],
)
def test_changed_patterns_are_not_the_same(variant: str) -> None:
    assert not same_pattern(variant, CT)
    assert not matches_cis(variant, "5.5")


def test_precedence_is_part_of_the_meaning() -> None:
    v4 = PUBLISHED_V7["5.1"]
    regrouped = (
        "{ (($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*)) && "
        "($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }"
    )
    assert not same_pattern(v4, regrouped)
    assert not matches_cis(regrouped, "5.1")
    assert not matches_cis(
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") }',
        "5.2",
    )  # half of the Security Hub variant is neither form


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("{ $.n = 12 }", "{ $.n = 12.0 }", True),  # unquoted numbers compare numerically
        ('{ $.n = "12" }', "{ $.n = 12 }", False),  # a quoted number compares as text
        ('{ $.s = "abc" }', "{ $.s = abc }", True),
        ("{ $.s = %ab+% }", '{ $.s = "ab+" }', False),
        ("{ $.a NOT EXISTS && $.b IS NULL }", "{ ($.b IS NULL) && ($.a NOT EXISTS) }", True),
        ("{ $.a IS TRUE }", "{ $.a IS FALSE }", False),
        ('ERROR "bad thing"', '"ERROR" "bad thing"', True),
        ("?ERROR ?WARN", "?WARN ?ERROR", True),
        ("ERROR -WARN", "ERROR WARN", False),
        ("[ip, status=404 || status=410]", "[ip, status=410 || status=404]", True),
        ("[ip, status=404]", "[ip, status=410]", False),
        ("", '" "', True),
    ],
)
def test_spelling_versus_meaning(a: str, b: str, same: bool) -> None:
    assert same_pattern(a, b) is same


def test_an_unknown_control_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        matches_cis(CT, "4.5")


# ------------------------------------------------------------------------------------ filter → alarm

# One record each entry's pattern matches (CloudTrail fields only as far as the pattern reads them).
MATCHING: dict[str, dict[str, object]] = {
    "cis-5.1-unauthorized-api-calls": {
        "eventName": "GetObject",
        "errorCode": "AccessDenied",
        "sourceIPAddress": "203.0.113.7",
    },
    "cis-5.2-console-signin-without-mfa": {
        "eventName": "ConsoleLogin",
        "additionalEventData": {"MFAUsed": "No"},
    },
    "cis-5.3-root-usage": {
        "userIdentity": {"type": "Root"},
        "eventType": "AwsApiCall",
        "eventName": "ListUsers",
    },
    "cis-5.4-iam-policy-changes": {"eventName": "PutRolePolicy"},
    "cis-5.5-cloudtrail-changes": {"eventName": "StopLogging"},
    "cis-5.6-console-auth-failures": {"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"},
    "cis-5.7-cmk-disable-or-delete": {"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion"},
    "cis-5.8-s3-bucket-policy-changes": {"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"},
    "cis-5.9-config-changes": {
        "eventSource": "config.amazonaws.com",
        "eventName": "StopConfigurationRecorder",
    },
    "cis-5.10-security-group-changes": {"eventName": "ModifySecurityGroupRules"},
    "cis-5.11-nacl-changes": {"eventName": "ReplaceNetworkAclEntry"},
    "cis-5.12-network-gateway-changes": {"eventName": "AttachInternetGateway"},
    "cis-5.13-route-table-changes": {"eventName": "CreateRoute"},
    "cis-5.14-vpc-changes": {"eventName": "CreateVpcPeeringConnection"},
    "cis-5.15-organizations-changes": {
        "eventSource": "organizations.amazonaws.com",
        "eventName": "LeaveOrganization",
    },
    "vigil-root-activity": {"userIdentity": {"type": "Root", "invokedBy": "cloudformation.amazonaws.com"}},
    "vigil-api-without-mfa": {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "userIdentity": {
            "type": "AssumedRole",
            "sessionContext": {"attributes": {"mfaAuthenticated": "false"}},
        },
    },
}
QUIET = {
    "eventSource": "s3.amazonaws.com",
    "eventName": "ListBuckets",
    "userIdentity": {"type": "AWSService"},
}
AT = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)


def test_every_entry_has_a_matching_record() -> None:
    assert set(MATCHING) == set(PACK_IDS)


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_a_matching_record_gives_a_datapoint_and_an_alarm(pack_id: str) -> None:
    pack = monitoring_pack(GROUP, actions=(TOPIC,), include={pack_id})
    (alarm,) = pack.alarms
    millis = int(AT.timestamp() * 1000)
    events = [
        LogEvent(millis, json.dumps(MATCHING[pack_id]), GROUP),
        LogEvent(millis, json.dumps(QUIET), GROUP),
    ]
    points = datapoints(pack.filters, events)
    assert [(p.namespace, p.metric_name, p.sum) for p in points] == [
        (alarm.metric.namespace, alarm.metric.name, 1.0)
    ]
    values = period_values(alarm, points)
    period_start = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    assert values == {period_start: 1.0}
    tick = step_alarm(alarm, values, initial_state(AT), period_start + timedelta(seconds=300))
    assert (tick.state.value, tick.actions) == ("ALARM", (TOPIC,))
    # once the period has left the evaluation range, notBreaching brings the alarm back to OK (no OK action)
    quiet = period_start + timedelta(seconds=300 * (evaluation_range_size(1) + 1))
    later = step_alarm(alarm, values, tick.state, quiet)
    assert (later.state.value, later.changed, later.actions) == ("OK", True, ())


def test_no_pack_filter_matches_a_service_listing_buckets() -> None:
    pack = monitoring_pack(GROUP)
    assert datapoints(pack.filters, [LogEvent(0, json.dumps(QUIET), GROUP)]) == []
