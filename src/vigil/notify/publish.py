"""The publishing interface that alarms (and later findings and changes) use."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, select

from vigil.notify.topics import Topics, attributes_from, publish
from vigil.store.schema import published_messages

log = logging.getLogger("vigil.notify")


class Publisher(Protocol):
    def publish(
        self,
        topic: str,
        *,
        subject: str | None,
        message: str,
        attributes: Mapping[str, object],
        source: str,
        at: datetime,
    ) -> None: ...


@dataclass(frozen=True)
class PublishedMessage:
    id: int
    topic: str
    subject: str | None
    message: str
    attributes: dict[str, str]
    source: str
    at: datetime


class StorePublisher:
    """Publishes in the caller's transaction: the message, and one outbox delivery per subscription
    of the topic whose filter policy matches (``notify/topics.py``); logs it."""

    def __init__(self, conn: Connection, topics: Topics | None = None) -> None:
        self.conn = conn
        self.topics = topics or Topics({})

    def publish(
        self,
        topic: str,
        *,
        subject: str | None,
        message: str,
        attributes: Mapping[str, object],
        source: str,
        at: datetime,
    ) -> None:
        done = publish(
            self.conn,
            self.topics,
            topic,
            message=message,
            subject=subject,
            attributes=attributes_from(attributes),
            source=source,
            at=at,
        )
        log.info("published to %s (%d deliveries): %s", topic, done.deliveries, subject or message[:80])


def published(conn: Connection, *, topic: str | None = None, limit: int = 1000) -> list[PublishedMessage]:
    c = published_messages.c
    query = select(published_messages).order_by(c.id.desc()).limit(limit)
    if topic is not None:
        query = query.where(c.topic == topic)
    return [
        PublishedMessage(r.id, r.topic, r.subject, r.message, dict(r.attributes), r.source, r.at)
        for r in conn.execute(query)
    ][::-1]
