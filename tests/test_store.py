"""The store suite: history semantics, queries and migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vigil.diff import diff
from vigil.errors import NotFoundError, StoreUnavailable, UsageError
from vigil.model import DELETED, DISCOVERED, OK, ConfigurationItem, Relationship
from vigil.store import HEAD_REVISION, Store, inventory, open_store, scans
from vigil.store.inventory import Filters, Scope
from vigil.store.schema import metadata

ACCOUNT = "111122223333"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SG = "AWS::EC2::SecurityGroup"


def sg(
    gid: str,
    *,
    ports: tuple[int, ...] = (443,),
    tags: dict[str, str] | None = None,
    vpc: str = "vpc-1",
    region: str = "us-east-1",
) -> ConfigurationItem:
    return ConfigurationItem(
        accountId=ACCOUNT,
        awsRegion=region,
        resourceType=SG,
        resourceId=gid,
        resourceName=f"name-{gid}",
        arn=f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{gid}",
        configurationItemCaptureTime="",
        tags=tags if tags is not None else {"env": "prod"},
        relationships=(Relationship("AWS::EC2::VPC", vpc, "Is contained in Vpc"),),
        configuration={
            "groupId": gid,
            "ipPermissions": [
                {"ipProtocol": "tcp", "fromPort": p, "toPort": p, "ipRanges": ["0.0.0.0/0"]} for p in ports
            ],
        },
    )


def scope(region: str = "us-east-1", **kw: object) -> Scope:
    return Scope(ACCOUNT, region, SG, **kw)  # type: ignore[arg-type]


def record(store: Store, cis: list[ConfigurationItem], at: datetime, sc: Scope | None = None, **kw: object):
    with store.begin() as conn:
        return inventory.record(conn, cis, sc or scope(), now=at, **kw)  # type: ignore[arg-type]


def history_of(store: Store, rid: str) -> list[ConfigurationItem]:
    with store.connect() as conn:
        return inventory.history(conn, inventory.find_one(conn, rid).pk)


def test_first_record_is_discovered_with_aws_fields(store: Store) -> None:
    result = record(store, [sg("sg-1"), sg("sg-2")], T0)
    assert result.as_dict() == {"discovered": 2, "changed": 0, "unchanged": 0, "refreshed": 0, "deleted": 0}
    (ci,) = history_of(store, "sg-1")
    assert ci.configurationItemStatus == DISCOVERED
    assert ci.configurationItemCaptureTime == "2026-11-01T12:00:00.000Z"
    assert ci.configurationStateId == str(int(T0.timestamp() * 1000))
    assert ci.relationships == (Relationship("AWS::EC2::VPC", "vpc-1", "Is contained in Vpc"),)
    assert ci.tags == {"env": "prod"}


def test_no_change_means_no_new_ci(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    result = record(store, [sg("sg-1")], T0 + timedelta(hours=1))
    assert (result.unchanged, result.changed, result.discovered) == (1, 0, 0)
    assert len(history_of(store, "sg-1")) == 1


def test_change_makes_one_new_ci_and_a_correct_diff(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    result = record(store, [sg("sg-1", ports=(443, 22))], T0 + timedelta(minutes=5))
    assert result.changed == 1
    old, new = history_of(store, "sg-1")
    assert new.configurationItemStatus == OK
    assert int(new.configurationStateId) > int(old.configurationStateId)
    assert diff(old, new) == {
        "changeType": "UPDATE",
        "changedProperties": {
            "Configuration.IpPermissions.1": {
                "previousValue": None,
                "updatedValue": {
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "ipRanges": ["0.0.0.0/0"],
                },
                "changeType": "CREATE",
            }
        },
    }


def test_tag_and_relationship_changes_are_changes(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    record(store, [sg("sg-1", tags={"env": "dev"})], T0 + timedelta(minutes=1))
    record(store, [sg("sg-1", tags={"env": "dev"}, vpc="vpc-2")], T0 + timedelta(minutes=2))
    items = history_of(store, "sg-1")
    assert [i.configurationItemStatus for i in items] == [DISCOVERED, OK, OK]
    assert diff(items[0], items[1])["changedProperties"] == {
        "Tags.env": {"previousValue": "prod", "updatedValue": "dev", "changeType": "UPDATE"}
    }
    rel_change = diff(items[1], items[2])["changedProperties"]
    assert rel_change["Relationships.0"]["changeType"] == "UPDATE"
    assert rel_change["Relationships.0"]["updatedValue"]["resourceId"] == "vpc-2"


def test_gone_resource_is_recorded_deleted_once(store: Store) -> None:
    record(store, [sg("sg-1"), sg("sg-2")], T0)
    result = record(store, [sg("sg-1")], T0 + timedelta(minutes=1))
    assert result.deleted == 1
    again = record(store, [sg("sg-1")], T0 + timedelta(minutes=2))
    assert again.deleted == 0
    items = history_of(store, "sg-2")
    assert [i.configurationItemStatus for i in items] == [DISCOVERED, DELETED]
    assert items[-1].configuration == {} and items[-1].relationships == () and items[-1].tags == {}
    assert items[-1].to_dict()["configuration"] is None  # as AWS Config writes a deleted resource
    assert diff(items[0], items[1]) == {"changeType": "DELETE", "changedProperties": {}}
    with store.connect() as conn:
        assert [c.resourceId for c in inventory.current(conn)] == ["sg-1"]
        assert {c.resourceId for c in inventory.current(conn, Filters(include_deleted=True))} == {
            "sg-1",
            "sg-2",
        }


def test_resource_that_comes_back_is_discovered_again(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    record(store, [], T0 + timedelta(minutes=1))
    record(store, [sg("sg-1")], T0 + timedelta(minutes=2))
    assert [i.configurationItemStatus for i in history_of(store, "sg-1")] == [DISCOVERED, DELETED, DISCOVERED]


def test_partial_collection_marks_nothing_deleted(store: Store) -> None:
    record(store, [sg("sg-1"), sg("sg-2")], T0)
    result = record(store, [sg("sg-1")], T0 + timedelta(minutes=1), scope(complete=False))
    assert result.deleted == 0
    kept = record(store, [sg("sg-1")], T0 + timedelta(minutes=2), scope(keep=frozenset({"sg-2"})))
    assert kept.deleted == 0
    assert len(history_of(store, "sg-2")) == 1


def test_other_regions_and_types_are_not_touched_by_a_unit(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    record(store, [sg("sg-9", region="eu-west-1")], T0, scope("eu-west-1"))
    result = record(store, [], T0 + timedelta(minutes=1), scope("eu-west-1"))
    assert result.deleted == 1
    assert history_of(store, "sg-1")[-1].configurationItemStatus == DISCOVERED


def test_targeted_scope_deletes_only_requested_ids(store: Store) -> None:
    record(store, [sg("sg-1"), sg("sg-2"), sg("sg-3")], T0)
    result = record(
        store, [sg("sg-1", ports=(80,))], T0 + timedelta(minutes=1), scope(ids=frozenset({"sg-1", "sg-2"}))
    )
    assert (result.changed, result.deleted) == (1, 1)
    assert history_of(store, "sg-2")[-1].configurationItemStatus == DELETED
    assert len(history_of(store, "sg-3")) == 1


def test_volatile_fields_refresh_in_place(store: Store) -> None:
    volatile = ("supplementaryConfiguration.AccessKeys[*].lastUsedDate",)

    def user(last_used: str, active: bool = True) -> ConfigurationItem:
        return dataclasses.replace(
            sg("sg-1"),
            supplementaryConfiguration={"AccessKeys": [{"active": active, "lastUsedDate": last_used}]},
        )

    record(store, [user("2026-10-01")], T0, volatile=volatile)
    result = record(store, [user("2026-10-31")], T0 + timedelta(minutes=1), volatile=volatile)
    assert (result.refreshed, result.changed) == (1, 0)
    (only,) = history_of(store, "sg-1")
    assert only.supplementaryConfiguration["AccessKeys"][0]["lastUsedDate"] == "2026-10-31"
    assert only.configurationItemCaptureTime == "2026-11-01T12:00:00.000Z"
    changed = record(store, [user("2026-10-31", active=False)], T0 + timedelta(minutes=2), volatile=volatile)
    assert changed.changed == 1


def test_ci_outside_scope_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="outside the collection scope"):
        record(store, [sg("sg-1", region="eu-west-1")], T0)


def test_filters_by_type_region_account_and_tags(store: Store) -> None:
    record(store, [sg("sg-1", tags={"env": "prod", "owner": "a"}), sg("sg-2", tags={"env": "dev"})], T0)
    record(store, [sg("sg-3", region="eu-west-1", tags={"env": "prod"})], T0, scope("eu-west-1"))
    with store.connect() as conn:

        def ids(**kw: object) -> list[str]:
            return sorted(c.resourceId for c in inventory.current(conn, Filters(**kw)))  # type: ignore[arg-type]

        assert ids(tags=(("env", "prod"),)) == ["sg-1", "sg-3"]
        assert ids(tags=(("env", "prod"), ("owner", None))) == ["sg-1"]
        assert ids(regions=("eu-west-1",)) == ["sg-3"]
        assert ids(types=("AWS::EC2::VPC",)) == []
        assert ids(accounts=("999999999999",)) == []
        assert inventory.counts(conn) == [(ACCOUNT, "eu-west-1", SG, 1), (ACCOUNT, "us-east-1", SG, 2)]


def test_find_by_id_arn_or_name_and_ambiguity(store: Store) -> None:
    record(store, [sg("sg-1")], T0)
    record(store, [sg("sg-1", region="eu-west-1")], T0, scope("eu-west-1"))
    with store.connect() as conn:
        assert (
            inventory.find_one(conn, "arn:aws:ec2:us-east-1:111122223333:security-group/sg-1").key.awsRegion
            == "us-east-1"
        )
        with pytest.raises(NotFoundError, match="names 2 resources"):
            inventory.find_one(conn, "sg-1")
        assert inventory.find_one(conn, "sg-1", region="eu-west-1").key.awsRegion == "eu-west-1"
        with pytest.raises(NotFoundError, match="no resource"):
            inventory.find_one(conn, "sg-404")


def test_graph_follows_relationships_both_ways(store: Store) -> None:
    vpc = ConfigurationItem(ACCOUNT, "us-east-1", "AWS::EC2::VPC", "vpc-1", "", resourceName="main")
    record(store, [vpc], T0, Scope(ACCOUNT, "us-east-1", "AWS::EC2::VPC"))
    instance = dataclasses.replace(
        vpc,
        resourceType="AWS::EC2::Instance",
        resourceId="i-1",
        resourceName="web",
        relationships=(
            Relationship(SG, "sg-1", "Is associated with SecurityGroup"),
            Relationship("AWS::EC2::VPC", "vpc-1", "Is contained in Vpc"),
        ),
    )
    record(store, [instance], T0, Scope(ACCOUNT, "us-east-1", "AWS::EC2::Instance"))
    record(store, [sg("sg-1")], T0)
    with store.connect() as conn:
        g1 = inventory.graph(conn, inventory.find_one(conn, "sg-1"), 1)
        assert {k.resourceId: d for k, d in g1.nodes.items()} == {"sg-1": 0, "vpc-1": 1, "i-1": 1}
        assert {(e.source.resourceId, e.name, e.target.resourceId) for e in g1.edges} == {
            ("sg-1", "Is contained in Vpc", "vpc-1"),
            ("i-1", "Is associated with SecurityGroup", "sg-1"),
        }
        g0 = inventory.graph(conn, inventory.find_one(conn, "vpc-1"), 2)
        assert {k.resourceId: d for k, d in g0.nodes.items()} == {"vpc-1": 0, "i-1": 1, "sg-1": 1}


def test_scan_records_and_collection_status(store: Store) -> None:
    from vigil.errors import CollectionError

    with store.begin() as conn:
        scan_id = scans.start(conn, "scan", accounts=[ACCOUNT], regions=["us-east-1"], now=T0)
        scans.unit_failed(
            conn, CollectionError(ACCOUNT, "us-east-1", SG, "AccessDenied", "no"), scan_id=scan_id, now=T0
        )
        scans.finish(conn, scan_id, status="partial", counts={"discovered": 0}, api_calls={"ec2": 3}, now=T0)
    with store.connect() as conn:
        run = scans.get(conn)
        assert run is not None and (run.status, run.api_calls) == ("partial", {"ec2": 3})
        assert [e.code for e in scans.failing_units(conn)] == ["AccessDenied"]
    with store.begin() as conn:
        scans.unit_succeeded(
            conn, account_id=ACCOUNT, region="us-east-1", resource_type=SG, scan_id=scan_id, now=T0
        )
    with store.connect() as conn:
        assert scans.failing_units(conn) == []
        assert [e.code for e in scans.errors(conn, scan_id)] == ["AccessDenied"]


def test_migrations_reach_head_and_match_the_schema(store: Store) -> None:
    config = Config()
    config.set_main_option("script_location", "vigil.store:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    with store.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == HEAD_REVISION
        differences = [d for d in compare_metadata(context, metadata) if not _benign(d)]
    assert differences == []


def _benign(difference: object) -> bool:
    """Type renderings that differ only in spelling between backends (JSON vs JSONB variants)."""
    text = repr(difference)
    return "modify_type" in text and ("JSON" in text or "BigInteger" in text or "INTEGER" in text.upper())


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    open_store(path).close()
    with open_store(path) as again, again.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION


def test_bad_store_locations_say_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="cannot create the folder"):
        open_store(blocker / "sub" / "v.db")
    with pytest.raises(StoreUnavailable, match="cannot open the store"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(UsageError, match="names a database Vigil cannot use"):
        open_store("oracle://x@y/z")
    with pytest.raises(UsageError, match="empty"):
        open_store("  ")
