"""Composite alarms: the AlarmRule language, its evaluation, the composite's transitions and cycles."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from vigil.alarms.alarm import STATES, AlarmState, StateValue, initial_state
from vigil.alarms.composite import (
    MAX_RULE_LENGTH,
    And,
    AtLeast,
    CompositeAlarmDefinition,
    Const,
    CycleError,
    Not,
    Or,
    RuleError,
    StateIs,
    alarm_name,
    check_cycles,
    evaluate_rule,
    evaluation_order,
    format_rule,
    missing_alarms,
    parse_rule,
    reason_time,
    referenced_alarms,
    step_composite,
)
from vigil.errors import ConfigError, UsageError

NOW = datetime(2022, 7, 22, 15, 57, 45, 394000, tzinfo=UTC)
PREFIX = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
OK_TOPIC = "arn:aws:sns:us-east-1:123456789012:ok"


def alarm(name: str) -> StateIs:
    return StateIs("ALARM", name)


def ok(name: str) -> StateIs:
    return StateIs("OK", name)


# -- parsing ----------------------------------------------------------------------------------------

PARSED: list[tuple[str, object]] = [
    # the three examples of PutCompositeAlarm's documentation
    (
        "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)",
        And((alarm("CPUUtilizationTooHigh"), alarm("DiskReadOpsTooHigh"))),
    ),
    (
        "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)",
        And((alarm("CPUUtilizationTooHigh"), Not(alarm("DeploymentInProgress")))),
    ),
    (
        "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
        And((Or((alarm("CPUUtilizationTooHigh"), alarm("DiskReadOpsTooHigh"))), ok("NetworkOutTooHigh"))),
    ),
    # the user guide's console example: quoted names across lines
    (
        '(ALARM("CPUUtilizationTooHigh") OR \nALARM("DiskReadOpsTooHigh")) AND \nOK("NetworkOutTooHigh")',
        And((Or((alarm("CPUUtilizationTooHigh"), alarm("DiskReadOpsTooHigh"))), ok("NetworkOutTooHigh"))),
    ),
    ("TRUE", Const(True)),
    ("FALSE", Const(False)),
    ("INSUFFICIENT_DATA(x)", StateIs("INSUFFICIENT_DATA", "x")),
    ('ALARM("my alarm (prod)")', alarm("my alarm (prod)")),
    (f"ALARM({PREFIX}cpu-high)", alarm(f"{PREFIX}cpu-high")),
    (f'OK("{PREFIX}cpu high")', ok(f"{PREFIX}cpu high")),
    (r'ALARM("say \"hi\" \\ bye")', alarm('say "hi" \\ bye')),
    (r'ALARM("C:\temp")', alarm("C:\\temp")),  # a backslash before anything else is literal
    ("ALARM ( a )AND(OK(b))", And((alarm("a"), ok("b")))),
    ("NOT NOT TRUE", Not(Not(Const(True)))),
    ("ALARM(a) OR ALARM(b) OR ALARM(c)", Or((alarm("a"), alarm("b"), alarm("c")))),
    (
        "AT_LEAST(2, ALARM, (a, b, c))",
        AtLeast(2, False, "ALARM", False, ("a", "b", "c")),
    ),
    (
        'AT_LEAST(60%, NOT OK, ("a b", c))',
        AtLeast(60, True, "OK", True, ("a b", "c")),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[t for t, _ in PARSED])
def test_parse(text: str, expected: object) -> None:
    assert parse_rule(text) == expected


PRECEDENCE = [
    # NOT binds tighter than AND, AND tighter than OR (undocumented by AWS: the usual Boolean order)
    ("ALARM(a) OR ALARM(b) AND ALARM(c)", Or((alarm("a"), And((alarm("b"), alarm("c")))))),
    ("ALARM(a) AND ALARM(b) OR ALARM(c)", Or((And((alarm("a"), alarm("b"))), alarm("c")))),
    ("NOT ALARM(a) AND ALARM(b)", And((Not(alarm("a")), alarm("b")))),
    ("NOT ALARM(a) OR ALARM(b)", Or((Not(alarm("a")), alarm("b")))),
    ("NOT (ALARM(a) OR ALARM(b))", Not(Or((alarm("a"), alarm("b"))))),
    ("(ALARM(a) OR ALARM(b)) AND ALARM(c)", And((Or((alarm("a"), alarm("b"))), alarm("c")))),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE, ids=[t for t, _ in PRECEDENCE])
def test_precedence(text: str, expected: object) -> None:
    assert parse_rule(text) == expected


def test_precedence_changes_the_outcome() -> None:
    """a OR b AND c with a ALARM and c OK: true as a OR (b AND c), false as (a OR b) AND c."""
    states: dict[str, StateValue] = {"a": "ALARM", "b": "OK", "c": "OK"}
    assert evaluate_rule(parse_rule("ALARM(a) OR ALARM(b) AND ALARM(c)"), states) is True
    assert evaluate_rule(parse_rule("(ALARM(a) OR ALARM(b)) AND ALARM(c)"), states) is False


ERRORS = [
    # (rule, 0-based position, expected contains, found)
    ("", 0, "ALARM(…), OK(…)", "end of rule"),
    ("ALARM(a) AND", 12, "ALARM(…), OK(…)", "end of rule"),
    ("ALARM(a) OK(b)", 9, "AND, OR or end of rule", '"OK"'),
    ("ALARM(a) and OK(b)", 9, "AND, OR or end of rule", '"and"'),
    ("alarm(a)", 0, "ALARM(…)", '"alarm"'),
    ("ALARM a", 6, "'(' after ALARM", '"a"'),
    ("ALARM()", 6, "an alarm name or ARN", '")"'),
    ("ALARM(a b)", 8, "')' closing ALARM(", '"b"'),
    ('ALARM("a)', 6, "a closing '\"'", "end of rule"),
    ('ALARM("")', 6, "between the quotes", "'\"'"),
    ("(ALARM(a)", 9, "')' closing the '(' at column 1", "end of rule"),
    ("ALARM(a))", 8, "AND, OR or end of rule", '")"'),
    ("NOT", 3, "ALARM(…)", "end of rule"),
    ("MAYBE(a)", 0, "ALARM(…)", '"MAYBE"'),
    ("ALARM(a) ANDOK(b)", 9, "AND, OR or end of rule", '"ANDOK"'),
    ("AT_LEAST(x, ALARM, (a))", 9, "a threshold", '"x"'),
    ("AT_LEAST(0, ALARM, (a))", 9, "a count of at least 1", '"0"'),
    ("AT_LEAST(101%, ALARM, (a))", 9, "a percentage from 1% to 100%", '"101%"'),
    ("AT_LEAST(1, BROKEN, (a))", 12, "a state", '"BROKEN"'),
    ("AT_LEAST(1, ALARM, a)", 19, "'(' opening the list", '"a"'),
    ("AT_LEAST(1, ALARM, (a b))", 22, "',' or ')' closing the list", '"b"'),
]


@pytest.mark.parametrize(
    ("text", "position", "expected", "found"), ERRORS, ids=[e[0] or "empty" for e in ERRORS]
)
def test_errors_say_where_and_what(text: str, position: int, expected: str, found: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    err = info.value
    assert (err.position, err.found) == (position, found)
    assert expected in err.expected
    assert f"at column {position + 1}: expected" in str(err)
    assert isinstance(err, UsageError)  # exit 2 through the CLI


def test_lower_case_keywords_get_a_hint() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("ALARM(a) or ALARM(b)")
    assert info.value.hint == "functions and operators are upper case: write OR"


def test_rule_length_limit() -> None:
    name = "a" * 200
    parts = [f"ALARM({name}{i})" for i in range(60)]
    text = " OR ".join(parts)
    assert len(text) > MAX_RULE_LENGTH
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert "10240 characters" in info.value.expected
    fits = " OR ".join(f"ALARM({name}{i})" for i in range(40))
    assert len(fits) <= MAX_RULE_LENGTH
    assert len(referenced_alarms(parse_rule(fits))) == 40


def test_at_most_100_children() -> None:
    assert len(referenced_alarms(parse_rule(" OR ".join(f"ALARM(a{i})" for i in range(100))))) == 100
    with pytest.raises(RuleError) as info:
        parse_rule(" OR ".join(f"ALARM(a{i})" for i in range(101)))
    assert (info.value.expected, info.value.found) == ("at most 100 child alarms", "101")


def test_at_most_500_elements() -> None:
    """Elements are child alarms, TRUE/FALSE and parenthesis pairs; repeats of one child count each time."""
    parse_rule(" OR ".join(["ALARM(a)"] * 250 + ["TRUE"] * 250))
    with pytest.raises(RuleError) as info:
        parse_rule(" OR ".join(["ALARM(a)"] * 250 + ["TRUE"] * 251))
    assert info.value.found == "501"
    with pytest.raises(RuleError):  # 499 leaves + 2 groups
        parse_rule("((" + " OR ".join(["TRUE"] * 499) + "))")


def test_referenced_alarms_in_order_once_each() -> None:
    rule = parse_rule(
        f'OK(b) AND (ALARM(a) OR NOT ALARM(b)) OR AT_LEAST(1, OK, (c, a, "d e")) OR ALARM({PREFIX}f)'
    )
    assert referenced_alarms(rule) == ("b", "a", "c", "d e", f"{PREFIX}f")
    assert referenced_alarms(parse_rule("TRUE AND NOT FALSE")) == ()


@pytest.mark.parametrize("text", [t for t, _ in PARSED + PRECEDENCE])
def test_format_round_trips(text: str) -> None:
    rule = parse_rule(text)
    assert parse_rule(format_rule(rule)) == rule


def test_format_quotes_only_when_needed() -> None:
    rule = And((alarm("plain-name_1.x"), Not(Or((ok('we "quote" (this)'), Const(False))))))
    assert format_rule(rule) == r'ALARM(plain-name_1.x) AND NOT (OK("we \"quote\" (this)") OR FALSE)'


# -- evaluation ---------------------------------------------------------------------------------------

TRUTH: list[tuple[str, Callable[[dict[str, str]], bool]]] = [
    ("ALARM(x) AND NOT OK(y)", lambda s: s["x"] == "ALARM" and s["y"] != "OK"),
    ("ALARM(x) OR ALARM(y)", lambda s: "ALARM" in (s["x"], s["y"])),
    ("OK(x) AND INSUFFICIENT_DATA(y)", lambda s: s["x"] == "OK" and s["y"] == "INSUFFICIENT_DATA"),
    ("NOT (ALARM(x) OR OK(y))", lambda s: s["x"] != "ALARM" and s["y"] != "OK"),
    ("ALARM(x) OR OK(x) AND ALARM(y)", lambda s: s["x"] == "ALARM" or (s["x"] == "OK" and s["y"] == "ALARM")),
    ("AT_LEAST(2, ALARM, (x, y))", lambda s: s["x"] == s["y"] == "ALARM"),
    ("AT_LEAST(50%, NOT OK, (x, y))", lambda s: "OK" not in (s["x"], s["y"]) or s["x"] != s["y"]),
    ("TRUE AND ALARM(x)", lambda s: s["x"] == "ALARM"),
    ("FALSE OR NOT FALSE", lambda s: True),
]


@pytest.mark.parametrize(("text", "truth"), TRUTH, ids=[t for t, _ in TRUTH])
def test_truth_table(text: str, truth: Callable[[dict[str, str]], bool]) -> None:
    rule = parse_rule(text)
    for x, y in itertools.product(STATES, STATES):
        states: dict[str, StateValue] = {"x": x, "y": y}
        assert evaluate_rule(rule, states) is truth(dict(states)), (x, y)


def test_insufficient_data_child_is_neither_alarm_nor_ok() -> None:
    states: dict[str, StateValue] = {"x": "INSUFFICIENT_DATA"}
    results = {
        text: evaluate_rule(parse_rule(text), states)
        for text in ("ALARM(x)", "OK(x)", "INSUFFICIENT_DATA(x)")
    }
    assert results == {"ALARM(x)": False, "OK(x)": False, "INSUFFICIENT_DATA(x)": True}
    assert evaluate_rule(parse_rule("NOT OK(x)"), states) is True


def test_references_by_name_or_arn() -> None:
    rule = parse_rule(f"ALARM({PREFIX}cpu) AND OK(disk)")
    assert evaluate_rule(rule, {"cpu": "ALARM", f"{PREFIX}disk": "OK"}) is True
    assert alarm_name(f"{PREFIX}cpu") == "cpu"
    assert alarm_name("cpu") == "cpu"


def test_missing_alarm_is_an_error_in_aws_words() -> None:
    rule = parse_rule("ALARM(a) OR ALARM(gone) OR OK(nope)")
    assert missing_alarms(rule, {"a"}) == ("gone", "nope")
    with pytest.raises(UsageError) as info:
        evaluate_rule(rule, {"a": "ALARM"})
    assert (
        info.value.message
        == "Could not save the composite alarm as alarms [gone, nope] in the alarm rule do not exist"
    )


# -- the composite's transitions ----------------------------------------------------------------------


def composite(rule: str, **overrides: object) -> CompositeAlarmDefinition:
    fields: dict[str, object] = {"alarm_actions": (TOPIC,), "ok_actions": (OK_TOPIC,)} | overrides
    return CompositeAlarmDefinition("ServiceAggregatedAlarm", rule, **fields)  # type: ignore[arg-type]


def child(value: StateValue, at: datetime = NOW) -> AlarmState:
    return AlarmState(value, f"child is {value}", at)


def test_first_evaluation_after_creation() -> None:
    """Reason and reason data as in AWS's EventBridge example for a new composite evaluating to OK."""
    defn = composite("ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)")
    t1 = datetime(2022, 7, 14, 16, 28, 57, 770000, tzinfo=UTC)
    t2 = datetime(2022, 7, 14, 16, 28, 54, 191000, tzinfo=UTC)
    children = {"TotalNetworkTrafficTooHigh": child("OK", t1), "ServerCpuTooHigh": child("OK", t2)}
    result = step_composite(defn, children, initial_state(NOW - timedelta(days=1)), NOW)
    assert result.state.value == "OK"
    assert result.changed and result.actions == (OK_TOPIC,)
    assert result.reason == f"{PREFIX}ServiceAggregatedAlarm was created and its alarm rule evaluates to OK"
    assert json.loads(result.reason_data or "") == {
        "triggeringAlarms": [
            {
                "arn": f"{PREFIX}ServerCpuTooHigh",
                "state": {"value": "OK", "timestamp": "2022-07-14T16:28:54.191+0000"},
            },
            {
                "arn": f"{PREFIX}TotalNetworkTrafficTooHigh",
                "state": {"value": "OK", "timestamp": "2022-07-14T16:28:57.770+0000"},
            },
        ]
    }
    assert result.state == AlarmState("OK", result.reason, NOW, result.reason_data)


