"""Collector tests without an endpoint: a ``Fetch`` whose clients answer only what botocore's
``Stubber`` is given (AWS's documented shapes, where moto has no backend or answers differently),
and CloudTrail records shaped as AWS logs them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from vigil.aws.resources.base import Fetch
from vigil.aws.session import AwsSession
from vigil.settings import AwsSettings

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"


def offline_fetch(monkeypatch: pytest.MonkeyPatch, region: str) -> Fetch:
    """Nothing listens on port 9: a call that is not stubbed fails at once (one attempt, no retries)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-used-by-the-stubber")
    settings = AwsSettings(regions=[region], endpoint_url="http://127.0.0.1:9", max_attempts=1)
    return Fetch(AwsSession(settings), ACCOUNT, now=NOW)


def stub(fx: Fetch, service: str, region: str | None) -> Stubber:
    """Stub the scan's client for ``service`` in ``region`` (``None``: the global/home client)."""
    stubber = Stubber(fx.client(service, region))
    stubber.activate()
    return stubber


def api_record(
    source: str,
    name: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    *,
    region: str,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """A management-event record as CloudTrail writes it for a successful write call."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": account},
        "eventTime": "2026-11-27T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
