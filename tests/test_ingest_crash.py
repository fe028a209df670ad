"""`vigil ingest` killed with SIGKILL mid-run and restarted counts every event exactly once.

The records come from benchmarks/eventgen.py (generated from the real CloudTrail samples in
../shared/data). The reference is the same files ingested once, uninterrupted, into another store:
after the crash and the restart, events and every metric datapoint must be identical to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from conftest import load_eventgen
from vigil import engine_events
from vigil.engine import Context
from vigil.settings import LoadedSettings, Settings
from vigil.store import Store, open_store
from vigil.store.schema import ingest_checkpoints, log_events, metric_datapoints

FILES, PER_FILE = 40, 1000


def snapshot(store: Store) -> tuple[int, int, list[tuple[object, ...]]]:
    with store.connect() as conn:
        events = conn.execute(select(func.count()).select_from(log_events)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(log_events.c.event_id)))).scalar_one()
        points = [
            (r.namespace, r.metric_name, r.dimensions, r.period_start, r.sample_count, round(r.sum, 6))
            for r in conn.execute(select(metric_datapoints).order_by(*metric_datapoints.primary_key))
        ]
    return events, distinct, points


def test_sigkill_mid_ingest_then_restart_counts_each_event_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    load_eventgen().write_files(
        logs, FILES * PER_FILE, per_file=PER_FILE, seed=5, accounts=2, span_seconds=900
    )
    reference = open_store(tmp_path / "reference.db")
    ctx = Context(LoadedSettings(settings=Settings()), _store=reference)
    engine_events.ingest(ctx, [str(logs)])
    expected = snapshot(reference)
    assert expected[0] == FILES * PER_FILE and expected[2]

    db = tmp_path / "crashed.db"
    command = [sys.executable, "-m", "vigil", "ingest", str(logs), "--db", str(db), "--no-alarms", "-q"]
    env = {**os.environ, "VIGIL_CONFIG": str(tmp_path / "none.yaml")}
    (tmp_path / "none.yaml").write_text("{}\n")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stored_at_kill = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    store = open_store(db, migrate=False)
                    with store.connect() as conn:
                        stored_at_kill = conn.execute(
                            select(func.count()).select_from(log_events)
                        ).scalar_one()
                    store.close()
                except OperationalError as exc:  # the child is still creating the store: look again
                    if "no such table" not in str(exc) and "locked" not in str(exc):
                        raise
                if stored_at_kill:
                    break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed; use more files"
    assert 0 < stored_at_kill < FILES * PER_FILE

    crashed = open_store(db)
    with crashed.connect() as conn:
        checkpoints = conn.execute(select(func.count()).select_from(ingest_checkpoints)).scalar_one()
    assert checkpoints == 1  # committed with the batches that made it

    restart = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert restart.returncode == 0, restart.stderr
    assert snapshot(crashed) == expected
