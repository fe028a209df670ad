"""Bytes → CloudTrail records, as pure functions (aws-semantics.md §6.1, §6.3).

Accepted shapes: CloudTrail's ``{"Records": [...]}`` log file, a bare JSON array, a single record,
an EventBridge envelope (``{"detail-type": ..., "detail": {...}}``, unwrapped to its ``detail``) and
JSON lines (one of those per line). Gzip is recognised by its magic bytes, whatever the file is
called. Anything else raises :class:`DecodeError` with one sentence saying what is wrong and where,
which the sources turn into a quarantine entry.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

GZIP_MAGIC = b"\x1f\x8b"

# CloudTrail's quotas: "Starting with event version 1.05, events have a maximum size of 256 KB"
# (CloudWatch Logs and EventBridge refuse larger events too). Anything bigger did not come from
# CloudTrail; it is quarantined rather than stored.
MAX_RECORD_BYTES = 256 * 1024

REQUIRED_FIELDS = ("eventTime", "eventName", "eventSource", "eventID")

Record = dict[str, Any]


class DecodeError(ValueError):
    """The input is not CloudTrail records; ``reason`` says what is wrong and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Decoded:
    """What one input held: its records, and the lines that could not be read (JSON lines only)."""

    records: list[Record]
    bad_lines: tuple[tuple[int, str], ...] = ()  # (1-based line number, reason)


# -- gzip ----------------------------------------------------------------------------------------


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def gunzip(data: bytes) -> bytes:
    """``data`` decompressed when it starts with gzip's magic bytes, else unchanged."""
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise DecodeError(gzip_truncated(len(data))) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DecodeError(f"gzip stream is corrupt: {exc}") from exc


def gzip_truncated(size: int) -> str:
    return f"gzip stream is truncated (ends at byte {size:,})"


# -- records -------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def record_problem(value: Any) -> str | None:
    """Why ``value`` is not a CloudTrail record, or None when it is one."""
    if not isinstance(value, dict):
        return f"{_type_name(value)}, not an object"
    missing = [name for name in REQUIRED_FIELDS if name not in value]
    if missing:
        return f"no {', '.join(missing)}"
    wrong = [name for name in REQUIRED_FIELDS if not isinstance(value[name], str) or not value[name]]
    if wrong:
        return f"{', '.join(wrong)} must be a non-empty string"
    return None


def check_records(values: list[Any], *, max_record_bytes: int) -> list[Record]:
    """``values`` when every one is a CloudTrail record that can be stored.

    Each record is serialised once: its compact JSON is its size as CloudTrail measures it, and a
    record orjson cannot write back (nested deeper than its 254 levels, which parsing allows up to
    1,024) is refused here rather than failing later when the pipeline stores it.
    """
    for index, value in enumerate(values, start=1):
        problem = record_problem(value)
        if problem:
            raise DecodeError(f"record {index} is not a CloudTrail record: {problem}")
        try:
            size = len(orjson.dumps(value))
        except orjson.JSONEncodeError as exc:
            raise DecodeError(f"record {index} cannot be stored: {exc} (nested too deeply)") from exc
        if size > max_record_bytes:
            raise DecodeError(
                f"record {index} is {size:,} bytes, over the {max_record_bytes:,}-byte limit "
                "(CloudTrail caps an event at 256 KB)"
            )
    return values


# -- document shapes -------------------------------------------------------------------------------


def _is_envelope(value: Any) -> bool:
    """An EventBridge event carrying a CloudTrail record in ``detail``."""
    return isinstance(value, dict) and isinstance(value.get("detail"), dict) and "eventName" not in value


def _unwrap(value: Any) -> Any:
    return value["detail"] if _is_envelope(value) else value


def _records_wrapper(doc: dict[str, Any]) -> list[Any]:
    records = doc["Records"]
    if not isinstance(records, list):
        raise DecodeError(f'"Records" is {_type_name(records)}, not an array')
    return [_unwrap(r) for r in records]


# Shape name → (test, extract). Checked in order; the first that applies decides.
SHAPES: tuple[tuple[str, Callable[[Any], bool], Callable[[Any], list[Any]]], ...] = (
    ("Records wrapper", lambda d: isinstance(d, dict) and "Records" in d, _records_wrapper),
    ("EventBridge envelope", _is_envelope, lambda d: [d["detail"]]),
    ("single record", lambda d: isinstance(d, dict), lambda d: [d]),
    ("array", lambda d: isinstance(d, list), lambda d: [_unwrap(r) for r in d]),
)


def records_of(doc: Any) -> list[Any]:
    """The candidate records of a parsed JSON document, by its shape (see :data:`SHAPES`)."""
    for _name, test, extract in SHAPES:
        if test(doc):
            return extract(doc)
    raise DecodeError(f"the JSON document is {_type_name(doc)}, not an object or an array of records")


def parse_json(data: bytes) -> Any:
    """orjson's parse, its error as one sentence with line and column (also for too-deep nesting)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from exc


def decode_document(data: bytes, *, max_record_bytes: int = MAX_RECORD_BYTES) -> list[Record]:
    """The records of one JSON document (already decompressed)."""
    return check_records(records_of(parse_json(data)), max_record_bytes=max_record_bytes)


def decode_line(line: bytes, *, max_record_bytes: int = MAX_RECORD_BYTES) -> list[Record]:
    """The records of one JSON line (a record or an envelope; blank lines hold none)."""
    if not line.strip():
        return []
    try:
        return decode_document(line, max_record_bytes=max_record_bytes)
    except DecodeError as exc:
        # orjson counts lines within the line itself; say the column only
        raise DecodeError(exc.reason.removeprefix("line 1 ")) from exc


def looks_like_json_lines(first_line: bytes, rest_has_content: bool) -> bool:
    """JSON lines when the first line is a whole JSON value by itself and more content follows.

    A pretty-printed document's first line (``{`` or ``[``) is not valid JSON alone, and a
    single-line document has nothing after it, so neither is mistaken for JSON lines.
    """
    if not rest_has_content or not first_line.strip():
        return False
    try:
        orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return False
    return True


def split_first_line(data: bytes) -> tuple[bytes, bytes]:
    """(first non-blank line, everything after it)."""
    rest = data
    while rest:
        line, _, rest = rest.partition(b"\n")
        if line.strip():
            return line, rest
    return b"", b""


def decode_lines(data: bytes, *, max_record_bytes: int = MAX_RECORD_BYTES) -> Decoded:
    """JSON lines: every good line's records; a bad line is reported by number and skipped."""
    records: list[Record] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            records.extend(decode_line(line, max_record_bytes=max_record_bytes))
        except DecodeError as exc:
            bad.append((number, exc.reason))
    return Decoded(records, tuple(bad))


def decode(
    data: bytes, *, max_record_bytes: int = MAX_RECORD_BYTES, json_lines: bool | None = None
) -> Decoded:
    """Any accepted input (gzip or not, a document or JSON lines) → its records.

    ``json_lines`` forces the format (e.g. from a ``.jsonl`` suffix); None detects it. Raises
    :class:`DecodeError` when the whole input is unusable.
    """
    text = gunzip(data)
    if json_lines is None:
        first, rest = split_first_line(text)
        json_lines = looks_like_json_lines(first, bool(rest.strip()))
    if json_lines:
        return decode_lines(text, max_record_bytes=max_record_bytes)
    return Decoded(decode_document(text, max_record_bytes=max_record_bytes))
