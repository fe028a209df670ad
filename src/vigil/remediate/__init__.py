"""Remediation: actions that fix what a finding reports, dry-run first.

``actions`` holds the ``ACTIONS`` table (one plan function and one entry each); ``run`` wires an
action to a stored finding, applies it when asked, re-records the resource and re-evaluates it.
"""

from vigil.remediate.actions import ACTIONS, Action, Outcome, Param, Plan, Step, StepResult

__all__ = ["ACTIONS", "Action", "Outcome", "Param", "Plan", "Step", "StepResult"]
