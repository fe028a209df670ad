"""Local files and directories (:class:`PathSource`) and standard input (:class:`StdinSource`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from vigil.trail.records import MAX_RECORD_BYTES, Record
from vigil.trail.sources.base import (
    BATCH_LINES,
    LOG_SUFFIXES,
    Batch,
    Checkpoint,
    Quarantined,
    _Chunk,
    _lines_hint,
    _open_stream,
    _StreamReader,
    _strip_gz,
)


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
