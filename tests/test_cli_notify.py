"""`vigil notify test-filter-policy`: the CLI contract of the SNS filter-policy engine."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

import vigil.cli  # noqa: F401  (import the main app first, as cli.py registers notify_app)
from vigil.cli_notify import notify_app

runner = CliRunner()

POLICY = json.dumps({"store": ["example_corp"], "price_usd": [{"numeric": [">=", 100]}]})
ATTRIBUTES = json.dumps(
    {
        "store": {"DataType": "String", "StringValue": "example_corp"},
        "price_usd": {"DataType": "Number", "StringValue": "210.75"},
    }
)


def invoke(*args: str) -> Result:
    return runner.invoke(notify_app, ["test-filter-policy", *args])


def test_json_output_attributes() -> None:
    result = invoke("--policy", POLICY, "--attributes", ATTRIBUTES, "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"matched": True}
    cheap = ATTRIBUTES.replace("210.75", "99")
    result = invoke(
        "--policy", POLICY, "--scope", "MessageAttributes", "--attributes", cheap, "--output", "json"
    )
    assert json.loads(result.stdout) == {"matched": False}


def test_json_output_body_scope() -> None:
    policy = json.dumps({"headers": {"route-to": ["queue1"]}})
    message = json.dumps({"headers": {"route-to": ["queue1", "queue2"]}})
    args = ["--policy", policy, "--scope", "MessageBody", "--output", "json"]
    assert json.loads(invoke(*args, "--message", message).stdout) == {"matched": True}
    assert json.loads(invoke(*args, "--message", "not json").stdout) == {"matched": False}


def test_table_output() -> None:
    result = invoke("--policy", POLICY, "--attributes", ATTRIBUTES)
    assert result.exit_code == 0, result.output
    assert "matched" in result.stdout and "yes" in result.stdout
    assert "MessageAttributes" in result.stdout


def test_invalid_policy_exits_2_with_sns_text() -> None:
    policy = json.dumps({"key": [{"numeric": [">", 3, "<", 1]}]})
    result = invoke("--policy", policy, "--attributes", "{}", "--output", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid parameter: FilterPolicy: Bottom must be less than top" in " ".join(result.stderr.split())
    nested = invoke("--policy", json.dumps({"a": {"b": ["x"]}}), "--attributes", "{}")
    assert nested.exit_code == 2
    assert "does not support nested filter policy" in " ".join(nested.stderr.split())


def test_bad_usage_exits_2() -> None:
    assert invoke("--policy", "{not json", "--attributes", "{}").exit_code == 2
    assert invoke("--policy", POLICY, "--scope", "Body").exit_code == 2
    assert invoke("--policy", "{}", "--scope", "MessageBody").exit_code == 2  # no --message
    assert invoke("--policy", POLICY, "--attributes", '["x"]').exit_code == 2
    assert invoke("--policy", "@/nonexistent/policy.json", "--attributes", "{}").exit_code == 2


def test_file_inputs(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text(POLICY)
    (tmp_path / "attrs.json").write_text(ATTRIBUTES)
    (tmp_path / "body.json").write_text(json.dumps({"store": "example_corp", "price_usd": 150}))
    policy = f"@{tmp_path / 'policy.json'}"
    result = invoke("--policy", policy, "--attributes", f"@{tmp_path / 'attrs.json'}", "--output", "json")
    assert json.loads(result.stdout) == {"matched": True}
    body = invoke(
        "--policy",
        policy,
        "--scope",
        "MessageBody",
        "--message",
        f"@{tmp_path / 'body.json'}",
        "--output",
        "json",
    )
    assert json.loads(body.stdout) == {"matched": True}
