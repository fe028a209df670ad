"""History lookup latency with 100,000 CIs stored (1,000,000 with ``--full``), on SQLite and PostgreSQL.

What ``vigil history <id>`` does: ``inventory.find_one(conn, resource_id)`` then
``inventory.history(conn, pk)`` (every CI of the resource, parsed back into ``ConfigurationItem``).

The data: 10,000 resources (100,000 with ``--full``) × 10 versions, written through the real
``inventory.record()`` so the rows, indexes and side tables are exactly what scans produce: ten
rounds, each recording every resource at a new revision (a changed configuration, so one new CI per
resource per round), in units of 1,000 CIs per transaction, one account per unit (``synthetic.py``).
The build time and the store's size on disk are reported (SQLite: the file plus its ``-wal``;
PostgreSQL: ``pg_total_relation_size`` summed over the schema's tables).

Then 300 lookups of random resources are timed one by one, on one connection, after 10 untimed
warm-up lookups (statement compilation); the two calls are also timed apart. Baseline, same
backend and connection: a raw primary-key ``SELECT document FROM configuration_items WHERE id = :id``
of one random CI; ``p50_vs_raw`` is the lookup's median over the baseline's median.

``--full`` builds its million CIs through ``record()`` too: about ten times the default build time.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from benchlib import (
    SKIPPED_UNREACHABLE,
    BenchStore,
    ResultTable,
    available_backends,
    main,
    open_bench_store,
    percentiles_ms,
    ratio,
)
from sqlalchemy import Connection, func, select, text
from synthetic import REGION, SECURITY_GROUP, account_id, security_group, unit_cis

from vigil.store import inventory
from vigil.store.inventory import Scope
from vigil.store.schema import configuration_items

VERSIONS = 10
BUILD_UNIT = 1_000
LOOKUPS = 300
WARM_UP = 10
SEED = 20240601


def build(bench: BenchStore, resources: int) -> float:
    """Record every resource ``VERSIONS`` times, one revision per round; the seconds it took."""
    started = time.perf_counter()
    first_round = datetime.now(UTC) - timedelta(days=VERSIONS)
    for revision in range(VERSIONS):
        now = first_round + timedelta(days=revision)
        for unit in range(resources // BUILD_UNIT):
            cis = unit_cis(unit, BUILD_UNIT, revision)
            with bench.store.begin() as conn:
                inventory.record(conn, cis, Scope(account_id(unit), REGION, SECURITY_GROUP), now=now)
    return time.perf_counter() - started


def _random_resource_ids(rng: random.Random, resources: int, count: int) -> list[str]:
    picks = [divmod(rng.randrange(resources), BUILD_UNIT) for _ in range(count)]
    return [security_group(account_id(unit), index).resourceId for unit, index in picks]


@dataclass
class Lookups:
    """Per-lookup seconds: the whole lookup, and its two calls apart."""

    total: list[float] = field(default_factory=list)
    find: list[float] = field(default_factory=list)
    history: list[float] = field(default_factory=list)
    versions: int = 0


def time_lookups(conn: Connection, resource_ids: list[str]) -> Lookups:
    """Time ``find_one`` + ``history`` for each resource id."""
    out = Lookups()
    for rid in resource_ids:
        started = time.perf_counter()
        ref = inventory.find_one(conn, rid)
        found = time.perf_counter()
        out.versions += len(inventory.history(conn, ref.pk))
        done = time.perf_counter()
        out.total.append(done - started)
        out.find.append(found - started)
        out.history.append(done - found)
    return out


def time_raw_selects(conn: Connection, rng: random.Random, count: int) -> list[float]:
    """The baseline: seconds per primary-key SELECT of one stored CI document."""
    low, high = conn.execute(
        select(func.min(configuration_items.c.id), func.max(configuration_items.c.id))
    ).one()
    query = text("SELECT document FROM configuration_items WHERE id = :id")
    samples = []
    for _ in range(count):
        ci_id = rng.randint(low, high)
        started = time.perf_counter()
        conn.execute(query, {"id": ci_id}).scalar_one()
        samples.append(time.perf_counter() - started)
    return samples


def measure_backend(backend: str, resources: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    with open_bench_store(backend) as bench:
        build_seconds = build(bench, resources)
        size = bench.size_bytes()
        with bench.store.connect() as conn:
            time_lookups(conn, _random_resource_ids(rng, resources, WARM_UP))
            lookups = time_lookups(conn, _random_resource_ids(rng, resources, LOOKUPS))
            raw = percentiles_ms(time_raw_selects(conn, rng, LOOKUPS))
    cis = resources * VERSIONS
    lookup = percentiles_ms(lookups.total)
    return {
        "backend": backend,
        "resources": resources,
        "cis": cis,
        "build_s": build_seconds,
        "build_ci_s": cis / build_seconds,
        "size_mib": size / 2**20,
        "bytes_per_ci": size / cis,
        "versions": lookups.versions / LOOKUPS,
        **lookup,
        "find_p50_ms": percentiles_ms(lookups.find)["p50_ms"],
        "hist_p50_ms": percentiles_ms(lookups.history)["p50_ms"],
        "raw_pk_p50_ms": raw["p50_ms"],
        "p50_vs_raw": ratio(lookup["p50_ms"], raw["p50_ms"]),
    }


def run(full: bool = False) -> list[ResultTable]:
    resources = 100_000 if full else 10_000
    result = ResultTable(
        f"History lookup: {LOOKUPS} random find_one + history over {resources * VERSIONS:,} stored CIs "
        f"({resources:,} resources × {VERSIONS} versions)",
        notes=[
            "p50/p95/p99_ms: one lookup = find_one(resource id) + history(pk), parsing every version "
            "(versions: CIs returned per lookup); find_p50_ms / hist_p50_ms: the two calls apart.",
            "raw_pk_p50_ms: baseline, SELECT of one CI document by primary key; p50_vs_raw: p50_ms / raw_pk_p50_ms.",
            "Data built through inventory.record() (10 rounds, every CI changed each round): build_s, build_ci_s "
            "(CIs per second); size_mib, bytes_per_ci: the store on disk after the build.",
            "Lookups run right after the build, with no VACUUM or ANALYZE in between.",
        ],
    )
    for backend, reachable in available_backends().items():
        if reachable:
            result.rows.append(measure_backend(backend, resources))
        else:
            result.rows.append({"backend": backend, "status": SKIPPED_UNREACHABLE})
    return [result]


if __name__ == "__main__":
    main(run)
