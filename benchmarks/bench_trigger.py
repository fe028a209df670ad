"""Change trigger: from a CloudTrail record arriving to the re-recorded CI and the re-evaluated finding.

The sample estate (N=1) is seeded on the emulator and scanned into a SQLite store, which is then
padded with synthetic security groups of the same account and region to 1,000 and 10,000 resources.
Each round opens SSH on the web group through the emulator, writes the ``AuthorizeSecurityGroupIngress``
record CloudTrail would deliver (the demo generator's, with a fresh eventID) to a log file, and times
``vigil watch``'s steps for it: ingest (read, route, filters, store, checkpoint), the re-record of the
group through the AWS API, and the incremental evaluation that opens ``restricted-ssh``. Then SSH is
closed again (not timed). Median of the rounds; goal: under 1 s and flat from 1k to 10k resources.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import synthetic
from bench_scan import REGIONS, new_account
from benchlib import ResultTable, main, ratio

from vigil import engine, engine_events, watch
from vigil.demo import emulator, estate
from vigil.demo.events import story_segments
from vigil.engine import Context
from vigil.settings import AwsSettings, LoadedSettings, Settings
from vigil.store import findings, inventory
from vigil.store.inventory import Scope

GOAL_S = 1.0
SIZES = (1_000, 10_000)
SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def ssh_record(account: str, region: str, group: str) -> dict[str, object]:
    segments = story_segments(
        account, region, datetime.now(UTC) - timedelta(seconds=5), security_group_id=group
    )
    record = next(
        r for _, records in segments for r in records if r["eventName"] == "AuthorizeSecurityGroupIngress"
    )
    return {
        **record,
        "eventID": str(uuid.uuid4()),
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def pad(ctx: Context, account: str, region: str, total: int) -> int:
    """Add synthetic security groups until the store holds ``total`` resources; how many it holds."""
    with ctx.store.connect() as conn:
        have = len(inventory.current(conn))
    missing = max(total - have, 0)
    if missing:
        cis = [
            dataclasses.replace(synthetic.security_group(account, 100_000 + have + i), awsRegion=region)
            for i in range(missing)
        ]
        with ctx.store.begin() as conn:
            inventory.record(
                conn,
                cis,
                Scope(account, region, synthetic.SECURITY_GROUP, complete=False),
                now=datetime.now(UTC),
            )
    with ctx.store.connect() as conn:
        return len(inventory.current(conn))


def rounds(
    ctx: Context, account: str, region: str, group: str, folder: Path, n: int
) -> list[dict[str, float]]:
    from vigil.aws import recorder

    ec2 = ctx.session.client("ec2", region)
    again = [recorder.Request("AWS::EC2::SecurityGroup", region, group)]
    cat = engine_events.catalog(ctx)
    out: list[dict[str, float]] = []
    for i in range(n):
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[SSH])
        (folder / f"{i:03d}.json").write_bytes(
            orjson.dumps({"Records": [ssh_record(account, region, group)]})
        )
        started = time.perf_counter()
        report = engine_events.ingest(ctx, [str(folder)], cat=cat, keep_rows=True)
        ingested = time.perf_counter()
        reaction = watch.react(ctx, report.new_rows, account_id=account)
        done = time.perf_counter()
        rerecord_s = reaction.rerecorded.seconds if reaction.rerecorded else 0.0
        evaluation_s = reaction.evaluation.seconds if reaction.evaluation else 0.0
        with ctx.store.connect() as conn:
            opened = any(
                f.resource_id == group and f.rule_id == "restricted-ssh" for f in findings.query(conn)
            )
        if not opened:
            raise RuntimeError("the SSH finding did not open: the change trigger is broken")
        out.append(
            {
                "ingest": ingested - started,
                "rerecord": rerecord_s,
                "evaluate": evaluation_s,
                "total": done - started,
            }
        )
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[SSH])
        engine.evaluate(ctx, only=list(engine.rerecord(ctx, again).totals.changed_keys))
    return out


def run(full: bool = False) -> list[ResultTable]:
    n = 10 if full else 5
    with emulator.start() as server, _acting_in(new_account(server.endpoint)) as account:
        sample = estate.seed(account.client, list(REGIONS), 1)
        first = sample.first
        table = ResultTable(
            "Change trigger: CloudTrail record → re-recorded CI → re-evaluated finding (SQLite, median of "
            f"{n} rounds)",
            notes=[
                "ingest: read the log file, route, metric filters, store, checkpoint; rerecord: the group through "
                "the AWS API (emulator over HTTP); evaluate: the rules the group touches, restricted-ssh opens.",
                "The store is padded with synthetic security groups of the same account and region.",
                f"vs_goal: total over the {GOAL_S:.0f} s goal (below 1 is better).",
            ],
        )
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                db=str(Path(tmp) / "trigger.db"),
                aws=AwsSettings(
                    endpoint_url=account.endpoint, role_arn=account.role_arn, regions=list(REGIONS)
                ),
            )
            with Context(LoadedSettings(settings=settings)) as ctx:
                engine.scan(ctx)
                engine.evaluate(ctx)
                for size in SIZES:
                    resources = pad(ctx, sample.account_id, first.region, size)
                    engine.evaluate(ctx)
                    folder = Path(tmp) / f"logs-{size}"
                    folder.mkdir()
                    samples = rounds(ctx, sample.account_id, first.region, first.groups["web"], folder, n)
                    med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
                    table.rows.append(
                        {
                            "resources": resources,
                            "ingest_ms": round(med["ingest"] * 1000, 1),
                            "rerecord_ms": round(med["rerecord"] * 1000, 1),
                            "evaluate_ms": round(med["evaluate"] * 1000, 1),
                            "total_ms": round(med["total"] * 1000, 1),
                            "max_total_ms": round(max(s["total"] for s in samples) * 1000, 1),
                            "vs_goal": ratio(med["total"], GOAL_S),
                        }
                    )
        return [table]


@contextmanager
def _acting_in(account: emulator.EmulatorAccount) -> Iterator[emulator.EmulatorAccount]:
    """The account's credentials in the environment while the benchmark runs (restored after)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: v for k, v in account.environment().items() if k in names})
    try:
        yield account
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    main(run)
