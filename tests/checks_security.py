"""Recording checks for GuardDuty, Secrets Manager, ECR, and the account's security services; joined into ``test_resources.EXPECT``.

``check_account_security`` holds the account item's security facts; ``test_resources.check_account``
calls it (the account type has one entry in ``EXPECT``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from conftest import REGIONS
from recorded import Recorded, rels
from vigil.model import ConfigurationItem

KEY = "AWS::KMS::Key"
REPOSITORY = "AWS::ECR::Repository"


def _in_region(r: Recorded, resource_type: str, region: str, name: str) -> ConfigurationItem:
    """The one item of that name in that region (repository names repeat across regions)."""
    (found,) = [c for c in r.of(resource_type, region) if c.resourceId == name]
    return found


def check_detector(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    (detector,) = r.of("AWS::GuardDuty::Detector")
    assert (detector.resourceId, detector.awsRegion) == (first.detector, first.region)
    assert detector.arn == f"arn:aws:guardduty:{first.region}:{account}:detector/{first.detector}"
    assert detector.tags == {"owner": "security-team"} and detector.relationships == ()
    config = detector.configuration
    assert config["detectorId"] == first.detector
    assert (config["status"], config["findingPublishingFrequency"]) == ("ENABLED", "FIFTEEN_MINUTES")
    assert config["dataSources"]["s3Logs"] == {"status": "ENABLED"}
    assert config["dataSources"]["cloudTrail"] == {"status": "DISABLED"}
    assert "tags" not in config and detector.resourceCreationTime is not None
    assert r.of("AWS::GuardDuty::Detector", REGIONS[1]) == []


def check_secret(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    plain = r.one("AWS::SecretsManager::Secret", first.secrets["unrotated"])
    assert plain.arn == plain.resourceId == first.secrets["unrotated"]
    assert plain.arn.startswith(
        f"arn:aws:secretsmanager:{first.region}:{account}:secret:prod/db/app-password-0-"
    )
    assert plain.resourceName == "prod/db/app-password-0" and plain.awsRegion == first.region
    assert plain.tags == {"env": "prod", "owner": "platform-team"}
    assert plain.configuration.get("rotationEnabled") is None and "rotationRules" not in plain.configuration
    assert plain.configuration["description"] == "application database password"
    assert plain.supplementaryConfiguration == {"ResourcePolicy": None} and plain.relationships == ()
    rotated = r.one("AWS::SecretsManager::Secret", first.secrets["rotated"])
    config = rotated.configuration
    assert (config["rotationEnabled"], config["rotationRules"]) == (True, {"automaticallyAfterDays": 30})
    assert config["lastRotatedDate"] and config["nextRotationDate"]
    assert config["kmsKeyId"] == "alias/app-data-0"
    assert rels(rotated) == {("Is associated with Key", KEY, first.keys["rotated"])}
    policy = json.loads(rotated.supplementaryConfiguration["ResourcePolicy"]["policyText"])
    assert policy["Statement"] == [
        {
            "Sid": "AppReads",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/app-instance-role"},
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": "*",
        }
    ]
    assert rotated.tags == {"env": "prod", "owner": "payments-team", "data-classification": "confidential"}
    # two per copy in each region, and no secret value was ever read into an item
    secrets = r.of("AWS::SecretsManager::Secret")
    assert sorted(c.awsRegion for c in secrets) == sorted(REGIONS * 2)
    assert not any("demo-only" in json.dumps(c.to_dict()) for c in secrets)


def check_repository(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    web = _in_region(r, REPOSITORY, first.region, first.repositories["mutable"])
    assert (web.resourceId, web.resourceName) == ("prod/web-0", "prod/web-0")
    assert web.arn == f"arn:aws:ecr:{first.region}:{account}:repository/prod/web-0"
    assert web.configuration["imageScanningConfiguration"] == {"scanOnPush": False}
    assert web.configuration["imageTagMutability"] == "MUTABLE"
    assert web.configuration["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert web.supplementaryConfiguration == {"RepositoryPolicy": None, "LifecyclePolicy": None}
    assert web.tags == {"env": "prod", "owner": "platform-team"} and web.relationships == ()
    assert web.resourceCreationTime == web.configuration["createdAt"]
    hardened = _in_region(r, REPOSITORY, first.region, first.repositories["hardened"])
    key_arn = f"arn:aws:kms:{first.region}:{account}:key/{first.keys['rotated']}"
    assert hardened.configuration["imageScanningConfiguration"] == {"scanOnPush": True}
    assert hardened.configuration["imageTagMutability"] == "IMMUTABLE"
    assert hardened.configuration["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": key_arn}
    assert rels(hardened) == {("Is associated with Key", KEY, first.keys["rotated"])}
    sup = hardened.supplementaryConfiguration
    statement = json.loads(sup["RepositoryPolicy"]["policyText"])["Statement"][0]
    assert (statement["Sid"], statement["Action"]) == (
        "AppPulls",
        ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    )
    (rule,) = json.loads(sup["LifecyclePolicy"]["lifecyclePolicyText"])["rules"]
    assert (rule["selection"]["tagStatus"], rule["action"]) == ("untagged", {"type": "expire"})
    assert hardened.tags == {"env": "prod", "owner": "payments-team"}
    assert len(r.of(REPOSITORY, REGIONS[1])) == 2


def check_account_security(r: Recorded) -> None:
    """The security facts of the account items (called from ``test_resources.check_account``)."""
    first = r.estate.first
    east = r.of("AWS::::Account", REGIONS[0])[0].configuration
    west = r.of("AWS::::Account", REGIONS[1])[0].configuration
    for config in (east, west):
        # account-wide facts: the same in every region's item
        assert config["s3PublicAccessBlock"] is None  # not configured: a finding
        assert config["alternateContacts"] == {
            "security": {
                "name": "Security Operations",
                "title": "Security on-call",
                "emailAddress": "security-oncall@example.com",
                "phoneNumber": "+1-555-0100",
                "alternateContactType": "SECURITY",
            },
            "billing": None,
            "operations": None,
        }
        # moto has no Access Analyzer: unavailable, not an error of the scan
        assert config["accessAnalyzers"] is None
    assert (east["guardDutyDetectorIds"], west["guardDutyDetectorIds"]) == ([first.detector], [])
    hub = east["securityHub"]
    assert hub["enabled"] is True and hub["hubArn"].endswith(":hub/default")
    assert (west["securityHub"], west["securityHubStandards"]) == ({"enabled": False}, [])
    recorders = {
        region: [s["name"] for s in r.of("AWS::::Account", region)[0].configuration["configRecorders"]]
        for region in REGIONS
    }
    assert recorders == {
        region: [estate.recorder] if estate.recorder else [] for region, estate in r.estate.regions.items()
    }
    east_missing = r.of("AWS::::Account", REGIONS[0])[0].supplementaryConfiguration["Unavailable"]
    assert east_missing == {
        "AccessAnalyzers": {
            "code": "501",
            "message": "HTTP 501 without an AWS error: the endpoint does not offer this API",
        },
        # moto's Security Hub has no GetEnabledStandards
        "SecurityHubStandards": {
            "code": "404",
            "message": "HTTP 404 without an AWS error: the endpoint does not offer this API",
        },
    }
    assert east["securityHubStandards"] is None
    assert set(r.of("AWS::::Account", REGIONS[1])[0].supplementaryConfiguration["Unavailable"]) == {
        "AccessAnalyzers"
    }


CHECKS: dict[str, Callable[[Recorded], None]] = {
    "AWS::GuardDuty::Detector": check_detector,
    "AWS::SecretsManager::Secret": check_secret,
    "AWS::ECR::Repository": check_repository,
}
