"""CloudTrail log-file integrity (`vigil trail validate`): keys, logs and a chain of signed digests are
generated here, written to moto's S3, and every kind of tampering is found (spec §6.5)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from typer.testing import CliRunner

import vigil.cli  # noqa: F401  (loads the main app first, as `vigil trail` does: cli_trail imports it)
from conftest import Account
from vigil.cli_trail import trail_app
from vigil.model import parse_when
from vigil.trail import integrity
from vigil.trail.integrity import KeyRing, Location, StoredObject

runner = CliRunner()
REGION = "us-east-1"
TRAIL = "main-trail"
T0 = datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC)  # the first digest's start
# ListPublicKeys' documented sample: a PKCS#1 key and the fingerprint CloudTrail gives it.
DOC_KEY = (
    "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97"
    "mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5H"
    "uWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4h"
    "q/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB"
)
DOC_FINGERPRINT = "8eba5db5bea9b640d1c96a77256fe7f2"


@dataclass(frozen=True)
class Signer:
    """A region's key pair, as CloudTrail holds it."""

    private: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )

    @property
    def fingerprint(self) -> str:
        return hashlib.md5(self.der).hexdigest()

    def sign(self, data: bytes) -> str:
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()

    def pem(self, path: Path) -> Path:
        path.write_bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return path


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def stranger() -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_key(account: str, moment: datetime, n: int, base: str = "AWSLogs/") -> str:
    return (
        f"{base}{account}/CloudTrail/{REGION}/{moment:%Y/%m/%d}/"
        f"{account}_CloudTrail_{REGION}_{moment:%Y%m%dT%H%MZ}_{n:016d}.json.gz"
    )


