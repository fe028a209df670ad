"""Storage and secret checks: who an S3 bucket's ACL and policy let in after the public access
blocks, what its policy enforces, and secret rotation.

What the S3 checks read (as Vigil records a bucket, like AWS Config): ``supplementaryConfiguration``
``AccessControlList`` (``{owner, grants: [{grantee: {type, uri|id}, permission}]}``), ``BucketPolicy``
(``{policyText}``, the policy as a JSON string, as AWS Config writes it; an object is accepted too),
``PublicAccessBlockConfiguration``, ``ServerSideEncryptionConfiguration``,
``BucketVersioningConfiguration``; and the account item's ``s3PublicAccessBlock`` in the bucket's
region (``null`` when none is set; ``null`` with ``supplementaryConfiguration.Unavailable`` when it
could not be read).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from vigil.rules.checks.identity import public_statement, statements
from vigil.rules.conditions import Env, parse_moment
from vigil.rules.spec import Outcome

ACCOUNT = "AWS::::Account"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetObjectVersion", "s3:ListBucketVersions")
WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl")
BLOCK_KEYS = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def supplementary(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return doc.get("supplementaryConfiguration") or {}


def bucket_policy(doc: Mapping[str, Any]) -> Any:
    """The bucket policy as a document (AWS Config records ``policyText`` as a JSON string)."""
    text = (supplementary(doc).get("BucketPolicy") or {}).get("policyText")
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return text


def unavailable(ci: Mapping[str, Any], fact: str) -> str | None:
    """Why the account item's fact (configuration key) could not be read, or None."""
    missing = supplementary(ci).get("Unavailable") or {}
    entry = missing.get(fact[:1].upper() + fact[1:])
    if entry is None:
        return None
    if isinstance(entry, Mapping):
        return f"{entry.get('code')}: {entry.get('message')}"
    return str(entry)


# -- who the bucket lets in ---------------------------------------------------------------------


def _account_item(env: Env) -> Mapping[str, Any] | None:
    items = env.lookup(ACCOUNT, env.doc.get("awsRegion"))
    return items[0] if items else None


def _blocks(env: Env) -> tuple[dict[str, bool], str | None]:
    """The effective block settings (the bucket's own or'ed with the account's in its region), and
    why the account's could not be read (None when they were, or no account item is recorded)."""
    bucket = supplementary(env.doc).get("PublicAccessBlockConfiguration") or {}
    account_item = _account_item(env)
    account: Mapping[str, Any] = {}
    missing = None
    if account_item is not None:
        account = account_item.get("configuration", {}).get("s3PublicAccessBlock") or {}
        missing = unavailable(account_item, "s3PublicAccessBlock")
    blocks = {
        k: bool(bucket.get(k)) or bool(account.get(k) or account.get(k[0].upper() + k[1:]))
        for k in BLOCK_KEYS
    }
    return blocks, missing


def _public_principal(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in _list(principal.get(k)) for k in ("AWS", "CanonicalUser"))
    return False


def _matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _allowed_action(statement: Mapping[str, Any], actions: tuple[str, ...]) -> str | None:
    """The first of ``actions`` the statement covers (Action patterns, or everything NotAction leaves)."""
    if "NotAction" in statement:
        excluded = _list(statement.get("NotAction"))
        return next((a for a in actions if not any(_matches(p, a) for p in excluded)), None)
    for pattern in _list(statement.get("Action")):
        if any(_matches(pattern, a) for a in actions):
            return str(pattern)
    return None


def _grants(env: Env, permissions: tuple[str, ...]) -> str | None:
    acl = supplementary(env.doc).get("AccessControlList") or {}
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
    for statement in statements(bucket_policy(env.doc)):
        if (
            statement.get("Effect") != "Allow"
            or not _public_principal(statement)
            or statement.get("Condition")
        ):
            continue
        action = _allowed_action(statement, actions)
        if action:
            sid = f" (statement {statement['Sid']})" if statement.get("Sid") else ""
            return f"the bucket policy allows {action} to everyone{sid}"
    return None


def public_exposure(env: Env, actions: tuple[str, ...], permissions: tuple[str, ...]) -> Outcome:
    """Whether the bucket (``env.doc``) is open to everyone through its ACL or policy, after the
    bucket's and the account's public access blocks."""
    blocks, missing = _blocks(env)
    found = None
    if not blocks["ignorePublicAcls"]:
        found = _grants(env, permissions)
    if found is None and not blocks["restrictPublicBuckets"]:
        found = _policy_allows(env, actions)
    if found is None:
        return Outcome(True)
    if missing:
        # the account's block might neutralise it; say so rather than guess
        return Outcome(
            False,
            f"{found}, and the account's S3 Block Public Access could not be read ({missing})",
            insufficient=True,
        )
    return Outcome(False, found)


def public_access(actions: tuple[str, ...], permissions: tuple[str, ...]) -> Callable[[Env], Outcome]:
    def check(env: Env) -> Outcome:
        return public_exposure(env, actions, permissions)

    return check


# -- what the bucket's configuration enforces ------------------------------------------------------


