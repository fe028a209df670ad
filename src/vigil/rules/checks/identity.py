"""Identity checks: what IAM policy documents allow, users' credentials, and the account's identity
and security-service facts (the ``AWS::::Account`` item).

Account facts read from a security service (``accessAnalyzers``, ``securityHub``,
``guardDutyDetectorIds``, ``s3PublicAccessBlock``, ``alternateContacts``, …) are ``null`` when they
could not be read, with the reason under ``supplementaryConfiguration.Unavailable[<Fact>]``; the
checks on them answer INSUFFICIENT_DATA then (``account_fact``), never a verdict on missing data.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from vigil.rules.conditions import Env, parse_moment
from vigil.rules.spec import Outcome

ACCOUNT = "AWS::::Account"
USER = "AWS::IAM::User"
GROUP = "AWS::IAM::Group"
ROLE = "AWS::IAM::Role"
DETECTOR = "AWS::GuardDuty::Detector"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _document(document: Any) -> Any:
    """A policy document as an object: the store keeps objects; AWS Config's files carry JSON text,
    URL-encoded for IAM."""
    if not isinstance(document, str):
        return document
    text = document if document.lstrip().startswith(("{", "[")) else unquote(document)
    try:
        return json.loads(text)
    except ValueError as exc:
        # the evaluator turns this into INSUFFICIENT_DATA with the reason, never a verdict
        raise ValueError(f"the policy document is neither JSON nor URL-encoded JSON ({exc})") from exc


def statements(document: Any) -> Iterator[Mapping[str, Any]]:
    document = _document(document)
    if isinstance(document, Mapping):
        for statement in _list(document.get("Statement")):
            if isinstance(statement, Mapping):
                yield statement


def default_document(config: Mapping[str, Any]) -> Any:
    for version in config.get("policyVersionList") or []:
        if version.get("isDefaultVersion"):
            return version.get("document")
    return None


def _config(env: Env) -> Mapping[str, Any]:
    return env.doc.get("configuration") or {}


def _supplementary(env: Env) -> Mapping[str, Any]:
    return env.doc.get("supplementaryConfiguration") or {}


def _truthy(value: Any) -> bool:
    """A boolean parameter, also in AWS Config's string form ("True", "false")."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


# -- customer managed policies -------------------------------------------------------------------


def _boundary_excluded(env: Env) -> Outcome | None:
    """``excludePermissionBoundaryPolicy``: a policy used as a permissions boundary is not evaluated."""
    used = _config(env).get("permissionsBoundaryUsageCount") or 0
    if _truthy(env.params.get("excludePermissionBoundaryPolicy")) and used:
        return Outcome(True, f"the policy is a permissions boundary of {used} entities", applicable=False)
    return None


def policy_no_admin_access(env: Env) -> Outcome:
    """A customer managed policy whose default version allows every action on every resource."""
    excluded = _boundary_excluded(env)
    if excluded:
        return excluded
    for statement in statements(default_document(_config(env))):
        if statement.get("Effect") != "Allow":
            continue
        actions = _list(statement.get("Action"))
        if any(a in ("*", "*:*") for a in actions) and "*" in _list(statement.get("Resource")):
            return Outcome(False, 'the default version allows Action "*" on Resource "*"')
    return Outcome(True)


def policy_no_full_service_access(env: Env) -> Outcome:
    """A customer managed policy whose default version allows ``<service>:*``."""
    excluded = _boundary_excluded(env)
    if excluded:
        return excluded
    for statement in statements(default_document(_config(env))):
        if statement.get("Effect") != "Allow":
            continue
        for action in _list(statement.get("Action")):
            if isinstance(action, str) and action.endswith(":*") and action != "*:*":
                return Outcome(False, f"the default version allows {action}")
    return Outcome(True)


# -- KMS actions on all keys -----------------------------------------------------------------------


def _patterns(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(p).strip() for p in items if str(p).strip()]


def _action_overlaps(granted: str, blocked: str) -> bool:
    """Whether an action pattern a policy grants covers a blocked one (both may carry wildcards)."""
    g, b = granted.lower(), blocked.lower()
    return fnmatch.fnmatchcase(b, g) or fnmatch.fnmatchcase(g, b)


def _all_kms_keys(resource: Any) -> bool:
    """``*``, or a KMS ARN pattern whose key part is a wildcard (every key it reaches)."""
    if not isinstance(resource, str):
        return False
    if resource == "*":
        return True
    if resource in ("arn:aws:kms:*", "arn:*:kms:*"):
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[2] in ("kms", "*") and parts[5] in ("*", "key/*")


