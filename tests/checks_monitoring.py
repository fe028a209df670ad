"""Recording checks for log groups, alarms, SNS topics, SQS queues, the Config recorder; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from conftest import REGIONS
from recorded import Recorded, rels
from vigil.demo.estate.monitoring import ROOT_USAGE_PATTERN
from vigil.model import ConfigurationItem

ROOT_USAGE_FILTER = {
    "filterName": "root-account-usage",
    "filterPattern": ROOT_USAGE_PATTERN,
    "metricTransformations": [
        {"metricName": "RootAccountUsage", "metricNamespace": "CISBenchmark", "metricValue": "1"}
    ],
}


def one(r: Recorded, resource_type: str, region: str, ref: str) -> ConfigurationItem:
    """The one item of a type in a region known by ``ref`` (names repeat from region to region)."""
    found = [c for c in r.of(resource_type, region) if ref in (c.resourceId, c.resourceName)]
    assert len(found) == 1, f"{resource_type} {ref} in {region}: {len(found)} found"
    return found[0]


def check_log_group(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    name = first.log_groups["trail"]
    trail_group = one(r, "AWS::Logs::LogGroup", first.region, name)
    assert (trail_group.resourceId, trail_group.resourceName, trail_group.awsRegion) == (
        name,
        name,
        first.region,
    )
    assert trail_group.arn == f"arn:aws:logs:{first.region}:{account}:log-group:{name}:*"
    assert trail_group.configuration["retentionInDays"] == 90
    assert trail_group.configuration["logGroupName"] == name
    assert trail_group.tags == {"owner": "security-team", "data-classification": "internal"}
    assert trail_group.supplementaryConfiguration == {"MetricFilters": [ROOT_USAGE_FILTER]}
    assert rels(trail_group) == {("Is associated with Trail", "AWS::CloudTrail::Trail", "org-audit-trail")}
    assert trail_group.resourceCreationTime is not None
    app = one(r, "AWS::Logs::LogGroup", first.region, first.log_groups["app"])
    assert "retentionInDays" not in app.configuration  # never expires: the mistake
    assert app.supplementaryConfiguration == {"MetricFilters": []} and app.relationships == ()
    west = r.estate.regions[REGIONS[-1]]
    other = one(r, "AWS::Logs::LogGroup", west.region, west.log_groups["trail"])
    assert other.awsRegion == west.region and other.relationships == ()


def check_alarm(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    name = first.alarms["root_usage"]
    alarm = one(r, "AWS::CloudWatch::Alarm", first.region, name)
    assert (alarm.resourceId, alarm.resourceName, alarm.awsRegion) == (name, name, first.region)
    assert alarm.arn == f"arn:aws:cloudwatch:{first.region}:{account}:alarm:{name}"
    config = alarm.configuration
    definition = {
        k: config[k]
        for k in (
            "metricName",
            "namespace",
            "statistic",
            "period",
            "evaluationPeriods",
            "threshold",
            "comparisonOperator",
            "treatMissingData",
            "actionsEnabled",
            "alarmActions",
            "okActions",
        )
    }
    assert definition == {
        "metricName": "RootAccountUsage",
        "namespace": "CISBenchmark",
        "statistic": "Sum",
        "period": 300,
        "evaluationPeriods": 1,
        "threshold": 1.0,
        "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "treatMissingData": "notBreaching",
        "actionsEnabled": True,
        "alarmActions": [first.topics["alerts"]],
        "okActions": [],
    }
    assert config["stateValue"] in ("OK", "ALARM", "INSUFFICIENT_DATA")
    assert alarm.tags == {"owner": "security-team"}
    assert rels(alarm) == {("Is associated with Topic", "AWS::SNS::Topic", first.topics["alerts"])}
    assert len(r.of("AWS::CloudWatch::Alarm")) == len(REGIONS) * r.estate.n


def check_topic(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    arn = first.topics["alerts"]
    topic = one(r, "AWS::SNS::Topic", first.region, arn)
    assert arn == f"arn:aws:sns:{first.region}:{account}:security-alerts-0"
    assert (topic.resourceId, topic.resourceName, topic.arn) == (arn, "security-alerts-0", arn)
    config = topic.configuration
    assert (config["topicArn"], config["kmsMasterKeyId"], config["displayName"]) == (
        arn,
        "alias/aws/sns",
        "Security alerts",
    )
    assert config["policy"]["Statement"][0]["Resource"] == arn  # a parsed document, keys as AWS writes them
    assert topic.tags == {"owner": "security-team", "env": "prod"}
    subscriptions = sorted(
        (s["protocol"], s["endpoint"], s["subscriptionArn"].startswith(f"{arn}:"))
        for s in topic.supplementaryConfiguration["Subscriptions"]
    )
    inbox_arn = f"arn:aws:sqs:{first.region}:{account}:alerts-inbox-0"
    assert subscriptions == [("email", "security-team@example.com", True), ("sqs", inbox_arn, True)]
    assert rels(topic) == {("Is associated with Queue", "AWS::SQS::Queue", first.queues["inbox"])}


def check_queue(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    inbox = one(r, "AWS::SQS::Queue", first.region, first.queues["inbox"])
    assert (inbox.resourceId, inbox.resourceName) == (first.queues["inbox"], "alerts-inbox-0")
    assert inbox.arn == f"arn:aws:sqs:{first.region}:{account}:alerts-inbox-0"
    config = inbox.configuration
    assert (config["queueUrl"], config["queueName"], config["queueArn"]) == (
        inbox.resourceId,
        "alerts-inbox-0",
        inbox.arn,
    )
    assert (
        config["kmsMasterKeyId"],
        config["kmsDataKeyReusePeriodSeconds"],
        config["visibilityTimeout"],
    ) == (
        first.keys["rotated"],
        300,
        60,
    )
    assert config["redrivePolicy"] == {
        "deadLetterTargetArn": f"arn:aws:sqs:{first.region}:{account}:alerts-dlq-0",
        "maxReceiveCount": 5,
    }
    (statement,) = config["policy"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Resource"] == inbox.arn
    assert not any(k.startswith("approximateNumber") for k in config)
    assert inbox.tags == {"owner": "security-team", "env": "prod"}
    assert inbox.resourceCreationTime is not None
    assert rels(inbox) == {
        ("Is associated with Topic", "AWS::SNS::Topic", first.topics["alerts"]),
        ("Is associated with Queue", "AWS::SQS::Queue", first.queues["dlq"]),
        ("Is associated with Key", "AWS::KMS::Key", first.keys["rotated"]),
    }
    dlq = one(r, "AWS::SQS::Queue", first.region, first.queues["dlq"])
    assert dlq.configuration["sqsManagedSseEnabled"] is False and "kmsMasterKeyId" not in dlq.configuration
    assert dlq.configuration["messageRetentionPeriod"] == 1209600 and dlq.relationships == ()


def check_recorder(r: Recorded) -> None:
    first = r.estate.first
    (recorder,) = r.of("AWS::Config::ConfigurationRecorder")  # none in the other region: a finding
    assert (recorder.resourceId, recorder.resourceName, recorder.awsRegion) == (
        "default",
        "default",
        first.region,
    )
    assert recorder.arn and ":config:" in recorder.arn
    config = recorder.configuration
    assert config["recording"] is True and config["name"] == "default"
    group = config["recordingGroup"]
    assert (group["allSupported"], group["includeGlobalResourceTypes"]) == (True, True)
    assert config["roleARN"].endswith(":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    sup = recorder.supplementaryConfiguration
    assert (sup["ConfigurationRecorderStatus"]["name"], sup["ConfigurationRecorderStatus"]["recording"]) == (
        "default",
        True,
    )
    assert sup["DeliveryChannel"] == {
        "name": "default",
        "s3BucketName": first.buckets["logs"],
        "s3KeyPrefix": "config",
        "snsTopicARN": first.topics["alerts"],
        "configSnapshotDeliveryProperties": {"deliveryFrequency": "TwentyFour_Hours"},
    }
    assert rels(recorder) == {
        ("Is associated with Bucket", "AWS::S3::Bucket", first.buckets["logs"]),
        ("Is associated with Topic", "AWS::SNS::Topic", first.topics["alerts"]),
    }


CHECKS: dict[str, Callable[[Recorded], None]] = {
    "AWS::Logs::LogGroup": check_log_group,
    "AWS::CloudWatch::Alarm": check_alarm,
    "AWS::SNS::Topic": check_topic,
    "AWS::SQS::Queue": check_queue,
    "AWS::Config::ConfigurationRecorder": check_recorder,
}
