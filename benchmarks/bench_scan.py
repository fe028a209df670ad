"""Full scan of the sample estate on the embedded AWS emulator, at scale N = 1, 5, 20 (and 50 with ``--full``).

For each N: a fresh account on the emulator (a role assumed into a new random account id; moto keeps
each account's resources apart), the sample estate seeded N times over in us-east-1 and eu-west-1
(``vigil.demo.estate.seed``, timed and reported apart), then ``vigil scan`` run as a child process
with that account's temporary credentials in its environment. Running the scan in its own process
is what lets the scan's peak RSS be measured without the emulator's: ``peak_rss.py`` starts it and
reads its ``ru_maxrss`` from ``os.wait4`` (that small launcher is needed, see its docstring).

Per scan: resources recorded, the report's ``seconds`` (the scan itself), the external wall time
(process start, imports, store migration included), API calls, CIs per second, peak RSS, status.
Baseline, measured in the same run at every N: the same scan with ``--concurrency 1`` (into a store
of its own, so it is a first scan too); ``speedup`` is the baseline's scan time over each run's.
At N=20 the scan is repeated right away with nothing changed, to show the unchanged re-scan.

The emulator runs in this process and serves every call of the scan. On a small machine it competes
with the scan for the CPU, so these figures are an upper bound of the recorder's own cost.

A second table quotes reference figures from the issue (other tools, and the goal). They are NOT
measured here; only the ratios use this run's times.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from benchlib import ResultTable, main, ratio

from vigil.demo import emulator, estate
from vigil.settings import AwsSettings

REGIONS = ("us-east-1", "eu-west-1")
SCALES = (1, 5, 20)
FULL_SCALES = (*SCALES, 50)
RESCAN_AT = 20
SCAN_TIMEOUT_S = 1800
PEAK_RSS = Path(__file__).with_name("peak_rss.py")
DEFAULT_CONCURRENCY = AwsSettings.model_fields["concurrency"].default

# Quoted from the issue, not measured here: (what, seconds at N=1, seconds at N=20).
REFERENCE_FIGURES = (
    ("Prowler 5.46 (276 checks)", 83.0, 144.0),
    ("Cloud Custodian (26 policies)", 18.0, 44.0),
)
RECORDER_GOAL_N20_S = 5.0
SCAN_AND_EVALUATE_GOAL_N20_S = 10.0


# -- accounts on the emulator ----------------------------------------------------------------------


Account = emulator.EmulatorAccount


def new_account(endpoint: str) -> Account:
    """A fresh account on the emulator (a role assumed in a new random account id)."""
    return emulator.new_account(endpoint, role_name="vigil-bench")


def seed(account: Account, n: int) -> float:
    """Build the sample estate N times over; the seconds it took."""
    started = time.perf_counter()
    estate.seed(account.client, list(REGIONS), n)
    return time.perf_counter() - started


# -- one scan in a child process -------------------------------------------------------------------


@dataclass
class ScanRun:
    """A finished ``vigil scan`` child process."""

    exit_code: int
    wall_s: float
    rss_mib: float
    report: dict[str, Any] | None
    stderr: str

    @property
    def status(self) -> str:
        if self.report is None:
            return f"failed (exit {self.exit_code})"
        return str(self.report["status"])


def _vigil_command() -> list[str]:
    script = Path(sys.executable).with_name("vigil")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vigil"]


def scan_environment(account: Account, folder: Path) -> dict[str, str]:
    """This process's environment without AWS or Vigil settings, plus the account's credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIGIL_"))}
    env |= {
        **{k: v for k, v in account.environment().items() if k != "AWS_ENDPOINT_URL"},
        "AWS_DEFAULT_REGION": REGIONS[0],
        "AWS_CONFIG_FILE": str(folder / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "XDG_CONFIG_HOME": str(folder / "config"),  # no user vigil.yaml
    }
    return env


def run_scan(account: Account, folder: Path, db: Path, concurrency: int | None = None) -> ScanRun:
    """``vigil scan`` of the account into ``db``; its exit code, wall time, peak RSS and JSON report.

    The scan is started by ``peak_rss.py`` (a small process of its own) so that its ``ru_maxrss`` is
    not inflated by this process's size; see that file."""
    command = [
        *_vigil_command(),
        "scan",
        "--regions",
        ",".join(REGIONS),
        "--endpoint-url",
        account.endpoint,
        "--output",
        "json",
        "--stats",
        "--quiet",
        "--db",
        str(db),
    ]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    measured = folder / "measured.json"
    launcher = [sys.executable, str(PEAK_RSS), str(measured), str(SCAN_TIMEOUT_S)]
    completed = subprocess.run(
        [*launcher, *command],
        env=scan_environment(account, folder),
        cwd=folder,
        capture_output=True,
        check=False,
    )
    if not measured.exists():
        return ScanRun(
            completed.returncode, math.nan, math.nan, None, completed.stderr.decode(errors="replace")
        )
    figures = orjson.loads(measured.read_bytes())
    try:
        report = orjson.loads(completed.stdout)
    except orjson.JSONDecodeError:
        report = None
    return ScanRun(
        figures["exit_code"],
        figures["wall_s"],
        figures["maxrss_kib"] / 1024,
        report,
        completed.stderr.decode(errors="replace"),
    )


# -- measuring -------------------------------------------------------------------------------------


def _row(n: int, run: str, scan: ScanRun, baseline: ScanRun | None) -> dict[str, Any]:
    report = scan.report or {}
    seconds = report.get("seconds")
    counts = report.get("counts", {})
    base_seconds = (baseline.report or {}).get("seconds") if baseline else None
    return {
        "n": n,
        "run": run,
        "resources": report.get("recorded"),
        "new": counts.get("discovered"),
        "changed": counts.get("changed"),
        "refreshed": counts.get("refreshed"),
        "unchanged": counts.get("unchanged"),
        "scan_s": seconds,
        "eval_s": (report.get("evaluation") or {}).get("seconds"),
        "findings": _open_findings(report.get("evaluation")),
        "wall_s": scan.wall_s,
        "api_calls": report.get("apiCallsTotal"),
        "calls_per_resource": ratio(report.get("apiCallsTotal"), report.get("recorded")),
        "cis_per_s": ratio(report.get("recorded"), seconds),
        "rss_mib": scan.rss_mib,
        "status": scan.status,
        "speedup": ratio(base_seconds, seconds) if baseline else None,
    }


def measure_scale(server: emulator.Emulator, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Seed a fresh account at scale ``n`` and scan it: default concurrency, sequential, maybe a re-scan."""
    account = new_account(server.endpoint)
    seed_s = seed(account, n)
    key = account.credentials["AccessKeyId"]
    with tempfile.TemporaryDirectory(prefix="vigil-bench-scan-") as tmp:
        folder = Path(tmp)
        before = _served(server, key)
        first = run_scan(account, folder, folder / "bench.db")
        served = _served(server, key) - before
        rescan = run_scan(account, folder, folder / "bench.db") if n == RESCAN_AT else None
        sequential = run_scan(account, folder, folder / "sequential.db", concurrency=1)
    runs = [(f"concurrency {DEFAULT_CONCURRENCY} (default)", first, sequential)]
    if rescan is not None:
        runs.append(("re-scan right after, nothing changed", rescan, None))
    runs.append(("--concurrency 1 (baseline)", sequential, sequential))
    rows = [_row(n, label, scan, baseline) for label, scan, baseline in runs]
    rows[0] = {"n": n, "seed_s": seed_s, **rows[0], "server_requests": served}
    notes = [_calls_by_service(n, first)]
    notes += [
        f"N={n}, {label}: failed: {scan.stderr.strip()[-400:]}"
        for label, scan, _ in runs
        if scan.report is None
    ]
    return rows, notes


def _open_findings(evaluation: dict[str, Any] | None) -> int | None:
    if not evaluation:
        return None
    return (
        int(evaluation.get("opened", 0))
        + int(evaluation.get("reopened", 0))
        + int(evaluation.get("stillOpen", 0))
    )


def _served(server: emulator.Emulator, key: str) -> int:
    """Requests the emulator has served for one access key (the account's session) so far."""
    return server.requests.snapshot()[key] if server.requests else 0


def _calls_by_service(n: int, scan: ScanRun) -> str:
    calls = (scan.report or {}).get("apiCalls") or {}
    listed = ", ".join(
        f"{service} {count}" for service, count in sorted(calls.items(), key=lambda kv: -kv[1])
    )
    return f"N={n}: API calls of the first scan by service: {listed or 'unknown'}"


def reference_table(rows: list[dict[str, Any]]) -> ResultTable:
    """The issue's figures for other tools and the goal, with this run's times over them."""
    first_scans = {r["n"]: r for r in rows if "seed_s" in r}
    ours_wall = {n: first_scans[n]["wall_s"] if n in first_scans else None for n in (1, 20)}
    table = ResultTable(
        "Reference figures quoted from the issue — NOT measured here (only the ratios use this run's times)",
        notes=[
            "vigil_*_ratio: this run's `vigil scan` wall time (process start included) / the quoted time; "
            "below 1 means faster. The goal row uses the report's scan seconds (the recorder alone).",
            "The quoted tools run security checks; `vigil scan` here only records configuration.",
        ],
    )
    for tool, n1, n20 in REFERENCE_FIGURES:
        table.rows.append(
            {
                "figure": tool,
                "quoted_n1_s": n1,
                "quoted_n20_s": n20,
                "vigil_n1_ratio": ratio(ours_wall[1], n1),
                "vigil_n20_ratio": ratio(ours_wall[20], n20),
            }
        )
    both = first_scans.get(20)
    if both and both.get("scan_s") is not None and both.get("eval_s") is not None:
        table.rows.append(
            {
                "figure": "goal: record + evaluate at N=20, <= 10 s",
                "quoted_n20_s": SCAN_AND_EVALUATE_GOAL_N20_S,
                "vigil_n20_ratio": ratio(both["scan_s"] + both["eval_s"], SCAN_AND_EVALUATE_GOAL_N20_S),
            }
        )
    recorder_n20 = first_scans[20]["scan_s"] if 20 in first_scans else None
    table.rows.append(
        {
            "figure": "goal: the recorder alone at N=20, <= 5 s",
            "quoted_n20_s": RECORDER_GOAL_N20_S,
            "vigil_n20_ratio": ratio(recorder_n20, RECORDER_GOAL_N20_S),
        }
    )
    return table


@contextmanager
def running_emulator() -> Iterator[emulator.Emulator]:
    server = emulator.start()
    try:
        yield server
    finally:
        server.stop()


def run(full: bool = False) -> list[ResultTable]:
    result = ResultTable(
        f"Full scan of the sample estate on the emulator, regions {','.join(REGIONS)} (vigil scan, child process)",
        notes=[
            "scan_s: the report's seconds (the scan itself); eval_s: evaluating every built-in rule after it, and "
            "findings: the open findings it leaves; wall_s: the child process from spawn to exit (both included); "
            "rss_mib: the scan process's peak RSS (the emulator excluded); seed_s: building the estate.",
            "speedup: the --concurrency 1 scan's scan_s / this run's scan_s, same N, same run.",
            f"The emulator (moto, in the benchmark process) serves every call on the same {os.cpu_count()}-CPU "
            "machine: these times include its share of the CPU.",
        ],
    )
    with running_emulator() as server:
        for n in FULL_SCALES if full else SCALES:
            rows, notes = measure_scale(server, n)
            result.rows += rows
            result.notes += notes
    return [result, reference_table(result.rows)]


if __name__ == "__main__":
    main(run)
