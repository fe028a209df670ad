"""The outbox survives its worker being killed: SIGKILL in a loop while messages flow, then nothing lost.

A real ``vigil notify deliver --follow`` process sends to a real HTTP receiver on loopback while a
thread publishes into the same SQLite store; the worker is killed with SIGKILL again and again
(during start-up, between passes, in the middle of a POST) and started again. Rows a killed worker
had claimed come back when its (short) lease runs out, so every message arrives at least once, and
one that arrives twice carries the same MessageId both times.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from vigil.notify.topics import Topics, publish, topics_from
from vigil.settings import NotifySettings
from vigil.store import Store, open_store, outbox

KILLS = 50
PER_KILL = 6  # messages published while each worker runs: 300 in all
LEASE = 1.0  # seconds: what a killed worker claimed is due again this soon


@dataclass
class Post:
    header_id: str
    body: dict[str, Any]


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that records every complete POST and answers 200 after a short
    pause (so a kill often lands while a request is in flight: received, but never marked sent)."""

    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        import http.server

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    return
                post = Post(self.headers["x-amz-sns-message-id"], orjson.loads(body))
                with outer.lock:
                    outer.posts.append(post)
                time.sleep(random.uniform(0.002, 0.02))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Setup:
    receiver: Receiver
    store: Store
    topics: Topics
    db: Path
    config: Path
    env: dict[str, str]
    log: Path

    def worker(self, *extra: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "vigil", "notify", "deliver", "--db", str(self.db)]
        command += ["--config", str(self.config), "--lease", str(LEASE), *extra]
        with self.log.open("ab") as log:
            return subprocess.Popen(
                command, env=self.env, cwd=self.db.parent, stdout=subprocess.DEVNULL, stderr=log
            )

    def publish(self, text: str) -> str:
        with self.store.begin() as conn:
            done = publish(conn, self.topics, "alerts", message=text, at=datetime.now(UTC))
        assert done.deliveries == 1
        return done.message_id

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    receiver = Receiver()
    notify = {
        "keys_dir": str(tmp_path / "keys"),
        "http_timeout": 5,
        "topics": [
            {
                "name": "alerts",
                "subscriptions": [
                    {
                        "protocol": "http",
                        "endpoint": receiver.url,
                        "delivery_policy": {"numRetries": 50, "minDelayTarget": 1, "maxDelayTarget": 1},
                    }
                ],
            }
        ],
    }
    config = tmp_path / "vigil.yaml"
    config.write_bytes(orjson.dumps({"notify": notify}))  # JSON is YAML
    db = tmp_path / "outbox.db"
    store = open_store(db)  # made (and migrated) before any worker can be killed doing it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIGIL_"))}
    topics = topics_from(NotifySettings.model_validate(notify))
    try:
        yield Setup(receiver, store, topics, db, config, env, tmp_path / "workers.log")
    finally:
        store.close()
        receiver.close()


def test_sigkilled_workers_lose_nothing_and_resend_with_the_same_message_id(setup: Setup) -> None:
    started = time.monotonic()
    rng = random.Random()
    published: list[str] = []
    tokens = threading.Semaphore(0)
    stop = threading.Event()

    def publisher() -> None:  # messages flow while the workers run and die
        while True:
            if tokens.acquire(timeout=0.05):
                published.append(setup.publish(f"message {len(published) + 1}"))
                time.sleep(rng.uniform(0, 0.03))
            elif stop.is_set():
                return

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    kills = mid_flight = 0
    try:
        while kills < KILLS:
            before = setup.receiver.count()
            proc = setup.worker("--follow", "--poll", "0.05")
            try:
                for _ in range(PER_KILL):
                    tokens.release()
                if rng.random() < 0.25:  # during start-up: loading settings, keys, the first claim
                    time.sleep(rng.uniform(0.05, 0.8))
                else:  # once it is sending: between passes or in the middle of a POST
                    deadline = time.monotonic() + 10
                    while setup.receiver.count() == before and time.monotonic() < deadline:
                        time.sleep(0.005)
                    assert setup.receiver.count() > before, setup.log_tail()
                    time.sleep(rng.uniform(0, 0.2))
                    mid_flight += 1
                assert proc.poll() is None, f"the worker exited by itself:\n{setup.log_tail()}"
                proc.send_signal(signal.SIGKILL)
                assert proc.wait(timeout=10) == -signal.SIGKILL
                kills += 1
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and len(published) == KILLS * PER_KILL

    # the last worker runs to completion once every lease a killed worker held has run out
    time.sleep(LEASE + 0.2)
    final = setup.worker()
    assert final.wait(timeout=60) == 0, setup.log_tail()

    with setup.store.connect() as conn:
        assert outbox.counts(conn) == {outbox.SENT: len(published)}
    posts = list(setup.receiver.posts)
    for post in posts:
        assert post.header_id == post.body["MessageId"]
    received = Counter(post.header_id for post in posts)
    assert set(received) == set(published)  # every message at least once, and nothing else
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    for mid in duplicates:  # sent again after a crash: the same message under the same id
        copies = [p.body for p in posts if p.header_id == mid]
        assert all(
            (c["Message"], c["Timestamp"]) == (copies[0]["Message"], copies[0]["Timestamp"]) for c in copies
        )
    extra = sum(n - 1 for n in duplicates.values())
    print(
        f"\ncrash test: {kills} SIGKILLs ({mid_flight} after the worker began sending), {len(published)} messages, "
        f"{len(posts)} POSTs, {extra} duplicates ({len(duplicates)} messages), "
        f"{time.monotonic() - started:.1f} s"
    )


def test_follow_stops_cleanly_on_sigterm(setup: Setup) -> None:
    proc = setup.worker("--follow", "--poll", "0.05")
    try:
        setup.publish("before the signal")
        deadline = time.monotonic() + 30
        while setup.receiver.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert setup.receiver.count() == 1, setup.log_tail()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, setup.log_tail()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = setup.log_tail()
    assert "SIGTERM" in log and "stopped after" in log and "sent 1," in log
    with setup.store.connect() as conn:
        assert outbox.counts(conn) == {outbox.SENT: 1}
