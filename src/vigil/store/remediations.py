"""The remediation journal: who ran which action on what, when, and the CI before and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select

from vigil.store import Store
from vigil.store.schema import remediations


def write(conn: Connection, record: Any) -> None:
    """Store one ``remediate.run.Record`` (its ``as_dict()`` kept whole)."""
    conn.execute(
        insert(remediations).values(
            at=record.at,
            actor=record.actor,
            action=record.action,
            finding=record.finding,
            rule_id=record.rule_id,
            resource_type=record.resource.resourceType,
            resource_id=record.resource.resourceId,
            dry_run=record.dry_run,
            ok=record.ok,
            record=record.as_dict(),
        )
    )


def journal(store: Store) -> Callable[[Any], None]:
    """A journal for ``remediate()`` that writes each record in its own transaction."""

    def keep(record: Any) -> None:
        with store.begin() as conn:
            write(conn, record)

    return keep


def history(conn: Connection, finding: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = (
        select(remediations.c.record)
        .order_by(remediations.c.at.desc(), remediations.c.id.desc())
        .limit(limit)
    )
    if finding:
        query = query.where(remediations.c.finding == finding)
    return [dict(r) for r in conn.execute(query).scalars()]
