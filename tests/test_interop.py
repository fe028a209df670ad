"""AWS Config's files and API output in and out of the store (`vigil import`, `vigil export`).

The inputs are written by hand from the documented shapes (spec §5.1): delivery files whose items use
``awsAccountId``/``ARN``/``configurationItemVersion``, relationships keyed ``name`` and a
``configuration`` that may be a JSON string; API output whose ``configuration`` and supplementary
values are JSON text. Round trips run on both store backends and on a real scan of the sample estate.
"""

from __future__ import annotations

import gzip
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import Seeded
from vigil.aws import recorder
from vigil.cli import app
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.interop.awsconfig import ExportFormat
from vigil.interop.transfer import export, import_files, local_inputs, s3_inputs
from vigil.model import DELETED, DISCOVERED, OK, ConfigurationItem
from vigil.store import Store, inventory, open_store
from vigil.store import scans as scan_store
from vigil.store.schema import configuration_items

ACCOUNT = "123456789012"
SG_ARN = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0a1b2c3d4e5f60718"
runner = CliRunner()


def delivery_item(
    state: int, time: str, status: str, configuration: Any, relationships: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An item as the delivery channel writes it (history and snapshot files)."""
    return {
        "relatedEvents": [],
        "relationships": relationships or [],
        "configuration": configuration,
        "supplementaryConfiguration": {},
        "tags": {"env": "prod"} if configuration is not None else {},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": time,
        "configurationStateId": state,
        "awsAccountId": ACCOUNT,
        "configurationItemStatus": status,
        "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": "sg-0a1b2c3d4e5f60718",
        "resourceName": "web",
        "ARN": SG_ARN,
        "awsRegion": "us-east-1",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": "",
        "resourceCreationTime": None,
    }


SG_V1 = {"groupId": "sg-0a1b2c3d4e5f60718", "groupName": "web", "ipPermissions": []}
SG_V2 = {
    "groupId": "sg-0a1b2c3d4e5f60718",
    "groupName": "web",
    "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"]}],
}
TO_INSTANCE = [
    {
        "resourceId": "i-0f1e2d3c4b5a69788",
        "resourceName": None,
        "resourceType": "AWS::EC2::Instance",
        "name": "Is associated with Instance",
    }
]


def history_file() -> dict[str, Any]:
    """Three states of one security group; the first has ``configuration`` as a JSON string, and
    the file lists them newest first (order must come from the items, not the file)."""
    return {
        "fileVersion": "1.0",
        "configurationItems": [
            delivery_item(1714730400000, "2024-05-03T10:00:00.000Z", DELETED, None),
            delivery_item(1714644000000, "2024-05-02T10:00:00.000Z", OK, SG_V2, TO_INSTANCE),
            delivery_item(
                1714557600123, "2024-05-01T10:00:00.123Z", DISCOVERED, json.dumps(SG_V1), TO_INSTANCE
            ),
        ],
    }


BUCKET_API_ITEM = {
    "version": "1.3",
    "accountId": ACCOUNT,
    "configurationItemCaptureTime": "2024-05-01T08:30:00.000Z",
    "configurationItemStatus": "ResourceDiscovered",
    "configurationStateId": "1714552200000",
    "configurationItemMD5Hash": "",
    "arn": "arn:aws:s3:::audit-logs-123456789012",
    "resourceType": "AWS::S3::Bucket",
    "resourceId": "audit-logs-123456789012",
    "resourceName": "audit-logs-123456789012",
    "awsRegion": "us-east-1",
    "availabilityZone": "Regional",
    "resourceCreationTime": "2023-01-10T12:00:00.000Z",
    "tags": {"owner": "security"},
    "relatedEvents": [],
    "relationships": [],
    "configuration": json.dumps({"name": "audit-logs-123456789012", "owner": {"id": "abc"}}),
    "supplementaryConfiguration": {
        "BucketVersioningConfiguration": json.dumps({"status": "Enabled", "isMfaDeleteEnabled": None}),
        "PublicAccessBlockConfiguration": json.dumps(
            {
                "blockPublicAcls": True,
                "ignorePublicAcls": True,
                "blockPublicPolicy": True,
                "restrictPublicBuckets": True,
            }
        ),
    },
}


def write(path: Path, doc: Any, *, gz: bool = False) -> Path:
    data = json.dumps(doc).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def run_import(store: Store, *paths: Path) -> Any:
    files, ignored = [], []
    for p in paths:
        found, skipped = local_inputs(str(p))
        files += found
        ignored += skipped
    return import_files(store, files, origin=",".join(map(str, paths)), ignored=ignored)


def stored_history(store: Store, ref: str) -> list[ConfigurationItem]:
    with store.connect() as conn:
        return inventory.history(conn, inventory.find_one(conn, ref).pk)


# -- reading AWS Config's shapes -------------------------------------------------------------------


def test_history_file_keeps_order_fields_and_marks_the_source(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / f"AWSLogs/{ACCOUNT}/Config/us-east-1/2024/5/3/ConfigHistory/h.json.gz",
        history_file(),
        gz=True,
    )
    report = run_import(store, tmp_path / "AWSLogs")
    assert (report.files, report.items_read, report.imported, report.problems) == (1, 3, 3, [])
    assert report.shapes == {"history": 1}
    items = stored_history(store, "sg-0a1b2c3d4e5f60718")
    assert [(c.configurationStateId, c.configurationItemStatus) for c in items] == [
        ("1714557600123", DISCOVERED),
        ("1714644000000", OK),
        ("1714730400000", DELETED),
    ]
    first = items[0]
    assert first.configuration == SG_V1  # read from the JSON string
    assert first.accountId == ACCOUNT and first.arn == SG_ARN and first.version == "1.3"
    assert first.configurationItemCaptureTime == "2024-05-01T10:00:00.123Z"
    assert [(r.relationshipName, r.resourceId) for r in first.relationships] == [
        ("Is associated with Instance", "i-0f1e2d3c4b5a69788")
    ]
    assert items[1].configuration == SG_V2
    with store.connect() as conn:
        found = inventory.find_one(conn, "sg-0a1b2c3d4e5f60718")
        assert found.deleted is True  # the newest item says it is gone
        sources = set(conn.execute(select(configuration_items.c.source)).scalars())
        run = scan_store.get(conn, report.scan_id)
    assert sources == {"import"}
    assert run is not None and run.kind == "import" and run.origin == str(tmp_path / "AWSLogs")
    assert run.status == "complete" and run.counts["imported"] == 3
    assert str(path).endswith(".json.gz")


def test_api_output_with_json_text_and_batch_output(store: Store, tmp_path: Path) -> None:
    history = write(tmp_path / "history.json", {"configurationItems": [BUCKET_API_ITEM], "nextToken": None})
    batch_item = {
        k: v for k, v in BUCKET_API_ITEM.items() if k not in ("tags", "relationships", "relatedEvents")
    }
    batch_item = {
        **batch_item,
        "configurationStateId": "1714560000000",
        "configurationItemCaptureTime": "2024-05-01T10:40:00.000Z",
    }
    batch = write(
        tmp_path / "batch.json", {"baseConfigurationItems": [batch_item], "unprocessedResourceKeys": []}
    )
    report = run_import(store, history, batch)
    assert report.imported == 2 and report.shapes == {"api-history": 1, "api-batch": 1}
    first, second = stored_history(store, "audit-logs-123456789012")
    assert first.configuration == {"name": "audit-logs-123456789012", "owner": {"id": "abc"}}
    assert first.supplementaryConfiguration["BucketVersioningConfiguration"] == {
        "status": "Enabled",
        "isMfaDeleteEnabled": None,
    }
    assert first.supplementaryConfiguration["PublicAccessBlockConfiguration"]["blockPublicAcls"] is True
    assert first.tags == {"owner": "security"} and first.resourceCreationTime == "2023-01-10T12:00:00.000Z"
    assert second.configurationStateId == "1714560000000" and second.tags == {}


def test_snapshot_and_notification_shapes(store: Store, tmp_path: Path) -> None:
    snapshot = {
        "fileVersion": "1.0",
        "configSnapshotId": "9e4f2a7c-6c38-4d7e-8f3c-2a4b9f0c1d2e",
        "configurationItems": [delivery_item(1714557600123, "2024-05-01T10:00:00.123Z", DISCOVERED, SG_V1)],
    }
    notification = {
        "configurationItemDiff": None,
        "configurationItem": delivery_item(1714644000000, "2024-05-02T10:00:00.000Z", OK, SG_V2),
        "notificationCreationTime": "2024-05-02T10:00:01.000Z",
        "messageType": "ConfigurationItemChangeNotification",
        "recordVersion": "1.3",
    }
    report = run_import(store, write(tmp_path / "s.json", snapshot), write(tmp_path / "n.json", notification))
    assert report.shapes == {"snapshot": 1, "notification": 1} and report.imported == 2
    assert [c.configuration for c in stored_history(store, "sg-0a1b2c3d4e5f60718")] == [SG_V1, SG_V2]


def test_importing_twice_stores_each_state_once(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "h.json", history_file())
    assert run_import(store, path).imported == 3
    again = run_import(store, path)
    assert (again.imported, again.skipped) == (0, 3)
    assert len(stored_history(store, "sg-0a1b2c3d4e5f60718")) == 3


def test_bad_files_and_items_are_reported_and_the_rest_is_imported(
    sqlite_store: Store, tmp_path: Path
) -> None:
    good = write(tmp_path / "in/good.json", history_file())
    (tmp_path / "in/truncated.json.gz").write_bytes(gzip.compress(b'{"configurationItems": []}')[:-9])
    (tmp_path / "in/broken.json").write_text('{"configurationItems": [')
    write(tmp_path / "in/other.json", {"Records": [{"eventName": "RunInstances"}]})
    (tmp_path / "in/ConfigWritabilityCheckFile").write_text("")
    half = history_file()
    half["configurationItems"].append(
        {**delivery_item(1, "2024-05-04T00:00:00Z", OK, SG_V1), "resourceId": ""}
    )
    half["configurationItems"].append(delivery_item(2, "yesterday", OK, SG_V1))
    write(tmp_path / "in/half.json", half)
    report = run_import(sqlite_store, tmp_path / "in")
    problems = {p.where.replace(str(tmp_path / "in") + "/", ""): p.message for p in report.problems}
    assert set(problems) == {
        "truncated.json.gz",
        "broken.json",
        "other.json",
        "half.json#/configurationItems/3",
        "half.json#/configurationItems/4",
    }
    assert "gzip" in problems["truncated.json.gz"]
    assert "line 1 column" in problems["broken.json"]
    assert "not an AWS Config file (found Records)" in problems["other.json"]
    assert "resourceId" in problems["half.json#/configurationItems/3"]
    assert "not an ISO-8601 time" in problems["half.json#/configurationItems/4"]
    assert report.ignored == [str(tmp_path / "in/ConfigWritabilityCheckFile")]
    # good.json and the three good items of half.json are the same states: stored once
    assert report.imported == 3 and report.status == "partial"
    assert good.exists()


# -- writing and round trips -----------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    if root.is_file():
        return {"": root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_round_trip_is_byte_stable(store: Store, tmp_path: Path, fmt: ExportFormat) -> None:
    run_import(
        store,
        write(tmp_path / "in/h.json", history_file()),
        write(tmp_path / "in/api.json", {"configurationItems": [BUCKET_API_ITEM]}),
    )
    first = tmp_path / "first"
    export(store, first, fmt, home_region="us-east-1")
    empty = open_store(tmp_path / "empty.db")
    try:
        run_import(empty, first)
        second = tmp_path / "second"
        export(empty, second, fmt, home_region="us-east-1")
    finally:
        empty.close()
    assert tree(first) and tree(first) == tree(second)


def test_history_files_are_named_and_shaped_as_the_delivery_channel_writes_them(
    sqlite_store: Store, tmp_path: Path
) -> None:
    run_import(sqlite_store, write(tmp_path / "h.json", history_file()))
    report = export(sqlite_store, tmp_path / "out", ExportFormat.history, home_region="us-east-1")
    names = sorted(str(Path(f).relative_to(tmp_path / "out")) for f in report.files)
    assert names == [
        f"AWSLogs/{ACCOUNT}/Config/us-east-1/2024/5/{day}/ConfigHistory/"
        f"{ACCOUNT}_Config_us-east-1_ConfigHistory_AWS::EC2::SecurityGroup_{stamp}_{stamp}_1.json.gz"
        for day, stamp in (("1", "20240501T100000Z"), ("2", "20240502T100000Z"), ("3", "20240503T100000Z"))
    ]
    doc = json.loads(gzip.decompress((tmp_path / "out" / names[0]).read_bytes()))
    assert list(doc) == ["fileVersion", "configurationItems"]
    (item,) = doc["configurationItems"]
    assert item == delivery_item(1714557600123, "2024-05-01T10:00:00.123Z", DISCOVERED, SG_V1, TO_INSTANCE)
    deleted = json.loads(gzip.decompress((tmp_path / "out" / names[2]).read_bytes()))["configurationItems"][0]
    assert deleted["configuration"] is None and deleted["configurationItemStatus"] == DELETED


def test_snapshot_has_only_what_exists_and_api_output_uses_json_text(
    sqlite_store: Store, tmp_path: Path
) -> None:
    run_import(
        sqlite_store,
        write(tmp_path / "h.json", history_file()),
        write(tmp_path / "api.json", {"configurationItems": [BUCKET_API_ITEM]}),
    )
    snap = export(sqlite_store, tmp_path / "snap", ExportFormat.snapshot, home_region="us-east-1")
    (name,) = snap.files
    assert "/ConfigSnapshot/" in name and name.endswith(".json.gz")
    doc = json.loads(gzip.decompress(Path(name).read_bytes()))
    assert list(doc) == ["fileVersion", "configSnapshotId", "configurationItems"]
    assert [i["resourceId"] for i in doc["configurationItems"]] == ["audit-logs-123456789012"]
    assert doc["configSnapshotId"] in name
    api = export(sqlite_store, tmp_path / "api-out.json", ExportFormat.api, home_region="us-east-1")
    out = json.loads(Path(api.out).read_text())["configurationItems"]
    # resources in key order (type before id), each oldest first
    assert [i["resourceId"] for i in out] == ["sg-0a1b2c3d4e5f60718"] * 3 + ["audit-logs-123456789012"]
    assert out[3] == BUCKET_API_ITEM | {
        "configuration": json.dumps(
            {"name": "audit-logs-123456789012", "owner": {"id": "abc"}}, separators=(",", ":")
        ),
        "supplementaryConfiguration": {
            k: json.dumps(json.loads(v), separators=(",", ":"))
            for k, v in BUCKET_API_ITEM["supplementaryConfiguration"].items()
        },
    }
    assert out[2]["configuration"] is None


def test_a_scanned_estate_round_trips_and_imports_from_s3(
    shared_seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
    scanned = open_store(tmp_path / "scanned.db")
    session = shared_seeded.account.session()
    recorder.scan(session, scanned)
    first = tmp_path / "first"
    made = export(scanned, first, ExportFormat.history, home_region="us-east-1")
    assert made.items >= 60
    # deliver the files to a bucket as AWS Config would, then import from s3://
    bucket = "config-delivery-" + shared_seeded.estate.account_id
    s3 = shared_seeded.account.client("s3", "us-east-1")
    s3.create_bucket(Bucket=bucket)
    for name, data in tree(first).items():
        s3.put_object(Bucket=bucket, Key=name, Body=data)
    s3.put_object(Bucket=bucket, Key="AWSLogs/ConfigWritabilityCheckFile", Body=b"")
    files, ignored = s3_inputs(session, f"s3://{bucket}/AWSLogs/")
    assert ignored == [f"s3://{bucket}/AWSLogs/ConfigWritabilityCheckFile"]
    assert len(files) == len(tree(first))
    # the command, with the role and endpoint on its command line
    result = runner.invoke(
        app,
        [
            "import",
            f"s3://{bucket}/AWSLogs/",
            "--endpoint-url",
            shared_seeded.account.endpoint,
            "--role-arn",
            shared_seeded.account.role_arn,
            "--db",
            str(tmp_path / "from-s3.db"),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == [] and report["imported"] == made.items
    assert report["ignored"] == [f"s3://{bucket}/AWSLogs/ConfigWritabilityCheckFile"]
    empty = open_store(tmp_path / "from-s3.db")
    export(empty, tmp_path / "second", ExportFormat.history, home_region="us-east-1")
    assert tree(first) == tree(tmp_path / "second")
    scanned.close()
    empty.close()


def test_cli_import_and_export(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    path = write(tmp_path / "h.json", history_file())
    (tmp_path / "bad.json").write_text("{")
    result = runner.invoke(app, ["import", str(path), str(tmp_path / "bad.json"), "--db", db, "-o", "json"])
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["imported"] == 3 and data["status"] == "partial"
    assert data["problems"][0]["where"] == str(tmp_path / "bad.json")
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", "--out", str(out), "--format", "snapshot", "--db", db])
    assert result.exit_code == 0 and "0 configuration items" in result.stdout  # the group was deleted
    listed = json.loads(runner.invoke(app, ["scans", "--db", db, "-o", "json"]).stdout)["scans"]
    assert [(r["kind"], r["status"], r["origin"], r["counts"]["imported"]) for r in listed] == [
        ("import", "partial", f"{path}, {tmp_path / 'bad.json'}", 3)
    ]
    table_view = runner.invoke(app, ["scans", "--db", db]).stdout
    assert "import" in table_view and "partial" in table_view
    result = runner.invoke(app, ["export", "--out", str(out), "--format", "csv", "--db", db])
    assert result.exit_code == 2 and "history, snapshot, api" in result.output
    piped = runner.invoke(
        app,
        ["import", "-", "--db", db, "-o", "json"],
        input=json.dumps({"configurationItems": [BUCKET_API_ITEM], "nextToken": None}),
    )
    assert piped.exit_code == 0, piped.output
    assert (json.loads(piped.stdout)["imported"], json.loads(piped.stdout)["origin"]) == (1, "-")
    result = runner.invoke(app, ["import", str(tmp_path / "nowhere"), "--db", db])
    assert result.exit_code == 2 and "no such file" in result.output


TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
INLINE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def role_item() -> dict[str, Any]:
    """An IAM role as AWS Config records it: policy documents URL-encoded, as IAM returns them
    (the trust policy as IAM keeps the submitted text, with its spaces and line breaks)."""
    submitted = json.dumps(TRUST, indent=2)
    return {
        **delivery_item(1714557600123, "2024-05-01T10:00:00.123Z", DISCOVERED, None),
        "resourceType": "AWS::IAM::Role",
        "resourceId": "AROAEXAMPLEROLE000001",
        "resourceName": "app-role",
        "ARN": f"arn:aws:iam::{ACCOUNT}:role/app-role",
        "awsRegion": "global",
        "tags": {},
        "configuration": {
            "roleName": "app-role",
            "roleId": "AROAEXAMPLEROLE000001",
            "assumeRolePolicyDocument": urllib.parse.quote(submitted, safe=""),
            "rolePolicyList": [
                {"policyName": "read", "policyDocument": urllib.parse.quote(json.dumps(INLINE))}
            ],
            "attachedManagedPolicies": [],
        },
    }


def test_iam_policy_documents_are_objects_in_the_store_and_url_encoded_in_files(
    sqlite_store: Store, tmp_path: Path
) -> None:
    run_import(
        sqlite_store,
        write(tmp_path / "role.json", {"fileVersion": "1.0", "configurationItems": [role_item()]}),
    )
    (stored,) = stored_history(sqlite_store, "app-role")
    assert stored.configuration["assumeRolePolicyDocument"] == TRUST
    assert stored.configuration["rolePolicyList"][0]["policyDocument"] == INLINE
    report = export(sqlite_store, tmp_path / "out", ExportFormat.history, home_region="us-east-1")
    (name,) = report.files
    (item,) = json.loads(gzip.decompress(Path(name).read_bytes()))["configurationItems"]
    written = item["configuration"]["assumeRolePolicyDocument"]
    assert written.startswith("%7B%22Version%22%3A%222012-10-17%22") and " " not in written
    assert json.loads(urllib.parse.unquote(written)) == TRUST
    assert (
        json.loads(urllib.parse.unquote(item["configuration"]["rolePolicyList"][0]["policyDocument"]))
        == INLINE
    )
    api = export(sqlite_store, tmp_path / "api.json", ExportFormat.api, home_region="us-east-1")
    (api_item,) = json.loads(Path(api.out).read_text())["configurationItems"]
    assert json.loads(api_item["configuration"])["assumeRolePolicyDocument"] == written
