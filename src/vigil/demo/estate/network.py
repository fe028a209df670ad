"""Networking and compute: VPCs, subnets, gateways, route tables, network ACLs, security groups,
instances, volumes and network interfaces; then, around each copy of that network, Elastic IPs, a NAT
gateway, a flow log, a peering to a shared-services VPC, and EBS snapshots (one of them public)."""

from __future__ import annotations

from typing import Any

from vigil.demo.estate.model import AMI, OWNERS, ClientFactory, Net, RegionEstate, tags_spec

# The role VPC Flow Logs assumes to write to CloudWatch Logs (created by the identity seeder).
FLOW_LOGS_ROLE = "vigil-flow-logs"


def seed_network(ec2: Any, region: str, i: int, out: RegionEstate) -> Net:
    """The ``i``-th VPC of a region with its subnets, gateways, groups, instances and volumes."""
    env = "prod" if i % 2 == 0 else "dev"
    owner = OWNERS[i % len(OWNERS)]
    net = Net(region, i, env, owner)
    base = f"10.{(i % 250) + 1}"
    vpc = ec2.create_vpc(
        CidrBlock=f"{base}.0.0/16",
        TagSpecifications=tags_spec("vpc", Name=f"{env}-vpc-{i}", env=env, owner=owner),
    )["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway(
        TagSpecifications=tags_spec("internet-gateway", Name=f"{env}-igw-{i}", env=env)
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=f"{base}.1.0/24",
        AvailabilityZone=f"{region}a",
        TagSpecifications=tags_spec("subnet", Name=f"{env}-public-{i}", env=env, tier="public"),
    )["Subnet"]["SubnetId"]
    private = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=f"{base}.2.0/24",
        AvailabilityZone=f"{region}b",
        TagSpecifications=tags_spec("subnet", Name=f"{env}-private-{i}", env=env, tier="private"),
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    table = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=tags_spec("route-table", Name=f"{env}-public-rt-{i}", env=env)
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    acl = ec2.create_network_acl(
        VpcId=vpc, TagSpecifications=tags_spec("network-acl", Name=f"{env}-private-acl-{i}", env=env)
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
    net.vpc, net.igw, net.public_subnet, net.private_subnet = vpc, igw, public, private
    net.public_route_table, net.private_acl = table, acl

    def group(name: str, description: str, rules: list[dict[str, Any]]) -> str:
        gid = ec2.create_security_group(
            GroupName=f"{name}-{i}",
            Description=description,
            VpcId=vpc,
            TagSpecifications=tags_spec("security-group", Name=f"{name}-{i}", env=env, owner=owner),
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
            TagSpecifications=tags_spec(
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
            TagSpecifications=tags_spec(
                "volume", Name=f"app-data-{i}", env=env, data_classification="confidential"
            ),
        )["VolumeId"],
        "scratch_unencrypted": ec2.create_volume(
            AvailabilityZone=az_a,
            Size=20,
            Encrypted=False,
            VolumeType="gp2",
            TagSpecifications=tags_spec("volume", Name=f"scratch-{i}", env=env),
        )["VolumeId"],
        "logs_unencrypted": ec2.create_volume(
            AvailabilityZone=az_a,
            Size=50,
            Encrypted=False,
            VolumeType="gp2",
            TagSpecifications=tags_spec(
                "volume", Name=f"web-logs-{i}", env=env, data_classification="internal"
            ),
        )["VolumeId"],
    }
    ec2.attach_volume(VolumeId=volumes["data_encrypted"], InstanceId=instances["app"], Device="/dev/sdf")
    ec2.attach_volume(VolumeId=volumes["logs_unencrypted"], InstanceId=instances["web"], Device="/dev/sdg")
    eni = ec2.create_network_interface(
        SubnetId=private,
        Groups=[groups["db"]],
        Description=f"spare interface {i}",
        TagSpecifications=tags_spec("network-interface", Name=f"spare-eni-{i}", env=env),
    )["NetworkInterface"]["NetworkInterfaceId"]
    net.groups, net.instances, net.volumes, net.eni = groups, instances, volumes, eni
    if i == 0:
        for name in (
            "vpc",
            "igw",
            "public_subnet",
            "private_subnet",
            "public_route_table",
            "private_acl",
            "eni",
        ):
            setattr(out, name, getattr(net, name))
        out.groups, out.instances, out.volumes = groups, instances, volumes
    return net


def seed_connectivity(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """An Elastic IP on the bastion, a NAT gateway (with its own address) for the private subnet, a
    flow log of the VPC into CloudWatch Logs, and an accepted peering to a small shared-services VPC."""
    ec2, i, env = client("ec2", net.region), net.i, net.env

    def address(name: str) -> str:
        return str(
            ec2.allocate_address(Domain="vpc", TagSpecifications=tags_spec("elastic-ip", Name=name, env=env))[
                "AllocationId"
            ]
        )

    eips = {"bastion": address(f"bastion-eip-{i}"), "nat": address(f"nat-eip-{i}")}
    ec2.associate_address(AllocationId=eips["bastion"], InstanceId=net.instances["bastion"])
    nat = ec2.create_nat_gateway(
        SubnetId=net.public_subnet,
        AllocationId=eips["nat"],
        TagSpecifications=tags_spec("natgateway", Name=f"{env}-nat-{i}", env=env, owner=net.owner),
    )["NatGateway"]["NatGatewayId"]
    main_table = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [net.vpc]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)

    log_group = f"/vigil/flow-logs/{net.vpc}"
    client("logs", net.region).create_log_group(logGroupName=log_group, tags={"env": env})
    (flow_log,) = ec2.create_flow_logs(
        ResourceIds=[net.vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=log_group,
        DeliverLogsPermissionArn=f"arn:aws:iam::{account_id}:role/{FLOW_LOGS_ROLE}",
        TagSpecifications=tags_spec("vpc-flow-log", Name=f"{env}-vpc-flow-log-{i}", env=env),
    )["FlowLogIds"]

    peer_vpc = ec2.create_vpc(
        CidrBlock=f"192.168.{i % 250}.0/24",
        TagSpecifications=tags_spec("vpc", Name=f"shared-services-{i}", env="shared", owner="platform-team"),
    )["Vpc"]["VpcId"]
    peering = ec2.create_vpc_peering_connection(
        VpcId=net.vpc,
        PeerVpcId=peer_vpc,
        TagSpecifications=tags_spec("vpc-peering-connection", Name=f"{env}-to-shared-services-{i}", env=env),
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering)
    if i == 0:
        out.eips, out.nat_gateway, out.flow_log = eips, nat, flow_log
        out.peering, out.peer_vpc = peering, peer_vpc


def seed_snapshots(client: ClientFactory, account_id: str, net: Net, out: RegionEstate) -> None:
    """A nightly snapshot of the encrypted data volume, kept private, and a snapshot of the web logs
    volume shared with everyone (``createVolumePermission`` group ``all``): the mistake to find.
    The public one is of an unencrypted volume because AWS refuses to make encrypted snapshots public."""
    ec2, i, env = client("ec2", net.region), net.i, net.env
    private = ec2.create_snapshot(
        VolumeId=net.volumes["data_encrypted"],
        Description=f"nightly backup of app-data-{i}",
        TagSpecifications=tags_spec(
            "snapshot", Name=f"app-data-{i}-nightly", env=env, data_classification="confidential"
        ),
    )["SnapshotId"]
    public = ec2.create_snapshot(
        VolumeId=net.volumes["logs_unencrypted"],
        Description=f"web logs {i} for the vendor",
        TagSpecifications=tags_spec("snapshot", Name=f"web-logs-{i}-export", env=env),
    )["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    if i == 0:
        out.snapshots = {"data_private": private, "logs_public": public}
