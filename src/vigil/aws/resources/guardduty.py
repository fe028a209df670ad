"""GuardDuty detectors: one per region where GuardDuty is on, with its status, data sources and features.

``resourceId`` is the detector id (CloudFormation's primary identifier for ``AWS::GuardDuty::Detector``,
which AWS Config uses for the types it records through the CloudFormation registry). A region without
a detector has no item here; the account item carries the region's detector ids (from the same
memoised ``ListDetectors``) so that "GuardDuty is not enabled in this region" can be evaluated.
Calls: ``ListDetectors`` once per region, ``GetDetector`` once per detector (it carries the tags).
"""

from __future__ import annotations

from datetime import datetime

from vigil.aws.resources.base import Batch, Fetch, make_ci, to_config, wanted
from vigil.model import ConfigurationItem

DETECTOR = "AWS::GuardDuty::Detector"


def detector_ids(fx: Fetch, region: str) -> list[str]:
    """The region's detector ids (memoised: the account item reads them too)."""
    return [str(d) for d in fx.items("guardduty", region, "list_detectors", "DetectorIds")]


def detector_arn(fx: Fetch, region: str, detector_id: str) -> str:
    return fx.arn("guardduty", region, f"detector/{detector_id}")


def _timestamp(value: str | None) -> datetime | None:
    """GuardDuty gives times as ISO strings (``2026-11-28T02:17:00.859Z``), not timestamps."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def collect_detectors(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    listed = [d for d in detector_ids(fx, region) if wanted(ids, d, detector_arn(fx, region, d))]
    client = fx.client("guardduty", region)

    def one(detector_id: str) -> ConfigurationItem:
        response = client.get_detector(DetectorId=detector_id)
        details = {k: v for k, v in response.items() if k not in ("ResponseMetadata", "Tags")}
        return make_ci(
            fx,
            DETECTOR,
            region,
            detector_id,
            arn=detector_arn(fx, region, detector_id),
            configuration={"detectorId": detector_id, **to_config(details)},
            tags={str(k): str(v) for k, v in (response.get("Tags") or {}).items()},
            created=_timestamp(response.get("CreatedAt")),
        )

    return fx.each(listed, one, lambda d: d)
