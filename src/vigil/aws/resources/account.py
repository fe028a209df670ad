"""``AWS::::Account``: the account-wide settings AWS Config's periodic account rules look at.

As AWS Config evaluates the account pseudo-resource in each region, Vigil records one account item
per region (``resourceId`` = the account id). It carries the IAM facts (global, read once per scan)
and the region's own settings:

* ``passwordPolicy`` (``null`` when the account has none), ``accountSummary`` (``SummaryMap``);
* ``root``: MFA on, virtual or hardware, access keys present (from the summary and the virtual MFA
  list, as moto's credential report has no ``<root_account>`` row; the report's row is used when
  present);
* ``credentialReport``: every row of the IAM credential report (AWS's column names; last-use
  fields are volatile);
* ``ebsEncryptionByDefault`` for the region.

And the security services' switches (the "security facts"):

* ``s3PublicAccessBlock``: the account-level S3 Block Public Access settings (S3 Control; they apply
  to every region, so they are read once per scan), ``null`` when none is configured;
* ``alternateContacts``: ``{security, billing, operations}`` (account-wide, read once), each ``null``
  when not set;
* ``accessAnalyzers``: the region's IAM Access Analyzer analyzers (``[]``: none);
* ``securityHub``: the region's hub (``{"enabled": false}`` when Security Hub is off) and
  ``securityHubStandards``: the standards enabled there (``[]`` when off);
* ``configRecorders``: the region's AWS Config recorder status (the memoised call the recorder type
  makes too);
* ``guardDutyDetectorIds``: the region's GuardDuty detectors (the detector type's memoised call), so
  that "no detector in this region" is a fact a rule can see.

A security fact that cannot be read does not stop the item: the fact is ``null`` and
``supplementaryConfiguration.Unavailable[<Fact>]`` is ``{code, message}`` (``<Fact>`` is the key
with a capital, e.g. ``AccessAnalyzers``), so the rest of the item still updates and a rule on that
fact answers INSUFFICIENT_DATA rather than a verdict on missing data. Two kinds of failure:

* the endpoint does not offer the API: the answer is not AWS's (an error with a bare HTTP status as
  its code, a body that does not parse, no endpoint for the service in that region), e.g. an
  emulator without Access Analyzer. Recorded under ``Unavailable`` only; the scan stays complete.
  Such an answer is not retried either: a 5xx without AWS's request id header is an endpoint that
  lacks the service, not a throttled one;
* anything else (AccessDenied, throttling past the retry budget, ...): recorded under
  ``Unavailable`` and reported as a failure of the account item as well, so the scan is partial and
  the denial is visible; the item itself is still written.

The IAM and EBS facts keep the stricter rule of the rest of the recorder: their failure fails the
unit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import botocore.exceptions
from botocore.parsers import ResponseParserError

from vigil.aws.resources.base import AWS_ERRORS, Batch, Fetch, make_ci, to_config, wanted
from vigil.aws.resources.guardduty import detector_ids
from vigil.aws.resources.iam import credential_report, virtual_mfa_devices
from vigil.aws.session import error_code

ACCOUNT = "AWS::::Account"

_LAST_USED = (
    "password_last_used",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
)
VOLATILE = (
    *tuple(f"configuration.credentialReport.users[*].{f}" for f in _LAST_USED),
    "configuration.credentialReport.generatedTime",
    "configuration.root.passwordLastUsed",
    # what analyzers and recorders last did, not how they are set up
    "configuration.accessAnalyzers[*].lastResourceAnalyzed",
    "configuration.accessAnalyzers[*].lastResourceAnalyzedAt",
    *tuple(
        f"configuration.configRecorders[*].{f}"
        for f in ("lastStatus", "lastStatusChangeTime", "lastErrorCode", "lastErrorMessage")
    ),
)

CONTACT_TYPES = ("SECURITY", "BILLING", "OPERATIONS")
HUB_OFF = ("InvalidAccessException", "ResourceNotFoundException")
AWS_REQUEST_ID_HEADERS = ("x-amzn-requestid", "x-amz-request-id", "x-amz-id-2")

Read = tuple[Any, BaseException | None]


def _iam_facts(fx: Fetch) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        iam = fx.client("iam")
        policy = fx.optional(lambda: iam.get_account_password_policy()["PasswordPolicy"], ("NoSuchEntity",))
        summary = iam.get_account_summary()["SummaryMap"]
        rows = credential_report(fx)
        root_row = next((r for r in rows if r.get("user") == "<root_account>"), None)
        root_serial = f"arn:{fx.partition}:iam::{fx.account_id}:mfa/root-account-mfa-device"
        root_virtual = any(
            d["SerialNumber"] == root_serial or (d.get("User") or {}).get("Arn", "").endswith(":root")
            for d in virtual_mfa_devices(fx)
        )
        mfa_on = bool(summary.get("AccountMFAEnabled"))
        return {
            "passwordPolicy": to_config(policy) if policy is not None else None,
            "accountSummary": dict(summary),
            "root": {
                "mfaActive": mfa_on,
                "mfaType": ("virtual" if root_virtual else "hardware") if mfa_on else None,
                "accessKeysPresent": bool(summary.get("AccountAccessKeysPresent")),
                "passwordLastUsed": root_row.get("password_last_used") if root_row else None,
            },
            "credentialReport": {"users": [r for r in rows if r.get("user") != "<root_account>"]},
        }

    return fx.memo(("account", "iam"), fetch)


# -- security facts ----------------------------------------------------------------------------


def _final_if_not_aws(response: Any = None, **_: Any) -> bool | None:
    """``needs-retry`` handler: ``False`` (no retry) for a 5xx that carries no AWS request id."""
    if response is None:
        return None
    http = response[0]
    if http.status_code >= 500 and not any(h in http.headers for h in AWS_REQUEST_ID_HEADERS):
        return False
    return None


def _client(fx: Fetch, service: str, region: str | None = None) -> Any:
    """The scan's client for a security fact, told not to retry answers that are not AWS's."""
    client = fx.client(service, region)
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"needs-retry.{service_id}", _final_if_not_aws, unique_id="vigil-no-retry-when-not-aws"
    )
    return client


def _listed(fx: Fetch, service: str, region: str, operation: str, key: str) -> list[Any]:
    """A memoised list call (``fx.items``) through ``_client``, in AWS Config's camelCase."""
    _client(fx, service, region)
    return list(to_config(fx.items(service, region, operation, key)))


