"""IAM: users, groups, roles and customer-managed policies (global resources, ``awsRegion:
"global"``), and the account-wide IAM facts the ``AWS::::Account`` item carries.

One ``GetAccountAuthorizationDetails`` listing gives users, groups, roles and policies with their inline
and attached policies and every policy version, in the shape AWS Config records them. The credential
report (generated once per scan) adds what users' rules need: console password, MFA, access keys'
rotation and last use. As AWS Config does, ``resourceId`` is the unique id (``AIDA…``, ``AROA…``,
``AGPA…``, ``ANPA…``) and ``resourceName`` the name; both, and the ARN, select a resource for re-recording.

Policy documents are kept as JSON objects (AWS Config URL-encodes them; export converts).
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.model import GLOBAL_REGION, Relationship

USER = "AWS::IAM::User"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
GROUP = "AWS::IAM::Group"

CREDENTIAL_REPORT_WAIT_S = 30.0

# Fields of the credential report that change with use, not with configuration.
USER_VOLATILE = (
    "supplementaryConfiguration.LoginProfile.passwordLastUsed",
    "supplementaryConfiguration.AccessKeys[*].lastUsedDate",
    "supplementaryConfiguration.AccessKeys[*].lastUsedRegion",
    "supplementaryConfiguration.AccessKeys[*].lastUsedService",
)
ROLE_VOLATILE = ("configuration.roleLastUsed",)


def authorization_details(fx: Fetch) -> dict[str, list[dict[str, Any]]]:
    """Users, roles, groups and local policies, one paginated listing for the scan."""

    def fetch() -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "UserDetailList": [],
            "RoleDetailList": [],
            "GroupDetailList": [],
            "Policies": [],
        }
        paginator = fx.client("iam").get_paginator("get_account_authorization_details")
        for page in paginator.paginate(Filter=["User", "Role", "Group", "LocalManagedPolicy"]):
            for key in out:
                out[key].extend(page.get(key, []))
        # AWS's ManagedPolicyDetail carries PolicyName and PolicyId; moto's omits both, so they are
        # joined in from ListPolicies (one more call), which both have.
        listed = {p["Arn"]: p for p in fx.items("iam", None, "list_policies", "Policies", Scope="Local")}
        out["Policies"] = [
            {
                "PolicyName": listed.get(p["Arn"], {}).get("PolicyName"),
                "PolicyId": listed.get(p["Arn"], {}).get("PolicyId"),
                **p,
            }
            for p in out["Policies"]
            if p["Arn"] in listed or p.get("PolicyId")
        ]
        return out

    return fx.memo(("iam", "authorization_details"), fetch)


_NULLS = frozenset({"N/A", "no_information", "not_supported", ""})


def _typed(value: str) -> Any:
    if value in _NULLS:
        return None
    if value in ("true", "false"):
        return value == "true"
    return value


def parse_credential_report(content: str) -> list[dict[str, Any]]:
    """The credential report CSV → rows keyed by AWS's column names, with booleans and nulls typed."""
    return [{k: _typed(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(content))]


def credential_report(fx: Fetch) -> list[dict[str, Any]]:
    """Generate (or reuse, AWS keeps one for 4 hours) the credential report, then read it."""

    def fetch() -> list[dict[str, Any]]:
        iam = fx.client("iam")
        deadline = time.monotonic() + CREDENTIAL_REPORT_WAIT_S
        pause = 0.05
        while iam.generate_credential_report()["State"] != "COMPLETE":
            if time.monotonic() > deadline:
                raise TimeoutError("the IAM credential report was not ready within 30 s")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
        content = iam.get_credential_report()["Content"]
        return parse_credential_report(content.decode() if isinstance(content, bytes) else content)

    return fx.memo(("iam", "credential_report"), fetch)


def virtual_mfa_devices(fx: Fetch) -> list[dict[str, Any]]:
    return fx.items("iam", None, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned")


def _policy_rels(fx: Fetch, attached: list[dict[str, Any]]) -> list[Relationship]:
    """Attached customer-managed policies (AWS-managed ones are not recorded resources)."""
    by_arn = {p["Arn"]: p for p in authorization_details(fx)["Policies"]}
    return [
        rel(
            POLICY,
            by_arn[a["PolicyArn"]]["PolicyId"],
            "Is attached to CustomerManagedPolicy",
            a.get("PolicyName"),
        )
        for a in attached
        if a.get("PolicyArn") in by_arn
    ]


def _user_credentials(row: dict[str, Any] | None, mfa_serials: list[str]) -> dict[str, Any]:
    row = row or {}
    keys = []
    for slot in (1, 2):
        if not row.get(f"access_key_{slot}_active") and row.get(f"access_key_{slot}_last_rotated") is None:
            continue  # no key in this slot
        keys.append(
            {
                "slot": slot,
                "active": bool(row.get(f"access_key_{slot}_active")),
                "lastRotated": row.get(f"access_key_{slot}_last_rotated"),
                "lastUsedDate": row.get(f"access_key_{slot}_last_used_date"),
                "lastUsedRegion": row.get(f"access_key_{slot}_last_used_region"),
                "lastUsedService": row.get(f"access_key_{slot}_last_used_service"),
            }
        )
    return {
        "LoginProfile": {
            "passwordEnabled": bool(row.get("password_enabled")),
            "passwordLastChanged": row.get("password_last_changed"),
            "passwordLastUsed": row.get("password_last_used"),
        },
        "MfaActive": bool(row.get("mfa_active")),
        "VirtualMfaDevices": sorted(mfa_serials),
        "AccessKeys": keys,
    }


def collect_users(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    users = [
        u
        for u in authorization_details(fx)["UserDetailList"]
        if wanted(ids, u["UserId"], u["UserName"], u["Arn"])
    ]
    if not users:
        return batch
    report = {row["user"]: row for row in credential_report(fx)}
    serials: dict[str, list[str]] = {}
    for device in virtual_mfa_devices(fx):
        user_name = (device.get("User") or {}).get("UserName")
        if user_name:
            serials.setdefault(user_name, []).append(device["SerialNumber"])
    groups = {g["GroupName"]: g for g in authorization_details(fx)["GroupDetailList"]}
    for user in users:
        name = user["UserName"]
        rels = _policy_rels(fx, user.get("AttachedManagedPolicies", []))
        rels += [
            rel(GROUP, groups[g]["GroupId"], "Is attached to Group", g)
            for g in user.get("GroupList", [])
            if g in groups
        ]
        batch.cis.append(
            make_ci(
                fx,
                USER,
                GLOBAL_REGION,
                user["UserId"],
                name=name,
                arn=user["Arn"],
                configuration=to_config(user),
                tags=tag_map(user.get("Tags")),
                relationships=rels,
                supplementary=_user_credentials(report.get(name), serials.get(name, [])),
                created=user.get("CreateDate"),
            )
        )
    return batch


def collect_roles(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    for role in authorization_details(fx)["RoleDetailList"]:
        if not wanted(ids, role["RoleId"], role["RoleName"], role["Arn"]):
            continue
        batch.cis.append(
            make_ci(
                fx,
                ROLE,
                GLOBAL_REGION,
                role["RoleId"],
                name=role["RoleName"],
                arn=role["Arn"],
                configuration=to_config(role),
                tags=tag_map(role.get("Tags")),
                relationships=_policy_rels(fx, role.get("AttachedManagedPolicies", [])),
                created=role.get("CreateDate"),
            )
        )
    return batch


def _attachments(fx: Fetch, policy_arn: str) -> list[Relationship]:
    details = authorization_details(fx)
    rels = []
    for kind, key, id_key, name_key in (
        (USER, "UserDetailList", "UserId", "UserName"),
        (ROLE, "RoleDetailList", "RoleId", "RoleName"),
        (GROUP, "GroupDetailList", "GroupId", "GroupName"),
    ):
        short = kind.split("::")[-1]
        rels += [
            rel(kind, item[id_key], f"Is attached to {short}", item[name_key])
            for item in details[key]
            if any(a.get("PolicyArn") == policy_arn for a in item.get("AttachedManagedPolicies", []))
        ]
    return rels


def collect_policies(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    selected = [
        p
        for p in authorization_details(fx)["Policies"]
        if wanted(ids, p["PolicyId"], p["PolicyName"], p["Arn"])
    ]
    all_tags = fx.parallel(lambda p: _policy_tags(fx, p["Arn"]), selected)
    for policy, tags in zip(selected, all_tags, strict=True):
        batch.cis.append(
            make_ci(
                fx,
                POLICY,
                GLOBAL_REGION,
                policy["PolicyId"],
                name=policy["PolicyName"],
                arn=policy["Arn"],
                configuration=to_config(policy),
                tags=tags,
                relationships=_attachments(fx, policy["Arn"]),
                created=policy.get("CreateDate"),
            )
        )
    return batch


def _policy_tags(fx: Fetch, arn: str) -> dict[str, str]:
    return tag_map(fx.client("iam").list_policy_tags(PolicyArn=arn).get("Tags"))


def collect_groups(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    """Groups with their inline and attached policies, from the same listing as users (no call per
    group). Members are read off the users' ``GroupList`` (a group's detail does not name them); each
    side says ``Is attached to`` the other."""
    details = authorization_details(fx)
    members: dict[str, list[dict[str, Any]]] = {}
    for user in details["UserDetailList"]:
        for group_name in user.get("GroupList", []):
            members.setdefault(group_name, []).append(user)
    batch = Batch()
    for group in details["GroupDetailList"]:
        name = group["GroupName"]
        if not wanted(ids, group["GroupId"], name, group["Arn"]):
            continue
        rels = _policy_rels(fx, group.get("AttachedManagedPolicies", []))
        rels += [rel(USER, u["UserId"], "Is attached to User", u["UserName"]) for u in members.get(name, [])]
        batch.cis.append(
            make_ci(
                fx,
                GROUP,
                GLOBAL_REGION,
                group["GroupId"],
                name=name,
                arn=group["Arn"],
                configuration=to_config(group),
                relationships=rels,
                created=group.get("CreateDate"),
            )
        )
    return batch
