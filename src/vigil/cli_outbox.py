"""``vigil notify topics|subscriptions|publish|deliver|deliveries|redrive|inbox|ack``: the outbox.

Registered on ``cli_notify.notify_app`` by ``cli.py``; the work is in ``notify/topics.py``,
``notify/deliver.py`` and ``store/outbox.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from vigil.alarm_views import read_json
from vigil.cli import ConfigOpt, DbOpt, OutPathOpt, OutputOpt, _run
from vigil.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from vigil.output import Format, emit, render, stderr, stdout, to_json


def _topics(ctx: Any) -> Any:
    from vigil.notify.topics import topics_from

    return topics_from(ctx.settings.notify)


def topics_command(db: DbOpt = None, config: ConfigOpt = None, output: OutputOpt = Format.table) -> None:
    """The topics in the config, with their subscriptions and what waits in the outbox."""
    from vigil import engine
    from vigil.settings import local_topic_arn
    from vigil.store import outbox

    def body() -> int:
        with engine.context(config, db=db) as ctx:
            topics = _topics(ctx)
            with ctx.store.connect() as conn:
                waiting = outbox.listing(
                    conn, statuses=[outbox.PENDING, outbox.HELD, outbox.DEAD], limit=100_000
                )
        rows = []
        for name, subs in topics.by_name.items():
            mine = [d for d in waiting if d.topic == name]
            counts = {s: sum(d.status == s for d in mine) for s in (outbox.PENDING, outbox.HELD, outbox.DEAD)}
            rows.append(
                [name, local_topic_arn(name), len(subs), counts["pending"], counts["held"], counts["dead"]]
            )
        records = [
            dict(zip(("topic", "arn", "subscriptions", "pending", "held", "dead"), r, strict=True))
            for r in rows
        ]
        render(
            output,
            columns=["topic", "arn", "subscriptions", "pending", "held", "dead"],
            rows=rows,
            records=records,
        )
        return EXIT_OK

    _run(body)


def subscriptions_command(
    topic: Annotated[str | None, typer.Argument(help="Only this topic.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Subscriptions: protocol, endpoint (env: references stay references), filter policy, retries."""
    from vigil import engine
    from vigil.notify.delivery_policy import delays

    def body() -> int:
        with engine.context(config, db=db) as ctx:
            topics = _topics(ctx)
        subs = [s for name, ss in topics.by_name.items() if topic in (None, name) for s in ss]
        rows = [
            [
                s.topic,
                s.id,
                s.protocol,
                s.endpoint,
                "yes" if s.settings.filter_policy else "",
                " ".join(f"{d:g}s" for d in delays(s.policy)),
            ]
            for s in subs
        ]
        records = [
            {
                "topic": s.topic,
                "subscription": s.id,
                "arn": s.arn,
                "protocol": s.protocol,
                "endpoint": s.endpoint,
                "filterPolicy": s.settings.filter_policy,
                "filterPolicyScope": s.settings.filter_policy_scope,
                "rawMessageDelivery": s.settings.raw_message_delivery,
                "retryDelays": delays(s.policy),
            }
            for s in subs
        ]
        render(
            output,
            columns=["topic", "subscription", "protocol", "endpoint", "filter", "retries"],
            rows=rows,
            records=records,
        )
        return EXIT_OK

    _run(body)


