"""Automation: a finding message runs a remediation action (dry-run unless the subscription applies),
end to end on the sample estate on moto: finding → message → action → resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Seeded
from vigil import engine
from vigil.engine import Context
from vigil.notify.deliver import channel_context, deliver_due
from vigil.notify.topics import topics_from
from vigil.settings import LoadedSettings, Settings
from vigil.store import findings, outbox
from vigil.store.remediations import history


def make_ctx(seeded: Seeded, tmp_path: Path, apply: bool, action: str = "revoke-ingress") -> Context:
    settings = Settings.model_validate(
        {
            "db": str(tmp_path / "auto.db"),
            "aws": seeded.account.settings().model_dump(),
            "notify": {
                "keys_dir": str(tmp_path / "keys"),
                "topics": [
                    {
                        "name": "vigil-alerts",
                        "subscriptions": [
                            {
                                "protocol": "automation",
                                "endpoint": action,
                                "apply": apply,
                                "filter_policy": {"ruleId": ["restricted-ssh"], "event": ["opened"]},
                            }
                        ],
                    }
                ],
            },
        }
    )
    return Context(LoadedSettings(settings=settings))


def open_ssh(conn: Any) -> list[findings.Finding]:
    return [f for f in findings.query(conn) if f.rule_id == "restricted-ssh"]


def ingress_open_to_world(seeded: Seeded, group: str, region: str) -> bool:
    ec2 = seeded.account.client("ec2", region)
    perms = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    return any(
        p.get("FromPort") == 22 and any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", []))
        for p in perms
    )


def test_an_applied_automation_fixes_the_finding_end_to_end(seeded: Seeded, tmp_path: Path) -> None:
    first = seeded.estate.first
    with make_ctx(seeded, tmp_path, apply=True) as ctx:
        engine.scan(ctx)
        engine.evaluate(ctx)  # publishes "opened" for every finding; the policy picks restricted-ssh
        with ctx.store.connect() as conn:
            before = open_ssh(conn)
        assert before
        report = deliver_due(
            ctx.store, topics_from(ctx.settings.notify), channel_context(ctx.settings, None, ctx)
        )
        assert (report.sent, report.dead) == (len(before), 0), report.errors
        with ctx.store.connect() as conn:
            assert open_ssh(conn) == []
            journal = history(conn)
        assert {r["actor"].split(":")[0] for r in journal} == {"automation"}
        assert all(not r["dryRun"] and r["ok"] for r in journal)
        group = next(f.resource_id for f in before if f.region == first.region)
        assert not ingress_open_to_world(seeded, group, first.region)


def test_a_dry_run_automation_changes_nothing_and_a_wrong_action_goes_dead(
    seeded: Seeded, tmp_path: Path
) -> None:
    first = seeded.estate.first
    with make_ctx(seeded, tmp_path / "dry", apply=False) as ctx:
        engine.scan(ctx)
        engine.evaluate(ctx)
        report = deliver_due(
            ctx.store, topics_from(ctx.settings.notify), channel_context(ctx.settings, None, ctx)
        )
        assert report.sent > 0 and report.dead == 0
        with ctx.store.connect() as conn:
            still = open_ssh(conn)
            journal = history(conn)
        assert still and all(r["dryRun"] for r in journal)
        assert ingress_open_to_world(
            seeded, next(f.resource_id for f in still if f.region == first.region), first.region
        )
    with make_ctx(seeded, tmp_path / "wrong", apply=True, action="kms-enable-rotation") as ctx:
        engine.scan(ctx)
        engine.evaluate(ctx)
        report = deliver_due(
            ctx.store, topics_from(ctx.settings.notify), channel_context(ctx.settings, None, ctx)
        )
        assert report.dead > 0 and report.sent == 0
        with ctx.store.connect() as conn:
            dead = outbox.listing(conn, statuses=[outbox.DEAD])
        assert all("kms-enable-rotation" in (d.last_error or "") and d.attempts == 1 for d in dead)
