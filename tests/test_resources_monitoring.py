"""Monitoring types (log groups, alarms, topics, queues, the Config recorder): CloudTrail records map
to the right resources, and the collectors follow AWS's documented shapes where moto does not go
(AWS's queue URLs, a recorder's ARN and stopped state, metric-math alarms and foreign actions, KMS
keys and data protection on log groups).

The Config records are the AWS Config developer guide's own examples (../shared/data, see its
INDEX.md); the others are built in the shape CloudTrail logs these services' calls (the request's
parameters in lowerCamel case, ``responseElements`` as the API answers).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

import offline
from conftest import SHARED_DATA
from vigil.aws.events_map import Target, targets
from vigil.aws.resources import cloudwatch, config, logs, sns, sqs
from vigil.aws.resources.base import Fetch

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "eu-west-1"
DOC_EXAMPLES = SHARED_DATA / "cloudtrail" / "aws-docs-examples.jsonl"
needs_samples = pytest.mark.skipif(
    not DOC_EXAMPLES.is_file(), reason=f"the shared CloudTrail samples are not at {DOC_EXAMPLES}"
)

TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-alerts"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders-dlq"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"


def record(
    source: str, name: str, request: dict[str, Any] | None, response: dict[str, Any] | None = None
) -> dict[str, Any]:
    return offline.api_record(source, name, request, response, region=REGION)


def doc_example(event_name: str) -> dict[str, Any]:
    for line in DOC_EXAMPLES.read_text().splitlines():
        event = json.loads(line)["event"]
        if event["eventName"] == event_name:
            return dict(event)
    raise AssertionError(f"{event_name} is not among the documented examples")


# -- CloudTrail records → resources ----------------------------------------------------------------


def test_log_group_events_name_the_group() -> None:
    retention = record(
        "logs.amazonaws.com", "PutRetentionPolicy", {"logGroupName": "/app/web", "retentionInDays": 30}
    )
    assert targets(retention) == [Target("AWS::Logs::LogGroup", REGION, "/app/web")]
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/web"
    tagged = record("logs.amazonaws.com", "TagResource", {"resourceArn": group_arn, "tags": {"team": "web"}})
    assert targets(tagged) == [Target("AWS::Logs::LogGroup", REGION, group_arn)]
    metric_filter = record(
        "logs.amazonaws.com",
        "PutMetricFilter",
        {
            "logGroupName": "/vigil/cloudtrail/0",
            "filterName": "root-account-usage",
            "filterPattern": '{ $.userIdentity.type = "Root" }',
            "metricTransformations": [
                {"metricName": "RootAccountUsage", "metricNamespace": "CISBenchmark", "metricValue": "1"}
            ],
        },
    )
    assert targets(metric_filter) == [Target("AWS::Logs::LogGroup", REGION, "/vigil/cloudtrail/0")]


def test_a_trail_pointed_at_a_log_group_changes_the_trail_and_the_group() -> None:
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/vigil/cloudtrail/0:*"
    event = record(
        "cloudtrail.amazonaws.com",
        "UpdateTrail",
        {
            "name": "org-audit-trail",
            "cloudWatchLogsLogGroupArn": group_arn,
            "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/vigil-cloudtrail-logs",
        },
        {
            "name": "org-audit-trail",
            "trailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-audit-trail",
        },
    )
    found = targets(event)
    assert Target("AWS::Logs::LogGroup", REGION, group_arn) in found
    assert Target("AWS::CloudTrail::Trail", REGION, "org-audit-trail") in found


def test_alarm_events_name_the_alarms() -> None:
    put = record(
        "monitoring.amazonaws.com",
        "PutMetricAlarm",
        {
            "alarmName": "root-account-usage-0",
            "metricName": "RootAccountUsage",
            "namespace": "CISBenchmark",
            "statistic": "Sum",
            "period": 300,
            "evaluationPeriods": 1,
            "threshold": 1.0,
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "alarmActions": [TOPIC_ARN],
        },
    )
    assert targets(put) == [Target("AWS::CloudWatch::Alarm", REGION, "root-account-usage-0")]
    deleted = record("monitoring.amazonaws.com", "DeleteAlarms", {"alarmNames": ["a-1", "a-2"]})
    assert targets(deleted) == [
        Target("AWS::CloudWatch::Alarm", REGION, "a-1"),
        Target("AWS::CloudWatch::Alarm", REGION, "a-2"),
    ]
    state = record("monitoring.amazonaws.com", "SetAlarmState", {"alarmName": "a-1", "stateValue": "ALARM"})
    assert targets(state) == []  # the state is volatile: it is not a change of configuration


def test_topic_events_name_the_topic_even_when_only_a_subscription_is_named() -> None:
    created = record("sns.amazonaws.com", "CreateTopic", {"name": "ops-alerts"}, {"topicArn": TOPIC_ARN})
    assert targets(created) == [Target("AWS::SNS::Topic", REGION, TOPIC_ARN)]
    subscription = f"{TOPIC_ARN}:5f9ad2b0-2b8e-4a8e-9d1e-0c1f3f0d7a11"
    dropped = record("sns.amazonaws.com", "Unsubscribe", {"subscriptionArn": subscription})
    assert targets(dropped) == [Target("AWS::SNS::Topic", REGION, subscription)]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    subscribed = record(
        "sns.amazonaws.com",
        "Subscribe",
        {"topicArn": TOPIC_ARN, "protocol": "sqs", "endpoint": queue_arn},
        {"subscriptionArn": subscription},
    )
    assert set(targets(subscribed)) == {
        Target("AWS::SNS::Topic", REGION, TOPIC_ARN),
        Target("AWS::SQS::Queue", REGION, queue_arn),
    }
    by_mail = record(
        "sns.amazonaws.com",
        "Subscribe",
        {"topicArn": TOPIC_ARN, "protocol": "email", "endpoint": "ops@example.com"},
    )
    assert targets(by_mail) == [Target("AWS::SNS::Topic", REGION, TOPIC_ARN)]


def test_queue_events_name_the_queue_by_url() -> None:
    created = record("sqs.amazonaws.com", "CreateQueue", {"queueName": "orders"}, {"queueUrl": QUEUE_URL})
    assert targets(created) == [Target("AWS::SQS::Queue", REGION, QUEUE_URL)]
    changed = record(
        "sqs.amazonaws.com",
        "SetQueueAttributes",
        {"queueUrl": QUEUE_URL, "attributes": {"SqsManagedSseEnabled": "false"}},
    )
    assert targets(changed) == [Target("AWS::SQS::Queue", REGION, QUEUE_URL)]


@needs_samples
def test_recorder_events_from_the_config_developer_guide() -> None:
    """The account item may watch these events too (it carries the recorder's status); only the
    recorder's own targets are asserted here."""

    def recorders(event: dict[str, Any]) -> list[Target]:
        return [t for t in targets(event) if t.resource_type == "AWS::Config::ConfigurationRecorder"]

    for name in ("PutConfigurationRecorder", "StartConfigurationRecorder", "StopConfigurationRecorder"):
        event = doc_example(name)
        assert recorders(event) == [
            Target("AWS::Config::ConfigurationRecorder", event["awsRegion"], "default")
        ]
    channel = doc_example("DeleteDeliveryChannel")
    assert recorders(channel) == [
        Target("AWS::Config::ConfigurationRecorder", channel["awsRegion"], channel["recipientAccountId"])
    ]
    assert targets(doc_example("DescribeConfigurationRecorderStatus")) == []


# -- collectors on AWS's documented shapes -----------------------------------------------------------


@pytest.fixture
def fx(monkeypatch: pytest.MonkeyPatch) -> Fetch:
    return offline.offline_fetch(monkeypatch, REGION)


def stub(fx: Fetch, service: str, region: str | None = REGION) -> Stubber:
    return offline.stub(fx, service, region)


def subscriptions() -> dict[str, Any]:
    return {
        "Subscriptions": [
            {
                "SubscriptionArn": f"{TOPIC_ARN}:5f9ad2b0-2b8e-4a8e-9d1e-0c1f3f0d7a11",
                "Owner": ACCOUNT,
                "Protocol": "sqs",
                "Endpoint": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders",
                "TopicArn": TOPIC_ARN,
            },
            {
                "SubscriptionArn": "PendingConfirmation",
                "Owner": ACCOUNT,
                "Protocol": "email",
                "Endpoint": "ops@example.com",
                "TopicArn": TOPIC_ARN,
            },
        ]
    }


def test_queue_from_aws_urls_and_attributes(fx: Fetch) -> None:
    """moto gap: its queue URLs name the emulator's host, not ``https://sqs.<region>.amazonaws.com``."""
    sqs_stub = stub(fx, "sqs")
    sqs_stub.add_response("list_queues", {"QueueUrls": [QUEUE_URL, DLQ_URL]})
    sqs_stub.add_response(
        "get_queue_attributes",
        {
            "Attributes": {
                "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders",
                "ApproximateNumberOfMessages": "12",
                "ApproximateNumberOfMessagesNotVisible": "1",
                "ApproximateNumberOfMessagesDelayed": "0",
                "CreatedTimestamp": "1764237600",
                "LastModifiedTimestamp": "1764237600",
                "VisibilityTimeout": "30",
                "MaximumMessageSize": "262144",
                "MessageRetentionPeriod": "345600",
                "DelaySeconds": "0",
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq",
                        "maxReceiveCount": 5,
                    }
                ),
                "KmsMasterKeyId": KEY_ARN,
                "KmsDataKeyReusePeriodSeconds": "300",
                "SqsManagedSseEnabled": "false",
            }
        },
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["All"]},
    )
    sqs_stub.add_response("list_queue_tags", {"Tags": {"team": "orders"}}, {"QueueUrl": QUEUE_URL})
    stub(fx, "sns").add_response("list_subscriptions", subscriptions())

    (ci,) = sqs.collect_queues(fx, REGION, frozenset({"orders"})).cis
    assert (ci.resourceId, ci.resourceName, ci.arn) == (
        QUEUE_URL,
        "orders",
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders",
    )
    assert ci.configuration == {
        "queueUrl": QUEUE_URL,
        "queueName": "orders",
        "queueArn": ci.arn,
        "createdTimestamp": "2025-11-27T10:00:00.000Z",
        "lastModifiedTimestamp": "2025-11-27T10:00:00.000Z",
        "visibilityTimeout": 30,
        "maximumMessageSize": 262144,
        "messageRetentionPeriod": 345600,
        "delaySeconds": 0,
        "receiveMessageWaitTimeSeconds": 20,
        "redrivePolicy": {
            "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq",
            "maxReceiveCount": 5,
        },
        "kmsMasterKeyId": KEY_ARN,
        "kmsDataKeyReusePeriodSeconds": 300,
        "sqsManagedSseEnabled": False,
    }
    assert ci.resourceCreationTime == "2025-11-27T10:00:00.000Z" and ci.tags == {"team": "orders"}
    assert {(r.relationshipName, r.resourceId) for r in ci.relationships} == {
        ("Is associated with Queue", DLQ_URL),
        ("Is associated with Topic", TOPIC_ARN),
        ("Is associated with Key", KEY_ID),
    }
    sqs_stub.assert_no_pending_responses()


