"""Ingestion into the store: idempotent by eventID, checkpointed, quarantine, metrics, alarms, replay.

Real CloudTrail records: DataDog/stratus-red-team detonation logs (Apache-2.0), as copied into
../shared/data (see its INDEX.md).
"""

from __future__ import annotations

import gzip
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, func, select

from conftest import SHARED_DATA
from vigil import engine_events
from vigil.engine import Context
from vigil.logs.monitoring import monitoring_pack
from vigil.logs.pattern import compile_pattern
from vigil.settings import LoadedSettings, Settings, local_topic_arn
from vigil.store import Store
from vigil.store.schema import (
    alarm_history,
    ingest_checkpoints,
    log_events,
    metric_datapoints,
    published_messages,
)

STRATUS = SHARED_DATA / "cloudtrail" / "stratus-red-team" / "docs" / "detonation-logs"

pytestmark = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS}"
)


def make_ctx(store: Store, events: dict[str, Any] | None = None) -> Context:
    settings = Settings.model_validate({"events": events or {}})
    return Context(LoadedSettings(settings=settings), _store=store)


def stratus_records() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(STRATUS.glob("*.json")):
        out.extend(orjson.loads(path.read_bytes()))
    return out


def datapoint_table(store: Store) -> list[tuple[Any, ...]]:
    with store.connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(metric_datapoints).order_by(*metric_datapoints.primary_key))
        ]


def metric_sums(store: Store) -> dict[str, float]:
    c = metric_datapoints.c
    with store.connect() as conn:
        rows = conn.execute(select(c.metric_name, func.sum(c.sum)).group_by(c.metric_name))
        return {name: float(total) for name, total in rows}


def test_ingest_counts_every_event_once_on_both_backends(store: Store) -> None:
    ctx = make_ctx(store)
    first = engine_events.ingest(ctx, [str(STRATUS)])
    records = stratus_records()
    assert (first.records, first.stored, first.duplicates, first.quarantined) == (
        len(records),
        len(records),
        0,
        [],
    )
    before = datapoint_table(store)
    assert before

    again = engine_events.ingest(ctx, [str(STRATUS)])  # the checkpoint says every file is done
    assert (again.batches, again.stored) == (0, 0)

    with store.begin() as conn:  # forget the checkpoint: every event is read again, none counted twice
        conn.execute(delete(ingest_checkpoints))
    replayed = engine_events.ingest(ctx, [str(STRATUS)])
    assert (replayed.stored, replayed.duplicates) == (0, len(records))
    assert datapoint_table(store) == before


def test_metric_sums_equal_the_pattern_counted_directly(sqlite_store: Store) -> None:
    """Each pack metric counts exactly the records its pattern matches (a record is its JSON text)."""
    engine_events.ingest(make_ctx(sqlite_store), [str(STRATUS)])
    sums = metric_sums(sqlite_store)
    pack = monitoring_pack("aws-cloudtrail-logs-vigil")
    texts = [orjson.dumps(r).decode() for r in stratus_records()]
    expected = {
        f.transformation.metric_name: float(
            sum(compile_pattern(f.pattern_text).match(t) is not None for t in texts)
        )
        for f in pack.filters
    }
    assert {k: v for k, v in expected.items() if v} == sums
    assert sums["SecurityGroupEventCount"] >= 1 if "SecurityGroupEventCount" in sums else True


def test_quarantine_keeps_the_rest(sqlite_store: Store, tmp_path: Path) -> None:
    src = tmp_path / "logs"
    src.mkdir()
    good = STRATUS / "aws.defense-evasion.cloudtrail-stop.json"
    shutil.copy(good, src / "a.json")
    (src / "b.json.gz").write_bytes(gzip.compress(b'{"Records": [' + b"x" * 5000)[:-30])  # truncated
    (src / "c.json").write_text('{"Records": [{"not": "cloudtrail"}]}')
    ctx = make_ctx(sqlite_store)
    report = engine_events.ingest(ctx, [str(src)])
    assert report.stored == len(orjson.loads(good.read_bytes()))
    where = sorted(Path(loc.split("#")[0].split(":")[0]).name for loc, _ in report.quarantined)
    assert where == ["b.json.gz", "c.json"]
    assert all(reason for _, reason in report.quarantined)


