"""vigil.settings: finding vigil.yaml, the VIGIL_* overlay, problems with file:line, secrets, schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import ConfigError, UsageError
from vigil.settings import (
    EventsSettings,
    NotifySettings,
    Secret,
    Settings,
    json_schema,
    load_settings,
    public_view,
)

DEFAULT_AWS = {
    "profile": None,
    "role_arn": None,
    "external_id": None,
    "role_session_name": "vigil",
    "regions": [],
    "home_region": "us-east-1",
    "endpoint_url": None,
    "max_attempts": 10,
    "concurrency": 8,
    "connect_timeout": 5.0,
    "read_timeout": 30.0,
}
DEFAULT_EVENTS = EventsSettings().model_dump()
DEFAULT_NOTIFY = NotifySettings().model_dump()
DEFAULT_RULES = {"packs": [], "builtin": True, "disabled": [], "parameters": {}, "suppressions": []}


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user config dir is an empty tmp dir, never the developer's ~/.config/vigil."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[tuple[str, str]]:
    """(where, first word of the message) of every problem, sorted."""
    return sorted((p.where, p.message.split(":")[0]) for p in excinfo.value.problems)


# -- defaults and discovery ------------------------------------------------------------------


def test_defaults_without_any_file() -> None:
    loaded = load_settings(None, environ={})
    assert loaded.path is None
    assert loaded.env_sources == {}
    assert loaded.settings.model_dump() == {
        "db": ".vigil/vigil.db",
        "aws": DEFAULT_AWS,
        "recorder": {"resource_types": [], "exclude_resource_types": []},
        "rules": DEFAULT_RULES,
        "events": DEFAULT_EVENTS,
        "notify": DEFAULT_NOTIFY,
    }


@pytest.fixture
def four_files(tmp_path: Path) -> dict[str, Path]:
    """A config file in each place Vigil looks, each naming a different db."""
    return {
        "explicit": write(tmp_path / "explicit.yaml", "db: explicit.db\n"),
        "env": write(tmp_path / "from-env.yaml", "db: env.db\n"),
        "cwd": write(tmp_path / "vigil.yaml", "db: cwd.db\n"),
        "user": write(tmp_path / "xdg" / "vigil" / "vigil.yaml", "db: user.db\n"),
    }


def test_discovery_order(four_files: dict[str, Path]) -> None:
    environ = {"VIGIL_CONFIG": str(four_files["env"])}
    found = [load_settings(four_files["explicit"], environ=environ), load_settings(None, environ=environ)]
    found.append(load_settings(None, environ={}))
    four_files["cwd"].unlink()
    found.append(load_settings(None, environ={}))
    four_files["user"].unlink()
    found.append(load_settings(None, environ={}))
    assert [(f.path, f.settings.db) for f in found] == [
        (four_files["explicit"], "explicit.db"),
        (four_files["env"], "env.db"),
        (Path("vigil.yaml"), "cwd.db"),
        (four_files["user"], "user.db"),
        (None, ".vigil/vigil.db"),
    ]


def test_missing_explicit_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as excinfo:
        load_settings(tmp_path / "nope.yaml", environ={})
    assert type(excinfo.value) is UsageError
    assert excinfo.value.message == f"config file {tmp_path / 'nope.yaml'} does not exist"


def test_missing_vigil_config_file_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "vigil.yaml", "db: cwd.db\n")  # not a fallback when VIGIL_CONFIG is wrong
    with pytest.raises(UsageError) as excinfo:
        load_settings(None, environ={"VIGIL_CONFIG": str(tmp_path / "gone.yaml")})
    assert excinfo.value.message == f"VIGIL_CONFIG names {tmp_path / 'gone.yaml'}, which does not exist"


# -- the environment overlay -------------------------------------------------------------------


def test_env_overrides_file_and_records_sources(tmp_path: Path) -> None:
    write(
        tmp_path / "vigil.yaml",
        "db: file.db\naws:\n  max_attempts: 20\n  regions: [ap-south-1]\n  profile: p\n",
    )
    environ = {
        "VIGIL_DB": "env.db",
        "VIGIL_AWS__REGIONS": "us-east-1, eu-west-1",
        "VIGIL_AWS__MAX_ATTEMPTS": "3",
    }
    loaded = load_settings(None, environ=environ)
    assert loaded.settings.model_dump() == {
        "db": "env.db",
        "aws": {**DEFAULT_AWS, "regions": ["us-east-1", "eu-west-1"], "max_attempts": 3, "profile": "p"},
        "recorder": {"resource_types": [], "exclude_resource_types": []},
        "rules": DEFAULT_RULES,
        "events": DEFAULT_EVENTS,
        "notify": DEFAULT_NOTIFY,
    }
    assert loaded.env_sources == {
        ("db",): "VIGIL_DB",
        ("aws", "regions"): "VIGIL_AWS__REGIONS",
        ("aws", "max_attempts"): "VIGIL_AWS__MAX_ATTEMPTS",
    }


def test_env_list_as_json_array() -> None:
    loaded = load_settings(None, environ={"VIGIL_AWS__REGIONS": '["us-east-1", "eu-west-2"]'})
    assert loaded.settings.aws.regions == ["us-east-1", "eu-west-2"]


def test_db_keyword_wins_over_env_and_file(tmp_path: Path) -> None:
    write(tmp_path / "vigil.yaml", "db: file.db\n")
    loaded = load_settings(None, environ={"VIGIL_DB": "env.db"}, db="arg.db")
    assert loaded.settings.db == "arg.db"


def test_env_error_names_the_variable(tmp_path: Path) -> None:
    write(tmp_path / "vigil.yaml", "aws:\n  max_attempts: 5\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={"VIGIL_AWS__MAX_ATTEMPTS": "many"})
    assert problems_of(excinfo) == [("environment VIGIL_AWS__MAX_ATTEMPTS", "aws.max_attempts")]


def test_env_bad_json_list_names_the_variable() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={"VIGIL_AWS__REGIONS": '["us-east-1"'})
    assert [p.where for p in excinfo.value.problems] == ["environment VIGIL_AWS__REGIONS"]


# -- problems with file:line ---------------------------------------------------------------------

BAD_FILE = """\
db: x.db
colour: blue
aws:
  regions: [not-a-region]
  max_attempts: "lots"
  bogus: 1
