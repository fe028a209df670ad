"""Network and compute checks: what security groups and network ACLs open to the internet, and the
compute settings the condition language cannot say (account facts that may be unreadable, Lambda
resource policies stored as JSON text, load balancer attributes that may not be recorded, ages
hidden in free text, routes judged against the peering they use).

Security group permissions are read in both shapes a CI may carry: AWS Config's ``ipRanges``
(strings) / ``ipv4Ranges`` (``{cidrIp}``) and ``ipv6Ranges`` (``{cidrIpv6}`` or strings).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from vigil.rules.checks.identity import statements
from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

WORLD = ("0.0.0.0/0", "::/0")
WORLD_V4, WORLD_V6 = WORLD
TCP, UDP = ("tcp", "6"), ("udp", "17")
Check = Callable[[Env], Outcome]


def _config(env: Env) -> Mapping[str, Any]:
    return env.doc.get("configuration") or {}


def _supplementary(env: Env) -> Mapping[str, Any]:
    return env.doc.get("supplementaryConfiguration") or {}


# ---------------------------------------------------------------------------------------------
# ports and security group permissions


def _ports(value: Any) -> list[tuple[int, int]]:
    """Parameter ports: ints, "a-b" ranges, or a comma-separated string of them."""
    items = value if isinstance(value, list | tuple) else str("" if value is None else value).split(",")
    out = []
    for item in items:
        text = str(item).strip()
        if text:
            low, _, high = text.partition("-")
            out.append((int(low), int(high or low)))
    return out


def _span(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low}-{high}"


def _world_sources(permission: Mapping[str, Any], ipv4: bool = True, ipv6: bool = True) -> list[str]:
    """The internet-wide sources (0.0.0.0/0, ::/0) of one ingress permission."""
    v4 = [r.get("cidrIp") if isinstance(r, Mapping) else r for r in permission.get("ipv4Ranges") or []]
    v4 += [r.get("cidrIp") if isinstance(r, Mapping) else r for r in permission.get("ipRanges") or []]
    v6 = [r.get("cidrIpv6") if isinstance(r, Mapping) else r for r in permission.get("ipv6Ranges") or []]
    found = []
    if ipv4 and WORLD_V4 in v4:
        found.append(WORLD_V4)
    if ipv6 and WORLD_V6 in v6:
        found.append(WORLD_V6)
    return found


def _protocol(permission: Mapping[str, Any]) -> str:
    return str(permission.get("ipProtocol")).lower()


def _range(permission: Mapping[str, Any]) -> tuple[int, int]:
    """The port range a permission opens (all ports for all-traffic or a missing range)."""
    start, end = permission.get("fromPort"), permission.get("toPort")
    if _protocol(permission) == "-1" or start is None or end is None or int(start) == -1:
        return 0, 65535
    return int(start), int(end)


def _describe(permission: Mapping[str, Any]) -> str:
    if _protocol(permission) == "-1":
        return "all traffic"
    low, high = _range(permission)
    return f"{permission.get('ipProtocol')} {_span(low, high)}"


def _covers(permission: Mapping[str, Any], low: int, high: int, protocols: Iterable[str]) -> bool:
    """Whether the permission opens any port of low..high over one of ``protocols`` (or all traffic)."""
    protocol = _protocol(permission)
    if protocol == "-1":
        return True
    if protocol not in protocols:
        return False
    start, end = _range(permission)
    return start <= high and low <= end


def _ingress(env: Env) -> list[Mapping[str, Any]]:
    return [p for p in _config(env).get("ipPermissions") or [] if isinstance(p, Mapping)]


def _first_open(
    env: Env, wanted: list[tuple[int, int]], protocols: tuple[str, ...], ipv4: bool, ipv6: bool
) -> Outcome:
    for permission in _ingress(env):
        sources = _world_sources(permission, ipv4, ipv6)
        if not sources:
            continue
        for low, high in wanted:
            if _covers(permission, low, high, protocols):
                return Outcome(
                    False, f"ingress {_describe(permission)} from {sources[0]} opens port {_span(low, high)}"
                )
    return Outcome(True)


def open_to_world(
    *,
    ipv6: bool,
    param: str | None = "ports",
    ports: tuple[int, ...] = (),
    protocols: tuple[str, ...] = TCP,
) -> Check:
    """Non-compliant when an ingress permission opens any of the ports (the parameter's, else
    ``ports``) to 0.0.0.0/0, and to ::/0 as well when ``ipv6``."""

    def check(env: Env) -> Outcome:
        chosen = env.params.get(param) if param else None
        wanted = _ports(chosen) if chosen not in (None, "", []) else [(p, p) for p in ports]
        return _first_open(env, wanted, protocols, True, ipv6)

    return check


def restricted_common_ports(env: Env) -> Outcome:
    """RESTRICTED_INCOMING_TRAFFIC: blockedPort1..5 and blockedPorts, TCP, from 0.0.0.0/0 or ::/0."""
    wanted: list[tuple[int, int]] = []
    for name in ("blockedPort1", "blockedPort2", "blockedPort3", "blockedPort4", "blockedPort5"):
        value = env.params.get(name)
        if value not in (None, ""):
            wanted.append((int(value), int(value)))
    wanted += _ports(env.params.get("blockedPorts"))
    return _first_open(env, wanted, TCP, True, True)


def port_restriction(env: Env) -> Outcome:
    """VPC_SG_PORT_RESTRICTION_CHECK: restrictPorts (22, 3389 when unset) over protocolType
    (TCP, UDP or ALL) from ipType (IPv4, IPv6 or ALL) internet-wide sources."""
    wanted = _ports(env.params.get("restrictPorts")) or [(22, 22), (3389, 3389)]
    protocol = str(env.params.get("protocolType") or "ALL").upper()
    protocols = {"TCP": TCP, "UDP": UDP}.get(protocol, TCP + UDP)
    ip_type = str(env.params.get("ipType") or "ALL").upper()
    return _first_open(env, wanted, protocols, ip_type in ("IPV4", "ALL"), ip_type in ("IPV6", "ALL"))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _inside(low: int, high: int, allowed: list[tuple[int, int]]) -> bool:
    return any(a <= low and high <= b for a, b in _merge(allowed))


def authorized_ports_only(env: Env) -> Outcome:
    """VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS: a group open to the internet opens only authorized
    TCP/UDP ports; a group with no internet-wide ingress is NOT_APPLICABLE."""
    tcp = _ports(env.params.get("authorizedTcpPorts"))
    udp = _ports(env.params.get("authorizedUdpPorts"))
    open_world = [(p, s) for p in _ingress(env) for s in _world_sources(p)[:1]]
    if not open_world:
        return Outcome(True, "no ingress from 0.0.0.0/0 or ::/0", applicable=False)
    for permission, source in open_world:
        protocol = _protocol(permission)
        low, high = _range(permission)
        if protocol == "-1":
            return Outcome(False, f"ingress all traffic from {source} opens every port")
        allowed = tcp if protocol in TCP else udp if protocol in UDP else None
        if allowed is not None and not _inside(low, high, allowed):
            return Outcome(
                False, f"ingress {_describe(permission)} from {source} is not within the authorized ports"
            )
    return Outcome(True)


def default_group_closed(env: Env) -> Outcome:
    config = _config(env)
    if config.get("groupName") != "default":
        return Outcome(True, "not a default security group", applicable=False)
    ingress = len(config.get("ipPermissions") or [])
    egress = len(config.get("ipPermissionsEgress") or [])
    if ingress or egress:
        return Outcome(False, f"the default security group has {ingress} inbound and {egress} outbound rules")
    return Outcome(True)


# ---------------------------------------------------------------------------------------------
# network ACLs, flow logs, routes


def _entry_ports(entry: Mapping[str, Any]) -> tuple[int, int]:
    ports = entry.get("portRange") or {}
    return int(ports.get("from", 0)), int(ports.get("to", 65535))


def _entry_covers(entry: Mapping[str, Any], port: int) -> bool:
    protocol = str(entry.get("protocol")).lower()
    if protocol == "-1":
        return True
    if protocol not in TCP + UDP:
        return False
    low, high = _entry_ports(entry)
    return low <= port <= high


def nacl_open_admin_ports(env: Env) -> Outcome:
    """Inbound entries are read in rule-number order, as the ACL applies them: a port is open to
    the internet when the first entry from 0.0.0.0/0 (or ::/0) that covers it allows."""
    entries = [
        e
        for e in _config(env).get("entries") or []
        if isinstance(e, Mapping) and str(e.get("egress")).lower() not in ("true", "1")
    ]
    entries.sort(key=lambda e: int(e.get("ruleNumber") or 0))
    for port in (22, 3389):
        for world in WORLD:
            for entry in entries:
                if world not in (entry.get("cidrBlock"), entry.get("ipv6CidrBlock")):
                    continue
                if not _entry_covers(entry, port):
                    continue
                if entry.get("ruleAction") == "allow":
                    return Outcome(
                        False, f"inbound entry {entry.get('ruleNumber')} allows port {port} from {world}"
                    )
                break  # denied from the whole internet before any allow
    return Outcome(True)


def flow_logs_enabled(env: Env) -> Outcome:
    vpc = env.doc.get("resourceId")
    region = env.doc.get("awsRegion")
    wanted = env.params.get("trafficType")
    for log in env.lookup("AWS::EC2::FlowLog", region):
        config = log.get("configuration") or {}
        if config.get("resourceId") != vpc or config.get("flowLogStatus", "ACTIVE") != "ACTIVE":
            continue
        if not wanted or config.get("trafficType") == wanted:
            return Outcome(True)
    extra = f" with traffic type {wanted}" if wanted else ""
    return Outcome(False, f"no active flow log records VPC {vpc}{extra}")


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def _peer_cidrs(peering: Mapping[str, Any], vpc: str | None) -> list[str]:
    """The CIDR blocks of the other side of a peering, seen from ``vpc``."""
    config = peering.get("configuration") or {}
    sides = [config.get("requesterVpcInfo") or {}, config.get("accepterVpcInfo") or {}]
    others = [s for s in sides if s.get("vpcId") != vpc] or sides
    out: list[str] = []
    for side in others:
        out += [c.get("cidrBlock") for c in side.get("cidrBlockSet") or [] if c.get("cidrBlock")]
        out += [c.get("ipv6CidrBlock") for c in side.get("ipv6CidrBlockSet") or [] if c.get("ipv6CidrBlock")]
        if side.get("cidrBlock"):
            out.append(side["cidrBlock"])
    return out


def peering_routes_least_access(env: Env) -> Outcome:
    """A route through a VPC peering connection sends only addresses of the peer VPC (CIS: routing
    tables for VPC peering are "least access"); a table without such routes is NOT_APPLICABLE."""
    config = _config(env)
    routes = [
        r for r in config.get("routes") or [] if isinstance(r, Mapping) and r.get("vpcPeeringConnectionId")
    ]
    if not routes:
        return Outcome(True, "no route through a VPC peering connection", applicable=False)
    peerings = {
        p.get("resourceId"): p for p in env.lookup("AWS::EC2::VPCPeeringConnection", env.doc.get("awsRegion"))
    }
    for route in routes:
        pcx = route["vpcPeeringConnectionId"]
        destination = route.get("destinationCidrBlock") or route.get("destinationIpv6CidrBlock")
        target = _network(destination)
        if target is not None and target.prefixlen == 0:
            return Outcome(False, f"route {destination} sends all traffic to peering {pcx}")
        peering = peerings.get(pcx)
        if peering is None:
            return Outcome(False, f"peering {pcx} of route {destination} is not recorded", insufficient=True)
        peer = [n for n in map(_network, _peer_cidrs(peering, config.get("vpcId"))) if n is not None]
        if target is None or not any(
            target.version == n.version and target.subnet_of(n)  # type: ignore[arg-type]
            for n in peer
        ):
            shown = ", ".join(str(n) for n in peer) or "nothing recorded"
            return Outcome(
                False, f"route {destination} to peering {pcx} is wider than the peer VPC ({shown})"
            )
    return Outcome(True)


# ---------------------------------------------------------------------------------------------
# compute


def ebs_encryption_by_default(env: Env) -> Outcome:
    """The account item's ``ebsEncryptionByDefault`` for its region; unreadable is INSUFFICIENT_DATA."""
    value = _config(env).get("ebsEncryptionByDefault")
    if value is None:
        why = ((_supplementary(env).get("Unavailable") or {}).get("EbsEncryptionByDefault") or {}).get(
            "message", "it was not recorded"
        )
        return Outcome(False, f"EBS encryption by default could not be read: {why}", insufficient=True)
    if value is True:
        return Outcome(True)
    return Outcome(False, f"EBS encryption by default is off in {env.doc.get('awsRegion')}")


