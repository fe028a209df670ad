"""Identity: the password policy, IAM users, groups, roles, policies and an instance profile."""

from __future__ import annotations

import json
from typing import Any

from vigil.demo.estate.model import OWNERS, Estate
from vigil.demo.estate.network import FLOW_LOGS_ROLE

ADMINS_INLINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:*", "sts:AssumeRole"], "Resource": "*"}],
}


def seed_iam(iam: Any, n: int, estate: Estate) -> None:
    iam.update_account_password_policy(
        MinimumPasswordLength=8,
        RequireSymbols=False,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=180,
        PasswordReusePrevention=3,
    )
    admin_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    read_doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
    }
    estate.policies["admin-everything"] = iam.create_policy(
        PolicyName="admin-everything",
        PolicyDocument=json.dumps(admin_doc),
        Tags=[{"Key": "owner", "Value": "legacy"}],
    )["Policy"]["Arn"]
    estate.policies["s3-read"] = iam.create_policy(
        PolicyName="s3-read", PolicyDocument=json.dumps(read_doc), Description="read objects"
    )["Policy"]["Arn"]
    estate.groups["developers"] = iam.create_group(GroupName="developers")["Group"]["GroupName"]
    iam.attach_group_policy(GroupName="developers", PolicyArn=estate.policies["s3-read"])

    people = ["alice", "bob", "ci-deploy"] + [f"dev-{k}" for k in range(1, 2 * n)]
    for name in people:
        iam.create_user(UserName=name, Tags=[{"Key": "owner", "Value": OWNERS[len(name) % len(OWNERS)]}])
        estate.users[name] = name
    for name in ("alice", "bob", *people[3:]):
        iam.create_login_profile(UserName=name, Password="Correct-Horse-9!")
    for name in ("bob", "ci-deploy"):
        iam.create_access_key(UserName=name)
    iam.add_user_to_group(GroupName="developers", UserName="alice")
    iam.attach_user_policy(UserName="bob", PolicyArn=estate.policies["admin-everything"])
    # Admin rights through a group as well, with an inline policy nobody reviews: bob again.
    estate.groups["admins"] = iam.create_group(GroupName="admins")["Group"]["GroupName"]
    iam.attach_group_policy(GroupName="admins", PolicyArn=estate.policies["admin-everything"])
    iam.put_group_policy(
        GroupName="admins", PolicyName="manage-iam", PolicyDocument=json.dumps(ADMINS_INLINE_POLICY)
    )
    iam.add_user_to_group(GroupName="admins", UserName="bob")
    for name in ("alice", *people[3::2]):
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")["VirtualMFADevice"][
            "SerialNumber"
        ]
        iam.enable_mfa_device(
            UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
        )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    estate.roles["app"] = iam.create_role(
        RoleName="app-instance-role",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "env", "Value": "prod"}],
    )["Role"]["RoleName"]
    iam.attach_role_policy(RoleName="app-instance-role", PolicyArn=estate.policies["s3-read"])
    iam.create_instance_profile(InstanceProfileName="app-instance-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-instance-profile", RoleName="app-instance-role")
    audit_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{estate.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    flow_logs_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    estate.roles["flow_logs"] = iam.create_role(
        RoleName=FLOW_LOGS_ROLE, AssumeRolePolicyDocument=json.dumps(flow_logs_trust)
    )["Role"]["RoleName"]
    delivery = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": "arn:aws:logs:*:*:log-group:/vigil/flow-logs/*",
            }
        ],
    }
    iam.put_role_policy(
        RoleName=FLOW_LOGS_ROLE, PolicyName="deliver-flow-logs", PolicyDocument=json.dumps(delivery)
    )
    estate.roles["audit"] = iam.create_role(
        RoleName="vigil-audit", AssumeRolePolicyDocument=json.dumps(audit_trust)
    )["Role"]["RoleName"]
