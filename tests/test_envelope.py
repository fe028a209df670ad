"""SNS-style envelopes, signatures, HMAC headers and the HTTP headers (aws-semantics.md §4.1, §4.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vigil.errors import CannotStart
from vigil.notify.envelope import (
    AWS_SNS_CERT_HOST,
    CERT_FILE,
    HMAC_HEADER,
    KEY_FILE,
    USER_AGENT,
    Signer,
    cert_url_allowed,
    hmac_header,
    http_body,
    http_headers,
    notification,
    sns_timestamp,
    string_to_sign,
    subscription_confirmation,
    unsubscribe_confirmation,
    verify,
    verify_hmac,
)

TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
SUB = f"{TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96"
AT = datetime(2012, 5, 2, 0, 54, 6, 655123, tzinfo=UTC)
CERT_URL = "https://vigil.example.com/notify/VigilNotifications-abc.pem"
UNSUB_URL = f"https://vigil.example.com/notify/unsubscribe?SubscriptionArn={SUB}"
SUBSCRIBE_URL = f"https://vigil.example.com/notify/confirm?TopicArn={TOPIC}&Token=tok123"
SECRET = b"shared-secret-for-tests"


def _notification(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "message_id": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "topic_arn": TOPIC,
        "message": "Hello world!",
        "timestamp": AT,
        "subject": "My First Message",
        "attributes": None,
        "unsubscribe_url": UNSUB_URL,
        "signing_cert_url": CERT_URL,
    } | overrides
    return notification(**args)


def _sub_confirmation() -> dict[str, Any]:
    return subscription_confirmation(
        message_id="165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        topic_arn=TOPIC,
        token="tok123",
        subscribe_url=SUBSCRIBE_URL,
        timestamp=AT,
        signing_cert_url=CERT_URL,
    )


def _unsub_confirmation() -> dict[str, Any]:
    return unsubscribe_confirmation(
        message_id="47138184-6831-46b8-8f7c-afc488602d7d",
        topic_arn=TOPIC,
        subscription_arn=SUB,
        token="tok456",
        subscribe_url=SUBSCRIBE_URL,
        timestamp=AT,
        signing_cert_url=CERT_URL,
    )


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return Signer.generate()


# --- envelope shapes ---------------------------------------------------------------------------


def test_notification_has_aws_keys_in_aws_order() -> None:
    env = _notification(attributes={"store": {"DataType": "String", "StringValue": "example_corp"}})
    assert env == {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "My First Message",
        "Message": "Hello world!",
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": UNSUB_URL,
        "MessageAttributes": {"store": {"Type": "String", "Value": "example_corp"}},
    }
    assert list(env) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]


def test_signed_notification_puts_signature_before_cert_url(signer: Signer) -> None:
    env = signer.sign(_notification(attributes={"a": {"DataType": "Number", "StringValue": "1"}}))
    assert list(env) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert env["SignatureVersion"] == "2"


@pytest.mark.parametrize("attributes", [None, {}])
def test_notification_omits_absent_subject_and_attributes(attributes: Any) -> None:
    env = _notification(subject=None, attributes=attributes)
    assert list(env) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SigningCertURL",
        "UnsubscribeURL",
    ]


def test_empty_subject_is_still_a_subject() -> None:
    assert _notification(subject="")["Subject"] == ""


def test_binary_attribute_stays_base64_and_bad_attribute_is_refused() -> None:
    env = _notification(attributes={"blob": {"DataType": "Binary", "BinaryValue": "AAEC"}})
    assert env["MessageAttributes"] == {"blob": {"Type": "Binary", "Value": "AAEC"}}
    with pytest.raises(ValueError, match="'blob' needs DataType"):
        _notification(attributes={"blob": {"DataType": "String"}})


def test_subscription_confirmation_shape_and_text(signer: Signer) -> None:
    env = signer.sign(_sub_confirmation(), version=1)
    assert env == {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "tok123",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "SignatureVersion": "1",
        "Signature": env["Signature"],
        "SigningCertURL": CERT_URL,
    }
    assert list(env) == [
        "Type",
        "MessageId",
        "Token",
        "TopicArn",
        "Message",
        "SubscribeURL",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ]


def test_unsubscribe_confirmation_shape_and_text() -> None:
    assert _unsub_confirmation() == {
        "Type": "UnsubscribeConfirmation",
        "MessageId": "47138184-6831-46b8-8f7c-afc488602d7d",
        "Token": "tok456",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to deactivate subscription {SUB}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "SigningCertURL": CERT_URL,
    }


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2012, 5, 2, 0, 54, 6, 655999, tzinfo=UTC), "2012-05-02T00:54:06.655Z"),
        (datetime(2012, 5, 2, 0, 54, 6), "2012-05-02T00:54:06.000Z"),  # naive = UTC
        (
            datetime(2012, 5, 2, 2, 54, 6, 1000, tzinfo=timezone(timedelta(hours=2))),
            "2012-05-02T00:54:06.001Z",
        ),
    ],
)
def test_timestamp_format(at: datetime, expected: str) -> None:
    assert sns_timestamp(at) == expected


# --- string to sign ----------------------------------------------------------------------------


def test_string_to_sign_notification_with_subject() -> None:
    assert string_to_sign(_notification(message='line one\nline "two"')) == (
        'Message\nline one\nline "two"\n'
        "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        "Subject\nMy First Message\n"
        "Timestamp\n2012-05-02T00:54:06.655Z\n"
        "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
        "Type\nNotification\n"
    )


def test_string_to_sign_notification_without_subject() -> None:
    assert string_to_sign(_notification(subject=None)) == (
        "Message\nHello world!\n"
        "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
        "Timestamp\n2012-05-02T00:54:06.655Z\n"
        "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
        "Type\nNotification\n"
    )


def test_string_to_sign_subscription_confirmation() -> None:
    assert string_to_sign(_sub_confirmation()) == (
        "Message\nYou have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.\n"
        "MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n"
        f"SubscribeURL\n{SUBSCRIBE_URL}\n"
        "Timestamp\n2012-05-02T00:54:06.655Z\n"
        "Token\ntok123\n"
        "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
        "Type\nSubscriptionConfirmation\n"
    )


def test_string_to_sign_unsubscribe_confirmation() -> None:
    assert string_to_sign(_unsub_confirmation()) == (
        f"Message\nYou have chosen to deactivate subscription {SUB}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included in this message.\n"
        "MessageId\n47138184-6831-46b8-8f7c-afc488602d7d\n"
        f"SubscribeURL\n{SUBSCRIBE_URL}\n"
        "Timestamp\n2012-05-02T00:54:06.655Z\n"
        "Token\ntok456\n"
        "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
        "Type\nUnsubscribeConfirmation\n"
    )


def test_string_to_sign_ignores_unsigned_keys() -> None:
    env = _notification(attributes={"a": {"DataType": "String", "StringValue": "x"}})
    bare = {
        k: v for k, v in env.items() if k not in ("UnsubscribeURL", "SigningCertURL", "MessageAttributes")
    }
    assert string_to_sign(env) == string_to_sign(bare)


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        ({"Type": "Other"}, "Type 'Other'"),
        ({}, "Type None"),
        ({"Type": "Notification", "Message": "m", "MessageId": "i", "Timestamp": "t"}, "string TopicArn"),
        ({"Type": "SubscriptionConfirmation", "Message": 1}, "string Message, got int"),
    ],
)
def test_string_to_sign_refuses_what_it_cannot_sign(envelope: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        string_to_sign(envelope)


# --- signatures --------------------------------------------------------------------------------

ENVELOPES = {
    "notification": lambda: _notification(message="é ✓\nnext line"),
    "notification-no-subject": lambda: _notification(subject=None),
    "subscription": _sub_confirmation,
    "unsubscribe": _unsub_confirmation,
}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("kind", list(ENVELOPES))
def test_sign_verify_round_trip(signer: Signer, kind: str, version: int) -> None:
    env = signer.sign(ENVELOPES[kind](), version=version)
    assert env["SignatureVersion"] == str(version)
    assert verify(env, signer.certificate_pem)
    assert verify(env, signer.certificate_pem.encode())


@pytest.mark.parametrize(("version", "digest"), [(1, hashes.SHA1()), (2, hashes.SHA256())])
def test_signature_is_plain_rsa_pkcs1_of_the_string_to_sign(
    signer: Signer, version: int, digest: hashes.HashAlgorithm
) -> None:
    """Checked with the key directly, not with ``verify``: what any SNS receiver library does."""
    env = signer.sign(_notification(), version=version)
    public = signer.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    data = string_to_sign(env).encode()
    public.verify(base64.b64decode(env["Signature"]), data, padding.PKCS1v15(), digest)
    other = hashes.SHA256() if version == 1 else hashes.SHA1()
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(env["Signature"]), data, padding.PKCS1v15(), other)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Message", "Hello world?"),
        ("Subject", "My Second Message"),
        ("TopicArn", "arn:aws:sns:us-west-2:123456789012:OtherTopic"),
        ("MessageId", "00000000-fdea-4c2c-8f9d-bdfb0c7bf324"),
        ("Timestamp", "2012-05-02T00:54:06.656Z"),
        ("Type", "SubscriptionConfirmation"),
    ],
)
@pytest.mark.parametrize("version", [1, 2])
def test_tampered_signed_field_fails(signer: Signer, key: str, value: str, version: int) -> None:
    env = signer.sign(_notification(), version=version)
    assert not verify(env | {key: value}, signer.certificate_pem)


def test_removing_or_adding_subject_fails(signer: Signer) -> None:
    with_subject = signer.sign(_notification())
    without = {k: v for k, v in with_subject.items() if k != "Subject"}
    assert not verify(without, signer.certificate_pem)
    assert not verify(signer.sign(_notification(subject=None)) | {"Subject": ""}, signer.certificate_pem)


def test_unsigned_fields_do_not_affect_the_signature(signer: Signer) -> None:
    """As in SNS: UnsubscribeURL, SigningCertURL and MessageAttributes are not signed (the HMAC
    header covers the whole body for receivers that want that)."""
    env = signer.sign(_notification())
    assert verify(env | {"UnsubscribeURL": "https://evil.example/"}, signer.certificate_pem)


def test_token_of_a_confirmation_is_signed(signer: Signer) -> None:
    env = signer.sign(_sub_confirmation())
    assert not verify(env | {"Token": "other"}, signer.certificate_pem)
    assert not verify(env | {"SubscribeURL": "https://evil.example/confirm"}, signer.certificate_pem)


def test_different_certificate_fails(signer: Signer, other_signer: Signer) -> None:
    env = signer.sign(_notification())
    assert verify(env, signer.certificate_pem)
    assert not verify(env, other_signer.certificate_pem)


@pytest.mark.parametrize(
    "change",
    [
        {"SignatureVersion": "1"},  # a version-2 signature declared as version 1
        {"SignatureVersion": "3"},
        {"SignatureVersion": None},
        {"Signature": "not base64!"},
        {"Signature": ""},
        {"Signature": None},
    ],
)
def test_malformed_signature_fields_fail(signer: Signer, change: dict[str, Any]) -> None:
    assert not verify(signer.sign(_notification(), version=2) | change, signer.certificate_pem)


def test_unsigned_envelope_fails(signer: Signer) -> None:
    assert not verify(_notification(), signer.certificate_pem)


def test_verify_at_checks_certificate_validity(signer: Signer) -> None:
    env = signer.sign(_notification())
    now = datetime.now(UTC)
    assert verify(env, signer.certificate_pem, at=now)
    assert not verify(env, signer.certificate_pem, at=now + timedelta(days=3651))
    assert not verify(env, signer.certificate_pem, at=now - timedelta(days=2))


def test_verify_refuses_a_certificate_that_is_not_one(signer: Signer) -> None:
    with pytest.raises(ValueError):
        verify(signer.sign(_notification()), "not a certificate")


def test_sign_refuses_unknown_version_and_resigning_replaces(signer: Signer) -> None:
    with pytest.raises(ValueError, match="must be 1 or 2"):
        signer.sign(_notification(), version=3)
    twice = signer.sign(signer.sign(_notification(), version=1), version=2)
    assert list(twice) == list(signer.sign(_notification()))
    assert twice["SignatureVersion"] == "2"
    assert verify(twice, signer.certificate_pem)


def test_sign_does_not_change_its_input(signer: Signer) -> None:
    env = _notification()
    before = dict(env)
    signer.sign(env)
    assert env == before


# --- certificate URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3.pem", [AWS_SNS_CERT_HOST], True),
        (
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-f3.pem",
            [AWS_SNS_CERT_HOST],
            True,
        ),
        ("http://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3.pem", [AWS_SNS_CERT_HOST], False),
        ("https://sns.us-west-2.amazonaws.com.evil.com/x.pem", [AWS_SNS_CERT_HOST], False),
        ("https://evilsns.us-west-2.amazonaws.com/x.pem", [AWS_SNS_CERT_HOST], False),
        ("https://sns.us-west-2.amazonaws.com:8443/x.pem", [AWS_SNS_CERT_HOST], False),
        (CERT_URL, ["vigil.example.com"], True),
        ("https://VIGIL.example.com/x.pem", ["vigil.example.com"], True),
        ("https://vigil.example.com:443/x.pem", ["vigil.example.com"], True),
        ("https://vigil.example.com:8443/x.pem", ["vigil.example.com"], False),
        ("https://vigil.example.com:8443/x.pem", ["vigil.example.com:8443"], True),
        ("https://vigil.example.com/x.pem", ["vigil.example.com:8443"], False),
        ("https://user:pw@vigil.example.com/x.pem", ["vigil.example.com"], False),
        ("https://vigil.example.com@evil.com/x.pem", ["vigil.example.com"], False),
        ("https://other.example.com/x.pem", ["vigil.example.com"], False),
        ("http://vigil.example.com/x.pem", ["vigil.example.com"], False),
        ("file:///etc/passwd", ["vigil.example.com"], False),
        ("https://vigil.example.com:99999/x.pem", ["vigil.example.com"], False),
        ("not a url", ["vigil.example.com"], False),
        (CERT_URL, [], False),
    ],
)
def test_cert_url_allowed(url: str, allowed: list[Any], expected: bool) -> None:
    assert cert_url_allowed(url, allowed) is expected


def test_cert_url_http_only_when_asked() -> None:
    assert cert_url_allowed("http://127.0.0.1:8080/c.pem", ["127.0.0.1:8080"], require_https=False)
    assert not cert_url_allowed("http://127.0.0.1:8080/c.pem", ["127.0.0.1:8080"])
    assert not cert_url_allowed("ftp://127.0.0.1:8080/c.pem", ["127.0.0.1:8080"], require_https=False)


# --- HMAC header -------------------------------------------------------------------------------


def test_hmac_header_name_and_value() -> None:
    body = b'{"Type":"Notification"}'
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert hmac_header(body, SECRET) == ("X-Vigil-Signature", expected)
    assert HMAC_HEADER == "X-Vigil-Signature"


@pytest.mark.parametrize(
    ("body", "secret", "transform", "expected"),
    [
        (b"body", SECRET, lambda v: v, True),
        (b"body", SECRET, lambda v: f"  {v} ", True),
        (b"bodY", SECRET, lambda v: v, False),
        (b"body", b"other-secret", lambda v: v, False),
        (b"body", SECRET, lambda v: v.removeprefix("sha256="), False),
        (b"body", SECRET, lambda v: v.replace("sha256=", "sha1="), False),
        (b"body", SECRET, lambda v: v.upper(), False),
        (b"body", SECRET, lambda v: "sha256=ü", False),
        (b"body", SECRET, lambda v: None, False),
        (b"body", b"", lambda v: v, False),
    ],
)
def test_verify_hmac(body: bytes, secret: bytes, transform: Any, expected: bool) -> None:
    value = hmac_header(b"body", SECRET)[1]
    assert verify_hmac(body, secret, transform(value)) is expected


def test_hmac_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        hmac_header(b"body", b"")


# --- HTTP headers and body ---------------------------------------------------------------------


def test_http_headers_notification() -> None:
    assert http_headers(_notification(), subscription_arn=SUB, raw=False) == {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "x-amz-sns-topic-arn": TOPIC,
        "x-amz-sns-subscription-arn": SUB,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Vigil Notification Agent",
    }


def test_http_headers_raw_notification_with_content_type() -> None:
    headers = http_headers(_notification(), subscription_arn=SUB, raw=True, content_type="application/json")
    assert headers == {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "x-amz-sns-topic-arn": TOPIC,
        "x-amz-sns-subscription-arn": SUB,
        "x-amz-sns-rawdelivery": "true",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def test_http_headers_subscription_confirmation_has_no_subscription_arn_and_is_never_raw() -> None:
    assert http_headers(_sub_confirmation(), subscription_arn=SUB, raw=True) == {
        "x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "x-amz-sns-topic-arn": TOPIC,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": USER_AGENT,
    }


def test_http_headers_unsubscribe_confirmation_keeps_subscription_arn() -> None:
    headers = http_headers(_unsub_confirmation(), subscription_arn=SUB, raw=False)
    assert headers["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    assert headers["x-amz-sns-subscription-arn"] == SUB
    assert "x-amz-sns-rawdelivery" not in headers


def test_http_headers_without_subscription_arn() -> None:
    assert "x-amz-sns-subscription-arn" not in http_headers(_notification(), subscription_arn=None, raw=False)


def test_http_body(signer: Signer) -> None:
    env = signer.sign(_notification(message='é ✓\n{"k": 1}'))
    body = http_body(env, raw=False)
    assert json.loads(body) == env
    assert list(json.loads(body)) == list(env)
    assert "é ✓".encode() in body  # UTF-8, not \u escapes
    assert http_body(env, raw=True) == 'é ✓\n{"k": 1}'.encode()
    confirmation = signer.sign(_sub_confirmation())
    assert json.loads(http_body(confirmation, raw=True)) == confirmation


# --- a real HTTP receiver ----------------------------------------------------------------------


@dataclass
class Received:
    message_type: str
    user_agent: str
    hmac_ok: bool
    cert_url_ok: bool
    signature_ok: bool
    message: str | None


@dataclass
class Receiver:
    """A stand-in for a subscriber's endpoint: fetches the certificate from ``SigningCertURL``
    (only from the allowed host), checks the signature and the HMAC header, and records both."""

    server: ThreadingHTTPServer
    cert_pem: bytes
    received: list[Received] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}/"


def _handler(receiver_box: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            receiver = receiver_box[0]
            if not self.path.startswith("/certs/"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-pem-file")
            self.send_header("Content-Length", str(len(receiver.cert_pem)))
            self.end_headers()
            self.wfile.write(receiver.cert_pem)

        def do_POST(self) -> None:
            receiver = receiver_box[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hmac_ok = verify_hmac(body, SECRET, self.headers.get(HMAC_HEADER))
            env = json.loads(body)
            cert_url = env["SigningCertURL"]
            url_ok = cert_url_allowed(cert_url, [receiver.host], require_https=False)
            signature_ok = False
            if url_ok:
                with urllib.request.urlopen(cert_url, timeout=5) as resp:
                    signature_ok = verify(env, resp.read(), at=datetime.now(UTC))
            receiver.received.append(
                Received(
                    message_type=self.headers["x-amz-sns-message-type"],
                    user_agent=self.headers["User-Agent"],
                    hmac_ok=hmac_ok,
                    cert_url_ok=url_ok,
                    signature_ok=signature_ok,
                    message=env.get("Message"),
                )
            )
            self.send_response(200 if hmac_ok and signature_ok else 403)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def receiver(signer: Signer) -> Iterator[Receiver]:
    box: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    box.append(Receiver(server, signer.certificate_pem.encode()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _send(receiver: Receiver, signer: Signer, env: dict[str, Any], alter: Any = None) -> int:
    """Sign, encode, add SNS's headers and the HMAC header, optionally alter the body in transit, POST."""
    signed = signer.sign(env)
    body = http_body(signed, raw=False)
    name, value = hmac_header(body, SECRET)
    headers = http_headers(signed, subscription_arn=SUB, raw=False) | {name: value}
    return _post(receiver.url, alter(body) if alter else body, headers)


