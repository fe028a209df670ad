"""SNS-style JSON envelopes, their signatures, and the HTTP headers that go with them.

HTTP/HTTPS, email-json and SQS subscribers receive what Amazon SNS would send them: the JSON
envelope of ``aws-semantics.md`` §4.1, signed as §4.2 says. A receiver written for SNS therefore
works with Vigil once it trusts Vigil's certificate (served at Vigil's own ``SigningCertURL``)
instead of Amazon's. Receivers that would rather share a secret than fetch a certificate can check
an HMAC-SHA256 of the exact body bytes instead (``X-Vigil-Signature``).

Everything here is pure apart from ``Signer.load_or_create``, which keeps the signing key and its
self-signed certificate as PEM files in a directory the caller names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from vigil.errors import CannotStart

log = logging.getLogger("vigil.notify")

Envelope = dict[str, Any]

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# §4.2: the keys that are signed, in the order they are signed, per message type.
# "Subject" is signed only when the envelope carries one.
SIGNED_KEYS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    UNSUBSCRIBE_CONFIRMATION: (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}

# SignatureVersion → the digest of its RSA (PKCS#1 v1.5) signature: 1 = SHA1withRSA, 2 = SHA256withRSA.
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# The host Amazon's own certificates are served from; an SNS receiver pins this, a Vigil receiver
# pins Vigil's host instead (see ``cert_url_allowed``).
AWS_SNS_CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")

HMAC_HEADER = "X-Vigil-Signature"
HMAC_PREFIX = "sha256="

DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
# AWS sends "Amazon Simple Notification Service Agent". Vigil is not Amazon, and says so: receivers
# that need to tell the two apart (or log who called) can, and nothing we know of checks the string.
USER_AGENT = "Vigil Notification Agent"

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"


def sns_timestamp(at: datetime) -> str:
    """``2012-05-02T00:54:06.655Z``: UTC, milliseconds. A naive time is taken to be UTC."""
    t = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def _attributes(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Publish-API attributes (``DataType`` + ``StringValue``/``BinaryValue``) → envelope form
    (``Type`` + ``Value``; binary values stay base64, as SNS sends them)."""
    out: dict[str, dict[str, str]] = {}
    for name, attr in attributes.items():
        value = attr.get("StringValue", attr.get("BinaryValue"))
        if "DataType" not in attr or value is None:
            raise ValueError(
                f"message attribute {name!r} needs DataType and StringValue (or BinaryValue), got {sorted(attr)}"
            )
        out[name] = {"Type": attr["DataType"], "Value": value}
    return out


def notification(
    *,
    message_id: str,
    topic_arn: str,
    message: str,
    timestamp: datetime,
    subject: str | None,
    attributes: Mapping[str, Mapping[str, str]] | None,
    unsubscribe_url: str,
    signing_cert_url: str,
) -> Envelope:
    """An unsigned ``Notification`` envelope in the order AWS emits its keys (``Signer.sign`` adds
    ``SignatureVersion`` and ``Signature`` in their place). ``Subject`` is left out when there is
    none and ``MessageAttributes`` when the publish had none (§4.1)."""
    env: Envelope = {"Type": NOTIFICATION, "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        env["Subject"] = subject
    env["Message"] = message
    env["Timestamp"] = sns_timestamp(timestamp)
    env["SigningCertURL"] = signing_cert_url
    env["UnsubscribeURL"] = unsubscribe_url
    if attributes:
        env["MessageAttributes"] = _attributes(attributes)
    return env


def subscribe_text(topic_arn: str) -> str:
    return (
        f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )


def unsubscribe_text(subscription_arn: str) -> str:
    return (
        f"You have chosen to deactivate subscription {subscription_arn}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
    )


def _confirmation(
    kind: str,
    message_id: str,
    token: str,
    topic_arn: str,
    message: str,
    subscribe_url: str,
    timestamp: datetime,
    signing_cert_url: str,
) -> Envelope:
    return {
        "Type": kind,
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": sns_timestamp(timestamp),
        "SigningCertURL": signing_cert_url,
    }


def subscription_confirmation(
    *,
    message_id: str,
    topic_arn: str,
    token: str,
    subscribe_url: str,
    timestamp: datetime,
    signing_cert_url: str,
) -> Envelope:
    """The unsigned message a new HTTP/S endpoint gets before any notification: it confirms by
    visiting ``SubscribeURL`` (or by calling ConfirmSubscription with ``Token``)."""
    return _confirmation(
        SUBSCRIPTION_CONFIRMATION,
        message_id,
        token,
        topic_arn,
        subscribe_text(topic_arn),
        subscribe_url,
        timestamp,
        signing_cert_url,
    )


def unsubscribe_confirmation(
    *,
    message_id: str,
    topic_arn: str,
    subscription_arn: str,
    token: str,
    subscribe_url: str,
    timestamp: datetime,
    signing_cert_url: str,
) -> Envelope:
    """The unsigned message an endpoint gets once unsubscribed; ``SubscribeURL`` re-subscribes it.
    AWS's text names the subscription, not the topic, so this one needs the subscription ARN."""
    return _confirmation(
        UNSUBSCRIBE_CONFIRMATION,
        message_id,
        token,
        topic_arn,
        unsubscribe_text(subscription_arn),
        subscribe_url,
        timestamp,
        signing_cert_url,
    )


def string_to_sign(envelope: Mapping[str, Any]) -> str:
    """``key\\nvalue\\n`` for each signed key of the envelope's type, in §4.2's order, using the
    values as they are (unescaped). Raises ``ValueError`` for an unknown type or a missing or
    non-string value."""
    kind = envelope.get("Type")
    keys = SIGNED_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise ValueError(f"cannot sign a message of Type {kind!r}; expected one of {sorted(SIGNED_KEYS)}")
    parts: list[str] = []
    for key in keys:
        if key == "Subject" and key not in envelope:
            continue
        value = envelope.get(key)
        if not isinstance(value, str):
            raise ValueError(f"{kind} envelope needs a string {key}, got {type(value).__name__}")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts)


