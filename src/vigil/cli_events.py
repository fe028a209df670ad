"""``vigil ingest``, ``vigil events``, ``vigil replay``: CloudTrail records in, searched, replayed.

``cli.py`` registers these commands; the work is in ``engine_events``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from vigil.cli import ConfigOpt, DbOpt, OutPathOpt, OutputOpt, _progress, _run, when_option
from vigil.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from vigil.output import Format, emit, render, stderr, stdout, table, to_json


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
    "sqs://queue-name (S3 or CloudTrail SNS notifications), lookup-events[:region] (the 90-day event history)."
)


def ingest_command(
    sources: Annotated[list[str], typer.Argument(help=SOURCES_HELP, show_default=False)],
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
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
        with engine.context(config, db=db) as ctx:
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


def short_principal(principal: str | None) -> str:
    """``arn:aws:iam::123456789012:user/alice`` → ``user/alice`` (the account is in the JSON)."""
    if not principal:
        return ""
    if principal.startswith("arn:"):
        resource = principal.split(":", 5)[-1]
        return resource.replace("assumed-role/", "role/", 1)
    return principal


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
