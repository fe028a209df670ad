"""``sms`` and ``chat``: Slack, Microsoft Teams, Discord, Telegram, PagerDuty, Opsgenie, SMS providers…
through Apprise URLs (https://github.com/caronc/apprise/wiki).

The endpoint is one Apprise URL or several (separated by spaces or commas), or ``env:NAME``. Such
URLs carry tokens, so nothing here ever shows more of them than their scheme: errors name the
scheme and Apprise's own reason with every part of the URL that could be a token blanked out.

People read these, so the body is a short line rather than JSON: a finding or an alarm published
as JSON becomes ``[HIGH] restricted-ssh on sg-0abc (us-east-1): …``; any other message is sent as
it is. The title is the subject, else the topic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from vigil.notify.channels.base import ChannelContext, Outcome
from vigil.notify.channels.http import resolve_endpoint

if TYPE_CHECKING:
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery

REASON_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
MASK = "***"

# severity or alarm state → Apprise's notify type (how chat services colour the message)
NOTIFY_TYPES = {
    "critical": "failure",
    "high": "failure",
    "alarm": "failure",
    "medium": "warning",
    "insufficient_data": "warning",
    "ok": "success",
}


def split_urls(endpoint: str) -> list[str]:
    return [u for u in re.split(r"[\s,]+", endpoint) if u]


def scheme(url: str) -> str:
    """What of an Apprise URL may be shown: ``slack://``."""
    name, sep, _ = url.partition("://")
    return (
        f"{name.lower()}://" if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", name) else "an Apprise URL"
    )


def secret_parts(url: str) -> set[str]:
    """Every part of an Apprise URL that could be a token: user, password, path segments, query
    values, and the host unless it looks like a domain name or an address (Slack, Discord,
    Telegram and others put a token where a host would be)."""
    _, _, rest = url.partition("://")
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hostport = netloc.rpartition("@")
    parts = {url, rest, netloc, fragment, *userinfo.split(":"), *path.split("/")}
    parts.update(value for _, value in parse_qsl(query, keep_blank_values=True))
    host = re.sub(r":\d+$", "", hostport)
    if "." not in host or ":" in host:
        parts.update({host, *host.split(":")})  # e.g. Telegram's <bot id>:<token>
    parts |= {unquote(p) for p in parts}
    return {p for p in parts if len(p) >= 3}


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _first(record: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def _alarm_line(record: Mapping[str, Any]) -> str:
    state = _first(record, "NewStateValue")
    region = _first(record, "Region")
    where = f" ({region})" if region else ""
    reason = _first(record, "NewStateReason")
    return f"[{state}] {record['AlarmName']}{where}" + (f": {reason}" if reason else "")


def _finding_line(record: Mapping[str, Any]) -> str:
    severity = _first(record, "severity", "Severity").upper()
    rule = _first(record, "rule_id", "ruleId", "rule", "RuleId")
    resource = _first(
        record, "resource_name", "resourceName", "resource_id", "resourceId", "resource", "ResourceId"
    )
    region = _first(record, "region", "Region")
    why = _first(record, "annotation", "message", "title", "description", "Title", "Description")
    line = f"[{severity}] {rule}" if rule else f"[{severity}]"
    line += f" on {resource}" if resource else ""
    line += f" ({region})" if region else ""
    return line + (f": {why}" if why else "")


def _record(message: str) -> Mapping[str, Any] | None:
    if not message.lstrip().startswith("{"):
        return None
    try:
        record = json.loads(message)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    nested = record.get("finding")
    return nested if isinstance(nested, dict) else record


def summary(message: str) -> str:
    """A line a person reads at a glance for a finding or alarm published as JSON; else the message."""
    record = _record(message)
    if record is not None and "AlarmName" in record and "NewStateValue" in record:
        return _alarm_line(record)
    if record is not None and _first(record, "severity", "Severity"):
        return _finding_line(record)
    return message


def notify_type(message: str) -> str:
    record = _record(message) or {}
    level = _first(record, "NewStateValue", "severity", "Severity").lower()
    return NOTIFY_TYPES.get(level, "info")


class AppriseChannel:
    """``sms`` and ``chat``: the message, summarised, to every Apprise URL of the endpoint."""

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        import apprise  # imported when first used: it takes a while, and most runs send no chat

        try:
            urls = split_urls(resolve_endpoint(delivery.endpoint))
        except LookupError as exc:
            return Outcome(False, str(exc))
        if not urls:
            return Outcome(False, f"{delivery.protocol}: the endpoint holds no Apprise URL")
        secrets = {s for url in urls for s in secret_parts(url)}
        schemes = ", ".join(dict.fromkeys(scheme(u) for u in urls))
        # Apprise's own log records go to the "apprise" logger, already masked; ours add nothing of the URL
        sender = apprise.Apprise()
        for n, url in enumerate(urls, 1):
            if not sender.add(url):
                where = f" (URL {n} of {len(urls)})" if len(urls) > 1 else ""
                return Outcome(
                    False,
                    f"{delivery.protocol}: Apprise cannot use this {scheme(url)} URL{where}; check its form",
                )
        with sender.notify(
            body=summary(delivery.message),
            title=delivery.subject or delivery.topic,
            notify_type=notify_type(delivery.message),
            timeout=context.settings.http_timeout,
        ) as result:
            if result:
                return Outcome(True)
            reasons = [e.message for e in result.logs() if e.level in REASON_LEVELS]
        reason = "; ".join(dict.fromkeys(reasons)) or "no reason given"
        failed = f"{result.failed_count} of {len(urls)}" if len(urls) > 1 else "it"
        return Outcome(
            False,
            redact(f"{delivery.protocol} via {schemes}: Apprise could not send {failed}: {reason}", secrets),
        )
