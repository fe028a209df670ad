"""Logging checks: trails, their buckets and event selectors, AWS Config recorders, alarm actions.

The account-level rules evaluate the ``AWS::::Account`` item of each region and look other resources
up (``env.lookup``): a trail decides a region's compliance wherever it lives when it is multi-region.
When the trails (or the account fact a rule reads) could not be read, the answer is
INSUFFICIENT_DATA, never a verdict on missing data.

Event selectors: a trail's CI carries ``supplementaryConfiguration.EventSelectors`` (or
``AdvancedEventSelectors``). An empty list is the default selector (all management events, read and
write): what ``GetEventSelectors`` means for a trail created without selectors (AWS answers with
that default selector spelled out, the emulator with an empty list).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from vigil.rules.checks.storage import (
    READ_ACTIONS,
    WRITE_ACTIONS,
    public_exposure,
    supplementary,
    unavailable,
)
from vigil.rules.conditions import Env, parse_moment
from vigil.rules.spec import Outcome

TRAIL = "AWS::CloudTrail::Trail"
BUCKET = "AWS::S3::Bucket"
RECORDER = "AWS::Config::ConfigurationRecorder"
DEFAULT_SELECTOR = {"readWriteType": "All", "includeManagementEvents": True, "dataResources": []}
ALL_S3_OBJECTS = ("arn:aws:s3", "arn:aws:s3:::", "arn:aws-cn:s3", "arn:aws-us-gov:s3")


def _logging(trail: Mapping[str, Any]) -> bool:
    status = supplementary(trail).get("TrailStatus") or {}
    return bool(status.get("isLogging"))


def _trails_for(env: Env) -> list[Mapping[str, Any]]:
    """Trails that log this account item's region: its own, and multi-region trails from anywhere."""
    region = env.doc.get("awsRegion")
    return [
        t
        for t in env.lookup(TRAIL, None)
        if t.get("awsRegion") == region or t.get("configuration", {}).get("isMultiRegionTrail")
    ]


def _trails_unknown(env: Env) -> Outcome | None:
    why = env.unreadable(TRAIL, None)
    return Outcome(False, why, insufficient=True) if why else None


