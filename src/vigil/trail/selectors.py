"""CloudTrail event selectors: which records a trail logs (aws-semantics.md §6.4).

What for: a check that asks "does this trail log S3 object writes in bucket X" or "are KMS
management events excluded" needs the selector semantics, not just the selector JSON. Parsing
validates the shapes AWS accepts (``GetEventSelectors`` output, PascalCase; the camelCase form
CloudTrail writes into ``PutEventSelectors`` records is accepted too), and ``selects`` decides one
record. A trail without selectors logs all management events, read and write (CloudTrail's default).

Semantics of advanced selectors (§6.4): selectors OR; field selectors within a selector AND; within
one field selector every operator present must hold, a positive operator holds when the value
matches any of its values, a negative one when it matches none. ``resources.*`` conditions of a
selector must all hold for one resource of the record (any resource may be that one). A field the
record lacks fails positive operators and satisfies negative ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]


class SelectorError(ValueError):
    """A selector AWS would refuse: says which selector, which field, and what to do."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{where}: {problem}; {fix}")
        self.where = where


# --- tables -------------------------------------------------------------------------------------

READ_WRITE_TYPES = ("ReadOnly", "WriteOnly", "All")
# Basic DataResources.Type -> the ARN service its values must name ([DOC] §6.4).
DATA_RESOURCE_SERVICES: dict[str, str] = {
    "AWS::S3::Object": "s3",
    "AWS::Lambda::Function": "lambda",
    "AWS::DynamoDB::Table": "dynamodb",
}
EXCLUDABLE_SOURCES = frozenset({"kms.amazonaws.com", "rdsdata.amazonaws.com"})
MAX_BASIC_SELECTORS = 5
MAX_DATA_RESOURCE_VALUES = 250
MAX_ADVANCED_VALUES = 500

# Trail advanced selectors: the fields each event category accepts (event data stores accept more).
CATEGORY_FIELDS: dict[str, frozenset[str]] = {
    "Management": frozenset({"eventCategory", "eventSource", "readOnly"}),
    "Data": frozenset(
        {
            "eventCategory",
            "resources.type",
            "resources.ARN",
            "eventName",
            "eventSource",
            "eventType",
            "readOnly",
            "sessionCredentialFromConsole",
            "userIdentity.arn",
        }
    ),
    "NetworkActivity": frozenset({"eventCategory", "eventSource", "eventName", "errorCode", "vpcEndpointId"}),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "Management": ("eventCategory",),
    "Data": ("eventCategory", "resources.type"),
    "NetworkActivity": ("eventCategory", "eventSource"),
}
EQUALS_ONLY = frozenset({"readOnly", "eventCategory", "resources.type"})
FIXED_VALUES: dict[str, frozenset[str]] = {
    "readOnly": frozenset({"true", "false"}),
    "eventCategory": frozenset(CATEGORY_FIELDS),
}


def _equals(value: str, operand: str) -> bool:
    return value == operand


def _starts(value: str, operand: str) -> bool:
    return value.startswith(operand)


def _ends(value: str, operand: str) -> bool:
    return value.endswith(operand)