recorder:
  resource_types: [AWS::Nope::Thing]
"""


def bad_file_problems(path: Path) -> list[tuple[str, str]]:
    return [
        (f"{path}:2", "colour"),
        (f"{path}:4", "aws.regions"),
        (f"{path}:5", "aws.max_attempts"),
        (f"{path}:6", "aws.bogus"),
        (f"{path}:8", "recorder.resource_types"),
    ]


def test_every_validation_problem_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", BAD_FILE)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert problems_of(excinfo) == bad_file_problems(path)
    assert f"{path}:6: aws.bogus: Extra inputs are not permitted" in str(excinfo.value)


def test_duplicate_key_reported_with_the_other_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", BAD_FILE + "db: y.db\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert problems_of(excinfo) == [*bad_file_problems(path), (f"{path}:9", "duplicate key 'db'")]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "vigil.yaml", "db: x.db\naws:\n  regions: [us-east-1\n  profile: p\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={})
    [problem] = excinfo.value.problems
    assert (problem.where, problem.message.startswith("not valid YAML")) == (f"{path.name}:4", True)


def test_top_level_list_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "list.yaml", "- db: x.db\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert problems_of(excinfo) == [(f"{path}:1", "the file must be a mapping of settings")]


def test_recorder_resource_types() -> None:
    ok = load_settings(None, environ={"VIGIL_RECORDER__RESOURCE_TYPES": "AWS::EC2::Instance"})
    assert ok.settings.recorder.resource_types == ["AWS::EC2::Instance"]
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={"VIGIL_RECORDER__RESOURCE_TYPES": "AWS::EC2::Instance,AWS::Nope::X"})
    assert problems_of(excinfo) == [("environment VIGIL_RECORDER__RESOURCE_TYPES", "recorder.resource_types")]


# -- secrets -----------------------------------------------------------------------------------


def test_inline_secret_is_never_shown(tmp_path: Path) -> None:
    write(tmp_path / "vigil.yaml", "aws:\n  external_id: s3cr3t\n")
    settings = load_settings(None, environ={}).settings
    secret = settings.aws.external_id
    assert secret is not None
    shown = [str(secret), repr(secret), str(settings), repr(settings), settings.model_dump_json()]
    assert [("s3cr3t" in text, "********" in text) for text in shown] == [(False, True)] * 5
    assert settings.model_dump()["aws"]["external_id"] == "********"
    assert public_view(settings)["aws"]["external_id"] == "********"
    assert secret.reveal(environ={}) == "s3cr3t"


def test_env_reference_secret_is_shown_as_written_and_read_from_env() -> None:
    settings = load_settings(None, environ={"VIGIL_AWS__EXTERNAL_ID": "env:VIGIL_TEST_EXT"}).settings
    secret = settings.aws.external_id
    assert secret is not None
    assert (str(secret), public_view(settings)["aws"]["external_id"]) == (
        "env:VIGIL_TEST_EXT",
        "env:VIGIL_TEST_EXT",
    )
    assert secret.reveal(environ={"VIGIL_TEST_EXT": "from-env"}) == "from-env"
    with pytest.raises(UsageError) as excinfo:
        secret.reveal(environ={})
    assert "VIGIL_TEST_EXT" in excinfo.value.message


def test_empty_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        Secret("")


def test_public_view_masks_the_store_password() -> None:
    settings = Settings(db="postgresql://u:pw@h/db")
    view = public_view(settings)
    assert view["db"] == "postgresql://u:***@h/db"
    assert "pw" not in str(view)


# -- schema ------------------------------------------------------------------------------------


def test_json_schema_structure() -> None:
    schema = json_schema()
    assert (schema["$schema"], schema["title"], schema["additionalProperties"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        "vigil.yaml",
        False,
    )
    assert sorted(schema["properties"]) == ["aws", "db", "events", "notify", "recorder", "rules"]
    aws = schema["$defs"]["AwsSettings"]
    assert aws["additionalProperties"] is False
    assert sorted(aws["properties"]) == sorted(DEFAULT_AWS)
    max_attempts = aws["properties"]["max_attempts"]
    assert (max_attempts["type"], max_attempts["minimum"], max_attempts["maximum"]) == ("integer", 1, 30)
    assert schema["$defs"]["RecorderSettings"]["additionalProperties"] is False


def test_rules_settings_are_checked_against_the_rules(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    path = tmp_path / "vigil.yaml"
    path.write_text(
        "rules:\n"
        "  disabled: [no-such-rule]\n"
        "  parameters:\n"
        "    access-keys-rotated: {maxAge: 60}\n"
        "  suppressions:\n"
        "    - reason: bastion reviewed\n"
        "      rules: [restricted-ssh]\n"
        "      until: 2027-03-31\n"
    )
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert f"{path}:2: rules.disabled names an unknown rule 'no-such-rule'" in out
    assert f"{path}:4: rule access-keys-rotated has no parameter 'maxAge'" in out and "maxAccessKeyAge" in out
    path.write_text("rules:\n  suppressions:\n    - reason: everything\n")
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "needs at least one of rules" in " ".join(result.output.split())


def test_events_settings_check_trails_retention_and_selectors(tmp_path: Path) -> None:
    config = write(
        tmp_path / "vigil.yaml",
        """events:
  trails:
    - name: writes
      log_group: writes
      event_selectors: [{ReadWriteType: Sideways}]
  log_groups:
    - {name: writes, retention_days: 42}