def test_real_receiver_verifies_signature_and_hmac(receiver: Receiver, signer: Signer) -> None:
    cert_url = f"http://{receiver.host}/certs/{signer.cert_file_name}"
    env = _notification(message='Alarm "cpu-high"\nis ALARM ✓', signing_cert_url=cert_url)
    assert _send(receiver, signer, env) == 200
    confirmation = subscription_confirmation(
        message_id="m-2",
        topic_arn=TOPIC,
        token="tok",
        subscribe_url=SUBSCRIBE_URL,
        timestamp=AT,
        signing_cert_url=cert_url,
    )
    assert _send(receiver, signer, confirmation) == 200
    assert receiver.received == [
        Received("Notification", USER_AGENT, True, True, True, 'Alarm "cpu-high"\nis ALARM ✓'),
        Received("SubscriptionConfirmation", USER_AGENT, True, True, True, confirmation["Message"]),
    ]


def test_real_receiver_rejects_bodies_altered_in_transit(receiver: Receiver, signer: Signer) -> None:
    cert_url = f"http://{receiver.host}/certs/{signer.cert_file_name}"
    env = _notification(message="pay 10", signing_cert_url=cert_url)
    # A signed field altered: both checks fail.
    assert _send(receiver, signer, env, alter=lambda b: b.replace(b"pay 10", b"pay 99")) == 403
    # An unsigned field altered: the SNS signature cannot tell, the HMAC over the whole body can.
    assert (
        _send(receiver, signer, env, alter=lambda b: b.replace(b"unsubscribe?", b"unsubscribe?x=1&")) == 403
    )
    assert [(r.hmac_ok, r.signature_ok) for r in receiver.received] == [(False, False), (False, True)]


