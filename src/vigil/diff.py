"""Pure functions over CIs: the content hash that decides whether a new CI is recorded, and the
field-level diff between two consecutive CIs.

The diff has AWS Config's ``configurationItemDiff`` shape (spec §5.1)::

    {"changeType": "UPDATE",
     "changedProperties": {
        "Configuration.IpPermissions.1": {"previousValue": None, "updatedValue": {...}, "changeType": "CREATE"},
        "SupplementaryConfiguration.PublicAccessBlockConfiguration.BlockPublicAcls":
            {"previousValue": True, "updatedValue": False, "changeType": "UPDATE"},
        "Relationships.0": {"previousValue": {...}, "updatedValue": None, "changeType": "DELETE"}}}

As AWS Config does, objects are compared key by key, and lists element by element as multisets: an
element that is no longer there is a DELETE at its old index, a new one a CREATE at its new index,
and an element replaced at the same index one UPDATE carrying both values. Path segments under
``Configuration`` are capitalised as AWS prints them; tag keys are kept as written.

Volatile paths (usage timestamps such as an access key's last use) are left out of the content hash:
a change there refreshes the current CI in place instead of growing the history.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from vigil.model import ConfigurationItem

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def strip_paths(document: Any, paths: Iterable[str]) -> Any:
    """A copy of ``document`` without the given paths (``a.b[*].c``: ``[*]`` is every list item)."""
    out = document
    for path in paths:
        out = _strip(out, _split(path))
    return out


def _split(path: str) -> list[str]:
    parts: list[str] = []
    for piece in path.split("."):
        stars = 0
        while piece.endswith("[*]"):
            piece, stars = piece[:-3], stars + 1
        parts.append(piece)
        parts.extend(["[*]"] * stars)
    return [p for p in parts if p]


def _strip(node: Any, parts: Sequence[str]) -> Any:
    if not parts:
        return node
    head, rest = parts[0], parts[1:]
    if head == "[*]":
        if not isinstance(node, list):
            return node
        return [_strip(item, rest) for item in node]
    if not isinstance(node, Mapping) or head not in node:
        return node
    if not rest:
        return {k: v for k, v in node.items() if k != head}
    return {**node, head: _strip(node[head], rest)}


def _hashed_view(ci: ConfigurationItem) -> dict[str, Any]:
    return {
        "configuration": ci.configuration,
        "supplementaryConfiguration": ci.supplementaryConfiguration,
        "tags": dict(ci.tags),
        "relationships": sorted(
            (r.relationshipName, r.resourceType, r.resourceId or "", r.resourceName or "")
            for r in ci.relationships
        ),
        "resourceName": ci.resourceName,
        "arn": ci.arn,
        "availabilityZone": ci.availabilityZone,
    }


def content_hash(ci: ConfigurationItem, volatile: Iterable[str] = ()) -> str:
    """Hash of what makes a new CI: configuration, supplementary configuration, tags, relationships,
    name, ARN and zone, without the volatile paths (given relative to the CI, e.g.
    ``supplementaryConfiguration.AccessKeys[*].LastUsedDate``)."""
    view = strip_paths(_hashed_view(ci), volatile)
    return hashlib.sha256(_canonical(view)).hexdigest()


# ---------------------------------------------------------------------------------------------
# the diff


def _label(key: str, capitalise: bool) -> str:
    return key[:1].upper() + key[1:] if capitalise and key else key


def _walk(old: Any, new: Any, path: str, capitalise: bool, out: dict[str, dict[str, Any]]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in list(old.keys()) + [k for k in new if k not in old]:
            sub = f"{path}.{_label(str(key), capitalise)}"
            if key not in new:
                out[sub] = {"previousValue": old[key], "updatedValue": None, "changeType": DELETE}
            elif key not in old:
                out[sub] = {"previousValue": None, "updatedValue": new[key], "changeType": CREATE}
            elif _canonical(old[key]) != _canonical(new[key]):
                _walk(old[key], new[key], sub, capitalise, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        _list_diff(old, new, path, out)
        return
    if _canonical(old) != _canonical(new):
        out[path] = {"previousValue": old, "updatedValue": new, "changeType": UPDATE}


def _unmatched(items: list[Any], others: list[Any]) -> list[tuple[int, Any]]:
    """(index, item) of ``items`` left over once each is paired with an equal item of ``others``."""
    available = Counter(_canonical(o) for o in others)
    left = []
    for index, item in enumerate(items):
        key = _canonical(item)
        if available[key]:
            available[key] -= 1
        else:
            left.append((index, item))
    return left


def _list_diff(old: list[Any], new: list[Any], path: str, out: dict[str, dict[str, Any]]) -> None:
    for index, item in _unmatched(old, new):
        out[f"{path}.{index}"] = {"previousValue": item, "updatedValue": None, "changeType": DELETE}
    for index, item in _unmatched(new, old):
        sub = f"{path}.{index}"
        if sub in out:  # same index removed and added: one UPDATE, as AWS prints a replaced element
            out[sub] = {
                "previousValue": out[sub]["previousValue"],
                "updatedValue": item,
                "changeType": UPDATE,
            }
        else:
            out[sub] = {"previousValue": None, "updatedValue": item, "changeType": CREATE}


def diff(old: ConfigurationItem | None, new: ConfigurationItem) -> dict[str, Any]:
    """AWS Config's ``configurationItemDiff`` from ``old`` (None: first CI) to ``new``.

    A deletion is ``{"changeType": "DELETE", "changedProperties": {}}``: the whole resource went, and
    its last state is the previous CI."""
    if old is None:
        change_type = CREATE
    elif new.deleted:
        return {"changeType": DELETE, "changedProperties": {}}
    else:
        change_type = UPDATE
    changed: dict[str, dict[str, Any]] = {}
    before_cfg = old.configuration if old else {}
    before_sup = old.supplementaryConfiguration if old else {}
    before_tags = dict(old.tags) if old else {}
    before_rel = [r.to_dict() for r in old.relationships] if old else []
    _walk(before_cfg, new.configuration, "Configuration", True, changed)
    _walk(before_sup, new.supplementaryConfiguration, "SupplementaryConfiguration", False, changed)
    _walk(before_tags, dict(new.tags), "Tags", False, changed)
    _list_diff(before_rel, [r.to_dict() for r in new.relationships], "Relationships", changed)
    return {"changeType": change_type, "changedProperties": changed}
