"""EC2 and VPC networking: instances, volumes, snapshots, security groups, network interfaces, VPCs,
subnets, internet gateways, route tables, network ACLs, NAT gateways, Elastic IPs, flow logs and
VPC peering connections.

One describe call per kind per region (memoised), shared by every type that needs it for its
relationships, which are named as AWS Config names them (spec §5.2). Snapshots add the one call
no listing answers: who may create volumes from each (``DescribeSnapshotAttribute``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, name_tag, rel, tag_map, to_config, wanted
from vigil.model import ConfigurationItem, Relationship

INSTANCE = "AWS::EC2::Instance"
VOLUME = "AWS::EC2::Volume"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
NETWORK_INTERFACE = "AWS::EC2::NetworkInterface"
VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"
ROUTE_TABLE = "AWS::EC2::RouteTable"
NETWORK_ACL = "AWS::EC2::NetworkAcl"
SNAPSHOT = "AWS::EC2::Snapshot"
NAT_GATEWAY = "AWS::EC2::NatGateway"
EIP = "AWS::EC2::EIP"
FLOW_LOG = "AWS::EC2::FlowLog"
PEERING = "AWS::EC2::VPCPeeringConnection"

# Resources that linger in describe output after deletion (about an hour), not recorded.
GONE_STATES: dict[str, tuple[str, frozenset[str]]] = {
    INSTANCE: ("State.Name", frozenset({"terminated"})),
    NAT_GATEWAY: ("State", frozenset({"deleted"})),
    PEERING: ("Status.Code", frozenset({"deleted", "rejected", "expired", "failed"})),
}


# -- memoised describes: one call per kind per region, shared by every type's relationships -----

DESCRIBE: dict[str, tuple[str, str]] = {
    INSTANCE: ("describe_instances", "Reservations[].Instances[]"),
    VOLUME: ("describe_volumes", "Volumes"),
    SECURITY_GROUP: ("describe_security_groups", "SecurityGroups"),
    NETWORK_INTERFACE: ("describe_network_interfaces", "NetworkInterfaces"),
    VPC: ("describe_vpcs", "Vpcs"),
    SUBNET: ("describe_subnets", "Subnets"),
    INTERNET_GATEWAY: ("describe_internet_gateways", "InternetGateways"),
    ROUTE_TABLE: ("describe_route_tables", "RouteTables"),
    NETWORK_ACL: ("describe_network_acls", "NetworkAcls"),
    SNAPSHOT: ("describe_snapshots", "Snapshots"),
    NAT_GATEWAY: ("describe_nat_gateways", "NatGateways"),
    EIP: ("describe_addresses", "Addresses"),
    FLOW_LOG: ("describe_flow_logs", "FlowLogs"),
    PEERING: ("describe_vpc_peering_connections", "VpcPeeringConnections"),
}
# Without an owner, DescribeSnapshots also lists every public snapshot of every account.
DESCRIBE_PARAMS: dict[str, dict[str, Any]] = {SNAPSHOT: {"OwnerIds": ["self"]}}


def listing(fx: Fetch, region: str, resource_type: str) -> list[dict[str, Any]]:
    """Every resource of an EC2 type in a region (terminated instances and deleted NAT gateways or
    peering connections, which linger in describe output for an hour, left out)."""
    operation, key = DESCRIBE[resource_type]
    items = fx.items("ec2", region, operation, key, **DESCRIBE_PARAMS.get(resource_type, {}))
    if resource_type in GONE_STATES:
        path, gone = GONE_STATES[resource_type]
        return [i for i in items if _dig(i, path) not in gone]
    return items


# -- one generic collector over a table of specs ----------------------------------------------


@dataclass(frozen=True)
class Ec2Kind:
    """How one EC2 resource type is listed, named and related."""

    resource_type: str
    id_key: str
    arn_path: str  # "instance/{id}"
    relationships: Callable[[Fetch, str, dict[str, Any]], list[Relationship]]
    name_key: str | None = None  # default: the Name tag
    az_key: str | None = None
    created_key: str | None = None
    tags_key: str = "Tags"
    configuration: Callable[[dict[str, Any]], dict[str, Any]] = to_config
    # A per-resource call for what the listing lacks (fanned out; its failure is the item's).
    supplementary: Callable[[Fetch, str, dict[str, Any]], dict[str, Any]] | None = None
    # Snapshot ARNs carry no account (``arn:aws:ec2:us-east-1::snapshot/snap-…``).
    account_in_arn: bool = True


def collector(kind: Ec2Kind) -> Callable[[Fetch, str, frozenset[str] | None], Batch]:
    """The ``collect(fx, region, ids)`` function for one kind."""

    def name_of(item: dict[str, Any]) -> str | None:
        return item.get(kind.name_key) if kind.name_key else None

    def build(fx: Fetch, region: str, item: dict[str, Any]) -> ConfigurationItem:
        rid = item[kind.id_key]
        tags = tag_map(item.get(kind.tags_key))
        path = kind.arn_path.format(id=rid)
        arn = (
            fx.arn("ec2", region, path) if kind.account_in_arn else f"arn:{fx.partition}:ec2:{region}::{path}"
        )
        return make_ci(
            fx,
            kind.resource_type,
            region,
            rid,
            name=name_of(item) or name_tag(tags),
            arn=item.get("SubnetArn") or arn,
            configuration=kind.configuration(item),
            tags=tags,
            relationships=kind.relationships(fx, region, item),
            supplementary=kind.supplementary(fx, region, item) if kind.supplementary else None,
            availability_zone=_dig(item, kind.az_key),
            created=item.get(kind.created_key) if kind.created_key else None,
        )

    def collect(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
        items = [
            i for i in listing(fx, region, kind.resource_type) if wanted(ids, i[kind.id_key], name_of(i))
        ]
        if kind.supplementary is None:
            return Batch(cis=[build(fx, region, item) for item in items])
        return fx.each(items, lambda item: build(fx, region, item), lambda item: str(item[kind.id_key]))

    collect.__name__ = f"collect_{kind.resource_type.split('::')[-1].lower()}"
    collect.__doc__ = f"Record every {kind.resource_type} in a region (or the given ids)."
    return collect


def _dig(item: dict[str, Any], path: str | None) -> Any:
    value: Any = item if path else None
    for part in (path or "").split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


# -- relationships, per type -------------------------------------------------------------------


def _in_vpc(item: dict[str, Any]) -> list[Relationship]:
    return [rel(VPC, item["VpcId"], "Is contained in Vpc")] if item.get("VpcId") else []


def _instance_rels(fx: Fetch, region: str, inst: dict[str, Any]) -> list[Relationship]:
    rels = [
        rel(NETWORK_INTERFACE, e["NetworkInterfaceId"], "Contains NetworkInterface")
        for e in inst.get("NetworkInterfaces", [])
    ]
    rels += [
        rel(SECURITY_GROUP, g["GroupId"], "Is associated with SecurityGroup")
        for g in inst.get("SecurityGroups", [])
    ]
    rels += [
        rel(VOLUME, bdm["Ebs"]["VolumeId"], "Is attached to Volume")
        for bdm in inst.get("BlockDeviceMappings", [])
        if bdm.get("Ebs", {}).get("VolumeId")
    ]
    if inst.get("SubnetId"):
        rels.append(rel(SUBNET, inst["SubnetId"], "Is contained in Subnet"))
    rels += _elastic_ips(fx, region, "InstanceId", inst["InstanceId"])
    return rels + _in_vpc(inst)


def _elastic_ips(fx: Fetch, region: str, key: str, value: str) -> list[Relationship]:
    """The Elastic IPs associated with an instance or interface (``key``: ``InstanceId`` or
    ``NetworkInterfaceId`` of the address)."""
    return [
        rel(EIP, a["AllocationId"], "Is attached to ElasticIp", a.get("PublicIp"))
        for a in listing(fx, region, EIP)
        if a.get(key) == value and a.get("AllocationId")
    ]


def _volume_rels(fx: Fetch, region: str, vol: dict[str, Any]) -> list[Relationship]:
    return [
        rel(INSTANCE, a["InstanceId"], "Is attached to Instance")
        for a in vol.get("Attachments", [])
        if a.get("InstanceId")
    ]


def _group_rels(fx: Fetch, region: str, group: dict[str, Any]) -> list[Relationship]:
    gid = group["GroupId"]
    rels = _in_vpc(group)
    rels += [
        rel(NETWORK_INTERFACE, e["NetworkInterfaceId"], "Is associated with NetworkInterface")
        for e in listing(fx, region, NETWORK_INTERFACE)
        if any(g["GroupId"] == gid for g in e.get("Groups", []))
    ]
    rels += [
        rel(INSTANCE, i["InstanceId"], "Is associated with Instance")
        for i in listing(fx, region, INSTANCE)
        if any(g["GroupId"] == gid for g in i.get("SecurityGroups", []))
    ]
    return rels


def _sg_configuration(group: dict[str, Any]) -> dict[str, Any]:
    """AWS Config's SG form: ``ipv4Ranges: [{cidrIp}]`` plus the legacy ``ipRanges: ["cidr"]``."""
    config = to_config(group)
    for direction in ("ipPermissions", "ipPermissionsEgress"):
        for perm in config.get(direction, []):
            ranges = perm.get("ipRanges", [])
            perm["ipv4Ranges"] = ranges
            perm["ipRanges"] = [r["cidrIp"] for r in ranges if "cidrIp" in r]
    return config


