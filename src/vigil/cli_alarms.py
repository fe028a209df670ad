"""``vigil alarms …``: CloudWatch metric and composite alarms.

``list``, ``describe``, ``history`` read the alarms in force (monitoring pack, config file, imports)
and their states and history in the store, and print CloudWatch's own shapes with ``--output json``
(DescribeAlarms, DescribeAlarmHistory); ``evaluate`` runs one tick as ``vigil watch`` does;
``import`` brings an account's metric filters and alarms in (``alarms/importer.py``).
``simulate`` runs one evaluation tick of a metric alarm (PutMetricAlarm's shape) over a list of
per-period values; ``simulate-composite`` evaluates an AlarmRule over given child states. Both print
``{"state": …, "reason": …}`` with ``--output json``. ``cli.py`` adds this group to the main app.

The simulations are defined in ``cli_alarms_simulate.py`` and registered here; the shapes and
renderings both share (DescribeAlarms items, classified datapoints, ``--at``) are in
``alarm_views.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from vigil.alarm_views import (
    NOT_EVALUATED,
    InitialState,
    OutputOpt,
    Where,
    actions_text,
    alarm_panel,
    classified_range,
    composite_alarm_item,
    datapoints_table,
    evaluation_record,
    evaluation_rows,
    history_items,
    history_rows,
    matches_origin,
    metric_alarm_item,
    metric_text,
    parse_at,
    show_import,
    since,
    unknown_alarm,
)
from vigil.alarms.alarm import AlarmDefinition, AlarmState
from vigil.alarms.composite import CompositeAlarmDefinition
from vigil.cli import (
    EPILOG,
    ConfigOpt,
    DbOpt,
    EndpointOpt,
    ExternalIdOpt,
    OutPathOpt,
    ProfileOpt,
    RoleArnOpt,
    _run,
)
from vigil.cli import OutputOpt as FormatOpt
from vigil.cli_alarms_simulate import simulate, simulate_composite
from vigil.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from vigil.output import Format, emit, render, stdout, table, to_json

alarms_app = typer.Typer(
    help="CloudWatch alarms: list them with their states, describe one, show their history, evaluate "
    "them now, import an account's own, and simulate metric and composite alarms exactly as CloudWatch "
    "evaluates them.",
    no_args_is_help=True,
)

# Registered first, so `vigil alarms --help` lists them first (defined in cli_alarms_simulate.py).
alarms_app.command("simulate", epilog=EPILOG)(simulate)
alarms_app.command("simulate-composite", epilog=EPILOG)(simulate_composite)


# == the alarms in force: list, describe, history, evaluate, import =================================
#
# These read the catalog (config file, monitoring pack, imports) and the states and history in the
# store. JSON output uses CloudWatch's own shapes (DescribeAlarms, DescribeAlarmHistory), so scripts
# written against `aws cloudwatch describe-alarms` read it unchanged; Vigil's additions are marked
# with a `Vigil` prefix.


class HistoryType(StrEnum):
    StateUpdate = "StateUpdate"
    Action = "Action"


def _loaded(ctx: Any) -> tuple[Any, dict[str, AlarmState], Where]:
    """The catalog, the stored states and where local alarms live."""
    from vigil import engine_events
    from vigil.store import alarms as alarm_store

    cat = engine_events.catalog(ctx)
    with ctx.store.connect() as conn:
        states = alarm_store.load_states(conn)
        account = engine_events.alarm_account(conn)
    return cat, states, Where(account, ctx.settings.aws.home_region)


@alarms_app.command("list", epilog=EPILOG)
def list_command(
    state: Annotated[
        InitialState | None,
        typer.Option(
            "--state",
            help="Only alarms in this state (INSUFFICIENT_DATA includes those not evaluated yet).",
            case_sensitive=True,
        ),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--origin",
            help="Only alarms from here (repeatable; a prefix): 'monitoring pack', config, import, import:ACCOUNT/REGION.",
        ),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """List every alarm in force — metric and composite — with its state, since when, where it comes
    from, what it watches and what it does.

    Alarms come from the monitoring pack, the config file (`events.alarms`, `events.composite_alarms`)
    and `vigil alarms import`; states from the last evaluation (`vigil ingest`, `vigil watch`,
    `vigil alarms evaluate`). With `--output json` prints DescribeAlarms' response,
    `{"MetricAlarms": […], "CompositeAlarms": […]}`, each item with `StateValue`, `StateReason`,
    `StateReasonData`, `StateUpdatedTimestamp` and Vigil's `VigilOrigin`.

    Examples: `vigil alarms list --state ALARM` · `vigil alarms list --origin import -o json`
    """
    from vigil import engine

    def body() -> int:
        with engine.context(config, db=db) as ctx:
            cat, states, where = _loaded(ctx)
        wanted = list(origin or ())

        def keep(name: str) -> bool:
            st = states.get(name)
            in_state = state is None or (st.value if st else "INSUFFICIENT_DATA") == state.value
            return in_state and matches_origin(cat.origins.get(name, ""), wanted)

        metric = [a for a in cat.alarms if keep(a.name)]
        composite = [c for c in cat.composites if keep(c.name)]
        rows: list[list[Any]] = []
        for kind, items, what in (
            ("metric", metric, metric_text),
            ("composite", composite, lambda c: c.alarm_rule),
        ):
            for d in items:
                st = states.get(d.name)
                rows.append(
                    [
                        d.name,
                        kind,
                        st.value if st else NOT_EVALUATED,
                        since(st),
                        cat.origins.get(d.name, ""),
                        what(d),
                        actions_text(d, short=output is Format.table),
                    ]
                )
        records = {
            "MetricAlarms": [
                metric_alarm_item(a, states.get(a.name), cat.origins.get(a.name, ""), where) for a in metric
            ],
            "CompositeAlarms": [
                composite_alarm_item(c, states.get(c.name), cat.origins.get(c.name, ""), where)
                for c in composite
            ],
        }
        render(
            output,
            columns=["alarm", "type", "state", "since (UTC)", "origin", "metric / rule", "actions"],
            rows=rows,
            records=records,
            title=f"{len(rows)} alarms",
            out=out,
        )
        return EXIT_OK

    _run(body)


@alarms_app.command("history", epilog=EPILOG)
def history_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Only these alarms (default: all).", show_default=False)
    ] = None,
    item_type: Annotated[
        HistoryType | None,
        typer.Option(
            "--type", help="Only state changes (StateUpdate) or actions run (Action).", case_sensitive=True
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many items, newest first.")
    ] = 100,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """Show what alarms did: every state change and every action run, newest first.

    History outlives the alarm: items of an alarm since removed from the config are kept. With
    `--output json` prints DescribeAlarmHistory's response, `{"AlarmHistoryItems": [{"AlarmName",
    "AlarmType", "Timestamp", "HistoryItemType", "HistorySummary", "HistoryData"}]}`.

    Examples: `vigil alarms history vigil-root-activity` · `vigil alarms history --type Action -n 20`
    """
    from vigil import engine, engine_events
    from vigil.store import alarms as alarm_store

    def body() -> int:
        with engine.context(config, db=db) as ctx:
            cat = engine_events.catalog(ctx)
            with ctx.store.connect() as conn:
                items = alarm_store.history(
                    conn, names or (), item_type=item_type.value if item_type else None, limit=limit
                )
        composites = {c.name for c in cat.composites}
        render(
            output,
            columns=["time (UTC)", "alarm", "type", "summary"],
            rows=history_rows(items),
            records={"AlarmHistoryItems": history_items(items, composites)},
            title=f"{len(items)} history items",
            out=out,
        )
        return EXIT_OK

    _run(body)


@alarms_app.command("describe", epilog=EPILOG)
def describe_command(
    name: Annotated[str, typer.Argument(help="The alarm's name.", show_default=False)],
    at: Annotated[
        str | None, typer.Option("--at", help="Show the datapoints as of this time (ISO 8601). Default: now.")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """Everything about one alarm: its definition, current state and reason, the last 10 history
    items, and — for a metric alarm — the datapoints of its evaluation range against the threshold
    (for a composite alarm, its children's states).

    With `--output json` prints `{"MetricAlarms": [item]}` or `{"CompositeAlarms": [item]}` as
    DescribeAlarms does, with `AlarmHistoryItems` (as DescribeAlarmHistory) and `VigilDatapoints`
    (`Timestamp`, `Value`, `Classification`, `Evaluated`) or `VigilChildren` (`AlarmName`,
    `StateValue`).

    Example: `vigil alarms describe cis-5.3-root-usage`. An unknown name exits 2.
    """
    from vigil import engine
    from vigil.alarms.composite import alarm_name, referenced_alarms
    from vigil.alarms.runner import metric_key, period_values, window
    from vigil.store import alarms as alarm_store
    from vigil.store import events as event_store

    def body() -> int:
        now = parse_at(at) or datetime.now(UTC)
        with engine.context(config, db=db) as ctx:
            cat, states, where = _loaded(ctx)
            metric = cat.alarm(name)
            composite = next((c for c in cat.composites if c.name == name), None)
            if metric is None and composite is None:
                raise unknown_alarm(name, cat)
            with ctx.store.connect() as conn:
                items = alarm_store.history(conn, [name], limit=10)
                points: dict[datetime, float] = {}
                if metric is not None:
                    key = metric_key(metric, event_store.dimensions_key)
                    first, end = window(metric, now)
                    rows = event_store.datapoints_between(conn, {key}, first, end)[key]
                    points = period_values(metric, rows)
        state = states.get(name)
        origin = cat.origins.get(name, "")
        composites = {c.name for c in cat.composites}
        record: dict[str, Any]
        if metric is not None:
            record = {
                "MetricAlarms": [metric_alarm_item(metric, state, origin, where)],
                "CompositeAlarms": [],
            }
            record["VigilDatapoints"] = [
                {"Timestamp": t.isoformat(), "Value": v, "Classification": label, "Evaluated": used}
                for t, v, label, used in classified_range(metric, points, now)
            ]
        else:
            assert composite is not None
            record = {
                "MetricAlarms": [],
                "CompositeAlarms": [composite_alarm_item(composite, state, origin, where)],
            }
            children = [alarm_name(r) for r in referenced_alarms(composite.rule)]
            record["VigilChildren"] = [
                {"AlarmName": c, "StateValue": states[c].value if c in states else None} for c in children
            ]
        record["AlarmHistoryItems"] = history_items(items, composites)
        if output is Format.json:
            emit(to_json(record), out)
            return EXIT_OK
        definition: AlarmDefinition | CompositeAlarmDefinition
        if metric is not None:
            definition, watches = metric, f"metric: {metric_text(metric)}"
        else:
            assert composite is not None
            definition, watches = composite, f"rule: {composite.alarm_rule}"
        stdout.print(alarm_panel(name, definition, watches, state, origin))
        if metric is not None:
            stdout.print(datapoints_table(metric, points, now))
        else:
            stdout.print(
                table(
                    "children",
                    ["alarm", "state"],
                    [[c["AlarmName"], c["StateValue"] or NOT_EVALUATED] for c in record["VigilChildren"]],
                )
            )
        stdout.print(
            table("last 10 history items", ["time (UTC)", "alarm", "type", "summary"], history_rows(items))
        )
        return EXIT_OK

    _run(body)


@alarms_app.command("evaluate", epilog=EPILOG)
def evaluate_command(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Evaluate as of this time (ISO 8601, UTC if no offset). Default: now."),
    ] = None,
    alarm: Annotated[
        list[str] | None,
        typer.Option(
            "--alarm", "-a", help="Only these metric alarms (repeatable; composites are then skipped)."
        ),
    ] = None,
    all_alarms: Annotated[
        bool, typer.Option("--all", help="Show every alarm evaluated, not only the changes.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """Evaluate every alarm once, now (or at `--at`), and print the state changes.

    The same tick `vigil watch` runs every minute: states and history are stored, and the actions
    of alarms that change state are published to their topics. Handy from cron when nothing runs
    `vigil watch`, e.g. `* * * * * vigil ingest s3://trail-bucket/AWSLogs/ -q --no-alarms && vigil
    alarms evaluate`. With `--output json` prints `{"EvaluatedAt": …, "Alarms": [{"AlarmName",
    "OldStateValue", "NewStateValue", "Changed", "NewStateReason", "Actions"}]}` (every alarm
    evaluated; the table shows only changes unless `--all`).
    """
    from vigil import engine, engine_events

    def body() -> int:
        now = parse_at(at) or datetime.now(UTC)
        with engine.context(config, db=db) as ctx:
            cat = engine_events.catalog(ctx)
            unknown = sorted(set(alarm or ()) - {a.name for a in cat.alarms})
            if unknown:
                raise unknown_alarm(unknown[0], cat)
            ticks = engine_events.evaluate_alarms(ctx, now, cat=cat, names=alarm or ())
        shown = [t for t in ticks if all_alarms or t.transition.changed]
        changed = sum(1 for t in ticks if t.transition.changed)
        render(
            output,
            columns=["alarm", "state", "reason", "actions published"],
            rows=evaluation_rows(shown),
            records=evaluation_record(ticks, now),
            title=f"{len(ticks)} alarms evaluated at {now:%Y-%m-%d %H:%M:%S} UTC, {changed} changed state",
            out=out,
        )
        return EXIT_OK

    _run(body)


@alarms_app.command("import", epilog=EPILOG)
def import_command(
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            help="Read this region (repeatable; a,b). Default: aws.regions, else every enabled region.",
        ),
    ] = None,
    log_group: Annotated[
        str | None,
        typer.Option(
            "--log-group",
            help="Run every imported metric filter on this local log group instead of its own "
            "(e.g. aws-cloudtrail-logs-vigil, the default trail's).",
        ),
    ] = None,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    endpoint_url: EndpointOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = Format.table,
    out: OutPathOpt = None,
) -> None:
    """Import the account's own CloudWatch metric filters and alarms (DescribeMetricFilters,
    DescribeAlarms) so they run locally on ingested CloudTrail events.

    Each region is stored as the origin `import:<account>/<region>`; importing again replaces it,
    so nothing is duplicated. Not imported, with the reason: metric-math and percentile alarms,
    composite alarms whose children are not imported, names the config already uses. Imported but
    reported: alarms on metrics no metric filter publishes (AWS service metrics such as
    `AWS/EC2 CPUUtilization`: Vigil only sees CloudTrail events, so they stay INSUFFICIENT_DATA),
    and filters whose log group no trail delivers to — add a trail for it (`events.trails[].log_group`)
    or re-target them with `--log-group`.

    Examples: `vigil alarms import --region us-east-1 --log-group aws-cloudtrail-logs-vigil` ·
    `vigil alarms import --profile audit -o json`

    Exit code 3 when a region or service could not be read (AccessDenied…): the rest is imported,
    and what could not be read keeps its previous import.
    """
    from vigil import engine
    from vigil.alarms.importer import import_definitions
    from vigil.cli import _split

    def body() -> int:
        if log_group is not None and not log_group.strip():
            raise UsageError("--log-group is empty", hint="name a log group, e.g. aws-cloudtrail-logs-vigil")
        aws = {
            "regions": _split(region) or None,
            "profile": profile,
            "role_arn": role_arn,
            "external_id": external_id,
            "endpoint_url": endpoint_url,
        }
        with engine.context(config, db=db, aws=aws) as ctx:
            plan = import_definitions(ctx, log_group=log_group)
        show_import(plan, output, out)
        return EXIT_PARTIAL if plan.partial else EXIT_OK

    _run(body)
