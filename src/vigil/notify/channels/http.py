"""``http``/``https``: SNS's JSON envelope, signed, POSTed with SNS's headers (spec §4.1–4.3).

Success is any answer from 200 to 499 within the timeout (SNS counts 4xx as delivered: the
receiver got it); 5xx, a timeout or a connection error is a failure the worker retries, sooner
or later as a ``Retry-After`` header asks. With ``raw_message_delivery`` the body is the message
alone. With ``hmac_secret`` an HMAC-SHA256 header signs the exact body too.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from vigil.notify.channels.base import ChannelContext, Outcome

if TYPE_CHECKING:
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery


def resolve_endpoint(endpoint: str) -> str:
    """An endpoint as configured, or the environment variable an ``env:NAME`` endpoint names."""
    if not endpoint.startswith("env:"):
        return endpoint
    value = os.environ.get(endpoint[4:])
    if not value:
        raise LookupError(f"the endpoint refers to the environment variable {endpoint[4:]}, which is not set")
    return value


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class HttpChannel:
    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        from vigil.notify import envelope

        try:
            url = resolve_endpoint(delivery.endpoint)
        except LookupError as exc:
            return Outcome(False, str(exc))
        arn = subscription.arn
        raw = subscription.settings.raw_message_delivery
        if raw:  # the message alone: nothing carries a signature, so none is computed (§4.1)
            body = delivery.message.encode()
            headers = envelope.http_headers(
                {"Type": envelope.NOTIFICATION, "MessageId": delivery.message_id, "TopicArn": _arn(delivery)},
                subscription_arn=arn,
                raw=True,
            )
        else:
            signed = context.signed_notification(delivery)
            body = envelope.http_body(signed, raw=False)
            headers = envelope.http_headers(signed, subscription_arn=arn, raw=False)
        secret = subscription.settings.hmac_secret
        if secret is not None:
            name, value = envelope.hmac_header(body, secret.reveal().encode())
            headers[name] = value
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=context.settings.http_timeout) as answer:
                return Outcome(True) if answer.status < 500 else Outcome(False, f"HTTP {answer.status}")
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return Outcome(True)  # SNS: 4xx means the endpoint received it (§4.3)
            wait = retry_after(exc.headers.get("Retry-After"), datetime.now(UTC))
            return Outcome(False, f"HTTP {exc.code} from {_safe(url)}", wait)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(False, f"{type(exc).__name__}: {reason} ({_safe(url)})")


def _arn(delivery: Delivery) -> str:
    from vigil.settings import local_topic_arn

    return local_topic_arn(delivery.topic)


def _safe(url: str) -> str:
    """A URL fit for an error message: scheme, host and path, never credentials or a query."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
