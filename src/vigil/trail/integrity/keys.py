"""CloudTrail's public keys: reading them, naming them by fingerprint, verifying signatures with them.

``ListPublicKeys`` returns DER keys (PKCS#1 ``RSAPublicKey``; the documentation's sample also shows a
SubjectPublicKeyInfo) and a ``Fingerprint``: the hex MD5 of those DER bytes (checked against the
three keys of the documentation's sample). Since either form may be what a digest's
``digestPublicKeyFingerprint`` was taken over, a key is indexed under the MD5 of both. Keys are per
region; a key given in a file signs for any region.

Parsing and verification are the ``cryptography`` library's: RSASSA-PKCS1-v1_5 with SHA-256 is
Java's ``SHA256withRSA``, the algorithm CloudTrail names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vigil.errors import UsageError

# The DER encodings a key's fingerprint may be taken over (ListPublicKeys returns the first).
DER_FORMS = (serialization.PublicFormat.PKCS1, serialization.PublicFormat.SubjectPublicKeyInfo)


class KeyFormatError(ValueError):
    """Bytes that are not an RSA public key in a form accepted here; says why."""


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key, the fingerprints digests may name it by, and the region it signs for."""

    key: rsa.RSAPublicKey
    fingerprints: frozenset[str]
    region: str | None = None  # None: any region (a key given in a file)
    source: str = ""

    def verifies(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) of ``message``."""
        try:
            self.key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[PublicKey, ...] = ()

    def find(self, fingerprint: str, region: str | None) -> PublicKey | None:
        """The key with this fingerprint that may sign in ``region`` (CloudTrail's keys are per region)."""
        return next(
            (k for k in self.keys if fingerprint in k.fingerprints and k.region in (None, region)), None
        )

    def __add__(self, other: KeyRing) -> KeyRing:
        return KeyRing(self.keys + other.keys)


def fingerprint(der: bytes) -> str:
    """CloudTrail's key fingerprint: hex MD5 of the DER bytes ListPublicKeys returns."""
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def _rsa(loaded: object) -> rsa.RSAPublicKey:
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise KeyFormatError(f"key type {type(loaded).__name__}, not RSA")
    return loaded


def _named(
    key: rsa.RSAPublicKey, *, given: bytes = b"", region: str | None, source: str, known: str | None
) -> PublicKey:
    """``key`` named by the MD5 of both its DER forms, of the DER bytes it was ``given`` as (should they
    not be one of those), and ``known`` (a fingerprint given with it)."""
    forms = [key.public_bytes(serialization.Encoding.DER, form) for form in DER_FORMS]
    prints = {fingerprint(der) for der in (*forms, given) if der} | ({known.lower()} if known else set())
    return PublicKey(key, frozenset(prints), region, source)


def key_from_der(
    der: bytes, *, region: str | None = None, source: str = "", known: str | None = None
) -> PublicKey:
    """A key from DER bytes (PKCS#1 ``RSAPublicKey`` or ``SubjectPublicKeyInfo``), named by the MD5 of
    both DER forms (and ``known``, a given fingerprint). Raises :class:`KeyFormatError`."""
    try:
        loaded = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a DER public key ({exc})") from None
    return _named(_rsa(loaded), given=der, region=region, source=source, known=known)


_PEM_BLOCK = re.compile(rb"-----BEGIN ((?:RSA )?PUBLIC KEY)-----.+?-----END \1-----", re.DOTALL)


def _keys_from_pem(data: bytes, source: str) -> list[PublicKey]:
    """Every ``PUBLIC KEY`` or ``RSA PUBLIC KEY`` block in the file (others, such as certificates, are
    not keys CloudTrail lists)."""
    keys = []
    for block in _PEM_BLOCK.finditer(data):
        try:
            loaded = serialization.load_pem_public_key(block[0])
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"the {block[1].decode()} block is not a public key ({exc})") from None
        keys.append(_named(_rsa(loaded), region=None, source=source, known=None))
    return keys


def _keys_from_json(data: bytes, source: str) -> list[PublicKey]:
    """``aws cloudtrail list-public-keys`` output saved to a file (Value base64, Fingerprint hex)."""
    try:
        document: Any = json.loads(data)
    except ValueError as exc:
        raise KeyFormatError(f"not JSON ({exc})") from None
    listed = document.get("PublicKeyList") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        raise KeyFormatError("no PublicKeyList list, as `aws cloudtrail list-public-keys` prints")
    keys = []
    for n, item in enumerate(listed):
        value = item.get("Value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            raise KeyFormatError(f"PublicKeyList[{n}] has no Value text")
        try:
            der = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise KeyFormatError(f"PublicKeyList[{n}].Value is not base64 ({exc})") from None
        known = item.get("Fingerprint")
        keys.append(key_from_der(der, source=source, known=str(known) if known else None))
    return keys


def _keys_from_der(data: bytes, source: str) -> list[PublicKey]:
    return [key_from_der(data, source=source)]


_KEY_FORMATS: dict[str, Callable[[bytes, str], list[PublicKey]]] = {
    "pem": _keys_from_pem,
    "json": _keys_from_json,
    "der": _keys_from_der,
}


def _key_format(data: bytes) -> str:
    stripped = data.lstrip()
    return "pem" if stripped.startswith(b"-----BEGIN") else "json" if stripped.startswith(b"{") else "der"


def load_key_file(path: Path) -> KeyRing:
    """Public keys from a file: PEM (``PUBLIC KEY`` or ``RSA PUBLIC KEY``), DER, or the JSON that
    ``aws cloudtrail list-public-keys`` prints. Raises :class:`UsageError` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror}", hint="give a readable --public-key file"
        ) from exc
    kind = _key_format(data)
    try:
        keys = _KEY_FORMATS[kind](data, str(path))
    except KeyFormatError as exc:
        raise UsageError(
            f"{path} is not an RSA public key ({kind}: {exc})",
            hint="give a PEM or DER RSA public key, or the output of `aws cloudtrail list-public-keys`",
        ) from None
    if not keys:
        raise UsageError(f"{path} holds no public key", hint="check that the file is the one you meant")
    return KeyRing(tuple(keys))
