"""The logging-storage pack end to end on the sample estate, and its checks on edge cases.

The expectations come from what the seeding code made each resource to be (``demo/estate/storage.py``,
``monitoring.py``, ``security.py``): the deliberate mistakes are NON_COMPLIANT, the resources made
right are COMPLIANT, and where a managed rule's defaults ask for more than the seed set up (server
access logging, MFA delete, SSL-only policies, KMS on log groups and trails, 365 days' retention, an
INSUFFICIENT_DATA alarm action) that is said next to the expectation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from conftest import Seeded
from vigil.aws import recorder
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.demo.estate import Estate
from vigil.rules import load
from vigil.rules.evaluate import Inventory, evaluate, evaluate_all
from vigil.rules.selftest import EXAMPLE_NOW, minimal_ci
from vigil.rules.spec import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, NOT_APPLICABLE, Evaluation, Rule
from vigil.store import inventory, open_store

PACK = "logging-storage"
RULES = [r for r in load.load().rules if r.pack == PACK]


def rule(rule_id: str) -> Rule:
    found = next(r for r in RULES if r.id == rule_id)
    return found


@dataclass
class Evaluated:
    estate: Estate
    cis: list[dict[str, Any]]
    evaluations: list[Evaluation]

    def name(self, e: Evaluation) -> str:
        """Resources by the name the estate knows them by (queues, secrets, keys and topics by their id)."""
        return e.resource_id if e.resource_type in BY_ID else (e.resource_name or e.resource_id)

    def pairs(self, compliance: str, region: str) -> set[tuple[str, str]]:
        return {
            (e.rule_id, self.name(e))
            for e in self.evaluations
            if e.compliance == compliance and e.region == region
        }

    def verdict(self, rule_id: str, resource: str, region: str | None = None) -> Evaluation:
        """The one evaluation of a rule on a resource in ``region`` (the first region by default)."""
        where = region or self.estate.first.region
        found = [
            e
            for e in self.evaluations
            if e.rule_id == rule_id and resource in (e.resource_id, e.resource_name) and e.region == where
        ]
        assert len(found) == 1, f"{rule_id} on {resource}: {found}"
        return found[0]


BY_ID = ("AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::SNS::Topic")


@pytest.fixture(scope="module")
def evaluated(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
        session = shared_seeded.account.session()
        store = open_store(tmp_path_factory.mktemp("rules-logging") / "v.db")
        report = recorder.scan(session, store)
    with store.connect() as conn:
        cis = [ci.to_dict() for ci in inventory.current(conn)]
    store.close()
    assert report.errors == []
    evaluations = evaluate_all(RULES, Inventory(cis), now=datetime.now(UTC))
    return Evaluated(shared_seeded.estate, cis, evaluations)


def test_the_pack_has_its_rules() -> None:
    assert len(RULES) >= 22
    assert all(r.examples and r.remediation.text for r in RULES)


def test_first_region_non_compliant_pairs_are_the_seeded_mistakes(evaluated: Evaluated) -> None:
    est = evaluated.estate
    first = est.first
    b, lg = first.buckets, first.log_groups
    flow_group = f"/vigil/flow-logs/{first.vpc}"
    buckets = list(b.values())
    expected = {
        # -- the seed's deliberate mistakes ------------------------------------------------------
        ("s3-bucket-public-read-prohibited", b["public"]),  # ACL public-read, no public access block
        ("s3-bucket-server-side-encryption-enabled", b["unencrypted"]),  # no default encryption
        ("cmk-backing-key-rotation-enabled", first.keys["unrotated"]),  # the legacy key, never rotated
        ("cloudwatch-log-group-retention-set", lg["app"]),  # /vigil/app kept forever
        ("sqs-queue-encrypted", first.queues["dlq"]),  # the dead-letter queue without SSE
        ("secretsmanager-rotation-enabled-check", first.secrets["unrotated"]),  # never rotated
        ("ecr-private-image-scanning-enabled", first.repositories["mutable"]),  # scan on push off
        ("ecr-private-tag-immutability-enabled", first.repositories["mutable"]),  # mutable tags
        (
            "ecr-private-lifecycle-policy-configured",
            first.repositories["mutable"],
        ),  # only the hardened one has one
        # the buckets left without a bucket-level block (public and raw; logs and data have one)
        ("s3-bucket-level-public-access-prohibited", b["public"]),
        ("s3-bucket-level-public-access-prohibited", b["unencrypted"]),
        # only logs and data got BucketOwnerEnforced ownership and versioning
        ("s3-bucket-acl-prohibited", b["public"]),
        ("s3-bucket-acl-prohibited", b["unencrypted"]),
        ("s3-bucket-versioning-enabled", b["public"]),
        ("s3-bucket-versioning-enabled", b["unencrypted"]),
        # only the data bucket encrypts with KMS (logs and public use AES256)
        ("s3-default-encryption-kms", b["logs"]),
        ("s3-default-encryption-kms", b["public"]),
        ("s3-default-encryption-kms", b["unencrypted"]),
        # the flow-log group was created without retention either (network.py)
        ("cloudwatch-log-group-retention-set", flow_group),
        # -- what the managed rules' defaults ask and the seed never set up ------------------------
        # no bucket has server access logging, MFA delete or a deny-HTTP policy
        *{("s3-bucket-logging-enabled", name) for name in buckets},
        *{("s3-bucket-mfa-delete-enabled", name) for name in buckets},
        *{("s3-bucket-ssl-requests-only", name) for name in buckets},
        # the alerts topic was given no delivery status logging role
        ("sns-topic-message-delivery-notification-enabled", first.topics["alerts"]),
        # no log group has a KMS key
        *{("cloudwatch-log-group-encrypted", g) for g in (lg["trail"], lg["app"], flow_group)},
        # 90 days' retention is less than the managed rule's default MinRetentionTime of 365
        ("cw-loggroup-retention-period-check", lg["trail"]),
        # the alarm notifies on ALARM only; insufficientDataActionRequired defaults to true
        ("cloudwatch-alarm-action-check", first.alarms["root_usage"]),
        # the audit trail has no KMS key, and its logs bucket no server access logging (CIS 4.4, 4.5)
        ("cloud-trail-encryption-enabled", first.trails["main"]),
        ("cloudtrail-s3-bucket-access-logging", first.trails["main"]),
        # no trail records S3 data events (CIS 4.8, 4.9)
        ("cloudtrail-all-write-s3-data-event-check", est.account_id),
        ("cloudtrail-all-read-s3-data-event-check", est.account_id),
    }
    assert evaluated.pairs(NON_COMPLIANT, first.region) == expected


def test_first_region_resources_made_right_are_compliant(evaluated: Evaluated) -> None:
    est = evaluated.estate
    first = est.first
    b = first.buckets
    compliant = evaluated.pairs(COMPLIANT, first.region)
    for pair in [
        ("s3-bucket-public-read-prohibited", b["logs"]),
        ("s3-bucket-public-read-prohibited", b["data"]),
        ("s3-bucket-public-read-prohibited", b["unencrypted"]),
        *(("s3-bucket-public-write-prohibited", name) for name in b.values()),
        ("s3-bucket-server-side-encryption-enabled", b["logs"]),
        ("s3-bucket-server-side-encryption-enabled", b["data"]),
        ("s3-bucket-server-side-encryption-enabled", b["public"]),
        ("s3-bucket-level-public-access-prohibited", b["logs"]),
        ("s3-bucket-level-public-access-prohibited", b["data"]),
        ("s3-bucket-acl-prohibited", b["logs"]),
        ("s3-bucket-versioning-enabled", b["data"]),
        ("s3-default-encryption-kms", b["data"]),
        ("cmk-backing-key-rotation-enabled", first.keys["rotated"]),
        ("kms-cmk-not-scheduled-for-deletion", first.keys["rotated"]),
        ("kms-cmk-not-scheduled-for-deletion", first.keys["unrotated"]),
        ("cloud-trail-log-file-validation-enabled", first.trails["main"]),
        ("cloud-trail-cloud-watch-logs-enabled", first.trails["main"]),
        ("cloudtrail-s3-bucket-public-access-prohibited", first.trails["main"]),
        ("cloudwatch-log-group-retention-set", first.log_groups["trail"]),
        ("cw-loggroup-retention-period-check", first.log_groups["app"]),  # never expire: compliant
        ("sns-encrypted-kms", first.topics["alerts"]),
        ("sns-topic-no-public-access", first.topics["alerts"]),  # SNS's default policy: SourceOwner
        *(("s3-bucket-blacklisted-actions-prohibited", name) for name in b.values()),  # no policies
        ("sqs-queue-encrypted", first.queues["inbox"]),
        ("secretsmanager-rotation-enabled-check", first.secrets["rotated"]),
        ("secretsmanager-scheduled-rotation-success-check", first.secrets["rotated"]),
        ("secretsmanager-secret-unused", first.secrets["rotated"]),
        *(
            ("ecr-private-" + r, first.repositories["hardened"])
            for r in ("image-scanning-enabled", "tag-immutability-enabled", "lifecycle-policy-configured")
        ),
        ("cloudtrail-enabled", est.account_id),
        ("multi-region-cloudtrail-enabled", est.account_id),
        ("config-enabled", est.account_id),
    ]:
        assert pair in compliant, pair
    # the unrotated secret has no schedule to keep
    assert (
        evaluated.verdict(
            "secretsmanager-scheduled-rotation-success-check", first.secrets["unrotated"]
        ).compliance
        == NOT_APPLICABLE
    )


def test_aws_managed_keys_are_not_evaluated_for_rotation(evaluated: Evaluated) -> None:
    """The emulator reports alias/aws/ebs as a CUSTOMER key; the reserved alias says otherwise."""
    aws_keys = [
        (ci["resourceId"], ci["awsRegion"])
        for ci in evaluated.cis
        if ci["resourceType"] == "AWS::KMS::Key"
        and any(
            str(a).startswith("alias/aws/") for a in ci["supplementaryConfiguration"].get("Aliases") or []
        )
    ]
    for key, region in aws_keys:
        assert evaluated.verdict("cmk-backing-key-rotation-enabled", key, region).compliance == NOT_APPLICABLE


def test_last_region_trail_and_config_mistakes(evaluated: Evaluated) -> None:
    """The single-region trail without log file validation and the region without a recorder are
    seeded in the last region."""
    est = evaluated.estate
    last = list(est.regions.values())[-1]
    local = last.trails["local"]
    assert (
        evaluated.verdict("cloud-trail-log-file-validation-enabled", local, last.region).compliance
        == NON_COMPLIANT
    )
    assert (
        evaluated.verdict("cloud-trail-cloud-watch-logs-enabled", local, last.region).compliance
        == NON_COMPLIANT
    )
    config = evaluated.verdict("config-enabled", est.account_id, last.region)
    assert config.compliance == NON_COMPLIANT
    assert last.region in config.annotation
    # the multi-region trail of the first region covers this region too
    assert evaluated.verdict("cloudtrail-enabled", est.account_id, last.region).compliance == COMPLIANT
    assert (
        evaluated.verdict("multi-region-cloudtrail-enabled", est.account_id, last.region).compliance
        == COMPLIANT
    )


def test_annotations_name_the_offending_value(evaluated: Evaluated) -> None:
    first = evaluated.estate.first
    assert (
        "AllUsers"
        in evaluated.verdict("s3-bucket-public-read-prohibited", first.buckets["public"]).annotation
    )
    assert (
        "MUTABLE"
        in evaluated.verdict("ecr-private-tag-immutability-enabled", first.repositories["mutable"]).annotation
    )
    assert (
        "false" in evaluated.verdict("cmk-backing-key-rotation-enabled", first.keys["unrotated"]).annotation
    )


# -- checks on cases the examples do not show ----------------------------------------------------------


def _run(rule_id: str, ci: Mapping[str, Any], *others: Mapping[str, Any], **params: Any) -> Evaluation:
    target = {**minimal_ci(rule(rule_id).resource_types[0]), **ci}
    related = [{**minimal_ci(o["resourceType"]), **o} for o in others]
    inv = Inventory([target, *related])
    return evaluate(
        rule(rule_id),
        target,
        now=EXAMPLE_NOW,
        params=params,
        related=inv.related,
        lookup=partial(inv.lookup, account=target["accountId"]),
    )


def _trail(name: str, **config: Any) -> dict[str, Any]:
    return {
        "resourceType": "AWS::CloudTrail::Trail",
        "resourceId": name,
        "configuration": {"isMultiRegionTrail": True, **config},
        "supplementaryConfiguration": {"TrailStatus": {"isLogging": True}},
    }


def test_trail_lookups_that_failed_give_insufficient_data() -> None:
    account = minimal_ci("AWS::::Account", resourceId="123456789012")
    why = {("123456789012", "us-east-1", "AWS::CloudTrail::Trail"): "AccessDenied"}
    result = evaluate(rule("cloudtrail-enabled"), account, now=EXAMPLE_NOW, unreadable=why)
    assert result.compliance == INSUFFICIENT_DATA, result
    # a logging trail found elsewhere still decides
    inv = Inventory([account, {**minimal_ci("AWS::CloudTrail::Trail"), **_trail("org", s3BucketName="b")}])
    result = evaluate(
        rule("multi-region-cloudtrail-enabled"),
        account,
        now=EXAMPLE_NOW,
        unreadable=why,
        lookup=partial(inv.lookup, account=account["accountId"]),
    )
    assert result.compliance == COMPLIANT


def test_cloudwatch_logs_group_arn_parameter_accepts_the_trailing_star() -> None:
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:audit"
    trail = _trail("org", cloudWatchLogsLogGroupArn=f"{arn}:*")
    assert _run("cloudtrail-enabled", {}, trail, cloudWatchLogsLogGroupArn=arn).compliance == COMPLIANT
    assert (
        _run("cloudtrail-enabled", {}, trail, cloudWatchLogsLogGroupArn=arn + "x").compliance == NON_COMPLIANT
    )


def test_public_policy_forms() -> None:
    def bucket(policy: str) -> dict[str, Any]:
        return {"supplementaryConfiguration": {"BucketPolicy": {"policyText": policy}}}

    not_action = (
        '{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"s3:DeleteBucket","Resource":"*"}]}'
    )
    assert _run("s3-bucket-public-read-prohibited", bucket(not_action)).compliance == NON_COMPLIANT
    assert _run("s3-bucket-public-write-prohibited", bucket(not_action)).compliance == NON_COMPLIANT
    account_only = (
        '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
        '"Action":"s3:*","Resource":"*"}]}'
    )
    assert _run("s3-bucket-public-read-prohibited", bucket(account_only)).compliance == COMPLIANT
    lower_case = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"*"}]}'
    assert _run("s3-bucket-public-read-prohibited", bucket(lower_case)).compliance == NON_COMPLIANT
    # a policy already parsed (as the store may hold it) reads the same
    parsed = {
        "supplementaryConfiguration": {
            "BucketPolicy": {
                "policyText": {
                    "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
                    ]
                }
            }
        }
    }
    assert _run("s3-bucket-public-write-prohibited", parsed).compliance == NON_COMPLIANT
