"""Identity checks: what IAM policy documents allow."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(document, Mapping):
        for statement in _list(document.get("Statement")):
            if isinstance(statement, Mapping):
                yield statement


def default_document(config: Mapping[str, Any]) -> Any:
    for version in config.get("policyVersionList") or []:
        if version.get("isDefaultVersion"):
            return version.get("document")
    return None


def policy_no_admin_access(env: Env) -> Outcome:
    """A customer managed policy whose default version allows every action on every resource."""
    for statement in statements(default_document(env.doc.get("configuration", {}))):
        if statement.get("Effect") != "Allow":
            continue
        if "*" in _list(statement.get("Action")) and "*" in _list(statement.get("Resource")):
            return Outcome(False, 'the default version allows Action "*" on Resource "*"')
    return Outcome(True)


def policy_no_full_service_access(env: Env) -> Outcome:
    for statement in statements(default_document(env.doc.get("configuration", {}))):
        if statement.get("Effect") != "Allow":
            continue
        for action in _list(statement.get("Action")):
            if isinstance(action, str) and action.endswith(":*"):
                return Outcome(False, f"the default version allows {action}")
    return Outcome(True)


CHECKS = {
    "iam-policy-no-admin-access": policy_no_admin_access,
    "iam-policy-no-full-service-access": policy_no_full_service_access,
}
