"""AWS Config's own file and API shapes, read and written (pure: bytes and records in, records and
bytes out; no store, no AWS).

Shapes read (spec §5.1), told apart by their keys:
  * delivery files, as AWS Config's delivery channel writes them to S3: configuration history
    (``{"fileVersion", "configurationItems": [...]}``, one file per type and time window) and
    configuration snapshots (the same plus ``configSnapshotId``). Items use the delivery form:
    ``configurationItemVersion``, ``awsAccountId``, ``ARN``, ``configurationStateMd5Hash``,
    relationships keyed ``name``, ``configuration`` an object (sometimes a JSON string);
  * API output: ``get_resource_config_history`` (``configurationItems``) and
    ``batch_get_resource_config`` (``baseConfigurationItems``), where ``configuration`` and every
    ``supplementaryConfiguration`` value are JSON *strings*;
  * a ``ConfigurationItemChangeNotification`` message (``configurationItem``), a bare list of items,
    or one item.

Shapes written (``history``, ``snapshot``, ``api``) are the same, so what Vigil exports AWS-Config
tooling can read, and what it reads back exports byte for byte the same: files are gzip with
``mtime=0``, keys keep AWS's order, and names and snapshot ids derive from the content.
"""

from __future__ import annotations

import dataclasses
import gzip
import urllib.parse
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from vigil.model import GLOBAL_REGION, ConfigurationItem, parse_time

FILE_VERSION = "1.0"
# AWS Config's delivery channel writes history in six-hour windows per resource type.
HISTORY_WINDOW_HOURS = 6
# Snapshot ids are UUIDs; ours derive from the content so an export is reproducible.
_SNAPSHOT_NAMESPACE = uuid.UUID("6f1c3a52-8c0e-4d0e-9a59-3b8f0f1f7c21")


class ExportFormat(StrEnum):
    history = "history"
    snapshot = "snapshot"
    api = "api"


@dataclass(frozen=True)
class ReadProblem:
    """Something in an input that could not be read; ``where`` is ``file`` or ``file#/pointer``."""

    where: str
    message: str


@dataclass
class Parsed:
    items: list[ConfigurationItem]
    problems: list[ReadProblem]
    shape: str


# IAM policy documents: AWS Config keeps them as IAM returns them, URL-encoded JSON text
# (``"assumeRolePolicyDocument": "%7B%22Version%22..."``); Vigil stores them as objects so rules can
# read them. Import decodes these paths, export encodes them again (compact JSON, every reserved
# character percent-encoded), so files keep AWS Config's form and the store keeps one form.
URL_ENCODED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": (
        "assumeRolePolicyDocument",
        "rolePolicyList[*].policyDocument",
        "instanceProfileList[*].roles[*].assumeRolePolicyDocument",
    ),
    "AWS::IAM::User": ("userPolicyList[*].policyDocument",),
    "AWS::IAM::Group": ("groupPolicyList[*].policyDocument",),
    "AWS::IAM::Policy": ("policyVersionList[*].document",),
}


def _map_path(node: Any, parts: list[str], fn: Any) -> Any:
    """``node`` with ``fn`` applied at the path ``parts`` (``name`` or ``name[*]``); a copy, not in place."""
    if not parts:
        return fn(node)
    head, rest = parts[0], parts[1:]
    many = head.endswith("[*]")
    key = head[:-3] if many else head
    if not isinstance(node, Mapping) or node.get(key) is None:
        return node
    value = node[key]
    if many:
        if not isinstance(value, list):
            return node
        new = [_map_path(item, rest, fn) for item in value]
    else:
        new = _map_path(value, rest, fn)
    return {**node, key: new}


