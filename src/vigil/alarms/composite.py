"""CloudWatch composite alarms: the composite's state machine and composites of composites.

The AlarmRule language (AST, parser, formatting, evaluation against child states) lives in
:mod:`vigil.alarms.rule`; its public names are re-exported here.

A composite is ALARM when its rule is true and OK otherwise: "for a composite alarm, this initial
time after creation is the only time that the alarm can be in INSUFFICIENT_DATA state" [DOC,
PutCompositeAlarm]. Every child the rule names must have a state (see :mod:`vigil.alarms.rule`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vigil.alarms.alarm import INITIAL_REASON, AlarmState, StateValue, Transition, aws_timestamp
from vigil.alarms.rule import (
    MAX_CHILDREN,
    MAX_ELEMENTS,
    MAX_RULE_LENGTH,
    And,
    AtLeast,
    Const,
    Not,
    Or,
    Rule,
    RuleError,
    StateIs,
    _holds,
    _missing_error,
    _resolver,
    alarm_name,
    evaluate_rule,
    format_rule,
    missing_alarms,
    parse_rule,
    referenced_alarms,
    triggering_alarms,
)
from vigil.errors import ConfigError, Problem, UsageError

DEFAULT_ARN_PREFIX = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


class CycleError(UsageError):
    """Composite alarms that depend on each other; ``cycle`` is the path, first name repeated last."""

    def __init__(self, cycle: tuple[str, ...]) -> None:
        self.cycle = cycle
        super().__init__(
            "composite alarms form a cycle: " + " → ".join(cycle),
            hint="CloudWatch stops evaluating a cycle; change one AlarmRule in it (AWS suggests FALSE)",
        )


# ---------------------------------------------------------------------------------------------
# The composite alarm and its state machine.


@dataclass(frozen=True)
class CompositeAlarmDefinition:
    """A composite alarm, the PutCompositeAlarm fields evaluation uses; the rule is parsed at construction.

    ``ActionsSuppressor`` (WaitPeriod/ExtensionPeriod) is not modelled yet.
    """

    name: str
    alarm_rule: str
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    description: str | None = None
    rule: Rule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"composite alarm {self.name!r}"
        problems: list[Problem] = []
        if not self.name or len(self.name) > 255:
            problems.append(
                Problem(f"{where}.name", "alarm name must be 1–255 characters", "give a short name")
            )
        for fld in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            for arn in getattr(self, fld):
                if not isinstance(arn, str) or not arn.startswith("arn:"):
                    problems.append(
                        Problem(
                            f"{where}.{fld}",
                            f"action {arn!r} is not an ARN",
                            "use an SNS topic ARN or similar",
                        )
                    )
        try:
            object.__setattr__(self, "rule", parse_rule(self.alarm_rule))
        except RuleError as exc:
            problems.append(Problem(f"{where}.alarm_rule", exc.message, exc.hint))
        if problems:
            raise ConfigError(problems, source=where)

    def actions_for(self, state: StateValue) -> tuple[str, ...]:
        table = {
            "ALARM": self.alarm_actions,
            "OK": self.ok_actions,
            "INSUFFICIENT_DATA": self.insufficient_data_actions,
        }
        return table[state]


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def reason_time(t: datetime) -> str:
    """``Friday 22 July, 2022 15:57:45 UTC``, as composite reasons word a child's transition time."""
    t = t.astimezone(UTC)
    return f"{_WEEKDAYS[t.weekday()]} {t.day:02d} {_MONTHS[t.month - 1]}, {t.year} {t:%H:%M:%S} UTC"


def step_composite(
    definition: CompositeAlarmDefinition,
    children: Mapping[str, AlarmState],
    previous_state: AlarmState,
    now: datetime,
    *,
    arn_prefix: str = DEFAULT_ARN_PREFIX,
) -> Transition:
    """One evaluation of a composite: its next state, CloudWatch's reason and reason data, actions.

    ``children`` maps each child (by name or ARN) to its current state; every child the rule names
    must be there. Reasons as CloudWatch writes them: ``<arn> was created and its alarm rule
    evaluates to OK`` on the first evaluation, else ``<child arn> transitioned to ALARM at <time>``
    naming the triggering child that changed last (ties: first in the rule). Reason data is
    ``{"triggeringAlarms":[{"arn":…,"state":{"value":…,"timestamp":…}}]}``.
    """
    if now.tzinfo is None:
        raise UsageError(
            f"composite alarm {definition.name!r}: evaluation time {now.isoformat()} has no timezone",
            hint="pass an aware UTC datetime, e.g. datetime.now(UTC)",
        )
    missing = missing_alarms(definition.rule, children)
    if missing:
        raise _missing_error(missing)
    state_of = _resolver(children)
    holds = _holds(definition.rule, state_of)
    new: StateValue = "ALARM" if holds else "OK"

    def arn(reference: str) -> str:
        return reference if reference.startswith("arn:") else arn_prefix + reference

    triggering = triggering_alarms(definition.rule, state_of, holds)
    reason_data = json.dumps(
        {
            "triggeringAlarms": [
                {
                    "arn": arn(r),
                    "state": {"value": state_of(r).value, "timestamp": aws_timestamp(state_of(r).timestamp)},
                }
                for r in triggering
            ]
        },
        separators=(",", ":"),
    )
    if previous_state.reason == INITIAL_REASON:
        reason = f"{arn(definition.name)} was created and its alarm rule evaluates to {new}"
    elif not triggering:  # TRUE/FALSE only: no child to name (Vigil's wording)
        reason = f"{arn(definition.name)} alarm rule evaluates to {new}"
    else:
        latest = max(triggering, key=lambda r: state_of(r).timestamp)
        when = reason_time(state_of(latest).timestamp)
        reason = f"{arn(latest)} transitioned to {state_of(latest).value} at {when}"
    if new == previous_state.value:
        return Transition(previous_state, previous_state, False, reason, reason_data)
    state = AlarmState(new, reason, now, reason_data)
    actions = definition.actions_for(new) if definition.actions_enabled else ()
    return Transition(state, previous_state, True, reason, reason_data, actions)


# ---------------------------------------------------------------------------------------------
# Composites of composites.


def evaluation_order(composites: Mapping[str, Rule]) -> tuple[str, ...]:
    """Composite names, children before parents, so one pass sees every child's new state.

    Raises :class:`CycleError` naming the path when composites depend on each other.
    """
    by_name = {alarm_name(k): k for k in composites}
    done: dict[str, None] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in path:
            raise CycleError((*path[path.index(name) :], name))
        path.append(name)
        for ref in referenced_alarms(composites[by_name[name]]):
            child = alarm_name(ref)
            if child in by_name:
                visit(child)
        path.pop()
        done.setdefault(name)

    for key in composites:
        visit(alarm_name(key))
    return tuple(by_name[n] for n in done)


def check_cycles(composites: Mapping[str, Rule]) -> None:
    """Raise :class:`CycleError` if the composites' rules form a cycle."""
    evaluation_order(composites)


__all__ = [
    "DEFAULT_ARN_PREFIX",
    "MAX_CHILDREN",
    "MAX_ELEMENTS",
    "MAX_RULE_LENGTH",
    "And",
    "AtLeast",
    "CompositeAlarmDefinition",
    "Const",
    "CycleError",
    "Not",
    "Or",
    "Rule",
    "RuleError",
    "StateIs",
    "alarm_name",
    "check_cycles",
    "evaluate_rule",
    "evaluation_order",
    "format_rule",
    "missing_alarms",
    "parse_rule",
    "reason_time",
    "referenced_alarms",
    "step_composite",
    "triggering_alarms",
]
