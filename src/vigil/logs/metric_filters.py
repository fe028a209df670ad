"""Metric filters → CloudWatch metric datapoints, and TestMetricFilter (spec §1.1, §1.6, §1.7).

A :class:`MetricFilter` is validated where AWS's ``PutMetricFilter`` would reject it, and compiles
its pattern once. :func:`datapoints` turns log events into one statistic set (sum, count, min,
max) per metric, dimensions and 1-minute period, as CloudWatch aggregates them. Decisions on points
the spec leaves open:

* a JSON ``metricValue``/dimension reference must hold a JSON *number* (its lexeme is read as
  written, ``1e3`` = 1000); a quoted ``"5"`` is a string, so no datapoint. Space-delimited tokens
  are text, so any token that is a number literal counts;
* an event whose value or dimension field is absent or non-numeric gives no datapoint, and its
  minute gets no ``defaultValue`` either (the pattern did match);
* ``$name`` references must name a field of the space-delimited pattern (nothing else can ever
  be extracted); ``$.path`` references need not appear in the JSON pattern;
* filters publishing the same metric, dimensions and unit share one statistic set per minute;
* a :class:`LogEvent` without ``log_group`` is seen by every filter, otherwise only by the filters
  of its log group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from vigil.logs.pattern import Pattern, PatternError, compile_pattern
from vigil.logs.pattern.compiler import number_text, parse_json_event, resolve
from vigil.logs.pattern.lexer import is_number
from vigil.logs.pattern.parser import Comparison, Field, JsonPattern, Selector, SpacePattern, parse

__all__ = [
    "STANDARD_UNITS",
    "Datapoint",
    "LogEvent",
    "MetricFilter",
    "MetricFilterError",
    "MetricTransformation",
    "datapoints",
    "test_metric_filter",
]

PERIOD_MS: Final = 60_000
MAX_FILTER_NAME: Final = 512
MAX_LOG_GROUP_NAME: Final = 512
MAX_METRIC_NAME: Final = 255
MAX_NAMESPACE: Final = 255
MAX_METRIC_VALUE: Final = 100
MAX_DIMENSIONS: Final = 3
MAX_DIMENSION_NAME: Final = 255
MAX_TEST_MESSAGES: Final = 50

#: CloudWatch's StandardUnit enumeration, exactly as the API spells it.
STANDARD_UNITS: Final = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)

# Namespace characters accepted by CloudWatch (spec §1.6: `. - _ / # :` besides alphanumerics).
_NAMESPACE_RE: Final = re.compile(r"[A-Za-z0-9 ._/#:-]+")
_LOG_GROUP_RE: Final = re.compile(r"[A-Za-z0-9._/#-]+")
_FORBIDDEN_NAME_CHARS: Final = frozenset(":*")  # filterName: [^:*]*
_FORBIDDEN_METRIC_CHARS: Final = frozenset(":*$")  # metricName: [^:*$]*
_SPACE_REF_RE: Final = re.compile(r"\$[A-Za-z0-9_-]+")


class MetricFilterError(ValueError):
    """A metric filter AWS would reject (InvalidParameterException): which filter, field, why, fix."""

    def __init__(self, *, filter_name: str, field: str, problem: str, hint: str = "") -> None:
        self.filter_name = filter_name
        self.field = field
        self.problem = problem
        self.hint = hint
        message = f"metric filter {filter_name!r}: {field}: {problem}"
        super().__init__(f"{message} ({hint})" if hint else message)


@dataclass(frozen=True)
class MetricTransformation:
    """One ``metricTransformations`` entry; checked against its filter's pattern by MetricFilter."""

    metric_name: str
    metric_namespace: str
    metric_value: str
    default_value: float | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None


