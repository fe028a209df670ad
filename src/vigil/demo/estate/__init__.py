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
from dataclasses import dataclass

from vigil.demo.estate import apps, monitoring, network, security
from vigil.demo.estate.identity import seed_iam
from vigil.demo.estate.model import ClientFactory, Estate, Net, RegionEstate
from vigil.demo.estate.monitoring import seed_trails
from vigil.demo.estate.network import seed_network
from vigil.demo.estate.storage import seed_buckets, seed_keys

__all__ = ["Change", "ClientFactory", "Estate", "Net", "RegionEstate", "make_mistakes", "seed"]


# Seeders of the services that live in (or beside) one copy of a region's network, in order:
# ``seed(client, account_id, net, out)``; ``out`` keeps the ids of the first copy (``net.i == 0``).
RegionSeeder = Callable[[ClientFactory, str, Net, RegionEstate], None]
REGION_SEEDERS: tuple[RegionSeeder, ...] = (
    network.seed_connectivity,
    network.seed_snapshots,
    apps.seed_databases,
    apps.seed_load_balancer,
    apps.seed_functions,
    apps.seed_file_systems,
    monitoring.seed_monitoring,
    security.seed_secrets,
    security.seed_repositories,
)

# Seeders that run once the regions exist (trails deliver to a bucket of the first region):
# ``seed(client, estate)``.
AccountSeeder = Callable[[ClientFactory, Estate], None]
ACCOUNT_SEEDERS: tuple[AccountSeeder, ...] = (
    seed_trails,
    monitoring.seed_config,
    security.seed_security_services,
)


def _region(client: ClientFactory, account_id: str, region: str, n: int, ebs_default: bool) -> RegionEstate:
    out = RegionEstate(region)
    ec2, kms, s3 = client("ec2", region), client("kms", region), client("s3", region)
    for i in range(n):
        net = seed_network(ec2, region, i, out)
        seed_keys(kms, i, out)
        seed_buckets(s3, account_id, region, i, out)
        for seeder in REGION_SEEDERS:
            seeder(client, account_id, net, out)
    if ebs_default:
        ec2.enable_ebs_encryption_by_default()
    return out


def seed(client: ClientFactory, regions: list[str], n: int = 1) -> Estate:
    """Build the sample estate ``n`` times over in ``regions`` (the first gets EBS encryption by default)."""
    if n < 1:
        raise ValueError("the scale factor n must be at least 1")
    account_id = client("sts", regions[0]).get_caller_identity()["Account"]
    estate = Estate(account_id=account_id, n=n)
    with ThreadPoolExecutor(len(regions) + 1) as pool:
        iam_job = pool.submit(seed_iam, client("iam", regions[0]), n, estate)
        jobs = [pool.submit(_region, client, account_id, r, n, idx == 0) for idx, r in enumerate(regions)]
        for job in jobs:
            region_estate = job.result()
            estate.regions[region_estate.region] = region_estate
        iam_job.result()
    for account_seeder in ACCOUNT_SEEDERS:
        account_seeder(client, estate)
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
