"""Running alarms over stored datapoints: on wall time (live, ``vigil watch``) or event time (replay).

The store keeps minute statistic sets per metric; an alarm's period value is their aggregate
(§3.3 step 5: Sum of sums, SampleCount of counts, Average = sum / count, Minimum, Maximum; a
period without samples is missing, never 0). Percentiles cannot be rebuilt from statistic sets,
so alarms on them are refused when loaded (``check_statistic``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from vigil.alarms.alarm import (
    STATISTICS,
    AlarmDefinition,
    AlarmState,
    Transition,
    evaluation_range_size,
    initial_state,
    range_starts,
    step_alarm,
)
from vigil.errors import ConfigError, Problem

MinuteRow = tuple[int, int, float, float, float]  # (minute start s, count, sum, min, max)
MetricKey = tuple[str, str, str]  # (namespace, metric name, dimensions key)

_STATISTIC: Final[dict[str, Callable[[int, float, float, float], float]]] = {
    "Sum": lambda count, total, low, high: total,
    "SampleCount": lambda count, total, low, high: float(count),
    "Average": lambda count, total, low, high: total / count,
    "Minimum": lambda count, total, low, high: low,
    "Maximum": lambda count, total, low, high: high,
}


def check_statistic(definition: AlarmDefinition) -> None:
    """Refuse what minute statistic sets cannot answer (percentiles)."""
    if definition.statistic not in STATISTICS:
        raise ConfigError(
            [
                Problem(
                    f"alarm {definition.name!r}.statistic",
                    f"{definition.statistic} cannot be computed from log-metric statistic sets",
                    "use Sum, SampleCount, Average, Minimum or Maximum",
                )
            ]
        )


def period_values(definition: AlarmDefinition, rows: Iterable[MinuteRow]) -> dict[datetime, float]:
    """The statistic per period (keyed by the period's aware UTC start) from minute rows."""
    period = definition.period
    merged: dict[int, list[float]] = {}
    for start, count, total, low, high in rows:
        if count <= 0:
            continue
        bucket = start - start % period
        acc = merged.get(bucket)
        if acc is None:
            merged[bucket] = [count, total, low, high]
        else:
            acc[0] += count
            acc[1] += total
            acc[2] = min(acc[2], low)
            acc[3] = max(acc[3], high)
    stat = _STATISTIC[definition.statistic]
    return {
        datetime.fromtimestamp(bucket, UTC): stat(int(acc[0]), acc[1], acc[2], acc[3])
        for bucket, acc in merged.items()
    }


def metric_key(
    definition: AlarmDefinition, dimensions_key: Callable[[Iterable[tuple[str, str]]], str]
) -> MetricKey:
    m = definition.metric
    return (m.namespace, m.name, dimensions_key(m.dimensions))


def window(definition: AlarmDefinition, now: datetime) -> tuple[int, int]:
    """[first, end) epoch seconds of the datapoints one tick at ``now`` reads."""
    starts = range_starts(definition, now)
    return int(starts[0].timestamp()), int(starts[-1].timestamp()) + definition.period


@dataclass(frozen=True)
class Fired:
    """One state change found by a replay, at event time."""

    alarm: str
    at: datetime
    old: str
    new: str
    reason: str


def replay_ticks(
    definition: AlarmDefinition, rows: Sequence[MinuteRow], start: datetime, end: datetime
) -> list[datetime]:
    """The minute ticks at which the alarm's evaluation range can differ from all-missing.

    Between them every range is all-missing, whose outcome is constant; the first such tick after
    a busy stretch is included, so its transition is seen too."""
    period = definition.period
    span = (evaluation_range_size(definition.evaluation_periods) + 1) * period
    first = int(start.timestamp()) // 60 * 60
    last = int(end.timestamp()) // 60 * 60
    ticks = {first}
    for minute_start, count, *_ in rows:
        if count <= 0:
            continue
        bucket = minute_start - minute_start % period
        t = bucket + period
        t -= t % 60
        while t <= min(bucket + span, last):
            if t >= first:
                ticks.add(t)
            t += 60
    return [datetime.fromtimestamp(t, UTC) for t in sorted(ticks)]


def replay(
    definition: AlarmDefinition, rows: Sequence[MinuteRow], start: datetime, end: datetime
) -> list[Fired]:
    """Run one alarm over stored datapoints in event time; return its state changes."""
    values = period_values(definition, rows)
    state: AlarmState = initial_state(start)
    out: list[Fired] = []
    for tick in replay_ticks(definition, rows, start, end):
        transition = step_alarm(definition, _in_range(definition, values, tick), state, tick)
        if transition.changed:
            out.append(
                Fired(
                    definition.name,
                    tick,
                    transition.previous.value,
                    transition.state.value,
                    transition.reason,
                )
            )
        state = transition.state
    return out


def _in_range(
    definition: AlarmDefinition, values: Mapping[datetime, float], now: datetime
) -> dict[datetime, float]:
    starts = set(range_starts(definition, now))
    return {t: v for t, v in values.items() if t in starts}


def window_values(
    definition: AlarmDefinition, rows: Sequence[MinuteRow], now: datetime
) -> dict[datetime, float]:
    """The period values of the evaluation range at ``now``, from rows sorted by minute (only the
    rows inside the range are read)."""
    first, end = window(definition, now)
    lo = bisect_left(rows, first, key=lambda row: row[0])
    hi = bisect_left(rows, end, key=lambda row: row[0])
    return period_values(definition, rows[lo:hi])


def tick(
    definition: AlarmDefinition,
    rows: Sequence[MinuteRow],
    previous: AlarmState | None,
    now: datetime,
    *,
    values: Mapping[datetime, float] | None = None,
) -> Transition:
    """One live evaluation at wall time ``now`` (``values``: the range's period values, if known)."""
    if values is None:
        values = window_values(definition, rows, now)
    return step_alarm(definition, values, previous or initial_state(now), now)


def next_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