@dataclass(frozen=True)
class MetricFilter:
    """A validated metric filter; raises :class:`MetricFilterError` naming the offending field."""

    name: str
    log_group: str
    pattern_text: str
    transformations: tuple[MetricTransformation, ...]
    pattern: Pattern = field(init=False, repr=False, compare=False)
    _value_ref: Selector | str | None = field(init=False, repr=False, compare=False, default=None)
    _dim_refs: tuple[tuple[str, Selector | str], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _constant: Sample | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        _check_name(self.name, self.name, "filterName", MAX_FILTER_NAME, _FORBIDDEN_NAME_CHARS)
        _check_log_group(self.name, self.log_group)
        try:
            pattern = compile_pattern(self.pattern_text)
        except PatternError as err:
            raise MetricFilterError(
                filter_name=self.name,
                field="filterPattern",
                problem=str(err),
                hint="fix the pattern; test it with TestMetricFilter",
            ) from err
        object.__setattr__(self, "pattern", pattern)
        if len(self.transformations) != 1:
            raise MetricFilterError(
                filter_name=self.name,
                field="metricTransformations",
                problem=f"has {len(self.transformations)} entries",
                hint="a metric filter takes exactly one transformation; create one filter per metric",
            )
        t = self.transformations[0]
        _check_transformation(self.name, pattern, t)
        value_ref = None if is_number(t.metric_value) else _reference(self.name, pattern, t.metric_value, "")
        object.__setattr__(self, "_value_ref", value_ref)
        dim_refs = tuple((k, _reference(self.name, pattern, v, "")) for k, v in sorted(t.dimensions.items()))
        object.__setattr__(self, "_dim_refs", dim_refs)
        if value_ref is None and not dim_refs:  # what every match publishes: no field to read
            constant = (t.metric_namespace, t.metric_name, (), t.unit, float(t.metric_value))
            object.__setattr__(self, "_constant", constant)

    @property
    def transformation(self) -> MetricTransformation:
        return self.transformations[0]

    @property
    def constant_sample(self) -> Sample | None:
        """What every match publishes when the value is a number and there are no dimensions."""
        return self._constant

    @property
    def has_default(self) -> bool:
        return self.transformations[0].default_value is not None

    def sample(
        self, record: Mapping[str, object] | None, message: Callable[[], str]
    ) -> tuple[bool, Sample | None]:
        """(matched, the sample it publishes) for one event; ``record`` is the parsed JSON event or None.

        A match whose value or a dimension is absent or not usable publishes nothing (module docstring)."""
        test = self.pattern.document_test
        if record is not None and test is not None and self._constant is not None:
            return (True, self._constant) if test(record) else (False, None)
        found = (
            self.pattern.match_record(record, message)
            if record is not None
            else self.pattern.match(message())
        )
        if found is None:
            return False, None
        t = self.transformations[0]
        fields: Mapping[str, str] = found.extracted
        document: object = record
        if document is None and self.pattern.kind == "json" and (self._value_ref or self._dim_refs):
            document = parse_json_event(message())
        ref = self._value_ref
        value = float(t.metric_value) if ref is None else _number(ref, _read(ref, document, fields))
        if value is None:
            return True, None
        dims: list[tuple[str, str]] = []
        for name, dim_ref in self._dim_refs:
            text = _text(_read(dim_ref, document, fields))
            if text is None:
                return True, None
            dims.append((name, text))
        return True, (t.metric_namespace, t.metric_name, tuple(dims), t.unit, value)


@dataclass(frozen=True)
class LogEvent:
    """One ingested log event; ``timestamp`` in epoch milliseconds."""

    timestamp: int
    message: str
    log_group: str | None = None


@dataclass(frozen=True)
class Datapoint:
    """One metric's statistic set for a 1-minute period starting at ``timestamp`` (epoch ms)."""

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    timestamp: int
    unit: str | None
    sum: float
    count: int
    minimum: float
    maximum: float


# ------------------------------------------------------------------------------------ validation


def _check_name(filter_name: str, value: str, where: str, limit: int, forbidden: frozenset[str]) -> None:
    if not 1 <= len(value) <= limit:
        raise MetricFilterError(
            filter_name=filter_name,
            field=where,
            problem=f"length {len(value)} is outside 1–{limit}",
            hint=f"use 1 to {limit} characters",
        )
    bad = sorted(set(value) & forbidden)
    if bad:
        raise MetricFilterError(
            filter_name=filter_name,
            field=where,
            problem=f"contains {' '.join(repr(c) for c in bad)}",
            hint=f"remove the characters {' '.join(sorted(forbidden))}",
        )


def _check_log_group(filter_name: str, log_group: str) -> None:
    if not 1 <= len(log_group) <= MAX_LOG_GROUP_NAME or not _LOG_GROUP_RE.fullmatch(log_group):
        raise MetricFilterError(
            filter_name=filter_name,
            field="logGroupName",
            problem=f"{log_group!r} is not a log group name",
            hint=f"use 1–{MAX_LOG_GROUP_NAME} characters from A-Z a-z 0-9 . _ / # -",
        )


def _check_transformation(name: str, pattern: Pattern, t: MetricTransformation) -> None:
    where = "metricTransformations[0]"
    _check_name(name, t.metric_name, f"{where}.metricName", MAX_METRIC_NAME, _FORBIDDEN_METRIC_CHARS)
    ns = t.metric_namespace
    if not 1 <= len(ns) <= MAX_NAMESPACE or not _NAMESPACE_RE.fullmatch(ns):
        raise MetricFilterError(
            filter_name=name,
            field=f"{where}.metricNamespace",
            problem=f"{ns!r} is not a namespace",
            hint=f"use 1–{MAX_NAMESPACE} characters from A-Z a-z 0-9 space . - _ / # :",
        )
    if ns.startswith("AWS/"):
        raise MetricFilterError(
            filter_name=name,
            field=f"{where}.metricNamespace",
            problem=f"{ns!r} is reserved for AWS services",
            hint="choose a namespace that does not start with 'AWS/'",
        )
    value = t.metric_value
    if not 1 <= len(value) <= MAX_METRIC_VALUE:
        raise MetricFilterError(
            filter_name=name,
            field=f"{where}.metricValue",
            problem=f"length {len(value)} is outside 1–{MAX_METRIC_VALUE}",
            hint="use a number such as 1, or a field reference",
        )
    if not is_number(value):
        _reference(name, pattern, value, f"{where}.metricValue")
    if t.unit is not None and t.unit not in STANDARD_UNITS:
        raise MetricFilterError(
            filter_name=name,
            field=f"{where}.unit",
            problem=f"{t.unit!r} is not a CloudWatch StandardUnit",
            hint=f"use one of {', '.join(sorted(STANDARD_UNITS))}",
        )
    if t.dimensions:
        _check_dimensions(name, pattern, t)


def _check_dimensions(name: str, pattern: Pattern, t: MetricTransformation) -> None:
    where = "metricTransformations[0].dimensions"
    if t.default_value is not None:
        raise MetricFilterError(
            filter_name=name,
            field="metricTransformations[0].defaultValue",
            problem="is set together with dimensions",
            hint="drop defaultValue or drop the dimensions; AWS allows only one of them",
        )
    if pattern.kind == "terms":
        raise MetricFilterError(
            filter_name=name,
            field=where,
            problem="dimensions need a JSON or space-delimited pattern",
            hint="write the pattern as { $.field = … } or [field, …], or drop the dimensions",
        )
    if len(t.dimensions) > MAX_DIMENSIONS:
        raise MetricFilterError(
            filter_name=name,
            field=where,
            problem=f"has {len(t.dimensions)} dimensions",
            hint=f"keep at most {MAX_DIMENSIONS}",
        )
    for key, ref in t.dimensions.items():
        if not 1 <= len(key) <= MAX_DIMENSION_NAME:
            raise MetricFilterError(
                filter_name=name,
                field=f"{where}[{key!r}]",
                problem=f"name length {len(key)} is outside 1–{MAX_DIMENSION_NAME}",
                hint=f"use 1 to {MAX_DIMENSION_NAME} characters",
            )
        _reference(name, pattern, ref, f"{where}[{key!r}]")


def _reference(name: str, pattern: Pattern, ref: str, where: str) -> Selector | str:
    """Validate a ``$.path``/``$name`` reference against the pattern family; return what to read."""
    if ref.startswith("$."):
        if pattern.kind != "json":
            raise MetricFilterError(
                filter_name=name,
                field=where,
                problem=f"{ref!r} is a JSON reference but the pattern is {pattern.kind}",
                hint="use $.path only with a { … } JSON pattern",
            )
        return _selector(name, ref, where)
    if _SPACE_REF_RE.fullmatch(ref):
        if not isinstance(pattern.ast, SpacePattern):
            raise MetricFilterError(
                filter_name=name,
                field=where,
                problem=f"{ref!r} is a field reference but the pattern is {pattern.kind}",
                hint="use $name only with a [name, …] space-delimited pattern",
            )
        names = {f"${f.name}" for f in pattern.ast.fields if isinstance(f, Field)}
        if ref not in names:
            raise MetricFilterError(
                filter_name=name,
                field=where,
                problem=f"{ref!r} is not a field of the pattern",
                hint=f"use one of {', '.join(sorted(names)) or '(none)'}",
            )
        return ref
    raise MetricFilterError(
        filter_name=name,
        field=where,
        problem=f"{ref!r} is neither a number nor a field reference",
        hint="use a number literal such as 1, $.path (JSON patterns) or $name (space-delimited)",
    )


def _selector(name: str, ref: str, where: str) -> Selector:
    try:
        ast = parse(f"{{{ref} = *}}")
    except PatternError as err:
        raise MetricFilterError(
            filter_name=name, field=where, problem=f"{ref!r} is not a JSON selector: {err}"
        ) from err
    if not (isinstance(ast, JsonPattern) and isinstance(ast.expr, Comparison)):
        raise MetricFilterError(
            filter_name=name, field=where, problem=f"{ref!r} is not a single JSON selector"
        )
    return ast.expr.selector


# ------------------------------------------------------------------------------------ datapoints

_Key = tuple[str, str, tuple[tuple[str, str], ...], int, str | None]
# (namespace, metric name, dimensions, unit, value): what one matching event publishes.
Sample = tuple[str, str, tuple[tuple[str, str], ...], str | None, float]


def datapoints(filters: Iterable[MetricFilter], events: Iterable[LogEvent]) -> list[Datapoint]:
    """Aggregate what the filters publish for ``events``, sorted by metric, dimensions, minute."""
    filters = tuple(filters)
    events = tuple(events)
    values: dict[_Key, list[float]] = {}
    for f in filters:
        t = f.transformation
        ingested: set[int] = set()
        matched: set[int] = set()
        for event in events:
            if event.log_group is not None and event.log_group != f.log_group:
                continue
            minute = event.timestamp - event.timestamp % PERIOD_MS
            ingested.add(minute)
            hit, sample = f.sample(None, _constant(event.message))
            if not hit:
                continue
            matched.add(minute)
            if sample is not None:
                namespace, metric, dims, unit, value = sample
                values.setdefault((namespace, metric, dims, minute, unit), []).append(value)
        if t.default_value is not None:
            for minute in sorted(ingested - matched):
                key = (t.metric_namespace, t.metric_name, (), minute, t.unit)
                values.setdefault(key, []).append(float(t.default_value))
    return [
        Datapoint(
            namespace=key[0],
            metric_name=key[1],
            dimensions=key[2],
            timestamp=key[3],
            unit=key[4],
            sum=sum(vals),
            count=len(vals),
            minimum=min(vals),
            maximum=max(vals),
        )
        for key, vals in sorted(values.items(), key=lambda item: _sort_key(item[0]))
    ]


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _sort_key(key: _Key) -> tuple[str, str, tuple[tuple[str, str], ...], int, str]:
    return (key[0], key[1], key[2], key[3], key[4] or "")


def _read(ref: Selector | str, document: object, fields: Mapping[str, str]) -> object:
    if isinstance(ref, Selector):
        return None if document is None else resolve(document, ref)
    return fields.get(ref)


def _number(ref: Selector | str, raw: object) -> float | None:
    """A JSON number's lexeme, or a space-delimited token that is a number literal, as a float.

    A JSON string (even ``"5"``), boolean, object or null is no value (see module docstring).
    """
    text = number_text(raw) if isinstance(ref, Selector) else raw if isinstance(raw, str) else None
    if text is None or not is_number(text):
        return None
    return float(text)


def _text(raw: object) -> str | None:
    """A dimension value: a string, a number as written, or true/false; objects and null are none."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    return number_text(raw)


# -------------------------------------------------------------------------------- TestMetricFilter


def test_metric_filter(pattern: str, messages: Sequence[str]) -> dict[str, list[dict[str, object]]]:
    """TestMetricFilter's response: the matching messages, numbered from 1, with extracted fields."""
    if not 1 <= len(messages) <= MAX_TEST_MESSAGES:
        raise MetricFilterError(
            filter_name="(TestMetricFilter)",
            field="logEventMessages",
            problem=f"has {len(messages)} messages",
            hint=f"send 1 to {MAX_TEST_MESSAGES} messages per call",
        )
    compiled = compile_pattern(pattern)
    matches: list[dict[str, object]] = []
    for number, message in enumerate(messages, start=1):
        found = compiled.match(message)
        if found is not None:
            matches.append(
                {"eventNumber": number, "eventMessage": message, "extractedValues": dict(found.extracted)}
            )
    return {"matches": matches}
