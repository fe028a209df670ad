"""Where CloudTrail records come from: local files, stdin, S3, SQS and LookupEvents.

Every source yields :class:`Batch` es; a batch carries the source's whole position after it
(``checkpoint``), which the pipeline stores in the same transaction as the batch's effects and hands
back to :meth:`Source.batches` to resume. Input that is not CloudTrail is never raised past
``batches()``: it is returned as :class:`Quarantined` entries with the reason, and the rest goes on.
Only a source that cannot be read at all (no such bucket or queue, access denied to list it, network
down) raises :class:`SourceUnavailable`.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote_plus, urlsplit

import botocore.exceptions
import orjson

from vigil.aws.session import AwsSession, error_code
from vigil.errors import CannotStart, UsageError
from vigil.settings import AwsSettings
from vigil.trail.records import (
    GZIP_MAGIC,
    MAX_RECORD_BYTES,
    DecodeError,
    Record,
    decode,
    decode_document,
    decode_line,
    gzip_truncated,
    looks_like_json_lines,
)

BATCH_LINES = 5_000
Checkpoint = dict[str, Any]


@dataclass(frozen=True)
class Quarantined:
    """Input set aside: where it was, what is wrong with it, and its size when known."""

    location: str
    reason: str
    size: int | None = None


@dataclass(frozen=True)
class Batch:
    """Records read together, and the source's whole position once they are stored."""

    source: str
    location: str
    records: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None
    quarantined: tuple[Quarantined, ...] = ()
    size: int = 0
    ack: Callable[[], None] | None = None


class Source(Protocol):
    key: str

    def total(self) -> int | None: ...

    def batches(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]: ...


class SourceUnavailable(CannotStart):
    """A source that cannot be read at all (bucket, queue or API refused or unreachable)."""


def _aws_failure(what: str, exc: BaseException, *, where: str, hint: str) -> SourceUnavailable:
    code, message = error_code(exc)
    return SourceUnavailable(f"cannot {what}: {code}: {message}", where=where, hint=hint)


# -- streams (files, stdin) -------------------------------------------------------------------------

_READ_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read to sniff the format) followed by the rest of ``raw``."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)


def _open_stream(raw: BinaryIO) -> BinaryIO:
    """``raw`` decompressed when it starts with gzip's magic bytes."""
    head = raw.read(2)
    buffered = io.BufferedReader(_Prefixed(head, raw))
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def _read_error_reason(exc: BaseException, compressed_size: int | None) -> str:
    if isinstance(exc, EOFError):
        return gzip_truncated(compressed_size) if compressed_size is not None else "gzip stream is truncated"
    return f"gzip stream is corrupt: {exc}"


@dataclass(frozen=True)
class _ReadFailure:
    reason: str


@dataclass(frozen=True)
class _Chunk:
    records: list[Record]
    quarantined: tuple[Quarantined, ...]
    line: int  # lines consumed so far (JSON lines), 0 for a document
    last: bool


def _safe_lines(
    head: list[bytes], stream: BinaryIO, compressed_size: int | None
) -> Iterator[bytes | _ReadFailure]:
    yield from head
    try:
        yield from iter(stream.readline, b"")
    except _READ_ERRORS as exc:
        yield _ReadFailure(_read_error_reason(exc, compressed_size))