def blocked_kms_grant(document: Any, blocked: list[str]) -> str | None:
    """The first Allow statement granting a blocked KMS action on all keys, said in words."""
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        resources = [r for r in _list(statement.get("Resource")) if _all_kms_keys(r)]
        if not resources:
            continue
        for action in _list(statement.get("Action")):
            if not isinstance(action, str):
                continue
            hit = next((b for b in blocked if _action_overlaps(action, b)), None)
            if hit:
                return f'allows {action} on Resource "{resources[0]}" (blocked: {hit})'
    return None


def customer_policy_blocked_kms_actions(env: Env) -> Outcome:
    excluded = _boundary_excluded(env)
    if excluded:
        return excluded
    blocked = _patterns(env.params.get("blockedActionsPatterns"))
    found = blocked_kms_grant(default_document(_config(env)), blocked)
    return Outcome(False, f"the default version {found}") if found else Outcome(True)


INLINE_KEYS = ("userPolicyList", "rolePolicyList", "groupPolicyList")


def _inline_policies(env: Env) -> list[Mapping[str, Any]]:
    config = _config(env)
    return [p for key in INLINE_KEYS for p in config.get(key) or [] if isinstance(p, Mapping)]


def inline_policy_blocked_kms_actions(env: Env) -> Outcome:
    blocked = _patterns(env.params.get("blockedActionsPatterns"))
    for policy in _inline_policies(env):
        found = blocked_kms_grant(policy.get("policyDocument"), blocked)
        if not found:
            continue
        if env.doc.get("resourceType") == ROLE and _truthy(env.params.get("excludeRoleByManagementAccount")):
            return Outcome(
                False,
                "whether only the management account assumes this role is not recorded",
                insufficient=True,
            )
        return Outcome(False, f"inline policy {policy.get('policyName')} {found}")
    return Outcome(True)


# -- managed policies attached to users, groups and roles ---------------------------------------


def _exceptions(value: Any) -> dict[str, set[str]]:
    """``exceptionList``: ``users:[alice;bob], groups:[admins], roles:[ops]`` (comma-separated)."""
    out: dict[str, set[str]] = {}
    for item in _patterns(value):
        kind, _, names = item.partition(":")
        out.setdefault(kind.strip().lower(), set()).update(
            n.strip() for n in names.strip().strip("[]").split(";") if n.strip()
        )
    return out


_KIND = {USER: "users", GROUP: "groups", ROLE: "roles"}


def policy_blacklisted(env: Env) -> Outcome:
    """No user, group or role has one of ``policyArns`` attached (``exceptionList`` names exceptions)."""
    kind = _KIND.get(str(env.doc.get("resourceType")), "")
    if env.doc.get("resourceName") in _exceptions(env.params.get("exceptionList")).get(kind, set()):
        return Outcome(True, f"{env.doc.get('resourceName')} is in exceptionList", applicable=False)
    banned = set(_patterns(env.params.get("policyArns")))
    for attached in _config(env).get("attachedManagedPolicies") or []:
        if attached.get("policyArn") in banned:
            return Outcome(False, f"{attached.get('policyArn')} is attached (policyArns)")
    return Outcome(True)


USAGE_TYPES = {"IAM_USER": (USER,), "IAM_GROUP": (GROUP,), "IAM_ROLE": (ROLE,), "ANY": (USER, GROUP, ROLE)}


def policy_in_use(env: Env) -> Outcome:
    """The account: ``policyARN`` is attached to at least one user, group or role
    (``policyUsageType``), looked up among the account's recorded IAM resources."""
    arn = str(env.params.get("policyARN") or "")
    usage = str(env.params.get("policyUsageType") or "ANY").upper()
    if usage not in USAGE_TYPES:
        return Outcome(False, f"policyUsageType {usage!r} is not one of {', '.join(USAGE_TYPES)}")
    account = env.doc.get("accountId")
    for resource_type in USAGE_TYPES[usage]:
        for item in env.lookup(resource_type, None):
            if item.get("accountId") != account:
                continue
            attached = (item.get("configuration") or {}).get("attachedManagedPolicies") or []
            if any(a.get("policyArn") == arn for a in attached):
                return Outcome(True)
    who = {"ANY": "user, group or role"}.get(usage, usage.removeprefix("IAM_").lower())
    return Outcome(False, f"no {who} has {arn} attached (policyARN)")


# -- users' credentials --------------------------------------------------------------------------


