"""What the benchmark scripts share: result tables, timing statistics, stores on both backends.

A benchmark is a module with ``run(full: bool) -> list[ResultTable]``. ``run.py`` calls every
benchmark and prints and saves what they return; each module can also be run alone
(``python benchmarks/bench_store.py [--full]``), which prints its tables through :func:`main`.

Stores: SQLite in a temporary folder, and PostgreSQL (``VIGIL_BENCH_PG``, default the local test
database) in a schema of its own that is dropped afterwards. When PostgreSQL cannot be reached the
benchmark reports that backend as skipped instead of failing.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from vigil.store import Store, open_store

PG_URL = os.environ.get("VIGIL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
SKIPPED_UNREACHABLE = "skipped (unreachable)"


# -- results ---------------------------------------------------------------------------------------


@dataclass
class ResultTable:
    """One table of results: rows of named figures, plus notes printed under the table."""

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rows": self.rows, "notes": self.notes}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if magnitude >= 0.1 else f"{value:.3f}"


def render(result: ResultTable) -> Table:
    """A Rich table with one column per key that appears in any row (in first-seen order)."""
    columns: list[str] = []
    for row in result.rows:
        columns += [key for key in row if key not in columns]
    table = Table(
        title=result.title, title_justify="left", caption="\n".join(result.notes), caption_justify="left"
    )
    for name in columns:
        table.add_column(name, justify="left" if name in _TEXT_COLUMNS else "right")
    for row in result.rows:
        table.add_row(*(_cell(row.get(name)) for name in columns))
    return table


_TEXT_COLUMNS = frozenset({"backend", "phase", "run", "status", "tool", "figure", "variant", "what"})


def console() -> Console:
    """Stdout; wide when it is not a terminal (``make bench | tee``), so tables are not squeezed."""
    return Console(width=None if sys.stdout.isatty() else 200)


def print_tables(tables: list[ResultTable], out: Console | None = None) -> None:
    out = out or console()
    for result in tables:
        out.print(render(result))
        out.print()


def main(run: Callable[[bool], list[ResultTable]]) -> None:
    """Command line of a benchmark module run alone: ``[--full]``, then print its tables."""
    parser = argparse.ArgumentParser(description=(sys.modules["__main__"].__doc__ or "").split("\n")[0])
    parser.add_argument("--full", action="store_true", help="also run the heavier variants")
    args = parser.parse_args()
    print_tables(run(args.full))


# -- timing ----------------------------------------------------------------------------------------


class Stopwatch:
    """Accumulates the time spent inside ``with watch:`` blocks (and nothing else)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._started


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 of durations in seconds, in milliseconds."""
    cuts = statistics.quantiles([s * 1000 for s in samples_s], n=100, method="inclusive")
    return {"p50_ms": cuts[49], "p95_ms": cuts[94], "p99_ms": cuts[98]}


# -- stores ----------------------------------------------------------------------------------------


def pg_reachable() -> bool:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - whatever the reason, the backend is reported as skipped
        return False
    finally:
        engine.dispose()


@dataclass
class BenchStore:
    """An open store for one benchmark, and how to measure its size on disk."""

    backend: str
    store: Store
    sqlite_path: Path | None = None
    pg_schema: str | None = None

    def size_bytes(self) -> int:
        """SQLite: the file plus its -wal; PostgreSQL: the tables of the schema with indexes and TOAST."""
        if self.sqlite_path is not None:
            files = [self.sqlite_path, self.sqlite_path.with_name(self.sqlite_path.name + "-wal")]
            return sum(f.stat().st_size for f in files if f.exists())
        query = text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"
        )
        with self.store.connect() as conn:
            return int(conn.execute(query, {"schema": self.pg_schema}).scalar_one())


@contextmanager
def open_bench_store(backend: str) -> Iterator[BenchStore]:
    """A fresh, migrated store on ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
            path = Path(folder) / "bench.db"
            store = open_store(path)
            try:
                yield BenchStore(backend, store, sqlite_path=path)
            finally:
                store.close()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")
        try:
            yield BenchStore(backend, store, pg_schema=schema)
        finally:
            store.close()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def available_backends() -> dict[str, bool]:
    """Each backend and whether it can be benchmarked now (SQLite always can)."""
    return {"sqlite": True, "postgresql": pg_reachable()}
