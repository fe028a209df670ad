"""The rule commands end to end: validating broken packs, scanning and evaluating, findings that open
and resolve as the account changes, --fail-on, and INSUFFICIENT_DATA when a collection fails."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from conftest import REGIONS, Seeded
from test_recorder import deny
from vigil import engine
from vigil.aws import recorder
from vigil.cli import app
from vigil.model import INSUFFICIENT_DATA, ResourceKey
from vigil.store import open_store

runner = CliRunner()

BROKEN_PACK = """\
pack: broken
rules:
  - id: one
    title: First
    rationale: r
    resource_types: [AWS::EC2::Volume]
    severity: medium
    condition: {key: configuration.encrypted, op: equals, value: true}
    remediation: fix
    examples: []
  - id: one
    title: Duplicate id
    rationale: r
    resource_types: [AWS::EC2::Volume]
    severity: medium
    condition: {key: "configuration.[encrypted", op: eq, value: true}
    remediation: fix
  - id: three
    title: Unknown parameter, wrong value type
    rationale: r
    resource_types: [AWS::EC2::Volume]
    severity: medium
    parameters:
      maxAge: {type: int, default: ninety}
    condition:
      all:
        - {key: configuration.size, op: gt, value: {param: minimumSize}}
        - {key: configuration.createTime, op: gt, value: ninety days, value_type: age}
    remediation: fix
  - id: four
    title: Unknown field and type
    rationale: r
    resource_types: [AWS::EC2::Volumes]
    severity: urgent
    colour: blue
    check: no-such-check
    remediation: fix