def test_topic_with_subscriptions_grouped_from_one_list_call(fx: Fetch) -> None:
    sns_stub = stub(fx, "sns")
    other = f"arn:aws:sns:{REGION}:{ACCOUNT}:quiet"
    sns_stub.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC_ARN}, {"TopicArn": other}]})
    sns_stub.add_response("list_subscriptions", subscriptions())
    for arn, attributes in (
        (
            TOPIC_ARN,
            {
                "TopicArn": TOPIC_ARN,
                "Owner": ACCOUNT,
                "KmsMasterKeyId": KEY_ARN,
                "SubscriptionsConfirmed": "1",
            },
        ),
        (other, {"TopicArn": other, "Owner": ACCOUNT, "Policy": "", "FifoTopic": "false"}),
    ):
        sns_stub.add_response("get_topic_attributes", {"Attributes": attributes}, {"TopicArn": arn})
        sns_stub.add_response("list_tags_for_resource", {"Tags": []}, {"ResourceArn": arn})
    stub(fx, "sqs").add_response("list_queues", {"QueueUrls": [QUEUE_URL]})

    alerts, quiet = sns.collect_topics(fx, REGION, None).cis
    assert alerts.configuration == {
        "topicArn": TOPIC_ARN,
        "owner": ACCOUNT,
        "kmsMasterKeyId": KEY_ARN,
        "subscriptionsConfirmed": 1,
    }
    assert [s["protocol"] for s in alerts.supplementaryConfiguration["Subscriptions"]] == ["sqs", "email"]
    assert {(r.relationshipName, r.resourceId) for r in alerts.relationships} == {
        ("Is associated with Queue", QUEUE_URL),
        ("Is associated with Key", KEY_ID),
    }
    assert quiet.configuration == {"topicArn": other, "owner": ACCOUNT, "fifoTopic": False}
    assert quiet.supplementaryConfiguration == {"Subscriptions": []} and quiet.relationships == ()
    sns_stub.assert_no_pending_responses()


