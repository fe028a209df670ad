"""The configuration recorder: full scans and targeted re-records.

A scan splits into units (region × resource type; global types once, as ``awsRegion: "global"``),
runs them on a bounded thread pool (``aws.concurrency``), and writes each unit's CIs as it
completes, in one transaction per unit, from the calling thread (the store sees one writer).

A unit that fails (AccessDenied, an API the endpoint does not support, throttling past the retry
budget) is recorded with its reason; nothing of that (type, region) is marked deleted, the other
units go on, and the scan ends ``partial``. A resource whose details fail (one bucket's policy
refused) keeps its previous CI and is reported; the rest of its unit is recorded normally.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import botocore.exceptions

from vigil.aws.resources import RESOURCE_TYPES, ResourceType, selected_types
from vigil.aws.resources.base import AWS_ERRORS, Batch, Fetch
from vigil.aws.session import AwsSession, error_code
from vigil.errors import CollectionError
from vigil.model import GLOBAL_REGION, ConfigurationItem
from vigil.store import Store, inventory, scans
from vigil.store.inventory import RecordResult, Scope

log = logging.getLogger(__name__)

BUG_CODE = "VigilInternalError"


@dataclass(frozen=True)
class Unit:
    account_id: str
    region: str
    rtype: ResourceType

    @property
    def label(self) -> str:
        return f"{self.region} {self.rtype.name}"


@dataclass
class UnitOutcome:
    unit: Unit
    found: int = 0
    result: RecordResult = field(default_factory=RecordResult)
    error: CollectionError | None = None
    failures: list[CollectionError] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ScanReport:
    """What a scan or re-record did, for the summary table and the exit code."""

    scan_id: int
    kind: str
    account_id: str
    regions: list[str]
    outcomes: list[UnitOutcome] = field(default_factory=list)
    seconds: float = 0.0
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def totals(self) -> RecordResult:
        total = RecordResult()
        for o in self.outcomes:
            total.add(o.result)
        return total

    @property
    def errors(self) -> list[CollectionError]:
        return [o.error for o in self.outcomes if o.error] + [f for o in self.outcomes for f in o.failures]

    @property
    def bugs(self) -> list[CollectionError]:
        return [e for e in self.errors if e.code == BUG_CODE]

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    @property
    def status(self) -> str:
        return "partial" if self.partial else "complete"

    @property
    def recorded(self) -> int:
        return sum(o.found for o in self.outcomes)


class Listener(Protocol):
    """Progress callbacks (the CLI draws bars with them). Called from the writing thread."""

    def planned(self, units: Sequence[Unit]) -> None:
        """All units of the scan are known."""

    def done(self, outcome: UnitOutcome) -> None:
        """One unit has been collected and written."""


class Silent:
    """A listener that listens to nothing."""

    def planned(self, units: Sequence[Unit]) -> None:
        return None

    def done(self, outcome: UnitOutcome) -> None:
        return None


def plan(account_id: str, regions: Iterable[str], types: Sequence[ResourceType]) -> list[Unit]:
    """Units of a scan: every regional type in every region, every global type once."""
    regions = list(regions)
    units = [Unit(account_id, GLOBAL_REGION, t) for t in types if t.scope == "global"]
    units += [Unit(account_id, r, t) for r in regions for t in types if t.scope == "regional"]
    return units


def _collect(
    fx: Fetch, unit: Unit, ids: frozenset[str] | None
) -> tuple[Batch | None, CollectionError | None, float]:
    started = time.perf_counter()
    region = unit.region if unit.region != GLOBAL_REGION else fx.home_region
    try:
        batch = unit.rtype.collect(fx, region if unit.rtype.scope == "regional" else GLOBAL_REGION, ids)
        return batch, None, time.perf_counter() - started
    except (*AWS_ERRORS, botocore.exceptions.NoCredentialsError, TimeoutError) as exc:
        code, message = error_code(exc)
        return (
            None,
            CollectionError(unit.account_id, unit.region, unit.rtype.name, code, message),
            time.perf_counter() - started,
        )
    except Exception as exc:  # a bug in a collector: recorded, logged with its traceback, the scan goes on
        log.exception("collector for %s failed", unit.label)
        return (
            None,
            CollectionError(
                unit.account_id,
                unit.region,
                unit.rtype.name,
                BUG_CODE,
                f"{type(exc).__name__}: {exc} (a bug in Vigil; please report it with the log)",
            ),
            time.perf_counter() - started,
        )


def _write(
    store: Store,
    unit: Unit,
    batch: Batch | None,
    error: CollectionError | None,
    *,
    scan_id: int,
    source: str,
    scope_ids: frozenset[str] | None = None,
    related: Mapping[str, tuple[str, ...]] | None = None,
) -> UnitOutcome:
    outcome = UnitOutcome(unit)
    if batch is not None and related:
        batch = replace(batch, cis=[_with_events(ci, related) for ci in batch.cis])
    now = datetime.now(UTC)
    with store.begin() as conn:
        if error is not None or batch is None:
            assert error is not None
            outcome.error = error
            scans.unit_failed(conn, error, scan_id=scan_id, now=now)
            return outcome
        failed = frozenset(f.resource_id for f in batch.failures)
        ids = None if scope_ids is None else scope_ids | {ci.resourceId for ci in batch.cis}
        scope = Scope(unit.account_id, unit.region, unit.rtype.name, complete=True, ids=ids, keep=failed)
        outcome.result = inventory.record(
            conn, batch.cis, scope, now=now, volatile=unit.rtype.volatile, scan_id=scan_id, source=source
        )
        outcome.found = len(batch.cis)
        for failure in batch.failures:
            err = CollectionError(
                unit.account_id,
                unit.region,
                unit.rtype.name,
                failure.code,
                failure.message,
                failure.resource_id,
            )
            outcome.failures.append(err)
            scans.unit_failed(conn, err, scan_id=scan_id, now=now)
        if not batch.failures:
            scans.unit_succeeded(
                conn,
                account_id=unit.account_id,
                region=unit.region,
                resource_type=unit.rtype.name,
                scan_id=scan_id,
                now=now,
            )
    return outcome


def _with_events(ci: ConfigurationItem, related: Mapping[str, tuple[str, ...]]) -> ConfigurationItem:
    """The CI with the CloudTrail events that made Vigil re-record it, as AWS Config links them."""
    ids: list[str] = []
    for ref in (ci.resourceId, ci.resourceName, ci.arn):
        for event_id in related.get(ref or "", ()):
            if event_id not in ids:
                ids.append(event_id)
    return replace(ci, relatedEvents=tuple(ids)) if ids else ci


@dataclass(frozen=True)
class _Targeted:
    """For a re-record: what to ask the collector for, and which stored ids the unit covers."""

    refs: frozenset[str]
    resolved: frozenset[str]
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # ref → CloudTrail event IDs


def _execute(
    session: AwsSession,
    store: Store,
    *,
    kind: str,
    account_id: str,
    regions: list[str],
    units: list[Unit],
    listener: Listener,
    targeted: dict[Unit, _Targeted] | None = None,
) -> ScanReport:
    """Collect the units on the pool and write each as it completes (one writer, one transaction per
    unit); the shared body of a scan and a re-record."""
    started = time.perf_counter()
    listener.planned(units)
    calls_before = session.stats.as_dict()
    with store.begin() as conn:
        scan_id = scans.start(conn, kind, accounts=[account_id], regions=regions, now=datetime.now(UTC))
    report = ScanReport(scan_id, kind, account_id, regions)
    concurrency = session.settings.concurrency
    with (
        ThreadPoolExecutor(concurrency, thread_name_prefix="vigil-unit") as pool,
        ThreadPoolExecutor(concurrency, thread_name_prefix="vigil-detail") as details,
    ):
        fx = Fetch(session, account_id, now=datetime.now(UTC), pool=details)
        futures: dict[Future[tuple[Batch | None, CollectionError | None, float]], Unit] = {}
        for unit in units:
            target = targeted.get(unit) if targeted else None
            ids = target.refs | target.resolved if target else None
            futures[pool.submit(_collect, fx, unit, ids)] = unit
        for future in as_completed(futures):
            unit = futures[future]
            batch, error, seconds = future.result()
            target = targeted.get(unit) if targeted else None
            outcome = _write(
                store,
                unit,
                batch,
                error,
                scan_id=scan_id,
                source=kind,
                scope_ids=target.resolved if target else None,
                related=target.related if target else None,
            )
            outcome.seconds = seconds
            report.outcomes.append(outcome)
            listener.done(outcome)
    report.seconds = time.perf_counter() - started
    report.api_calls = _calls_since(calls_before, session.stats.as_dict())
    with store.begin() as conn:
        scans.finish(
            conn,
            scan_id,
            status=report.status,
            counts=report.totals.as_dict(),
            api_calls=report.api_calls,
            now=datetime.now(UTC),
        )
    return report


def scan(
    session: AwsSession,
    store: Store,
    *,
    regions: Sequence[str] | None = None,
    types: Sequence[str] = (),
    exclude: Sequence[str] = (),
    listener: Listener | None = None,
) -> ScanReport:
    """Record every selected resource type in every region (a full snapshot)."""
    account_id = session.account_id()
    chosen = list(regions or session.regions())
    units = plan(account_id, chosen, selected_types(list(types), list(exclude)))
    return _execute(
        session,
        store,
        kind="scan",
        account_id=account_id,
        regions=chosen,
        units=units,
        listener=listener or Silent(),
    )


def _calls_since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {svc: n - before.get(svc, 0) for svc, n in after.items() if n - before.get(svc, 0)}


@dataclass(frozen=True)
class Request:
    """One resource to re-record: type, region (``*``: every region recorded for it), id/name/ARN."""

    resource_type: str
    region: str
    ref: str


def rerecord(
    session: AwsSession,
    store: Store,
    requests: Sequence[Request],
    *,
    listener: Listener | None = None,
    regions: Sequence[str] | None = None,
    related: Mapping[str, Sequence[str]] | None = None,
) -> ScanReport:
    """Re-record only the given resources (the watch loop calls this for CloudTrail events).

    A requested resource that no longer exists is recorded as ``ResourceDeleted``; nothing else of
    its (type, region) is touched. ``related`` maps a ref (id, name or ARN) to the CloudTrail event
    IDs that changed it; a new CI of that resource lists them in ``relatedEvents``."""
    account_id = session.account_id()
    known_regions = list(regions or session.settings.regions or [])
    grouped: dict[tuple[str, str], set[str]] = defaultdict(set)
    for req in requests:
        if req.resource_type not in RESOURCE_TYPES:
            raise ValueError(f"unknown resource type {req.resource_type}")
        rtype = RESOURCE_TYPES[req.resource_type]
        if rtype.scope == "global":
            targets = [GLOBAL_REGION]
        elif req.region == "*":
            targets = known_regions or _recorded_regions(store, account_id, rtype.name) or session.regions()
        else:
            targets = [req.region]
        for region in targets:
            grouped[(rtype.name, region)].add(req.ref)
    targeted: dict[Unit, _Targeted] = {}
    for (type_name, region), refs in sorted(grouped.items()):
        unit = Unit(account_id, region, RESOURCE_TYPES[type_name])
        links = {ref: tuple(related[ref]) for ref in refs if related and ref in related}
        resolved = _resolve(store, unit, frozenset(refs))
        targeted[unit] = _Targeted(frozenset(refs), resolved, links)
    return _execute(
        session,
        store,
        kind="rerecord",
        account_id=account_id,
        regions=sorted({u.region for u in targeted}),
        units=list(targeted),
        listener=listener or Silent(),
        targeted=targeted,
    )


def _resolve(store: Store, unit: Unit, refs: frozenset[str]) -> frozenset[str]:
    """Stored resource ids for refs given as ids, names or ARNs (unknown refs resolve to nothing)."""
    out: set[str] = set()
    with store.connect() as conn:
        for ref in refs:
            for found in inventory.find(conn, ref, region=unit.region, resource_type=unit.rtype.name):
                if found.key.accountId == unit.account_id:
                    out.add(found.key.resourceId)
    return frozenset(out)


def _recorded_regions(store: Store, account_id: str, resource_type: str) -> list[str]:
    with store.connect() as conn:
        return sorted({r for a, r, t, _ in inventory.counts(conn) if a == account_id and t == resource_type})