@dataclass(frozen=True)
class _StreamReader:
    """Reads one stream (a file or stdin) as a document or as JSON lines, in chunks."""

    location: str
    max_record_bytes: int
    batch_lines: int
    compressed_size: int | None = None  # the stream's size on disk, for "truncated at byte N"

    def chunks(self, stream: BinaryIO, *, json_lines: bool | None, skip_lines: int = 0) -> Iterator[_Chunk]:
        head: list[bytes] = []
        try:
            nonblank = 0
            while nonblank < 2:
                line = stream.readline()
                if not line:
                    break
                head.append(line)
                nonblank += bool(line.strip())
            if not nonblank:
                yield _Chunk([], (), 0, True)  # empty input: nothing to read, nothing wrong
                return
            if json_lines is None:
                first = next((line for line in head if line.strip()), b"")
                json_lines = looks_like_json_lines(first, nonblank >= 2)
            if not json_lines:
                data = b"".join(head) + stream.read()
                records = decode_document(data, max_record_bytes=self.max_record_bytes)
                yield _Chunk(records, (), 0, True)
                return
        except DecodeError as exc:
            yield self._whole(exc.reason)
            return
        except _READ_ERRORS as exc:
            yield self._whole(_read_error_reason(exc, self.compressed_size))
            return
        yield from self._lines(_safe_lines(head, stream, self.compressed_size), skip_lines)

    def _whole(self, reason: str) -> _Chunk:
        return _Chunk([], (Quarantined(self.location, reason, self.compressed_size),), 0, True)

    def _lines(self, items: Iterator[bytes | _ReadFailure], skip_lines: int) -> Iterator[_Chunk]:
        number = count = 0
        records: list[Record] = []
        bad: list[Quarantined] = []
        pending = next(items, None)
        while pending is not None:
            item, pending = pending, next(items, None)
            if isinstance(item, _ReadFailure):
                bad.append(Quarantined(f"{self.location}:{number + 1}", item.reason))
                break
            number += 1
            if number <= skip_lines:
                continue
            try:
                records.extend(decode_line(item, max_record_bytes=self.max_record_bytes))
            except DecodeError as exc:
                bad.append(Quarantined(f"{self.location}:{number}", exc.reason, len(item)))
            count += 1
            if count == self.batch_lines and pending is not None:
                yield _Chunk(records, tuple(bad), number, False)
                records, bad, count = [], [], 0
        yield _Chunk(records, tuple(bad), number, True)


# -- local files and directories --------------------------------------------------------------------

LOG_SUFFIXES = (".json", ".jsonl", ".ndjson")
LINES_SUFFIXES = (".jsonl", ".ndjson")


def _strip_gz(name: str) -> str:
    return name.removesuffix(".gz")


def _lines_hint(name: str) -> bool | None:
    """True for ``.jsonl``/``.ndjson`` (gzipped or not); None: detect from the content."""
    return True if _strip_gz(name).endswith(LINES_SUFFIXES) else None


@dataclass
class _Pending:
    """Files read but not yet handed out: their records, quarantine and bytes."""

    locations: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    size: int = 0

    def add(
        self, location: str, records: list[Record], quarantined: tuple[Quarantined, ...], size: int
    ) -> None:
        self.locations.append(location)
        self.records.extend(records)
        self.quarantined.extend(quarantined)
        self.size += size

    def batch(self, key: str, done: dict[str, dict[str, int]], partial: dict[str, Any] | None) -> Batch:
        more = len(self.locations) - 1
        location = self.locations[0] + (f" (and {more} more files)" if more else "")
        checkpoint = {"done": dict(done), "partial": partial}
        return Batch(key, location, self.records, checkpoint, tuple(self.quarantined), self.size)


