"""The CloudWatch single-metric alarm state machine (spec aws-semantics.md §3).

Why a pure module: alarm behaviour is the part of CloudWatch that emulators get subtly wrong
(M-of-N over the wrong window, missing data treated as 0). Keeping it free of clocks, stores and
AWS lets the §3.4 decision tables be tested cell by cell. The engine owns the clock and the
metric store: it aggregates raw samples into per-period values (§3.3 step 5) and calls
``step_alarm`` once per evaluation tick, then runs the returned actions.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from vigil.errors import ConfigError, Problem, UsageError

StateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
STATES: tuple[StateValue, ...] = ("OK", "ALARM", "INSUFFICIENT_DATA")

INITIAL_REASON = "Unchecked: Initial alarm creation"

#: Static comparison operators: name → (test(value, threshold), phrase used in state reasons).
OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}

#: Operators AWS accepts only with an anomaly-detection band (ThresholdMetricId, metric math);
#: a single-metric alarm with a static threshold cannot use them (§3.1).
BAND_OPERATORS = frozenset(
    {"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}
)

STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})
_PERCENTILE = re.compile(r"^p(\d{1,3}(\.\d{1,10})?)$")

TREAT_MISSING = frozenset({"missing", "ignore", "breaching", "notBreaching"})
LOW_SAMPLE_COUNT = frozenset({"", "evaluate", "ignore"})

#: Namespaces whose alarms always behave as ``ignore`` whatever TreatMissingData says (§3.1).
ALWAYS_IGNORE_NAMESPACES = frozenset({"AWS/DynamoDB"})

#: Words AWS uses in the all-missing reason for each treatment (§3.3 note c).
_MISSING_WORD = {"breaching": "Breaching", "notBreaching": "NonBreaching", "missing": "Missing"}

MAX_RANGE_SECONDS = 86_400


@dataclass(frozen=True)
class MetricRef:
    """The metric an alarm watches: namespace, name and dimensions (name, value) pairs."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlarmDefinition:
    """A metric alarm's configuration, the fields of PutMetricAlarm that evaluation uses (§3.1).

    ``datapoints_to_alarm`` None means "not set" (M = N); AWS words reasons differently then.
    Construct through ``__post_init__``'s validation: an invalid definition raises
    ``ConfigError`` listing every problem, each naming the alarm and the field.
    """

    name: str
    metric: MetricRef
    statistic: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    evaluate_low_sample_count_percentile: str = ""
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    description: str | None = None

    def __post_init__(self) -> None:
        problems = validate_definition(self)
        if problems:
            raise ConfigError(problems, source=f"alarm {self.name!r}")

    @property
    def m(self) -> int:
        """Datapoints to alarm, defaulting to N when unset."""
        return self.evaluation_periods if self.datapoints_to_alarm is None else self.datapoints_to_alarm

    @property
    def effective_treat_missing_data(self) -> str:
        """TreatMissingData as evaluation applies it (DynamoDB alarms always ``ignore``)."""
        if self.metric.namespace in ALWAYS_IGNORE_NAMESPACES:
            return "ignore"
        return self.treat_missing_data

    def actions_for(self, state: StateValue) -> tuple[str, ...]:
        return {
            "ALARM": self.alarm_actions,
            "OK": self.ok_actions,
            "INSUFFICIENT_DATA": self.insufficient_data_actions,
        }[state]


