"""The central records, with AWS's own field names.

``ConfigurationItem`` is AWS Config's configuration item (spec §5.1) in its API form
(``GetResourceConfigHistory``): ``relationships[].relationshipName`` and ``configuration`` as an
object. ``from_dict`` also reads the notification / S3-delivery forms (``awsAccountId``, ``ARN``,
``configurationItemVersion``, relationships keyed ``name``, ``configuration`` as a JSON string),
so a CI from AWS Config's delivery channel loads here unchanged.

Records are frozen; code that "changes" one builds a new one with ``dataclasses.replace``.
This module imports nothing of Vigil's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

CI_SCHEMA_VERSION = "1.3"
NOT_APPLICABLE_AZ = "Not Applicable"
GLOBAL_REGION = "global"  # AWS Config's awsRegion for IAM (global) resources

# configurationItemStatus values (spec §5.1)
OK = "OK"
DISCOVERED = "ResourceDiscovered"
NOT_RECORDED = "ResourceNotRecorded"
DELETED = "ResourceDeleted"
DELETED_NOT_RECORDED = "ResourceDeletedNotRecorded"
STATUSES = (OK, DISCOVERED, NOT_RECORDED, DELETED, DELETED_NOT_RECORDED)


def iso_ms(moment: datetime) -> str:
    """AWS Config's timestamp text: UTC, milliseconds, ``Z`` (``2014-03-07T23:47:08.918Z``)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Read an ISO-8601 timestamp (``Z`` or offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class ResourceKey(NamedTuple):
    """What identifies a resource in the store: account, region, type, id."""

    accountId: str
    awsRegion: str
    resourceType: str
    resourceId: str

    def __str__(self) -> str:
        return f"{self.resourceType} {self.resourceId} ({self.accountId}/{self.awsRegion})"


