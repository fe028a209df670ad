"""What ``vigil alarms …`` shows, and how it reads its inputs: the pure helpers its commands share.

The options both the store-reading commands (``cli_alarms.py``) and the simulations
(``cli_alarms_simulate.py``) take, reading a JSON option (inline or ``@file.json``) and ``--at``;
an evaluation range's datapoints classified against the threshold; and CloudWatch's own shapes for
``--output json``: DescribeAlarms' ``MetricAlarms``/``CompositeAlarms`` items and
DescribeAlarmHistory's ``AlarmHistoryItems`` (Vigil's additions carry a ``Vigil`` prefix).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from vigil.alarms.alarm import (
    INITIAL_REASON,
    OPERATORS,
    STATES,
    AlarmDefinition,
    AlarmState,
    decide,
    range_starts,
)
from vigil.alarms.composite import CompositeAlarmDefinition
from vigil.errors import UsageError
from vigil.output import Format, render, stdout, table

if TYPE_CHECKING:
    from vigil.engine_events import AlarmTick


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


# -- reading inputs ------------------------------------------------------------------------------


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


# -- an evaluation range, classified -------------------------------------------------------------


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


def datapoints_table(definition: AlarmDefinition, points: Mapping[datetime, float], now: datetime) -> Any:
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


# -- DescribeAlarms / DescribeAlarmHistory shapes and table text -----------------------------------

NOT_EVALUATED = "not evaluated yet"

#: Comparison operator → the symbol shown in tables.
OPERATOR_SYMBOLS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


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


def since(state: AlarmState | None) -> str:
    return "" if state is None else state.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def matches_origin(origin: str, wanted: list[str]) -> bool:
    return not wanted or any(origin == w or origin.startswith(w) for w in wanted)


def unknown_alarm(name: str, cat: Any) -> UsageError:
    names = [a.name for a in cat.alarms] + [c.name for c in cat.composites]
    close = [n for n in names if name.lower() in n.lower()][:5]
    hint = f"did you mean {', '.join(close)}?" if close else "list the alarms with `vigil alarms list`"
    return UsageError(f"no alarm named {name!r}", hint=hint)


def alarm_panel(
    name: str,
    definition: AlarmDefinition | CompositeAlarmDefinition,
    watches: str,
    state: AlarmState | None,
    origin: str,
) -> Panel:
    """``vigil alarms describe``'s panel: state and since when, reason, origin, what it watches, actions."""
    lines = [
        f"[bold]{state.value if state else NOT_EVALUATED}[/bold]"
        + (f" since {since(state)} UTC" if state else ""),
        escape(state.reason if state else INITIAL_REASON),
        f"origin: {escape(origin)}",
        escape(watches),
        escape(f"actions: {actions_text(definition) or 'none'}"),
    ]
    if definition.description:
        lines.insert(0, escape(definition.description))
    if state and state.reason_data:
        lines.append(escape(f"reason data: {state.reason_data}"))
    return Panel("\n".join(lines), title=f"alarm {escape(name)}", title_align="left", expand=False)


def evaluation_record(ticks: list[AlarmTick], now: datetime) -> dict[str, Any]:
    """``vigil alarms evaluate -o json``: every alarm evaluated, changed or not."""
    return {
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


def evaluation_rows(shown: list[AlarmTick]) -> list[list[Any]]:
    return [
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


def history_rows(items: list[Any]) -> list[list[Any]]:
    return [
        [h.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), h.alarm, h.item_type, h.summary] for h in items
    ]


def show_import(plan: Any, output: Format, out: Path | None) -> None:
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
