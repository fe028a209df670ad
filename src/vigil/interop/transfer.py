"""``vigil import`` and ``vigil export``: AWS Config's files in and out of the store.

Inputs are local files, directories (searched recursively for ``*.json`` and ``*.json.gz``, as a
copy of a delivery bucket holds them), ``-`` (standard input) and ``s3://bucket/prefix`` (listed and read through the
configured AWS session, so profiles, roles and the emulator's endpoint apply). A file that cannot be
read — truncated gzip, invalid JSON, not AWS Config's shape — or an item without the fields that
key it is reported with its place and skipped; everything else is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vigil.errors import UsageError
from vigil.interop import awsconfig
from vigil.interop.awsconfig import ExportFormat, ReadProblem
from vigil.model import ConfigurationItem, ResourceKey
from vigil.store import Store, inventory, transfer
from vigil.store import scans as scan_store

if TYPE_CHECKING:
    from vigil.aws.session import AwsSession

SUFFIXES = (".json", ".json.gz")
# Resources written per transaction: bounded memory and lock time on a busy PostgreSQL store.
RESOURCES_PER_TRANSACTION = 2_000


@dataclass(frozen=True)
class InputFile:
    name: str  # a path or s3:// URL, as reported back
    size: int
    read: Callable[[], bytes]


class ImportListener(Protocol):
    def planned(self, files: int, total_bytes: int) -> None: ...
    def read(self, file: InputFile) -> None: ...
    def writing(self, items: int) -> None: ...
    def wrote(self, items: int) -> None: ...


class Quiet:
    def planned(self, files: int, total_bytes: int) -> None:
        return None

    def read(self, file: InputFile) -> None:
        return None

    def writing(self, items: int) -> None:
        return None

    def wrote(self, items: int) -> None:
        return None


@dataclass
class ImportReport:
    scan_id: int
    origin: str
    files: int = 0
    items_read: int = 0
    shapes: dict[str, int] = field(default_factory=dict)
    problems: list[ReadProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0
    written: transfer.ImportResult = field(default_factory=transfer.ImportResult)

    @property
    def imported(self) -> int:
        return self.written.imported

    @property
    def skipped(self) -> int:
        return self.written.skipped

    @property
    def resources_created(self) -> int:
        return self.written.resources_created

    @property
    def resources_updated(self) -> int:
        return self.written.resources_updated

    @property
    def changed_keys(self) -> list[ResourceKey]:
        return self.written.changed_keys

    @property
    def status(self) -> str:
        return "partial" if self.problems else "complete"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanId": self.scan_id,
            "status": self.status,
            "origin": self.origin,
            "files": self.files,
            "itemsRead": self.items_read,
            "imported": self.imported,
            "alreadyStored": self.skipped,
            "resourcesCreated": self.resources_created,
            "resourcesUpdated": self.resources_updated,
            "shapes": self.shapes,
            "problems": [{"where": p.where, "message": p.message} for p in self.problems],
            "ignored": self.ignored,
            "seconds": round(self.seconds, 3),
            "itemsPerSecond": round(self.items_read / self.seconds) if self.seconds else None,
        }


# ---------------------------------------------------------------------------------------------
# inputs


def local_inputs(target: str) -> tuple[list[InputFile], list[str]]:
    """Files to read under a local path, and the files beside them that are not JSON."""
    path = Path(target).expanduser()
    if not path.exists():
        raise UsageError(
            f"{target}: no such file or directory",
            hint="give AWS Config history/snapshot files, a directory of them, or s3://bucket/prefix",
        )
    if path.is_file():
        return [_local(path)], []
    found = sorted(p for p in path.rglob("*") if p.is_file())
    files = [_local(p) for p in found if p.name.endswith(SUFFIXES)]
    ignored = [str(p) for p in found if not p.name.endswith(SUFFIXES)]
    return files, ignored


def _local(path: Path) -> InputFile:
    return InputFile(str(path), path.stat().st_size, path.read_bytes)


def s3_inputs(session: AwsSession, url: str) -> tuple[list[InputFile], list[str]]:
    """Objects under ``s3://bucket/prefix`` (one listing; each object read when its turn comes)."""
    from vigil.aws.resources.base import AWS_ERRORS
    from vigil.aws.session import error_code

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise UsageError(f"{url}: no bucket name", hint="write s3://bucket/prefix")
    client = session.client("s3", session.settings.home_region)
    files, ignored = [], []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                name = f"s3://{bucket}/{key}"
                if key.endswith(SUFFIXES):
                    files.append(InputFile(name, int(obj.get("Size", 0)), _s3_reader(client, bucket, key)))
                else:
                    ignored.append(name)
    except AWS_ERRORS as exc:
        code, message = error_code(exc)
        raise UsageError(
            f"{url}: cannot list the bucket ({code}: {message})",
            hint="check the bucket name and that the credentials may s3:ListBucket and s3:GetObject on it",
        ) from exc
    return files, ignored


