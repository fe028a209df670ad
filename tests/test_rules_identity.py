"""Identity and account rules (``packs/identity-account.yaml``, ``checks/identity.py``).

The end-to-end test scans the sample estate into a store and evaluates every built-in rule; what it
expects of the identity rules comes from what ``demo/estate/identity.py`` and ``security.py`` made
each resource to be, not from the rules' output."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import REGIONS, SHARED_DATA, Seeded
from vigil.aws import recorder
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.demo.estate.monitoring import TRAIL_LOGS_ROLE
from vigil.demo.estate.network import FLOW_LOGS_ROLE
from vigil.rules import load
from vigil.rules.checks import identity
from vigil.rules.conditions import Env
from vigil.rules.evaluate import Inventory, evaluate_all
from vigil.rules.spec import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, Evaluation
from vigil.store import inventory, open_store

PACK = "identity-account"
ACCOUNT = "AWS::::Account"
USER, GROUP, ROLE, POLICY = "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role", "AWS::IAM::Policy"
INSTANCE = "AWS::EC2::Instance"
DETECTOR, KEY = "AWS::GuardDuty::Detector", "AWS::KMS::Key"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

RULES = [r for r in load.load().rules if r.pack == PACK]
RULE_IDS = {r.id for r in RULES}


def _env(doc: Mapping[str, Any], **params: Any) -> Env:
    return Env(doc, doc, params, NOW)


# -- the pack ------------------------------------------------------------------------------------


def test_the_pack_has_the_rules_it_promises() -> None:
    assert len(RULES) >= 20
    for rule_id in (
        "root-account-mfa-enabled",
        "root-account-hardware-mfa-enabled",
        "iam-root-access-key-check",
        "iam-user-mfa-enabled",
        "mfa-enabled-for-iam-console-access",
        "access-keys-rotated",
        "iam-user-unused-credentials-check",
        "iam-password-policy",
        "iam-policy-no-statements-with-admin-access",
        "iam-policy-no-statements-with-full-access",
        "iam-no-inline-policy-check",
        "iam-user-no-policies-check",
        "iam-user-group-membership-check",
        "iam-group-has-users-check",
        "iam-customer-policy-blocked-kms-actions",
        "iam-policy-in-use",
        "iam-external-access-analyzer-enabled",
        "securityhub-enabled",
        "guardduty-enabled-centralized",
        "s3-account-level-public-access-blocks-periodic",
        "security-account-information-provided",
    ):
        assert rule_id in RULE_IDS


def test_managed_rule_parameters_and_defaults() -> None:
    rules = {r.id: r for r in RULES}
    assert rules["iam-password-policy"].defaults() == {
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "MinimumPasswordLength": 14,
        "PasswordReusePrevention": 24,
        "MaxPasswordAge": 90,
    }
    assert rules["access-keys-rotated"].defaults() == {"maxAccessKeyAge": 90}
    assert rules["iam-user-unused-credentials-check"].defaults() == {"maxCredentialUsageAge": 90}
    assert rules["iam-user-unused-credentials-45-days"].defaults() == {"maxCredentialUsageAge": 45}
    assert rules["s3-account-level-public-access-blocks-periodic"].defaults() == dict.fromkeys(
        ("IgnorePublicAcls", "BlockPublicPolicy", "BlockPublicAcls", "RestrictPublicBuckets"), "True"
    )
    account_rules = [r for r in RULES if r.resource_types == (ACCOUNT,)]
    assert account_rules and all(r.triggers == ("periodic",) and r.frequency == "24h" for r in account_rules)


def _catalogue(name: str) -> set[str]:
    path = Path(SHARED_DATA) / "compliance" / "prowler-catalogues" / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return {r["Id"] for r in json.loads(path.read_text())["Requirements"]}


def test_every_control_is_in_its_catalogue() -> None:
    known = {
        "cis-aws-7.0": _catalogue("cis_7.0_aws.json"),
        "cis-aws-5.0": _catalogue("cis_5.0_aws.json"),
        "fsbp": _catalogue("aws_foundational_security_best_practices_aws.json"),
    }
    for rule in RULES:
        for control in rule.controls:
            framework, _, ident = control.partition(":")
            assert ident in known[framework], f"{rule.id}: {control} is not in the catalogue"


# -- checks --------------------------------------------------------------------------------------


ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _policy(document: Any) -> dict[str, Any]:
    return {
        "resourceType": POLICY,
        "configuration": {"policyVersionList": [{"isDefaultVersion": True, "document": document}]},
    }


@pytest.mark.parametrize(
    "document",
    [ADMIN, json.dumps(ADMIN), quote(json.dumps(ADMIN))],
    ids=["object", "json-text", "url-encoded"],
)
def test_policy_documents_are_read_in_every_form(document: Any) -> None:
    outcome = identity.policy_no_admin_access(_env(_policy(document)))
    assert not outcome.ok
    assert 'Action "*"' in outcome.reason


def test_admin_and_full_access_checks_keep_their_meaning() -> None:
    iam_star = {"Statement": [{"Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}]}
    assert identity.policy_no_admin_access(_env(_policy(iam_star))).ok
    full = identity.policy_no_full_service_access(_env(_policy(iam_star)))
    assert not full.ok and "iam:*" in full.reason
    # "*" alone is admin access, not one service's full access (Security Hub IAM.21's reading)
    assert identity.policy_no_full_service_access(_env(_policy(ADMIN))).ok
    assert identity.CHECKS["iam-policy-no-admin-access"] is identity.policy_no_admin_access


def test_statements_read_json_text_and_a_single_statement() -> None:
    policy = json.dumps({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*"}})
    assert [s["Effect"] for s in identity.statements(policy)] == ["Deny"]


@pytest.mark.parametrize(
    ("resource", "covers"),
    [
        ("*", True),
        ("arn:aws:kms:*:*:key/*", True),
        ("arn:aws:kms:us-east-1:123456789012:key/*", True),
        ("arn:aws:kms:us-east-1:123456789012:key/1234", False),
        ("arn:aws:s3:::bucket/*", False),
    ],
)
def test_kms_resources_that_reach_every_key(resource: str, covers: bool) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": resource}]}
    found = identity.blocked_kms_grant(document, ["kms:Decrypt"])
    assert (found is not None) is covers


def test_an_unreadable_account_fact_is_insufficient_data_for_every_fact_check() -> None:
    facts = {
        "iam-external-access-analyzer-enabled": "accessAnalyzers",
        "securityhub-enabled": "securityHub",
        "guardduty-enabled": "guardDutyDetectorIds",
        "s3-account-public-access-blocks": "s3PublicAccessBlock",
        "security-contact-registered": "alternateContacts",
    }
    for check, fact in facts.items():
        key = fact[:1].upper() + fact[1:]
        doc = {
            "resourceType": ACCOUNT,
            "awsRegion": "us-east-1",
            "configuration": {fact: None},
            "supplementaryConfiguration": {"Unavailable": {key: {"code": "AccessDenied", "message": "no"}}},
        }
        outcome = identity.CHECKS[check](_env(doc))
        assert outcome.insufficient, check
        assert fact in outcome.reason and "AccessDenied" in outcome.reason


# -- end to end on the sample estate -------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluations(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> list[Evaluation]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
        session = shared_seeded.account.session()
        store = open_store(tmp_path_factory.mktemp("rules-identity") / "v.db")
        report = recorder.scan(session, store)
    with store.connect() as conn:
        cis = [ci.to_dict() for ci in inventory.current(conn)]
    store.close()
    assert report.errors == []
    found = evaluate_all(load.load().rules, Inventory(cis), now=datetime.now(UTC))
    return [e for e in found if e.rule_id in RULE_IDS]


Key = tuple[str, str, str]  # (rule id, resource type, IAM name / instance id / the account's region)


def _key(e: Evaluation) -> Key:
    if e.resource_type == ACCOUNT:
        return (e.rule_id, e.resource_type, e.region)
    if e.resource_type.startswith("AWS::IAM::"):
        return (e.rule_id, e.resource_type, str(e.resource_name))
    return (e.rule_id, e.resource_type, e.resource_id)


def _of(evaluations: list[Evaluation], compliance: str) -> set[Key]:
    return {_key(e) for e in evaluations if e.compliance == compliance}


def _intent(shared_seeded: Seeded) -> set[Key]:
    """What the sample estate was seeded to get wrong in identity and the account."""
    first, second = REGIONS
    assert shared_seeded.estate.first.region == first
    devs = sorted(u for u in shared_seeded.estate.users if u.startswith("dev-"))
    # dev-1, dev-3, … were given MFA (people[3::2]); the even ones only a password
    devs_without_mfa = [d for d in devs if int(d.split("-")[1]) % 2 == 0]
    expected: set[Key] = set()
    for region in REGIONS:
        expected |= {
            ("root-account-mfa-enabled", ACCOUNT, region),  # root has no MFA in the emulator
            ("root-account-hardware-mfa-enabled", ACCOUNT, region),
            ("iam-password-policy", ACCOUNT, region),  # 8 characters, no symbols, 3 kept, 180 days
            ("iam-password-policy-minimum-length", ACCOUNT, region),
            ("iam-password-policy-prevents-reuse", ACCOUNT, region),
            ("iam-password-policy-pci-dss", ACCOUNT, region),  # 3 kept (PCI: 4), 180 days (PCI: 90)
            ("iam-policy-in-use", ACCOUNT, region),  # no support role anywhere
            ("s3-account-level-public-access-blocks-periodic", ACCOUNT, region),  # absent
        }
    expected |= {  # Security Hub and GuardDuty are on in the first region only
        ("securityhub-enabled", ACCOUNT, second),
        ("guardduty-enabled-centralized", ACCOUNT, second),
        # the detector was created with S3 logs only: no RDS Protection (security.py)
        ("guardduty-rds-protection-enabled", DETECTOR, shared_seeded.estate.first.detector),
    }
    expected |= {
        # bob: console password and an access key, no MFA, admin-everything attached directly
        ("mfa-enabled-for-iam-console-access", USER, "bob"),
        ("iam-user-mfa-enabled", USER, "bob"),
        ("iam-user-no-policies-check", USER, "bob"),
        # ci-deploy: a programmatic user without MFA or a group
        ("iam-user-mfa-enabled", USER, "ci-deploy"),
        ("iam-user-group-membership-check", USER, "ci-deploy"),
        # admins: an inline policy nobody reviews; the delivery roles carry inline policies too
        ("iam-no-inline-policy-check", GROUP, "admins"),
        ("iam-no-inline-policy-check", ROLE, FLOW_LOGS_ROLE),
        ("iam-no-inline-policy-check", ROLE, TRAIL_LOGS_ROLE),
        # admin-everything: Action * on Resource * (so kms:Decrypt on every key as well)
        ("iam-policy-no-statements-with-admin-access", POLICY, "admin-everything"),
        ("iam-customer-policy-blocked-kms-actions", POLICY, "admin-everything"),
    }
    # only the first region's app instance was given an instance profile (estate.seed)
    for region in shared_seeded.estate.regions.values():
        for role, instance_id in region.instances.items():
            if not (region.region == first and role == "app"):
                expected.add(("ec2-instance-profile-attached", INSTANCE, instance_id))
    for dev in devs:  # developers' own users are in no group
        expected.add(("iam-user-group-membership-check", USER, dev))
    for dev in devs_without_mfa:
        expected |= {
            ("mfa-enabled-for-iam-console-access", USER, dev),
            ("iam-user-mfa-enabled", USER, dev),
        }
    return expected


def test_identity_findings_on_the_sample_estate(evaluations: list[Evaluation], shared_seeded: Seeded) -> None:
    assert _of(evaluations, NON_COMPLIANT) == _intent(shared_seeded)


def test_access_analyzer_unavailable_in_the_emulator_is_insufficient_data(
    evaluations: list[Evaluation],
) -> None:
    insufficient = {_key(e): e.annotation for e in evaluations if e.compliance == INSUFFICIENT_DATA}
    assert set(insufficient) == {("iam-external-access-analyzer-enabled", ACCOUNT, r) for r in REGIONS}
    assert all("accessAnalyzers could not be read" in a for a in insufficient.values())


def test_what_was_seeded_right_is_compliant(evaluations: list[Evaluation], shared_seeded: Seeded) -> None:
    compliant = _of(evaluations, COMPLIANT)
    first = REGIONS[0]
    for rule_id in (
        "iam-root-access-key-check",
        "security-account-information-provided",  # the SECURITY contact is set
        "securityhub-enabled",
        "guardduty-enabled-centralized",
    ):
        assert (rule_id, ACCOUNT, first) in compliant
    for rule_id in (
        "mfa-enabled-for-iam-console-access",
        "iam-user-mfa-enabled",
        "iam-user-no-policies-check",
        "iam-user-group-membership-check",
        "access-keys-rotated",
        "iam-user-unused-credentials-check",
        "iam-user-unused-credentials-45-days",
        "iam-user-single-active-access-key",
        "iam-no-inline-policy-check",
    ):
        assert (rule_id, USER, "alice") in compliant  # MFA, in developers, nothing of her own
    for rule_id in (
        "access-keys-rotated",
        "iam-user-unused-credentials-check",
        "iam-user-single-active-access-key",
    ):
        assert (rule_id, USER, "bob") in compliant  # one fresh key
    assert ("iam-group-has-users-check", GROUP, "developers") in compliant
    assert ("iam-group-has-users-check", GROUP, "admins") in compliant
    assert ("iam-no-inline-policy-check", ROLE, "app-instance-role") in compliant
    first_estate = shared_seeded.estate.first
    assert ("guardduty-s3-protection-enabled", DETECTOR, first_estate.detector) in compliant  # S3Logs on
    for key_id in first_estate.keys.values():  # created with the default key policy (the account root)
        assert ("kms-key-policy-no-public-access", KEY, key_id) in compliant
    app = shared_seeded.estate.first.instances["app"]
    assert ("ec2-instance-profile-attached", INSTANCE, app) in compliant
    for rule_id in (
        "iam-policy-no-statements-with-admin-access",
        "iam-policy-no-statements-with-full-access",
        "iam-customer-policy-blocked-kms-actions",
    ):
        assert (rule_id, POLICY, "s3-read") in compliant
    # ci-deploy has no console password: the console MFA rule does not apply to it
    not_applicable = {_key(e) for e in evaluations if e.compliance == "NOT_APPLICABLE"}
    assert ("mfa-enabled-for-iam-console-access", USER, "ci-deploy") in not_applicable
