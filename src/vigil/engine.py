"""The one place that wires the parts together: settings → AWS session and store → recorder.

Commands (CLI, later the API and the watch loop) build a :class:`Context` from the settings and call
the functions here; the parts below (recorder, store, rules, …) never reach for each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from vigil.errors import ConfigError, Problem
from vigil.model import Evaluation, ResourceKey
from vigil.settings import LoadedSettings, Settings, load_settings
from vigil.store import Store, open_store

if TYPE_CHECKING:  # boto3 is imported only by the commands that call AWS
    from pathlib import Path

    from vigil.aws import recorder
    from vigil.aws.session import AwsSession
    from vigil.interop.awsconfig import ExportFormat
    from vigil.interop.transfer import ExportReport, ImportListener, ImportReport
    from vigil.rules.load import RuleSet
    from vigil.store.findings import Changes
    from vigil.store.inventory import Filters


@dataclass
class Context:
    """Settings plus the store and AWS session they describe, opened on first use."""

    loaded: LoadedSettings
    _store: Store | None = field(default=None, repr=False)
    _session: AwsSession | None = field(default=None, repr=False)
    _rules: RuleSet | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db)
        return self._store

    @property
    def session(self) -> AwsSession:
        if self._session is None:
            from vigil.aws.session import AwsSession

            self._session = AwsSession(self.settings.aws)
        return self._session

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def context(
    config: str | None = None,
    *,
    db: str | None = None,
    aws: dict[str, Any] | None = None,
    recorder_settings: dict[str, Any] | None = None,
) -> Context:
    """Load the settings (file, VIGIL_*), apply command-line overrides, and validate them all."""
    loaded = load_settings(config, db=db)
    updates = {k: v for k, v in (aws or {}).items() if v is not None}
    rec_updates = {k: v for k, v in (recorder_settings or {}).items() if v}
    if updates or rec_updates:
        current = loaded.settings
        data = current.model_dump()
        data["aws"] = {name: getattr(current.aws, name) for name in type(current.aws).model_fields} | updates
        data["recorder"] = data["recorder"] | rec_updates
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                [
                    Problem(
                        "command line",
                        f"--{str(err['loc'][-1]).replace('_', '-')}: {err['msg']}",
                        "see `vigil scan --help`",
                    )
                    for err in exc.errors()
                ]
            ) from exc
        loaded = LoadedSettings(settings=settings, path=loaded.path, env_sources=loaded.env_sources)
    return Context(loaded)


def scan(
    ctx: Context,
    *,
    listener: recorder.Listener | None = None,
) -> recorder.ScanReport:
    """Record every selected type in every region (AWS Config's full snapshot)."""
    from vigil.aws import recorder

    rec = ctx.settings.recorder
    return recorder.scan(
        ctx.session,
        ctx.store,
        types=rec.resource_types,
        exclude=rec.exclude_resource_types,
        listener=listener,
    )


def rerecord(
    ctx: Context,
    requests: Sequence[recorder.Request],
    *,
    listener: recorder.Listener | None = None,
    related: Mapping[str, Sequence[str]] | None = None,
) -> recorder.ScanReport:
    """Re-record only the given resources (what a CloudTrail event changed); ``related`` links the
    events' IDs into the new CIs."""
    from vigil.aws import recorder

    return recorder.rerecord(ctx.session, ctx.store, requests, listener=listener, related=related)


def import_config(
    ctx: Context, targets: Sequence[str], *, listener: ImportListener | None = None
) -> ImportReport:
    """Bring AWS Config history/snapshot files or API output (local or ``s3://``) into the store."""
    from vigil.aws.resources import RESOURCE_TYPES
    from vigil.errors import UsageError
    from vigil.interop import transfer

    files, ignored = transfer.gather(targets, lambda: ctx.session)
    if not files:
        raise UsageError(
            f"no .json or .json.gz files in {', '.join(targets)}",
            hint="point at AWS Config's delivery files (AWSLogs/<account>/Config/...) or API output saved as JSON",
        )

    def volatile(resource_type: str) -> tuple[str, ...]:
        known = RESOURCE_TYPES.get(resource_type)
        return known.volatile if known else ()

    return transfer.import_files(
        ctx.store, files, origin=", ".join(targets), ignored=ignored, volatile=volatile, listener=listener
    )


def export_config(ctx: Context, out: Path, fmt: ExportFormat, filters: Filters) -> ExportReport:
    """Write the store in AWS Config's shapes (history files, snapshot files or API output)."""
    from vigil.interop import transfer

    return transfer.export(ctx.store, out, fmt, home_region=ctx.settings.aws.home_region, filters=filters)


# ---------------------------------------------------------------------------------------------
# rules


def load_rules(ctx: Context, extra: Sequence[str] = ()) -> RuleSet:
    """The built-in packs and the configured ones (and ``extra``), minus disabled rules; parameter
    overrides from the config are checked against each rule's declared parameters."""
    from vigil.aws.resources import RESOURCE_TYPES
    from vigil.rules import load
    from vigil.rules.conditions import read_parameter

    if ctx._rules is not None and not extra:
        return ctx._rules
    conf = ctx.settings.rules
    ruleset = load.load([*conf.packs, *extra], builtin=conf.builtin, known_types=RESOURCE_TYPES)
    where = ctx.loaded.where
    problems: list[Problem] = []
    known = {r.id for r in ruleset.rules}
    for index, rule_id in enumerate(conf.disabled):
        if rule_id not in known:
            problems.append(
                Problem(
                    where("rules", "disabled", index),
                    f"rules.disabled names an unknown rule {rule_id!r}",
                    "see `vigil rules list`",
                )
            )
    for rule_id, values in conf.parameters.items():
        rule = ruleset.get(rule_id)
        if rule is None:
            problems.append(
                Problem(
                    where("rules", "parameters", rule_id),
                    f"rules.parameters names an unknown rule {rule_id!r}",
                    "see `vigil rules list`",
                )
            )
            continue
        for name, value in values.items():
            param = rule.parameters.get(name)
            if param is None:
                declared = ", ".join(rule.parameters) or "none"
                problems.append(
                    Problem(
                        where("rules", "parameters", rule_id, name),
                        f"rule {rule_id} has no parameter {name!r}",
                        f"its parameters: {declared}",
                    )
                )
                continue
            try:
                read_parameter(param, value)
            except ValueError as exc:
                problems.append(
                    Problem(where("rules", "parameters", rule_id, name), f"rules.parameters.{rule_id}: {exc}")
                )
    if problems:
        raise ConfigError(problems)
    kept = tuple(r for r in ruleset.rules if r.id not in set(conf.disabled))
    result = load.RuleSet(kept, ruleset.packs, ruleset.overridden)
    if not extra:
        ctx._rules = result  # a context loads its rules once
    return result


@dataclass
class EvaluationReport:
    rules: int
    evaluations: list[Evaluation]
    changes: Changes
    seconds: float
    now: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"rules": self.rules, "seconds": round(self.seconds, 3), **self.changes.as_dict()}


