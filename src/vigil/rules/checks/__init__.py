"""``CHECKS``: Python checks for what the condition language cannot say, named from YAML (``check:``).

A check is ``check(env) -> Outcome``: ``env.doc``/``env.ci`` is the CI (API form, as a dict),
``env.params`` the rule's parameters, ``env.lookup(type, region)`` other current CIs, ``env.related``
the CIs a relationship names. Checks are pure: they read only what ``env`` gives them.

One module per area, each exporting its own ``CHECKS``; this table joins them (a name is unique).
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.rules.checks import identity, logging, network, storage
from vigil.rules.checks import monitoring as cis_monitoring  # CIS 5.1–5.15 metric filter + alarm chains
from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

Check = Callable[[Env], Outcome]

CHECKS: dict[str, Check] = {
    **network.CHECKS,
    **identity.CHECKS,
    **logging.CHECKS,
    **storage.CHECKS,
    **cis_monitoring.CHECKS,
}
