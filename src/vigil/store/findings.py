"""Evaluations and findings: what the rules said last, and what people act on.

``record`` takes a batch of evaluations and keeps three things true:
  * ``evaluations`` holds the latest verdict of every (rule, resource) evaluated;
  * a NON_COMPLIANT verdict opens a finding (or reopens a resolved one; a suppressed one stays
    suppressed), keyed by a stable fingerprint of (rule, account, region, type, id);
  * a COMPLIANT or NOT_APPLICABLE verdict (the resource was fixed, left the rule's scope, or was
    deleted) resolves the open finding; INSUFFICIENT_DATA changes nothing (it cannot tell).
Every change of a finding's status, and of its annotation while open, is one ``finding_events`` row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from vigil.model import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, NOT_APPLICABLE, Evaluation, ResourceKey
from vigil.store.inventory import _chunks, rows_by_key
from vigil.store.schema import evaluations, finding_events, findings, resources

OPEN, RESOLVED, SUPPRESSED = "open", "resolved", "suppressed"
STATUSES = (OPEN, RESOLVED, SUPPRESSED)


def fingerprint(rule_id: str, account: str, region: str, resource_type: str, resource_id: str) -> str:
    """Stable across runs and stores: the same (rule, resource) always has the same finding id."""
    text = "|".join((rule_id, account, region, resource_type, resource_id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RuleFacts:
    """What a finding copies from its rule."""

    severity: str
    controls: tuple[str, ...] = ()


@dataclass
class Changes:
    opened: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    still_open: int = 0
    evaluated: int = 0
    by_compliance: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "byCompliance": self.by_compliance,
            "opened": len(self.opened),
            "reopened": len(self.reopened),
            "resolved": len(self.resolved),
            "stillOpen": self.still_open,
        }


def _pks(conn: Connection, keys: Iterable[ResourceKey]) -> dict[ResourceKey, int]:
    return {key: row.id for key, row in rows_by_key(conn, keys).items()}


def record(
    conn: Connection,
    batch: Sequence[Evaluation],
    rules: Mapping[str, RuleFacts],
    *,
    now: datetime,
) -> Changes:
    """Write a batch of evaluations and move findings accordingly (see the module docstring)."""
    changes = Changes(evaluated=len(batch))
    for ev in batch:
        changes.by_compliance[ev.compliance] = changes.by_compliance.get(ev.compliance, 0) + 1
    pks = _pks(conn, {ResourceKey(e.account_id, e.region, e.resource_type, e.resource_id) for e in batch})
    rows = [
        (ev, pks[key])
        for ev in batch
        if (key := ResourceKey(ev.account_id, ev.region, ev.resource_type, ev.resource_id)) in pks
    ]
    _write_evaluations(conn, rows, now)

    prints = {fingerprint(*ev.key): ev for ev, _ in rows}
    existing: dict[str, Any] = {}
    keys = list(prints)
    for start in range(0, len(keys), 500):
        for row in conn.execute(
            select(findings).where(findings.c.fingerprint.in_(keys[start : start + 500]))
        ):
            existing[row.fingerprint] = row

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    pk_of = {fingerprint(*ev.key): pk for ev, pk in rows}
    for fp, ev in prints.items():
        held: Any = existing.get(fp)
        facts = rules.get(ev.rule_id, RuleFacts("medium"))
        if ev.compliance == NON_COMPLIANT:
            if held is None:
                inserts.append(_new_finding(fp, ev, pk_of[fp], facts, now))
                events.append(_event(fp, now, OPEN, ev))
                changes.opened.append(fp)
                continue
            status = held.status
            if status == RESOLVED:
                status = OPEN
                changes.reopened.append(fp)
                events.append(_event(fp, now, OPEN, ev))
            elif status == SUPPRESSED and held.suppressed_until is not None and held.suppressed_until <= now:
                status = OPEN  # the suppression expired
                changes.reopened.append(fp)
                events.append(_event(fp, now, OPEN, ev))
            elif held.annotation != ev.annotation:
                events.append(_event(fp, now, status, ev))
                changes.still_open += status == OPEN
            else:
                changes.still_open += status == OPEN
            updates.append(
                {
                    "fp": fp,
                    "status": status,
                    "annotation": ev.annotation,
                    "last_seen": now,
                    "resolved_at": None,
                    "severity": facts.severity,
                }
            )
        elif ev.compliance in (COMPLIANT, NOT_APPLICABLE) and held is not None and held.status != RESOLVED:
            updates.append(
                {
                    "fp": fp,
                    "status": RESOLVED,
                    "annotation": held.annotation,
                    "last_seen": held.last_seen,
                    "resolved_at": now,
                    "severity": held.severity,
                }
            )
            events.append(_event(fp, now, RESOLVED, ev))
            changes.resolved.append(fp)
        elif ev.compliance == INSUFFICIENT_DATA:
            continue
    if inserts:
        conn.execute(insert(findings), inserts)
    if updates:
        conn.execute(
            update(findings)
            .where(findings.c.fingerprint == bindparam("fp"))
            .values(
                status=bindparam("status"),
                annotation=bindparam("annotation"),
                last_seen=bindparam("last_seen"),
                resolved_at=bindparam("resolved_at"),
                severity=bindparam("severity"),
            ),
            updates,
        )
    if events:
        conn.execute(insert(finding_events), events)
    return changes


def _write_evaluations(conn: Connection, rows: list[tuple[Evaluation, int]], now: datetime) -> None:
    if not rows:
        return
    by_rule: dict[str, list[int]] = {}
    for ev, pk in rows:
        by_rule.setdefault(ev.rule_id, []).append(pk)
    for rule_id, pks in by_rule.items():
        for chunk in _chunks(pks):
            conn.execute(
                delete(evaluations).where(
                    evaluations.c.rule_id == rule_id, evaluations.c.resource_pk.in_(chunk)
                )
            )
    conn.execute(
        insert(evaluations),
        [
            {
                "rule_id": ev.rule_id,
                "resource_pk": pk,
                "compliance": ev.compliance,
                "annotation": ev.annotation,
                "evaluated_at": now,
            }
            for ev, pk in {(ev.rule_id, pk): (ev, pk) for ev, pk in rows}.values()
        ],
    )


def _new_finding(fp: str, ev: Evaluation, pk: int, facts: RuleFacts, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "rule_id": ev.rule_id,
        "resource_pk": pk,
        "account_id": ev.account_id,
        "region": ev.region,
        "resource_type": ev.resource_type,
        "resource_id": ev.resource_id,
        "severity": facts.severity,
        "status": OPEN,
        "annotation": ev.annotation,
        "controls": list(facts.controls),
        "first_seen": now,
        "last_seen": now,
        "resolved_at": None,
        "suppressed_reason": None,
        "suppressed_until": None,
    }


def _event(fp: str, at: datetime, status: str, ev: Evaluation) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "at": at,
        "status": status,
        "compliance": ev.compliance,
        "annotation": ev.annotation,
    }


# ---------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class Finding:
    fingerprint: str
    rule_id: str
    resource_type: str
    resource_id: str
    resource_name: str | None
    account_id: str
    region: str
    severity: str
    status: str
    annotation: str
    controls: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    suppressed_reason: str | None = None
    suppressed_until: datetime | None = None


@dataclass(frozen=True)
class FindingFilters:
    severities: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    statuses: tuple[str, ...] = (OPEN,)
    frameworks: tuple[str, ...] = ()  # e.g. cis-aws-7.0: findings whose controls name it
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    resource_ids: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


def query(conn: Connection, filters: FindingFilters = FindingFilters()) -> list[Finding]:
    q = select(findings, resources.c.resource_name).join(resources, resources.c.id == findings.c.resource_pk)
    for column, values in (
        (findings.c.severity, filters.severities),
        (findings.c.rule_id, filters.rules),
        (findings.c.status, filters.statuses),
        (findings.c.region, filters.regions),
        (findings.c.account_id, filters.accounts),
        (findings.c.resource_type, filters.types),
        (findings.c.resource_id, filters.resource_ids),
        (findings.c.fingerprint, filters.fingerprints),
    ):
        if values:
            q = q.where(column.in_(values))
    out = []
    for row in conn.execute(q):
        controls = tuple(row.controls or ())
        if filters.frameworks and not any(c.split(":", 1)[0] in filters.frameworks for c in controls):
            continue
        out.append(
            Finding(
                row.fingerprint,
                row.rule_id,
                row.resource_type,
                row.resource_id,
                row.resource_name,
                row.account_id,
                row.region,
                row.severity,
                row.status,
                row.annotation,
                controls,
                row.first_seen,
                row.last_seen,
                row.resolved_at,
                row.suppressed_reason,
                row.suppressed_until,
            )
        )
    out.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.rule_id, f.resource_type, f.resource_id))
    return out


def history(conn: Connection, fp: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(finding_events).where(finding_events.c.fingerprint == fp).order_by(finding_events.c.id)
    )
    return [
        {"at": r.at, "status": r.status, "compliance": r.compliance, "annotation": r.annotation} for r in rows
    ]


def current_evaluations(conn: Connection, rule_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The latest evaluations with their resource's identity (for framework reports)."""
    q = select(
        evaluations.c.rule_id,
        evaluations.c.compliance,
        evaluations.c.annotation,
        resources.c.account_id,
        resources.c.region,
        resources.c.resource_type,
        resources.c.resource_id,
        resources.c.resource_name,
    ).join(resources, resources.c.id == evaluations.c.resource_pk)
    if rule_ids:
        q = q.where(evaluations.c.rule_id.in_(rule_ids))
    return [dict(r._mapping) for r in conn.execute(q)]


