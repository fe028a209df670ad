"""Rule × CI → Evaluation (pure: the store, AWS and the clock come in as arguments).

The order of decisions, as AWS Config's evaluations make them (spec §5.3):
  1. a deleted resource is NOT_APPLICABLE (its finding resolves);
  2. a resource outside the rule's scope (tag key/value, resource ids) is NOT_APPLICABLE;
  3. a resource whose (account, region, type) could not be read at the last collection is
     INSUFFICIENT_DATA with that reason, never COMPLIANT;
  4. ``applies_when`` false → NOT_APPLICABLE with the reason;
  5. the condition (or Python check) → COMPLIANT, or NON_COMPLIANT with an annotation naming the
     offending value (at most 256 characters, as ``PutEvaluations`` takes).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from vigil.rules.conditions import Env
from vigil.rules.spec import (
    ANNOTATION_LIMIT,
    COMPLIANT,
    INSUFFICIENT_DATA,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Evaluation,
    Outcome,
    Rule,
)

log = logging.getLogger("vigil.rules")

DELETED_STATUSES = ("ResourceDeleted", "ResourceDeletedNotRecorded")
# (account, region, type) → why it could not be read
Unreadable = Mapping[tuple[str, str, str], str]


def annotate(text: str) -> str:
    return text if len(text) <= ANNOTATION_LIMIT else text[: ANNOTATION_LIMIT - 1] + "…"


def _unavailable_fact(rule: Rule, ci: Mapping[str, Any]) -> str | None:
    """A fact the rule's conditions read that the recorder could not (``supplementaryConfiguration.
    Unavailable[<Fact>]``, e.g. Access Analyzer where the endpoint lacks it): INSUFFICIENT_DATA."""
    unavailable = (ci.get("supplementaryConfiguration") or {}).get("Unavailable") or {}
    for fact, why in unavailable.items():
        key = "configuration." + fact[:1].lower() + fact[1:]
        if any(read == key or read.startswith((key + ".", key + "[")) for read in rule.reads):
            detail = f"{why.get('code')}: {why.get('message')}" if isinstance(why, Mapping) else str(why)
            return f"{key} could not be read ({detail})"
    return None


def _out_of_scope(rule: Rule, ci: Mapping[str, Any]) -> str | None:
    scope = rule.scope
    if scope.resource_ids and ci["resourceId"] not in scope.resource_ids:
        return "the resource is not one of the rule's resource ids"
    if scope.tag_key is not None:
        tags = ci.get("tags") or {}
        if scope.tag_key not in tags:
            return f"the resource has no tag {scope.tag_key}"
        if scope.tag_value is not None and tags.get(scope.tag_key) != scope.tag_value:
            return f"tag {scope.tag_key} is not {scope.tag_value}"
    return None


def evaluate(
    rule: Rule,
    ci: Mapping[str, Any],
    *,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    unreadable: Unreadable | None = None,
    related: Callable[[Mapping[str, Any], str], list[Mapping[str, Any]]] | None = None,
    lookup: Callable[[str, str | None], list[Mapping[str, Any]]] | None = None,
) -> Evaluation:
    """One rule on one CI (API form, as a dict); see the module docstring for the order."""
    (evaluation,) = _evaluate_ci(
        [rule],
        ci,
        now=now,
        params={rule.id: {**rule.defaults(), **(params or {})}},
        unreadable=unreadable or {},
        related=related or (lambda _ci, _name: []),
        lookup=lookup or (lambda _type, _region: []),
    )
    return evaluation


def _evaluate_ci(
    rules: Sequence[Rule],
    ci: Mapping[str, Any],
    *,
    now: datetime,
    params: Mapping[str, Mapping[str, Any]],
    unreadable: Unreadable,
    related: Callable[[Mapping[str, Any], str], list[Mapping[str, Any]]],
    lookup: Callable[[str, str | None], list[Mapping[str, Any]]],
) -> list[Evaluation]:
    """Every given rule on one CI: what all of them share is worked out once (the hot path)."""
    account = ci.get("accountId", "")
    region = ci.get("awsRegion", "")
    rtype = ci["resourceType"]
    rid = ci["resourceId"]
    name = ci.get("resourceName")

    def verdict(rule: Rule, compliance: str, annotation: str) -> Evaluation:
        return Evaluation(rule.id, rtype, rid, account, region, compliance, annotate(annotation), name)

    if ci.get("configurationItemStatus") in DELETED_STATUSES:
        return [verdict(rule, NOT_APPLICABLE, "the resource was deleted") for rule in rules]
    reason = unreadable.get((account, region, rtype)) if unreadable else None
    has_unavailable = bool((ci.get("supplementaryConfiguration") or {}).get("Unavailable"))
    # one environment per CI, its parameters swapped per rule (conditions never keep it)
    env = Env(ci, ci, {}, now, related, lookup, _unreadable_in(unreadable, account))
    out: list[Evaluation] = []
    for rule in rules:
        outside = _out_of_scope(rule, ci) if (rule.scope.tag_key or rule.scope.resource_ids) else None
        if outside:
            out.append(verdict(rule, NOT_APPLICABLE, outside))
            continue
        if reason:
            out.append(verdict(rule, INSUFFICIENT_DATA, f"the last collection failed: {reason}"))
            continue
        missing = _unavailable_fact(rule, ci) if has_unavailable else None
        if missing:
            out.append(verdict(rule, INSUFFICIENT_DATA, missing))
            continue
        env.params = params.get(rule.id) or {}
        try:
            if rule.applies is not None:
                gate = rule.applies(env)
                if not gate.ok:
                    out.append(verdict(rule, NOT_APPLICABLE, gate.reason or "the rule does not apply"))
                    continue
            outcome = rule.evaluate(env)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # a shape the rule did not expect: say so rather than guess a verdict
            log.warning("rule %s on %s %s: %s", rule.id, rtype, rid, exc)
            out.append(verdict(rule, INSUFFICIENT_DATA, f"could not evaluate: {type(exc).__name__}: {exc}"))
            continue
        out.append(verdict(rule, *_compliance(outcome)))
    return out


def _unreadable_in(unreadable: Unreadable, account: str) -> Callable[[str, str | None], str | None]:
    """For checks that read other resources: why (type, region) of this account is unknown."""

    def why(resource_type: str, region: str | None) -> str | None:
        for (acct, where, rtype), reason in unreadable.items():
            if acct == account and rtype == resource_type and (region is None or where == region):
                return f"{rtype} in {where} could not be read: {reason}"
        return None

    return why


def _compliance(outcome: Outcome) -> tuple[str, str]:
    if outcome.insufficient:
        return INSUFFICIENT_DATA, outcome.reason
    if not outcome.applicable:
        return NOT_APPLICABLE, outcome.reason
    return (COMPLIANT, "") if outcome.ok else (NON_COMPLIANT, outcome.reason)


# ---------------------------------------------------------------------------------------------
# many rules, many CIs


@dataclass
class Inventory:
    """Current CIs in memory, indexed for ``lookup`` (type, region) and ``related`` (type, id)."""

    cis: Sequence[Mapping[str, Any]]
    by_type: dict[tuple[str, str], list[Mapping[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_key: dict[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ci in self.cis:
            if ci.get("configurationItemStatus") in DELETED_STATUSES:
                continue
            account = ci.get("accountId", "")
            self.by_type[(account, ci["resourceType"])].append(ci)
            self.by_key[(account, ci["resourceType"], ci["resourceId"])] = ci

    def lookup(self, resource_type: str, region: str | None, account: str = "") -> list[Mapping[str, Any]]:
        """Current CIs of a type in one account (rules never look across accounts)."""
        items = self.by_type.get((account, resource_type), [])
        return items if region is None else [c for c in items if c.get("awsRegion") == region]

    def related(self, ci: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
        account = ci.get("accountId", "")
        out = []
        for edge in ci.get("relationships") or []:
            if edge.get("relationshipName", edge.get("name")) != name:
                continue
            other = self.by_key.get((account, edge.get("resourceType"), edge.get("resourceId")))
            if other is not None:
                out.append(other)
        return out


class Reader(Protocol):
    """Where rules find other resources: ``Inventory`` (all in memory) or the store on demand."""

    @property
    def cis(self) -> Sequence[Mapping[str, Any]]: ...

    def lookup(self, resource_type: str, region: str | None, account: str = "") -> list[Any]: ...

    def related(self, ci: Mapping[str, Any], name: str) -> list[Any]: ...


def rules_by_type(rules: Iterable[Rule]) -> dict[str, list[Rule]]:
    index: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        for resource_type in rule.resource_types:
            index[resource_type].append(rule)
    return dict(index)


def evaluate_all(
    rules: Sequence[Rule],
    inventory: Reader,
    *,
    now: datetime,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    unreadable: Unreadable | None = None,
    only: Iterable[Mapping[str, Any]] | None = None,
) -> list[Evaluation]:
    """Every rule on every CI of its types (or only on ``only``: the incremental entry point)."""
    index = rules_by_type(rules)
    targets = inventory.cis if only is None else list(only)
    merged = {rule.id: {**rule.defaults(), **((params or {}).get(rule.id) or {})} for rule in rules}
    out: list[Evaluation] = []
    for ci in targets:
        matching = index.get(ci["resourceType"])
        if not matching:
            continue
        out += _evaluate_ci(
            matching,
            ci,
            now=now,
            params=merged,
            unreadable=unreadable or {},
            related=inventory.related,
            lookup=partial(inventory.lookup, account=ci.get("accountId", "")),
        )
    return out
