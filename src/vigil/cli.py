"""The ``vigil`` command. Thin: parse options, call the engine, render with Rich.

Exit codes (the same for every command; see ``vigil --help``):
0 done · 1 a bug · 2 invalid input · 3 partial (some account/region/service unreadable) ·
4 findings at or above --fail-on · 5 cannot start (credentials, store, port).
"""

from __future__ import annotations

import logging
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil import __version__, engine, views
from vigil.diff import diff
from vigil.errors import EXIT_BUG, EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, ISSUES_URL, UsageError, VigilError
from vigil.model import ConfigurationItem
from vigil.output import Format, emit, render, stderr, stdout, table, to_json
from vigil.settings import json_schema, public_view
from vigil.store import inventory
from vigil.store import scans as scan_store

if TYPE_CHECKING:
    from vigil.aws import recorder

EPILOG = (
    "Exit codes: 0 done, nothing to report · 1 unexpected error (a bug) · 2 invalid input or usage · "
    "3 done, but partly (some account/region/service could not be read) · 4 open findings at or above "
    "--fail-on · 5 cannot start (no credentials, store unreachable, port taken)."
)

app = typer.Typer(
    name="vigil",
    help="Self-hosted security auditing for AWS: record every resource's configuration and its history, "
    "see what changed and what a change would touch, evaluate AWS Config-style rules into findings and "
    "CIS / FSBP reports; ingest CloudTrail, search it with CloudWatch filter patterns, and raise "
    "CloudWatch-style alarms on it, re-recording whatever a write event changed; notify people and "
    "systems through SNS-style topics and filter policies, and remediate.\n\n"
    "Start with `vigil demo` (no AWS account needed), then `vigil scan` against your own account with "
    "read-only credentials, and `vigil watch` on your trail's bucket or queue.",
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(
    help="Check, show and describe the configuration file (vigil.yaml).", no_args_is_help=True
)
app.add_typer(config_app, name="config")

# -- shared options ------------------------------------------------------------------------------

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="VIGIL_DB",
        help="The store: a SQLite path or a URL (postgresql://user@host/db).",
        show_envvar=True,
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        envvar="VIGIL_CONFIG",
        help="Configuration file (default: ./vigil.yaml, then the user config dir).",
        show_envvar=True,
    ),
]
OutputOpt = Annotated[Format, typer.Option("--output", "-o", help="Output format.")]
OutPathOpt = Annotated[
    Path | None, typer.Option("--out", help="Write the output to this file instead of stdout.")
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="The resource's region, when its id is not unique.")
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile to use.")]
RoleArnOpt = Annotated[str | None, typer.Option("--role-arn", help="Role to assume before reading.")]
ExternalIdOpt = Annotated[
    str | None, typer.Option("--external-id", help="External id for --role-arn (or env:NAME).")
]
EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint-url", help="Send AWS calls to this endpoint (an emulator).")
]
TypeOpt = Annotated[
    str | None, typer.Option("--type", help="The resource's type, when its id is not unique.")
]