def _s3_public_access_block(fx: Fetch) -> dict[str, Any] | None:
    s3control = _client(fx, "s3control")
    found = fx.optional(
        lambda: s3control.get_public_access_block(AccountId=fx.account_id),
        ("NoSuchPublicAccessBlockConfiguration",),
    )
    return None if found is None else to_config(found["PublicAccessBlockConfiguration"])


def _alternate_contacts(fx: Fetch) -> dict[str, Any]:
    account = _client(fx, "account")
    out: dict[str, Any] = {}
    for kind in CONTACT_TYPES:
        found = fx.optional(
            partial(account.get_alternate_contact, AlternateContactType=kind), ("ResourceNotFoundException",)
        )
        out[kind.lower()] = None if found is None else to_config(found["AlternateContact"])
    return out


def _hub(fx: Fetch, region: str) -> dict[str, Any] | None:
    """The region's ``DescribeHub`` answer, ``None`` when Security Hub is not enabled (memoised)."""

    def fetch() -> dict[str, Any] | None:
        hub = fx.optional(_client(fx, "securityhub", region).describe_hub, HUB_OFF)
        return None if hub is None else {k: v for k, v in hub.items() if k != "ResponseMetadata"}

    return fx.memo(("securityhub", region, "describe_hub"), fetch)


def _security_hub(fx: Fetch, region: str) -> dict[str, Any]:
    hub = _hub(fx, region)
    return {"enabled": False} if hub is None else {"enabled": True, **to_config(hub)}


def _security_hub_standards(fx: Fetch, region: str) -> list[Any]:
    if _hub(fx, region) is None:
        return []
    return _listed(fx, "securityhub", region, "get_enabled_standards", "StandardsSubscriptions")


def _access_analyzers(fx: Fetch, region: str) -> list[Any]:
    return _listed(fx, "accessanalyzer", region, "list_analyzers", "analyzers")


def _config_recorders(fx: Fetch, region: str) -> list[Any]:
    return _listed(
        fx, "config", region, "describe_configuration_recorder_status", "ConfigurationRecordersStatus"
    )


ACCOUNT_WIDE: dict[str, Callable[[Fetch], Any]] = {
    "s3PublicAccessBlock": _s3_public_access_block,
    "alternateContacts": _alternate_contacts,
}
REGIONAL: dict[str, Callable[[Fetch, str], Any]] = {
    "accessAnalyzers": _access_analyzers,
    "securityHub": _security_hub,
    "securityHubStandards": _security_hub_standards,
    "configRecorders": _config_recorders,
    "guardDutyDetectorIds": detector_ids,
}


def _read(call: Callable[[], Any]) -> Read:
    try:
        return call(), None
    except AWS_ERRORS as exc:
        return None, exc


def endpoint_lacks_api(exc: BaseException) -> bool:
    """Whether a failed call means "this endpoint does not offer the API" rather than a refusal.

    AWS's errors carry a code (``AccessDenied``); an answer with none (botocore then reports the
    bare HTTP status), one that does not parse, or no endpoint at all is not AWS refusing."""
    if isinstance(exc, ResponseParserError | botocore.exceptions.EndpointConnectionError):
        return True
    return isinstance(exc, botocore.exceptions.ClientError) and error_code(exc)[0].isdigit()


def unavailable_reason(exc: BaseException) -> dict[str, str]:
    code, message = error_code(exc)
    if code.isdigit():
        message = f"HTTP {code} without an AWS error: the endpoint does not offer this API"
    return {"code": code, "message": message}


def security_facts(fx: Fetch, region: str) -> tuple[dict[str, Any], dict[str, Any], list[BaseException]]:
    """(facts, ``Unavailable`` entries, failures to report) for the region's account item."""
    reads: dict[str, Read] = {
        name: fx.memo(("account", name), partial(_read, partial(read, fx)))
        for name, read in ACCOUNT_WIDE.items()
    }
    reads |= {name: _read(partial(read, fx, region)) for name, read in REGIONAL.items()}
    facts: dict[str, Any] = {}
    unavailable: dict[str, Any] = {}
    failures: list[BaseException] = []
    for name, (value, exc) in reads.items():
        facts[name] = value
        if exc is not None:
            unavailable[name[:1].upper() + name[1:]] = unavailable_reason(exc)
            if not endpoint_lacks_api(exc):
                failures.append(exc)
    return facts, unavailable, failures


def collect_account(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    if not wanted(ids, fx.account_id):
        return batch
    ec2 = fx.client("ec2", region)
    encryption = ec2.get_ebs_encryption_by_default()
    facts, unavailable, failures = security_facts(fx, region)
    configuration = {
        "accountId": fx.account_id,
        **_iam_facts(fx),
        "ebsEncryptionByDefault": bool(encryption.get("EbsEncryptionByDefault")),
        **facts,
    }
    batch.cis.append(
        make_ci(
            fx,
            ACCOUNT,
            region,
            fx.account_id,
            configuration=configuration,
            supplementary={"Unavailable": unavailable},
        )
    )
    for exc in failures:
        batch.fail(fx.account_id, exc)
    return batch
