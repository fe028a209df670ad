"""Which monitoring-pack alarms each attack fires: Stratus Red Team detonations and documented sign-ins.

The table below was written by reading each technique's CloudTrail records against the pack's
patterns (spec aws-semantics.md §2.2, DESIGN.md "Events and alarms"); the test runs every record,
as the JSON text CloudTrail delivers to CloudWatch Logs, through the pack's real metric filters
(``datapoints``) and alarms (``step_alarm``, ticking at the start of each period after the
records'), and asserts that exactly the listed alarms go to ALARM. Every other alarm must stay
quiet. ``pytest -s`` prints the table.

Reading notes:
* every Stratus technique runs as an IAM user with long-term access keys or as a role session
  whose ``mfaAuthenticated`` is ``"false"``, so ``vigil-api-without-mfa`` fires on all of them;
* ``Client.UnauthorizedOperation`` and ``AccessDenied`` answers fire CIS 5.1 (the detonations that
  probe with a role lacking permissions, and the refused LeaveOrganization);
* ``cloudtrail-event-selectors`` (PutEventSelectors) and ``vpc-remove-flow-logs`` (DeleteFlowLogs)
  blind the logging without any CIS 5.x event name: only the MFA alarm sees them;
* the Stratus records hold no root activity; the documented sign-in records below cover it. AWS's
  root "with MFA" example spells ``MFAUsed`` as ``"YES"``, which the benchmark's case-sensitive
  ``!= "Yes"`` counts as a sign-in without MFA.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from conftest import SHARED_DATA
from vigil.alarms import AlarmState, initial_state, step_alarm
from vigil.logs.metric_filters import LogEvent, datapoints
from vigil.logs.monitoring import PACK_IDS, monitoring_pack, period_values

DATA = SHARED_DATA / "cloudtrail"
STRATUS = DATA / "stratus-red-team" / "docs" / "detonation-logs"
DOCS = DATA / "aws-docs-examples.jsonl"
LOG_GROUP = "/vigil/cloudtrail"
SIGN_IN_DOC = "cloudtrail-event-reference-aws-console-sign-in-events.md"

MFA = "vigil-api-without-mfa"
ROOT = "vigil-root-activity"
UNAUTHORIZED = "cis-5.1-unauthorized-api-calls"
CONSOLE_NO_MFA = "cis-5.2-console-signin-without-mfa"
ROOT_USAGE = "cis-5.3-root-usage"
IAM_POLICY = "cis-5.4-iam-policy-changes"
CLOUDTRAIL = "cis-5.5-cloudtrail-changes"
AUTH_FAILURES = "cis-5.6-console-auth-failures"
CONFIG = "cis-5.9-config-changes"
SECURITY_GROUPS = "cis-5.10-security-group-changes"
ORGANIZATIONS = "cis-5.15-organizations-changes"

# technique → the alarms its records must fire (every other pack alarm stays quiet)
STRATUS_TABLE: dict[str, frozenset[str]] = {
    "aws.credential-access.ec2-get-password-data": frozenset({UNAUTHORIZED, MFA}),
    "aws.credential-access.ec2-steal-instance-credentials": frozenset({MFA}),
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": frozenset({MFA}),
    "aws.credential-access.secretsmanager-retrieve-secrets": frozenset({MFA}),
    "aws.credential-access.ssm-retrieve-securestring-parameters": frozenset({MFA}),
    "aws.defense-evasion.cloudtrail-delete": frozenset({CLOUDTRAIL, MFA}),
    "aws.defense-evasion.cloudtrail-event-selectors": frozenset({MFA}),
    "aws.defense-evasion.cloudtrail-stop": frozenset({CLOUDTRAIL, MFA}),
    "aws.defense-evasion.dns-delete-logs": frozenset({MFA}),
    "aws.defense-evasion.organizations-leave": frozenset({UNAUTHORIZED, ORGANIZATIONS, MFA}),
    "aws.defense-evasion.vpc-remove-flow-logs": frozenset({MFA}),
    "aws.discovery.ec2-download-user-data": frozenset({UNAUTHORIZED, MFA}),
    "aws.execution.ec2-launch-unusual-instances": frozenset({UNAUTHORIZED, MFA}),
    "aws.execution.ec2-user-data": frozenset({MFA}),
    "aws.execution.ssm-send-command": frozenset({MFA}),
    "aws.execution.ssm-start-session": frozenset({MFA}),
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": frozenset({SECURITY_GROUPS, MFA}),
    "aws.exfiltration.ec2-share-ami": frozenset({MFA}),
    "aws.exfiltration.ec2-share-ebs-snapshot": frozenset({MFA}),
    "aws.exfiltration.rds-share-snapshot": frozenset({MFA}),
    "aws.impact.bedrock-invoke-model": frozenset({MFA}),
    "aws.initial-access.console-login-without-mfa": frozenset({CONSOLE_NO_MFA, MFA}),
    "aws.lateral-movement.ec2-instance-connect": frozenset({MFA}),
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": frozenset({MFA}),
    "aws.persistence.iam-backdoor-role": frozenset({MFA}),
    "aws.persistence.iam-backdoor-user": frozenset({MFA}),
    "aws.persistence.iam-create-admin-user": frozenset({IAM_POLICY, MFA}),
    "aws.persistence.iam-create-backdoor-role": frozenset({IAM_POLICY, MFA}),
    "aws.persistence.iam-create-user-login-profile": frozenset({MFA}),
    "aws.persistence.lambda-backdoor-function": frozenset({MFA}),
    "aws.persistence.lambda-layer-extension": frozenset({MFA}),
    "aws.persistence.lambda-overwrite-code": frozenset({MFA}),
    "aws.persistence.rolesanywhere-create-trust-anchor": frozenset({MFA}),
    "aws.persistence.sts-federation-token": frozenset({MFA}),
    "aws.privilege-escalation.iam-update-user-login-profile": frozenset({MFA}),
}

Record = Mapping[str, Any]


def _is(
    source: str,
    event_name: str,
    identity: str | None = None,
    mfa_used: str | None = None,
    failed: bool = False,
) -> Callable[[str, Record], bool]:
    """Selects documented records by source page, event name, identity type, MFAUsed and failure."""

    def select(page: str, record: Record) -> bool:
        extra = record.get("additionalEventData") or {}
        return (
            page.endswith(source)
            and record.get("eventName") == event_name
            and (identity is None or (record.get("userIdentity") or {}).get("type") == identity)
            and (mfa_used is None or (isinstance(extra, dict) and extra.get("MFAUsed") == mfa_used))
            and ("errorMessage" in record) == failed
        )

    return select


# documented record(s) → the alarms they must fire
DOCS_TABLE: dict[str, tuple[Callable[[str, Record], bool], frozenset[str]]] = {
    "root console sign-in without MFA": (
        _is(SIGN_IN_DOC, "ConsoleLogin", "Root", "No"),
        frozenset({CONSOLE_NO_MFA, ROOT_USAGE, ROOT}),
    ),
    'root console sign-in, MFAUsed "YES"': (
        _is(SIGN_IN_DOC, "ConsoleLogin", "Root", "YES"),
        frozenset({CONSOLE_NO_MFA, ROOT_USAGE, ROOT}),
    ),
    "root console sign-in failure": (
        _is(SIGN_IN_DOC, "ConsoleLogin", "Root", failed=True),
        frozenset({CONSOLE_NO_MFA, AUTH_FAILURES, ROOT_USAGE, ROOT}),
    ),
    "root API call (EnableMFADevice)": (
        _is(SIGN_IN_DOC, "EnableMFADevice", "Root"),
        frozenset({ROOT_USAGE, ROOT}),
    ),
    "root API call (events PutRule)": (
        _is("logging_cw_api_calls.md", "PutRule", "Root"),
        frozenset({ROOT_USAGE, ROOT}),
    ),
    "root password change (PasswordUpdated)": (
        _is(SIGN_IN_DOC, "PasswordUpdated", "Root"),
        frozenset({ROOT_USAGE, ROOT}),
    ),
    "IAM user console sign-in without MFA": (
        _is(SIGN_IN_DOC, "ConsoleLogin", "IAMUser", "No"),
        frozenset({CONSOLE_NO_MFA, MFA}),
    ),
    "IAM user console sign-in without MFA (tutorial)": (
        _is("cloudtrail-tutorial.md", "ConsoleLogin", "IAMUser", "No"),
        frozenset({CONSOLE_NO_MFA, MFA}),
    ),
    "IAM user console sign-in with MFA": (
        _is(SIGN_IN_DOC, "ConsoleLogin", "IAMUser", "Yes"),
        frozenset(),
    ),
    "IAM user console sign-in failure": (
        _is(SIGN_IN_DOC, "ConsoleLogin", "IAMUser", failed=True),
        frozenset({AUTH_FAILURES}),
    ),
    "IAM user MFA challenge (CheckMfa)": (_is(SIGN_IN_DOC, "CheckMfa", "IAMUser"), frozenset()),
    "AWS service event (KMS RotateKey)": (_is("non-api-aws-service-events.md", "RotateKey"), frozenset()),
    "refused UpdateTrail (TrailNotFoundException)": (
        _is("cloudtrail-log-file-examples.md", "UpdateTrail", "IAMUser", failed=True),
        frozenset({CLOUDTRAIL, MFA}),
    ),
    "AWS Config DeleteDeliveryChannel": (
        _is("cloudtrail-log-files-for-aws-config.md", "DeleteDeliveryChannel", "IAMUser"),
        frozenset({CONFIG, MFA}),
    ),
}


def _millis(event_time: str) -> int:
    return int(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp() * 1000)


def fired(records: Iterable[Record]) -> frozenset[str]:
    """The pack alarms that go to ALARM when ``records`` arrive on the trail's log group.

    Each alarm starts in INSUFFICIENT_DATA and ticks at the start of every period after the first
    record's, up to the period after the last record's; it fired if some tick moved it to ALARM.
    """
    events = [LogEvent(_millis(r["eventTime"]), json.dumps(r), LOG_GROUP) for r in records]
    assert events, "no records"
    pack = monitoring_pack(LOG_GROUP)
    points = datapoints(pack.filters, events)
    first, last = min(e.timestamp for e in events) // 1000, max(e.timestamp for e in events) // 1000
    out: set[str] = set()
    for alarm in pack.alarms:
        values = period_values(alarm, points)
        state: AlarmState = initial_state(datetime.fromtimestamp(first, UTC))
        tick = first - first % alarm.period + alarm.period
        while tick <= last - last % alarm.period + alarm.period:
            transition = step_alarm(alarm, values, state, datetime.fromtimestamp(tick, UTC))
            if transition.changed and transition.state.value == "ALARM":
                out.add(alarm.name)
            state = transition.state
            tick += alarm.period
    return frozenset(out)


def _stratus(technique: str) -> list[Record]:
    records = json.loads((STRATUS / f"{technique}.json").read_text(encoding="utf-8"))
    assert isinstance(records, list) and records
    return records


def _documented() -> list[tuple[str, Record]]:
    rows = [json.loads(line) for line in DOCS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["source_file"], row["event"]) for row in rows]


def _show(rows: Mapping[str, frozenset[str]], heading: str) -> str:
    width = max(map(len, rows))
    body = [
        f"{name:<{width}}  {', '.join(sorted(alarms, key=PACK_IDS.index)) or '(none)'}"
        for name, alarms in rows.items()
    ]
    return "\n".join([heading, "-" * len(heading), *body, ""])


def test_the_table_names_every_technique_and_only_pack_alarms() -> None:
    assert set(STRATUS_TABLE) == {p.stem for p in STRATUS.glob("*.json")}
    named = set().union(*STRATUS_TABLE.values(), *(alarms for _, alarms in DOCS_TABLE.values()))
    assert named <= set(PACK_IDS)


def test_stratus_techniques_fire_the_alarms_the_table_lists() -> None:
    actual = {technique: fired(_stratus(technique)) for technique in STRATUS_TABLE}
    print()
    print(_show(actual, "Stratus Red Team technique → alarms fired (all others quiet)"))
    assert actual == STRATUS_TABLE


def test_documented_sign_ins_and_root_activity_fire_the_alarms_the_table_lists() -> None:
    documented = _documented()
    actual: dict[str, frozenset[str]] = {}
    for name, (select, _) in DOCS_TABLE.items():
        records = [record for page, record in documented if select(page, record)]
        assert records, f"{name}: no documented record matches"
        actual[name] = fired(records)
    print()
    print(_show(actual, "Documented CloudTrail record → alarms fired (all others quiet)"))
    assert actual == {name: alarms for name, (_, alarms) in DOCS_TABLE.items()}


@pytest.mark.parametrize("alarm", [CLOUDTRAIL, MFA])
def test_stop_logging_with_mfa_fires_only_the_cloudtrail_alarm(alarm: str) -> None:
    """The same StopLogging made by a role session signed in with MFA fires CIS 5.5 but not the MFA alarm."""
    (record,) = _stratus("aws.defense-evasion.cloudtrail-stop")
    identity = {
        "type": "AssumedRole",
        "sessionContext": {"attributes": {"mfaAuthenticated": "true"}},
    }
    with_mfa = {**record, "userIdentity": identity}
    assert (alarm in fired([with_mfa])) is (alarm == CLOUDTRAIL)
