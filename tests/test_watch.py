"""The change trigger and the watch loop, against the sample estate on moto over HTTP."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from conftest import Seeded
from vigil import engine, watch
from vigil.demo.events import demo_story
from vigil.engine import Context
from vigil.settings import LoadedSettings, Settings
from vigil.store import findings, inventory


def make_ctx(seeded: Seeded, tmp_path: Path) -> Context:
    settings = Settings(db=str(tmp_path / "vigil.db"), aws=seeded.account.settings())
    return Context(LoadedSettings(settings=settings))


def write_story(seeded: Seeded, folder: Path, start: datetime) -> list[dict[str, object]]:
    first = seeded.estate.first
    records = demo_story(
        seeded.account.account_id,
        first.region,
        start,
        security_group_id=first.groups["web"],
        bucket=first.buckets["data"],
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "story.json").write_bytes(orjson.dumps({"Records": records}))
    return records


def test_a_write_event_re_records_its_resource_links_the_event_and_opens_the_finding(
    seeded: Seeded, tmp_path: Path
) -> None:
    first = seeded.estate.first
    web = first.groups["web"]
    with make_ctx(seeded, tmp_path) as ctx:
        engine.scan(ctx)
        engine.evaluate(ctx)
        with ctx.store.connect() as conn:
            before = inventory.history(
                conn, inventory.find_one(conn, web, resource_type="AWS::EC2::SecurityGroup").pk
            )
        seeded.account.client("ec2", first.region).authorize_security_group_ingress(
            GroupId=web,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        )
        records = write_story(seeded, tmp_path / "logs", datetime.now(UTC) - timedelta(minutes=30))
        opened_ssh = next(r for r in records if r["eventName"] == "AuthorizeSecurityGroupIngress")

        cycles: list[watch.Cycle] = []
        stop = threading.Event()
        ran = watch.watch(ctx, [str(tmp_path / "logs")], stop=stop, on_cycle=cycles.append, max_cycles=1)
        assert ran == 1
        cycle = cycles[0]
        assert cycle.ingest is not None and cycle.ingest.stored == len(records)
        reaction = cycle.reaction
        assert reaction is not None and reaction.rerecorded is not None
        changed = {(k.resourceType, k.resourceId) for k in reaction.changed_keys}
        assert ("AWS::EC2::SecurityGroup", web) in changed
        assert ("AWS::S3::Bucket", first.buckets["data"]) in {
            (c.resource_type, c.ref) for c in reaction.changes
        }
        ssh_change = next(c for c in reaction.changes if c.ref == web)
        assert (ssh_change.event_id, ssh_change.principal) == (
            opened_ssh["eventID"],
            f"arn:aws:iam::{seeded.account.account_id}:user/dev-alice",
        )
        with ctx.store.connect() as conn:
            after = inventory.history(
                conn, inventory.find_one(conn, web, resource_type="AWS::EC2::SecurityGroup").pk
            )
            open_ssh = [
                f
                for f in findings.query(conn)
                if f.resource_id == web
                and f.rule_id in ("restricted-ssh", "vpc-sg-open-only-to-authorized-ports")
            ]
        assert len(after) == len(before) + 1
        assert after[-1].relatedEvents == (opened_ssh["eventID"],)
        assert open_ssh, "the incremental evaluation opened the SSH finding"
        assert reaction.evaluation is not None and reaction.evaluation.changes.opened
        in_alarm = {t.name for t in cycle.ticks if t.transition.state.value == "ALARM"}
        assert "cis-5.5-cloudtrail-changes" in in_alarm  # the story ends by stopping the trail

        # nothing new: the next cycle reads nothing and re-records nothing
        again = watch.run_cycle(
            ctx,
            [str(tmp_path / "logs")],
            now=datetime.now(UTC),
            schedule=watch.Schedule(),
            cat=watch.engine_events.catalog(ctx),
        )
        assert again.ingest is not None and again.ingest.records == 0 and again.reaction is None

    # vigil history says who made each change: linked events, and events found for a scanned change
    from typer.testing import CliRunner

    from vigil.cli import app

    shown = CliRunner().invoke(app, ["history", web, "--db", str(tmp_path / "vigil.db"), "-o", "json"])
    assert shown.exit_code == 0, shown.output
    timeline = orjson.loads(shown.stdout)
    assert timeline[-1]["changedBy"] == [
        {
            "eventID": opened_ssh["eventID"],
            "eventName": "AuthorizeSecurityGroupIngress",
            "eventTime": ssh_change.event_time.isoformat(),
            "principal": ssh_change.principal,
            "sourceIPAddress": opened_ssh["sourceIPAddress"],
        }
    ]
    assert timeline[0]["changedBy"] == []


def test_events_from_another_account_are_not_re_recorded(seeded: Seeded, tmp_path: Path) -> None:
    first = seeded.estate.first
    with make_ctx(seeded, tmp_path) as ctx:
        engine.scan(ctx)
        records = demo_story(
            "999988887777", first.region, datetime.now(UTC), security_group_id=first.groups["web"]
        )
        folder = tmp_path / "other"
        folder.mkdir()
        (folder / "x.json").write_bytes(orjson.dumps(records))
        report = watch.engine_events.ingest(ctx, [str(folder)], keep_rows=True)
        reaction = watch.react(ctx, report.new_rows)
        assert reaction.rerecorded is None
        assert reaction.skipped and all("not the recorded" in s for s in reaction.skipped)


def test_periodic_rules_run_when_due(seeded: Seeded, tmp_path: Path) -> None:
    with make_ctx(seeded, tmp_path) as ctx:
        schedule = watch.Schedule()
        now = datetime(2026, 1, 1, tzinfo=UTC)
        assert watch._periodic_rules(ctx, now, schedule) == []  # the first cycle only starts the clocks
        assert watch._periodic_rules(ctx, now + timedelta(minutes=30), schedule) == []
        ran = watch._periodic_rules(ctx, now + timedelta(hours=25), schedule)
        assert "24h" in ran
        assert watch._periodic_rules(ctx, now + timedelta(hours=25, minutes=1), schedule) == []


def test_vigil_watch_stops_cleanly_on_sigterm_and_resumes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from conftest import SHARED_DATA

    logs = tmp_path / "logs"
    logs.mkdir()
    source = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"
    first, second = sorted(source.glob("*.json"))[:2]
    (logs / first.name).write_bytes(first.read_bytes())
    db = tmp_path / "watch.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIGIL_"))}
    command = [
        sys.executable,
        "-m",
        "vigil",
        "watch",
        str(logs),
        "--db",
        str(db),
        "--poll",
        "0.2",
        "--no-rerecord",
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _stored(db):
            time.sleep(0.1)
        assert _stored(db) == len(orjson.loads(first.read_bytes()))
        (logs / second.name).write_bytes(second.read_bytes())  # arrives while watching
        expected = len(orjson.loads(first.read_bytes())) + len(orjson.loads(second.read_bytes()))
        while time.monotonic() < deadline and _stored(db) < expected:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM" in err and "stopped after" in err
    assert "ingested" in out
    assert _stored(db) == expected


def _stored(db: Path) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    from vigil.store import open_store
    from vigil.store.schema import log_events

    if not db.exists():
        return 0
    store = open_store(db, migrate=False)
    try:
        with store.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(log_events)).scalar_one())
    except OperationalError:  # the watcher is still creating the store
        return 0
    finally:
        store.close()


def test_without_credentials_re_recording_stops_once_and_events_keep_flowing(tmp_path: Path) -> None:
    from conftest import SHARED_DATA

    source = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"
    logs = tmp_path / "logs"
    logs.mkdir()
    first = source / "aws.defense-evasion.cloudtrail-stop.json"  # StopLogging: a write to re-record
    second = source / "aws.defense-evasion.cloudtrail-delete.json"
    (logs / first.name).write_bytes(first.read_bytes())
    settings = Settings(db=str(tmp_path / "offline.db"))
    with Context(LoadedSettings(settings=settings)) as ctx:
        schedule = watch.Schedule()
        cat = watch.engine_events.catalog(ctx)
        one = watch.run_cycle(ctx, [str(logs)], now=datetime.now(UTC), schedule=schedule, cat=cat)
        assert one.ingest is not None and one.ingest.stored > 0
        assert schedule.no_rerecord and any("re-record off" in e for e in one.errors)
        (logs / second.name).write_bytes(second.read_bytes())
        two = watch.run_cycle(ctx, [str(logs)], now=datetime.now(UTC), schedule=schedule, cat=cat)
        assert two.ingest is not None and two.ingest.stored > 0 and two.errors == []