def now_record(i: int, when: datetime, **over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventID": str(uuid.UUID(int=i)),
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "eventType": "AwsApiCall",
        "readOnly": True,
        "managementEvent": True,
        "eventCategory": "Management",
        "userIdentity": {
            "type": "Root",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
            "principalId": "111122223333",
        },
    }
    r.update(over)
    return r


def test_alarms_on_wall_time_fire_publish_and_recover(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    last_period = now - timedelta(seconds=now.timestamp() % 300) - timedelta(minutes=5)
    path = tmp_path / "root.json"
    path.write_bytes(orjson.dumps({"Records": [now_record(1, last_period + timedelta(seconds=30))]}))
    ctx = make_ctx(store)
    engine_events.ingest(ctx, [str(path)])
    ticks = {t.name: t.transition for t in engine_events.evaluate_alarms(ctx, now)}
    root = ticks["vigil-root-activity"]
    assert (root.changed, root.previous.value, root.state.value) == (True, "INSUFFICIENT_DATA", "ALARM")
    assert ticks["cis-5.3-root-usage"].state.value == "ALARM"
    assert ticks["cis-5.5-cloudtrail-changes"].state.value == "OK"
    with store.connect() as conn:
        messages = conn.execute(select(published_messages).order_by(published_messages.c.id)).all()
        history = conn.execute(
            select(alarm_history).where(alarm_history.c.alarm_name == "vigil-root-activity")
        ).all()
    fired = [m for m in messages if orjson.loads(m.message)["AlarmName"] == "vigil-root-activity"]
    assert len(fired) == 1
    body = orjson.loads(fired[0].message)
    assert fired[0].topic == local_topic_arn("vigil-alerts")
    assert fired[0].subject == 'ALARM: "vigil-root-activity" in US East (N. Virginia)'
    assert (body["NewStateValue"], body["OldStateValue"], body["AWSAccountId"]) == (
        "ALARM",
        "INSUFFICIENT_DATA",
        "000000000000",
    )
    assert body["Trigger"]["Statistic"] == "SUM" and body["Trigger"]["Period"] == 300
    assert body["NewStateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")
    assert [h.item_type for h in history] == ["StateUpdate", "Action"]

    same = {t.name: t.transition for t in engine_events.evaluate_alarms(ctx, now + timedelta(seconds=20))}
    assert not same["vigil-root-activity"].changed
    later = {t.name: t.transition for t in engine_events.evaluate_alarms(ctx, now + timedelta(minutes=20))}
    assert (later["vigil-root-activity"].changed, later["vigil-root-activity"].state.value) == (True, "OK")


def test_replay_finds_when_alarms_would_have_fired(sqlite_store: Store) -> None:
    ctx = make_ctx(sqlite_store)
    engine_events.ingest(ctx, [str(STRATUS / "aws.defense-evasion.cloudtrail-stop.json")])
    start, end = datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC)
    fired = [f for f in engine_events.replay_alarms(ctx, since=start, until=end) if f.new == "ALARM"]
    assert "cis-5.5-cloudtrail-changes" in {f.alarm for f in fired}
    stop = next(f for f in fired if f.alarm == "cis-5.5-cloudtrail-changes")
    record = next(
        r
        for r in orjson.loads((STRATUS / "aws.defense-evasion.cloudtrail-stop.json").read_bytes())
        if r["eventName"] == "StopLogging"
    )
    event_time = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    assert timedelta(0) < stop.at - event_time <= timedelta(minutes=10)
    # a replay touches no live state
    with sqlite_store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alarm_history)).scalar_one() == 0
    # new filters see past events with --recount; stored datapoints alone cannot
    custom = make_ctx(
        sqlite_store,
        {
            "metric_filters": [
                {
                    "name": "stop",
                    "log_group": "aws-cloudtrail-logs-vigil",
                    "pattern": '{ $.eventName = "StopLogging" }',
                    "metric_name": "Stops",
                    "metric_namespace": "Custom",
                }
            ],
            "alarms": [
                {
                    "AlarmName": "stops",
                    "Namespace": "Custom",
                    "MetricName": "Stops",
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching",
                }
            ],
        },
    )
    assert not [
        f
        for f in engine_events.replay_alarms(custom, since=start, until=end, names=["stops"])
        if f.new == "ALARM"
    ]
    recounted = engine_events.replay_alarms(custom, since=start, until=end, names=["stops"], recount=True)
    assert [f.new for f in recounted if f.new == "ALARM"] == ["ALARM"]


