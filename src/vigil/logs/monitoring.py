"""The monitoring pack: CIS AWS Foundations v7.0 5.1–5.15 and the two mission alarms as data.

``packs/monitoring.yaml`` holds one entry per alarm (id, title, CIS v7.0 id, Security Hub control,
accepted filter patterns, metric, alarm settings, severity, description). Loading checks every entry
and reports every problem at once with ``file:line`` (:class:`~vigil.errors.ConfigError`), the way
rule packs are checked. :func:`monitoring_pack` turns the entries into the metric filters and alarms
to install on a trail's log group; :func:`period_values` turns the filters' 1-minute datapoints into
what an alarm evaluates (one value per alarm period, by its statistic).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from vigil.alarms.alarm import AlarmDefinition, MetricRef
from vigil.errors import ConfigError, Problem, UsageError
from vigil.logs.metric_filters import Datapoint, MetricFilter, MetricFilterError, MetricTransformation
from vigil.logs.pattern import PatternError, compile_pattern
from vigil.yamlsrc import Lines, line_of, parse

__all__ = [
    "PACK_IDS",
    "AlarmSettings",
    "MonitoringPack",
    "PackEntry",
    "PackError",
    "entries",
    "entry",
    "load_pack",
    "monitoring_pack",
    "period_values",
]

SEVERITIES: Final = ("informational", "low", "medium", "high", "critical")
ENTRY_FIELDS: Final = frozenset(
    {"id", "title", "cis", "security_hub", "severity", "description", "metric", "patterns", "alarm"}
)
REQUIRED_FIELDS: Final = ("id", "title", "severity", "description", "metric", "patterns")
SETTING_FIELDS: Final = frozenset(
    {
        "statistic",
        "period",
        "evaluation_periods",
        "threshold",
        "comparison_operator",
        "treat_missing_data",
        "datapoints_to_alarm",
    }
)
# Where a placeholder filter and alarm are built to validate an entry (any valid name would do).
_CHECK_GROUP: Final = "vigil-pack-check"


class PackError(ConfigError):
    """The monitoring pack file is invalid; carries every problem with file:line."""

    def __init__(self, problems: list[Problem], *, source: str = "") -> None:
        super().__init__(problems, source=source)
        self.hint = (
            "fix the lines above; every entry needs id, title, severity, description, metric, patterns"
        )


@dataclass(frozen=True)
class AlarmSettings:
    """The alarm fields the pack fixes (PutMetricAlarm's names in snake case)."""

    statistic: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    treat_missing_data: str
    datapoints_to_alarm: int | None = None


@dataclass(frozen=True)
class PackEntry:
    """One alarm of the pack; ``patterns[0]`` is the pattern Vigil creates, the rest older accepted forms."""

    id: str
    title: str
    cis: str | None  # the CIS AWS Foundations v7.0 requirement id, e.g. "5.1"
    security_hub: str | None  # the Security Hub control id, e.g. "CloudWatch.2"
    severity: str
    description: str
    metric_name: str
    namespace: str
    patterns: tuple[str, ...]
    alarm: AlarmSettings
    source: str = ""  # file:line of the entry

    @property
    def pattern(self) -> str:
        return self.patterns[0]

    def metric_filter(self, log_group: str) -> MetricFilter:
        """The entry's metric filter on ``log_group`` (named after the entry, metric value 1)."""
        return MetricFilter(
            name=self.id,
            log_group=log_group,
            pattern_text=self.pattern,
            transformations=(MetricTransformation(self.metric_name, self.namespace, "1"),),
        )

    def alarm_definition(self, actions: tuple[str, ...] = ()) -> AlarmDefinition:
        """The entry's alarm (named after the entry), notifying ``actions`` on ALARM."""
        metric = MetricRef(self.namespace, self.metric_name)
        return _alarm(self.alarm, self.id, metric, actions, f"{self.title}: {self.description}")


def _alarm(
    s: AlarmSettings, name: str, metric: MetricRef, actions: tuple[str, ...], description: str
) -> AlarmDefinition:
    return AlarmDefinition(
        name=name,
        metric=metric,
        statistic=s.statistic,
        period=s.period,
        evaluation_periods=s.evaluation_periods,
        threshold=s.threshold,
        comparison_operator=s.comparison_operator,
        datapoints_to_alarm=s.datapoints_to_alarm,
        treat_missing_data=s.treat_missing_data,
        alarm_actions=actions,
        description=description,
    )


@dataclass(frozen=True)
class MonitoringPack:
    """The pack's entries with their filters and alarms, in pack order (one of each per entry)."""

    entries: tuple[PackEntry, ...]
    filters: tuple[MetricFilter, ...]
    alarms: tuple[AlarmDefinition, ...]


# ------------------------------------------------------------------------------------------- loading


def pack_path() -> Path:
    return Path(str(resources.files("vigil.logs") / "packs" / "monitoring.yaml"))


def load_pack(path: Path | None = None) -> tuple[PackEntry, ...]:
    """Every entry of the pack file, or :class:`ConfigError` listing every problem with file:line."""
    path = path or pack_path()
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError([Problem(src, f"cannot read: {exc}", "check the path")], source=src) from exc
    data, lines, problems = parse(text, src)
    out: list[PackEntry] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("alarms"), list):
        problems.append(Problem(f"{src}:1", "the pack needs a list of alarms", "alarms:\n  - id: …"))
        raise PackError(problems, source=src)
    defaults = data.get("alarm_defaults") or {}
    if not isinstance(defaults, Mapping):
        problems.append(
            Problem(f"{src}:{line_of(lines, ('alarm_defaults',))}", "alarm_defaults is a mapping")
        )
        defaults = {}
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["alarms"]):
        where: tuple[str | int, ...] = ("alarms", index)
        rid = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(rid, str):
            line = line_of(lines, (*where, "id"))
            if rid in seen:
                problems.append(
                    Problem(
                        f"{src}:{line}",
                        f"duplicate id {rid!r} (also at line {seen[rid]})",
                        "give each alarm its own id",
                    )
                )
            seen.setdefault(rid, line)
        found = _entry(raw, defaults, where, src, lines, problems)
        if found is not None:
            out.append(found)
    if problems:
        raise PackError(problems, source=src)
    return tuple(out)