def test_transition_names_the_child_that_changed() -> None:
    defn = composite("ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)")
    before = AlarmState("OK", "previously OK", NOW - timedelta(hours=1))
    children = {
        "ServerCpuTooHigh": child("ALARM"),
        "TotalNetworkTrafficTooHigh": child("OK", NOW - timedelta(days=8)),
    }
    result = step_composite(defn, children, before, NOW)
    assert (result.state.value, result.changed, result.actions) == ("ALARM", True, (TOPIC,))
    assert (
        result.reason
        == f"{PREFIX}ServerCpuTooHigh transitioned to ALARM at Friday 22 July, 2022 15:57:45 UTC"
    )
    assert result.reason_data == (
        '{"triggeringAlarms":[{"arn":"' + PREFIX + 'ServerCpuTooHigh",'
        '"state":{"value":"ALARM","timestamp":"2022-07-22T15:57:45.394+0000"}}]}'
    )


def test_the_latest_triggering_child_is_named() -> None:
    defn = composite("ALARM(a) AND ALARM(b)")
    children = {"a": child("ALARM", NOW), "b": child("ALARM", NOW - timedelta(minutes=5))}
    result = step_composite(defn, children, AlarmState("OK", "x", NOW - timedelta(hours=1)), NOW)
    assert result.reason.startswith(f"{PREFIX}a transitioned to ALARM at ")
    later = {"a": child("ALARM", NOW - timedelta(minutes=9)), "b": child("ALARM", NOW)}
    assert step_composite(defn, later, AlarmState("OK", "x", NOW), NOW).reason.startswith(f"{PREFIX}b ")


