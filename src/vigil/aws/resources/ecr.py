"""ECR repositories: scan on push, tag mutability, encryption, repository and lifecycle policies, tags.

``DescribeRepositories`` gives the settings; per repository, ``GetRepositoryPolicy``,
``GetLifecyclePolicy`` and ``ListTagsForResource`` (three calls: ECR has no batch form of any of
them). A repository without a policy or a lifecycle policy is a state, not an error: it is recorded
as ``null``. The lifecycle policy's ``lastEvaluatedAt`` moves whenever ECR runs it and is left out.

``resourceId`` and ``resourceName`` are the repository name (CloudFormation's primary identifier for
``AWS::ECR::Repository``); a KMS-encrypted repository is associated with its key.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, tag_map, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.model import ConfigurationItem

REPOSITORY = "AWS::ECR::Repository"
NO_POLICY = ("RepositoryPolicyNotFoundException",)
NO_LIFECYCLE_POLICY = ("LifecyclePolicyNotFoundException",)


def collect_repositories(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    listed = [
        r
        for r in fx.items("ecr", region, "describe_repositories", "repositories")
        if wanted(ids, r["repositoryName"], r.get("repositoryArn"))
    ]
    client = fx.client("ecr", region)

    def one(repo: dict[str, Any]) -> ConfigurationItem:
        name = repo["repositoryName"]
        policy = fx.optional(lambda: client.get_repository_policy(repositoryName=name), NO_POLICY)
        lifecycle = fx.optional(lambda: client.get_lifecycle_policy(repositoryName=name), NO_LIFECYCLE_POLICY)
        tags = client.list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags")
        encryption = repo.get("encryptionConfiguration") or {}
        return make_ci(
            fx,
            REPOSITORY,
            region,
            name,
            name=name,
            arn=repo["repositoryArn"],
            configuration=to_config(repo),
            tags=tag_map(tags),
            relationships=key_relationships(fx, region, encryption.get("kmsKey")),
            supplementary={
                "RepositoryPolicy": None if policy is None else {"policyText": policy.get("policyText")},
                "LifecyclePolicy": None
                if lifecycle is None
                else {"lifecyclePolicyText": lifecycle.get("lifecyclePolicyText")},
            },
            created=repo.get("createdAt"),
        )

    return fx.each(listed, one, lambda r: str(r["repositoryName"]))
