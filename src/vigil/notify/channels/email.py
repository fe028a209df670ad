"""``email`` and ``email-json``: a notification sent by SMTP (spec §4.1).

``email`` sends a person a readable message: a plain-text and an HTML body (multipart/alternative)
rendered with Jinja2 from ``notify/templates/email.*.j2``, which a file of the same name in the
configured ``templates_dir`` replaces. A finding (a JSON message with ``"kind": "finding"``) is
shown as a summary (severity, rule, resource, remediation); any other message as its text. Each
email ends with a note on how to unsubscribe. The subject is the published Subject, or
``Vigil Notification Message`` (SNS says ``AWS Notification Message``).

``email-json`` sends a program SNS's signed JSON envelope as the body (``application/json``).

The ``Message-ID`` header is made from the SNS MessageId, and ``Date`` is the publish time, so a
delivery sent again after a crash is the same email and mail clients can tell. Every failure is
``Outcome(False, …)``: a connection error, a timeout or a 4xx answer is temporary; a 5xx answer
says "rejected" (retrying rarely helps, but the subscription's policy decides, as SNS retries email
on its own "customer-managed" schedule). Passwords never reach an error message or a log line.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import TYPE_CHECKING, Any, Literal

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, TemplateError

from vigil.errors import UsageError
from vigil.notify.channels.base import ChannelContext, Outcome
from vigil.notify.channels.http import resolve_endpoint
from vigil.settings import MASK, Secret

if TYPE_CHECKING:
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery

DEFAULT_SUBJECT = "Vigil Notification Message"
NO_CONFIG = "no SMTP server configured: set notify.smtp in vigil.yaml"
SUBJECT_TEMPLATE, TEXT_TEMPLATE, HTML_TEMPLATE = "email.subject.j2", "email.txt.j2", "email.html.j2"
Security = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[str, ...] = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send email (``notify.smtp``). ``security``: ``starttls`` (upgrade a plain
    connection, usually port 587), ``ssl`` (TLS from the start, usually 465) or ``none``."""

    host: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    sender: str = "Vigil <vigil@localhost>"
    timeout: float = 15.0
    templates_dir: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise ValueError(f"smtp security must be one of {', '.join(SECURITIES)}, got {self.security!r}")
        if "@" not in parseaddr(self.sender)[1]:
            raise ValueError(f"smtp sender {self.sender!r} is not an email address")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------------------------------------
# rendering