def _conditions(statement: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(operator, key, value) of a statement's Condition block, keys lower-cased."""
    for operator, block in (statement.get("Condition") or {}).items():
        if isinstance(block, Mapping):
            for key, value in block.items():
                yield str(operator), str(key).lower(), value


def ssl_requests_only(env: Env) -> Outcome:
    """A Deny statement for everyone when ``aws:SecureTransport`` is false, over the bucket's actions
    (``s3:*`` or ``*``); what AWS Config's rule and CIS 3.1.1 ask for."""
    for statement in statements(bucket_policy(env.doc)):
        if statement.get("Effect") != "Deny" or not _public_principal(statement):
            continue
        if not any(_matches(p, "s3:*") or p == "*" for p in _list(statement.get("Action"))):
            continue
        for operator, key, value in _conditions(statement):
            values = [str(v).lower() for v in _list(value)]
            if operator == "Bool" and key == "aws:securetransport" and "false" in values:
                return Outcome(True)
            if operator == "NumericLessThan" and key == "s3:tlsversion":
                return Outcome(True)
    if bucket_policy(env.doc) is None:
        return Outcome(False, "the bucket has no policy, so plain HTTP requests are allowed")
    return Outcome(False, 'no bucket policy statement denies s3:* to "*" when aws:SecureTransport is false')


def _denies_unencrypted_puts(policy: Any) -> bool:
    for statement in statements(policy):
        if statement.get("Effect") != "Deny" or not any(
            _matches(p, "s3:PutObject") for p in _list(statement.get("Action"))
        ):
            continue
        for operator, key, value in _conditions(statement):
            if key != "s3:x-amz-server-side-encryption":
                continue
            if operator == "Null" and "true" in [str(v).lower() for v in _list(value)]:
                return True
            if operator == "StringNotEquals":
                return True
    return False


def server_side_encryption(env: Env) -> Outcome:
    """Default encryption configured, or a policy that denies PutObject without encryption."""
    config = supplementary(env.doc).get("ServerSideEncryptionConfiguration") or {}
    for rule in config.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm"):
            return Outcome(True)
    if _denies_unencrypted_puts(bucket_policy(env.doc)):
        return Outcome(True)
    return Outcome(
        False,
        "ServerSideEncryptionConfiguration is not set and no bucket policy denies s3:PutObject "
        "without x-amz-server-side-encryption",
    )


def versioning(env: Env) -> Outcome:
    config = supplementary(env.doc).get("BucketVersioningConfiguration") or {}
    status = config.get("status") or "Off"
    if status != "Enabled":
        return Outcome(False, f"BucketVersioningConfiguration.status is {status!r}, expected 'Enabled'")
    if env.params.get("isMfaDeleteEnabled") and config.get("isMfaDeleteEnabled") is not True:
        return Outcome(
            False,
            f"versioning is on but isMfaDeleteEnabled is {json.dumps(config.get('isMfaDeleteEnabled'))} "
            "(isMfaDeleteEnabled asks for MFA delete)",
        )
    return Outcome(True)


# -- what other accounts may do to the bucket ------------------------------------------------------

# FSBP S3.6's blacklistedActionPattern: what another account must never be allowed.
BLOCKED_CROSS_ACCOUNT_ACTIONS = (
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
)


def _other_accounts(principal: Any, own: str) -> str | None:
    """The first principal naming an account other than ``own`` (``*`` included); service
    principals name no account."""
    if principal == "*":
        return "*"
    if not isinstance(principal, Mapping):
        return None
    for who in _list(principal.get("AWS")):
        text = str(who)
        account = text.split(":")[4] if text.startswith("arn:") and text.count(":") >= 5 else text
        if account != own:
            return text
    return None


def _covers(granted: str, blocked: str) -> bool:
    g, b = granted.lower(), blocked.lower()
    return fnmatch.fnmatchcase(b, g) or fnmatch.fnmatchcase(g, b)


def blacklisted_actions_prohibited(env: Env) -> Outcome:
    """No Allow statement of the bucket policy grants a ``blacklistedActionPattern`` action to a
    principal of another account. Like AWS Config's rule, only Principal is read, not Condition."""
    raw = env.params.get("blacklistedActionPattern") or BLOCKED_CROSS_ACCOUNT_ACTIONS
    blocked = [p.strip() for p in (raw.split(",") if isinstance(raw, str) else raw) if str(p).strip()]
    own = str(env.doc.get("accountId") or "")
    for statement in statements(bucket_policy(env.doc)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            who: str | None = f"everyone but {json.dumps(statement['NotPrincipal'])}"
        else:
            who = _other_accounts(statement.get("Principal"), own)
        if who is None:
            continue
        if "NotAction" in statement:
            excluded = [str(p) for p in _list(statement.get("NotAction"))]
            hit = next((b for b in blocked if not any(_covers(p, b) for p in excluded)), None)
            granted = f"NotAction {json.dumps(statement['NotAction'])}"
        else:
            pairs = [
                (str(a), b) for a in _list(statement.get("Action")) for b in blocked if _covers(str(a), b)
            ]
            hit = pairs[0][1] if pairs else None
            granted = pairs[0][0] if pairs else ""
        if hit:
            sid = f" (statement {statement['Sid']})" if statement.get("Sid") else ""
            return Outcome(False, f"the bucket policy allows {granted} to {who}{sid}, covering blocked {hit}")
    return Outcome(True)


# -- SNS topics ---------------------------------------------------------------------------------


DELIVERY_PROTOCOLS = ("http", "lambda", "sqs", "firehose", "application")


def sns_delivery_status_logging(env: Env) -> Outcome:
    """Delivery status logging for at least one protocol: a ``<protocol>SuccessFeedbackRoleArn`` or
    ``<protocol>FailureFeedbackRoleArn`` attribute (what SNS writes CloudWatch Logs with)."""
    config = env.doc.get("configuration") or {}
    for protocol in DELIVERY_PROTOCOLS:
        for outcome in ("Success", "Failure"):
            if config.get(f"{protocol}{outcome}FeedbackRoleArn"):
                return Outcome(True)
    return Outcome(
        False,
        "no delivery status logging: none of the HTTP, Lambda, SQS, Firehose or Application "
        "Success/FailureFeedbackRoleArn attributes is set",
    )


def sns_topic_no_public_access(env: Env) -> Outcome:
    found = public_statement((env.doc.get("configuration") or {}).get("policy"))
    return Outcome(False, f"the topic policy's {found}") if found else Outcome(True)


# -- secrets ------------------------------------------------------------------------------------


def _rotation_hours(rules: Mapping[str, Any]) -> float | None:
    """The rotation interval in hours: ``automaticallyAfterDays``, or a ``rate(N days|hours)``
    schedule expression (cron schedules: None, not decidable here)."""
    days = rules.get("automaticallyAfterDays")
    if days:
        return float(days) * 24
    expression = str(rules.get("scheduleExpression") or "")
    if expression.startswith("rate(") and expression.endswith(")"):
        number, _, unit = expression[5:-1].strip().partition(" ")
        try:
            return float(number) * (24 if unit.startswith("day") else 1)
        except ValueError:
            return None
    return None


def secret_rotation_enabled(env: Env) -> Outcome:
    config = env.doc.get("configuration", {})
    if not config.get("rotationEnabled"):
        return Outcome(
            False, f"rotationEnabled is {json.dumps(config.get('rotationEnabled'))}, expected true"
        )
    hours = _rotation_hours(config.get("rotationRules") or {})
    limit_days = env.params.get("maximumAllowedRotationFrequency")
    limit_hours = env.params.get("maximumAllowedRotationFrequencyInHours")
    limits = (
        [(float(limit_days) * 24, f"{limit_days} days (maximumAllowedRotationFrequency)")]
        if limit_days
        else []
    )
    if limit_hours:
        limits.append((float(limit_hours), f"{limit_hours} hours (maximumAllowedRotationFrequencyInHours)"))
    for limit, said in limits:
        if hours is None:
            return Outcome(
                False, f"the rotation schedule {config.get('rotationRules')} cannot be compared with {said}"
            )
        if hours > limit:
            return Outcome(False, f"the secret rotates every {hours / 24:g} days, more than {said}")
    return Outcome(True)


def secret_rotation_on_schedule(env: Env) -> Outcome:
    """A secret with rotation on has rotated when it was due (``nextRotationDate`` has not passed, or
    its last rotation is no older than its rotation interval)."""
    config = env.doc.get("configuration", {})
    if not config.get("rotationEnabled"):
        return Outcome(True, "rotation is not enabled for the secret", applicable=False)
    due = parse_moment(config.get("nextRotationDate"))
    if due is None:
        hours = _rotation_hours(config.get("rotationRules") or {})
        last = parse_moment(config.get("lastRotatedDate") or config.get("createdDate"))
        if hours is None or last is None:
            return Outcome(False, "the rotation schedule cannot be read", insufficient=True)
        due = last + timedelta(hours=hours)
    if env.now > due:
        return Outcome(
            False,
            f"rotation was due at {due.isoformat()} and the secret was last rotated at "
            f"{config.get('lastRotatedDate') or 'never'}",
        )
    return Outcome(True)


CHECKS = {
    "s3-bucket-public-read": public_access(READ_ACTIONS, ("READ", "FULL_CONTROL")),
    "s3-bucket-public-write": public_access(WRITE_ACTIONS, ("WRITE", "FULL_CONTROL")),
    "s3-bucket-ssl-requests-only": ssl_requests_only,
    "s3-bucket-server-side-encryption": server_side_encryption,
    "s3-bucket-versioning": versioning,
    "s3-bucket-blacklisted-actions-prohibited": blacklisted_actions_prohibited,
    "sns-topic-no-public-access": sns_topic_no_public_access,
    "sns-topic-delivery-status-logging": sns_delivery_status_logging,
    "secretsmanager-rotation-enabled": secret_rotation_enabled,
    "secretsmanager-rotation-on-schedule": secret_rotation_on_schedule,
}
