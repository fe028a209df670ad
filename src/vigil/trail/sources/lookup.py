"""CloudTrail's 90-day event history through ``LookupEvents`` (:class:`LookupEventsSource`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions

from vigil.aws.session import AwsSession
from vigil.trail.records import MAX_RECORD_BYTES, DecodeError, Record, decode_document
from vigil.trail.sources.base import Batch, Checkpoint, Quarantined, _aws_failure

HISTORY = timedelta(days=90)  # LookupEvents reaches back 90 days
LOOKUP_RATE = 2.0  # LookupEvents: 2 requests per second per account per region (CloudTrail quotas)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class LookupEventsSource:
    """CloudTrail's 90-day event history (``LookupEvents``), one batch per page, paced to ``rate``/s.

    A sweep reads ``[since, now]`` newest first; its checkpoint keeps the page token, so a resumed
    sweep goes on where it stopped. When a sweep ends, ``since`` becomes the newest event time seen
    (events at that exact time are read again; the pipeline deduplicates by eventID). Checkpoint:
    ``{"since": iso | None, "sweep": {"start", "end", "token", "newest"} | None}``.
    """

    session: AwsSession
    region: str
    rate: float = LOOKUP_RATE
    start: datetime | None = None
    page_size: int = 50
    max_record_bytes: int = MAX_RECORD_BYTES
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    key: str = field(init=False)
    _last_call: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = f"lookup-events:{self.region}"

    def total(self) -> int | None:
        return None

    def _pace(self) -> None:
        if self._last_call is not None:
            wait = self._last_call + 1.0 / self.rate - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_call = self.clock()

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        since: str | None = (checkpoint or {}).get("since")
        sweep: dict[str, Any] | None = (checkpoint or {}).get("sweep")
        if not sweep:
            start = _parse_iso(since) if since else (self.start or self.now() - HISTORY)
            sweep = {"start": _iso(start), "end": _iso(self.now()), "token": None, "newest": since}
        client = self.session.client("cloudtrail", self.region)
        while True:
            params: dict[str, Any] = {
                "StartTime": _parse_iso(sweep["start"]),
                "EndTime": _parse_iso(sweep["end"]),
                "MaxResults": self.page_size,
            }
            if sweep["token"]:
                params["NextToken"] = sweep["token"]
            self._pace()
            try:
                page = client.lookup_events(**params)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise _aws_failure(
                    "look up events",
                    exc,
                    where=self.key,
                    hint="check cloudtrail:LookupEvents permission and the region",
                ) from exc
            records, quarantined, newest = self._page(page.get("Events", []), sweep["newest"])
            token = page.get("NextToken")
            sweep = {**sweep, "token": token, "newest": newest}
            if token:
                position: Checkpoint = {"since": since, "sweep": sweep}
            else:
                position = {"since": newest or sweep["start"], "sweep": None}
            yield Batch(self.key, f"{self.key}@{sweep['end']}", records, position, tuple(quarantined))
            if not token:
                return

    def _page(
        self, events: Iterable[dict[str, Any]], newest: str | None
    ) -> tuple[list[Record], list[Quarantined], str | None]:
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        for event in events:
            location = f"{self.key}#{event.get('EventId', '?')}"
            text = str(event.get("CloudTrailEvent", ""))
            try:
                found = decode_document(text.encode(), max_record_bytes=self.max_record_bytes)
            except DecodeError as exc:
                quarantined.append(Quarantined(location, exc.reason, len(text)))
                continue
            records.extend(found)
            moment = event.get("EventTime")
            if isinstance(moment, datetime):
                stamp = _iso(moment)
                newest = max(newest, stamp) if newest else stamp
        return records, quarantined, newest
