"""CloudTrail digest files: reading them, what they sign, and the pure validation (aws-semantics.md §6.5).

What for: CloudTrail's digest files let anyone prove that the log files in a bucket are the ones
CloudTrail delivered. Each hourly digest lists the log files delivered in its hour with their
SHA-256, names the previous digest and carries its signature; the digest's own signature sits in the
S3 object metadata (``x-amz-meta-signature``, ``x-amz-meta-signature-algorithm``).

Facts relied on, from AWS's "CloudTrail digest file structure" and "Custom implementations of
CloudTrail log file integrity validation" pages:

* ``logFiles[].hashValue`` is "the hexadecimal encoded hash value of the *uncompressed* log file
  content", and ``previousDigestHashValue`` the hash "of the uncompressed contents of the previous
  digest file"; so both are taken over the gunzipped bytes.
* The signed string is ``digestEndTime \\n digestS3Bucket/digestS3Object \\n
  hex(SHA-256(uncompressed digest bytes)) \\n previousDigestSignature``, the last being the text
  ``null`` in a starting digest; the signature is RSA PKCS#1 v1.5 over SHA-256 of it, hex in metadata.
* For an older digest the signature is the ``previousDigestSignature`` its successor records; the
  metadata is not needed (but is checked too when present).

Nothing here reads S3: ``validate`` is given the digest objects and a ``fetch`` for the rest
(``reader`` supplies both), and the public keys (``keys``).
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from vigil.trail.integrity.keys import KeyRing

SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"

# What each status means; the CLI prints this table in its help.
STATUSES: dict[str, str] = {
    "valid": "the file is what CloudTrail delivered",
    "modified": "the file's hash differs from the one a valid digest records for it",
    "missing": "a valid digest names the file, but it is not in the bucket",
    "unsigned": "a digest with no signature: no x-amz-meta-signature and no valid later digest recording one",
    "invalid-signature": "a digest whose signature does not verify, or whose signing key is unknown",
    "chain-broken": "a digest whose previous digest is missing or differs from the one it recorded",
    "not-covered": "a log file no valid digest names (delivered while validation was off, or planted)",
    "invalid": "not a readable digest (not gzip or JSON, fields missing, or moved from where CloudTrail wrote it)",
}
VALID = "valid"

DIGEST_KEY = re.compile(
    r"^(?P<root>(?:.*/)?AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>\d{12})/)CloudTrail-Digest/(?P<region>[a-z0-9-]+)/"
    r"\d{4}/\d{2}/\d{2}/(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>.+)_(?P<home>[a-z0-9-]+)_"
    r"(?P<stamp>\d{8}T\d{6}Z)(?:_backfill)?\.json\.gz$"
)
LOG_KEY = re.compile(
    r"^(?P<root>(?:.*/)?AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>\d{12})/)CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"\d{4}/\d{2}/\d{2}/(?P=account)_CloudTrail_(?P=region)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$"
)
_STAMP_FORMATS = {DIGEST_KEY: "%Y%m%dT%H%M%SZ", LOG_KEY: "%Y%m%dT%H%MZ"}
_REQUIRED = (
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
)


class Location(NamedTuple):
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class StoredObject:
    """An S3 object as read: its bytes and its user metadata (names without ``x-amz-meta-``)."""

    location: Location
    body: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileResult:
    """The verdict on one digest or log file; ``digest`` is the digest that names it, if any."""

    kind: str  # "digest" | "log"
    status: str
    location: Location
    reason: str
    digest: Location | None = None
    time: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "status": self.status,
            "path": str(self.location),
            "reason": self.reason,
            "digest": str(self.digest) if self.digest else None,
            "time": self.time,
        }


@dataclass(frozen=True)
class Report:
    """Every file's verdict, the window asked for and the one the valid digests cover."""

    results: tuple[FileResult, ...]
    requested: tuple[datetime | None, datetime | None] = (None, None)
    pending_logs: int = 0  # log files newer than their region's newest digest: not due yet

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self, kind: str) -> tuple[int, int]:
        """(valid, total) for ``digest`` or ``log`` files."""
        mine = [r for r in self.results if r.kind == kind]
        return sum(r.ok for r in mine), len(mine)

    @property
    def found(self) -> tuple[str | None, str | None]:
        times = sorted(r.time for r in self.results if r.kind == "digest" and r.ok and r.time)
        return (times[0], times[-1]) if times else (None, None)

    def summary(self) -> list[str]:
        """Lines in the manner of ``aws cloudtrail validate-logs``."""
        lines = [f"Results requested for {_show(self.requested[0])} to {_show(self.requested[1])}"]
        first, last = self.found
        if first:
            lines.append(f"Results found for {first} to {last}:")
        for kind, noun in (("digest", "digest files"), ("log", "log files")):
            valid, total = self.counts(kind)
            line = f"{valid}/{total} {noun} valid"
            if valid < total:
                line += f", {total - valid}/{total} {noun} INVALID"
            lines.append(line if total else f"no {noun} found")
        if self.pending_logs:
            lines.append(f"{self.pending_logs} log files newer than the newest digest were not checked yet")
        return lines

    def as_dict(self) -> dict[str, Any]:
        digests, logs = self.counts("digest"), self.counts("log")
        return {
            "requested": {"start": _iso(self.requested[0]), "end": _iso(self.requested[1])},
            "found": {"start": self.found[0], "end": self.found[1]},
            "summary": {
                "digestFiles": {"valid": digests[0], "invalid": digests[1] - digests[0]},
                "logFiles": {"valid": logs[0], "invalid": logs[1] - logs[0], "pending": self.pending_logs},
            },
            "files": [r.as_dict() for r in self.results],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _show(moment: datetime | None) -> str:
    return _iso(moment) or "the beginning"


# -- parsing -------------------------------------------------------------------------------------


class FormatError(ValueError):
    """The bytes are not a file CloudTrail could have written (gzip, JSON, fields); says why."""


@dataclass(frozen=True)
class LogEntry:
    location: Location
    hash_value: str
    hash_algorithm: str


@dataclass(frozen=True)
class Digest:
    """A parsed digest file; ``raw`` is its uncompressed bytes, what its hashes are taken over."""

    location: Location
    raw: bytes
    fields: Mapping[str, Any]
    metadata: Mapping[str, str]
    log_files: tuple[LogEntry, ...]

    @property
    def end_time(self) -> str:
        return str(self.fields["digestEndTime"])

    @property
    def region(self) -> str | None:
        match = DIGEST_KEY.match(self.location.key)
        return match["region"] if match else None

    @property
    def previous(self) -> Location | None:
        bucket, key = self.fields.get("previousDigestS3Bucket"), self.fields.get("previousDigestS3Object")
        return Location(str(bucket), str(key)) if bucket and key else None


def gunzip_exact(body: bytes) -> bytes:
    """The uncompressed bytes of one gzip stream; data after its end is an error (a file with bytes
    appended would otherwise pass a hash check of its first member)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(body) + inflater.flush()
    except zlib.error as exc:
        raise FormatError(f"not gzip ({exc})") from None
    if not inflater.eof:
        raise FormatError("the gzip stream is truncated")
    if inflater.unused_data:
        raise FormatError(f"{len(inflater.unused_data)} bytes follow the end of the gzip stream")
    return data


def parse_digest(obj: StoredObject) -> Digest:
    """Read a digest file; raises :class:`FormatError` saying what is wrong."""
    raw = gunzip_exact(obj.body)
    try:
        fields = json.loads(raw)
    except ValueError as exc:
        raise FormatError(f"not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise FormatError("not a JSON object")
    absent = [name for name in _REQUIRED if not isinstance(fields.get(name), str)]
    if absent:
        raise FormatError(f"fields missing or not text: {', '.join(absent)}")
    entries = fields.get("logFiles")
    if not isinstance(entries, list):
        raise FormatError("logFiles is not a list")
    try:
        logs = tuple(
            LogEntry(Location(e["s3Bucket"], e["s3Object"]), str(e["hashValue"]), str(e["hashAlgorithm"]))
            for e in entries
        )
    except (KeyError, TypeError) as exc:
        raise FormatError(f"a logFiles entry lacks {exc}") from None
    return Digest(obj.location, raw, fields, dict(obj.metadata), logs)


def signing_string(digest: Digest) -> bytes:
    """The exact text CloudTrail signs for a digest (§6.5); a null previous signature is ``null``."""
    previous = digest.fields.get("previousDigestSignature")
    return "\n".join(
        (
            digest.end_time,
            f"{digest.fields['digestS3Bucket']}/{digest.fields['digestS3Object']}",
            hashlib.sha256(digest.raw).hexdigest(),
            "null" if previous is None else str(previous),
        )
    ).encode("utf-8")


def log_file_hash(body: bytes) -> str:
    """SHA-256 (hex) of a log file's uncompressed content, as ``logFiles[].hashValue`` records it."""
    return hashlib.sha256(gunzip_exact(body)).hexdigest()


# -- validation (pure) ---------------------------------------------------------------------------

Fetch = Callable[[Location], StoredObject | None]


@dataclass(frozen=True)
class _Verdict:
    status: str
    reason: str


def _placed(d: Digest, successor: Digest | None, keys: KeyRing) -> _Verdict | None:
    recorded = Location(str(d.fields["digestS3Bucket"]), str(d.fields["digestS3Object"]))
    if recorded != d.location:
        return _Verdict("invalid", f"it records its place as {recorded}: moved or copied from there")
    return None


def _signed(d: Digest, successor: Digest | None, keys: KeyRing) -> _Verdict | None:
    claims = []
    if d.metadata.get("signature"):
        claims.append(("its x-amz-meta-signature", d.metadata["signature"]))
    if successor is not None and successor.fields.get("previousDigestSignature"):
        claims.append(
            (
                f"the previousDigestSignature of {successor.location.key}",
                successor.fields["previousDigestSignature"],
            )
        )
    if not claims:
        return _Verdict(
            "unsigned", "no x-amz-meta-signature, and no valid later digest records its signature"
        )
    algorithms = {
        str(d.fields.get("digestSignatureAlgorithm")),
        d.metadata.get("signature-algorithm", SIGNATURE_ALGORITHM),
    }
    if algorithms != {SIGNATURE_ALGORITHM}:
        return _Verdict(
            "invalid-signature", f"signature algorithm {sorted(algorithms)}, not {SIGNATURE_ALGORITHM}"
        )
    fingerprint = str(d.fields["digestPublicKeyFingerprint"]).lower()
    key = keys.find(fingerprint, d.region)
    if key is None:
        return _Verdict(
            "invalid-signature",
            f"no public key with fingerprint {fingerprint} for region {d.region} "
            "(give it with --public-key, or check that ListPublicKeys covers the digest's time)",
        )
    message = signing_string(d)
    for source, signature in claims:
        try:
            good = key.verifies(message, bytes.fromhex(str(signature)))
        except ValueError:  # not hex
            good = False
        if not good:
            return _Verdict("invalid-signature", f"{source} does not verify with key {fingerprint}")
    return None


def _hash_recorded(d: Digest, successor: Digest | None, keys: KeyRing) -> _Verdict | None:
    if successor is None:
        return None
    recorded = successor.fields.get("previousDigestHashValue")
    if recorded and str(recorded).lower() != hashlib.sha256(d.raw).hexdigest():
        return _Verdict(
            "modified", f"its hash differs from the previousDigestHashValue in {successor.location.key}"
        )
    return None


def _linked(
    d: Digest, known: Mapping[Location, Digest], fetch: Fetch
) -> tuple[_Verdict | None, FileResult | None]:
    """Whether the previous digest ``d`` names is there (it is fetched when outside the window)."""
    previous = d.previous
    if previous is None or previous in known:
        return None, None
    obj = fetch(previous)
    if obj is None:
        missing = FileResult(
            "digest",
            "missing",
            previous,
            f"named as the previous digest by {d.location.key}; not found",
            d.location,
        )
        return _Verdict(
            "chain-broken", f"its own signature verifies, but its previous digest {previous} is missing"
        ), missing
    try:
        raw = gunzip_exact(obj.body)
    except FormatError as exc:
        return _Verdict("chain-broken", f"its previous digest {previous} is unreadable: {exc}"), None
    recorded = str(d.fields.get("previousDigestHashValue") or "").lower()
    if recorded and recorded != hashlib.sha256(raw).hexdigest():
        return _Verdict(
            "chain-broken", f"its previous digest {previous} differs from the one it recorded"
        ), None
    return None, None


# A digest's checks, in order; the first problem found is its verdict. Each gets the digest, its
# successor in the chain when that one is valid (else None), and the public keys.
_DIGEST_CHECKS: tuple[Callable[[Digest, Digest | None, KeyRing], _Verdict | None], ...] = (
    _placed,
    _signed,
    _hash_recorded,
)


def _check_log(entry: LogEntry, obj: StoredObject | None) -> _Verdict:
    if obj is None:
        return _Verdict("missing", "named by a valid digest; not in the bucket")
    if entry.hash_algorithm != HASH_ALGORITHM:
        return _Verdict("modified", f"hash algorithm {entry.hash_algorithm!r}, not {HASH_ALGORITHM}")
    try:
        actual = log_file_hash(obj.body)
    except FormatError as exc:
        return _Verdict("modified", str(exc))
    if actual != entry.hash_value.lower():
        return _Verdict(
            "modified", f"SHA-256 of its content is {actual}, the digest records {entry.hash_value}"
        )
    return _Verdict(VALID, "hash matches the digest")


def validate(
    digests: Sequence[StoredObject],
    keys: KeyRing,
    fetch: Fetch,
    listed_logs: Iterable[Location] = (),
) -> tuple[list[FileResult], int]:
    """Judge ``digests`` (the digest objects in the window), the log files they name (read through
    ``fetch``) and ``listed_logs`` (the log objects in the window, for ``not-covered``). Returns the
    results and the number of listed log files newer than their region's newest digest (not due yet).
    """
    results: list[FileResult] = []
    parsed: dict[Location, Digest] = {}
    for obj in digests:
        try:
            parsed[obj.location] = parse_digest(obj)
        except FormatError as exc:
            results.append(
                FileResult("digest", "invalid", obj.location, str(exc), time=_key_time(obj.location.key))
            )
    trusted = _judge_digests(parsed, keys, fetch, results)
    checked: set[Location] = set()
    for d in trusted.values():
        for entry in d.log_files:
            if entry.location not in checked:
                checked.add(entry.location)
                v = _check_log(entry, fetch(entry.location))
                time = _key_time(entry.location.key)
                results.append(FileResult("log", v.status, entry.location, v.reason, d.location, time))
    untrusted = {
        e.location: d.location for d in parsed.values() if d.location not in trusted for e in d.log_files
    }
    uncovered, pending = _uncovered(
        listed_logs, checked, untrusted, _newest_digests(o.location for o in digests)
    )
    return results + uncovered, pending


def _judge_digests(
    parsed: Mapping[Location, Digest], keys: KeyRing, fetch: Fetch, results: list[FileResult]
) -> dict[Location, Digest]:
    """Append a result per digest (and per missing previous digest) to ``results``; return the
    digests whose signature verifies. Newest first, so that a digest's signature can come from its
    successor's ``previousDigestSignature`` once that successor is known to be valid."""
    successors: dict[Location, Digest] = {}
    for d in parsed.values():
        if d.previous is not None:
            successors.setdefault(d.previous, d)
    trusted: dict[Location, Digest] = {}
    for d in sorted(parsed.values(), key=lambda d: d.end_time, reverse=True):
        named_by = successors.get(d.location)
        successor = named_by if named_by is not None and named_by.location in trusted else None
        verdict = next((v for check in _DIGEST_CHECKS if (v := check(d, successor, keys))), None)
        if verdict is None:
            trusted[d.location] = d
            verdict, missing = _linked(d, parsed, fetch)
            results.extend([missing] if missing else [])
        final = verdict or _Verdict(
            VALID,
            f"signature verifies; names {len(d.log_files)} log file{'' if len(d.log_files) == 1 else 's'}",
        )
        by = named_by.location if named_by else None
        results.append(FileResult("digest", final.status, d.location, final.reason, by, d.end_time))
    return trusted


def _uncovered(
    listed: Iterable[Location],
    checked: set[Location],
    untrusted: Mapping[Location, Location],
    newest: Mapping[str, datetime],
) -> tuple[list[FileResult], int]:
    """``not-covered`` results for listed log files no valid digest named, and how many of them are
    newer than their region's newest digest (not due yet, so not reported)."""
    results: list[FileResult] = []
    pending = 0
    for log in listed:
        match = LOG_KEY.match(log.key)
        if log in checked or not match:
            continue
        place = match["root"] + match["region"]
        if place in newest and key_moment(log.key) > newest[place]:
            pending += 1
            continue
        reason = (
            f"named only by {untrusted[log]}, which is not valid"
            if log in untrusted
            else "no digest names it (delivered while validation was off, or not by CloudTrail)"
        )
        results.append(FileResult("log", "not-covered", log, reason, untrusted.get(log), _key_time(log.key)))
    return results, pending


def _newest_digests(locations: Iterable[Location]) -> dict[str, datetime]:
    """The newest digest's end time per account root and region."""
    newest: dict[str, datetime] = {}
    for location in locations:
        match = DIGEST_KEY.match(location.key)
        if match:
            place, moment = match["root"] + match["region"], key_moment(location.key)
            newest[place] = max(newest.get(place, moment), moment)
    return newest


def key_moment(key: str) -> datetime:
    for pattern, fmt in _STAMP_FORMATS.items():
        match = pattern.match(key)
        if match:
            return datetime.strptime(match["stamp"], fmt).replace(tzinfo=UTC)
    raise ValueError(f"{key} is not a CloudTrail log or digest key")


def _key_time(key: str) -> str | None:
    try:
        return _iso(key_moment(key))
    except ValueError:
        return None