def publish_command(
    topic: Annotated[str, typer.Argument(help="A topic name (or its ARN).")],
    message: Annotated[str, typer.Option("--message", "-m", help="The message (text or JSON).")],
    subject: Annotated[str | None, typer.Option("--subject", help="The subject (≤ 100 characters).")] = None,
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            help='SNS message attributes: {"severity": {"DataType": "String", "StringValue": "high"}} or @file.',
        ),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Publish a message (SNS Publish): it reaches every subscription whose filter policy matches."""
    from vigil import engine
    from vigil.notify.topics import publish

    def body() -> int:
        if subject is not None and len(subject) > 100:
            raise UsageError("--subject is longer than 100 characters", hint="SNS subjects are at most 100")
        attrs = read_json(attributes, "--attributes", "give SNS's attribute form") if attributes else {}
        with engine.context(config, db=db) as ctx:
            topics = _topics(ctx)
            if topics.topic_of(topic) not in topics.by_name:
                raise UsageError(f"no topic {topic!r}", hint="list them with `vigil notify topics`")
            with ctx.store.begin() as conn:
                done = publish(
                    conn,
                    topics,
                    topic,
                    message=message,
                    subject=subject,
                    attributes=attrs,
                    source="cli",
                    at=datetime.now(UTC),
                )
        result = {"MessageId": done.message_id, "deliveries": done.deliveries}
        if output is Format.json:
            emit(to_json(result), None)
        else:
            stdout.print(f"published {done.message_id} to {done.topic}: {done.deliveries} deliveries")
        return EXIT_OK

    _run(body)


def deliver_command(
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    limit: Annotated[int, typer.Option("--limit", help="At most this many deliveries (per pass).")] = 1000,
    follow: Annotated[
        bool,
        typer.Option("--follow", help="Keep delivering, a pass every --poll seconds, until SIGTERM/Ctrl-C."),
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between passes with --follow.")] = 1.0,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            help="Seconds a claimed delivery is left to this worker before another may send it (default 120).",
        ),
    ] = None,
) -> None:
    """Send the deliveries that are due (``vigil watch`` does this every cycle). Exit 3 when some went dead.

    With ``--follow`` it keeps going, one pass every ``--poll`` seconds, printing the passes that
    did something; SIGTERM or Ctrl-C stops it after the pass it is in (exit 0; dead deliveries
    are reported on the pass that gave up on them). A worker killed outright leaves the rows it
    had claimed to the next one once ``--lease`` runs out: they are sent again with the same
    MessageId, so receivers can deduplicate.
    """
    import signal
    import threading
    from datetime import timedelta

    from vigil import engine
    from vigil.notify.deliver import LEASE, DeliverReport, channel_context, deliver_due

    leased = LEASE if lease is None else timedelta(seconds=lease)

    def check() -> None:
        if poll < 0:
            raise UsageError("--poll must be 0 or more seconds", hint="e.g. --poll 1")
        if leased <= timedelta(0):
            raise UsageError("--lease must be more than 0 seconds", hint="e.g. --lease 120")

    def show(report: DeliverReport, *, stamp: bool) -> None:
        if output is Format.json:
            emit(to_json(report.as_dict()), None)
            return
        when = f"{datetime.now(UTC).astimezone():%H:%M:%S} " if stamp else ""
        stdout.print(f"{when}sent {report.sent}, to retry {report.retried}, dead {report.dead}")
        for error in report.errors:
            stdout.print(f"  [red]dead[/red] {error}", highlight=False, markup=False)

    def once() -> int:
        check()
        with engine.context(config, db=db) as ctx:
            context = channel_context(ctx.settings, lambda: ctx.session, ctx)
            report = deliver_due(
                ctx.store,
                _topics(ctx),
                context,
                limit=limit,
                workers=ctx.settings.notify.senders,
                lease=leased,
            )
        show(report, stamp=False)
        return EXIT_PARTIAL if report.dead else EXIT_OK

    def follow_body() -> int:
        check()
        stop = threading.Event()

        def handle(signum: int, frame: Any) -> None:
            stderr.print(f"[dim]{signal.Signals(signum).name}: finishing this pass, then stopping[/dim]")
            stop.set()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        total, passes = DeliverReport(), 0
        try:
            with engine.context(config, db=db) as ctx:
                context = channel_context(ctx.settings, lambda: ctx.session, ctx)
                topics = _topics(ctx)
                stderr.print(f"[dim]delivering every {poll:g}s; Ctrl-C or SIGTERM stops[/dim]")
                while not stop.is_set():
                    report = deliver_due(
                        ctx.store,
                        topics,
                        context,
                        limit=limit,
                        lease=leased,
                        workers=ctx.settings.notify.senders,
                    )
                    passes += 1
                    total.sent += report.sent
                    total.retried += report.retried
                    total.dead += report.dead
                    if report.sent or report.retried or report.dead:
                        show(report, stamp=True)
                    stop.wait(poll)
            stderr.print(
                f"[dim]stopped after {passes} passes: sent {total.sent}, "
                f"retried {total.retried}, dead {total.dead}[/dim]"
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return EXIT_OK

    _run(follow_body if follow else once)


def deliveries_command(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="pending, sent, dead, held or acked (repeatable).")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 200,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """The outbox, newest first: each (message, subscription) with its status, attempts and last error."""
    from vigil import engine
    from vigil.store import outbox

    def body() -> int:
        wanted = status or []
        unknown = sorted(set(wanted) - set(outbox.STATUSES))
        if unknown:
            raise UsageError(f"unknown status {', '.join(unknown)}", hint=f"use {', '.join(outbox.STATUSES)}")
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = outbox.listing(conn, statuses=wanted, topic=topic, limit=limit)
        rows = [
            [
                d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                d.topic,
                d.protocol,
                d.status,
                d.attempts,
                d.subject or "",
                d.last_error or "",
                d.message_id,
            ]
            for d in found
        ]
        records = [
            {
                "messageId": d.message_id,
                "subscription": d.subscription,
                "topic": d.topic,
                "protocol": d.protocol,
                "endpoint": d.endpoint,
                "status": d.status,
                "attempts": d.attempts,
                "nextAt": d.next_at.isoformat(),
                "lastError": d.last_error,
                "subject": d.subject,
                "createdAt": d.created_at.isoformat(),
            }
            for d in found
        ]
        render(
            output,
            columns=[
                "created",
                "topic",
                "protocol",
                "status",
                "attempts",
                "subject",
                "last error",
                "message id",
            ],
            rows=rows,
            records=records,
            out=out,
        )
        return EXIT_OK

    _run(body)


def redrive_command(
    subscription: Annotated[
        list[str] | None, typer.Option("--subscription", help="Only these subscription ids (repeatable).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Move dead deliveries back to pending (attempts reset); `vigil notify deliver` sends them."""
    from vigil import engine
    from vigil.store import outbox

    def body() -> int:
        with engine.context(config, db=db) as ctx, ctx.store.begin() as conn:
            n = outbox.redrive(conn, datetime.now(UTC), subscription or ())
        stdout.print(f"{n} dead deliveries back to pending")
        return EXIT_OK

    _run(body)


