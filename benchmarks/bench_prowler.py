"""API calls per resource: Vigil's scan against Prowler's, counted by the emulator in the same run.

One fresh account on the embedded emulator, the sample estate seeded at N=1 (N=1 and 5 with
``--full``), then two runs against it, one after the other:

  * ``vigil scan`` (a child process, as in ``bench_scan``);
  * ``prowler aws`` (a child process) over the services that hold the types Vigil records.

Both get the account's own temporary keys, so the emulator's request log (``emulator.RequestLog``,
counting requests per access key) tells exactly how many requests each made. "Per resource" divides by
the resources Vigil recorded in that account (the same estate both tools read).

Prowler is not a dependency of Vigil: this benchmark runs when a ``prowler`` executable is found
(``VIGIL_PROWLER``, else ``.venv-prowler/bin/prowler``, which ``make bench-prowler`` installs), and is
reported as skipped otherwise. Prowler also evaluates its checks while it reads; Vigil only records
here, so the wall-time ratio compares different work, the request counts compare the reading.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_scan import REGIONS, new_account, run_scan, scan_environment, seed
from benchlib import ResultTable, main, ratio

from vigil.demo import emulator

ROOT = Path(__file__).resolve().parents[1]
# Prowler's service names for what Vigil records (Prowler reads CloudWatch Logs under "cloudwatch").
PROWLER_SERVICES = [
    "accessanalyzer",
    "account",
    "awslambda",
    "cloudtrail",
    "cloudwatch",
    "config",
    "ec2",
    "ecr",
    "efs",
    "elbv2",
    "guardduty",
    "iam",
    "kms",
    "rds",
    "s3",
    "secretsmanager",
    "securityhub",
    "sns",
    "sqs",
    "vpc",
]
PROWLER_TIMEOUT_S = 1800


def prowler_path() -> Path | None:
    configured = os.environ.get("VIGIL_PROWLER")
    candidate = Path(configured) if configured else ROOT / ".venv-prowler" / "bin" / "prowler"
    return candidate if candidate.exists() else None


def _version(prowler: Path) -> str:
    done = subprocess.run([str(prowler), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[-1] if (done.stdout or done.stderr) else "?"


def run_prowler(prowler: Path, account: emulator.EmulatorAccount, folder: Path) -> tuple[int, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(prowler),
            "aws",
            "--region",
            *REGIONS,
            "--service",
            *PROWLER_SERVICES,
            "--no-banner",
            "--output-formats",
            "csv",
            "--output-directory",
            str(folder / "prowler-out"),
            "--ignore-exit-code-3",
        ],
        env={**scan_environment(account, folder), "AWS_ENDPOINT_URL": account.endpoint},
        cwd=folder,
        capture_output=True,
        check=False,
        timeout=PROWLER_TIMEOUT_S,
    )
    return done.returncode, time.perf_counter() - started


def measure(server: emulator.Emulator, prowler: Path, n: int) -> list[dict[str, Any]]:
    account = new_account(server.endpoint)
    seed(account, n)
    key = account.credentials["AccessKeyId"]
    assert server.requests is not None
    with tempfile.TemporaryDirectory(prefix="vigil-bench-prowler-") as tmp:
        folder = Path(tmp)
        before = server.requests.snapshot()[key]
        scan = run_scan(account, folder, folder / "bench.db")
        vigil_requests = server.requests.snapshot()[key] - before
        before = server.requests.snapshot()[key]
        # moto print()s a notice for every service it lacks that Prowler asks for (WAF, ...)
        with contextlib.redirect_stdout(io.StringIO()):
            code, prowler_s = run_prowler(prowler, account, folder)
        prowler_requests = server.requests.snapshot()[key] - before
    resources = (scan.report or {}).get("recorded")
    vigil_per = ratio(vigil_requests, resources)
    prowler_per = ratio(prowler_requests, resources)
    return [
        {
            "n": n,
            "tool": "vigil scan",
            "resources": resources,
            "requests": vigil_requests,
            "per_resource": vigil_per,
            "wall_s": scan.wall_s,
            "vs_prowler": ratio(vigil_per, prowler_per),
            "status": scan.status,
        },
        {
            "n": n,
            "tool": f"prowler ({len(PROWLER_SERVICES)} services)",
            "resources": resources,
            "requests": prowler_requests,
            "per_resource": prowler_per,
            "wall_s": prowler_s,
            "vs_prowler": 1.0,
            "status": f"exit {code}",
        },
    ]


def run(full: bool = False) -> list[ResultTable]:
    prowler = prowler_path()
    result = ResultTable(
        "API requests per resource, counted by the emulator: vigil scan vs Prowler, same account, same run",
        notes=[
            "requests: what the emulator served for the account's keys during each run; per_resource: requests / "
            "the resources vigil recorded there; vs_prowler: vigil's per_resource / Prowler's (below 1: fewer).",
            "Prowler also runs its checks while reading; wall_s compares different work.",
        ],
    )
    if prowler is None:
        result.rows.append({"tool": "prowler", "status": "skipped: not installed (make bench-prowler)"})
        return [result]
    result.title += f" — {_version(prowler)}"
    with emulator.start() as server:
        for n in (1, 5) if full else (1,):
            result.rows += measure(server, prowler, n)
    return [result]


if __name__ == "__main__":
    main(run)
