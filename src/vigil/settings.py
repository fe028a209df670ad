"""One ``Settings`` model: ``vigil.yaml`` overlaid with ``VIGIL_*`` environment variables.

Where the file comes from, first match wins:
``--config PATH`` → ``$VIGIL_CONFIG`` → ``./vigil.yaml`` → ``<user config dir>/vigil/vigil.yaml``
(no file at all is fine: every value has a default).

Every value can be overridden from the environment: the variable is ``VIGIL_`` plus the path of the
value in upper case, nested keys joined by ``__`` (``VIGIL_DB``, ``VIGIL_AWS__REGIONS``,
``VIGIL_AWS__MAX_ATTEMPTS``). Lists are comma-separated (or a JSON array).

Secrets (``aws.external_id`` and, later, passwords and webhook URLs) may be written inline or as an
``env:NAME`` reference; they are masked whenever settings are shown or serialised.

Validation collects every problem, each with ``file:line`` (or the environment variable's name),
and raises one :class:`~vigil.errors.ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from vigil import yamlsrc
from vigil.errors import ConfigError, Problem, UsageError
from vigil.yamlsrc import Lines

ENV_PREFIX = "VIGIL_"
CONFIG_FILE_NAME = "vigil.yaml"
DEFAULT_DB = ".vigil/vigil.db"
MASK = "********"


class Secret:
    """A secret value, or an ``env:NAME`` reference to one. Never shown: ``str()`` and ``repr()`` are
    masked, and serialising settings writes the mask (``env:`` references are shown as written).

    ``reveal()`` returns the real value (reading the environment for ``env:`` references) and is
    the only way to get it.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: str | Secret) -> None:
        self._raw: str = raw._raw if isinstance(raw, Secret) else str(raw)
        if not self._raw:
            raise ValueError("a secret cannot be empty")

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        raw = self._raw
        if raw.startswith("env:"):
            name = raw[4:]
            value = (os.environ if environ is None else environ).get(name)
            if value is None:
                raise UsageError(
                    f"the secret refers to the environment variable {name}, which is not set",
                    hint=f"export {name}=... before running vigil, or write the value in vigil.yaml",
                )
            return value
        return raw

    @property
    def display(self) -> str:
        """What may be shown: an ``env:`` reference as written, anything else masked."""
        return self._raw if self._raw.startswith("env:") else MASK

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"Secret({self.display!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_after_validator_function(cls, core_schema.str_schema(min_length=1))
        return core_schema.json_or_python_schema(
            json_schema=from_str,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_str]),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: s.display),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "description": "a secret, or env:NAME to read it from the environment",
        }


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AwsSettings(_Section):
    """How Vigil reaches AWS. Read-only credentials (SecurityAudit + ViewOnlyAccess) are enough."""

    profile: str | None = Field(None, description="Named profile from ~/.aws/config; default: boto3's chain.")
    role_arn: str | None = Field(
        None, description="Role to assume before reading, e.g. arn:aws:iam::123456789012:role/VigilAudit."
    )
    external_id: Secret | None = Field(None, description="External id for the role, or env:NAME.")
    role_session_name: str = Field("vigil", description="Session name shown in CloudTrail for assumed roles.")
    regions: list[str] = Field(
        default_factory=list, description="Regions to read; empty means the account's enabled regions."
    )
    home_region: str = Field(
        "us-east-1", description="Region used for global services (IAM, STS) and region discovery."
    )
    endpoint_url: str | None = Field(
        None,
        description="Send every AWS call to this endpoint (an emulator). boto3's own AWS_ENDPOINT_URL also works.",
    )
    max_attempts: int = Field(
        10, ge=1, le=30, description="Attempts per call, with adaptive retry on throttling."
    )
    concurrency: int = Field(
        8, ge=1, le=64, description="Collections (region × resource type) running at once."
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a response.")

    @field_validator("regions")
    @classmethod
    def _regions_look_like_regions(cls, regions: list[str]) -> list[str]:
        for region in regions:
            parts = region.split("-")
            if len(parts) < 3 or not parts[-1].isdigit():
                raise ValueError(f"{region!r} is not a region name (like us-east-1)")
        return regions


class RecorderSettings(_Section):
    """What the configuration recorder records (AWS Config's recording group)."""

    resource_types: list[str] = Field(
        default_factory=list, description="Record only these types (AWS::EC2::Instance, ...); empty: all."
    )
    exclude_resource_types: list[str] = Field(default_factory=list, description="Never record these types.")

    @field_validator("resource_types", "exclude_resource_types")
    @classmethod
    def _known_types(cls, names: list[str]) -> list[str]:
        from vigil.aws.resources import RESOURCE_TYPES  # lazy: settings must load without boto3 work

        unknown = [n for n in names if n not in RESOURCE_TYPES]
        if unknown:
            raise ValueError(f"unknown resource type(s) {', '.join(unknown)}; see `vigil resources --types`")
        return names


class Suppression(_Section):
    """Findings to suppress (accepted risk, false positive): every field given must match."""

    reason: str = Field(description="Why: shown with every suppressed finding.")
    rules: list[str] = Field(default_factory=list, description="Rule ids.")
    resources: list[str] = Field(default_factory=list, description="Resource ids.")
    accounts: list[str] = Field(default_factory=list, description="Account ids.")
    regions: list[str] = Field(default_factory=list, description="Regions.")
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags the resource carries (key: value, '*' any)."
    )
    until: str | None = Field(
        None, description="Expiry (ISO date or time); after it the findings open again."
    )

    @field_validator("until", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        # YAML reads 2027-03-31 as a date: accept it as the ISO text it was written as
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value

    @model_validator(mode="after")
    def _selects_something(self) -> Suppression:
        if not (self.rules or self.resources or self.accounts or self.regions or self.tags):
            raise ValueError("a suppression needs at least one of rules, resources, accounts, regions, tags")
        if self.until is not None:
            from vigil.model import parse_time

            try:
                parse_time(self.until)
            except ValueError as exc:
                raise ValueError(f"until {self.until!r} is not an ISO date or time") from exc
        return self


class RulesSettings(_Section):
    """Which rules evaluate, with which parameters, and which findings are accepted."""

    packs: list[str] = Field(
        default_factory=list,
        description="Directories or files of your own rule packs; a rule with a built-in rule's id replaces it.",
    )
    builtin: bool = Field(True, description="Load the built-in packs.")
    disabled: list[str] = Field(default_factory=list, description="Rule ids not to evaluate.")
    parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Parameter values by rule id: {access-keys-rotated: {maxAccessKeyAge: 60}}.",
    )
    suppressions: list[Suppression] = Field(default_factory=list, description="Findings to suppress.")