def test_actions_only_on_transition_and_when_enabled() -> None:
    defn = composite("ALARM(a)")
    alarm_state = AlarmState("ALARM", "already", NOW - timedelta(hours=1), "{}")
    same = step_composite(defn, {"a": child("ALARM")}, alarm_state, NOW)
    assert (same.changed, same.actions, same.state) == (False, (), alarm_state)
    assert same.reason.startswith(f"{PREFIX}a transitioned to ALARM")  # what this evaluation found
    back = step_composite(defn, {"a": child("OK")}, alarm_state, NOW)
    assert (back.state.value, back.actions) == ("OK", (OK_TOPIC,))
    quiet = composite("ALARM(a)", actions_enabled=False)
    assert step_composite(quiet, {"a": child("OK")}, alarm_state, NOW).actions == ()


@pytest.mark.parametrize("child_state", STATES)
def test_never_insufficient_data_after_the_first_evaluation(child_state: StateValue) -> None:
    """PutCompositeAlarm: the initial time after creation is the only time a composite is INSUFFICIENT_DATA."""
    defn = composite("ALARM(a)", insufficient_data_actions=("arn:aws:sns:us-east-1:123456789012:nodata",))
    result = step_composite(defn, {"a": child(child_state)}, initial_state(NOW), NOW)
    assert result.state.value == ("ALARM" if child_state == "ALARM" else "OK")


