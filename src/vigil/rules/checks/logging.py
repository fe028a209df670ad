"""Logging checks over the account: trails that exist elsewhere decide the account's compliance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

TRAIL = "AWS::CloudTrail::Trail"


def _logging(trail: Mapping[str, Any]) -> bool:
    status = trail.get("supplementaryConfiguration", {}).get("TrailStatus") or {}
    return bool(status.get("isLogging"))


def _trails_for(env: Env) -> list[Mapping[str, Any]]:
    """Trails that log this account item's region: its own, and multi-region trails from anywhere."""
    region = env.doc.get("awsRegion")
    return [
        t
        for t in env.lookup(TRAIL, None)
        if t.get("awsRegion") == region or t.get("configuration", {}).get("isMultiRegionTrail")
    ]


def cloudtrail_enabled(env: Env) -> Outcome:
    logging = [t for t in _trails_for(env) if _logging(t)]
    if logging:
        return Outcome(True)
    return Outcome(False, f"no trail is logging in {env.doc.get('awsRegion')}")


def multi_region_cloudtrail_enabled(env: Env) -> Outcome:
    for trail in env.lookup(TRAIL, None):
        config = trail.get("configuration", {})
        if config.get("isMultiRegionTrail") and _logging(trail):
            return Outcome(True)
    return Outcome(False, "no multi-region trail is logging")


CHECKS = {
    "cloudtrail-enabled": cloudtrail_enabled,
    "multi-region-cloudtrail-enabled": multi_region_cloudtrail_enabled,
}
