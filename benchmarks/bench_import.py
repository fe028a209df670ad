"""Import rate: AWS Config history files (100,000 CIs) into an empty store, CIs per second.

The input is what AWS Config's delivery channel would have written for 25,000 security groups, each
recorded four times (a discovery and three changes): gzip history files of 1,000 items in the
delivery form (``awsAccountId``, ``ARN``, relationships keyed ``name``), made with Vigil's own
exporter from the synthetic CIs of ``synthetic.py``. ``--full`` doubles it.

Phases, each timed from the files on disk to the committed store:
  * import into an empty store (every resource new, four history rows each);
  * the same files again (every item already stored: the idempotence check's cost).

Baseline, measured in the same run: reading the same files (gunzip + JSON parse + building the CI
records) without writing anything. ``vs read`` is the import rate divided by that rate: what writing
the history costs over reading it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import SKIPPED_UNREACHABLE, ResultTable, available_backends, main, open_bench_store, ratio
from synthetic import security_group

from vigil.interop import awsconfig
from vigil.interop.transfer import import_files, local_inputs
from vigil.model import DISCOVERED, OK, iso_ms

REVISIONS = 4
FILE_ITEMS = 1_000
ACCOUNT = "123456789012"


def write_history(folder: Path, total: int) -> tuple[int, int]:
    """History files holding ``total`` CIs; returns (files, bytes)."""
    import dataclasses
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 5, tzinfo=UTC)
    resources = total // REVISIONS
    items = []
    for index in range(resources):
        for revision in range(REVISIONS):
            ci = security_group(ACCOUNT, index, revision)
            moment = start + timedelta(days=revision, seconds=index)
            items.append(
                dataclasses.replace(
                    ci,
                    configurationItemCaptureTime=iso_ms(moment),
                    configurationItemStatus=DISCOVERED if revision == 0 else OK,
                    configurationStateId=str(int(moment.timestamp() * 1000)),
                )
            )
    files = 0
    size = 0
    for offset in range(0, len(items), FILE_ITEMS):
        chunk = items[offset : offset + FILE_ITEMS]
        for name, data in awsconfig.history_files(chunk, home_region="eu-west-1"):
            target = folder / f"{offset:08d}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files += 1
            size += len(data)
    return files, size


def read_only(folder: Path) -> tuple[int, float]:
    files, _ = local_inputs(str(folder))
    started = time.perf_counter()
    count = 0
    for file in files:
        count += len(awsconfig.parse(file.name, awsconfig.decode(file.name, file.read())).items)
    return count, time.perf_counter() - started


def run(full: bool = False) -> list[ResultTable]:
    total = 200_000 if full else 100_000
    result = ResultTable(
        f"Import of AWS Config history files: {total:,} CIs ({total // REVISIONS:,} resources x {REVISIONS})",
        notes=[
            "cis_per_s: items per second from files on disk to committed rows; vs_read: that rate / the rate of "
            "reading the same files without writing (gunzip, JSON, CI records) in this run.",
        ],
    )
    with tempfile.TemporaryDirectory(prefix="vigil-bench-import-") as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        files, size = write_history(folder, total)
        made = time.perf_counter() - made
        read_count, read_seconds = read_only(folder)
        read_rate = read_count / read_seconds
        result.rows.append(
            {
                "backend": "-",
                "phase": f"read only (baseline; {files} files, {size / 2**20:.1f} MiB gz)",
                "cis": read_count,
                "seconds": round(read_seconds, 2),
                "cis_per_s": round(read_rate),
                "vs_read": 1.0,
            }
        )
        inputs, _ = local_inputs(str(folder))
        for backend, reachable in available_backends().items():
            if not reachable:
                result.rows.append({"backend": backend, "phase": SKIPPED_UNREACHABLE})
                continue
            with open_bench_store(backend) as bench:
                for phase in ("into an empty store", "again (all already stored)"):
                    report = import_files(bench.store, inputs, origin=str(folder))
                    rate = report.items_read / report.seconds
                    row: dict[str, Any] = {
                        "backend": backend,
                        "phase": phase,
                        "cis": report.items_read,
                        "seconds": round(report.seconds, 2),
                        "cis_per_s": round(rate),
                        "vs_read": ratio(rate, read_rate),
                        "imported": report.imported,
                    }
                    if phase.startswith("into"):
                        row["store_mib"] = round(bench.size_bytes() / 2**20, 1)
                    result.rows.append(row)
        result.notes.append(f"input generated in {made:.1f} s (not timed)")
    return [result]


if __name__ == "__main__":
    main(run)