def test_constant_rules() -> None:
    defn = composite("TRUE")
    first = step_composite(defn, {}, initial_state(NOW), NOW)
    assert (first.state.value, json.loads(first.reason_data or "")) == ("ALARM", {"triggeringAlarms": []})
    flipped = step_composite(composite("FALSE"), {}, first.state, NOW)
    assert (flipped.state.value, flipped.reason) == (
        "OK",
        f"{PREFIX}ServiceAggregatedAlarm alarm rule evaluates to OK",
    )


def test_triggering_alarms_follow_the_rule() -> None:
    defn = composite("ALARM(a) AND NOT OK(b) OR ALARM(c)")
    children = {"a": child("ALARM"), "b": child("INSUFFICIENT_DATA"), "c": child("OK")}
    result = step_composite(defn, children, initial_state(NOW), NOW)
    arns = [t["arn"] for t in json.loads(result.reason_data or "")["triggeringAlarms"]]
    assert (result.state.value, arns) == ("ALARM", [f"{PREFIX}a", f"{PREFIX}b"])
    children["a"] = child("OK")
    result = step_composite(defn, children, result.state, NOW)
    arns = [t["arn"] for t in json.loads(result.reason_data or "")["triggeringAlarms"]]
    assert (result.state.value, arns) == ("OK", [f"{PREFIX}a", f"{PREFIX}c"])