# CloudWatch Logs' allowed retention values in days (PutRetentionPolicy).
RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_LOG_GROUP = "aws-cloudtrail-logs-vigil"
DEFAULT_TOPIC = "vigil-alerts"


def local_topic_arn(name: str) -> str:
    """The ARN of a Vigil topic named in the config (partition ``vigil``: not an AWS resource)."""
    return name if name.startswith("arn:") else f"arn:vigil:sns:local:vigil:{name}"


class TrailSettings(_Section):
    """A trail: which CloudTrail records it keeps, from which regions, into which log group."""

    name: str = Field(description="The trail's name.", min_length=1, max_length=128)
    regions: list[str] = Field(
        default_factory=list, description="Regions whose records it keeps (awsRegion); empty: all regions."
    )
    event_selectors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Basic event selectors in CloudTrail's shape (ReadWriteType, IncludeManagementEvents, "
        "DataResources); none and no advanced selectors: all management events.",
    )
    advanced_event_selectors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Advanced event selectors in CloudTrail's shape (Name, FieldSelectors with Field, Equals, "
        "NotEquals, StartsWith, NotStartsWith, EndsWith, NotEndsWith).",
    )
    log_group: str = Field(description="The log group it delivers to.", min_length=1, max_length=512)

    @model_validator(mode="after")
    def _selectors_parse(self) -> TrailSettings:
        from vigil.trail.selectors import SelectorError, parse_trail_selectors

        try:
            parse_trail_selectors(
                {
                    "EventSelectors": self.event_selectors,
                    "AdvancedEventSelectors": self.advanced_event_selectors,
                }
            )
        except SelectorError as exc:
            raise ValueError(str(exc)) from exc
        return self


