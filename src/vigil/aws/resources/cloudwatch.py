"""CloudWatch metric alarms: definition, actions, state, tags, and the SNS topics they notify.

``DescribeAlarms`` gives every field of every metric alarm of the region in one paginated call;
per alarm only ``ListTagsForResource``. An alarm action that is one of this account's topics (checked
against the memoised topic list, shared with the topic collector) is related to it. The alarm's state
moves with the metric, not with its configuration: the state fields are volatile.

``resourceId`` is the alarm name (CloudFormation's primary identifier for the type; AWS Config's own
choice is not documented that we could find); ``arn`` the ``AlarmArn``.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.aws.resources.logs import arn_account
from vigil.aws.resources.sns import TOPIC, topic_arns
from vigil.model import ConfigurationItem, Relationship

ALARM = "AWS::CloudWatch::Alarm"

VOLATILE = tuple(
    f"configuration.{field}"
    for field in (
        "stateValue",
        "stateReason",
        "stateReasonData",
        "stateUpdatedTimestamp",
        "stateTransitionedTimestamp",
    )
)
ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")


def collect_alarms(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    alarms = [
        a
        for a in fx.items("cloudwatch", region, "describe_alarms", "MetricAlarms")
        if wanted(ids, a["AlarmName"], a.get("AlarmArn"))
    ]
    cloudwatch = fx.client("cloudwatch", region)

    def one(alarm: dict[str, Any]) -> ConfigurationItem:
        arn = alarm.get("AlarmArn") or fx.arn("cloudwatch", region, f"alarm:{alarm['AlarmName']}")
        tags = cloudwatch.list_tags_for_resource(ResourceARN=arn).get("Tags")
        return make_ci(
            fx,
            ALARM,
            region,
            alarm["AlarmName"],
            name=alarm["AlarmName"],
            arn=arn,
            configuration=to_config(alarm),
            tags=tag_map(tags),
            relationships=_topics(fx, alarm),
        )

    return fx.each(alarms, one, lambda a: str(a["AlarmName"]))


def _topics(fx: Fetch, alarm: dict[str, Any]) -> list[Relationship]:
    out: list[Relationship] = []
    for action in (a for key in ACTIONS for a in alarm.get(key) or ()):
        parts = action.split(":")
        ours = len(parts) == 6 and parts[2] == "sns" and arn_account(action) == fx.account_id
        if ours and action in topic_arns(fx, parts[3]):
            out.append(rel(TOPIC, action, "Is associated with Topic", parts[5]))
    return out
