"""``vigil ingest``, ``vigil events``, ``vigil replay``: CloudTrail records in, searched, replayed.

``cli.py`` registers these commands; the work is in ``engine_events``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from vigil.cli import (
    ConfigOpt,
    DbOpt,
    EndpointOpt,
    OutPathOpt,
    OutputOpt,
    ProfileOpt,
    RoleArnOpt,
    _progress,
    _run,
    when_option,
)
from vigil.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from vigil.output import Format, emit, render, stderr, stdout, table, to_json
from vigil.views import short_principal


class _IngestBars:
    """One bar per source, by bytes (or batches when the size is unknown)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def source_started(self, key: str, total: int | None) -> None:
        label = key if len(key) <= 40 else "…" + key[-39:]
        self.tasks[key] = self.progress.add_task("ingest", total=total, service=label)

    def batch_done(self, key: str, location: str, size: int, result: Any) -> None:
        self.progress.update(self.tasks[key], advance=size or 1)


SOURCES_HELP = (
    "Where the CloudTrail records are: a file or directory (.json, .json.gz, JSON lines, EventBridge "
    "envelopes), '-' for standard input, s3://bucket/prefix (CloudTrail's key layout), "
    "sqs://queue-name (S3 or CloudTrail SNS notifications, or CloudTrail events an EventBridge rule sends), "
    "lookup-events[:region] (the 90-day event history)."
)


