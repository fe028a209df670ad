"""SQS queues: attributes (encryption, policy, redrive), tags, and the topics that feed them.

``configuration`` is the queue's attributes as AWS Config records them, typed (numbers, flags,
timestamps and JSON documents decoded) and camelCase; the approximate message counts are usage, not
configuration, and are left out. Per queue: ``GetQueueAttributes(All)`` and ``ListQueueTags``.

``resourceId`` is the queue URL (CloudFormation's primary identifier, which AWS Config uses);
``resourceName`` the queue name; ``arn`` the ``QueueArn`` attribute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vigil.aws.resources.base import VERBATIM_KEYS, Batch, Fetch, make_ci, rel, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.aws.resources.logs import arn_account
from vigil.model import ConfigurationItem, Relationship, iso_ms

QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"  # defined here, beside the queue, as both sides of the edge need it


# How SQS's string attributes are typed in the CI (the rest stay strings).
NUMBERS = frozenset(
    {
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "KmsDataKeyReusePeriodSeconds",
    }
)
FLAGS = frozenset({"FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled"})
DOCUMENTS = frozenset({"Policy", "RedrivePolicy", "RedriveAllowPolicy"})
TIMES = frozenset({"CreatedTimestamp", "LastModifiedTimestamp"})
USAGE = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    }
)


def typed_attributes(
    attributes: Mapping[str, str],
    *,
    numbers: frozenset[str] = frozenset(),
    flags: frozenset[str] = frozenset(),
    documents: frozenset[str] = frozenset(),
    times: frozenset[str] = frozenset(),
    drop: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A ``Get*Attributes`` map (all strings) → typed values; an empty document is left out."""
    out: dict[str, Any] = {}
    for key, raw in attributes.items():
        if key in drop:
            continue
        if key in documents:
            if raw:
                out[key] = json.loads(raw)
        elif key in numbers and raw.lstrip("-").isdigit():
            out[key] = int(raw)
        elif key in flags:
            out[key] = raw.lower() == "true"
        elif key in times and raw:
            out[key] = iso_ms(datetime.fromtimestamp(float(raw), UTC))
        else:
            out[key] = raw
    return out


def queue_urls(fx: Fetch, region: str) -> list[str]:
    """Every queue URL of the region (ListQueues pages only when MaxResults is given; else 1,000 at most)."""
    return fx.items("sqs", region, "list_queues", "QueueUrls", MaxResults=1000)


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def queue_arn(fx: Fetch, region: str, url: str) -> str:
    """A queue's ARN from its URL (``…/<account>/<name>``), without a call."""
    account, name = url.rstrip("/").rsplit("/", 2)[-2:]
    return f"arn:{fx.partition}:sqs:{region}:{account}:{name}"


def url_of(fx: Fetch, arn: str) -> str | None:
    """The URL of one of this account's queues from its ARN (through the memoised queue list)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs" or parts[4] != fx.account_id:
        return None
    region = parts[3]
    return next((u for u in queue_urls(fx, region) if queue_arn(fx, region, u) == arn), None)


def subscriptions(fx: Fetch, region: str) -> list[dict[str, Any]]:
    """Every SNS subscription of the region (one paginated call per scan, shared with the topics)."""
    return fx.items("sns", region, "list_subscriptions", "Subscriptions")


def collect_queues(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    urls = [u for u in queue_urls(fx, region) if wanted(ids, u, queue_name(u), queue_arn(fx, region, u))]
    sqs = fx.client("sqs", region)
    feeds = subscriptions(fx, region) if urls else []

    def one(url: str) -> ConfigurationItem:
        raw = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        attributes = typed_attributes(
            raw, numbers=NUMBERS, flags=FLAGS, documents=DOCUMENTS, times=TIMES, drop=USAGE
        )
        arn = str(raw.get("QueueArn") or queue_arn(fx, region, url))
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags")
        return make_ci(
            fx,
            QUEUE,
            region,
            url,
            name=queue_name(url),
            arn=arn,
            configuration=to_config(
                {"QueueUrl": url, "QueueName": queue_name(url), **attributes},
                verbatim=VERBATIM_KEYS | {"Policy"},
            ),
            tags=dict(tags or {}),
            relationships=_relationships(fx, region, arn, attributes, feeds),
            created=attributes.get("CreatedTimestamp"),
        )

    return fx.each(urls, one, lambda u: u)


def _relationships(
    fx: Fetch, region: str, arn: str, attributes: Mapping[str, Any], feeds: list[dict[str, Any]]
) -> list[Relationship]:
    out = [
        rel(TOPIC, s["TopicArn"], "Is associated with Topic", s["TopicArn"].rsplit(":", 1)[-1])
        for s in feeds
        if s.get("Protocol") == "sqs"
        and s.get("Endpoint") == arn
        and arn_account(s["TopicArn"]) == fx.account_id
    ]
    dead_letter = (attributes.get("RedrivePolicy") or {}).get("deadLetterTargetArn")
    dead_letter_url = url_of(fx, dead_letter) if dead_letter else None
    if dead_letter_url:
        out.append(rel(QUEUE, dead_letter_url, "Is associated with Queue", queue_name(dead_letter_url)))
    return out + key_relationships(fx, region, attributes.get("KmsMasterKeyId"))
