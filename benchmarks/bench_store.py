"""Store write rate: configuration items recorded per second, on SQLite and PostgreSQL.

10,000 synthetic security-group CIs (50,000 with ``--full``; see ``synthetic.py``) are recorded with
``vigil.store.inventory.record()`` the way the recorder writes a scan: in collection units of 500
CIs, one transaction per unit, each unit a complete scope of its own (one account per unit, since
``record()`` wants every CI of a batch inside the scope and marks unseen resources of a complete
scope deleted). Three phases, each over every unit:

  * first recording: every resource is new (a ``resources`` row, a CI, tags, relationships);
  * unchanged re-recording: the same CIs again; no history rows, only ``last_seen`` is touched;
  * changed re-recording: every CI at a new revision; one new history row per resource.

Baseline, measured in the same run on the same backend: a plain SQLAlchemy Core executemany
``INSERT`` of the same JSON documents into a bare ``(id, document)`` table, in the same units and
transactions. ``vs bare`` is our rate divided by that rate: what the history semantics, hashing,
indexes and side tables cost over writing the documents alone.

Only the writing is timed; building the CIs and their documents is done before each unit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from benchlib import (
    SKIPPED_UNREACHABLE,
    BenchStore,
    ResultTable,
    Stopwatch,
    available_backends,
    main,
    open_bench_store,
    ratio,
)
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert
from sqlalchemy.dialects.postgresql import JSONB
from synthetic import REGION, SECURITY_GROUP, account_id, unit_cis

from vigil.store import inventory
from vigil.store.inventory import RecordResult, Scope

UNIT_SIZE = 500
PHASES = (
    ("first recording (all new)", 0),
    ("re-record, unchanged", 0),
    ("re-record, every CI changed", 1),
)


def _bare_table() -> Table:
    """The baseline's table: an id and the document, nothing else (JSONB on PostgreSQL, as the store)."""
    return Table(
        "bench_bare_documents",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("document", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )


def record_all(bench: BenchStore, units: int, revision: int, now: datetime) -> tuple[float, RecordResult]:
    """Record every unit at ``revision``; the seconds spent writing, and what ``record()`` counted."""
    watch, total = Stopwatch(), RecordResult()
    for unit in range(units):
        cis = unit_cis(unit, UNIT_SIZE, revision)
        scope = Scope(account_id(unit), REGION, SECURITY_GROUP)
        with watch, bench.store.begin() as conn:
            total.add(inventory.record(conn, cis, scope, now=now))
    return watch.seconds, total


def bare_insert_all(bench: BenchStore, units: int) -> float:
    """The baseline: the same documents, executemany INSERT into a bare table, one transaction per unit."""
    table = _bare_table()
    table.create(bench.store.engine)
    watch = Stopwatch()
    for unit in range(units):
        rows = [{"document": ci.to_dict()} for ci in unit_cis(unit, UNIT_SIZE)]
        with watch, bench.store.begin() as conn:
            conn.execute(insert(table), rows)
    return watch.seconds


def _row(backend: str, phase: str, cis: int, seconds: float, counts: dict[str, int] | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "backend": backend,
        "phase": phase,
        "cis": cis,
        "seconds": seconds,
        "cis_per_s": cis / seconds,
    }
    if counts is not None:
        row |= {"new": counts["discovered"], "changed": counts["changed"], "unchanged": counts["unchanged"]}
    return row


def measure_backend(backend: str, total_cis: int) -> list[dict[str, Any]]:
    """The three phases and the baseline on one backend, with each phase's rate relative to the baseline."""
    units = total_cis // UNIT_SIZE
    start = datetime.now(UTC)
    rows = []
    with open_bench_store(backend) as bench:
        for step, (phase, revision) in enumerate(PHASES):
            seconds, result = record_all(bench, units, revision, start + timedelta(minutes=step))
            rows.append(_row(backend, phase, units * UNIT_SIZE, seconds, result.as_dict()))
        bare_seconds = bare_insert_all(bench, units)
    bare = _row(backend, "bare INSERT of the documents (baseline)", units * UNIT_SIZE, bare_seconds, None)
    for row in rows:
        row["vs_bare"] = ratio(row["cis_per_s"], bare["cis_per_s"])
    bare["vs_bare"] = 1.0
    return [*rows, bare]


def run(full: bool = False) -> list[ResultTable]:
    total = 50_000 if full else 10_000
    result = ResultTable(
        f"Store write rate: {total:,} CIs in units of {UNIT_SIZE} (one transaction each)",
        notes=[
            "cis_per_s: CIs written per second of transaction time; vs_bare: that rate / the bare INSERT rate "
            "on the same backend (1.0 = as fast as writing the documents alone)."
        ],
    )
    for backend, reachable in available_backends().items():
        if not reachable:
            result.rows.append({"backend": backend, "phase": SKIPPED_UNREACHABLE})
            continue
        result.rows += measure_backend(backend, total)
    return [result]


if __name__ == "__main__":
    main(run)
