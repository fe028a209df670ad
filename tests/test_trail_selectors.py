"""CloudTrail event selectors (aws-semantics.md §6.4) over real records from ../shared/data/cloudtrail.

Sources: DataDog/stratus-red-team detonation logs (Apache-2.0) and the AWS documentation examples,
as copied into ../shared/data; see its INDEX.md. Neither holds an S3 data event, so one is built
from the §6.1 record shape.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from conftest import SHARED_DATA
from vigil.trail import (
    AdvancedSelector,
    BasicSelector,
    DataResource,
    FieldSelector,
    SelectorError,
    parse_advanced_event_selectors,
    parse_event_selectors,
    parse_trail_selectors,
    record_category,
    selects,
)

CLOUDTRAIL = SHARED_DATA / "cloudtrail"
STRATUS = CLOUDTRAIL / "stratus-red-team" / "docs" / "detonation-logs"
DOCS = CLOUDTRAIL / "aws-docs-examples.jsonl"

pytestmark = pytest.mark.skipif(
    not STRATUS.is_dir() or not DOCS.is_file(),
    reason=f"the shared CloudTrail samples are not under {CLOUDTRAIL} (set VIGIL_SHARED_DATA)",
)

S3_PUT_OBJECT: dict[str, Any] = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/uploader/session",
        "accountId": "111122223333",
    },
    "eventTime": "2024-05-01T10:00:00Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "PutObject",
    "awsRegion": "us-east-1",
    "readOnly": False,
    "resources": [
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs-bucket/app/2024/05/01.json"},
        {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"},
    ],
    "eventType": "AwsApiCall",
    "managementEvent": False,
    "recipientAccountId": "111122223333",
    "eventCategory": "Data",
}


def _stratus(technique: str, event_name: str, error: bool = False) -> dict[str, Any]:
    path = STRATUS / f"{technique}.json"
    found = [
        r
        for r in json.loads(path.read_text())
        if r["eventName"] == event_name and ("errorCode" in r) == error
    ]
    assert found, f"{event_name} not in {path.name}"
    return found[0]


def _docs(event_name: str) -> dict[str, Any]:
    for line in DOCS.read_text().splitlines():
        event: dict[str, Any] = json.loads(line)["event"]
        if event["eventName"] == event_name:
            return event
    raise AssertionError(f"{event_name} not in {DOCS.name}")


@cache
def record(name: str) -> dict[str, Any]:
    """Named records the cases below refer to, loaded on first use."""
    s3_get = {**S3_PUT_OBJECT, "eventName": "GetObject", "readOnly": True}
    console_get = {**s3_get, "sessionCredentialFromConsole": "true"}
    other_bucket = {
        **S3_PUT_OBJECT,
        "resources": [
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs-bucket-2/x"},
            {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket-2"},
        ],
    }
    built = {
        "s3_put": S3_PUT_OBJECT,
        "s3_get": s3_get,
        "s3_console_get": console_get,
        "s3_other": other_bucket,
    }
    if name in built:
        return built[name]
    loaders = {
        "stop_logging": lambda: _stratus("aws.defense-evasion.cloudtrail-stop", "StopLogging"),
        "get_parameters": lambda: _stratus(
            "aws.credential-access.ssm-retrieve-securestring-parameters", "GetParameters"
        ),
        "denied_password": lambda: _stratus(
            "aws.credential-access.ec2-get-password-data", "GetPasswordData", error=True
        ),
        "put_selectors": lambda: _stratus(
            "aws.defense-evasion.cloudtrail-event-selectors", "PutEventSelectors"
        ),
        "kms_rotate": lambda: _docs("RotateKey"),  # no managementEvent / eventCategory fields
        "iam_create_user": lambda: _docs("CreateUser"),  # no readOnly either
        "list_monitors": lambda: _docs("ListMonitors"),
    }
    return loaders[name]()


ALL_NAMES = (
    "stop_logging",
    "get_parameters",
    "denied_password",
    "kms_rotate",
    "iam_create_user",
    "list_monitors",
    "s3_put",
    "s3_get",
    "s3_console_get",
    "s3_other",
)
MANAGEMENT = {
    "stop_logging",
    "get_parameters",
    "denied_password",
    "kms_rotate",
    "iam_create_user",
    "list_monitors",
}


def test_record_category() -> None:
    assert {n: record_category(record(n)) for n in ALL_NAMES} == {
        n: ("Management" if n in MANAGEMENT else "Data") for n in ALL_NAMES
    }
    assert record_category({"managementEvent": False}) == "Data"
    assert record_category({"eventCategory": "Insight", "managementEvent": False}) == "Insight"


def _mgmt(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Field": "eventCategory", "Equals": ["Management"]}, *extra]


def _s3(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        *extra,
    ]


# (case id, GetEventSelectors response, names of the records selected; the others are not)
CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("default: all management events", {}, MANAGEMENT),
    ("basic defaults", {"EventSelectors": [{}]}, MANAGEMENT),
    (
        "basic WriteOnly; unknown readOnly fails it",
        {"EventSelectors": [{"ReadWriteType": "WriteOnly"}]},
        {"stop_logging", "kms_rotate"},
    ),
    (
        "basic ReadOnly",
        {"EventSelectors": [{"ReadWriteType": "ReadOnly"}]},
        {"get_parameters", "denied_password", "list_monitors"},
    ),
    (
        "basic excludes KMS",
        {"EventSelectors": [{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}]},
        MANAGEMENT - {"kms_rotate"},
    ),
    (
        "basic whole-service S3 data, no management",
        {
            "EventSelectors": [
                {
                    "IncludeManagementEvents": False,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
                }
            ]
        },
        {"s3_put", "s3_get", "s3_console_get", "s3_other"},
    ),
    (
        "basic bucket prefix with slash, writes only",
        {
            "EventSelectors": [
                {
                    "ReadWriteType": "WriteOnly",
                    "IncludeManagementEvents": False,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs-bucket/"]}],
                }
            ]
        },
        {"s3_put"},
    ),
    (
        "basic bucket prefix without slash also takes logs-bucket-2",
        {
            "EventSelectors": [
                {"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs-bucket"]}]}
            ]
        },
        MANAGEMENT | {"s3_put", "s3_get", "s3_console_get", "s3_other"},
    ),
    (
        "basic Lambda resources do not take S3 objects",
        {
            "EventSelectors": [
                {"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}
            ]
        },
        MANAGEMENT,
    ),
    (
        "basic selectors OR",
        {
            "EventSelectors": [
                {"ReadWriteType": "ReadOnly"},
                {"ExcludeManagementEventSources": ["kms.amazonaws.com"]},
            ]
        },
        MANAGEMENT - {"kms_rotate"},
    ),
    ("advanced all management", {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt()}]}, MANAGEMENT),
    (
        "advanced management writes",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "readOnly", "Equals": ["false"]})}]},
        {"stop_logging", "kms_rotate"},
    ),
    (
        "advanced management without KMS",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": _mgmt({"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]})}
            ]
        },
        MANAGEMENT - {"kms_rotate"},
    ),
    (
        "advanced positive operators OR over values, all operators hold",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": _mgmt(
                        {
                            "Field": "eventSource",
                            "StartsWith": ["ssm.", "ec2.", "kms."],
                            "NotEndsWith": ["kms.amazonaws.com"],
                        }
                    )
                }
            ]
        },
        {"get_parameters", "denied_password"},
    ),
    (
        "advanced all S3 objects",
        {"AdvancedEventSelectors": [{"FieldSelectors": _s3()}]},
        {"s3_put", "s3_get", "s3_console_get", "s3_other"},
    ),
    (
        "advanced bucket prefix, the AWS-documented form",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": _s3(
                        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logs-bucket/"]}
                    )
                }
            ]
        },
        {"s3_put", "s3_get", "s3_console_get"},
    ),
    (
        "advanced NotStartsWith judged on the object resource, not the bucket",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": _s3(
                        {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::logs-bucket/"]}
                    )
                }
            ]
        },
        {"s3_other"},
    ),
    (
        "advanced eventName and console session",
        {
            "AdvancedEventSelectors": [
                {
                    "Name": "console reads",
                    "FieldSelectors": _s3(
                        {"Field": "eventName", "Equals": ["GetObject"]},
                        {"Field": "sessionCredentialFromConsole", "Equals": ["true"]},
                    ),
                }
            ]
        },
        {"s3_console_get"},
    ),
    (
        "advanced absent sessionCredentialFromConsole means false",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": _s3({"Field": "sessionCredentialFromConsole", "NotEquals": ["true"]})}
            ]
        },
        {"s3_put", "s3_get", "s3_other"},
    ),
    (
        "advanced userIdentity.arn",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": _s3(
                        {
                            "Field": "userIdentity.arn",
                            "EndsWith": ["assumed-role/uploader/session"],
                            "Equals": ["x", "arn:aws:sts::111122223333:assumed-role/uploader/session"],
                        }
                    )
                }
            ]
        },
        {"s3_put", "s3_get", "s3_console_get", "s3_other"},
    ),
    (
        "advanced selectors OR across categories",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": _mgmt({"Field": "readOnly", "Equals": ["true"]})},
                {"FieldSelectors": _s3({"Field": "readOnly", "Equals": ["false"]})},
            ]
        },
        {"get_parameters", "denied_password", "list_monitors", "s3_put", "s3_other"},
    ),
    (
        "stratus's PutEventSelectors (camelCase, empty values) logs nothing",
        {"EventSelectors": "put_selectors"},
        set(),
    ),
]


@pytest.mark.parametrize(("response", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_selects(response: dict[str, Any], expected: set[str]) -> None:
    if response.get("EventSelectors") == "put_selectors":
        response = {"EventSelectors": record("put_selectors")["requestParameters"]["eventSelectors"]}
    selectors = parse_trail_selectors(response)
    assert {n for n in ALL_NAMES if selects(selectors, record(n))} == expected


def test_errorcode_on_network_activity() -> None:
    selectors = parse_advanced_event_selectors(
        [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                    {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
                    {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
                ]
            }
        ]
    )
    event = {**record("denied_password"), "eventCategory": "NetworkActivity"}
    assert not selects(selectors, event)
    assert selects(selectors, {**event, "errorCode": "VpceAccessDenied"})
    assert not selects(selectors, record("denied_password"))


def test_insight_events_are_never_selected() -> None:
    insight = {**record("stop_logging"), "eventCategory": "Insight"}
    assert not selects((), insight)
    assert not selects(parse_event_selectors([{}]), insight)


def test_parsed_values() -> None:
    assert parse_event_selectors(
        [
            {
                "ReadWriteType": "ReadOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/"]}],
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ]
    ) == (
        BasicSelector(
            "ReadOnly",
            False,
            (DataResource("AWS::S3::Object", ("arn:aws:s3:::b/",)),),
            ("kms.amazonaws.com",),
        ),
    )
    assert parse_advanced_event_selectors(
        [
            {
                "Name": "n",
                "FieldSelectors": _s3({"Field": "resources.ARN", "StartsWith": ["a"], "NotEndsWith": ["b"]}),
            }
        ]
    ) == (
        AdvancedSelector(
            "Data",
            (
                FieldSelector("eventCategory", equals=("Data",)),
                FieldSelector("resources.type", equals=("AWS::S3::Object",)),
                FieldSelector("resources.ARN", starts_with=("a",), not_ends_with=("b",)),
            ),
            "n",
        ),
    )


def test_mixed_kinds_rejected_at_evaluation() -> None:
    mixed = (
        BasicSelector(),
        AdvancedSelector("Management", (FieldSelector("eventCategory", equals=("Management",)),)),
    )
    with pytest.raises(SelectorError, match="mixes basic and advanced"):
        selects(mixed, record("stop_logging"))


def _many_values(n: int) -> list[dict[str, Any]]:
    arns = [f"arn:aws:s3:::b{i}/" for i in range(n)]
    return [{"FieldSelectors": _s3({"Field": "resources.ARN", "StartsWith": arns})}]


# (case id, GetEventSelectors response, expected message fragment)
ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "both kinds",
        {"EventSelectors": [{}], "AdvancedEventSelectors": [{"FieldSelectors": _mgmt()}]},
        r"^trail: has both EventSelectors and AdvancedEventSelectors",
    ),
    (
        "unknown field for management",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "eventName", "Equals": ["X"]})}]},
        r"^AdvancedEventSelectors\[0\]\.FieldSelectors\[1\]\.Field: 'eventName' is not a field of Management events; use one of",
    ),
    (
        "unknown field for data",
        {"AdvancedEventSelectors": [{"FieldSelectors": _s3({"Field": "errorCode", "Equals": ["X"]})}]},
        r"FieldSelectors\[2\]\.Field: 'errorCode' is not a field of Data events",
    ),
    (
        "readOnly only Equals",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "readOnly", "NotEquals": ["true"]})}]},
        r"FieldSelectors\[1\]\.NotEquals: readOnly accepts only Equals; rewrite it as Equals",
    ),
    (
        "eventCategory only Equals",
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "StartsWith": ["Man"]}]}]},
        r"FieldSelectors\[0\]\.StartsWith: eventCategory accepts only Equals",
    ),
    (
        "resources.type only Equals",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "StartsWith": ["AWS::S3"]},
                    ]
                }
            ]
        },
        r"FieldSelectors\[1\]\.StartsWith: resources.type accepts only Equals",
    ),
    (
        "eventCategory required",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": [{"Field": "eventSource", "Equals": ["s3.amazonaws.com"]}]}
            ]
        },
        r"^AdvancedEventSelectors\[0\]\.FieldSelectors: eventCategory is required",
    ),
    (
        "resources.type required for data",
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]},
        r"resources.type is required for Data events; add a resources.type condition",
    ),
    (
        "eventSource required for network activity",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["NetworkActivity"]}]}
            ]
        },
        r"eventSource is required for NetworkActivity events",
    ),
    (
        "one category per selector",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management", "Data"]}]}
            ]
        },
        r"eventCategory must name exactly one category",
    ),
    (
        "unknown category",
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}]},
        r"FieldSelectors\[0\]\.Equals\[0\]: eventCategory cannot be 'Insight'",
    ),
    (
        "readOnly value",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "readOnly", "Equals": ["True"]})}]},
        r"readOnly cannot be 'True'; use one of false, true",
    ),
    (
        "advanced wildcard",
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": _s3({"Field": "resources.ARN", "Equals": ["arn:aws:s3:::b/*"]})}
            ]
        },
        r"FieldSelectors\[2\]\.Equals\[0\]: wildcard in 'arn:aws:s3:::b/\*'; .*use a prefix or suffix",
    ),
    (
        "basic wildcard",
        {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::*"]}]}]},
        r"^EventSelectors\[0\]\.DataResources\[0\]\.Values\[0\]: wildcard",
    ),
    (
        "500 values",
        {"AdvancedEventSelectors": _many_values(499)},
        r"501 values across all conditions; a trail takes at most 500",
    ),
    (
        "250 data resource values",
        {
            "EventSelectors": [
                {
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::b{i}/" for i in range(251)]}
                    ]
                }
            ]
        },
        r"251 data resource values; a trail takes at most 250",
    ),
    (
        "six basic selectors",
        {"EventSelectors": [{}] * 6},
        r"^EventSelectors: 6 selectors; a trail takes at most 5",
    ),
    (
        "ReadWriteType",
        {"EventSelectors": [{}, {"ReadWriteType": "Write"}]},
        r"^EventSelectors\[1\]\.ReadWriteType: unknown value 'Write'; use one of ReadOnly, WriteOnly, All",
    ),
    (
        "IncludeManagementEvents not a boolean",
        {"EventSelectors": [{"IncludeManagementEvents": "false"}]},
        r"IncludeManagementEvents: expected true/false",
    ),
    (
        "excluded source",
        {"EventSelectors": [{"ExcludeManagementEventSources": ["s3.amazonaws.com"]}]},
        r"ExcludeManagementEventSources\[0\]: 's3.amazonaws.com' cannot be excluded",
    ),
    (
        "data resource type",
        {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Bucket", "Values": []}]}]},
        r"DataResources\[0\]\.Type: unsupported type 'AWS::S3::Bucket'",
    ),
    (
        "data resource value of another service",
        {
            "EventSelectors": [
                {"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:s3:::b/"]}]}
            ]
        },
        r"Values\[0\]: 'arn:aws:s3:::b/' is not an lambda ARN prefix",
    ),
    (
        "unknown key",
        {"EventSelectors": [{"ReadWrite": "All"}]},
        r"^EventSelectors\[0\]: unknown key 'ReadWrite'; use only",
    ),
    (
        "unknown operator",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "eventSource", "Equal": ["x"]})}]},
        r"FieldSelectors\[1\]: unknown key 'Equal'",
    ),
    (
        "no operator",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "eventSource"})}]},
        r"FieldSelectors\[1\]: no operator on eventSource",
    ),
    (
        "empty operator list",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "eventSource", "Equals": []})}]},
        r"FieldSelectors\[1\]\.Equals: empty list",
    ),
    (
        "no field selectors",
        {"AdvancedEventSelectors": [{"Name": "x", "FieldSelectors": []}]},
        r"FieldSelectors: empty",
    ),
    (
        "missing Field",
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Equals": ["Data"]}]}]},
        r"FieldSelectors\[0\]\.Field: expected a field name",
    ),
    (
        "not a list",
        {"AdvancedEventSelectors": {"FieldSelectors": []}},
        r"^AdvancedEventSelectors: expected a list",
    ),
    ("not an object", {"EventSelectors": ["All"]}, r"^EventSelectors\[0\]: expected an object"),
    (
        "non-string value",
        {"AdvancedEventSelectors": [{"FieldSelectors": _mgmt({"Field": "eventSource", "Equals": [3]})}]},
        r"Equals\[0\]: expected a non-empty string",
    ),
    (
        "non-string Name",
        {"AdvancedEventSelectors": [{"Name": 1, "FieldSelectors": _mgmt()}]},
        r"\.Name: expected a string",
    ),
]


@pytest.mark.parametrize(("response", "message"), [(c[1], c[2]) for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors(response: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        parse_trail_selectors(response)
    assert issubclass(SelectorError, ValueError)