""",
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(config, environ={})
    found = sorted((p.where.rsplit(":", 1)[1], p.message.split(":")[0]) for p in excinfo.value.problems)
    assert found == [("3", "events.trails.0"), ("7", "events.log_groups.0.retention_days")]
    good = write(
        tmp_path / "good.yaml",
        """events:
  trails:
    - name: writes
      regions: [eu-west-1]
      log_group: writes
      advanced_event_selectors:
        - FieldSelectors:
            - {Field: eventCategory, Equals: [Management]}
            - {Field: readOnly, Equals: ["false"]}
  log_groups:
    - {name: writes, retention_days: 30}
""",
    )
    events = load_settings(good, environ={}).settings.events
    assert (events.trails[0].regions, events.log_groups[0].retention_days) == (["eu-west-1"], 30)


def test_config_validate_checks_filters_and_alarms_with_their_lines(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    config = write(
        tmp_path / "vigil.yaml",
        """events:
  metric_filters:
    - name: broken
      pattern: "{ $.a = "
      metric_name: M
      metric_namespace: N
  alarms:
    - {AlarmName: half, Namespace: N}
  composite_alarms:
    - {AlarmName: c, AlarmRule: "ALARM(nowhere)"}
""",
    )
    result = CliRunner().invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"{config}:3 events.metric_filters[0]: metric filter 'broken': filterPattern" in text
    assert f"{config}:8 events.alarms[0] alarm 'half'.MetricName: MetricName is required" in text
    assert "names alarms that do not exist: nowhere" in text
