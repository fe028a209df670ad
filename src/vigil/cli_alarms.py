"""``vigil alarms …``: CloudWatch metric and composite alarms.

``list``, ``describe``, ``history`` read the alarms in force (monitoring pack, config file, imports)
and their states and history in the store, and print CloudWatch's own shapes with ``--output json``
(DescribeAlarms, DescribeAlarmHistory); ``evaluate`` runs one tick as ``vigil watch`` does;
``import`` brings an account's metric filters and alarms in (``alarms/importer.py``).
``simulate`` runs one evaluation tick of a metric alarm (PutMetricAlarm's shape) over a list of
per-period values; ``simulate-composite`` evaluates an AlarmRule over given child states. Both print
``{"state": …, "reason": …}`` with ``--output json``. ``cli.py`` adds this group to the main app.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from vigil.alarms.alarm import (
    INITIAL_REASON,
    OPERATORS,
    STATES,
    AlarmDefinition,
    AlarmState,
    StateValue,
    Transition,
    decide,
    range_starts,
    step_alarm,
)
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
from vigil.errors import EXIT_OK, EXIT_PARTIAL, ConfigError, UsageError
from vigil.output import Format, emit, render, stdout, table, to_json

alarms_app = typer.Typer(
    help="CloudWatch alarms: list them with their states, describe one, show their history, evaluate "
    "them now, import an account's own, and simulate metric and composite alarms exactly as CloudWatch "
    "evaluates them.",
    no_args_is_help=True,
)

#: Evaluation time when --at is not given: fixed, so a simulation always prints the same thing
#: (aligned down to the alarm's period, so the last datapoint is the period that just ended).
DEFAULT_NOW = datetime(2025, 1, 1, tzinfo=UTC)


class InitialState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


InitialStateOpt = Annotated[
    InitialState,
    typer.Option("--initial-state", help="The alarm's state before this evaluation.", case_sensitive=True),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="Evaluation time, ISO 8601 (UTC if no offset). Default: a fixed time."),
]
OutputOpt = Annotated[Format, typer.Option("--output", "-o", help="Output format: table or json.")]


# -- shared input helpers ------------------------------------------------------------------------


def read_json(text: str, option: str, hint: str) -> Any:
    """An option's JSON value, given inline or as ``@file.json``; exit 2 saying where it is wrong."""
    source = option
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option}: cannot read {path}: {exc.strerror}", hint=hint) from exc
        source = f"{option} {path}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", hint=hint
        ) from None


