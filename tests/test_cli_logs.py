"""`vigil logs test-pattern`: the CLI contract of the filter-pattern engine (TestMetricFilter's counterpart)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import app

runner = CliRunner()

EVENTS = "\n".join(
    [
        "[ERROR 400] BAD REQUEST",
        "[ERROR 419] MISSING ARGUMENTS",
        "[SUCCESS 200] AUTHORIZED REQUEST",
        '{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111"}',
    ]
)


def test_results_in_input_order(tmp_path: Path) -> None:
    events = tmp_path / "events.log"
    events.write_text(EVENTS + "\n")
    result = runner.invoke(
        app,
        [
            "logs",
            "test-pattern",
            "--pattern",
            "ERROR ARGUMENTS",
            "--events-file",
            str(events),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "results": [
            {"line": 1, "matched": False, "extracted": {}},
            {"line": 2, "matched": True, "extracted": {}},
            {"line": 3, "matched": False, "extracted": {}},
            {"line": 4, "matched": False, "extracted": {}},
        ]
    }
    json_pattern = runner.invoke(
        app,
        [
            "logs",
            "test-pattern",
            "-p",
            '{ $.eventType = "UpdateTrail" }',
            "--events-file",
            str(events),
            "-o",
            "json",
        ],
    )
    assert [r["matched"] for r in json.loads(json_pattern.stdout)["results"]] == [False, False, False, True]
    table = runner.invoke(app, ["logs", "test-pattern", "-p", "ERROR", "--events-file", str(events)])
    assert table.exit_code == 0 and "2 of 4 events match" in table.stdout


def test_an_invalid_pattern_exits_2_with_where(tmp_path: Path) -> None:
    events = tmp_path / "events.log"
    events.write_text(EVENTS)
    result = runner.invoke(
        app,
        [
            "logs",
            "test-pattern",
            "-p",
            "{ $.eventType IS NOT NULL }",
            "--events-file",
            str(events),
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 2
    assert "column" in result.stderr and result.stdout.strip() == ""  # the error goes to stderr
