"""The event pipeline's pure core: trails route records to log groups, indexed metric filters
turn them into metric samples (DESIGN "Events and alarms").

Records stay orjson-parsed dicts. For each record: the trails that keep it name its log groups;
in each log group only the filters that can match it run — a filter whose JSON pattern requires
``$.eventName`` to be one of a known set is indexed under those names, every other filter runs on
every event of its group. What the store does with the result (idempotent inserts keyed by event
ID, datapoints added in the same transaction as the checkpoint) is ``store/events.py``'s part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import orjson

from vigil.logs.metric_filters import MetricFilter, Sample
from vigil.logs.pattern.parser import (
    BoolOp,
    Comparison,
    Field,
    IsLiteral,
    JsonExpr,
    JsonPattern,
    PatternAst,
    SpacePattern,
    TermPattern,
    Value,
)
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


Path = tuple[str, ...]

# Fields a filter may be indexed on, most selective first: a filter whose pattern pins one of them
# to known values only meets events carrying one of those values.
INDEX_PATHS: tuple[Path, ...] = (
    ("eventName",),
    ("eventSource",),
    ("userIdentity", "type"),
    ("eventType",),
    ("awsRegion",),
)


def _exact(comparison: Comparison, path: Path) -> frozenset[str] | None:
    value = comparison.value
    if comparison.op != "=" or comparison.selector.steps != path:
        return None
    if value.kind == "regex" or "*" in value.text or value.is_number:
        return None
    return frozenset({value.text})


def _common(sets: Sequence[frozenset[str]]) -> frozenset[str]:
    """What every one of ``sets`` holds (nothing for no sets): an OR needs what all its sides need."""
    return frozenset.intersection(*sets) if sets else frozenset()


def required_values(expr: JsonExpr, field_name: str | Path) -> frozenset[str] | None:
    """The values ``$.<path>`` must equal for ``expr`` to match, or None if it can be anything.

    ``a && b``: either side's requirement holds (their intersection when both have one);
    ``a || b``: the union, known only when every side has one."""
    path = (field_name,) if isinstance(field_name, str) else field_name
    if isinstance(expr, Comparison):
        return _exact(expr, path)
    if isinstance(expr, BoolOp):
        parts = [required_values(operand, path) for operand in expr.operands]
        if expr.op == "&&":
            known = [p for p in parts if p is not None]
            return _common(known) if known else None
        if any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    return None


def required_keys(expr: JsonExpr) -> frozenset[str]:
    """Top-level fields an event must have for ``expr`` to match (a comparison or ``IS`` on a
    missing field is false, even ``!=``; ``NOT EXISTS`` needs nothing): ``&&`` needs what either
    side needs, ``||`` what every side needs."""
    if isinstance(expr, BoolOp):
        parts = [required_keys(operand) for operand in expr.operands]
        return frozenset().union(*parts) if expr.op == "&&" else _common(parts)
    if isinstance(expr, Comparison | IsLiteral):
        first = expr.selector.steps[0] if expr.selector.steps else None
        return frozenset({first}) if isinstance(first, str) else frozenset()
    return frozenset()


def event_name_keys(f: MetricFilter) -> frozenset[str] | None:
    """The eventNames a filter can match (None: any)."""
    ast = f.pattern.ast
    return required_values(ast.expr, "eventName") if isinstance(ast, JsonPattern) else None


def index_key(f: MetricFilter) -> tuple[Path, frozenset[str]] | None:
    """The first of :data:`INDEX_PATHS` the filter's pattern pins, with its values (None: none)."""
    ast = f.pattern.ast
    if not isinstance(ast, JsonPattern):
        return None
    for path in INDEX_PATHS:
        values = required_values(ast.expr, path)
        if values is not None:
            return path, values
    return None


_MIN_FRAGMENT = 3


def _segments(value: Value) -> frozenset[str]:
    """Literal pieces an ``=`` operand's match must contain, safe to look for in JSON text (no
    character orjson would escape, ASCII only)."""
    if value.kind == "regex" or value.is_number:
        return frozenset()
    return frozenset(
        piece
        for piece in value.text.split("*")
        if len(piece) >= _MIN_FRAGMENT
        and piece.isascii()
        and piece.isprintable()
        and not set(piece) & {'"', "\\"}
    )


def _json_fragments(expr: JsonExpr) -> frozenset[str]:
    if isinstance(expr, BoolOp):
        parts = [_json_fragments(operand) for operand in expr.operands]
        return frozenset().union(*parts) if expr.op == "&&" else _common(parts)
    if isinstance(expr, Comparison) and expr.op == "=":
        return _segments(expr.value)
    return frozenset()