def inbox_command(
    all_: Annotated[bool, typer.Option("--all", help="Acknowledged messages too.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """Messages held for a person (the inbox protocol), oldest first; acknowledge them with `ack`."""
    from vigil import engine
    from vigil.store import outbox

    def body() -> int:
        statuses = [outbox.HELD, outbox.ACKED] if all_ else [outbox.HELD]
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = list(reversed(outbox.listing(conn, statuses=statuses, limit=1000)))
        rows = [
            [
                d.message_id,
                d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                d.topic,
                d.status,
                d.subject or "",
                d.message[:120],
            ]
            for d in found
        ]
        records = [
            {
                "messageId": d.message_id,
                "createdAt": d.created_at.isoformat(),
                "topic": d.topic,
                "status": d.status,
                "subject": d.subject,
                "message": d.message,
            }
            for d in found
        ]
        render(
            output,
            columns=["message id", "at", "topic", "status", "subject", "message"],
            rows=rows,
            records=records,
            title=f"{len(found)} messages",
        )
        return EXIT_OK

    _run(body)


def ack_command(
    message_ids: Annotated[list[str], typer.Argument(help="Message ids from `vigil notify inbox`.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Acknowledge inbox messages (held → acked)."""
    from vigil import engine
    from vigil.store import outbox

    def body() -> int:
        with engine.context(config, db=db) as ctx, ctx.store.begin() as conn:
            n = outbox.acknowledge(conn, message_ids, datetime.now(UTC))
        if n != len(set(message_ids)):
            stdout.print(f"acknowledged {n} of {len(set(message_ids))}: the others are not held in the inbox")
            return EXIT_PARTIAL
        stdout.print(f"acknowledged {n}")
        return EXIT_OK

    _run(body)
