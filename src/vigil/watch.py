"""``vigil watch``: the long-running loop, and the change trigger it runs on every batch.

Each cycle: ingest new records from the configured sources (checkpointed), re-record the
resources their write events changed (linking the events into the new CIs' ``relatedEvents``),
re-evaluate only the rules those resources touch, evaluate alarms once per minute of wall time,
run periodic rules when their frequency is due, and apply retention hourly. SIGTERM or SIGINT
stops it between steps; a restart resumes from the checkpoints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vigil import engine, engine_events
from vigil.errors import NoCredentialsError, VigilError

if TYPE_CHECKING:
    from vigil.aws import recorder
    from vigil.engine import Context, EvaluationReport
    from vigil.trail.pipeline import EventRow

log = logging.getLogger("vigil.watch")

# AWS Config's periodic frequencies (rules/spec.py FREQUENCIES keys) as durations.
PERIODS = {"1h": timedelta(hours=1), "3h": timedelta(hours=3), "6h": timedelta(hours=6)}
PERIODS |= {"12h": timedelta(hours=12), "24h": timedelta(hours=24)}


@dataclass(frozen=True)
class Change:
    """One write event and the resource it changed."""

    event_id: str
    event_name: str
    event_time: datetime
    principal: str | None
    source_ip: str | None
    resource_type: str
    region: str
    ref: str


@dataclass
class Reaction:
    """What the change trigger did for a batch of new events."""

    changes: list[Change] = field(default_factory=list)
    rerecorded: recorder.ScanReport | None = None
    evaluation: EvaluationReport | None = None
    skipped: list[str] = field(default_factory=list)  # why some changes were not re-recorded
    seconds: float = 0.0

    @property
    def changed_keys(self) -> list[Any]:
        return list(self.rerecorded.totals.changed_keys) if self.rerecorded else []


def changes_in(rows: Sequence[EventRow]) -> list[Change]:
    """The resources that the write events among ``rows`` changed (each event once, in order)."""
    from vigil.aws.events_map import targets

    out: list[Change] = []
    seen: set[str] = set()
    for row in rows:
        if row.event_id in seen:
            continue
        seen.add(row.event_id)
        for t in targets(row.record):
            out.append(
                Change(
                    row.event_id,
                    row.event_name,
                    datetime.fromtimestamp(row.event_time / 1000, UTC),
                    row.principal,
                    row.source_ip,
                    t.resource_type,
                    t.region,
                    t.ref,
                )
            )
    return out


def react(ctx: Context, rows: Sequence[EventRow], *, account_id: str | None = None) -> Reaction:
    """Re-record what the new write events changed, in the recorded account, and re-evaluate it."""
    from vigil.aws import recorder
    from vigil.aws.resources import selected_types

    started = time.perf_counter()
    reaction = Reaction(changes=changes_in(rows))
    if not reaction.changes:
        return reaction
    account = account_id or ctx.session.account_id()
    rec = ctx.settings.recorder
    recorded_types = {t.name for t in selected_types(rec.resource_types, rec.exclude_resource_types)}
    by_event_account = {row.event_id: row.account_id for row in rows}
    requests: dict[tuple[str, str, str], recorder.Request] = {}
    related: dict[str, list[str]] = {}
    for change in reaction.changes:
        if by_event_account.get(change.event_id) not in (account, ""):
            reaction.skipped.append(
                f"{change.event_name} {change.ref}: account is not the recorded {account}"
            )
            continue
        if change.resource_type not in recorded_types:
            reaction.skipped.append(
                f"{change.event_name} {change.ref}: {change.resource_type} is not recorded"
            )
            continue
        key = (change.resource_type, change.region, change.ref)
        requests.setdefault(key, recorder.Request(change.resource_type, change.region, change.ref))
        ids = related.setdefault(change.ref, [])
        if change.event_id not in ids:
            ids.append(change.event_id)
    if requests:
        reaction.rerecorded = engine.rerecord(ctx, list(requests.values()), related=related)
        keys = reaction.changed_keys
        if keys:
            reaction.evaluation = engine.evaluate(ctx, only=keys)
    reaction.seconds = time.perf_counter() - started
    return reaction


# ------------------------------------------------------------------------------------------ the loop


@dataclass
class Cycle:
    """One pass of the loop, for the caller to print."""

    at: datetime
    ingest: engine_events.IngestReport | None = None
    reaction: Reaction | None = None
    ticks: list[engine_events.AlarmTick] = field(default_factory=list)
    delivered: dict[str, object] = field(default_factory=dict)  # the outbox pass: sent, retried, dead
    periodic: list[str] = field(default_factory=list)  # frequencies whose rules ran
    expired: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Schedule:
    """When the loop last did its timed work (wall time)."""

    alarm_minute: datetime | None = None
    periodic: dict[str, datetime] = field(default_factory=dict)
    retention: datetime | None = None
    no_rerecord: str | None = None  # why re-recording stopped for this run (no credentials)


def run_cycle(
    ctx: Context,
    specs: Sequence[str],
    *,
    now: datetime,
    schedule: Schedule,
    cat: engine_events.Catalog,
    rerecord: bool = True,
    deliver: bool = True,
) -> Cycle:
    """One pass: ingest, react, and whatever timed work is due at ``now``."""
    cycle = Cycle(now)
    try:
        cycle.ingest = engine_events.ingest(ctx, specs, cat=cat, keep_rows=rerecord)
    except VigilError as exc:  # a source that cannot be read now may be readable next cycle
        cycle.errors.append(f"ingest: {exc.message}")
        log.warning("ingest failed: %s", exc.message)
    if rerecord and schedule.no_rerecord is None and cycle.ingest is not None and cycle.ingest.new_rows:
        try:
            cycle.reaction = react(ctx, cycle.ingest.new_rows)
        except NoCredentialsError as exc:  # offline (files only): say it once, keep watching events
            schedule.no_rerecord = exc.message
            cycle.errors.append(f"re-record off for this run: {exc.message} (use --no-rerecord to silence)")
            log.warning("re-recording is off for this run: %s", exc.message)
        except VigilError as exc:
            cycle.errors.append(f"re-record: {exc.message}")
            log.warning("re-record failed: %s", exc.message)
    minute = now.replace(second=0, microsecond=0)
    if schedule.alarm_minute != minute:
        cycle.ticks = engine_events.evaluate_alarms(ctx, now, cat=cat)
        schedule.alarm_minute = minute
    cycle.delivered = _deliver(ctx) if deliver else {}
    cycle.periodic = _periodic_rules(ctx, now, schedule)
    if schedule.retention is None or now - schedule.retention >= timedelta(hours=1):
        cycle.expired = engine_events.apply_retention(ctx, now, cat=cat)
        schedule.retention = now
    return cycle


def _deliver(ctx: Context) -> dict[str, object]:
    """Send what the outbox has due (alarm and finding notifications)."""
    from vigil.notify.deliver import channel_context, deliver_due
    from vigil.notify.topics import topics_from

    context = channel_context(ctx.settings, lambda: ctx.session, ctx)
    return deliver_due(
        ctx.store, topics_from(ctx.settings.notify), context, workers=ctx.settings.notify.senders
    ).as_dict()


def _periodic_rules(ctx: Context, now: datetime, schedule: Schedule) -> list[str]:
    """Evaluate the periodic rules whose frequency has come round (first cycle: not yet, the last
    scan or evaluation did)."""
    from vigil.rules.load import RuleSet

    ruleset = engine.load_rules(ctx)
    ran: list[str] = []
    for freq, period in PERIODS.items():
        rules = tuple(r for r in ruleset.rules if "periodic" in r.triggers and (r.frequency or "24h") == freq)
        if not rules:
            continue
        last = schedule.periodic.setdefault(freq, now)
        if now - last < period:
            continue
        engine.evaluate(ctx, now=now, rules=RuleSet(rules, ruleset.packs))
        schedule.periodic[freq] = now
        ran.append(freq)
    return ran


def watch(
    ctx: Context,
    specs: Sequence[str],
    *,
    stop: threading.Event,
    on_cycle: Callable[[Cycle], None] = lambda cycle: None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    poll_seconds: float | None = None,
    max_cycles: int | None = None,
) -> int:
    """Run cycles until ``stop`` is set (or ``max_cycles``); return the number of cycles run."""
    cat = engine_events.catalog(ctx)
    schedule = Schedule()
    wait = poll_seconds if poll_seconds is not None else ctx.settings.events.poll_seconds
    cycles = 0
    while not stop.is_set():
        cycle = run_cycle(
            ctx, specs, now=clock(), schedule=schedule, cat=cat, rerecord=ctx.settings.events.rerecord
        )
        cycles += 1
        on_cycle(cycle)
        if max_cycles is not None and cycles >= max_cycles:
            break
        # wake for the next minute's alarm tick even when polling is slow
        now = clock()
        to_minute = 60 - now.second - now.microsecond / 1e6
        stop.wait(min(wait, max(to_minute, 0.05)))
    return cycles


# ------------------------------------------------------------------------------------- who changed it


def who_changed(conn: Any, items: Sequence[Any]) -> list[list[Change]]:
    """For each CI of a resource's history (oldest first), the write events that made it: the
    CI's ``relatedEvents`` when the change trigger linked them, else stored events between the
    previous capture and this one that the events map says changed this resource."""
    import orjson

    from vigil.aws.events_map import targets
    from vigil.model import parse_time
    from vigil.store import events as event_store

    out: list[list[Change]] = []
    for i, ci in enumerate(items):
        linked = event_store.events_by_id(conn, ci.relatedEvents) if ci.relatedEvents else {}
        if linked:
            found = [linked[e] for e in ci.relatedEvents if e in linked]
        elif i == 0:
            found = []
        else:
            since = int(parse_time(items[i - 1].configurationItemCaptureTime).timestamp() * 1000)
            until = int(parse_time(ci.configurationItemCaptureTime).timestamp() * 1000)
            found = event_store.events_mentioning(conn, ci.resourceId, since, until)
        refs = {ci.resourceId, ci.resourceName, ci.arn} - {None, ""}
        changes: list[Change] = []
        for e in found:
            for t in targets(orjson.loads(e.message)):
                if t.resource_type == ci.resourceType and t.ref in refs:
                    when = datetime.fromtimestamp(e.event_time / 1000, UTC)
                    changes.append(
                        Change(
                            e.event_id,
                            e.event_name,
                            when,
                            e.principal,
                            e.source_ip,
                            t.resource_type,
                            t.region,
                            t.ref,
                        )
                    )
                    break
        out.append(changes)
    return out
