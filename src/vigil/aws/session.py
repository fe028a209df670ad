"""The only place that builds boto3 clients.

``AwsSession`` turns :class:`~vigil.settings.AwsSettings` into clients: a named profile or boto3's
default chain, an optional role to assume (with external id; credentials refresh themselves),
adaptive retries, timeouts, an endpoint override (``aws.endpoint_url``, or boto3's own
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables, which boto3 reads itself), and a
count of API calls per service for ``vigil scan --stats``.

Clients are cached per (service, region) and shared between threads (boto3 clients are
thread-safe; sessions are not, so building one takes a lock).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.exceptions
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.parsers import ResponseParserError
from botocore.session import get_session

from vigil.errors import NoCredentialsError, UsageError
from vigil.settings import AwsSettings

USER_AGENT = "vigil/0.1"
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "Forbidden",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
    }
)


@dataclass
class ApiStats:
    """API calls per service: operations invoked, HTTP attempts (retries included), throttles, errors."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _bump(self, counter: Counter[str], service: str) -> None:
        with self._lock:
            counter[service] += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def retries(self) -> int:
        return max(0, sum(self.attempts.values()) - self.total_calls)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.calls.items()))

    def table(self) -> list[tuple[str, int, int, int]]:
        """(service, calls, retries, errors) for each service called."""
        return [
            (svc, self.calls[svc], max(0, self.attempts[svc] - self.calls[svc]), self.errors[svc])
            for svc in sorted(self.calls)
        ]


def _service_of(kwargs: Mapping[str, Any]) -> str:
    model = kwargs.get("model")
    if model is not None:
        return str(model.service_model.service_name)
    event_name = str(kwargs.get("event_name", ""))
    parts = event_name.split(".")
    return parts[1] if len(parts) > 1 else "unknown"