def _with_signature(envelope: Mapping[str, Any], version: str, signature: str) -> Envelope:
    """A copy with ``SignatureVersion`` and ``Signature`` just before ``SigningCertURL``, where AWS
    puts them (replacing any earlier signature)."""
    out: Envelope = {}
    for key, value in envelope.items():
        if key in ("SignatureVersion", "Signature"):
            continue
        if key == "SigningCertURL":
            out["SignatureVersion"] = version
            out["Signature"] = signature
        out[key] = value
    if "Signature" not in out:
        out["SignatureVersion"] = version
        out["Signature"] = signature
    return out


def _load_certificate(certificate_pem: str | bytes) -> x509.Certificate:
    data = certificate_pem.encode("ascii") if isinstance(certificate_pem, str) else certificate_pem
    return x509.load_pem_x509_certificate(data)


def verify(envelope: Mapping[str, Any], certificate_pem: str | bytes, *, at: datetime | None = None) -> bool:
    """What a receiver does: rebuild the string to sign and check ``Signature`` with the
    certificate's public key and the digest ``SignatureVersion`` names. With ``at``, the
    certificate must also be valid at that time.

    Returns False for anything wrong with the message (unknown type or version, missing fields,
    bad base64, wrong signature). A certificate that is not PEM, or not RSA, is the receiver's
    own mistake and raises ``ValueError``.
    """
    cert = _load_certificate(certificate_pem)
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the signing certificate must carry an RSA public key")
    if at is not None:
        t = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        if not cert.not_valid_before_utc <= t <= cert.not_valid_after_utc:
            return False
    digest = DIGESTS.get(str(envelope.get("SignatureVersion")))
    signature = envelope.get("Signature")
    if digest is None or not isinstance(signature, str):
        return False
    try:
        text = string_to_sign(envelope)
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, text.encode("utf-8"), padding.PKCS1v15(), digest())
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def cert_url_allowed(
    url: str, allowed_hosts: Collection[str | re.Pattern[str]], *, require_https: bool = True
) -> bool:
    """Whether a receiver may fetch the certificate at ``SigningCertURL``.

    AWS receivers pass ``[AWS_SNS_CERT_HOST]``; Vigil's receivers pass Vigil's configured host.
    A string entry is a host name, optionally with ``:port``, compared case-insensitively (without
    a port it allows the default port only); a compiled pattern must match the whole host name.
    The URL must be https (unless ``require_https`` is off, for a loopback test) and carry no
    user name or password.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in (("https",) if require_https else ("https", "http")):
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        return False
    default_port = 443 if parts.scheme == "https" else 80
    for allowed in allowed_hosts:
        if isinstance(allowed, re.Pattern):
            if allowed.fullmatch(host) and port in (None, default_port):
                return True
            continue
        name, sep, allowed_port = allowed.lower().rpartition(":")
        if not sep or not allowed_port.isdigit():
            name, allowed_port = allowed.lower(), ""
        if name != host:
            continue
        if allowed_port and port == int(allowed_port):
            return True
        if not allowed_port and port in (None, default_port):
            return True
    return False


def hmac_header(body: bytes, secret: bytes) -> tuple[str, str]:
    """``("X-Vigil-Signature", "sha256=<hex>")``: HMAC-SHA256 of the exact body bytes, the way
    common webhook senders do it. The body's own ``Timestamp`` and ``MessageId`` let a receiver
    refuse replays."""
    if not secret:
        raise ValueError("the HMAC secret is empty")
    return HMAC_HEADER, HMAC_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_hmac(body: bytes, secret: bytes, value: str | None) -> bool:
    """Whether ``value`` (the ``X-Vigil-Signature`` header) is the HMAC of ``body`` under ``secret``;
    compared in constant time."""
    if not secret or not value:
        return False
    expected = hmac_header(body, secret)[1].encode("ascii")
    return hmac.compare_digest(expected, value.strip().encode("utf-8"))


def _raw(envelope: Mapping[str, Any], raw: bool) -> bool:
    # SNS sends confirmations as the JSON envelope whatever RawMessageDelivery says (§4.1).
    return raw and envelope.get("Type") == NOTIFICATION


def http_body(envelope: Mapping[str, Any], *, raw: bool) -> bytes:
    """The POST body: the JSON envelope, or only the message for raw delivery of a notification."""
    if _raw(envelope, raw):
        return str(envelope["Message"]).encode("utf-8")
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")


def http_headers(
    envelope: Mapping[str, Any],
    *,
    subscription_arn: str | None,
    raw: bool,
    content_type: str = DEFAULT_CONTENT_TYPE,
) -> dict[str, str]:
    """SNS's headers for one POST (§4.1). Pass the envelope even for raw delivery: only its
    ``Type``, ``MessageId`` and ``TopicArn`` are read. There is no subscription ARN header on a
    ``SubscriptionConfirmation`` (the subscription is not confirmed yet), and raw delivery applies
    to notifications only. ``content_type`` is the subscription's ``requestPolicy.headerContentType``."""
    kind = str(envelope["Type"])
    headers = {
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": str(envelope["MessageId"]),
        "x-amz-sns-topic-arn": str(envelope["TopicArn"]),
    }
    if subscription_arn is not None and kind != SUBSCRIPTION_CONFIRMATION:
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    if _raw(envelope, raw):
        headers["x-amz-sns-rawdelivery"] = "true"
    headers["Content-Type"] = content_type
    headers["User-Agent"] = USER_AGENT
    return headers


