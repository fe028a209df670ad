"""Topics and subscriptions from the settings, and ``publish``: a message and its deliveries.

A subscription is identified by (topic, protocol, endpoint); its id and ARN are derived from them,
so they stay the same across restarts and config reloads. Publishing evaluates every
subscription's filter policy (SNS semantics, ``filter_policy.py``) and writes one outbox row per
match in the caller's transaction; the ``inbox`` protocol's rows wait (``held``) for a person.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from vigil.errors import ConfigError, Problem
from vigil.notify.delivery_policy import DeliveryPolicy, parse_policy
from vigil.settings import NotifySettings, SubscriptionSettings, local_topic_arn
from vigil.store import outbox

# SNS message attributes: {"Name": {"DataType": "String|Number|String.Array|Binary", "StringValue": "…"}}
Attributes = Mapping[str, Mapping[str, str]]


def subscription_id(topic: str, protocol: str, endpoint: str) -> str:
    return hashlib.sha256(f"{topic}\n{protocol}\n{endpoint}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Subscription:
    topic: str
    id: str
    settings: SubscriptionSettings = field(repr=False)
    policy: DeliveryPolicy = field(repr=False)
    matcher: Any = field(default=None, repr=False)  # a compiled filter policy, or None (everything)

    @property
    def protocol(self) -> str:
        return self.settings.protocol

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def arn(self) -> str:
        return f"{local_topic_arn(self.topic)}:{uuid.UUID(self.id.ljust(32, '0')[:32])}"

    def accepts(self, view: Any) -> bool:
        """Whether the filter policy lets the message (a ``filter_policy.MessageView``) through."""
        return True if self.matcher is None else bool(self.matcher.matches_view(view))


@dataclass(frozen=True)
class Topics:
    """The configured topics, each with its subscriptions (filter policies compiled once)."""

    by_name: Mapping[str, tuple[Subscription, ...]]

    def topic_of(self, topic: str) -> str:
        """A topic's name, given its name or its ARN (``arn:…:name``)."""
        return topic.rsplit(":", 1)[-1] if topic.startswith("arn:") else topic

    def subscriptions(self, topic: str) -> tuple[Subscription, ...]:
        return self.by_name.get(self.topic_of(topic), ())


def topics_from(settings: NotifySettings) -> Topics:
    """Compile every subscription's filter and delivery policy; every problem at once (ConfigError)."""
    problems: list[Problem] = []
    out: dict[str, tuple[Subscription, ...]] = {}
    for t, topic in enumerate(settings.topics):
        subs: list[Subscription] = []
        for s, sub in enumerate(topic.subscriptions):
            where = f"notify.topics[{t}].subscriptions[{s}]"
            matcher = None
            if sub.filter_policy is not None:
                from vigil.notify.filter_policy import FilterPolicyError, compile_policy

                try:
                    matcher = compile_policy(sub.filter_policy, sub.filter_policy_scope)  # type: ignore[arg-type]
                except FilterPolicyError as exc:
                    problems.append(
                        Problem(f"{where}.filter_policy", exc.message, "see SNS's filter policy syntax")
                    )
            try:
                policy = parse_policy(sub.delivery_policy, f"{where}.delivery_policy")
            except ConfigError as exc:
                problems.extend(exc.problems)
                policy = DeliveryPolicy()
            sid = subscription_id(topic.name, sub.protocol, sub.endpoint)
            subs.append(Subscription(topic.name, sid, sub, policy, matcher))
        out[topic.name] = tuple(subs)
    if problems:
        raise ConfigError(problems, source="notify settings")
    return Topics(out)


def attributes_from(flat: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """SNS message attributes from plain values: numbers as Number, lists as String.Array."""
    import orjson

    out: dict[str, dict[str, str]] = {}
    for name, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, int | float | list | tuple):
            out[name] = {"DataType": "String", "StringValue": str(value)}
        elif isinstance(value, list | tuple):
            out[name] = {"DataType": "String.Array", "StringValue": orjson.dumps(list(value)).decode()}
        else:
            out[name] = {"DataType": "Number", "StringValue": str(value)}
    return out


@dataclass(frozen=True)
class Published:
    message_id: str
    topic: str
    deliveries: int
    subscriptions: tuple[str, ...]  # ids of the subscriptions it went to


def publish(
    conn: Connection,
    topics: Topics,
    topic: str,
    *,
    message: str,
    subject: str | None = None,
    attributes: Attributes | None = None,
    source: str = "publish",
    at: datetime,
    message_id: str | None = None,
) -> Published:
    """Store the message and one delivery per matching subscription, in ``conn``'s transaction."""
    message_id = message_id or str(uuid.uuid4())
    from vigil.notify.filter_policy import MessageView

    attributes = dict(attributes or {})
    view = MessageView(message, attributes)
    chosen = [s for s in topics.subscriptions(topic) if s.accepts(view)]
    targets = [
        (s.id, s.protocol, s.endpoint, outbox.HELD if s.protocol == "inbox" else outbox.PENDING)
        for s in chosen
    ]
    added = outbox.add(
        conn,
        message_id=message_id,
        topic=topic,
        topic_name=topics.topic_of(topic),
        subject=subject,
        message=message,
        attributes={k: dict(v) for k, v in attributes.items()},
        source=source,
        at=at,
        targets=targets,
    )
    return Published(message_id, topics.topic_of(topic), added, tuple(s.id for s in chosen))


def find_subscription(topics: Topics, sub_id: str) -> Subscription | None:
    return next((s for subs in topics.by_name.values() for s in subs if s.id == sub_id), None)


def all_subscriptions(topics: Topics) -> Sequence[Subscription]:
    return [s for subs in topics.by_name.values() for s in subs]
