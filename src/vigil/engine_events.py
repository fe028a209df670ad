"""The event side of the engine: what the settings say about trails, filters and alarms (the
catalog), ingestion, event search, alarm ticks on wall time, replay on event time, retention.

Like ``engine.py`` this is wiring only: the pure parts are ``trail/pipeline.py``,
``logs/``, ``alarms/``; the store parts ``store/events.py`` and ``store/alarms.py``.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any, Protocol

from sqlalchemy import Connection

from vigil.alarms.alarm import AlarmDefinition, AlarmState, Transition, initial_state
from vigil.alarms.aws_shape import composite_from_aws, definition_from_aws
from vigil.alarms.composite import (
    CompositeAlarmDefinition,
    CycleError,
    alarm_name,
    evaluation_order,
    missing_alarms,
    referenced_alarms,
    step_composite,
)
from vigil.alarms.message import alarm_message, composite_message
from vigil.alarms.runner import Fired, check_statistic, metric_key, replay, tick, window, window_values
from vigil.engine import Context
from vigil.errors import ConfigError, Problem, UsageError
from vigil.logs.metric_filters import MetricFilter, MetricFilterError, MetricTransformation
from vigil.logs.pattern import compile_pattern
from vigil.notify.publish import StorePublisher
from vigil.notify.topics import topics_from
from vigil.settings import EventsSettings, local_topic_arn
from vigil.store import alarms as alarm_store
from vigil.store import events as event_store
from vigil.store.schema import scans
from vigil.trail.pipeline import (
    DEFAULT_TRAIL,
    GroupFilters,
    Router,
    Trail,
    index_filters,
    trail_from_settings,
)
from vigil.trail.selectors import SelectorError

log = logging.getLogger("vigil.events")

ROOT_ACTIVITY = "vigil-root-activity"
WITHOUT_MFA = "vigil-api-without-mfa"


# ------------------------------------------------------------------------------------------ catalog


@dataclass(frozen=True)
class Catalog:
    """Trails, metric filters and alarms in force: the config file, the monitoring pack, imports."""

    trails: tuple[Trail, ...]
    filters: tuple[MetricFilter, ...]
    alarms: tuple[AlarmDefinition, ...]
    retention: dict[str, int | None]
    origins: dict[str, str] = field(default_factory=dict)  # alarm or filter name → where it comes from
    composites: tuple[CompositeAlarmDefinition, ...] = ()  # children before parents

    @cached_property
    def router(self) -> Router:
        return Router(self.trails)

    @cached_property
    def index(self) -> dict[str, GroupFilters]:
        return index_filters(self.filters)

    def alarm(self, name: str) -> AlarmDefinition | None:
        return next((a for a in self.alarms if a.name == name), None)


def _monitoring(events: EventsSettings) -> tuple[list[MetricFilter], list[AlarmDefinition], list[str]]:
    from vigil.logs.monitoring import PACK_IDS, monitoring_pack

    m = events.monitoring
    chosen = [
        pid
        for pid in PACK_IDS
        if pid not in m.disabled
        and (
            (pid == ROOT_ACTIVITY and m.root_activity)
            or (pid == WITHOUT_MFA and m.without_mfa)
            or (pid.startswith("cis-") and m.cis)
        )
    ]
    pack = monitoring_pack(events.default_log_group, actions=(local_topic_arn(m.topic),), include=chosen)
    return list(pack.filters), list(pack.alarms), chosen


def build_catalog(
    events: EventsSettings,
    imported: Iterable[tuple[str, dict[str, Any], str]] = (),
    imported_composites: Iterable[tuple[str, dict[str, Any], str]] = (),
    *,
    locate: Callable[..., str] | None = None,
) -> Catalog:
    """The catalog from the settings (and definitions imported into the store); every problem at once.

    ``locate(*path)`` names where a setting is written (``LoadedSettings.where``: ``file:line``)."""

    def where(section: str, index: int) -> str:
        name = f"events.{section}[{index}]"
        found = locate("events", section, index) if locate is not None else ""
        return f"{found} {name}" if found else name

    problems: list[Problem] = []
    trails: list[Trail] = []
    if events.default_trail:
        trails.append(Trail(DEFAULT_TRAIL, events.default_log_group))
    for i, t in enumerate(events.trails):
        try:
            trails.append(
                trail_from_settings(
                    t.name, t.log_group, t.regions, t.event_selectors, t.advanced_event_selectors
                )
            )
        except SelectorError as exc:
            problems.append(
                Problem(where("trails", i), str(exc), "fix the selectors as CloudTrail takes them")
            )
    filters: list[MetricFilter] = []
    alarms: list[AlarmDefinition] = []
    origins: dict[str, str] = {}
    pack_filters, pack_alarms, _ = _monitoring(events)
    for f in pack_filters:
        filters.append(f)
        origins[f"filter:{f.name}"] = "monitoring pack"
    for a in pack_alarms:
        alarms.append(a)
        origins[a.name] = "monitoring pack"
    for i, mf in enumerate(events.metric_filters):
        try:
            filters.append(
                MetricFilter(
                    mf.name,
                    mf.log_group,
                    mf.pattern,
                    (
                        MetricTransformation(
                            mf.metric_name,
                            mf.metric_namespace,
                            mf.metric_value,
                            mf.default_value,
                            dict(mf.dimensions),
                            mf.unit,
                        ),
                    ),
                )
            )
            origins[f"filter:{mf.name}"] = "config"
        except MetricFilterError as exc:
            problems.append(
                Problem(
                    where("metric_filters", i),
                    f"metric filter {exc.filter_name!r}: {exc.field}: {exc.problem}",
                    exc.hint or "fix the filter",
                )
            )
    for i, body in enumerate(events.alarms):
        try:
            definition = definition_from_aws(body)
            check_statistic(definition)
            alarms.append(definition)
            origins[definition.name] = "config"
        except ConfigError as exc:
            problems.extend(
                Problem(f"{where('alarms', i)} {p.where}", p.message, p.hint) for p in exc.problems
            )
    for name, body, origin in imported:
        if any(a.name == name for a in alarms) or body.get("_kind") == "metric-filter":
            continue
        try:
            definition = definition_from_aws(body)
            check_statistic(definition)
            alarms.append(definition)
            origins[name] = origin
        except ConfigError as exc:
            log.warning("imported alarm %s from %s is not evaluated: %s", name, origin, exc)
    composites = _composites(events.composite_alarms, imported_composites, alarms, problems, origins, where)
    counts = Counter([a.name for a in alarms] + [c.name for c in composites])
    for dup in sorted(n for n, k in counts.items() if k > 1):
        problems.append(Problem(f"alarm {dup!r}", "is defined twice", "give each alarm a unique name"))
    if problems:
        raise ConfigError(problems, source="events settings")
    retention = {g.name: g.retention_days for g in events.log_groups}
    for trail in trails:
        retention.setdefault(trail.log_group, events.default_retention_days)
    return Catalog(tuple(trails), tuple(filters), tuple(alarms), retention, origins, composites)


def _composites(
    configured: Sequence[Mapping[str, Any]],
    imported: Iterable[tuple[str, dict[str, Any], str]],
    alarms: Sequence[AlarmDefinition],
    problems: list[Problem],
    origins: dict[str, str],
    where: Callable[[str, int], str],
) -> tuple[CompositeAlarmDefinition, ...]:
    """Composite alarms whose children all exist, ordered children first; problems collected."""
    found: list[CompositeAlarmDefinition] = []
    for i, body in enumerate(configured):
        try:
            composite = composite_from_aws(body)
        except (ConfigError, UsageError) as exc:
            problems.extend(
                Problem(f"{where('composite_alarms', i)} {p.where}", p.message, p.hint)
                for p in getattr(exc, "problems", [Problem("", str(exc), "fix the AlarmRule")])
            )
            continue
        found.append(composite)
        origins[composite.name] = "config"
    for name, body, origin in imported:
        try:
            composite = composite_from_aws(body)
        except (ConfigError, UsageError) as exc:
            log.warning("imported composite alarm %s from %s is not evaluated: %s", name, origin, exc)
            continue
        if composite.name not in origins:
            found.append(composite)
            origins[composite.name] = origin
    known = {a.name for a in alarms} | {c.name for c in found}
    for c in found:
        missing = missing_alarms(c.rule, known)
        if missing:
            problems.append(
                Problem(
                    f"composite alarm {c.name!r}.AlarmRule",
                    f"names alarms that do not exist: {', '.join(missing)}",
                    "define those alarms, or fix the names in the rule",
                )
            )
    try:
        order = evaluation_order({c.name: c.rule for c in found})
    except CycleError as exc:
        problems.append(Problem("events.composite_alarms", exc.message, exc.hint or "break the cycle"))
        return ()
    by_name = {c.name: c for c in found}
    return tuple(by_name[alarm_name(n)] for n in order if alarm_name(n) in by_name)


def catalog(ctx: Context) -> Catalog:
    with ctx.store.connect() as conn:
        imported = alarm_store.load_definitions(conn, "alarm")
        imported_filters = alarm_store.load_definitions(conn, "metric-filter")
        imported_composites = alarm_store.load_definitions(conn, "composite-alarm")
    base = build_catalog(ctx.settings.events, imported, imported_composites, locate=ctx.loaded.where)
    extra: list[MetricFilter] = []
    for _, body, origin in imported_filters:
        f = _imported_filter(body, origin)
        if f is not None:
            extra.append(f)
            base.origins.setdefault(f"filter:{f.name}", origin)
    if not extra:
        return base
    return Catalog(
        base.trails, base.filters + tuple(extra), base.alarms, base.retention, base.origins, base.composites
    )


def _imported_filter(body: dict[str, Any], origin: str) -> MetricFilter | None:
    """A DescribeMetricFilters item as a MetricFilter (None, with a warning, when it cannot run here)."""
    from vigil.alarms.importer import filter_from_aws

    try:
        return filter_from_aws(body)
    except MetricFilterError as exc:
        log.warning("imported metric filter from %s is not run: %s", origin, exc)
        return None


# ------------------------------------------------------------------------------------------- ingest


class IngestListener(Protocol):
    def source_started(self, key: str, total: int | None) -> None: ...
    def batch_done(self, key: str, location: str, size: int, result: event_store.BatchResult) -> None: ...


class _Quiet:
    def source_started(self, key: str, total: int | None) -> None:
        return None

    def batch_done(self, key: str, location: str, size: int, result: event_store.BatchResult) -> None:
        return None


@dataclass
class IngestReport:
    sources: list[str] = field(default_factory=list)
    batches: int = 0
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0  # records no trail keeps
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    new_rows: list[Any] = field(default_factory=list, repr=False)  # EventRows newly stored (watch uses them)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "batches": self.batches,
            "records": self.records,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "notKeptByAnyTrail": self.skipped,
            "quarantined": [{"location": loc, "reason": why} for loc, why in self.quarantined],
            "seconds": round(self.seconds, 3),
        }


def ingest(
    ctx: Context,
    specs: Sequence[str],
    *,
    listener: IngestListener | None = None,
    cat: Catalog | None = None,
    keep_rows: bool = False,
    max_batches: int | None = None,
) -> IngestReport:
    """Read each source from its checkpoint; store every batch's effects with its checkpoint."""
    import time

    started = time.perf_counter()
    cat = cat or catalog(ctx)
    listener = listener or _Quiet()
    report = IngestReport()
    session = ctx.session if any(_needs_aws(s) for s in specs) else None
    with relaxed_gc():
        _ingest_sources(ctx, specs, session, cat, listener, report, keep_rows, max_batches)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_sources(
    ctx: Context,
    specs: Sequence[str],
    session: Any,
    cat: Catalog,
    listener: IngestListener,
    report: IngestReport,
    keep_rows: bool,
    max_batches: int | None,
) -> None:
    from vigil.trail.sources import open_source

    for spec in specs:
        source = open_source(spec, session=session, stdin=sys.stdin.buffer)
        report.sources.append(source.key)
        with ctx.store.connect() as conn:
            checkpoint = event_store.load_checkpoint(conn, source.key)
        listener.source_started(source.key, source.total())
        for batch in source.batches(checkpoint):
            rows, rejected = cat.router.rows_checked(batch.records)
            entries = [(q.location, q.reason, q.size) for q in batch.quarantined]
            entries += [(f"{batch.location}#{i}", reason, None) for i, reason in rejected]
            with ctx.store.begin() as conn:
                result = event_store.commit_batch(
                    conn,
                    source=source.key,
                    rows=rows,
                    records=len(batch.records),
                    index=cat.index,
                    checkpoint=batch.checkpoint,
                    quarantine_entries=entries,
                    new_rows=report.new_rows if keep_rows else None,
                )
            if batch.ack is not None:
                batch.ack()
            report.batches += 1
            report.records += len(batch.records)
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.skipped += len(batch.records) - len(rejected) - len({r.event_id for r in rows})
            report.quarantined.extend((loc, why) for loc, why, _ in entries)
            listener.batch_done(source.key, batch.location, batch.size, result)
            if max_batches is not None and report.batches >= max_batches:
                return


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Fewer cyclic garbage collections while ingesting: records are acyclic dicts made and dropped
    by the hundred thousand, and every collection would walk them all (+20 % ingest rate measured).
    Objects alive before (the catalog, compiled patterns) are frozen out of the collector's walk."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _needs_aws(spec: str) -> bool:
    return spec.startswith(("s3://", "sqs://", "https://sqs", "lookup-events"))


