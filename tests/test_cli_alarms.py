"""`vigil alarms simulate` / `simulate-composite`, and the PutMetricAlarm shape they read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import vigil.cli  # the main app (loaded first, as `vigil alarms` is)
from test_alarms import DECISION_TABLE, KEEP  # §3.4, every cell, shared with the pure-function tests
from vigil.alarms.alarm import STATES, AlarmDefinition, MetricRef
from vigil.alarms.aws_shape import definition_from_aws, definition_to_aws
from vigil.cli_alarms import alarms_app
from vigil.errors import ConfigError

runner = CliRunner()

ALARM: dict[str, Any] = {
    "AlarmName": "cpu-high",
    "AlarmDescription": "CPU above 10%",
    "ActionsEnabled": True,
    "OKActions": ["arn:aws:sns:us-east-1:123456789012:ok"],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
    "InsufficientDataActions": [],
    "MetricName": "CPUUtilization",
    "Namespace": "AWS/EC2",
    "Statistic": "Maximum",
    "Dimensions": [{"Name": "InstanceId", "Value": "i-0123"}],
    "Period": 60,
    "EvaluationPeriods": 3,
    "Threshold": 10.0,
    "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "missing",
}
VALUE = {"0": 5.0, "X": 20.0, "-": None}


def simulate(alarm: dict[str, Any] | str, datapoints: list[float | None] | str, *extra: str) -> Result:
    return runner.invoke(
        alarms_app,
        [
            "simulate",
            "--alarm",
            alarm if isinstance(alarm, str) else json.dumps(alarm),
            "--datapoints",
            datapoints if isinstance(datapoints, str) else json.dumps(datapoints),
            *extra,
        ],
    )


def simulated(*args: Any, **kwargs: Any) -> dict[str, str]:
    result = simulate(*args, **kwargs)
    assert result.exit_code == 0, result.output
    out: dict[str, str] = json.loads(result.stdout)
    assert set(out) == {"state", "reason"}
    return out


CELLS = [
    pytest.param(n, m, pattern, treat, expected, previous, id=f"N{n}M{m}[{pattern}]-{treat}-from-{previous}")
    for n, m, pattern, row in DECISION_TABLE
    for treat, expected in row.items()
    for previous in STATES
]


@pytest.mark.parametrize(("n", "m", "pattern", "treat", "expected", "previous"), CELLS)
def test_every_decision_table_cell_through_the_cli(
    n: int, m: int, pattern: str, treat: str, expected: str, previous: str
) -> None:
    alarm = ALARM | {"EvaluationPeriods": n, "DatapointsToAlarm": m, "TreatMissingData": treat}
    points = [VALUE[s] for s in pattern.split()]
    out = simulated(alarm, points, "--initial-state", previous, "--output", "json")
    assert out["state"] == (previous if expected == KEEP else expected)


def test_reason_as_aws_words_it() -> None:
    alarm = ALARM | {"DatapointsToAlarm": 2}
    out = simulated(alarm, [5, None, 20, None, 21.5], "--output", "json")
    assert out == {
        "state": "ALARM",
        "reason": "Threshold Crossed: 2 out of the last 3 datapoints [21.5 (31/12/24 23:59:00), "
        "20.0 (31/12/24 23:57:00)] were greater than the threshold (10.0) "
        "(minimum 2 datapoints for OK -> ALARM transition).",
    }


def test_longer_lists_keep_the_newest_values() -> None:
    """Range for N=3 is 5 periods: of 7 values only the last 5 count."""
    alarm = ALARM | {"DatapointsToAlarm": 3, "TreatMissingData": "notBreaching"}
    assert simulated(alarm, [20, 20, 5, 5, 5, 5, 5], "-o", "json")["state"] == "OK"
    assert simulated(alarm, [5, 5, 20, 20, 20, 20, 20], "-o", "json")["state"] == "ALARM"


def test_shorter_lists_leave_the_oldest_periods_missing() -> None:
    alarm = ALARM | {"DatapointsToAlarm": 3}
    # [X] alone is "- - - - X": no premature alarm, OK on one real point (§3.4)
    assert simulated(alarm, [20], "-o", "json")["state"] == "OK"
    # [X, -, -] is "- - X - -": the premature-alarm rule fires
    assert simulated(alarm, [20, None, None], "-o", "json")["state"] == "ALARM"
    out = simulated(alarm, [], "-o", "json")
    assert out == {
        "state": "INSUFFICIENT_DATA",
        "reason": "Insufficient Data: no datapoints were received for 3 periods and "
        "3 missing datapoints were treated as [Missing].",
    }


def test_at_sets_the_evaluation_time() -> None:
    out = simulated(ALARM | {"EvaluationPeriods": 1}, [42], "--at", "2025-05-14T01:58:11Z", "-o", "json")
    assert (
        out["reason"]
        == "Threshold Crossed: 1 datapoint [42.0 (14/05/25 01:57:00)] was greater than the threshold (10.0)."
    )
    naive = simulated(ALARM | {"EvaluationPeriods": 1}, [42], "--at", "2025-05-14T01:58:11", "-o", "json")
    assert naive == out


def test_alarm_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "alarm.json"
    path.write_text(json.dumps(ALARM))
    assert simulated(f"@{path}", [20, 20, 20], "-o", "json")["state"] == "ALARM"


def test_table_output_shows_state_and_classified_datapoints() -> None:
    result = simulate(ALARM | {"DatapointsToAlarm": 2}, [5, None, 20, None, 20])
    assert result.exit_code == 0, result.output
    for text in (
        "ALARM",
        "INSUFFICIENT_DATA → ALARM",
        "not breaching",
        "missing",
        "breaching",
        "Threshold Crossed",
    ):
        assert text in result.stdout
    assert "arn:aws:sns:us-east-1:123456789012:alerts" in result.stdout


@pytest.mark.parametrize(
    ("alarm", "datapoints", "message"),
    [
        ("{not json", "[]", "--alarm is not valid JSON"),
        (ALARM, "[1, 2", "--datapoints is not valid JSON"),
        (ALARM, '{"a": 1}', "--datapoints must be a JSON list"),
        (ALARM, '[1, "2"]', "--datapoints[1] is '2', not a number or null"),
        (ALARM, "[true]", "--datapoints[0] is True"),
        ("@/nonexistent/alarm.json", "[]", "--alarm: cannot read /nonexistent/alarm.json"),
        ({k: v for k, v in ALARM.items() if k != "MetricName"}, "[]", "MetricName is required"),
        (ALARM | {"Period": 45}, "[]", "period 45s is not allowed"),
        (
            ALARM | {"Metrics": [{"Id": "m1", "Expression": "m2 * 2"}]},
            "[]",
            "Vigil does not evaluate metric-math",
        ),
        (ALARM | {"ExtendedStatistic": "p99"}, "[]", "Vigil does not evaluate percentile alarms"),
        ("[1]", "[]", "expected an object in PutMetricAlarm's shape"),
    ],
)
def test_invalid_input_exits_2(alarm: dict[str, Any] | str, datapoints: str, message: str) -> None:
    result = simulate(alarm, datapoints, "-o", "json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_invalid_initial_state_exits_2() -> None:
    result = simulate(ALARM, "[]", "--initial-state", "PANIC")
    assert result.exit_code == 2


# -- simulate-composite -----------------------------------------------------------------------------


def composite(rule: str, states: dict[str, str] | str, *extra: str) -> Result:
    return runner.invoke(
        alarms_app,
        [
            "simulate-composite",
            "--rule",
            rule,
            "--states",
            states if isinstance(states, str) else json.dumps(states),
            *extra,
        ],
    )


def test_simulate_composite_json() -> None:
    states = {"cpu": "ALARM", "deploy window": "INSUFFICIENT_DATA"}
    result = composite('ALARM(cpu) AND NOT OK("deploy window")', states, "--name", "svc", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "state": "ALARM",
        "reason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:svc was created and its alarm rule evaluates to ALARM",
    }


def test_simulate_composite_from_a_previous_state() -> None:
    result = composite(
        "ALARM(cpu) AND NOT ALARM(deploy)",
        {"cpu": "ALARM", "deploy": "OK"},
        "--initial-state",
        "OK",
        "-o",
        "json",
    )
    assert json.loads(result.stdout) == {
        "state": "ALARM",
        "reason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu transitioned to ALARM at Wednesday 01 January, 2025 00:00:00 UTC",
    }
    during_deploy = composite(
        "ALARM(cpu) AND NOT ALARM(deploy)",
        {"cpu": "ALARM", "deploy": "ALARM"},
        "--initial-state",
        "OK",
        "-o",
        "json",
    )
    assert json.loads(during_deploy.stdout)["state"] == "OK"


def test_simulate_composite_table() -> None:
    result = composite('ALARM(cpu) OR ALARM("[prod] disk")', '{"cpu": "OK", "[prod] disk": "ALARM"}')
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.replace("│", " ").split())  # the panel wraps long lines
    assert "alarm:[prod] disk (ALARM)" in text  # names print as written, not as Rich markup


@pytest.mark.parametrize(
    ("rule", "states", "message"),
    [
        ("ALARM(a) AND", {"a": "OK"}, "at column 13: expected ALARM(…)"),
        ("ALARM(a) or OK(a)", {"a": "OK"}, "at column 10: expected AND, OR or end of rule"),
        ("ALARM(a) AND OK(zz)", {"a": "OK"}, "alarms [zz] in the alarm rule do not exist"),
        ("ALARM(a)", {"a": "PANIC"}, "--states['a'] is 'PANIC'"),
        ("ALARM(a)", "[1]", "--states must be a JSON object"),
        ("ALARM(a)", "{", "--states is not valid JSON"),
    ],
)
def test_simulate_composite_invalid_input_exits_2(
    rule: str, states: dict[str, str] | str, message: str
) -> None:
    result = composite(rule, states, "-o", "json")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())


# -- PutMetricAlarm's shape ----------------------------------------------------------------------------


def test_round_trip() -> None:
    alarm = ALARM | {"DatapointsToAlarm": 2, "EvaluateLowSampleCountPercentile": "ignore"}
    definition = definition_from_aws(alarm)
    assert definition == AlarmDefinition(
        name="cpu-high",
        metric=MetricRef("AWS/EC2", "CPUUtilization", (("InstanceId", "i-0123"),)),
        statistic="Maximum",
        period=60,
        evaluation_periods=3,
        threshold=10.0,
        comparison_operator="GreaterThanThreshold",
        datapoints_to_alarm=2,
        evaluate_low_sample_count_percentile="ignore",
        alarm_actions=("arn:aws:sns:us-east-1:123456789012:alerts",),
        ok_actions=("arn:aws:sns:us-east-1:123456789012:ok",),
        description="CPU above 10%",
    )
    assert definition_to_aws(definition) == alarm
    assert definition_from_aws(definition_to_aws(definition)) == definition


def test_defaults_and_minimal_shape() -> None:
    minimal = {
        k: ALARM[k]
        for k in ("AlarmName", "MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods")
    }
    definition = definition_from_aws(minimal | {"Threshold": 3, "ComparisonOperator": "LessThanThreshold"})
    assert (definition.treat_missing_data, definition.actions_enabled, definition.datapoints_to_alarm) == (
        "missing",
        True,
        None,
    )
    assert (definition.threshold, definition.description, definition.metric.dimensions) == (3.0, None, ())
    out = definition_to_aws(definition)
    assert "DatapointsToAlarm" not in out and "AlarmDescription" not in out
    assert "EvaluateLowSampleCountPercentile" not in out


def test_describe_alarms_item_extra_fields_ignored() -> None:
    item = ALARM | {
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high",
        "AlarmConfigurationUpdatedTimestamp": datetime(2025, 5, 13, 9, 50, 8, tzinfo=UTC),
        "StateValue": "OK",
        "StateReason": "Threshold Crossed: …",
        "StateReasonData": "{}",
        "StateUpdatedTimestamp": datetime(2025, 5, 14, tzinfo=UTC),
        "StateTransitionedTimestamp": datetime(2025, 5, 14, tzinfo=UTC),
        "Unit": "Percent",
        "Metrics": [],
    }
    assert definition_from_aws(item) == definition_from_aws(ALARM)


def test_percentile_definitions_write_extended_statistic() -> None:
    definition = AlarmDefinition(
        "p99", MetricRef("AWS/ELB", "Latency"), "p99", 60, 1, 0.5, "GreaterThanThreshold"
    )
    out = definition_to_aws(definition)
    assert out["ExtendedStatistic"] == "p99" and "Statistic" not in out
    with pytest.raises(ConfigError, match="Vigil does not evaluate percentile alarms"):
        definition_from_aws(out)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"Metrics": [{"Id": "m1"}], "ThresholdMetricId": "ad1"}, ["Metrics", "ThresholdMetricId"]),
        ({"Statistic": "p99"}, ["Statistic"]),
        (
            {"Period": "60", "Threshold": "high", "ActionsEnabled": "yes"},
            ["Period", "Threshold", "ActionsEnabled"],
        ),
        ({"Dimensions": [{"Name": "InstanceId"}], "AlarmActions": [1]}, ["AlarmActions", "Dimensions[0]"]),
        ({"Threshold": None, "ComparisonOperator": None}, ["Threshold", "ComparisonOperator"]),
        ({"Period": True}, ["Period"]),
    ],
)
def test_rejections_name_every_field(changes: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        definition_from_aws(ALARM | changes)
    assert [p.where.split(".", 1)[1] for p in info.value.problems] == fields
    assert all(p.where.startswith("alarm 'cpu-high'.") for p in info.value.problems)


def test_semantic_problems_come_from_the_definition() -> None:
    with pytest.raises(ConfigError) as info:
        definition_from_aws(
            ALARM | {"ComparisonOperator": "GreaterThanUpperThreshold", "DatapointsToAlarm": 9}
        )
    assert [p.where for p in info.value.problems] == [
        "alarm 'cpu-high'.datapoints_to_alarm",
        "alarm 'cpu-high'.comparison_operator",
    ]


# -- list, describe, history, evaluate over a store ------------------------------------------------------

ROOT_ALARMS = {"vigil-root-activity", "cis-5.3-root-usage"}
COMPOSITE_CONFIG = """\
events:
  composite_alarms:
    - AlarmName: root-then-page
      AlarmDescription: Root activity, paged
      AlarmRule: ALARM("vigil-root-activity") AND NOT ALARM(cis-5.5-cloudtrail-changes)
      AlarmActions: [arn:vigil:sns:local:vigil:pager]