class LogGroupSettings(_Section):
    """A log group's retention (events older than it are deleted by `vigil watch` and `vigil ingest`)."""

    name: str = Field(min_length=1, max_length=512)
    retention_days: int | None = Field(
        None, description="Days to keep events after ingestion; none: forever."
    )

    @field_validator("retention_days")
    @classmethod
    def _allowed_retention(cls, days: int | None) -> int | None:
        if days is not None and days not in RETENTION_DAYS:
            raise ValueError(f"{days} is not a CloudWatch Logs retention; use one of {list(RETENTION_DAYS)}")
        return days


class MetricFilterSettings(_Section):
    """A metric filter (PutMetricFilter): a pattern on a log group and the metric it publishes."""

    name: str = Field(min_length=1, max_length=512)
    log_group: str = Field(DEFAULT_LOG_GROUP, description="The log group it reads.")
    pattern: str = Field(
        description="A CloudWatch Logs filter pattern; test it with `vigil logs test-pattern`."
    )
    metric_name: str
    metric_namespace: str
    metric_value: str = Field("1", description="A number, or $.field / $name taken from the event.")
    default_value: float | None = Field(None, description="Published for periods with events but no match.")
    dimensions: dict[str, str] = Field(default_factory=dict, description="Dimension name: $.field or $name.")
    unit: str | None = None


class MonitoringSettings(_Section):
    """The built-in monitoring alarms on the default trail's log group."""

    cis: bool = Field(True, description="CIS AWS Foundations v7.0 5.1–5.15 metric filters and alarms.")
    root_activity: bool = Field(True, description="Alarm on any activity by the root user.")
    without_mfa: bool = Field(True, description="Alarm on API activity and console sign-in without MFA.")
    disabled: list[str] = Field(default_factory=list, description="Pack alarm ids not to run.")
    topic: str = Field(DEFAULT_TOPIC, description="Topic (name or ARN) their actions publish to.")


class EventsSettings(_Section):
    """CloudTrail ingestion, trails, log groups, metric filters and alarms."""

    sources: list[str] = Field(
        default_factory=list,
        description="What `vigil watch` polls: paths, s3://bucket/prefix, sqs://queue, lookup-events[:region].",
    )
    default_trail: bool = Field(
        True, description="Keep every management event of every region in the default log group."
    )
    default_log_group: str = Field(DEFAULT_LOG_GROUP, description="The default trail's log group.")
    default_retention_days: int | None = Field(
        90, description="Retention of log groups not listed in log_groups (90 days, as the event history)."
    )
    trails: list[TrailSettings] = Field(default_factory=list, description="Custom trails.")
    log_groups: list[LogGroupSettings] = Field(default_factory=list, description="Retention per log group.")
    metric_filters: list[MetricFilterSettings] = Field(default_factory=list)
    alarms: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Metric alarms in PutMetricAlarm's shape (AlarmName, MetricName, Namespace, Statistic, "
        "Period, EvaluationPeriods, Threshold, ComparisonOperator, TreatMissingData, AlarmActions, ...).",
    )
    composite_alarms: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Composite alarms in PutCompositeAlarm's shape (AlarmName, AlarmRule, ...).",
    )
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    poll_seconds: float = Field(60.0, gt=0, description="How often `vigil watch` polls its sources.")
    rerecord: bool = Field(True, description="`vigil watch` re-records resources that write events change.")

    @field_validator("default_retention_days")
    @classmethod
    def _allowed_default_retention(cls, days: int | None) -> int | None:
        return LogGroupSettings._allowed_retention(days)


PROTOCOLS = ("email", "email-json", "http", "https", "sms", "chat", "aws-sns", "sqs", "automation", "inbox")