def validate_definition(d: AlarmDefinition) -> list[Problem]:
    """Every problem with a definition, each with where (alarm.field) and what to do."""
    where = f"alarm {d.name!r}"
    out: list[Problem] = []

    def bad(fld: str, message: str, hint: str) -> None:
        out.append(Problem(f"{where}.{fld}", message, hint))

    if not d.name or len(d.name) > 255:
        bad("name", "alarm name must be 1–255 characters", "give the alarm a short, non-empty name")
    if not d.metric.namespace or not d.metric.name:
        bad("metric", "metric namespace and name are required", "e.g. MetricRef('AWS/EC2', 'CPUUtilization')")
    if d.statistic not in STATISTICS:
        pm = _PERCENTILE.match(d.statistic)
        if not pm or float(pm.group(1)) > 100:
            bad(
                "statistic",
                f"unknown statistic {d.statistic!r}",
                f"use one of {', '.join(sorted(STATISTICS))} or a percentile p0–p100 such as p99",
            )
    if d.evaluate_low_sample_count_percentile not in LOW_SAMPLE_COUNT:
        bad(
            "evaluate_low_sample_count_percentile",
            f"unknown value {d.evaluate_low_sample_count_percentile!r}",
            "use 'evaluate', 'ignore' or leave it empty",
        )
    if d.period not in (10, 30) and (d.period <= 0 or d.period % 60):
        bad("period", f"period {d.period}s is not allowed", "use 10, 30 or a positive multiple of 60 seconds")
    if d.evaluation_periods < 1:
        bad("evaluation_periods", f"evaluation_periods is {d.evaluation_periods}", "use 1 or more")
    elif d.period > 0 and d.evaluation_periods * d.period > MAX_RANGE_SECONDS:
        bad(
            "evaluation_periods",
            f"evaluation_periods × period = {d.evaluation_periods * d.period}s exceeds one day",
            f"keep evaluation_periods × period ≤ {MAX_RANGE_SECONDS} seconds",
        )
    if d.datapoints_to_alarm is not None and not 1 <= d.datapoints_to_alarm <= max(d.evaluation_periods, 1):
        bad(
            "datapoints_to_alarm",
            f"datapoints_to_alarm {d.datapoints_to_alarm} is outside 1..evaluation_periods ({d.evaluation_periods})",
            "use 1 ≤ datapoints_to_alarm ≤ evaluation_periods, or leave it unset for N out of N",
        )
    if (
        isinstance(d.threshold, bool)
        or not isinstance(d.threshold, int | float)
        or not math.isfinite(d.threshold)
    ):
        bad("threshold", f"threshold {d.threshold!r} is not a finite number", "use a finite number")
    if d.comparison_operator in BAND_OPERATORS:
        bad(
            "comparison_operator",
            f"{d.comparison_operator} needs an anomaly-detection band (ThresholdMetricId)",
            "single-metric alarms take a static operator: " + ", ".join(OPERATORS),
        )
    elif d.comparison_operator not in OPERATORS:
        bad(
            "comparison_operator",
            f"unknown comparison operator {d.comparison_operator!r}",
            "use one of " + ", ".join(OPERATORS),
        )
    if d.treat_missing_data not in TREAT_MISSING:
        bad(
            "treat_missing_data",
            f"unknown treat_missing_data {d.treat_missing_data!r}",
            "use missing, ignore, breaching or notBreaching",
        )
    for fld in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        for arn in getattr(d, fld):
            if not isinstance(arn, str) or not arn.startswith("arn:"):
                bad(fld, f"action {arn!r} is not an ARN", "actions are ARNs such as arn:aws:sns:…:topic")
    return out


@dataclass(frozen=True)
class AlarmState:
    """An alarm's state as DescribeAlarms reports it; ``reason_data`` is the JSON string or None."""

    value: StateValue
    reason: str
    timestamp: datetime
    reason_data: str | None = None


@dataclass(frozen=True)
class Transition:
    """One evaluation tick's outcome.

    ``state`` is the alarm's state after the tick (the previous one, unchanged, when ``changed``
    is False); ``reason``/``reason_data`` are what this tick evaluated, for history and debugging.
    ``actions`` are the ARNs to invoke: non-empty only on a transition with actions enabled.
    """

    state: AlarmState
    previous: AlarmState
    changed: bool
    reason: str
    reason_data: str | None
    actions: tuple[str, ...] = field(default=())


def initial_state(now: datetime) -> AlarmState:
    """The state of a just-created alarm (§3.1)."""
    return AlarmState("INSUFFICIENT_DATA", INITIAL_REASON, now)


