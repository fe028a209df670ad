"""Recording checks for EC2 snapshots, NAT gateways, Elastic IPs, flow logs, VPC peering, IAM groups; joined into ``test_resources.EXPECT``."""

from __future__ import annotations

from collections.abc import Callable

from recorded import Recorded, rels
from vigil.model import GLOBAL_REGION


def check_snapshot(r: Recorded) -> None:
    first, account = r.estate.first, r.estate.account_id
    private = r.one("AWS::EC2::Snapshot", first.snapshots["data_private"])
    assert private.arn == f"arn:aws:ec2:{first.region}::snapshot/{private.resourceId}"
    assert private.resourceName == "app-data-0-nightly" and private.awsRegion == first.region
    assert private.tags == {
        "Name": "app-data-0-nightly",
        "env": "prod",
        "data-classification": "confidential",
    }
    config = private.configuration
    assert (config["snapshotId"], config["volumeId"], config["ownerId"]) == (
        private.resourceId,
        first.volumes["data_encrypted"],
        account,
    )
    assert (config["encrypted"], config["volumeSize"], config["state"]) == (True, 100, "completed")
    assert private.resourceCreationTime == config["startTime"]
    assert private.supplementaryConfiguration == {"CreateVolumePermissions": []}
    assert rels(private) == {
        ("Is associated with Volume", "AWS::EC2::Volume", first.volumes["data_encrypted"])
    }
    public = r.one("AWS::EC2::Snapshot", first.snapshots["logs_public"])
    assert public.supplementaryConfiguration == {"CreateVolumePermissions": [{"group": "all"}]}
    assert public.configuration["encrypted"] is False
    assert rels(public) == {
        ("Is associated with Volume", "AWS::EC2::Volume", first.volumes["logs_unencrypted"])
    }
    # Only the account's own snapshots, two per copy of the network in each region.
    assert {c.configuration["ownerId"] for c in r.of("AWS::EC2::Snapshot")} == {account}
    assert len(r.of("AWS::EC2::Snapshot", first.region)) == 2 * r.estate.n


def check_nat_gateway(r: Recorded) -> None:
    first = r.estate.first
    nat = r.one("AWS::EC2::NatGateway", first.nat_gateway)
    assert nat.arn == f"arn:aws:ec2:{first.region}:{r.estate.account_id}:natgateway/{nat.resourceId}"
    assert nat.resourceName == "prod-nat-0"
    assert nat.tags == {"Name": "prod-nat-0", "env": "prod", "owner": "platform-team"}
    config = nat.configuration
    assert (config["state"], config["subnetId"], config["vpcId"]) == (
        "available",
        first.public_subnet,
        first.vpc,
    )
    (address,) = config["natGatewayAddresses"]
    assert address["allocationId"] == first.eips["nat"]
    assert nat.resourceCreationTime == config["createTime"]
    assert rels(nat) == {
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is contained in Subnet", "AWS::EC2::Subnet", first.public_subnet),
        ("Contains NetworkInterface", "AWS::EC2::NetworkInterface", address["networkInterfaceId"]),
        ("Is attached to ElasticIp", "AWS::EC2::EIP", first.eips["nat"]),
    }


def check_eip(r: Recorded) -> None:
    first = r.estate.first
    bastion_id = first.instances["bastion"]
    eip = r.one("AWS::EC2::EIP", first.eips["bastion"])
    config = eip.configuration
    assert eip.resourceName == config["publicIp"] and config["allocationId"] == eip.resourceId
    assert eip.arn == f"arn:aws:ec2:{first.region}:{r.estate.account_id}:eip-allocation/{eip.resourceId}"
    assert (config["domain"], config["instanceId"]) == ("vpc", bastion_id)
    assert eip.tags == {"Name": "bastion-eip-0", "env": "prod"}
    assert rels(eip) == {
        ("Is attached to Instance", "AWS::EC2::Instance", bastion_id),
        ("Is attached to NetworkInterface", "AWS::EC2::NetworkInterface", config["networkInterfaceId"]),
    }
    # Both ends say it: the instance and its interface are attached to the address.
    bastion = r.one("AWS::EC2::Instance", bastion_id)
    attached = ("Is attached to ElasticIp", "AWS::EC2::EIP", eip.resourceId)
    assert attached in rels(bastion)
    assert bastion.configuration["publicIpAddress"] == config["publicIp"]
    assert attached in rels(r.one("AWS::EC2::NetworkInterface", config["networkInterfaceId"]))
    web = r.one("AWS::EC2::Instance", first.instances["web"])
    assert not any(x.relationshipName == "Is attached to ElasticIp" for x in web.relationships)
    nat_eip = r.one("AWS::EC2::EIP", first.eips["nat"])
    assert nat_eip.tags == {"Name": "nat-eip-0", "env": "prod"}
    assert ("Is associated with NatGateway", "AWS::EC2::NatGateway", first.nat_gateway) in rels(nat_eip)
    assert not any(x.resourceType == "AWS::EC2::Instance" for x in nat_eip.relationships)


