"""The compliance commands: ``vigil rules …``, ``vigil evaluate``, ``vigil findings …``.

Thin, as ``cli.py``: parse, call the engine, render. ``cli.py`` adds these to the main app.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from vigil import engine, views
from vigil.cli import EPILOG, ConfigOpt, DbOpt, OutPathOpt, OutputOpt, _run, _split, _tags
from vigil.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError
from vigil.output import Format, render, stdout, table

rules_app = typer.Typer(
    help="The rules: list and show them, validate packs (yours too), run their examples.",
    no_args_is_help=True,
)
findings_app = typer.Typer(
    help="Findings: what the rules found non-compliant, open, resolved or suppressed.",
    invoke_without_command=True,
)

archive_app = typer.Typer(
    help="The archive of runs (`vigil scan --archive`): check it was not tampered with.", no_args_is_help=True
)

SEVERITIES = ("informational", "low", "medium", "high", "critical")
FailOnOpt = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        help="Exit 4 when open findings at or above this severity remain (low, medium, high, critical).",
    ),
]


def check_severity(value: str | None) -> None:
    if value is not None and value not in SEVERITIES:
        raise UsageError(f"unknown severity {value!r}", hint=f"one of: {', '.join(SEVERITIES)}")


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


# -- rules ----------------------------------------------------------------------------------------


@rules_app.command("validate", epilog=EPILOG)
def rules_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Pack files or directories (default: the configured packs).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Check rule packs: every problem in every file, each with file:line and a hint; exits 2 if any.

    Checks YAML syntax, duplicate ids, unknown fields, operators, value types and checks, JMESPath
    syntax, parameters (declared, typed, used), examples, and resource types.
    """

    def body() -> int:
        with engine.context(config) as ctx:
            ruleset = engine.load_rules(ctx, [str(p) for p in paths or ()])
        stdout.print(
            f"[green]ok[/green]: {len(ruleset.rules)} rules in {len(ruleset.packs)} packs "
            f"({', '.join(dict.fromkeys(ruleset.packs))})"
            + (f"; replaced built-in rules: {', '.join(ruleset.overridden)}" if ruleset.overridden else "")
        )
        return EXIT_OK

    _run(body)


@rules_app.command("test", epilog=EPILOG)
def rules_test(
    paths: Annotated[list[Path] | None, typer.Argument(help="Extra pack files or directories.")] = None,
    output: OutputOpt = Format.table,
    config: ConfigOpt = None,
) -> None:
    """Run every rule's examples; list the ones that do not give the result they name (exit 2)."""
    from vigil.rules import selftest

    def body() -> int:
        with engine.context(config) as ctx:
            ruleset = engine.load_rules(ctx, [str(p) for p in paths or ()])
        results = selftest.run_examples(ruleset.rules)
        failed = [r for r in results if not r.passed]
        rows = [
            [r.rule.id, r.example.where, r.example.expect, r.evaluation.compliance, r.evaluation.annotation]
            for r in failed
        ]
        columns = ["rule", "where", "expected", "got", "annotation"]
        if output is not Format.table:
            render(
                output,
                columns=columns,
                rows=rows,
                records=[dict(zip(columns, row, strict=True)) for row in rows],
            )
        elif failed:
            stdout.print(table(f"{len(failed)} of {len(results)} examples failed", columns, rows))
        else:
            stdout.print(f"[green]ok[/green]: {len(results)} examples of {len(ruleset.rules)} rules pass")
        return EXIT_USAGE if failed else EXIT_OK

    _run(body)


def _rule_record(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "aws_identifier": rule.aws_identifier,
        "title": rule.title,
        "severity": rule.severity,
        "resource_types": list(rule.resource_types),
        "triggers": list(rule.triggers),
        "frequency": rule.frequency,
        "parameters": {
            name: {"type": p.type, "default": p.default, "description": p.description}
            for name, p in rule.parameters.items()
        },
        "controls": list(rule.controls),
        "pack": rule.pack,
        "check": rule.check,
        "rationale": rule.rationale,
        "remediation": rule.remediation.text,
        "source": rule.source,
    }