def suppress(
    conn: Connection,
    *,
    reason: str,
    now: datetime,
    until: datetime | None = None,
    rule_ids: Sequence[str] = (),
    resource_ids: Sequence[str] = (),
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    fingerprints: Sequence[str] = (),
    only_unsuppressed: bool = False,
) -> int:
    """Suppress matching findings (open or not); returns how many changed."""
    conditions = _match(rule_ids, resource_ids, accounts, regions, fingerprints)
    if only_unsuppressed:
        conditions.append(findings.c.status != SUPPRESSED)
    return _move(conn, conditions, now, SUPPRESSED, reason, until, reason)


def unsuppress(
    conn: Connection,
    *,
    now: datetime,
    rule_ids: Sequence[str] = (),
    resource_ids: Sequence[str] = (),
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    fingerprints: Sequence[str] = (),
) -> int:
    """Lift suppressions; the findings are open again until the next evaluation says otherwise."""
    conditions = [
        *_match(rule_ids, resource_ids, accounts, regions, fingerprints),
        findings.c.status == SUPPRESSED,
    ]
    return _move(conn, conditions, now, OPEN, None, None, "unsuppressed")


def _move(
    conn: Connection,
    conditions: list[Any],
    now: datetime,
    status: str,
    reason: str | None,
    until: datetime | None,
    note: str,
) -> int:
    """Set the status (and suppression) of the findings matching ``conditions``; one event each."""
    matched = [r.fingerprint for r in conn.execute(select(findings.c.fingerprint).where(*conditions))]
    for chunk in _slices(matched):
        conn.execute(
            update(findings)
            .where(findings.c.fingerprint.in_(chunk))
            .values(status=status, suppressed_reason=reason, suppressed_until=until)
        )
    if matched:
        conn.execute(
            insert(finding_events),
            [
                {
                    "fingerprint": fp,
                    "at": now,
                    "status": status,
                    "compliance": NON_COMPLIANT,
                    "annotation": note[:256],
                }
                for fp in matched
            ],
        )
    return len(matched)


def _match(
    rule_ids: Sequence[str],
    resource_ids: Sequence[str],
    accounts: Sequence[str],
    regions: Sequence[str],
    fingerprints: Sequence[str],
) -> list[Any]:
    conditions: list[Any] = []
    if rule_ids:
        conditions.append(findings.c.rule_id.in_(rule_ids))
    if resource_ids:
        conditions.append(
            or_(findings.c.resource_id.in_(resource_ids), findings.c.fingerprint.in_(resource_ids))
        )
    if accounts:
        conditions.append(findings.c.account_id.in_(accounts))
    if regions:
        conditions.append(findings.c.region.in_(regions))
    if fingerprints:
        conditions.append(findings.c.fingerprint.in_(fingerprints))
    return conditions or [and_(True)]


def _slices(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
