"""The condition language, compiled once into small evaluators (pure: no store, no AWS).

A condition is a leaf or a combination (DESIGN.md, "The rule language"):

* leaf: ``{key: <JMESPath into the CI>, op: <operator>, value: <literal or {param: name}>,
  value_type: <age|cidr|port|size|version>}``;
* ``all: [...]``, ``any: [...]``, ``not: {...}``;
* ``each: {key: <list>, where: <condition>, require: any|all|none}`` over list items (the item is
  the root of the inner keys);
* ``related: {relationship: <relationshipName>, where: <condition>, require: any|all|none}`` over
  the resources the CI's relationships name (each related CI is the root of the inner keys).

``OPERATORS`` and ``VALUE_TYPES`` are the two tables; a leaf names one of each. Compiling checks
everything that can be checked before data arrives (operator, JMESPath, parameter, value type) and
records every problem with its file:line instead of stopping at the first.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
import orjson
from jmespath.exceptions import JMESPathError

from vigil.errors import Problem
from vigil.rules.spec import Outcome, Parameter
from vigil.yamlsrc import Lines, line_of

# ---------------------------------------------------------------------------------------------
# evaluation environment


@dataclass
class Env:
    """What a condition sees: the current root document (the CI, a list item or a related CI), the
    whole CI, the rule's parameters, the time, and how to reach related and other resources."""

    doc: Any
    ci: Mapping[str, Any]
    params: Mapping[str, Any]
    now: datetime
    related: Callable[[Mapping[str, Any], str], list[Mapping[str, Any]]] = lambda _ci, _name: []
    lookup: Callable[[str, str | None], list[Mapping[str, Any]]] = lambda _type, _region: []
    # why (type, region) could not be read at the last collection, or None; region None: any region
    unreadable: Callable[[str, str | None], str | None] = lambda _type, _region: None

    def at(self, doc: Any, ci: Mapping[str, Any] | None = None) -> Env:
        return Env(
            doc,
            ci if ci is not None else self.ci,
            self.params,
            self.now,
            self.related,
            self.lookup,
            self.unreadable,
        )


# ---------------------------------------------------------------------------------------------
# value types: how a literal and an actual value are read before they are compared

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?i?B?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def _age_literal(value: Any) -> timedelta:
    if isinstance(value, int | float):
        return timedelta(days=value)
    match = _AGE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not an age; write 90d, 12h, 30m, 2w or a number of days")
    return timedelta(seconds=float(match[1]) * _AGE_UNITS[match[2]])


def parse_moment(value: Any) -> datetime | None:
    """A timestamp as recorded (ISO text, ``Z`` or offset, or a datetime) → aware UTC; None for the
    credential report's placeholders (``N/A``, ``not_supported``, ``no_information``) and non-times."""
    if value in (None, "", "N/A", "not_supported", "no_information"):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age_actual(value: Any, env: Env) -> timedelta | None:
    moment = parse_moment(value)
    return None if moment is None else env.now - moment


def _cidr(value: Any) -> Any:
    if isinstance(value, list):
        return [_cidr(v) for v in value]
    return ipaddress.ip_network(str(value), strict=False)


def _port_literal(value: Any) -> Any:
    if isinstance(value, list):
        return [_port_literal(v) for v in value]
    text = str(value)
    low, _, high = text.partition("-")
    return (int(low), int(high or low))


