"""``vigil alarms simulate`` and ``vigil alarms simulate-composite``: one evaluation, as CloudWatch does it.

``simulate`` runs one evaluation tick of a metric alarm (PutMetricAlarm's shape) over a list of
per-period values; ``simulate-composite`` evaluates an AlarmRule over given child states. Both print
``{"state": …, "reason": …}`` with ``--output json``. The functions are plain: ``cli_alarms.py``
registers them on ``alarms_app`` (so this module does not import it, and there is no cycle).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from vigil.alarm_views import (
    AtOpt,
    InitialState,
    InitialStateOpt,
    OutputOpt,
    datapoints_table,
    parse_at,
    read_json,
)
from vigil.alarms.alarm import (
    INITIAL_REASON,
    STATES,
    AlarmDefinition,
    AlarmState,
    StateValue,
    Transition,
    range_starts,
    step_alarm,
)
from vigil.cli import _run
from vigil.errors import EXIT_OK, ConfigError, UsageError
from vigil.output import Format, emit, stdout, to_json

#: Evaluation time when --at is not given: fixed, so a simulation always prints the same thing
#: (aligned down to the alarm's period, so the last datapoint is the period that just ended).
DEFAULT_NOW = datetime(2025, 1, 1, tzinfo=UTC)


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
        stdout.print(datapoints_table(definition, points, now))
        return EXIT_OK

    _run(body)


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
