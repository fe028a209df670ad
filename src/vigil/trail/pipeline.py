"""The event pipeline's pure core: trails route records to log groups, indexed metric filters
turn them into metric samples (DESIGN "Events and alarms").

Records stay orjson-parsed dicts. For each record: the trails that keep it name its log groups;
in each log group only the filters that can match it run — a filter whose JSON pattern requires
``$.eventName`` to be one of a known set is indexed under those names, every other filter runs on
every event of its group. What the store does with the result (idempotent inserts keyed by event
ID, datapoints added in the same transaction as the checkpoint) is ``store/events.py``'s part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from vigil.logs.metric_filters import MetricFilter, Sample
from vigil.logs.pattern.parser import BoolOp, Comparison, JsonExpr, JsonPattern
from vigil.model import parse_time
from vigil.trail.selectors import Selector, parse_trail_selectors, selects

Record = Mapping[str, Any]
MINUTE_MS: Final = 60_000
DEFAULT_TRAIL: Final = "vigil-event-history"


@dataclass(frozen=True)
class Trail:
    """A trail: the regions it keeps (empty: all), its selectors (none: all management events)."""

    name: str
    log_group: str
    regions: frozenset[str] = frozenset()
    selectors: tuple[Selector, ...] = ()

    def keeps(self, record: Record) -> bool:
        if self.regions and record.get("awsRegion") not in self.regions:
            return False
        return selects(self.selectors, record)


def trail_from_settings(
    name: str,
    log_group: str,
    regions: Sequence[str],
    event_selectors: Sequence[Mapping[str, Any]],
    advanced_event_selectors: Sequence[Mapping[str, Any]],
) -> Trail:
    selectors = parse_trail_selectors(
        {"EventSelectors": list(event_selectors), "AdvancedEventSelectors": list(advanced_event_selectors)}
    )
    return Trail(name, log_group, frozenset(regions), selectors)


# ------------------------------------------------------------------------------------- the index


def _exact(comparison: Comparison, field_name: str) -> frozenset[str] | None:
    value = comparison.value
    if comparison.op != "=" or comparison.selector.steps != (field_name,):
        return None
    if value.kind == "regex" or "*" in value.text or value.is_number:
        return None
    return frozenset({value.text})


def required_values(expr: JsonExpr, field_name: str) -> frozenset[str] | None:
    """The values a top-level ``$.<field_name>`` must equal for ``expr`` to match, or None if any.

    ``a && b``: either side's requirement holds (their intersection when both have one);
    ``a || b``: the union, known only when every side has one."""
    if isinstance(expr, Comparison):
        return _exact(expr, field_name)
    if isinstance(expr, BoolOp):
        parts = [required_values(operand, field_name) for operand in expr.operands]
        if expr.op == "&&":
            known = [p for p in parts if p is not None]
            if not known:
                return None
            out = known[0]
            for p in known[1:]:
                out &= p
            return out
        if any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    return None


def event_name_keys(f: MetricFilter) -> frozenset[str] | None:
    """The eventNames a filter can match (None: it must see every event)."""
    ast = f.pattern.ast
    return required_values(ast.expr, "eventName") if isinstance(ast, JsonPattern) else None


@dataclass(frozen=True)
class GroupFilters:
    """One log group's filters: by eventName where the pattern pins it, and the rest."""

    by_event_name: Mapping[str, tuple[MetricFilter, ...]]
    everywhere: tuple[MetricFilter, ...]
    with_default: tuple[MetricFilter, ...]

    def candidates(self, event_name: object) -> tuple[MetricFilter, ...]:
        pinned = self.by_event_name.get(event_name, ()) if isinstance(event_name, str) else ()
        return pinned + self.everywhere if pinned else self.everywhere


def index_filters(filters: Iterable[MetricFilter]) -> dict[str, GroupFilters]:
    by_group: dict[str, list[MetricFilter]] = {}
    for f in filters:
        by_group.setdefault(f.log_group, []).append(f)
    out: dict[str, GroupFilters] = {}
    for group, members in by_group.items():
        pinned: dict[str, list[MetricFilter]] = {}
        everywhere: list[MetricFilter] = []
        for f in members:
            keys = event_name_keys(f)
            if keys is None:
                everywhere.append(f)
            else:
                for key in keys:
                    pinned.setdefault(key, []).append(f)
        out[group] = GroupFilters(
            {k: tuple(v) for k, v in pinned.items()},
            tuple(everywhere),
            tuple(f for f in members if f.has_default),
        )
    return out


# ---------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class EventRow:
    """One record as stored in one log group."""

    log_group: str
    event_id: str
    event_time: int  # epoch ms
    account_id: str
    region: str
    event_source: str
    event_name: str
    principal: str | None
    source_ip: str | None
    error_code: str | None
    message: str
    record: Record = field(repr=False, compare=False)

    def text(self) -> str:
        return self.message


