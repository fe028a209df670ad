"""The SNS message CloudWatch publishes when an alarm changes state (spec §3.5).

Pure: (definition, transition, account, region) → (subject, message JSON text). Field order,
timestamp format (``yyyy-MM-dd'T'HH:mm:ss.SSS+0000``), the upper-snake statistic, lower-case
dimension keys and the long region name are AWS's.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Final

import botocore.session
import orjson

from vigil.alarms.alarm import AlarmDefinition, Transition
from vigil.alarms.composite import CompositeAlarmDefinition

SUBJECT_LIMIT: Final = 100  # SNS subjects are at most 100 characters (§3.5: truncate long names)

_STATISTIC_WORD: Final = {
    "Average": "AVERAGE",
    "Sum": "SUM",
    "SampleCount": "SAMPLE_COUNT",
    "Minimum": "MINIMUM",
    "Maximum": "MAXIMUM",
}


@cache
def _region_names() -> dict[str, str]:
    endpoints = botocore.session.get_session().get_data("endpoints")
    return {
        code: info["description"]
        for partition in endpoints["partitions"]
        for code, info in partition.get("regions", {}).items()
    }


def region_long_name(region: str) -> str:
    """``us-east-1`` → ``US East (N. Virginia)``, from botocore's endpoint data; unknown codes as is."""
    return _region_names().get(region, region)


def cloudwatch_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def alarm_arn(name: str, account: str, region: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def _subject(name: str, new_state: str, region: str) -> str:
    """``ALARM: "name" in US East (N. Virginia)``, the name shortened to keep SNS's 100 characters."""
    place = region_long_name(region)
    text = f'{new_state}: "{name}" in {place}'
    if len(text) <= SUBJECT_LIMIT:
        return text
    room = max(SUBJECT_LIMIT - len(f'{new_state}: "..." in {place}'), 1)
    return f'{new_state}: "{name[:room]}..." in {place}'[:SUBJECT_LIMIT]


def trigger(definition: AlarmDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MetricName": definition.metric.name,
        "Namespace": definition.metric.namespace,
    }
    if definition.statistic in _STATISTIC_WORD:
        out["StatisticType"] = "Statistic"
        out["Statistic"] = _STATISTIC_WORD[definition.statistic]
    else:
        out["StatisticType"] = "ExtendedStatistic"
        out["ExtendedStatistic"] = definition.statistic
    out["Unit"] = None
    out["Dimensions"] = [{"value": v, "name": k} for k, v in definition.metric.dimensions]
    out["Period"] = definition.period
    out["EvaluationPeriods"] = definition.evaluation_periods
    if definition.datapoints_to_alarm is not None:
        out["DatapointsToAlarm"] = definition.datapoints_to_alarm
    out["ComparisonOperator"] = definition.comparison_operator
    out["Threshold"] = float(definition.threshold)
    out["TreatMissingData"] = definition.treat_missing_data
    out["EvaluateLowSampleCountPercentile"] = definition.evaluate_low_sample_count_percentile
    return out


def _common(
    definition: AlarmDefinition | CompositeAlarmDefinition,
    transition: Transition,
    account: str,
    region: str,
    configuration_updated: datetime,
) -> dict[str, Any]:
    """The fields every alarm message starts with, in AWS's order."""
    state = transition.state
    return {
        "AlarmName": definition.name,
        "AlarmDescription": definition.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": cloudwatch_time(configuration_updated),
        "NewStateValue": state.value,
        "NewStateReason": state.reason,
        "StateChangeTime": cloudwatch_time(state.timestamp),
        "Region": region_long_name(region),
        "AlarmArn": alarm_arn(definition.name, account, region),
        "OldStateValue": transition.previous.value,
        "OKActions": list(definition.ok_actions),
        "AlarmActions": list(definition.alarm_actions),
        "InsufficientDataActions": list(definition.insufficient_data_actions),
    }


def alarm_message(
    definition: AlarmDefinition,
    transition: Transition,
    *,
    account: str,
    region: str,
    configuration_updated: datetime,
) -> tuple[str, str]:
    """(Subject, Message) of the SNS notification for a state change."""
    body = _common(definition, transition, account, region, configuration_updated)
    body["Trigger"] = trigger(definition)
    return _subject(definition.name, transition.state.value, region), orjson.dumps(body).decode()


def composite_message(
    definition: CompositeAlarmDefinition,
    transition: Transition,
    *,
    account: str,
    region: str,
    configuration_updated: datetime,
) -> tuple[str, str]:
    """(Subject, Message) for a composite alarm's state change: the metric message's common fields,
    ``AlarmRule`` instead of ``Trigger``, and the children that decided it (``TriggeringChildren``)."""
    triggering = orjson.loads(transition.state.reason_data or "{}").get("triggeringAlarms", [])
    body = _common(definition, transition, account, region, configuration_updated)
    body["AlarmRule"] = definition.alarm_rule
    body["TriggeringChildren"] = [
        {"Arn": t["arn"], "State": {"Value": t["state"]["value"], "Timestamp": t["state"]["timestamp"]}}
        for t in triggering
    ]
    return _subject(definition.name, transition.state.value, region), orjson.dumps(body).decode()