def test_search_and_retention(sqlite_store: Store) -> None:
    ctx = make_ctx(sqlite_store, {"log_groups": [{"name": "aws-cloudtrail-logs-vigil", "retention_days": 1}]})
    engine_events.ingest(ctx, [str(STRATUS)])
    found = list(engine_events.search(ctx, pattern='{ $.eventName = "StopLogging" }', limit=None))
    assert [f.event_name for f in found] == ["StopLogging"]
    denied = list(engine_events.search(ctx, pattern='{ $.errorCode = "AccessDenied*" }', limit=None))
    assert denied and all((f.error_code or "").startswith("AccessDenied") for f in denied)
    terms = list(engine_events.search(ctx, pattern="StopLogging", limit=None))
    assert {f.event_name for f in terms} == {"StopLogging"}
    window = list(
        engine_events.search(
            ctx, since=datetime(2024, 8, 1, tzinfo=UTC), until=datetime(2024, 8, 2, tzinfo=UTC), limit=None
        )
    )
    assert window and all(
        datetime(2024, 8, 1, tzinfo=UTC) <= f.event_time < datetime(2024, 8, 2, tzinfo=UTC) for f in window
    )
    assert len(list(engine_events.search(ctx, limit=5))) == 5
    # retention counts from ingestion: nothing goes today, everything two days later
    assert engine_events.apply_retention(ctx) == {}
    gone = engine_events.apply_retention(ctx, datetime.now(UTC) + timedelta(days=2))
    assert gone == {"aws-cloudtrail-logs-vigil": len(stratus_records())}
    with sqlite_store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(log_events)).scalar_one() == 0


def test_composite_alarms_follow_their_children(sqlite_store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    last_period = now - timedelta(seconds=now.timestamp() % 300) - timedelta(minutes=5)
    path = tmp_path / "root.json"
    path.write_bytes(orjson.dumps({"Records": [now_record(1, last_period + timedelta(seconds=30))]}))
    topic = local_topic_arn("pager")
    ctx = make_ctx(
        sqlite_store,
        {
            "composite_alarms": [
                {
                    "AlarmName": "root-and-no-trail-change",
                    "AlarmRule": 'ALARM("vigil-root-activity") AND NOT ALARM(cis-5.5-cloudtrail-changes)',
                    "AlarmActions": [topic],
                }
            ]
        },
    )
    engine_events.ingest(ctx, [str(path)])
    ticks = {t.name: t.transition for t in engine_events.evaluate_alarms(ctx, now)}
    composite = ticks["root-and-no-trail-change"]
    assert (composite.changed, composite.state.value) == (True, "ALARM")
    assert composite.state.reason.endswith("was created and its alarm rule evaluates to ALARM")
    with sqlite_store.connect() as conn:
        sent = conn.execute(select(published_messages).where(published_messages.c.topic == topic)).all()
    body = orjson.loads(sent[0].message)
    assert body["AlarmRule"].startswith('ALARM("vigil-root-activity")')
    assert [c["Arn"].rsplit(":", 1)[1] for c in body["TriggeringChildren"]] == [
        "vigil-root-activity",
        "cis-5.5-cloudtrail-changes",
    ]
    later = {t.name: t.transition for t in engine_events.evaluate_alarms(ctx, now + timedelta(minutes=20))}
    assert later["root-and-no-trail-change"].state.value == "OK"
    assert "vigil-root-activity transitioned to OK" in later["root-and-no-trail-change"].state.reason


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([("a", 'ALARM("nope")')], "names alarms that do not exist: nope"),
        ([("a", "ALARM(b)"), ("b", "ALARM(a)")], "a → b → a"),
        ([("a", "ALARM(vigil-root-activity) AND")], "alarm_rule: alarm rule: at column 31"),
    ],
)
def test_bad_composites_are_config_errors(
    sqlite_store: Store, rules: list[tuple[str, str]], expected: str
) -> None:
    from vigil.errors import ConfigError

    ctx = make_ctx(sqlite_store, {"composite_alarms": [{"AlarmName": n, "AlarmRule": r} for n, r in rules]})
    with pytest.raises(ConfigError) as excinfo:
        engine_events.catalog(ctx)
    assert expected in str(excinfo.value)