@dataclass(frozen=True, slots=True)
class Relationship:
    """An edge from a CI to another resource, named as AWS Config names it (spec §5.2)."""

    resourceType: str
    resourceId: str | None
    relationshipName: str
    resourceName: str | None = None

    def to_dict(self, *, name_key: str = "relationshipName") -> dict[str, Any]:
        """API form by default; ``name_key="name"`` gives the notification / S3 form."""
        return {
            "resourceType": self.resourceType,
            "resourceId": self.resourceId,
            "resourceName": self.resourceName,
            name_key: self.relationshipName,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Relationship:
        name = data.get("relationshipName", data.get("name"))
        if not name:
            raise ValueError(f"relationship without a name: {dict(data)!r}")
        return cls(
            resourceType=data["resourceType"],
            resourceId=data.get("resourceId"),
            relationshipName=name,
            resourceName=data.get("resourceName"),
        )


@dataclass(frozen=True, slots=True)
class ConfigurationItem:
    """One recorded state of one resource (AWS Config's CI, API form)."""

    accountId: str
    awsRegion: str
    resourceType: str
    resourceId: str
    configurationItemCaptureTime: str
    configurationItemStatus: str = DISCOVERED
    configurationStateId: str = ""
    resourceName: str | None = None
    arn: str | None = None
    availabilityZone: str = NOT_APPLICABLE_AZ
    resourceCreationTime: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    relationships: tuple[Relationship, ...] = ()
    configuration: Mapping[str, Any] = field(default_factory=dict)
    supplementaryConfiguration: Mapping[str, Any] = field(default_factory=dict)
    relatedEvents: tuple[str, ...] = ()
    version: str = CI_SCHEMA_VERSION
    configurationItemMD5Hash: str = ""

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.accountId, self.awsRegion, self.resourceType, self.resourceId)

    @property
    def deleted(self) -> bool:
        return self.configurationItemStatus in (DELETED, DELETED_NOT_RECORDED)

    def to_dict(self) -> dict[str, Any]:
        """The API form, field order as AWS returns it."""
        return {
            "version": self.version,
            "accountId": self.accountId,
            "configurationItemCaptureTime": self.configurationItemCaptureTime,
            "configurationItemStatus": self.configurationItemStatus,
            "configurationStateId": self.configurationStateId,
            "configurationItemMD5Hash": self.configurationItemMD5Hash,
            "arn": self.arn,
            "resourceType": self.resourceType,
            "resourceId": self.resourceId,
            "resourceName": self.resourceName,
            "awsRegion": self.awsRegion,
            "availabilityZone": self.availabilityZone,
            "resourceCreationTime": self.resourceCreationTime,
            "tags": dict(self.tags),
            "relatedEvents": list(self.relatedEvents),
            "relationships": [r.to_dict() for r in self.relationships],
            # AWS Config writes a deleted resource's configuration as null
            "configuration": None if self.deleted and not self.configuration else self.configuration,
            "supplementaryConfiguration": self.supplementaryConfiguration,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigurationItem:
        """Read the API, notification or S3-delivery form of a CI."""
        configuration: Any = data.get("configuration") or {}
        # The API form (GetResourceConfigHistory) carries configuration and every supplementary value
        # as JSON text; the delivery and notification forms carry objects (with the odd JSON string).
        api_form = isinstance(configuration, str)
        if api_form:
            configuration = json.loads(configuration) if configuration.strip() else {}
        read_value = _json_text if api_form else _maybe_json
        supplementary = {
            name: read_value(value) for name, value in (data.get("supplementaryConfiguration") or {}).items()
        }
        tags = data.get("tags") or {}
        if isinstance(tags, list):  # some exports carry [{key, value}]
            tags = {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags}
        return cls(
            version=str(data.get("version", data.get("configurationItemVersion", CI_SCHEMA_VERSION))),
            accountId=str(data.get("accountId", data.get("awsAccountId", ""))),
            awsRegion=data.get("awsRegion", ""),
            resourceType=data["resourceType"],
            resourceId=data["resourceId"],
            resourceName=data.get("resourceName"),
            arn=data.get("arn", data.get("ARN")),
            configurationItemCaptureTime=data.get("configurationItemCaptureTime", ""),
            configurationItemStatus=data.get("configurationItemStatus", OK),
            configurationStateId=str(data.get("configurationStateId", data.get("configurationStateID", ""))),
            configurationItemMD5Hash=data.get(
                "configurationItemMD5Hash", data.get("configurationStateMd5Hash", "")
            )
            or "",
            availabilityZone=data.get("availabilityZone") or NOT_APPLICABLE_AZ,
            resourceCreationTime=data.get("resourceCreationTime"),
            tags=dict(tags),
            relatedEvents=tuple(data.get("relatedEvents") or ()),
            relationships=tuple(Relationship.from_dict(r) for r in data.get("relationships") or ()),
            configuration=configuration,
            supplementaryConfiguration=supplementary,
        )


def _json_text(value: Any) -> Any:
    """An API-form supplementary value: JSON text (kept as given when it is not JSON)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _maybe_json(value: Any) -> Any:
    """AWS Config delivers some supplementary values as JSON text; read them as objects."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# Evaluation results (spec §5.3): what one rule says about one resource.
COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
COMPLIANCE_TYPES = (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, INSUFFICIENT_DATA)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One rule's verdict on one resource (AWS Config's ``Evaluation``)."""

    rule_id: str
    resource_type: str
    resource_id: str
    account_id: str
    region: str
    compliance: str
    annotation: str
    resource_name: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.rule_id, self.account_id, self.region, self.resource_type, self.resource_id)


def parse_when(text: str, now: datetime) -> datetime:
    """A time given on the command line: ISO (``2026-05-01``, ``2026-05-01T10:00:00Z``; UTC when no
    offset is given) or an age before ``now`` (``90m``, ``12h``, ``7d``, ``2w``).

    Raises ValueError with a sentence saying what to write."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        match = _AGE.fullmatch(text.strip())
        if not match:
            raise ValueError(
                f"{text!r} is neither an ISO time nor an age; write 2026-05-01T10:00:00Z, 2026-05-01, "
                "or an age like 30m, 12h, 7d, 2w"
            ) from None
        return now - timedelta(seconds=float(match[1]) * _AGE_SECONDS[match[2]])
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_AGE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
