"""The demo's events step: the careless afternoon as CloudTrail saw it.

Writes the afternoon's CloudTrail records (``demo/events.py``: routine work, a root sign-in, a
sign-in without MFA, a burst of AccessDenied, the SSH rule, the bucket policy, the stopped trail)
as a CloudTrail log file, runs one ``vigil watch`` cycle over it — ingest, the change trigger,
an alarm tick — and shows when each alarm fired (``vigil replay``) and who changed what.
"""

from __future__ import annotations

import gzip
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from vigil import engine_events, watch
from vigil.demo.events import STORY, demo_story
from vigil.engine import Context
from vigil.output import stdout, table
from vigil.views import short_principal


def write_log_file(records: list[dict[str, Any]], account: str, region: str, at: datetime) -> Path:
    """One gzip log file in CloudTrail's S3 key layout under a temporary directory; its root."""
    root = Path(tempfile.mkdtemp(prefix="vigil-demo-cloudtrail-"))
    folder = root / "AWSLogs" / account / "CloudTrail" / region / f"{at:%Y/%m/%d}"
    folder.mkdir(parents=True)
    name = f"{account}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_demo0afternoon.json.gz"
    (folder / name).write_bytes(gzip.compress(orjson.dumps({"Records": records})))
    return root


def show(ctx: Context, *, account: str, region: str, web_group: str, bucket: str) -> watch.Cycle:
    """Ingest the afternoon, react to it, tick the alarms; print what happened."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=31)
    records = demo_story(account, region, start, security_group_id=web_group, bucket=bucket)
    root = write_log_file(records, account, region, now)
    segments = Counter(r["eventName"] for r in records)
    stdout.print(
        f"{len(records)} CloudTrail records from the last 30 minutes in {root}: "
        + "; ".join(s.title[:1].lower() + s.title[1:] for s in STORY)
        + f" ({len(segments)} kinds of API call)."
    )
    cat = engine_events.catalog(ctx)
    # the demo narrates notifications later (step 9), so this cycle leaves the outbox alone
    cycle = watch.run_cycle(ctx, [str(root)], now=now, schedule=watch.Schedule(), cat=cat, deliver=False)
    ingest = cycle.ingest
    if ingest is not None:
        stdout.print(
            f"vigil watch (one cycle): ingested {ingest.records} records, stored {ingest.stored} events in "
            f"{cat.trails[0].log_group}, counted {len(cat.filters)} metric filters, ticked {len(cat.alarms)} alarms."
        )
    fired = [
        f
        for f in engine_events.replay_alarms(ctx, since=start - timedelta(minutes=1), until=now, cat=cat)
        if f.new == "ALARM"
    ]
    titles = {a.name: a.description or a.name for a in cat.alarms}
    stdout.print(
        table(
            "When each alarm fired, in event time  (vigil replay --since 1h)",
            ["time", "alarm", "what it watches", "reason"],
            [
                [f"{f.at:%H:%M}", f.alarm, titles[f.alarm].split(":")[0], f.reason.split(" was ")[0]]
                for f in fired
            ],
        )
    )
    live = [t.name for t in cycle.ticks if t.transition.state.value == "ALARM"]
    published = sum(len(t.transition.actions) for t in cycle.ticks if t.transition.changed)
    stdout.print(
        f"Live alarm tick at {now:%H:%M}: [bold red]{len(live)} in ALARM[/bold red] "
        f"({', '.join(live)}); {published} notifications published to the vigil-alerts topic."
    )
    reaction = cycle.reaction
    if reaction is not None and reaction.changes:
        rows = [
            [
                f"{c.event_time:%H:%M:%S}",
                c.event_name,
                short_principal(c.principal),
                c.source_ip or "",
                f"{c.resource_type} {c.ref}",
            ]
            for c in reaction.changes
        ]
        evaluation = reaction.evaluation
        opened = len(evaluation.changes.opened) if evaluation else 0
        stdout.print(
            table(
                "Write events re-record just what they changed  (the change trigger of vigil watch)",
                ["time", "event", "who", "from", "re-recorded"],
                rows,
                caption=(
                    f"{len(reaction.changed_keys)} new configuration items, each listing its CloudTrail event in "
                    f"relatedEvents · incremental evaluation opened {opened} findings in {reaction.seconds:.1f}s"
                ),
            )
        )
    return cycle
