"""Log events, ingestion checkpoints, quarantine and metric datapoints.

``commit_batch`` is the one write path of ingestion and keeps DESIGN's promise: in one
transaction it inserts the batch's events keyed by (log group, eventID) — an event already stored
is skipped —, adds the datapoints of the *newly stored* events only, records quarantined inputs,
and moves the source's checkpoint. A crash before commit loses the whole batch and nothing else;
a re-run stores and counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from vigil.store.schema import ingest_checkpoints, log_events, metric_datapoints, quarantine
from vigil.trail.pipeline import Aggregate, DatapointKey, EventRow, GroupFilters, aggregate

_ROW_COLUMNS = (
    "log_group",
    "event_id",
    "event_time",
    "account_id",
    "region",
    "event_source",
    "event_name",
    "principal",
    "source_ip",
    "error_code",
    "message",
)


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@dataclass(frozen=True)
class BatchResult:
    records: int  # records in the batch
    stored: int  # (log group, event) rows newly stored
    duplicates: int  # rows already stored before (a re-run or an overlapping source)
    datapoints: int  # datapoint keys touched
    quarantined: int


def insert_events(conn: Connection, rows: Sequence[EventRow], ingested_at: int) -> list[EventRow]:
    """Store the rows not stored yet; return those (the ones whose metrics still need counting)."""
    if not rows:
        return []
    stmt = (
        _insert(conn, log_events)
        .on_conflict_do_nothing(index_elements=["log_group", "event_id"])
        .returning(log_events.c.log_group, log_events.c.event_id)
    )
    new: set[tuple[str, str]] = set()
    by_key: dict[tuple[str, str], EventRow] = {}
    params = []
    for row in rows:
        key = (row.log_group, row.event_id)
        if key in by_key:  # the same event twice in one batch
            continue
        by_key[key] = row
        values = {c: getattr(row, c) for c in _ROW_COLUMNS}
        values["ingested_at"] = ingested_at
        params.append(values)
    for found in conn.execute(stmt, params):
        new.add((found[0], found[1]))
    return [row for key, row in by_key.items() if key in new]


def add_datapoints(conn: Connection, aggregates: Mapping[DatapointKey, Aggregate]) -> None:
    """Add statistic sets to the stored ones (same metric, dimensions and minute)."""
    if not aggregates:
        return
    params = [
        {
            "namespace": key[0],
            "metric_name": key[1],
            "dimensions": dimensions_key(key[2]),
            "period_start": key[3],
            "unit": key[4],
            "sample_count": agg.count,
            "sum": agg.total,
            "minimum": agg.minimum,
            "maximum": agg.maximum,
        }
        for key, agg in sorted(aggregates.items(), key=lambda item: _sort(item[0]))
    ]
    lesser, greater = (
        (func.least, func.greatest) if conn.dialect.name == "postgresql" else (func.min, func.max)
    )
    c = metric_datapoints.c
    # one multi-row statement per chunk: a round trip per row is most of the cost on PostgreSQL
    for start in range(0, len(params), _UPSERT_ROWS):
        stmt = _insert(conn, metric_datapoints).values(params[start : start + _UPSERT_ROWS])
        stmt = stmt.on_conflict_do_update(
            index_elements=["namespace", "metric_name", "dimensions", "period_start"],
            set_={
                "sample_count": c.sample_count + stmt.excluded.sample_count,
                "sum": c.sum + stmt.excluded.sum,
                "minimum": lesser(c.minimum, stmt.excluded.minimum),
                "maximum": greater(c.maximum, stmt.excluded.maximum),
            },
        )
        conn.execute(stmt)


_UPSERT_ROWS = 500  # 9 columns each: well under SQLite's 32,766 bound parameters


def _sort(key: DatapointKey) -> tuple[str, str, str, int]:
    # a fixed order of upserts keeps concurrent writers (several watch workers) from deadlocking
    return (key[0], key[1], dimensions_key(key[2]), key[3])


def dimensions_key(dimensions: Iterable[tuple[str, str]]) -> str:
    """The stored form of a dimension set: JSON of the sorted (name, value) pairs, "" for none."""
    pairs = sorted(dimensions)
    return orjson.dumps(pairs).decode() if pairs else ""


def save_checkpoint(conn: Connection, source: str, position: Mapping[str, Any], at: datetime) -> None:
    stmt = _insert(conn, ingest_checkpoints).values(source=source, position=dict(position), updated_at=at)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["source"], set_={"position": stmt.excluded.position, "updated_at": at}
        )
    )


def load_checkpoint(conn: Connection, source: str) -> dict[str, Any] | None:
    found = conn.execute(
        select(ingest_checkpoints.c.position).where(ingest_checkpoints.c.source == source)
    ).scalar_one_or_none()
    return dict(found) if isinstance(found, Mapping) else None


@dataclass(frozen=True)
class QuarantineEntry:
    location: str
    source: str
    reason: str
    size: int | None
    at: datetime


def add_quarantine(
    conn: Connection, source: str, entries: Iterable[tuple[str, str, int | None]], at: datetime
) -> int:
    """Record inputs that could not be read (location, reason, size); a re-read replaces the reason."""
    count = 0
    for location, reason, size in entries:
        stmt = _insert(conn, quarantine).values(
            location=location, source=source, reason=reason, size=size, at=at
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["location"], set_={"reason": reason, "size": size, "at": at, "source": source}
            )
        )
        count += 1
    return count


def quarantined(conn: Connection) -> list[QuarantineEntry]:
    rows = conn.execute(select(quarantine).order_by(quarantine.c.at, quarantine.c.location))
    return [QuarantineEntry(r.location, r.source, r.reason, r.size, r.at) for r in rows]


def commit_batch(
    conn: Connection,
    *,
    source: str,
    rows: Sequence[EventRow],
    records: int,
    index: Mapping[str, GroupFilters],
    checkpoint: Mapping[str, Any] | None,
    quarantine_entries: Sequence[tuple[str, str, int | None]] = (),
    now: datetime | None = None,
    new_rows: list[EventRow] | None = None,
) -> BatchResult:
    """Store one batch's effects and its checkpoint; call inside one transaction (``store.begin()``)."""
    at = now or datetime.now(UTC)
    new = insert_events(conn, rows, int(at.timestamp() * 1000))
    if new_rows is not None:
        new_rows.extend(new)
    aggregates = aggregate(new, index)
    add_datapoints(conn, aggregates)
    count = add_quarantine(conn, source, quarantine_entries, at)
    if checkpoint is not None:
        save_checkpoint(conn, source, checkpoint, at)
    return BatchResult(records, len(new), len(rows) - len(new), len(aggregates), count)