class SubscriptionSettings(_Section):
    """Who hears a topic, how (SNS's subscription attributes, in Vigil's words)."""

    protocol: str = Field(description="One of " + ", ".join(PROTOCOLS) + ".")
    endpoint: str = Field(
        "",
        description="Address for the protocol: an email address, a URL, an Apprise URL for sms/chat, a topic or "
        "queue ARN, an action name for automation; env:NAME reads it from the environment (and hides it).",
    )
    filter_policy: dict[str, Any] | None = Field(None, description="An SNS filter policy (JSON object).")
    filter_policy_scope: str = Field("MessageAttributes", description="MessageAttributes or MessageBody.")
    raw_message_delivery: bool = Field(False, description="Send the message alone, without SNS's envelope.")
    delivery_policy: dict[str, Any] = Field(
        default_factory=dict,
        description="SNS's healthyRetryPolicy: numRetries, numNoDelayRetries, minDelayTarget, maxDelayTarget, "
        "numMinDelayRetries, numMaxDelayRetries, backoffFunction; default: 3 retries 20 s apart.",
    )
    hmac_secret: Secret | None = Field(
        None, description="http/https: also sign with HMAC-SHA256 (or env:NAME)."
    )
    digest_minutes: int | None = Field(
        None, ge=1, description="People: one message per window listing them all."
    )
    apply: bool = Field(
        False, description="automation: make the changes; by default the action only dry-runs (journalled)."
    )

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, protocol: str) -> str:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
        return protocol

    @field_validator("filter_policy_scope")
    @classmethod
    def _known_scope(cls, scope: str) -> str:
        if scope not in ("MessageAttributes", "MessageBody"):
            raise ValueError("filter_policy_scope is MessageAttributes or MessageBody")
        return scope


class TopicSettings(_Section):
    """A topic: what is published to it reaches each subscription whose filter policy matches."""

    name: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    subscriptions: list[SubscriptionSettings] = Field(default_factory=list)