def _eni_rels(fx: Fetch, region: str, eni: dict[str, Any]) -> list[Relationship]:
    rels = []
    instance_id = eni.get("Attachment", {}).get("InstanceId")
    if instance_id:
        rels.append(rel(INSTANCE, instance_id, "Is attached to Instance"))
    rels += [
        rel(SECURITY_GROUP, g["GroupId"], "Is associated with SecurityGroup") for g in eni.get("Groups", [])
    ]
    if eni.get("SubnetId"):
        rels.append(rel(SUBNET, eni["SubnetId"], "Is contained in Subnet"))
    rels += _elastic_ips(fx, region, "NetworkInterfaceId", eni["NetworkInterfaceId"])
    return rels + _in_vpc(eni)


def _eni_configuration(eni: dict[str, Any]) -> dict[str, Any]:
    config = to_config({k: v for k, v in eni.items() if k != "TagSet"})
    config["tagSet"] = [{"key": t.get("Key"), "value": t.get("Value")} for t in eni.get("TagSet", [])]
    return config


def _vpc_rels(fx: Fetch, region: str, vpc: dict[str, Any]) -> list[Relationship]:
    vid = vpc["VpcId"]
    contained = (
        (SUBNET, "SubnetId", listing(fx, region, SUBNET)),
        (INSTANCE, "InstanceId", listing(fx, region, INSTANCE)),
        (NETWORK_INTERFACE, "NetworkInterfaceId", listing(fx, region, NETWORK_INTERFACE)),
        (SECURITY_GROUP, "GroupId", listing(fx, region, SECURITY_GROUP)),
        (ROUTE_TABLE, "RouteTableId", listing(fx, region, ROUTE_TABLE)),
        (NETWORK_ACL, "NetworkAclId", listing(fx, region, NETWORK_ACL)),
    )
    rels: list[Relationship] = []
    for rtype, id_key, items in contained:
        short = rtype.split("::")[-1]
        rels += [rel(rtype, item[id_key], f"Contains {short}") for item in items if item.get("VpcId") == vid]
    rels += [
        rel(INTERNET_GATEWAY, igw["InternetGatewayId"], "Is attached to InternetGateway")
        for igw in listing(fx, region, INTERNET_GATEWAY)
        if any(a.get("VpcId") == vid for a in igw.get("Attachments", []))
    ]
    return rels


