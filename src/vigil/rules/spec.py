"""The rule model: what a rule says, as loaded and checked from YAML, and what evaluating it gives.

A rule has an id (the AWS Config managed rule's name where one exists, e.g. ``restricted-ssh``, with
its source identifier ``INCOMING_SSH_DISABLED`` as ``aws_identifier``), the resource types it
evaluates, a trigger (``change``, ``periodic`` or both, with AWS Config's frequencies), a severity,
typed parameters with defaults, an AWS Config-style scope, the condition for COMPLIANT (or a Python
check named from the ``CHECKS`` table), remediation, the compliance controls it supports, and inline
examples that the meta-test runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.model import (  # noqa: F401  (re-exported: the rule engine's vocabulary)
    COMPLIANCE_TYPES,
    COMPLIANT,
    INSUFFICIENT_DATA,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    Evaluation,
)

SEVERITIES = ("informational", "low", "medium", "high", "critical")
TRIGGERS = ("change", "periodic")
# AWS Config's MaximumExecutionFrequency values, by their short names
FREQUENCIES = {
    "1h": "One_Hour",
    "3h": "Three_Hours",
    "6h": "Six_Hours",
    "12h": "Twelve_Hours",
    "24h": "TwentyFour_Hours",
}
# An annotation is at most 256 characters in AWS Config's PutEvaluations (spec §5.3).
ANNOTATION_LIMIT = 256


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # a key of PARAMETER_TYPES in conditions.py
    default: Any = None
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Scope:
    """As an AWS Config rule's scope: resource types, a tag key (and value), or resource ids."""

    tag_key: str | None = None
    tag_value: str | None = None
    resource_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Remediation:
    text: str
    action: str | None = None


@dataclass(frozen=True)
class Example:
    """A CI fragment (merged over a minimal CI of the rule's type) and the result it must give."""

    expect: str
    ci: Mapping[str, Any]
    note: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    related: tuple[Mapping[str, Any], ...] = ()  # other CIs the example's relationships point at
    where: str = ""


@dataclass(frozen=True)
class Outcome:
    """A condition's verdict on one document: True holds, False fails (``reason`` says why).

    A Python check may also say the rule does not apply (``applicable=False``: NOT_APPLICABLE) or
    that it cannot tell (``insufficient=True``: INSUFFICIENT_DATA, e.g. a resource type it needs
    could not be read)."""

    ok: bool
    reason: str = ""
    applicable: bool = True
    insufficient: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    resource_types: tuple[str, ...]
    severity: str
    triggers: tuple[str, ...]
    frequency: str | None
    evaluate: Callable[[Any], Outcome]  # compiled condition or check: env → Outcome
    applies: Callable[[Any], Outcome] | None = None  # compiled ``applies_when``: False → NOT_APPLICABLE
    rationale: str = ""
    aws_identifier: str | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    scope: Scope = Scope()
    remediation: Remediation = Remediation("")
    controls: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    check: str | None = None
    pack: str = ""
    source: str = ""  # file:line of the rule
    reads: tuple[str, ...] = ()  # CI keys its conditions read (see Compiler.reads)

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}
