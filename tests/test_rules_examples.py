"""Every built-in rule carries examples, and every example gives the result it names.

The meta-test loops over the loaded rule set, so a rule added without a compliant and a
non-compliant example fails here."""

from __future__ import annotations

import pytest

from vigil.aws.resources import RESOURCE_TYPES
from vigil.rules import load, selftest
from vigil.rules.spec import COMPLIANT, NON_COMPLIANT, Rule

RULES = load.load(known_types=RESOURCE_TYPES).rules


def test_the_built_in_packs_load() -> None:
    assert len(RULES) >= 3
    assert len({r.id for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples(rule: Rule) -> None:
    expected = {e.expect for e in rule.examples}
    assert {COMPLIANT, NON_COMPLIANT} <= expected, (
        f"{rule.id} ({rule.source}) needs a compliant and a non-compliant example"
    )
    failures = [
        f"{r.example.where}: expected {r.example.expect}, got {r.evaluation.compliance} ({r.evaluation.annotation})"
        for r in (selftest.run_example(rule, e) for e in rule.examples)
        if not r.passed
    ]
    assert failures == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_metadata(rule: Rule) -> None:
    assert rule.title and rule.rationale, f"{rule.source}: say what the rule checks and why"
    assert rule.remediation.text, f"{rule.source}: say how to fix a non-compliant resource"
    assert all(":" in c for c in rule.controls)
    if rule.id.islower() and rule.aws_identifier:
        assert rule.aws_identifier.isupper()
