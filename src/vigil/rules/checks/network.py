"""Network checks: what security groups and network ACLs open to the internet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vigil.rules.conditions import Env
from vigil.rules.spec import Outcome

WORLD = ("0.0.0.0/0", "::/0")


def _ports(value: Any) -> list[tuple[int, int]]:
    """Parameter ports: ints, "a-b" ranges, or a comma-separated string of them."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    out = []
    for item in items:
        text = str(item).strip()
        if text:
            low, _, high = text.partition("-")
            out.append((int(low), int(high or low)))
    return out


def _world_sources(permission: Mapping[str, Any], ipv6: bool) -> list[str]:
    v4 = [r.get("cidrIp") for r in permission.get("ipv4Ranges") or []] or list(
        permission.get("ipRanges") or []
    )
    v6 = [r.get("cidrIpv6") for r in permission.get("ipv6Ranges") or []]
    return [c for c in (*v4, *(v6 if ipv6 else ())) if c in WORLD]


def _covers(permission: Mapping[str, Any], low: int, high: int, protocols: Iterable[str]) -> bool:
    protocol = str(permission.get("ipProtocol"))
    if protocol == "-1":
        return True
    if protocol not in protocols:
        return False
    start, end = permission.get("fromPort"), permission.get("toPort")
    if start is None or end is None or start == -1:
        return True
    return int(start) <= high and low <= int(end)


def open_to_world(
    *, ipv6: bool, param: str, protocols: tuple[str, ...] = ("tcp", "6")
) -> Callable[[Env], Outcome]:
    """Non-compliant when an ingress permission opens any of the parameter's ports to 0.0.0.0/0
    (and ::/0 when ``ipv6``)."""

    def check(env: Env) -> Outcome:
        wanted = _ports(env.params.get(param))
        for permission in env.doc.get("configuration", {}).get("ipPermissions") or []:
            sources = _world_sources(permission, ipv6)
            if not sources:
                continue
            for low, high in wanted:
                if _covers(permission, low, high, protocols):
                    port = f"{low}" if low == high else f"{low}-{high}"
                    span = (
                        "all traffic"
                        if str(permission.get("ipProtocol")) == "-1"
                        else f"{permission.get('ipProtocol')} {permission.get('fromPort')}-{permission.get('toPort')}"
                    )
                    return Outcome(False, f"ingress {span} from {sources[0]} opens port {port}")
        return Outcome(True)

    return check


def default_group_closed(env: Env) -> Outcome:
    config = env.doc.get("configuration", {})
    if config.get("groupName") != "default":
        return Outcome(True, "not a default security group", applicable=False)
    ingress = len(config.get("ipPermissions") or [])
    egress = len(config.get("ipPermissionsEgress") or [])
    if ingress or egress:
        return Outcome(False, f"the default security group has {ingress} inbound and {egress} outbound rules")
    return Outcome(True)


def flow_logs_enabled(env: Env) -> Outcome:
    vpc = env.doc.get("resourceId")
    region = env.doc.get("awsRegion")
    logs = env.lookup("AWS::EC2::FlowLog", region)
    wanted = env.params.get("trafficType")
    for log in logs:
        config = log.get("configuration", {})
        if config.get("resourceId") == vpc and (not wanted or config.get("trafficType") == wanted):
            return Outcome(True)
    extra = f" with traffic type {wanted}" if wanted else ""
    return Outcome(False, f"no flow log records VPC {vpc}{extra}")


def nacl_open_admin_ports(env: Env) -> Outcome:
    for entry in env.doc.get("configuration", {}).get("entries") or []:
        if entry.get("egress") or entry.get("ruleAction") != "allow":
            continue
        if entry.get("cidrBlock") not in WORLD and entry.get("ipv6CidrBlock") not in WORLD:
            continue
        protocol = str(entry.get("protocol"))
        ports = entry.get("portRange") or {}
        low, high = ports.get("from", 0), ports.get("to", 65535)
        for port in (22, 3389):
            if protocol == "-1" or (protocol in ("6", "tcp") and low <= port <= high):
                return Outcome(False, f"entry {entry.get('ruleNumber')} allows port {port} from the internet")
    return Outcome(True)


CHECKS = {
    "security-group-open-ports-ipv4": open_to_world(ipv6=False, param="ports"),
    "security-group-open-ports": open_to_world(ipv6=True, param="ports"),
    "default-security-group-closed": default_group_closed,
    "vpc-flow-logs-enabled": flow_logs_enabled,
    "nacl-no-unrestricted-admin-ports": nacl_open_admin_ports,
}