@rules_app.command("list", epilog=EPILOG)
def rules_list(
    framework: Annotated[
        str | None, typer.Option("--framework", help="Only rules mapped to it (cis-aws-7.0, fsbp, …).")
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Only rules for this resource type.")] = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The rules that evaluate, with severity, resource types and the controls they support."""

    def body() -> int:
        with engine.context(config) as ctx:
            ruleset = engine.load_rules(ctx)
        rules = [
            r
            for r in ruleset.rules
            if (framework is None or any(c.split(":", 1)[0] == framework for c in r.controls))
            and (type_ is None or type_ in r.resource_types)
        ]
        rules.sort(key=lambda r: (-SEVERITIES.index(r.severity), r.id))
        rows = [
            [
                r.id,
                r.severity,
                ", ".join(t.split("::", 1)[1] for t in r.resource_types),
                ", ".join(r.controls[:3]),
            ]
            for r in rules
        ]
        render(
            output,
            columns=["id", "severity", "resource types", "controls"],
            rows=rows,
            records=[_rule_record(r) for r in rules],
            title=f"{len(rules)} rules",
            out=out,
        )
        return EXIT_OK

    _run(body)


@rules_app.command("show", epilog=EPILOG)
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="The rule's id, e.g. restricted-ssh.")],
    output: OutputOpt = Format.table,
    config: ConfigOpt = None,
) -> None:
    """One rule: what it checks and why, its parameters, controls, remediation and where it is defined."""

    def body() -> int:
        with engine.context(config) as ctx:
            ruleset = engine.load_rules(ctx)
        rule = ruleset.get(rule_id)
        if rule is None:
            raise UsageError(f"no rule {rule_id!r}", hint="list them with `vigil rules list`")
        record = _rule_record(rule)
        if output is not Format.table:
            render(output, columns=list(record), rows=[list(record.values())], records=record)
            return EXIT_OK
        rows = [
            [k, v if isinstance(v, str) else ", ".join(map(str, v)) if isinstance(v, list) else str(v)]
            for k, v in record.items()
        ]
        stdout.print(table(f"{rule.id}: {rule.title}", ["field", "value"], rows))
        return EXIT_OK

    _run(body)


# -- evaluate and findings --------------------------------------------------------------------------


def show_evaluation(report: engine.EvaluationReport) -> None:
    by = report.changes.by_compliance
    stdout.print(
        f"Evaluated {report.rules} rules: {report.changes.evaluated} evaluations in {report.seconds:.2f}s · "
        f"{by.get('NON_COMPLIANT', 0)} non-compliant · {by.get('COMPLIANT', 0)} compliant · "
        f"{by.get('INSUFFICIENT_DATA', 0)} insufficient data · findings: {len(report.changes.opened)} opened, "
        f"{len(report.changes.reopened)} reopened, {len(report.changes.resolved)} resolved"
    )


def open_at_or_above(ctx: engine.Context, threshold: str) -> int:
    from vigil.store import findings

    with ctx.store.connect() as conn:
        found = findings.query(conn)
    return sum(1 for f in found if at_or_above(f.severity, threshold))


