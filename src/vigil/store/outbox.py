"""The outbox: one delivery row per (message, subscription), written with the message.

Keyed by (SNS MessageId, subscription), so publishing the same message again never adds a second
delivery, and a worker that crashes after sending but before marking a row sent sends it again
with the same MessageId (receivers deduplicate on it: at-least-once, as SNS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vigil.store.schema import deliveries, published_messages

PENDING, SENT, DEAD, HELD, ACKED = "pending", "sent", "dead", "held", "acked"
STATUSES = (PENDING, SENT, DEAD, HELD, ACKED)


@dataclass(frozen=True)
class Delivery:
    """A delivery with its message, as the worker and the listings see it."""

    message_id: str
    subscription: str
    topic: str
    protocol: str
    endpoint: str
    status: str
    attempts: int
    next_at: datetime
    last_error: str | None
    created_at: datetime
    subject: str | None
    message: str
    attributes: dict[str, Any]


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def add(
    conn: Connection,
    *,
    message_id: str,
    topic: str,
    subject: str | None,
    message: str,
    attributes: dict[str, Any],
    source: str,
    at: datetime,
    targets: Iterable[tuple[str, str, str, str]],  # (subscription id, protocol, endpoint, first status)
    topic_name: str | None = None,
) -> int:
    """Store a message (``topic`` as published: a name or an ARN) and its deliveries (under the
    topic's name) in the caller's transaction; the deliveries added."""
    conn.execute(
        _insert(conn, published_messages)
        .values(
            message_id=message_id,
            topic=topic,
            subject=subject,
            message=message,
            attributes=attributes,
            source=source,
            at=at,
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
    rows = [
        {
            "message_id": message_id,
            "subscription": sub,
            "topic": topic_name or topic,
            "protocol": protocol,
            "endpoint": endpoint,
            "status": status,
            "attempts": 0,
            "next_at": at,
            "last_error": None,
            "created_at": at,
            "updated_at": at,
        }
        for sub, protocol, endpoint, status in targets
    ]
    if not rows:
        return 0
    stmt = (
        _insert(conn, deliveries)
        .on_conflict_do_nothing(index_elements=["message_id", "subscription"])
        .returning(deliveries.c.subscription)
    )
    return len(conn.execute(stmt, rows).all())


_COLUMNS = (
    deliveries.c.message_id,
    deliveries.c.subscription,
    deliveries.c.topic,
    deliveries.c.protocol,
    deliveries.c.endpoint,
    deliveries.c.status,
    deliveries.c.attempts,
    deliveries.c.next_at,
    deliveries.c.last_error,
    deliveries.c.created_at,
    published_messages.c.subject,
    published_messages.c.message,
    published_messages.c.attributes,
)


def _joined() -> Any:
    return select(*_COLUMNS).join(
        published_messages, published_messages.c.message_id == deliveries.c.message_id
    )


def _delivery(r: Any) -> Delivery:
    return Delivery(
        r.message_id,
        r.subscription,
        r.topic,
        r.protocol,
        r.endpoint,
        r.status,
        r.attempts,
        r.next_at,
        r.last_error,
        r.created_at,
        r.subject,
        r.message,
        dict(r.attributes or {}),
    )


def due(conn: Connection, now: datetime, limit: int = 100) -> list[Delivery]:
    """Pending deliveries whose time has come, oldest first; on PostgreSQL, rows other workers are
    sending are skipped (``FOR UPDATE SKIP LOCKED``), so several workers never send one row at once."""
    query = (
        _joined()
        .where(deliveries.c.status == PENDING, deliveries.c.next_at <= now)
        .order_by(deliveries.c.next_at, deliveries.c.created_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=deliveries, skip_locked=True)
    return [_delivery(r) for r in conn.execute(query)]


def _key(d: Delivery) -> Any:
    return and_(deliveries.c.message_id == d.message_id, deliveries.c.subscription == d.subscription)


def mark_sent(conn: Connection, d: Delivery, now: datetime) -> None:
    conn.execute(
        update(deliveries)
        .where(_key(d))
        .values(status=SENT, attempts=d.attempts + 1, last_error=None, updated_at=now)
    )


def mark_failed(conn: Connection, d: Delivery, now: datetime, error: str, next_at: datetime | None) -> None:
    """A failed attempt: retry at ``next_at``, or ``dead`` when the policy is exhausted (None)."""
    values: dict[str, Any] = {"attempts": d.attempts + 1, "last_error": error[:2000], "updated_at": now}
    values |= {"status": DEAD} if next_at is None else {"status": PENDING, "next_at": next_at}
    conn.execute(update(deliveries).where(_key(d)).values(**values))


def redrive(conn: Connection, now: datetime, subscriptions: Sequence[str] = ()) -> int:
    """Dead deliveries back to pending, now, with their attempts reset; how many."""
    query = update(deliveries).where(deliveries.c.status == DEAD)
    if subscriptions:
        query = query.where(deliveries.c.subscription.in_(list(subscriptions)))
    result = conn.execute(query.values(status=PENDING, attempts=0, next_at=now, updated_at=now))
    return int(result.rowcount or 0)


def acknowledge(conn: Connection, message_ids: Sequence[str], now: datetime) -> int:
    """Inbox messages a person has seen: held → acked."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.status == HELD, deliveries.c.message_id.in_(list(message_ids)))
        .values(status=ACKED, updated_at=now)
    )
    return int(result.rowcount or 0)


def listing(
    conn: Connection, *, statuses: Sequence[str] = (), topic: str | None = None, limit: int = 200
) -> list[Delivery]:
    query = _joined().order_by(deliveries.c.created_at.desc()).limit(limit)
    if statuses:
        query = query.where(deliveries.c.status.in_(list(statuses)))
    if topic:
        query = query.where(deliveries.c.topic == topic)
    return [_delivery(r) for r in conn.execute(query)]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status))
    return {status: int(n) for status, n in rows}
