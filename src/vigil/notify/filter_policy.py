"""SNS subscription filter policies: Amazon SNS's filter language, validated once, matched many times.

``compile_policy(policy, scope)`` checks a ``FilterPolicy`` the way SNS's Subscribe and
SetSubscriptionAttributes do (same limits, same error texts) and returns a :class:`FilterPolicy`
whose ``matches_attributes`` / ``matches_body`` / ``matches`` are cheap: every value list is compiled
into one predicate (exact strings and numbers in frozensets, operators as closures picked from
:data:`OPERATORS`), and a message is normalised once into ``{path: (values…)}`` before the keys are
looked up. Semantics and test vectors: ``spec/aws-semantics.md`` §4.4 and §4.5.

Decisions where the spec marks a point ambiguous (each has a test):

* numbers compare after rounding to ``numeric_decimals`` places, 5 by default (AWS's documented
  accuracy; moto observes 6 — §8 item 6, so it is a parameter);
* values are typed as JSON: a ``String`` attribute ``"300"`` is a string and never meets ``numeric``
  or an exact number; a ``Number`` attribute is a number (§4.4 "exact number … matches 3.015e2");
* a ``Binary`` attribute is ignored entirely, also by ``exists`` (§4.4 "Binary ignored");
* ``String.Array`` text that is not a JSON array is present but has no values: ``exists`` sees it,
  no value matcher does (§4.5 F22);
* the message body is flattened into dotted paths, so ``{"a.b": …}`` and ``{"a": {"b": …}}`` are one
  key, and array elements (nested arrays too) are the values of their path (§4.4 [IMPL], F25);
* the five-key limit counts top-level keys; with ``$or`` it counts the widest branch expansion;
  nested keys under a parent do not count (§4.4);
* complexity = product over keys of each key's value count; ``$or`` branches are summed; in body
  scope a leaf's count is multiplied by its nesting depth (§4.4, the 3×4×2×3 = 72 example).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeGuard

from vigil.errors import UsageError

Scope: TypeAlias = Literal["MessageAttributes", "MessageBody"]
SCOPES: tuple[Scope, ...] = ("MessageAttributes", "MessageBody")

#: A JSON scalar as it appears in a message: str, int/float (never bool), bool, or None.
Scalar: TypeAlias = str | int | float | bool | None
#: A message normalised for matching: path → the scalar values found there (empty = present, no values).
Values: TypeAlias = Mapping[str, tuple[Scalar, ...]]
Predicate: TypeAlias = Callable[[tuple[Scalar, ...]], bool]

MAX_KEYS = 5  # §4.4: "Filter policy can not have more than 5 keys"
MAX_COMBINATIONS = 150  # §4.4: "Filter policy is too complex"
MAX_POLICY_BYTES = 256 * 1024  # §4.4: FilterPolicy JSON ≤ 256 KB
NUMERIC_LIMIT = 1e9  # §4.4: numbers from -10^9 to 10^9
DEFAULT_NUMERIC_DECIMALS = 5  # §4.4 / §8 item 6 (AMBIG): five digits after the decimal point

OR_KEY = "$or"
NESTED_ATTRIBUTES = "Filter policy scope MessageAttributes does not support nested filter policy"
ERROR_PREFIX = "Invalid parameter: "
SUBSCRIBE_PREFIX = "Attributes Reason: "


class FilterPolicyError(UsageError):
    """An invalid filter policy; ``message`` is SNS's reason text, e.g. ``Bottom must be less than top``.

    ``in_field`` is False for the few errors SNS reports without the ``FilterPolicy:`` field name
    (the nested-policy-in-attribute-scope error). :func:`sns_error_message` adds SNS's prefix.
    """

    def __init__(self, reason: str, *, in_field: bool = True) -> None:
        super().__init__(reason, hint="see Amazon SNS's filter policy syntax (spec §4.4)")
        self.reason = reason
        self.in_field = in_field


def sns_error_message(error: FilterPolicyError, *, subscribe: bool = False) -> str:
    """SNS's whole error text: ``Invalid parameter: FilterPolicy: <reason>`` (SetSubscriptionAttributes),
    or ``Invalid parameter: Attributes Reason: FilterPolicy: <reason>`` with ``subscribe=True``."""
    head = ERROR_PREFIX + (SUBSCRIBE_PREFIX if subscribe else "")
    return head + ("FilterPolicy: " if error.in_field else "") + error.reason


# -- numbers ------------------------------------------------------------------------------------------


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _policy_number(value: float) -> float:
    if not math.isfinite(value) or not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
        # [INFER] the text of SNS's matching engine for out-of-range numbers
        raise FilterPolicyError("Value must be between -1.0E9 and 1.0E9, inclusive")
    return float(value)


# -- the value matchers: one compiler per operator (the OPERATORS table) -----------------------------


@dataclass(frozen=True)
class Compiled:
    """One element of a key's value list, compiled: a predicate over the key's values, or exists."""

    predicate: Predicate | None = None
    exists: bool | None = None  # {"exists": true|false}: decided on presence, not on values
    exact_strings: frozenset[str] = frozenset()
    exact_numbers: frozenset[float] = frozenset()


def _string_arg(operator: str, arg: Any) -> str:
    if not isinstance(arg, str):
        raise FilterPolicyError(f"{operator} match pattern must be a string")
    return arg


def _prefix(arg: Any, decimals: int) -> Compiled:
    text = _string_arg("prefix", arg)
    return Compiled(lambda vs: any(isinstance(v, str) and v.startswith(text) for v in vs))


def _suffix(arg: Any, decimals: int) -> Compiled:
    text = _string_arg("suffix", arg)
    return Compiled(lambda vs: any(isinstance(v, str) and v.endswith(text) for v in vs))


def _equals_ignore_case(arg: Any, decimals: int) -> Compiled:
    folded = _string_arg("equals-ignore-case", arg).casefold()
    return Compiled(lambda vs: any(isinstance(v, str) and v.casefold() == folded for v in vs))


def _exists(arg: Any, decimals: int) -> Compiled:
    if not isinstance(arg, bool):
        raise FilterPolicyError("exists match pattern must be either true or false.")
    return Compiled(exists=arg)


def _anything_but(arg: Any, decimals: int) -> Compiled:
    """§4.4: matches when a value is present and at least one of its values is outside the list."""
    if isinstance(arg, dict):
        if not arg:
            raise FilterPolicyError("Value of anything-but must be an array or single string/number value.")
        operator, inner = next(iter(arg.items()))
        if operator != "prefix":  # §4.4 [AWS-OBS]: only prefix nests inside anything-but
            raise FilterPolicyError(f"Unsupported anything-but pattern: {operator}")
        text = _string_arg("prefix", inner)
        if not text:
            raise FilterPolicyError("Null prefix not allowed")  # [INFER]
        if len(arg) > 1:
            raise FilterPolicyError("Only one key allowed in match expression")
        return Compiled(lambda vs: any(isinstance(v, str) and not v.startswith(text) for v in vs))
    if not isinstance(arg, list) and not (isinstance(arg, str) or _is_number(arg)):
        raise FilterPolicyError("Value of anything-but must be an array or single string/number value.")
    items = arg if isinstance(arg, list) else [arg]
    if any(not (isinstance(v, str) or _is_number(v)) for v in items):
        raise FilterPolicyError("Inside anything but list, start|null|boolean is not supported.")
    strings = frozenset(v for v in items if isinstance(v, str))
    has_numbers = any(_is_number(v) for v in items)
    if bool(strings) == has_numbers:  # both kinds, or an empty list
        raise FilterPolicyError(
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        )
    if strings:
        # a value outside the list: anything but one of these strings (numbers included) [INFER]
        return Compiled(lambda vs: any(not (isinstance(v, str) and v in strings) for v in vs))
    numbers = frozenset(round(_policy_number(v), decimals) for v in items if _is_number(v))
    return Compiled(lambda vs: any(_is_number(v) and round(v, decimals) not in numbers for v in vs))


RANGE_OPENERS = {">": True, ">=": False}  # operator → open (strict) bottom
RANGE_CLOSERS = {"<": True, "<=": False}  # operator → open (strict) top
OPERATOR_NAMES = {"=": "equals"}  # SNS names "=" in "Value of equals must be numeric"


def _numeric_value(operator: str, items: list[Any], index: int) -> float:
    if index >= len(items) or not _is_number(items[index]):
        raise FilterPolicyError(f"Value of {OPERATOR_NAMES.get(operator, operator)} must be numeric")
    return _policy_number(items[index])


def _numeric(arg: Any, decimals: int) -> Compiled:
    """``[op, v]`` or a range ``[">"|">=", low, "<"|"<=", high]`` (§4.4; error texts [AWS-OBS])."""
    if not isinstance(arg, list):
        raise FilterPolicyError("Value of numeric must be an array.")
    if not arg or not isinstance(arg[0], str):
        member = "]" if not arg else json.dumps(arg[0])
        raise FilterPolicyError(f"Invalid member in numeric match: {member}")
    operator = arg[0]
    if operator not in ("=", "<", "<=", ">", ">="):
        raise FilterPolicyError(f"Unrecognized numeric range operator: {operator}")
    first = _numeric_value(operator, arg, 1)
    low: float | None = None
    high: float | None = None
    open_low = open_high = False
    if operator in RANGE_OPENERS:
        low, open_low = round(first, decimals), RANGE_OPENERS[operator]
        if len(arg) > 2:
            closer = arg[2]
            if not isinstance(closer, str):
                raise FilterPolicyError(f"Bad value in numeric range: {json.dumps(closer)}")
            if closer not in RANGE_CLOSERS:
                raise FilterPolicyError(f"Bad numeric range operator: {closer}")
            high, open_high = round(_numeric_value(closer, arg, 3), decimals), RANGE_CLOSERS[closer]
            if len(arg) > 4:
                raise FilterPolicyError("Too many terms in numeric range expression")
            if low >= high:
                raise FilterPolicyError("Bottom must be less than top")
    elif len(arg) > 2:
        raise FilterPolicyError("Too many elements in numeric expression")
    elif operator == "=":
        target = round(first, decimals)
        return Compiled(lambda vs: any(_is_number(v) and round(v, decimals) == target for v in vs))
    else:
        high, open_high = round(first, decimals), RANGE_CLOSERS[operator]
    return Compiled(_range_predicate(low, open_low, high, open_high, decimals))


def _range_predicate(
    low: float | None, open_low: bool, high: float | None, open_high: bool, decimals: int
) -> Predicate:
    def inside(v: float) -> bool:
        x = round(v, decimals)
        if low is not None and (x <= low if open_low else x < low):
            return False
        return high is None or (x < high if open_high else x <= high)

    return lambda vs: any(_is_number(v) and inside(v) for v in vs)


def _cidr(arg: Any, decimals: int) -> Compiled:
    """IPv4/IPv6 membership; error texts are SNS's matching engine's (§4.5 F28 [AWS-OBS])."""
    text = _string_arg("prefix", arg)  # SNS reports a non-string cidr with the prefix text [INFER]
    parts = text.split("/")
    if len(parts) != 2:
        raise FilterPolicyError("Malformed CIDR, one '/' required")
    try:
        bits = int(parts[1])
    except ValueError:
        raise FilterPolicyError("Malformed CIDR, mask bits must be an integer") from None
    if bits < 0:
        raise FilterPolicyError("Malformed CIDR, mask bits must not be negative")
    try:
        base = ipaddress.ip_address(parts[0])
    except ValueError:
        raise FilterPolicyError(f"Nonstandard IP address: {parts[0]}") from None
    width = base.max_prefixlen
    if bits >= width:
        raise FilterPolicyError(f"IPv{base.version} mask bits must be < {width}")
    # The range starts at the address as written and ends with its host bits set (SNS's engine does
    # not clear host bits, so 10.0.0.5/24 covers 10.0.0.5-10.0.0.255).
    bottom = int(base)
    top = bottom | ((1 << (width - bits)) - 1)
    version = base.version

    def within(v: Scalar) -> bool:
        if not isinstance(v, str):
            return False
        try:
            address = ipaddress.ip_address(v)
        except ValueError:
            return False
        return address.version == version and bottom <= int(address) <= top

    return Compiled(lambda vs: any(within(v) for v in vs))


OPERATORS: dict[str, Callable[[Any, int], Compiled]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
}


def _compile_value(value: Any, decimals: int) -> Compiled:
    """One element of a key's list: a literal, or a one-key operator object."""
    if isinstance(value, str):
        return Compiled(exact_strings=frozenset([value]))
    if _is_number(value):
        return Compiled(exact_numbers=frozenset([round(_policy_number(value), decimals)]))
    if value is None or isinstance(value, bool):
        literal = value
        return Compiled(lambda vs: any(v is literal for v in vs))
    if isinstance(value, dict):
        if not value:
            raise FilterPolicyError("Empty objects are not allowed")  # [INFER]
        operator, arg = next(iter(value.items()))
        compiler = OPERATORS.get(operator)
        if compiler is None:
            raise FilterPolicyError(f"Unrecognized match type {operator}")
        compiled = compiler(arg, decimals)
        if len(value) > 1:
            raise FilterPolicyError("Only one key allowed in match expression")
        return compiled
    raise FilterPolicyError("Match value must be String, number, true, false, or null")


