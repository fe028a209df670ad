"""Logging, monitoring and messaging: CloudTrail trails, CloudWatch Logs log groups with a CIS metric
filter, a CloudWatch alarm, an SNS topic with its subscriptions, SQS queues and the AWS Config
recorder.

Per region copy: the topic ``security-alerts-<i>`` (an e-mail subscription and one to the queue
``alerts-inbox-<i>``, encrypted with the copy's customer key, whose dead-letter queue
``alerts-dlq-<i>`` has no server-side encryption: a mistake); the log group ``/vigil/cloudtrail/<i>``
(90 days' retention, the CIS root-usage metric filter, an alarm on its metric that notifies the
topic) and ``/vigil/app/<i>`` without retention (kept forever: a finding). Once: the multi-region
trail delivers to the first region's trail log group, and the first region has the Config recorder
``default`` (all resources, started, delivering to the logs bucket); the other regions have none
(a finding).
"""

from __future__ import annotations

import json
from typing import Any

from vigil.demo.estate.model import ClientFactory, Estate, Net, RegionEstate, tag_list

ROOT_USAGE_PATTERN = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)
CIS_NAMESPACE = "CISBenchmark"
RETENTION_DAYS = 90
TRAIL_LOGS_ROLE = "vigil-cloudtrail-logs"


def seed_monitoring(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """One copy's queues, topic, log groups, metric filter and alarm (about a dozen calls)."""
    region, i = net.region, net.i
    queues = _seed_queues(client("sqs", region), account_id, net, out)
    sns = client("sns", region)
    topic = sns.create_topic(
        Name=f"security-alerts-{i}",
        Attributes={"DisplayName": "Security alerts", "KmsMasterKeyId": "alias/aws/sns"},
        Tags=tag_list(owner="security-team", env=net.env),
    )["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security-team@example.com")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=_queue_arn(account_id, region, f"alerts-inbox-{i}"),
        Attributes={"RawMessageDelivery": "true"},
    )

    logs = client("logs", region)
    trail_group, app_group = f"/vigil/cloudtrail/{i}", f"/vigil/app/{i}"
    logs.create_log_group(logGroupName=trail_group)
    logs.put_retention_policy(logGroupName=trail_group, retentionInDays=RETENTION_DAYS)
    # Tagged through TagResource: moto keeps CreateLogGroup's tags where ListTagsForResource cannot see them.
    logs.tag_resource(
        resourceArn=f"arn:aws:logs:{region}:{account_id}:log-group:{trail_group}",
        tags={"owner": "security-team", "data-classification": "internal"},
    )
    logs.put_metric_filter(
        logGroupName=trail_group,
        filterName="root-account-usage",
        filterPattern=ROOT_USAGE_PATTERN,
        metricTransformations=[
            {"metricName": "RootAccountUsage", "metricNamespace": CIS_NAMESPACE, "metricValue": "1"}
        ],
    )
    logs.create_log_group(logGroupName=app_group)
    alarm = f"root-account-usage-{i}"
    client("cloudwatch", region).put_metric_alarm(
        AlarmName=alarm,
        AlarmDescription="CIS: any use of the root user",
        MetricName="RootAccountUsage",
        Namespace=CIS_NAMESPACE,
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        Tags=tag_list(owner="security-team"),
    )
    if i == 0:
        out.topics = {"alerts": topic}
        out.queues = queues
        out.log_groups = {"trail": trail_group, "app": app_group}
        out.alarms = {"root_usage": alarm}


def _queue_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def _seed_queues(sqs: Any, account_id: str, net: Net, out: RegionEstate) -> dict[str, str]:
    region, i = net.region, net.i
    create = sqs.create_queue
    dlq = create(
        QueueName=f"alerts-dlq-{i}",
        Attributes={"SqsManagedSseEnabled": "false", "MessageRetentionPeriod": "1209600"},
        tags={"owner": "security-team", "env": net.env},
    )["QueueUrl"]
    inbox_arn = _queue_arn(account_id, region, f"alerts-inbox-{i}")
    allow_topic = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowSecurityAlerts",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": inbox_arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{region}:{account_id}:security-alerts-{i}"}
                },
            }
        ],
    }
    inbox = create(
        QueueName=f"alerts-inbox-{i}",
        Attributes={
            "KmsMasterKeyId": out.keys["rotated"],
            "KmsDataKeyReusePeriodSeconds": "300",
            "VisibilityTimeout": "60",
            "Policy": json.dumps(allow_topic),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": _queue_arn(account_id, region, f"alerts-dlq-{i}"),
                    "maxReceiveCount": 5,
                }
            ),
        },
        tags={"owner": "security-team", "env": net.env},
    )["QueueUrl"]
    return {"inbox": inbox, "dlq": dlq}


def seed_trails(client: ClientFactory, estate: Estate) -> None:
    regions = list(estate.regions.values())
    home = regions[0]
    log_group_arn = f"arn:aws:logs:{home.region}:{estate.account_id}:log-group:{home.log_groups['trail']}:*"
    main = client("cloudtrail", home.region).create_trail(
        Name="org-audit-trail",
        S3BucketName=home.buckets["logs"],
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        IncludeGlobalServiceEvents=True,
        CloudWatchLogsLogGroupArn=log_group_arn,
        CloudWatchLogsRoleArn=_trail_logs_role(client("iam", home.region), estate, log_group_arn),
        TagsList=[{"Key": "owner", "Value": "security-team"}],
    )
    client("cloudtrail", home.region).start_logging(Name=main["TrailARN"])
    home.trails["main"] = main["Name"]
    last = regions[-1]
    local = client("cloudtrail", last.region).create_trail(
        Name="team-local-trail",
        S3BucketName=last.buckets["logs"],
        IsMultiRegionTrail=False,
        EnableLogFileValidation=False,
    )
    client("cloudtrail", last.region).start_logging(Name=local["TrailARN"])
    last.trails["local"] = local["Name"]


def _trail_logs_role(iam: Any, estate: Estate, log_group_arn: str) -> str:
    """The role CloudTrail assumes to write to the log group (trust + an inline policy: two calls)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    write = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_group_arn,
            }
        ],
    }
    role = iam.create_role(RoleName=TRAIL_LOGS_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName=TRAIL_LOGS_ROLE, PolicyName="deliver-to-log-group", PolicyDocument=json.dumps(write)
    )
    estate.roles["cloudtrail_logs"] = role["RoleName"]
    return str(role["Arn"])


def seed_config(client: ClientFactory, estate: Estate) -> None:
    """The Config recorder of the first region only: all resources, started, delivering to the logs
    bucket and notifying the alerts topic."""
    home = estate.first
    config = client("config", home.region)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": (
                f"arn:aws:iam::{estate.account_id}:role/aws-service-role/config.amazonaws.com/"
                "AWSServiceRoleForConfig"
            ),
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(
        DeliveryChannel={
            "name": "default",
            "s3BucketName": home.buckets["logs"],
            "s3KeyPrefix": "config",
            "snsTopicARN": home.topics["alerts"],
            "configSnapshotDeliveryProperties": {"deliveryFrequency": "TwentyFour_Hours"},
        }
    )
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    home.recorder = "default"
