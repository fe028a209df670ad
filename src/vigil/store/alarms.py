"""Alarm states and history (DescribeAlarms / DescribeAlarmHistory), and imported definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from vigil.alarms.alarm import AlarmState, Transition
from vigil.store.schema import alarm_history, alarm_states, definitions


def load_states(conn: Connection) -> dict[str, AlarmState]:
    return {
        r.name: AlarmState(r.state, r.reason, r.updated_at, r.reason_data)
        for r in conn.execute(select(alarm_states))
    }


def _state_data(state: AlarmState) -> dict[str, Any]:
    out: dict[str, Any] = {"stateValue": state.value, "stateReason": state.reason}
    if state.reason_data is not None:
        out["stateReasonData"] = state.reason_data
    return out


def save_tick(conn: Connection, name: str, transition: Transition, now: datetime, *, known: bool) -> None:
    """Store one evaluation: the state (created on first sight), and a history item on a change.
    An unchanged, known alarm is not written here: ``touch_evaluated`` marks them all at once."""
    state = transition.state
    if not known:
        first = transition.previous
        conn.execute(
            insert(alarm_states).values(
                name=name,
                state=first.value,
                reason=first.reason,
                reason_data=first.reason_data,
                updated_at=first.timestamp,
                evaluated_at=now,
            )
        )
    if transition.changed:
        conn.execute(
            update(alarm_states)
            .where(alarm_states.c.name == name)
            .values(
                state=state.value,
                reason=state.reason,
                reason_data=state.reason_data,
                updated_at=state.timestamp,
                evaluated_at=now,
            )
        )
        conn.execute(
            insert(alarm_history).values(
                alarm_name=name,
                at=state.timestamp,
                item_type="StateUpdate",
                summary=f"Alarm updated from {transition.previous.value} to {state.value}",
                data={
                    "version": "1.0",
                    "oldState": _state_data(transition.previous),
                    "newState": _state_data(state),
                },
            )
        )


def touch_evaluated(conn: Connection, names: Sequence[str], now: datetime) -> None:
    """Mark alarms evaluated at ``now`` whose state did not change (one statement per 500)."""
    names = list(names)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        conn.execute(update(alarm_states).where(alarm_states.c.name.in_(chunk)).values(evaluated_at=now))


def record_action(conn: Connection, name: str, action: str, at: datetime, *, ok: bool, detail: str) -> None:
    verb = "Successfully executed" if ok else "Failed to execute"
    conn.execute(
        insert(alarm_history).values(
            alarm_name=name,
            at=at,
            item_type="Action",
            summary=f"{verb} action {action}",
            data={
                "actionState": "Succeeded" if ok else "Failed",
                "notificationResource": action,
                "detail": detail,
            },
        )
    )


@dataclass(frozen=True)
class HistoryItem:
    alarm: str
    at: datetime
    item_type: str
    summary: str
    data: dict[str, Any]


def history(
    conn: Connection, names: Sequence[str] = (), *, item_type: str | None = None, limit: int = 100
) -> list[HistoryItem]:
    c = alarm_history.c
    query = select(alarm_history).order_by(c.at.desc(), c.id.desc()).limit(limit)
    if names:
        query = query.where(c.alarm_name.in_(list(names)))
    if item_type:
        query = query.where(c.item_type == item_type)
    return [
        HistoryItem(r.alarm_name, r.at, r.item_type, r.summary, dict(r.data)) for r in conn.execute(query)
    ]


def forget(conn: Connection, names: Sequence[str]) -> None:
    """Drop states of alarms that no longer exist (history is kept)."""
    if names:
        conn.execute(delete(alarm_states).where(alarm_states.c.name.in_(list(names))))


# ---------------------------------------------------------------------------------- definitions


def save_definitions(
    conn: Connection, kind: str, bodies: Mapping[str, Mapping[str, Any]], origin: str, at: datetime
) -> int:
    """Replace imported definitions of one kind and origin with ``bodies`` (name → AWS shape)."""
    conn.execute(delete(definitions).where(definitions.c.kind == kind, definitions.c.origin == origin))
    for name, body in bodies.items():
        conn.execute(delete(definitions).where(definitions.c.kind == kind, definitions.c.name == name))
        conn.execute(
            insert(definitions).values(kind=kind, name=name, body=dict(body), origin=origin, updated_at=at)
        )
    return len(bodies)


def load_definitions(conn: Connection, kind: str) -> list[tuple[str, dict[str, Any], str]]:
    """(name, body, origin) of every stored definition of ``kind``, by name."""
    c = definitions.c
    rows = conn.execute(select(c.name, c.body, c.origin).where(c.kind == kind).order_by(c.name))
    return [(r.name, dict(r.body), r.origin) for r in rows]