def evaluate(
    ctx: Context,
    *,
    only: Sequence[ResourceKey] | None = None,
    now: datetime | None = None,
    rules: RuleSet | None = None,
) -> EvaluationReport:
    """Evaluate the rules over the stored CIs, without calling AWS, and move findings.

    ``only``: the incremental entry point (the watch loop's): re-evaluate just the rules whose
    types cover these changed resources, plus the account items of their accounts (account-level
    rules read other resources, such as trails)."""
    import time

    from vigil.rules.conditions import read_parameter
    from vigil.rules.evaluate import Inventory, evaluate_all
    from vigil.store import findings, inventory
    from vigil.store import scans as scan_store

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    ruleset = rules or load_rules(ctx)
    conf = ctx.settings.rules
    params = {
        rule_id: {name: read_parameter(rule.parameters[name], v) for name, v in values.items()}
        for rule_id, values in conf.parameters.items()
        if (rule := ruleset.get(rule_id)) is not None
    }
    with ctx.store.connect() as conn:
        unreadable = {
            (e.account_id, e.region, e.resource_type): f"{e.code}: {e.message}"
            for e in scan_store.failing_units(conn)
        }
        if only is None:
            docs = [ci.to_dict() for ci in inventory.current(conn, inventory.Filters(include_deleted=True))]
            stock: Any = Inventory(docs)
            batch = evaluate_all(ruleset.rules, stock, now=now, params=params, unreadable=unreadable)
        else:
            # the incremental path reads only what the changed resources and their rules need
            stock = StoreReader(conn)
            targets = stock.targets(only)
            batch = evaluate_all(
                ruleset.rules, stock, now=now, params=params, unreadable=unreadable, only=targets
            )
    facts = {r.id: findings.RuleFacts(r.severity, r.controls) for r in ruleset.rules}
    with ctx.store.begin() as conn:
        changes = findings.record(conn, batch, facts, now=now)
        _apply_suppressions(conn, conf.suppressions, stock, now)
        _publish_findings(ctx, conn, changes, now)  # in the same transaction: the outbox never misses one
    return EvaluationReport(len(ruleset.rules), batch, changes, time.perf_counter() - started, now)