def event_time_ms(record: Record) -> int:
    text = record.get("eventTime")
    if not isinstance(text, str):
        raise ValueError("no eventTime")
    return int(parse_time(text).timestamp() * 1000)


def principal_of(record: Record) -> str | None:
    """Who acted: the identity's ARN, else its type and user name (Root, AWSService: its invokedBy)."""
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return None
    arn = identity.get("arn")
    if isinstance(arn, str) and arn:
        return arn
    for key in ("invokedBy", "userName", "principalId"):
        value = identity.get(key)
        if isinstance(value, str) and value:
            return f"{identity.get('type', 'Unknown')}:{value}"
    kind = identity.get("type")
    return kind if isinstance(kind, str) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def account_of(record: Record) -> str:
    for value in (
        record.get("recipientAccountId"),
        (record.get("userIdentity") or {}).get("accountId")
        if isinstance(record.get("userIdentity"), Mapping)
        else None,
    ):
        if isinstance(value, str) and value:
            return value
    return ""


@dataclass(frozen=True)
class Router:
    """Which log groups receive each record."""

    trails: tuple[Trail, ...]

    def rows(self, records: Iterable[Record]) -> list[EventRow]:
        rows, rejected = self.rows_checked(records)
        if rejected:
            index, reason = rejected[0]
            raise ValueError(f"record {index}: {reason}")
        return rows

    def rows_checked(self, records: Iterable[Record]) -> tuple[list[EventRow], list[tuple[int, str]]]:
        """The stored rows of the records, and (index, reason) of records that cannot be stored."""
        out: list[EventRow] = []
        rejected: list[tuple[int, str]] = []
        trails = self.trails
        for i, record in enumerate(records):
            groups = sorted({t.log_group for t in trails if t.keeps(record)})
            if not groups:
                continue
            try:
                when = event_time_ms(record)
            except ValueError as exc:
                rejected.append((i, f"eventTime {record.get('eventTime')!r} is not an ISO-8601 time ({exc})"))
                continue
            message = orjson.dumps(record).decode()
            base = (
                str(record["eventID"]),
                when,
                account_of(record),
                _text(record.get("awsRegion")) or "",
                _text(record.get("eventSource")) or "",
                _text(record.get("eventName")) or "",
                principal_of(record),
                _text(record.get("sourceIPAddress")),
                _text(record.get("errorCode")),
            )
            out.extend(EventRow(group, *base, message, record) for group in groups)
        return out, rejected


# ---------------------------------------------------------------------------------- datapoints

# (namespace, metric, dimensions, minute start in epoch seconds, unit)
DatapointKey = tuple[str, str, tuple[tuple[str, str], ...], int, str | None]


@dataclass
class Aggregate:
    """A statistic set being built: sample count, sum, minimum, maximum."""

    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)


def aggregate(rows: Iterable[EventRow], index: Mapping[str, GroupFilters]) -> dict[DatapointKey, Aggregate]:
    """What the metric filters publish for these (new) rows, per metric and minute.

    A filter with a default value publishes it once for each minute in which its group received
    events of this batch and none matched (spec §1.6: the value "emitted when no match" per batch)."""
    out: dict[DatapointKey, Aggregate] = {}
    unmatched: dict[tuple[int, int], MetricFilter] = {}
    matched: set[tuple[int, int]] = set()
    for row in rows:
        filters = index.get(row.log_group)
        if filters is None:
            continue
        minute = (row.event_time // MINUTE_MS) * 60
        candidates = filters.candidates(row.event_name)
        if candidates:
            text = row.text
            for f in candidates:
                hit, sample = f.sample(row.record, text)
                if not hit:
                    continue
                if f.has_default:
                    matched.add((id(f), minute))
                if sample is not None:
                    _add(out, sample, minute)
        for f in filters.with_default:
            unmatched.setdefault((id(f), minute), f)
    for (fid, minute), f in unmatched.items():
        if (fid, minute) in matched:
            continue
        t = f.transformation
        default = t.default_value
        if default is not None:
            _add(out, (t.metric_namespace, t.metric_name, (), t.unit, float(default)), minute)
    return out


def _add(out: dict[DatapointKey, Aggregate], sample: Sample, minute: int) -> None:
    namespace, metric, dims, unit, value = sample
    key = (namespace, metric, dims, minute, unit)
    agg = out.get(key)
    if agg is None:
        agg = out[key] = Aggregate()
    agg.add(value)


def minute_of(t: datetime) -> int:
    return int(t.timestamp()) // 60 * 60
