"""Findings in the exchange formats other tools read: OCSF Compliance Findings (through
``py-ocsf-models``) and AWS Security Finding Format (ASFF), as Security Hub's ``BatchImportFindings``
takes them. Pure: findings, rules and a clock in, plain data out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vigil import __version__
from vigil.rules.frameworks import Framework
from vigil.rules.spec import Rule

# AWS Config type → ASFF resource type (Security Hub's names; "Other" for the rest)
ASFF_RESOURCE_TYPES = {
    "AWS::::Account": "AwsAccount",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::Group": "AwsIamGroup",
    "AWS::IAM::Policy": "AwsIamPolicy",
    "AWS::EC2::Instance": "AwsEc2Instance",
    "AWS::EC2::Volume": "AwsEc2Volume",
    "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup",
    "AWS::EC2::NetworkInterface": "AwsEc2NetworkInterface",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::EC2::Subnet": "AwsEc2Subnet",
    "AWS::EC2::NetworkAcl": "AwsEc2NetworkAcl",
    "AWS::EC2::RouteTable": "AwsEc2RouteTable",
    "AWS::EC2::EIP": "AwsEc2Eip",
    "AWS::EC2::VPCPeeringConnection": "AwsEc2VpcPeeringConnection",
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::Logs::LogGroup": "AwsLogsLogGroup",
    "AWS::CloudWatch::Alarm": "AwsCloudWatchAlarm",
    "AWS::SNS::Topic": "AwsSnsTopic",
    "AWS::SQS::Queue": "AwsSqsQueue",
    "AWS::RDS::DBInstance": "AwsRdsDbInstance",
    "AWS::RDS::DBSnapshot": "AwsRdsDbSnapshot",
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "AwsElbv2LoadBalancer",
    "AWS::EFS::FileSystem": "AwsEfsAccessPoint",
    "AWS::GuardDuty::Detector": "AwsGuardDutyDetector",
    "AWS::SecretsManager::Secret": "AwsSecretsManagerSecret",
    "AWS::ECR::Repository": "AwsEcrRepository",
}
ASFF_WORKFLOW = {"open": "NEW", "suppressed": "SUPPRESSED", "resolved": "RESOLVED"}
OCSF_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
OCSF_STATUS = {"open": 1, "suppressed": 3, "resolved": 4}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _requirements(rule: Rule | None, framework: Framework) -> list[str]:
    if rule is None:
        return []
    return [c.split(":", 1)[1] for c in rule.controls if c.split(":", 1)[0] == framework.name]


def _resource_id(finding: Any) -> str:
    arn = getattr(finding, "arn", None)
    return str(arn or finding.resource_id)


def asff(
    findings: Sequence[Any], rules: Mapping[str, Rule], framework: Framework, *, now: datetime
) -> list[dict[str, Any]]:
    """Findings as Security Hub's ``BatchImportFindings`` takes them (one per finding)."""
    out = []
    standard = framework.title
    finding_type = (
        "Software and Configuration Checks/AWS Security Best Practices"
        if framework.name == "fsbp"
        else "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"
    )
    for finding in findings:
        rule = rules.get(finding.rule_id)
        region = finding.region if finding.region != "global" else "us-east-1"
        out.append(
            {
                "SchemaVersion": "2018-10-08",
                "Id": f"vigil/{finding.fingerprint}",
                "ProductArn": f"arn:aws:securityhub:{region}:{finding.account_id}:product/{finding.account_id}/default",
                "GeneratorId": f"vigil/{finding.rule_id}",
                "AwsAccountId": finding.account_id,
                "Types": [finding_type],
                "FirstObservedAt": _iso(finding.first_seen),
                "LastObservedAt": _iso(finding.last_seen),
                "CreatedAt": _iso(finding.first_seen),
                "UpdatedAt": _iso(now),
                "Severity": {"Label": finding.severity.upper()},
                "Title": (rule.title if rule else finding.rule_id)[:256],
                "Description": finding.annotation[:1024]
                or (rule.rationale[:1024] if rule else finding.rule_id),
                "Remediation": {
                    "Recommendation": {"Text": (rule.remediation.text if rule else "")[:512] or "-"}
                },
                "ProductFields": {
                    "vigil/RuleId": finding.rule_id,
                    "vigil/Annotation": finding.annotation[:256],
                    "vigil/Version": __version__,
                },
                "Resources": [
                    {
                        "Type": ASFF_RESOURCE_TYPES.get(finding.resource_type, "Other"),
                        "Id": _resource_id(finding),
                        "Partition": "aws",
                        "Region": region,
                    }
                ],
                "Compliance": {
                    "Status": "FAILED",
                    "RelatedRequirements": [f"{standard}/{r}" for r in _requirements(rule, framework)][:32],
                },
                "Workflow": {"Status": ASFF_WORKFLOW.get(finding.status, "NEW")},
                "RecordState": "ARCHIVED" if finding.status == "resolved" else "ACTIVE",
            }
        )
    return out


def ocsf(
    findings: Sequence[Any], rules: Mapping[str, Rule], framework: Framework, *, now: datetime
) -> list[dict[str, Any]]:
    """Findings as OCSF Compliance Findings (class 2003), validated by ``py-ocsf-models``."""
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
    from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
    from py_ocsf_models.objects.compliance import Compliance
    from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
    from py_ocsf_models.objects.finding_info import FindingInformation
    from py_ocsf_models.objects.metadata import Metadata
    from py_ocsf_models.objects.product import Product
    from py_ocsf_models.objects.remediation import Remediation
    from py_ocsf_models.objects.resource_details import ResourceDetails

    product = Product(name="Vigil", vendor_name="Vigil", version=__version__)
    out = []
    for finding in findings:
        rule = rules.get(finding.rule_id)
        created = int(finding.first_seen.timestamp() * 1000)
        event = ComplianceFinding(
            activity_id=1 if finding.status == "open" else 2,
            activity_name="Create" if finding.status == "open" else "Update",
            type_uid=ComplianceFindingTypeID.Create
            if finding.status == "open"
            else ComplianceFindingTypeID.Update,
            type_name="Compliance Finding: Create"
            if finding.status == "open"
            else "Compliance Finding: Update",
            metadata=Metadata(product=product, event_code=finding.rule_id, uid=finding.fingerprint),
            severity_id=OCSF_SEVERITY.get(finding.severity, 0),
            severity=finding.severity.capitalize(),
            status_id=OCSF_STATUS.get(finding.status, 0),
            status=finding.status.capitalize(),
            status_code="FAIL",
            status_detail=finding.annotation,
            time=int(now.timestamp() * 1000),
            time_dt=now,
            finding_info=FindingInformation(
                uid=finding.fingerprint,
                title=rule.title if rule else finding.rule_id,
                desc=rule.rationale if rule else None,
                created_time=created,
                first_seen_time=created,
                last_seen_time=int(finding.last_seen.timestamp() * 1000),
                types=[framework.title],
            ),
            compliance=Compliance(
                standards=[framework.title],
                requirements=_requirements(rule, framework),
                control=finding.rule_id,
                status_id=ComplianceStatusID.Fail,
            ),
            remediation=Remediation(desc=rule.remediation.text if rule else "-"),
            resources=[
                ResourceDetails(
                    uid=_resource_id(finding),
                    name=finding.resource_name,
                    type=finding.resource_type,
                    region=finding.region,
                    cloud_partition="aws",
                    data={"account_id": finding.account_id},
                )
            ],
            unmapped={"vigil": {"rule_id": finding.rule_id, "annotation": finding.annotation}},
        )
        out.append(event.model_dump(mode="json", exclude_none=True))
    return out
