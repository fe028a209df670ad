"""The recorder against moto: full scans, history across scans, failures, retries, targeted re-records.

Faults are injected at the HTTP edge, in botocore's own event hooks on Vigil's clients: an
AccessDenied answer for one service in one region (moto lets every call through), throttling for the
first attempts of a call. Everything else is real HTTP to the moto server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from conftest import REGIONS, Account, Seeded
from vigil.aws import recorder
from vigil.aws.recorder import Request
from vigil.aws.session import AwsSession
from vigil.demo import estate
from vigil.errors import NoCredentialsError
from vigil.model import DELETED, OK
from vigil.settings import AwsSettings
from vigil.store import Store, inventory, open_store, scans
from vigil.store.inventory import Filters


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "v.db")
    yield store
    store.close()


def deny(session: AwsSession, service: str, region: str, operation: str, code: str = "AccessDenied") -> None:
    """Make one operation answer like AWS does when the role lacks the permission."""

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {
            "Error": {"Code": code, "Message": f"User is not authorized to perform: {service}:{operation}"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return AWSResponse("https://denied", 403, {}, None), body

    session.client(service, region).meta.events.register(f"before-call.{service}.{operation}", answer)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def throttle(session: AwsSession, region: str, operation: str, times: int) -> list[int]:
    """EC2 answers RequestLimitExceeded to the first ``times`` attempts of an operation."""
    seen: list[int] = []
    body = (
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
        b"</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    )

    def answer(**_: Any) -> AWSResponse | None:
        seen.append(1)
        if len(seen) <= times:
            return AWSResponse("https://throttled", 503, {}, _Raw(body))
        return None

    session.client("ec2", region).meta.events.register(f"before-send.ec2.{operation}", answer)
    return seen


def ci_count(store: Store) -> int:
    from sqlalchemy import func, select

    from vigil.store.schema import configuration_items

    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(configuration_items)).scalar_one())


def test_second_scan_records_only_what_changed(seeded: Seeded, db: Store) -> None:
    session = seeded.account.session()
    first = recorder.scan(session, db)
    assert first.status == "complete" and first.totals.discovered == first.recorded
    changes = estate.make_mistakes(seeded.account.client, seeded.estate)
    second = recorder.scan(seeded.account.session(), db)
    assert (second.totals.discovered, second.totals.changed, second.totals.deleted) == (0, 2, 1)
    assert second.totals.unchanged + second.totals.refreshed == first.recorded - 1 - 2
    with db.connect() as conn:
        for change in changes:
            ref = inventory.find_one(conn, change.resource_id, resource_type=change.resource_type)
            statuses = [c.configurationItemStatus for c in inventory.history(conn, ref.pk)]
            assert statuses[-1] == (DELETED if change.resource_type == "AWS::EC2::Volume" else OK)
        bucket = inventory.latest(conn, inventory.find_one(conn, seeded.estate.first.buckets["data"]).pk)
        assert "PublicAccessBlockConfiguration" not in bucket.supplementaryConfiguration
        assert '"Principal":"*"' in bucket.supplementaryConfiguration["BucketPolicy"]["policyText"].replace(
            " ", ""
        )
        assert scans.get(conn, second.scan_id).counts == second.totals.as_dict()  # type: ignore[union-attr]


def test_access_denied_on_one_service_is_partial_and_deletes_nothing(seeded: Seeded, db: Store) -> None:
    recorder.scan(seeded.account.session(), db)
    session = seeded.account.session()
    deny(session, "kms", "us-east-1", "ListKeys")
    report = recorder.scan(session, db)
    assert report.partial and report.status == "partial"
    assert [(e.region, e.resource_type, e.code) for e in report.errors] == [
        ("us-east-1", "AWS::KMS::Key", "AccessDenied")
    ]
    assert "kms:ListKeys" in report.errors[0].message
    assert report.totals.deleted == 0
    with db.connect() as conn:
        keys = inventory.current(conn, Filters(types=("AWS::KMS::Key",), regions=("us-east-1",)))
        assert {seeded.estate.first.keys["rotated"], seeded.estate.first.keys["unrotated"]} <= {
            k.resourceId for k in keys
        }
        failing = scans.failing_units(conn)
        assert [(f.region, f.resource_type, f.code) for f in failing] == [
            ("us-east-1", "AWS::KMS::Key", "AccessDenied")
        ]
        assert scans.get(conn).status == "partial"  # type: ignore[union-attr]
        assert inventory.current(conn, Filters(types=("AWS::KMS::Key",), regions=("eu-west-1",)))
    healed = recorder.scan(seeded.account.session(), db)
    assert healed.status == "complete"
    with db.connect() as conn:
        assert scans.failing_units(conn) == []


def test_one_bucket_refused_keeps_its_previous_ci(seeded: Seeded, db: Store) -> None:
    recorder.scan(seeded.account.session(), db)
    bucket = seeded.estate.first.buckets["data"]
    estate.make_mistakes(seeded.account.client, seeded.estate)
    session = seeded.account.session()
    s3 = session.client("s3", "us-east-1")

    def refuse_policy(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # ``params`` is the serialised request here: the bucket is in its URL
        if bucket in f"{params.get('url', '')} {params.get('url_path', '')}":
            return AWSResponse("https://denied", 403, {}, None), {
                "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
        return None

    s3.meta.events.register("before-call.s3.GetBucketPolicy", refuse_policy)
    report = recorder.scan(session, db)
    assert [(e.resource_id, e.code) for e in report.errors] == [(bucket, "AccessDenied")]
    assert report.totals.deleted == 1  # the volume the mistakes deleted; the refused bucket is kept
    with db.connect() as conn:
        ref = inventory.find_one(conn, bucket)
        assert len(inventory.history(conn, ref.pk)) == 1
        assert not ref.deleted


def test_throttling_is_retried(seeded: Seeded, db: Store) -> None:
    session = seeded.account.session()
    seen = throttle(session, "us-east-1", "DescribeVpcs", times=2)
    report = recorder.scan(session, db, types=["AWS::EC2::VPC"])
    assert report.status == "complete" and len(seen) == 3
    assert session.stats.retries >= 2
    assert len([o for o in report.outcomes if o.found]) == len(REGIONS)


def test_types_and_exclusions_limit_the_units(seeded: Seeded, db: Store) -> None:
    report = recorder.scan(
        seeded.account.session(), db, types=["AWS::EC2::VPC", "AWS::IAM::User"], exclude=["AWS::IAM::User"]
    )
    assert {o.unit.rtype.name for o in report.outcomes} == {"AWS::EC2::VPC"}
    assert set(report.api_calls) <= {"ec2", "sts"}


def test_rerecord_touches_only_the_requested_resources(seeded: Seeded, db: Store) -> None:
    recorder.scan(seeded.account.session(), db)
    before = ci_count(db)
    first = seeded.estate.first
    ec2 = seeded.account.client("ec2", first.region)
    ec2.authorize_security_group_ingress(
        GroupId=first.groups["admin"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    ec2.delete_volume(VolumeId=first.volumes["scratch_unencrypted"])
    seeded.account.client("iam").tag_user(UserName="bob", Tags=[{"Key": "team", "Value": "payments"}])
    report = recorder.rerecord(
        seeded.account.session(),
        db,
        [
            Request("AWS::EC2::SecurityGroup", first.region, first.groups["admin"]),
            Request("AWS::EC2::Volume", "*", first.volumes["scratch_unencrypted"]),
            Request("AWS::IAM::User", "us-east-1", "bob"),  # by name, as CloudTrail gives it
        ],
    )
    assert report.kind == "rerecord" and report.status == "complete"
    assert (report.totals.changed, report.totals.deleted) == (2, 1)
    assert ci_count(db) == before + 3
    with db.connect() as conn:
        volume = inventory.find_one(conn, first.volumes["scratch_unencrypted"])
        assert volume.deleted and volume.key.awsRegion == first.region
        bob = inventory.latest(conn, inventory.find_one(conn, "bob").pk)
        assert bob.tags["team"] == "payments"
        other = inventory.find_one(conn, first.volumes["data_encrypted"])
        assert len(inventory.history(conn, other.pk)) == 1


def test_rerecord_of_an_unknown_new_resource_records_it(seeded: Seeded, db: Store) -> None:
    recorder.scan(seeded.account.session(), db, types=["AWS::EC2::SecurityGroup"])
    first = seeded.estate.first
    gid = seeded.account.client("ec2", first.region).create_security_group(
        GroupName="late", Description="created after the scan", VpcId=first.vpc
    )["GroupId"]
    report = recorder.rerecord(
        seeded.account.session(), db, [Request("AWS::EC2::SecurityGroup", first.region, gid)]
    )
    assert report.totals.discovered == 1
    with db.connect() as conn:
        assert inventory.find_one(conn, gid).status == "ResourceDiscovered"


def test_no_credentials_is_a_clear_error(moto_endpoint: str) -> None:
    session = AwsSession(AwsSettings(endpoint_url=moto_endpoint, regions=REGIONS))
    with pytest.raises(NoCredentialsError, match="no AWS credentials found") as err:
        session.account_id()
    assert "aws configure" in err.value.hint


def test_assumed_role_with_external_id(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_EXTERNAL_ID", "shared-secret-7")
    sent: list[dict[str, Any]] = []
    import boto3

    original = boto3.Session.client

    def spy(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        if service == "sts":
            client.meta.events.register(
                "provide-client-params.sts.AssumeRole", lambda params, **_: sent.append(params)
            )
        return client

    monkeypatch.setattr(boto3.Session, "client", spy)
    session = account.session(external_id="env:AUDIT_EXTERNAL_ID", role_session_name="vigil-test")
    assert session.account_id() == account.account_id
    assert sent[0]["ExternalId"] == "shared-secret-7" and sent[0]["RoleSessionName"] == "vigil-test"
    assert sent[0]["RoleArn"] == account.role_arn


def test_default_regions_are_the_enabled_ones(account: Account) -> None:
    session = account.session(regions=[])
    regions = session.regions()
    assert "us-east-1" in regions and "eu-west-1" in regions
    assert "ap-east-1" not in regions  # moto marks it not-opted-in, as AWS does by default
    assert regions == sorted(regions)


def test_api_calls_are_counted_per_service(account: Account) -> None:
    session = account.session()
    session.client("ec2", "us-east-1").describe_vpcs()
    session.client("ec2", "eu-west-1").describe_vpcs()
    session.client("s3").list_buckets()
    table = {svc: calls for svc, calls, _, _ in session.stats.table()}
    assert table["ec2"] == 2 and table["s3"] == 1 and table["sts"] >= 1


def test_throttling_exception_on_a_json_service_is_retried(account: Account, db: Store) -> None:
    """KMS speaks JSON and says ``ThrottlingException`` (EC2's XML ``RequestLimitExceeded`` is above)."""
    for region in REGIONS:
        account.client("kms", region).create_key(Description="throttled")
    session = account.session(max_attempts=5)
    seen: list[int] = []

    def answer(**_: Any) -> AWSResponse | None:
        seen.append(1)
        if len(seen) <= 3:
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            return AWSResponse("https://throttled", 400, {"x-amzn-requestid": "r-1"}, _Raw(body))
        return None

    session.client("kms", "eu-west-1").meta.events.register("before-send.kms.ListKeys", answer)
    report = recorder.scan(session, db, types=["AWS::KMS::Key"])
    assert report.errors == [] and report.status == "complete"
    assert len(seen) == 4  # three throttled attempts, then the answer
    assert session.stats.retries >= 3
    with db.connect() as conn:
        regions = {c.awsRegion for c in inventory.current(conn, Filters(types=("AWS::KMS::Key",)))}
    assert regions == set(REGIONS)


def test_a_role_that_cannot_be_assumed_says_what_to_check(
    account: Account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """moto lets any role be assumed, so the refusal AWS would give is injected into STS's answer."""
    import boto3

    original = boto3.Session.client

    def refuse(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {
            "Error": {
                "Code": "AccessDenied",
                "Message": f"User: arn:aws:iam::{account.account_id}:user/auditor is not authorized to perform: "
                f"sts:AssumeRole on resource: {account.role_arn}",
            },
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return AWSResponse("https://sts", 403, {}, None), body

    def spy(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service, *args, **kwargs)
        if service == "sts":
            client.meta.events.register("before-call.sts.AssumeRole", refuse)
        return client

    monkeypatch.setattr(boto3.Session, "client", spy)
    with pytest.raises(NoCredentialsError) as err:
        account.session(external_id="wrong-id").account_id()
    assert str(err.value.message) == (
        f"cannot assume {account.role_arn}: AccessDenied: User: arn:aws:iam::{account.account_id}:user/auditor "
        f"is not authorized to perform: sts:AssumeRole on resource: {account.role_arn}"
    )
    assert "trust policy" in err.value.hint and "external id" in err.value.hint
    # the command line turns it into exit code 5 and the same message, without a traceback
    from typer.testing import CliRunner

    from vigil.cli import app

    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--endpoint-url",
            account.endpoint,
            "--role-arn",
            account.role_arn,
            "--regions",
            "us-east-1",
            "--db",
            str(tmp_path / "v.db"),
        ],
    )
    assert result.exit_code == 5, result.output
    assert "cannot assume" in result.output and "AccessDenied" in result.output
    assert "Traceback" not in result.output