def test_alarm_relates_only_to_this_accounts_existing_topics(fx: Fetch) -> None:
    """moto gap: no metric-math alarms (``Metrics`` without ``MetricName``) nor transition timestamps."""
    foreign = "arn:aws:sns:eu-west-1:444455556666:central-alerts"
    alarm = {
        "AlarmName": "error-rate",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:error-rate",
        "AlarmConfigurationUpdatedTimestamp": NOW,
        "ActionsEnabled": True,
        "OKActions": [TOPIC_ARN],
        "AlarmActions": [TOPIC_ARN, foreign, f"arn:aws:sns:{REGION}:{ACCOUNT}:deleted-topic"],
        "InsufficientDataActions": [],
        "StateValue": "ALARM",
        "StateReason": "Threshold Crossed",
        "StateUpdatedTimestamp": NOW,
        "StateTransitionedTimestamp": NOW,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "missing",
        "Metrics": [
            {"Id": "rate", "Expression": "errors / requests * 100", "ReturnData": True},
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError"},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
        ],
    }
    cw_stub = stub(fx, "cloudwatch")
    cw_stub.add_response("describe_alarms", {"MetricAlarms": [alarm], "CompositeAlarms": []})
    cw_stub.add_response(
        "list_tags_for_resource",
        {"Tags": [{"Key": "team", "Value": "api"}]},
        {"ResourceARN": alarm["AlarmArn"]},
    )
    stub(fx, "sns").add_response("list_topics", {"Topics": [{"TopicArn": TOPIC_ARN}]})

    (ci,) = cloudwatch.collect_alarms(fx, REGION, None).cis
    assert (ci.resourceId, ci.arn, ci.tags) == ("error-rate", alarm["AlarmArn"], {"team": "api"})
    assert [(r.relationshipName, r.resourceId) for r in ci.relationships] == [
        ("Is associated with Topic", TOPIC_ARN)
    ]
    assert ci.configuration["metrics"][1]["metricStat"]["metric"] == {
        "namespace": "AWS/ApiGateway",
        "metricName": "5XXError",
    }
    assert ci.configuration["stateTransitionedTimestamp"] == "2026-11-27T12:00:00.000Z"
    assert "configuration.stateTransitionedTimestamp" in cloudwatch.VOLATILE


