"""CloudTrail event sources: decoding, quarantine, checkpoints and resume, on real records.

Files and stdin are read from temporary files; S3 and SQS run against moto's server; LookupEvents
(which moto lacks) against botocore's Stubber with AWS's documented response shape.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.stub import Stubber

from conftest import SHARED_DATA, Account
from vigil.aws.session import AwsSession
from vigil.errors import UsageError
from vigil.settings import AwsSettings
from vigil.trail.records import (
    MAX_RECORD_BYTES,
    REQUIRED_FIELDS,
    DecodeError,
    decode,
    decode_document,
)
from vigil.trail.sources import (
    Batch,
    LookupEventsSource,
    PathSource,
    Quarantined,
    S3Source,
    SqsSource,
    StdinSource,
    is_log_key,
    message_objects,
    open_source,
)

CLOUDTRAIL = SHARED_DATA / "cloudtrail"
STRATUS = CLOUDTRAIL / "stratus-red-team" / "docs" / "detonation-logs"
CUSTODIAN = CLOUDTRAIL / "custodian-cwe"
DOCS_EXAMPLES = CLOUDTRAIL / "aws-docs-examples.jsonl"
needs_shared = pytest.mark.skipif(
    not STRATUS.is_dir(), reason=f"the shared CloudTrail samples are not at {STRATUS} (set VIGIL_SHARED_DATA)"
)


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "eventID": str(uuid.UUID(int=n)),
        **extra,
    }


def log_file(*records: dict[str, Any]) -> bytes:
    return gzip.compress(orjson.dumps({"Records": list(records)}))


def ids(batches: list[Batch]) -> list[str]:
    return [r["eventID"] for b in batches for r in b.records]


def missing(value: Any) -> list[str]:
    return (
        [f for f in REQUIRED_FIELDS if f not in value] if isinstance(value, dict) else list(REQUIRED_FIELDS)
    )


# -- decoding ---------------------------------------------------------------------------------------


def test_every_accepted_shape() -> None:
    a, b = record(1), record(2)
    envelope = {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "detail": b,
    }
    shapes = {
        "Records wrapper": orjson.dumps({"Records": [a, b]}),
        "bare array": orjson.dumps([a, b]),
        "array of envelopes": orjson.dumps([a, envelope]),
        "JSON lines": orjson.dumps(a) + b"\n\n" + orjson.dumps(envelope) + b"\n",
        "gzip without a suffix": gzip.compress(orjson.dumps({"Records": [a, b]})),
        "pretty-printed": json.dumps({"Records": [a, b]}, indent=2).encode(),
    }
    for name, data in shapes.items():
        assert decode(data).records == [a, b], name
    assert decode(orjson.dumps(a)).records == [a]
    assert decode(orjson.dumps(envelope)).records == [b]


def test_json_lines_report_bad_lines_and_keep_the_rest() -> None:
    lines = [orjson.dumps(record(1)), b'{"eventID": "x"', orjson.dumps({"hello": 1}), orjson.dumps(record(2))]
    decoded = decode(b"\n".join(lines))
    assert [r["eventID"] for r in decoded.records] == [record(1)["eventID"], record(2)["eventID"]]
    assert [n for n, _ in decoded.bad_lines] == [2, 3]
    assert "invalid JSON" in decoded.bad_lines[0][1]
    assert "no eventTime, eventName, eventSource" in decoded.bad_lines[1][1]


@needs_shared
def test_stratus_red_team_arrays() -> None:
    files = sorted(STRATUS.glob("*.json"))
    assert len(files) > 30
    for path in files:
        assert decode(path.read_bytes()).records == json.loads(path.read_text()), path.name


@needs_shared
def test_custodian_records_and_eventbridge_envelopes() -> None:
    unwrapped = 0
    for path in sorted(CUSTODIAN.glob("*.json")):
        doc = json.loads(path.read_text())
        inner = doc["detail"] if "detail" in doc and "eventName" not in doc else doc
        unwrapped += inner is not doc
        lacking = missing(inner)
        if lacking:
            with pytest.raises(DecodeError, match=f"record 1 is not a CloudTrail record: no {lacking[0]}"):
                decode(path.read_bytes())
        else:
            assert decode(path.read_bytes()).records == [inner], path.name
    assert unwrapped == 9  # INDEX.md: 9 of the 20 inside the EventBridge envelope


@needs_shared
def test_aws_documentation_examples() -> None:
    accepted = 0
    for line in DOCS_EXAMPLES.read_text().splitlines():
        event = json.loads(line)["event"]
        lacking = missing(event)
        if lacking:
            with pytest.raises(DecodeError, match=f"no {', '.join(lacking)}"):
                decode_document(orjson.dumps(event))
        else:
            assert decode_document(orjson.dumps(event)) == [event]
            accepted += 1
    assert accepted >= 30


def test_record_size_limit_is_cloudtrails() -> None:
    assert MAX_RECORD_BYTES == 256 * 1024
    near = record(1, requestParameters={"blob": "x" * (MAX_RECORD_BYTES - 400)})
    assert decode(json.dumps({"Records": [near]}, indent=4).encode()).records == [
        near
    ]  # pretty-printing is not size
    over = record(2, requestParameters={"blob": "x" * MAX_RECORD_BYTES})
    with pytest.raises(DecodeError, match=r"record 2 is [\d,]+ bytes, over the 262,144-byte limit"):
        decode(orjson.dumps([record(1), over]))
    assert decode(orjson.dumps([over]), max_record_bytes=2 * MAX_RECORD_BYTES).records == [over]


# -- files and directories ---------------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


MALFORMED = {
    "b-truncated.json.gz": (
        lambda: log_file(record(10), record(11))[:-20],
        "gzip stream is truncated (ends at byte",
    ),
    "c-invalid.json": (lambda: b'{"Records": [{"eventID": 1,,]}', "line 1 column 28: invalid JSON"),
    "d-wrong-schema.json": (
        lambda: orjson.dumps({"Records": [{"name": "x"}]}),
        "record 1 is not a CloudTrail record",
    ),
    "e-huge.json": (
        lambda: orjson.dumps([record(12, requestParameters={"blob": "x" * 10_000_000})]),
        "record 1 is 10,000,",
    ),
    "f-deep.json": (lambda: b"[" * 10_000 + b"]" * 10_000, "invalid JSON: depth limit exceeded"),
    "f-deep-but-parsable.json": (
        lambda: json.dumps([record(13, requestParameters=_nested(300))]).encode(),
        "record 1 cannot be stored: Recursion limit reached",
    ),
    "g-scalar.json": (lambda: b"42", "the JSON document is a number"),
    "h-records-not-array.json": (lambda: b'{"Records": {"a": 1}}', '"Records" is an object, not an array'),
}


def test_malformed_files_are_quarantined_and_the_rest_is_read(tmp_path: Path) -> None:
    invalid = MALFORMED["c-invalid.json"][0]()
    assert invalid.index(b",,") + 2 == 28  # the second comma, 1-based: where orjson must point
    write(tmp_path / "a-good.json", orjson.dumps({"Records": [record(1), record(2)]}))
    for name, (content, _) in MALFORMED.items():
        write(tmp_path / name, content())
    write(
        tmp_path / "i-lines.jsonl", b"\n".join([orjson.dumps(record(3)), b"{oops", orjson.dumps(record(4))])
    )
    write(tmp_path / "sub" / "z-good.json.gz", log_file(record(5)))
    write(tmp_path / "LICENSE", b"not a log")
    write(tmp_path / ".hidden.json", b"not read either")

    batches = list(PathSource(tmp_path, batch_files=1).batches(None))

    assert ids(batches) == [record(n)["eventID"] for n in (1, 2, 3, 4, 5)]
    quarantined = {Path(q.location).name: q for b in batches for q in b.quarantined}
    assert set(quarantined) == {*MALFORMED, "i-lines.jsonl:2"}
    for name, (_, reason) in MALFORMED.items():
        assert reason in quarantined[name].reason, (name, quarantined[name].reason)
        assert quarantined[name].size == (tmp_path / name).stat().st_size
    assert "invalid JSON" in quarantined["i-lines.jsonl:2"].reason
    assert all(b.records == [] for b in batches if b.location.endswith(tuple(MALFORMED)))
    assert len({b.location for b in batches}) == len(batches) == 11  # one batch per file


def test_directory_resume_skips_finished_files_and_rereads_changed_ones(tmp_path: Path) -> None:
    for n in (1, 2, 3):
        write(tmp_path / f"f{n}.json", orjson.dumps([record(n)]))
    source = PathSource(tmp_path, batch_files=1)
    first = list(source.batches(None))
    assert [Path(b.location).name for b in first] == ["f1.json", "f2.json", "f3.json"]
    assert first[0].size == (tmp_path / "f1.json").stat().st_size
    assert source.total() == sum((tmp_path / f"f{n}.json").stat().st_size for n in (1, 2, 3))

    resumed = list(source.batches(first[0].checkpoint))
    assert [b.location for b in resumed] == [b.location for b in first[1:]]
    assert resumed[-1].checkpoint == first[-1].checkpoint
    assert list(source.batches(first[-1].checkpoint)) == []

    write(tmp_path / "f1.json", orjson.dumps([record(1), record(7)]))
    again = list(source.batches(first[-1].checkpoint))
    assert [(Path(b.location).name, ids([b])) for b in again] == [
        ("f1.json", [record(1)["eventID"], record(7)["eventID"]])
    ]


def test_small_files_are_read_together_and_resume_after_the_batch(tmp_path: Path) -> None:
    for n in range(1, 8):
        write(tmp_path / f"f{n}.json", orjson.dumps([record(2 * n), record(2 * n + 1)]))
    write(tmp_path / "f4b.json", b"{broken")
    source = PathSource(tmp_path, batch_records=5)
    batches = list(source.batches(None))
    assert [len(b.records) for b in batches] == [6, 6, 2]
    assert batches[0].location.endswith("f1.json (and 2 more files)")
    assert [Path(q.location).name for b in batches for q in b.quarantined] == ["f4b.json"]
    assert sorted(batches[0].checkpoint["done"]) == ["f1.json", "f2.json", "f3.json"]
    resumed = list(source.batches(batches[0].checkpoint))
    assert ids(resumed) == ids(batches[1:])
    assert sum(b.size for b in batches) == sum(p.stat().st_size for p in tmp_path.iterdir())


def test_json_lines_resume_mid_file(tmp_path: Path) -> None:
    lines = [orjson.dumps(record(n)) for n in range(1, 8)]
    path = write(tmp_path / "events.jsonl.gz", gzip.compress(b"\n".join(lines) + b"\n"))
    source = PathSource(path, batch_lines=3)
    batches = list(source.batches(None))
    assert [len(b.records) for b in batches] == [3, 3, 1]
    assert batches[0].checkpoint == {
        "done": {},
        "partial": {"file": "events.jsonl.gz", **_stamp(path), "line": 3},
    }
    assert batches[-1].checkpoint == {"done": {"events.jsonl.gz": _stamp(path)}, "partial": None}
    for k, batch in enumerate(batches):
        assert ids(list(source.batches(batch.checkpoint))) == ids(batches[k + 1 :])


def test_exactly_full_json_lines_batches_end_without_an_empty_one(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", b"\n".join(orjson.dumps(record(n)) for n in range(4)))
    assert [len(b.records) for b in PathSource(path, batch_lines=2).batches(None)] == [2, 2]


def test_truncated_gzip_json_lines_keep_the_lines_before(tmp_path: Path) -> None:
    data = gzip.compress(b"\n".join(orjson.dumps(record(n, pad="p" * 2000)) for n in range(50)))
    path = write(tmp_path / "cut.jsonl.gz", data[: len(data) // 2])
    batches = list(PathSource(path).batches(None))
    records = ids(batches)
    assert 0 < len(records) < 50
    assert records == [record(n)["eventID"] for n in range(len(records))]
    (bad,) = [q for b in batches for q in b.quarantined]
    assert bad.location == f"{path}:{len(records) + 1}"
    assert bad.reason == f"gzip stream is truncated (ends at byte {len(data) // 2:,})"


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


# -- stdin ------------------------------------------------------------------------------------------


def test_stdin_json_lines_and_documents_in_batches() -> None:
    lines = b"\n".join(orjson.dumps(record(n)) for n in range(5)) + b"\nnot json\n"
    batches = list(StdinSource(io.BytesIO(lines), batch_records=2).batches(None))
    assert [len(b.records) for b in batches] == [2, 2, 1]
    assert all(b.checkpoint is None for b in batches)
    assert [q.location for b in batches for q in b.quarantined] == ["<stdin>:6"]

    document = gzip.compress(orjson.dumps({"Records": [record(n) for n in range(5)]}))
    batches = list(open_source("-", stdin=io.BytesIO(document)).batches(None))
    assert ids(batches) == [record(n)["eventID"] for n in range(5)]

    (bad,) = list(StdinSource(io.BytesIO(b"[1, 2")).batches(None))
    assert bad.quarantined == (
        Quarantined("<stdin>", "line 1 column 6: invalid JSON: unexpected end of data"),
    )
    assert list(StdinSource(io.BytesIO(b"")).batches(None)) == [Batch("stdin", "<stdin>", [], None)]


# -- open_source ------------------------------------------------------------------------------------


def test_open_source_forms(tmp_path: Path) -> None:
    session = AwsSession(AwsSettings())
    assert open_source(str(tmp_path)).key == f"file:{tmp_path.resolve()}"
    assert open_source("-", stdin=io.BytesIO()).key == "stdin"
    assert (
        open_source("s3://trail-bucket/logs/AWSLogs", session=session).key == "s3://trail-bucket/logs/AWSLogs"
    )
    assert open_source("s3://trail-bucket", session=session).key == "s3://trail-bucket/"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/trail-queue"
    for spec in (url, f"sqs://{url}"):
        source = open_source(spec, session=session)
        assert isinstance(source, SqsSource)
        assert (source.key, source.region) == (f"sqs:{url}", "eu-west-1")
    assert open_source("lookup-events", session=session).key == "lookup-events:us-east-1"
    assert open_source("lookup-events:eu-west-2", session=session).key == "lookup-events:eu-west-2"
    for spec in ("gs://bucket/x", "s3://", str(tmp_path / "missing")):
        with pytest.raises(UsageError) as err:
            open_source(spec, session=session)
        assert "s3://bucket[/prefix]" in str(err.value) and "lookup-events[:<region>]" in str(err.value)


# -- S3 ---------------------------------------------------------------------------------------------


def trail_key(account: str, region: str, stamp: str, unique: str, org: str = "") -> str:
    day = f"{stamp[:4]}/{stamp[4:6]}/{stamp[6:8]}"
    return (
        f"trail/AWSLogs/{org}{account}/CloudTrail/{region}/{day}/"
        f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    )


def test_log_key_layout() -> None:
    assert is_log_key(trail_key("111122223333", "us-east-2", "20150801T0210Z", "Mu0KsOhtH1ar15ZZ"))
    assert is_log_key(trail_key("111122223333", "us-east-2", "20150801T0210Z", "Mu0K", org="o-exampleorgid/"))
    assert not is_log_key(
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/"
        "111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150801T021000Z.json.gz"
    )
    assert not is_log_key("AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/notes.txt")


def bucket_of(account: Account) -> str:
    """Bucket names are global, also on moto: one per test account."""
    return f"trail-logs-{account.account_id}"


@pytest.fixture
def s3_trail(account: Account) -> tuple[Account, Any, dict[str, list[str]]]:
    s3 = account.client("s3")
    bucket = bucket_of(account)
    s3.create_bucket(Bucket=bucket)
    acct = account.account_id
    keys = {
        "us-east-1": [trail_key(acct, "us-east-1", f"20240501T10{m:02d}Z", f"U{m:015d}") for m in (0, 5, 10)],
        "eu-west-1": [trail_key(acct, "eu-west-1", f"20240501T10{m:02d}Z", f"E{m:015d}") for m in (0, 5)],
    }
    for n, key in enumerate(keys["eu-west-1"] + keys["us-east-1"]):
        s3.put_object(Bucket=bucket, Key=key, Body=log_file(record(n), record(100 + n)))
    digest = f"trail/AWSLogs/{acct}/CloudTrail-Digest/us-east-1/2024/05/01/{acct}_CloudTrail-Digest_x.json.gz"
    s3.put_object(Bucket=bucket, Key=digest, Body=b"{}")
    s3.put_object(Bucket=bucket, Key="other/readme.json", Body=b"{}")
    return account, s3, keys


def test_s3_reads_each_region_skips_digests_and_resumes(
    s3_trail: tuple[Account, Any, dict[str, list[str]]],
) -> None:
    account, s3, keys = s3_trail
    bucket = bucket_of(account)
    source = open_source(f"s3://{bucket}", session=account.session())
    assert isinstance(source, S3Source)
    batches = list(source.batches(None))
    expected = [f"s3://{bucket}/{k}" for k in keys["eu-west-1"] + keys["us-east-1"]]
    assert [b.location for b in batches] == expected
    assert ids(batches) == [r for n in range(5) for r in (record(n)["eventID"], record(100 + n)["eventID"])]
    assert all(b.quarantined == () for b in batches)

    for k, batch in enumerate(batches):
        assert [b.location for b in source.batches(batch.checkpoint)] == expected[k + 1 :]

    # a file delivered late in the same minute with a smaller key, and a new region
    acct = account.account_id
    late = trail_key(acct, "us-east-1", "20240501T1010Z", "A000000000000000")
    new_region = trail_key(acct, "ap-south-1", "20240501T1200Z", "N000000000000000")
    for key in (late, new_region):
        s3.put_object(Bucket=bucket, Key=key, Body=log_file(record(50)))
    again = list(source.batches(batches[-1].checkpoint))
    assert [b.location for b in again] == [f"s3://{bucket}/{new_region}", f"s3://{bucket}/{late}"]
    assert list(source.batches(again[-1].checkpoint)) == []


def test_s3_prefix_inside_the_layout_and_a_bad_object(
    s3_trail: tuple[Account, Any, dict[str, list[str]]],
) -> None:
    account, s3, keys = s3_trail
    bucket = bucket_of(account)
    bad = keys["us-east-1"][1].replace("U", "X", 1)
    s3.put_object(Bucket=bucket, Key=bad, Body=b"\x1f\x8b\x08\x00truncated")
    prefix = keys["us-east-1"][0].rsplit("/", 4)[0] + "/"
    batches = list(open_source(f"s3://{bucket}/{prefix}", session=account.session()).batches(None))
    assert [b.location for b in batches] == [f"s3://{bucket}/{k}" for k in sorted([*keys["us-east-1"], bad])]
    (quarantined,) = [q for b in batches for q in b.quarantined]
    assert quarantined.location == f"s3://{bucket}/{bad}"
    assert quarantined.reason.startswith("gzip stream is truncated")


def test_s3_missing_bucket_cannot_start(account: Account) -> None:
    from vigil.trail.sources import SourceUnavailable

    with pytest.raises(SourceUnavailable, match="NoSuchBucket"):
        list(open_source("s3://no-such-bucket-here", session=account.session()).batches(None))


# -- SQS --------------------------------------------------------------------------------------------


def s3_notification(bucket: str, key: str, event: str = "ObjectCreated:Put") -> str:
    quoted = key.replace(" ", "+")
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": event,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": quoted, "size": 1}},
                }
            ]
        }
    )


def sns(message: str) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Message": message,
        }
    )


def test_message_kinds() -> None:
    assert message_objects(s3_notification("b", "AWSLogs/1/CloudTrail/x/a b.json.gz")) == [
        ("b", "AWSLogs/1/CloudTrail/x/a b.json.gz")
    ]
    assert message_objects(s3_notification("b", "k.json.gz", "ObjectRemoved:Delete")) == []
    assert message_objects(
        sns(json.dumps({"s3Bucket": "b", "s3ObjectKey": ["k1.json.gz", "k2.json.gz"]}))
    ) == [
        ("b", "k1.json.gz"),
        ("b", "k2.json.gz"),
    ]
    assert message_objects(sns(s3_notification("b", "k.json.gz"))) == [("b", "k.json.gz")]
    assert message_objects(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert message_objects(s3_notification("b", "AWSLogs/1/CloudTrail-Digest/x/d.json.gz")) == []
    created = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": "b"},
            "object": {"key": "AWSLogs/1/CloudTrail/x/a:b.json.gz", "size": 9},
        },
    }
    assert message_objects(json.dumps(created)) == [("b", "AWSLogs/1/CloudTrail/x/a:b.json.gz")]
    for garbage in ("hello", "[1]", json.dumps({"Records": [{"eventSource": "aws:s3"}]}), sns("{")):
        assert message_objects(garbage) is None, garbage


def test_sqs_notifications_are_read_acked_and_garbage_quarantined(account: Account) -> None:
    s3 = account.client("s3")
    sqs = account.client("sqs")
    bucket = bucket_of(account)
    s3.create_bucket(Bucket=bucket)
    acct = account.account_id
    spaced = trail_key(acct, "us-east-1", "20240501T1000Z", "with space 00000")
    plain = trail_key(acct, "us-east-1", "20240501T1005Z", "P000000000000000")
    s3.put_object(Bucket=bucket, Key=spaced, Body=log_file(record(1), record(2)))
    s3.put_object(Bucket=bucket, Key=plain, Body=log_file(record(3)))
    url = sqs.create_queue(QueueName="trail-notices")["QueueUrl"]
    bodies = {
        "s3 event": s3_notification(bucket, spaced),
        "cloudtrail sns": sns(json.dumps({"s3Bucket": bucket, "s3ObjectKey": [plain]})),
        "test event": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}),
        "garbage": "not a notification",
        "missing object": s3_notification(bucket, plain.replace("P0", "Q0")),
        "eventbridge record": json.dumps(
            {
                "version": "0",
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.ec2",
                "detail": record(4),
            }
        ),
        "eventbridge not cloudtrail": json.dumps(
            {
                "version": "0",
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.ec2",
                "detail": {"x": 1},
            }
        ),
    }
    sent = {
        sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]: name for name, body in bodies.items()
    }

    source = open_source("sqs://trail-notices", session=account.session())
    assert isinstance(source, SqsSource)
    source.wait_seconds = 0
    batches = {sent[b.location.rpartition("#")[2]]: b for b in source.batches(None)}

    assert set(batches) == set(bodies)
    assert ids([batches["s3 event"]]) == [record(1)["eventID"], record(2)["eventID"]]
    assert ids([batches["cloudtrail sns"]]) == [record(3)["eventID"]]
    assert batches["test event"].records == [] and batches["test event"].quarantined == ()
    assert ids([batches["eventbridge record"]]) == [record(4)["eventID"]]
    (broken,) = batches["eventbridge not cloudtrail"].quarantined
    assert "EventBridge CloudTrail event that cannot be read" in broken.reason
    (garbage,) = batches["garbage"].quarantined
    assert (
        garbage.location == batches["garbage"].location == f"sqs:{url}#{garbage.location.rpartition('#')[2]}"
    )
    assert "not an S3 event notification" in garbage.reason
    (gone,) = batches["missing object"].quarantined
    assert gone.location == f"s3://{bucket}/{plain.replace('P0', 'Q0')}"
    assert "NoSuchKey" in gone.reason
    assert all(b.checkpoint is None and b.ack is not None for b in batches.values())

    for batch in batches.values():
        assert batch.ack is not None
        batch.ack()
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 0
    )


def test_sqs_stops_after_max_messages_and_unacked_messages_stay(account: Account) -> None:
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName="capped")["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    source = SqsSource(account.session(), url, wait_seconds=0, max_messages=2)
    assert len(list(source.batches(None))) == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 3
    )


# -- LookupEvents -----------------------------------------------------------------------------------

NOW = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def lookup_event(n: int, moment: datetime, body: str | None = None) -> dict[str, Any]:
    """One ``Events[]`` item as the API reference documents it."""
    rec = record(n, eventTime=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return {
        "EventId": rec["eventID"],
        "EventName": rec["eventName"],
        "ReadOnly": "true",
        "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "EventTime": moment,
        "EventSource": rec["eventSource"],
        "Username": "alice",
        "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0123456789abcdef0"}],
        "CloudTrailEvent": body if body is not None else json.dumps(rec),
    }


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def lookup(base_credentials: None) -> tuple[LookupEventsSource, FakeTime]:
    fake = FakeTime()
    source = LookupEventsSource(
        AwsSession(AwsSettings(regions=["eu-west-1"])),
        "eu-west-1",
        clock=fake.clock,
        sleep=fake.sleep,
        now=lambda: NOW,
    )
    return source, fake


def test_lookup_events_pages_checkpoint_and_resume(lookup: tuple[LookupEventsSource, FakeTime]) -> None:
    source, fake = lookup
    start, newest = NOW - timedelta(days=90), NOW - timedelta(minutes=5)
    page1 = [lookup_event(3, newest), lookup_event(2, newest - timedelta(minutes=1))]
    page2 = [
        lookup_event(1, newest - timedelta(minutes=2)),
        lookup_event(9, newest, body='{"eventName": "x"}'),
    ]
    window = {"StartTime": start, "EndTime": NOW, "MaxResults": 50}
    client = source.session.client("cloudtrail", "eu-west-1")
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": page1, "NextToken": "page-2"}, window)
        stub.add_response("lookup_events", {"Events": page2}, {**window, "NextToken": "page-2"})
        batches = list(source.batches(None))
        stub.assert_no_pending_responses()
    assert ids(batches) == [record(n)["eventID"] for n in (3, 2, 1)]
    assert fake.slept == [0.5]  # 2 requests per second
    assert batches[0].checkpoint == {
        "since": None,
        "sweep": {
            "start": "2024-02-02T12:00:00Z",
            "end": "2024-05-02T12:00:00Z",
            "token": "page-2",
            "newest": "2024-05-02T11:55:00Z",
        },
    }
    assert batches[1].checkpoint == {"since": "2024-05-02T11:55:00Z", "sweep": None}
    (bad,) = batches[1].quarantined
    assert bad.location == f"lookup-events:eu-west-1#{record(9)['eventID']}"
    assert "record 1 is not a CloudTrail record: no eventTime, eventSource, eventID" in bad.reason

    with Stubber(client) as stub:  # resume mid-sweep: only the second page
        stub.add_response("lookup_events", {"Events": page2}, {**window, "NextToken": "page-2"})
        assert ids(list(source.batches(batches[0].checkpoint))) == ids(batches[1:])
        stub.assert_no_pending_responses()

    with Stubber(client) as stub:  # the next run starts at the newest time seen
        stub.add_response("lookup_events", {"Events": []}, {**window, "StartTime": newest})
        (empty,) = list(source.batches(batches[1].checkpoint))
        stub.assert_no_pending_responses()
    assert empty.records == [] and empty.checkpoint == {"since": "2024-05-02T11:55:00Z", "sweep": None}


def test_lookup_events_refused_cannot_start(lookup: tuple[LookupEventsSource, FakeTime]) -> None:
    from vigil.trail.sources import SourceUnavailable

    source, _ = lookup
    with Stubber(source.session.client("cloudtrail", "eu-west-1")) as stub:
        stub.add_client_error("lookup_events", "AccessDeniedException", "not allowed", 400)
        with pytest.raises(SourceUnavailable, match="AccessDeniedException"):
            list(source.batches(None))
