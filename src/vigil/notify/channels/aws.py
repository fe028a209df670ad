"""``aws-sns`` and ``sqs``: deliveries to a real SNS topic or phone number, or to an SQS queue, via boto3.

``aws-sns`` publishes the message as it was published to Vigil (with its subject and message
attributes), the way an SNS topic subscribed to another would. ``sqs`` sends what SNS sends a
queue (``aws-semantics.md`` §4.1): the signed JSON envelope, or with ``raw_message_delivery`` the
message alone, its attributes (at most 10) as SQS message attributes.

The AWS session is the one the worker puts in ``context.extra["aws_session"]``; without one, a
session with the default AWS settings is made once and kept there. Throttling, 5xx answers and
network errors are failures worth retrying; AccessDenied, NotFound and bad parameters are failures
that name the error code (the worker's delivery policy decides what happens next either way).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from vigil.errors import VigilError
from vigil.notify.channels.base import ChannelContext, Outcome
from vigil.notify.channels.http import resolve_endpoint

if TYPE_CHECKING:
    from vigil.aws.session import AwsSession
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery

log = logging.getLogger("vigil.notify")

SESSION_KEY = "aws_session"
SUBJECT_MAX = 100  # SNS rejects longer subjects
SQS_RAW_ATTRIBUTES_MAX = 10  # §4.1: raw delivery to SQS carries at most 10 message attributes

E164 = re.compile(r"\+[1-9]\d{1,14}")
ARN = re.compile(
    r"arn:(?P<partition>[\w-]+):(?P<service>sns|sqs):(?P<region>[\w-]+):(?P<account>\d{12}):(?P<name>.+)"
)
# sqs.<region>.amazonaws.com (current) and <region>.queue.amazonaws.com (legacy) queue URLs
QUEUE_HOST_REGION = re.compile(
    r"(?:sqs\.(?P<a>[a-z0-9-]+)|(?P<b>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?"
)

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "KMSThrottlingException",
        "SlowDown",
    }
)
TRANSIENT = frozenset({"InternalError", "InternalFailure", "ServiceUnavailable", "RequestTimeout"})


def aws_session(context: ChannelContext) -> AwsSession:
    """The worker's AWS session, or one with the default AWS settings (made once, kept in the context)."""
    from vigil.aws.session import AwsSession
    from vigil.settings import AwsSettings

    session = context.extra.get(SESSION_KEY)
    if isinstance(session, AwsSession):
        return session
    session = AwsSession(AwsSettings())
    context.extra[SESSION_KEY] = session
    return session


def failure(exc: BaseException, what: str) -> Outcome:
    """An AWS call that failed, as an Outcome: the error code first, then AWS's message."""
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "ClientError")
        if err.get("QueryErrorCode") and err["QueryErrorCode"] != code:
            code += f" ({err['QueryErrorCode']})"  # SQS: the name its older query API (and boto3) gives
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = code in THROTTLING or code in TRANSIENT or status >= 500
        kind = "retryable" if retryable else "failed"
        return Outcome(False, f"{code}: {what} {kind}: {err.get('Message') or exc}")
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionError
        | botocore.exceptions.ConnectTimeoutError
        | botocore.exceptions.ReadTimeoutError,
    ):
        return Outcome(False, f"{type(exc).__name__}: {what} retryable: {exc}")
    return Outcome(False, f"{type(exc).__name__}: {what} failed: {exc}")


def sns_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A delivery's SNS-form attributes (``{"Name": {"DataType", "StringValue"|"BinaryValue"}}``) in
    boto3's shape: the same keys, with a binary value as bytes rather than base64."""
    out: dict[str, dict[str, Any]] = {}
    for name, attr in attributes.items():
        if not isinstance(attr, Mapping) or "DataType" not in attr:
            raise ValueError(f"message attribute {name!r} has no DataType")
        value: dict[str, Any] = {"DataType": str(attr["DataType"])}
        if "BinaryValue" in attr:
            raw = attr["BinaryValue"]
            try:
                value["BinaryValue"] = raw if isinstance(raw, bytes) else base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError, TypeError) as exc:
                raise ValueError(f"message attribute {name!r}: BinaryValue is not base64") from exc
        elif "StringValue" in attr:
            value["StringValue"] = str(attr["StringValue"])
        else:
            raise ValueError(f"message attribute {name!r} has no StringValue or BinaryValue")
        out[name] = value
    return out