_STOPPED_AT = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT\)")


def stopped_instance(env: Env) -> Outcome:
    """EC2_STOPPED_INSTANCE: stopped longer than AllowedDays, or for a time that cannot be told.
    The time is the one EC2 writes into ``stateTransitionReason`` ("User initiated (… GMT)")."""
    config = _config(env)
    state = (config.get("state") or {}).get("name")
    if state != "stopped":
        return Outcome(True)
    allowed = int(env.params.get("AllowedDays") or 30)
    reason = str(config.get("stateTransitionReason") or "")
    match = _STOPPED_AT.search(reason)
    if not match:
        return Outcome(False, f"stopped since an unknown time (stateTransitionReason {reason!r})")
    since = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    days = (env.now - since).days
    if days > allowed:
        return Outcome(False, f"stopped for {days} days (since {match[1]} GMT), more than {allowed}")
    return Outcome(True)


def multiple_enis(env: Env) -> Outcome:
    """EC2_INSTANCE_MULTIPLE_ENI_CHECK: at most one network interface (ENI or EFA), not counting
    the interfaces named in NetworkInterfaceIds."""
    allowed = {str(i) for i in env.params.get("NetworkInterfaceIds") or []}
    interfaces = [
        str(n.get("networkInterfaceId"))
        for n in _config(env).get("networkInterfaces") or []
        if isinstance(n, Mapping)
    ]
    counted = [i for i in interfaces if i not in allowed]
    if len(counted) > 1:
        return Outcome(False, f"{len(counted)} network interfaces attached: {', '.join(counted)}")
    return Outcome(True)