def route_table_of(subnet_id: str, vpc_id: str, tables: list[dict[str, Any]]) -> str | None:
    """The subnet's route table: its explicit association, else its VPC's main table."""
    for table in tables:
        if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            return str(table["RouteTableId"])
    for table in tables:
        if table.get("VpcId") == vpc_id and any(a.get("Main") for a in table.get("Associations", [])):
            return str(table["RouteTableId"])
    return None


def _subnet_rels(fx: Fetch, region: str, subnet: dict[str, Any]) -> list[Relationship]:
    sid = subnet["SubnetId"]
    rels = _in_vpc(subnet)
    rels += [
        rel(NETWORK_ACL, acl["NetworkAclId"], "Is attached to NetworkAcl")
        for acl in listing(fx, region, NETWORK_ACL)
        if any(a.get("SubnetId") == sid for a in acl.get("Associations", []))
    ]
    rels += [
        rel(NETWORK_INTERFACE, e["NetworkInterfaceId"], "Contains NetworkInterface")
        for e in listing(fx, region, NETWORK_INTERFACE)
        if e.get("SubnetId") == sid
    ]
    rels += [
        rel(INSTANCE, i["InstanceId"], "Contains Instance")
        for i in listing(fx, region, INSTANCE)
        if i.get("SubnetId") == sid
    ]
    table_id = route_table_of(sid, subnet["VpcId"], listing(fx, region, ROUTE_TABLE))
    if table_id:
        rels.append(rel(ROUTE_TABLE, table_id, "Is associated with RouteTable"))
    return rels


