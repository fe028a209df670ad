"""Recording checks for EC2 snapshots, NAT gateways, Elastic IPs, flow logs, VPC peering, IAM groups; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from recorded import Recorded

CHECKS: dict[str, Callable[[Recorded], None]] = {}
