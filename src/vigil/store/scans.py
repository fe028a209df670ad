"""Scan runs and the outcome of every collection unit (account, region, resource type).

``collection_status`` is what later stages ask "can I trust what is stored for this (type,
region)?": the rule engine reports INSUFFICIENT_DATA, with the stored reason, where the last
attempt failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vigil.errors import CollectionError
from vigil.store.schema import collection_errors, collection_status, scans


def start(
    conn: Connection,
    kind: str,
    *,
    accounts: list[str],
    regions: list[str],
    now: datetime,
    origin: str | None = None,
) -> int:
    result = conn.execute(
        insert(scans).values(
            kind=kind,
            origin=origin,
            started_at=now,
            status="running",
            accounts=accounts,
            regions=regions,
            counts={},
            api_calls={},
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def finish(
    conn: Connection,
    scan_id: int,
    *,
    status: str,
    counts: dict[str, Any],
    api_calls: dict[str, int],
    now: datetime,
    accounts: list[str] | None = None,
) -> None:
    values: dict[str, Any] = {"finished_at": now, "status": status, "counts": counts, "api_calls": api_calls}
    if accounts is not None:
        values["accounts"] = accounts
    conn.execute(update(scans).where(scans.c.id == scan_id).values(**values))


def _upsert_status(conn: Connection, row: dict[str, Any]) -> None:
    key = (
        collection_status.c.account_id == row["account_id"],
        collection_status.c.region == row["region"],
        collection_status.c.resource_type == row["resource_type"],
    )
    values = {k: v for k, v in row.items() if k not in ("account_id", "region", "resource_type")}
    if not row["ok"]:
        values.pop("last_success", None)
    changed = conn.execute(update(collection_status).where(*key).values(**values)).rowcount
    if not changed:
        conn.execute(insert(collection_status).values(**row))


def unit_succeeded(
    conn: Connection, *, account_id: str, region: str, resource_type: str, scan_id: int | None, now: datetime
) -> None:
    _upsert_status(
        conn,
        {
            "account_id": account_id,
            "region": region,
            "resource_type": resource_type,
            "last_attempt": now,
            "last_success": now,
            "ok": True,
            "error_code": None,
            "error_message": None,
            "scan_id": scan_id,
        },
    )


def unit_failed(conn: Connection, error: CollectionError, *, scan_id: int, now: datetime) -> None:
    """Record a failed unit (or one failed resource of a unit, when ``error.resource_id`` is set)."""
    _upsert_status(
        conn,
        {
            "account_id": error.account_id,
            "region": error.region,
            "resource_type": error.resource_type,
            "last_attempt": now,
            "last_success": None,
            "ok": False,
            "error_code": error.code,
            "error_message": error.message,
            "scan_id": scan_id,
        },
    )
    conn.execute(
        insert(collection_errors).values(
            scan_id=scan_id,
            account_id=error.account_id,
            region=error.region,
            resource_type=error.resource_type,
            resource_id=error.resource_id,
            code=error.code,
            message=error.message,
            at=now,
        )
    )


@dataclass(frozen=True)
class ScanRecord:
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    accounts: list[str]
    regions: list[str]
    counts: dict[str, Any]
    api_calls: dict[str, int]
    origin: str | None = None


def get(conn: Connection, scan_id: int | None = None) -> ScanRecord | None:
    """One scan, or the newest one."""
    query = select(scans)
    query = query.where(scans.c.id == scan_id) if scan_id is not None else query.order_by(scans.c.id.desc())
    row = conn.execute(query.limit(1)).first()
    if row is None:
        return None
    return ScanRecord(**{c.name: row._mapping[c.name] for c in scans.c})


def recent(conn: Connection, limit: int = 10) -> list[ScanRecord]:
    """The newest scans first."""
    rows = conn.execute(select(scans).order_by(scans.c.id.desc()).limit(limit))
    return [ScanRecord(**{c.name: row._mapping[c.name] for c in scans.c}) for row in rows]


def errors(conn: Connection, scan_id: int) -> list[CollectionError]:
    rows = conn.execute(
        select(collection_errors)
        .where(collection_errors.c.scan_id == scan_id)
        .order_by(collection_errors.c.id)
    )
    return [
        CollectionError(r.account_id, r.region, r.resource_type, r.code, r.message, r.resource_id)
        for r in rows
    ]


def failing_units(conn: Connection) -> list[CollectionError]:
    """Units whose latest attempt failed: what the store cannot vouch for right now."""
    rows = conn.execute(select(collection_status).where(collection_status.c.ok.is_(False)))
    return [
        CollectionError(r.account_id, r.region, r.resource_type, r.error_code or "", r.error_message or "")
        for r in rows
    ]