@dataclass
class PathSource:
    """A file, or every ``.json``/``.jsonl``/``.ndjson`` (optionally ``.gz``) file under a directory.

    Checkpoint: ``{"done": {relpath: {"size", "mtime_ns"}}, "partial": {"file", "size", "mtime_ns",
    "line"} | None}``; a file whose size or mtime changed is read again from its start.
    """

    root: Path
    max_record_bytes: int = MAX_RECORD_BYTES
    batch_lines: int = BATCH_LINES
    batch_records: int = BATCH_LINES  # small files are read together up to this many records
    batch_files: int = 1_000  # … and at most this many files
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.key = f"file:{self.root}"

    def files(self) -> list[tuple[str, Path]]:
        """(relative path, path) of every file to read, sorted by relative path."""
        if not self.root.is_dir():
            return [(self.root.name, self.root)]
        found: list[tuple[str, Path]] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if not name.startswith(".") and _strip_gz(name).endswith(LOG_SUFFIXES):
                    path = Path(folder) / name
                    found.append((path.relative_to(self.root).as_posix(), path))
        return sorted(found)

    def total(self) -> int | None:
        return sum(path.stat().st_size for _, path in self.files() if path.is_file())

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        """Small files are read together until a batch holds ``batch_records`` records (one
        transaction and one checkpoint for many CloudTrail deliveries); a large JSON-lines file
        yields its own batches with the line reached."""
        done: dict[str, dict[str, int]] = dict((checkpoint or {}).get("done", {}))
        partial: dict[str, Any] | None = (checkpoint or {}).get("partial")
        pending = _Pending()
        for rel, path in self.files():
            try:
                stat = path.stat()
            except OSError as exc:
                pending.add(str(path), [], (Quarantined(str(path), f"cannot read: {exc}"),), 0)
                if len(pending.locations) >= self.batch_files:
                    yield pending.batch(self.key, done, None)
                    pending = _Pending()
                continue
            stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            if done.get(rel) == stamp:
                continue
            skip = 0
            if partial and partial.get("file") == rel and {k: partial.get(k) for k in stamp} == stamp:
                skip = int(partial["line"])
            for chunk, size in self._read(path, stat.st_size, skip):
                if chunk.last:
                    done[rel] = stamp
                    pending.add(str(path), chunk.records, chunk.quarantined, size)
                    if (
                        len(pending.records) >= self.batch_records
                        or len(pending.locations) >= self.batch_files
                    ):
                        yield pending.batch(self.key, done, None)
                        pending = _Pending()
                    continue
                if pending.locations:  # what came before this file commits first
                    yield pending.batch(self.key, done, None)
                    pending = _Pending()
                position = {"file": rel, **stamp, "line": chunk.line}
                yield self._batch(str(path), chunk.records, chunk.quarantined, done, position, size)
            partial = None
        if pending.locations:
            yield pending.batch(self.key, done, None)

    def _batch(
        self,
        location: str,
        records: list[Record],
        quarantined: tuple[Quarantined, ...],
        done: dict[str, dict[str, int]],
        partial: dict[str, Any] | None,
        size: int,
    ) -> Batch:
        checkpoint = {"done": dict(done), "partial": partial}
        return Batch(self.key, location, records, checkpoint, quarantined, size)

    def _read(self, path: Path, size: int, skip_lines: int) -> Iterator[tuple[_Chunk, int]]:
        reader = _StreamReader(str(path), self.max_record_bytes, self.batch_lines, size)
        try:
            raw = path.open("rb")
        except OSError as exc:
            yield _Chunk([], (Quarantined(str(path), f"cannot read: {exc}", size),), 0, True), size
            return
        with raw:
            position = 0
            for chunk in reader.chunks(
                _open_stream(raw), json_lines=_lines_hint(path.name), skip_lines=skip_lines
            ):
                now = size if chunk.last else raw.tell()
                yield chunk, max(0, now - position)
                position = now


# -- stdin ------------------------------------------------------------------------------------------


@dataclass
class StdinSource:
    """Standard input: JSON lines or one JSON document (gzip too), in batches of 5,000 records."""

    stream: BinaryIO
    max_record_bytes: int = MAX_RECORD_BYTES
    batch_records: int = BATCH_LINES
    key: str = "stdin"

    def total(self) -> int | None:
        return None

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        reader = _StreamReader("<stdin>", self.max_record_bytes, self.batch_records)
        for chunk in reader.chunks(_open_stream(self.stream), json_lines=None):
            records = chunk.records
            for start in range(0, max(len(records), 1), self.batch_records):
                part = records[start : start + self.batch_records]
                quarantined = chunk.quarantined if start == 0 else ()
                yield Batch(self.key, "<stdin>", part, None, quarantined)


# -- S3 ---------------------------------------------------------------------------------------------

# AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/: the root of one (account, region)'s log files.
GROUP_RE = re.compile(
    r"^(?P<root>(?:.*/)?AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/)"
)
# What may still lead to a group root, below AWSLogs/: [o-id/][account/][CloudTrail/]
_TOWARDS_GROUP_RE = re.compile(r"^(?:o-[a-z0-9]+/)?(?:\d{12}/(?:CloudTrail/)?)?$")
_KEY_TIME_RE = re.compile(r"_(\d{8}T\d{4}Z)_[^/]*$")
_MAX_PREFIX_DEPTH = 12  # directory levels walked above AWSLogs/ (a trail's own S3 key prefix)

# S3 error codes that doom one object, not the source: quarantine it and go on.
OBJECT_ERRORS = {
    "NoSuchKey": "the object does not exist (deleted, or a wrong key in a notification)",
    "AccessDenied": "access denied (s3:GetObject, or kms:Decrypt for SSE-KMS objects)",
    "InvalidObjectState": "the object is archived (Glacier); restore it first",
    "404": "the object does not exist",
    "403": "access denied",
}


