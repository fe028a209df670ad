"""The archive of runs: entries chained by hashes, and every kind of tampering found."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from vigil import archive
from vigil.cli import app

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def three_runs(root: Path) -> archive.LocalStorage:
    storage = archive.LocalStorage(root)
    for i in range(3):
        files = archive.entry_files(
            [(f"AWSLogs/1/Config/us-east-1/2026/11/28/ConfigSnapshot/s{i}.json.gz", f"snap {i}".encode())],
            {"cis-aws-7.0": json.dumps({"run": i}).encode()},
        )
        written = archive.append(storage, files, created=T0 + timedelta(hours=i), scan_id=i + 1)
        assert written.sequence == i + 1
    return storage


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def test_an_untouched_archive_verifies(tmp_path: Path) -> None:
    storage = three_runs(tmp_path / "a")
    result = archive.verify(storage)
    assert (result.ok, result.entries, result.files) == (True, 3, 6)
    manifest = json.loads((entries(tmp_path / "a")[1] / "manifest.json").read_text())
    first = (entries(tmp_path / "a")[0] / "manifest.json").read_bytes()
    assert manifest["previousManifestSha256"] == archive.sha256(first) and manifest["sequence"] == 2


def test_each_kind_of_tampering_is_found(tmp_path: Path) -> None:
    # a missing entry
    root = tmp_path / "missing"
    three_runs(root)
    shutil.rmtree(entries(root)[1])
    problems = archive.verify(archive.LocalStorage(root)).problems
    assert any("sequence 3 follows 1 (entries missing)" in p for p in problems)
    assert any("chain is broken" in p for p in problems)

    # an edited report
    root = tmp_path / "edited"
    three_runs(root)
    report = entries(root)[0] / "report-cis-aws-7.0.json"
    report.write_text(json.dumps({"run": 0, "score": 100}))
    problems = archive.verify(archive.LocalStorage(root)).problems
    assert problems == [
        f"{entries(root)[0].name}/report-cis-aws-7.0.json: edited (its SHA-256 does not match the manifest)"
    ]

    # an edited manifest (to hide an edit) breaks the next link
    root = tmp_path / "manifest"
    three_runs(root)
    path = entries(root)[0] / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["report-cis-aws-7.0.json"] = "0" * 64
    path.write_text(json.dumps(manifest))
    problems = archive.verify(archive.LocalStorage(root)).problems
    assert any(entries(root)[1].name in p and "chain is broken" in p for p in problems)

    # reordered entries: the second and third swap names
    root = tmp_path / "reordered"
    three_runs(root)
    second, third = entries(root)[1], entries(root)[2]
    second.rename(root / "tmp")
    third.rename(root / second.name.replace("000002", "000002"))
    (root / "tmp").rename(root / third.name)
    problems = archive.verify(archive.LocalStorage(root)).problems
    assert any("sequence 3 follows 1" in p for p in problems) and any("out of order" in p for p in problems)

    # a file added afterwards
    root = tmp_path / "added"
    three_runs(root)
    (entries(root)[2] / "report-fsbp.json").write_text("{}")
    problems = archive.verify(archive.LocalStorage(root)).problems
    assert problems == [f"{entries(root)[2].name}/report-fsbp.json: not in the manifest (added afterwards)"]


def test_archive_verify_command(tmp_path: Path) -> None:
    three_runs(tmp_path / "a")
    runner = CliRunner()
    ok = runner.invoke(app, ["archive", "verify", str(tmp_path / "a")])
    assert ok.exit_code == 0 and "3 entries, 6 files" in ok.stdout
    (entries(tmp_path / "a")[2] / "report-cis-aws-7.0.json").write_text("{}")
    bad = runner.invoke(app, ["archive", "verify", str(tmp_path / "a"), "-o", "json"])
    assert bad.exit_code == 4 and json.loads(bad.stdout)["ok"] is False
    empty = runner.invoke(app, ["archive", "verify", str(tmp_path / "nothing")])
    assert empty.exit_code == 2