def test_log_group_with_kms_key_and_filters_grouped_from_one_call(fx: Fetch) -> None:
    """moto gaps: ``metricFilterCount`` stays 0, no ``kmsKeyId``/``dataProtectionStatus``/``logGroupClass``."""
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/cloudtrail/org"
    logs_stub = stub(fx, "logs")
    logs_stub.add_response(
        "describe_log_groups",
        {
            "logGroups": [
                {
                    "logGroupName": "/aws/cloudtrail/org",
                    "creationTime": 1764237600000,
                    "retentionInDays": 365,
                    "metricFilterCount": 2,
                    "arn": f"{group_arn}:*",
                    "storedBytes": 123456,
                    "kmsKeyId": KEY_ARN,
                    "dataProtectionStatus": "ACTIVATED",
                    "logGroupClass": "STANDARD",
                    "logGroupArn": group_arn,
                }
            ]
        },
    )
    filters = [
        {
            "filterName": name,
            "filterPattern": pattern,
            "metricTransformations": [
                {"metricName": name, "metricNamespace": "CISBenchmark", "metricValue": "1"}
            ],
            "creationTime": 1764237600000,
            "logGroupName": "/aws/cloudtrail/org",
        }
        for name, pattern in (
            ("RootAccountUsage", '{ $.userIdentity.type = "Root" }'),
            (
                "ConsoleSigninFailures",
                '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
            ),
        )
    ]
    other = dict(filters[0], logGroupName="/aws/lambda/other")
    logs_stub.add_response("describe_metric_filters", {"metricFilters": [*filters, other]})
    logs_stub.add_response(
        "list_tags_for_resource", {"tags": {"team": "security"}}, {"resourceArn": group_arn}
    )
    stub(fx, "cloudtrail").add_response(
        "describe_trails",
        {
            "trailList": [
                {
                    "Name": "org",
                    "HomeRegion": REGION,
                    "TrailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org",
                    "CloudWatchLogsLogGroupArn": f"{group_arn}:*",
                }
            ]
        },
        {"includeShadowTrails": False},
    )

    (ci,) = logs.collect_log_groups(fx, REGION, None).cis
    assert (ci.resourceId, ci.arn, ci.tags) == ("/aws/cloudtrail/org", f"{group_arn}:*", {"team": "security"})
    assert ci.resourceCreationTime == "2025-11-27T10:00:00.000Z"
    assert [f["filterName"] for f in ci.supplementaryConfiguration["MetricFilters"]] == [
        "RootAccountUsage",
        "ConsoleSigninFailures",
    ]
    assert "logGroupName" not in ci.supplementaryConfiguration["MetricFilters"][0]
    assert {(r.relationshipName, r.resourceId) for r in ci.relationships} == {
        ("Is associated with Trail", "org"),
        ("Is associated with Key", KEY_ID),
    }
    assert ci.configuration["dataProtectionStatus"] == "ACTIVATED"


