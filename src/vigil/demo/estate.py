"""The sample estate: a small, realistic AWS account with realistic mistakes, built through boto3.

``seed(clients, regions, n)`` creates, in every region and ``n`` times over (the scale factor used
by the tests and benchmarks), a VPC with a public and a private subnet, an internet gateway, route
tables, a network ACL that denies before it allows, security groups, instances, volumes and an extra
network interface; per region KMS keys and S3 buckets; once, IAM users, groups, roles, policies, a
password policy and CloudTrail trails. Tags carry ``env``, ``owner``, ``data-classification``.

The mistakes a security engineer should find:
  * ``ssh-open`` allows 22/tcp from 0.0.0.0/0; ``rdp-open`` 3389/tcp from 0.0.0.0/0;
  * the web instance allows IMDSv1 (``HttpTokens: optional``); the bastion has a public IP;
  * a volume is unencrypted and unattached, another unencrypted and attached;
  * a bucket is public (ACL ``public-read``, no public access block) and one has no default encryption;
  * user ``bob`` has a console password and an access key but no MFA, and the customer policy
    ``admin-everything`` (``Action "*"`` on ``Resource "*"``) attached;
  * the password policy wants 8 characters; EBS encryption by default is off in the second region;
  * a KMS key without rotation; a single-region trail without log file validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

ClientFactory = Callable[[str, str], Any]

OWNERS = ("platform-team", "payments-team", "data-team")
AMI = "ami-0abcdef1234567890"


def _tags(resource_type: str, **tags: str) -> list[dict[str, Any]]:
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()],
        }
    ]


@dataclass
class RegionEstate:
    region: str
    vpc: str = ""
    igw: str = ""
    public_subnet: str = ""
    private_subnet: str = ""
    public_route_table: str = ""
    private_acl: str = ""
    groups: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    eni: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    trails: dict[str, str] = field(default_factory=dict)


@dataclass
class Estate:
    account_id: str
    n: int
    regions: dict[str, RegionEstate] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> RegionEstate:
        return next(iter(self.regions.values()))


def _network(ec2: Any, region: str, i: int, out: RegionEstate) -> None:
    env = "prod" if i % 2 == 0 else "dev"
    owner = OWNERS[i % len(OWNERS)]
    base = f"10.{(i % 250) + 1}"
    vpc = ec2.create_vpc(
        CidrBlock=f"{base}.0.0/16",
        TagSpecifications=_tags("vpc", Name=f"{env}-vpc-{i}", env=env, owner=owner),
    )["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway(
        TagSpecifications=_tags("internet-gateway", Name=f"{env}-igw-{i}", env=env)
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=f"{base}.1.0/24",
        AvailabilityZone=f"{region}a",
        TagSpecifications=_tags("subnet", Name=f"{env}-public-{i}", env=env, tier="public"),
    )["Subnet"]["SubnetId"]
    private = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=f"{base}.2.0/24",
        AvailabilityZone=f"{region}b",
        TagSpecifications=_tags("subnet", Name=f"{env}-private-{i}", env=env, tier="private"),
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    table = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=_tags("route-table", Name=f"{env}-public-rt-{i}", env=env)
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    acl = ec2.create_network_acl(
        VpcId=vpc, TagSpecifications=_tags("network-acl", Name=f"{env}-private-acl-{i}", env=env)
    )["NetworkAcl"]["NetworkAclId"]
    for number, action, cidr in ((90, "deny", "198.51.100.0/24"), (100, "allow", f"{base}.0.0/16")):
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=number,
            Protocol="6",
            RuleAction=action,
            Egress=False,
            CidrBlock=cidr,
            PortRange={"From": 0, "To": 65535},
        )
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="-1",
        RuleAction="allow",
        Egress=True,
        CidrBlock="0.0.0.0/0",
    )
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [private]}])
    for assoc in current["NetworkAcls"][0]["Associations"]:
        if assoc["SubnetId"] == private:
            ec2.replace_network_acl_association(
                AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl
            )
    if i == 0:
        out.vpc, out.igw, out.public_subnet, out.private_subnet = vpc, igw, public, private
        out.public_route_table, out.private_acl = table, acl

    def group(name: str, description: str, rules: list[dict[str, Any]]) -> str:
        gid = ec2.create_security_group(
            GroupName=f"{name}-{i}",
            Description=description,
            VpcId=vpc,
            TagSpecifications=_tags("security-group", Name=f"{name}-{i}", env=env, owner=owner),
        )["GroupId"]
        if rules:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        return gid

    def tcp(port: int, cidr: str | None = None, source: str | None = None) -> dict[str, Any]:
        rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        if cidr:
            rule["IpRanges"] = [{"CidrIp": cidr, "Description": "managed by demo"}]
        if source:
            rule["UserIdGroupPairs"] = [{"GroupId": source}]
        return rule

    web = group("web", "Public web tier", [tcp(443, "0.0.0.0/0"), tcp(80, "0.0.0.0/0")])
    groups = {
        "web": web,
        "ssh_open": group("ssh-open", "Bastion SSH (open to the world)", [tcp(22, "0.0.0.0/0")]),
        "rdp_open": group("rdp-open", "Windows admin (open to the world)", [tcp(3389, "0.0.0.0/0")]),
        "db": group("db", "Database, from the web tier only", [tcp(5432, source=web)]),
        "admin": group("admin-ssh", "SSH from the office range", [tcp(22, "203.0.113.0/24")]),
    }

    def run(name: str, subnet: str, group_ids: list[str], tokens: str, **extra: Any) -> str:
        return ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet,
            SecurityGroupIds=group_ids,
            MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            TagSpecifications=_tags(
                "instance",
                Name=f"{name}-{i}",
                env=env,
                owner=owner,
                data_classification="internal" if name != "app" else "confidential",
            ),
            **extra,
        )["Instances"][0]["InstanceId"]

    instances = {
        "web": run("web", public, [web], "optional"),
        "app": run("app", private, [groups["db"]], "required"),
        "bastion": run("bastion", public, [groups["ssh_open"], groups["admin"]], "required"),
    }
    az_b, az_a = f"{region}b", f"{region}a"
    volumes = {
        "data_encrypted": ec2.create_volume(
            AvailabilityZone=az_b,
            Size=100,
            Encrypted=True,
            VolumeType="gp3",
            TagSpecifications=_tags(
                "volume", Name=f"app-data-{i}", env=env, data_classification="confidential"
            ),
        )["VolumeId"],
        "scratch_unencrypted": ec2.create_volume(
            AvailabilityZone=az_a,
            Size=20,
            Encrypted=False,
            VolumeType="gp2",
            TagSpecifications=_tags("volume", Name=f"scratch-{i}", env=env),
        )["VolumeId"],
        "logs_unencrypted": ec2.create_volume(
            AvailabilityZone=az_a,
            Size=50,
            Encrypted=False,
            VolumeType="gp2",
            TagSpecifications=_tags("volume", Name=f"web-logs-{i}", env=env, data_classification="internal"),
        )["VolumeId"],
    }
    ec2.attach_volume(VolumeId=volumes["data_encrypted"], InstanceId=instances["app"], Device="/dev/sdf")
    ec2.attach_volume(VolumeId=volumes["logs_unencrypted"], InstanceId=instances["web"], Device="/dev/sdg")
    eni = ec2.create_network_interface(
        SubnetId=private,
        Groups=[groups["db"]],
        Description=f"spare interface {i}",
        TagSpecifications=_tags("network-interface", Name=f"spare-eni-{i}", env=env),
    )["NetworkInterface"]["NetworkInterfaceId"]
    if i == 0:
        out.groups, out.instances, out.volumes, out.eni = groups, instances, volumes, eni


def _keys(kms: Any, i: int, out: RegionEstate) -> None:
    rotated = kms.create_key(
        Description=f"application data key {i}", Tags=[{"TagKey": "env", "TagValue": "prod"}]
    )["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_alias(AliasName=f"alias/app-data-{i}", TargetKeyId=rotated)
    unrotated = kms.create_key(Description=f"legacy key {i}", Tags=[{"TagKey": "env", "TagValue": "dev"}])[
        "KeyMetadata"
    ]["KeyId"]
    if i == 0:
        out.keys = {"rotated": rotated, "unrotated": unrotated}


def _buckets(s3: Any, account_id: str, region: str, i: int, out: RegionEstate) -> None:
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    names = {
        "logs": f"vigil-demo-logs-{account_id}-{region}-{i}",
        "data": f"vigil-demo-data-{account_id}-{region}-{i}",
        "public": f"vigil-demo-public-{account_id}-{region}-{i}",
        "unencrypted": f"vigil-demo-raw-{account_id}-{region}-{i}",
    }
    for role, name in names.items():
        s3.create_bucket(Bucket=name, **location)
        tags = [
            {"Key": "owner", "Value": OWNERS[i % len(OWNERS)]},
            {
                "Key": "data-classification",
                "Value": {"public": "public", "data": "confidential"}.get(role, "internal"),
            },
        ]
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        if role != "unencrypted":
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms" if role == "data" else "AES256"
                            }
                        }
                    ]
                },
            )
        if role in ("logs", "data"):
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
        if role == "public":
            s3.put_bucket_acl(Bucket=name, ACL="public-read")
    if i == 0:
        out.buckets = names


def _region(client: ClientFactory, account_id: str, region: str, n: int, ebs_default: bool) -> RegionEstate:
    out = RegionEstate(region)
    ec2, kms, s3 = client("ec2", region), client("kms", region), client("s3", region)
    for i in range(n):
        _network(ec2, region, i, out)
        _keys(kms, i, out)
        _buckets(s3, account_id, region, i, out)
    if ebs_default:
        ec2.enable_ebs_encryption_by_default()
    return out


def _iam(iam: Any, n: int, estate: Estate) -> None:
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
    estate.roles["audit"] = iam.create_role(
        RoleName="vigil-audit", AssumeRolePolicyDocument=json.dumps(audit_trust)
    )["Role"]["RoleName"]


def _trails(client: ClientFactory, estate: Estate) -> None:
    regions = list(estate.regions.values())
    home = regions[0]
    main = client("cloudtrail", home.region).create_trail(
        Name="org-audit-trail",
        S3BucketName=home.buckets["logs"],
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        IncludeGlobalServiceEvents=True,
        TagsList=[{"Key": "owner", "Value": "security-team"}],
    )
    client("cloudtrail", home.region).start_logging(Name=main["TrailARN"])
    home.trails["main"] = main["Name"]
    last = regions[-1]
    local = client("cloudtrail", last.region).create_trail(
        Name="team-local-trail",
        S3BucketName=last.buckets["logs"],
        IsMultiRegionTrail=False,
        EnableLogFileValidation=False,
    )
    client("cloudtrail", last.region).start_logging(Name=local["TrailARN"])
    last.trails["local"] = local["Name"]


def seed(client: ClientFactory, regions: list[str], n: int = 1) -> Estate:
    """Build the sample estate ``n`` times over in ``regions`` (the first gets EBS encryption by default)."""
    if n < 1:
        raise ValueError("the scale factor n must be at least 1")
    account_id = client("sts", regions[0]).get_caller_identity()["Account"]
    estate = Estate(account_id=account_id, n=n)
    with ThreadPoolExecutor(len(regions) + 1) as pool:
        iam_job = pool.submit(_iam, client("iam", regions[0]), n, estate)
        jobs = [pool.submit(_region, client, account_id, r, n, idx == 0) for idx, r in enumerate(regions)]
        for job in jobs:
            region_estate = job.result()
            estate.regions[region_estate.region] = region_estate
        iam_job.result()
    _trails(client, estate)
    first = estate.first
    client("ec2", first.region).associate_iam_instance_profile(
        IamInstanceProfile={"Name": "app-instance-profile"}, InstanceId=first.instances["app"]
    )
    return estate


# -- the demo's second act: the changes a careless afternoon makes ----------------------------------


@dataclass(frozen=True)
class Change:
    what: str
    resource_type: str
    resource_id: str


def make_mistakes(client: ClientFactory, estate: Estate) -> list[Change]:
    """Open SSH on the web group, make the data bucket public, delete the scratch volume."""
    first = estate.first
    ec2, s3 = client("ec2", first.region), client("s3", first.region)
    web = first.groups["web"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "temporary debugging"}],
            }
        ],
    )
    bucket = first.buckets["data"]
    s3.delete_public_access_block(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    volume = first.volumes["scratch_unencrypted"]
    ec2.delete_volume(VolumeId=volume)
    return [
        Change("opened SSH (22/tcp) to 0.0.0.0/0", "AWS::EC2::SecurityGroup", web),
        Change(
            "removed the public access block and added a public-read bucket policy", "AWS::S3::Bucket", bucket
        ),
        Change("deleted the scratch volume", "AWS::EC2::Volume", volume),
    ]