def evaluation_range_size(evaluation_periods: int) -> int:
    """How many periods one tick looks at: N + max(floor(N/3), 2) (§3.3 step 1, §8 item 5)."""
    return evaluation_periods + max(evaluation_periods // 3, 2)


# ---------------------------------------------------------------------------------------------
# The normative decision procedure (§3.3 step 3), on classified slots, oldest → newest.

Slot = bool | None  # True = breaching, False = not breaching, None = missing


def _premature(vals: list[Slot], m: int) -> bool:
    """AWS's "force an early ALARM" rule: nothing real before the M most recent slots, the slot
    exactly M periods old breaches and the newer ones breach or are missing."""
    if m <= 1:
        return False
    if any(v is not None for v in vals[:-m]):
        return False
    if vals[-m] is not True:
        return False
    return all(v is not False for v in vals[-m:])


@dataclass(frozen=True)
class _Decision:
    state: StateValue | None  # None: keep the current state
    kind: Literal["all_missing", "premature", "threshold"]
    window: tuple[int | None, ...] = ()  # range indexes evaluated; None = a filled missing slot
    filled: bool | None = None  # what filled slots count as


def decide(vals: list[Slot], n: int, m: int, treat_missing: str) -> _Decision:
    """The new state for classified slots; ``state`` None means "keep the current state"."""
    real: list[int | None] = [i for i, v in enumerate(vals) if v is not None]
    window: tuple[int | None, ...]
    if not real:
        all_missing: dict[str, StateValue | None] = {
            "missing": "INSUFFICIENT_DATA",
            "ignore": None,
            "breaching": "ALARM",
            "notBreaching": "OK",
        }
        return _Decision(all_missing[treat_missing], "all_missing")
    if treat_missing in ("missing", "ignore") and _premature(vals, m):
        window = tuple(real[-sum(1 for v in vals[-m:] if v is not None) :])
        return _Decision("ALARM" if treat_missing == "missing" else None, "premature", window)
    fill: bool | None = None
    if len(real) >= n:
        window = tuple(real[-n:])
    elif treat_missing in ("breaching", "notBreaching"):
        fill = treat_missing == "breaching"
        window = tuple(real) + (None,) * (n - len(real))
    else:
        window = tuple(real)
    breaching = sum(1 for i in window if (fill if i is None else vals[i]))
    return _Decision("ALARM" if breaching >= m else "OK", "threshold", window, fill)


# ---------------------------------------------------------------------------------------------
# Formatting as AWS writes it (§3.5).


def java_double(x: float) -> str:
    """A float as Java's Double.toString writes it (AWS reasons show ``90.0``, ``1.0E-4``)."""
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)  # finite: thresholds are validated, values come from metrics
    text = "".join(map(str, digits))
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(text) - 1 + exponent}"


def aws_timestamp(t: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS+0000`` in UTC."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def _reason_timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _reason(
    d: AlarmDefinition,
    decision: _Decision,
    new: StateValue,
    starts: list[datetime],
    values: list[float | None],
    vals: list[Slot],
) -> str:
    n, m = d.evaluation_periods, d.m
    if decision.kind == "all_missing":
        tm = d.effective_treat_missing_data
        prefix = "Insufficient Data" if new == "INSUFFICIENT_DATA" else "Threshold Crossed"
        return (
            f"{prefix}: no datapoints were received for {_plural(n, 'period')} and "
            f"{n} missing {'datapoint was' if n == 1 else 'datapoints were'} treated as "
            f"[{_MISSING_WORD.get(tm, 'Missing')}]."
        )
    want = new == "ALARM"
    matching_real = [i for i in decision.window if i is not None and vals[i] is want]
    filled = sum(1 for i in decision.window if i is None and decision.filled is want)
    k = len(matching_real) + filled
    shown = ", ".join(
        f"{java_double(v)} ({_reason_timestamp(starts[i])})"
        for i in reversed(matching_real)
        if (v := values[i]) is not None
    )
    phrase = OPERATORS[d.comparison_operator][1]
    verb = "was" if k == 1 else "were"
    relation = phrase if want else f"not {phrase}"
    threshold = java_double(d.threshold)
    if d.datapoints_to_alarm is None:
        return f"Threshold Crossed: {_plural(k, 'datapoint')} [{shown}] {verb} {relation} the threshold ({threshold})."
    minimum, direction = (m, "OK -> ALARM") if want else (n - m + 1, "ALARM -> OK")
    return (
        f"Threshold Crossed: {k} out of the last {n} datapoints [{shown}] {verb} {relation} the threshold "
        f"({threshold}) (minimum {_plural(minimum, 'datapoint')} for {direction} transition)."
    )


