"""CloudWatch Logs log groups: retention, KMS key, tags, and the metric filters on each group.

The metric filters are what the CIS monitoring controls look at (a filter pattern on the trail's log
group, a metric, an alarm on it): one ``DescribeMetricFilters`` call per region, memoised and grouped
by log group, instead of one call per group. The trail that delivers to a group is read from the
trails' own description (memoised and shared with the trail collector), so the edge costs no call.

``resourceId`` is the log group's name (CloudFormation's primary identifier, as AWS Config uses it);
``arn`` is the ARN ``DescribeLogGroups`` calls ``arn`` (with the trailing ``:*``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, to_config, wanted
from vigil.aws.resources.kms import key_relationships
from vigil.model import ConfigurationItem, Relationship

LOG_GROUP = "AWS::Logs::LogGroup"
TRAIL = "AWS::CloudTrail::Trail"

# Bytes stored grow with every event delivered; they are usage, not configuration.
VOLATILE = ("configuration.storedBytes",)


def log_group_name(arn: str | None) -> str | None:
    """``arn:aws:logs:r:a:log-group:NAME[:*]`` → ``NAME`` (None for anything else)."""
    if not arn or ":log-group:" not in arn:
        return None
    name = arn.split(":log-group:", 1)[1]
    return name[:-2] if name.endswith(":*") else name


def arn_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def metric_filters(fx: Fetch, region: str) -> dict[str, list[dict[str, Any]]]:
    """Every metric filter of the region, by log group name (one paginated call per scan)."""

    def group() -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in fx.items("logs", region, "describe_metric_filters", "metricFilters"):
            out[f["logGroupName"]].append(f)
        return dict(out)

    return fx.memo(("logs", region, "metric-filters-by-group"), group)


def trails_by_log_group(fx: Fetch, region: str) -> dict[str, list[str]]:
    """Trail names by the log group they deliver to (the trails homed in ``region``)."""
    out: dict[str, list[str]] = defaultdict(list)
    for trail in fx.items("cloudtrail", region, "describe_trails", "trailList", includeShadowTrails=False):
        name = log_group_name(trail.get("CloudWatchLogsLogGroupArn"))
        if name and trail.get("HomeRegion", region) == region:
            out[name].append(trail["Name"])
    return dict(out)


def _plain_arn(group: dict[str, Any]) -> str:
    """The log group ARN without ``:*`` (what TagResource and ListTagsForResource take)."""
    return str(group.get("logGroupArn") or group["arn"].removesuffix(":*"))


def collect_log_groups(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    groups = [
        g
        for g in fx.items("logs", region, "describe_log_groups", "logGroups")
        if wanted(ids, g["logGroupName"], g.get("arn"), _plain_arn(g))
    ]
    logs = fx.client("logs", region)
    filters = metric_filters(fx, region) if groups else {}
    feeding = trails_by_log_group(fx, region) if groups else {}

    def one(group: dict[str, Any]) -> ConfigurationItem:
        name = group["logGroupName"]
        tags = logs.list_tags_for_resource(resourceArn=_plain_arn(group)).get("tags")
        relationships: list[Relationship] = [
            rel(TRAIL, t, "Is associated with Trail", t) for t in feeding.get(name, [])
        ]
        relationships += key_relationships(fx, region, group.get("kmsKeyId"))
        created = group.get("creationTime")
        return make_ci(
            fx,
            LOG_GROUP,
            region,
            name,
            name=name,
            arn=group.get("arn") or _plain_arn(group),
            configuration=to_config(group),
            tags=dict(tags or {}),
            relationships=relationships,
            supplementary={
                "MetricFilters": [
                    to_config({k: v for k, v in f.items() if k != "logGroupName"})
                    for f in filters.get(name, [])
                ]
            },
            created=datetime.fromtimestamp(created / 1000, UTC) if created else None,
        )

    return fx.each(groups, one, lambda g: str(g["logGroupName"]))
