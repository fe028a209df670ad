"""`vigil alarms import`: an account's metric filters and alarms, read from moto over HTTP, stored
so that they run locally; what cannot run is said, with the reason.

moto 5.2 has no PutCompositeAlarm over HTTP, but its DescribeAlarms returns composite alarms; they
are seeded through moto's backend in this process (the server runs here), the rest through boto3.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from conftest import Account
from vigil import engine_events
from vigil.alarms.importer import (
    ALARM,
    COMPOSITE,
    FILTER,
    Fetched,
    Note,
    RegionRead,
    import_definitions,
    plan_import,
)
from vigil.aws.session import AwsSession
from vigil.cli import app
from vigil.engine import Context
from vigil.settings import LoadedSettings, Settings
from vigil.store import alarms as alarm_store

runner = CliRunner()
DEFAULT_GROUP = "aws-cloudtrail-logs-vigil"
TRAIL_GROUP = "CloudTrail/Default"
ROOT_PATTERN = '{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }'


def alarm(name: str, namespace: str, metric: str, **over: Any) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "Namespace": namespace,
        "MetricName": metric,
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    } | over


def put_composite_alarm(account: Account, region: str, name: str, rule: str) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    none: dict[str, Any] = dict.fromkeys(
        ("namespace", "metric_name", "comparison_operator", "evaluation_periods", "period", "threshold")
    )
    cloudwatch_backends[account.account_id][region].put_metric_alarm(
        name=name,
        statistic=None,  # type: ignore[arg-type]
        description=f"{name} (composite)",
        dimensions=[],
        alarm_actions=[f"arn:aws:sns:{region}:{account.account_id}:security"],
        rule=rule,
        **none,
    )


def seed(account: Account) -> None:
    """us-east-1: a root filter and its alarm, an EC2 alarm, metric math, a percentile, two
    composites; eu-west-1: one alarm on the same metric."""
    logs = account.client("logs", "us-east-1")
    logs.create_log_group(logGroupName=TRAIL_GROUP)
    logs.put_metric_filter(
        logGroupName=TRAIL_GROUP,
        filterName="RootUsage",
        filterPattern=ROOT_PATTERN,
        metricTransformations=[
            {"metricName": "RootCount", "metricNamespace": "Security", "metricValue": "1"}
        ],
    )
    cw = account.client("cloudwatch", "us-east-1")
    cw.put_metric_alarm(
        **alarm(
            "root-usage",
            "Security",
            "RootCount",
            AlarmActions=[f"arn:aws:sns:us-east-1:{account.account_id}:security"],
        )
    )
    cw.put_metric_alarm(
        **alarm(
            "cpu-high",
            "AWS/EC2",
            "CPUUtilization",
            Statistic="Average",
            Threshold=80.0,
            Dimensions=[{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
        )
    )
    cw.put_metric_alarm(
        AlarmName="cpu-doubled",
        EvaluationPeriods=1,
        Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True},
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"},
                    "Period": 60,
                    "Stat": "Average",
                },
                "ReturnData": False,
            },
        ],
    )
    p99 = alarm("latency-p99", "AWS/ApplicationELB", "TargetResponseTime", ExtendedStatistic="p99")
    del p99["Statistic"]
    cw.put_metric_alarm(**p99)
    put_composite_alarm(account, "us-east-1", "root-or-cpu", "ALARM(root-usage) OR ALARM(cpu-high)")
    put_composite_alarm(account, "us-east-1", "math-and-root", 'ALARM("cpu-doubled") AND ALARM(root-usage)')
    account.client("cloudwatch", "eu-west-1").put_metric_alarm(**alarm("eu-root", "Security", "RootCount"))


def make_ctx(account: Account, tmp_path: Path) -> Context:
    settings = Settings.model_validate(
        {"db": str(tmp_path / "vigil.db"), "aws": account.settings().model_dump()}
    )
    return Context(LoadedSettings(settings=settings))


def notes(items: tuple[Note, ...]) -> dict[str, str]:
    return {n.name: n.message for n in items}


def test_import_stores_what_runs_and_says_why_the_rest_does_not(account: Account, tmp_path: Path) -> None:
    seed(account)
    acct = account.account_id
    with make_ctx(account, tmp_path) as ctx:
        plan = import_definitions(ctx, now=datetime(2025, 5, 1, tzinfo=UTC))
        assert plan.imported(FILTER) == [("us-east-1", "RootUsage")]
        assert plan.imported(ALARM) == [
            ("us-east-1", "cpu-high"),
            ("us-east-1", "root-usage"),
            ("eu-west-1", "eu-root"),
        ]
        assert plan.imported(COMPOSITE) == [("us-east-1", "root-or-cpu")]
        skipped = notes(plan.skipped)
        assert set(skipped) == {"cpu-doubled", "latency-p99", "math-and-root"}
        assert "Vigil does not evaluate metric-math alarms (Metrics) yet" in skipped["cpu-doubled"]
        assert "Vigil does not evaluate percentile alarms (ExtendedStatistic) yet" in skipped["latency-p99"]
        assert skipped["math-and-root"] == (
            "its rule names alarms that are not imported or not evaluated here: cpu-doubled"
        )
        warnings = notes(plan.warnings)
        assert set(warnings) == {"cpu-high", "RootUsage"}
        assert warnings["cpu-high"] == (
            "no local datapoints: metric AWS/EC2 CPUUtilization (InstanceId=i-0123456789abcdef0) "
            "is not published by any metric filter"
        )
        assert warnings["RootUsage"].startswith(
            f"watches log group {TRAIL_GROUP}, which no trail delivers to"
        )
        assert f"log_group: {TRAIL_GROUP}" in warnings["RootUsage"]
        assert f"--log-group {DEFAULT_GROUP}" in warnings["RootUsage"]
        assert plan.unreadable == () and not plan.partial

        cat = engine_events.catalog(ctx)
        origins = {n: cat.origins[n] for n in ("root-usage", "cpu-high", "eu-root", "root-or-cpu")}
        assert origins == {
            "root-usage": f"import:{acct}/us-east-1",
            "cpu-high": f"import:{acct}/us-east-1",
            "eu-root": f"import:{acct}/eu-west-1",
            "root-or-cpu": f"import:{acct}/us-east-1",
        }
        root = cat.alarm("root-usage")
        assert root is not None and root.alarm_actions == (f"arn:aws:sns:us-east-1:{acct}:security",)
        imported_filter = next(f for f in cat.filters if f.name == "RootUsage")
        assert (imported_filter.log_group, imported_filter.pattern_text) == (TRAIL_GROUP, ROOT_PATTERN)
        with ctx.store.connect() as conn:
            stored = alarm_store.load_definitions(conn, ALARM)
        body = next(b for n, b, _ in stored if n == "root-usage")
        assert isinstance(body["AlarmConfigurationUpdatedTimestamp"], str)  # JSON-safe, as AWS gave it


def test_importing_again_replaces_the_previous_import(account: Account, tmp_path: Path) -> None:
    seed(account)
    with make_ctx(account, tmp_path) as ctx:
        import_definitions(ctx)
        account.client("cloudwatch", "us-east-1").delete_alarms(AlarmNames=["cpu-high"])
        account.client("logs", "us-east-1").put_metric_filter(
            logGroupName=TRAIL_GROUP,
            filterName="ConsoleNoMfa",
            filterPattern='{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed != "Yes" }',
            metricTransformations=[
                {"metricName": "NoMfa", "metricNamespace": "Security", "metricValue": "1"}
            ],
        )
        plan = import_definitions(ctx)
        assert "root-or-cpu" in notes(plan.skipped)  # its child cpu-high is gone
        with ctx.store.connect() as conn:
            kinds = {kind: alarm_store.load_definitions(conn, kind) for kind in (FILTER, ALARM, COMPOSITE)}
    assert {kind: [n for n, _, _ in rows] for kind, rows in kinds.items()} == {
        FILTER: ["ConsoleNoMfa", "RootUsage"],
        ALARM: ["eu-root", "root-usage"],
        COMPOSITE: [],
    }


def denied_in(region: str, service: str, operation: str) -> Any:
    """``AwsSession.client`` answering AccessDenied for one (service, region)."""
    real = AwsSession.client

    def client(self: AwsSession, name: str, where: str | None = None) -> Any:
        if (name, where) != (service, region):
            return real(self, name, where)
        stubbed = boto3.client(name, region_name=region)
        stubber = Stubber(stubbed)
        stubber.add_client_error(
            operation,
            service_error_code="AccessDenied",
            service_message=f"User is not authorized to perform: {service}:{operation}",
            http_status_code=403,
        )
        stubber.activate()
        return stubbed

    return client


def import_args(account: Account, db: Path, *extra: str) -> list[str]:
    return [
        "alarms",
        "import",
        "--endpoint-url",
        account.endpoint,
        "--role-arn",
        account.role_arn,
        "--region",
        "us-east-1,eu-west-1",
        "--db",
        str(db),
        *extra,
    ]


def test_a_region_that_cannot_be_read_is_reported_and_keeps_its_previous_import(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(account)
    db = tmp_path / "vigil.db"
    first = runner.invoke(app, import_args(account, db))
    assert first.exit_code == 0, first.output
    assert f"Imported from account {account.account_id}" in first.stdout
    assert "Will not run locally as in AWS" in first.stdout
    account.client("cloudwatch", "eu-west-1").delete_alarms(AlarmNames=["eu-root"])
    monkeypatch.setattr(AwsSession, "client", denied_in("eu-west-1", "cloudwatch", "describe_alarms"))
    result = runner.invoke(app, import_args(account, db, "-o", "json"))
    assert result.exit_code == 3, result.output
    out = json.loads(result.stdout)
    assert out["unreadable"] == [
        {
            "region": "eu-west-1",
            "service": "cloudwatch",
            "code": "AccessDenied",
            "message": "User is not authorized to perform: cloudwatch:describe_alarms",
        }
    ]
    assert [a["name"] for a in out["imported"]["metricAlarms"]] == ["cpu-high", "root-usage"]
    listed = runner.invoke(app, ["alarms", "list", "--origin", "import", "--db", str(db), "-o", "json"])
    assert listed.exit_code == 0, listed.output
    names = {a["AlarmName"] for a in json.loads(listed.stdout)["MetricAlarms"]}
    assert names == {"cpu-high", "root-usage", "eu-root"}  # eu-root: not seen, so not deleted


def test_a_retargeted_filter_counts_ingested_events(account: Account, tmp_path: Path) -> None:
    seed(account)
    db = tmp_path / "vigil.db"
    result = runner.invoke(app, import_args(account, db, "--log-group", DEFAULT_GROUP, "-o", "json"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [(w["kind"], w["name"]) for w in out["warnings"]] == [("alarm", "cpu-high")]  # the filter runs
    assert {(n["name"], n["region"]) for n in out["notImported"]} == {
        ("cpu-doubled", "us-east-1"),
        ("latency-p99", "us-east-1"),
        ("math-and-root", "us-east-1"),
    }

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    last_period = now - timedelta(seconds=now.timestamp() % 300) - timedelta(minutes=5)
    records = tmp_path / "root.json"
    records.write_bytes(orjson.dumps({"Records": [root_record(last_period + timedelta(seconds=30))]}))
    ingested = runner.invoke(app, ["ingest", str(records), "--db", str(db), "-q"])
    assert ingested.exit_code == 0, ingested.output

    described = runner.invoke(app, ["alarms", "describe", "root-usage", "--db", str(db), "-o", "json"])
    assert described.exit_code == 0, described.output
    out = json.loads(described.stdout)
    assert out["MetricAlarms"][0]["StateValue"] == "ALARM"  # ingest evaluated it
    assert out["MetricAlarms"][0]["VigilOrigin"] == f"import:{account.account_id}/us-east-1"
    assert (
        out["MetricAlarms"][0]["AlarmArn"]
        == f"arn:aws:cloudwatch:us-east-1:{account.account_id}:alarm:root-usage"
    )
    breaching = [p for p in out["VigilDatapoints"] if p["Classification"] == "breaching"]
    assert [(p["Timestamp"], p["Value"], p["Evaluated"]) for p in breaching] == [
        (last_period.isoformat(), 1.0, True)
    ]


def root_record(when: datetime) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventID": str(uuid.uuid4()),
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "userIdentity": {
            "type": "Root",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
        },
    }


# -- the plan alone (no AWS) ---------------------------------------------------------------------


def mf(name: str, group: str, metric: str = "RootCount") -> dict[str, Any]:
    return {
        "filterName": name,
        "logGroupName": group,
        "filterPattern": ROOT_PATTERN,
        "metricTransformations": [{"metricName": metric, "metricNamespace": "Security", "metricValue": "1"}],
    }


def test_the_same_filter_in_two_regions_is_imported_once_and_names_stay_unique() -> None:
    fetched = Fetched(
        "111122223333",
        (
            RegionRead("us-east-1", (mf("Root", "trail-a"),), (alarm("root", "Security", "RootCount"),), ()),
            RegionRead(
                "eu-west-1",
                (mf("Root", "trail-b"), mf("Other", "trail-c", "Other")),
                (
                    alarm("root", "Security", "RootCount"),
                    alarm("vigil-root-activity", "Security", "RootCount"),
                ),
                ({"AlarmName": "chain", "AlarmRule": "ALARM(root)"},),
            ),
        ),
    )
    plan = plan_import(
        fetched,
        local_alarms={"vigil-root-activity": "monitoring pack"},
        trail_log_groups={DEFAULT_GROUP},
        log_group=DEFAULT_GROUP,
    )
    assert plan.imported(FILTER) == [("us-east-1", "Root"), ("eu-west-1", "Other")]
    assert plan.imported(ALARM) == [("us-east-1", "root")]
    assert plan.imported(COMPOSITE) == [("eu-west-1", "chain")]
    assert [(n.kind, n.name, n.region) for n in plan.skipped] == [
        (FILTER, "Root", "eu-west-1"),
        (ALARM, "root", "eu-west-1"),
        (ALARM, "vigil-root-activity", "eu-west-1"),
    ]
    assert "imported once so that events are not counted twice" in plan.skipped[0].message
    assert "was imported from us-east-1 already" in plan.skipped[1].message
    assert "defined by the monitoring pack; that one is kept" in plan.skipped[2].message
    assert plan.warnings == ()  # re-targeted onto a trail's log group; the alarm's metric is published
    bodies = plan.regions[1].bodies[FILTER]
    assert bodies is not None and bodies["Other"]["logGroupName"] == DEFAULT_GROUP


def test_a_composite_stranded_by_a_dropped_child_is_dropped_too() -> None:
    fetched = Fetched(
        "111122223333",
        (
            RegionRead(
                "us-east-1",
                (),
                (alarm("p", "Security", "X", Statistic="p99"),),
                (
                    {"AlarmName": "outer", "AlarmRule": "ALARM(inner) OR ALARM(vigil-root-activity)"},
                    {"AlarmName": "inner", "AlarmRule": "ALARM(p)"},
                ),
            ),
        ),
    )
    plan = plan_import(fetched, local_alarms={"vigil-root-activity": "monitoring pack"})
    assert plan.imported(COMPOSITE) == []
    assert {n.name: n.message for n in plan.skipped if n.kind == COMPOSITE} == {
        "inner": "its rule names alarms that are not imported or not evaluated here: p",
        "outer": "its rule names alarms that are not imported or not evaluated here: inner",
    }


def test_a_service_that_was_not_read_leaves_its_kind_alone() -> None:
    plan = plan_import(Fetched("1", (RegionRead("us-east-1", None, (), ()),)))
    assert plan.regions[0].bodies == {FILTER: None, ALARM: {}, COMPOSITE: {}}


def test_another_accounts_alarms_of_the_same_name_do_not_replace_the_first_import(
    account: Account, tmp_path: Path, moto_endpoint: str
) -> None:
    from conftest import new_account

    other = new_account(moto_endpoint)
    for a in (account, other):
        a.client("cloudwatch", "us-east-1").put_metric_alarm(
            AlarmName="shared-name",
            Namespace="Security",
            MetricName=f"Count{a.account_id[-4:]}",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    with make_ctx(account, tmp_path) as ctx:
        import_definitions(ctx, regions=["us-east-1"])
    with make_ctx(other, tmp_path) as ctx:
        plan = import_definitions(ctx, regions=["us-east-1"])
        with ctx.store.connect() as conn:
            stored = alarm_store.load_definitions(conn, ALARM)
    assert f"earlier import:{account.account_id}/us-east-1" in notes(plan.skipped)["shared-name"]
    assert [(name, origin) for name, _, origin in stored] == [
        ("shared-name", f"import:{account.account_id}/us-east-1")
    ]