# --------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StoredEvent:
    log_group: str
    event_id: str
    event_time: int
    event_name: str
    event_source: str
    region: str
    account_id: str
    principal: str | None
    source_ip: str | None
    error_code: str | None
    message: str


def scan_events(
    conn: Connection,
    *,
    log_groups: Sequence[str] = (),
    since_ms: int | None = None,
    until_ms: int | None = None,
    event_names: Sequence[str] | None = None,
    after: tuple[int, str, str] | None = None,
    chunk: int = 2000,
) -> Iterator[StoredEvent]:
    """Events in (event time, log group, event id) order, streamed in chunks (keyset paging)."""
    c = log_events.c
    cursor = after
    while True:
        query = select(log_events).order_by(c.event_time, c.log_group, c.event_id).limit(chunk)
        if log_groups:
            query = query.where(c.log_group.in_(list(log_groups)))
        if since_ms is not None:
            query = query.where(c.event_time >= since_ms)
        if until_ms is not None:
            query = query.where(c.event_time < until_ms)
        if event_names is not None:
            query = query.where(c.event_name.in_(list(event_names)))
        if cursor is not None:
            t, group, event_id = cursor
            query = query.where(
                (c.event_time > t)
                | and_(c.event_time == t, c.log_group > group)
                | and_(c.event_time == t, c.log_group == group, c.event_id > event_id)
            )
        rows = conn.execute(query).all()
        for r in rows:
            yield _stored(r)
        if len(rows) < chunk:
            return
        last = rows[-1]
        cursor = (last.event_time, last.log_group, last.event_id)


