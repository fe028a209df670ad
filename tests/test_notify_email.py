"""``email`` and ``email-json`` against a real SMTP server (aiosmtpd): plain, AUTH, STARTTLS, SSL."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil.notify import envelope
from vigil.notify.channels import CHANNELS, ChannelContext, Outcome
from vigil.notify.channels.email import EmailChannel, EmailJsonChannel, SmtpConfig, recipients_of
from vigil.notify.delivery_policy import DeliveryPolicy
from vigil.notify.topics import Subscription, subscription_id
from vigil.settings import NotifySettings, Secret, SubscriptionSettings
from vigil.store.outbox import Delivery

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
FINDING = {
    "kind": "finding",
    "severity": "high",
    "ruleId": "ec2-security-group-open-ssh",
    "title": "SSH open to the internet <script>alert(1)</script>",
    "resourceType": "AWS::EC2::SecurityGroup",
    "resourceId": "sg-0123456789abcdef0",
    "region": "eu-west-1",
    "account": "123456789012",
    "annotation": "port 22 is open to 0.0.0.0/0",
    "remediation": "Remove the ingress rule or restrict it to your office range.",
}


@dataclass
class Recorder:
    """An aiosmtpd handler: keeps every message; refuses some recipients as told."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address → SMTP answer

    async def handle_RCPT(self, server: Any, session: Any, env: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        env.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, env: Any) -> str:
        content = env.content.replace(b"\r\n", b"\n")  # as a mail client stores it
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((env.mail_from, list(env.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Server = Callable[..., tuple[Recorder, int]]


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    """Start aiosmtpd servers on 127.0.0.1 (keyword arguments go to aiosmtpd's SMTP)."""
    started: list[Controller] = []

    def start(**kwargs: Any) -> tuple[Recorder, int]:
        handler, port = Recorder(), free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return handler, port

    yield start
    for controller in started:
        controller.stop()


def context(tmp_path: Path, config: SmtpConfig | None) -> ChannelContext:
    extra: dict[str, object] = {"smtp": config} if config is not None else {}
    return ChannelContext(NotifySettings(keys_dir=str(tmp_path / "keys")), extra=extra)


def subscription(protocol: str, endpoint: str) -> Subscription:
    return Subscription(
        topic="alerts",
        id=subscription_id("alerts", protocol, endpoint),
        settings=SubscriptionSettings(protocol=protocol, endpoint=endpoint),
        policy=DeliveryPolicy(),
    )


def delivery(
    sub: Subscription, message: str, *, subject: str | None = None, attributes: dict[str, Any] | None = None
) -> Delivery:
    return Delivery(
        message_id="5f0c9d1e-8a2b-4c3d-9e4f-0a1b2c3d4e5f",
        subscription=sub.id,
        topic=sub.topic,
        protocol=sub.protocol,
        endpoint=sub.endpoint,
        status="pending",
        attempts=0,
        next_at=T0,
        last_error=None,
        created_at=T0,
        subject=subject,
        message=message,
        attributes=attributes or {},
    )


def send(
    tmp_path: Path, config: SmtpConfig | None, message: str, *, endpoint: str = "ops@example.com", **kw: Any
) -> Outcome:
    sub = subscription("email", endpoint)
    return EmailChannel().send(delivery(sub, message, **kw), sub, context(tmp_path, config))


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_both_protocols_are_in_the_channel_table() -> None:
    assert isinstance(CHANNELS["email"], EmailChannel)
    assert isinstance(CHANNELS["email-json"], EmailJsonChannel)


def test_a_finding_arrives_as_text_and_html_with_its_summary(tmp_path: Path, smtp_server: Server) -> None:
    handler, port = smtp_server()
    config = SmtpConfig("127.0.0.1", port, security="none", sender="Vigil Alerts <alerts@vigil.example>")
    outcome = send(tmp_path, config, json.dumps(FINDING), endpoint="ops@example.com, sec@example.com")
    assert outcome == Outcome(True)
    [(mail_from, rcpt_tos, msg)] = handler.received
    assert (mail_from, rcpt_tos) == ("alerts@vigil.example", ["ops@example.com", "sec@example.com"])
    assert msg["Subject"] == "Vigil Notification Message"
    assert msg["From"] == "Vigil Alerts <alerts@vigil.example>"
    assert msg["To"] == "ops@example.com, sec@example.com"
    assert msg["Message-ID"] == "<5f0c9d1e-8a2b-4c3d-9e4f-0a1b2c3d4e5f@vigil.example>"
    assert msg["Date"].datetime == T0
    assert msg.get_content_type() == "multipart/alternative"
    sub_id = subscription_id("alerts", "email", "ops@example.com, sec@example.com")
    assert (
        str(msg["List-Unsubscribe"]).strip() == f"<http://127.0.0.1/notify/unsubscribe?subscription={sub_id}>"
    )
    text, html = parts(msg)
    for expected in (
        "[HIGH] SSH open to the internet",
        "Rule:     ec2-security-group-open-ssh",
        "Resource: sg-0123456789abcdef0",
        "Type:     AWS::EC2::SecurityGroup",
        "Account:  123456789012",
        "Region:   eu-west-1",
        "port 22 is open to 0.0.0.0/0",
        "Remediation:\nRemove the ingress rule or restrict it to your office range.",
        "subscribed to the Vigil topic alerts",
    ):
        assert expected in text
    assert "<script>" in text  # plain text is not HTML: shown as written
    for expected in (
        ">HIGH</span>",
        "<code>ec2-security-group-open-ssh</code>",
        "<code>sg-0123456789abcdef0</code>",
        "Remove the ingress rule or restrict it to your office range.",
        ">Unsubscribe</a>",
    ):
        assert expected in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_plain_message_is_its_text_and_the_subject_is_the_published_one(
    tmp_path: Path, smtp_server: Server
) -> None:
    handler, port = smtp_server()
    config = SmtpConfig("127.0.0.1", port, security="none")
    outcome = send(tmp_path, config, "Disk full on db-1\nfree: 0%", subject="ALARM: disk  full\n")
    assert outcome.ok, outcome.error
    [(_, _, msg)] = handler.received
    assert msg["Subject"] == "ALARM: disk full"
    assert msg["Message-ID"].endswith("@localhost>")  # the default sender's domain
    text, html = parts(msg)
    assert text.startswith("Disk full on db-1\nfree: 0%\n")
    assert "Disk full on db-1\nfree: 0%</pre>" in html


def test_a_resend_is_the_same_email(tmp_path: Path, smtp_server: Server) -> None:
    handler, port = smtp_server()
    config = SmtpConfig("127.0.0.1", port, security="none")
    for _ in range(2):
        assert send(tmp_path, config, "m").ok
    first, second = (m for _, _, m in handler.received)
    assert (first["Message-ID"], first["Date"]) == (second["Message-ID"], second["Date"])


def authenticator(server: Any, session: Any, env: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"vigil",
        b"s3cret-pw",
    )
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_right_password_and_a_clear_rejection_with_a_wrong_one(
    tmp_path: Path, smtp_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    monkeypatch.setenv("VIGIL_TEST_SMTP_PASSWORD", "s3cret-pw")
    right = SmtpConfig("127.0.0.1", port, "none", "vigil", Secret("env:VIGIL_TEST_SMTP_PASSWORD"))
    assert send(tmp_path, right, "m") == Outcome(True)
    assert len(handler.received) == 1

    wrong = SmtpConfig("127.0.0.1", port, "none", "vigil", Secret("not-the-password"))
    outcome = send(tmp_path, wrong, "m")
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith(f"SMTP 127.0.0.1:{port} rejected the login: 535")
    assert "not-the-password" not in outcome.error and "not-the-password" not in repr(wrong)

    anonymous = send(tmp_path, SmtpConfig("127.0.0.1", port, "none"), "m")
    assert not anonymous.ok and "rejected the sender: 530" in str(anonymous.error)

    unset = SmtpConfig("127.0.0.1", port, "none", "vigil", Secret("env:VIGIL_TEST_SMTP_UNSET"))
    assert send(tmp_path, unset, "m") == Outcome(
        False,
        f"SMTP 127.0.0.1:{port}: cannot read the password: "
        "the secret refers to the environment variable VIGIL_TEST_SMTP_UNSET, which is not set",
    )
    assert len(handler.received) == 1


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it issued for 127.0.0.1/localhost: (ca.pem, cert.pem, key.pem)."""
    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Vigil test CA"))
        .issuer_name(name("Vigil test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_both_ways_verifies_the_server_certificate(
    tmp_path: Path, smtp_server: Server, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    ca, cert, key = tls_files(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    if security == "starttls":
        handler, port = smtp_server(
            tls_context=server_tls, require_starttls=True, authenticator=authenticator, auth_required=True
        )
    else:  # aiosmtpd offers AUTH only after STARTTLS unless told TLS is not required: here it is TLS anyway
        handler, port = smtp_server(
            ssl_context=server_tls, authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    config = SmtpConfig("127.0.0.1", port, security, "vigil", Secret("s3cret-pw"))  # type: ignore[arg-type]

    untrusted = send(tmp_path, config, "m")  # the test CA is not trusted yet
    assert not untrusted.ok and f"SMTP 127.0.0.1:{port}: TLS failed ({security})" in str(untrusted.error)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.error)

    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # what a private CA's users would do
    assert send(tmp_path, config, "over TLS") == Outcome(True)
    [(_, _, msg)] = handler.received
    assert parts(msg)[0].startswith("over TLS")


def test_starttls_against_a_server_without_it_says_what_to_change(
    tmp_path: Path, smtp_server: Server
) -> None:
    _, port = smtp_server()
    outcome = send(tmp_path, SmtpConfig("127.0.0.1", port), "m")
    assert outcome == Outcome(
        False,
        f"SMTP 127.0.0.1:{port}: STARTTLS extension not supported by server. "
        "(set notify.smtp.security to ssl or none)",
    )


def test_templates_dir_overrides_each_template_it_holds(tmp_path: Path, smtp_server: Server) -> None:
    handler, port = smtp_server()
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email.subject.j2").write_text(
        "{% if finding %}[{{ finding.severity | upper }}] {{ finding.ruleId }}{% else %}{{ subject }}{% endif %}"
    )
    (templates / "email.html.j2").write_text(
        "<p>{{ finding.title }} in {{ finding.account }}/{{ finding.region }} via {{ topic }}</p>"
    )
    config = SmtpConfig("127.0.0.1", port, security="none", templates_dir=str(templates))
    assert send(tmp_path, config, json.dumps(FINDING)).ok
    [(_, _, msg)] = handler.received
    text, html = parts(msg)
    assert msg["Subject"] == "[HIGH] ec2-security-group-open-ssh"
    assert html.strip() == (
        "<p>SSH open to the internet &lt;script&gt;alert(1)&lt;/script&gt; in 123456789012/eu-west-1 via alerts</p>"
    )
    assert text.startswith("[HIGH] SSH open to the internet")  # no override: Vigil's own

    (templates / "email.txt.j2").write_text("{% if %}")  # picked up at once: no restart
    broken = send(tmp_path, config, "m")
    assert not broken.ok and broken.error is not None
    assert broken.error.startswith(f"cannot render the email templates ({templates}): TemplateSyntaxError")


def test_email_json_is_a_verifiable_signed_envelope(tmp_path: Path, smtp_server: Server) -> None:
    handler, port = smtp_server()
    ctx = context(tmp_path, SmtpConfig("127.0.0.1", port, security="none"))
    sub = subscription("email-json", "robot@example.com")
    attributes = {"severity": {"DataType": "String", "StringValue": "high"}}
    d = delivery(sub, json.dumps(FINDING), subject="Finding: ssh open", attributes=attributes)
    assert EmailJsonChannel().send(d, sub, ctx) == Outcome(True)
    [(_, rcpt_tos, msg)] = handler.received
    assert rcpt_tos == ["robot@example.com"]
    assert msg["Subject"] == "Finding: ssh open"
    assert msg["Message-ID"] == f"<{d.message_id}@localhost>"
    assert msg.get_content_type() == "application/json"
    raw = msg.get_content()
    assert isinstance(raw, bytes)
    body = json.loads(raw)
    assert body == {
        "Type": "Notification",
        "MessageId": d.message_id,
        "TopicArn": "arn:vigil:sns:local:vigil:alerts",
        "Subject": "Finding: ssh open",
        "Message": json.dumps(FINDING),
        "Timestamp": "2026-03-01T09:30:00.000Z",
        "SignatureVersion": "2",
        "Signature": body["Signature"],
        "SigningCertURL": f"http://127.0.0.1/notify/{ctx.signer.cert_file_name}",
        "UnsubscribeURL": f"http://127.0.0.1/notify/unsubscribe?subscription={sub.id}",
        "MessageAttributes": {"severity": {"Type": "String", "Value": "high"}},
    }
    assert envelope.verify(body, ctx.signer.certificate_pem)
    assert not envelope.verify({**body, "Message": "tampered"}, ctx.signer.certificate_pem)


def test_refused_recipients_temporary_or_rejected(tmp_path: Path, smtp_server: Server) -> None:
    handler, port = smtp_server()
    handler.refuse = {
        "busy@example.com": "451 4.2.1 mailbox busy, try later",
        "gone@example.com": "550 5.1.1 <gone@example.com>: no such user",
    }
    config = SmtpConfig("127.0.0.1", port, security="none")
    where = f"SMTP 127.0.0.1:{port}"
    assert send(tmp_path, config, "m", endpoint="busy@example.com") == Outcome(
        False, f"{where} temporarily refused recipients: busy@example.com: 451 4.2.1 mailbox busy, try later"
    )
    assert send(tmp_path, config, "m", endpoint="gone@example.com") == Outcome(
        False, f"{where} rejected recipients: gone@example.com: 550 5.1.1 <gone@example.com>: no such user"
    )
    partly = send(tmp_path, config, "m", endpoint="ops@example.com,gone@example.com")
    assert partly.error == (
        f"{where} rejected recipients: gone@example.com: 550 5.1.1 <gone@example.com>: no such user "
        "(the other recipients got it)"
    )
    assert [r for _, r, _ in handler.received] == [["ops@example.com"]]


def test_env_endpoints_are_read_and_stay_hidden_in_errors(
    tmp_path: Path, smtp_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = smtp_server()
    handler.refuse = {"gone@example.com": "550 5.1.1 <gone@example.com>: no such user"}
    config = SmtpConfig("127.0.0.1", port, security="none")
    monkeypatch.setenv("VIGIL_TEST_ONCALL", "oncall@example.com")
    assert send(tmp_path, config, "m", endpoint="env:VIGIL_TEST_ONCALL").ok
    [(_, rcpt_tos, msg)] = handler.received
    assert rcpt_tos == ["oncall@example.com"] and msg["To"] == "oncall@example.com"
    assert "this address is subscribed" in parts(msg)[0]

    monkeypatch.setenv("VIGIL_TEST_ONCALL", "gone@example.com")
    refused = send(tmp_path, config, "m", endpoint="env:VIGIL_TEST_ONCALL")
    assert (
        refused.error
        == f"SMTP 127.0.0.1:{port} rejected recipients: recipient 1: 550 5.1.1 <recipient 1>: no such user"
    )

    assert send(tmp_path, config, "m", endpoint="env:VIGIL_TEST_NOBODY") == Outcome(
        False, "the endpoint refers to the environment variable VIGIL_TEST_NOBODY, which is not set"
    )
    monkeypatch.setenv("VIGIL_TEST_ONCALL", "not an address")
    assert send(tmp_path, config, "m", endpoint="env:VIGIL_TEST_ONCALL") == Outcome(
        False,
        "the endpoint's environment variable is not an email address (name@domain) "
        "or a comma-separated list of them",
    )


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("ops@example.com", ["ops@example.com"]),
        ("ops@example.com, ,sec@example.com,", ["ops@example.com", "sec@example.com"]),
        ('"Ops, EU" <ops@example.com>, sec@example.com', ["ops@example.com", "sec@example.com"]),
        ("ops@example.com;sec@example.com", None),
        ("ops@example.com sec@example.com", None),
        ("not an address", None),
        ("ops@", None),
        ("", None),
    ],
)
def test_endpoints_are_one_or_more_addresses(endpoint: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(LookupError, match="is not an email address"):
            recipients_of(endpoint)
    else:
        assert recipients_of(endpoint) == expected


def test_an_unreachable_server_is_a_clear_retryable_failure(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    outcome = send(tmp_path, SmtpConfig("127.0.0.1", port, security="none", timeout=2.0), "m")
    assert outcome == Outcome(
        False, f"SMTP 127.0.0.1:{port}: cannot connect: ConnectionRefusedError: Connection refused"
    )
    assert outcome.retry_after is None


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never sends a greeting
        port = silent.getsockname()[1]
        outcome = send(tmp_path, SmtpConfig("127.0.0.1", port, security="none", timeout=0.5), "m")
    assert outcome == Outcome(False, f"SMTP 127.0.0.1:{port}: timed out after 0.5 s")


def test_without_smtp_settings_both_channels_say_how_to_configure(tmp_path: Path) -> None:
    expected = Outcome(False, "no SMTP server configured: set notify.smtp in vigil.yaml")
    assert send(tmp_path, None, "m") == expected
    sub = subscription("email-json", "robot@example.com")
    assert EmailJsonChannel().send(delivery(sub, "m"), sub, context(tmp_path, None)) == expected


def test_config_checks_security_and_sender() -> None:
    with pytest.raises(ValueError, match="security must be one of starttls, ssl, none"):
        SmtpConfig("smtp.example.com", security="tls")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not an email address"):
        SmtpConfig("smtp.example.com", sender="Vigil")
