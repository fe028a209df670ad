"""Run Vigil's benchmarks, print their tables and save every figure as JSON.

    python benchmarks/run.py [--full] [--only scan,store,history]

``make bench`` runs the quick set (a few minutes on 2 cores); ``make bench-full`` adds the heavier
variants. Each benchmark measures its own baseline in the same run and prints its ratios against it;
nothing asserts on timings. Results go to ``benchmarks/results/<UTC timestamp>.json`` (git-ignored),
with the machine and the commit they were measured on. A benchmark that fails is reported and the
others still run; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import bench_events
import bench_history
import bench_import
import bench_notify
import bench_prowler
import bench_rules
import bench_scan
import bench_store
import bench_trigger
import orjson
from benchlib import console, print_tables

import vigil

BENCHMARKS: dict[str, ModuleType] = {
    "scan": bench_scan,
    "prowler": bench_prowler,
    "store": bench_store,
    "history": bench_history,
    "import": bench_import,
    "rules": bench_rules,
    "events": bench_events,
    "trigger": bench_trigger,
    "notify": bench_notify,
}
RESULTS = Path(__file__).resolve().parent / "results"


def _git_commit() -> str | None:
    """The commit measured, with ``+dirty`` when the working tree has changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "vigil": getattr(vigil, "__version__", None),
        "commit": _git_commit(),
    }


def run_one(name: str, module: ModuleType, full: bool) -> dict[str, Any]:
    """Run one benchmark, print its tables; its figures (or its error) and how long it took."""
    out = console()
    out.rule(f"[bold]{name}[/bold]")
    started = time.perf_counter()
    entry: dict[str, Any] = {"name": name, "tables": [], "error": None}
    try:
        tables = module.run(full)
    except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
        entry["error"] = traceback.format_exc()
        out.print(f"[red]benchmark {name} failed:[/red]\n{entry['error']}")
    else:
        entry["tables"] = [t.as_dict() for t in tables]
        print_tables(tables, out)
    entry["seconds"] = time.perf_counter() - started
    out.print(f"[dim]{name}: {entry['seconds']:.1f} s[/dim]\n")
    return entry


def save(document: dict[str, Any], started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="also run the heavier variants")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {', '.join(BENCHMARKS)}"
    )
    args = parser.parse_args()
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    entries = [run_one(name, BENCHMARKS[name], args.full) for name in chosen]
    total = time.perf_counter() - started
    document = {
        "startedAt": started_at.isoformat(timespec="seconds"),
        "full": args.full,
        "totalSeconds": total,
        "machine": _machine(),
        "benchmarks": entries,
    }
    path = save(document, started_at)
    console().print(f"total wall time {total:.1f} s; results written to {path}")
    return 1 if any(e["error"] for e in entries) else 0


if __name__ == "__main__":
    sys.exit(main())
