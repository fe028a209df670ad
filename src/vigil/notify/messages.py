"""Message sources: what Vigil publishes, as JSON with attributes filter policies select on.

A finding message (``kind: finding``) is sent when a finding opens, reopens or resolves:

    {"kind": "finding", "event": "opened|reopened|resolved", "fingerprint": …, "severity": …,
     "ruleId": …, "resourceType": …, "resourceId": …, "resourceName": …, "account": …, "region": …,
     "annotation": …, "controls": [...], "firstSeen": …, "lastSeen": …}

with the message attributes ``kind``, ``event``, ``severity``, ``ruleId``, ``resourceType``,
``account``, ``region`` (String) and ``severityRank`` (Number: critical 4 … informational 0), so a
subscription can ask for ``{"severity": ["high", "critical"]}`` or ``{"severityRank": [{"numeric":
[">=", 3]}]}``. Alarm state changes publish CloudWatch's own message (``alarms/message.py``) with
the attributes ``kind: alarm``, ``AlarmName`` and ``NewStateValue``.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

SEVERITY_RANK: Final = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def finding_message(finding: Any, event: str) -> tuple[str, str, dict[str, object]]:
    """(subject, message JSON, plain attributes) for a finding that opened, reopened or resolved."""
    body = {
        "kind": "finding",
        "event": event,
        "fingerprint": finding.fingerprint,
        "severity": finding.severity,
        "ruleId": finding.rule_id,
        "resourceType": finding.resource_type,
        "resourceId": finding.resource_id,
        "resourceName": finding.resource_name,
        "account": finding.account_id,
        "region": finding.region,
        "annotation": finding.annotation,
        "controls": list(finding.controls),
        "firstSeen": finding.first_seen.isoformat(),
        "lastSeen": finding.last_seen.isoformat(),
    }
    name = finding.resource_name or finding.resource_id
    subject = f"{event.upper()}: [{finding.severity}] {finding.rule_id} on {name}"[:100]
    attributes: dict[str, object] = {
        "kind": "finding",
        "event": event,
        "severity": finding.severity,
        "severityRank": SEVERITY_RANK.get(finding.severity, 0),
        "ruleId": finding.rule_id,
        "resourceType": finding.resource_type,
        "account": finding.account_id,
        "region": finding.region,
    }
    return subject, orjson.dumps(body).decode(), attributes
