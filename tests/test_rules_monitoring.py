"""CIS v7.0 5.1–5.15 as rules: trail → log group → metric filter → alarm → subscribed topic.

The inventories are built in memory in the shapes the recorder writes (``aws/resources``: the trail's
``cloudWatchLogsLogGroupArn``, the log group's ``MetricFilters`` from DescribeMetricFilters, the
alarm's DescribeAlarms fields, the topic's ``Subscriptions``); each test breaks one link.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from vigil.demo.estate.monitoring import ROOT_USAGE_PATTERN
from vigil.logs.equivalence import matches_cis
from vigil.logs.monitoring import entries, monitoring_pack
from vigil.rules import load
from vigil.rules.evaluate import Inventory, evaluate, evaluate_all
from vigil.rules.selftest import EXAMPLE_NOW, minimal_ci
from vigil.rules.spec import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, Rule

ACCOUNT = "123456789012"
HOME = "us-east-1"
GROUP = "org-trail-logs"
GROUP_ARN = f"arn:aws:logs:{HOME}:{ACCOUNT}:log-group:{GROUP}:*"
TOPIC = f"arn:aws:sns:{HOME}:{ACCOUNT}:security-alerts"

RULES = {r.id: r for r in load.load().rules if r.pack == "monitoring"}
CIS_IDS = [e.id for e in entries() if e.cis]

CI = dict[str, Any]


def test_the_pack_has_one_rule_per_control_mapped_to_both_cis_versions() -> None:
    assert sorted(RULES) == sorted(CIS_IDS)
    for e in entries():
        if e.cis:
            minor = e.cis.split(".")[1]
            assert RULES[e.id].controls == (f"cis-aws-7.0:{e.cis}", f"cis-aws-5.0:4.{minor}")
            assert RULES[e.id].resource_types == ("AWS::::Account",)
            assert RULES[e.id].severity == e.severity


def estate(pattern_for: Callable[[str], str] | None = None) -> list[CI]:
    """An account whose multi-region trail feeds a log group carrying the whole pack, each filter's
    metric alarmed to a topic with a confirmed e-mail subscription; ``pattern_for(id)`` overrides."""
    pack = monitoring_pack(GROUP, actions=(TOPIC,))
    filters = [
        {
            "filterName": f.name,
            "filterPattern": pattern_for(f.name) if pattern_for else f.pattern_text,
            "metricTransformations": [
                {
                    "metricName": f.transformation.metric_name,
                    "metricNamespace": f.transformation.metric_namespace,
                    "metricValue": f.transformation.metric_value,
                }
            ],
            "creationTime": 1700000000000,
        }
        for f in pack.filters
    ]
    alarms = [
        minimal_ci(
            "AWS::CloudWatch::Alarm",
            resourceId=a.name,
            resourceName=a.name,
            awsRegion=HOME,
            configuration={
                "alarmName": a.name,
                "metricName": a.metric.name,
                "namespace": a.metric.namespace,
                "statistic": a.statistic,
                "period": a.period,
                "evaluationPeriods": a.evaluation_periods,
                "threshold": a.threshold,
                "comparisonOperator": a.comparison_operator,
                "actionsEnabled": True,
                "alarmActions": list(a.alarm_actions),
                "okActions": [],
                "insufficientDataActions": [],
            },
        )
        for a in pack.alarms
    ]
    return [
        minimal_ci("AWS::::Account", resourceId=ACCOUNT, awsRegion=HOME),
        minimal_ci("AWS::::Account", resourceId=ACCOUNT, awsRegion="eu-west-1"),
        minimal_ci(
            "AWS::CloudTrail::Trail",
            resourceId="org-trail",
            resourceName="org-trail",
            awsRegion=HOME,
            configuration={
                "name": "org-trail",
                "isMultiRegionTrail": True,
                "homeRegion": HOME,
                "cloudWatchLogsLogGroupArn": GROUP_ARN,
                "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/trail-to-logs",
            },
            supplementaryConfiguration={
                "TrailStatus": {"isLogging": True},
                "EventSelectors": [
                    {"readWriteType": "All", "includeManagementEvents": True, "dataResources": []}
                ],
            },
        ),
        minimal_ci(
            "AWS::Logs::LogGroup",
            resourceId=GROUP,
            resourceName=GROUP,
            awsRegion=HOME,
            configuration={"logGroupName": GROUP, "retentionInDays": 365},
            supplementaryConfiguration={"MetricFilters": filters},
        ),
        *alarms,
        minimal_ci(
            "AWS::SNS::Topic",
            resourceId=TOPIC,
            resourceName="security-alerts",
            awsRegion=HOME,
            configuration={"topicArn": TOPIC, "subscriptionsConfirmed": 1, "subscriptionsPending": 0},
            supplementaryConfiguration={
                "Subscriptions": [
                    {
                        "protocol": "email",
                        "endpoint": "security@example.com",
                        "subscriptionArn": f"{TOPIC}:0b7c6c1e",
                        "owner": ACCOUNT,
                    }
                ]
            },
        ),
    ]


def of(cis: list[CI], resource_type: str, resource_id: str | None = None) -> CI:
    return next(
        c for c in cis if c["resourceType"] == resource_type and resource_id in (None, c["resourceId"])
    )


def verdict(
    rule: Rule, cis: list[CI], region: str = HOME, unreadable: dict[tuple[str, str, str], str] | None = None
) -> tuple[str, str]:
    inventory = Inventory(cis)
    account = next(c for c in cis if c["resourceType"] == "AWS::::Account" and c["awsRegion"] == region)
    found = evaluate(
        rule,
        account,
        now=EXAMPLE_NOW,
        unreadable=unreadable,
        related=inventory.related,
        lookup=lambda t, r: inventory.lookup(t, r, account=ACCOUNT),
    )
    return found.compliance, found.annotation


def test_the_pack_vigil_creates_satisfies_every_control_in_every_region() -> None:
    cis = estate()
    results = evaluate_all(list(RULES.values()), Inventory(cis), now=EXAMPLE_NOW)
    assert len(results) == 2 * len(CIS_IDS)  # one per control per account item (region)
    assert {(e.compliance, e.annotation) for e in results} == {(COMPLIANT, "")}


def test_published_spelling_counts_and_a_dropped_clause_does_not() -> None:
    five_five = "cis-5.5-cloudtrail-changes"
    published = "{($.eventName=StopLogging)||($.eventName=StartLogging)||($.eventName=DeleteTrail)||($.eventName=UpdateTrail)||($.eventName=CreateTrail)}"
    cis = estate(lambda pid: published if pid == five_five else "{ $.eventName = Nothing }")
    assert verdict(RULES[five_five], cis)[0] == COMPLIANT
    assert verdict(RULES["cis-5.4-iam-policy-changes"], cis) == (
        NON_COMPLIANT,
        f"no metric filter on log group {GROUP} has the CIS 5.4 pattern",
    )
    dropped = published.replace("||($.eventName=StopLogging)", "").replace("($.eventName=StopLogging)||", "")
    assert verdict(RULES[five_five], estate(lambda pid: dropped))[0] == NON_COMPLIANT


def break_trail_region(cis: list[CI]) -> None:
    of(cis, "AWS::CloudTrail::Trail")["configuration"]["isMultiRegionTrail"] = False


def stop_logging(cis: list[CI]) -> None:
    of(cis, "AWS::CloudTrail::Trail")["supplementaryConfiguration"]["TrailStatus"]["isLogging"] = False


def exclude_kms(cis: list[CI]) -> None:
    selectors = of(cis, "AWS::CloudTrail::Trail")["supplementaryConfiguration"]["EventSelectors"]
    selectors[0]["excludeManagementEventSources"] = ["kms.amazonaws.com"]


def write_only(cis: list[CI]) -> None:
    of(cis, "AWS::CloudTrail::Trail")["supplementaryConfiguration"]["EventSelectors"][0]["readWriteType"] = (
        "WriteOnly"
    )


def no_logs(cis: list[CI]) -> None:
    del of(cis, "AWS::CloudTrail::Trail")["configuration"]["cloudWatchLogsLogGroupArn"]


def drop_group(cis: list[CI]) -> None:
    cis.remove(of(cis, "AWS::Logs::LogGroup"))


def drop_filters(cis: list[CI]) -> None:
    of(cis, "AWS::Logs::LogGroup")["supplementaryConfiguration"]["MetricFilters"] = []


def drop_alarm(cis: list[CI]) -> None:
    cis.remove(of(cis, "AWS::CloudWatch::Alarm", "cis-5.3-root-usage"))


def alarm_other_namespace(cis: list[CI]) -> None:
    of(cis, "AWS::CloudWatch::Alarm", "cis-5.3-root-usage")["configuration"]["namespace"] = "Custom"


def alarm_without_topic(cis: list[CI]) -> None:
    of(cis, "AWS::CloudWatch::Alarm", "cis-5.3-root-usage")["configuration"]["alarmActions"] = [
        "arn:aws:automate:us-east-1:ec2:stop"
    ]


def alarm_disabled(cis: list[CI]) -> None:
    of(cis, "AWS::CloudWatch::Alarm", "cis-5.3-root-usage")["configuration"]["actionsEnabled"] = False


def pending_only(cis: list[CI]) -> None:
    topic = of(cis, "AWS::SNS::Topic")
    topic["supplementaryConfiguration"]["Subscriptions"][0]["subscriptionArn"] = "PendingConfirmation"


def drop_topic(cis: list[CI]) -> None:
    cis.remove(of(cis, "AWS::SNS::Topic"))


@pytest.mark.parametrize(
    ("breakage", "annotation"),
    [
        (break_trail_region, "trail org-trail is not multi-region"),
        (stop_logging, "multi-region trail org-trail is not logging"),
        (
            exclude_kms,
            "multi-region trail org-trail: management event sources ['kms.amazonaws.com'] are excluded",
        ),
        (
            write_only,
            "multi-region trail org-trail: no event selector records management events (readWriteType All)",
        ),
        (no_logs, "multi-region trail org-trail does not deliver to CloudWatch Logs"),
        (drop_group, f"log group {GROUP} of trail org-trail does not exist"),
        (drop_filters, f"no metric filter on log group {GROUP} has the CIS 5.3 pattern"),
        (drop_alarm, "no alarm on CISBenchmark/RootAccountUsage (metric filter cis-5.3-root-usage)"),
        (
            alarm_other_namespace,
            "no alarm on CISBenchmark/RootAccountUsage (metric filter cis-5.3-root-usage)",
        ),
        (alarm_without_topic, "alarm cis-5.3-root-usage notifies no SNS topic"),
        (alarm_disabled, "alarm cis-5.3-root-usage has its actions disabled"),
        (pending_only, f"topic {TOPIC} of alarm cis-5.3-root-usage has no confirmed subscription"),
        (drop_topic, f"topic {TOPIC} of alarm cis-5.3-root-usage does not exist"),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_the_first_missing_link_is_named(breakage: Callable[[list[CI]], None], annotation: str) -> None:
    cis = estate()
    breakage(cis)
    assert verdict(RULES["cis-5.3-root-usage"], cis) == (NON_COMPLIANT, annotation)
    assert verdict(RULES["cis-5.3-root-usage"], cis, region="eu-west-1")[0] == NON_COMPLIANT


def test_no_trail_at_all() -> None:
    cis = [c for c in estate() if c["resourceType"] != "AWS::CloudTrail::Trail"]
    assert verdict(RULES["cis-5.1-unauthorized-api-calls"], cis) == (NON_COMPLIANT, "no CloudTrail trail")


def test_one_complete_chain_is_enough() -> None:
    cis = estate()
    broken = copy.deepcopy(of(cis, "AWS::CloudTrail::Trail"))
    broken.update(resourceId="old-trail", resourceName="old-trail")
    broken["configuration"]["isMultiRegionTrail"] = False
    cis.append(broken)
    assert verdict(RULES["cis-5.3-root-usage"], cis)[0] == COMPLIANT


def test_the_filter_must_be_on_the_trails_own_log_group() -> None:
    cis = estate()
    group = of(cis, "AWS::Logs::LogGroup")
    other = copy.deepcopy(group)
    other.update(resourceId="app-logs", resourceName="app-logs")
    cis.append(other)
    group["supplementaryConfiguration"]["MetricFilters"] = []
    assert verdict(RULES["cis-5.3-root-usage"], cis)[0] == NON_COMPLIANT


def test_pending_subscriptions_fall_back_to_the_topic_counts() -> None:
    cis = estate()
    topic = of(cis, "AWS::SNS::Topic")
    del topic["supplementaryConfiguration"]["Subscriptions"]
    assert verdict(RULES["cis-5.3-root-usage"], cis)[0] == COMPLIANT
    topic["configuration"]["subscriptionsConfirmed"] = 0
    assert verdict(RULES["cis-5.3-root-usage"], cis)[0] == NON_COMPLIANT


@pytest.mark.parametrize(
    ("breakage", "unreadable_type"),
    [
        (drop_group, "AWS::Logs::LogGroup"),
        (drop_alarm, "AWS::CloudWatch::Alarm"),
        (drop_topic, "AWS::SNS::Topic"),
        (lambda cis: None, "AWS::CloudTrail::Trail"),
    ],
)
def test_an_unreadable_link_is_insufficient_data(
    breakage: Callable[[list[CI]], None], unreadable_type: str
) -> None:
    cis = estate()
    breakage(cis)
    if unreadable_type == "AWS::CloudTrail::Trail":  # trails of one region unreadable, no complete chain
        drop_filters(cis)
    unreadable = {(ACCOUNT, HOME, unreadable_type): "AccessDenied: not authorized"}
    compliance, annotation = verdict(RULES["cis-5.3-root-usage"], cis, unreadable=unreadable)
    assert compliance == INSUFFICIENT_DATA and "AccessDenied" in annotation


def test_a_log_group_in_another_account_is_insufficient_data() -> None:
    cis = estate()
    trail = of(cis, "AWS::CloudTrail::Trail")
    trail["configuration"]["cloudWatchLogsLogGroupArn"] = GROUP_ARN.replace(ACCOUNT, "210987654321")
    assert verdict(RULES["cis-5.3-root-usage"], cis) == (
        INSUFFICIENT_DATA,
        f"log group {GROUP} of trail org-trail is another account's",
    )


def test_the_demo_estates_root_usage_filter_is_cis_5_3_and_nothing_else() -> None:
    assert [e.cis for e in entries() if e.cis and matches_cis(ROOT_USAGE_PATTERN, e.id)] == ["5.3"]
