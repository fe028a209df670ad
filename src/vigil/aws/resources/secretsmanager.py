"""Secrets Manager secrets: rotation, encryption key, tags and the resource policy, never the value.

``ListSecrets`` already returns what ``DescribeSecret`` would (rotation enabled and rules, the
rotation function, KMS key, last rotated/changed dates, tags), so the only call per secret is
``GetResourcePolicy``; a secret without a policy is recorded with ``ResourcePolicy: null``. No call
that reads a secret's value is ever made.

``resourceId`` is the secret's ARN and ``resourceName`` its name (CloudFormation's primary
identifier for ``AWS::SecretsManager::Secret`` is the ARN; AWS Config uses it for registry types).
``lastAccessedDate`` moves whenever the secret is read, which is use, not configuration: volatile.
A secret scheduled for deletion is not listed (``ListSecrets``' default): it can no longer be used,
so it is recorded as deleted, and ``RestoreSecret`` (a change event) records it again.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, tag_map, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.model import ConfigurationItem

SECRET = "AWS::SecretsManager::Secret"

VOLATILE = ("configuration.lastAccessedDate",)


def collect_secrets(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    listed = [
        s
        for s in fx.items("secretsmanager", region, "list_secrets", "SecretList")
        if wanted(ids, s["ARN"], s.get("Name"))
    ]
    client = fx.client("secretsmanager", region)

    def one(secret: dict[str, Any]) -> ConfigurationItem:
        arn = secret["ARN"]
        policy = client.get_resource_policy(SecretId=arn).get("ResourcePolicy")
        return make_ci(
            fx,
            SECRET,
            region,
            arn,
            name=secret.get("Name"),
            arn=arn,
            configuration=to_config(secret),
            tags=tag_map(secret.get("Tags")),
            relationships=key_relationships(fx, region, secret.get("KmsKeyId")),
            supplementary={"ResourcePolicy": None if policy is None else {"policyText": policy}},
            created=secret.get("CreatedDate"),
        )

    return fx.each(listed, one, lambda s: str(s["ARN"]))
