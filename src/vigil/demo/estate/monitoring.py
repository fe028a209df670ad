"""Logging, monitoring and messaging: CloudTrail trails (more to come)."""

from __future__ import annotations

from vigil.demo.estate.model import ClientFactory, Estate


def seed_trails(client: ClientFactory, estate: Estate) -> None:
    regions = list(estate.regions.values())
    home = regions[0]
    main = client("cloudtrail", home.region).create_trail(
        Name="org-audit-trail",
        S3BucketName=home.buckets["logs"],
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        IncludeGlobalServiceEvents=True,
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
