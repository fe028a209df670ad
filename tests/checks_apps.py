"""Recording checks for RDS, Lambda, load balancers, EFS; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from recorded import Recorded

CHECKS: dict[str, Callable[[Recorded], None]] = {}