@dataclass(frozen=True)
class KeyMatcher:
    """A key's list of values (OR), compiled into sets and a few predicates."""

    path: str
    strings: frozenset[str]
    numbers: frozenset[float]
    predicates: tuple[Predicate, ...]
    if_absent: bool  # {"exists": false} in the list
    if_present: bool  # {"exists": true} in the list
    decimals: int

    def __call__(self, values: Values) -> bool:
        found = values.get(self.path)
        if found is None:
            return self.if_absent
        if self.if_present:
            return True
        for v in found:
            if isinstance(v, str):
                if v in self.strings:
                    return True
            elif self.numbers and _is_number(v) and round(v, self.decimals) in self.numbers:
                return True
        return any(p(found) for p in self.predicates)


def _key_matcher(path: str, items: list[Any], decimals: int) -> KeyMatcher:
    if not items:
        raise FilterPolicyError("Empty arrays are not allowed")
    compiled = [_compile_value(v, decimals) for v in items]
    return KeyMatcher(
        path=path,
        strings=frozenset().union(*(c.exact_strings for c in compiled)),
        numbers=frozenset().union(*(c.exact_numbers for c in compiled)),
        predicates=tuple(c.predicate for c in compiled if c.predicate is not None),
        if_absent=any(c.exists is False for c in compiled),
        if_present=any(c.exists is True for c in compiled),
        decimals=decimals,
    )