def test_step_rejects_missing_children_and_naive_time() -> None:
    defn = composite("ALARM(a) AND OK(b)")
    with pytest.raises(UsageError, match=r"alarms \[b\] in the alarm rule do not exist"):
        step_composite(defn, {"a": child("ALARM")}, initial_state(NOW), NOW)
    with pytest.raises(UsageError, match="no timezone"):
        step_composite(
            defn, {"a": child("OK"), "b": child("OK")}, initial_state(NOW), NOW.replace(tzinfo=None)
        )


def test_definition_validation_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        CompositeAlarmDefinition("", "ALARM(a) AND", alarm_actions=("not-an-arn",))
    wheres = [p.where.split(".")[-1] for p in info.value.problems]
    assert wheres == ["name", "alarm_actions", "alarm_rule"]
    assert "at column 13" in info.value.problems[-1].message


def test_reason_time() -> None:
    assert (
        reason_time(datetime(2020, 12, 4, 19, 46, 50, 120000, tzinfo=UTC))
        == "Friday 04 December, 2020 19:46:50 UTC"
    )


# -- composites of composites -------------------------------------------------------------------------


def test_evaluation_order_puts_children_first() -> None:
    rules = {
        "top": parse_rule(f"ALARM(mid) AND ALARM({PREFIX}leaf)"),
        "mid": parse_rule("ALARM(leaf) OR ALARM(metric-alarm)"),
        "leaf": parse_rule("ALARM(metric-alarm)"),
        "other": parse_rule("TRUE"),
    }
    assert evaluation_order(rules) == ("leaf", "mid", "top", "other")
    check_cycles(rules)


@pytest.mark.parametrize(
    ("rules", "cycle"),
    [
        ({"a": "ALARM(b)", "b": "OK(a)"}, ("a", "b", "a")),
        ({"a": "ALARM(a) OR TRUE"}, ("a", "a")),
        (
            {"x": "ALARM(a)", "a": "ALARM(b)", "b": "ALARM(c)", "c": f"NOT OK({PREFIX}a)"},
            ("a", "b", "c", "a"),
        ),
        ({"a": "AT_LEAST(1, ALARM, (m, b))", "b": "ALARM(a)"}, ("a", "b", "a")),
    ],
)
def test_cycles_are_reported_with_their_path(rules: dict[str, str], cycle: tuple[str, ...]) -> None:
    with pytest.raises(CycleError) as info:
        check_cycles({name: parse_rule(text) for name, text in rules.items()})
    assert info.value.cycle == cycle
    assert " → ".join(cycle) in str(info.value)
    assert "FALSE" in info.value.hint
