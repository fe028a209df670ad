"""Findings in OCSF and ASFF: shapes checked by the models of the formats' owners (py-ocsf-models;
botocore's own model of Security Hub's BatchImportFindings)."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
from botocore.validate import ParamValidator

from vigil.report import exchange
from vigil.rules import load
from vigil.rules.frameworks import load_framework
from vigil.store.findings import Finding

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
RULES = {r.id: r for r in load.load().rules}


def finding(
    rule_id: str, resource_type: str, resource_id: str, severity: str, status: str = "open"
) -> Finding:
    return Finding(
        fingerprint=f"fp-{rule_id}",
        rule_id=rule_id,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_name="bastion",
        account_id="123456789012",
        region="us-east-1",
        severity=severity,
        status=status,
        annotation="ingress tcp 22 from 0.0.0.0/0 opens port 22",
        controls=RULES[rule_id].controls,
        first_seen=datetime(2026, 11, 27, 10, tzinfo=UTC),
        last_seen=datetime(2026, 11, 28, 3, tzinfo=UTC),
        resolved_at=None,
    )


FINDINGS = [
    finding("security-group-admin-ports-ipv4-restricted", "AWS::EC2::SecurityGroup", "sg-0abc", "high"),
    finding("root-account-mfa-enabled", "AWS::::Account", "123456789012", "critical", "suppressed"),
]


def test_asff_is_what_batch_import_findings_accepts() -> None:
    records = exchange.asff(FINDINGS, RULES, load_framework("cis-aws-7.0"), now=NOW)
    shape = (
        botocore.session.get_session()
        .get_service_model("securityhub")
        .operation_model("BatchImportFindings")
        .input_shape
    )
    report = ParamValidator().validate({"Findings": records}, shape)
    assert not report.has_errors(), report.generate_report()
    first, second = records
    assert first["Resources"] == [
        {"Type": "AwsEc2SecurityGroup", "Id": "sg-0abc", "Partition": "aws", "Region": "us-east-1"}
    ]
    assert first["Compliance"] == {
        "Status": "FAILED",
        "RelatedRequirements": ["CIS Amazon Web Services Foundations Benchmark v7.0/6.3"],
    }
    assert (first["Severity"], first["Workflow"], first["RecordState"]) == (
        {"Label": "HIGH"},
        {"Status": "NEW"},
        "ACTIVE",
    )
    assert (second["Resources"][0]["Type"], second["Workflow"]["Status"]) == ("AwsAccount", "SUPPRESSED")
    assert (
        first["CreatedAt"] == "2026-11-27T10:00:00.000Z" and first["UpdatedAt"] == "2026-11-28T04:00:00.000Z"
    )


def test_ocsf_compliance_findings() -> None:
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

    records = exchange.ocsf(FINDINGS, RULES, load_framework("cis-aws-7.0"), now=NOW)
    for record in records:
        ComplianceFinding.model_validate(record)  # round-trips through the owner's model
    first = records[0]
    assert (first["class_uid"], first["category_uid"], first["type_uid"]) == (2003, 2, 200301)
    assert (first["severity_id"], first["status_id"], first["compliance"]["status_id"]) == (4, 1, 3)
    assert first["compliance"]["requirements"] == ["6.3"]
    assert first["resources"][0]["uid"] == "sg-0abc" and first["time"] == int(NOW.timestamp() * 1000)
    assert records[1]["status_id"] == 3  # suppressed