def _split(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


def _tags(values: Sequence[str] | None) -> tuple[tuple[str, str | None], ...]:
    out = []
    for item in values or ():
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(
                f"--tag {item!r} has no key", hint="write --tag key=value, or --tag key for any value"
            )
        out.append((key, value if sep else None))
    return tuple(out)


def _check_type(name: str | None) -> None:
    if not name:
        return
    from vigil.aws.resources import RESOURCE_TYPES

    if name not in RESOURCE_TYPES:
        raise UsageError(f"unknown resource type {name!r}", hint="list them with `vigil resources --types`")


def when_option(text: str | None, now: datetime, option: str) -> datetime | None:
    """A ``--since``/``--start``-style option: an ISO time or an age before ``now`` (7d, 12h, 90m)."""
    from vigil.model import parse_when

    if text is None:
        return None
    try:
        return parse_when(text, now)
    except ValueError as exc:
        raise UsageError(
            f"{option}: {exc}", hint="write 2026-05-01T10:00:00Z, 2026-05-01, or an age like 12h, 7d, 2w"
        ) from None


# -- running a command ----------------------------------------------------------------------------


def _run(fn: Any, *args: Any, **kwargs: Any) -> None:
    """Call a command body; turn Vigil's errors into one message and its exit code."""
    try:
        code = fn(*args, **kwargs)
    except VigilError as exc:
        stderr.print(f"[bold red]error:[/bold red] {escape(exc.message)}", highlight=False)
        if exc.where:
            stderr.print(f"  at {escape(exc.where)}", highlight=False)
        if exc.hint:
            stderr.print(f"  [cyan]hint:[/cyan] {escape(exc.hint)}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        logging.getLogger("vigil").debug("unexpected error", exc_info=True)
        stderr.print(
            f"[bold red]unexpected error:[/bold red] {type(exc).__name__}: {escape(str(exc))}\n"
            f"This is a bug in Vigil. Run again with VIGIL_DEBUG=1 for the traceback and report it at {ISSUES_URL}",
            highlight=False,
        )
        if os.environ.get("VIGIL_DEBUG"):
            raise
        raise typer.Exit(EXIT_BUG) from None
    raise typer.Exit(code or EXIT_OK)


def version_callback(value: bool) -> None:
    if value:
        stdout.print(f"vigil {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens (to stderr).")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "boto3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# -- scan -----------------------------------------------------------------------------------------


class _Bars:
    """One progress bar per region (global services under "global"), showing the service at work."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def planned(self, units: Sequence[recorder.Unit]) -> None:
        per_region: dict[str, int] = defaultdict(int)
        for unit in units:
            per_region[unit.region] += 1
        for region, total in per_region.items():
            self.tasks[region] = self.progress.add_task(region, total=total, service="")

    def done(self, outcome: recorder.UnitOutcome) -> None:
        task = self.tasks[outcome.unit.region]
        mark = "[red]✗[/red] " if outcome.error else ""
        self.progress.update(task, advance=1, service=f"{mark}{outcome.unit.rtype.short}")


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[service]}"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not enabled,
        transient=False,
    )


def _show_report(
    report: recorder.ScanReport,
    fmt: Format,
    out: Path | None,
    stats: bool,
    stats_rows: list[Any],
    evaluation: dict[str, Any] | None = None,
) -> int:
    if fmt is not Format.table:
        data = views.report_json(report)
        if evaluation is not None:
            data["evaluation"] = evaluation
        if stats:
            data["apiStats"] = [
                {"service": s, "calls": c, "retries": r, "errors": e} for s, c, r, e in stats_rows
            ]
        rows = views.summary_rows(report)
        render(
            fmt,
            columns=["resourceType", "recorded", "new", "changed", "deleted", "status"],
            rows=rows,
            records=data,
            out=out,
        )
    else:
        for renderable in views.scan_tables(report, stats_rows if stats else None):
            stdout.print(renderable)
    if report.bugs:
        return EXIT_BUG
    return EXIT_PARTIAL if report.partial else EXIT_OK


@app.command(epilog=EPILOG)
def scan(
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--regions",
            help="Regions to read (a,b). Default: aws.regions, else every region enabled in the account.",
        ),
    ] = None,
    types: Annotated[
        list[str] | None, typer.Option("--types", help="Only these resource types (a,b).")
    ] = None,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    endpoint_url: EndpointOpt = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Collections at once.")] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Evaluate the rules after recording.")
    ] = True,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 4 when open findings at or above this severity remain (low, medium, high, critical).",
        ),
    ] = None,
    archive: Annotated[
        str | None,
        typer.Option(
            "--archive",
            help="Append this run's snapshot and compliance reports to an archive (a directory or s3://bucket/prefix).",
        ),
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Show API calls per service.")] = False,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Record the configuration of every resource (AWS Config's snapshot) into the store.

    Each region × resource type is read in parallel; a resource gets a new configuration item only
    when its configuration, tags or relationships changed, and one `ResourceDeleted` item when it is
    gone. A (region, type) that cannot be read (AccessDenied, unsupported API) is reported, nothing of
    it is marked deleted, and the command exits 3.
    """

    def body() -> int:
        cli_compliance.check_severity(fail_on)
        for name in _split(types):
            _check_type(name)
        overrides = {
            "regions": _split(regions) or None,
            "profile": profile,
            "role_arn": role_arn,
            "external_id": external_id,
            "endpoint_url": endpoint_url,
            "concurrency": concurrency,
        }
        with engine.context(
            config, db=db, aws=overrides, recorder_settings={"resource_types": _split(types)}
        ) as ctx:
            show_bars = not quiet and output is Format.table and stderr.is_terminal
            with _progress(show_bars) as progress:
                report = engine.scan(ctx, listener=_Bars(progress))
            evaluation = engine.evaluate(ctx) if evaluate else None
            code = _show_report(
                report,
                output,
                out,
                stats,
                ctx.session.stats.table(),
                evaluation.as_dict() if evaluation else None,
            )
            if archive:
                written = engine.archive_run(ctx, archive, scan_id=report.scan_id)
                if output is Format.table:
                    stdout.print(f"archived as {written.entry} ({written.files} files) in {archive}")
            if evaluation is None:
                return code
            if output is Format.table:
                cli_compliance.show_evaluation(evaluation)
            if fail_on and cli_compliance.open_at_or_above(ctx, fail_on) and code == EXIT_OK:
                return EXIT_FINDINGS
            return code

    _run(body)


@app.command(epilog=EPILOG)
def rerecord(
    resource_type: Annotated[str, typer.Argument(help="Resource type, e.g. AWS::EC2::SecurityGroup.")],
    refs: Annotated[list[str], typer.Argument(help="Ids, names or ARNs to re-record.")],
    region: Annotated[
        str | None,
        typer.Option(
            "--region", help="Region of the resources (default: every region where the type is recorded)."
        ),
    ] = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Re-record only the given resources, without a full scan (as a CloudTrail event calls for).

    A requested resource that no longer exists is recorded as deleted; nothing else is touched.
    """

    def body() -> int:
        _check_type(resource_type)
        from vigil.aws import recorder

        with engine.context(config, db=db) as ctx:
            requests = [recorder.Request(resource_type, region or "*", ref) for ref in refs]
            report = engine.rerecord(ctx, requests)
            return _show_report(report, output, out, False, [])

    _run(body)


# -- resources ------------------------------------------------------------------------------------


def _ci_row(ci: ConfigurationItem) -> list[Any]:
    tags = ", ".join(f"{k}={v}" for k, v in sorted(ci.tags.items()) if k != "Name")
    return [
        ci.resourceType,
        ci.resourceId,
        ci.resourceName or "",
        ci.awsRegion,
        ci.accountId,
        ci.configurationItemStatus,
        ci.configurationItemCaptureTime,
        tags,
    ]


CI_COLUMNS = [
    "resourceType",
    "resourceId",
    "resourceName",
    "awsRegion",
    "accountId",
    "configurationItemStatus",
    "configurationItemCaptureTime",
    "tags",
]


@app.command(epilog=EPILOG)
def resources(
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only this type (repeatable; a,b).")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="Only with this tag: key=value, or key for any value (repeatable: all must match)."
        ),
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only in this region (repeatable).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only in this account (repeatable).")
    ] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted resources.")] = False,
    list_types: Annotated[
        bool, typer.Option("--types", help="List the resource types Vigil records, and exit.")
    ] = False,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List recorded resources (their current configuration item).

    `--output json` prints a JSON array of configuration items with AWS Config's field names.
    """

    def body() -> int:
        if list_types:
            from vigil.aws.resources import RESOURCE_TYPES

            rows = [
                [t.name, t.service, t.scope, sum(len(e.names) for e in t.events)]
                for t in RESOURCE_TYPES.values()
            ]
            render(
                output,
                columns=["resourceType", "service", "scope", "changeEvents"],
                rows=rows,
                records=[
                    dict(zip(["resourceType", "service", "scope", "changeEvents"], r, strict=True))
                    for r in rows
                ],
                title="Recorded resource types",
                out=out,
            )
            return EXIT_OK
        types = _split(type_)
        for name in types:
            _check_type(name)
        filters = inventory.Filters(
            types=tuple(types),
            regions=tuple(_split(region)),
            accounts=tuple(_split(account)),
            tags=_tags(tag),
            include_deleted=deleted,
        )
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            cis = inventory.current(conn, filters)
        if output is Format.table and not cis:
            stderr.print("No resources match. Record some with `vigil scan` (or try `vigil demo`).")
            return EXIT_OK
        render(
            output,
            columns=CI_COLUMNS,
            rows=[_ci_row(ci) for ci in cis],
            records=[ci.to_dict() for ci in cis],
            title=f"{len(cis)} resources",
            out=out,
        )
        return EXIT_OK

    _run(body)


@app.command(epilog=EPILOG)
def show(
    ref: Annotated[str, typer.Argument(help="Resource id, ARN or name.")],
    region: RegionOpt = None,
    type_: TypeOpt = None,
    output: Annotated[
        Format,
        typer.Option(
            "--output", "-o", help="Output format (table shows a summary and the configuration as JSON)."
        ),
    ] = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show a resource's current configuration item (AWS Config's API form)."""

    def body() -> int:
        _check_type(type_)
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = inventory.find_one(conn, ref, region=region, resource_type=type_)
            ci = inventory.latest(conn, found.pk)
        if output is Format.table and out is None:
            rows = [[k, v] for k, v in zip(CI_COLUMNS, _ci_row(ci), strict=True)]
            rows.insert(3, ["arn", ci.arn or ""])
            stdout.print(table(f"{ci.resourceType} {ci.resourceId}", ["field", "value"], rows))
            rel_rows = [
                [r.relationshipName, r.resourceType, r.resourceId, r.resourceName or ""]
                for r in ci.relationships
            ]
            if rel_rows:
                stdout.print(table("Relationships", ["relationship", "type", "id", "name"], rel_rows))
            stdout.print_json(
                to_json(
                    {
                        "configuration": ci.configuration,
                        "supplementaryConfiguration": ci.supplementaryConfiguration,
                    }
                )
            )
        else:
            render(output, columns=CI_COLUMNS, rows=[_ci_row(ci)], records=ci.to_dict(), out=out)
        return EXIT_OK

    _run(body)


@app.command(epilog=EPILOG)
def history(
    ref: Annotated[str, typer.Argument(help="Resource id, ARN or name.")],
    show_diff: Annotated[
        bool,
        typer.Option(
            "--diff", help="Show the field-level difference between consecutive configuration items."
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the newest N items.")] = None,
    region: RegionOpt = None,
    type_: TypeOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A resource's timeline: every configuration item recorded, oldest first.

    With `--diff`, each item shows what changed from the one before, in AWS Config's
    `configurationItemDiff` form (`Configuration.IpPermissions.1: CREATE …`).
    """

    def body() -> int:
        from vigil.watch import who_changed

        _check_type(type_)
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = inventory.find_one(conn, ref, region=region, resource_type=type_)
            items = inventory.history(conn, found.pk, limit=limit)
            authors = who_changed(conn, items)
        diffs = [diff(items[i - 1] if i else None, ci) for i, ci in enumerate(items)]
        if output is not Format.table:
            records = [
                {
                    **ci.to_dict(),
                    **({"configurationItemDiff": d} if show_diff else {}),
                    "changedBy": [
                        {
                            "eventID": c.event_id,
                            "eventName": c.event_name,
                            "eventTime": c.event_time.isoformat(),
                            "principal": c.principal,
                            "sourceIPAddress": c.source_ip,
                        }
                        for c in who
                    ],
                }
                for ci, d, who in zip(items, diffs, authors, strict=True)
            ]
            rows = [
                [
                    ci.configurationItemCaptureTime,
                    ci.configurationItemStatus,
                    ci.configurationStateId,
                    len(d["changedProperties"]),
                ]
                for ci, d in zip(items, diffs, strict=True)
            ]
            render(
                output,
                columns=["captureTime", "status", "stateId", "changedProperties"],
                rows=rows,
                records=records,
                out=out,
            )
            return EXIT_OK
        rows = [
            [
                ci.configurationItemCaptureTime,
                ci.configurationItemStatus,
                ci.configurationStateId,
                len(d["changedProperties"]) if i else "-",
                views.changed_by(who),
            ]
            for i, (ci, d, who) in enumerate(zip(items, diffs, authors, strict=True))
        ]
        title = f"History of {found.key.resourceType} {found.key.resourceId} ({found.key.awsRegion})"
        stdout.print(table(title, ["captured", "status", "state id", "changes", "changed by"], rows))
        if show_diff:
            for i in range(1, len(items)):
                d = diffs[i]
                stdout.print(
                    table(
                        f"{items[i - 1].configurationItemCaptureTime} → {items[i].configurationItemCaptureTime} "
                        f"({d['changeType']})",
                        ["property", "change", "before", "after"],
                        views.diff_rows(d),
                    )
                )
        return EXIT_OK

    _run(body)


@app.command(epilog=EPILOG)
def graph(
    ref: Annotated[str, typer.Argument(help="Resource id, ARN or name.")],
    depth: Annotated[int, typer.Option("--depth", min=1, max=6, help="How many hops to follow.")] = 1,
    region: RegionOpt = None,
    type_: TypeOpt = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, json, csv or dot (Graphviz).")
    ] = "table",
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The blast radius: resources linked to this one, both ways ("if I change this, what else is touched").

    Follows relationships the resource names (it *is contained in* a VPC) and those that name it
    (instances *associated with* this security group), up to `--depth` hops.
    """

    def body() -> int:
        _check_type(type_)
        if output not in ("table", "json", "csv", "dot"):
            raise UsageError(f"--output {output!r} is not a graph format", hint="use table, json, csv or dot")
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = inventory.find_one(conn, ref, region=region, resource_type=type_)
            g = inventory.graph(conn, found, depth)
        nodes = sorted(g.nodes.items(), key=lambda kv: (kv[1], kv[0].resourceType, kv[0].resourceId))
        if output == "dot":
            lines = ["digraph blast_radius {", "  rankdir=LR; node [shape=box, fontname=Helvetica];"]
            for key, level in nodes:
                label = f"{key.resourceType.split('::')[-1]}\\n{key.resourceId}"
                if g.names.get(key):
                    label += f"\\n{g.names[key]}"
                style = ", style=bold" if level == 0 else ""
                lines.append(f'  "{key.resourceId}" [label="{label}"{style}];')
            for e in g.edges:
                lines.append(f'  "{e.source.resourceId}" -> "{e.target.resourceId}" [label="{e.name}"];')
            lines.append("}")
            emit("\n".join(lines), out)
            return EXIT_OK
        rows = [
            [e.source.resourceType, e.source.resourceId, e.name, e.target.resourceType, e.target.resourceId]
            for e in g.edges
        ]
        if output in ("json", "csv"):
            records = {
                "root": g.root._asdict(),
                "nodes": [{**k._asdict(), "resourceName": g.names.get(k), "depth": d} for k, d in nodes],
                "edges": [
                    {"source": e.source._asdict(), "target": e.target._asdict(), "relationshipName": e.name}
                    for e in g.edges
                ],
            }
            render(
                Format(output),
                columns=["sourceType", "sourceId", "relationship", "targetType", "targetId"],
                rows=rows,
                records=records,
                out=out,
            )
            return EXIT_OK
        for renderable in views.graph_tables(g, depth):
            stdout.print(renderable)
        return EXIT_OK

    _run(body)


@app.command(epilog=EPILOG)
def scans(
    limit: Annotated[int, typer.Option("--limit", help="How many recent scans.")] = 10,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Recent scans and re-records: when, where, what changed, and what could not be read."""

    def body() -> int:
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            runs = scan_store.recent(conn, limit)
            failing = scan_store.failing_units(conn)
        rows = [
            [
                r.id,
                r.kind,
                r.started_at.isoformat(timespec="seconds"),
                r.status,
                r.origin if r.kind == "import" and r.origin else ",".join(r.regions),
                r.counts.get("discovered", r.counts.get("imported", 0)),
                r.counts.get("changed", 0),
                r.counts.get("deleted", 0),
                sum(r.api_calls.values()),
            ]
            for r in runs
        ]
        columns = [
            "id",
            "kind",
            "started",
            "status",
            "regions / origin",
            "new",
            "changed",
            "deleted",
            "apiCalls",
        ]
        render(
            output,
            columns=columns,
            rows=rows,
            records={
                "scans": [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "started": r.started_at.isoformat(timespec="seconds"),
                        "status": r.status,
                        "regions": r.regions,
                        "origin": r.origin,
                        "counts": r.counts,
                        "apiCalls": sum(r.api_calls.values()),
                    }
                    for r in runs
                ],
                "failingUnits": [e.__dict__ for e in failing],
            },
            title="Recent scans",
            out=out,
        )
        if output is Format.table and failing:
            stdout.print(
                table(
                    "Currently unreadable (rules will say INSUFFICIENT_DATA)",
                    ["where", "code", "message"],
                    [[e.where, e.code, e.message[:160]] for e in failing],
                )
            )
        return EXIT_OK

    _run(body)


# -- AWS Config files -------------------------------------------------------------------------------


class _ImportBars:
    """Files read (by bytes), then items written."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.reading: Any = None
        self.writing_task: Any = None

    def planned(self, files: int, total_bytes: int) -> None:
        self.reading = self.progress.add_task(f"read {files} files", total=max(total_bytes, 1), service="")

    def read(self, file: Any) -> None:
        self.progress.update(self.reading, advance=file.size, service=Path(file.name).name[-60:])

    def writing(self, items: int) -> None:
        self.progress.update(self.reading, completed=self.progress.tasks[self.reading].total, service="")
        self.writing_task = self.progress.add_task("write items", total=max(items, 1), service="")

    def wrote(self, items: int) -> None:
        self.progress.update(self.writing_task, advance=items)


@app.command("import", epilog=EPILOG)
def import_(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="AWS Config files: a file, a directory (searched for *.json and *.json.gz), s3://bucket/prefix, "
            "or - for standard input.",
            show_default=False,
        ),
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    endpoint_url: EndpointOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Bring AWS Config's recorded history into the store.

    Reads what AWS Config's delivery channel writes to S3 (configuration history and snapshot
    files, `.json.gz`), saved `get-resource-config-history` / `batch-get-resource-config` output,
    and configuration-change notifications. Every item keeps its capture time, status and state id;
    items already stored are skipped, so importing twice is harmless. A file or item that cannot be
    read is reported with its place and the rest is imported (exit code 3).

    Examples: `vigil import s3://my-config-bucket/AWSLogs/123456789012/Config/` ·
    `aws configservice get-resource-config-history --resource-type AWS::EC2::SecurityGroup
    --resource-id sg-0123 | vigil import -`
    """

    def body() -> int:
        aws = {
            "profile": profile,
            "role_arn": role_arn,
            "external_id": external_id,
            "endpoint_url": endpoint_url,
        }
        with (
            engine.context(config, db=db, aws=aws) as ctx,
            _progress(not quiet and output is Format.table) as bars,
        ):
            report = engine.import_config(ctx, sources, listener=_ImportBars(bars))
        data = report.as_dict()
        if output is not Format.table:
            render(output, columns=list(data), rows=[list(data.values())], records=data, out=out)
        else:
            rows = [
                ["files read", report.files],
                ["items read", report.items_read],
                ["imported", report.imported],
                ["already stored", report.skipped],
                ["resources new / updated", f"{report.resources_created} / {report.resources_updated}"],
                ["items per second", data["itemsPerSecond"] or "-"],
            ]
            stdout.print(table(f"Import {report.scan_id} from {report.origin}", ["", ""], rows))
            if report.problems:
                stdout.print(
                    table(
                        f"Not imported ({len(report.problems)})",
                        ["where", "problem"],
                        [[p.where, p.message] for p in report.problems[:50]],
                    )
                )
        return EXIT_PARTIAL if report.problems else EXIT_OK

    _run(body)


@app.command(epilog=EPILOG)
def export(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Where to write: a directory (history, snapshot; api too) or a .json file (api).",
            show_default=False,
        ),
    ],
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="history: AWS Config history files (every CI); snapshot: snapshot files (current CIs); "
            "api: get-resource-config-history output in one JSON file.",
        ),
    ] = "history",
    types: Annotated[list[str] | None, typer.Option("--type", help="Only these resource types.")] = None,
    regions: Annotated[list[str] | None, typer.Option("--region", help="Only these regions.")] = None,
    accounts: Annotated[list[str] | None, typer.Option("--account", help="Only these accounts.")] = None,
    output: OutputOpt = Format.table,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the store in AWS Config's own shapes, for tools that read AWS Config's bucket or API.

    `history` and `snapshot` write AWS's key layout under `--out`
    (`AWSLogs/<account>/Config/<region>/<y>/<m>/<d>/ConfigHistory/…json.gz`); `api` writes the
    JSON that `aws configservice get-resource-config-history` prints. The output is reproducible:
    exporting, importing into an empty store and exporting again gives the same bytes.
    """
    from vigil.interop.awsconfig import ExportFormat

    def body() -> int:
        try:
            fmt = ExportFormat(format_)
        except ValueError:
            raise UsageError(
                f"--format {format_!r} is not one of history, snapshot, api", hint="see `vigil export --help`"
            ) from None
        for name in _split(types):
            _check_type(name)
        filters = inventory.Filters(
            types=tuple(_split(types)),
            regions=tuple(_split(regions)),
            accounts=tuple(_split(accounts)),
            include_deleted=fmt is not ExportFormat.snapshot,
        )
        with engine.context(config, db=db) as ctx:
            report = engine.export_config(ctx, out, fmt, filters)
        data = report.as_dict()
        if output is not Format.table:
            render(
                output,
                columns=["format", "out", "files", "items", "resources"],
                rows=[[data["format"], data["out"], len(report.files), report.items, report.resources]],
                records=data,
            )
        else:
            stdout.print(
                f"Wrote {report.items} configuration items of {report.resources} resources "
                f"as {fmt} ({len(report.files)} file{'s' if len(report.files) != 1 else ''}) to {report.out}"
            )
        return EXIT_OK

    _run(body)


# -- config ---------------------------------------------------------------------------------------


@config_app.command("validate")
def config_validate(
    path: Annotated[
        str | None, typer.Argument(help="The file to check (default: the one Vigil would use).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Check the configuration file and VIGIL_* variables; report every problem with file:line."""

    def body() -> int:
        ctx = engine.context(path, db=db)
        ruleset = engine.load_rules(ctx)  # rule ids, parameters and packs named in the file exist
        from vigil.engine_events import build_catalog

        # trails, metric filters (their patterns), alarms and composite rules compile and agree
        cat = build_catalog(ctx.settings.events, locate=ctx.loaded.where)
        where = str(ctx.loaded.path) if ctx.loaded.path else "no config file (defaults)"
        envs = ", ".join(sorted(ctx.loaded.env_sources.values()))
        stdout.print(
            f"[green]valid[/green]: {where}"
            + (f" + {envs}" if envs else "")
            + f" ({len(ruleset.rules)} rules from {len(ruleset.packs)} packs; {len(cat.trails)} trails, "
            f"{len(cat.filters)} metric filters, {len(cat.alarms) + len(cat.composites)} alarms)"
        )
        return EXIT_OK

    _run(body)


