"""``vigil demo``: the whole story on the built-in emulator, in about a minute.

1. start the AWS emulator (moto) on a loopback port; 2. build the sample estate; 3. record it, evaluate
the rules; 4. make three careless changes; 5. ingest what CloudTrail saw that afternoon: the alarms
that fire, and the write events re-recording what they changed; 6. record again; 7. show the history
diff and who made each change; 8. the blast radius of the web security group and of the
internet-facing load balancer; 9. deliver the notifications (email to a local SMTP server, signed posts
to a local webhook that verifies them) and let the automation subscription revoke SSH and resolve
the findings; 10. report and export in AWS Config's snapshot format; then say what to try next.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import boto3
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from vigil import engine, report, views, watch
from vigil.aws import recorder
from vigil.demo import afternoon, emulator, estate
from vigil.demo import receivers as demo_receivers
from vigil.diff import diff
from vigil.engine import Context
from vigil.errors import EXIT_BUG, EXIT_OK, EXIT_PARTIAL
from vigil.interop.awsconfig import ExportFormat
from vigil.notify import deliver as notifications
from vigil.notify.envelope import Signer
from vigil.notify.topics import topics_from
from vigil.output import stderr, stdout, table
from vigil.settings import LoadedSettings, NotifySettings
from vigil.store import findings, inventory, outbox
from vigil.store.remediations import history as remediation_history


def _command_name() -> str:
    """``vigil`` when it is on PATH, else the path that ran it (``.venv/bin/vigil`` after make demo)."""
    if shutil.which("vigil"):
        return "vigil"
    script = Path(sys.argv[0])
    if script.name == "vigil" and script.exists():
        try:
            return str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return "python -m vigil"


def _step(number: int, text: str) -> None:
    stdout.print()
    stdout.print(Rule(f"[bold]{number}. {text}", align="left"))


def _fresh(db: str) -> None:
    """The demo's store is its own: start from an empty one every run."""
    for suffix in ("", "-wal", "-shm"):
        path = Path(db + suffix)
        if path.exists():
            path.unlink()


class _Quiet(recorder.Listener):
    def __init__(self) -> None:
        self.done_units = 0

    def done(self, outcome: recorder.UnitOutcome) -> None:
        self.done_units += 1


def run_demo(*, db: str, regions: list[str], scale: int, keep_running: bool) -> int:
    started = time.perf_counter()
    stdout.print(
        Panel.fit(
            "Vigil records every resource's configuration, keeps its history, and shows what changed, who it "
            "touches, and what is wrong.\nThis demo runs on a built-in AWS emulator (moto): no account and no "
            "credentials are needed,\nand Vigil talks to it over HTTP with boto3 exactly as it talks to AWS.",
            title="vigil demo",
        )
    )
    if "://" not in db:
        _fresh(db)
    _step(1, "Start the AWS emulator")
    em = emulator.start()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        os.environ.pop(name, None)
    os.environ.update(emulator.client_environment(em.endpoint, regions[0]))
    stdout.print(f"moto server on [bold]{em.endpoint}[/bold] (loopback only)")
    try:
        return _story(em, db=db, regions=regions, scale=scale, keep_running=keep_running, started=started)
    finally:
        em.stop()