def parse_at(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        t = datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(
            f"--at {at!r} is not an ISO 8601 time", hint="e.g. --at 2025-05-14T01:58:00Z"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def previous_state(value: StateValue, now: datetime) -> AlarmState:
    """The state before the simulated tick (a just-created alarm when INSUFFICIENT_DATA)."""
    reason = INITIAL_REASON if value == "INSUFFICIENT_DATA" else f"Simulated initial state {value}"
    return AlarmState(value, reason, now)


def render_result(result: Transition, output: Format, title: str, details: list[str]) -> None:
    if output is Format.json:
        emit(to_json({"state": result.state.value, "reason": result.reason}), None)
        return
    changed = f"{result.previous.value} → {result.state.value}" if result.changed else "unchanged"
    lines = [f"[bold]{result.state.value}[/bold] ({changed})", escape(result.reason), *map(escape, details)]
    if result.actions:
        lines.append(escape("actions: " + ", ".join(result.actions)))
    stdout.print(Panel("\n".join(lines), title=title, title_align="left", expand=False))


# -- vigil alarms simulate -------------------------------------------------------------------------

ALARM_HINT = (
    'give the alarm as PutMetricAlarm takes it, e.g. {"AlarmName": "x", "MetricName": …} or @alarm.json'
)
DATAPOINTS_HINT = "give a JSON list of numbers, null for a missing period, oldest first: [1.5, null, 7]"


def datapoints_by_period(
    definition: AlarmDefinition, values: list[float | None], now: datetime
) -> dict[datetime, float]:
    """Map the values (oldest first, the last one the period just ended) onto the evaluation range.

    A longer list keeps its newest values; a shorter one leaves the oldest periods missing.
    """
    starts = range_starts(definition, now)
    newest = values[-len(starts) :]
    padded = [None] * (len(starts) - len(newest)) + newest
    return {t: v for t, v in zip(starts, padded, strict=True) if v is not None}


def _datapoints(raw: Any) -> list[float | None]:
    if not isinstance(raw, list):
        raise UsageError(f"--datapoints must be a JSON list, not {type(raw).__name__}", hint=DATAPOINTS_HINT)
    for i, v in enumerate(raw):
        ok = v is None or (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v))
        if not ok:
            raise UsageError(f"--datapoints[{i}] is {v!r}, not a number or null", hint=DATAPOINTS_HINT)
    return [None if v is None else float(v) for v in raw]


@alarms_app.command("simulate", epilog=EPILOG)
def simulate(
    alarm: Annotated[
        str,
        typer.Option("--alarm", help="The metric alarm as JSON in PutMetricAlarm's shape, or @file.json."),
    ],
    datapoints: Annotated[
        str,
        typer.Option(
            "--datapoints",
            help="JSON list, one value per period, oldest first, null = missing; the last is the period just ended.",
        ),
    ],
    initial_state: InitialStateOpt = InitialState.INSUFFICIENT_DATA,
    at: AtOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """One evaluation of a metric alarm over per-period datapoints, as CloudWatch would do it.

    With `--output json` prints `{"state": …, "reason": …}`. An invalid alarm or datapoints list exits 2.
    """
    from vigil.alarms.aws_shape import definition_from_aws

    def body() -> int:
        try:
            definition = definition_from_aws(read_json(alarm, "--alarm", ALARM_HINT))
        except ConfigError as exc:  # same problems, with a hint for the command line
            raise UsageError(exc.message, hint=ALARM_HINT) from None
        values = _datapoints(read_json(datapoints, "--datapoints", DATAPOINTS_HINT))
        now = parse_at(at) or datetime.fromtimestamp(
            int(DEFAULT_NOW.timestamp()) // definition.period * definition.period, UTC
        )
        points = datapoints_by_period(definition, values, now)
        result = step_alarm(definition, points, previous_state(initial_state.value, now), now)
        if output is Format.json:
            render_result(result, output, "", [])
            return EXIT_OK
        render_result(result, output, f"alarm {definition.name}", [])
        stdout.print(_datapoints_table(definition, points, now))
        return EXIT_OK

    _run(body)


#: What a period's value is, judged against the threshold.
CLASSIFIED = {None: "missing", True: "breaching", False: "not breaching"}


def classified_range(
    definition: AlarmDefinition, points: Mapping[datetime, float], now: datetime
) -> list[tuple[datetime, float | None, str, bool]]:
    """The evaluation range at ``now``: (period start, value, classification, evaluated), oldest first."""
    starts = range_starts(definition, now)
    test = OPERATORS[definition.comparison_operator][0]
    values = [points.get(t) for t in starts]
    vals = [None if v is None else test(v, definition.threshold) for v in values]
    evaluated = set(
        decide(
            vals, definition.evaluation_periods, definition.m, definition.effective_treat_missing_data
        ).window
    )
    return [
        (t, v, CLASSIFIED[c], i in evaluated)
        for i, (t, v, c) in enumerate(zip(starts, values, vals, strict=True))
    ]


def _datapoints_table(definition: AlarmDefinition, points: Mapping[datetime, float], now: datetime) -> Any:
    rows = [
        [t.strftime("%Y-%m-%d %H:%M:%S"), "" if v is None else v, label, "yes" if used else ""]
        for t, v, label, used in classified_range(definition, points, now)
    ]
    phrase = OPERATORS[definition.comparison_operator][1]
    title = (
        f"evaluation range: {len(rows)} periods of {definition.period}s, breaching = {phrase} "
        f"{definition.threshold}, {definition.m} of {definition.evaluation_periods}, "
        f"TreatMissingData {definition.effective_treat_missing_data}"
    )
    return table(title, ["period start (UTC)", "value", "classified", "evaluated"], rows)


# -- vigil alarms simulate-composite ---------------------------------------------------------------

STATES_HINT = (
    'give a JSON object of alarm name (or ARN) → state, e.g. {"cpu-high": "ALARM", "deploying": "OK"}'
)


def _states(raw: Any, now: datetime) -> dict[str, AlarmState]:
    if not isinstance(raw, dict):
        raise UsageError(f"--states must be a JSON object, not {type(raw).__name__}", hint=STATES_HINT)
    out: dict[str, AlarmState] = {}
    for name, value in raw.items():
        if value not in STATES:
            raise UsageError(
                f"--states[{name!r}] is {value!r}, not one of {', '.join(STATES)}", hint=STATES_HINT
            )
        out[name] = AlarmState(value, f"Simulated state {value}", now)
    return out


@alarms_app.command("simulate-composite", epilog=EPILOG)
def simulate_composite(
    rule: Annotated[
        str, typer.Option("--rule", help='The AlarmRule, e.g. ALARM(cpu) AND NOT ALARM("deploy window").')
    ],
    states: Annotated[
        str,
        typer.Option("--states", help="JSON object: child alarm name or ARN → OK|ALARM|INSUFFICIENT_DATA."),
    ],
    name: Annotated[
        str, typer.Option("--name", help="The composite alarm's name (used in reasons).")
    ] = "composite",
    initial_state: InitialStateOpt = InitialState.INSUFFICIENT_DATA,
    at: AtOpt = None,
    output: OutputOpt = Format.table,
) -> None:
    """One evaluation of a composite alarm's rule over its children's states.

    With `--output json` prints `{"state": …, "reason": …}`. An invalid rule exits 2 with the column
    and what was expected; a rule naming an alarm missing from `--states` exits 2 too.
    """
    from vigil.alarms.composite import CompositeAlarmDefinition, parse_rule, step_composite

    def body() -> int:
        parse_rule(rule)  # a bad rule exits 2 with its column, before the definition wraps the error
        definition = CompositeAlarmDefinition(name, rule)
        now = parse_at(at) or DEFAULT_NOW
        children = _states(read_json(states, "--states", STATES_HINT), now)
        result = step_composite(definition, children, previous_state(initial_state.value, now), now)
        triggering = json.loads(result.reason_data or "{}").get("triggeringAlarms", [])
        details = ["triggering: " + ", ".join(f"{t['arn']} ({t['state']['value']})" for t in triggering)]
        render_result(result, output, f"composite alarm {name}", details if triggering else [])
        return EXIT_OK

    _run(body)


# == the alarms in force: list, describe, history, evaluate, import =================================
#
# These read the catalog (config file, monitoring pack, imports) and the states and history in the
# store. JSON output uses CloudWatch's own shapes (DescribeAlarms, DescribeAlarmHistory), so scripts
# written against `aws cloudwatch describe-alarms` read it unchanged; Vigil's additions are marked
# with a `Vigil` prefix.

NOT_EVALUATED = "not evaluated yet"

#: Comparison operator → the symbol shown in tables.
OPERATOR_SYMBOLS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


class HistoryType(StrEnum):
    StateUpdate = "StateUpdate"
    Action = "Action"


@dataclass(frozen=True)
class Where:
    """Where local alarms live: the account the latest scan recorded and the home region."""

    account: str
    region: str

    def arn(self, name: str, origin: str) -> str:
        account, region = self.account, self.region
        if origin.startswith("import:") and "/" in origin:  # import:<account>/<region>
            account, region = origin.removeprefix("import:").split("/", 1)
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def _state_fields(state: AlarmState | None) -> dict[str, Any]:
    """DescribeAlarms' state fields; an alarm never evaluated is as AWS shows a new one."""
    if state is None:
        return {
            "StateValue": "INSUFFICIENT_DATA",
            "StateReason": INITIAL_REASON,
            "StateUpdatedTimestamp": None,
        }
    out: dict[str, Any] = {"StateValue": state.value, "StateReason": state.reason}
    if state.reason_data is not None:
        out["StateReasonData"] = state.reason_data
    out["StateUpdatedTimestamp"] = state.timestamp.astimezone(UTC).isoformat()
    return out


def metric_alarm_item(
    a: AlarmDefinition, state: AlarmState | None, origin: str, where: Where
) -> dict[str, Any]:
    """A DescribeAlarms ``MetricAlarms`` item, plus ``VigilOrigin``."""
    from vigil.alarms.aws_shape import definition_to_aws

    body = definition_to_aws(a)
    return (
        {"AlarmName": a.name, "AlarmArn": where.arn(a.name, origin)}
        | body
        | _state_fields(state)
        | {"VigilOrigin": origin}
    )


def composite_alarm_item(
    c: CompositeAlarmDefinition, state: AlarmState | None, origin: str, where: Where
) -> dict[str, Any]:
    """A DescribeAlarms ``CompositeAlarms`` item, plus ``VigilOrigin``."""
    out: dict[str, Any] = {"AlarmName": c.name, "AlarmArn": where.arn(c.name, origin)}
    if c.description is not None:
        out["AlarmDescription"] = c.description
    out |= {
        "ActionsEnabled": c.actions_enabled,
        "OKActions": list(c.ok_actions),
        "AlarmActions": list(c.alarm_actions),
        "InsufficientDataActions": list(c.insufficient_data_actions),
        "AlarmRule": c.alarm_rule,
    }
    return out | _state_fields(state) | {"VigilOrigin": origin}


def metric_text(a: AlarmDefinition) -> str:
    """``CISBenchmark RootAccountUsage: Sum ≥ 1.0, 1 of 1 × 300s``."""
    m = a.metric
    dims = ", ".join(f"{k}={v}" for k, v in m.dimensions)
    return (
        f"{m.namespace} {m.name}{f' ({dims})' if dims else ''}: {a.statistic} "
        f"{OPERATOR_SYMBOLS.get(a.comparison_operator, a.comparison_operator)} {a.threshold}, "
        f"{a.m} of {a.evaluation_periods} × {a.period}s"
    )


def actions_text(d: AlarmDefinition | CompositeAlarmDefinition, *, short: bool = False) -> str:
    """``ALARM: arn…`` per state with actions; ``short`` keeps only each ARN's last part (the topic)."""

    def shown(arn: str) -> str:
        return arn.rsplit(":", 1)[-1] if short else arn

    parts = [
        f"{state}: {', '.join(map(shown, d.actions_for(state)))}" for state in STATES if d.actions_for(state)
    ]
    text = "; ".join(parts)
    return f"{text} (disabled)" if text and not d.actions_enabled else text


def _since(state: AlarmState | None) -> str:
    return "" if state is None else state.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _matches_origin(origin: str, wanted: list[str]) -> bool:
    return not wanted or any(origin == w or origin.startswith(w) for w in wanted)


def _loaded(ctx: Any) -> tuple[Any, dict[str, AlarmState], Where]:
    """The catalog, the stored states and where local alarms live."""
    from vigil import engine_events
    from vigil.store import alarms as alarm_store

    cat = engine_events.catalog(ctx)
    with ctx.store.connect() as conn:
        states = alarm_store.load_states(conn)
        account = engine_events.alarm_account(conn)
    return cat, states, Where(account, ctx.settings.aws.home_region)


def _unknown(name: str, cat: Any) -> UsageError:
    names = [a.name for a in cat.alarms] + [c.name for c in cat.composites]
    close = [n for n in names if name.lower() in n.lower()][:5]
    hint = f"did you mean {', '.join(close)}?" if close else "list the alarms with `vigil alarms list`"
    return UsageError(f"no alarm named {name!r}", hint=hint)


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
            return in_state and _matches_origin(cat.origins.get(name, ""), wanted)

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
                        _since(st),
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


def history_items(items: list[Any], composites: set[str]) -> list[dict[str, Any]]:
    """DescribeAlarmHistory's ``AlarmHistoryItems`` (``HistoryData`` is JSON text, as AWS gives it)."""
    return [
        {
            "AlarmName": h.alarm,
            "AlarmType": "CompositeAlarm" if h.alarm in composites else "MetricAlarm",
            "Timestamp": h.at.astimezone(UTC).isoformat(),
            "HistoryItemType": h.item_type,
            "HistorySummary": h.summary,
            "HistoryData": json.dumps(h.data, separators=(",", ":")),
        }
        for h in items
    ]


def _history_rows(items: list[Any]) -> list[list[Any]]:
    return [
        [h.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), h.alarm, h.item_type, h.summary] for h in items
    ]


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
            rows=_history_rows(items),
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
                raise _unknown(name, cat)
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
        lines = [
            f"[bold]{state.value if state else NOT_EVALUATED}[/bold]"
            + (f" since {_since(state)} UTC" if state else ""),
            escape(state.reason if state else INITIAL_REASON),
            f"origin: {escape(origin)}",
            escape(watches),
            escape(f"actions: {actions_text(definition) or 'none'}"),
        ]
        if definition.description:
            lines.insert(0, escape(definition.description))
        if state and state.reason_data:
            lines.append(escape(f"reason data: {state.reason_data}"))
        stdout.print(Panel("\n".join(lines), title=f"alarm {escape(name)}", title_align="left", expand=False))
        if metric is not None:
            stdout.print(_datapoints_table(metric, points, now))
        else:
            stdout.print(
                table(
                    "children",
                    ["alarm", "state"],
                    [[c["AlarmName"], c["StateValue"] or NOT_EVALUATED] for c in record["VigilChildren"]],
                )
            )
        stdout.print(
            table("last 10 history items", ["time (UTC)", "alarm", "type", "summary"], _history_rows(items))
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
                raise _unknown(unknown[0], cat)
            ticks = engine_events.evaluate_alarms(ctx, now, cat=cat, names=alarm or ())
        shown = [t for t in ticks if all_alarms or t.transition.changed]
        records = {
            "EvaluatedAt": now.astimezone(UTC).isoformat(),
            "Alarms": [
                {
                    "AlarmName": t.name,
                    "OldStateValue": t.transition.previous.value,
                    "NewStateValue": t.transition.state.value,
                    "Changed": t.transition.changed,
                    "NewStateReason": t.transition.reason,
                    "Actions": list(t.transition.actions),
                }
                for t in ticks
            ],
        }
        rows = [
            [
                t.name,
                f"{t.transition.previous.value} → {t.transition.state.value}"
                if t.transition.changed
                else t.transition.state.value,
                t.transition.reason,
                ", ".join(t.transition.actions),
            ]
            for t in shown
        ]
        changed = sum(1 for t in ticks if t.transition.changed)
        render(
            output,
            columns=["alarm", "state", "reason", "actions published"],
            rows=rows,
            records=records,
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
        _show_import(plan, output, out)
        return EXIT_PARTIAL if plan.partial else EXIT_OK

    _run(body)


def _show_import(plan: Any, output: Format, out: Path | None) -> None:
    from vigil.alarms.importer import ALARM, COMPOSITE, FILTER, SERVICES

    data = plan.as_dict()
    notes = [["not imported", n.kind, n.name, n.region, n.message] for n in plan.skipped] + [
        ["warning", n.kind, n.name, n.region, n.message] for n in plan.warnings
    ]
    notes += [
        ["unreadable", u.service, SERVICES.get(u.service, u.service), u.region, f"{u.code}: {u.message}"]
        for u in plan.unreadable
    ]
    if output is not Format.table:
        render(
            output, columns=["status", "kind", "name", "region", "reason"], rows=notes, records=data, out=out
        )
        return

    def count(bodies: dict[str, Any] | None) -> str:
        return "not read" if bodies is None else str(len(bodies))

    rows = [
        [
            r.region,
            count(r.bodies.get(FILTER)),
            count(r.bodies.get(ALARM)),
            count(r.bodies.get(COMPOSITE)),
            r.origin,
        ]
        for r in plan.regions
    ]
    stdout.print(
        table(
            f"Imported from account {plan.account}",
            ["region", "metric filters", "metric alarms", "composite alarms", "origin"],
            rows,
        )
    )
    if notes:
        stdout.print(
            table("Will not run locally as in AWS", ["status", "kind", "name", "region", "reason"], notes)
        )