@findings_app.callback(epilog=EPILOG)
def findings_list(
    typer_ctx: typer.Context,
    severity: Annotated[
        list[str] | None, typer.Option("--severity", help="Only these severities (a,b).")
    ] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rule ids.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="open (default), resolved, suppressed, or all.")
    ] = None,
    framework: Annotated[
        list[str] | None,
        typer.Option("--framework", help="Only findings of rules mapped to it (cis-aws-7.0, fsbp)."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only resources with this tag (k=v or k).")
    ] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="Only these regions.")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Only these resource types.")] = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Findings, most severe first: open by default.

    `--output json` prints an array of objects with rule_id, resource_type, resource_id, region,
    account_id, severity, status, compliance_type, annotation and controls (and more).
    """
    if typer_ctx.invoked_subcommand is not None:
        return
    from vigil.store import findings, inventory

    def body() -> int:
        statuses = tuple(_split(status)) or ("open",)
        if statuses == ("all",):
            statuses = ()
        for s in _split(severity):
            check_severity(s)
        filters = findings.FindingFilters(
            severities=tuple(_split(severity)),
            rules=tuple(_split(rule)),
            statuses=statuses,
            frameworks=tuple(_split(framework)),
            regions=tuple(_split(region)),
            types=tuple(_split(type_)),
        )
        with engine.context(config, db=db) as ctx, ctx.store.connect() as conn:
            found = findings.query(conn, filters)
            if tag:
                tagged = {
                    (c.accountId, c.awsRegion, c.resourceType, c.resourceId)
                    for c in inventory.current(conn, inventory.Filters(tags=_tags(tag)))
                }
                found = [
                    f for f in found if (f.account_id, f.region, f.resource_type, f.resource_id) in tagged
                ]
            ruleset = engine.load_rules(ctx)
        titles = {r.id: r for r in ruleset.rules}
        records = [_finding_record(f, titles.get(f.rule_id)) for f in found]
        rows = views.finding_rows(found)
        counts = Counter(f.severity for f in found)
        summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])
        render(
            output,
            columns=views.FINDING_COLUMNS,
            rows=rows,
            records=records,
            title=f"{len(found)} findings ({summary or 'none'})",
            out=out,
        )
        return EXIT_OK

    _run(body)


def _finding_record(finding: Any, rule: Any) -> dict[str, Any]:
    return {
        "fingerprint": finding.fingerprint,
        "rule_id": finding.rule_id,
        "title": rule.title if rule else None,
        "resource_type": finding.resource_type,
        "resource_id": finding.resource_id,
        "resource_name": finding.resource_name,
        "region": finding.region,
        "account_id": finding.account_id,
        "severity": finding.severity,
        "status": finding.status,
        "compliance_type": "NON_COMPLIANT",
        "annotation": finding.annotation,
        "controls": list(finding.controls),
        "remediation": rule.remediation.text if rule else None,
        "first_seen": finding.first_seen.isoformat(),
        "last_seen": finding.last_seen.isoformat(),
        "resolved_at": finding.resolved_at.isoformat() if finding.resolved_at else None,
        "suppressed_reason": finding.suppressed_reason,
    }


SelectorRule = Annotated[list[str] | None, typer.Option("--rule", help="Rule ids.")]
SelectorResource = Annotated[
    list[str] | None, typer.Option("--resource", help="Resource ids (or finding fingerprints).")
]
SelectorAccount = Annotated[list[str] | None, typer.Option("--account", help="Account ids.")]
SelectorRegion = Annotated[list[str] | None, typer.Option("--region", help="Regions.")]


@findings_app.command("suppress", epilog=EPILOG)
def findings_suppress(
    reason: Annotated[str, typer.Option("--reason", help="Why (accepted risk, false positive, …).")],
    rule: SelectorRule = None,
    resource: SelectorResource = None,
    account: SelectorAccount = None,
    region: SelectorRegion = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Findings of resources with this tag (k=v or k).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Expiry, an ISO date: the findings reopen after.")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Suppress findings by rule, resource, tag, account or region (at least one), with a reason.

    For suppressions that should survive a fresh store, write them in vigil.yaml (`rules.suppressions`).
    """
    from vigil.model import parse_time
    from vigil.store import findings

    def body() -> int:
        if not (rule or resource or account or region or tag):
            raise UsageError(
                "say which findings to suppress", hint="give --rule, --resource, --tag, --account or --region"
            )
        try:
            expiry = parse_time(until) if until else None
        except ValueError:
            raise UsageError(
                f"--until {until!r} is not an ISO date or time", hint="e.g. --until 2027-03-31"
            ) from None
        with engine.context(config, db=db) as ctx, ctx.store.begin() as conn:
            resources = _split(resource)
            if tag:
                from vigil.store import inventory

                tagged = [c.resourceId for c in inventory.current(conn, inventory.Filters(tags=_tags(tag)))]
                if not tagged:
                    stdout.print("no recorded resource carries that tag: nothing suppressed")
                    return EXIT_OK
                resources += tagged
            count = findings.suppress(
                conn,
                reason=reason,
                now=datetime.now(UTC),
                until=expiry,
                rule_ids=_split(rule),
                resource_ids=resources,
                accounts=_split(account),
                regions=_split(region),
            )
        stdout.print(f"suppressed {count} finding{'s' if count != 1 else ''}")
        return EXIT_OK

    _run(body)


