"""Evidence for the requirements no rule decides (MANUAL): what Vigil recorded that an auditor
checking the requirement by hand would look at, and why Vigil does not decide it itself.

``EVIDENCE`` maps a framework and a requirement id (or an id prefix ending in ``.``) to a note and
the resource types to list; ``SUMMARIES`` says, per type, the one line that matters about each
resource. Pure: the caller passes the current CIs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Evidence:
    note: str
    types: tuple[str, ...] = ()


EVIDENCE: dict[str, dict[str, Evidence]] = {
    "cis-aws-7.0": {
        "2.1.": Evidence(
            "AWS Organizations is not recorded yet (organisation scans come with multi-account support)."
        ),
        "2.2": Evidence(
            "The account's primary contact is not readable through the API Vigil uses; the alternate "
            "contacts recorded on the account item are listed.",
            ("AWS::::Account",),
        ),
        "2.17": Evidence("IAM server certificates are not recorded."),
        "2.19": Evidence(
            "Whether users come from a central identity provider is an organisational fact; the IAM "
            "users recorded in this account are listed.",
            ("AWS::IAM::User",),
        ),
        "3.1.3": Evidence("Data discovery and classification (Amazon Macie) is not recorded."),
        "6.8": Evidence(
            "VPC endpoints are not recorded yet; the VPCs recorded are listed.", ("AWS::EC2::VPC",)
        ),
    },
    "cis-aws-5.0": {},
}


def _log_group(ci: Mapping[str, Any]) -> str:
    filters = (ci.get("supplementaryConfiguration") or {}).get("MetricFilters") or []
    if not filters:
        return "no metric filters"
    return "; ".join(
        f"{f.get('filterName')}: {f.get('filterPattern')} → "
        + ", ".join(
            f"{m.get('metricNamespace')}/{m.get('metricName')}" for m in f.get("metricTransformations") or []
        )
        for f in filters
    )


def _alarm(ci: Mapping[str, Any]) -> str:
    config = ci.get("configuration") or {}
    actions = ", ".join(config.get("alarmActions") or []) or "no actions"
    return f"{config.get('namespace')}/{config.get('metricName')} {config.get('comparisonOperator', '')} {config.get('threshold', '')} → {actions}"


def _account(ci: Mapping[str, Any]) -> str:
    contacts = (ci.get("configuration") or {}).get("alternateContacts") or {}
    return (
        ", ".join(f"{kind}: {'set' if value else 'not set'}" for kind, value in contacts.items())
        or "no contacts recorded"
    )


SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "AWS::Logs::LogGroup": _log_group,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::::Account": _account,
}


def evidence_for(framework: str, requirement: str) -> Evidence | None:
    table = EVIDENCE.get(framework, {})
    if requirement in table:
        return table[requirement]
    for key, evidence in table.items():
        if key.endswith(".") and requirement.startswith(key):
            return evidence
    return None


def gather(framework: str, requirement: str, current: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The note and the listed resources for one MANUAL requirement, or None when there is none."""
    evidence = evidence_for(framework, requirement)
    if evidence is None:
        return None
    resources = [
        {
            "resource_type": ci["resourceType"],
            "resource_id": ci["resourceId"],
            "resource_name": ci.get("resourceName"),
            "region": ci.get("awsRegion"),
            "summary": SUMMARIES[ci["resourceType"]](ci) if ci["resourceType"] in SUMMARIES else "",
        }
        for ci in current
        if ci["resourceType"] in evidence.types
    ]
    return {"note": evidence.note, "resources": resources}