def log_group_counts(conn: Connection) -> list[tuple[str, int, int | None, int | None]]:
    """(log group, events, oldest, newest event time in ms) for every log group with events."""
    c = log_events.c
    rows = conn.execute(
        select(c.log_group, func.count(), func.min(c.event_time), func.max(c.event_time))
        .group_by(c.log_group)
        .order_by(c.log_group)
    )
    return [(r[0], int(r[1]), r[2], r[3]) for r in rows]


def expire_events(conn: Connection, log_group: str, before_ms: int) -> int:
    """Delete a log group's events ingested before ``before_ms``; return how many went.

    Retention counts from ingestion, not from the event's time: CloudWatch Logs refuses events
    older than 14 days, Vigil accepts backfills of any age, and a backfill must not vanish on arrival."""
    c = log_events.c
    result = conn.execute(delete(log_events).where(c.log_group == log_group, c.ingested_at < before_ms))
    return int(result.rowcount or 0)


def datapoints_between(
    conn: Connection,
    metrics: Iterable[tuple[str, str, str]],
    start: int,
    end: int,
) -> dict[tuple[str, str, str], list[tuple[int, int, float, float, float]]]:
    """Stored minute datapoints (period start s, count, sum, min, max) of the given
    (namespace, metric, dimensions key) in [start, end) epoch seconds, oldest first."""
    wanted = set(metrics)
    out: dict[tuple[str, str, str], list[tuple[int, int, float, float, float]]] = {m: [] for m in wanted}
    if not wanted:
        return out
    c = metric_datapoints.c
    names = sorted({m[1] for m in wanted})
    query = (
        select(
            c.namespace,
            c.metric_name,
            c.dimensions,
            c.period_start,
            c.sample_count,
            c.sum,
            c.minimum,
            c.maximum,
        )
        .where(c.metric_name.in_(names), c.period_start >= start, c.period_start < end)
        .order_by(c.period_start)
    )
    for r in conn.execute(query):
        key = (r.namespace, r.metric_name, r.dimensions)
        if key in wanted:
            out[key].append((r.period_start, int(r.sample_count), r.sum, r.minimum, r.maximum))
    return out


def events_by_id(conn: Connection, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
    """Stored events by CloudTrail event ID (any log group; the first found)."""
    ids = sorted(set(event_ids))
    out: dict[str, StoredEvent] = {}
    c = log_events.c
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(log_events).where(c.event_id.in_(ids[start : start + 500])))
        for r in rows:
            out.setdefault(r.event_id, _stored(r))
    return out


def events_mentioning(
    conn: Connection, text: str, since_ms: int, until_ms: int, limit: int = 200
) -> list[StoredEvent]:
    """Successful events between the two times whose record mentions ``text`` (a resource id)."""
    c = log_events.c
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        select(log_events)
        .where(
            c.event_time > since_ms,
            c.event_time <= until_ms,
            c.error_code.is_(None),
            c.message.like(f"%{escaped}%", escape="\\"),
        )
        .order_by(c.event_time)
        .limit(limit)
    )
    seen: set[str] = set()
    out: list[StoredEvent] = []
    for r in rows:
        if r.event_id not in seen:
            seen.add(r.event_id)
            out.append(_stored(r))
    return out


def _stored(r: Any) -> StoredEvent:
    return StoredEvent(
        r.log_group,
        r.event_id,
        r.event_time,
        r.event_name,
        r.event_source,
        r.region,
        r.account_id,
        r.principal,
        r.source_ip,
        r.error_code,
        r.message,
    )