"""
BROKEN_YAML = """\
pack: bad-yaml
rules:
  - id: x
    title: [unclosed
"""


def test_validate_lists_every_problem_with_file_and_line_and_exits_2(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "broken.yaml").write_text(BROKEN_PACK)
    (packs / "bad-yaml.yaml").write_text(BROKEN_YAML)
    result = runner.invoke(app, ["rules", "validate", str(packs)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    broken, bad = packs / "broken.yaml", packs / "bad-yaml.yaml"
    expected = [
        f"{broken}:8: unknown operator 'equals'",
        f"{broken}:11: duplicate rule id 'one' (also at line 3)",
        f"{broken}:16: invalid JMESPath 'configuration.[encrypted'",
        f"{broken}:24: parameter maxAge must be int, not 'ninety'",
        f"{broken}:27: unknown parameter 'minimumSize'",
        f"{broken}:28: 'ninety days' is not an age",
        f"{broken}:33: unknown resource type 'AWS::EC2::Volumes'",
        f"{broken}:34: unknown severity 'urgent'",
        f"{broken}:35: unknown field 'colour'",
        f"{broken}:36: unknown check 'no-such-check'",
        f"{bad}:5: not valid YAML",
    ]
    missing = [e for e in expected if e not in out]
    assert missing == [], out
    assert "hint" in out


def vigil(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_scan_evaluates_and_a_finding_opens_and_resolves(seeded: Seeded, tmp_path: Path) -> None:
    acct = seeded.account
    first = seeded.estate.first
    db = str(tmp_path / "v.db")
    aws = ["--endpoint-url", acct.endpoint, "--role-arn", acct.role_arn, "--regions", ",".join(REGIONS)]
    bucket = f"vigil-archive-{seeded.estate.account_id}"
    acct.client("s3", "us-east-1").create_bucket(Bucket=bucket)
    result = vigil("scan", *aws, "--db", db, "-q", "--archive", str(tmp_path / "archive"))
    assert result.exit_code == 0, result.output
    assert (
        "Evaluated" in result.output
        and "findings:" in result.output
        and "archived as 000001-" in result.output
    )
    assert vigil("scan", *aws, "--db", db, "-q", "--archive", f"s3://{bucket}/runs").exit_code == 0
    keys = [o["Key"] for o in acct.client("s3", "us-east-1").list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.endswith("/manifest.json") for k in keys) and any("/ConfigSnapshot/" in k for k in keys)
    assert sum(k.endswith("report-cis-aws-7.0.json") for k in keys) == 1

    found = json.loads(vigil("findings", "--db", db, "--rule", "restricted-ssh", "-o", "json").stdout)
    required = {
        "rule_id",
        "resource_type",
        "resource_id",
        "region",
        "account_id",
        "severity",
        "status",
        "compliance_type",
        "annotation",
        "controls",
    }
    assert found and all(required <= set(f) for f in found)
    open_ssh = {(f["region"], f["resource_id"]) for f in found}
    assert (first.region, first.groups["ssh_open"]) in open_ssh
    assert (first.region, first.groups["web"]) not in open_ssh  # 80/443 only, for now

    ec2 = acct.client("ec2", first.region)
    web = first.groups["web"]
    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[rule])
    result = vigil("scan", *aws, "--db", db, "-q", "--fail-on", "high")
    assert result.exit_code == 4, result.output
    opened = json.loads(vigil("findings", "--db", db, "--rule", "restricted-ssh", "-o", "json").stdout)
    (web_finding,) = [f for f in opened if f["resource_id"] == web]
    assert "0.0.0.0/0" in web_finding["annotation"] and "22" in web_finding["annotation"]
    assert web_finding["severity"] == "high" and web_finding["status"] == "open"

    ec2.revoke_security_group_ingress(GroupId=web, IpPermissions=[rule])
    vigil("scan", *aws, "--db", db, "-q")
    resolved = json.loads(vigil("findings", "--db", db, "--status", "resolved", "-o", "json").stdout)
    assert [f["resource_id"] for f in resolved if f["rule_id"] == "restricted-ssh"] == [web]

    # what if the web group opened SSH again? restricted-ssh would flip, and --fail-on says so
    opened_again = vigil(
        "whatif",
        web,
        "--db",
        db,
        "--set",
        'configuration.ipPermissions[]={"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"]}',
        "--fail-on",
        "high",
        "-o",
        "json",
    )
    assert opened_again.exit_code == 4, opened_again.output
    flipped = json.loads(opened_again.stdout)
    assert {
        "rule": "restricted-ssh",
        "severity": "high",
        "before": "COMPLIANT",
        "after": "NON_COMPLIANT",
    }.items() <= next(f for f in flipped["flips"] if f["rule"] == "restricted-ssh").items()
    assert any(link["resourceId"] == first.instances["web"] for link in flipped["linked"])
    nothing = vigil("whatif", web, "--db", db, "--set", "tags.reviewed=yes")
    assert nothing.exit_code == 0 and "no evaluation would change" in " ".join(nothing.stdout.split())

    held = vigil(
        "findings",
        "suppress",
        "--db",
        db,
        "--rule",
        "restricted-common-ports",
        "--tag",
        "env=prod",
        "--reason",
        "reviewed",
    )
    assert held.exit_code == 0 and "suppressed" in held.stdout and "suppressed 0" not in held.stdout
    quiet = json.loads(vigil("findings", "--db", db, "--status", "suppressed", "-o", "json").stdout)
    assert quiet and {f["rule_id"] for f in quiet} == {"restricted-common-ports"}
    assert {f["suppressed_reason"] for f in quiet} == {"reviewed"}
    assert vigil("findings", "unsuppress", "--db", db, "--rule", "restricted-common-ports").exit_code == 0

    verified = vigil("archive", "verify", str(tmp_path / "archive"))
    assert verified.exit_code == 0 and "1 entries" in verified.stdout

    # evaluate alone (no AWS) finds the same open findings
    again = vigil("evaluate", "--db", db, "-o", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["opened"] == 0
    csv_out = vigil("findings", "--db", db, "-o", "csv").stdout.splitlines()
    assert csv_out[0].startswith("severity,rule,type,resource")

    # the framework report lists every CIS v7.0 requirement with one of the five statuses
    report_path = tmp_path / "cis.json"
    assert (
        vigil(
            "report", "--db", db, "--framework", "cis-aws-7.0", "-o", "json", "--out", str(report_path)
        ).exit_code
        == 0
    )
    report = json.loads(report_path.read_text())
    assert len(report["requirements"]) == 70
    assert {r["status"] for r in report["requirements"]} <= {
        "PASS",
        "FAIL",
        "MANUAL",
        "NOT_APPLICABLE",
        "INSUFFICIENT_DATA",
    }
    assert sum(report["summary"].values()) == 70 and report["score"] is not None
    root_usage = next(r for r in report["requirements"] if r["id"] == "5.3")
    # the estate has the root-usage filter, its alarm and a topic with a confirmed subscriber
    assert root_usage["status"] == "PASS"
    unauthorized = next(r for r in report["requirements"] if r["id"] == "5.1")
    assert unauthorized["status"] == "FAIL"
    failing_ids = {f["resource_id"] for r in report["requirements"] for f in r["failing"]}
    assert first.groups["ssh_open"] in failing_ids
    html_path = tmp_path / "cis.html"
    assert vigil("report", "--db", db, "-o", "html", "--out", str(html_path)).exit_code == 0
    page = html_path.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "ssh-open-0" in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained: nothing fetched
    csv_rows = list(
        csv.reader(io.StringIO(vigil("report", "--db", db, "--framework", "cis-aws-5.0", "-o", "csv").stdout))
    )
    assert len(csv_rows) == 64 and csv_rows[0][:2] == ["id", "section"]
    assert vigil("report", "--db", db, "--framework", "nist").exit_code == 2
    asff = json.loads(vigil("report", "--db", db, "--framework", "fsbp", "-o", "asff").stdout)
    assert asff and all(r["Compliance"]["Status"] == "FAILED" for r in asff)
    ocsf = json.loads(vigil("report", "--db", db, "-o", "ocsf").stdout)
    assert ocsf and {r["class_uid"] for r in ocsf} == {2003}


def scanned(seeded: Seeded, tmp_path: Path, monkeypatch: Any) -> tuple[Path, Any]:
    """The seeded account recorded into a fresh SQLite store (still open)."""
    for name, value in seeded.account.environment().items():
        if name != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(name, value)
    db = tmp_path / "v.db"
    store = open_store(db)
    recorder.scan(seeded.account.session(), store)
    return db, store


def test_a_failed_collection_gives_insufficient_data_not_compliant(
    seeded: Seeded, tmp_path: Path, monkeypatch: Any
) -> None:
    acct = seeded.account
    db, store = scanned(seeded, tmp_path, monkeypatch)
    denied = acct.session()
    deny(denied, "ec2", "eu-west-1", "DescribeSecurityGroups")
    report = recorder.scan(denied, store, types=["AWS::EC2::SecurityGroup"])
    assert report.partial
    store.close()
    with engine.context(None, db=str(db)) as ctx:
        result = engine.evaluate(ctx)
    verdicts = {(e.region, e.compliance) for e in result.evaluations if e.rule_id == "restricted-ssh"}
    assert ("eu-west-1", INSUFFICIENT_DATA) in verdicts
    assert all(c == INSUFFICIENT_DATA for r, c in verdicts if r == "eu-west-1")
    reasons = {
        e.annotation for e in result.evaluations if e.region == "eu-west-1" and e.rule_id == "restricted-ssh"
    }
    assert reasons == {
        "the last collection failed: AccessDenied: User is not authorized to perform: ec2:DescribeSecurityGroups"
    }


def test_incremental_evaluation_agrees_with_a_full_one(
    seeded: Seeded, tmp_path: Path, monkeypatch: Any
) -> None:
    db, store = scanned(seeded, tmp_path, monkeypatch)
    store.close()
    first = seeded.estate.first
    with engine.context(None, db=str(db)) as ctx:
        full = engine.evaluate(ctx)
        changed = [
            ResourceKey(
                seeded.estate.account_id, first.region, "AWS::EC2::SecurityGroup", first.groups["ssh_open"]
            ),
            ResourceKey(
                seeded.estate.account_id, first.region, "AWS::RDS::DBInstance", first.db_instances["public"]
            ),
            ResourceKey(seeded.estate.account_id, first.region, "AWS::EC2::Instance", first.instances["web"]),
        ]
        partial = engine.evaluate(ctx, only=changed)
    touched = {(k.awsRegion, k.resourceType, k.resourceId) for k in changed}
    expected = {
        e
        for e in full.evaluations
        if (e.region, e.resource_type, e.resource_id) in touched or e.resource_type == "AWS::::Account"
    }
    assert set(partial.evaluations) == expected and len(partial.evaluations) == len(expected)
    assert {e.resource_type for e in partial.evaluations} == {
        "AWS::EC2::SecurityGroup",
        "AWS::RDS::DBInstance",
        "AWS::EC2::Instance",
        "AWS::::Account",
    }
    assert partial.changes.opened == [] and partial.changes.resolved == []
