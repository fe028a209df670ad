"""What the resource checks share: the recorded sample estate and small helpers.

The checks live in ``test_resources.py`` (the spine's types) and ``checks_<area>.py`` (one module per
group of types, each exporting ``CHECKS: dict[type, check]``); ``test_resources.EXPECT`` joins them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.aws import recorder
from vigil.demo.estate import Estate
from vigil.model import ConfigurationItem


@dataclass
class Recorded:
    estate: Estate
    cis: list[ConfigurationItem]
    report: recorder.ScanReport

    def of(self, resource_type: str, region: str | None = None) -> list[ConfigurationItem]:
        return [
            c
            for c in self.cis
            if c.resourceType == resource_type and (region is None or c.awsRegion == region)
        ]

    def one(self, resource_type: str, ref: str) -> ConfigurationItem:
        found = [c for c in self.of(resource_type) if ref in (c.resourceId, c.resourceName)]
        assert len(found) == 1, f"{resource_type} {ref}: {len(found)} found"
        return found[0]


def rels(ci: ConfigurationItem) -> set[tuple[str, str, str | None]]:
    return {(r.relationshipName, r.resourceType, r.resourceId) for r in ci.relationships}
