"""Remediation actions against the sample estate on moto: dry-run changes nothing, apply changes the
resource, and the incremental evaluation resolves the finding.

One estate, store and context per module (per test worker): each test acts on resources of its
own (a different group, bucket, key, trail, region's account item), so the tests do not interfere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from botocore.stub import Stubber
from typer.testing import CliRunner

import vigil.cli  # noqa: F401  (the shared options live there; imported before cli_remediate)
from conftest import Seeded
from vigil import engine
from vigil.cli_remediate import remediate_command
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.engine import Context
from vigil.errors import NotFoundError, UsageError
from vigil.remediate import ACTIONS
from vigil.remediate.actions import Plan, Step, call, fitting, plan_revoke_ingress, run_steps
from vigil.remediate.run import Record, remediate
from vigil.settings import LoadedSettings, Settings
from vigil.store import findings

# access keys in the estate are minutes old: a zero-day limit makes access-keys-rotated fire on them
RULE_PARAMETERS = {"access-keys-rotated": {"maxAccessKeyAge": 0}}


@dataclass
class Estate:
    seeded: Seeded
    ctx: Context
    db: Path

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return self.seeded.account.client(service, region)

    def finding(self, rule_id: str, resource_id: str, region: str | None = None) -> findings.Finding:
        with self.ctx.store.connect() as conn:
            found = [
                f
                for f in findings.query(conn, findings.FindingFilters(statuses=(), rules=(rule_id,)))
                if f.resource_id == resource_id and region in (None, f.region)
            ]
        assert len(found) == 1, f"{rule_id} on {resource_id}: {found}"
        return found[0]


@pytest.fixture(scope="module")
def estate(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    db = tmp_path_factory.mktemp("remediate") / "vigil.db"
    settings = Settings.model_validate(
        {
            "db": str(db),
            "aws": shared_seeded.account.settings().model_dump(),
            "rules": {"parameters": RULE_PARAMETERS},
        }
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
        ctx = Context(LoadedSettings(settings=settings))
        ctx.session.account_id()  # assume the role while the base credentials are in the environment
        report = engine.scan(ctx)
        assert report.errors == []
        engine.evaluate(ctx)
    yield Estate(shared_seeded, ctx, db)
    ctx.close()


def fix(
    estate: Estate,
    rule_id: str,
    resource_id: str,
    action: str,
    unchanged: Callable[[], bool],
    region: str | None = None,
    **params: str,
) -> tuple[Any, Any, list[Record]]:
    """Dry run, check that AWS did not change (``unchanged``), then apply; both results and what
    the journal received."""
    journal: list[Record] = []
    finding = estate.finding(rule_id, resource_id, region)
    assert finding.status == "open"
    dry = remediate(estate.ctx, finding.fingerprint, action, params=params, journal=journal.append)
    assert unchanged(), "the dry run changed the resource"
    done = remediate(
        estate.ctx, finding.fingerprint, action, params=params, apply=True, journal=journal.append
    )
    return dry, done, journal


def assert_resolved(dry: Any, done: Any, journal: list[Record]) -> None:
    assert dry.outcome is None and dry.resolved is None and dry.plan.steps
    assert journal[0].dry_run and journal[0].steps == () and journal[0].after_state_id is None
    assert done.ok, done.outcome.failure
    assert done.resolved is True, f"{done.finding.rule_id} still {done.status_after}"
    record = journal[1]
    assert not record.dry_run and record.ok and record.actor == "manual"
    assert (
        record.before_state_id and record.after_state_id and record.before_state_id != record.after_state_id
    )
    assert [r.step.operation for r in record.steps] == [s.operation for s in done.plan.steps]


# -- one test per action ------------------------------------------------------------------------


def test_revoke_ingress_revokes_ssh_from_the_world_and_resolves_restricted_ssh(estate: Estate) -> None:
    group = estate.seeded.estate.regions["us-east-1"].groups["ssh_open"]
    ec2 = estate.client("ec2")

    def world_ssh() -> list[Any]:
        perms = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
        return [
            p
            for p in perms
            if p.get("FromPort") == 22 and any(r["CidrIp"] == "0.0.0.0/0" for r in p["IpRanges"])
        ]

    assert world_ssh()
    dry, done, journal = fix(estate, "restricted-ssh", group, "revoke-ingress", lambda: bool(world_ssh()))
    assert [s.params for s in dry.plan.steps] == [
        {
            "GroupId": group,
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        }
    ]
    assert dry.plan.summary == f"would revoke tcp 22 from 0.0.0.0/0 on {group} (ssh-open-0)"
    assert_resolved(dry, done, journal)
    assert world_ssh() == []


def test_s3_default_encryption(estate: Estate) -> None:
    bucket = estate.seeded.estate.regions["us-east-1"].buckets["unencrypted"]
    s3 = estate.client("s3")

    def unencrypted() -> bool:
        try:
            s3.get_bucket_encryption(Bucket=bucket)
        except s3.exceptions.ClientError:
            return True
        return False

    assert unencrypted()
    rule = "s3-bucket-server-side-encryption-enabled"
    dry, done, journal = fix(estate, rule, bucket, "s3-default-encryption", unencrypted)
    assert dry.plan.steps[0].operation == "put_bucket_encryption"
    assert "would set default encryption AES256 on bucket" in dry.plan.summary
    assert_resolved(dry, done, journal)
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_s3_default_encryption_with_kms_for_the_kms_rule(estate: Estate) -> None:
    bucket = estate.seeded.estate.regions["eu-west-1"].buckets["public"]
    s3 = estate.client("s3", "eu-west-1")

    def not_kms() -> bool:
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except s3.exceptions.ClientError:
            return True
        return all(r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] != "aws:kms" for r in rules)

    dry, done, journal = fix(estate, "s3-default-encryption-kms", bucket, "s3-default-encryption", not_kms)
    rule = dry.plan.steps[0].params["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
        "BucketKeyEnabled": True,
    }
    assert_resolved(dry, done, journal)


def test_s3_block_public_access(estate: Estate) -> None:
    bucket = estate.seeded.estate.regions["us-east-1"].buckets["public"]
    s3 = estate.client("s3")

    def no_block() -> bool:
        try:
            s3.get_public_access_block(Bucket=bucket)
        except s3.exceptions.ClientError:
            return True
        return False

    assert no_block()
    rule = "s3-bucket-level-public-access-prohibited"
    dry, done, journal = fix(estate, rule, bucket, "s3-block-public-access", no_block)
    assert_resolved(dry, done, journal)
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    }


def test_account_block_public_access_resolves_every_region(estate: Estate) -> None:
    account = estate.seeded.estate.account_id
    control = estate.ctx.session.client("s3control")  # the session keeps the emulator's host for S3 Control

    def no_block() -> bool:
        try:
            control.get_public_access_block(AccountId=account)
        except control.exceptions.ClientError:
            return True
        return False

    assert no_block()
    rule = "s3-account-level-public-access-blocks-periodic"
    dry, done, journal = fix(estate, rule, account, "account-block-public-access", no_block, "us-east-1")
    assert dry.plan.steps[0].service == "s3control"
    assert_resolved(dry, done, journal)
    assert all(control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"].values())
    assert estate.finding(rule, account, "eu-west-1").status == "resolved"  # the setting is account-wide


def test_deactivate_access_key(estate: Estate) -> None:
    user = estate.seeded.estate.users["ci-deploy"]
    iam = estate.client("iam")
    with estate.ctx.store.connect() as conn:
        user_id = next(
            f.resource_id
            for f in findings.query(conn)
            if f.resource_name == user and f.rule_id == "access-keys-rotated"
        )

    def active() -> bool:
        return [k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == ["Active"]

    assert active()
    dry, done, journal = fix(estate, "access-keys-rotated", user_id, "deactivate-access-key", active)
    assert dry.plan.steps[0].params == {"UserName": user, "Status": "Inactive"}
    assert "every active access key of IAM user ci-deploy (slot 1)" in dry.plan.summary
    assert_resolved(dry, done, journal)
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Inactive"]
    assert journal[1].steps[0].step.params["AccessKeyId"] == keys[0]["AccessKeyId"]


def test_kms_enable_rotation(estate: Estate) -> None:
    key = estate.seeded.estate.regions["us-east-1"].keys["unrotated"]
    kms = estate.client("kms")

    def unrotated() -> bool:
        return kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False

    assert unrotated()
    dry, done, journal = fix(
        estate, "cmk-backing-key-rotation-enabled", key, "kms-enable-rotation", unrotated
    )
    assert dry.plan.steps[0].params == {"KeyId": key}
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    assert_resolved(dry, done, journal)


def test_ebs_encryption_by_default(estate: Estate) -> None:
    account = estate.seeded.estate.account_id
    ec2 = estate.client("ec2", "eu-west-1")

    def off() -> bool:
        return ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False

    assert off()
    dry, done, journal = fix(
        estate, "ec2-ebs-encryption-by-default", account, "ebs-encryption-by-default", off
    )
    assert dry.plan.summary == "would turn on EBS encryption by default in eu-west-1"
    assert_resolved(dry, done, journal)
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True


def test_trail_log_file_validation(estate: Estate) -> None:
    cloudtrail = estate.client("cloudtrail", "eu-west-1")

    def off() -> bool:
        return cloudtrail.get_trail(Name="team-local-trail")["Trail"]["LogFileValidationEnabled"] is False

    assert off()
    rule = "cloud-trail-log-file-validation-enabled"
    dry, done, journal = fix(estate, rule, "team-local-trail", "trail-log-file-validation", off)
    assert dry.plan.steps[0].params["EnableLogFileValidation"] is True
    assert_resolved(dry, done, journal)
    assert cloudtrail.get_trail(Name="team-local-trail")["Trail"]["LogFileValidationEnabled"] is True


def test_stop_instance_stops_it(estate: Estate) -> None:
    """No rule resolves when an instance stops (it is containment): the change is what is checked."""
    instance = estate.seeded.estate.regions["eu-west-1"].instances["web"]
    ec2 = estate.client("ec2", "eu-west-1")

    def state() -> str:
        return str(
            ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
        )

    finding = estate.finding("ec2-instance-profile-attached", instance)
    dry = remediate(estate.ctx, finding.fingerprint, "stop-instance")
    assert dry.plan.steps[0].params == {"InstanceIds": [instance]} and state() == "running"
    done = remediate(estate.ctx, finding.fingerprint, "stop-instance", apply=True)
    assert done.ok and state() in ("stopping", "stopped")


def test_tag_resource_merges_with_the_buckets_tags(estate: Estate) -> None:
    bucket = estate.seeded.estate.regions["us-east-1"].buckets["data"]
    s3 = estate.client("s3")
    before = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    finding = estate.finding("s3-bucket-logging-enabled", bucket)
    params = {"key": "quarantine", "value": "pending-review"}
    dry = remediate(estate.ctx, finding.fingerprint, "tag-resource", params=params)
    assert dry.plan.summary == f"would tag AWS::S3::Bucket {bucket} with quarantine=pending-review"
    done = remediate(estate.ctx, finding.fingerprint, "tag-resource", params=params, apply=True)
    assert done.ok
    after = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert after == before | {"quarantine": "pending-review"}


# -- choosing, errors, the CLI ------------------------------------------------------------------


def test_an_action_that_does_not_fit_lists_those_that_do(estate: Estate) -> None:
    group = estate.seeded.estate.regions["eu-west-1"].groups["rdp_open"]
    finding = estate.finding("restricted-rdp", group)
    with pytest.raises(UsageError) as err:
        remediate(estate.ctx, finding.fingerprint, "kms-enable-rotation")
    assert "does not fit" in err.value.message and "revoke-ingress" in err.value.hint
    with pytest.raises(UsageError, match="no parameter colour"):
        remediate(estate.ctx, finding.fingerprint, "revoke-ingress", params={"colour": "red"})
    with pytest.raises(NotFoundError):
        remediate(estate.ctx, "0" * 32, "revoke-ingress")
    # the rule's ports: only 3389 is revoked, and the rdp finding is what the plan is about
    plan = remediate(estate.ctx, finding.fingerprint[:10], "revoke-ingress").plan
    assert [s.params["IpPermissions"][0]["FromPort"] for s in plan.steps] == [3389]


def test_a_failed_call_is_reported_not_swallowed(estate: Estate) -> None:
    group = estate.seeded.estate.regions["eu-west-1"].groups["rdp_open"]
    finding = estate.finding("restricted-rdp", group)
    estate.client("ec2", "eu-west-1").delete_security_group(GroupId=group)  # gone since the scan
    done = remediate(estate.ctx, finding.fingerprint, "revoke-ingress", apply=True)
    assert not done.ok and done.resolved is False and done.status_after == "open"
    assert done.record.error is not None and done.record.error.startswith("InvalidGroup.NotFound")
    assert done.record.steps == () and done.record.before_state_id == done.record.after_state_id


def test_cli_lists_actions_dry_runs_and_applies(estate: Estate) -> None:
    group = estate.seeded.estate.regions["us-east-1"].groups["rdp_open"]
    finding = estate.finding("restricted-rdp", group)
    app = typer.Typer()
    app.command()(remediate_command)
    app.command("noop")(lambda: None)  # two commands: the first is a subcommand, not the app itself
    runner = CliRunner()
    base = [
        "remediate-command",
        finding.fingerprint,
        "--db",
        str(estate.db),
        "--endpoint-url",
        estate.seeded.account.endpoint,
        "--role-arn",
        estate.seeded.account.role_arn,
    ]
    env = {
        "AWS_ACCESS_KEY_ID": EMULATOR_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    listed = runner.invoke(app, [*base, "-o", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [a["name"] for a in orjson.loads(listed.stdout)] == ["revoke-ingress", "tag-resource"]

    wrong = runner.invoke(app, [*base, "--action", "stop-instance"], env=env)
    assert wrong.exit_code == 2 and "does not fit" in wrong.output

    dry = runner.invoke(app, [*base, "--action", "revoke-ingress"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.stdout and "revoke tcp 3389 from 0.0.0.0/0" in dry.stdout

    applied = runner.invoke(app, [*base, "--action", "revoke-ingress", "--apply", "-o", "json"], env=env)
    assert applied.exit_code == 0, applied.output
    result = orjson.loads(applied.stdout)
    assert result["applied"] and result["resolved"] and result["statusAfter"] == "resolved"

    missing = runner.invoke(app, [*base, "--action", "tag-resource"], env=env)
    assert missing.exit_code == 2 and "needs key" in missing.output

    no_credentials = runner.invoke(app, [*base, "--action", "revoke-ingress", "--apply"])
    assert no_credentials.exit_code == 5, no_credentials.output

    # the CLI's runs are in the store's journal: who, what, dry or applied, before and after
    from vigil.store import open_store
    from vigil.store.remediations import history

    store = open_store(estate.db)
    with store.connect() as conn:
        journal = history(conn, finding.fingerprint)
    store.close()
    assert [(r["action"], r["dryRun"], r["ok"]) for r in journal[:2]] == [
        ("revoke-ingress", False, True),
        ("revoke-ingress", True, True),
    ]
    assert journal[0]["actor"] == "manual" and journal[0]["beforeStateId"] != journal[0]["afterStateId"]


# -- pure parts -----------------------------------------------------------------------------------


def sg(*perms: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": "sg-1",
        "awsRegion": "us-east-1",
        "configuration": {"groupName": "web", "ipPermissions": list(perms)},
    }


def test_revoke_plan_picks_world_ranges_by_port() -> None:
    ci = sg(
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}]},
        {
            "ipProtocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "ipRanges": ["0.0.0.0/0"],
            "ipv6Ranges": [{"cidrIpv6": "::/0"}],
        },
        {"ipProtocol": "tcp", "fromPort": 3000, "toPort": 4000, "ipv6Ranges": [{"cidrIpv6": "::/0"}]},
        {"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
    )
    every = plan_revoke_ingress(ci, {})
    assert [s.description for s in every.steps] == [
        "revoke tcp 443 from 0.0.0.0/0 on sg-1 (web)",
        "revoke tcp 443 from ::/0 on sg-1 (web)",
        "revoke tcp 3000-4000 from ::/0 on sg-1 (web)",
        "revoke all traffic from 0.0.0.0/0 on sg-1 (web)",
    ]
    assert every.steps[3].params["IpPermissions"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]
    rdp = plan_revoke_ingress(ci, {"ports": "3389"})
    assert [s.description for s in rdp.steps][-2:] == [
        "revoke tcp 3000-4000 from ::/0 on sg-1 (web)",
        "revoke all traffic from 0.0.0.0/0 on sg-1 (web)",
    ]
    assert len(rdp.steps) == 2
    kept = plan_revoke_ingress(ci, {"except_ports": "80,443"})
    assert len(kept.steps) == 2
    assert plan_revoke_ingress(sg(), {}).steps == ()
    with pytest.raises(UsageError, match="not a port"):
        plan_revoke_ingress(ci, {"ports": "ssh"})


def test_every_action_names_real_rules_and_every_rule_action_exists() -> None:
    from vigil.aws.resources import RESOURCE_TYPES
    from vigil.rules.load import load

    rules = {r.id: r for r in load([], builtin=True, known_types=RESOURCE_TYPES).rules}
    for action in ACTIONS.values():
        assert set(action.rule_ids) <= set(rules) | {"s3-account-level-public-access-blocks"}, action.name
        assert set(action.rule_defaults) <= set(action.rule_ids), action.name
        assert set(action.resource_types) <= set(RESOURCE_TYPES), action.name
        assert action.calls, action.name
        for rule_id in action.rule_ids:
            if rule_id in rules:
                assert set(rules[rule_id].resource_types) & set(action.resource_types), (action.name, rule_id)
    for rule in rules.values():
        named = rule.remediation.action if rule.remediation else None
        if named:
            assert named in ACTIONS and ACTIONS[named].fits(rule.id, rule.resource_types[0]), rule.id
    assert [a.name for a in fitting("restricted-ssh", "AWS::EC2::SecurityGroup")] == [
        "revoke-ingress",
        "tag-resource",
    ]


def test_apply_reports_the_aws_error_of_a_step_with_stubber(estate: Estate) -> None:
    """The error path of ``call`` through a stubbed client: code and message reach the outcome."""
    session = estate.ctx.session
    client = session.client("s3control", "us-east-1")
    step = Step(
        "s3control",
        "us-east-1",
        "put_public_access_block",
        {"AccountId": "123456789012", "PublicAccessBlockConfiguration": {"BlockPublicAcls": True}},
        "x",
    )
    with Stubber(client) as stub:
        stub.add_client_error("put_public_access_block", "AccessDenied", "not allowed", 403)
        stub.add_response("put_public_access_block", {}, dict(step.params))
        plan = Plan(
            "account-block-public-access", "AWS::::Account", "123456789012", "us-east-1", (step, step), ""
        )
        outcome = run_steps(session, plan)
        assert outcome.failure is not None and outcome.failure.error == "AccessDenied: not allowed"
        assert len(outcome.results) == 1  # the run stopped at the failure
        assert call(session, step).ok