def sns_subject(subject: str) -> str:
    """A subject SNS accepts: printable ASCII on one line, at most 100 characters."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", subject).strip()
    text = text.encode("ascii", "replace").decode("ascii")
    return text[:SUBJECT_MAX]


class SnsChannel:
    """``aws-sns``: publish to a topic ARN (in the ARN's region) or to an E.164 phone number."""

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        try:
            target = resolve_endpoint(delivery.endpoint).strip()
            attributes = sns_attributes(delivery.attributes or {})
        except (LookupError, ValueError) as exc:
            return Outcome(False, str(exc))
        params: dict[str, Any] = {"Message": delivery.message}
        if attributes:
            params["MessageAttributes"] = attributes
        arn = ARN.fullmatch(target)
        if arn and arn["service"] == "sns":
            region: str | None = arn["region"]
            params["TopicArn"] = target
            if delivery.subject and sns_subject(delivery.subject):
                params["Subject"] = sns_subject(delivery.subject)
            if target.endswith(".fifo"):
                params["MessageGroupId"] = delivery.topic[:128]
                params["MessageDeduplicationId"] = delivery.message_id[:128]
            what = f"publish to {target}"
        elif E164.fullmatch(target):
            region = None  # SMS goes through the home region
            params["PhoneNumber"] = target
            what = "SMS publish"  # the number itself stays out of errors
        else:
            return Outcome(
                False, "aws-sns: the endpoint is neither an SNS topic ARN nor an E.164 phone number"
            )
        try:
            aws_session(context).client("sns", region).publish(**params)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, VigilError) as exc:
            return failure(exc, what)
        return Outcome(True)


class SqsChannel:
    """``sqs``: send SNS's signed envelope (or, raw, the message) to a queue URL or ARN."""

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        try:
            target = resolve_endpoint(delivery.endpoint).strip()
        except LookupError as exc:
            return Outcome(False, str(exc))
        raw = subscription.settings.raw_message_delivery
        params: dict[str, Any] = {}
        if raw:
            params["MessageBody"] = delivery.message
            try:
                attributes = sns_attributes(delivery.attributes or {})
            except ValueError as exc:
                return Outcome(False, str(exc))
            if len(attributes) > SQS_RAW_ATTRIBUTES_MAX:
                log.warning(
                    "sqs raw delivery of %s: %d message attributes, SQS takes %d; the rest are left out",
                    delivery.message_id,
                    len(attributes),
                    SQS_RAW_ATTRIBUTES_MAX,
                )
                attributes = dict(list(attributes.items())[:SQS_RAW_ATTRIBUTES_MAX])
            if attributes:
                params["MessageAttributes"] = attributes
        else:
            try:
                params["MessageBody"] = _signed_envelope(delivery, context)
            except ValueError as exc:
                return Outcome(False, str(exc))
        arn = ARN.fullmatch(target)
        if arn and arn["service"] == "sqs":
            region, what = arn["region"], f"send to {target}"
        elif target.startswith(("https://", "http://")):
            region, what = _queue_region(target), f"send to {_safe(target)}"
            params["QueueUrl"] = target
        else:
            return Outcome(False, "sqs: the endpoint is neither an SQS queue URL nor a queue ARN")
        try:
            client = aws_session(context).client("sqs", region)
            if arn:
                answer = client.get_queue_url(QueueName=arn["name"], QueueOwnerAWSAccountId=arn["account"])
                params["QueueUrl"] = answer["QueueUrl"]
            if str(params["QueueUrl"]).endswith(".fifo"):
                params["MessageGroupId"] = delivery.topic[:128]
                params["MessageDeduplicationId"] = delivery.message_id[:128]
            client.send_message(**params)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, VigilError) as exc:
            return failure(exc, what)
        return Outcome(True)


def _signed_envelope(delivery: Delivery, context: ChannelContext) -> str:
    from vigil.notify import envelope

    return envelope.http_body(context.signed_notification(delivery), raw=False).decode("utf-8")


def _queue_region(url: str) -> str | None:
    """The region an AWS queue URL names; None (the home region) for an emulator's URL."""
    from urllib.parse import urlsplit

    match = QUEUE_HOST_REGION.fullmatch((urlsplit(url).hostname or "").lower())
    return (match["a"] or match["b"]) if match else None


def _safe(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