"""


def cli(*args: str) -> Result:
    return runner.invoke(vigil.cli.app, list(args))


def vigil_json(*args: str) -> Any:
    result = cli(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def store_args(tmp_path: Path) -> list[str]:
    """A store that has ingested one root API call in the last full 5-minute period."""
    config = tmp_path / "conf" / "vigil.yaml"
    config.parent.mkdir()
    config.write_text(COMPOSITE_CONFIG)
    args = ["--db", str(tmp_path / "vigil.db"), "--config", str(config)]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    last_period = now - timedelta(seconds=now.timestamp() % 300) - timedelta(minutes=5)
    record = {
        "eventVersion": "1.09",
        "eventID": "00000000-0000-0000-0000-000000000001",
        "eventTime": (last_period + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "eventType": "AwsApiCall",
        "readOnly": True,
        "managementEvent": True,
        "userIdentity": {
            "type": "Root",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
        },
    }
    path = tmp_path / "root.json"
    path.write_text(json.dumps({"Records": [record]}))
    result = cli("ingest", str(path), "-q", *args)
    assert result.exit_code == 0, result.output
    return args


def test_list_is_describe_alarms_with_states(store_args: list[str]) -> None:
    out = vigil_json("alarms", "list", *store_args)
    metric = {a["AlarmName"]: a for a in out["MetricAlarms"]}
    assert set(metric) > ROOT_ALARMS and len(metric) == 17  # the whole monitoring pack
    assert {n for n, a in metric.items() if a["StateValue"] == "ALARM"} == ROOT_ALARMS
    root = metric["vigil-root-activity"]
    assert root["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:vigil-root-activity"
    assert (root["VigilOrigin"], root["Namespace"], root["Threshold"]) == ("monitoring pack", "Vigil", 1.0)
    assert root["StateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")
    assert json.loads(root["StateReasonData"])["recentDatapoints"] == [1.0]
    assert datetime.fromisoformat(root["StateUpdatedTimestamp"]).tzinfo is not None
    [composite] = out["CompositeAlarms"]
    assert {k: composite[k] for k in ("AlarmName", "StateValue", "VigilOrigin", "AlarmActions")} == {
        "AlarmName": "root-then-page",
        "StateValue": "ALARM",
        "VigilOrigin": "config",
        "AlarmActions": ["arn:vigil:sns:local:vigil:pager"],
    }
    assert composite["AlarmRule"].startswith('ALARM("vigil-root-activity")')


def test_list_filters_by_state_and_origin(store_args: list[str]) -> None:
    in_alarm = vigil_json("alarms", "list", "--state", "ALARM", *store_args)
    assert {a["AlarmName"] for a in in_alarm["MetricAlarms"]} == ROOT_ALARMS
    assert [a["AlarmName"] for a in in_alarm["CompositeAlarms"]] == ["root-then-page"]
    from_config = vigil_json("alarms", "list", "--origin", "config", *store_args)
    assert (from_config["MetricAlarms"], len(from_config["CompositeAlarms"])) == ([], 1)
    assert vigil_json("alarms", "list", "--origin", "import", *store_args) == {
        "MetricAlarms": [],
        "CompositeAlarms": [],
    }
    result = cli("alarms", "list", "--state", "ALARM", "-o", "csv", *store_args)
    lines = result.stdout.splitlines()
    assert lines[0] == "alarm,type,state,since (UTC),origin,metric / rule,actions"
    assert sorted(line.split(",")[0] for line in lines[1:]) == [
        "cis-5.3-root-usage",
        "root-then-page",
        "vigil-root-activity",
    ]
    assert cli("alarms", "list", "--state", "PANIC", *store_args).exit_code == 2


def test_list_before_any_evaluation(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "fresh.db")]
    out = vigil_json("alarms", "list", *db)
    assert {(a["StateValue"], a["StateReason"], a["StateUpdatedTimestamp"]) for a in out["MetricAlarms"]} == {
        ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", None)
    }
    rows = cli("alarms", "list", "-o", "csv", *db).stdout.splitlines()[1:]
    assert len(rows) == 17 and all(row.split(",")[2:4] == ["not evaluated yet", ""] for row in rows)


def test_describe_a_metric_alarm_shows_its_datapoints_and_history(store_args: list[str]) -> None:
    out = vigil_json("alarms", "describe", "vigil-root-activity", *store_args)
    [alarm] = out["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["StateValue"], out["CompositeAlarms"]) == (
        "vigil-root-activity",
        "ALARM",
        [],
    )
    points = out["VigilDatapoints"]
    assert len(points) == 3  # N=1: a range of 1 + 2 periods
    assert [(p["Value"], p["Classification"], p["Evaluated"]) for p in points] == [
        (None, "missing", False),
        (None, "missing", False),
        (1.0, "breaching", True),
    ]
    assert [h["HistoryItemType"] for h in out["AlarmHistoryItems"]] == ["Action", "StateUpdate"]
    assert json.loads(out["AlarmHistoryItems"][1]["HistoryData"])["newState"]["stateValue"] == "ALARM"

    shown = cli("alarms", "describe", "vigil-root-activity", *store_args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.replace("│", " ").split())
    for part in (
        "ALARM since",
        "origin: monitoring pack",
        "Vigil RootActivity: Sum ≥ 1.0",
        "breaching",
        "StateUpdate",
    ):
        assert part in text


def test_describe_a_composite_shows_its_children(store_args: list[str]) -> None:
    out = vigil_json("alarms", "describe", "root-then-page", *store_args)
    assert out["CompositeAlarms"][0]["AlarmDescription"] == "Root activity, paged"
    assert out["VigilChildren"] == [
        {"AlarmName": "vigil-root-activity", "StateValue": "ALARM"},
        {"AlarmName": "cis-5.5-cloudtrail-changes", "StateValue": "OK"},
    ]
    assert out["AlarmHistoryItems"][0]["AlarmType"] == "CompositeAlarm"


def test_describe_an_unknown_alarm_exits_2(store_args: list[str]) -> None:
    result = cli("alarms", "describe", "root-activity", *store_args)
    assert result.exit_code == 2
    assert "no alarm named 'root-activity'" in result.stderr
    assert "did you mean vigil-root-activity" in result.stderr


def test_history_is_describe_alarm_history(store_args: list[str]) -> None:
    out = vigil_json("alarms", "history", "vigil-root-activity", "cis-5.3-root-usage", *store_args)
    items = out["AlarmHistoryItems"]
    assert {(h["AlarmName"], h["HistoryItemType"]) for h in items} == {
        (name, kind) for name in ROOT_ALARMS for kind in ("StateUpdate", "Action")
    }
    assert set(items[0]) == {
        "AlarmName",
        "AlarmType",
        "Timestamp",
        "HistoryItemType",
        "HistorySummary",
        "HistoryData",
    }
    actions = vigil_json("alarms", "history", "--type", "Action", *store_args)["AlarmHistoryItems"]
    assert {h["AlarmName"] for h in actions} == {*ROOT_ALARMS, "root-then-page"}
    assert {json.loads(h["HistoryData"])["actionState"] for h in actions} == {"Succeeded"}
    assert len(vigil_json("alarms", "history", "--limit", "1", *store_args)["AlarmHistoryItems"]) == 1
    assert cli("alarms", "history", "--type", "Config", *store_args).exit_code == 2


def test_evaluate_prints_the_transitions(store_args: list[str]) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    out = vigil_json("alarms", "evaluate", "--at", later, *store_args)
    changed = {a["AlarmName"]: a for a in out["Alarms"] if a["Changed"]}
    assert set(changed) == {*ROOT_ALARMS, "root-then-page"}
    assert {(a["OldStateValue"], a["NewStateValue"]) for a in changed.values()} == {("ALARM", "OK")}
    assert len(out["Alarms"]) == 18
    again = cli("alarms", "evaluate", "--at", later, *store_args)
    assert again.exit_code == 0, again.output
    assert "18 alarms evaluated" in again.stdout and "0 changed state" in again.stdout
    history = vigil_json("alarms", "history", "vigil-root-activity", "--type", "StateUpdate", *store_args)
    assert [h["HistorySummary"] for h in history["AlarmHistoryItems"]] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    assert cli("alarms", "evaluate", "--alarm", "nope", *store_args).exit_code == 2
    assert cli("alarms", "evaluate", "--at", "yesterday", *store_args).exit_code == 2
