"""Recording checks for log groups, alarms, SNS topics, SQS queues, the Config recorder; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from recorded import Recorded

CHECKS: dict[str, Callable[[Recorded], None]] = {}