def _days(env: Env, value: Any) -> int | None:
    moment = parse_moment(value)
    return None if moment is None else (env.now - moment).days


def user_unused_credentials(env: Env) -> Outcome:
    """A console password or an active access key not used within ``maxCredentialUsageAge`` days.
    A credential never used counts from when it was set (password changed, key created)."""
    limit = int(env.params.get("maxCredentialUsageAge") or 90)
    supplementary = _supplementary(env)
    created = _config(env).get("createDate")
    found: list[str] = []
    login = supplementary.get("LoginProfile") or {}
    if login.get("passwordEnabled"):
        used = _days(env, login.get("passwordLastUsed"))
        since = _days(env, login.get("passwordLastChanged") or created)
        if used is not None and used > limit:
            found.append(f"the console password was last used {used} days ago")
        elif used is None and since is not None and since > limit:
            found.append(f"the console password was never used and was set {since} days ago")
    for key in supplementary.get("AccessKeys") or []:
        if not key.get("active"):
            continue
        used = _days(env, key.get("lastUsedDate"))
        since = _days(env, key.get("lastRotated") or created)
        if used is not None and used > limit:
            found.append(f"access key {key.get('slot')} was last used {used} days ago")
        elif used is None and since is not None and since > limit:
            found.append(f"access key {key.get('slot')} was never used and was created {since} days ago")
    if found:
        return Outcome(False, "; ".join(found) + f" (maxCredentialUsageAge {limit})")
    return Outcome(True)


# -- the account item ----------------------------------------------------------------------------


def unavailable(env: Env, fact: str) -> Outcome | None:
    """INSUFFICIENT_DATA when the account item says ``fact`` could not be read."""
    missing = (_supplementary(env).get("Unavailable") or {}).get(fact[:1].upper() + fact[1:])
    if missing is None:
        return None
    why = f"{missing.get('code')}: {missing.get('message')}" if isinstance(missing, Mapping) else missing
    return Outcome(False, f"{fact} could not be read ({why})", insufficient=True)


AccountCheck = Callable[[Env, Any], Outcome]


def account_fact(fact: str) -> Callable[[AccountCheck], Callable[[Env], Outcome]]:
    """A check on one fact of the account item, INSUFFICIENT_DATA when the fact could not be read."""

    def wrap(check: AccountCheck) -> Callable[[Env], Outcome]:
        def run(env: Env) -> Outcome:
            return unavailable(env, fact) or check(env, _config(env).get(fact))

        run.__doc__ = check.__doc__
        return run

    return wrap


PASSWORD_BOOLEANS = (
    ("RequireUppercaseCharacters", "requireUppercaseCharacters", "upper-case letters"),
    ("RequireLowercaseCharacters", "requireLowercaseCharacters", "lower-case letters"),
    ("RequireSymbols", "requireSymbols", "symbols"),
    ("RequireNumbers", "requireNumbers", "numbers"),
)


@account_fact("passwordPolicy")
def password_policy(env: Env, policy: Any) -> Outcome:
    """Every parameter of IAM_PASSWORD_POLICY at once; a boolean parameter false asks for nothing."""
    if not isinstance(policy, Mapping):
        return Outcome(False, "the account has no IAM password policy")
    short: list[str] = []
    for param, key, what in PASSWORD_BOOLEANS:
        if _truthy(env.params.get(param)) and not policy.get(key):
            short.append(f"{key} is {json.dumps(policy.get(key))} ({param}: {what} required)")
    length, wanted = policy.get("minimumPasswordLength"), env.params.get("MinimumPasswordLength")
    if wanted is not None and (length or 0) < int(wanted):
        short.append(f"minimumPasswordLength is {length}, at least {wanted} required")
    reuse, wanted = policy.get("passwordReusePrevention"), env.params.get("PasswordReusePrevention")
    if wanted is not None and (reuse or 0) < int(wanted):
        short.append(f"passwordReusePrevention is {reuse}, at least {wanted} required")
    age, wanted = policy.get("maxPasswordAge"), env.params.get("MaxPasswordAge")
    if wanted is not None:
        if not age or policy.get("expirePasswords") is False:
            short.append(f"passwords never expire, at most {wanted} days required")
        elif int(age) > int(wanted):
            short.append(f"maxPasswordAge is {age}, at most {wanted} required")
    return Outcome(False, "; ".join(short)) if short else Outcome(True)


EXTERNAL_ANALYZERS = ("ACCOUNT", "ORGANIZATION")


