"""Rendering: tables for people (Rich, or plain past 500 rows), JSON and CSV for machines."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from vigil.output import RICH_ROWS_MAX, Format, plain_table, render, to_csv


def test_plain_table_aligns_and_cuts_long_cells() -> None:
    text = plain_table(["id", "name"], [["sg-1", "web"], ["sg-22", "x" * 100]])
    lines = text.splitlines()
    assert lines[0] == "id     name"
    assert lines[1] == "sg-1   web"
    assert lines[2].startswith("sg-22  xxx") and lines[2].endswith("…") and len(lines[2]) == 7 + 80


def test_large_listings_render_plain(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [[f"sg-{i}", f"name-{i}"] for i in range(RICH_ROWS_MAX + 1)]
    render(Format.table, columns=["id", "name"], rows=rows, records=[], title="groups")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "name"] and len(out) == RICH_ROWS_MAX + 2
    assert "│" not in "".join(out)


def test_json_and_csv_to_a_file(tmp_path: Path) -> None:
    records = [{"id": "sg-1", "tags": {"env": "prod"}}]
    render(Format.json, columns=["id"], rows=[["sg-1"]], records=records, out=tmp_path / "a" / "x.json")
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == records
    text = to_csv(["id", "tags", "none"], [["sg-1", {"env": "prod"}, None]])
    assert list(csv.reader(io.StringIO(text))) == [["id", "tags", "none"], ["sg-1", '{"env":"prod"}', ""]]
