"""The AWS Config configuration recorder of a region: what it records, whether it is recording, and
where it delivers (its delivery channel).

Three list calls per region and none per recorder (a region has at most one recorder and one
delivery channel). The recorder status call is memoised under the same key the account item uses,
so the two types share it. The status's times and last status move on their own: volatile.

``resourceId`` is the recorder's name (CloudFormation's primary identifier; AWS Config's own choice
is not documented that we could find). ``arn`` is the one AWS returns, or (older endpoints and the
emulator return none) ``configuration-recorder/<name>``.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, to_config, wanted
from vigil.aws.resources.s3 import BUCKET, buckets
from vigil.aws.resources.sns import TOPIC, topic_arns
from vigil.model import Relationship

RECORDER = "AWS::Config::ConfigurationRecorder"

VOLATILE = tuple(
    f"supplementaryConfiguration.ConfigurationRecorderStatus.{field}"
    for field in (
        "lastStartTime",
        "lastStopTime",
        "lastStatus",
        "lastStatusChangeTime",
        "lastErrorCode",
        "lastErrorMessage",
    )
)


def recorder_statuses(fx: Fetch, region: str) -> list[dict[str, Any]]:
    """``DescribeConfigurationRecorderStatus`` (memoised; the account item reads it too)."""
    return fx.items(
        "config", region, "describe_configuration_recorder_status", "ConfigurationRecordersStatus"
    )


def collect_recorders(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    recorders = fx.items("config", region, "describe_configuration_recorders", "ConfigurationRecorders")
    if not recorders:
        return batch
    channels = fx.items("config", region, "describe_delivery_channels", "DeliveryChannels")
    statuses = {s["name"]: s for s in recorder_statuses(fx, region)}
    for recorder in recorders:
        name = recorder["name"]
        # A delivery-channel event names the region's recorder by the account id (see RESOURCE_TYPES).
        if not wanted(ids, name, recorder.get("arn"), fx.account_id, *(c["name"] for c in channels)):
            continue
        status = statuses.get(name, {})
        supplementary: dict[str, Any] = {"ConfigurationRecorderStatus": to_config(status)}
        if channels:
            supplementary["DeliveryChannel"] = to_config(channels[0])
        batch.cis.append(
            make_ci(
                fx,
                RECORDER,
                region,
                name,
                name=name,
                arn=recorder.get("arn") or fx.arn("config", region, f"configuration-recorder/{name}"),
                configuration={**to_config(recorder), "recording": bool(status.get("recording"))},
                relationships=_delivery(fx, channels),
                supplementary=supplementary,
            )
        )
    return batch


def _delivery(fx: Fetch, channels: list[dict[str, Any]]) -> list[Relationship]:
    """The bucket and topic the recorder delivers to, when they are this account's."""
    out: list[Relationship] = []
    owned = {b["Name"] for b in buckets(fx)}
    for channel in channels:
        bucket = channel.get("s3BucketName")
        if bucket in owned:
            out.append(rel(BUCKET, bucket, "Is associated with Bucket", bucket))
        topic = str(channel.get("snsTopicARN") or "")
        parts = topic.split(":")
        if len(parts) == 6 and topic in topic_arns(fx, parts[3]):
            out.append(rel(TOPIC, topic, "Is associated with Topic", parts[5]))
    return out
