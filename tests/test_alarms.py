"""The CloudWatch alarm state machine against spec aws-semantics.md §3."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil.alarms import (
    AlarmDefinition,
    AlarmState,
    MetricRef,
    evaluation_range_size,
    initial_state,
    step_alarm,
)
from vigil.alarms.alarm import STATES, StateValue, java_double, range_starts
from vigil.errors import ConfigError, UsageError

NOW = datetime(2026, 11, 28, 4, 20, 5, 123000, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
OK_TOPIC = "arn:aws:sns:us-east-1:123456789012:ok"
ID_TOPIC = "arn:aws:sns:us-east-1:123456789012:nodata"


def make(**overrides: Any) -> AlarmDefinition:
    fields: dict[str, Any] = {
        "name": "cpu-high",
        "metric": MetricRef("AWS/EC2", "CPUUtilization", (("InstanceId", "i-0123"),)),
        "statistic": "Maximum",
        "period": 60,
        "evaluation_periods": 3,
        "threshold": 10.0,
        "comparison_operator": "GreaterThanThreshold",
        "alarm_actions": (TOPIC,),
        "ok_actions": (OK_TOPIC,),
        "insufficient_data_actions": (ID_TOPIC,),
    }
    fields.update(overrides)
    return AlarmDefinition(**fields)


def points(defn: AlarmDefinition, pattern: str, now: datetime = NOW) -> dict[datetime, float]:
    """``0`` not breaching (5.0), ``X`` breaching (20.0), ``-`` missing; newest on the right."""
    slots = pattern.split()
    starts = range_starts(defn, now)
    assert len(slots) == len(starts), "pattern must cover the whole evaluation range"
    value = {"0": 5.0, "X": 20.0}
    return {t: value[s] for t, s in zip(starts, slots, strict=True) if s != "-"}


def state(value: StateValue) -> AlarmState:
    return AlarmState(value, f"previously {value}", NOW - timedelta(hours=1), '{"version":"1.0"}')


KEEP = "keep"

# §3.4, both decision tables, every cell: (N, M, datapoints, {treatment: expected}).
DECISION_TABLE: list[tuple[int, int, str, dict[str, str]]] = [
    (3, 3, "0 - X - X", {"missing": "OK", "ignore": "OK", "breaching": "OK", "notBreaching": "OK"}),
    (3, 3, "0 - - - -", {"missing": "OK", "ignore": "OK", "breaching": "OK", "notBreaching": "OK"}),
    (
        3,
        3,
        "- - - - -",
        {"missing": "INSUFFICIENT_DATA", "ignore": KEEP, "breaching": "ALARM", "notBreaching": "OK"},
    ),
    (
        3,
        3,
        "0 X X - X",
        {"missing": "ALARM", "ignore": "ALARM", "breaching": "ALARM", "notBreaching": "ALARM"},
    ),
    (3, 3, "- - X - -", {"missing": "ALARM", "ignore": KEEP, "breaching": "ALARM", "notBreaching": "OK"}),
    (
        3,
        2,
        "0 - X - X",
        {"missing": "ALARM", "ignore": "ALARM", "breaching": "ALARM", "notBreaching": "ALARM"},
    ),
    (
        3,
        2,
        "0 0 X 0 X",
        {"missing": "ALARM", "ignore": "ALARM", "breaching": "ALARM", "notBreaching": "ALARM"},
    ),
    (3, 2, "0 - X - -", {"missing": "OK", "ignore": "OK", "breaching": "ALARM", "notBreaching": "OK"}),
    (3, 2, "- - - - 0", {"missing": "OK", "ignore": "OK", "breaching": "ALARM", "notBreaching": "OK"}),
    (3, 2, "- - - X -", {"missing": "ALARM", "ignore": KEEP, "breaching": "ALARM", "notBreaching": "OK"}),
]

CELLS = [
    pytest.param(n, m, pattern, treat, expected, previous, id=f"N{n}M{m}[{pattern}]-{treat}-from-{previous}")
    for n, m, pattern, row in DECISION_TABLE
    for treat, expected in row.items()
    for previous in STATES
]


def test_decision_table_has_every_cell() -> None:
    assert len(DECISION_TABLE) == 10
    assert all(set(row) == {"missing", "ignore", "breaching", "notBreaching"} for *_, row in DECISION_TABLE)


@pytest.mark.parametrize(("n", "m", "pattern", "treat", "expected", "previous"), CELLS)
def test_decision_table(
    n: int, m: int, pattern: str, treat: str, expected: str, previous: StateValue
) -> None:
    defn = make(evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=treat)
    before = state(previous)
    result = step_alarm(defn, points(defn, pattern), before, NOW)
    want = previous if expected == KEEP else expected
    assert result.state.value == want
    assert result.changed is (want != previous)
    if expected == KEEP:
        assert result.state == before
        assert (result.reason, result.reason_data, result.actions) == (before.reason, before.reason_data, ())


def test_evaluation_range_size() -> None:
    assert [evaluation_range_size(n) for n in (1, 2, 3, 5, 6, 9, 10)] == [3, 4, 5, 7, 8, 12, 13]


def test_range_ends_at_last_complete_period() -> None:
    starts = range_starts(make(), NOW)
    assert starts == [datetime(2026, 11, 28, 4, minute, tzinfo=UTC) for minute in (15, 16, 17, 18, 19)]


def test_breaching_row_alarms_once_the_real_zero_leaves_the_range() -> None:
    """§3.4: `0 - - - -` with breaching stays OK (0 + 2 filled = 2 < 3), then ALARM next tick."""
    defn = make(datapoints_to_alarm=3, treat_missing_data="breaching")
    first = step_alarm(defn, points(defn, "0 - - - -"), state("INSUFFICIENT_DATA"), NOW)
    assert first.state.value == "OK"
    later = NOW + timedelta(minutes=5)
    second = step_alarm(defn, points(defn, "0 - - - -"), first.state, later)
    assert (second.state.value, second.changed, second.actions) == ("ALARM", True, (TOPIC,))


@pytest.mark.parametrize("pattern", ["- - - - X", "- - - X -"])
def test_no_premature_alarm_on_lone_recent_breach(pattern: str) -> None:
    defn = make(datapoints_to_alarm=3)
    assert step_alarm(defn, points(defn, pattern), state("INSUFFICIENT_DATA"), NOW).state.value == "OK"


def test_m_of_n_uses_only_the_n_most_recent_real_points() -> None:
    """Unlike LocalStack, old breaches beyond the N most recent points do not count."""
    defn = make(datapoints_to_alarm=2)
    assert step_alarm(defn, points(defn, "X X 0 0 0"), state("ALARM"), NOW).state.value == "OK"


def test_datapoints_outside_the_range_are_ignored() -> None:
    defn = make(datapoints_to_alarm=1)
    stale = {datetime(2026, 11, 28, 3, 0, tzinfo=UTC): 99.0, datetime(2026, 11, 28, 4, 20, tzinfo=UTC): 99.0}
    result = step_alarm(defn, stale, state("OK"), NOW)
    assert result.state.value == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(
    ("treat", "expected"),
    [("missing", "INSUFFICIENT_DATA"), ("ignore", "OK"), ("breaching", "ALARM"), ("notBreaching", "OK")],
)
def test_treat_missing_data_all_missing_from_ok(treat: str, expected: str) -> None:
    result = step_alarm(make(treat_missing_data=treat), {}, state("OK"), NOW)
    assert result.state.value == expected


def test_dynamodb_alarms_always_behave_as_ignore() -> None:
    defn = make(metric=MetricRef("AWS/DynamoDB", "ThrottledRequests"), treat_missing_data="breaching")
    assert step_alarm(defn, {}, state("OK"), NOW).changed is False


def test_initial_state() -> None:
    assert initial_state(NOW) == AlarmState(
        "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", NOW, None
    )


def test_first_evaluation_from_initial_state_runs_actions() -> None:
    defn = make(evaluation_periods=1)
    result = step_alarm(defn, points(defn, "- - X"), initial_state(NOW), NOW)
    assert (result.state.value, result.changed, result.actions) == ("ALARM", True, (TOPIC,))
    assert result.previous == initial_state(NOW)
    assert result.state.timestamp == NOW


def test_actions_only_on_transition() -> None:
    defn = make(evaluation_periods=1)
    data = points(defn, "- - X")
    first = step_alarm(defn, data, state("OK"), NOW)
    again = step_alarm(defn, data, first.state, NOW)
    assert (again.changed, again.actions, again.state) == (False, (), first.state)


@pytest.mark.parametrize(
    ("pattern", "treat", "expected", "actions"),
    [
        ("- - 0", "missing", "OK", (OK_TOPIC,)),
        ("- - X", "missing", "ALARM", (TOPIC,)),
        ("- - -", "missing", "INSUFFICIENT_DATA", (ID_TOPIC,)),
    ],
)
def test_actions_per_target_state(pattern: str, treat: str, expected: str, actions: tuple[str, ...]) -> None:
    defn = make(evaluation_periods=1, treat_missing_data=treat)
    previous: StateValue = "ALARM" if expected != "ALARM" else "OK"
    result = step_alarm(defn, points(defn, pattern), state(previous), NOW)
    assert (result.state.value, result.actions) == (expected, actions)


def test_actions_disabled() -> None:
    defn = make(evaluation_periods=1, actions_enabled=False)
    result = step_alarm(defn, points(defn, "- - X"), state("OK"), NOW)
    assert (result.changed, result.actions) == (True, ())


# --- reasons (§3.3 note c, §3.5) ------------------------------------------------------------

AWS_NOW = datetime(2025, 5, 14, 1, 56, 11, 589000, tzinfo=UTC)


def test_reason_long_form_alarm() -> None:
    defn = make(
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=90.0,
        comparison_operator="GreaterThanOrEqualToThreshold",
    )
    data = {datetime(2025, 5, 14, 1, 55, tzinfo=UTC): 94.1}
    result = step_alarm(defn, data, state("OK"), AWS_NOW)
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [94.1 (14/05/25 01:55:00)] was greater than or "
        "equal to the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert result.state.reason == result.reason


def test_reason_long_form_ok() -> None:
    defn = make(evaluation_periods=1, datapoints_to_alarm=1, threshold=50)
    data = {datetime(2025, 5, 14, 1, 55, tzinfo=UTC): 12.0}
    result = step_alarm(defn, data, state("ALARM"), AWS_NOW)
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (14/05/25 01:55:00)] was not greater than "
        "the threshold (50.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )


def test_reason_m_of_n_lists_breaching_points_newest_first() -> None:
    defn = make(datapoints_to_alarm=2, comparison_operator="LessThanThreshold", threshold=2)
    starts = range_starts(defn, AWS_NOW)
    data = {starts[0]: 2.5, starts[2]: 1.0, starts[4]: 1.7}
    result = step_alarm(defn, data, state("OK"), AWS_NOW)
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [1.7 (14/05/25 01:55:00), 1.0 (14/05/25 01:53:00)] "
        "were less than the threshold (2.0) (minimum 2 datapoints for OK -> ALARM transition)."
    )


def test_reason_short_form_when_datapoints_to_alarm_unset() -> None:
    defn = make(evaluation_periods=1, threshold=21.0)
    data = {datetime(2025, 5, 14, 1, 55, tzinfo=UTC): 21.5}
    result = step_alarm(defn, data, state("OK"), AWS_NOW)
    assert (
        result.reason
        == "Threshold Crossed: 1 datapoint [21.5 (14/05/25 01:55:00)] was greater than the threshold (21.0)."
    )


@pytest.mark.parametrize(
    ("treat", "previous", "reason"),
    [
        (
            "breaching",
            "OK",
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were "
            "treated as [Breaching].",
        ),
        (
            "notBreaching",
            "ALARM",
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were "
            "treated as [NonBreaching].",
        ),
        (
            "missing",
            "OK",
            "Insufficient Data: no datapoints were received for 2 periods and 2 missing datapoints were "
            "treated as [Missing].",
        ),
    ],
)
def test_reason_all_missing(treat: str, previous: StateValue, reason: str) -> None:
    result = step_alarm(make(evaluation_periods=2, treat_missing_data=treat), {}, state(previous), AWS_NOW)
    assert result.reason == reason


def test_reason_data_shape() -> None:
    defn = make(datapoints_to_alarm=2, statistic="Average", period=300, threshold=50)
    starts = range_starts(defn, AWS_NOW)
    data = {starts[1]: 10.0, starts[3]: 99.5, starts[4]: 60.0}
    result = step_alarm(defn, data, state("OK"), AWS_NOW)
    assert result.state.reason_data == result.reason_data
    assert result.reason_data is not None
    assert json.loads(result.reason_data) == {
        "version": "1.0",
        "queryDate": "2025-05-14T01:56:11.589+0000",
        "startDate": "2025-05-14T01:30:00.000+0000",
        "statistic": "Average",
        "period": 300,
        "recentDatapoints": [10.0, 99.5, 60.0],
        "threshold": 50.0,
        "evaluatedDatapoints": [
            {"timestamp": "2025-05-14T01:50:00.000+0000", "value": 60.0},
            {"timestamp": "2025-05-14T01:45:00.000+0000", "value": 99.5},
            {"timestamp": "2025-05-14T01:35:00.000+0000", "value": 10.0},
        ],
    }
    assert list(json.loads(result.reason_data)) == [
        "version",
        "queryDate",
        "startDate",
        "statistic",
        "period",
        "recentDatapoints",
        "threshold",
        "evaluatedDatapoints",
    ]
    assert " " not in result.reason_data.replace("T01", "")  # compact, as AWS writes it


def test_java_double() -> None:
    assert [java_double(x) for x in (90, 94.1, 0.0, -2.5, 1e-4, 1.5e20, 12345678.0)] == [
        "90.0",
        "94.1",
        "0.0",
        "-2.5",
        "1.0E-4",
        "1.5E20",
        "1.2345678E7",
    ]


# --- validation ------------------------------------------------------------------------------

INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"name": ""}, "name", "1–255 characters"),
    ({"metric": MetricRef("", "CPUUtilization")}, "metric", "namespace and name"),
    ({"statistic": "Median"}, "statistic", "unknown statistic 'Median'"),
    ({"statistic": "p101"}, "statistic", "unknown statistic 'p101'"),
    ({"period": 45}, "period", "period 45s is not allowed"),
    ({"period": 0}, "period", "period 0s is not allowed"),
    ({"evaluation_periods": 0}, "evaluation_periods", "evaluation_periods is 0"),
    ({"period": 3600, "evaluation_periods": 25}, "evaluation_periods", "exceeds one day"),
    ({"datapoints_to_alarm": 4}, "datapoints_to_alarm", "outside 1..evaluation_periods (3)"),
    ({"datapoints_to_alarm": 0}, "datapoints_to_alarm", "outside 1..evaluation_periods"),
    ({"threshold": float("nan")}, "threshold", "not a finite number"),
    ({"comparison_operator": "GreaterThan"}, "comparison_operator", "unknown comparison operator"),
    ({"comparison_operator": "GreaterThanUpperThreshold"}, "comparison_operator", "anomaly-detection band"),
    ({"treat_missing_data": "zero"}, "treat_missing_data", "unknown treat_missing_data 'zero'"),
    (
        {"evaluate_low_sample_count_percentile": "yes"},
        "evaluate_low_sample_count_percentile",
        "unknown value",
    ),
    ({"alarm_actions": ("my-topic",)}, "alarm_actions", "'my-topic' is not an ARN"),
]


@pytest.mark.parametrize(("overrides", "fld", "message"), INVALID, ids=[i[1] + "-" + i[2] for i in INVALID])
def test_definition_validation(overrides: dict[str, Any], fld: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make(**overrides)
    [problem] = info.value.problems
    name = overrides.get("name", "cpu-high")
    assert problem.where == f"alarm {name!r}.{fld}"
    assert message in problem.message
    assert problem.hint


def test_definition_validation_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        make(period=7, treat_missing_data="zero", statistic="Mode")
    assert [p.where for p in info.value.problems] == [
        "alarm 'cpu-high'.statistic",
        "alarm 'cpu-high'.period",
        "alarm 'cpu-high'.treat_missing_data",
    ]
    assert "alarm 'cpu-high': 3 problems" in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"period": 10},
        {"period": 30},
        {"period": 86400, "evaluation_periods": 1},
        {"statistic": "p99.9"},
        {"statistic": "p0"},
    ],
)
def test_valid_definitions(overrides: dict[str, Any]) -> None:
    assert make(**overrides).period in (10, 30, 60, 86400)


def test_definition_defaults() -> None:
    defn = make()
    assert (defn.m, defn.treat_missing_data, defn.effective_treat_missing_data) == (3, "missing", "missing")
    assert replace(defn, datapoints_to_alarm=1).m == 1


def test_step_rejects_naive_now_and_misaligned_keys() -> None:
    defn = make()
    with pytest.raises(UsageError, match="has no timezone"):
        step_alarm(defn, {}, state("OK"), NOW.replace(tzinfo=None))
    with pytest.raises(UsageError, match="aligned to the 60s period"):
        step_alarm(defn, {datetime(2026, 11, 28, 4, 18, 30, tzinfo=UTC): 1.0}, state("OK"), NOW)