def is_log_key(key: str) -> bool:
    """A CloudTrail log file in CloudTrail's layout (digests, Insights and other keys are not)."""
    return bool(GROUP_RE.match(key)) and key.endswith((".json.gz", ".json"))


def key_time(key: str) -> datetime | None:
    """The ``YYYYMMDDTHHmmZ`` in a log file's name."""
    found = _KEY_TIME_RE.search(key)
    return datetime.strptime(found.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC) if found else None


def _leads_to_group(prefix: str) -> bool:
    _, marker, rest = prefix.rpartition("AWSLogs/")
    if not marker:
        return prefix.count("/") <= _MAX_PREFIX_DEPTH
    return bool(_TOWARDS_GROUP_RE.match(rest))


def fetch_object(s3: Any, bucket: str, key: str) -> bytes | Quarantined:
    """An object's bytes, or its quarantine entry when S3 refuses it for good."""
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except botocore.exceptions.ClientError as exc:
        code, message = error_code(exc)
        if code not in OBJECT_ERRORS:
            raise
        return Quarantined(
            f"s3://{bucket}/{key}", f"cannot read the object: {code}: {OBJECT_ERRORS[code]} ({message})"
        )


def decode_object(
    location: str, data: bytes, *, max_record_bytes: int
) -> tuple[list[Record], list[Quarantined]]:
    """An object's records, and what to quarantine (the whole object, or its bad lines)."""
    try:
        decoded = decode(data, max_record_bytes=max_record_bytes, json_lines=_lines_hint(location))
    except DecodeError as exc:
        return [], [Quarantined(location, exc.reason, len(data))]
    return decoded.records, [Quarantined(f"{location}:{n}", reason) for n, reason in decoded.bad_lines]


def read_object(
    s3: Any, bucket: str, key: str, max_record_bytes: int
) -> tuple[list[Record], list[Quarantined]]:
    """An S3 object's records and its quarantine entries (fetching and decoding in one)."""
    data = fetch_object(s3, bucket, key)
    if isinstance(data, Quarantined):
        return [], [data]
    return decode_object(f"s3://{bucket}/{key}", data, max_record_bytes=max_record_bytes)


@dataclass
class S3Source:
    """CloudTrail's log files under ``s3://bucket/prefix``, one batch per object.

    Each (account, region) root is listed from where it was left, with ``StartAfter`` (so a run lists
    only new keys, not years of history). Keys sort by delivery time, but two files delivered in the
    same minute can become visible out of key order, so resuming lists again from ``lookback`` before
    the last key's time (from the start of that day's folder) and skips the keys already done in that
    window. Checkpoint: ``{"groups": {root: {"last": key, "recent": [keys]}}}``.
    """

    session: AwsSession
    bucket: str
    prefix: str = ""
    max_record_bytes: int = MAX_RECORD_BYTES
    lookback: timedelta = timedelta(minutes=15)
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"s3://{self.bucket}/{self.prefix}"

    def total(self) -> int | None:
        return None

    @property
    def _s3(self) -> Any:
        return self.session.client("s3")

    def _pages(self, **params: Any) -> Iterator[dict[str, Any]]:
        """ListObjectsV2 pages; a refusal or a network failure means the source cannot be read."""
        try:
            yield from self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, **params)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _aws_failure(
                "list the bucket",
                exc,
                where=self.key,
                hint="check the bucket name, the prefix and s3:ListBucket permission",
            ) from exc

    def groups(self) -> list[tuple[str, str]]:
        """(root, prefix to list) of every (account, region) under the source's prefix, sorted."""
        found = GROUP_RE.match(self.prefix)
        if found:
            return [(found["root"], self.prefix)]
        roots: list[tuple[str, str]] = []
        pending = [self.prefix]
        while pending:
            prefix = pending.pop()
            for page in self._pages(Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    child = common["Prefix"]
                    group = GROUP_RE.match(child)
                    if group:
                        roots.append((group["root"], child))
                    elif _leads_to_group(child):
                        pending.append(child)
        return sorted(roots)

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        groups: dict[str, dict[str, Any]] = dict((checkpoint or {}).get("groups", {}))
        for root, prefix in self.groups():
            state = groups.get(root)
            for key, size in self._new_keys(prefix, state):
                location = f"s3://{self.bucket}/{key}"
                records, quarantined = read_object(self._s3, self.bucket, key, self.max_record_bytes)
                state = self._advance(state, key)
                groups = {**groups, root: state}
                yield Batch(self.key, location, records, {"groups": groups}, tuple(quarantined), size)

    def _threshold(self, last: str) -> datetime | None:
        stamp = key_time(last)
        return stamp - self.lookback if stamp else None

    def _new_keys(self, prefix: str, state: dict[str, Any] | None) -> Iterator[tuple[str, int]]:
        params: dict[str, Any] = {"Prefix": prefix}
        threshold: datetime | None = None
        recent: set[str] = set()
        last = ""
        if state:
            last, recent = state["last"], set(state.get("recent", []))
            threshold = self._threshold(last)
            group = GROUP_RE.match(last)
            params["StartAfter"] = f"{group['root']}{threshold:%Y/%m/%d}/" if threshold and group else last
        for page in self._pages(**params):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not is_log_key(key) or key in recent:
                    continue
                stamp = key_time(key)
                if last and (key <= last if threshold is None or stamp is None else stamp < threshold):
                    continue
                yield key, int(obj.get("Size", 0))

    def _advance(self, state: dict[str, Any] | None, key: str) -> dict[str, Any]:
        last = max(key, state["last"]) if state else key
        threshold = self._threshold(last)
        window = [*(state or {}).get("recent", []), key]
        recent = sorted(k for k in set(window) if threshold and (t := key_time(k)) and t >= threshold)
        return {"last": last, "recent": recent}


# -- SQS --------------------------------------------------------------------------------------------


def _s3_event_objects(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
        for r in body["Records"]
        if str(r.get("eventName", "")).startswith("ObjectCreated:")
    ]


def _is_s3_event(body: dict[str, Any]) -> bool:
    records = body.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:s3" and "s3" in r for r in records)
    )


