"""vigil.diff: AWS Config's configurationItemDiff between two CIs, the content hash, strip_paths."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from vigil.diff import content_hash, diff, strip_paths
from vigil.model import ConfigurationItem, Relationship

VPC = Relationship("AWS::EC2::VPC", "vpc-1", "Is contained in Vpc")
SG = Relationship("AWS::EC2::SecurityGroup", "sg-1", "Is associated with SecurityGroup")


def make_ci(**changes: Any) -> ConfigurationItem:
    values: dict[str, Any] = {
        "accountId": "123456789012",
        "awsRegion": "us-east-1",
        "resourceType": "AWS::EC2::Instance",
        "resourceId": "i-1",
        "resourceName": "web",
        "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z",
        "configurationItemStatus": "OK",
        "configurationStateId": "1",
        "tags": {"env": "prod"},
        "relationships": (VPC,),
        "configuration": {"instanceType": "t3.micro", "state": {"name": "running", "code": 16}},
    }
    values.update(changes)
    return ConfigurationItem(**values)


def cfg_change(old_cfg: dict[str, Any], new_cfg: dict[str, Any]) -> dict[str, Any]:
    return diff(make_ci(configuration=old_cfg), make_ci(configuration=new_cfg))["changedProperties"]


def create(value: Any) -> dict[str, Any]:
    return {"previousValue": None, "updatedValue": value, "changeType": "CREATE"}


def delete(value: Any) -> dict[str, Any]:
    return {"previousValue": value, "updatedValue": None, "changeType": "DELETE"}


def update(old: Any, new: Any) -> dict[str, Any]:
    return {"previousValue": old, "updatedValue": new, "changeType": "UPDATE"}


def test_first_ci_is_a_create_of_everything() -> None:
    ci = make_ci(
        tags={}, relationships=(), configuration={"instanceType": "t3.micro", "state": {"name": "running"}}
    )
    assert diff(None, ci) == {
        "changeType": "CREATE",
        "changedProperties": {
            "Configuration.InstanceType": create("t3.micro"),
            "Configuration.State": create({"name": "running"}),
        },
    }


def test_no_change() -> None:
    assert diff(make_ci(), make_ci(configurationItemCaptureTime="2024-05-02T00:00:00.000Z")) == {
        "changeType": "UPDATE",
        "changedProperties": {},
    }


def test_nested_update_delete_and_create() -> None:
    old = {"instanceType": "t3.micro", "state": {"name": "running", "code": 16}, "ebsOptimized": False}
    new = {"instanceType": "t3.micro", "state": {"name": "stopped", "code": 16}, "publicIp": "1.2.3.4"}
    assert cfg_change(old, new) == {
        "Configuration.State.Name": update("running", "stopped"),
        "Configuration.EbsOptimized": delete(False),
        "Configuration.PublicIp": create("1.2.3.4"),
    }


def test_type_change_is_an_update_of_the_whole_value() -> None:
    assert cfg_change({"ports": [80]}, {"ports": {"from": 80}}) == {
        "Configuration.Ports": update([80], {"from": 80}),
    }


def test_tags_keep_their_keys_as_written() -> None:
    old = make_ci(tags={"env": "prod", "team": "a", "Owner": "x"})
    new = make_ci(tags={"env": "dev", "Owner": "x", "cost-centre": "42"})
    assert diff(old, new)["changedProperties"] == {
        "Tags.env": update("prod", "dev"),
        "Tags.team": delete("a"),
        "Tags.cost-centre": create("42"),
    }


def test_supplementary_configuration_keys_not_capitalised() -> None:
    old = make_ci(supplementaryConfiguration={"BucketPolicy": {"policyText": None}, "isRequesterPays": False})
    new = make_ci(supplementaryConfiguration={"BucketPolicy": {"policyText": "{}"}, "isRequesterPays": True})
    assert diff(old, new)["changedProperties"] == {
        "SupplementaryConfiguration.BucketPolicy.policyText": update(None, "{}"),
        "SupplementaryConfiguration.isRequesterPays": update(False, True),
    }


# -- lists as multisets --------------------------------------------------------------------------

A = {"ipProtocol": "tcp", "fromPort": 22}
B = {"ipProtocol": "tcp", "fromPort": 443}
C = {"ipProtocol": "udp", "fromPort": 53}


def test_reordering_a_list_is_no_change() -> None:
    assert cfg_change({"ipPermissions": [A, B, C]}, {"ipPermissions": [C, A, B]}) == {}


def test_appending_is_a_create_at_the_new_index() -> None:
    assert cfg_change({"ipPermissions": [A, B]}, {"ipPermissions": [A, B, C]}) == {
        "Configuration.IpPermissions.2": create(C),
    }


def test_removing_is_a_delete_at_the_old_index() -> None:
    assert cfg_change({"ipPermissions": [A, B, C]}, {"ipPermissions": [A, C]}) == {
        "Configuration.IpPermissions.1": delete(B),
    }


def test_replacing_at_the_same_index_is_one_update() -> None:
    assert cfg_change({"ipPermissions": [A, B]}, {"ipPermissions": [A, C]}) == {
        "Configuration.IpPermissions.1": update(B, C),
    }


def test_replacing_at_another_index_is_delete_and_create() -> None:
    assert cfg_change({"ipPermissions": [A, B]}, {"ipPermissions": [C, A]}) == {
        "Configuration.IpPermissions.1": delete(B),
        "Configuration.IpPermissions.0": create(C),
    }


def test_duplicates_are_counted() -> None:
    assert cfg_change({"cidrs": ["a", "a"]}, {"cidrs": ["a"]}) == {"Configuration.Cidrs.1": delete("a")}
    assert cfg_change({"cidrs": ["a"]}, {"cidrs": ["a", "b", "a"]}) == {
        "Configuration.Cidrs.1": create("b"),
        "Configuration.Cidrs.2": create("a"),
    }


def test_relationships_added_and_removed() -> None:
    old = make_ci(relationships=(VPC, SG))
    new = make_ci(relationships=(SG,))
    assert diff(old, new)["changedProperties"] == {"Relationships.0": delete(VPC.to_dict())}
    assert diff(new, old)["changedProperties"] == {"Relationships.0": create(VPC.to_dict())}
    assert VPC.to_dict() == {
        "resourceType": "AWS::EC2::VPC",
        "resourceId": "vpc-1",
        "resourceName": None,
        "relationshipName": "Is contained in Vpc",
    }


def test_deleted_ci() -> None:
    gone = make_ci(configurationItemStatus="ResourceDeleted", configuration={}, tags={}, relationships=())
    assert diff(make_ci(), gone) == {"changeType": "DELETE", "changedProperties": {}}


# -- content hash ------------------------------------------------------------------------------


def test_content_hash_ignores_capture_time_status_state_id_and_relationship_order() -> None:
    base = make_ci(relationships=(VPC, SG))
    same = make_ci(
        relationships=(SG, VPC),
        configurationItemCaptureTime="2025-01-01T00:00:00.000Z",
        configurationItemStatus="ResourceDiscovered",
        configurationStateId="99",
        configurationItemMD5Hash="abc",
    )
    assert content_hash(base) == content_hash(same)


def test_content_hash_sees_every_content_change() -> None:
    base = make_ci(supplementaryConfiguration={"x": 1})
    variants = [
        dataclasses.replace(base, tags={"env": "dev"}),
        dataclasses.replace(base, configuration={**base.configuration, "instanceType": "t3.large"}),
        dataclasses.replace(base, supplementaryConfiguration={"x": 2}),
        dataclasses.replace(base, relationships=(VPC, SG)),
        dataclasses.replace(base, relationships=(dataclasses.replace(VPC, resourceId="vpc-2"),)),
        dataclasses.replace(base, resourceName="web-2"),
        dataclasses.replace(base, arn="arn:aws:ec2:us-east-1:123456789012:instance/i-1"),
        dataclasses.replace(base, availabilityZone="us-east-1a"),
    ]
    hashes = {content_hash(base), *(content_hash(v) for v in variants)}
    assert len(hashes) == len(variants) + 1


def test_content_hash_volatile_paths() -> None:
    def user(last_used: str) -> ConfigurationItem:
        keys = [{"accessKeyId": "AKIA1", "lastUsedDate": last_used}, {"accessKeyId": "AKIA2"}]
        return make_ci(resourceType="AWS::IAM::User", supplementaryConfiguration={"AccessKeys": keys})

    volatile = ("supplementaryConfiguration.AccessKeys[*].lastUsedDate",)
    early, late = user("2024-05-01T00:00:00Z"), user("2024-05-02T00:00:00Z")
    assert content_hash(early, volatile) == content_hash(late, volatile)
    assert content_hash(early) != content_hash(late)


# -- strip_paths -------------------------------------------------------------------------------


def test_strip_paths_does_not_mutate_its_input() -> None:
    document = {"a": {"b": 1, "c": 2}, "items": [{"x": 1, "y": 2}, {"x": 3}], "keep": [1, 2]}
    before = copy.deepcopy(document)
    assert strip_paths(document, ["a.b", "items[*].x"]) == {
        "a": {"c": 2},
        "items": [{"y": 2}, {}],
        "keep": [1, 2],
    }
    assert document == before


def test_strip_paths_tolerates_missing_keys_and_other_shapes() -> None:
    document = {"a": 5, "items": [1, "s", {"x": 1}, [{"x": 2}]], "d": {"e": None}}
    assert strip_paths(document, ["nope", "a.b", "items[*].x", "d[*].e", "d.e.f", "a[*]"]) == {
        "a": 5,
        "items": [1, "s", {}, [{"x": 2}]],
        "d": {"e": None},
    }
    assert strip_paths([{"x": 1}, {"x": 2, "y": 3}], ["[*].x"]) == [{}, {"y": 3}]
    assert strip_paths("text", ["a.b"]) == "text"
