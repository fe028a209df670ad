"""``automation``: a finding message runs a remediation action (``remediate/actions.py``).

The subscription's endpoint names the action (``revoke-ingress``…); ``apply: true`` lets it make
the change, otherwise it dry-runs. Either way the run is in the remediation journal with the
subscription as the actor. Only ``finding`` messages whose event is ``opened`` or ``reopened``
trigger it; anything else is acknowledged without action. A finding the action does not fit is a
failure no retry fixes (the delivery goes to dead with the reason).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from vigil.errors import UsageError, VigilError
from vigil.notify.channels.base import ChannelContext, Outcome

if TYPE_CHECKING:
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery


class AutomationChannel:
    sequential = True  # it re-records and re-evaluates through the store: one at a time

    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome:
        from vigil.remediate.run import remediate

        engine: Any = context.extra.get("engine")
        if engine is None:
            return Outcome(False, "automation runs inside vigil notify deliver or vigil watch", final=True)
        try:
            body = orjson.loads(delivery.message)
        except orjson.JSONDecodeError:
            return Outcome(True)  # not a finding: nothing to remediate
        if not (isinstance(body, dict) and body.get("kind") == "finding"):
            return Outcome(True)
        if body.get("event") not in ("opened", "reopened"):
            return Outcome(True)
        action = subscription.endpoint
        try:
            result = remediate(
                engine,
                str(body["fingerprint"]),
                action,
                apply=subscription.settings.apply,
                actor=f"automation:{subscription.id}",
            )
        except UsageError as exc:
            return Outcome(False, f"{action}: {exc.message}", final=True)
        except VigilError as exc:  # credentials, AWS reachability: may work later
            return Outcome(False, f"{action}: {exc.message}")
        if not result.ok:
            return Outcome(False, f"{action}: {result.record.error or 'a step failed'}")
        return Outcome(True)