@findings_app.command("unsuppress", epilog=EPILOG)
def findings_unsuppress(
    rule: SelectorRule = None,
    resource: SelectorResource = None,
    account: SelectorAccount = None,
    region: SelectorRegion = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Lift suppressions; the findings are open until the next evaluation says otherwise."""
    from vigil.store import findings

    def body() -> int:
        if not (rule or resource or account or region):
            raise UsageError(
                "say which findings to unsuppress", hint="give --rule, --resource, --account or --region"
            )
        with engine.context(config, db=db) as ctx, ctx.store.begin() as conn:
            count = findings.unsuppress(
                conn,
                now=datetime.now(UTC),
                rule_ids=_split(rule),
                resource_ids=_split(resource),
                accounts=_split(account),
                regions=_split(region),
            )
        stdout.print(f"unsuppressed {count} finding{'s' if count != 1 else ''}")
        return EXIT_OK

    _run(body)


def evaluate_command(
    fail_on: FailOnOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Evaluate every rule over the stored configuration, without calling AWS, and update findings.

    A (type, region) whose last collection failed gives INSUFFICIENT_DATA with the reason.
    """

    def body() -> int:
        check_severity(fail_on)
        with engine.context(config, db=db) as ctx:
            report = engine.evaluate(ctx)
            failing = open_at_or_above(ctx, fail_on) if fail_on else 0
        if output is not Format.table:
            data = report.as_dict()
            render(output, columns=list(data), rows=[list(data.values())], records=data, out=out)
        else:
            show_evaluation(report)
        return EXIT_FINDINGS if failing else EXIT_OK

    _run(body)


def report_command(
    framework: Annotated[
        str, typer.Option("--framework", "-f", help="cis-aws-7.0, cis-aws-5.0 or fsbp.")
    ] = "cis-aws-7.0",
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="table (a summary), json, csv, html (one self-contained page), or the failing findings "
            "as ocsf (OCSF Compliance Findings) or asff (Security Hub's BatchImportFindings).",
        ),
    ] = "table",
    out: OutPathOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A framework's compliance report: each requirement's status (PASS, FAIL, MANUAL,
    NOT_APPLICABLE, INSUFFICIENT_DATA), the failing resources with why and how to fix, a score per
    section. Uses the latest evaluations (`vigil scan` or `vigil evaluate` first).
    """
    import orjson

    from vigil import report
    from vigil.output import emit

    def body() -> int:
        if output not in ("table", "ocsf", "asff", *report.RENDERERS):
            raise UsageError(
                f"--output {output!r} is not a report format", hint="table, json, csv, html, ocsf or asff"
            )
        if output in ("ocsf", "asff"):
            with engine.context(config, db=db) as ctx:
                records = engine.framework_findings(ctx, framework, output)
            payload = orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n"
            if out is None:
                emit(payload.decode(), None)
            else:
                out.write_bytes(payload)
                stdout.print(f"wrote {len(records)} findings ({output}) to {out}")
            return EXIT_OK
        with engine.context(config, db=db) as ctx:
            data = engine.framework_report(ctx, framework)
        if output != "table":
            rendered = report.RENDERERS[output](data)
            if out is None:
                emit(rendered.decode(), None)
            else:
                out.write_bytes(rendered)
                stdout.print(f"wrote the {data['title']} report ({output}) to {out}")
            return EXIT_OK
        summary = ", ".join(f"{n} {s.lower().replace('_', ' ')}" for s, n in data["summary"].items() if n)
        score = f"{data['score']:.1f}%" if data["score"] is not None else "–"
        stdout.print(f"[bold]{data['title']}[/bold]: score {score} ({summary})")
        stdout.print(
            table(
                "Sections",
                ["section", "score", "pass", "fail", "manual", "n/a", "insufficient"],
                [
                    [
                        s["section"],
                        f"{s['score']:.1f}%" if s["score"] is not None else "–",
                        s["PASS"],
                        s["FAIL"],
                        s["MANUAL"],
                        s["NOT_APPLICABLE"],
                        s["INSUFFICIENT_DATA"],
                    ]
                    for s in data["sections"]
                ],
            )
        )
        failing = [r for r in data["requirements"] if r["status"] == "FAIL"]
        if failing:
            stdout.print(
                table(
                    f"Failing requirements ({len(failing)})",
                    ["id", "requirement", "failing resources"],
                    [[r["id"], r["title"], len(r["failing"])] for r in failing],
                )
            )
        return EXIT_OK

    _run(body)


def whatif_command(
    ref: Annotated[str | None, typer.Argument(help="Resource id, ARN or name (not with --ci).")] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="PATH=VALUE into the stored CI, e.g. configuration.encrypted=false (repeat)."
        ),
    ] = None,
    ci_file: Annotated[
        Path | None, typer.Option("--ci", help="A whole proposed CI (any AWS Config form), as JSON.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="The resource's region, if its id is not unique.")
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="The resource's type, if its id is not unique.")
    ] = None,
    fail_on: FailOnOpt = None,
    output: OutputOpt = Format.table,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Evaluate the rules against a proposed configuration without storing it: which evaluations
    would flip, and which resources are linked to it.

    Example: `vigil whatif sg-0123 --set 'configuration.ipPermissions[]={"ipProtocol":"tcp","fromPort":22,
    "toPort":22,"ipRanges":["0.0.0.0/0"]}' --fail-on high` (exit 4: the change would open a high finding).
    """
    import orjson

    from vigil.model import ConfigurationItem

    def body() -> int:
        check_severity(fail_on)
        if (ref is None) == (ci_file is None):
            raise UsageError("give a resource (with --set) or --ci FILE", hint="see `vigil whatif --help`")
        proposed = None
        if ci_file is not None:
            try:
                raw = orjson.loads(ci_file.read_bytes())
                proposed = ConfigurationItem.from_dict(raw.get("configurationItem", raw)).to_dict()
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise UsageError(
                    f"{ci_file}: not a configuration item ({exc})",
                    hint="save one with `vigil show ID -o json`",
                ) from exc
        with engine.context(config, db=db) as ctx:
            result = engine.what_if(
                ctx,
                ref or "",
                assignments=_split_assignments(assignments),
                proposed_ci=proposed,
                region=region,
                resource_type=type_,
            )
            rules = {r.id: r for r in engine.load_rules(ctx).rules}
        rows = [
            [
                f.rule_id,
                rules[f.rule_id].severity if f.rule_id in rules else "",
                f.before,
                f.after,
                f.annotation,
            ]
            for f in result.flips
        ]
        columns = ["rule", "severity", "before", "after", "annotation"]
        if output is not Format.table:
            render(
                output,
                columns=columns,
                rows=rows,
                records={
                    "resource": result.key._asdict(),
                    "flips": [dict(zip(columns, row, strict=True)) for row in rows],
                    "linked": [
                        {"relationship": name, **key._asdict(), "resourceName": label}
                        for name, key, label in result.neighbours
                    ],
                },
            )
        else:
            title = f"If {result.key.resourceType} {result.key.resourceId} looked like this"
            if rows:
                stdout.print(table(f"{title}: {len(rows)} evaluations would change", columns, rows))
            else:
                stdout.print(f"{title}: no evaluation would change ({len(result.proposed)} rules evaluated).")
            if result.neighbours:
                stdout.print(
                    table(
                        "Linked resources (what the change touches)",
                        ["relationship", "type", "id", "name"],
                        [[n, k.resourceType, k.resourceId, label or ""] for n, k, label in result.neighbours],
                    )
                )
        worse = [
            f
            for f in result.flips
            if f.after == "NON_COMPLIANT"
            and fail_on
            and f.rule_id in rules
            and at_or_above(rules[f.rule_id].severity, fail_on)
        ]
        return EXIT_FINDINGS if worse else EXIT_OK

    _run(body)