class AwsSession:
    """Clients for one AWS identity (a profile, or a role assumed from it)."""

    def __init__(self, settings: AwsSettings, *, stats: ApiStats | None = None) -> None:
        self.settings = settings
        self.stats = stats or ApiStats()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._account_id: str | None = None
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=max(10, settings.concurrency * 2),
            user_agent_extra=USER_AGENT,
        )
        try:
            base = boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()
        except botocore.exceptions.ProfileNotFound as exc:
            raise UsageError(
                f"AWS profile {settings.profile!r} is not configured",
                hint="list profiles with `aws configure list-profiles`, or set aws.profile / --profile",
            ) from exc
        self._session = self._assume(base) if settings.role_arn else base

    @classmethod
    def for_role(cls, parent: AwsSession, role_arn: str, external_id: str | None = None) -> AwsSession:
        """A session for another account, assumed from ``parent`` (organisation scans)."""
        child_settings = parent.settings.model_copy(update={"role_arn": role_arn, "external_id": external_id})
        child = cls.__new__(cls)
        child.settings = child_settings
        child.stats = parent.stats
        child._lock = threading.Lock()
        child._clients = {}
        child._account_id = None
        child._config = parent._config
        child._session = child._assume(parent._session)
        return child

    # -- credentials ---------------------------------------------------------------------------

    def _assume(self, base: boto3.Session) -> boto3.Session:
        settings = self.settings
        sts = base.client(
            "sts", region_name=settings.home_region, endpoint_url=settings.endpoint_url, config=self._config
        )
        self._count(sts)
        params: dict[str, Any] = {"RoleArn": settings.role_arn, "RoleSessionName": settings.role_session_name}
        if settings.external_id:
            params["ExternalId"] = settings.external_id.reveal()

        def fetch() -> dict[str, str]:
            try:
                creds = sts.assume_role(**params)["Credentials"]
            except botocore.exceptions.NoCredentialsError as exc:
                raise NoCredentialsError(
                    "no AWS credentials to assume the role with",
                    hint="configure a profile (aws configure) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                ) from exc
            except botocore.exceptions.ClientError as exc:
                err = exc.response.get("Error", {})
                raise NoCredentialsError(
                    f"cannot assume {settings.role_arn}: {err.get('Code')}: {err.get('Message')}",
                    hint="check the role's trust policy, the external id, and the calling identity's permissions",
                ) from exc
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].astimezone(UTC).isoformat()
                if isinstance(creds["Expiration"], datetime)
                else str(creds["Expiration"]),
            }

        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        botocore_session = get_session()
        botocore_session._credentials = credentials
        botocore_session.set_config_variable("region", settings.home_region)
        return boto3.Session(botocore_session=botocore_session)

    # -- clients -------------------------------------------------------------------------------

    def _count(self, client: BaseClient) -> None:
        events = client.meta.events
        events.register("before-call.*.*", lambda **kw: self.stats._bump(self.stats.calls, _service_of(kw)))
        events.register(
            "before-send.*.*", lambda **kw: self.stats._bump(self.stats.attempts, _service_of(kw))
        )
        events.register(
            "after-call-error.*.*", lambda **kw: self.stats._bump(self.stats.errors, _service_of(kw))
        )

    def client(self, service: str, region: str | None = None) -> BaseClient:
        """A client for ``service`` in ``region`` (global services: the home region)."""
        region = region or self.settings.home_region
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._session.client(
                    service, region_name=region, endpoint_url=self.settings.endpoint_url, config=self._config
                )
                self._count(client)
                if service == "s3control" and self.settings.endpoint_url:
                    client.meta.events.register(
                        "before-sign.s3-control", _keep_endpoint_host(self.settings.endpoint_url)
                    )
                self._clients[key] = client
        return client

    def account_id(self) -> str:
        """The account these credentials act in (STS GetCallerIdentity, once)."""
        if self._account_id is None:
            try:
                self._account_id = str(self.client("sts").get_caller_identity()["Account"])
            except botocore.exceptions.NoCredentialsError as exc:
                raise NoCredentialsError(
                    "no AWS credentials found",
                    hint="run `aws configure`, set AWS_PROFILE or --profile, or export AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY; for the built-in sample estate run `vigil demo`",
                ) from exc
            except botocore.exceptions.ClientError as exc:
                err = exc.response.get("Error", {})
                raise NoCredentialsError(
                    f"AWS rejected the credentials: {err.get('Code')}: {err.get('Message')}",
                    hint="refresh them (aws sso login, new keys) or choose another profile",
                ) from exc
            except botocore.exceptions.EndpointConnectionError as exc:
                raise NoCredentialsError(
                    f"cannot reach AWS STS: {exc}",
                    hint="check the network, proxy settings and aws.endpoint_url / AWS_ENDPOINT_URL",
                ) from exc
        return self._account_id

    def regions(self) -> list[str]:
        """The regions to read: the configured list, else the account's enabled regions."""
        if self.settings.regions:
            return list(self.settings.regions)
        try:
            found = self.client("ec2").describe_regions(AllRegions=False)["Regions"]
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            raise UsageError(
                f"cannot list the account's regions ({err.get('Code')}: {err.get('Message')})",
                hint="give the regions explicitly with --regions us-east-1,eu-west-1 or aws.regions",
            ) from exc
        enabled = [
            r["RegionName"] for r in found if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
        ]
        return sorted(enabled)


def _keep_endpoint_host(endpoint_url: str) -> Callable[..., None]:
    """S3 Control's endpoint rules put ``<account id>.`` before the host, a configured endpoint's too
    (``123456789012.127.0.0.1:4566`` resolves nowhere; ``inject_host_prefix=False`` does not reach
    the rules). The account id also travels in the ``x-amz-account-id`` header, which is what an
    emulator reads, so the configured host is put back before the request is signed."""
    host = urlsplit(endpoint_url).netloc

    def restore(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc.endswith(f".{host}"):
            request.url = urlunsplit(parts._replace(netloc=host))

    return restore


def error_code(exc: BaseException) -> tuple[str, str]:
    """(code, message) of a failed AWS call, for recording and for messages."""
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return str(err.get("Code") or "ClientError"), str(err.get("Message") or exc)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return "EndpointConnectionError", str(exc)
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError):
        return "Timeout", str(exc)
    if isinstance(exc, ResponseParserError):
        return (
            "InvalidResponse",
            "the endpoint did not answer like AWS (an HTTP error page?); is this API supported there?",
        )
    return type(exc).__name__, str(exc)
