"""Applications and data: RDS, a load balancer, Lambda, EFS, each inside one copy's network.

The mistakes a security engineer should find:
  * ``orders-db-<i>`` is publicly accessible and unencrypted, and its manual snapshot can be restored
    by anyone (``restore`` attribute ``all``); ``ledger-db-0`` (first copy only) is the good example;
  * the internet-facing ``web-alb-<i>`` listens on HTTP:80 and forwards there, with no redirect to
    HTTPS;
  * the function ``orders-webhook-<i>`` may be invoked by anyone (``Principal: "*"``);
  * the file system ``shared-<i>`` is unencrypted.
Nothing is invoked or started: the emulator runs no code.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from vigil.demo.estate.model import ClientFactory, Net, RegionEstate, tag_list

DB_PASSWORD = "demo-only-not-a-secret-1"  # the emulator's databases accept any password
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _handler_zip() -> bytes:
    """A deployment package with one handler (never run: the demo invokes nothing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'statusCode': 202}\n")
    return buffer.getvalue()


HANDLER_ZIP = _handler_zip()


def seed_databases(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """A public, unencrypted instance with a public manual snapshot; in the first copy an encrypted
    private one, with the copy's rotated KMS key."""
    rds, i = client("rds", net.region), net.i
    group = f"app-db-{i}"
    rds.create_db_subnet_group(
        DBSubnetGroupName=group,
        DBSubnetGroupDescription=f"application databases {i}",
        SubnetIds=[net.public_subnet, net.private_subnet],
        Tags=tag_list(env=net.env),
    )

    def instance(name: str, public: bool, **extra: Any) -> None:
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword=DB_PASSWORD,
            PubliclyAccessible=public,
            DBSubnetGroupName=group,
            VpcSecurityGroupIds=[net.groups["db"]],
            Tags=tag_list(env=net.env, owner=net.owner, data_classification="confidential"),
            **extra,
        )

    public = f"orders-db-{i}"
    instance(public, True, StorageEncrypted=False)
    snapshot = f"{public}-before-migration"
    rds.create_db_snapshot(
        DBSnapshotIdentifier=snapshot, DBInstanceIdentifier=public, Tags=tag_list(env=net.env)
    )
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier=snapshot, AttributeName="restore", ValuesToAdd=["all"]
    )
    if i == 0:
        instance("ledger-db-0", False, StorageEncrypted=True, KmsKeyId=out.keys["rotated"])
        out.db_instances = {"public": public, "private": "ledger-db-0"}
        out.db_snapshots = {"public": snapshot}


def seed_load_balancer(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """An internet-facing ALB over both subnets (ALBs need two zones) with HTTP:80 forwarding to the
    web instance."""
    elb, i = client("elbv2", net.region), net.i
    lb = elb.create_load_balancer(
        Name=f"web-alb-{i}",
        Subnets=[net.public_subnet, net.private_subnet],
        SecurityGroups=[net.groups["web"]],
        Scheme="internet-facing",
        Type="application",
        Tags=tag_list(env=net.env, owner=net.owner),
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(
        Name=f"web-{i}",
        Protocol="HTTP",
        Port=80,
        VpcId=net.vpc,
        TargetType="instance",
        HealthCheckPath="/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": net.instances["web"], "Port": 80}])
    elb.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    if i == 0:
        out.load_balancers = {"web": lb}
        out.target_groups = {"web": group}


def seed_functions(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """A webhook function, with its own execution role, that anyone may invoke."""
    region, i = net.region, net.i
    role = client("iam", region).create_role(
        RoleName=f"orders-webhook-{region}-{i}",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        Tags=tag_list(env=net.env),
    )["Role"]["Arn"]
    name = f"orders-webhook-{i}"
    functions = client("lambda", region)
    functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": HANDLER_ZIP},
        Environment={"Variables": {"STAGE": net.env}},
        Tags={"env": net.env, "owner": net.owner},
    )
    functions.add_permission(
        FunctionName=name, StatementId="public-invoke", Action="lambda:InvokeFunction", Principal="*"
    )
    if i == 0:
        out.functions = {"public_invoke": name}


def seed_file_systems(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """An unencrypted shared file system mounted in the private subnet."""
    efs, i = client("efs", net.region), net.i
    fs = efs.create_file_system(
        CreationToken=f"shared-{i}",
        PerformanceMode="generalPurpose",
        Encrypted=False,
        Tags=tag_list(Name=f"shared-{i}", env=net.env, data_classification="internal"),
    )["FileSystemId"]
    efs.create_mount_target(FileSystemId=fs, SubnetId=net.private_subnet, SecurityGroups=[net.groups["db"]])
    if i == 0:
        out.file_systems = {"shared": fs}
