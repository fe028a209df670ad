"""What-if: a proposed CI (a stored one with some values changed, or a whole one from a file) and
the evaluations that would flip (pure: the caller provides the current evaluations and lookups).

``--set PATH=VALUE`` paths are dotted keys into the CI with ``[n]`` list indexes
(``configuration.ipPermissions[0].fromPort=22``); ``[]`` appends (``configuration.ipPermissions[]=
{…}``). A VALUE that reads as JSON is JSON (``true``, ``22``, ``{"ipProtocol": "tcp"}``), anything
else is a string.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vigil.errors import UsageError
from vigil.model import Evaluation

_PART = re.compile(r"([^.\[\]]+)|\[(\d*)\]")


def parse_assignment(text: str) -> tuple[list[str | int | None], Any]:
    """``PATH=VALUE`` → (path parts, value); ``None`` in the parts means "append"."""
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise UsageError(f"--set {text!r} is not PATH=VALUE", hint="e.g. --set configuration.encrypted=true")
    parts: list[str | int | None] = []
    position = 0
    for match in _PART.finditer(path):
        if match.start() != position and path[position] != ".":
            break
        name, index = match.groups()
        if name is not None:
            parts.append(name)
        else:
            parts.append(int(index) if index else None)
        position = match.end()
        if position < len(path) and path[position] == ".":
            position += 1
    if position != len(path) or not parts or not isinstance(parts[0], str):
        raise UsageError(
            f"--set path {path!r} is not a dotted path", hint="e.g. configuration.ipPermissions[0].toPort"
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return parts, value


def apply(ci: Mapping[str, Any], assignments: Sequence[str]) -> dict[str, Any]:
    """A copy of ``ci`` with every ``PATH=VALUE`` applied in order."""
    doc: dict[str, Any] = copy.deepcopy(dict(ci))
    for text in assignments:
        parts, value = parse_assignment(text)
        node: Any = doc
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            follow = parts[i + 1] if not last else None
            if isinstance(part, str):
                if not isinstance(node, dict):
                    raise UsageError(f"--set {text!r}: {part!r} is not inside a mapping")
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if not isinstance(follow, str) else {})
            else:
                if not isinstance(node, list):
                    raise UsageError(f"--set {text!r}: an index needs a list")
                if part is None:
                    node.append(value if last else ({} if isinstance(follow, str) else []))
                    node = node[-1]
                elif part >= len(node):
                    raise UsageError(f"--set {text!r}: index {part} is past the end ({len(node)} items)")
                elif last:
                    node[part] = value
                else:
                    node = node[part]
    return doc


@dataclass(frozen=True)
class Flip:
    rule_id: str
    before: str
    after: str
    annotation: str


def flips(current: Mapping[str, Evaluation | None], proposed: Sequence[Evaluation]) -> list[Flip]:
    """The evaluations whose compliance would change (``current``: by rule id, None = not evaluated)."""
    out = []
    for evaluation in proposed:
        held = current.get(evaluation.rule_id)
        before = held.compliance if held is not None else "NOT_EVALUATED"
        if before != evaluation.compliance:
            out.append(Flip(evaluation.rule_id, before, evaluation.compliance, evaluation.annotation))
    return out