def environment(templates_dir: str | None) -> Environment:
    """Templates from ``templates_dir`` first, then Vigil's own; HTML templates are autoescaped.
    Made for each email (a few milliseconds), so a template added or edited applies at once."""
    package = PackageLoader("vigil.notify", "templates")
    loader = ChoiceLoader([FileSystemLoader(templates_dir), package]) if templates_dir else package
    return Environment(
        loader=loader,
        autoescape=lambda name: bool(name) and str(name).endswith((".html.j2", ".html")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_values(
    delivery: Delivery, *, unsubscribe_url: str, subscription_arn: str, recipients: str
) -> dict[str, Any]:
    """What a template can use. ``data`` is the message parsed as JSON (or None); ``finding`` is
    that object when it is a finding (``"kind": "finding"``), else None."""
    from vigil.notify.envelope import sns_timestamp

    data: Any = None
    try:
        data = json.loads(delivery.message)
    except ValueError:
        data = None
    finding = data if isinstance(data, dict) and data.get("kind") == "finding" else None
    return {
        "subject": subject_of(delivery),
        "message": delivery.message,
        "data": data,
        "finding": finding,
        "topic": delivery.topic,
        "topic_arn": _topic_arn(delivery),
        "message_id": delivery.message_id,
        "timestamp": sns_timestamp(delivery.created_at),
        "attributes": _attribute_values(delivery.attributes),
        "subscription_arn": subscription_arn,
        "recipients": recipients,
        "unsubscribe_url": unsubscribe_url,
        "unsubscribe_note": (
            f"You receive this because {recipients} is subscribed to the Vigil topic {delivery.topic}. "
            f"To stop receiving its notifications, open {unsubscribe_url}"
        ),
    }


def render(values: dict[str, Any], templates_dir: str | None = None) -> Rendered:
    """Subject, text and HTML from the templates (``TemplateError`` if one is broken)."""
    env = environment(templates_dir)
    subject = " ".join(env.get_template(SUBJECT_TEMPLATE).render(values).split()) or DEFAULT_SUBJECT
    text = env.get_template(TEXT_TEMPLATE).render(values)
    html = env.get_template(HTML_TEMPLATE).render(values)
    return Rendered(subject, text, html)


def subject_of(delivery: Delivery) -> str:
    """The published Subject on one line, or the default."""
    return " ".join((delivery.subject or "").split()) or DEFAULT_SUBJECT


def _attribute_values(attributes: dict[str, Any]) -> dict[str, str]:
    """``{name: value}`` from SNS's attribute form (``DataType`` + ``StringValue``) or plain values."""
    out: dict[str, str] = {}
    for name, attr in attributes.items():
        if isinstance(attr, dict):
            value = attr.get("StringValue", attr.get("BinaryValue", attr.get("Value")))
            out[name] = "" if value is None else str(value)
        else:
            out[name] = str(attr)
    return out


def _topic_arn(delivery: Delivery) -> str:
    from vigil.settings import local_topic_arn

    return local_topic_arn(delivery.topic)


# ---------------------------------------------------------------------------------------------
# the two channels


def recipients_of(endpoint: str) -> list[str]:
    """The addresses of an endpoint (comma-separated, ``env:NAME`` read from the environment);
    ``LookupError`` when a variable is unset or an entry is not an address (``name@domain``)."""
    raw = resolve_endpoint(endpoint)
    entries = ",".join(part for part in raw.split(",") if part.strip())
    addresses = [addr for _, addr in getaddresses([entries])]
    if not addresses or not all(_ADDRESS.fullmatch(addr) for addr in addresses):
        shown = "the endpoint's environment variable" if endpoint.startswith("env:") else repr(raw)
        raise LookupError(f"{shown} is not an email address (name@domain) or a comma-separated list of them")
    return addresses


_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def _headers(msg: EmailMessage, delivery: Delivery, config: SmtpConfig, to: list[str], subject: str) -> None:
    domain = parseaddr(config.sender)[1].rpartition("@")[2] or "localhost"
    at = delivery.created_at if delivery.created_at.tzinfo else delivery.created_at.replace(tzinfo=UTC)
    msg["Subject"] = subject
    msg["From"] = config.sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(at.astimezone(UTC))
    msg["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.!#$%&*+/=?^_`{|}~-]', '_', delivery.message_id)}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to alerts


def _unsubscribe_url(delivery: Delivery, context: ChannelContext) -> str:
    return f"{context.base_url}/notify/unsubscribe?subscription={delivery.subscription}"


class EmailChannel:
    """``email``: a readable message for people, text and HTML."""

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        config = context.extra.get("smtp")
        if not isinstance(config, SmtpConfig):
            return Outcome(False, NO_CONFIG)
        try:
            to = recipients_of(delivery.endpoint)
        except LookupError as exc:
            return Outcome(False, str(exc))
        unsubscribe_url = _unsubscribe_url(delivery, context)
        values = template_values(
            delivery,
            unsubscribe_url=unsubscribe_url,
            subscription_arn=subscription.arn,
            recipients="this address" if delivery.endpoint.startswith("env:") else ", ".join(to),
        )
        try:
            rendered = render(values, config.templates_dir)
        except (TemplateError, OSError) as exc:
            where = config.templates_dir or "Vigil's own templates"
            return Outcome(False, f"cannot render the email templates ({where}): {type(exc).__name__}: {exc}")
        msg = EmailMessage()
        _headers(msg, delivery, config, to, rendered.subject)
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        return send_message(config, msg, to, hidden=delivery.endpoint.startswith("env:"))


class EmailJsonChannel:
    """``email-json``: SNS's signed JSON envelope as the body, for programs that read mail."""

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        from vigil.notify import envelope

        config = context.extra.get("smtp")
        if not isinstance(config, SmtpConfig):
            return Outcome(False, NO_CONFIG)
        try:
            to = recipients_of(delivery.endpoint)
        except LookupError as exc:
            return Outcome(False, str(exc))
        body = envelope.http_body(context.signed_notification(delivery), raw=False)
        msg = EmailMessage()
        _headers(msg, delivery, config, to, subject_of(delivery))
        msg.set_content(body, maintype="application", subtype="json", cte="quoted-printable")
        return send_message(config, msg, to, hidden=delivery.endpoint.startswith("env:"))


# ---------------------------------------------------------------------------------------------
# SMTP


def send_message(config: SmtpConfig, msg: EmailMessage, to: list[str], *, hidden: bool = False) -> Outcome:
    """Send one message; every failure becomes an ``Outcome`` whose error names the server and the
    SMTP answer, but never the password (nor, when ``hidden``, the recipients)."""
    password = ""
    if config.username:
        if config.password is None:
            return Outcome(
                False, f"SMTP {config.where}: a username is set but no password (notify.smtp.password)"
            )
        try:
            password = config.password.reveal()
        except UsageError as exc:
            return Outcome(False, f"SMTP {config.where}: cannot read the password: {exc.message}")
    sender = parseaddr(config.sender)[1]
    hide = to if hidden else []
    try:
        refused = _transmit(config, msg, sender, to, password)
    except smtplib.SMTPRecipientsRefused as exc:
        return _refused(config, exc.recipients, hidden, partly=False)
    except smtplib.SMTPResponseException as exc:
        return Outcome(
            False, _clean(_answer(config, exc.smtp_code, exc.smtp_error, _stage(exc)), password, hide)
        )
    except smtplib.SMTPNotSupportedError as exc:
        hint = "set notify.smtp.security to ssl or none" if "STARTTLS" in str(exc) else "check the server"
        return Outcome(False, _clean(f"SMTP {config.where}: {exc} ({hint})", password, hide))
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            return Outcome(False, f"SMTP {config.where}: timed out after {config.timeout:g} s")
        return Outcome(False, _clean(f"SMTP {config.where}: {exc}", password, hide))
    except smtplib.SMTPException as exc:  # no usable AUTH mechanism, …
        return Outcome(False, _clean(f"SMTP {config.where}: {type(exc).__name__}: {exc}", password, hide))
    except ssl.SSLError as exc:
        detail = getattr(exc, "verify_message", None)  # why a certificate was not trusted
        reason = f"{exc.reason or exc}: {detail}" if detail else f"{exc.reason or exc}"
        return Outcome(False, f"SMTP {config.where}: TLS failed ({config.security}): {reason}")
    except TimeoutError:
        return Outcome(False, f"SMTP {config.where}: timed out after {config.timeout:g} s")
    except OSError as exc:  # refused, unreachable, no such host
        return Outcome(
            False, f"SMTP {config.where}: cannot connect: {type(exc).__name__}: {exc.strerror or exc}"
        )
    if refused:
        return _refused(config, refused, hidden, partly=True)
    return Outcome(True)


def _transmit(
    config: SmtpConfig, msg: EmailMessage, sender: str, to: list[str], password: str
) -> dict[str, Any]:
    smtp: smtplib.SMTP
    if config.security == "ssl":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=_tls())
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with smtp:
        if config.security == "starttls":
            smtp.starttls(context=_tls())
        if config.username:
            smtp.login(config.username, password)
        return dict(smtp.send_message(msg, from_addr=sender, to_addrs=to))


def _tls() -> ssl.SSLContext:
    """Verify the server as any client would: system CAs (or ``SSL_CERT_FILE``), host name."""
    return ssl.create_default_context()


def _stage(exc: smtplib.SMTPResponseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the login"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "the sender"
    if isinstance(exc, smtplib.SMTPDataError):
        return "the message"
    return "the connection"


def _answer(config: SmtpConfig, code: int, text: bytes | str, what: str) -> str:
    reply = " ".join(_decode(text).split())
    if 400 <= code < 500:
        return f"SMTP {config.where} temporarily refused {what}: {code} {reply}"
    return f"SMTP {config.where} rejected {what}: {code} {reply}"


def _refused(
    config: SmtpConfig, refused: dict[str, tuple[int, bytes]], hidden: bool, *, partly: bool
) -> Outcome:
    parts = []
    for n, (address, (code, text)) in enumerate(sorted(refused.items()), 1):
        reply = " ".join(_decode(text).split())
        who = address
        if hidden:
            who = f"recipient {n}"
            reply = reply.replace(address, who)
        parts.append(f"{who}: {code} {reply}")
    verb = "rejected" if all(code >= 500 for code, _ in refused.values()) else "temporarily refused"
    tail = " (the other recipients got it)" if partly else ""
    return Outcome(False, f"SMTP {config.where} {verb} recipients: {'; '.join(parts)}{tail}")


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _clean(error: str, password: str, hide: list[str]) -> str:
    """An error message with the password (and hidden recipients) masked, in case a server echoed them."""
    if password:
        error = error.replace(password, MASK)
    for n, address in enumerate(hide, 1):
        error = error.replace(address, f"recipient {n}")
    return error