def _publish_findings(ctx: Context, conn: Any, changes: Changes, now: datetime) -> None:
    """One message per finding that opened, reopened or resolved, to ``notify.findings_topic``."""
    topic = ctx.settings.notify.findings_topic
    events = [(fp, "opened") for fp in changes.opened] + [(fp, "reopened") for fp in changes.reopened]
    events += [(fp, "resolved") for fp in changes.resolved]
    if topic is None or not events:
        return
    from vigil.notify.messages import finding_message
    from vigil.notify.publish import StorePublisher
    from vigil.notify.topics import topics_from
    from vigil.store import findings

    by_fp = {
        f.fingerprint: f
        for f in findings.query(
            conn, findings.FindingFilters(statuses=(), fingerprints=tuple(fp for fp, _ in events))
        )
    }
    publisher = StorePublisher(conn, topics_from(ctx.settings.notify))
    for fp, event in events:
        finding = by_fp.get(fp)
        if finding is None:
            continue
        subject, message, attributes = finding_message(finding, event)
        publisher.publish(
            topic,
            subject=subject,
            message=message,
            attributes=attributes,
            source="finding",
            at=now,
        )


class StoreReader:
    """What rules read (``lookup``, ``related``), fetched from the store on demand and kept for the
    evaluation: the incremental path touches a few resources, not the whole inventory."""

    def __init__(self, conn: Any) -> None:
        from vigil.store import inventory

        self._inventory = inventory
        self._conn = conn
        self._by_type: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._by_key: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        self.cis: list[dict[str, Any]] = []

    def targets(self, keys: Sequence[ResourceKey]) -> list[dict[str, Any]]:
        """The changed resources (deleted ones too) and the account items of their accounts."""
        inventory = self._inventory
        out: list[dict[str, Any]] = []
        grouped: dict[tuple[str, str], list[ResourceKey]] = {}
        for key in keys:
            grouped.setdefault((key.accountId, key.resourceType), []).append(key)
        for (account, rtype), group in grouped.items():
            wanted = {(k.awsRegion, k.resourceId) for k in group}
            found = inventory.latest_of(self._conn, account, rtype, [k.resourceId for k in group])
            out += [ci.to_dict() for ci in found if (ci.awsRegion, ci.resourceId) in wanted]
        for account in {k.accountId for k in keys}:
            out += [
                ci.to_dict()
                for ci in inventory.current(
                    self._conn, inventory.Filters(types=("AWS::::Account",), accounts=(account,))
                )
            ]
        self.cis = out
        return out

    def lookup(self, resource_type: str, region: str | None, account: str = "") -> list[dict[str, Any]]:
        if (account, resource_type) not in self._by_type:
            inventory = self._inventory
            filters = inventory.Filters(types=(resource_type,), accounts=(account,))
            self._by_type[(account, resource_type)] = [
                ci.to_dict() for ci in inventory.current(self._conn, filters)
            ]
        items = self._by_type[(account, resource_type)]
        return items if region is None else [c for c in items if c.get("awsRegion") == region]

    def related(self, ci: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
        account = ci.get("accountId", "")
        edges = [
            (e.get("resourceType"), e.get("resourceId"))
            for e in ci.get("relationships") or []
            if e.get("relationshipName", e.get("name")) == name and e.get("resourceId")
        ]
        missing: dict[str, list[str]] = {}
        for rtype, rid in edges:
            if (account, rtype, rid) not in self._by_key:
                missing.setdefault(rtype, []).append(rid)
        for rtype, ids in missing.items():
            for rid in ids:
                self._by_key[(account, rtype, rid)] = None
            for found in self._inventory.latest_of(self._conn, account, rtype, ids):
                if not found.deleted:
                    self._by_key[(account, rtype, found.resourceId)] = found.to_dict()
        return [doc for rtype, rid in edges if (doc := self._by_key.get((account, rtype, rid))) is not None]


def _apply_suppressions(conn: Any, suppressions: Sequence[Any], stock: Any, now: datetime) -> None:
    """The config file's suppressions, applied after every evaluation (expired ones are skipped)."""
    from vigil.model import parse_time
    from vigil.store import findings

    for item in suppressions:
        until = parse_time(item.until) if item.until else None
        if until is not None and until <= now:
            continue
        resources = list(item.resources)
        if item.tags:
            resources += [
                ci["resourceId"]
                for ci in stock.cis
                if all(
                    key in (ci.get("tags") or {}) and value in ("*", ci["tags"][key])
                    for key, value in item.tags.items()
                )
            ]
            if not resources:
                continue
        findings.suppress(
            conn,
            reason=item.reason,
            now=now,
            until=until,
            rule_ids=item.rules,
            resource_ids=resources,
            accounts=item.accounts,
            regions=item.regions,
            only_unsuppressed=True,
        )


def framework_report(ctx: Context, framework: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The compliance report of one framework from the stored evaluations (run ``evaluate`` first)."""
    from vigil import report
    from vigil.rules.frameworks import control_results, load_framework
    from vigil.store import findings

    spec = load_framework(framework)
    ruleset = load_rules(ctx)
    with ctx.store.connect() as conn:
        rows = findings.current_evaluations(conn, [r.id for r in ruleset.rules])
        open_findings = findings.query(conn)
    results = control_results(spec, ruleset.rules, rows)
    accounts = sorted({r["account_id"] for r in rows})
    manual = [r.requirement.id for r in results if r.status == "MANUAL"]
    gathered: dict[str, Any] = {}
    if manual:
        from vigil.rules.frameworks import evidence
        from vigil.store import inventory

        with ctx.store.connect() as conn:
            current = [ci.to_dict() for ci in inventory.current(conn)]
        for requirement in manual:
            found = evidence.gather(framework, requirement, current)
            if found is not None:
                gathered[requirement] = found
    return report.build(
        spec,
        results,
        ruleset.rules,
        open_findings,
        generated_at=now or datetime.now(UTC),
        accounts=accounts,
        evidence=gathered,
    )


@dataclass
class WhatIf:
    key: ResourceKey
    proposed: list[Evaluation]
    current: list[Evaluation]
    flips: list[Any]
    neighbours: list[tuple[str, ResourceKey, str | None]]


def what_if(
    ctx: Context,
    ref: str,
    *,
    assignments: Sequence[str] = (),
    proposed_ci: Mapping[str, Any] | None = None,
    region: str | None = None,
    resource_type: str | None = None,
    now: datetime | None = None,
) -> WhatIf:
    """Evaluate the rules against a proposed CI without storing it: what would flip, and what is
    linked to the resource (the blast radius of the change)."""
    from vigil.rules import whatif
    from vigil.rules.evaluate import evaluate_all
    from vigil.store import inventory

    now = now or datetime.now(UTC)
    ruleset = load_rules(ctx)
    with ctx.store.connect() as conn:
        if proposed_ci is not None:
            key = ResourceKey(
                str(proposed_ci.get("accountId") or proposed_ci.get("awsAccountId") or ""),
                str(proposed_ci.get("awsRegion", "")),
                str(proposed_ci["resourceType"]),
                str(proposed_ci["resourceId"]),
            )
            found = inventory.find(conn, key.resourceId, region=key.awsRegion, resource_type=key.resourceType)
            stored = inventory.latest(conn, found[0].pk).to_dict() if found else None
            doc = dict(proposed_ci)
        else:
            ref_row = inventory.find_one(conn, ref, region=region, resource_type=resource_type)
            key = ref_row.key
            stored = inventory.latest(conn, ref_row.pk).to_dict()
            doc = whatif.apply(stored, assignments)
        reader = StoreReader(conn)
        before = evaluate_all(ruleset.rules, reader, now=now, only=[stored]) if stored else []
        after = evaluate_all(ruleset.rules, reader, now=now, only=[doc])
        neighbours: list[tuple[str, ResourceKey, str | None]] = []
        if stored is not None:
            rows = inventory.find(conn, key.resourceId, region=key.awsRegion, resource_type=key.resourceType)
            if rows:
                graph = inventory.graph(conn, rows[0], 1)
                neighbours = [
                    (e.name, e.target if e.source == graph.root else e.source, None) for e in graph.edges
                ]
                neighbours = [(name, k, graph.names.get(k)) for name, k, _ in neighbours]
    current = {e.rule_id: e for e in before}
    return WhatIf(key, after, before, whatif.flips(current, after), neighbours)


def archive_run(ctx: Context, target: str, *, scan_id: int | None, now: datetime | None = None) -> Any:
    """Append this run's configuration snapshot (AWS Config's format) and compliance reports to the
    archive at ``target`` (a directory or s3://bucket/prefix)."""
    from vigil import archive, report
    from vigil.interop import awsconfig
    from vigil.rules.frameworks import FRAMEWORKS
    from vigil.store import inventory

    now = now or datetime.now(UTC)
    with ctx.store.connect() as conn:
        current = inventory.current(conn)
    snapshot = awsconfig.snapshot_files(current, home_region=ctx.settings.aws.home_region)
    reports = {name: report.to_json(framework_report(ctx, name, now=now)) for name in FRAMEWORKS}
    s3 = ctx.session.client("s3", ctx.settings.aws.home_region) if target.startswith("s3://") else None
    storage = archive.open_storage(target, s3)
    return archive.append(storage, archive.entry_files(snapshot, reports), created=now, scan_id=scan_id)


def verify_archive(ctx: Context, target: str) -> Any:
    from vigil import archive

    s3 = ctx.session.client("s3", ctx.settings.aws.home_region) if target.startswith("s3://") else None
    return archive.verify(archive.open_storage(target, s3))


def framework_findings(
    ctx: Context, framework: str, fmt: str, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Open findings of the rules a framework maps, as OCSF or ASFF records."""
    from vigil.report import exchange
    from vigil.rules.frameworks import load_framework
    from vigil.store import findings

    spec = load_framework(framework)
    rules = {r.id: r for r in load_rules(ctx).rules if any(c.startswith(f"{framework}:") for c in r.controls)}
    with ctx.store.connect() as conn:
        found = [f for f in findings.query(conn) if f.rule_id in rules]
    convert = exchange.ocsf if fmt == "ocsf" else exchange.asff
    return convert(found, rules, spec, now=now or datetime.now(UTC))