@account_fact("accessAnalyzers")
def external_access_analyzer(env: Env, analyzers: Any) -> Outcome:
    """An active IAM Access Analyzer for external access (type ACCOUNT or ORGANIZATION) in the region."""
    listed = _list(analyzers)
    for analyzer in listed:
        if analyzer.get("type") in EXTERNAL_ANALYZERS and analyzer.get("status") == "ACTIVE":
            return Outcome(True)
    region = env.doc.get("awsRegion")
    if not listed:
        return Outcome(False, f"accessAnalyzers is [] in {region}: no analyzer")
    said = ", ".join(f"{a.get('name')} ({a.get('type')}, {a.get('status')})" for a in listed)
    return Outcome(False, f"no active external access analyzer in {region}: {said}")


@account_fact("securityHub")
def security_hub_enabled(env: Env, hub: Any) -> Outcome:
    if isinstance(hub, Mapping) and hub.get("enabled"):
        return Outcome(True)
    return Outcome(
        False, f"Security Hub is not enabled in {env.doc.get('awsRegion')} (securityHub.enabled false)"
    )


@account_fact("guardDutyDetectorIds")
def guardduty_enabled(env: Env, detector_ids: Any) -> Outcome:
    """A GuardDuty detector in the region, enabled where its item is recorded. With
    ``CentralMonitoringAccount`` set (and not this account), the administrator account a detector
    reports to is not recorded: INSUFFICIENT_DATA rather than a guess."""
    region = env.doc.get("awsRegion")
    ids = [str(d) for d in _list(detector_ids)]
    if not ids:
        return Outcome(False, f"guardDutyDetectorIds is [] in {region}: GuardDuty is not enabled")
    recorded = {
        d.get("resourceId"): d
        for d in env.lookup(DETECTOR, region)
        if d.get("accountId") == env.doc.get("accountId")
    }
    statuses = {i: (recorded[i].get("configuration") or {}).get("status") for i in ids if i in recorded}
    if statuses and all(s not in (None, "ENABLED") for s in statuses.values()):
        detector, status = next(iter(statuses.items()))
        return Outcome(False, f"detector {detector} in {region} is {status}")
    central = str(env.params.get("CentralMonitoringAccount") or "").strip()
    if central and central != env.doc.get("accountId"):
        return Outcome(
            False,
            f"whether the detector reports to {central} (CentralMonitoringAccount) is not recorded",
            insufficient=True,
        )
    return Outcome(True)


PUBLIC_ACCESS_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@account_fact("s3PublicAccessBlock")
def s3_account_public_access_blocks(env: Env, blocks: Any) -> Outcome:
    """Each of the four settings whose parameter is True (the default) is on at the account level."""
    wanted = [p for p in PUBLIC_ACCESS_BLOCKS if _truthy(env.params.get(p, "True"))]
    if not isinstance(blocks, Mapping):
        if not wanted:
            return Outcome(True)
        return Outcome(
            False, "the account has no S3 Block Public Access configuration (s3PublicAccessBlock null)"
        )
    off = [p for p in wanted if not (blocks.get(p[:1].lower() + p[1:]) or blocks.get(p))]
    if off:
        return Outcome(False, f"account-level {', '.join(off)} {'is' if len(off) == 1 else 'are'} off")
    return Outcome(True)


@account_fact("alternateContacts")
def security_contact(env: Env, contacts: Any) -> Outcome:
    security = contacts.get("security") if isinstance(contacts, Mapping) else None
    if not isinstance(security, Mapping):
        return Outcome(False, "alternateContacts.security is not set")
    missing = [k for k in ("emailAddress", "phoneNumber") if not security.get(k)]
    if missing:
        return Outcome(False, f"the security contact has no {' or '.join(missing)}")
    return Outcome(True)


# -- GuardDuty protection plans ------------------------------------------------------------------


def guardduty_feature(feature: str, data_source: str | None = None) -> Callable[[Env], Outcome]:
    """A detector (enabled) with the protection plan ``feature`` (``features[].name``) ENABLED; a
    detector that lists no features (older API answers, the emulator) is read from its
    ``dataSources.<data_source>.status`` where the plan has one."""

    def check(env: Env) -> Outcome:
        config = _config(env)
        detector = config.get("detectorId") or env.doc.get("resourceId")
        status = config.get("status")
        if status != "ENABLED":
            return Outcome(
                False, f"detector {detector} is {status or 'not enabled'} (status {json.dumps(status)})"
            )
        for entry in _list(config.get("features")):
            if isinstance(entry, Mapping) and entry.get("name") == feature:
                if entry.get("status") == "ENABLED":
                    return Outcome(True)
                return Outcome(
                    False, f"features {feature} status is {json.dumps(entry.get('status'))}, expected ENABLED"
                )
        if data_source:
            source = (config.get("dataSources") or {}).get(data_source)
            if isinstance(source, Mapping):
                if source.get("status") == "ENABLED":
                    return Outcome(True)
                return Outcome(
                    False,
                    f"dataSources.{data_source}.status is {json.dumps(source.get('status'))}, expected ENABLED",
                )
        return Outcome(
            False, f"the detector does not list the {feature} feature: the protection plan is not enabled"
        )

    check.__doc__ = f"The detector has GuardDuty's {feature} protection plan enabled."
    return check