@config_app.command("schema")
def config_schema(out: OutPathOpt = None) -> None:
    """Print the JSON Schema of vigil.yaml (for editors: `# yaml-language-server: $schema=…`)."""
    _run(lambda: emit(to_json(json_schema()), out))


@config_app.command("show")
def config_show(
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json")] = "yaml",
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show the effective settings (file + environment + defaults), secrets masked."""

    def body() -> int:
        import yaml

        ctx = engine.context(config, db=db)
        view = public_view(ctx.settings)
        emit(to_json(view) if output == "json" else yaml.safe_dump(view, sort_keys=False), None)
        return EXIT_OK

    _run(body)


# -- demo -----------------------------------------------------------------------------------------


@app.command(epilog=EPILOG)
def demo(
    db: Annotated[
        str, typer.Option("--db", help="Where the demo's store goes (recreated each run).")
    ] = ".vigil/demo.db",
    regions: Annotated[
        str, typer.Option("--regions", help="Regions of the sample estate.")
    ] = "us-east-1,eu-west-1",
    scale: Annotated[
        int, typer.Option("--scale", min=1, max=50, help="Scale factor N of the sample estate.")
    ] = 1,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Keep the emulator running afterwards, to point your own `vigil scan` at it.",
        ),
    ] = False,
) -> None:
    """Run the whole story on a built-in AWS emulator: no account, no credentials, under a minute.

    Seeds a sample estate (two regions, realistic tags and realistic mistakes), records it, makes a
    few careless changes (opens SSH, makes a bucket public, deletes a volume), records again, and shows
    what changed, who is affected, and what to try next.
    """
    from vigil.demo.story import run_demo

    _run(run_demo, db=db, regions=_split([regions]), scale=scale, keep_running=keep_running)


# -- compliance (rules, evaluate, findings) ------------------------------------------------------
from vigil import cli_compliance  # noqa: E402  (defined there, on top of the shared options above)

app.add_typer(cli_compliance.rules_app, name="rules")
app.add_typer(cli_compliance.findings_app, name="findings")
app.command("evaluate", epilog=EPILOG)(cli_compliance.evaluate_command)
app.command("report", epilog=EPILOG)(cli_compliance.report_command)
app.command("whatif", epilog=EPILOG)(cli_compliance.whatif_command)
app.add_typer(cli_compliance.archive_app, name="archive")

from vigil import cli_logs  # noqa: E402  (the filter-pattern language's own commands)

app.add_typer(cli_logs.logs_app, name="logs")

from vigil import cli_alarms, cli_events, cli_notify, cli_trail  # noqa: E402  (events, alarms, trails)

app.add_typer(cli_alarms.alarms_app, name="alarms")
app.add_typer(cli_trail.trail_app, name="trail")
app.add_typer(cli_notify.notify_app, name="notify")
from vigil import cli_outbox, cli_remediate  # noqa: E402

app.command("remediate", epilog=EPILOG)(cli_remediate.remediate_command)

for _name, _command in (
    ("topics", cli_outbox.topics_command),
    ("subscriptions", cli_outbox.subscriptions_command),
    ("publish", cli_outbox.publish_command),
    ("deliver", cli_outbox.deliver_command),
    ("deliveries", cli_outbox.deliveries_command),
    ("redrive", cli_outbox.redrive_command),
    ("inbox", cli_outbox.inbox_command),
    ("ack", cli_outbox.ack_command),
):
    cli_notify.notify_app.command(_name, epilog=EPILOG)(_command)
app.command("ingest", epilog=EPILOG)(cli_events.ingest_command)
app.command("events", epilog=EPILOG)(cli_events.events_command)
app.command("replay", epilog=EPILOG)(cli_events.replay_command)
app.command("watch", epilog=EPILOG)(cli_events.watch_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
