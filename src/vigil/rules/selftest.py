"""Running the examples rules carry (``vigil rules test`` and the meta-test).

An example's ``ci`` is merged over a minimal CI of the rule's first resource type, so examples
state only what matters to the rule; ``related`` CIs are what its relationships point at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from vigil.rules.evaluate import Inventory, evaluate
from vigil.rules.spec import Evaluation, Example, Rule

EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_REGION = "us-east-1"
# examples state ages against this moment, so they give the same result every day
EXAMPLE_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def minimal_ci(resource_type: str, **overrides: Any) -> dict[str, Any]:
    return {
        "version": "1.3",
        "accountId": EXAMPLE_ACCOUNT,
        "configurationItemCaptureTime": "2026-01-15T11:00:00.000Z",
        "configurationItemStatus": "OK",
        "configurationStateId": "1",
        "arn": None,
        "resourceType": resource_type,
        "resourceId": "example",
        "resourceName": None,
        "awsRegion": "global" if resource_type.startswith("AWS::IAM::") else EXAMPLE_REGION,
        "availabilityZone": "Not Applicable",
        "tags": {},
        "relatedEvents": [],
        "relationships": [],
        "configuration": {},
        "supplementaryConfiguration": {},
        **overrides,
    }


def _merge(base: Mapping[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, **fragment}


@dataclass(frozen=True)
class ExampleResult:
    rule: Rule
    example: Example
    evaluation: Evaluation

    @property
    def passed(self) -> bool:
        return self.evaluation.compliance == self.example.expect


def run_example(rule: Rule, example: Example) -> ExampleResult:
    resource_type = example.ci.get("resourceType", rule.resource_types[0])
    ci = _merge(minimal_ci(resource_type), example.ci)
    others = [_merge(minimal_ci(o.get("resourceType", resource_type)), o) for o in example.related]
    inventory = Inventory([ci, *others])
    evaluation = evaluate(
        rule,
        ci,
        now=EXAMPLE_NOW,
        params=example.params,
        related=inventory.related,
        lookup=partial(inventory.lookup, account=ci.get("accountId", "")),
    )
    return ExampleResult(rule, example, evaluation)


def run_examples(rules: Iterable[Rule]) -> list[ExampleResult]:
    return [run_example(rule, example) for rule in rules for example in rule.examples]