def _split_assignments(values: list[str] | None) -> list[str]:
    return list(values or [])


@archive_app.command("verify", epilog=EPILOG)
def archive_verify(
    target: Annotated[str, typer.Argument(help="The archive: a directory or s3://bucket/prefix.")],
    output: OutputOpt = Format.table,
    config: ConfigOpt = None,
) -> None:
    """Check every entry of an archive: files against their manifest's hashes, and each manifest
    against the chain (a missing, edited or reordered entry is found). Exits 4 when anything is
    wrong, as a finding would.
    """

    def body() -> int:
        with engine.context(config) as ctx:
            result = engine.verify_archive(ctx, target)
        if result.entries == 0 and result.ok:
            raise UsageError(f"{target}: no archive entries", hint="write some with `vigil scan --archive …`")
        if output is not Format.table:
            data = {
                "ok": result.ok,
                "entries": result.entries,
                "files": result.files,
                "problems": result.problems,
            }
            render(output, columns=["problem"], rows=[[p] for p in result.problems], records=data)
        elif result.ok:
            stdout.print(
                f"[green]ok[/green]: {result.entries} entries, {result.files} files, the chain is whole"
            )
        else:
            stdout.print(
                table(
                    f"{len(result.problems)} problems in {target}",
                    ["problem"],
                    [[p] for p in result.problems],
                )
            )
        return EXIT_OK if result.ok else EXIT_FINDINGS  # tampering is something to act on, like a finding

    _run(body)