def _selectors(trail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    extra = supplementary(trail)
    if extra.get("AdvancedEventSelectors"):
        return []
    return list(extra.get("EventSelectors") or []) or [DEFAULT_SELECTOR]


def _mismatch(trail: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """Why the trail does not match the rule's delivery parameters (None: it matches)."""
    config = trail.get("configuration", {})
    sns = config.get("snsTopicARN") or config.get("snsTopicArn")
    for param, actual in (
        ("s3BucketName", config.get("s3BucketName")),
        ("snsTopicArn", sns),
        ("cloudWatchLogsLogGroupArn", config.get("cloudWatchLogsLogGroupArn")),
    ):
        wanted = params.get(param)
        if wanted and actual != wanted and (param != "cloudWatchLogsLogGroupArn" or actual != f"{wanted}:*"):
            return f"{param} is {actual!r}, not {wanted!r}"
    return None


def _management_events(trail: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """Why the trail's selectors miss the management events the parameters ask for (None: they don't)."""
    advanced = supplementary(trail).get("AdvancedEventSelectors")
    if advanced:
        categories = [
            value
            for selector in advanced
            for field in selector.get("fieldSelectors") or []
            if field.get("field") == "eventCategory"
            for value in field.get("equals") or []
        ]
        return None if "Management" in categories else "no advanced event selector records management events"
    wanted_type = params.get("readWriteType")
    include = params.get("includeManagementEvents")
    for selector in _selectors(trail):
        if selector.get("excludeManagementEventSources"):
            return f"management event sources {selector['excludeManagementEventSources']} are excluded"
    for selector in _selectors(trail):
        if include and not selector.get("includeManagementEvents"):
            continue
        if wanted_type and selector.get("readWriteType") not in (wanted_type, "All"):
            continue
        return None
    return f"no event selector records management events (readWriteType {wanted_type or 'any'})"


def cloudtrail_enabled(env: Env) -> Outcome:
    unknown = _trails_unknown(env)
    region = env.doc.get("awsRegion")
    trails = _trails_for(env)
    logging = [t for t in trails if _logging(t)]
    if not logging:
        if unknown:
            return unknown
        return Outcome(False, f"no trail is logging in {region}")
    reasons = [
        f"{t.get('resourceId')}: {_mismatch(t, env.params)}" for t in logging if _mismatch(t, env.params)
    ]
    if len(reasons) == len(logging):
        return Outcome(False, f"no logging trail in {region} matches the parameters ({'; '.join(reasons)})")
    return Outcome(True)


def multi_region_cloudtrail_enabled(env: Env) -> Outcome:
    unknown = _trails_unknown(env)
    reasons = []
    for trail in env.lookup(TRAIL, None):
        name = trail.get("resourceId")
        if not trail.get("configuration", {}).get("isMultiRegionTrail"):
            continue
        if not _logging(trail):
            reasons.append(f"{name} is not logging")
            continue
        why = _mismatch(trail, env.params) or _management_events(trail, env.params)
        if why:
            reasons.append(f"{name}: {why}")
            continue
        return Outcome(True)
    if unknown:
        return unknown
    detail = f" ({'; '.join(reasons)})" if reasons else ""
    return Outcome(False, f"no multi-region trail is logging{detail}")


def _s3_data_events(selector: Mapping[str, Any], write: bool) -> bool:
    if selector.get("readWriteType", "All") not in ("All", "WriteOnly" if write else "ReadOnly"):
        return False
    return any(
        resource.get("type") == "AWS::S3::Object"
        and any(str(v).rstrip("/") in ALL_S3_OBJECTS for v in resource.get("values") or [])
        for resource in selector.get("dataResources") or []
    )


def _advanced_s3_data_events(selector: Mapping[str, Any], write: bool) -> bool:
    fields = {f.get("field"): f for f in selector.get("fieldSelectors") or []}
    if "Data" not in (fields.get("eventCategory") or {}).get("equals", []):
        return False
    if "AWS::S3::Object" not in (fields.get("resources.type") or {}).get("equals", []):
        return False
    if "resources.ARN" in fields:  # limited to some buckets
        return False
    read_only = (fields.get("readOnly") or {}).get("equals")
    return not read_only or ("false" if write else "true") in [str(v).lower() for v in read_only]


def s3_data_events(*, write: bool) -> Any:
    """Some multi-region trail, logging, records S3 object-level write (read) events of all buckets."""
    kind = "write" if write else "read"

    def check(env: Env) -> Outcome:
        for trail in env.lookup(TRAIL, None):
            if not trail.get("configuration", {}).get("isMultiRegionTrail") or not _logging(trail):
                continue
            extra = supplementary(trail)
            advanced = extra.get("AdvancedEventSelectors") or []
            if any(_advanced_s3_data_events(s, write) for s in advanced):
                return Outcome(True)
            if not advanced and any(_s3_data_events(s, write) for s in extra.get("EventSelectors") or []):
                return Outcome(True)
        unknown = _trails_unknown(env)
        if unknown:
            return unknown
        return Outcome(False, f"no logging multi-region trail records S3 data {kind} events for all buckets")

    return check


def cloud_watch_logs_enabled(env: Env) -> Outcome:
    """The trail delivers to a CloudWatch Logs log group (and, with expectedDeliveryWindowAge, has
    delivered there within that many hours)."""
    config = env.doc.get("configuration", {})
    if not config.get("cloudWatchLogsLogGroupArn"):
        return Outcome(False, "cloudWatchLogsLogGroupArn is not set")
    hours = env.params.get("expectedDeliveryWindowAge")
    if hours:
        status = supplementary(env.doc).get("TrailStatus") or {}
        last = parse_moment(status.get("latestCloudWatchLogsDeliveryTime"))
        if last is None:
            return Outcome(False, "the trail has not delivered to CloudWatch Logs yet")
        if env.now - last > timedelta(hours=float(hours)):
            return Outcome(
                False,
                f"the last CloudWatch Logs delivery was at {status.get('latestCloudWatchLogsDeliveryTime')}, "
                f"more than {hours} hours ago (expectedDeliveryWindowAge)",
            )
    return Outcome(True)


def _trail_bucket(env: Env) -> tuple[Mapping[str, Any] | None, Outcome | None]:
    """The trail's S3 bucket as recorded, or the outcome to give when it is not."""
    name = env.doc.get("configuration", {}).get("s3BucketName")
    if not name:
        return None, Outcome(False, "the trail has no S3 bucket", applicable=False)
    found = [b for b in env.lookup(BUCKET, None) if b.get("resourceId") == name]
    if found:
        return found[0], None
    why = env.unreadable(BUCKET, None)
    reason = why or f"bucket {name} is not recorded (another account's, or not collected)"
    return None, Outcome(False, reason, insufficient=True)


def trail_bucket_access_logging(env: Env) -> Outcome:
    bucket, outcome = _trail_bucket(env)
    if bucket is None:
        return outcome or Outcome(False, "no bucket", insufficient=True)
    logging = supplementary(bucket).get("BucketLoggingConfiguration") or {}
    if not logging.get("destinationBucketName"):
        return Outcome(
            False, f"server access logging is off on the trail's bucket {bucket.get('resourceId')}"
        )
    return Outcome(True)


def trail_bucket_not_public(env: Env) -> Outcome:
    bucket, outcome = _trail_bucket(env)
    if bucket is None:
        return outcome or Outcome(False, "no bucket", insufficient=True)
    inner = env.at(bucket, bucket)
    for actions, permissions in (
        (READ_ACTIONS, ("READ", "FULL_CONTROL")),
        (WRITE_ACTIONS, ("WRITE", "FULL_CONTROL")),
    ):
        found = public_exposure(inner, actions, permissions)
        if not found.ok:
            return Outcome(
                False,
                f"the trail's bucket {bucket.get('resourceId')}: {found.reason}",
                insufficient=found.insufficient,
            )
    return Outcome(True)


def config_enabled(env: Env) -> Outcome:
    """A configuration recorder is recording in the account item's region (and, with
    ``allResourceTypes``, records every supported type, global ones included)."""
    config = env.doc.get("configuration", {})
    region = env.doc.get("awsRegion")
    missing = unavailable(env.doc, "configRecorders")
    if missing:
        return Outcome(False, f"configRecorders could not be read: {missing}", insufficient=True)
    recorders = config.get("configRecorders")
    if recorders is None:
        return Outcome(False, "configRecorders is not recorded for the region", insufficient=True)
    if not recorders:
        return Outcome(False, f"no AWS Config recorder in {region}")
    recording = [r for r in recorders if r.get("recording")]
    if not recording:
        names = ", ".join(str(r.get("name")) for r in recorders)
        return Outcome(False, f"the recorder {names} in {region} is not recording")
    if env.params.get("allResourceTypes"):
        for recorder in env.lookup(RECORDER, region):
            group = recorder.get("configuration", {}).get("recordingGroup") or {}
            if not group.get("allSupported") or not group.get("includeGlobalResourceTypes"):
                return Outcome(
                    False,
                    f"the recorder {recorder.get('resourceId')} does not record all resource types "
                    f"(allSupported {group.get('allSupported')}, includeGlobalResourceTypes "
                    f"{group.get('includeGlobalResourceTypes')})",
                )
    return Outcome(True)


def _state_actions(config: Mapping[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    yield "alarmActionRequired", "alarmActions", list(config.get("alarmActions") or [])
    yield (
        "insufficientDataActionRequired",
        "insufficientDataActions",
        list(config.get("insufficientDataActions") or []),
    )
    yield "okActionRequired", "okActions", list(config.get("okActions") or [])


def alarm_action_check(env: Env) -> Outcome:
    """Each state the parameters require has an action; with action1..action5 set, one of them."""
    config = env.doc.get("configuration", {})
    named = [env.params.get(f"action{i}") for i in range(1, 6)]
    allowed = [a for a in named if a]
    for param, key, actions in _state_actions(config):
        if not env.params.get(param):
            continue
        if not actions:
            return Outcome(False, f"{key} is empty ({param} is true)")
        if allowed and not set(map(str, actions)) & set(allowed):
            return Outcome(False, f"{key} {actions} names none of the actions the parameters list")
    return Outcome(True)


CHECKS = {
    "cloudtrail-enabled": cloudtrail_enabled,
    "multi-region-cloudtrail-enabled": multi_region_cloudtrail_enabled,
    "cloudtrail-s3-data-events-write": s3_data_events(write=True),
    "cloudtrail-s3-data-events-read": s3_data_events(write=False),
    "cloud-trail-cloud-watch-logs-enabled": cloud_watch_logs_enabled,
    "cloudtrail-s3-bucket-access-logging": trail_bucket_access_logging,
    "cloudtrail-s3-bucket-public-access-prohibited": trail_bucket_not_public,
    "config-enabled": config_enabled,
    "cloudwatch-alarm-action-check": alarm_action_check,
}
