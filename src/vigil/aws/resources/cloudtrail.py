"""CloudTrail trails, recorded in their home region: settings, logging status and event selectors.

``describe_trails(includeShadowTrails=False)`` lists the trails whose home is the region, so a
multi-region trail is recorded once, as AWS Config does. Delivery timestamps change every few
minutes without any change of configuration; they are volatile (refreshed in place). A trail that
delivers to a CloudWatch Logs log group of this account is related to it (the CIS monitoring controls
follow trail → log group → metric filter → alarm → topic).
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.aws.resources.logs import LOG_GROUP, arn_account, log_group_name
from vigil.model import ConfigurationItem, Relationship

TRAIL = "AWS::CloudTrail::Trail"

VOLATILE = tuple(
    f"supplementaryConfiguration.TrailStatus.{field}"
    for field in (
        "latestDeliveryTime",
        "latestDeliveryAttemptTime",
        "latestDeliveryAttemptSucceeded",
        "latestNotificationTime",
        "latestNotificationAttemptTime",
        "latestNotificationAttemptSucceeded",
        "latestDigestDeliveryTime",
        "latestCloudWatchLogsDeliveryTime",
        "timeLoggingStarted",
        "timeLoggingStopped",
    )
)


def collect_trails(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    trails = [
        t
        for t in fx.items("cloudtrail", region, "describe_trails", "trailList", includeShadowTrails=False)
        if t.get("HomeRegion", region) == region and wanted(ids, t["Name"], t.get("TrailARN"))
    ]
    client = fx.client("cloudtrail", region)

    def one(trail: dict[str, Any]) -> ConfigurationItem:
        arn = trail["TrailARN"]
        status = {k: v for k, v in client.get_trail_status(Name=arn).items() if k != "ResponseMetadata"}
        selectors = client.get_event_selectors(TrailName=arn)
        tag_lists = client.list_tags(ResourceIdList=[arn]).get("ResourceTagList", [])
        supplementary: dict[str, Any] = {"TrailStatus": to_config(status)}
        if selectors.get("AdvancedEventSelectors"):
            supplementary["AdvancedEventSelectors"] = to_config(selectors["AdvancedEventSelectors"])
        else:
            supplementary["EventSelectors"] = to_config(selectors.get("EventSelectors", []))
        return make_ci(
            fx,
            TRAIL,
            region,
            trail["Name"],
            name=trail["Name"],
            arn=arn,
            configuration=to_config(trail),
            tags=tag_map(tag_lists[0].get("TagsList") if tag_lists else []),
            relationships=_log_group(fx, trail),
            supplementary=supplementary,
        )

    return fx.each(trails, one, lambda t: str(t["Name"]))


def _log_group(fx: Fetch, trail: dict[str, Any]) -> list[Relationship]:
    """The log group the trail delivers to, when it is one of this account's."""
    arn = trail.get("CloudWatchLogsLogGroupArn")
    name = log_group_name(arn)
    if not arn or not name or arn_account(arn) != fx.account_id:
        return []
    return [rel(LOG_GROUP, name, "Is associated with LogGroup", name)]