class SmtpSettings(_Section):
    """The SMTP server the email channels send through."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: str = Field("starttls", description="starttls (587), ssl (465) or none.")
    username: str | None = None
    password: Secret | None = Field(None, description="The SMTP password, or env:NAME.")
    sender: str = Field("Vigil <vigil@localhost>", description="The From address.")
    timeout: float = Field(15.0, gt=0)
    templates_dir: str | None = Field(
        None, description="email.subject.j2, email.txt.j2, email.html.j2 here replace the built-in ones."
    )

    @field_validator("security")
    @classmethod
    def _known_security(cls, security: str) -> str:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("security is starttls, ssl or none")
        return security


class NotifySettings(_Section):
    """Topics and subscriptions (Vigil's SNS); alarms and findings publish to them."""

    topics: list[TopicSettings] = Field(
        default_factory=lambda: [TopicSettings(name=DEFAULT_TOPIC)],
        description="Topics; the default vigil-alerts keeps what is published even without subscribers.",
    )
    findings_topic: str | None = Field(
        DEFAULT_TOPIC, description="Where finding opened/resolved messages go (null: nowhere)."
    )
    smtp: SmtpSettings | None = Field(None, description="The SMTP server for email and email-json.")
    keys_dir: str = Field(".vigil/keys", description="Where Vigil keeps its signing key and certificate.")
    http_timeout: float = Field(15.0, gt=0, description="Seconds an HTTP endpoint has to answer (SNS: 15).")
    senders: int = Field(4, ge=1, le=64, description="Deliveries sent at once by each worker pass.")


class Settings(_Section):
    """Vigil's configuration (``vigil.yaml``)."""

    SECRET_PATHS: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("aws", "external_id"),
        ("notify", "smtp", "password"),
    )

    db: str = Field(
        DEFAULT_DB, description="The store: a SQLite path, or a SQLAlchemy URL (postgresql+psycopg://...)."
    )
    aws: AwsSettings = Field(default_factory=AwsSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    events: EventsSettings = Field(default_factory=EventsSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)


# ---------------------------------------------------------------------------------------------
# finding and reading the file


def find_config_file(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path | None:
    """The configuration file to read, or None when there is none (defaults apply)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(f"config file {path} does not exist", hint="check the --config path")
        return path
    if environ.get("VIGIL_CONFIG"):
        path = Path(environ["VIGIL_CONFIG"])
        if not path.is_file():
            raise UsageError(
                f"VIGIL_CONFIG names {path}, which does not exist", hint="unset it or fix the path"
            )
        return path
    local = Path(CONFIG_FILE_NAME)
    if local.is_file():
        return local
    from platformdirs import user_config_dir

    user = Path(user_config_dir("vigil")) / CONFIG_FILE_NAME
    return user if user.is_file() else None


def read_yaml(path: Path) -> tuple[dict[str, Any], Lines, list[Problem]]:
    """Parse a YAML mapping, keeping a line number for every path in it.

    Returns the data, the lines, and problems found while reading (duplicate keys) that do not stop
    validation, so they are reported together with the others."""
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read {src}: {exc.strerror}", hint="check the path and its permissions"
        ) from exc
    data, lines, problems = yamlsrc.parse(text, src)
    if data is None and problems:
        raise ConfigError(problems)
    if data is None:
        return {}, {}, []
    if not isinstance(data, dict):
        problems.append(
            Problem(f"{src}:1", "the file must be a mapping of settings", "see `vigil config schema`")
        )
        raise ConfigError(problems)
    return data, lines, problems


# ---------------------------------------------------------------------------------------------
# the environment overlay


def _env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "__".join(p.upper() for p in path)


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_leaf_paths(annotation, (*prefix, name)))
        else:
            out.append(((*prefix, name), annotation))
    return out


def _env_value(raw: str, annotation: Any) -> Any:
    if "list" in str(annotation):
        text = raw.strip()
        if text.startswith("["):
            return orjson.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Settings given as VIGIL_* variables, as a nested dict, and which variable set each path."""
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    for path, annotation in _leaf_paths(Settings):
        name = _env_name(path)
        if name not in environ:
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            node[path[-1]] = _env_value(environ[name], annotation)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(
                [Problem(f"environment {name}", f"not a JSON list: {exc}", "use a,b,c")]
            ) from exc
        sources[path] = name
    return data, sources


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif isinstance(value, Mapping) and key in out:
            continue  # the file's section is not a mapping: keep it, so validation reports it
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# loading


class LoadedSettings(BaseModel):
    """Settings plus where they came from (for messages and `vigil config show`)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    path: Path | None = None
    env_sources: dict[tuple[str, ...], str] = Field(default_factory=dict)
    lines: dict[tuple[str | int, ...], int] = Field(default_factory=dict)

    def where(self, *loc: str | int) -> str:
        """``file:line`` (or the environment variable) of a setting, for messages about it."""
        return _where(loc, str(self.path) if self.path else "", self.lines, self.env_sources)


def _where(
    loc: tuple[str | int, ...], src: str, lines: Lines, env_sources: Mapping[tuple[str, ...], str]
) -> str:
    key = tuple(str(p) for p in loc)
    for n in range(len(key), 0, -1):
        if key[:n] in env_sources:
            return f"environment {env_sources[key[:n]]}"
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return f"{src}:{lines[loc[:n]]}"
    return src or "settings"


def _hint(error_type: str, loc: tuple[str | int, ...]) -> str:
    if error_type == "extra_forbidden":
        return "remove it or check its spelling; `vigil config schema` lists every key"
    if error_type.startswith(("int", "float", "bool")):
        return "write a plain number or true/false"
    return "see `vigil config schema`"


def load_settings(
    explicit: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    db: str | None = None,
) -> LoadedSettings:
    """Find, read, overlay and validate the settings. Raises ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path = find_config_file(explicit, environ)
    data, lines, read_problems = read_yaml(path) if path else ({}, {}, [])
    overrides, env_sources = env_overrides(environ)
    merged = _merge(data, overrides)
    if db:
        merged["db"] = db
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        src = str(path) if path else ""
        problems = read_problems + [
            Problem(
                _where(tuple(err["loc"]), src, lines, env_sources),
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
                _hint(err["type"], tuple(err["loc"])),
            )
            for err in exc.errors()
        ]
        raise ConfigError(problems) from exc
    if read_problems:
        raise ConfigError(read_problems)
    return LoadedSettings(settings=settings, path=path, env_sources=env_sources, lines=lines)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of vigil.yaml, for editors (yaml-language-server) and CI checks."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://vigil.dev/schema/vigil.yaml.json"
    schema["title"] = "vigil.yaml"
    return schema


def public_view(settings: Settings) -> dict[str, Any]:
    """The settings as they may be shown: secrets (and a password in the store URL) masked."""
    view = settings.model_dump(mode="json")
    if "://" in settings.db:
        from sqlalchemy.engine import make_url

        view["db"] = make_url(settings.db).render_as_string(hide_password=True)
    return view