# -- the policy tree: AND of keys, $or of branches ----------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An object of the policy: every key matches (AND) and, per ``$or``, one branch matches."""

    keys: tuple[KeyMatcher, ...]
    alternatives: tuple[tuple[Node, ...], ...] = ()
    nested: tuple[Node, ...] = ()  # body scope: objects under a parent key (their paths are full)
    top_keys: int = 0  # keys counted for the five-key limit (widest $or expansion)
    combinations: int = 1

    def __call__(self, values: Values) -> bool:
        return (
            all(k(values) for k in self.keys)
            and all(n(values) for n in self.nested)
            and all(any(b(values) for b in branches) for branches in self.alternatives)
        )


def _is_or(value: Any) -> bool:
    """§4.4 [DOC]: ``$or`` is an operator only for a list of ≥2 objects whose keys are not operators."""
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(b, dict) and not (set(b) & set(OPERATORS)) for b in value)
    )


def _compile_object(obj: Mapping[str, Any], prefix: str, depth: int, scope: Scope, decimals: int) -> Node:
    keys: list[KeyMatcher] = []
    nested: list[Node] = []
    alternatives: list[tuple[Node, ...]] = []
    top_keys = 0
    combinations = 1
    for name, value in obj.items():
        path = f"{prefix}.{name}" if prefix else name
        if name == OR_KEY and _is_or(value):
            branches = tuple(_compile_object(b, prefix, depth, scope, decimals) for b in value)
            alternatives.append(branches)
            top_keys += max(b.top_keys for b in branches)
            combinations *= sum(b.combinations for b in branches)
        elif isinstance(value, list):
            keys.append(_key_matcher(path, value, decimals))
            top_keys += 1
            # §4.4: in body scope a leaf counts its values times its nesting depth
            combinations *= len(value) * (depth if scope == "MessageBody" else 1)
        elif isinstance(value, dict):
            if scope == "MessageAttributes":
                raise FilterPolicyError(NESTED_ATTRIBUTES, in_field=False)
            if not value:
                raise FilterPolicyError("Empty objects are not allowed")  # [INFER]
            child = _compile_object(value, path, depth + 1, scope, decimals)
            nested.append(child)
            top_keys += 1  # §4.4: nested keys do not count, their parent does
            combinations *= child.combinations
        else:
            raise FilterPolicyError(f'"{name}" must be an object or an array')
    return Node(tuple(keys), tuple(alternatives), tuple(nested), top_keys, combinations)