def _entry(
    raw: Any,
    defaults: Mapping[str, Any],
    where: tuple[str | int, ...],
    src: str,
    lines: Lines,
    problems: list[Problem],
) -> PackEntry | None:
    before = len(problems)

    def fail(path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        problems.append(Problem(f"{src}:{line_of(lines, (*where, *path))}", message, hint))

    if not isinstance(raw, Mapping):
        fail((), "an alarm entry must be a mapping", "- id: my-alarm\n  title: …")
        return None
    for name in sorted(set(raw) - ENTRY_FIELDS):
        fail((name,), f"unknown field {name!r}", f"fields: {', '.join(sorted(ENTRY_FIELDS))}")
    for name in REQUIRED_FIELDS:
        if not raw.get(name):
            fail((), f"missing {name}", f"every entry has {', '.join(REQUIRED_FIELDS)}")
    if raw.get("severity") and raw["severity"] not in SEVERITIES:
        fail(("severity",), f"unknown severity {raw['severity']!r}", f"one of: {', '.join(SEVERITIES)}")
    metric = raw.get("metric") or {}
    if not isinstance(metric, Mapping) or not metric.get("name") or not metric.get("namespace"):
        fail(
            ("metric",),
            "metric needs a name and a namespace",
            "metric: {name: RootActivity, namespace: Vigil}",
        )
        metric = {}
    patterns = raw.get("patterns") or []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        fail(("patterns",), "patterns must be a list of filter patterns (text)")
        patterns = []
    for i, text in enumerate(patterns):
        try:
            compile_pattern(text)
        except PatternError as err:
            fail(("patterns", i), str(err), "fix the pattern; the first one is what Vigil creates")
    settings = _settings(raw.get("alarm") or {}, defaults, fail)
    if len(problems) > before or settings is None:
        return None
    found = PackEntry(
        id=str(raw["id"]),
        title=str(raw["title"]),
        cis=_text_or_none(raw.get("cis")),
        security_hub=_text_or_none(raw.get("security_hub")),
        severity=str(raw["severity"]),
        description=str(raw["description"]).strip(),
        metric_name=str(metric["name"]),
        namespace=str(metric["namespace"]),
        patterns=tuple(p.strip() for p in patterns),
        alarm=settings,
        source=f"{src}:{line_of(lines, where)}",
    )
    try:  # CloudWatch Logs' own limits on filter and metric names and namespaces
        found.metric_filter(_CHECK_GROUP)
    except MetricFilterError as err:
        fail(("metric",), str(err))
        return None
    return found


def _settings(raw: Any, defaults: Mapping[str, Any], fail: Callable[..., None]) -> AlarmSettings | None:
    if not isinstance(raw, Mapping):
        fail(("alarm",), "alarm is a mapping of settings", "alarm: {period: 60}")
        return None
    merged = {**defaults, **raw}
    unknown = sorted(set(merged) - SETTING_FIELDS)
    if unknown:
        fail(
            ("alarm",),
            f"unknown alarm setting(s): {', '.join(unknown)}",
            f"one of: {', '.join(sorted(SETTING_FIELDS))}",
        )
        return None
    missing = sorted(SETTING_FIELDS - {"datapoints_to_alarm"} - set(merged))
    if missing:
        fail(
            ("alarm",),
            f"missing alarm setting(s): {', '.join(missing)}",
            "set them in alarm_defaults or the entry",
        )
        return None
    try:
        settings = AlarmSettings(
            statistic=str(merged["statistic"]),
            period=int(merged["period"]),
            evaluation_periods=int(merged["evaluation_periods"]),
            threshold=float(merged["threshold"]),
            comparison_operator=str(merged["comparison_operator"]),
            treat_missing_data=str(merged["treat_missing_data"]),
            datapoints_to_alarm=(
                None if merged.get("datapoints_to_alarm") is None else int(merged["datapoints_to_alarm"])
            ),
        )
    except (TypeError, ValueError) as exc:
        fail(
            ("alarm",),
            f"an alarm setting is not a number: {exc}",
            "period, evaluation_periods, threshold are numbers",
        )
        return None
    try:  # CloudWatch's own rules on the fields (period, operators, M of N, …)
        _alarm(settings, "check", MetricRef("Check", "Check"), (), "")
    except ConfigError as err:
        for problem in err.problems:
            fail(("alarm",), f"{problem.where.rsplit('.', 1)[-1]}: {problem.message}", problem.hint)
        return None
    return settings


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------------------------------- API


@cache
def entries() -> tuple[PackEntry, ...]:
    """The built-in pack's entries (loaded once)."""
    return load_pack()


PACK_IDS: Final[tuple[str, ...]] = tuple(e.id for e in entries())


def entry(control: str) -> PackEntry:
    """The entry known by its pack id, its CIS v7.0 id (``5.1``) or its Security Hub id (``CloudWatch.2``)."""
    for e in entries():
        if control in (e.id, e.cis, e.security_hub):
            return e
    raise UsageError(
        f"no monitoring pack entry for {control!r}",
        hint=f"use a pack id ({', '.join(PACK_IDS)}), a CIS v7.0 id such as 5.1 or a Security Hub id such as CloudWatch.2",
    )


def monitoring_pack(
    log_group: str, *, actions: tuple[str, ...] = (), include: Collection[str] | None = None
) -> MonitoringPack:
    """The pack's filters on ``log_group`` and their alarms notifying ``actions``.

    ``include`` limits the pack to those entry ids (None: all of them); an unknown id is a
    :class:`UsageError`.
    """
    chosen = entries()
    if include is not None:
        unknown = sorted(set(include) - set(PACK_IDS))
        if unknown:
            raise UsageError(
                f"unknown monitoring pack id(s): {', '.join(unknown)}",
                hint=f"choose from: {', '.join(PACK_IDS)}",
            )
        chosen = tuple(e for e in chosen if e.id in include)
    return MonitoringPack(
        entries=chosen,
        filters=tuple(e.metric_filter(log_group) for e in chosen),
        alarms=tuple(e.alarm_definition(tuple(actions)) for e in chosen),
    )


def period_values(alarm: AlarmDefinition, points: Iterable[Datapoint]) -> dict[datetime, float]:
    """The alarm's metric per alarm period (keyed by the period's UTC start), as ``step_alarm`` takes it."""
    from vigil.alarms.runner import check_statistic
    from vigil.alarms.runner import period_values as from_minutes

    check_statistic(alarm)
    metric = alarm.metric
    rows = [
        (p.timestamp // 1000, p.count, p.sum, p.minimum, p.maximum)
        for p in points
        if (p.namespace, p.metric_name, p.dimensions) == (metric.namespace, metric.name, metric.dimensions)
    ]
    return dict(sorted(from_minutes(alarm, rows).items()))
