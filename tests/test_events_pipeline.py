"""The event pipeline's pure core: trails route records, the eventName index, datapoint aggregation."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from vigil.logs.metric_filters import LogEvent as MfLogEvent
from vigil.logs.metric_filters import MetricFilter, MetricTransformation, datapoints
from vigil.logs.pattern import compile_pattern
from vigil.logs.pattern.parser import JsonPattern
from vigil.trail.pipeline import (
    Router,
    Trail,
    aggregate,
    event_name_keys,
    index_filters,
    principal_of,
    required_keys,
    required_values,
    trail_from_settings,
)


def rec(i: int, name: str = "DescribeInstances", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventID": f"00000000-0000-0000-0000-{i:012d}",
        "eventTime": f"2026-11-01T10:{i % 60:02d}:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333",
        "readOnly": name.startswith("Describe"),
        "managementEvent": True,
        "eventCategory": "Management",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/ana",
            "accountId": "111122223333",
        },
    }
    out.update(extra)
    return out


def mf(
    name: str, pattern: str, group: str = "g", value: str = "1", default: float | None = None, **dims: str
) -> MetricFilter:
    return MetricFilter(name, group, pattern, (MetricTransformation(name, "NS", value, default, dims),))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventName = "StopLogging" }', {"StopLogging"}),
        ("{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) }", {"CreateTrail", "UpdateTrail"}),
        (
            "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy)) }",
            {"PutBucketAcl", "PutBucketPolicy"},
        ),
        ('{ $.eventName = "Create*" }', None),
        ('{ $.eventName = "A" || $.errorCode = "AccessDenied" }', None),
        ('{ $.eventName != "A" }', None),
        ('{ $.eventName = "A" && $.eventName = "B" }', set()),
        ('{ $.userIdentity.type = "Root" }', None),
        ('{ $.detail.eventName = "A" }', None),
        ("{ $.eventName = %Stop.*% }", None),
    ],
)
def test_required_event_names(pattern: str, expected: set[str] | None) -> None:
    ast = compile_pattern(pattern).ast
    assert isinstance(ast, JsonPattern)
    found = required_values(ast.expr, "eventName")
    assert (None if found is None else set(found)) == expected


def test_term_patterns_are_never_indexed() -> None:
    assert event_name_keys(mf("t", "StopLogging")) is None


def test_index_sends_each_event_only_to_filters_that_can_match() -> None:
    pinned = mf("stop", '{ $.eventName = "StopLogging" }')
    anywhere = mf("denied", '{ $.errorCode = "AccessDenied*" }')
    root = mf("root", '{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }')
    index = index_filters([pinned, anywhere, root])["g"]
    assert [e.filter for e in index.candidates(rec(1, "StopLogging"))] == [pinned, anywhere]
    assert [e.filter for e in index.candidates(rec(1))] == [anywhere]
    assert [e.filter for e in index.candidates({})] == [anywhere]
    as_root = rec(1, "StopLogging", userIdentity={"type": "Root"})
    assert [e.filter for e in index.candidates(as_root)] == [pinned, root, anywhere]
    assert index.candidates({})[0].needs == {"errorCode"}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.errorCode = "AccessDenied*" }', {"errorCode"}),
        ('{ $.errorCode != "x" }', {"errorCode"}),
        ("{ $.userIdentity.type IS NULL }", {"userIdentity"}),
        ("{ $.userIdentity.type NOT EXISTS }", set()),
        ("{ $.a = 1 && ($.b = 2 || $.c = 3) }", {"a"}),
        ("{ ($.a = 1 && $.b = 2) || ($.a = 3 && $.c = 4) }", {"a"}),
        ("{ $.a = 1 || $.b NOT EXISTS }", set()),
        ("{ $[0] = 1 }", set()),
    ],
)
def test_required_top_level_fields(pattern: str, expected: set[str]) -> None:
    ast = compile_pattern(pattern).ast
    assert isinstance(ast, JsonPattern)
    assert set(required_keys(ast.expr)) == expected


def test_router_keeps_records_per_trail_and_region() -> None:
    writes = trail_from_settings(
        "writes",
        "writes",
        ["eu-west-1"],
        [],
        [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ]
            }
        ],
    )
    router = Router((Trail("all", "history"), writes))
    records = [
        rec(1),
        rec(2, "RunInstances"),
        rec(3, "RunInstances", awsRegion="us-east-1"),
        rec(4, "GetObject", eventCategory="Data", managementEvent=False),
    ]
    rows = router.rows(records)
    assert sorted((r.log_group, r.event_id[-1]) for r in rows) == [
        ("history", "1"),
        ("history", "2"),
        ("history", "3"),
        ("writes", "2"),
    ]
    row = next(r for r in rows if r.event_id.endswith("2") and r.log_group == "writes")
    assert (row.account_id, row.region, row.principal) == (
        "111122223333",
        "eu-west-1",
        "arn:aws:iam::111122223333:user/ana",
    )
    assert orjson.loads(row.message) == records[1]


def test_a_record_with_a_bad_time_is_rejected_alone() -> None:
    rows, rejected = Router((Trail("all", "g"),)).rows_checked(
        [rec(1), rec(2, eventTime="yesterday"), rec(3)]
    )
    assert [r.event_id[-1] for r in rows] == ["1", "3"]
    assert rejected[0][0] == 1 and "yesterday" in rejected[0][1]


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({"type": "Root", "arn": "arn:aws:iam::1:root"}, "arn:aws:iam::1:root"),
        (
            {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "AWSService:cloudtrail.amazonaws.com",
        ),
        (
            {"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
            "IAMUser:HIDDEN_DUE_TO_SECURITY_REASONS",
        ),
        (None, None),
    ],
)
def test_principal(identity: Any, expected: str | None) -> None:
    assert principal_of({"userIdentity": identity}) == expected


def test_aggregate_agrees_with_metric_filter_datapoints() -> None:
    """The pipeline's indexed, dict-based path gives the datapoints the reference implementation gives."""
    filters = [
        mf("stop", '{ $.eventName = "StopLogging" }'),
        mf("denied", '{ $.errorCode = "AccessDenied*" }', value="$.bytes"),
        mf("by-region", '{ $.eventName = "RunInstances" }', region="$.awsRegion"),
        mf("default", '{ $.eventName = "RunInstances" }', default=0.0),
        mf("terms", "RunInstances"),
    ]
    records = [
        rec(i, name) for i, name in enumerate(["StopLogging", "RunInstances", "DescribeInstances"] * 20)
    ]
    records += [rec(100 + i, "GetObject", errorCode="AccessDenied", bytes=i) for i in range(5)]
    records += [rec(200, "GetObject", errorCode="AccessDenied", bytes="many")]
    rows = Router((Trail("all", "g"),)).rows(records)
    got = {
        (k[1], k[2], k[3]): (a.count, a.total, a.minimum, a.maximum)
        for k, a in aggregate(rows, index_filters(filters)).items()
    }
    events = [MfLogEvent(r.event_time, r.message, "g") for r in rows]
    want = {
        (d.metric_name, d.dimensions, d.timestamp // 1000): (d.count, d.sum, d.minimum, d.maximum)
        for d in datapoints(filters, events)
    }
    assert got == want
    assert got[("stop", (), rows[0].event_time // 60_000 * 60)][0] == 1


def test_required_fragments_never_exclude_a_match() -> None:
    """Every spec vector that matches contains every fragment the index would look for."""
    from test_filter_patterns import INVALID, VECTORS
    from vigil.trail.pipeline import required_fragments

    checked = 0
    for _, pattern, event, expected in VECTORS:
        if expected == INVALID:
            continue
        compiled = compile_pattern(pattern)
        if compiled.match(event) is not None:
            assert all(piece in event for piece in required_fragments(compiled.ast)), pattern
            checked += 1
    assert checked > 25


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.userAgent = "*Terraform*" }', {"Terraform"}),
        ('{ $.a = "x*yz" && $.b = "Delete*" }', {"Delete"}),
        ('{ $.a = "Delete*" || $.a = "Deleted" }', set()),
        ('{ $.a != "Delete" }', set()),
        ('{ $.a = "say \\"hi\\"" }', set()),
        ("{ $.a = 12345 }", set()),
        ("ConsoleLogin -Success", {"ConsoleLogin"}),
        ("?ConsoleLogin ?Denied", set()),
        ('"Failed authentication"', {"Failed authentication"}),
        ("[head = *AccessDenied*, ...]", {"AccessDenied"}),
        ("[a = Root || a = Admin, ...]", set()),
        ("%Access.*%", set()),
    ],
)
def test_required_fragments(pattern: str, expected: set[str]) -> None:
    from vigil.trail.pipeline import required_fragments

    assert set(required_fragments(compile_pattern(pattern).ast)) == expected
