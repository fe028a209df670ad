"""CIS AWS Foundations v7.0 5.1–5.15: each monitoring control checked against the account's real setup.

A control holds when one chain is complete (the CIS audit procedure):

  multi-region trail, logging, recording all management events
  → the CloudWatch Logs log group it delivers to
  → a metric filter there whose pattern means the CIS pattern (``vigil.logs.equivalence.matches_cis``)
  → an alarm on that filter's metric (namespace and name)
  → an alarm action that is an SNS topic with at least one confirmed subscription.

Every trail is followed; the verdict is COMPLIANT when some chain is complete, otherwise
NON_COMPLIANT naming the first missing link of the chain that got farthest. When that link could
not be read (the type's collection failed, or the resource is outside the recorded account) the
answer is INSUFFICIENT_DATA. Rules are per ``AWS::::Account`` item, as the other trail rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.logs.equivalence import matches_cis
from vigil.logs.monitoring import entries, entry
from vigil.rules.checks.logging import _logging, _management_events
from vigil.rules.checks.storage import supplementary
from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

TRAIL = "AWS::CloudTrail::Trail"
LOG_GROUP = "AWS::Logs::LogGroup"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC = "AWS::SNS::Topic"
# CIS audit step: the trail captures all management events, read and write
ALL_MANAGEMENT_EVENTS = {"includeManagementEvents": True, "readWriteType": "All"}

Doc = Mapping[str, Any]


@dataclass(frozen=True)
class Broken:
    """Where a chain stopped: how far it got (``depth``), why, and whether that is unknown rather than absent."""

    depth: int
    reason: str
    insufficient: bool = False


def _config(doc: Doc) -> Mapping[str, Any]:
    return doc.get("configuration") or {}


def _arn_part(arn: str, index: int) -> str:
    parts = arn.split(":")
    return parts[index] if len(parts) > index else ""


def _log_group_name(arn: str) -> str:
    name = arn.split(":log-group:", 1)[1] if ":log-group:" in arn else ""
    return name.removesuffix(":*")


def _missing(env: Env, depth: int, resource_type: str, region: str | None, what: str) -> Broken:
    """A link not found: unknown when its type could not be read there, otherwise absent."""
    why = env.unreadable(resource_type, region)
    return Broken(depth, why, insufficient=True) if why else Broken(depth, what)


def _topic_ok(env: Env, alarm: Doc, depth: int) -> Broken | None:
    """None when an SNS action of the alarm has a confirmed subscriber; else why not."""
    name = alarm.get("resourceId")
    config = _config(alarm)
    if config.get("actionsEnabled") is False:
        return Broken(depth, f"alarm {name} has its actions disabled")
    topics = [a for a in config.get("alarmActions") or [] if _arn_part(str(a), 2) == "sns"]
    if not topics:
        return Broken(depth, f"alarm {name} notifies no SNS topic")
    account = env.ci.get("accountId")
    broken: list[Broken] = []
    for arn in topics:
        region = _arn_part(arn, 3)
        if _arn_part(arn, 4) != account:
            broken.append(Broken(depth + 1, f"topic {arn} of alarm {name} is another account's", True))
            continue
        found = [t for t in env.lookup(TOPIC, region) if arn in (t.get("resourceId"), t.get("arn"))]
        if not found:
            broken.append(
                _missing(env, depth + 1, TOPIC, region, f"topic {arn} of alarm {name} does not exist")
            )
            continue
        if _confirmed(found[0]):
            return None
        broken.append(Broken(depth + 1, f"topic {arn} of alarm {name} has no confirmed subscription"))
    return _worst(broken)


def _worst(broken: list[Broken]) -> Broken:
    """What to report when no chain is complete: an unknown link if any (it might have been the
    complete one), else the link missing from the chain that got farthest."""
    unknown = [b for b in broken if b.insufficient]
    return max(unknown or broken, key=lambda b: b.depth)


def _confirmed(topic: Doc) -> bool:
    subscriptions = supplementary(topic).get("Subscriptions")
    if subscriptions is not None:
        return any(str(s.get("subscriptionArn", "")).startswith("arn:") for s in subscriptions)
    return int(_config(topic).get("subscriptionsConfirmed") or 0) > 0


def _chains(env: Env, control: str) -> Iterator[Broken | None]:
    """One result per path tried: None for a complete chain, else where it broke."""
    label = f"CIS {entry(control).cis}"
    trails = env.lookup(TRAIL, None)
    unreadable = env.unreadable(TRAIL, None)
    if unreadable:
        yield Broken(0, unreadable, insufficient=True)
    if not trails:
        yield _missing(env, 0, TRAIL, None, "no CloudTrail trail")
        return
    for trail in trails:
        yield from _from_trail(env, control, label, trail)


def _from_trail(env: Env, control: str, label: str, trail: Doc) -> Iterator[Broken | None]:
    name = trail.get("resourceId")
    config = _config(trail)
    if not config.get("isMultiRegionTrail"):
        yield Broken(0, f"trail {name} is not multi-region")
        return
    if not _logging(trail):
        yield Broken(1, f"multi-region trail {name} is not logging")
        return
    why = _management_events(trail, ALL_MANAGEMENT_EVENTS)
    if why:
        yield Broken(1, f"multi-region trail {name}: {why}")
        return
    arn = str(config.get("cloudWatchLogsLogGroupArn") or "")
    if not arn:
        yield Broken(2, f"multi-region trail {name} does not deliver to CloudWatch Logs")
        return
    region, group_name = _arn_part(arn, 3), _log_group_name(arn)
    if _arn_part(arn, 4) != env.ci.get("accountId"):
        yield Broken(3, f"log group {group_name} of trail {name} is another account's", insufficient=True)
        return
    groups = [g for g in env.lookup(LOG_GROUP, region) if g.get("resourceId") == group_name]
    if not groups:
        yield _missing(env, 3, LOG_GROUP, region, f"log group {group_name} of trail {name} does not exist")
        return
    filters = [
        f
        for f in supplementary(groups[0]).get("MetricFilters") or []
        if matches_cis(str(f.get("filterPattern") or ""), control)
    ]
    if not filters:
        yield Broken(4, f"no metric filter on log group {group_name} has the {label} pattern")
        return
    alarms = env.lookup(ALARM, region)
    for metric_filter in filters:
        for t in metric_filter.get("metricTransformations") or []:
            metric = (t.get("metricNamespace"), t.get("metricName"))
            on_metric = [
                a for a in alarms if (_config(a).get("namespace"), _config(a).get("metricName")) == metric
            ]
            if not on_metric:
                yield _missing(
                    env,
                    5,
                    ALARM,
                    region,
                    f"no alarm on {metric[0]}/{metric[1]} (metric filter {metric_filter.get('filterName')})",
                )
                continue
            for alarm in on_metric:
                yield _topic_ok(env, alarm, 6)


def monitored(control: str) -> Callable[[Env], Outcome]:
    """The check for one monitoring control (a pack id, CIS v7.0 id or Security Hub id)."""
    entry(control)  # an unknown control fails here, when the table is built

    def check(env: Env) -> Outcome:
        results = list(_chains(env, control))
        if any(r is None for r in results):
            return Outcome(True)
        worst = _worst([r for r in results if r is not None])
        return Outcome(False, worst.reason, insufficient=worst.insufficient)

    return check


CHECKS = {e.id: monitored(e.id) for e in entries() if e.cis}
