"""An SQS queue of S3 or CloudTrail notifications (:class:`SqsSource`) and the message kinds it reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import botocore.exceptions
import orjson

from vigil.aws.session import AwsSession
from vigil.trail.records import MAX_RECORD_BYTES, DecodeError, Record, decode
from vigil.trail.sources.base import LOG_SUFFIXES, Batch, Checkpoint, Quarantined, _aws_failure, _strip_gz
from vigil.trail.sources.s3 import read_object


def _s3_event_objects(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
        for r in body["Records"]
        if str(r.get("eventName", "")).startswith("ObjectCreated:")
    ]


def _is_s3_event(body: dict[str, Any]) -> bool:
    records = body.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:s3" and "s3" in r for r in records)
    )


def _is_cloudtrail_notice(body: dict[str, Any]) -> bool:
    return isinstance(body.get("s3Bucket"), str) and isinstance(body.get("s3ObjectKey"), list)


def _is_eventbridge_object_created(body: dict[str, Any]) -> bool:
    detail = body.get("detail")
    return (
        body.get("source") == "aws.s3"
        and body.get("detail-type") == "Object Created"
        and isinstance(detail, dict)
        and isinstance((detail.get("bucket") or {}).get("name"), str)
        and isinstance((detail.get("object") or {}).get("key"), str)
    )


def _eventbridge_object(body: dict[str, Any]) -> list[tuple[str, str]]:
    # EventBridge gives the key as written (not URL-encoded, unlike S3 event notifications)
    return [(body["detail"]["bucket"]["name"], body["detail"]["object"]["key"])]


def _is_sns(body: dict[str, Any]) -> bool:
    return body.get("Type") == "Notification" and isinstance(body.get("Message"), str)


# Message kind → (test, objects named). Checked in order; an SNS envelope is opened once.
MESSAGE_KINDS: tuple[
    tuple[str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], list[tuple[str, str]]]], ...
] = (
    ("S3 test event", lambda b: b.get("Event") == "s3:TestEvent", lambda b: []),
    ("S3 event notification", _is_s3_event, _s3_event_objects),
    (
        "CloudTrail notification",
        _is_cloudtrail_notice,
        lambda b: [(b["s3Bucket"], k) for k in b["s3ObjectKey"]],
    ),
    ("EventBridge S3 Object Created", _is_eventbridge_object_created, _eventbridge_object),
)


def _opened(body: str) -> dict[str, Any] | None:
    """A queue message's JSON object, taken out of an SNS envelope if it is in one."""
    try:
        parsed = orjson.loads(body)
        if isinstance(parsed, dict) and _is_sns(parsed):
            parsed = orjson.loads(parsed["Message"])
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def message_objects(body: str) -> list[tuple[str, str]] | None:
    """The (bucket, key) of every log file a queue message announces; None if it is none of
    :data:`MESSAGE_KINDS` (bare or inside an SNS envelope)."""
    parsed = _opened(body)
    if parsed is None:
        return None
    for _name, test, objects in MESSAGE_KINDS:
        if test(parsed):
            try:
                return [(b, k) for b, k in objects(parsed) if _is_log_object(k)]
            except (KeyError, TypeError):
                return None
    return None


def inline_records(body: str, max_record_bytes: int = MAX_RECORD_BYTES) -> list[Record] | None:
    """The CloudTrail record an EventBridge rule sent straight to the queue ("AWS API Call via
    CloudTrail", "AWS Console Sign In via CloudTrail", …: the record is the ``detail``), bare or in an
    SNS envelope; None when the message is not one. Raises DecodeError when it is one but unusable."""
    parsed = _opened(body)
    if parsed is None or not str(parsed.get("detail-type", "")).endswith("via CloudTrail"):
        return None
    return decode(orjson.dumps(parsed), max_record_bytes=max_record_bytes, json_lines=False).records


def _is_log_object(key: str) -> bool:
    return "/CloudTrail-Digest/" not in f"/{key}" and _strip_gz(key).endswith(LOG_SUFFIXES)


def _queue_region(url: str) -> str | None:
    """The region in an SQS queue URL (``sqs.<region>.amazonaws.com`` or ``<region>.queue.amazonaws.com``)."""
    host = urlsplit(url).hostname or ""
    found = re.match(r"^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com", host)
    return (found.group(1) or found.group(2)) if found else None


@dataclass
class SqsSource:
    """An SQS queue of S3 object notifications, CloudTrail SNS notifications, or CloudTrail events an
    EventBridge rule sends (the record itself); one batch per message.

    No checkpoint: the queue is the position. ``ack`` deletes the message once its batch is committed.
    A message that is none of the known kinds can never succeed, so it is quarantined and deleted too.
    Stops when a receive comes back empty, or after ``max_messages``.
    """

    session: AwsSession
    queue_url: str
    region: str | None = None
    wait_seconds: int = 1
    max_messages: int | None = None
    max_record_bytes: int = MAX_RECORD_BYTES
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"sqs:{self.queue_url}"

    def total(self) -> int | None:
        return None

    @property
    def _sqs(self) -> Any:
        return self.session.client("sqs", self.region)

    def batches(self, checkpoint: Checkpoint | None) -> Iterator[Batch]:
        received = 0
        while self.max_messages is None or received < self.max_messages:
            wanted = 10 if self.max_messages is None else min(10, self.max_messages - received)
            try:
                answer = self._sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=wanted, WaitTimeSeconds=self.wait_seconds
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise _aws_failure(
                    "receive messages",
                    exc,
                    where=self.key,
                    hint="check the queue URL and sqs:ReceiveMessage permission",
                ) from exc
            messages = answer.get("Messages", [])
            if not messages:
                return
            for message in messages:
                received += 1
                yield self._batch(message)

    def _batch(self, message: dict[str, Any]) -> Batch:
        location = f"sqs:{self.queue_url}#{message['MessageId']}"
        body = str(message.get("Body", ""))
        ack = self._deleter(message["ReceiptHandle"])
        objects = message_objects(body)
        if objects is None:
            try:
                inline = inline_records(body, self.max_record_bytes)
            except DecodeError as exc:
                reason = f"an EventBridge CloudTrail event that cannot be read: {exc.reason}"
                return Batch(
                    self.key, location, [], None, (Quarantined(location, reason, len(body)),), len(body), ack
                )
            if inline is not None:
                return Batch(self.key, location, inline, None, (), len(body), ack)
            reason = "not an S3 event notification, a CloudTrail SNS notification nor an EventBridge CloudTrail event"
            return Batch(
                self.key, location, [], None, (Quarantined(location, reason, len(body)),), len(body), ack
            )
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        s3 = self.session.client("s3")
        for bucket, key in objects:
            found, bad = read_object(s3, bucket, key, self.max_record_bytes)
            records.extend(found)
            quarantined.extend(bad)
        return Batch(self.key, location, records, None, tuple(quarantined), len(body), ack)

    def _deleter(self, receipt: str) -> Callable[[], None]:
        def delete() -> None:
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

        return delete