# ------------------------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Found:
    log_group: str
    event_id: str
    event_time: datetime
    event_name: str
    event_source: str
    region: str
    principal: str | None
    source_ip: str | None
    error_code: str | None
    message: str


def search(
    ctx: Context,
    *,
    pattern: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    log_groups: Sequence[str] = (),
    limit: int | None = 100,
) -> Iterator[Found]:
    """FilterLogEvents over stored events: those matching ``pattern``, oldest first."""
    import orjson

    compiled = compile_pattern(pattern)
    names: list[str] | None = None
    from vigil.logs.pattern.parser import JsonPattern
    from vigil.trail.pipeline import required_values

    if isinstance(compiled.ast, JsonPattern):
        pinned = required_values(compiled.ast.expr, "eventName")
        names = sorted(pinned) if pinned is not None else None
    count = 0
    with ctx.store.connect() as conn:
        for e in event_store.scan_events(
            conn,
            log_groups=log_groups,
            since_ms=_ms(since),
            until_ms=_ms(until),
            event_names=names,
        ):
            hit = (
                compiled.match_record(orjson.loads(e.message), _text_of(e.message))
                if compiled.kind == "json"
                else compiled.match(e.message)
            )
            if hit is None:
                continue
            yield Found(
                e.log_group,
                e.event_id,
                datetime.fromtimestamp(e.event_time / 1000, UTC),
                e.event_name,
                e.event_source,
                e.region,
                e.principal,
                e.source_ip,
                e.error_code,
                e.message,
            )
            count += 1
            if limit is not None and count >= limit:
                return


