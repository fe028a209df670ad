"""CloudWatch metric alarms re-implemented as pure functions (no store, no AWS).

``vigil.alarms.alarm`` is the single-metric alarm state machine (spec aws-semantics.md §3):
``step_alarm`` turns one evaluation tick's per-period datapoints into the next state, the
reason AWS would write, and the actions to run. The engine owns the clock and the I/O.
"""

from vigil.alarms.alarm import (
    AlarmDefinition,
    AlarmState,
    MetricRef,
    Transition,
    evaluation_range_size,
    initial_state,
    step_alarm,
)

__all__ = [
    "AlarmDefinition",
    "AlarmState",
    "MetricRef",
    "Transition",
    "evaluation_range_size",
    "initial_state",
    "step_alarm",
]
