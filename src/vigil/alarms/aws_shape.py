"""Metric alarms in AWS's own shape: PutMetricAlarm's parameters ⇄ :class:`AlarmDefinition`.

``definition_from_aws`` also reads an item of DescribeAlarms' ``MetricAlarms`` (its extra fields,
such as ``AlarmArn`` or ``StateValue``, are ignored), so alarms can be imported from an account and
written in the config file with the field names users know from the AWS CLI and CloudFormation.
Metric-math alarms (``Metrics``, ``ThresholdMetricId``) and percentile alarms
(``ExtendedStatistic``) are rejected: Vigil does not evaluate them yet. ``Unit`` is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from vigil.alarms.alarm import STATISTICS, AlarmDefinition, MetricRef
from vigil.alarms.composite import CompositeAlarmDefinition
from vigil.errors import ConfigError, Problem

#: Fields Vigil cannot evaluate yet: field → why.
UNSUPPORTED: dict[str, str] = {
    "Metrics": "metric-math alarms (Metrics)",
    "ThresholdMetricId": "anomaly-detection alarms (ThresholdMetricId)",
    "ExtendedStatistic": "percentile alarms (ExtendedStatistic)",
}

REQUIRED = ("AlarmName", "MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods", "Threshold")
REQUIRED_COMPARISON = "ComparisonOperator"
_HINT = "see PutMetricAlarm's parameters in the CloudWatch API reference"
_DIM_HINT = 'write dimensions as [{"Name": "InstanceId", "Value": "i-0123"}]'


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_arn_list(v: Any) -> bool:
    return isinstance(v, list | tuple) and all(isinstance(a, str) for a in v)


#: Field → (type test, what it must be).
FIELD_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "AlarmName": (_is_str, "a string"),
    "AlarmDescription": (lambda v: v is None or isinstance(v, str), "a string"),
    "MetricName": (_is_str, "a string"),
    "Namespace": (_is_str, "a string"),
    "Statistic": (_is_str, "a string"),
    "Period": (_is_int, "an integer number of seconds"),
    "EvaluationPeriods": (_is_int, "an integer"),
    "DatapointsToAlarm": (lambda v: v is None or _is_int(v), "an integer"),
    "Threshold": (_is_number, "a finite number"),
    "ComparisonOperator": (_is_str, "a string"),
    "TreatMissingData": (_is_str, "a string"),
    "EvaluateLowSampleCountPercentile": (_is_str, "a string"),
    "ActionsEnabled": (_is_bool, "true or false"),
    "AlarmActions": (_is_arn_list, "a list of ARNs"),
    "OKActions": (_is_arn_list, "a list of ARNs"),
    "InsufficientDataActions": (_is_arn_list, "a list of ARNs"),
    "Dimensions": (lambda v: isinstance(v, list | tuple), "a list of {Name, Value}"),
}


def _shape_problems(d: Mapping[str, Any], where: str) -> list[Problem]:
    out: list[Problem] = []
    for key, what in UNSUPPORTED.items():
        if d.get(key) not in (None, [], ""):
            out.append(
                Problem(
                    f"{where}.{key}",
                    f"Vigil does not evaluate {what} yet",
                    "use a single metric with Statistic (SampleCount, Average, Sum, Minimum or Maximum)",
                )
            )
    if out:
        return out
    for key in (*REQUIRED, REQUIRED_COMPARISON):
        if key not in d or d[key] is None:
            out.append(Problem(f"{where}.{key}", f"{key} is required", "give it as in PutMetricAlarm"))
    for key, (test, what) in FIELD_TYPES.items():
        if key in d and d[key] is not None and not test(d[key]):
            out.append(Problem(f"{where}.{key}", f"{key} must be {what}, not {d[key]!r}", _HINT))
    statistic = d.get("Statistic")
    if isinstance(statistic, str) and statistic not in STATISTICS:
        out.append(
            Problem(
                f"{where}.Statistic",
                f"unknown Statistic {statistic!r}",
                f"use one of {', '.join(sorted(STATISTICS))} (percentiles are ExtendedStatistic, not evaluated yet)",
            )
        )
    dims = d.get("Dimensions")
    if isinstance(dims, list | tuple):
        for i, dim in enumerate(dims):
            if not (isinstance(dim, Mapping) and _is_str(dim.get("Name")) and _is_str(dim.get("Value"))):
                out.append(
                    Problem(
                        f"{where}.Dimensions[{i}]", f"dimension {dim!r} is not {{Name, Value}}", _DIM_HINT
                    )
                )
    return out


def definition_from_aws(d: Mapping[str, Any]) -> AlarmDefinition:
    """An :class:`AlarmDefinition` from PutMetricAlarm's parameters or a DescribeAlarms ``MetricAlarms`` item.

    Raises :class:`ConfigError` listing every problem, each naming the alarm and the AWS field.
    """
    if not isinstance(d, Mapping):
        raise ConfigError(
            [Problem("alarm", f"expected an object in PutMetricAlarm's shape, not {type(d).__name__}", _HINT)]
        )
    name = d.get("AlarmName")
    where = f"alarm {name!r}" if isinstance(name, str) else "alarm"
    problems = _shape_problems(d, where)
    if problems:
        raise ConfigError(problems, source=where)
    return AlarmDefinition(
        name=d["AlarmName"],
        metric=MetricRef(
            d["Namespace"],
            d["MetricName"],
            tuple((dim["Name"], dim["Value"]) for dim in d.get("Dimensions") or ()),
        ),
        statistic=d["Statistic"],
        period=d["Period"],
        evaluation_periods=d["EvaluationPeriods"],
        threshold=float(d["Threshold"]),
        comparison_operator=d["ComparisonOperator"],
        datapoints_to_alarm=d.get("DatapointsToAlarm"),
        treat_missing_data=d.get("TreatMissingData") or "missing",
        evaluate_low_sample_count_percentile=d.get("EvaluateLowSampleCountPercentile") or "",
        actions_enabled=d.get("ActionsEnabled", True),
        alarm_actions=tuple(d.get("AlarmActions") or ()),
        ok_actions=tuple(d.get("OKActions") or ()),
        insufficient_data_actions=tuple(d.get("InsufficientDataActions") or ()),
        description=d.get("AlarmDescription"),
    )


def definition_to_aws(definition: AlarmDefinition) -> dict[str, Any]:
    """PutMetricAlarm's parameters for a definition; optional fields only when set.

    A percentile statistic (``p99``) is written as ``ExtendedStatistic``.
    """
    out: dict[str, Any] = {"AlarmName": definition.name}
    if definition.description is not None:
        out["AlarmDescription"] = definition.description
    out |= {
        "ActionsEnabled": definition.actions_enabled,
        "OKActions": list(definition.ok_actions),
        "AlarmActions": list(definition.alarm_actions),
        "InsufficientDataActions": list(definition.insufficient_data_actions),
        "MetricName": definition.metric.name,
        "Namespace": definition.metric.namespace,
        ("Statistic" if definition.statistic in STATISTICS else "ExtendedStatistic"): definition.statistic,
        "Dimensions": [{"Name": k, "Value": v} for k, v in definition.metric.dimensions],
        "Period": definition.period,
        "EvaluationPeriods": definition.evaluation_periods,
    }
    if definition.datapoints_to_alarm is not None:
        out["DatapointsToAlarm"] = definition.datapoints_to_alarm
    out |= {
        "Threshold": float(definition.threshold),
        "ComparisonOperator": definition.comparison_operator,
        "TreatMissingData": definition.treat_missing_data,
    }
    if definition.evaluate_low_sample_count_percentile:
        out["EvaluateLowSampleCountPercentile"] = definition.evaluate_low_sample_count_percentile
    return out


__all__ = ["FIELD_TYPES", "UNSUPPORTED", "definition_from_aws", "definition_to_aws"]


def composite_from_aws(d: Mapping[str, Any]) -> CompositeAlarmDefinition:
    """A composite alarm from PutCompositeAlarm's parameters or a DescribeAlarms ``CompositeAlarms`` item."""
    name = d.get("AlarmName") if isinstance(d, Mapping) else None
    where = f"composite alarm {name!r}" if isinstance(name, str) else "composite alarm"
    problems: list[Problem] = []
    if not isinstance(d, Mapping):
        raise ConfigError([Problem(where, "expected an object in PutCompositeAlarm's shape", _HINT)])
    for key in ("AlarmName", "AlarmRule"):
        if not _is_str(d.get(key)):
            problems.append(Problem(f"{where}.{key}", f"{key} is required and must be text", _HINT))
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if key in d and not _is_arn_list(d[key]):
            problems.append(Problem(f"{where}.{key}", f"{key} must be a list of ARNs", _HINT))
    if "ActionsEnabled" in d and not _is_bool(d["ActionsEnabled"]):
        problems.append(Problem(f"{where}.ActionsEnabled", "ActionsEnabled must be true or false", _HINT))
    if problems:
        raise ConfigError(problems, source=where)
    return CompositeAlarmDefinition(
        name=d["AlarmName"],
        alarm_rule=d["AlarmRule"],
        actions_enabled=d.get("ActionsEnabled", True),
        alarm_actions=tuple(d.get("AlarmActions") or ()),
        ok_actions=tuple(d.get("OKActions") or ()),
        insufficient_data_actions=tuple(d.get("InsufficientDataActions") or ()),
        description=d.get("AlarmDescription"),
    )