@dataclass(frozen=True, repr=False, eq=False)
class Signer:
    """Vigil's signing key and the self-signed certificate receivers check signatures with.

    The private key never appears in a repr or a log line; the repr shows the certificate's
    SHA-256 fingerprint.
    """

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, *, common_name: str = "Vigil Notifications", key_size: int = 2048) -> Signer:
        """A new key and certificate in memory only."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        return cls(key, _self_signed(key, common_name))

    @classmethod
    def load_or_create(
        cls, directory: Path | str, *, common_name: str = "Vigil Notifications", key_size: int = 2048
    ) -> Signer:
        """The key and certificate kept in ``directory`` (e.g. ``.vigil/keys``), made there on first
        use: ``signing-key.pem`` (PKCS#8, mode 0600) and ``signing-cert.pem``. A missing or
        mismatched certificate is issued again for the key that is there."""
        folder = Path(directory)
        key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not key_path.exists():
                key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                if _write_new(key_path, pem, mode=0o600):
                    log.info("made a new notification signing key in %s", key_path)
            key = _read_key(key_path)
            cert: x509.Certificate | None = None
            if cert_path.exists():
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                if cert.public_key() != key.public_key():
                    log.warning("%s does not match %s; issuing a new certificate", cert_path, key_path)
                    cert_path.unlink()
                    cert = None
            if cert is None:
                _write_new(
                    cert_path,
                    _self_signed(key, common_name).public_bytes(serialization.Encoding.PEM),
                    mode=0o644,
                )
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError) as err:
            raise CannotStart(
                f"cannot load or create the notification signing key: {err.__class__.__name__}: {err}",
                where=str(folder),
                hint="the directory must be writable by Vigil; remove a damaged key or certificate file to have a new one made",
            ) from err
        return cls(key, cert)

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (DER), lower-case hex."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @property
    def cert_file_name(self) -> str:
        """A name to serve the certificate under, changing with the key as AWS's names do."""
        return f"VigilNotifications-{self.fingerprint[:32]}.pem"

    def sign(self, envelope: Mapping[str, Any], version: int | str = 2) -> Envelope:
        """A copy of ``envelope`` with ``SignatureVersion`` and base64 ``Signature`` filled in:
        SHA256withRSA for version 2, SHA1withRSA for version 1 (SNS's default, kept for old receivers)."""
        digest = DIGESTS.get(str(version))
        if digest is None:
            raise ValueError(f"SignatureVersion must be 1 or 2, got {version!r}")
        raw = self.private_key.sign(string_to_sign(envelope).encode("utf-8"), padding.PKCS1v15(), digest())
        return _with_signature(envelope, str(version), base64.b64encode(raw).decode("ascii"))

    def __repr__(self) -> str:
        return f"Signer(fingerprint={self.fingerprint!r})"


def _self_signed(key: rsa.RSAPrivateKey, common_name: str, *, days: int = 3650) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); setting it to 0600", path, mode)
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def _write_new(path: Path, data: bytes, *, mode: int) -> bool:
    """Write ``path`` only if it does not exist yet, all at once: a temporary file with ``mode``
    from the start, then a hard link, which fails if another process got there first (its file
    then wins). Returns whether this call wrote it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widen the key beyond 0600
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
