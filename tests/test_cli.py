"""The `vigil` command end to end: options, output formats, exit codes, messages.

Runs the Typer app in-process (CliRunner) against moto over HTTP; the demo and `python -m vigil`
run as real subprocesses.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import REGIONS, Account, Seeded
from vigil.aws.session import AwsSession
from vigil.cli import app
from vigil.demo import estate

runner = CliRunner()


def vigil(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def aws_args(account: Account) -> list[str]:
    return [
        "--endpoint-url",
        account.endpoint,
        "--role-arn",
        account.role_arn,
        "--regions",
        ",".join(REGIONS),
    ]


def test_help_reads_well() -> None:
    result = vigil("--help")
    assert result.exit_code == 0
    for command in (
        "scan",
        "resources",
        "show",
        "history",
        "graph",
        "rerecord",
        "scans",
        "import",
        "export",
        "evaluate",
        "findings",
        "report",
        "whatif",
        "rules",
        "archive",
        "logs",
        "config",
        "demo",
    ):
        assert command in result.output
    assert "Exit codes" in result.output
    scan_help = vigil("scan", "--help").output
    assert "--regions" in scan_help and "--stats" in scan_help and "exits 3" in scan_help
    assert vigil("--version").output.startswith("vigil ")
    import_help = vigil("import", "--help").output
    assert "s3://" in import_help and "snapshot files" in import_help and "exit code 3" in import_help
    export_help = vigil("export", "--help").output
    assert "--format" in export_help and "snapshot" in export_help and "AWSLogs" in export_help


def test_scan_then_explore(seeded: Seeded, tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    acct = seeded.account
    first = seeded.estate.first
    result = vigil("scan", *aws_args(acct), "--output", "json", "--stats", "--db", db)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "complete" and report["accountId"] == acct.account_id
    assert report["recorded"] >= 60 and report["counts"]["discovered"] == report["recorded"]
    assert {s["service"] for s in report["apiStats"]} >= {"ec2", "iam", "s3", "kms", "cloudtrail"}
    assert report["apiCallsTotal"] == sum(report["apiCalls"].values())
    from vigil.aws.resources import RESOURCE_TYPES

    assert len(report["units"]) == sum(
        1 if t.scope == "global" else len(REGIONS) for t in RESOURCE_TYPES.values()
    )
    assert all(u["status"] == "ok" and u["seconds"] >= 0 for u in report["units"])

    listed = json.loads(vigil("resources", "--db", db, "--output", "json").stdout)
    assert len(listed) == report["recorded"]
    assert {
        "version",
        "accountId",
        "resourceType",
        "resourceId",
        "configurationItemStatus",
        "relationships",
        "configuration",
        "supplementaryConfiguration",
    } <= set(listed[0])

    prod_groups = json.loads(
        vigil(
            "resources",
            "--db",
            db,
            "--type",
            "AWS::EC2::SecurityGroup",
            "--tag",
            "env=prod",
            "--region",
            first.region,
            "--output",
            "json",
        ).stdout
    )
    assert {g["resourceId"] for g in prod_groups} == set(first.groups.values())

    rows = list(
        csv.reader(
            io.StringIO(vigil("resources", "--db", db, "--type", "AWS::S3::Bucket", "--output", "csv").stdout)
        )
    )
    assert rows[0][:3] == ["resourceType", "resourceId", "resourceName"] and len(rows) == 1 + 4 * len(REGIONS)

    table = vigil("resources", "--db", db, "--type", "AWS::EC2::Instance", "--tag", "env=prod")
    assert table.exit_code == 0 and "web-0" in table.stdout

    shown = json.loads(vigil("show", first.groups["ssh_open"], "--db", db, "--output", "json").stdout)
    assert shown["resourceId"] == first.groups["ssh_open"] and shown["configuration"]["ipPermissions"]
    assert "Relationships" in vigil("show", first.instances["web"], "--db", db).stdout

    estate.make_mistakes(acct.client, seeded.estate)
    again = json.loads(vigil("scan", *aws_args(acct), "--output", "json", "--db", db).stdout)
    assert again["counts"]["changed"] == 2 and again["counts"]["deleted"] == 1

    history = json.loads(
        vigil("history", first.groups["web"], "--db", db, "--diff", "--output", "json").stdout
    )
    assert [h["configurationItemStatus"] for h in history] == ["ResourceDiscovered", "OK"]
    changes = history[1]["configurationItemDiff"]["changedProperties"]
    (created,) = changes.values()
    assert created["changeType"] == "CREATE" and created["updatedValue"]["fromPort"] == 22
    text = vigil("history", first.groups["web"], "--db", db, "--diff").stdout
    assert "Configuration.IpPermissions" in text and "CREATE" in text

    blast = json.loads(vigil("graph", first.groups["web"], "--db", db, "--output", "json").stdout)
    linked = {n["resourceId"] for n in blast["nodes"] if n["depth"] == 1}
    assert {first.vpc, first.instances["web"]} <= linked
    dot = vigil("graph", first.vpc, "--db", db, "--output", "dot").stdout
    assert dot.startswith("digraph") and first.public_subnet in dot
    assert "Blast radius" in vigil("graph", first.groups["web"], "--db", db, "--depth", "2").stdout

    runs = json.loads(vigil("scans", "--db", db, "--output", "json").stdout)
    assert [r["status"] for r in runs["scans"]] == ["complete", "complete"]

    out_file = tmp_path / "exports" / "cis.json"
    assert vigil("resources", "--db", db, "--output", "json", "--out", str(out_file)).exit_code == 0
    assert len(json.loads(out_file.read_text())) == report["recorded"] - 1

    redo = vigil(
        "rerecord",
        "AWS::EC2::SecurityGroup",
        first.groups["db"],
        "--db",
        db,
        "--output",
        "json",
        env={"VIGIL_AWS__ENDPOINT_URL": acct.endpoint, "VIGIL_AWS__ROLE_ARN": acct.role_arn},
    )
    assert redo.exit_code == 0, redo.output
    assert json.loads(redo.stdout)["counts"]["unchanged"] == 1


def test_partial_scan_exits_3_and_says_why(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.awsrequest import AWSResponse

    original = AwsSession.client

    def with_denied_kms(self: AwsSession, service: str, region: str | None = None) -> Any:
        client = original(self, service, region)
        if service == "kms":
            client.meta.events.register(
                "before-call.kms.ListKeys",
                lambda **_: (
                    AWSResponse("https://denied", 403, {}, None),
                    {
                        "Error": {"Code": "AccessDenied", "Message": "not allowed: kms:ListKeys"},
                        "ResponseMetadata": {"HTTPStatusCode": 403},
                    },
                ),
            )
        return client

    monkeypatch.setattr(AwsSession, "client", with_denied_kms)
    result = vigil(
        "scan", *aws_args(account), "--types", "AWS::KMS::Key,AWS::EC2::VPC", "--db", str(tmp_path / "p.db")
    )
    assert result.exit_code == 3
    assert "Could not read" in result.stdout and "AccessDenied" in result.stdout


def test_no_credentials_exits_5(moto_endpoint: str, tmp_path: Path) -> None:
    result = vigil(
        "scan", "--endpoint-url", moto_endpoint, "--regions", "us-east-1", "--db", str(tmp_path / "x.db")
    )
    assert result.exit_code == 5
    assert "no AWS credentials found" in result.stderr and "hint:" in result.stderr


def test_unwritable_store_exits_5(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = vigil("resources", "--db", str(blocker / "v.db"))
    assert result.exit_code == 5 and "cannot create the folder" in result.stderr


def test_unreachable_postgres_exits_5(tmp_path: Path) -> None:
    result = vigil("resources", "--db", "postgresql://vigil@127.0.0.1:1/vigil")
    assert result.exit_code == 5 and "cannot open the store" in result.stderr


def test_invalid_input_exits_2_with_where(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "bad.yaml"  # not ./vigil.yaml, which every command below would read
    config.parent.mkdir()
    config.write_text("aws:\n  regions: [moon-base]\n  concurency: 3\n")
    result = vigil("config", "validate", str(config))
    assert result.exit_code == 2
    assert f"{config}:2" in result.stderr and f"{config}:3" in result.stderr
    assert vigil("resources", "--type", "AWS::EC2::Spaceship", "--db", str(tmp_path / "a.db")).exit_code == 2
    missing = vigil("show", "sg-404", "--db", str(tmp_path / "a.db"))
    assert missing.exit_code == 2 and "no resource" in missing.stderr
    assert vigil("resources", "--tag", "=x", "--db", str(tmp_path / "a.db")).exit_code == 2
    bad_override = vigil("scan", "--concurrency", "0", "--db", str(tmp_path / "a.db"))
    assert bad_override.exit_code == 2 and "--concurrency" in bad_override.stderr


def test_config_commands_never_print_secrets(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(
        "db: postgresql://vigil:hunter2@db.internal/vigil\naws:\n  external_id: very-secret-id\n"
    )
    assert vigil("config", "validate", str(config)).exit_code == 0
    shown = vigil("config", "show", "--config", str(config), "--output", "json")
    assert shown.exit_code == 0
    assert "very-secret-id" not in shown.stdout and "hunter2" not in shown.stdout
    assert json.loads(shown.stdout)["aws"]["external_id"] == "********"
    schema = json.loads(vigil("config", "schema").stdout)
    assert schema["title"] == "vigil.yaml" and "aws" in schema["properties"]


def test_types_listing() -> None:
    listing = json.loads(vigil("resources", "--types", "--output", "json").stdout)
    assert {t["resourceType"] for t in listing} >= {
        "AWS::EC2::SecurityGroup",
        "AWS::S3::Bucket",
        "AWS::::Account",
    }
    assert all(t["changeEvents"] > 0 for t in listing)


def test_python_dash_m_and_empty_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "resources", "--db", str(tmp_path / "e.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and "No resources match" in done.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "AWS_"))}
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "demo", "--db", str(db)],
        capture_output=True,
        text=True,
        env=env | {"COLUMNS": "160"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    for step in (
        "Start the AWS emulator",
        "Record everything",
        "A careless afternoon",
        "What CloudTrail saw",
        "When each alarm fired",
        "Record again",
        "field by field",
        "Who is touched",
        "Who hears about it",
        "Report and take it out",
        "Try next",
    ):
        assert step in out
    assert "Configuration.IpPermissions" in out and "ResourceDeleted" in out and "BucketPolicy" in out
    assert "CIS AWS Foundations Benchmark v7.0:" in out and "findings opened by the changes" in out
    assert "resolved restricted-ssh on web-0" in out
    # the afternoon's CloudTrail records: the alarms the issue names fire, and the SSH change is traced
    for alarm in (
        "cis-5.3-root-usage",
        "cis-5.2-console-signin-without-mfa",
        "cis-5.1-unauthorized-api-calls",
    ):
        assert alarm in out
    assert "changed by user/dev-alice (AuthorizeSecurityGroupIngress" in out
    follow_up = subprocess.run(
        [sys.executable, "-m", "vigil", "scans", "--db", str(db), "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    runs = json.loads(follow_up.stdout)["scans"]
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("rerecord", "complete"),  # the automation's three fixes (revoke-ingress), newest first
        ("rerecord", "complete"),
        ("rerecord", "complete"),
        ("scan", "complete"),
        ("rerecord", "complete"),  # the change trigger of the CloudTrail step
        ("scan", "complete"),
    ]
    flat = " ".join(out.split())
    assert "each signature verified by the receiver" in flat and "3 to the automation subscription" in flat


def test_an_unexpected_error_exits_1_and_says_where_to_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil import engine

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "context", broken)
    result = vigil("resources")
    assert result.exit_code == 1
    assert "This is a bug in Vigil" in result.stderr and "boom" in result.stderr
