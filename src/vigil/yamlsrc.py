"""YAML with line numbers: every key and item of a file remembers where it was written, so errors in
configuration and rule files can say ``file:line``. Imports nothing of Vigil's but ``errors``."""

from __future__ import annotations

from typing import Any

import yaml

from vigil.errors import Problem

# path inside the document (keys and list indexes) → 1-based line
Lines = dict[tuple[str | int, ...], int]


def compose(
    node: yaml.Node, path: tuple[str | int, ...], lines: Lines, problems: list[Problem], src: str
) -> Any:
    """YAML node → Python value, remembering the line of every key and item; duplicate keys are
    problems (the last value wins, so the rest of the file can still be checked)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            if key in out:
                problems.append(
                    Problem(f"{src}:{key_node.start_mark.line + 1}", f"duplicate key {key!r}", "keep one")
                )
            out[key] = compose(value_node, (*path, key), lines, problems, src)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [compose(item, (*path, i), lines, problems, src) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A scalar node's value, typed as ``yaml.safe_load`` would type it (tags are resolved by
    ``compose``)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def parse(text: str, src: str) -> tuple[Any, Lines, list[Problem]]:
    """The document in ``text`` (``None`` when empty or unreadable), its lines, and its problems."""
    try:
        node = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{src}:{mark.line + 1}" if mark else src
        return None, {}, [Problem(where, f"not valid YAML: {exc.problem}", "check indentation and quoting")]
    if node is None:
        return None, {}, []
    lines: Lines = {}
    problems: list[Problem] = []
    return compose(node, (), lines, problems, src), lines, problems


def line_of(lines: Lines, path: tuple[str | int, ...]) -> int:
    """The line of ``path``, or of its nearest ancestor that has one."""
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)
