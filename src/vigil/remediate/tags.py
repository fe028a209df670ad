"""How each resource type is tagged: AWS has no single tagging call that every service honours.

``TAGGERS`` maps a resource type to the service, the IAM action and a pure function that builds the
call's parameters from the CI. S3's ``PutBucketTagging`` replaces the whole tag set, so the
bucket's recorded tags are sent with the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.remediate.actions import Step

Build = Callable[[Mapping[str, Any], str, str], dict[str, Any]]


@dataclass(frozen=True)
class Tagger:
    service: str
    operation: str
    permission: str
    build: Build


def _arn(ci: Mapping[str, Any]) -> str:
    return str(ci.get("arn") or ci["resourceId"])


def _kv(key: str, value: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value}]


def _ec2(ci: Mapping[str, Any], key: str, value: str) -> dict[str, Any]:
    return {"Resources": [ci["resourceId"]], "Tags": _kv(key, value)}


def _s3(ci: Mapping[str, Any], key: str, value: str) -> dict[str, Any]:
    merged = dict(ci.get("tags") or {}) | {key: value}
    return {
        "Bucket": ci["resourceId"],
        "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]},
    }


def _name(ci: Mapping[str, Any]) -> str:
    return str(ci.get("resourceName") or ci["resourceId"])


EC2 = Tagger("ec2", "create_tags", "ec2:CreateTags", _ec2)

TAGGERS: dict[str, Tagger] = {
    "AWS::EC2::Instance": EC2,
    "AWS::EC2::Volume": EC2,
    "AWS::EC2::SecurityGroup": EC2,
    "AWS::EC2::NetworkInterface": EC2,
    "AWS::EC2::VPC": EC2,
    "AWS::EC2::Subnet": EC2,
    "AWS::EC2::InternetGateway": EC2,
    "AWS::EC2::RouteTable": EC2,
    "AWS::EC2::NetworkAcl": EC2,
    "AWS::EC2::Snapshot": EC2,
    "AWS::EC2::NatGateway": EC2,
    "AWS::EC2::EIP": EC2,
    "AWS::EC2::VPCPeeringConnection": EC2,
    "AWS::S3::Bucket": Tagger("s3", "put_bucket_tagging", "s3:PutBucketTagging", _s3),
    "AWS::IAM::User": Tagger(
        "iam", "tag_user", "iam:TagUser", lambda ci, k, v: {"UserName": _name(ci), "Tags": _kv(k, v)}
    ),
    "AWS::IAM::Role": Tagger(
        "iam", "tag_role", "iam:TagRole", lambda ci, k, v: {"RoleName": _name(ci), "Tags": _kv(k, v)}
    ),
    "AWS::IAM::Policy": Tagger(
        "iam", "tag_policy", "iam:TagPolicy", lambda ci, k, v: {"PolicyArn": _arn(ci), "Tags": _kv(k, v)}
    ),
    "AWS::KMS::Key": Tagger(
        "kms",
        "tag_resource",
        "kms:TagResource",
        lambda ci, k, v: {"KeyId": ci["resourceId"], "Tags": [{"TagKey": k, "TagValue": v}]},
    ),
    "AWS::CloudTrail::Trail": Tagger(
        "cloudtrail",
        "add_tags",
        "cloudtrail:AddTags",
        lambda ci, k, v: {"ResourceId": _arn(ci), "TagsList": _kv(k, v)},
    ),
    "AWS::Lambda::Function": Tagger(
        "lambda",
        "tag_resource",
        "lambda:TagResource",
        lambda ci, k, v: {"Resource": _arn(ci), "Tags": {k: v}},
    ),
    "AWS::RDS::DBInstance": Tagger(
        "rds",
        "add_tags_to_resource",
        "rds:AddTagsToResource",
        lambda ci, k, v: {"ResourceName": _arn(ci), "Tags": _kv(k, v)},
    ),
    "AWS::SNS::Topic": Tagger(
        "sns",
        "tag_resource",
        "sns:TagResource",
        lambda ci, k, v: {"ResourceArn": _arn(ci), "Tags": _kv(k, v)},
    ),
    "AWS::SQS::Queue": Tagger(
        "sqs", "tag_queue", "sqs:TagQueue", lambda ci, k, v: {"QueueUrl": ci["resourceId"], "Tags": {k: v}}
    ),
    "AWS::Logs::LogGroup": Tagger(
        "logs",
        "tag_resource",
        "logs:TagResource",
        lambda ci, k, v: {"resourceArn": _arn(ci).removesuffix(":*"), "tags": {k: v}},
    ),
    "AWS::SecretsManager::Secret": Tagger(
        "secretsmanager",
        "tag_resource",
        "secretsmanager:TagResource",
        lambda ci, k, v: {"SecretId": _arn(ci), "Tags": _kv(k, v)},
    ),
    "AWS::ECR::Repository": Tagger(
        "ecr",
        "tag_resource",
        "ecr:TagResource",
        lambda ci, k, v: {"resourceArn": _arn(ci), "tags": _kv(k, v)},
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Tagger(
        "elbv2",
        "add_tags",
        "elasticloadbalancing:AddTags",
        lambda ci, k, v: {"ResourceArns": [_arn(ci)], "Tags": _kv(k, v)},
    ),
    "AWS::EFS::FileSystem": Tagger(
        "efs",
        "tag_resource",
        "elasticfilesystem:TagResource",
        lambda ci, k, v: {"ResourceId": ci["resourceId"], "Tags": _kv(k, v)},
    ),
}


def step(ci: Mapping[str, Any], key: str, value: str) -> Step:
    """The call that sets tag ``key=value`` on the CI's resource (types outside TAGGERS never get here:
    the action lists only these types)."""
    from vigil.remediate.actions import Step

    tagger = TAGGERS[ci["resourceType"]]
    return Step(
        tagger.service,
        ci["awsRegion"],
        tagger.operation,
        tagger.build(ci, key, value),
        f"tag {ci['resourceType']} {ci['resourceId']} with {key}={value}",
    )
