"""Framework reports: one document per run, as JSON, CSV or a self-contained HTML page.

``build`` is pure: it takes the framework's per-requirement results, the rules and the open findings
and returns the report as plain data; the renderers turn that into bytes. The HTML page carries its
own CSS and an inline SVG chart, so it opens offline and can be archived or mailed as one file.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from vigil.rules.frameworks import STATUSES, ControlResult, Framework, score
from vigil.rules.spec import Rule

SEVERITIES = ("critical", "high", "medium", "low", "informational")
REPORT_FORMATS = ("json", "csv", "html")


def build(
    framework: Framework,
    results: Sequence[ControlResult],
    rules: Iterable[Rule],
    open_findings: Sequence[Any],
    *,
    generated_at: datetime,
    accounts: Sequence[str] = (),
    evidence: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    by_id = {r.id: r for r in rules}
    sections: dict[str, Counter[str]] = {}
    for result in results:
        sections.setdefault(result.requirement.section, Counter())[result.status] += 1
    severity_counts = Counter(f.severity for f in open_findings)
    return {
        "framework": framework.name,
        "title": framework.title,
        "version": framework.version,
        "generatedAt": generated_at.isoformat(timespec="seconds"),
        "accounts": list(accounts),
        "score": score(results),
        "summary": {status: sum(1 for r in results if r.status == status) for status in STATUSES},
        "openFindingsBySeverity": {s: severity_counts.get(s, 0) for s in SEVERITIES},
        "sections": [
            {
                "section": name,
                "score": _section_score(counts),
                **{status: counts.get(status, 0) for status in STATUSES},
            }
            for name, counts in sections.items()
        ],
        "requirements": [_requirement(r, by_id, (evidence or {}).get(r.requirement.id)) for r in results],
    }


def _section_score(counts: Mapping[str, int]) -> float | None:
    decided = counts.get("PASS", 0) + counts.get("FAIL", 0)
    return round(100 * counts.get("PASS", 0) / decided, 1) if decided else None


def _requirement(
    result: ControlResult, rules: Mapping[str, Rule], evidence: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    req = result.requirement
    return {
        "evidence": evidence,
        "id": req.id,
        "title": req.title,
        "section": req.section,
        "assessment": req.assessment,
        "profile": req.profile,
        "status": result.status,
        "rules": result.rules,
        "evaluations": result.counts,
        "failing": [
            {
                "rule_id": row["rule_id"],
                "resource_type": row["resource_type"],
                "resource_id": row["resource_id"],
                "resource_name": row.get("resource_name"),
                "region": row["region"],
                "account_id": row["account_id"],
                "annotation": row["annotation"],
                "severity": rules[row["rule_id"]].severity if row["rule_id"] in rules else None,
                "remediation": rules[row["rule_id"]].remediation.text if row["rule_id"] in rules else None,
            }
            for row in result.failing
        ],
        "undecided": [
            {
                "rule_id": row["rule_id"],
                "resource_id": row["resource_id"],
                "region": row["region"],
                "reason": row["annotation"],
            }
            for row in result.undecided
        ],
    }


def to_json(report: Mapping[str, Any]) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"


def to_csv(report: Mapping[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "section", "title", "assessment", "status", "rules", "failing_resources"])
    for req in report["requirements"]:
        writer.writerow(
            [
                req["id"],
                req["section"],
                req["title"],
                req["assessment"],
                req["status"],
                " ".join(req["rules"]),
                " ".join(f"{f['region']}/{f['resource_id']}" for f in req["failing"]),
            ]
        )
    return buffer.getvalue().encode()


def to_html(report: Mapping[str, Any]) -> bytes:
    env = Environment(
        loader=PackageLoader("vigil.report", "templates"), autoescape=select_autoescape(["html"])
    )
    template = env.get_template("report.html")
    peak = max([1, *report["openFindingsBySeverity"].values()])
    bars = [
        {"severity": s, "count": n, "width": round(300 * n / peak)}
        for s, n in report["openFindingsBySeverity"].items()
    ]
    return template.render(report=report, bars=bars).encode()


RENDERERS = {"json": to_json, "csv": to_csv, "html": to_html}