def _reason_data(
    d: AlarmDefinition, decision: _Decision, starts: list[datetime], values: list[float | None], now: datetime
) -> str:
    data: dict[str, object] = {
        "version": "1.0",
        "queryDate": aws_timestamp(now),
        "startDate": aws_timestamp(starts[0]),
        "statistic": d.statistic,
        "period": d.period,
        "recentDatapoints": [v for v in values if v is not None],
        "threshold": float(d.threshold),
    }
    evaluated = [
        {"timestamp": aws_timestamp(starts[i]), "value": values[i]}
        for i in reversed(decision.window)
        if i is not None
    ]
    if evaluated:
        data["evaluatedDatapoints"] = evaluated
    return json.dumps(data, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------


def range_starts(d: AlarmDefinition, now: datetime) -> list[datetime]:
    """Start times of the evaluation range's periods, oldest → newest.

    The newest period is the last one that has fully elapsed at ``now`` (periods aligned to the
    epoch, as CloudWatch aligns them), so a still-filling bucket is never judged.
    """
    epoch = int(now.astimezone(UTC).timestamp())
    newest = (epoch // d.period) * d.period - d.period
    size = evaluation_range_size(d.evaluation_periods)
    return [datetime.fromtimestamp(newest - (size - 1 - j) * d.period, UTC) for j in range(size)]


def step_alarm(
    definition: AlarmDefinition,
    datapoints_by_period: Mapping[datetime, float],
    previous_state: AlarmState,
    now: datetime,
) -> Transition:
    """One evaluation tick: classify the evaluation range, decide, word the reason, pick actions.

    ``datapoints_by_period`` maps each period's start (timezone-aware, aligned to the period) to
    the statistic's value for that period; a period with no samples is simply absent (missing is
    not 0). Periods outside the evaluation range are ignored.
    """
    if now.tzinfo is None:
        raise UsageError(
            f"alarm {definition.name!r}: evaluation time {now.isoformat()} has no timezone",
            hint="pass an aware UTC datetime, e.g. datetime.now(UTC)",
        )
    for start in datapoints_by_period:
        if start.tzinfo is None or int(start.timestamp()) % definition.period or start.microsecond:
            raise UsageError(
                f"alarm {definition.name!r}: datapoint key {start.isoformat()} is not an aware "
                f"datetime aligned to the {definition.period}s period",
                hint="key each value by its period's start in UTC (seconds since epoch divisible by the period)",
            )
    starts = range_starts(definition, now)
    by_epoch = {int(t.timestamp()): v for t, v in datapoints_by_period.items()}
    values = [by_epoch.get(int(t.timestamp())) for t in starts]
    test = OPERATORS[definition.comparison_operator][0]
    vals: list[Slot] = [None if v is None else test(v, definition.threshold) for v in values]

    decision = decide(
        vals, definition.evaluation_periods, definition.m, definition.effective_treat_missing_data
    )
    if decision.state is None:  # ignore: keep the state, and the reason that put it there
        return Transition(
            previous_state, previous_state, False, previous_state.reason, previous_state.reason_data
        )
    new_value = decision.state
    reason = _reason(definition, decision, new_value, starts, values, vals)
    reason_data = _reason_data(definition, decision, starts, values, now)
    changed = new_value != previous_state.value
    if not changed:
        return Transition(previous_state, previous_state, False, reason, reason_data)
    state = AlarmState(new_value, reason, now, reason_data)
    actions = definition.actions_for(new_value) if definition.actions_enabled else ()
    return Transition(state, previous_state, True, reason, reason_data, actions)
