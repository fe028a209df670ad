"""SNS's delivery retry policy (spec §4.3) as a pure function: the delays between attempts.

Four phases: immediate retries (no delay), pre-backoff (``minDelayTarget`` each), backoff (from
``minDelayTarget`` to ``maxDelayTarget`` along ``backoffFunction``), post-backoff
(``maxDelayTarget`` each). The backoff phase has ``numRetries − noDelay − minDelay − maxDelay``
retries. AWS documents the four curve names but not their formulas; Vigil's (an interpretation,
monotonic from min to max, documented here): linear — equal steps; arithmetic — steps growing by
equal amounts (quadratic); geometric — equal ratios; exponential — doubling steps. AWS adds jitter;
Vigil does not, so schedules are reproducible (and testable on an injected clock).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from vigil.errors import ConfigError, Problem

MAX_TOTAL_SECONDS: Final = 3600  # SNS: all retries of one message within an hour (§4.3)

BACKOFF: Final[dict[str, Callable[[float], float]]] = {
    # t in (0, 1]: the share of the way from min to max at backoff retry i of k (t = i / k)
    "linear": lambda t: t,
    "arithmetic": lambda t: t * t,
    "geometric": lambda t: t,  # applied on a log scale (see delays)
    "exponential": lambda t: t,  # doubling steps (see delays)
}


@dataclass(frozen=True)
class DeliveryPolicy:
    """SNS's ``healthyRetryPolicy`` fields; defaults are SNS's HTTP/S defaults (3 retries, 20 s apart)."""

    num_retries: int = 3
    num_no_delay_retries: int = 0
    min_delay_target: int = 20
    max_delay_target: int = 20
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff_function: str = "linear"

    @property
    def backoff_retries(self) -> int:
        return (
            self.num_retries
            - self.num_no_delay_retries
            - self.num_min_delay_retries
            - self.num_max_delay_retries
        )


_FIELDS = {
    "numRetries": "num_retries",
    "numNoDelayRetries": "num_no_delay_retries",
    "minDelayTarget": "min_delay_target",
    "maxDelayTarget": "max_delay_target",
    "numMinDelayRetries": "num_min_delay_retries",
    "numMaxDelayRetries": "num_max_delay_retries",
    "backoffFunction": "backoff_function",
}


def parse_policy(raw: Mapping[str, Any], where: str = "delivery_policy") -> DeliveryPolicy:
    """A policy from SNS's JSON (``healthyRetryPolicy`` or its fields), checked as SNS checks it."""
    fields = raw.get("healthyRetryPolicy", raw)
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in fields.items():
        name = _FIELDS.get(key)
        if name is None:
            problems.append(Problem(f"{where}.{key}", "unknown field", f"use {', '.join(_FIELDS)}"))
        elif name == "backoff_function":
            if value not in BACKOFF:
                problems.append(
                    Problem(f"{where}.{key}", f"unknown backoff {value!r}", f"use {', '.join(BACKOFF)}")
                )
            values[name] = value
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(
                Problem(f"{where}.{key}", f"{value!r} is not a whole number ≥ 0", "give an integer")
            )
        else:
            values[name] = value
    policy = DeliveryPolicy(**values) if not problems else DeliveryPolicy()
    if not problems:
        problems.extend(_check(policy, where))
    if problems:
        raise ConfigError(problems, source=where)
    return policy


def _check(p: DeliveryPolicy, where: str) -> list[Problem]:
    out: list[Problem] = []
    if not 0 <= p.num_retries <= 100:
        out.append(
            Problem(f"{where}.numRetries", f"{p.num_retries} is outside 0..100", "SNS allows 0 to 100")
        )
    if not 1 <= p.min_delay_target <= p.max_delay_target:
        out.append(Problem(f"{where}.minDelayTarget", "must be 1..maxDelayTarget", "e.g. 20"))
    if p.max_delay_target > MAX_TOTAL_SECONDS:
        out.append(Problem(f"{where}.maxDelayTarget", "must be at most 3600", "SNS's limit"))
    if p.backoff_retries < 0:
        out.append(
            Problem(
                where,
                "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries exceed numRetries",
                "raise numRetries or lower the phase counts",
            )
        )
    elif sum(delays(p)) > MAX_TOTAL_SECONDS:
        out.append(
            Problem(
                where, "the retries take more than 3600 s in all", "SNS's limit: lower the counts or delays"
            )
        )
    return out


def delays(p: DeliveryPolicy) -> list[float]:
    """Seconds to wait before each retry, in order (``len == numRetries``)."""
    low, high = float(p.min_delay_target), float(p.max_delay_target)
    out = [0.0] * p.num_no_delay_retries + [low] * p.num_min_delay_retries
    k = p.backoff_retries
    for i in range(1, k + 1):
        t = i / k
        if p.backoff_function == "geometric":
            out.append(low * (high / low) ** t)
        elif p.backoff_function == "exponential":
            out.append(low + (high - low) * (2**i - 1) / (2**k - 1))
        else:
            out.append(low + (high - low) * BACKOFF[p.backoff_function](t))
    return out + [high] * p.num_max_delay_retries


def next_delay(p: DeliveryPolicy, failures: int) -> float | None:
    """After ``failures`` failed attempts (the first try included), the wait before the next; None when
    the retries are exhausted (the delivery goes to ``dead``)."""
    schedule = delays(p)
    return schedule[failures - 1] if 1 <= failures <= len(schedule) else None