def _igw_rels(fx: Fetch, region: str, igw: dict[str, Any]) -> list[Relationship]:
    return [rel(VPC, a["VpcId"], "Is attached to Vpc") for a in igw.get("Attachments", []) if a.get("VpcId")]


def _route_table_rels(fx: Fetch, region: str, table: dict[str, Any]) -> list[Relationship]:
    subnet_ids = [a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId")]
    return _in_vpc(table) + [rel(SUBNET, s, "Is associated with Subnet") for s in subnet_ids]


def _acl_rels(fx: Fetch, region: str, acl: dict[str, Any]) -> list[Relationship]:
    subnet_ids = [a["SubnetId"] for a in acl.get("Associations", []) if a.get("SubnetId")]
    return _in_vpc(acl) + [rel(SUBNET, s, "Is attached to Subnet") for s in subnet_ids]


def _snapshot_rels(fx: Fetch, region: str, snap: dict[str, Any]) -> list[Relationship]:
    """The source volume while it still exists (deleted volumes are not recorded; copies name
    ``vol-ffffffff``)."""
    volumes = {v["VolumeId"] for v in listing(fx, region, VOLUME)}
    source = snap.get("VolumeId")
    return [rel(VOLUME, source, "Is associated with Volume")] if source in volumes else []


def _snapshot_permissions(fx: Fetch, region: str, snap: dict[str, Any]) -> dict[str, Any]:
    """Who may create volumes from the snapshot: ``{"group": "all"}`` makes it public."""
    answer = fx.client("ec2", region).describe_snapshot_attribute(
        SnapshotId=snap["SnapshotId"], Attribute="createVolumePermission"
    )
    return {"CreateVolumePermissions": to_config(answer.get("CreateVolumePermissions", []))}


def _nat_rels(fx: Fetch, region: str, nat: dict[str, Any]) -> list[Relationship]:
    rels = _in_vpc(nat)
    if nat.get("SubnetId"):
        rels.append(rel(SUBNET, nat["SubnetId"], "Is contained in Subnet"))
    for address in nat.get("NatGatewayAddresses", []):
        if address.get("NetworkInterfaceId"):
            rels.append(rel(NETWORK_INTERFACE, address["NetworkInterfaceId"], "Contains NetworkInterface"))
        if address.get("AllocationId"):
            rels.append(
                rel(EIP, address["AllocationId"], "Is attached to ElasticIp", address.get("PublicIp"))
            )
    return rels


def _eip_rels(fx: Fetch, region: str, address: dict[str, Any]) -> list[Relationship]:
    # moto answers ``InstanceId: ""`` for an address that is not on an instance.
    rels = []
    if address.get("InstanceId"):
        rels.append(rel(INSTANCE, address["InstanceId"], "Is attached to Instance"))
    if address.get("NetworkInterfaceId"):
        rels.append(rel(NETWORK_INTERFACE, address["NetworkInterfaceId"], "Is attached to NetworkInterface"))
    rels += [
        rel(NAT_GATEWAY, nat["NatGatewayId"], "Is associated with NatGateway")
        for nat in listing(fx, region, NAT_GATEWAY)
        if any(
            a.get("AllocationId") == address.get("AllocationId") for a in nat.get("NatGatewayAddresses", [])
        )
    ]
    return rels


# A flow log watches a VPC, a subnet or one interface (transit gateways and their attachments are
# not recorded types).
FLOW_LOG_TARGETS = (
    ("vpc-", VPC, "Vpc"),
    ("subnet-", SUBNET, "Subnet"),
    ("eni-", NETWORK_INTERFACE, "NetworkInterface"),
)


def _flow_log_rels(fx: Fetch, region: str, flow_log: dict[str, Any]) -> list[Relationship]:
    target = str(flow_log.get("ResourceId") or "")
    return [
        rel(rtype, target, f"Is associated with {short}")
        for prefix, rtype, short in FLOW_LOG_TARGETS
        if target.startswith(prefix)
    ]


def _peering_rels(fx: Fetch, region: str, peering: dict[str, Any]) -> list[Relationship]:
    """Both VPCs, where they are this account's and this region's (the others are not recorded here)."""
    return [
        rel(VPC, info["VpcId"], "Is associated with Vpc")
        for info in (peering.get("RequesterVpcInfo") or {}, peering.get("AccepterVpcInfo") or {})
        if info.get("VpcId")
        and info.get("OwnerId", fx.account_id) == fx.account_id
        and info.get("Region", region) == region
    ]


KINDS: dict[str, Ec2Kind] = {
    k.resource_type: k
    for k in (
        Ec2Kind(
            INSTANCE,
            "InstanceId",
            "instance/{id}",
            _instance_rels,
            az_key="Placement.AvailabilityZone",
            created_key="LaunchTime",
        ),
        Ec2Kind(
            VOLUME,
            "VolumeId",
            "volume/{id}",
            _volume_rels,
            az_key="AvailabilityZone",
            created_key="CreateTime",
        ),
        Ec2Kind(
            SECURITY_GROUP,
            "GroupId",
            "security-group/{id}",
            _group_rels,
            name_key="GroupName",
            configuration=_sg_configuration,
        ),
        Ec2Kind(
            NETWORK_INTERFACE,
            "NetworkInterfaceId",
            "network-interface/{id}",
            _eni_rels,
            az_key="AvailabilityZone",
            tags_key="TagSet",
            configuration=_eni_configuration,
        ),
        Ec2Kind(VPC, "VpcId", "vpc/{id}", _vpc_rels),
        Ec2Kind(SUBNET, "SubnetId", "subnet/{id}", _subnet_rels, az_key="AvailabilityZone"),
        Ec2Kind(INTERNET_GATEWAY, "InternetGatewayId", "internet-gateway/{id}", _igw_rels),
        Ec2Kind(ROUTE_TABLE, "RouteTableId", "route-table/{id}", _route_table_rels),
        Ec2Kind(NETWORK_ACL, "NetworkAclId", "network-acl/{id}", _acl_rels),
        Ec2Kind(
            SNAPSHOT,
            "SnapshotId",
            "snapshot/{id}",
            _snapshot_rels,
            created_key="StartTime",
            supplementary=_snapshot_permissions,
            account_in_arn=False,
        ),
        Ec2Kind(NAT_GATEWAY, "NatGatewayId", "natgateway/{id}", _nat_rels, created_key="CreateTime"),
        # As AWS Config names it: the allocation id, and the public address as the name.
        Ec2Kind(EIP, "AllocationId", "eip-allocation/{id}", _eip_rels, name_key="PublicIp"),
        Ec2Kind(FLOW_LOG, "FlowLogId", "vpc-flow-log/{id}", _flow_log_rels, created_key="CreationTime"),
        Ec2Kind(PEERING, "VpcPeeringConnectionId", "vpc-peering-connection/{id}", _peering_rels),
    )
}
