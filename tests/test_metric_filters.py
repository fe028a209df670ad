"""Metric filters → datapoints and TestMetricFilter, rule by rule (aws-semantics.md §1.1, §1.6, §1.7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.logs import metric_filters as mf
from vigil.logs.metric_filters import (
    Datapoint,
    LogEvent,
    MetricFilter,
    MetricFilterError,
    MetricTransformation,
    datapoints,
)

CLOUDTRAIL = Path("/work/shared/data/cloudtrail/aws-docs-examples.jsonl")
ROOT_USAGE = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
    '$.eventType != "AwsServiceEvent" }'
)
T0 = 1_700_000_040_000  # a minute boundary
APACHE = "[ip, id, user, timestamp, request, status_code, size]"
LINE_200 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
LINE_404 = '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 404 6'


def _filter(pattern: str, value: str = "1", **kwargs: object) -> MetricFilter:
    t = MetricTransformation(metric_name="M", metric_namespace="Vigil", metric_value=value, **kwargs)  # type: ignore[arg-type]
    return MetricFilter("f", "/app/logs", pattern, (t,))


def _point(total: float, count: int, lo: float, hi: float, ts: int = T0, dims=()) -> Datapoint:  # type: ignore[no-untyped-def]
    return Datapoint("Vigil", "M", tuple(dims), ts, None, total, count, lo, hi)


def test_two_matches_in_a_minute_sum_to_two() -> None:
    events = [LogEvent(T0 + 1_000, "ERROR a"), LogEvent(T0 + 59_999, "ERROR b"), LogEvent(T0 + 5, "ok")]
    assert datapoints([_filter("ERROR")], events) == [_point(2, 2, 1, 1)]


def test_each_minute_is_its_own_period() -> None:
    events = [LogEvent(T0, "ERROR"), LogEvent(T0 + 60_000, "ERROR")]
    assert datapoints([_filter("ERROR")], events) == [_point(1, 1, 1, 1), _point(1, 1, 1, 1, T0 + 60_000)]


def test_default_value_only_in_minutes_with_ingested_events() -> None:
    events = [
        LogEvent(T0, "ERROR"),  # minute 0: matched
        LogEvent(T0 + 60_000, "fine"),  # minute 1: ingested, nothing matched -> default
        # minute 2: nothing ingested -> nothing
        LogEvent(T0 + 180_000, "fine"),  # minute 3: default
    ]
    got = datapoints([_filter("ERROR", default_value=0)], events)
    assert got == [_point(1, 1, 1, 1), _point(0, 1, 0, 0, T0 + 60_000), _point(0, 1, 0, 0, T0 + 180_000)]


def test_no_events_no_datapoints() -> None:
    assert datapoints([_filter("ERROR", default_value=0)], []) == []


def test_json_value_kept_as_written_and_aggregated() -> None:
    f = _filter("{ $.latency = * }", "$.latency", unit="Milliseconds")
    events = [LogEvent(T0, '{"latency": 1e3}'), LogEvent(T0 + 1, '{"latency": 12.50}')]
    assert datapoints([f], events) == [
        Datapoint("Vigil", "M", (), T0, "Milliseconds", 1012.5, 2, 12.5, 1000.0)
    ]


@pytest.mark.parametrize(
    "message",
    [
        '{"kind": "x", "latency": "fast"}',
        '{"kind": "x", "latency": "5"}',
        '{"kind": "x", "latency": null}',
        '{"kind": "x", "latency": {"a": 1}}',
        '{"kind": "x", "latency": true}',
        '{"kind": "x"}',
    ],
)
def test_absent_or_non_numeric_json_value_gives_no_datapoint(message: str) -> None:
    f = _filter('{ $.kind = "x" }', "$.latency", default_value=0)
    assert datapoints([f], [LogEvent(T0, message)]) == []


def test_space_delimited_value_and_dimensions_from_fields() -> None:
    t = MetricTransformation(
        metric_name="M",
        metric_namespace="Vigil",
        metric_value="$size",
        dimensions={"Status": "$status_code", "Ip": "$ip"},
    )
    f = MetricFilter("bytes", "/apache", APACHE, (t,))
    events = [LogEvent(T0, LINE_200), LogEvent(T0 + 2, LINE_404), LogEvent(T0 + 3, LINE_200)]
    assert datapoints([f], events) == [
        _point(3068, 2, 1534, 1534, dims=(("Ip", "127.0.0.1"), ("Status", "200"))),
        _point(6, 1, 6, 6, dims=(("Ip", "127.0.0.1"), ("Status", "404"))),
    ]


def test_non_numeric_token_gives_no_datapoint() -> None:
    f = _filter(APACHE, "$size")
    assert datapoints([f], [LogEvent(T0, LINE_200.replace(" 1534", " -"))]) == []


def test_json_dimension_values() -> None:
    t = MetricTransformation("M", "Vigil", "1", dimensions={"Event": "$.eventName", "Ok": "$.ok"})
    f = MetricFilter("f", "/g", "{ $.eventName = * }", (t,))
    events = [LogEvent(T0, '{"eventName": "PutRule", "ok": true}'), LogEvent(T0, '{"eventName": "X"}')]
    assert datapoints([f], events) == [_point(1, 1, 1, 1, dims=(("Event", "PutRule"), ("Ok", "true")))]


def test_events_of_other_log_groups_are_not_seen() -> None:
    events = [LogEvent(T0, "ERROR", "/app/logs"), LogEvent(T0, "ERROR", "/other"), LogEvent(T0, "ERROR")]
    assert datapoints([_filter("ERROR")], events) == [_point(2, 2, 1, 1)]


def test_cis_root_usage_over_cloudtrail_examples() -> None:
    records = [json.loads(line)["event"] for line in CLOUDTRAIL.read_text().splitlines() if line.strip()]
    events = [LogEvent(T0 + i * 1_000, json.dumps(r)) for i, r in enumerate(records)]
    f = MetricFilter(
        "RootUsage",
        "CloudTrail/DefaultLogGroup",
        ROOT_USAGE,
        (MetricTransformation("RootAccountUsageCount", "CloudTrailMetrics", "1"),),
    )
    roots = [
        r
        for r in records
        if r.get("userIdentity", {}).get("type") == "Root"
        and "invokedBy" not in r["userIdentity"]
        and r.get("eventType") != "AwsServiceEvent"
    ]
    assert len(roots) == 6
    [point] = datapoints([f], events)
    assert (point.namespace, point.metric_name, point.sum, point.count) == (
        "CloudTrailMetrics",
        "RootAccountUsageCount",
        6.0,
        6,
    )
    service = dict(roots[0], userIdentity={"type": "Root", "invokedBy": "ec2.amazonaws.com"})
    assert mf.test_metric_filter(ROOT_USAGE, [json.dumps(service)]) == {"matches": []}


def test_test_metric_filter_apache_shape() -> None:
    assert mf.test_metric_filter(APACHE, [LINE_200, "short line", LINE_404]) == {
        "matches": [
            {
                "eventNumber": 1,
                "eventMessage": LINE_200,
                "extractedValues": {
                    "$ip": "127.0.0.1",
                    "$id": "-",
                    "$user": "frank",
                    "$timestamp": "10/Oct/2000:13:25:15 -0700",
                    "$request": "GET /apache_pb.gif HTTP/1.0",
                    "$status_code": "200",
                    "$size": "1534",
                },
            },
            {
                "eventNumber": 3,
                "eventMessage": LINE_404,
                "extractedValues": {
                    "$ip": "127.0.0.1",
                    "$id": "-",
                    "$user": "frank",
                    "$timestamp": "10/Oct/2000:13:35:22 -0700",
                    "$request": "GET /apache_pb.gif HTTP/1.0",
                    "$status_code": "404",
                    "$size": "6",
                },
            },
        ]
    }


@pytest.mark.parametrize("count", [0, 51])
def test_test_metric_filter_message_count(count: int) -> None:
    with pytest.raises(MetricFilterError, match="logEventMessages"):
        mf.test_metric_filter("ERROR", ["x"] * count)


def test_test_metric_filter_accepts_fifty() -> None:
    assert len(mf.test_metric_filter("", ["x"] * 50)["matches"]) == 50


T = MetricTransformation


@pytest.mark.parametrize(
    ("name", "pattern", "transformations", "field"),
    [
        ("", "ERROR", (T("M", "N", "1"),), "filterName"),
        ("x" * 513, "ERROR", (T("M", "N", "1"),), "filterName"),
        ("a:b", "ERROR", (T("M", "N", "1"),), "filterName"),
        ("f", "{ $.a = ", (T("M", "N", "1"),), "filterPattern"),
        ("f", "x" * 1025, (T("M", "N", "1"),), "filterPattern"),
        ("f", "ERROR", (), "metricTransformations"),
        ("f", "ERROR", (T("M", "N", "1"), T("M2", "N", "1")), "metricTransformations"),
        ("f", "ERROR", (T("", "N", "1"),), "metricName"),
        ("f", "ERROR", (T("m" * 256, "N", "1"),), "metricName"),
        ("f", "ERROR", (T("a$b", "N", "1"),), "metricName"),
        ("f", "ERROR", (T("M", "bad!ns", "1"),), "metricNamespace"),
        ("f", "ERROR", (T("M", "", "1"),), "metricNamespace"),
        ("f", "ERROR", (T("M", "AWS/Logs", "1"),), "metricNamespace"),
        ("f", "ERROR", (T("M", "N", "one"),), "metricValue"),
        ("f", "ERROR", (T("M", "N", "$.size"),), "metricValue"),
        ("f", "ERROR", (T("M", "N", "$size"),), "metricValue"),
        ("f", "{ $.a = 1 }", (T("M", "N", "$size"),), "metricValue"),
        ("f", "[a, b]", (T("M", "N", "$.a"),), "metricValue"),
        ("f", "[a, b]", (T("M", "N", "$c"),), "metricValue"),
        ("f", "ERROR", (T("M", "N", "1", unit="Widgets"),), "unit"),
        ("f", "ERROR", (T("M", "N", "1", unit="count"),), "unit"),
        ("f", "ERROR", (T("M", "N", "1", dimensions={"D": "$.a"}),), "dimensions"),
        ("f", "{ $.a = 1 }", (T("M", "N", "1", default_value=0, dimensions={"D": "$.a"}),), "defaultValue"),
        (
            "f",
            "{ $.a = 1 }",
            (T("M", "N", "1", dimensions={"A": "$.a", "B": "$.b", "C": "$.c", "D": "$.d"}),),
            "dimensions",
        ),
        ("f", "[a, b]", (T("M", "N", "1", dimensions={"D": "$.a"}),), "dimensions['D']"),
        ("f", "{ $.a = 1 }", (T("M", "N", "1", dimensions={"D": "a"}),), "dimensions['D']"),
    ],
)
def test_validation_names_the_field(
    name: str, pattern: str, transformations: tuple[MetricTransformation, ...], field: str
) -> None:
    with pytest.raises(MetricFilterError) as info:
        MetricFilter(name, "/g", pattern, transformations)
    assert field in info.value.field
    assert info.value.hint


def test_log_group_name_validated() -> None:
    with pytest.raises(MetricFilterError) as info:
        MetricFilter("f", "bad group", "ERROR", (T("M", "N", "1"),))
    assert info.value.field == "logGroupName"


@pytest.mark.parametrize(
    ("pattern", "transformation"),
    [
        ("", T("M", "A.B-c_d/1#2:metricNamespace", "1")),
        ("ERROR", T("M", "N", "-1.5e2", default_value=0, unit="Count")),
        ("{ $.a = * }", T("M", "N", "$.a[0].b", dimensions={"A": "$.a", "B": "$.b", "C": "$.c"})),
        ("[ip, ..., size]", T("M", "N", "$size", dimensions={"Ip": "$ip"}, unit="Bytes")),
    ],
)
def test_valid_filters(pattern: str, transformation: MetricTransformation) -> None:
    f = MetricFilter("f", "/aws/lambda/x_y#z", pattern, (transformation,))
    assert f.transformation is transformation


def test_every_standard_unit_is_accepted() -> None:
    for unit in mf.STANDARD_UNITS:
        MetricFilter("f", "/g", "ERROR", (T("M", "N", "1", unit=unit),))
    assert len(mf.STANDARD_UNITS) == 27