# -- messages, normalised -----------------------------------------------------------------------------


def _array_values(text: str) -> tuple[Scalar, ...]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return ()  # §4.5 F22: invalid String.Array text never matches a value
    if not isinstance(parsed, list):
        return ()
    return tuple(v for v in parsed if not isinstance(v, dict | list))


def _number_value(text: str) -> tuple[Scalar, ...]:
    try:
        number = float(text)
    except ValueError:
        return ()
    return (number,) if math.isfinite(number) else ()


ATTRIBUTE_TYPES: dict[str, Callable[[str], tuple[Scalar, ...]]] = {
    "String": lambda text: (text,),
    "String.Array": _array_values,
    "Number": _number_value,
}


def attribute_values(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[Scalar, ...]]:
    """SNS's attribute form ``{"Name": {"DataType": …, "StringValue": …}}`` as typed values.

    A data type with a custom suffix (``Number.float``, ``String.json``) counts as its base type;
    ``Binary`` is ignored (§4.4). ``Type``/``Value`` (the envelope's form) are accepted too.
    """
    out: dict[str, tuple[Scalar, ...]] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", attribute.get("Type", "String")))
        base = "String.Array" if data_type == "String.Array" else data_type.split(".", 1)[0]
        convert = ATTRIBUTE_TYPES.get(base)
        if convert is None:
            continue
        text = attribute.get("StringValue", attribute.get("Value"))
        if isinstance(text, str):
            out[name] = convert(text)
    return out


