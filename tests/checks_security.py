"""Recording checks for GuardDuty, Secrets Manager, ECR, and the account's security services; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from recorded import Recorded

CHECKS: dict[str, Callable[[Recorded], None]] = {}
