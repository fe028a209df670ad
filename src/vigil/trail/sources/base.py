"""The source interface (:class:`Batch`, :class:`Quarantined`, :class:`Source`) and the helpers that
read one stream (a file or stdin) as a JSON document or as JSON lines, gzipped or not."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from vigil.aws.session import error_code
from vigil.errors import CannotStart
from vigil.trail.records import (
    GZIP_MAGIC,
    DecodeError,
    Record,
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


# -- file names -------------------------------------------------------------------------------------

LOG_SUFFIXES = (".json", ".jsonl", ".ndjson")
LINES_SUFFIXES = (".jsonl", ".ndjson")


def _strip_gz(name: str) -> str:
    return name.removesuffix(".gz")


def _lines_hint(name: str) -> bool | None:
    """True for ``.jsonl``/``.ndjson`` (gzipped or not); None: detect from the content."""
    return True if _strip_gz(name).endswith(LINES_SUFFIXES) else None
