"""Remediating one stored finding: check the action fits, plan, apply when asked, and verify.

``remediate`` loads the finding and its resource's current CI from the store, plans the action, and
in dry-run (the default) stops there. With ``apply=True`` it makes the calls, re-records the
resource (``engine.rerecord``), re-evaluates it (``engine.evaluate(only=...)``) and says whether the
finding resolved. Every run, dry or not, produces a :class:`Record` (who, what, when, the CI state
before and after, the steps done) handed to ``journal``; the store table that keeps these records
belongs to the store layer, which passes its writer in.

Whether automation may apply at all is the caller's decision: the CLI's ``--apply`` flag, or the
automation subscription that names the action (dry-run unless enabled there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vigil.errors import NotFoundError, UsageError
from vigil.model import ResourceKey
from vigil.remediate.actions import ACTIONS, Action, Outcome, Plan, StepResult, fitting

if TYPE_CHECKING:
    from vigil.engine import Context
    from vigil.store.findings import Finding

log = logging.getLogger("vigil.remediate")

MIN_PREFIX = 8


@dataclass(frozen=True)
class Record:
    """Who did what to which resource, when, and what the CI was before and after."""

    actor: str
    action: str
    finding: str
    rule_id: str
    resource: ResourceKey
    at: datetime
    dry_run: bool
    params: Mapping[str, str]
    before_state_id: str | None
    after_state_id: str | None
    steps: tuple[StepResult, ...]
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": self.action,
            "finding": self.finding,
            "ruleId": self.rule_id,
            "resource": self.resource._asdict(),
            "at": self.at.isoformat(),
            "dryRun": self.dry_run,
            "params": dict(self.params),
            "beforeStateId": self.before_state_id,
            "afterStateId": self.after_state_id,
            "steps": [s.as_dict() for s in self.steps],
            "ok": self.ok,
            "error": self.error,
        }


Journal = Callable[[Record], None]


def _store_journal(ctx: Context) -> Journal:
    from vigil.store.remediations import journal as store_journal

    keep = store_journal(ctx.store)

    def both(record: Record) -> None:
        log_journal(record)
        keep(record)

    return both


def log_journal(record: Record) -> None:
    """The default journal: one log line per run (the store keeps them once its table exists)."""
    log.info(
        "remediation %s by %s on %s (finding %s): %s%s",
        record.action,
        record.actor,
        record.resource,
        record.finding,
        "dry run" if record.dry_run else ("done" if record.ok else f"failed: {record.error}"),
        f", state {record.before_state_id} -> {record.after_state_id}" if not record.dry_run else "",
    )


@dataclass(frozen=True)
class Result:
    finding: Finding
    action: Action
    plan: Plan
    record: Record
    outcome: Outcome | None = None  # None: dry run
    status_after: str | None = None  # the finding's status after the re-evaluation
    recorded_errors: tuple[str, ...] = ()  # the re-record could not read something

    @property
    def applied(self) -> bool:
        return self.outcome is not None

    @property
    def ok(self) -> bool:
        return self.outcome is None or self.outcome.ok

    @property
    def resolved(self) -> bool | None:
        """Whether the finding is resolved now (None in a dry run)."""
        return None if self.outcome is None else self.status_after == "resolved"

    def as_dict(self) -> dict[str, Any]:
        return {
            "finding": self.finding.fingerprint,
            "ruleId": self.finding.rule_id,
            "action": self.action.name,
            "plan": self.plan.as_dict(),
            "applied": self.applied,
            "ok": self.ok,
            "steps": [r.as_dict() for r in self.outcome.results] if self.outcome else [],
            "statusAfter": self.status_after,
            "resolved": self.resolved,
            "rerecordErrors": list(self.recorded_errors),
            "record": self.record.as_dict(),
        }


# ---------------------------------------------------------------------------------------------
# loading


def load_finding(conn: Any, ref: str) -> Finding:
    """A finding by its fingerprint, or by a unique prefix of it (at least 8 characters)."""
    from vigil.store import findings
    from vigil.store.schema import findings as table

    ref = ref.strip().lower()
    if len(ref) < MIN_PREFIX:
        raise UsageError(
            f"finding {ref!r} is too short to name one finding",
            hint=f"give its fingerprint or at least {MIN_PREFIX} characters of it (`vigil findings -o json`)",
        )
    rows = list(
        conn.execute(
            select(table.c.fingerprint, table.c.rule_id, table.c.resource_id)
            .where(table.c.fingerprint.like(f"{ref}%"))
            .limit(3)
        )
    )
    if not rows:
        raise NotFoundError(
            f"no finding with fingerprint {ref!r} in the store",
            hint="list findings with `vigil findings` (the fingerprint is in -o json), or run `vigil scan` first",
        )
    if len(rows) > 1:
        raise UsageError(
            f"{ref!r} matches several findings: {', '.join(r.fingerprint for r in rows)}",
            hint="give more characters of the fingerprint",
        )
    row = rows[0]
    filters = findings.FindingFilters(statuses=(), rules=(row.rule_id,), resource_ids=(row.resource_id,))
    return next(f for f in findings.query(conn, filters) if f.fingerprint == row.fingerprint)


def _current_ci(conn: Any, finding: Finding) -> dict[str, Any]:
    from vigil.store import inventory

    found = inventory.latest_of(
        conn, finding.account_id, finding.resource_type, [finding.resource_id], regions=(finding.region,)
    )
    if not found or found[0].deleted:
        raise NotFoundError(
            f"{finding.resource_type} {finding.resource_id} ({finding.region}) is not in the store any more",
            hint="run `vigil scan` (or `vigil rerecord`) to refresh it; a deleted resource needs no remediation",
        )
    return found[0].to_dict()


def choose(finding: Finding, name: str | None) -> Action:
    """The named action, checked against the finding; a UsageError lists those that fit."""
    fits = fitting(finding.rule_id, finding.resource_type)
    listed = ", ".join(a.name for a in fits) or "none"
    where = (
        f"finding {finding.fingerprint} ({finding.rule_id} on {finding.resource_type} {finding.resource_id})"
    )
    if name is None:
        raise UsageError(f"no action given for {where}", hint=f"actions that fit it: {listed}")
    action = ACTIONS.get(name)
    if action is None:
        raise UsageError(f"unknown action {name!r}", hint=f"actions that fit {where}: {listed}")
    if not action.fits(finding.rule_id, finding.resource_type):
        fixes = f"rules {', '.join(action.rule_ids)}" if action.rule_ids else "any rule"
        raise UsageError(
            f"action {name} does not fit {where}: it fixes {fixes} on {', '.join(action.resource_types)}",
            hint=f"actions that fit it: {listed}",
        )
    return action


# ---------------------------------------------------------------------------------------------
# running


def remediate(
    ctx: Context,
    finding_ref: str,
    action_name: str | None,
    *,
    params: Mapping[str, str] | None = None,
    apply: bool = False,
    actor: str = "manual",
    journal: Journal | None = None,
    now: datetime | None = None,
) -> Result:
    """Plan ``action_name`` for the finding; with ``apply``, make the calls and verify the fix.

    Every run, dry or applied, goes to ``journal`` (default: the store's ``remediations`` table
    and the log)."""
    if journal is None:
        journal = _store_journal(ctx)
    with ctx.store.connect() as conn:
        finding = load_finding(conn, finding_ref)
        action = choose(finding, action_name)
        ci = _current_ci(conn, finding)
    given = action.parameters(params or {}, finding.rule_id)
    plan = action.plan(ci, given)
    key = ResourceKey(finding.account_id, finding.region, finding.resource_type, finding.resource_id)
    started = now or datetime.now(UTC)

    def record(outcome: Outcome | None, after: str | None) -> Record:
        failure = outcome.failure if outcome else None
        return Record(
            actor=actor,
            action=action.name,
            finding=finding.fingerprint,
            rule_id=finding.rule_id,
            resource=key,
            at=started,
            dry_run=outcome is None,
            params=given,
            before_state_id=ci.get("configurationStateId"),
            after_state_id=after,
            steps=outcome.done if outcome else (),
            ok=outcome is None or outcome.ok,
            error=failure.error if failure else None,
        )

    if not apply:
        dry = record(None, None)
        journal(dry)
        return Result(finding, action, plan, dry)

    outcome = action.apply(ctx.session, plan)
    errors: tuple[str, ...] = ()
    after_state = ci.get("configurationStateId")
    status = finding.status
    if outcome.done:
        errors, after_state = _verify(ctx, action, finding, key)
    with ctx.store.connect() as conn:
        status = load_finding(conn, finding.fingerprint).status
    done = record(outcome, after_state)
    journal(done)
    return Result(finding, action, plan, done, outcome, status, errors)


def _verify(
    ctx: Context, action: Action, finding: Finding, key: ResourceKey
) -> tuple[tuple[str, ...], str | None]:
    """Re-record the resource (every region's account item for an account-wide setting) and
    re-evaluate what watches it; the new CI's state id, and what could not be read."""
    from vigil import engine
    from vigil.aws import recorder
    from vigil.store import inventory

    region = "*" if action.all_regions else finding.region
    report = engine.rerecord(ctx, [recorder.Request(finding.resource_type, region, finding.resource_id)])
    with ctx.store.connect() as conn:
        regions: Sequence[str] = () if action.all_regions else (finding.region,)
        found = inventory.latest_of(
            conn, finding.account_id, finding.resource_type, [finding.resource_id], regions=regions
        )
    keys = [ResourceKey(c.accountId, c.awsRegion, c.resourceType, c.resourceId) for c in found] or [key]
    engine.evaluate(ctx, only=keys)
    after = next((c.configurationStateId for c in found if c.awsRegion == finding.region), None)
    return tuple(f"{e.region} {e.resource_type}: {e.code}: {e.message}" for e in report.errors), after
