"""The S3 and CloudTrail calls validation makes: listing a window of digest and log files under a
trail's prefix, reading objects with their metadata, and the public keys ``ListPublicKeys`` returns;
``validate_bucket`` puts them together with the pure ``digest.validate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vigil.errors import CannotStart
from vigil.trail.integrity.digest import (
    DIGEST_KEY,
    LOG_KEY,
    Location,
    Report,
    StoredObject,
    key_moment,
    validate,
)
from vigil.trail.integrity.keys import KeyRing, PublicKey, key_from_der

if TYPE_CHECKING:
    from vigil.aws.session import AwsSession


def _unreachable(what: str, exc: BaseException) -> CannotStart:
    from vigil.aws.session import error_code

    code, message = error_code(exc)
    return CannotStart(
        f"cannot read {what}: {code}: {message}",
        hint="check the bucket name, the credentials' s3:ListBucket and s3:GetObject rights, "
        "and --endpoint-url / AWS_ENDPOINT_URL",
    )


class BucketReader:
    """The S3 calls validation makes: folder listings, key listings, whole objects with metadata."""

    def __init__(self, session: AwsSession) -> None:
        self._s3 = session.client("s3")

    def _pages(self, what: str, **params: Any) -> Iterator[dict[str, Any]]:
        import botocore.exceptions

        try:
            yield from self._s3.get_paginator("list_objects_v2").paginate(**params)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _unreachable(what, exc) from exc

    def folders(self, bucket: str, prefix: str) -> list[str]:
        pages = self._pages(f"s3://{bucket}/{prefix}", Bucket=bucket, Prefix=prefix, Delimiter="/")
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    def keys(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[str]:
        """Keys under ``prefix`` after ``start_after``, in S3's (lexicographic) order, page by page."""
        params = {"Bucket": bucket, "Prefix": prefix} | ({"StartAfter": start_after} if start_after else {})
        for page in self._pages(f"s3://{bucket}/{prefix}", **params):
            yield from (obj["Key"] for obj in page.get("Contents", []))

    def get(self, location: Location) -> StoredObject | None:
        """The object, or None when there is no such key."""
        import botocore.exceptions

        try:
            answer = self._s3.get_object(Bucket=location.bucket, Key=location.key)
            body: bytes = answer["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise _unreachable(str(location), exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise _unreachable(str(location), exc) from exc
        metadata = {str(k).lower(): str(v) for k, v in answer.get("Metadata", {}).items()}
        return StoredObject(location, body, metadata)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y/%m/%d/")


def days_between(
    reader: BucketReader, bucket: str, folder: str, start: datetime | None, end: datetime
) -> Iterator[str]:
    """The keys of ``folder`` (a region's ``YYYY/MM/DD/…`` tree) whose day is in [start, end]: the
    listing starts at ``start``'s day and stops after ``end``'s, as keys come sorted by day."""
    after = folder + _day(start) if start else ""
    last = folder + _day(end)
    for key in reader.keys(bucket, folder, after):
        if key[: len(last)] > last:
            return
        yield key


@dataclass(frozen=True)
class Listing:
    digests: tuple[Location, ...]
    logs: tuple[Location, ...]
    regions: frozenset[str]


def list_window(
    reader: BucketReader, bucket: str, prefix: str, start: datetime | None, end: datetime
) -> Listing:
    """Digest files ending in [start, end + 1 h] (a log delivered before ``end`` is named by the next
    hour's digest) and log files delivered in [start, end], under ``prefix``/AWSLogs/, every
    account (organisation trails too) and region; one listing per region, from the start's day on."""
    base = f"{prefix.strip('/')}/AWSLogs/" if prefix.strip("/") else "AWSLogs/"
    roots = []
    for folder in reader.folders(bucket, base):
        name = folder[len(base) : -1]
        roots += reader.folders(bucket, folder) if name.startswith("o-") else [folder]
    digests: list[Location] = []
    logs: list[Location] = []
    regions: set[str] = set()
    late = end + timedelta(hours=1)
    for root in roots:
        for kind, pattern, until in (
            ("CloudTrail-Digest/", DIGEST_KEY, late),
            ("CloudTrail/", LOG_KEY, end),
        ):
            for region_folder in reader.folders(bucket, root + kind):
                for key in days_between(reader, bucket, region_folder, start, until):
                    match = pattern.match(key)
                    if match and (start is None or start <= key_moment(key)) and key_moment(key) <= until:
                        (digests if pattern is DIGEST_KEY else logs).append(Location(bucket, key))
                        regions.add(match["region"])
    return Listing(tuple(digests), tuple(logs), frozenset(regions))


def cloudtrail_keys(session: AwsSession, regions: Iterable[str], start: datetime, end: datetime) -> KeyRing:
    """The public keys ``ListPublicKeys`` returns for [start, end] in each region."""
    import botocore.exceptions

    keys: list[PublicKey] = []
    for region in sorted(regions):
        client = session.client("cloudtrail", region)
        params: dict[str, Any] = {"StartTime": start, "EndTime": end}
        while True:
            try:
                answer = client.list_public_keys(**params)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                from vigil.aws.session import error_code

                code, message = error_code(exc)
                raise CannotStart(
                    f"cannot list CloudTrail's public keys in {region}: {code}: {message}",
                    hint="allow cloudtrail:ListPublicKeys, or validate offline with --public-key FILE",
                ) from exc
            for item in answer.get("PublicKeyList", []):
                source = f"ListPublicKeys {region}"
                keys.append(
                    key_from_der(item["Value"], region=region, source=source, known=item.get("Fingerprint"))
                )
            if not answer.get("NextToken"):
                break
            params["NextToken"] = answer["NextToken"]
    return KeyRing(tuple(keys))


def validate_bucket(
    session: AwsSession,
    bucket: str,
    *,
    prefix: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    keys: KeyRing | None = None,
) -> Report:
    """Validate the digests and log files in ``bucket`` for the window; public keys from ``keys``
    when given (offline), else from CloudTrail's ``ListPublicKeys`` in each region found."""
    end = end or datetime.now(UTC)
    reader = BucketReader(session)
    listing = list_window(reader, bucket, prefix, start, end)
    objects = [obj for loc in listing.digests if (obj := reader.get(loc)) is not None]
    if keys is None:
        moments = [key_moment(loc.key) for loc in listing.digests]
        keys = (
            cloudtrail_keys(session, listing.regions, min(moments) - timedelta(hours=1), max(moments))
            if moments
            else KeyRing()
        )
    results, pending = validate(objects, keys, reader.get, listing.logs)
    order = {"digest": 0, "log": 1}
    results.sort(key=lambda r: (order[r.kind], r.time or "", r.location.key))
    return Report(tuple(results), (start, end), pending)