def _decode_document(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = urllib.parse.unquote(value) if value.startswith("%7B") else value
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return value  # not a JSON document: keep the text as it was


def _encode_document(value: Any) -> Any:
    if isinstance(value, Mapping | list):
        return urllib.parse.quote(orjson.dumps(value).decode(), safe="")
    return value


def _documents(ci: ConfigurationItem, fn: Any) -> ConfigurationItem:
    paths = URL_ENCODED_DOCUMENTS.get(ci.resourceType)
    if not paths or not ci.configuration:
        return ci
    configuration: Any = ci.configuration
    for path in paths:
        configuration = _map_path(configuration, path.split("."), fn)
    return dataclasses.replace(ci, configuration=configuration)


def decode_documents(ci: ConfigurationItem) -> ConfigurationItem:
    """A CI read from AWS Config's form with its IAM policy documents as objects."""
    return _documents(ci, _decode_document)


def encode_documents(ci: ConfigurationItem) -> ConfigurationItem:
    """A stored CI with its IAM policy documents URL-encoded, as AWS Config writes them."""
    return _documents(ci, _encode_document)


# ---------------------------------------------------------------------------------------------
# reading


def decode(name: str, raw: bytes) -> Any:
    """The JSON document in a ``.json`` or ``.json.gz`` file (gzip is detected by its magic bytes)."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"not a readable gzip file ({exc})") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = exc.msg if exc.msg else str(exc)
        raise ValueError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {reason}") from exc


def _shape(doc: Any) -> tuple[str, list[Any]] | None:
    if isinstance(doc, list):
        return "list", doc
    if not isinstance(doc, Mapping):
        return None
    if "configSnapshotId" in doc and isinstance(doc.get("configurationItems"), list):
        return "snapshot", doc["configurationItems"]
    if "fileVersion" in doc and isinstance(doc.get("configurationItems"), list):
        return "history", doc["configurationItems"]
    if isinstance(doc.get("configurationItems"), list):
        return "api-history", doc["configurationItems"]
    if isinstance(doc.get("baseConfigurationItems"), list):
        return "api-batch", doc["baseConfigurationItems"]
    if isinstance(doc.get("configurationItem"), Mapping):
        return "notification", [doc["configurationItem"]]
    if "resourceType" in doc and "resourceId" in doc:
        return "item", [doc]
    return None


REQUIRED = ("resourceType", "resourceId", "configurationItemCaptureTime")


def parse(name: str, doc: Any) -> Parsed:
    """The CIs in one decoded document; an unreadable item is a problem, the others still load."""
    found = _shape(doc)
    if found is None:
        keys = ", ".join(sorted(doc)[:6]) if isinstance(doc, Mapping) else type(doc).__name__
        return Parsed(
            [],
            [
                ReadProblem(
                    name,
                    f"not an AWS Config file (found {keys}); expected configurationItems, "
                    "baseConfigurationItems, configurationItem or a list of items",
                )
            ],
            "unknown",
        )
    shape, raw_items = found
    pointer = {
        "list": "",
        "snapshot": "/configurationItems",
        "history": "/configurationItems",
        "api-history": "/configurationItems",
        "api-batch": "/baseConfigurationItems",
        "notification": "/configurationItem",
        "item": "",
    }[shape]
    items: list[ConfigurationItem] = []
    problems: list[ReadProblem] = []
    for index, raw in enumerate(raw_items):
        where = f"{name}#{pointer}/{index}" if shape not in ("notification", "item") else f"{name}#{pointer}"
        try:
            items.append(read_item(raw))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(ReadProblem(where, _explain(exc)))
    return Parsed(items, problems, shape)


def _explain(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def read_item(raw: Any) -> ConfigurationItem:
    """One CI in any of AWS Config's forms, checked enough that the store can key and order it."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"an item must be an object, not {type(raw).__name__}")
    missing = [f for f in REQUIRED if not raw.get(f)]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    if not (raw.get("accountId") or raw.get("awsAccountId")):
        raise ValueError("missing field accountId (awsAccountId in delivery files)")
    if not raw.get("awsRegion"):
        raise ValueError("missing field awsRegion")
    state = raw.get("configurationStateId", "")
    if state in ("", None) or not str(state).isdigit():
        raise ValueError(f"configurationStateId must be a string of digits, not {state!r}")
    try:
        parse_time(str(raw["configurationItemCaptureTime"]))
    except ValueError as exc:
        raise ValueError(
            f"configurationItemCaptureTime {raw['configurationItemCaptureTime']!r} is not an ISO-8601 time"
        ) from exc
    return decode_documents(ConfigurationItem.from_dict(raw))


# ---------------------------------------------------------------------------------------------
# writing


def delivery_dict(ci: ConfigurationItem) -> dict[str, Any]:
    """A CI as AWS Config's delivery channel writes it (history and snapshot files)."""
    ci = encode_documents(ci)
    return {
        "relatedEvents": list(ci.relatedEvents),
        "relationships": [r.to_dict(name_key="name") for r in ci.relationships],
        "configuration": None if ci.deleted and not ci.configuration else ci.configuration,
        "supplementaryConfiguration": dict(ci.supplementaryConfiguration),
        "tags": dict(ci.tags),
        "configurationItemVersion": ci.version,
        "configurationItemCaptureTime": ci.configurationItemCaptureTime,
        "configurationStateId": int(ci.configurationStateId),
        "awsAccountId": ci.accountId,
        "configurationItemStatus": ci.configurationItemStatus,
        "resourceType": ci.resourceType,
        "resourceId": ci.resourceId,
        "resourceName": ci.resourceName,
        "ARN": ci.arn,
        "awsRegion": ci.awsRegion,
        "availabilityZone": ci.availabilityZone,
        "configurationStateMd5Hash": ci.configurationItemMD5Hash,
        "resourceCreationTime": ci.resourceCreationTime,
    }


def api_dict(ci: ConfigurationItem) -> dict[str, Any]:
    """A CI as ``get_resource_config_history`` returns it: configuration and supplementary values as
    JSON text."""
    doc = encode_documents(ci).to_dict()
    doc["configuration"] = None if doc["configuration"] is None else _compact(doc["configuration"])
    doc["supplementaryConfiguration"] = {
        k: _compact(v) for k, v in (doc["supplementaryConfiguration"] or {}).items()
    }
    return doc


def _compact(value: Any) -> str:
    return orjson.dumps(value).decode()


def _dump(doc: Any, *, indent: bool = False) -> bytes:
    """Compact JSON as the delivery channel writes it; indented for API output people read."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0) + b"\n"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day_prefix(account: str, region: str, moment: datetime, kind: str) -> str:
    # AWS's keys do not zero-pad the month and day: AWSLogs/<acct>/Config/<region>/2016/9/27/...
    return f"AWSLogs/{account}/Config/{region}/{moment.year}/{moment.month}/{moment.day}/{kind}"


def _order(ci: ConfigurationItem) -> tuple[Any, ...]:
    return (parse_time(ci.configurationItemCaptureTime), int(ci.configurationStateId), ci.resourceId)


def delivery_region(ci: ConfigurationItem, home_region: str) -> str:
    """The region whose files carry a CI: global (IAM) items go with the home region, as AWS Config
    delivers them from the region that records global resources."""
    return home_region if ci.awsRegion == GLOBAL_REGION else ci.awsRegion


def history_files(items: Iterable[ConfigurationItem], *, home_region: str) -> list[tuple[str, bytes]]:
    """Configuration history files: one per (account, region, type, six-hour window), items oldest
    first, named as the delivery channel names them."""
    groups: dict[tuple[str, str, str, datetime], list[ConfigurationItem]] = defaultdict(list)
    for ci in items:
        moment = parse_time(ci.configurationItemCaptureTime)
        window = moment.replace(
            hour=moment.hour - moment.hour % HISTORY_WINDOW_HOURS, minute=0, second=0, microsecond=0
        )
        groups[(ci.accountId, delivery_region(ci, home_region), ci.resourceType, window)].append(ci)
    files = []
    for (account, region, rtype, window), group in sorted(groups.items()):
        group.sort(key=_order)
        first = parse_time(group[0].configurationItemCaptureTime)
        last = parse_time(group[-1].configurationItemCaptureTime)
        name = (
            f"{_day_prefix(account, region, window, 'ConfigHistory')}/"
            f"{account}_Config_{region}_ConfigHistory_{rtype}_{_stamp(first)}_{_stamp(last)}_1.json.gz"
        )
        doc = {"fileVersion": FILE_VERSION, "configurationItems": [delivery_dict(c) for c in group]}
        files.append((name, _gzip(_dump(doc))))
    return files


def snapshot_files(current: Iterable[ConfigurationItem], *, home_region: str) -> list[tuple[str, bytes]]:
    """Configuration snapshot files: one per (account, region) of the resources that exist now."""
    groups: dict[tuple[str, str], list[ConfigurationItem]] = defaultdict(list)
    for ci in current:
        if not ci.deleted:
            groups[(ci.accountId, delivery_region(ci, home_region))].append(ci)
    files = []
    for (account, region), group in sorted(groups.items()):
        group.sort(key=lambda c: (c.resourceType, c.resourceId))
        taken = max(parse_time(c.configurationItemCaptureTime) for c in group)
        snapshot_id = str(uuid.uuid5(_SNAPSHOT_NAMESPACE, f"{account}/{region}/{_stamp(taken)}"))
        name = (
            f"{_day_prefix(account, region, taken, 'ConfigSnapshot')}/"
            f"{account}_Config_{region}_ConfigSnapshot_{_stamp(taken)}_{snapshot_id}.json.gz"
        )
        doc = {
            "fileVersion": FILE_VERSION,
            "configSnapshotId": snapshot_id,
            "configurationItems": [delivery_dict(c) for c in group],
        }
        files.append((name, _gzip(_dump(doc))))
    return files


def api_file(items: Sequence[ConfigurationItem]) -> bytes:
    """``get_resource_config_history`` output for every given item (resources in key order, each
    oldest first, as with ``chronologicalOrder=Forward``)."""
    ordered = sorted(
        items, key=lambda c: (c.accountId, c.awsRegion, c.resourceType, c.resourceId, *_order(c))
    )
    return _dump({"configurationItems": [api_dict(c) for c in ordered]}, indent=True)
