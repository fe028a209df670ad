"""The archive: every run's configuration snapshot and compliance report, chained by hashes.

As AWS Config "creates a report and archives it" at every run, ``vigil scan --archive DIR|s3://…``
writes one entry per run::

    000001-20261128T031500Z/
        manifest.json                  sequence, time, scan id, the previous manifest's SHA-256,
                                       and the SHA-256 of every file below
        snapshot/AWSLogs/<account>/Config/<region>/…/ConfigSnapshot/….json.gz
        report-cis-aws-7.0.json        (one report per framework)

Each manifest names the hash of the one before it, as CloudTrail's digest files do, so
``vigil archive verify`` finds a missing entry (a gap in the sequence or a broken chain), an edited
file (its hash), an edited manifest (the next entry's link) and entries out of order (sequence and
time against the chain).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from vigil.errors import UsageError

MANIFEST = "manifest.json"


class Storage(Protocol):
    """Where entries live: a directory or an S3 prefix (names use ``/``)."""

    def list(self) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def write(self, name: str, data: bytes) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        temporary.write_bytes(data)
        os.replace(temporary, target)


class S3Storage:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket = client, bucket
        self.prefix = prefix.rstrip("/") + "/" if prefix else ""

    def list(self) -> list[str]:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            names += [obj["Key"][len(self.prefix) :] for obj in page.get("Contents", [])]
        return sorted(names)

    def read(self, name: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
        return body

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entries(names: Iterable[str]) -> list[str]:
    return sorted({n.split("/", 1)[0] for n in names if n.endswith("/" + MANIFEST)})


@dataclass(frozen=True)
class Written:
    entry: str
    sequence: int
    files: int
    manifest_sha256: str


def append(
    storage: Storage,
    files: Mapping[str, bytes],
    *,
    created: datetime,
    scan_id: int | None,
) -> Written:
    """Write one entry after the last one, linked to it by its manifest's hash."""
    entries = _entries(storage.list())
    previous_hash = None
    sequence = 1
    if entries:
        last = entries[-1]
        raw = storage.read(f"{last}/{MANIFEST}")
        previous_hash = sha256(raw)
        sequence = int(orjson.loads(raw)["sequence"]) + 1
    entry = f"{sequence:06d}-{created.strftime('%Y%m%dT%H%M%SZ')}"
    for name, data in files.items():
        storage.write(f"{entry}/{name}", data)
    manifest = {
        "sequence": sequence,
        "createdAt": created.isoformat(timespec="seconds"),
        "scanId": scan_id,
        "previousManifestSha256": previous_hash,
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    raw_manifest = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    storage.write(f"{entry}/{MANIFEST}", raw_manifest)  # last: an entry without one is unfinished
    return Written(entry, sequence, len(files), sha256(raw_manifest))


@dataclass
class Verification:
    entries: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(storage: Storage) -> Verification:
    """Check every entry's files and the chain between entries (see the module docstring)."""
    names = storage.list()
    entries = _entries(names)
    result = Verification(entries=len(entries))
    by_entry: dict[str, list[str]] = {}
    for name in names:
        head, _, rest = name.partition("/")
        by_entry.setdefault(head, []).append(rest)
    unfinished = sorted(set(by_entry) - set(entries))
    result.problems += [f"{e}: no manifest (an unfinished or damaged entry)" for e in unfinished]
    previous_hash: str | None = None
    previous_sequence = 0
    previous_time = ""
    for entry in entries:
        raw = storage.read(f"{entry}/{MANIFEST}")
        try:
            manifest = orjson.loads(raw)
            sequence = int(manifest["sequence"])
            listed: Mapping[str, str] = manifest["files"]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            result.problems.append(f"{entry}: the manifest is not readable")
            previous_hash = sha256(raw)
            continue
        if sequence != previous_sequence + 1:
            what = "missing" if sequence > previous_sequence + 1 else "out of order"
            result.problems.append(
                f"{entry}: sequence {sequence} follows {previous_sequence} (entries {what})"
            )
        if manifest.get("previousManifestSha256") != previous_hash:
            result.problems.append(
                f"{entry}: the chain is broken (the previous manifest is missing, edited or out of order)"
            )
        if previous_time and str(manifest.get("createdAt", "")) < previous_time:
            result.problems.append(f"{entry}: created before the entry it follows")
        present = set(by_entry.get(entry, [])) - {MANIFEST}
        for name, digest in listed.items():
            if name not in present:
                result.problems.append(f"{entry}/{name}: missing")
                continue
            result.files += 1
            if sha256(storage.read(f"{entry}/{name}")) != digest:
                result.problems.append(f"{entry}/{name}: edited (its SHA-256 does not match the manifest)")
        for name in sorted(present - set(listed)):
            result.problems.append(f"{entry}/{name}: not in the manifest (added afterwards)")
        previous_hash = sha256(raw)
        previous_sequence = sequence
        previous_time = str(manifest.get("createdAt", ""))
    return result


def open_storage(target: str, s3_client: Any | None = None) -> Storage:
    if target.startswith("s3://"):
        bucket, _, prefix = target.removeprefix("s3://").partition("/")
        if not bucket:
            raise UsageError(f"{target}: no bucket name", hint="write s3://bucket/prefix")
        if s3_client is None:
            raise UsageError(
                "an S3 archive needs AWS access", hint="configure credentials as for `vigil scan`"
            )
        return S3Storage(s3_client, bucket, prefix)
    return LocalStorage(Path(target).expanduser())


def entry_files(snapshot: Sequence[tuple[str, bytes]], reports: Mapping[str, bytes]) -> dict[str, bytes]:
    files = {f"snapshot/{name}": data for name, data in snapshot}
    files.update({f"report-{framework}.json": data for framework, data in reports.items()})
    return files
