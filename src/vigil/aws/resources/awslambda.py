"""Lambda functions: configuration, resource-based policy and tags.

``list_functions`` returns each function's full configuration, so a function costs two calls of its
own: ``get_policy`` (who may invoke it; a ``Principal: "*"`` statement without a condition lets
anyone) and ``list_tags``. A function without a resource policy answers ``ResourceNotFoundException``;
that is recorded as no policy, not as an error. AWS Config knows a function by its name.

The execution role is related by its role id (the IAM role's ``resourceId``), looked up in the
account's authorization details, which the IAM types of the same scan fetch anyway.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources import iam
from vigil.aws.resources.base import VERBATIM_KEYS, Batch, Fetch, make_ci, rel, to_config, wanted
from vigil.model import ConfigurationItem, Relationship

FUNCTION = "AWS::Lambda::Function"
NO_POLICY = ("ResourceNotFoundException",)
# Environment variable names are the function's own data: kept as written (``STAGE`` stays ``STAGE``).
KEEP_KEYS = VERBATIM_KEYS | {"Variables"}


def function_name(ref: str) -> str:
    """The function name in a name, a full or partial ARN, or a qualified ARN (``…:function:f:1``)."""
    parts = ref.split(":")
    if "function" in parts[:-1]:
        return parts[parts.index("function") + 1]
    return ref


def _role_rels(fx: Fetch, role_arn: str | None) -> list[Relationship]:
    if not role_arn:
        return []
    roles = {r["Arn"]: r for r in iam.authorization_details(fx)["RoleDetailList"]}
    role = roles.get(role_arn)
    if role is None:
        return []
    return [rel(iam.ROLE, role["RoleId"], "Is associated with Role", role["RoleName"])]


def _vpc_rels(vpc_config: dict[str, Any]) -> list[Relationship]:
    rels = [rel("AWS::EC2::Subnet", s, "Is associated with Subnet") for s in vpc_config.get("SubnetIds", [])]
    rels += [
        rel("AWS::EC2::SecurityGroup", g, "Is associated with SecurityGroup")
        for g in vpc_config.get("SecurityGroupIds", [])
    ]
    if vpc_config.get("VpcId"):
        rels.append(rel("AWS::EC2::VPC", vpc_config["VpcId"], "Is associated with Vpc"))
    return rels


def collect_functions(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    names = None if ids is None else frozenset(function_name(i) for i in ids)
    functions = [
        f
        for f in fx.items("lambda", region, "list_functions", "Functions")
        if wanted(names, f["FunctionName"])
    ]
    client = fx.client("lambda", region)

    def one(fn: dict[str, Any]) -> ConfigurationItem:
        name, arn = fn["FunctionName"], fn["FunctionArn"]
        policy = fx.optional(lambda: client.get_policy(FunctionName=name), NO_POLICY)
        tags = client.list_tags(Resource=arn).get("Tags", {})
        supplementary: dict[str, Any] = {}
        if policy is not None:
            supplementary["Policy"] = {"policyText": policy.get("Policy")}
        return make_ci(
            fx,
            FUNCTION,
            region,
            name,
            name=name,
            arn=arn,
            configuration=to_config(fn, verbatim=KEEP_KEYS),
            tags={str(k): str(v) for k, v in tags.items()},
            relationships=[*_role_rels(fx, fn.get("Role")), *_vpc_rels(fn.get("VpcConfig") or {})],
            supplementary=supplementary,
        )

    return fx.each(functions, one, lambda f: str(f["FunctionName"]))