def digest_key(account: str, end: datetime, base: str = "AWSLogs/") -> str:
    return (
        f"{base}{account}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    )


def build(
    bucket: str,
    account: str,
    signer: Signer,
    logs_per_hour: Sequence[int],
    signers: dict[int, Signer] | None = None,
    base: str = "AWSLogs/",
) -> dict[str, StoredObject]:
    """Log files and the hourly digest chain naming them, as CloudTrail writes them (keys → objects)."""
    objects: dict[str, StoredObject] = {}
    previous: dict[str, Any] | None = None
    for hour, count in enumerate(logs_per_hour):
        start, end = T0 + timedelta(hours=hour), T0 + timedelta(hours=hour + 1)
        entries = []
        for n in range(count):
            moment = start + timedelta(minutes=5 + 10 * n)
            content = json.dumps({"Records": [{"eventName": f"Call{hour}-{n}", "eventTime": stamp(moment)}]})
            key = log_key(account, moment, hour * 100 + n, base)
            objects[key] = StoredObject(Location(bucket, key), gzip.compress(content.encode()))
            entries.append(
                {
                    "s3Bucket": bucket,
                    "s3Object": key,
                    "hashValue": hashlib.sha256(content.encode()).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": stamp(moment),
                    "oldestEventTime": stamp(moment),
                }
            )
        key = digest_key(account, end, base)
        use = (signers or {}).get(hour, signer)
        fields = {
            "awsAccountId": account,
            "digestStartTime": stamp(start),
            "digestEndTime": stamp(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": use.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": entries[-1]["newestEventTime"] if entries else None,
            "oldestEventTime": entries[0]["oldestEventTime"] if entries else None,
            "previousDigestS3Bucket": previous and previous["bucket"],
            "previousDigestS3Object": previous and previous["key"],
            "previousDigestHashValue": previous and previous["hash"],
            "previousDigestHashAlgorithm": previous and "SHA-256",
            "previousDigestSignature": previous and previous["signature"],
            "logFiles": entries,
        }
        raw = json.dumps(fields).encode()
        to_sign = "\n".join(
            [
                stamp(end),
                f"{bucket}/{key}",
                hashlib.sha256(raw).hexdigest(),
                previous["signature"] if previous else "null",
            ]
        )
        signature = use.sign(to_sign.encode())
        metadata = {"signature": signature, "signature-algorithm": "SHA256withRSA"}
        objects[key] = StoredObject(Location(bucket, key), gzip.compress(raw), metadata)
        previous = {
            "bucket": bucket,
            "key": key,
            "hash": hashlib.sha256(raw).hexdigest(),
            "signature": signature,
        }
    return objects


def upload(account: Account, bucket: str, objects: dict[str, StoredObject]) -> Any:
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    for key, obj in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=obj.body, Metadata=dict(obj.metadata))
    return s3


def digests_of(objects: dict[str, StoredObject]) -> list[StoredObject]:
    return [o for k, o in objects.items() if "CloudTrail-Digest" in k]


def logs_of(objects: dict[str, StoredObject]) -> list[str]:
    return sorted(k for k in objects if "/CloudTrail/" in k)


def run(account: Account, bucket: str, key_file: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    args = [
        "validate",
        "--bucket",
        bucket,
        "--endpoint-url",
        account.endpoint,
        "--role-arn",
        account.role_arn,
    ]
    result = runner.invoke(trail_app, [*args, "--public-key", str(key_file), "-o", "json", *extra])
    assert result.exit_code in (0, 4), result.output
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """path (key only) → status, for every file not valid."""
    return {f["path"].split("/", 3)[3]: f["status"] for f in report["files"] if f["status"] != "valid"}


# -- the pure parts --------------------------------------------------------------------------------


def public_bytes(signer: Signer, encoding: str, form: str) -> bytes:
    return signer.private.public_key().public_bytes(
        getattr(serialization.Encoding, encoding), getattr(serialization.PublicFormat, form)
    )


def test_fingerprint_is_the_md5_of_the_der_key_listpublickeys_returns() -> None:
    der = base64.b64decode(DOC_KEY)
    key = integrity.key_from_der(der)
    assert integrity.fingerprint(der) == DOC_FINGERPRINT and DOC_FINGERPRINT in key.fingerprints
    assert key.key.public_numbers().e == 65537
    # the same key as a SubjectPublicKeyInfo is named by both forms' fingerprints
    spki = key.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (
        integrity.key_from_der(spki).fingerprints
        == key.fingerprints
        == {
            DOC_FINGERPRINT,
            integrity.fingerprint(spki),
        }
    )


def test_signatures_verify_only_with_the_right_key_and_message(signer: Signer, stranger: Signer) -> None:
    key = integrity.key_from_der(signer.der)
    signature = bytes.fromhex(signer.sign(b"digest string"))
    assert key.verifies(b"digest string", signature)
    assert not key.verifies(b"digest strinG", signature)
    assert not key.verifies(b"digest string", signature[:-1])
    assert not key.verifies(b"digest string", bytes(len(signature)))
    assert not key.verifies(b"digest string", bytes.fromhex(stranger.sign(b"digest string")))
    assert not integrity.key_from_der(stranger.der).verifies(b"digest string", signature)


@pytest.mark.parametrize(
    ("name", "encoding", "form"),
    [
        ("spki.pem", "PEM", "SubjectPublicKeyInfo"),
        ("rsa.pem", "PEM", "PKCS1"),
        ("spki.der", "DER", "SubjectPublicKeyInfo"),
        ("rsa.der", "DER", "PKCS1"),
    ],
)
def test_key_files_in_every_form_are_named_by_both_fingerprints(
    signer: Signer, tmp_path: Path, name: str, encoding: str, form: str
) -> None:
    path = tmp_path / name
    path.write_bytes(public_bytes(signer, encoding, form))
    (key,) = integrity.load_key_file(path).keys
    spki = public_bytes(signer, "DER", "SubjectPublicKeyInfo")
    assert key.fingerprints == {signer.fingerprint, integrity.fingerprint(spki)}
    assert key.region is None and key.source == str(path)
    assert key.verifies(b"m", bytes.fromhex(signer.sign(b"m")))


def test_key_files_with_several_keys(signer: Signer, stranger: Signer, tmp_path: Path) -> None:
    pem = tmp_path / "two.pem"
    pem.write_bytes(
        public_bytes(signer, "PEM", "PKCS1")
        + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"  # not a key: passed over
        + public_bytes(stranger, "PEM", "SubjectPublicKeyInfo")
    )
    listed = tmp_path / "list-public-keys.json"
    listed.write_text(
        json.dumps(
            {
                "PublicKeyList": [
                    {"Value": base64.b64encode(s.der).decode(), "Fingerprint": s.fingerprint.upper()}
                    for s in (signer, stranger)
                ]
            }
        )
    )
    for path in (pem, listed):
        ring = integrity.load_key_file(path)
        assert len(ring.keys) == 2, path
        for s in (signer, stranger):
            found = ring.find(s.fingerprint, REGION)
            assert found is not None and found.verifies(b"m", bytes.fromhex(s.sign(b"m")))


def test_key_files_that_are_not_rsa_public_keys(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = base64.b64decode(DOC_KEY)
    files = {
        "ec.pem": (
            ec_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            "not an RSA public key (pem: key type",
        ),
        "ec.der": (
            ec_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            "not an RSA public key (der: key type",
        ),
        "cut.der": (der[:-5], "not an RSA public key (der: not a DER public key"),
        "junk.pem": (
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "not an RSA public key",
        ),
        "junk.json": (b'{"PublicKeyList": [{"Value": "%%%"}]}', "PublicKeyList[0].Value is not base64"),
        "other.json": (b'{"Keys": []}', "no PublicKeyList list"),
        "cert.pem": (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "holds no public key",
        ),
    }
    for name, (data, message) in files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(integrity.UsageError, match=re.escape(message)) as raised:
            integrity.load_key_file(tmp_path / name)
        assert raised.value.exit_code == 2 and str(tmp_path / name) in str(raised.value) and raised.value.hint
    with pytest.raises(integrity.UsageError, match="cannot read"):
        integrity.load_key_file(tmp_path / "absent.pem")


def test_the_signing_string_is_the_documented_one(signer: Signer) -> None:
    objects = build("b", "111122223333", signer, [1, 1])
    first, second = (
        integrity.parse_digest(o) for o in sorted(digests_of(objects), key=lambda o: o.location.key)
    )
    lines = integrity.signing_string(first).decode().split("\n")
    assert lines == [
        "2024-05-01T01:00:31Z",
        f"b/{first.location.key}",
        hashlib.sha256(first.raw).hexdigest(),
        "null",  # a starting digest's previous signature
    ]
    assert integrity.signing_string(second).decode().split("\n")[3] == first.metadata["signature"]


def test_log_hashes_are_over_the_uncompressed_content() -> None:
    body = gzip.compress(b'{"Records":[]}')
    assert integrity.log_file_hash(body) == hashlib.sha256(b'{"Records":[]}').hexdigest()
    with pytest.raises(integrity.FormatError, match="follow the end"):
        integrity.log_file_hash(body + b"appended")
    with pytest.raises(integrity.FormatError, match="not gzip"):
        integrity.log_file_hash(b'{"Records":[]}')


def pure(objects: dict[str, StoredObject], keys: KeyRing) -> dict[str, str]:
    results, _ = integrity.validate(
        digests_of(objects),
        keys,
        lambda loc: objects.get(loc.key),
        [Location("b", k) for k in logs_of(objects)],
    )
    return {r.location.key: r.status for r in results}


def test_validate_a_chain_with_an_empty_hour(signer: Signer) -> None:
    objects = build("b", "111122223333", signer, [2, 0, 1])
    found = pure(objects, KeyRing((integrity.key_from_der(signer.der),)))
    assert len(found) == 6 and set(found.values()) == {"valid"}
    assert pure(objects, KeyRing()) == {
        **{k: "invalid-signature" for k in objects if "Digest" in k},
        **{k: "not-covered" for k in logs_of(objects)},
    }


def test_a_chained_signature_suffices_without_metadata_but_a_wrong_one_does_not(signer: Signer) -> None:
    objects = build("b", "111122223333", signer, [1, 1, 1])
    keys = KeyRing((integrity.key_from_der(signer.der),))
    oldest, middle, newest = sorted(k for k in objects if "Digest" in k)
    objects[middle] = StoredObject(objects[middle].location, objects[middle].body, {})
    assert set(pure(objects, keys).values()) == {"valid"}
    objects[newest] = StoredObject(objects[newest].location, objects[newest].body, {})
    found = pure(objects, keys)
    # nothing vouches for the newest any more, so nothing vouches for the middle one either
    assert (found[newest], found[middle], found[oldest]) == ("unsigned", "unsigned", "valid")


def test_a_rewritten_digest_fails_its_signature(signer: Signer) -> None:
    """A digest edited to vouch for a changed log file, its metadata kept, no longer verifies."""
    objects = build("b", "111122223333", signer, [1, 1, 1])
    keys = KeyRing((integrity.key_from_der(signer.der),))
    _, middle, _ = sorted(k for k in objects if "Digest" in k)
    log = logs_of(objects)[1]
    objects[log] = StoredObject(Location("b", log), gzip.compress(b'{"Records":[]}'))
    fields = json.loads(gzip.decompress(objects[middle].body))
    fields["logFiles"][0]["hashValue"] = hashlib.sha256(b'{"Records":[]}').hexdigest()
    original = objects[middle]
    objects[middle] = StoredObject(
        original.location, gzip.compress(json.dumps(fields).encode()), original.metadata
    )
    found = pure(objects, keys)
    assert (found[middle], found[log]) == ("invalid-signature", "not-covered")


def test_a_digest_moved_from_its_place_is_invalid(signer: Signer) -> None:
    objects = build("b", "111122223333", signer, [1])
    (key,) = [k for k in objects if "Digest" in k]
    moved = key.replace("main-trail", "other")
    original = objects.pop(key)
    objects[moved] = StoredObject(Location("b", moved), original.body, original.metadata)
    results, _ = integrity.validate(digests_of(objects), KeyRing(), lambda loc: objects.get(loc.key))
    assert [(r.status, "records its place" in r.reason) for r in results] == [("invalid", True)]


def test_log_files_newer_than_the_newest_digest_are_pending(signer: Signer) -> None:
    objects = build("b", "111122223333", signer, [1])
    late = log_key("111122223333", T0 + timedelta(hours=1, minutes=10), 7)
    early = log_key("111122223333", T0 - timedelta(minutes=30), 8)
    listed = [Location("b", k) for k in [*logs_of(objects), late, early]]
    keys = KeyRing((integrity.key_from_der(signer.der),))
    results, pending = integrity.validate(digests_of(objects), keys, lambda loc: objects.get(loc.key), listed)
    assert pending == 1 and {r.location.key: r.status for r in results if not r.ok} == {early: "not-covered"}


# -- against S3 ----------------------------------------------------------------------------------


def test_an_untouched_bucket_validates(account: Account, signer: Signer, tmp_path: Path) -> None:
    objects = build("trail-ok", account.account_id, signer, [2, 0, 3, 1])
    upload(account, "trail-ok", objects)
    code, report = run(
        account, "trail-ok", signer.pem(tmp_path / "key.pem"), "--start", "2024-05-01", "--end", "2024-05-02"
    )
    assert code == 0 and statuses(report) == {}
    assert report["summary"] == {
        "digestFiles": {"valid": 4, "invalid": 0},
        "logFiles": {"valid": 6, "invalid": 0, "pending": 0},
    }
    assert report["found"] == {"start": "2024-05-01T01:00:31Z", "end": "2024-05-01T04:00:31Z"}
    table = runner.invoke(
        trail_app,
        [
            "validate",
            "--bucket",
            "trail-ok",
            "--endpoint-url",
            account.endpoint,
            "--role-arn",
            account.role_arn,
            "--public-key",
            str(tmp_path / "key.pem"),
        ],
    )
    assert (
        table.exit_code == 0
        and "4/4 digest files valid" in table.stdout
        and "6/6 log files valid" in table.stdout
    )


def test_an_organisation_trail_under_a_prefix(account: Account, signer: Signer, tmp_path: Path) -> None:
    base = "audit/AWSLogs/o-abc123def4/"
    objects = build("trail-org", account.account_id, signer, [1, 2], base=base)
    s3 = upload(account, "trail-org", objects)
    s3.delete_object(Bucket="trail-org", Key=logs_of(objects)[2])
    code, report = run(account, "trail-org", signer.pem(tmp_path / "key.pem"), "--prefix", "audit/")
    assert code == 4 and statuses(report) == {logs_of(objects)[2]: "missing"}
    assert report["summary"]["digestFiles"] == {"valid": 2, "invalid": 0}
    code, report = run(account, "trail-org", tmp_path / "key.pem")  # without the prefix: nothing there
    assert code == 0 and report["summary"]["digestFiles"] == {"valid": 0, "invalid": 0}


def test_modified_deleted_and_planted_log_files(account: Account, signer: Signer, tmp_path: Path) -> None:
    objects = build("trail-logs", account.account_id, signer, [2, 2])
    s3 = upload(account, "trail-logs", objects)
    first, second, third, _ = logs_of(objects)
    s3.put_object(Bucket="trail-logs", Key=first, Body=gzip.compress(b'{"Records":[]}'))
    s3.delete_object(Bucket="trail-logs", Key=second)
    planted = log_key(account.account_id, T0 + timedelta(minutes=50), 999)
    s3.put_object(Bucket="trail-logs", Key=planted, Body=gzip.compress(b'{"Records":[]}'))
    s3.put_object(Bucket="trail-logs", Key=third, Body=objects[third].body + b"extra")
    code, report = run(account, "trail-logs", signer.pem(tmp_path / "key.pem"))
    assert code == 4
    assert statuses(report) == {
        first: "modified",
        second: "missing",
        third: "modified",
        planted: "not-covered",
    }
    assert report["summary"]["logFiles"] == {"valid": 1, "invalid": 4, "pending": 0}
    reasons = {f["path"]: f["reason"] for f in report["files"]}
    assert "follow the end of the gzip stream" in reasons[f"s3://trail-logs/{third}"]


def test_a_deleted_digest_breaks_the_chain(account: Account, signer: Signer, tmp_path: Path) -> None:
    objects = build("trail-chain", account.account_id, signer, [1, 1, 1])
    s3 = upload(account, "trail-chain", objects)
    _, middle, newest = sorted(k for k in objects if "Digest" in k)
    s3.delete_object(Bucket="trail-chain", Key=middle)
    code, report = run(account, "trail-chain", signer.pem(tmp_path / "key.pem"))
    assert code == 4
    # the log file only the deleted digest named is no longer vouched for
    assert statuses(report) == {middle: "missing", newest: "chain-broken", logs_of(objects)[1]: "not-covered"}
    assert report["summary"]["digestFiles"] == {"valid": 1, "invalid": 2}


def test_bad_and_missing_signatures(account: Account, signer: Signer, tmp_path: Path) -> None:
    objects = build("trail-sig", account.account_id, signer, [1, 1, 1])
    s3 = upload(account, "trail-sig", objects)
    _, middle, newest = sorted(k for k in objects if "Digest" in k)
    bad = {"signature": "ab" * 256, "signature-algorithm": "SHA256withRSA"}
    s3.copy_object(
        Bucket="trail-sig",
        Key=middle,
        CopySource={"Bucket": "trail-sig", "Key": middle},
        Metadata=bad,
        MetadataDirective="REPLACE",
    )
    s3.copy_object(
        Bucket="trail-sig",
        Key=newest,
        CopySource={"Bucket": "trail-sig", "Key": newest},
        Metadata={},
        MetadataDirective="REPLACE",
    )
    code, report = run(account, "trail-sig", signer.pem(tmp_path / "key.pem"))
    assert code == 4
    _, middle_log, newest_log = logs_of(objects)
    assert statuses(report) == {
        newest: "unsigned",
        middle: "invalid-signature",
        newest_log: "not-covered",
        middle_log: "not-covered",
    }
    reasons = {f["path"].split("/", 3)[3]: f["reason"] for f in report["files"]}
    assert "x-amz-meta-signature does not verify" in reasons[middle]


def test_a_digest_signed_by_an_unknown_key(
    account: Account, signer: Signer, stranger: Signer, tmp_path: Path
) -> None:
    objects = build("trail-key", account.account_id, signer, [1, 1, 1], signers={1: stranger})
    upload(account, "trail-key", objects)
    middle = sorted(k for k in objects if "Digest" in k)[1]
    code, report = run(account, "trail-key", signer.pem(tmp_path / "key.pem"))
    assert code == 4 and statuses(report) == {middle: "invalid-signature", logs_of(objects)[1]: "not-covered"}
    reasons = {f["path"].split("/", 3)[3]: f["reason"] for f in report["files"]}
    assert f"no public key with fingerprint {stranger.fingerprint}" in reasons[middle]
    # with both keys (a DER file this time) everything verifies
    (tmp_path / "other.der").write_bytes(stranger.der)
    code, report = run(
        account, "trail-key", tmp_path / "key.pem", "--public-key", str(tmp_path / "other.der")
    )
    assert code == 0 and statuses(report) == {}


def test_a_time_window(account: Account, signer: Signer, tmp_path: Path) -> None:
    objects = build("trail-window", account.account_id, signer, [1, 1, 1, 1, 1])
    s3 = upload(account, "trail-window", objects)
    digests = sorted(k for k in objects if "Digest" in k)
    s3.delete_object(Bucket="trail-window", Key=logs_of(objects)[0])  # outside the window: not looked at
    key_file = signer.pem(tmp_path / "key.pem")
    code, report = run(
        account, "trail-window", key_file, "--start", "2024-05-01T02:00:00Z", "--end", "2024-05-01T03:30:00Z"
    )
    assert code == 0
    seen = sorted(f["path"].split("/", 3)[3] for f in report["files"] if f["type"] == "digest")
    assert seen == digests[1:4]  # digests ending 02:00:31, 03:00:31 and 04:00:31 (end + 1 hour)
    assert report["summary"]["logFiles"]["valid"] == 3
    code, _ = run(
        account, "trail-window", key_file, "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-01T03:00:00Z"
    )
    assert code == 4


def test_public_keys_from_listpublickeys(account: Account, signer: Signer, stranger: Signer) -> None:
    """moto has no ListPublicKeys: botocore's Stubber answers it, S3 is moto's."""
    objects = build("trail-online", account.account_id, signer, [1, 0])
    upload(account, "trail-online", objects)
    session = account.session()
    client = session.client("cloudtrail", REGION)
    valid = {"ValidityStartTime": T0, "ValidityEndTime": T0 + timedelta(days=30)}
    window = {"StartTime": T0, "EndTime": T0 + timedelta(hours=2)}
    with Stubber(client) as stub:
        stub.add_response(
            "list_public_keys",
            {
                "PublicKeyList": [{"Value": stranger.der, "Fingerprint": stranger.fingerprint, **valid}],
                "NextToken": "p2",
            },
            window,
        )
        stub.add_response(
            "list_public_keys",
            {"PublicKeyList": [{"Value": signer.der, "Fingerprint": signer.fingerprint, **valid}]},
            {**window, "NextToken": "p2"},
        )
        ring = integrity.cloudtrail_keys(session, [REGION], T0, T0 + timedelta(hours=2))
        assert [(k.region, signer.fingerprint in k.fingerprints) for k in ring.keys] == [
            (REGION, False),
            (REGION, True),
        ]
        stub.add_response(
            "list_public_keys",
            {"PublicKeyList": [{"Value": signer.der, "Fingerprint": signer.fingerprint, **valid}]},
        )
        report = integrity.validate_bucket(session, "trail-online", start=T0, end=T0 + timedelta(hours=2))
        stub.assert_no_pending_responses()
    assert report.ok and report.counts("digest") == (2, 2) and report.counts("log") == (1, 1)
    stubbed_denial = session.client("cloudtrail", REGION)
    with Stubber(stubbed_denial) as stub:
        stub.add_client_error("list_public_keys", "AccessDeniedException", "not allowed")
        with pytest.raises(integrity.CannotStart, match="--public-key"):
            integrity.validate_bucket(session, "trail-online", start=T0, end=T0 + timedelta(hours=2))


def test_listpublickeys_keys_belong_to_their_region(signer: Signer) -> None:
    key = integrity.key_from_der(signer.der, region="eu-west-1", known=signer.fingerprint)
    ring = KeyRing((key,))
    assert ring.find(signer.fingerprint, "eu-west-1") is key and ring.find(signer.fingerprint, REGION) is None


def test_usage_and_reach_errors(account: Account, signer: Signer, tmp_path: Path) -> None:
    key_file = signer.pem(tmp_path / "key.pem")
    base = ["validate", "--endpoint-url", account.endpoint, "--role-arn", account.role_arn]
    missing = runner.invoke(trail_app, [*base, "--bucket", "no-such-bucket", "--public-key", str(key_file)])
    assert missing.exit_code == 5 and "NoSuchBucket" in missing.output
    when = runner.invoke(trail_app, [*base, "--bucket", "b", "--start", "yesterday"])
    assert when.exit_code == 2 and "neither an ISO time nor an age" in when.output
    (tmp_path / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    junk = runner.invoke(trail_app, [*base, "--bucket", "b", "--public-key", str(tmp_path / "junk.pem")])
    assert junk.exit_code == 2 and "not an RSA public key" in junk.output


def test_times_are_iso_or_ages() -> None:
    now = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_when("90m", now) == datetime(2024, 5, 8, 10, 30, tzinfo=UTC)
    assert parse_when("2024-05-01T02:00:00Z", now) == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert parse_when("2024-05-01", now) == datetime(2024, 5, 1, tzinfo=UTC)