def _is_cloudtrail_notice(body: dict[str, Any]) -> bool:
    return isinstance(body.get("s3Bucket"), str) and isinstance(body.get("s3ObjectKey"), list)


def _is_eventbridge_object_created(body: dict[str, Any]) -> bool:
    detail = body.get("detail")
    return (
        body.get("source") == "aws.s3"
        and body.get("detail-type") == "Object Created"
        and isinstance(detail, dict)
        and isinstance((detail.get("bucket") or {}).get("name"), str)
        and isinstance((detail.get("object") or {}).get("key"), str)
    )


def _eventbridge_object(body: dict[str, Any]) -> list[tuple[str, str]]:
    # EventBridge gives the key as written (not URL-encoded, unlike S3 event notifications)
    return [(body["detail"]["bucket"]["name"], body["detail"]["object"]["key"])]


def _is_sns(body: dict[str, Any]) -> bool:
    return body.get("Type") == "Notification" and isinstance(body.get("Message"), str)


# Message kind → (test, objects named). Checked in order; an SNS envelope is opened once.
MESSAGE_KINDS: tuple[
    tuple[str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], list[tuple[str, str]]]], ...
] = (
    ("S3 test event", lambda b: b.get("Event") == "s3:TestEvent", lambda b: []),
    ("S3 event notification", _is_s3_event, _s3_event_objects),
    (
        "CloudTrail notification",
        _is_cloudtrail_notice,
        lambda b: [(b["s3Bucket"], k) for k in b["s3ObjectKey"]],
    ),
    ("EventBridge S3 Object Created", _is_eventbridge_object_created, _eventbridge_object),
)


def message_objects(body: str) -> list[tuple[str, str]] | None:
    """The (bucket, key) of every log file a queue message announces; None if it is none of
    :data:`MESSAGE_KINDS` (bare or inside an SNS envelope)."""
    try:
        parsed = orjson.loads(body)
        if isinstance(parsed, dict) and _is_sns(parsed):
            parsed = orjson.loads(parsed["Message"])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    for _name, test, objects in MESSAGE_KINDS:
        if test(parsed):
            try:
                return [(b, k) for b, k in objects(parsed) if _is_log_object(k)]
            except (KeyError, TypeError):
                return None
    return None


def _is_log_object(key: str) -> bool:
    return "/CloudTrail-Digest/" not in f"/{key}" and _strip_gz(key).endswith(LOG_SUFFIXES)