# -- resource policies open to everyone ----------------------------------------------------------

# Condition keys that, compared with fixed values, limit a statement to known accounts, networks or
# sources (what AWS Config's *_NO_PUBLIC_ACCESS rules accept as "not public").
RESTRICTING_KEYS = frozenset(
    {
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:userid",
        "aws:username",
        "kms:calleraccount",
    }
)
RESTRICTING_OPERATORS = (
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "IpAddress",
)


def _fixed(value: Any) -> bool:
    """A condition value that names something: no wildcard, no policy variable, not 0.0.0.0/0."""
    text = str(value)
    return bool(text) and not any(c in text for c in "*?") and "${" not in text and not text.endswith("/0")


def _restricted(statement: Mapping[str, Any]) -> bool:
    """The statement's Condition limits it to fixed accounts, sources or networks."""
    for operator, block in (statement.get("Condition") or {}).items():
        name = str(operator).removeprefix("ForAnyValue:")
        if name not in RESTRICTING_OPERATORS or not isinstance(block, Mapping):
            continue  # negated operators, …IfExists and ForAllValues restrict nothing for sure
        for key, value in block.items():
            values = _list(value)
            if str(key).lower() in RESTRICTING_KEYS and values and all(_fixed(v) for v in values):
                return True
    return False


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(
            isinstance(p, str) and (p == "*" or (p.startswith("arn:") and p.split(":")[4:5] == ["*"]))
            for k in ("AWS", "CanonicalUser")
            for p in _list(principal.get(k))
        )
    return False


def public_statement(document: Any) -> str | None:
    """The first Allow statement of a resource policy that grants to everyone (``*`` principal, or
    NotPrincipal) without a condition limiting it to fixed accounts or sources, said in words."""
    for i, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            who = f"everyone but {json.dumps(statement.get('NotPrincipal'))}"
        elif _everyone(statement.get("Principal")):
            who = f"Principal {json.dumps(statement.get('Principal'))}"
        else:
            continue
        if _restricted(statement):
            continue
        actions = statement.get("Action", statement.get("NotAction"))
        sid = statement.get("Sid")
        named = f"statement {json.dumps(sid)}" if sid else f"Statement[{i}]"
        return f"{named} allows {json.dumps(actions)} to {who} with no condition limiting who"
    return None


def kms_key_policy_no_public_access(env: Env) -> Outcome:
    policy = (_supplementary(env).get("KeyPolicy") or {}).get("policyText")
    if policy is None:
        return Outcome(False, "the key policy was not recorded", insufficient=True)
    found = public_statement(policy)
    return Outcome(False, f"the key policy's {found}") if found else Outcome(True)


CHECKS = {
    "iam-policy-no-admin-access": policy_no_admin_access,
    "iam-policy-no-full-service-access": policy_no_full_service_access,
    "iam-customer-policy-blocked-kms-actions": customer_policy_blocked_kms_actions,
    "iam-inline-policy-blocked-kms-actions": inline_policy_blocked_kms_actions,
    "iam-policy-blacklisted": policy_blacklisted,
    "iam-policy-in-use": policy_in_use,
    "iam-user-unused-credentials": user_unused_credentials,
    "iam-password-policy": password_policy,
    "iam-external-access-analyzer-enabled": external_access_analyzer,
    "securityhub-enabled": security_hub_enabled,
    "guardduty-enabled": guardduty_enabled,
    "s3-account-public-access-blocks": s3_account_public_access_blocks,
    "security-contact-registered": security_contact,
    "guardduty-s3-protection": guardduty_feature("S3_DATA_EVENTS", "s3Logs"),
    "guardduty-rds-protection": guardduty_feature("RDS_LOGIN_EVENTS"),
    "kms-key-policy-no-public-access": kms_key_policy_no_public_access,
}