def ingest_command(
    sources: Annotated[list[str], typer.Argument(help=SOURCES_HELP, show_default=False)],
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    endpoint_url: EndpointOpt = None,
    alarms: Annotated[
        bool, typer.Option("--alarms/--no-alarms", help="Evaluate the alarms once the records are in.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Ingest CloudTrail records: route them through the trails into log groups, count the metric
    filters' datapoints, and evaluate the alarms.

    Each source resumes from its checkpoint, which is committed with each batch's events and
    datapoints in one transaction; events are keyed by eventID, so a crash or a re-run never counts
    an event twice. Unreadable input (truncated gzip, invalid JSON, not CloudTrail) is quarantined
    with the reason (`vigil events --quarantine`) and the rest goes on; the exit code is then 3.
    """
    from vigil import engine, engine_events

    def body() -> int:
        aws = {"profile": profile, "role_arn": role_arn, "endpoint_url": endpoint_url}
        with engine.context(config, db=db, aws=aws) as ctx:
            cat = engine_events.catalog(ctx)
            with _progress(not quiet and output is Format.table) as bars:
                report = engine_events.ingest(ctx, sources, listener=_IngestBars(bars), cat=cat)
            ticks = engine_events.evaluate_alarms(ctx, cat=cat) if alarms else []
            engine_events.apply_retention(ctx, cat=cat)
        summary = report.as_dict()
        summary["alarms"] = [
            {"alarm": t.name, "state": t.transition.state.value, "changed": t.transition.changed}
            for t in ticks
        ]
        if output is Format.json:
            emit(to_json(summary), out)
        else:
            rows: list[list[Any]] = [
                ["sources", len(report.sources)],
                ["batches", report.batches],
                ["records read", report.records],
                ["events stored", report.stored],
                ["already stored (skipped)", report.duplicates],
                ["kept by no trail", report.skipped],
                ["quarantined", len(report.quarantined)],
                ["seconds", f"{report.seconds:.2f}"],
            ]
            stdout.print(table("Ingest", ["", "count"], rows))
            for location, reason in report.quarantined[:20]:
                stderr.print(
                    f"[yellow]quarantined[/yellow] {location}: {reason}", highlight=False, markup=False
                )
            in_alarm = [t.name for t in ticks if t.transition.state.value == "ALARM"]
            if in_alarm:
                stdout.print(f"[bold red]in ALARM:[/bold red] {', '.join(in_alarm)}")
        return EXIT_PARTIAL if report.quarantined else EXIT_OK

    _run(body)


def events_command(
    filter_pattern: Annotated[
        str, typer.Option("--filter-pattern", "-p", help="A CloudWatch Logs filter pattern ('' = all).")
    ] = "",
    since: Annotated[
        str | None, typer.Option("--since", help="From (ISO time or age: 30m, 12h, 7d).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until (ISO time or age).")] = None,
    log_group: Annotated[
        list[str] | None, typer.Option("--log-group", "-g", help="Only these log groups (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many events (0: all).")] = 100,
    groups: Annotated[bool, typer.Option("--groups", help="List the log groups instead.")] = False,
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="List quarantined inputs instead.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """Search stored CloudTrail events with a filter pattern (FilterLogEvents' counterpart).

    Examples: `vigil events -p '{ $.userIdentity.type = "Root" }' --since 7d`,
    `vigil events -p '{ $.errorCode = "AccessDenied*" }' -o json`. JSON output is the records
    themselves, oldest first; CSV and the table show who did what, when and from where.
    """
    from vigil import engine, engine_events
    from vigil.logs.pattern import PatternError

    def body() -> int:
        now = datetime.now(UTC)
        start, end = when_option(since, now, "--since"), when_option(until, now, "--until")
        with engine.context(config, db=db) as ctx:
            if groups:
                return _groups(ctx, output, out)
            if quarantine:
                return _quarantine(ctx, output, out)
            try:
                found = list(
                    engine_events.search(
                        ctx,
                        pattern=filter_pattern,
                        since=start,
                        until=end,
                        log_groups=log_group or (),
                        limit=limit or None,
                    )
                )
            except PatternError as exc:
                raise UsageError(str(exc), hint="test the pattern with `vigil logs test-pattern`") from None
        import orjson

        columns = ["time", "event", "source", "principal", "ip", "error", "log group"]
        rows = [
            [
                f.event_time.strftime("%Y-%m-%d %H:%M:%S"),
                f.event_name,
                f.event_source.removesuffix(".amazonaws.com"),
                short_principal(f.principal),
                f.source_ip or "",
                f.error_code or "",
                f.log_group,
            ]
            for f in found
        ]
        render(
            output,
            columns=columns,
            rows=rows,
            records=[orjson.loads(f.message) for f in found],
            title=f"{len(found)} events" + (f" matching {filter_pattern}" if filter_pattern else ""),
            out=out,
        )
        return EXIT_OK

    _run(body)


def _groups(ctx: Any, output: Format, out: Path | None) -> int:
    from vigil import engine_events
    from vigil.store import events as event_store

    cat = engine_events.catalog(ctx)
    with ctx.store.connect() as conn:
        counts = event_store.log_group_counts(conn)
    rows = [
        [
            g,
            n,
            cat.retention.get(g, ctx.settings.events.default_retention_days) or "never expire",
            _ms(oldest),
            _ms(newest),
        ]
        for g, n, oldest, newest in counts
    ]
    records = [
        dict(zip(("logGroup", "events", "retentionDays", "oldest", "newest"), r, strict=True)) for r in rows
    ]
    render(
        output,
        columns=["log group", "events", "retention (days)", "oldest", "newest"],
        rows=rows,
        records=records,
        out=out,
    )
    return EXIT_OK


def _quarantine(ctx: Any, output: Format, out: Path | None) -> int:
    from vigil.store import events as event_store

    with ctx.store.connect() as conn:
        entries = event_store.quarantined(conn)
    rows = [[e.location, e.reason, e.size or "", e.at.strftime("%Y-%m-%d %H:%M:%S")] for e in entries]
    records = [
        {"location": e.location, "reason": e.reason, "size": e.size, "at": e.at.isoformat()} for e in entries
    ]
    render(output, columns=["location", "reason", "bytes", "at"], rows=rows, records=records, out=out)
    return EXIT_OK


def _ms(value: int | None) -> str:
    return "" if value is None else datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def replay_command(
    since: Annotated[str, typer.Option("--since", help="From (ISO time or age: 12h, 7d, 90d).")] = "90d",
    until: Annotated[str | None, typer.Option("--until", help="Until (default: now).")] = None,
    alarm: Annotated[
        list[str] | None, typer.Option("--alarm", "-a", help="Only these alarms (repeatable).")
    ] = None,
    recount: Annotated[
        bool,
        typer.Option(
            "--recount/--stored",
            help="Recount datapoints from stored events with today's filters (default), or use stored datapoints.",
        ),
    ] = True,
    all_changes: Annotated[
        bool, typer.Option("--all", help="Every state change, not only the times alarms fired.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """When would each alarm have fired? Runs the metric filters and alarms over stored events in
    event time — new filters and alarms too, something CloudWatch cannot do. Live alarm states are
    not touched."""
    from vigil import engine, engine_events

    def body() -> int:
        now = datetime.now(UTC)
        start = when_option(since, now, "--since")
        end = when_option(until, now, "--until") or now
        assert start is not None
        with engine.context(config, db=db) as ctx:
            cat = engine_events.catalog(ctx)
            unknown = sorted(set(alarm or ()) - {a.name for a in cat.alarms})
            if unknown:
                raise UsageError(
                    f"unknown alarm(s): {', '.join(unknown)}", hint="list them with `vigil alarms list`"
                )
            fired = engine_events.replay_alarms(
                ctx, since=start, until=end, names=alarm or (), cat=cat, recount=recount
            )
        shown = [f for f in fired if all_changes or f.new == "ALARM"]
        rows = [[f.at.strftime("%Y-%m-%d %H:%M"), f.alarm, f"{f.old} → {f.new}", f.reason] for f in shown]
        records = [
            {
                "time": f.at.isoformat(),
                "alarm": f.alarm,
                "oldState": f.old,
                "newState": f.new,
                "reason": f.reason,
            }
            for f in shown
        ]
        what = "state changes" if all_changes else "times an alarm fired"
        render(
            output,
            columns=["time", "alarm", "change", "reason"],
            rows=rows,
            records=records,
            out=out,
            title=f"{len(shown)} {what} between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M}",
        )
        return EXIT_OK

    _run(body)


def watch_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help=SOURCES_HELP + " Default: events.sources in the config.", show_default=False),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    endpoint_url: EndpointOpt = None,
    poll: Annotated[
        float | None, typer.Option("--poll", help="Seconds between polls (default: events.poll_seconds, 60).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit (for cron).")] = False,
    rerecord: Annotated[
        bool,
        typer.Option("--rerecord/--no-rerecord", help="Re-record the resources write events change."),
    ] = True,
) -> None:
    """Watch: ingest new CloudTrail records as they arrive, re-record and re-evaluate what they
    change, evaluate alarms every minute, run periodic rules when due, apply retention.

    Runs until SIGTERM or Ctrl-C, finishing the step it is in; a restart resumes from each source's
    checkpoint, so nothing is counted twice or missed. One line per cycle that did something, e.g.
    `12:04 ingested 312 (stored 312) · re-recorded sg-0abc (AuthorizeSecurityGroupIngress by
    user/dev-alice) · 1 finding opened · ALARM cis-5.10-security-group-changes`.
    """
    import signal
    import threading

    from vigil import engine, watch

    def body() -> int:
        stop = threading.Event()

        def handle(signum: int, frame: Any) -> None:
            stderr.print(f"[dim]{signal.Signals(signum).name}: finishing this step, then stopping[/dim]")
            stop.set()

        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        aws = {"profile": profile, "role_arn": role_arn, "endpoint_url": endpoint_url}
        try:
            with engine.context(config, db=db, aws=aws) as ctx:
                specs = sources or ctx.settings.events.sources
                if not specs:
                    raise UsageError(
                        "nothing to watch: give sources or set events.sources in the config",
                        hint="e.g. vigil watch s3://my-trail-bucket/AWSLogs/ or sqs://cloudtrail-notifications",
                    )
                stderr.print(f"[dim]watching {', '.join(specs)}; Ctrl-C or SIGTERM stops[/dim]")
                cycles = watch.watch(
                    ctx,
                    specs,
                    stop=stop,
                    on_cycle=_print_cycle,
                    poll_seconds=poll,
                    max_cycles=1 if once else None,
                )
            stderr.print(f"[dim]stopped after {cycles} cycles[/dim]")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return EXIT_OK

    _run(body)


def _print_cycle(cycle: Any) -> None:
    parts: list[str] = []
    if cycle.ingest is not None and (cycle.ingest.records or cycle.ingest.quarantined):
        parts.append(f"ingested {cycle.ingest.records} (stored {cycle.ingest.stored})")
        if cycle.ingest.quarantined:
            parts.append(f"[yellow]{len(cycle.ingest.quarantined)} quarantined[/yellow]")
    reaction = cycle.reaction
    if reaction is not None and reaction.changes:
        shown = sorted(
            {f"{c.ref} ({c.event_name} by {short_principal(c.principal)})" for c in reaction.changes}
        )
        parts.append(
            "re-recorded " + ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
        )
        if reaction.evaluation is not None:
            ch = reaction.evaluation.changes
            if ch.opened or ch.reopened:
                parts.append(f"[red]{len(ch.opened) + len(ch.reopened)} finding(s) opened[/red]")
            if ch.resolved:
                parts.append(f"[green]{len(ch.resolved)} resolved[/green]")
    for t in cycle.ticks:
        if t.transition.changed:
            colour = {"ALARM": "red", "OK": "green"}.get(t.transition.state.value, "yellow")
            parts.append(f"[{colour}]{t.transition.state.value}[/{colour}] {t.name}")
    delivered = cycle.delivered or {}
    if delivered.get("sent") or delivered.get("dead"):
        parts.append(
            f"notified {delivered.get('sent', 0)}"
            + (f", {delivered['dead']} dead" if delivered.get("dead") else "")
        )
    if cycle.periodic:
        parts.append(f"periodic rules ({', '.join(cycle.periodic)})")
    for group, n in cycle.expired.items():
        parts.append(f"expired {n} events from {group}")
    for error in cycle.errors:
        parts.append(f"[yellow]{error}[/yellow]")
    if parts:
        stdout.print(f"{cycle.at:%H:%M:%S} " + " · ".join(parts), highlight=False)