def test_vigil_ingest_reads_a_trail_bucket_on_the_emulator(
    account: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    for name, value in account.environment().items():
        monkeypatch.setenv(name, value)
    s3 = account.client("s3", "us-east-1")
    s3.create_bucket(Bucket="trail-bucket")
    records = orjson.loads((STRATUS / "aws.defense-evasion.cloudtrail-stop.json").read_bytes())
    key = f"AWSLogs/{account.account_id}/CloudTrail/us-east-1/2024/07/31/{account.account_id}_CloudTrail_us-east-1_20240731T1310Z_abc.json.gz"
    s3.put_object(Bucket="trail-bucket", Key=key, Body=gzip.compress(orjson.dumps({"Records": records})))
    db = str(tmp_path / "s3.db")
    result = CliRunner().invoke(app, ["ingest", "s3://trail-bucket", "--db", db, "-o", "json", "-q"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert (summary["records"], summary["stored"]) == (len(records), len(records))
    again = CliRunner().invoke(app, ["ingest", "s3://trail-bucket", "--db", db, "-o", "json", "-q"])
    assert orjson.loads(again.stdout)["records"] == 0  # the checkpoint says the key is done


def test_events_and_replay_commands(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    db = str(tmp_path / "cli.db")
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(STRATUS / "aws.defense-evasion.cloudtrail-stop.json", logs / "stop.json")
    (logs / "bad.json").write_text("{nope")
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(logs), "--db", db, "-q"])
    assert ingested.exit_code == 3, ingested.output  # one file quarantined: done, but partly
    assert "quarantined" in ingested.output

    found = runner.invoke(app, ["events", "--db", db, "-p", '{ $.eventName = "StopLogging" }', "-o", "json"])
    assert found.exit_code == 0, found.output
    assert [r["eventName"] for r in orjson.loads(found.stdout)] == ["StopLogging"]
    as_csv = runner.invoke(app, ["events", "--db", db, "-p", "StopLogging", "-o", "csv"])
    lines = as_csv.stdout.strip().splitlines()
    assert lines[0] == "time,event,source,principal,ip,error,log group" and len(lines) == 2
    assert ",StopLogging,cloudtrail,user/" in lines[1]
    bad = runner.invoke(app, ["events", "--db", db, "-p", "{ $.x = "])
    assert bad.exit_code == 2 and "expected" in bad.output
    window = runner.invoke(app, ["events", "--db", db, "--since", "2030-01-01", "-o", "json"])
    assert orjson.loads(window.stdout) == []
    groups = runner.invoke(app, ["events", "--db", db, "--groups", "-o", "json"])
    assert orjson.loads(groups.stdout)[0]["logGroup"] == "aws-cloudtrail-logs-vigil"
    quarantine = runner.invoke(app, ["events", "--db", db, "--quarantine", "-o", "json"])
    (entry,) = orjson.loads(quarantine.stdout)
    assert entry["location"].endswith("bad.json") and "JSON" in entry["reason"]

    replayed = runner.invoke(
        app, ["replay", "--db", db, "--since", "2024-07-01", "--until", "2024-09-01", "-o", "json"]
    )
    assert replayed.exit_code == 0, replayed.output
    fired = {r["alarm"] for r in orjson.loads(replayed.stdout)}
    assert "cis-5.5-cloudtrail-changes" in fired and all(
        r["newState"] == "ALARM" for r in orjson.loads(replayed.stdout)
    )
    unknown = runner.invoke(app, ["replay", "--db", db, "--alarm", "nope"])
    assert unknown.exit_code == 2 and "unknown alarm" in unknown.output