def _s3_reader(client: Any, bucket: str, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return read


def gather(targets: Sequence[str], session: Callable[[], AwsSession]) -> tuple[list[InputFile], list[str]]:
    files: list[InputFile] = []
    ignored: list[str] = []
    for target in targets:
        if target == "-":  # `aws configservice get-resource-config-history ... | vigil import -`
            files.append(InputFile("<stdin>", 0, sys.stdin.buffer.read))
            continue
        found, skipped = s3_inputs(session(), target) if target.startswith("s3://") else local_inputs(target)
        files.extend(found)
        ignored.extend(skipped)
    return files, ignored


# ---------------------------------------------------------------------------------------------
# import


def _load(file: InputFile) -> awsconfig.Parsed:
    from vigil.aws.resources.base import AWS_ERRORS
    from vigil.aws.session import error_code

    try:
        raw = file.read()
    except OSError as exc:
        return awsconfig.Parsed([], [ReadProblem(file.name, f"cannot read: {exc.strerror or exc}")], "unread")
    except AWS_ERRORS as exc:
        code, message = error_code(exc)
        return awsconfig.Parsed([], [ReadProblem(file.name, f"cannot read: {code}: {message}")], "unread")
    try:
        doc = awsconfig.decode(file.name, raw)
    except ValueError as exc:
        return awsconfig.Parsed([], [ReadProblem(file.name, str(exc))], "unreadable")
    return awsconfig.parse(file.name, doc)


def import_files(
    store: Store,
    files: Sequence[InputFile],
    *,
    origin: str,
    ignored: Sequence[str] = (),
    volatile: Callable[[str], tuple[str, ...]] = lambda _t: (),
    listener: ImportListener | None = None,
    workers: int = 8,
) -> ImportReport:
    """Read every file (in parallel: S3 reads are I/O), then write the items resource by resource."""
    listener = listener or Quiet()
    started = datetime.now(UTC)
    listener.planned(len(files), sum(f.size for f in files))
    items: list[ConfigurationItem] = []
    problems: list[ReadProblem] = []
    shapes: dict[str, int] = {}
    with ThreadPoolExecutor(max(1, min(workers, len(files) or 1))) as pool:
        for file, parsed in zip(files, pool.map(_load, files), strict=True):
            items.extend(parsed.items)
            problems.extend(parsed.problems)
            if parsed.items:
                shapes[parsed.shape] = shapes.get(parsed.shape, 0) + 1
            listener.read(file)

    groups = transfer.group_items(items)
    accounts = sorted({k.accountId for k in groups})
    regions = sorted({k.awsRegion for k in groups})
    with store.begin() as conn:
        scan_id = scan_store.start(
            conn, "import", accounts=accounts, regions=regions, now=started, origin=origin
        )
    report = ImportReport(scan_id, origin, files=len(files), items_read=len(items), shapes=shapes)
    report.problems, report.ignored = problems, list(ignored)
    listener.writing(len(items))
    try:
        for chunk in _slices(list(groups), RESOURCES_PER_TRANSACTION):
            with store.begin() as conn:
                part = transfer.import_items(
                    conn, {k: groups[k] for k in chunk}, scan_id=scan_id, volatile=volatile
                )
            report.written.add(part)
            listener.wrote(sum(len(groups[k]) for k in chunk))
    except BaseException:
        # what was written stays (each slice is its own transaction); the run says it stopped
        with store.begin() as conn:
            scan_store.finish(
                conn,
                scan_id,
                status="failed",
                counts={"imported": report.imported},
                api_calls={},
                now=datetime.now(UTC),
            )
        raise
    finished = datetime.now(UTC)
    report.seconds = (finished - started).total_seconds()
    with store.begin() as conn:
        scan_store.finish(
            conn,
            scan_id,
            status=report.status,
            counts={
                "files": report.files,
                "itemsRead": report.items_read,
                "imported": report.imported,
                "alreadyStored": report.skipped,
                "problems": len(report.problems),
            },
            api_calls={},
            now=finished,
        )
    return report


def _slices(keys: list[ResourceKey], size: int) -> Iterator[list[ResourceKey]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


# ---------------------------------------------------------------------------------------------
# export


@dataclass
class ExportReport:
    format: ExportFormat
    out: str
    files: list[str]
    items: int
    resources: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": str(self.format),
            "out": self.out,
            "files": self.files,
            "items": self.items,
            "resources": self.resources,
        }


def export(
    store: Store,
    out: Path,
    fmt: ExportFormat,
    *,
    home_region: str,
    filters: inventory.Filters = inventory.Filters(include_deleted=True),
) -> ExportReport:
    """Write the store's history (``history``, ``api``) or its current state (``snapshot``).

    ``history`` and ``snapshot`` write AWS's key layout (``AWSLogs/<account>/Config/<region>/…``)
    under the directory ``out``; ``api`` writes one JSON file (``out``, or ``out/configuration-
    items.json`` when ``out`` is a directory)."""
    with store.connect() as conn:
        if fmt is ExportFormat.snapshot:
            items = inventory.current(conn, filters)
        else:
            items = list(transfer.all_history(conn, filters))
    resources = len({c.key for c in items})
    if fmt is ExportFormat.api:
        target = out / "configuration-items.json" if out.is_dir() else out
        _write(target, awsconfig.api_file(items))
        return ExportReport(fmt, str(target), [str(target)], len(items), resources)
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"{out} is a file; the {fmt} format writes a directory tree (AWSLogs/…)",
            hint="give a directory with --out",
        )
    make = awsconfig.history_files if fmt is ExportFormat.history else awsconfig.snapshot_files
    written = []
    for name, data in make(items, home_region=home_region):
        target = out / name
        _write(target, data)
        written.append(str(target))
    return ExportReport(fmt, str(out), written, len(items), resources)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