def _queue_region(url: str) -> str | None:
    """The region in an SQS queue URL (``sqs.<region>.amazonaws.com`` or ``<region>.queue.amazonaws.com``)."""
    host = urlsplit(url).hostname or ""
    found = re.match(r"^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com", host)
    return (found.group(1) or found.group(2)) if found else None


@dataclass
class SqsSource:
    """An SQS queue of S3 object notifications or CloudTrail SNS notifications; one batch per message.

    No checkpoint: the queue is the position. ``ack`` deletes the message once its batch is committed.
    A message that is none of the known kinds can never succeed, so it is quarantined and deleted too.
    Stops when a receive comes back empty, or after ``max_messages``.
    """

    session: AwsSession
    queue_url: str
    region: str | None = None
    wait_seconds: int = 1
    max_messages: int | None = None
    max_record_bytes: int = MAX_RECORD_BYTES
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"sqs:{self.queue_url}"

    def total(self) -> int | None:
        return None

    @property
    def _sqs(self) -> Any:
        return self.session.client("sqs", self.region)

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        received = 0
        while self.max_messages is None or received < self.max_messages:
            wanted = 10 if self.max_messages is None else min(10, self.max_messages - received)
            try:
                answer = self._sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=wanted, WaitTimeSeconds=self.wait_seconds
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise _aws_failure(
                    "receive messages",
                    exc,
                    where=self.key,
                    hint="check the queue URL and sqs:ReceiveMessage permission",
                ) from exc
            messages = answer.get("Messages", [])
            if not messages:
                return
            for message in messages:
                received += 1
                yield self._batch(message)

    def _batch(self, message: dict[str, Any]) -> Batch:
        location = f"sqs:{self.queue_url}#{message['MessageId']}"
        body = str(message.get("Body", ""))
        ack = self._deleter(message["ReceiptHandle"])
        objects = message_objects(body)
        if objects is None:
            reason = "not an S3 event notification nor a CloudTrail SNS notification"
            return Batch(
                self.key, location, [], None, (Quarantined(location, reason, len(body)),), len(body), ack
            )
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        s3 = self.session.client("s3")
        for bucket, key in objects:
            found, bad = read_object(s3, bucket, key, self.max_record_bytes)
            records.extend(found)
            quarantined.extend(bad)
        return Batch(self.key, location, records, None, tuple(quarantined), len(body), ack)

    def _deleter(self, receipt: str) -> Callable[[], None]:
        def delete() -> None:
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

        return delete


# -- LookupEvents -----------------------------------------------------------------------------------

HISTORY = timedelta(days=90)  # LookupEvents reaches back 90 days
LOOKUP_RATE = 2.0  # LookupEvents: 2 requests per second per account per region (CloudTrail quotas)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class LookupEventsSource:
    """CloudTrail's 90-day event history (``LookupEvents``), one batch per page, paced to ``rate``/s.

    A sweep reads ``[since, now]`` newest first; its checkpoint keeps the page token, so a resumed
    sweep goes on where it stopped. When a sweep ends, ``since`` becomes the newest event time seen
    (events at that exact time are read again; the pipeline deduplicates by eventID). Checkpoint:
    ``{"since": iso | None, "sweep": {"start", "end", "token", "newest"} | None}``.
    """

    session: AwsSession
    region: str
    rate: float = LOOKUP_RATE
    start: datetime | None = None
    page_size: int = 50
    max_record_bytes: int = MAX_RECORD_BYTES
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    key: str = field(init=False)
    _last_call: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = f"lookup-events:{self.region}"

    def total(self) -> int | None:
        return None

    def _pace(self) -> None:
        if self._last_call is not None:
            wait = self._last_call + 1.0 / self.rate - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_call = self.clock()

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        since: str | None = (checkpoint or {}).get("since")
        sweep: dict[str, Any] | None = (checkpoint or {}).get("sweep")
        if not sweep:
            start = _parse_iso(since) if since else (self.start or self.now() - HISTORY)
            sweep = {"start": _iso(start), "end": _iso(self.now()), "token": None, "newest": since}
        client = self.session.client("cloudtrail", self.region)
        while True:
            params: dict[str, Any] = {
                "StartTime": _parse_iso(sweep["start"]),
                "EndTime": _parse_iso(sweep["end"]),
                "MaxResults": self.page_size,
            }
            if sweep["token"]:
                params["NextToken"] = sweep["token"]
            self._pace()
            try:
                page = client.lookup_events(**params)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise _aws_failure(
                    "look up events",
                    exc,
                    where=self.key,
                    hint="check cloudtrail:LookupEvents permission and the region",
                ) from exc
            records, quarantined, newest = self._page(page.get("Events", []), sweep["newest"])
            token = page.get("NextToken")
            sweep = {**sweep, "token": token, "newest": newest}
            if token:
                position: Checkpoint = {"since": since, "sweep": sweep}
            else:
                position = {"since": newest or sweep["start"], "sweep": None}
            yield Batch(self.key, f"{self.key}@{sweep['end']}", records, position, tuple(quarantined))
            if not token:
                return

    def _page(
        self, events: Iterable[dict[str, Any]], newest: str | None
    ) -> tuple[list[Record], list[Quarantined], str | None]:
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        for event in events:
            location = f"{self.key}#{event.get('EventId', '?')}"
            text = str(event.get("CloudTrailEvent", ""))
            try:
                found = decode_document(text.encode(), max_record_bytes=self.max_record_bytes)
            except DecodeError as exc:
                quarantined.append(Quarantined(location, exc.reason, len(text)))
                continue
            records.extend(found)
            moment = event.get("EventTime")
            if isinstance(moment, datetime):
                stamp = _iso(moment)
                newest = max(newest, stamp) if newest else stamp
        return records, quarantined, newest