def _text_of(message: str) -> Callable[[], str]:
    return lambda: message


def _ms(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


# ------------------------------------------------------------------------------------------- alarms


Render = Callable[..., tuple[str, str]]  # (transition, *, account, region, configuration_updated) → message


@dataclass(frozen=True)
class AlarmTick:
    name: str
    transition: Transition


def alarm_account(conn: Connection) -> str:
    """The account alarm messages name: the one the latest scan recorded (Vigil's alarms live there)."""
    from sqlalchemy import select

    for accounts in conn.execute(select(scans.c.accounts).order_by(scans.c.id.desc()).limit(5)).scalars():
        if isinstance(accounts, list) and accounts:
            return str(accounts[0])
    return "000000000000"


def evaluate_alarms(
    ctx: Context, now: datetime | None = None, *, cat: Catalog | None = None, names: Sequence[str] = ()
) -> list[AlarmTick]:
    """One wall-time tick of every alarm: store states, history, and publish actions on changes."""
    now = now or datetime.now(UTC)
    cat = cat or catalog(ctx)
    chosen = [a for a in cat.alarms if not names or a.name in names]
    out: list[AlarmTick] = []
    if not chosen and not cat.composites:
        return out
    first = min((window(a, now)[0] for a in chosen), default=0)
    end = max((window(a, now)[1] for a in chosen), default=0)
    region = ctx.settings.aws.home_region
    with ctx.store.begin() as conn:
        account = alarm_account(conn)
        states = alarm_store.load_states(conn)
        keys = {a.name: metric_key(a, event_store.dimensions_key) for a in chosen}
        rows = event_store.datapoints_between(conn, set(keys.values()), first, end)
        publisher = StorePublisher(conn, topics_from(ctx.settings.notify))
        shared: dict[tuple[Any, ...], dict[datetime, float]] = {}  # alarms on one metric share values
        unchanged: list[str] = []

        def settle(name: str, transition: Transition, previous: AlarmState | None, render: Render) -> None:
            """Store the tick; on a change, publish CloudWatch's message to each action's topic."""
            alarm_store.save_tick(conn, name, transition, now, known=previous is not None)
            states[name] = transition.state
            out.append(AlarmTick(name, transition))
            if not transition.changed:
                if previous is not None:
                    unchanged.append(name)
                return
            subject, message = render(transition, account=account, region=region, configuration_updated=now)
            attributes = {"kind": "alarm", "AlarmName": name, "NewStateValue": transition.state.value}
            for action in transition.actions:
                publisher.publish(
                    action, subject=subject, message=message, attributes=attributes, source="alarm", at=now
                )
                alarm_store.record_action(conn, name, action, now, ok=True, detail="published")

        for a in chosen:
            memo = (keys[a.name], a.period, a.statistic, a.evaluation_periods)
            values = shared.get(memo)
            if values is None:
                values = shared[memo] = window_values(a, rows[keys[a.name]], now)
            previous = states.get(a.name)
            transition = tick(a, rows[keys[a.name]], previous, now, values=values)
            settle(a.name, transition, previous, partial(alarm_message, a))
        prefix = f"arn:aws:cloudwatch:{region}:{account}:alarm:"
        for c in cat.composites if not names else ():
            children = {ref: states.get(alarm_name(ref)) for ref in referenced_alarms(c.rule)}
            if any(v is None for v in children.values()):
                continue  # a child not evaluated yet (first tick of a new alarm): next minute
            previous = states.get(c.name)
            known = {k: v for k, v in children.items() if v is not None}
            transition = step_composite(c, known, previous or initial_state(now), now, arn_prefix=prefix)
            settle(c.name, transition, previous, partial(composite_message, c))
        alarm_store.touch_evaluated(conn, unchanged, now)
    return out


def replay_alarms(
    ctx: Context,
    *,
    since: datetime,
    until: datetime,
    names: Sequence[str] = (),
    cat: Catalog | None = None,
    recount: bool = False,
) -> list[Fired]:
    """Run alarms over stored datapoints in event time; with ``recount``, first rebuild datapoints
    from stored events with the current filters (so new filters see past events)."""
    cat = cat or catalog(ctx)
    chosen = [a for a in cat.alarms if not names or a.name in names]
    start_s = int(since.timestamp()) // 60 * 60
    end_s = int(until.timestamp())
    fired: list[Fired] = []
    with ctx.store.connect() as conn:
        if recount:
            rows_by_key = _recount(conn, cat, since, until)
        else:
            keys = {metric_key(a, event_store.dimensions_key) for a in chosen}
            margin = max((a.period * (a.evaluation_periods + 3) for a in chosen), default=0)
            rows_by_key = event_store.datapoints_between(conn, keys, start_s - margin, end_s + 1)
    for a in chosen:
        fired.extend(replay(a, rows_by_key.get(metric_key(a, event_store.dimensions_key), []), since, until))
    return sorted(fired, key=lambda f: (f.at, f.alarm))


def _recount(
    conn: Connection, cat: Catalog, since: datetime, until: datetime
) -> dict[tuple[str, str, str], list[tuple[int, int, float, float, float]]]:
    import orjson

    from vigil.trail.pipeline import Aggregate, EventRow, aggregate

    totals: dict[Any, Aggregate] = {}

    def fold(rows: list[EventRow]) -> None:
        for key, part in aggregate(rows, cat.index).items():
            agg = totals.get(key)
            if agg is None:
                totals[key] = part
            else:
                agg.count += part.count
                agg.total += part.total
                agg.minimum = min(agg.minimum, part.minimum)
                agg.maximum = max(agg.maximum, part.maximum)

    rows: list[EventRow] = []  # in chunks: a 90-day window need not fit in memory at once
    for e in event_store.scan_events(conn, since_ms=_ms(since), until_ms=_ms(until)):
        rows.append(
            EventRow(
                e.log_group,
                e.event_id,
                e.event_time,
                e.account_id,
                e.region,
                e.event_source,
                e.event_name,
                e.principal,
                e.source_ip,
                e.error_code,
                e.message,
                orjson.loads(e.message),
            )
        )
        if len(rows) >= _RECOUNT_CHUNK:
            fold(rows)
            rows = []
    fold(rows)
    out: dict[tuple[str, str, str], list[tuple[int, int, float, float, float]]] = {}
    for key, agg in sorted(totals.items(), key=lambda item: item[0][3]):
        mk = (key[0], key[1], event_store.dimensions_key(key[2]))
        out.setdefault(mk, []).append((key[3], agg.count, agg.total, agg.minimum, agg.maximum))
    return out


_RECOUNT_CHUNK = 10_000


# ---------------------------------------------------------------------------------------- retention


def apply_retention(
    ctx: Context, now: datetime | None = None, *, cat: Catalog | None = None
) -> dict[str, int]:
    """Delete events older than each log group's retention; return the counts deleted."""
    now = now or datetime.now(UTC)
    cat = cat or catalog(ctx)
    out: dict[str, int] = {}
    with ctx.store.begin() as conn:
        groups = [g for g, *_ in event_store.log_group_counts(conn)]
        for group in groups:
            days = cat.retention.get(group, ctx.settings.events.default_retention_days)
            if days is None:
                continue
            cutoff = int((now - timedelta(days=days)).timestamp() * 1000)
            gone = event_store.expire_events(conn, group, cutoff)
            if gone:
                out[group] = gone
    return out


Clock = Callable[[], datetime]
