"""Compliance frameworks: their requirements, and one status per requirement from the rules' verdicts.

``FRAMEWORKS`` names the built-in ones; each is a JSON file here with the requirements' ids, titles,
sections and the benchmark's own assessment status (automated or manual). A rule supports a
requirement by naming it in ``controls`` (``cis-aws-7.0:3.2.1``). A requirement's status (pure
function of the rules and the latest evaluations):

  * FAIL              some evaluation of its rules is NON_COMPLIANT;
  * INSUFFICIENT_DATA none fails, and some could not be decided;
  * PASS              none fails or is undecided, and at least one is COMPLIANT;
  * NOT_APPLICABLE    its rules evaluated nothing that applies (no such resources);
  * MANUAL            no rule decides it (the report says so, with the benchmark's own guidance).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from vigil.errors import UsageError
from vigil.model import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT
from vigil.rules.spec import Rule

FRAMEWORKS = {
    "cis-aws-7.0": "cis-aws-7.0.json",
    "cis-aws-5.0": "cis-aws-5.0.json",
    "fsbp": "fsbp.json",
}
PASS, FAIL, MANUAL, NOT_APPLICABLE = "PASS", "FAIL", "MANUAL", "NOT_APPLICABLE"
STATUSES = (PASS, FAIL, MANUAL, NOT_APPLICABLE, INSUFFICIENT_DATA)


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    section: str
    assessment: str
    profile: str | None = None


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    version: str
    requirements: tuple[Requirement, ...]


def load_framework(name: str) -> Framework:
    if name not in FRAMEWORKS:
        raise UsageError(f"unknown framework {name!r}", hint=f"one of: {', '.join(FRAMEWORKS)}")
    text = (resources.files("vigil.rules") / "frameworks" / FRAMEWORKS[name]).read_text(encoding="utf-8")
    data = json.loads(text)
    return Framework(
        name,
        data["title"],
        data["version"],
        tuple(
            Requirement(r["id"], r["title"], r["section"], r["assessment"], r.get("profile"))
            for r in data["requirements"]
        ),
    )


@dataclass
class ControlResult:
    requirement: Requirement
    status: str
    rules: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    failing: list[Mapping[str, Any]] = field(default_factory=list)  # NON_COMPLIANT evaluation rows
    undecided: list[Mapping[str, Any]] = field(default_factory=list)  # INSUFFICIENT_DATA rows


def control_results(
    framework: Framework, rules: Iterable[Rule], evaluations: Sequence[Mapping[str, Any]]
) -> list[ControlResult]:
    """One result per requirement, in the framework's order (see the module docstring)."""
    by_control: dict[str, list[str]] = {}
    for rule in rules:
        for control in rule.controls:
            name, _, ident = control.partition(":")
            if name == framework.name:
                by_control.setdefault(ident, []).append(rule.id)
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for row in evaluations:
        by_rule.setdefault(row["rule_id"], []).append(row)
    out = []
    for requirement in framework.requirements:
        rule_ids = sorted(by_control.get(requirement.id, []))
        rows = [row for rule_id in rule_ids for row in by_rule.get(rule_id, [])]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["compliance"]] = counts.get(row["compliance"], 0) + 1
        failing = [r for r in rows if r["compliance"] == NON_COMPLIANT]
        undecided = [r for r in rows if r["compliance"] == INSUFFICIENT_DATA]
        if not rule_ids:
            status = MANUAL
        elif failing:
            status = FAIL
        elif undecided:
            status = INSUFFICIENT_DATA
        elif counts.get(COMPLIANT):
            status = PASS
        else:
            status = NOT_APPLICABLE
        out.append(ControlResult(requirement, status, rule_ids, counts, failing, undecided))
    return out


def score(results: Iterable[ControlResult]) -> float | None:
    """Passed / (passed + failed) requirements, as a percentage; None when nothing was decided."""
    items = list(results)
    passed = sum(1 for r in items if r.status == PASS)
    failed = sum(1 for r in items if r.status == FAIL)
    return round(100 * passed / (passed + failed), 1) if passed + failed else None
