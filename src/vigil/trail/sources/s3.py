"""CloudTrail's log files in S3 (:class:`S3Source`), and reading one object (shared with SQS)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions

from vigil.aws.session import AwsSession, error_code
from vigil.trail.records import MAX_RECORD_BYTES, DecodeError, Record, decode
from vigil.trail.sources.base import Batch, Checkpoint, Quarantined, _aws_failure, _lines_hint

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
