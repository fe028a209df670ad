"""SNS topics: attributes (KMS key, access policy, delivery policy), subscriptions and tags.

Per topic: ``GetTopicAttributes`` and ``ListTagsForResource``. Subscriptions come from one
``ListSubscriptions`` per region (memoised, shared with the queues' side of the edge) grouped by
topic, not from a ``ListSubscriptionsByTopic`` per topic. A subscribed queue of this account is
related to the topic.

``resourceId`` is the topic ARN (CloudFormation's primary identifier, which AWS Config uses);
``resourceName`` the topic name.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vigil.aws.resources.base import VERBATIM_KEYS, Batch, Fetch, make_ci, rel, tag_map, to_config
from vigil.aws.resources.kms import key_relationships
from vigil.aws.resources.sqs import QUEUE, TOPIC, queue_name, subscriptions, typed_attributes, url_of
from vigil.model import ConfigurationItem, Relationship

__all__ = ["TOPIC", "collect_topics", "topic_arns"]

NUMBERS = frozenset(
    {
        "SubscriptionsPending",
        "SubscriptionsConfirmed",
        "SubscriptionsDeleted",
        "ApplicationSuccessFeedbackSampleRate",
        "HTTPSuccessFeedbackSampleRate",
        "LambdaSuccessFeedbackSampleRate",
        "SQSSuccessFeedbackSampleRate",
        "FirehoseSuccessFeedbackSampleRate",
    }
)
FLAGS = frozenset({"FifoTopic", "ContentBasedDeduplication"})
DOCUMENTS = frozenset({"Policy", "DeliveryPolicy", "EffectiveDeliveryPolicy"})


def topic_arns(fx: Fetch, region: str) -> list[str]:
    return [t["TopicArn"] for t in fx.items("sns", region, "list_topics", "Topics")]


def topic_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _wanted(ids: frozenset[str] | None, arn: str) -> bool:
    """Asked for by ARN or name, or through one of its subscriptions' ARNs (``<topic ARN>:<id>``),
    which is all an ``Unsubscribe`` record names."""
    return ids is None or arn in ids or topic_name(arn) in ids or any(i.startswith(f"{arn}:") for i in ids)


def collect_topics(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    arns = [a for a in topic_arns(fx, region) if _wanted(ids, a)]
    sns = fx.client("sns", region)
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sub in subscriptions(fx, region) if arns else []:
        by_topic[sub["TopicArn"]].append(sub)

    def one(arn: str) -> ConfigurationItem:
        raw = sns.get_topic_attributes(TopicArn=arn).get("Attributes", {})
        attributes = typed_attributes(raw, numbers=NUMBERS, flags=FLAGS, documents=DOCUMENTS)
        tags = sns.list_tags_for_resource(ResourceArn=arn).get("Tags")
        subs = by_topic.get(arn, [])
        return make_ci(
            fx,
            TOPIC,
            region,
            arn,
            name=topic_name(arn),
            arn=arn,
            configuration=to_config(attributes, verbatim=VERBATIM_KEYS | {"Policy"}),
            tags=tag_map(tags),
            relationships=_relationships(fx, region, attributes, subs),
            supplementary={
                "Subscriptions": [to_config({k: v for k, v in s.items() if k != "TopicArn"}) for s in subs]
            },
        )

    return fx.each(arns, one, lambda a: a)


def _relationships(
    fx: Fetch, region: str, attributes: dict[str, Any], subs: list[dict[str, Any]]
) -> list[Relationship]:
    out: list[Relationship] = []
    for sub in subs:
        url = url_of(fx, sub.get("Endpoint", "")) if sub.get("Protocol") == "sqs" else None
        if url:
            out.append(rel(QUEUE, url, "Is associated with Queue", queue_name(url)))
    return out + key_relationships(fx, region, attributes.get("KmsMasterKeyId"))