# AWS operator name -> (dataclass attribute, string test, negated).
OPERATORS: dict[str, tuple[str, Callable[[str, str], bool], bool]] = {
    "Equals": ("equals", _equals, False),
    "StartsWith": ("starts_with", _starts, False),
    "EndsWith": ("ends_with", _ends, False),
    "NotEquals": ("not_equals", _equals, True),
    "NotStartsWith": ("not_starts_with", _starts, True),
    "NotEndsWith": ("not_ends_with", _ends, True),
}


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataResource:
    type: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class BasicSelector:
    read_write_type: str = "All"
    include_management_events: bool = True
    data_resources: tuple[DataResource, ...] = ()
    exclude_management_event_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSelector:
    field: str
    equals: tuple[str, ...] = ()
    starts_with: tuple[str, ...] = ()
    ends_with: tuple[str, ...] = ()
    not_equals: tuple[str, ...] = ()
    not_starts_with: tuple[str, ...] = ()
    not_ends_with: tuple[str, ...] = ()

    def operators(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """The operators present, as (AWS name, values), in AWS's order."""
        for name, (attr, _test, _negated) in OPERATORS.items():
            values: tuple[str, ...] = getattr(self, attr)
            if values:
                yield name, values


@dataclass(frozen=True)
class AdvancedSelector:
    category: str
    field_selectors: tuple[FieldSelector, ...]
    name: str | None = None


Selector = BasicSelector | AdvancedSelector


# --- parsing ------------------------------------------------------------------------------------


def _camel(key: str) -> str:
    return key[0].lower() + key[1:]


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """A key in AWS's API casing (``ReadWriteType``) or CloudTrail's record casing (``readWriteType``)."""
    return obj[key] if key in obj else obj.get(_camel(key))


def _mapping(value: Any, where: str, keys: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SelectorError(
            where, f"expected an object, got {type(value).__name__}", "write it as a JSON object"
        )
    allowed = set(keys) | {_camel(k) for k in keys}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise SelectorError(where, f"unknown key {unknown[0]!r}", f"use only {', '.join(keys)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SelectorError(where, f"expected a list, got {type(value).__name__}", "write it as a JSON array")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = _list(value, where)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise SelectorError(
                f"{where}[{i}]", f"expected a non-empty string, got {item!r}", "quote the value"
            )
        if "*" in item:
            raise SelectorError(
                f"{where}[{i}]",
                f"wildcard in {item!r}",
                "CloudTrail has no '*' wildcards; use a prefix or suffix",
            )
    return tuple(items)


def parse_event_selectors(data: Any) -> tuple[BasicSelector, ...]:
    """Basic ``EventSelectors`` (a list, as ``GetEventSelectors`` returns it)."""
    items = _list(data, "EventSelectors")
    if len(items) > MAX_BASIC_SELECTORS:
        raise SelectorError(
            "EventSelectors",
            f"{len(items)} selectors",
            f"a trail takes at most {MAX_BASIC_SELECTORS}; merge them",
        )
    selectors = tuple(_parse_basic(item, f"EventSelectors[{i}]") for i, item in enumerate(items))
    total = sum(len(r.values) for s in selectors for r in s.data_resources)
    if total > MAX_DATA_RESOURCE_VALUES:
        raise SelectorError(
            "EventSelectors",
            f"{total} data resource values",
            f"a trail takes at most {MAX_DATA_RESOURCE_VALUES}; use broader ARN prefixes or advanced selectors",
        )
    return selectors


def _parse_basic(item: Any, where: str) -> BasicSelector:
    keys = ("ReadWriteType", "IncludeManagementEvents", "DataResources", "ExcludeManagementEventSources")
    obj = _mapping(item, where, keys)
    rw = _get(obj, "ReadWriteType")
    rw = "All" if rw is None else rw
    if rw not in READ_WRITE_TYPES:
        raise SelectorError(
            f"{where}.ReadWriteType", f"unknown value {rw!r}", f"use one of {', '.join(READ_WRITE_TYPES)}"
        )
    include = _get(obj, "IncludeManagementEvents")
    include = True if include is None else include
    if not isinstance(include, bool):
        raise SelectorError(
            f"{where}.IncludeManagementEvents", f"expected true/false, got {include!r}", "use a JSON boolean"
        )
    excluded = _strings(_get(obj, "ExcludeManagementEventSources"), f"{where}.ExcludeManagementEventSources")
    for i, source in enumerate(excluded):
        if source not in EXCLUDABLE_SOURCES:
            raise SelectorError(
                f"{where}.ExcludeManagementEventSources[{i}]",
                f"{source!r} cannot be excluded",
                f"use one of {', '.join(sorted(EXCLUDABLE_SOURCES))}, or advanced selectors with eventSource NotEquals",
            )
    resources = _list(_get(obj, "DataResources"), f"{where}.DataResources")
    parsed = tuple(_parse_data_resource(r, f"{where}.DataResources[{i}]") for i, r in enumerate(resources))
    return BasicSelector(rw, include, parsed, excluded)


def _parse_data_resource(item: Any, where: str) -> DataResource:
    obj = _mapping(item, where, ("Type", "Values"))
    kind = _get(obj, "Type")
    if kind not in DATA_RESOURCE_SERVICES:
        raise SelectorError(
            f"{where}.Type",
            f"unsupported type {kind!r}",
            f"basic selectors take {', '.join(DATA_RESOURCE_SERVICES)}; use advanced selectors for others",
        )
    values = _strings(_get(obj, "Values"), f"{where}.Values")
    service = DATA_RESOURCE_SERVICES[kind]
    for i, value in enumerate(values):
        parts = value.split(":")
        if len(parts) < 3 or parts[0] != "arn" or parts[2] != service:
            raise SelectorError(
                f"{where}.Values[{i}]",
                f"{value!r} is not an {service} ARN prefix",
                f"write e.g. 'arn:aws:{service}' for all, or a longer ARN prefix",
            )
    return DataResource(kind, values)


def parse_advanced_event_selectors(data: Any) -> tuple[AdvancedSelector, ...]:
    """``AdvancedEventSelectors`` (a list, as ``GetEventSelectors`` returns it)."""
    items = _list(data, "AdvancedEventSelectors")
    selectors = tuple(_parse_advanced(item, f"AdvancedEventSelectors[{i}]") for i, item in enumerate(items))
    total = sum(len(v) for s in selectors for fs in s.field_selectors for _, v in fs.operators())
    if total > MAX_ADVANCED_VALUES:
        raise SelectorError(
            "AdvancedEventSelectors",
            f"{total} values across all conditions",
            f"a trail takes at most {MAX_ADVANCED_VALUES}; use StartsWith prefixes or fewer selectors",
        )
    return selectors


def _parse_advanced(item: Any, where: str) -> AdvancedSelector:
    obj = _mapping(item, where, ("Name", "FieldSelectors"))
    name = _get(obj, "Name")
    if name is not None and not isinstance(name, str):
        raise SelectorError(f"{where}.Name", f"expected a string, got {name!r}", "quote the name")
    raw = _list(_get(obj, "FieldSelectors"), f"{where}.FieldSelectors")
    if not raw:
        raise SelectorError(
            f"{where}.FieldSelectors", "empty", "add at least an eventCategory Equals condition"
        )
    fields = tuple(_parse_field(f, f"{where}.FieldSelectors[{i}]") for i, f in enumerate(raw))
    categories = [fs.equals for fs in fields if fs.field == "eventCategory"]
    if not categories:
        raise SelectorError(
            f"{where}.FieldSelectors",
            "eventCategory is required",
            "add {Field: eventCategory, Equals: [Management|Data]}",
        )
    if len(categories) > 1 or len(categories[0]) != 1:
        raise SelectorError(
            f"{where}.FieldSelectors",
            "eventCategory must name exactly one category",
            "split the selector per category",
        )
    category = categories[0][0]
    present = {fs.field for fs in fields}
    for i, fs in enumerate(fields):
        if fs.field not in CATEGORY_FIELDS[category]:
            raise SelectorError(
                f"{where}.FieldSelectors[{i}].Field",
                f"{fs.field!r} is not a field of {category} events",
                f"use one of {', '.join(sorted(CATEGORY_FIELDS[category]))}",
            )
    for required in REQUIRED_FIELDS[category]:
        if required not in present:
            raise SelectorError(
                f"{where}.FieldSelectors",
                f"{required} is required for {category} events",
                f"add a {required} condition",
            )
    return AdvancedSelector(category, fields, name)


def _parse_field(item: Any, where: str) -> FieldSelector:
    obj = _mapping(item, where, ("Field", *OPERATORS))
    field = _get(obj, "Field")
    if not isinstance(field, str) or not field:
        raise SelectorError(
            f"{where}.Field", f"expected a field name, got {field!r}", "name a field, e.g. eventCategory"
        )
    values: dict[str, tuple[str, ...]] = {}
    for op, (attr, _test, _negated) in OPERATORS.items():
        raw = _get(obj, op)
        if raw is None:
            continue
        values[attr] = _strings(raw, f"{where}.{op}")
        if not values[attr]:
            raise SelectorError(f"{where}.{op}", "empty list", f"give {op} at least one value or remove it")
        if field in EQUALS_ONLY and op != "Equals":
            raise SelectorError(
                f"{where}.{op}", f"{field} accepts only Equals", f"rewrite it as Equals on {field}"
            )
        allowed = FIXED_VALUES.get(field)
        if allowed is not None:
            for i, value in enumerate(values[attr]):
                if value not in allowed:
                    raise SelectorError(
                        f"{where}.{op}[{i}]",
                        f"{field} cannot be {value!r}",
                        f"use one of {', '.join(sorted(allowed))}",
                    )
    if not values:
        raise SelectorError(where, f"no operator on {field}", f"add one of {', '.join(OPERATORS)}")
    return FieldSelector(field, **values)


def parse_trail_selectors(data: Mapping[str, Any]) -> tuple[Selector, ...]:
    """A ``GetEventSelectors`` response: basic or advanced selectors, never both."""
    basic = _get(data, "EventSelectors")
    advanced = _get(data, "AdvancedEventSelectors")
    if basic and advanced:
        raise SelectorError(
            "trail",
            "has both EventSelectors and AdvancedEventSelectors",
            "keep one kind; advanced can express both",
        )
    if advanced:
        return parse_advanced_event_selectors(advanced)
    return parse_event_selectors(basic)


# --- matching -----------------------------------------------------------------------------------


def record_category(record: Record) -> str:
    """``eventCategory`` when the record has it (≥1.07), else ``managementEvent`` (≥1.06), else Management."""
    category = record.get("eventCategory")
    if isinstance(category, str):
        return category
    management = record.get("managementEvent")
    if isinstance(management, bool):
        return "Management" if management else "Data"
    return "Management"


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def _user_arn(record: Record) -> str | None:
    identity = record.get("userIdentity")
    return _text(identity.get("arn")) if isinstance(identity, Mapping) else None


def _console(record: Record) -> str:
    # CloudTrail writes the field only when it is "true".
    return _text(record.get("sessionCredentialFromConsole")) or "false"


RECORD_FIELDS: dict[str, Callable[[Record], str | None]] = {
    "eventCategory": record_category,
    "eventSource": lambda r: _text(r.get("eventSource")),
    "eventName": lambda r: _text(r.get("eventName")),
    "eventType": lambda r: _text(r.get("eventType")),
    "readOnly": lambda r: _text(r.get("readOnly")),
    "errorCode": lambda r: _text(r.get("errorCode")),
    "vpcEndpointId": lambda r: _text(r.get("vpcEndpointId")),
    "sessionCredentialFromConsole": _console,
    "userIdentity.arn": _user_arn,
}
RESOURCE_KEYS: dict[str, str] = {"resources.type": "type", "resources.ARN": "ARN"}


def _holds(fs: FieldSelector, value: str | None) -> bool:
    for op, operands in fs.operators():
        _attr, test, negated = OPERATORS[op]
        hit = value is not None and any(test(value, operand) for operand in operands)
        if hit == negated:
            return False
    return True


def _resources(record: Record) -> list[Mapping[str, Any]]:
    resources = record.get("resources")
    return [r for r in resources if isinstance(r, Mapping)] if isinstance(resources, list) else []


def _advanced_selects(selector: AdvancedSelector, record: Record) -> bool:
    if record_category(record) != selector.category:
        return False
    scalar = [fs for fs in selector.field_selectors if fs.field not in RESOURCE_KEYS]
    per_resource = [fs for fs in selector.field_selectors if fs.field in RESOURCE_KEYS]
    if not all(_holds(fs, RECORD_FIELDS[fs.field](record)) for fs in scalar):
        return False
    if not per_resource:
        return True
    return any(
        all(_holds(fs, _text(resource.get(RESOURCE_KEYS[fs.field]))) for fs in per_resource)
        for resource in _resources(record)
    )


def _read_write_ok(read_write_type: str, read_only: Any) -> bool:
    """A record without ``readOnly`` is only known to match ``All``."""
    if read_write_type == "All":
        return True
    return read_only is (read_write_type == "ReadOnly")


def _basic_selects(selector: BasicSelector, record: Record) -> bool:
    if not _read_write_ok(selector.read_write_type, record.get("readOnly")):
        return False
    category = record_category(record)
    if category == "Management":
        excluded = record.get("eventSource") in selector.exclude_management_event_sources
        return selector.include_management_events and not excluded
    if category != "Data":
        return False
    return any(
        resource.get("type") == data.type
        and isinstance(resource.get("ARN"), str)
        and any(resource["ARN"].startswith(prefix) for prefix in data.values)
        for data in selector.data_resources
        for resource in _resources(record)
    )


def selects(selectors: Sequence[Selector], record: Record) -> bool:
    """Whether a trail with these selectors logs ``record``; no selectors = all management events."""
    if not selectors:
        return record_category(record) == "Management"
    kinds = {type(s) for s in selectors}
    if len(kinds) > 1:
        raise SelectorError("trail", "mixes basic and advanced selectors", "keep one kind, as AWS requires")
    return any(
        _basic_selects(s, record) if isinstance(s, BasicSelector) else _advanced_selects(s, record)
        for s in selectors
    )
