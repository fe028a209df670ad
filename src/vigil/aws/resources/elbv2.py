"""Application, network and gateway load balancers, with their listeners and target groups.

AWS Config records listeners and target groups as types of their own; Vigil does not (yet), so a
load balancer's item carries them in ``supplementaryConfiguration``: ``Listeners`` (protocol, port,
default certificate, SSL policy, default actions), ``TargetGroups`` (each with its registered targets
and their health) and ``LoadBalancerAttributes``. What the traffic reaches is what an auditor asks
for, so the targets are also relationships of the load balancer itself: ``Is associated with
Instance`` (instance targets), ``… Function`` (Lambda targets), ``… LoadBalancer`` (an ALB behind an
NLB). The item is known by its ARN, as AWS Config knows it.

Calls: the region's target groups once (shared by every load balancer), tags in batches of twenty
load balancers, then per load balancer its attributes and listeners, and per target group its
target health (memoised, as a group may serve two load balancers).

A CloudTrail record about a listener or a target group names no load balancer; ``owners`` maps
such ARNs to the load balancers whose items they change.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.awslambda import FUNCTION, function_name
from vigil.aws.resources.base import Batch, Fetch, make_ci, rel, tag_map, to_config, wanted
from vigil.model import ConfigurationItem, Relationship

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
MULTIPLE_AZ = "Multiple Availability Zones"
TAGS_PER_CALL = 20
# Targets' health is state, not configuration: it is kept current without growing the history.
VOLATILE = ("supplementaryConfiguration.TargetGroups[*].targetHealthDescriptions[*].targetHealth",)

# Target type → (related resource type, relationship name, target id → resource id).
TARGET_RELATIONSHIPS = {
    "instance": ("AWS::EC2::Instance", "Is associated with Instance", lambda ref: ref),
    "lambda": (FUNCTION, "Is associated with Function", function_name),
    "alb": (LOAD_BALANCER, "Is associated with LoadBalancer", lambda ref: ref),
}


def target_groups(fx: Fetch, region: str) -> list[dict[str, Any]]:
    return fx.items("elbv2", region, "describe_target_groups", "TargetGroups")


def load_balancer_of_listener(arn: str) -> str | None:
    """``…:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`` (or a ``listener-rule/`` ARN) →
    ``…:loadbalancer/app/web/50dc6c495c0c9188``."""
    prefix, _, resource = arn.partition(":listener")
    if not resource.startswith(("/", "-rule/")):
        return None
    parts = resource.split("/")
    return f"{prefix}:loadbalancer/{'/'.join(parts[1:4])}" if len(parts) >= 5 else None


def owners(fx: Fetch, region: str, ids: frozenset[str] | None) -> frozenset[str] | None:
    """``ids`` plus the load balancers that the listener and target-group ARNs among them belong to."""
    if ids is None:
        return None
    out = set(ids)
    for ref in ids:
        owner = load_balancer_of_listener(ref)
        if owner:
            out.add(owner)
        elif ":targetgroup/" in ref:
            for group in target_groups(fx, region):
                if group["TargetGroupArn"] == ref:
                    out.update(group.get("LoadBalancerArns", []))
    return frozenset(out)


def _tags(fx: Fetch, region: str, arns: list[str]) -> dict[str, dict[str, str]]:
    client = fx.client("elbv2", region)
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), TAGS_PER_CALL):
        described = client.describe_tags(ResourceArns=arns[start : start + TAGS_PER_CALL])
        for entry in described.get("TagDescriptions", []):
            out[entry["ResourceArn"]] = tag_map(entry.get("Tags"))
    return out


def _health(fx: Fetch, region: str, group_arn: str) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        answer = fx.client("elbv2", region).describe_target_health(TargetGroupArn=group_arn)
        return list(answer.get("TargetHealthDescriptions", []))

    return fx.memo(("elbv2", region, "describe_target_health", group_arn), fetch)


def _relationships(
    lb: dict[str, Any], groups: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> list[Relationship]:
    rels = [
        rel("AWS::EC2::SecurityGroup", g, "Is associated with SecurityGroup")
        for g in lb.get("SecurityGroups", [])
    ]
    rels += [
        rel("AWS::EC2::Subnet", z["SubnetId"], "Is contained in Subnet")
        for z in lb.get("AvailabilityZones", [])
        if z.get("SubnetId")
    ]
    if lb.get("VpcId"):
        rels.append(rel("AWS::EC2::VPC", lb["VpcId"], "Is contained in Vpc"))
    for group, health in groups:
        related = TARGET_RELATIONSHIPS.get(str(group.get("TargetType")))
        if related:
            rtype, name, resource_id = related
            rels += [rel(rtype, resource_id(h["Target"]["Id"]), name) for h in health]
    return rels


def _zone(lb: dict[str, Any]) -> str | None:
    zones = {z["ZoneName"] for z in lb.get("AvailabilityZones", []) if z.get("ZoneName")}
    return MULTIPLE_AZ if len(zones) > 1 else next(iter(zones), None)


def collect_load_balancers(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    refs = owners(fx, region, ids)
    balancers = [
        lb
        for lb in fx.items("elbv2", region, "describe_load_balancers", "LoadBalancers")
        if wanted(refs, lb["LoadBalancerArn"], lb["LoadBalancerName"])
    ]
    tags = _tags(fx, region, [lb["LoadBalancerArn"] for lb in balancers]) if balancers else {}
    client = fx.client("elbv2", region)

    def one(lb: dict[str, Any]) -> ConfigurationItem:
        arn = lb["LoadBalancerArn"]
        attributes = client.describe_load_balancer_attributes(LoadBalancerArn=arn).get("Attributes", [])
        listeners = fx.items("elbv2", region, "describe_listeners", "Listeners", LoadBalancerArn=arn)
        groups = [
            (g, _health(fx, region, g["TargetGroupArn"]))
            for g in target_groups(fx, region)
            if arn in g.get("LoadBalancerArns", [])
        ]
        return make_ci(
            fx,
            LOAD_BALANCER,
            region,
            arn,
            name=lb["LoadBalancerName"],
            arn=arn,
            configuration=to_config(lb),
            tags=tags.get(arn, {}),
            relationships=_relationships(lb, groups),
            supplementary={
                "LoadBalancerAttributes": to_config(attributes),
                "Listeners": to_config(listeners),
                "TargetGroups": [
                    {**to_config(g), "targetHealthDescriptions": to_config(h)} for g, h in groups
                ],
            },
            availability_zone=_zone(lb),
            created=lb.get("CreatedTime"),
        )

    return fx.each(balancers, one, lambda lb: str(lb["LoadBalancerArn"]))