def test_stopped_recorder_with_the_arn_aws_returns(fx: Fetch) -> None:
    """moto gaps: DescribeConfigurationRecorders has no ``arn``/``recordingMode``; a foreign bucket."""
    arn = f"arn:aws:config:{REGION}:{ACCOUNT}:configuration-recorder/default/abcd1234efgh5678"
    config_stub = stub(fx, "config")
    config_stub.add_response(
        "describe_configuration_recorders",
        {
            "ConfigurationRecorders": [
                {
                    "arn": arn,
                    "name": "default",
                    "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config-role",
                    "recordingGroup": {
                        "allSupported": False,
                        "includeGlobalResourceTypes": False,
                        "resourceTypes": ["AWS::EC2::SecurityGroup"],
                        "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
                    },
                    "recordingMode": {"recordingFrequency": "DAILY"},
                }
            ]
        },
    )
    config_stub.add_response(
        "describe_delivery_channels",
        {"DeliveryChannels": [{"name": "central", "s3BucketName": "org-config-archive"}]},
    )
    config_stub.add_response(
        "describe_configuration_recorder_status",
        {
            "ConfigurationRecordersStatus": [
                {"name": "default", "recording": False, "lastStatus": "SUCCESS", "lastStopTime": NOW}
            ]
        },
    )
    stub(fx, "s3", None).add_response(
        "list_buckets", {"Buckets": [{"Name": "app-data"}], "Owner": {"ID": "x"}}
    )

    (ci,) = config.collect_recorders(fx, REGION, frozenset({ACCOUNT})).cis
    assert (ci.resourceId, ci.arn) == ("default", arn)
    assert ci.configuration["recording"] is False
    assert ci.configuration["recordingMode"] == {"recordingFrequency": "DAILY"}
    assert (
        ci.supplementaryConfiguration["ConfigurationRecorderStatus"]["lastStopTime"]
        == "2026-11-27T12:00:00.000Z"
    )
    assert ci.supplementaryConfiguration["DeliveryChannel"] == {
        "name": "central",
        "s3BucketName": "org-config-archive",
    }
    assert ci.relationships == ()  # the archive bucket is another account's


def test_no_recorder_no_item(fx: Fetch) -> None:
    config_stub = stub(fx, "config")
    config_stub.add_response("describe_configuration_recorders", {"ConfigurationRecorders": []})
    assert config.collect_recorders(fx, REGION, None).cis == []
    config_stub.assert_no_pending_responses()
