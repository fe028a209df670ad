"""Storage checks: who an S3 bucket's ACL and policy let in, after the public access blocks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil.rules.checks.identity import statements
from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:*", "*", "s3:Get*", "s3:List*")
WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:*", "*", "s3:Put*", "s3:Delete*")


def _blocks(env: Env) -> dict[str, bool]:
    """The effective block settings: the bucket's own, or'ed with the account's in its region."""
    bucket = env.doc.get("supplementaryConfiguration", {}).get("PublicAccessBlockConfiguration") or {}
    account: Mapping[str, Any] = {}
    for item in env.lookup("AWS::::Account", env.doc.get("awsRegion")):
        account = item.get("configuration", {}).get("s3PublicAccessBlock") or {}
    keys = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
    return {k: bool(bucket.get(k)) or bool(account.get(k) or account.get(k[0].upper() + k[1:])) for k in keys}


def _public_principal(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and principal.get("AWS") in ("*", ["*"])


def _grants(env: Env, permissions: tuple[str, ...]) -> str | None:
    acl = env.doc.get("supplementaryConfiguration", {}).get("AccessControlList") or {}
    for grant in acl.get("grantList") or acl.get("grants") or []:
        grantee = grant.get("grantee") or {}
        who = grantee if isinstance(grantee, str) else grantee.get("uri") or grantee.get("id")
        if (
            who in (ALL_USERS, AUTHENTICATED_USERS, "AllUsers", "AuthenticatedUsers")
            and grant.get("permission") in permissions
        ):
            group = "AllUsers" if "AllUsers" in str(who) else "AuthenticatedUsers"
            return f"the ACL grants {grant.get('permission')} to {group}"
    return None


def _policy_allows(env: Env, actions: tuple[str, ...]) -> str | None:
    policy = (env.doc.get("supplementaryConfiguration", {}).get("BucketPolicy") or {}).get("policyText")
    for statement in statements(policy):
        if (
            statement.get("Effect") != "Allow"
            or not _public_principal(statement)
            or statement.get("Condition")
        ):
            continue
        listed = statement.get("Action")
        for action in listed if isinstance(listed, list) else [listed]:
            if action in actions:
                return f"the bucket policy allows {action} to everyone"
    return None


def public_access(actions: tuple[str, ...], permissions: tuple[str, ...]) -> Any:
    def check(env: Env) -> Outcome:
        blocks = _blocks(env)
        if not blocks["ignorePublicAcls"]:
            granted = _grants(env, permissions)
            if granted:
                return Outcome(False, granted)
        if not blocks["restrictPublicBuckets"]:
            allowed = _policy_allows(env, actions)
            if allowed:
                return Outcome(False, allowed)
        return Outcome(True)

    return check


def ssl_requests_only(env: Env) -> Outcome:
    policy = (env.doc.get("supplementaryConfiguration", {}).get("BucketPolicy") or {}).get("policyText")
    for statement in statements(policy):
        condition = statement.get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return Outcome(True)
    return Outcome(False, "no bucket policy statement denies requests with aws:SecureTransport false")


CHECKS = {
    "s3-bucket-public-read": public_access(READ_ACTIONS, ("READ", "FULL_CONTROL")),
    "s3-bucket-public-write": public_access(WRITE_ACTIONS, ("WRITE", "FULL_CONTROL")),
    "s3-bucket-ssl-requests-only": ssl_requests_only,
}