def _field_fragments(field: Field) -> frozenset[str]:
    alternatives = [
        frozenset().union(*(_segments(c.value) for c in conds if c.op == "=")) for conds in field.conditions
    ]
    return _common(alternatives)


def required_fragments(ast: PatternAst) -> frozenset[str]:
    """Text every event the pattern matches must contain (its message, the record's JSON): a cheap
    ``in`` test that skips most filters before their matcher runs. Conservative: may be empty."""
    if isinstance(ast, JsonPattern):
        return _json_fragments(ast.expr)
    if isinstance(ast, SpacePattern):
        return frozenset().union(*(_field_fragments(f) for f in ast.fields if isinstance(f, Field)))
    if isinstance(ast, TermPattern) and len(ast.groups) == 1:
        return frozenset(a.text for a in ast.groups[0].include if a.kind != "regex" and a.text)
    return frozenset()


class Entry(NamedTuple):
    """A filter with what an event needs before its matcher is worth running."""

    filter: MetricFilter
    needs: frozenset[str]  # top-level fields (required_keys)
    fragment: str | None  # the longest text the message must contain (required_fragments)
    test: Callable[[object], bool] | None  # JSON test on the record, when the match alone decides
    constant: Sample | None  # what a match publishes, when no field is read


def entry(f: MetricFilter) -> Entry:
    ast = f.pattern.ast
    needs = required_keys(ast.expr) if isinstance(ast, JsonPattern) else frozenset()
    constant = f.constant_sample
    test = f.pattern.document_test if constant is not None else None
    fragments = sorted(required_fragments(ast), key=lambda piece: (-len(piece), piece))
    return Entry(f, needs, fragments[0] if fragments else None, test, constant)


def _value_at(record: Mapping[str, Any], path: Path) -> object:
    value: object = record
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


@dataclass(frozen=True)
class GroupFilters:
    """One log group's filters: indexed by the value of a field their pattern pins, and the rest."""

    pinned: Mapping[Path, Mapping[str, tuple[Entry, ...]]]
    everywhere: tuple[Entry, ...]
    with_default: tuple[MetricFilter, ...]

    def candidates(self, record: Mapping[str, Any]) -> tuple[Entry, ...]:
        """The filters that can match ``record`` (each at most once)."""
        found: tuple[Entry, ...] = ()
        for path, by_value in self.pinned.items():
            value = _value_at(record, path)
            if isinstance(value, str):
                found += by_value.get(value, ())
        return found + self.everywhere if found else self.everywhere


def index_filters(filters: Iterable[MetricFilter]) -> dict[str, GroupFilters]:
    by_group: dict[str, list[MetricFilter]] = {}
    for f in filters:
        by_group.setdefault(f.log_group, []).append(f)
    out: dict[str, GroupFilters] = {}
    for group, members in by_group.items():
        pinned: dict[Path, dict[str, list[Entry]]] = {}
        everywhere: list[Entry] = []
        for f in members:
            key = index_key(f)
            if key is None:
                everywhere.append(entry(f))
                continue
            path, values = key
            for value in values:
                pinned.setdefault(path, {}).setdefault(value, []).append(entry(f))
        out[group] = GroupFilters(
            {path: {v: tuple(e) for v, e in by_value.items()} for path, by_value in pinned.items()},
            tuple(everywhere),
            tuple(f for f in members if f.has_default),
        )
    return out


# ---------------------------------------------------------------------------------- routing


class EventRow(NamedTuple):
    """One record as stored in one log group (a tuple: made once per record per group, cheaply)."""

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
    record: Record

    def text(self) -> str:
        return self.message


_TIMES: dict[str, int] = {}  # eventTime text → epoch ms: records of one batch share their seconds
_TIMES_MAX = 50_000


def event_time_ms(record: Record) -> int:
    text = record.get("eventTime")
    if not isinstance(text, str):
        raise ValueError("no eventTime")
    found = _TIMES.get(text)
    if found is None:
        found = int(parse_time(text).timestamp() * 1000)
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()
        _TIMES[text] = found
    return found


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
        candidates = filters.candidates(row.record)
        if candidates:
            record = row.record
            message = row.message
            for f, needs, fragment, test, constant in candidates:
                if needs and not record.keys() >= needs:
                    continue  # a field the pattern compares is absent: no match (required_keys)
                if fragment is not None and fragment not in message:
                    continue  # text every match contains is absent (required_fragments)
                if test is not None:
                    if not test(record):
                        continue
                    sample: Sample | None = constant
                else:
                    hit, sample = f.sample(record, row.text)
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
