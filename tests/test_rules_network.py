"""The network and compute rules (``packs/network-compute.yaml``) on the recorded sample estate.

The expectations come from what the seeding code made each resource to be
(``vigil/demo/estate/network.py`` and ``apps.py``): the deliberate mistakes, and AWS's own defaults
the estate leaves alone (default VPCs, groups and ACLs; instances launched before EBS encryption by
default was turned on). They are not copied from the rules' output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from conftest import REGIONS, Seeded
from vigil.aws import recorder
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.demo.estate import RegionEstate
from vigil.rules import load, selftest
from vigil.rules.checks import network
from vigil.rules.conditions import Env
from vigil.rules.evaluate import Inventory, evaluate_all
from vigil.rules.spec import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, NOT_APPLICABLE, Evaluation
from vigil.store import inventory, open_store

PACK = "network-compute"
FIRST, SECOND = REGIONS


@dataclass
class Evaluated:
    seeded: Seeded
    cis: list[dict[str, Any]]
    evaluations: list[Evaluation]

    @property
    def first(self) -> RegionEstate:
        return self.seeded.estate.first

    def of(self, resource_type: str, region: str = FIRST) -> list[dict[str, Any]]:
        return [c for c in self.cis if c["resourceType"] == resource_type and c["awsRegion"] == region]

    def verdict(self, rule_id: str, resource_id: str, region: str = FIRST) -> Evaluation:
        found = [
            e
            for e in self.evaluations
            if e.rule_id == rule_id and e.resource_id == resource_id and e.region == region
        ]
        assert len(found) == 1, f"{rule_id} on {resource_id}: {len(found)} evaluations"
        return found[0]

    def failing(self, region: str = FIRST) -> set[tuple[str, str]]:
        return {
            (e.rule_id, e.resource_id)
            for e in self.evaluations
            if e.compliance == NON_COMPLIANT and e.region == region
        }


@pytest.fixture(scope="module")
def evaluated(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
        store = open_store(tmp_path_factory.mktemp("rules-network") / "v.db")
        report = recorder.scan(shared_seeded.account.session(), store)
    with store.connect() as conn:
        cis = [ci.to_dict() for ci in inventory.current(conn)]
    store.close()
    assert report.errors == []
    rules = [r for r in load.load().rules if r.pack == PACK]
    evaluations = evaluate_all(rules, Inventory(cis), now=datetime.now(UTC))
    return Evaluated(shared_seeded, cis, evaluations)


def _ids(cis: list[dict[str, Any]], **where: Any) -> set[str]:
    return {
        c["resourceId"]
        for c in cis
        if all((c.get("configuration") or {}).get(k) == v for k, v in where.items())
    }


def _root_volumes(e: Evaluated) -> set[str]:
    """The volumes the instances booted from: created unencrypted, because the first region turns
    EBS encryption by default on only after its instances are launched."""
    out = set()
    for instance in e.of("AWS::EC2::Instance"):
        config = instance["configuration"]
        for mapping in config.get("blockDeviceMappings") or []:
            if mapping["deviceName"] == config["rootDeviceName"]:
                out.add(mapping["ebs"]["volumeId"])
    return out


def expected_failures(e: Evaluated) -> set[tuple[str, str]]:
    first = e.first
    groups, instances, volumes = first.groups, first.instances, first.volumes
    default_groups = _ids(e.of("AWS::EC2::SecurityGroup"), groupName="default")
    default_acls = _ids(e.of("AWS::EC2::NetworkAcl"), isDefault=True)
    default_vpcs = _ids(e.of("AWS::EC2::VPC"), isDefault=True)
    default_subnets = _ids(e.of("AWS::EC2::Subnet"), defaultForAz=True)
    peer_acls = _ids(e.of("AWS::EC2::NetworkAcl"), vpcId=first.peer_vpc)
    assert len(peer_acls) == 1
    assert len(default_groups) == 3 and len(default_acls) == 3  # default, prod and shared-services VPCs
    assert len(default_vpcs) == 1 and default_subnets
    assert len(_root_volumes(e)) == 3
    orders, db_snapshot = first.db_instances["public"], first.db_snapshots["public"]
    ledger, alb = first.db_instances["private"], first.load_balancers["web"]
    pairs = {
        # ssh-open: 22/tcp from 0.0.0.0/0; rdp-open: 3389/tcp from 0.0.0.0/0, and attached to nothing
        ("restricted-ssh", groups["ssh_open"]),
        ("restricted-common-ports", groups["rdp_open"]),
        ("vpc-sg-port-restriction-check", groups["ssh_open"]),
        ("vpc-sg-port-restriction-check", groups["rdp_open"]),
        ("security-group-admin-ports-ipv4-restricted", groups["ssh_open"]),
        ("security-group-admin-ports-ipv4-restricted", groups["rdp_open"]),
        ("vpc-sg-open-only-to-authorized-ports", groups["ssh_open"]),
        ("vpc-sg-open-only-to-authorized-ports", groups["rdp_open"]),
        ("ec2-security-group-attached-to-eni", groups["rdp_open"]),
        # the web instance allows IMDSv1; web and bastion sit in the public subnet, which assigns
        # public addresses (the bastion has an Elastic IP as well)
        ("ec2-imdsv2-check", instances["web"]),
        ("ec2-instance-no-public-ip", instances["web"]),
        ("ec2-instance-no-public-ip", instances["bastion"]),
        ("subnet-auto-assign-public-ip-disabled", first.public_subnet),
        # the web logs volume is attached and unencrypted; the scratch volume is attached to nothing
        ("encrypted-volumes", volumes["logs_unencrypted"]),
        ("ec2-volume-inuse-check", volumes["scratch_unencrypted"]),
        # its snapshot is shared with everyone
        ("ebs-snapshot-public-restorable-check", first.snapshots["logs_public"]),
        # the ALB listens on HTTP:80 and forwards; nothing turns on deletion protection or logs
        ("alb-http-to-https-redirection-check", alb),
        ("elb-deletion-protection-enabled", alb),
        ("elb-logging-enabled", alb),
        # anyone may invoke the webhook; the shared file system is unencrypted
        ("lambda-function-public-access-prohibited", first.functions["public_invoke"]),
        ("efs-encrypted-check", first.file_systems["shared"]),
        # orders-db is public and unencrypted, its snapshot public (and so unencrypted);
        # neither database is Multi-AZ or protected from deletion
        ("rds-instance-public-access-check", orders),
        ("rds-storage-encrypted", orders),
        ("rds-multi-az-support", orders),
        ("rds-multi-az-support", ledger),
        ("rds-instance-deletion-protection-enabled", orders),
        ("rds-instance-deletion-protection-enabled", ledger),
        ("rds-snapshots-public-prohibited", db_snapshot),
        ("rds-snapshot-encrypted", db_snapshot),
        # only the estate's own VPC has a flow log
        ("vpc-flow-logs-enabled", first.peer_vpc),
        # rdp-open also fails the RDP-only control
        ("restricted-rdp", groups["rdp_open"]),
        # the webhook runs outside any VPC
        ("lambda-inside-vpc", first.functions["public_invoke"]),
    }
    # both databases are created with the API's defaults for what the estate does not set: no
    # enhanced monitoring, no log exports, no IAM authentication, no tag copying, the engine's port
    for db in (orders, ledger):
        pairs |= {
            ("rds-enhanced-monitoring-enabled", db),
            ("rds-logging-enabled", db),
            ("rds-postgresql-logs-to-cloudwatch", db),
            ("rds-instance-iam-authentication-enabled", db),
            ("rds-instance-copy-tags-to-snapshots-enabled", db),
            ("rds-no-default-ports", db),
        }
    # the emulator reports every instance as paravirtual (t3 types run only HVM on AWS)
    pairs |= {("ec2-paravirtual-instance-check", i) for i in instances.values()}
    # AWS's defaults, which the estate leaves as AWS makes them
    pairs |= {("vpc-default-security-group-closed", g) for g in default_groups}  # egress to anywhere
    pairs |= {("nacl-no-unrestricted-ssh-rdp", a) for a in default_acls}  # allow all inbound
    pairs |= {("vpc-flow-logs-enabled", v) for v in default_vpcs}
    # the shared-services VPC has no subnet, so its default ACL guards nothing
    pairs |= {("vpc-network-acl-unused-check", a) for a in peer_acls}
    pairs |= {("subnet-auto-assign-public-ip-disabled", s) for s in default_subnets}
    pairs |= {("encrypted-volumes", v) for v in _root_volumes(e)}
    return pairs


def test_the_sample_estate_fails_exactly_where_it_was_seeded_to(evaluated: Evaluated) -> None:
    expected = expected_failures(evaluated)
    actual = evaluated.failing()
    assert actual - expected == set(), "unexpected NON_COMPLIANT"
    assert expected - actual == set(), "mistakes the rules missed"


def test_what_was_seeded_right_is_compliant(evaluated: Evaluated) -> None:
    first = evaluated.first
    groups = first.groups
    compliant = [
        ("restricted-ssh", groups["admin"]),  # SSH from the office range only
        ("restricted-ssh", groups["web"]),
        ("vpc-sg-open-only-to-authorized-ports", groups["web"]),  # 80 and 443 only
        ("security-group-admin-ports-ipv4-restricted", groups["admin"]),
        ("ec2-security-group-attached-to-eni", groups["db"]),
        ("nacl-no-unrestricted-ssh-rdp", first.private_acl),  # denies before it allows, VPC range only
        ("vpc-flow-logs-enabled", first.vpc),
        ("subnet-auto-assign-public-ip-disabled", first.private_subnet),
        ("ec2-imdsv2-check", first.instances["app"]),
        ("ec2-imdsv2-check", first.instances["bastion"]),
        ("ec2-instance-no-public-ip", first.instances["app"]),
        ("ec2-stopped-instance", first.instances["web"]),
        ("encrypted-volumes", first.volumes["data_encrypted"]),
        ("ec2-volume-inuse-check", first.volumes["data_encrypted"]),
        ("ebs-snapshot-public-restorable-check", first.snapshots["data_private"]),
        ("eip-attached", first.eips["bastion"]),
        ("eip-attached", first.eips["nat"]),
        ("lambda-function-settings-check", first.functions["public_invoke"]),  # python3.12
        ("rds-instance-public-access-check", first.db_instances["private"]),
        ("rds-storage-encrypted", first.db_instances["private"]),
        ("db-instance-backup-enabled", first.db_instances["public"]),
        ("rds-automatic-minor-version-upgrade-enabled", first.db_instances["private"]),
        ("ec2-ebs-encryption-by-default", evaluated.seeded.estate.account_id),
        ("restricted-rdp", groups["web"]),
        ("restricted-rdp", groups["admin"]),
        ("vpc-network-acl-unused-check", first.private_acl),  # the private subnet's
        ("ec2-instance-multiple-eni-check", first.instances["bastion"]),  # an Elastic IP, one interface
        ("elbv2-multiple-az", first.load_balancers["web"]),  # both subnets, two zones
        ("rds-deployed-in-vpc", first.db_instances["public"]),
        ("rds-deployed-in-vpc", first.db_instances["private"]),
        ("rds-instance-default-admin-check", first.db_instances["public"]),  # "app"
        ("rds-instance-default-admin-check", first.db_instances["private"]),
    ]
    wrong = [
        (rule, resource, v.compliance, v.annotation)
        for rule, resource in compliant
        if (v := evaluated.verdict(rule, resource)).compliance != COMPLIANT
    ]
    assert wrong == []


def test_the_second_region_has_ebs_encryption_by_default_off(evaluated: Evaluated) -> None:
    account = evaluated.seeded.estate.account_id
    verdict = evaluated.verdict("ec2-ebs-encryption-by-default", account, SECOND)
    assert verdict.compliance == NON_COMPLIANT
    assert verdict.annotation == f"EBS encryption by default is off in {SECOND}"
    assert ("ec2-ebs-encryption-by-default", account) not in evaluated.failing(FIRST)


def test_annotations_name_the_offending_value(evaluated: Evaluated) -> None:
    first = evaluated.first
    said = {
        ("restricted-ssh", first.groups["ssh_open"]): "ingress tcp 22 from 0.0.0.0/0 opens port 22",
        (
            "restricted-common-ports",
            first.groups["rdp_open"],
        ): "ingress tcp 3389 from 0.0.0.0/0 opens port 3389",
        ("ec2-imdsv2-check", first.instances["web"]): '"optional"',
        ("alb-http-to-https-redirection-check", first.load_balancers["web"]): "listener HTTP:80",
        ("lambda-function-public-access-prohibited", first.functions["public_invoke"]): "'public-invoke'",
        ("rds-snapshots-public-prohibited", first.db_snapshots["public"]): '"all"',
        ("ebs-snapshot-public-restorable-check", first.snapshots["logs_public"]): '"all"',
        ("restricted-rdp", first.groups["rdp_open"]): "from 0.0.0.0/0 opens port 3389",
        ("rds-no-default-ports", first.db_instances["public"]): "port 5432 is the postgres default",
        ("rds-logging-enabled", first.db_instances["private"]): "postgresql, upgrade (exported: none)",
    }
    for (rule, resource), text in said.items():
        assert text in evaluated.verdict(rule, resource).annotation, rule


def test_what_the_emulator_does_not_record_is_insufficient_not_compliant(evaluated: Evaluated) -> None:
    """The emulator returns no routing.http.drop_invalid_header_fields.enabled and no
    routing.http.desync_mitigation_mode attribute."""
    for rule in ("alb-http-drop-invalid-header-enabled", "alb-desync-mode-check"):
        verdict = evaluated.verdict(rule, evaluated.first.load_balancers["web"])
        assert verdict.compliance == INSUFFICIENT_DATA, rule
        assert "was not recorded" in verdict.annotation


def test_a_function_outside_any_vpc_is_not_judged_on_its_zones(evaluated: Evaluated) -> None:
    verdict = evaluated.verdict("lambda-vpc-multi-az-check", evaluated.first.functions["public_invoke"])
    assert verdict.compliance == NOT_APPLICABLE


def test_default_groups_are_not_judged_by_rules_for_other_groups(evaluated: Evaluated) -> None:
    for group in _ids(evaluated.of("AWS::EC2::SecurityGroup"), groupName="default"):
        assert evaluated.verdict("ec2-security-group-attached-to-eni", group).compliance == NOT_APPLICABLE
    for group in ("web", "db", "admin"):
        gid = evaluated.first.groups[group]
        assert evaluated.verdict("vpc-default-security-group-closed", gid).compliance == NOT_APPLICABLE


# -- the checks on their own -------------------------------------------------------------------


def _env(ci: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> Env:
    doc = selftest.minimal_ci(ci.get("resourceType", "AWS::EC2::SecurityGroup"), **ci)
    return Env(doc, doc, params or {}, selftest.EXAMPLE_NOW)


def _group(*permissions: dict[str, Any]) -> dict[str, Any]:
    return {"configuration": {"ipPermissions": list(permissions)}}


def test_the_port_parameter_checks_keep_working() -> None:
    ipv4_only = network.CHECKS["security-group-open-ports-ipv4"]
    both = network.CHECKS["security-group-open-ports"]
    v6 = _group({"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": [{"cidrIpv6": "::/0"}]})
    assert ipv4_only(_env(v6, {"ports": ["22"]})).ok
    assert not both(_env(v6, {"ports": "22"})).ok
    assert both(_env(v6, {"ports": "23-80"})).ok


def test_icmp_and_self_references_open_no_port() -> None:
    check = network.CHECKS["vpc-sg-open-only-to-authorized-ports"]
    icmp = _group({"ipProtocol": "icmp", "fromPort": 8, "toPort": -1, "ipRanges": ["0.0.0.0/0"]})
    assert check(_env(icmp)).ok
    pair = _group(
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "userIdGroupPairs": [{"groupId": "sg-1"}]}
    )
    assert not check(_env(pair)).applicable
    assert network.CHECKS["restricted-ssh"](_env(pair)).ok


def test_a_stopped_instance_within_the_allowance() -> None:
    check = network.CHECKS["ec2-stopped-instance"]
    ci = {
        "resourceType": "AWS::EC2::Instance",
        "configuration": {
            "state": {"name": "stopped"},
            "stateTransitionReason": "User initiated (2025-12-17 12:00:00 GMT)",
        },
    }
    assert check(_env(ci, {"AllowedDays": 30})).ok  # 29 days before EXAMPLE_NOW
    assert not check(_env(ci, {"AllowedDays": 28})).ok


def test_an_unreadable_lambda_policy_is_insufficient() -> None:
    check = network.CHECKS["lambda-function-public-access-prohibited"]
    ci = {
        "resourceType": "AWS::Lambda::Function",
        "supplementaryConfiguration": {"Policy": {"policyText": "{"}},
    }
    outcome = check(_env(ci))
    assert outcome.insufficient and not outcome.ok


def test_peering_route_without_a_recorded_peering_is_insufficient() -> None:
    check = network.CHECKS["vpc-peering-routes-least-access"]
    ci = {
        "resourceType": "AWS::EC2::RouteTable",
        "configuration": {
            "routes": [{"destinationCidrBlock": "10.9.0.0/16", "vpcPeeringConnectionId": "pcx-1"}]
        },
    }
    assert check(_env(ci)).insufficient


@pytest.mark.parametrize(
    "entries, ok",
    [
        # an allow for 22 from a narrow range, then a deny of everything: closed
        ([(100, "allow", "6", "10.0.0.0/8", (22, 22)), (200, "deny", "-1", "0.0.0.0/0", None)], True),
        # a narrow deny does not close the port to the rest of the internet
        ([(90, "deny", "6", "198.51.100.0/24", (0, 65535)), (100, "allow", "-1", "0.0.0.0/0", None)], False),
        # UDP 3389 counts (RDP uses UDP too)
        ([(100, "allow", "17", "0.0.0.0/0", (3389, 3389))], False),
    ],
)
def test_nacl_entries_in_rule_number_order(entries: list[Any], ok: bool) -> None:
    rows = [
        {
            "ruleNumber": number,
            "ruleAction": action,
            "protocol": protocol,
            "cidrBlock": cidr,
            "egress": False,
            **({"portRange": {"from": ports[0], "to": ports[1]}} if ports else {}),
        }
        for number, action, protocol, cidr, ports in entries
    ]
    ci = {"resourceType": "AWS::EC2::NetworkAcl", "configuration": {"entries": rows}}
    assert network.CHECKS["nacl-no-unrestricted-admin-ports"](_env(ci)).ok is ok


def test_an_rds_port_is_read_from_the_endpoint_first() -> None:
    check = network.CHECKS["rds-no-default-ports"]
    ci = {
        "resourceType": "AWS::RDS::DBInstance",
        "configuration": {"engine": "mysql", "endpoint": {"port": 3306}, "dbInstancePort": 0},
    }
    outcome = check(_env(ci))
    assert not outcome.ok and not outcome.insufficient
    neptune = {"resourceType": "AWS::RDS::DBInstance", "configuration": {"engine": "neptune"}}
    assert not check(_env(neptune)).applicable


def test_allowed_interfaces_are_not_counted() -> None:
    check = network.CHECKS["ec2-instance-multiple-eni"]
    ci = {
        "resourceType": "AWS::EC2::Instance",
        "configuration": {"networkInterfaces": [{"networkInterfaceId": f"eni-{n}"} for n in (1, 2, 3)]},
    }
    assert not check(_env(ci, {"NetworkInterfaceIds": ["eni-3"]})).ok
    assert check(_env(ci, {"NetworkInterfaceIds": ["eni-2", "eni-3"]})).ok