def body_values(message: Mapping[str, Any]) -> dict[str, tuple[Scalar, ...]]:
    """A JSON body flattened to dotted paths; array elements become values of their path."""
    out: dict[str, list[Scalar]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:  # an empty array gives its path no value: it is absent
                walk(item, path)
        elif path:
            out.setdefault(path, []).append(value)

    walk(message, "")
    return {path: tuple(vs) for path, vs in out.items()}


# -- the compiled policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterPolicy:
    """A validated, compiled filter policy. Empty (``{}``) matches every message."""

    scope: Scope
    root: Node
    source: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def combinations(self) -> int:
        return self.root.combinations

    def matches_attributes(self, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
        return self.root(attribute_values(attributes))

    def matches_body(self, message: str | Mapping[str, Any]) -> bool:
        if isinstance(message, str):
            try:
                message = json.loads(message)
            except ValueError:
                return False  # §4.4: the body must be a JSON object
        if not isinstance(message, Mapping):
            return False
        return self.root(body_values(message))

    def matches(self, message: str, attributes: Mapping[str, Mapping[str, Any]] | None = None) -> bool:
        if self.scope == "MessageBody":
            return self.matches_body(message)
        return self.matches_attributes(attributes or {})

    def matches_view(self, view: MessageView) -> bool:
        """``matches`` on a message read once for all the subscriptions a publish evaluates."""
        values = view.values(self.scope)
        return values is not None and self.root(values)


@dataclass
class MessageView:
    """One published message, turned into filter values once per scope (publishing evaluates
    hundreds of subscriptions; reading the message for each was most of the cost)."""

    message: str
    attributes: Mapping[str, Mapping[str, Any]]
    _cache: dict[str, dict[str, tuple[Scalar, ...]] | None] = field(default_factory=dict, repr=False)

    def values(self, scope: Scope) -> dict[str, tuple[Scalar, ...]] | None:
        """The values a policy of ``scope`` matches against; None for a body that is not a JSON object."""
        if scope not in self._cache:
            if scope == "MessageBody":
                try:
                    parsed = json.loads(self.message)
                except ValueError:
                    parsed = None
                self._cache[scope] = body_values(parsed) if isinstance(parsed, Mapping) else None
            else:
                self._cache[scope] = attribute_values(self.attributes)
        return self._cache[scope]


def compile_policy(
    policy: str | Mapping[str, Any],
    scope: Scope = "MessageAttributes",
    *,
    numeric_decimals: int = DEFAULT_NUMERIC_DECIMALS,
) -> FilterPolicy:
    """Validate ``policy`` as SNS does and compile it; raises :class:`FilterPolicyError`."""
    if scope not in SCOPES:
        raise UsageError(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or MessageAttributes"
        )
    if isinstance(policy, str):
        if len(policy.encode("utf-8")) > MAX_POLICY_BYTES:
            raise FilterPolicyError("Filter policy can not be larger than 256 KB")  # [INFER] text
        try:
            policy = json.loads(policy)
        except ValueError as exc:
            raise FilterPolicyError(f"failed to parse JSON. {exc}") from None
    if not isinstance(policy, Mapping):
        raise FilterPolicyError("Filter is not an object")  # [INFER] the matching engine's text
    root = _compile_object(policy, "", 1, scope, numeric_decimals)
    if root.top_keys > MAX_KEYS:
        raise FilterPolicyError(f"Filter policy can not have more than {MAX_KEYS} keys")
    if root.combinations > MAX_COMBINATIONS:
        raise FilterPolicyError("Filter policy is too complex")
    return FilterPolicy(scope, root, policy)
