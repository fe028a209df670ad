"""The delivery worker: send due outbox rows through their channel; retry or give up by policy.

A row is claimed before it is sent (its ``next_at`` moves a lease ahead in the same transaction),
so two workers never send it at once, and a worker killed mid-send leaves it to be sent again when
the lease runs out — with the same MessageId. Time comes from ``clock`` so schedules are tested
without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import update

from vigil.notify.channels import CHANNELS, Channel, ChannelContext, Outcome
from vigil.notify.delivery_policy import next_delay
from vigil.notify.topics import Subscription, Topics, find_subscription
from vigil.settings import Settings
from vigil.store import Store, outbox
from vigil.store.schema import deliveries

LEASE: Final = timedelta(minutes=2)  # how long a claimed row is left alone before another try
SENDERS: Final = 4  # deliveries sent at once in a pass (small endpoints queue few connections)


@dataclass
class DeliverReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "retried": self.retried, "dead": self.dead, "errors": self.errors}


def channel_context(
    settings: Settings, session: Callable[[], object] | None = None, engine: object | None = None
) -> ChannelContext:
    """What the channels need: SMTP for email, an AWS session for aws-sns/sqs, and the engine's
    context for automation (remediation actions)."""
    from vigil.notify.channels.email import SmtpConfig

    extra: dict[str, object] = {}
    smtp = settings.notify.smtp
    if smtp is not None:
        extra["smtp"] = SmtpConfig(
            smtp.host,
            smtp.port,
            smtp.security,  # type: ignore[arg-type]  # checked by SmtpSettings
            smtp.username,
            smtp.password,
            smtp.sender,
            smtp.timeout,
            smtp.templates_dir,
        )
    uses_aws = any(
        sub.protocol in ("aws-sns", "sqs") for topic in settings.notify.topics for sub in topic.subscriptions
    )
    if session is not None and uses_aws:  # only then: building a session may assume a role
        extra["aws_session"] = session()
    if engine is not None:
        extra["engine"] = engine
    return ChannelContext(settings.notify, extra=extra)


def claim(store: Store, now: datetime, limit: int, *, lease: timedelta = LEASE) -> list[outbox.Delivery]:
    """Due rows, leased to this worker for ``lease`` in one transaction."""
    with store.begin() as conn:
        rows = outbox.due(conn, now, limit)
        for d in rows:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.message_id == d.message_id, deliveries.c.subscription == d.subscription)
                .values(next_at=now + lease, updated_at=now)
            )
    return rows


def deliver_due(
    store: Store,
    topics: Topics,
    context: ChannelContext,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    channels: Mapping[str, Channel] = CHANNELS,
    limit: int = 100,
    lease: timedelta = LEASE,
    workers: int = SENDERS,
) -> DeliverReport:
    """One pass over the due rows (each leased for ``lease`` while it is being sent).

    Sends run on ``workers`` threads (network-bound channels wait on their endpoints), except the
    channels that change state through the store (``sequential``, e.g. automation), which run one
    at a time; the outcomes are recorded in one transaction per pass."""
    report = DeliverReport()
    claimed = claim(store, clock(), limit, lease=lease)
    if not claimed:
        return report

    def attempt(d: outbox.Delivery) -> tuple[outbox.Delivery, Subscription | None, Outcome, bool]:
        sub = find_subscription(topics, d.subscription)
        channel = channels.get(d.protocol)
        if sub is None:
            return d, sub, Outcome(False, "the subscription is no longer configured"), True
        if channel is None:
            return d, sub, Outcome(False, f"no channel delivers {d.protocol} yet"), True
        outcome = channel.send(d, sub, context)
        return d, sub, outcome, outcome.final

    parallel = [d for d in claimed if not getattr(channels.get(d.protocol), "sequential", False)]
    serial = [d for d in claimed if getattr(channels.get(d.protocol), "sequential", False)]
    results = [attempt(d) for d in serial]
    if parallel:
        with ThreadPoolExecutor(max(1, min(workers, len(parallel))), thread_name_prefix="vigil-send") as pool:
            results += list(pool.map(attempt, parallel))
    now = clock()
    with store.begin() as conn:
        for d, sub, outcome, final in results:
            if outcome.ok:
                outbox.mark_sent(conn, d, now)
                report.sent += 1
                continue
            delay = None if final or sub is None else next_delay(sub.policy, d.attempts + 1)
            if delay is not None and outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)  # the receiver asked for more time
            next_at = None if delay is None else now + timedelta(seconds=delay)
            outbox.mark_failed(conn, d, now, outcome.error or "failed", next_at)
            if next_at is None:
                report.dead += 1
                report.errors.append(f"{d.topic} → {d.protocol} {d.subscription}: {outcome.error}")
            else:
                report.retried += 1
    return report