# ---------------------------------------------------------------------------------------------
# Lambda


RESTRICTING_KEYS = {
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpce",
}


def _policy(text: Any) -> Any:
    if isinstance(text, str | bytes):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
    return text


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def _restricted(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    keys = (str(k).lower() for values in condition.values() if isinstance(values, Mapping) for k in values)
    return any(k in RESTRICTING_KEYS for k in keys)


def lambda_public(env: Env) -> Outcome:
    """A resource-policy statement that allows everyone (``Principal: "*"``) without a condition
    tying the caller to an account, organization, source ARN or network makes the function public."""
    policy = (_supplementary(env).get("Policy") or {}).get("policyText")
    document = _policy(policy)
    if policy is not None and document is None:
        return Outcome(False, "the resource policy could not be parsed", insufficient=True)
    for statement in statements(document):
        if statement.get("Effect") != "Allow" or not _everyone(statement.get("Principal")):
            continue
        if _restricted(statement.get("Condition")):
            continue
        sid = statement.get("Sid")
        label = f"statement {sid!r}" if sid else "a statement"
        return Outcome(False, f'{label} allows {statement.get("Action")} to Principal "*"')
    return Outcome(True)


def _subnet_zone(subnet: Mapping[str, Any]) -> str | None:
    zone = (subnet.get("configuration") or {}).get("availabilityZone") or subnet.get("availabilityZone")
    return None if zone in (None, "", "Not Applicable", "Multiple Availability Zones") else str(zone)


def lambda_multi_az(env: Env) -> Outcome:
    """LAMBDA_VPC_MULTI_AZ_CHECK: the function's VPC subnets span at least availabilityZones zones
    (2 when unset: AWS Config fails a function in a single zone). A subnet that is not recorded
    leaves the count unknown: INSUFFICIENT_DATA."""
    subnets = [str(s) for s in (_config(env).get("vpcConfig") or {}).get("subnetIds") or []]
    if not subnets:
        return Outcome(True, "the function is not connected to a VPC", applicable=False)
    wanted = int(env.params.get("availabilityZones") or 2)
    recorded = {s.get("resourceId"): s for s in env.lookup("AWS::EC2::Subnet", env.doc.get("awsRegion"))}
    zones: set[str] = set()
    for subnet_id in subnets:
        zone = _subnet_zone(recorded[subnet_id]) if subnet_id in recorded else None
        if zone is None:
            return Outcome(False, f"the zone of subnet {subnet_id} is not recorded", insufficient=True)
        zones.add(zone)
    if len(zones) < wanted:
        shown = ", ".join(sorted(zones))
        return Outcome(
            False, f"the function's subnets are in {len(zones)} zone(s) ({shown}), fewer than {wanted}"
        )
    return Outcome(True)


# ---------------------------------------------------------------------------------------------
# load balancers


def _lb_attributes(env: Env) -> dict[str, str] | None:
    raw = _supplementary(env).get("LoadBalancerAttributes")
    if raw is None:
        return None
    return {str(a.get("key")): str(a.get("value")).lower() for a in raw if isinstance(a, Mapping)}


def lb_attribute_true(attribute: str, what: str) -> Check:
    """Compliant when the recorded attribute is "true"; INSUFFICIENT_DATA when it was not recorded
    (an emulator or an older API may not return every attribute)."""

    def check(env: Env) -> Outcome:
        attributes = _lb_attributes(env)
        if attributes is None or attribute not in attributes:
            return Outcome(False, f"the attribute {attribute} was not recorded", insufficient=True)
        if attributes[attribute] == "true":
            return Outcome(True)
        return Outcome(False, f"{what} is off ({attribute} is {attributes[attribute]})")

    return check


def lb_access_logs(env: Env) -> Outcome:
    """ELB_LOGGING_ENABLED: access logs on (to one of s3BucketNames when given). Without an
    ``access_logs.s3.enabled`` attribute, an empty bucket still tells that logging is off."""
    attributes = _lb_attributes(env)
    if attributes is None:
        return Outcome(False, "the load balancer attributes were not recorded", insufficient=True)
    enabled = attributes.get("access_logs.s3.enabled")
    bucket = attributes.get("access_logs.s3.bucket", "")
    if enabled == "false":
        return Outcome(False, "access logging is off (access_logs.s3.enabled is false)")
    if enabled is None and bucket in ("", "none"):
        return Outcome(False, "access logging is off (no access_logs.s3.bucket is set)")
    if enabled is None:
        return Outcome(False, "the attribute access_logs.s3.enabled was not recorded", insufficient=True)
    names = [str(n).lower() for n in env.params.get("s3BucketNames") or []]
    if names and bucket not in names:
        return Outcome(False, f"access logs go to bucket {bucket!r}, not one of {', '.join(names)}")
    return Outcome(True)


def alb_desync_mode(env: Env) -> Outcome:
    """ALB_DESYNC_MODE_CHECK: routing.http.desync_mitigation_mode is one of desyncMode; an attribute
    that was not recorded is INSUFFICIENT_DATA."""
    attribute = "routing.http.desync_mitigation_mode"
    attributes = _lb_attributes(env)
    if attributes is None or attribute not in attributes:
        return Outcome(False, f"the attribute {attribute} was not recorded", insufficient=True)
    allowed = [str(m).strip().lower() for m in env.params.get("desyncMode") or ["defensive", "strictest"]]
    mode = attributes[attribute]
    if mode in allowed:
        return Outcome(True)
    return Outcome(False, f"desync mitigation mode is {mode!r}, not one of {', '.join(allowed)}")


def alb_https_redirect(env: Env) -> Outcome:
    """Every HTTP listener of an application load balancer redirects to HTTPS by default."""
    listeners = _supplementary(env).get("Listeners")
    if listeners is None:
        return Outcome(False, "the listeners were not recorded", insufficient=True)
    for listener in listeners:
        if str(listener.get("protocol")).upper() != "HTTP":
            continue
        actions = listener.get("defaultActions") or []
        redirects = [
            a
            for a in actions
            if a.get("type") == "redirect"
            and str((a.get("redirectConfig") or {}).get("protocol")).upper() == "HTTPS"
        ]
        if not redirects:
            kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
            return Outcome(
                False,
                f"listener HTTP:{listener.get('port')} does not redirect to HTTPS (default action {kinds})",
            )
    return Outcome(True)


# ---------------------------------------------------------------------------------------------
# RDS

# RDS_LOGGING_ENABLED: the log types each engine must export to CloudWatch Logs.
RDS_ENGINE_LOGS: dict[str, tuple[str, ...]] = {
    "oracle": ("alert", "audit", "trace", "listener"),
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("audit", "error", "general", "slowquery"),
    "mariadb": ("audit", "error", "general", "slowquery"),
    "sqlserver": ("error", "agent"),
    "aurora-mysql": ("audit", "error", "general", "slowquery"),
    "aurora": ("audit", "error", "general", "slowquery"),
    "aurora-postgresql": ("postgresql",),
}
# The port each engine listens on unless told otherwise.
RDS_DEFAULT_PORTS: dict[str, int] = {
    "mysql": 3306,
    "mariadb": 3306,
    "aurora": 3306,
    "aurora-mysql": 3306,
    "postgres": 5432,
    "aurora-postgresql": 5432,
    "oracle": 1521,
    "sqlserver": 1433,
    "db2": 50000,
}


def _engine_family(engine: Any) -> str:
    """``oracle-ee`` → ``oracle``, ``sqlserver-se`` → ``sqlserver``, ``db2-ae`` → ``db2``."""
    text = str(engine or "").lower()
    for family in ("oracle", "sqlserver", "db2"):
        if text.startswith(family + "-") or text == family:
            return family
    return text


def _missing_exports(env: Env, wanted: Iterable[str]) -> Outcome:
    exported = {str(x).lower() for x in _config(env).get("enabledCloudwatchLogsExports") or []}
    missing = [w for w in dict.fromkeys(str(x).strip().lower() for x in wanted) if w and w not in exported]
    if missing:
        shown = ", ".join(sorted(exported)) or "none"
        return Outcome(
            False, f"logs not exported to CloudWatch Logs: {', '.join(missing)} (exported: {shown})"
        )
    return Outcome(True)


def rds_logging(env: Env) -> Outcome:
    """RDS_LOGGING_ENABLED: the engine's log types (``RDS_ENGINE_LOGS``, plus additionalLogs given
    as ``engine:log`` items) are exported to CloudWatch Logs; other engines are NOT_APPLICABLE."""
    engine = str(_config(env).get("engine") or "").lower()
    wanted = list(RDS_ENGINE_LOGS.get(_engine_family(engine), ()))
    for item in env.params.get("additionalLogs") or []:
        name, _, log = str(item).partition(":")
        if log and name.strip().lower() in (engine, _engine_family(engine)):
            wanted.append(log)
    if not wanted:
        return Outcome(True, f"no log types are defined for engine {engine!r}", applicable=False)
    return _missing_exports(env, wanted)


def rds_postgresql_logs(env: Env) -> Outcome:
    """RDS.36: a PostgreSQL instance exports the logTypes (default ``postgresql``)."""
    return _missing_exports(env, env.params.get("logTypes") or ["postgresql"])


def rds_default_port(env: Env) -> Outcome:
    """The instance listens on a port other than its engine's default. The endpoint's port is read
    first (``dbInstancePort`` is 0 outside clusters on AWS); no port recorded is INSUFFICIENT_DATA."""
    config = _config(env)
    engine = str(config.get("engine") or "")
    default = RDS_DEFAULT_PORTS.get(_engine_family(engine))
    if default is None:
        return Outcome(True, f"no default port is known for engine {engine!r}", applicable=False)
    port = (config.get("endpoint") or {}).get("port") or config.get("dbInstancePort")
    if not port:
        return Outcome(False, "the instance's port was not recorded", insufficient=True)
    if int(port) == default:
        return Outcome(False, f"port {port} is the {engine} default")
    return Outcome(True)


CHECKS: dict[str, Check] = {
    "security-group-open-ports-ipv4": open_to_world(ipv6=False, param="ports"),
    "security-group-open-ports": open_to_world(ipv6=True, param="ports"),
    "restricted-ssh": open_to_world(ipv6=True, param=None, ports=(22,)),
    "restricted-common-ports": restricted_common_ports,
    "vpc-sg-port-restriction": port_restriction,
    "vpc-sg-open-only-to-authorized-ports": authorized_ports_only,
    "default-security-group-closed": default_group_closed,
    "vpc-flow-logs-enabled": flow_logs_enabled,
    "nacl-no-unrestricted-admin-ports": nacl_open_admin_ports,
    "vpc-peering-routes-least-access": peering_routes_least_access,
    "ec2-ebs-encryption-by-default": ebs_encryption_by_default,
    "ec2-stopped-instance": stopped_instance,
    "restricted-rdp": open_to_world(ipv6=True, param=None, ports=(3389,)),
    "ec2-instance-multiple-eni": multiple_enis,
    "lambda-function-public-access-prohibited": lambda_public,
    "lambda-vpc-multi-az": lambda_multi_az,
    "alb-desync-mode": alb_desync_mode,
    "rds-logging-enabled": rds_logging,
    "rds-postgresql-logs-to-cloudwatch": rds_postgresql_logs,
    "rds-no-default-ports": rds_default_port,
    "elb-logging-enabled": lb_access_logs,
    "alb-http-to-https-redirection": alb_https_redirect,
    "elb-deletion-protection-enabled": lb_attribute_true(
        "deletion_protection.enabled", "deletion protection"
    ),
    "alb-http-drop-invalid-header-enabled": lb_attribute_true(
        "routing.http.drop_invalid_header_fields.enabled", "dropping invalid header fields"
    ),
}
