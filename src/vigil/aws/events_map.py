"""CloudTrail record → the recorded resources it changed (pure; the watch loop re-records them).

Built from ``RESOURCE_TYPES``' change events: an index from (eventSource, eventName) to the types
and JMESPath expressions that find ids, names or ARNs in the record. Failed calls (``errorCode``
set) and read-only calls change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jmespath
from jmespath.parser import ParsedResult

from vigil.aws.resources import RESOURCE_TYPES, ResourceType
from vigil.model import GLOBAL_REGION

ALL_REGIONS = "*"
# Services whose events are global: a regional item they change (the account) changes everywhere.
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "sts.amazonaws.com"})


@dataclass(frozen=True)
class Target:
    """A resource to re-record: type, region (``*``: every recorded region), id/name/ARN."""

    resource_type: str
    region: str
    ref: str


@cache
def _index() -> dict[tuple[str, str], list[tuple[ResourceType, tuple[ParsedResult, ...], str, bool]]]:
    index: dict[tuple[str, str], list[tuple[ResourceType, tuple[ParsedResult, ...], str, bool]]] = {}
    for rtype in RESOURCE_TYPES.values():
        for change in rtype.events:
            compiled = tuple(jmespath.compile(p) for p in change.paths)
            for name in change.names:
                index.setdefault((change.source, name), []).append(
                    (rtype, compiled, change.prefix, change.everywhere)
                )
    return index


def _values(found: Any) -> Iterable[str]:
    if isinstance(found, str):
        yield found
    elif isinstance(found, list):
        for item in found:
            yield from _values(item)


def targets(record: Mapping[str, Any]) -> list[Target]:
    """The resources a CloudTrail record changed, without duplicates, in a stable order."""
    if record.get("errorCode") or record.get("readOnly") is True:
        return []
    entries = _index().get((str(record.get("eventSource")), str(record.get("eventName"))), [])
    out: dict[Target, None] = {}
    region = str(record.get("awsRegion") or "")
    for rtype, expressions, prefix, everywhere in entries:
        if rtype.scope == "global":
            where = GLOBAL_REGION
        elif everywhere or record.get("eventSource") in GLOBAL_SOURCES:
            where = ALL_REGIONS
        else:
            where = region
        for expression in expressions:
            for value in _values(expression.search(record)):
                if value and value.startswith(prefix):
                    out[Target(rtype.name, where, value)] = None
    return list(out)