def check_flow_log(r: Recorded) -> None:
    first = r.estate.first
    flow_log = r.one("AWS::EC2::FlowLog", first.flow_log)
    assert flow_log.arn == f"arn:aws:ec2:{first.region}:{r.estate.account_id}:vpc-flow-log/{first.flow_log}"
    assert flow_log.resourceName == "prod-vpc-flow-log-0"
    config = flow_log.configuration
    assert (config["resourceId"], config["trafficType"], config["logDestinationType"]) == (
        first.vpc,
        "ALL",
        "cloud-watch-logs",
    )
    assert config["logGroupName"] == f"/vigil/flow-logs/{first.vpc}"
    assert config["deliverLogsPermissionArn"] == f"arn:aws:iam::{r.estate.account_id}:role/vigil-flow-logs"
    assert flow_log.resourceCreationTime == config["creationTime"]
    assert rels(flow_log) == {("Is associated with Vpc", "AWS::EC2::VPC", first.vpc)}


def check_vpc_peering(r: Recorded) -> None:
    first = r.estate.first
    peering = r.one("AWS::EC2::VPCPeeringConnection", first.peering)
    assert peering.arn == (
        f"arn:aws:ec2:{first.region}:{r.estate.account_id}:vpc-peering-connection/{first.peering}"
    )
    assert peering.tags == {"Name": "prod-to-shared-services-0", "env": "prod"}
    config = peering.configuration
    assert config["status"]["code"] == "active"
    assert (config["requesterVpcInfo"]["vpcId"], config["accepterVpcInfo"]["vpcId"]) == (
        first.vpc,
        first.peer_vpc,
    )
    assert config["accepterVpcInfo"]["cidrBlock"] == "192.168.0.0/24"
    assert rels(peering) == {
        ("Is associated with Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with Vpc", "AWS::EC2::VPC", first.peer_vpc),
    }
    shared = r.one("AWS::EC2::VPC", first.peer_vpc)
    assert (
        shared.resourceName == "shared-services-0" and shared.configuration["cidrBlock"] == "192.168.0.0/24"
    )


def check_group(r: Recorded) -> None:
    users = {c.resourceName: c for c in r.of("AWS::IAM::User")}
    policies = {c.resourceName: c.resourceId for c in r.of("AWS::IAM::Policy")}
    admins = r.one("AWS::IAM::Group", "admins")
    assert (
        admins.awsRegion == GLOBAL_REGION and admins.arn == f"arn:aws:iam::{r.estate.account_id}:group/admins"
    )
    config = admins.configuration
    assert (config["groupName"], config["groupId"], config["path"]) == ("admins", admins.resourceId, "/")
    assert config["groupPolicyList"] == [
        {
            "policyName": "manage-iam",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["iam:*", "sts:AssumeRole"], "Resource": "*"}],
            },
        }
    ]
    assert [p["policyName"] for p in config["attachedManagedPolicies"]] == ["admin-everything"]
    assert admins.resourceCreationTime == config["createDate"]
    bob = users["bob"]
    assert rels(admins) == {
        ("Is attached to CustomerManagedPolicy", "AWS::IAM::Policy", policies["admin-everything"]),
        ("Is attached to User", "AWS::IAM::User", bob.resourceId),
    }
    # The member's side names the group the same way.
    assert ("Is attached to Group", "AWS::IAM::Group", admins.resourceId) in rels(bob)
    developers = r.one("AWS::IAM::Group", "developers")
    assert rels(developers) == {
        ("Is attached to CustomerManagedPolicy", "AWS::IAM::Policy", policies["s3-read"]),
        ("Is attached to User", "AWS::IAM::User", users["alice"].resourceId),
    }
    assert developers.configuration["groupPolicyList"] == []
    assert {c.resourceName for c in r.of("AWS::IAM::Group")} == set(r.estate.groups)


CHECKS: dict[str, Callable[[Recorded], None]] = {
    "AWS::EC2::Snapshot": check_snapshot,
    "AWS::EC2::NatGateway": check_nat_gateway,
    "AWS::EC2::EIP": check_eip,
    "AWS::EC2::FlowLog": check_flow_log,
    "AWS::EC2::VPCPeeringConnection": check_vpc_peering,
    "AWS::IAM::Group": check_group,
}
