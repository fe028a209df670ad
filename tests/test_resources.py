"""Every resource type in RESOURCE_TYPES, recorded from moto, checked field by field.

``EXPECT`` holds one check per type; the meta-test loops over ``RESOURCE_TYPES``, so a type added to
the table without a check here fails. ``test_every_ci_has_aws_config_shape`` checks what all CIs share.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import boto3
import pytest

import checks_apps
import checks_monitoring
import checks_network
import checks_security
from conftest import REGIONS, Seeded
from recorded import Recorded, rels
from vigil.aws import recorder
from vigil.aws.resources import RESOURCE_TYPES
from vigil.demo.emulator import EMULATOR_KEY_ID, EMULATOR_SECRET
from vigil.model import DISCOVERED, GLOBAL_REGION
from vigil.store import inventory, open_store


@pytest.fixture(scope="module")
def recorded(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET)
        session = shared_seeded.account.session()
        store = open_store(tmp_path_factory.mktemp("resources") / "v.db")
        report = recorder.scan(session, store)
    with store.connect() as conn:
        cis = inventory.current(conn)
    store.close()
    assert report.errors == []
    return Recorded(shared_seeded.estate, cis, report)


# -- one check per type ----------------------------------------------------------------------------


def check_account(r: Recorded) -> None:
    items = r.of("AWS::::Account")
    assert sorted(c.awsRegion for c in items) == sorted(REGIONS)
    east = r.of("AWS::::Account", "us-east-1")[0]
    west = r.of("AWS::::Account", "eu-west-1")[0]
    assert east.resourceId == r.estate.account_id and east.arn is None
    config = east.configuration
    assert config["passwordPolicy"]["minimumPasswordLength"] == 8
    assert config["passwordPolicy"]["requireSymbols"] is False
    assert config["accountSummary"]["Users"] == len(r.estate.users)
    assert config["root"] == {
        "mfaActive": False,
        "mfaType": None,
        "accessKeysPresent": False,
        "passwordLastUsed": None,
    }
    report_rows = {row["user"]: row for row in config["credentialReport"]["users"]}
    assert set(report_rows) == set(r.estate.users)
    assert (report_rows["bob"]["password_enabled"], report_rows["bob"]["mfa_active"]) == (True, False)
    assert report_rows["bob"]["access_key_1_active"] is True
    assert report_rows["alice"]["mfa_active"] is True
    assert (east.configuration["ebsEncryptionByDefault"], west.configuration["ebsEncryptionByDefault"]) == (
        True,
        False,
    )
    checks_security.check_account_security(r)


def check_user(r: Recorded) -> None:
    policies = {c.resourceName: c.resourceId for c in r.of("AWS::IAM::Policy")}
    bob = r.one("AWS::IAM::User", "bob")
    assert bob.awsRegion == GLOBAL_REGION and bob.arn == f"arn:aws:iam::{r.estate.account_id}:user/bob"
    assert bob.configuration["userName"] == "bob" and bob.configuration["userId"] == bob.resourceId
    assert ("Is attached to CustomerManagedPolicy", "AWS::IAM::Policy", policies["admin-everything"]) in rels(
        bob
    )
    sup = bob.supplementaryConfiguration
    assert sup["MfaActive"] is False and sup["VirtualMfaDevices"] == []
    assert sup["LoginProfile"]["passwordEnabled"] is True
    assert [(k["slot"], k["active"]) for k in sup["AccessKeys"]] == [(1, True)]
    assert bob.tags == {"owner": "platform-team"}
    alice = r.one("AWS::IAM::User", "alice")
    assert alice.supplementaryConfiguration["MfaActive"] is True
    assert len(alice.supplementaryConfiguration["VirtualMfaDevices"]) == 1
    assert [x.relationshipName for x in alice.relationships] == ["Is attached to Group"]
    assert alice.configuration["groupList"] == ["developers"]
    ci_deploy = r.one("AWS::IAM::User", "ci-deploy")
    assert ci_deploy.supplementaryConfiguration["LoginProfile"]["passwordEnabled"] is False


def check_role(r: Recorded) -> None:
    role = r.one("AWS::IAM::Role", "app-instance-role")
    assert role.awsRegion == GLOBAL_REGION and role.resourceId.startswith("AROA")
    trust = role.configuration["assumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert [p["policyName"] for p in role.configuration["attachedManagedPolicies"]] == ["s3-read"]
    assert [x.relationshipName for x in role.relationships] == ["Is attached to CustomerManagedPolicy"]
    assert role.tags == {"env": "prod"}
    assert role.configuration["instanceProfileList"][0]["instanceProfileName"] == "app-instance-profile"


def check_policy(r: Recorded) -> None:
    admin = r.one("AWS::IAM::Policy", "admin-everything")
    assert admin.arn == r.estate.policies["admin-everything"] and admin.awsRegion == GLOBAL_REGION
    (default,) = [v for v in admin.configuration["policyVersionList"] if v["isDefaultVersion"]]
    assert default["document"]["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    bob = r.one("AWS::IAM::User", "bob")
    admins = r.one("AWS::IAM::Group", "admins")
    assert rels(admin) == {
        ("Is attached to User", "AWS::IAM::User", bob.resourceId),
        ("Is attached to Group", "AWS::IAM::Group", admins.resourceId),
    }
    assert admin.tags == {"owner": "legacy"}
    read = r.one("AWS::IAM::Policy", "s3-read")
    assert {x.relationshipName for x in read.relationships} == {"Is attached to Role", "Is attached to Group"}


def check_instance(r: Recorded) -> None:
    first = r.estate.first
    web = r.one("AWS::EC2::Instance", first.instances["web"])
    assert web.resourceName == "web-0" and web.awsRegion == first.region
    assert web.arn == f"arn:aws:ec2:{first.region}:{r.estate.account_id}:instance/{web.resourceId}"
    assert web.availabilityZone == f"{first.region}a"
    assert web.tags == {
        "Name": "web-0",
        "env": "prod",
        "owner": "platform-team",
        "data-classification": "internal",
    }
    assert web.configuration["metadataOptions"]["httpTokens"] == "optional"
    assert web.configuration["state"]["name"] == "running"
    assert web.resourceCreationTime is not None
    expected = {
        ("Is contained in Subnet", "AWS::EC2::Subnet", first.public_subnet),
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with SecurityGroup", "AWS::EC2::SecurityGroup", first.groups["web"]),
        ("Is attached to Volume", "AWS::EC2::Volume", first.volumes["logs_unencrypted"]),
    }
    assert expected <= rels(web)
    assert any(x.relationshipName == "Contains NetworkInterface" for x in web.relationships)
    app = r.one("AWS::EC2::Instance", first.instances["app"])
    assert app.configuration["metadataOptions"]["httpTokens"] == "required"
    assert "app-instance-profile" in app.configuration["iamInstanceProfile"]["arn"]
    bastion = r.one("AWS::EC2::Instance", first.instances["bastion"])
    assert {g["groupId"] for g in bastion.configuration["securityGroups"]} == {
        first.groups["ssh_open"],
        first.groups["admin"],
    }
    assert bastion.configuration.get("publicIpAddress")


def check_volume(r: Recorded) -> None:
    first = r.estate.first
    data = r.one("AWS::EC2::Volume", first.volumes["data_encrypted"])
    assert data.configuration["encrypted"] is True and data.configuration["size"] == 100
    assert rels(data) == {("Is attached to Instance", "AWS::EC2::Instance", first.instances["app"])}
    assert data.availabilityZone == f"{first.region}b"
    scratch = r.one("AWS::EC2::Volume", first.volumes["scratch_unencrypted"])
    assert scratch.configuration["encrypted"] is False and scratch.relationships == ()
    assert scratch.tags == {"Name": "scratch-0", "env": "prod"}


def check_security_group(r: Recorded) -> None:
    first = r.estate.first
    ssh = r.one("AWS::EC2::SecurityGroup", first.groups["ssh_open"])
    assert ssh.resourceName == "ssh-open-0"
    (perm,) = ssh.configuration["ipPermissions"]
    assert (perm["ipProtocol"], perm["fromPort"], perm["toPort"]) == ("tcp", 22, 22)
    assert perm["ipRanges"] == ["0.0.0.0/0"]
    assert perm["ipv4Ranges"] == [{"cidrIp": "0.0.0.0/0", "description": "managed by demo"}]
    web = r.one("AWS::EC2::SecurityGroup", first.groups["web"])
    assert {
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with Instance", "AWS::EC2::Instance", first.instances["web"]),
    } <= rels(web)
    assert any(x.relationshipName == "Is associated with NetworkInterface" for x in web.relationships)
    db = r.one("AWS::EC2::SecurityGroup", first.groups["db"])
    assert db.configuration["ipPermissions"][0]["userIdGroupPairs"][0]["groupId"] == first.groups["web"]
    assert ("Is associated with NetworkInterface", "AWS::EC2::NetworkInterface", first.eni) in rels(db)


def check_network_interface(r: Recorded) -> None:
    first = r.estate.first
    eni = r.one("AWS::EC2::NetworkInterface", first.eni)
    assert eni.tags == {"Name": "spare-eni-0", "env": "prod"} and eni.resourceName == "spare-eni-0"
    assert eni.configuration["tagSet"] == [
        {"key": "Name", "value": "spare-eni-0"},
        {"key": "env", "value": "prod"},
    ]
    assert rels(eni) == {
        ("Is contained in Subnet", "AWS::EC2::Subnet", first.private_subnet),
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with SecurityGroup", "AWS::EC2::SecurityGroup", first.groups["db"]),
    }
    attached = [
        c
        for c in r.of("AWS::EC2::NetworkInterface")
        if any(
            x.relationshipName == "Is attached to Instance" and x.resourceId == first.instances["web"]
            for x in c.relationships
        )
    ]
    assert len(attached) == 1


def check_vpc(r: Recorded) -> None:
    first = r.estate.first
    vpc = r.one("AWS::EC2::VPC", first.vpc)
    assert vpc.configuration["cidrBlock"] == "10.1.0.0/16" and vpc.resourceName == "prod-vpc-0"
    expected = {
        ("Contains Subnet", "AWS::EC2::Subnet", first.public_subnet),
        ("Contains Subnet", "AWS::EC2::Subnet", first.private_subnet),
        ("Is attached to InternetGateway", "AWS::EC2::InternetGateway", first.igw),
        ("Contains RouteTable", "AWS::EC2::RouteTable", first.public_route_table),
        ("Contains NetworkAcl", "AWS::EC2::NetworkAcl", first.private_acl),
        ("Contains SecurityGroup", "AWS::EC2::SecurityGroup", first.groups["web"]),
        ("Contains NetworkInterface", "AWS::EC2::NetworkInterface", first.eni),
    } | {("Contains Instance", "AWS::EC2::Instance", i) for i in first.instances.values()}
    assert expected <= rels(vpc)
    default = [c for c in r.of("AWS::EC2::VPC", first.region) if c.configuration.get("isDefault")]
    assert len(default) == 1


def check_subnet(r: Recorded) -> None:
    first = r.estate.first
    public = r.one("AWS::EC2::Subnet", first.public_subnet)
    assert (
        public.configuration["mapPublicIpOnLaunch"] is True and public.availabilityZone == f"{first.region}a"
    )
    assert public.arn and public.arn.endswith(f"subnet/{first.public_subnet}")
    assert {
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with RouteTable", "AWS::EC2::RouteTable", first.public_route_table),
        ("Contains Instance", "AWS::EC2::Instance", first.instances["web"]),
        ("Contains Instance", "AWS::EC2::Instance", first.instances["bastion"]),
    } <= rels(public)
    private = r.one("AWS::EC2::Subnet", first.private_subnet)
    assert ("Is attached to NetworkAcl", "AWS::EC2::NetworkAcl", first.private_acl) in rels(private)
    assert ("Contains NetworkInterface", "AWS::EC2::NetworkInterface", first.eni) in rels(private)
    main_tables = [x for x in private.relationships if x.relationshipName == "Is associated with RouteTable"]
    assert len(main_tables) == 1 and main_tables[0].resourceId != first.public_route_table


def check_internet_gateway(r: Recorded) -> None:
    first = r.estate.first
    igw = r.one("AWS::EC2::InternetGateway", first.igw)
    assert rels(igw) == {("Is attached to Vpc", "AWS::EC2::VPC", first.vpc)}
    assert igw.configuration["attachments"][0]["vpcId"] == first.vpc


def check_route_table(r: Recorded) -> None:
    first = r.estate.first
    table = r.one("AWS::EC2::RouteTable", first.public_route_table)
    assert rels(table) == {
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is associated with Subnet", "AWS::EC2::Subnet", first.public_subnet),
    }
    default_route = [x for x in table.configuration["routes"] if x.get("destinationCidrBlock") == "0.0.0.0/0"]
    assert default_route[0]["gatewayId"] == first.igw


def check_network_acl(r: Recorded) -> None:
    first = r.estate.first
    acl = r.one("AWS::EC2::NetworkAcl", first.private_acl)
    assert rels(acl) == {
        ("Is contained in Vpc", "AWS::EC2::VPC", first.vpc),
        ("Is attached to Subnet", "AWS::EC2::Subnet", first.private_subnet),
    }
    inbound = sorted(
        (e["ruleNumber"], e["ruleAction"]) for e in acl.configuration["entries"] if not e["egress"]
    )
    assert inbound[:2] == [(90, "deny"), (100, "allow")]


def check_bucket(r: Recorded) -> None:
    first = r.estate.first
    public = r.one("AWS::S3::Bucket", first.buckets["public"])
    assert public.awsRegion == first.region and public.arn == f"arn:aws:s3:::{public.resourceId}"
    assert public.configuration["name"] == public.resourceId
    grants = public.supplementaryConfiguration["AccessControlList"]["grants"]
    assert any(
        g["grantee"].get("uri", "").endswith("/global/AllUsers") and g["permission"] == "READ" for g in grants
    )
    assert "PublicAccessBlockConfiguration" not in public.supplementaryConfiguration
    assert public.tags == {"owner": "platform-team", "data-classification": "public"}
    logs = r.one("AWS::S3::Bucket", first.buckets["logs"])
    sup = logs.supplementaryConfiguration
    assert sup["PublicAccessBlockConfiguration"] == {
        "blockPublicAcls": True,
        "ignorePublicAcls": True,
        "blockPublicPolicy": True,
        "restrictPublicBuckets": True,
    }
    assert sup["BucketVersioningConfiguration"] == {"status": "Enabled", "isMfaDeleteEnabled": None}
    rule = sup["ServerSideEncryptionConfiguration"]["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert sup["BucketOwnershipControls"] == {"rules": [{"objectOwnership": "BucketOwnerEnforced"}]}
    assert sup["BucketLoggingConfiguration"] == {"destinationBucketName": None, "logFilePrefix": None}
    raw = r.one("AWS::S3::Bucket", first.buckets["unencrypted"])
    assert raw.supplementaryConfiguration["BucketVersioningConfiguration"]["status"] == "Off"
    west = r.estate.regions["eu-west-1"]
    assert r.one("AWS::S3::Bucket", west.buckets["logs"]).awsRegion == "eu-west-1"
    assert len(r.of("AWS::S3::Bucket", "us-east-1")) == 4


def check_key(r: Recorded) -> None:
    first = r.estate.first
    rotated = r.one("AWS::KMS::Key", first.keys["rotated"])
    assert rotated.supplementaryConfiguration["KeyRotationStatus"] is True
    assert (
        rotated.configuration["keyManager"] == "CUSTOMER" and rotated.configuration["keyState"] == "Enabled"
    )
    assert rotated.resourceName == "alias/app-data-0" and rotated.tags == {"env": "prod"}
    assert rotated.arn and rotated.arn.endswith(f"key/{rotated.resourceId}")
    policy = rotated.supplementaryConfiguration["KeyPolicy"]["policyText"]
    assert '"Statement"' in policy
    unrotated = r.one("AWS::KMS::Key", first.keys["unrotated"])
    assert unrotated.supplementaryConfiguration["KeyRotationStatus"] is False


def check_trail(r: Recorded) -> None:
    first, last = r.estate.first, r.estate.regions[REGIONS[-1]]
    main = r.one("AWS::CloudTrail::Trail", "org-audit-trail")
    assert main.awsRegion == first.region and main.arn and main.arn.endswith(":trail/org-audit-trail")
    assert (
        main.configuration["isMultiRegionTrail"] is True
        and main.configuration["logFileValidationEnabled"] is True
    )
    assert main.supplementaryConfiguration["TrailStatus"]["isLogging"] is True
    assert "EventSelectors" in main.supplementaryConfiguration
    assert main.tags == {"owner": "security-team"}
    local = r.one("AWS::CloudTrail::Trail", "team-local-trail")
    assert local.awsRegion == last.region
    assert (local.configuration["isMultiRegionTrail"], local.configuration["logFileValidationEnabled"]) == (
        False,
        False,
    )
    assert [c.resourceId for c in r.of("AWS::CloudTrail::Trail", last.region)] == ["team-local-trail"]


EXPECT: dict[str, Callable[[Recorded], None]] = {
    "AWS::::Account": check_account,
    "AWS::IAM::User": check_user,
    "AWS::IAM::Role": check_role,
    "AWS::IAM::Policy": check_policy,
    "AWS::EC2::Instance": check_instance,
    "AWS::EC2::Volume": check_volume,
    "AWS::EC2::SecurityGroup": check_security_group,
    "AWS::EC2::NetworkInterface": check_network_interface,
    "AWS::EC2::VPC": check_vpc,
    "AWS::EC2::Subnet": check_subnet,
    "AWS::EC2::InternetGateway": check_internet_gateway,
    "AWS::EC2::RouteTable": check_route_table,
    "AWS::EC2::NetworkAcl": check_network_acl,
    "AWS::S3::Bucket": check_bucket,
    "AWS::KMS::Key": check_key,
    "AWS::CloudTrail::Trail": check_trail,
    **checks_network.CHECKS,
    **checks_monitoring.CHECKS,
    **checks_apps.CHECKS,
    **checks_security.CHECKS,
}


@pytest.mark.parametrize("resource_type", sorted(RESOURCE_TYPES))
def test_resource_type_is_recorded_as_aws_config_does(resource_type: str, recorded: Recorded) -> None:
    assert resource_type in EXPECT, (
        f"{resource_type} is in RESOURCE_TYPES but has no check in tests/test_resources.py"
    )
    assert recorded.of(resource_type), f"no {resource_type} was recorded from the sample estate"
    EXPECT[resource_type](recorded)


def test_every_check_names_a_real_type() -> None:
    assert set(EXPECT) == set(RESOURCE_TYPES)


RELATIONSHIP_NAME = re.compile(r"^(Is (contained in|associated with|attached to)|Contains) [A-Za-z]+$")
CAPTURE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_every_ci_has_aws_config_shape(recorded: Recorded) -> None:
    known = {(c.resourceType, c.resourceId) for c in recorded.cis}
    for ci in recorded.cis:
        doc = ci.to_dict()
        assert list(doc)[:3] == ["version", "accountId", "configurationItemCaptureTime"]
        assert doc["version"] == "1.3" and doc["configurationItemMD5Hash"] == ""
        assert doc["accountId"] == recorded.estate.account_id
        assert doc["awsRegion"] in (*REGIONS, GLOBAL_REGION)
        assert doc["configurationItemStatus"] == DISCOVERED
        assert doc["configurationStateId"].isdigit()
        assert CAPTURE_TIME.match(doc["configurationItemCaptureTime"])
        assert isinstance(doc["configuration"], dict) and doc["configuration"]
        assert ci.resourceType == "AWS::::Account" or doc["arn"], ci.key
        for rel in doc["relationships"]:
            assert set(rel) == {"resourceType", "resourceId", "resourceName", "relationshipName"}
            assert RELATIONSHIP_NAME.match(rel["relationshipName"]), rel
            if rel["resourceType"] in RESOURCE_TYPES:
                assert (rel["resourceType"], rel["resourceId"]) in known, (ci.key, rel)
        for key in doc["configuration"]:
            assert not key[:1].isupper(), f"{ci.resourceType}: configuration key {key} is not camelCase"


def test_scan_report_counts(recorded: Recorded) -> None:
    report = recorded.report
    assert report.status == "complete" and report.partial is False
    assert report.recorded == len(recorded.cis) >= 60
    assert report.totals.discovered == len(recorded.cis)
    assert set(report.api_calls) >= {"ec2", "iam", "s3", "kms", "cloudtrail"}
    assert set(report.api_calls) <= set(boto3.session.Session().get_available_services())
    units = {(o.unit.region, o.unit.rtype.name) for o in report.outcomes}
    assert (GLOBAL_REGION, "AWS::IAM::User") in units and ("eu-west-1", "AWS::IAM::User") not in units
    assert len(units) == sum(1 if t.scope == "global" else len(REGIONS) for t in RESOURCE_TYPES.values())