def test_real_receiver_will_not_fetch_a_certificate_from_elsewhere(
    receiver: Receiver, signer: Signer
) -> None:
    env = _notification(signing_cert_url="http://127.0.0.2:1/certs/x.pem")
    assert _send(receiver, signer, env) == 403
    assert [(r.hmac_ok, r.cert_url_ok, r.signature_ok) for r in receiver.received] == [(True, False, False)]


# --- key persistence ---------------------------------------------------------------------------


def test_key_is_made_once_and_reloaded(tmp_path: Path) -> None:
    keys = tmp_path / ".vigil" / "keys"
    first = Signer.load_or_create(keys)
    second = Signer.load_or_create(keys)
    assert first.fingerprint == second.fingerprint
    assert first.certificate_pem == second.certificate_pem == (keys / CERT_FILE).read_text()
    assert (keys / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in keys.iterdir()) == [CERT_FILE, KEY_FILE]
    env = first.sign(_notification())
    assert verify(env, second.certificate_pem)
    assert re.fullmatch(r"[0-9a-f]{64}", first.fingerprint)
    assert first.cert_file_name == f"VigilNotifications-{first.fingerprint[:32]}.pem"


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path)
    key_text = (tmp_path / KEY_FILE).read_text()
    assert repr(signer) == f"Signer(fingerprint={signer.fingerprint!r})"
    assert "PRIVATE" not in repr(signer) and key_text not in repr(signer)


def test_missing_or_mismatched_certificate_is_issued_again_for_the_same_key(tmp_path: Path) -> None:
    first = Signer.load_or_create(tmp_path)
    (tmp_path / CERT_FILE).unlink()
    again = Signer.load_or_create(tmp_path)
    assert again.private_key.public_key() == first.private_key.public_key()
    assert verify(first.sign(_notification()), again.certificate_pem)
    (tmp_path / CERT_FILE).write_text(Signer.generate().certificate_pem)
    healed = Signer.load_or_create(tmp_path)
    assert healed.certificate.public_key() == first.private_key.public_key()


def test_loose_key_permissions_are_tightened(tmp_path: Path) -> None:
    Signer.load_or_create(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    Signer.load_or_create(tmp_path)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_damaged_key_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not a key")
    os.chmod(tmp_path / KEY_FILE, 0o600)
    with pytest.raises(CannotStart, match="signing key") as info:
        Signer.load_or_create(tmp_path)
    assert info.value.where == str(tmp_path)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        signers = list(pool.map(lambda _: Signer.load_or_create(tmp_path / "keys"), range(4)))
    assert len({s.fingerprint for s in signers}) == 1
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [CERT_FILE, KEY_FILE]