def _story(
    em: emulator.Emulator, *, db: str, regions: list[str], scale: int, keep_running: bool, started: float
) -> int:
    _step(2, f"Build a sample estate (scale {scale}, regions {', '.join(regions)})")
    with stdout.status("creating VPCs, instances, buckets, keys, users, trails…"):
        sample = estate.seed(lambda svc, region: boto3.client(svc, region_name=region), regions, scale)
    first = sample.first
    stdout.print(
        f"account {sample.account_id}, per region: a VPC with public and private subnets, a NAT gateway, a peered "
        "shared-services VPC and flow logs; security groups, instances, volumes and snapshots; an internet-facing "
        "load balancer in front of the web instance; RDS databases, a Lambda function, EFS; KMS keys, buckets, "
        "secrets, ECR repositories; a log group whose metric filter feeds an alarm that notifies an SNS topic; "
        f"CloudTrail, AWS Config and GuardDuty; IAM users {', '.join(sorted(sample.users)[:3])}… and groups.\n"
        "It has the mistakes real accounts have: SSH and RDP open to the world, a public database and public "
        "snapshots, a Lambda anyone can invoke, a user without MFA holding an admin policy, and more."
    )

    base = engine.context(None, db=db, aws={"endpoint_url": em.endpoint, "regions": regions})
    keys_dir = tempfile.mkdtemp(prefix="vigil-demo-keys-")
    receivers = demo_receivers.start(Signer.load_or_create(Path(keys_dir)).certificate_pem)
    notify = NotifySettings.model_validate(demo_receivers.notify_settings(receivers, keys_dir))
    ctx = Context(LoadedSettings(settings=base.settings.model_copy(update={"notify": notify})))
    with ctx:
        _step(3, "Record everything: vigil scan")
        first_scan = engine.scan(ctx, listener=_Quiet())
        for renderable in views.scan_tables(first_scan):
            stdout.print(renderable)
        evaluation = engine.evaluate(ctx)
        with ctx.store.connect() as conn:
            open_now = findings.query(conn)
            types = {ci.resourceType for ci in inventory.current(conn)}
        by_severity = Counter(f.severity for f in open_now)
        stdout.print(
            f"Recorded [bold]{first_scan.recorded}[/bold] resources of [bold]{len(types)}[/bold] types, then evaluated "
            f"[bold]{evaluation.rules}[/bold] rules (AWS Config managed-rule equivalents, CIS, FSBP) in "
            f"{evaluation.seconds:.1f}s: [bold]{len(open_now)}[/bold] open findings — "
            + ", ".join(
                f"{by_severity[s]} {s}" for s in ("critical", "high", "medium", "low") if by_severity[s]
            )
        )
        highest = [f for f in open_now if f.severity in ("critical", "high") and f.region == first.region]
        stdout.print(
            table(
                f"The most severe findings in {first.region}  (vigil findings --severity critical,high)",
                views.FINDING_COLUMNS,
                views.finding_rows(highest, 14),
                caption=f"{len(highest)} critical or high in {first.region}; `vigil findings` lists all {len(open_now)}",
            )
        )
        cis = engine.framework_report(ctx, "cis-aws-7.0")
        summary = cis["summary"]
        stdout.print(
            f"CIS AWS Foundations Benchmark v7.0: [bold]{cis['score']:.0f}%[/bold] of decided requirements pass "
            f"({summary['PASS']} pass, {summary['FAIL']} fail, {summary['MANUAL']} manual, "
            f"{summary['NOT_APPLICABLE'] + summary['INSUFFICIENT_DATA']} not applicable or undecided)"
        )

        _step(4, "A careless afternoon: three changes made in the account")
        changes = estate.make_mistakes(lambda svc, region: boto3.client(svc, region_name=region), sample)
        for change in changes:
            stdout.print(f"  • {change.resource_type} [bold]{change.resource_id}[/bold]: {change.what}")

        _step(5, "What CloudTrail saw: alarms fire, and write events re-record what they changed")
        cycle = afternoon.show(
            ctx,
            account=sample.account_id,
            region=first.region,
            web_group=first.groups["web"],
            bucket=first.buckets["data"],
        )
        triggered = (
            set(cycle.reaction.evaluation.changes.opened)
            if cycle.reaction and cycle.reaction.evaluation
            else set()
        )

        _step(6, "Record again: only what changed gets a new configuration item, and findings open")
        second = engine.scan(ctx, listener=_Quiet())
        for renderable in views.scan_tables(second):
            stdout.print(renderable)
        reevaluation = engine.evaluate(ctx)
        fresh = triggered | set(reevaluation.changes.opened)
        with ctx.store.connect() as conn:
            opened = [f for f in findings.query(conn) if f.fingerprint in fresh]
        stdout.print(
            table(
                f"{len(opened)} findings opened by the changes (by the change trigger, then by the scan)",
                views.FINDING_COLUMNS,
                views.finding_rows(opened),
            )
        )

        _step(7, "What changed, field by field, and who did it: vigil history --diff")
        with ctx.store.connect() as conn:
            for change in changes:
                ref = inventory.find_one(conn, change.resource_id, resource_type=change.resource_type)
                items = inventory.history(conn, ref.pk)
                d = diff(items[-2], items[-1])
                who = views.changed_by(watch.who_changed(conn, items[-2:])[-1])
                stdout.print(
                    table(
                        f"{change.resource_type} {change.resource_id}: {items[-2].configurationItemStatus} → "
                        f"{items[-1].configurationItemStatus} ({d['changeType']})",
                        views.DIFF_COLUMNS,
                        views.diff_rows(d),
                        caption=f"changed by {who}" if who else "no CloudTrail record names this change",
                    )
                )
            group = inventory.find_one(conn, first.groups["web"], resource_type="AWS::EC2::SecurityGroup")
            blast = inventory.graph(conn, group, 1)
            balancer = inventory.find_one(
                conn,
                first.load_balancers["web"],
                resource_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
            )
            front = inventory.graph(conn, balancer, 1)

        _step(8, "Who is touched if this group changes, and what the internet reaches: vigil graph")
        stdout.print(views.graph_tables(blast, 1)[0])
        stdout.print(views.graph_tables(front, 1)[0])

        _step(9, "Who hears about it, and the fix: vigil notify deliver (email, signed webhook, automation)")
        context = notifications.channel_context(ctx.settings, lambda: ctx.session, ctx)
        while True:  # everything due: the afternoon's findings and alarms
            done = notifications.deliver_due(ctx.store, topics_from(ctx.settings.notify), context)
            if not (done.sent or done.retried or done.dead):
                break
        with ctx.store.connect() as conn:
            by_protocol = Counter(
                d.protocol for d in outbox.listing(conn, statuses=[outbox.SENT], limit=100_000)
            )
        mails = receivers.mailbox.received
        posts = receivers.webhook.received
        verified = all(signed and mac for _, signed, mac in posts)
        stdout.print(
            f"The outbox delivered {sum(by_protocol.values())} messages: "
            f"[bold]{len(mails)}[/bold] emails to secops@example.com (critical findings, on a local SMTP server), "
            f"[bold]{len(posts)}[/bold] webhook posts (high and critical), each signature "
            f"{'verified' if verified else '[red]NOT verified[/red]'} by the receiver against Vigil's certificate, "
            "with its HMAC header, and "
            f"[bold]{by_protocol['automation']}[/bold] to the automation subscription."
        )
        for _, subject, _ in mails[:3]:
            stdout.print(f"  [dim]email:[/dim] {escape(subject.strip())}", highlight=False)
        with ctx.store.connect() as conn:
            fixes = [r for r in remediation_history(conn) if not r["dryRun"] and r["ok"]]
            fixed = {r["finding"] for r in fixes}
            resolved = [
                f
                for f in findings.query(conn, findings.FindingFilters(statuses=("resolved",)))
                if f.fingerprint in fixed
            ]
        stdout.print(
            f"The automation subscription ran revoke-ingress {len(fixes)} times as restricted-ssh findings "
            "opened: each revoked SSH from the world, re-recorded the group and re-evaluated just what it touches "
            "(`vigil remediate` does the same by hand; every run is in the journal)."
        )
        for f in resolved:
            stdout.print(
                f"  [green]resolved[/green] {f.rule_id} on {f.resource_name or f.resource_id} ({f.region})"
            )

        _step(10, "Report and take it out: vigil report --output html, vigil export --format snapshot")
        report_path = Path(tempfile.mkdtemp(prefix="vigil-demo-report-")) / "cis-aws-7.0.html"
        report_path.write_bytes(report.to_html(engine.framework_report(ctx, "cis-aws-7.0")))
        stdout.print(f"The CIS v7.0 report, one self-contained page: [bold]{report_path}[/bold]")
        out = Path(tempfile.mkdtemp(prefix="vigil-demo-export-"))
        exported = engine.export_config(ctx, out, ExportFormat.snapshot, inventory.Filters())
        names = sorted(Path(f).relative_to(out).as_posix() for f in exported.files)
        stdout.print(
            f"{exported.items} configuration items in {len(names)} snapshot files under {out}, as AWS Config's "
            "delivery channel writes them (and `vigil import` reads them back)."
        )

    receivers.stop()
    elapsed = time.perf_counter() - started
    hint = f"--db {db}"
    vigil = _command_name()
    stdout.print()
    stdout.print(
        Panel(
            "\n".join(
                [
                    f"{vigil} resources {hint} --type AWS::EC2::Instance --tag env=prod",
                    f"{vigil} resources {hint} --output json | jq '.[0]'",
                    f"{vigil} show {first.groups['web']} {hint}",
                    f"{vigil} history {first.groups['web']} {hint} --diff   # with who changed it",
                    f"{vigil} events {hint} -p '{{ $.userIdentity.type = \"Root\" }}'",
                    f"{vigil} replay {hint} --since 2h --all",
                    f"{vigil} alarms list {hint}",
                    f"{vigil} graph {first.vpc} {hint} --output dot | dot -Tsvg > vpc.svg",
                    f"{vigil} export {hint} --out config-history   # AWS Config history files",
                    f"{vigil} import config-history {hint.replace('.db', '-copy.db')}",
                    f"{vigil} scans {hint}",
                    f"{vigil} findings {hint} --severity high,critical",
                    f"{vigil} report {hint} --framework cis-aws-7.0",
                    f"{vigil} rules show restricted-ssh",
                    f"{vigil} scan --regions us-east-1 --stats   # your own account, read-only credentials",
                ]
            ),
            title=f"Done in {elapsed:.0f}s. Try next",
            title_align="left",
        )
    )
    if keep_running:
        stderr.print(
            f"The emulator keeps running on {em.endpoint}. In another shell:\n"
            f"  export AWS_ENDPOINT_URL={em.endpoint} AWS_ACCESS_KEY_ID={emulator.EMULATOR_KEY_ID} "
            f"AWS_SECRET_ACCESS_KEY={emulator.EMULATOR_SECRET}\n"
            f"  vigil scan --regions {','.join(regions)} {hint}\n"
            "Press Ctrl-C to stop it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stderr.print("stopping the emulator")
    if second.bugs or first_scan.bugs:
        return EXIT_BUG
    return EXIT_PARTIAL if second.partial or first_scan.partial else EXIT_OK