def _size_literal(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    match = _SIZE.match(str(value))
    unit = (match[2] or "").upper() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ValueError(f"{value!r} is not a size; write 512, 8GiB or 100MB")
    return float(match[1]) * _SIZE_UNITS[unit]


def _version(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    parts = re.findall(r"\d+", str(value))
    if not parts:
        raise ValueError(f"{value!r} is not a version")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class ValueType:
    """How to read the literal (once, when compiling) and the actual value (at each evaluation)."""

    literal: Callable[[Any], Any]
    actual: Callable[[Any, Env], Any]


def _safe(convert: Callable[[Any], Any]) -> Callable[[Any, Env], Any]:
    def read(value: Any, _env: Env) -> Any:
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError:
            return None

    return read


VALUE_TYPES: dict[str, ValueType] = {
    "age": ValueType(_age_literal, _age_actual),
    "cidr": ValueType(_cidr, _safe(_cidr)),
    "port": ValueType(_port_literal, _safe(int)),
    "size": ValueType(_size_literal, _safe(_size_literal)),
    "version": ValueType(_version, _safe(_version)),
}

# ---------------------------------------------------------------------------------------------
# operators


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _compare(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(actual: Any, expected: Any) -> bool:
        if actual is None or expected is None:
            return False
        try:
            return bool(fn(actual, expected))
        except TypeError:
            return False

    return run


def _in(actual: Any, expected: Any) -> bool:
    if isinstance(actual, tuple) or _is_network(actual):
        return any(_within(actual, e) for e in _as_list(expected))
    return actual in _as_list(expected)


def _within(actual: Any, expected: Any) -> bool:
    if _is_network(actual) and _is_network(expected):
        return actual.version == expected.version and actual.subnet_of(expected)
    if isinstance(expected, tuple) and isinstance(actual, int):
        return expected[0] <= actual <= expected[1]
    return bool(actual == expected)


def _is_network(value: Any) -> bool:
    return isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, Mapping):
        return expected in actual
    return any(e in _as_list(actual) for e in _as_list(expected))


def _overlaps(actual: Any, expected: Any) -> bool:
    return any(
        a.version == e.version and a.overlaps(e)
        for a in _as_list(actual)
        if _is_network(a)
        for e in _as_list(expected)
        if _is_network(e)
    )


def _empty(actual: Any) -> bool:
    return actual is None or actual == "" or (isinstance(actual, list | dict | tuple) and not actual)


def _regex(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and re.search(expected, actual) is not None


@dataclass(frozen=True)
class Operator:
    test: Callable[[Any, Any], bool]
    takes_value: bool = True
    words: str = ""  # how the annotation says it


OPERATORS: dict[str, Operator] = {
    "eq": Operator(lambda a, e: a == e, words="=="),
    "ne": Operator(lambda a, e: a != e, words="!="),
    "lt": Operator(_compare(lambda a, e: a < e), words="<"),
    "le": Operator(_compare(lambda a, e: a <= e), words="<="),
    "gt": Operator(_compare(lambda a, e: a > e), words=">"),
    "ge": Operator(_compare(lambda a, e: a >= e), words=">="),
    "in": Operator(lambda a, e: a is not None and _in(a, e), words="in"),
    "not-in": Operator(lambda a, e: a is None or not _in(a, e), words="not in"),
    "contains": Operator(lambda a, e: a is not None and _contains(a, e), words="contains"),
    "not-contains": Operator(lambda a, e: a is None or not _contains(a, e), words="does not contain"),
    "intersect": Operator(
        lambda a, e: bool(set(map(str, _as_list(a))) & set(map(str, _as_list(e)))),
        words="shares an item with",
    ),
    "subset": Operator(lambda a, e: set(map(str, _as_list(a))) <= set(map(str, _as_list(e))), words="within"),
    "regex": Operator(_regex, words="matches"),
    "glob": Operator(lambda a, e: isinstance(a, str) and fnmatch.fnmatchcase(a, e), words="matches"),
    "starts-with": Operator(lambda a, e: isinstance(a, str) and a.startswith(e), words="starts with"),
    "ends-with": Operator(lambda a, e: isinstance(a, str) and a.endswith(e), words="ends with"),
    "cidr-overlaps": Operator(_overlaps, words="overlaps"),
    "present": Operator(lambda a, _e: a is not None, takes_value=False, words="is set"),
    "absent": Operator(lambda a, _e: a is None, takes_value=False, words="is not set"),
    "empty": Operator(lambda a, _e: _empty(a), takes_value=False, words="is empty"),
    "not-empty": Operator(lambda a, _e: not _empty(a), takes_value=False, words="is not empty"),
    "true": Operator(lambda a, _e: a is True or a == "true", takes_value=False, words="is true"),
    "false": Operator(lambda a, _e: a is False or a == "false", takes_value=False, words="is false"),
}

# Parameter types: how a parameter's value (default, config override, or AWS Config's string form)
# is read. AWS Config passes every parameter as a string (spec §5.7), so strings are accepted.
PARAMETER_TYPES: dict[str, Callable[[Any], Any]] = {
    "string": lambda v: "" if v is None else str(v),
    "int": lambda v: int(str(v).strip()),
    "float": lambda v: float(str(v).strip()),
    "bool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[str(v).strip().lower()],
    "list": lambda v: v if isinstance(v, list) else [p.strip() for p in str(v).split(",") if p.strip()],
}


def read_parameter(param: Parameter, value: Any) -> Any:
    """A parameter's value in its type; ``ValueError`` says what is wrong."""
    if value is None:
        return None
    try:
        return PARAMETER_TYPES[param.type](value)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"parameter {param.name} must be {param.type}, not {value!r}") from exc


# ---------------------------------------------------------------------------------------------
# compiled nodes

Evaluator = Callable[[Env], Outcome]


def show(value: Any, limit: int = 60) -> str:
    """A value as an annotation shows it: compact JSON, shortened."""
    if isinstance(value, str):
        text = repr(value) if len(value) <= limit else repr(value[: limit - 1] + "…")
        return text.replace("'", '"')
    if isinstance(value, timedelta):
        return f"{value.days} days" if value.days else f"{int(value.total_seconds())} s"
    try:
        text = orjson.dumps(value, default=str).decode()
    except TypeError:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def getter(expression: str) -> Callable[[Any], Any]:
    """A compiled JMESPath; plain dotted paths (most keys) take a faster dictionary walk."""
    if _SIMPLE_PATH.match(expression) and expression not in ("null", "true", "false"):
        parts = expression.split(".")

        def walk(doc: Any) -> Any:
            # CIs are plain JSON dicts: asking for .get is cheaper than an ABC isinstance check,
            # and anything without it (a list, a string, None) reads as missing
            for part in parts:
                try:
                    doc = doc.get(part)
                except AttributeError:
                    return None
            return doc

        return walk
    compiled = jmespath.compile(expression)
    return compiled.search


@dataclass
class Compiler:
    """Compiles conditions of one rule, collecting problems (with file:line) rather than raising."""

    src: str
    lines: Lines
    parameters: Mapping[str, Parameter]
    problems: list[Problem] = field(default_factory=list)
    # keys the conditions read from the CI itself (not from list items or related CIs): the
    # evaluator answers INSUFFICIENT_DATA when one of them is a fact the recorder could not read
    reads: list[str] = field(default_factory=list)
    _depth: int = 0

    def fail(self, path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        self.problems.append(Problem(f"{self.src}:{line_of(self.lines, path)}", message, hint))

    def compile(self, raw: Any, path: tuple[str | int, ...]) -> Evaluator | None:
        if not isinstance(raw, Mapping):
            self.fail(path, f"a condition must be a mapping, not {type(raw).__name__}", _CONDITION_HINT)
            return None
        forms = [k for k in ("all", "any", "not", "each", "related", "key") if k in raw]
        if len(forms) != 1:
            found = ", ".join(sorted(raw)) or "nothing"
            self.fail(
                path,
                f"a condition needs exactly one of key, all, any, not, each, related (found {found})",
                _CONDITION_HINT,
            )
            return None
        form = forms[0]
        if form in ("all", "any"):
            return self._combination(form, raw[form], (*path, form))
        if form == "not":
            return self._not(raw["not"], (*path, "not"))
        if form == "each":
            return self._each(raw["each"], (*path, "each"))
        if form == "related":
            return self._related(raw["related"], (*path, "related"))
        return self._leaf(raw, path)

    # -- combinations --------------------------------------------------------------------------

    def _combination(self, form: str, items: Any, path: tuple[str | int, ...]) -> Evaluator | None:
        if not isinstance(items, list) or not items:
            self.fail(path, f"{form} takes a non-empty list of conditions", _CONDITION_HINT)
            return None
        children = [self.compile(item, (*path, i)) for i, item in enumerate(items)]
        if any(c is None for c in children):
            return None
        parts: list[Evaluator] = [c for c in children if c is not None]
        if form == "all":

            def all_of(env: Env) -> Outcome:
                for part in parts:
                    outcome = part(env)
                    if not outcome.ok:
                        return outcome
                return Outcome(True)

            return all_of

        def any_of(env: Env) -> Outcome:
            reasons = []
            for part in parts:
                outcome = part(env)
                if outcome.ok:
                    return outcome
                reasons.append(outcome.reason)
            return Outcome(False, " and ".join(reasons))

        return any_of

    def _not(self, raw: Any, path: tuple[str | int, ...]) -> Evaluator | None:
        child = self.compile(raw, path)
        if child is None:
            return None
        said = describe(raw)

        def negate(env: Env) -> Outcome:
            return Outcome(False, f"{said}, which it must not") if child(env).ok else Outcome(True)

        return negate

    def _require(self, raw: Mapping[str, Any], path: tuple[str | int, ...], default: str) -> str | None:
        require = raw.get("require", default)
        if require not in ("any", "all", "none"):
            self.fail((*path, "require"), f"require must be any, all or none, not {require!r}")
            return None
        return str(require)

    def _each(self, raw: Any, path: tuple[str | int, ...]) -> Evaluator | None:
        if not isinstance(raw, Mapping) or "key" not in raw or "where" not in raw:
            self.fail(
                path,
                "each needs key (a list in the CI) and where (a condition on each item)",
                "each: {key: configuration.ipPermissions, where: {...}, require: none}",
            )
            return None
        get = self._getter(raw["key"], (*path, "key"))
        self._depth += 1
        where = self.compile(raw["where"], (*path, "where"))
        self._depth -= 1
        require = self._require(raw, path, "all")
        if get is None or where is None or require is None:
            return None
        key = str(raw["key"])
        said = describe(raw["where"])

        def each(env: Env) -> Outcome:
            items = _as_list(get(env.doc))
            if require == "all":
                for i, item in enumerate(items):
                    outcome = where(env.at(item))
                    if not outcome.ok:
                        return Outcome(False, f"{key}[{i}]: {outcome.reason}")
                return Outcome(True)
            matched = [i for i, item in enumerate(items) if where(env.at(item)).ok]
            if require == "any":
                return Outcome(True) if matched else Outcome(False, f"no item of {key} has {said}")
            if matched:
                return Outcome(False, f"{key}[{matched[0]}] has {said} ({show(items[matched[0]], 120)})")
            return Outcome(True)

        return each

    def _related(self, raw: Any, path: tuple[str | int, ...]) -> Evaluator | None:
        if not isinstance(raw, Mapping) or "relationship" not in raw or "where" not in raw:
            self.fail(
                path,
                "related needs relationship (a relationshipName) and where (a condition)",
                "related: {relationship: Is attached to Instance, where: {...}}",
            )
            return None
        name = str(raw["relationship"])
        self._depth += 1
        where = self.compile(raw["where"], (*path, "where"))
        self._depth -= 1
        require = self._require(raw, path, "any")
        if where is None or require is None:
            return None
        said = describe(raw["where"])

        def related(env: Env) -> Outcome:
            others = env.related(env.ci, name)
            results = [(o, where(env.at(o, o))) for o in others]
            passing = [o for o, r in results if r.ok]
            if require == "any" and not passing:
                return Outcome(False, f"no resource it '{name}' has {said}")
            if require == "all":
                for other, result in results:
                    if not result.ok:
                        return Outcome(False, f"{other.get('resourceId')} ('{name}'): {result.reason}")
            if require == "none" and passing:
                return Outcome(False, f"{passing[0].get('resourceId')} ('{name}') has {said}")
            return Outcome(True)

        return related

    # -- leaves --------------------------------------------------------------------------------

    def _getter(self, key: Any, path: tuple[str | int, ...]) -> Callable[[Any], Any] | None:
        if not isinstance(key, str) or not key:
            self.fail(path, "key must be a JMESPath expression into the CI", "e.g. configuration.encrypted")
            return None
        if self._depth == 0:
            self.reads.append(key)
        try:
            return getter(key)
        except JMESPathError as exc:
            self.fail(path, f"invalid JMESPath {key!r}: {exc}", "see https://jmespath.org for the syntax")
            return None

    def _leaf(self, raw: Mapping[str, Any], path: tuple[str | int, ...]) -> Evaluator | None:
        unknown = sorted(set(raw) - {"key", "op", "value", "value_type"})
        if unknown:
            self.fail(path, f"unknown field(s) in a condition: {', '.join(unknown)}", _CONDITION_HINT)
        get = self._getter(raw.get("key"), (*path, "key"))
        op_name = raw.get("op")
        op = OPERATORS.get(str(op_name))
        if op is None:
            self.fail((*path, "op"), f"unknown operator {op_name!r}", f"one of: {', '.join(OPERATORS)}")
        type_name = raw.get("value_type")
        value_type = VALUE_TYPES.get(str(type_name)) if type_name is not None else None
        if type_name is not None and value_type is None:
            self.fail(
                (*path, "value_type"),
                f"unknown value_type {type_name!r}",
                f"one of: {', '.join(VALUE_TYPES)}",
            )
        if op is None or get is None or (type_name is not None and value_type is None):
            return None
        if op.takes_value and "value" not in raw:
            self.fail(path, f"operator {op_name} needs a value", "add value: … or value: {param: name}")
            return None
        value = raw.get("value")
        param_name: str | None = None
        literal: Any = None
        if isinstance(value, Mapping):
            if set(value) != {"param"}:
                self.fail((*path, "value"), "a mapping value must be {param: <parameter name>}")
                return None
            param_name = str(value["param"])
            if param_name not in self.parameters:
                known = ", ".join(self.parameters) or "none declared"
                self.fail(
                    (*path, "value"), f"unknown parameter {param_name!r}", f"declared parameters: {known}"
                )
                return None
        elif value_type is not None and op.takes_value:
            try:
                literal = value_type.literal(value)
            except ValueError as exc:
                self.fail((*path, "value"), str(exc))
                return None
        else:
            literal = value
        if op_name == "regex" and param_name is None:
            try:
                re.compile(str(literal))
            except re.error as exc:
                self.fail((*path, "value"), f"invalid regular expression: {exc}")
                return None
        key = str(raw["key"])
        test = op.test
        words = op.words
        read_actual = value_type.actual if value_type else None
        read_literal = value_type.literal if value_type else None

        def leaf(env: Env) -> Outcome:
            actual = get(env.doc)
            expected = literal
            if param_name is not None:
                expected = env.params.get(param_name)
                if expected is None or expected == "" or expected == []:
                    return Outcome(True)  # an optional parameter left unset asks for nothing
                if read_literal is not None:
                    expected = read_literal(expected)
            if read_actual is not None:
                actual = read_actual(actual, env)
            if test(actual, expected):
                return Outcome(True)
            if not op.takes_value:
                return Outcome(False, f"{key} is {show(actual)}, expected it {words}")
            shown = show(expected) if param_name is None else f"{show(expected)} ({param_name})"
            if actual is None:
                return Outcome(False, f"{key} is not set, expected {words} {shown}")
            return Outcome(False, f"{key} is {show(actual)}, expected {words} {shown}")

        return leaf


_CONDITION_HINT = (
    "a leaf is {key, op, value}; combine with all/any/not, each over lists, related to follow links"
)


def describe(raw: Any) -> str:
    """A condition in words, for annotations of ``not``, ``each`` and ``related``."""
    if not isinstance(raw, Mapping):
        return "?"
    if "key" in raw:
        op = OPERATORS.get(str(raw.get("op")))
        words = op.words if op else str(raw.get("op"))
        if op is not None and not op.takes_value:
            return f"{raw['key']} {words}"
        value = raw.get("value")
        shown = (
            f"parameter {value['param']}" if isinstance(value, Mapping) and "param" in value else show(value)
        )
        return f"{raw['key']} {words} {shown}"
    for form, joiner in (("all", " and "), ("any", " or ")):
        if form in raw and isinstance(raw[form], Sequence):
            return "(" + joiner.join(describe(c) for c in raw[form]) + ")"
    if "not" in raw:
        return f"not {describe(raw['not'])}"
    if "each" in raw and isinstance(raw["each"], Mapping):
        return f"{raw['each'].get('require', 'all')} of {raw['each'].get('key')} with {describe(raw['each'].get('where'))}"
    if "related" in raw and isinstance(raw["related"], Mapping):
        return f"a resource it '{raw['related'].get('relationship')}' with {describe(raw['related'].get('where'))}"
    return "?"