# -- open_source ------------------------------------------------------------------------------------

ACCEPTED_FORMS = (
    "'-' (standard input)",
    "s3://bucket[/prefix]",
    "sqs://<queue name or URL>",
    "https://sqs.<region>.amazonaws.com/<account>/<queue>",
    "lookup-events[:<region>]",
    "a local file or directory",
)


def _usage(spec: str, problem: str) -> UsageError:
    return UsageError(
        f"{problem}: {spec!r}", hint=f"give one of: {', '.join(ACCEPTED_FORMS)}", where="event source"
    )


def _session(session: AwsSession | None) -> AwsSession:
    return session or AwsSession(AwsSettings())


def _open_s3(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    bucket, _, prefix = spec.removeprefix("s3://").partition("/")
    if not bucket:
        raise _usage(spec, "no bucket named")
    return S3Source(_session(session), bucket, prefix)


def _open_sqs(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    target = spec.removeprefix("sqs://")
    if not target:
        raise _usage(spec, "no queue named")
    aws = _session(session)
    if target.startswith(("https://", "http://")):
        return SqsSource(aws, target, _queue_region(target))
    try:
        url = aws.client("sqs").get_queue_url(QueueName=target)["QueueUrl"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _aws_failure(
            f"find the queue {target!r}",
            exc,
            where=spec,
            hint="check the queue name, the region and sqs:GetQueueUrl",
        ) from exc
    return SqsSource(aws, str(url))


def _open_lookup(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    _, _, region = spec.partition(":")
    aws = _session(session)
    return LookupEventsSource(aws, region or aws.settings.home_region)


def _open_stdin(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    return StdinSource(stdin or sys.stdin.buffer)


# Spec test → opener, checked in order; anything else is a local path.
OPENERS: tuple[
    tuple[Callable[[str], bool], Callable[[str, AwsSession | None, BinaryIO | None], Source]], ...
] = (
    (lambda s: s == "-", _open_stdin),
    (lambda s: s.startswith("s3://"), _open_s3),
    (lambda s: s.startswith("sqs://"), _open_sqs),
    (
        lambda s: s.startswith("https://") and _queue_region(s) is not None,
        lambda s, a, i: _open_sqs(f"sqs://{s}", a, i),
    ),
    (lambda s: s == "lookup-events" or s.startswith("lookup-events:"), _open_lookup),
)


def open_source(spec: str, *, session: AwsSession | None = None, stdin: BinaryIO | None = None) -> Source:
    """The source ``spec`` names (see :data:`ACCEPTED_FORMS`); raises UsageError for anything else."""
    for test, opener in OPENERS:
        if test(spec):
            return opener(spec, session, stdin)
    if "://" in spec:
        raise _usage(spec, "unsupported event source")
    path = Path(spec).expanduser()
    if not path.exists():
        raise _usage(spec, "no such file or directory")
    return PathSource(path)
