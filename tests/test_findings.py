"""Findings: their lifecycle in the store (both backends), and the engine turning evaluations into them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vigil.model import (
    COMPLIANT,
    INSUFFICIENT_DATA,
    NON_COMPLIANT,
    NOT_APPLICABLE,
    ConfigurationItem,
    Evaluation,
)
from vigil.store import Store, findings, inventory
from vigil.store.inventory import Scope
from vigil.store.schema import evaluations

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
ACCOUNT = "123456789012"
FACTS = {"restricted-ssh": findings.RuleFacts("high", ("cis-aws-7.0:6.3", "fsbp:EC2.13"))}


def seed_group(store: Store, group_id: str = "sg-0abc") -> None:
    ci = ConfigurationItem(
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        resourceType="AWS::EC2::SecurityGroup",
        resourceId=group_id,
        resourceName="bastion",
        configurationItemCaptureTime="2026-11-01T12:00:00.000Z",
        configuration={"groupId": group_id},
    )
    with store.begin() as conn:
        inventory.record(conn, [ci], Scope(ACCOUNT, "us-east-1", "AWS::EC2::SecurityGroup"), now=T0)


def verdict(compliance: str, annotation: str = "", group_id: str = "sg-0abc") -> Evaluation:
    return Evaluation(
        "restricted-ssh", "AWS::EC2::SecurityGroup", group_id, ACCOUNT, "us-east-1", compliance, annotation
    )


def test_a_finding_opens_stays_resolves_and_reopens(store: Store) -> None:
    seed_group(store)
    with store.begin() as conn:
        first = findings.record(
            conn, [verdict(NON_COMPLIANT, "ingress tcp 22 from 0.0.0.0/0")], FACTS, now=T0
        )
    assert len(first.opened) == 1 and first.by_compliance == {NON_COMPLIANT: 1}
    fp = first.opened[0]
    assert fp == findings.fingerprint(
        "restricted-ssh", ACCOUNT, "us-east-1", "AWS::EC2::SecurityGroup", "sg-0abc"
    )
    with store.begin() as conn:
        again = findings.record(
            conn,
            [verdict(NON_COMPLIANT, "ingress tcp 22 from 0.0.0.0/0")],
            FACTS,
            now=T0 + timedelta(hours=1),
        )
        unsure = findings.record(
            conn, [verdict(INSUFFICIENT_DATA, "could not read")], FACTS, now=T0 + timedelta(hours=2)
        )
    assert (again.opened, again.still_open) == ([], 1)
    assert unsure.resolved == []  # it cannot tell: the finding stays open
    with store.connect() as conn:
        (open_one,) = findings.query(conn)
    assert (open_one.status, open_one.severity, open_one.controls) == (
        "open",
        "high",
        ("cis-aws-7.0:6.3", "fsbp:EC2.13"),
    )
    assert open_one.first_seen == T0 and open_one.last_seen == T0 + timedelta(hours=1)
    assert open_one.resource_name == "bastion"

    with store.begin() as conn:
        fixed = findings.record(conn, [verdict(COMPLIANT)], FACTS, now=T0 + timedelta(hours=3))
        broken = findings.record(
            conn,
            [verdict(NON_COMPLIANT, "ingress all traffic from 0.0.0.0/0")],
            FACTS,
            now=T0 + timedelta(hours=4),
        )
    assert fixed.resolved == [fp] and broken.reopened == [fp]
    with store.connect() as conn:
        assert findings.query(conn, findings.FindingFilters(statuses=("resolved",))) == []
        (reopened,) = findings.query(conn)
        events = findings.history(conn, fp)
        latest = conn.execute(select(evaluations.c.compliance, evaluations.c.annotation)).all()
    assert reopened.annotation == "ingress all traffic from 0.0.0.0/0" and reopened.resolved_at is None
    assert [(e["status"], e["compliance"]) for e in events] == [
        ("open", NON_COMPLIANT),
        ("resolved", COMPLIANT),
        ("open", NON_COMPLIANT),
    ]
    assert latest == [(NON_COMPLIANT, "ingress all traffic from 0.0.0.0/0")]  # one row per (rule, resource)


def test_deleted_or_out_of_scope_resolves_and_suppression_holds_until_it_expires(store: Store) -> None:
    seed_group(store, "sg-1")
    seed_group(store, "sg-2")
    with store.begin() as conn:
        findings.record(
            conn, [verdict(NON_COMPLIANT, "x", "sg-1"), verdict(NON_COMPLIANT, "x", "sg-2")], FACTS, now=T0
        )
        count = findings.suppress(
            conn, reason="accepted: jump host", now=T0, until=T0 + timedelta(days=7), resource_ids=["sg-2"]
        )
        gone = findings.record(
            conn, [verdict(NOT_APPLICABLE, "the resource was deleted", "sg-1")], FACTS, now=T0
        )
        held = findings.record(conn, [verdict(NON_COMPLIANT, "x", "sg-2")], FACTS, now=T0 + timedelta(days=1))
    assert count == 1 and len(gone.resolved) == 1 and held.reopened == []
    with store.connect() as conn:
        (suppressed,) = findings.query(conn, findings.FindingFilters(statuses=("suppressed",)))
        assert findings.query(conn) == []
    assert (suppressed.resource_id, suppressed.suppressed_reason) == ("sg-2", "accepted: jump host")
    with store.begin() as conn:
        expired = findings.record(
            conn, [verdict(NON_COMPLIANT, "x", "sg-2")], FACTS, now=T0 + timedelta(days=8)
        )
    assert len(expired.reopened) == 1
    with store.begin() as conn:
        assert findings.suppress(conn, reason="again", now=T0, rule_ids=["restricted-ssh"]) == 2
        assert findings.unsuppress(conn, now=T0, resource_ids=["sg-2"]) == 1
    with store.connect() as conn:
        statuses = {
            f.resource_id: f.status for f in findings.query(conn, findings.FindingFilters(statuses=()))
        }
    assert statuses == {"sg-1": "suppressed", "sg-2": "open"}


def test_filters_by_framework_severity_and_type(store: Store) -> None:
    seed_group(store)
    with store.begin() as conn:
        findings.record(conn, [verdict(NON_COMPLIANT, "x")], FACTS, now=T0)
    with store.connect() as conn:
        assert len(findings.query(conn, findings.FindingFilters(frameworks=("fsbp",)))) == 1
        assert findings.query(conn, findings.FindingFilters(frameworks=("cis-aws-5.0",))) == []
        assert findings.query(conn, findings.FindingFilters(severities=("low",))) == []
        assert len(findings.query(conn, findings.FindingFilters(types=("AWS::EC2::SecurityGroup",)))) == 1
