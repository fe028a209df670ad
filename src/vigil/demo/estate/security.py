"""Security services: GuardDuty, Secrets Manager, ECR, account-level security settings.

The mistakes a security engineer should find here:
  * GuardDuty is on in the first region only (the second has no detector);
  * a database password secret is never rotated; an image repository keeps scan on push off and its
    tags mutable;
  * the account has no S3 Block Public Access of its own, no Access Analyzer, and of the alternate
    contacts only SECURITY is set.
Done right, for contrast: an API key secret rotated every 30 days under a customer key with a resource
policy, a hardened repository (scan on push, immutable tags, KMS, a repository and a lifecycle
policy), Security Hub on in the first region.

moto accepts ``RotateSecret`` without a rotation function (as AWS does for managed rotation); with
one, it would invoke the Lambda function, which needs Docker, so rotation is configured by rules only.
moto has no ``BatchEnableStandards``, so Security Hub runs without standards here.
"""

from __future__ import annotations

import json

from vigil.demo.estate.model import ClientFactory, Estate, Net, RegionEstate, tag_list

LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged images after 14 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        }
    ]
}


def _same_account_policy(account_id: str, sid: str, actions: list[str], resource: str | None) -> str:
    statement: dict[str, object] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:role/app-instance-role"},
        "Action": actions,
    }
    if resource is not None:
        statement["Resource"] = resource
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def seed_secrets(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    sm, i = client("secretsmanager", net.region), net.i
    plain = sm.create_secret(
        Name=f"{net.env}/db/app-password-{i}",
        Description="application database password",
        SecretString=json.dumps({"username": "app", "password": f"demo-only-{i}"}),
        Tags=tag_list(env=net.env, owner=net.owner),
    )["ARN"]
    rotated = sm.create_secret(
        Name=f"{net.env}/payments/api-key-{i}",
        Description="payment provider API key",
        KmsKeyId=f"alias/app-data-{i}",
        SecretString=f"demo-only-key-{i}",
        Tags=tag_list(env=net.env, owner="payments-team", data_classification="confidential"),
    )["ARN"]
    sm.rotate_secret(SecretId=rotated, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    sm.put_resource_policy(
        SecretId=rotated,
        ResourcePolicy=_same_account_policy(account_id, "AppReads", ["secretsmanager:GetSecretValue"], "*"),
    )
    if i == 0:
        out.secrets = {"unrotated": plain, "rotated": rotated}


def seed_repositories(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    ecr, i = client("ecr", net.region), net.i
    web = ecr.create_repository(
        repositoryName=f"{net.env}/web-{i}",
        imageScanningConfiguration={"scanOnPush": False},
        imageTagMutability="MUTABLE",
        tags=tag_list(env=net.env, owner=net.owner),
    )["repository"]["repositoryName"]
    key_arn = f"arn:aws:kms:{net.region}:{account_id}:key/{out.keys['rotated']}"
    hardened = ecr.create_repository(
        repositoryName=f"{net.env}/payments-api-{i}",
        imageScanningConfiguration={"scanOnPush": True},
        imageTagMutability="IMMUTABLE",
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key_arn},
        tags=tag_list(env=net.env, owner="payments-team"),
    )["repository"]["repositoryName"]
    ecr.set_repository_policy(
        repositoryName=hardened,
        policyText=_same_account_policy(
            account_id, "AppPulls", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], None
        ),
    )
    ecr.put_lifecycle_policy(repositoryName=hardened, lifecyclePolicyText=json.dumps(LIFECYCLE))
    if i == 0:
        out.repositories = {"mutable": web, "hardened": hardened}


def seed_security_services(client: ClientFactory, estate: Estate) -> None:
    """GuardDuty and Security Hub in the first region; the account's SECURITY contact."""
    first = estate.first
    detector = client("guardduty", first.region).create_detector(
        Enable=True,
        FindingPublishingFrequency="FIFTEEN_MINUTES",
        DataSources={"S3Logs": {"Enable": True}},
        Tags={"owner": "security-team"},
    )["DetectorId"]
    first.detector = detector
    client("securityhub", first.region).enable_security_hub(
        EnableDefaultStandards=False, Tags={"owner": "security-team"}
    )
    client("account", first.region).put_alternate_contact(
        AlternateContactType="SECURITY",
        Name="Security Operations",
        Title="Security on-call",
        EmailAddress="security-oncall@example.com",
        PhoneNumber="+1-555-0100",
    )
