"""``vigil remediate FINDING --action NAME [--apply]``: fix one finding, dry-run first.

``cli.py`` registers the command; the work is in ``vigil.remediate``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vigil.cli import ConfigOpt, DbOpt, EndpointOpt, OutPathOpt, OutputOpt, ProfileOpt, RoleArnOpt, _run
from vigil.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from vigil.output import Format, emit, stdout, table, to_csv, to_json


def _params(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not key.strip() or not sep:
            raise UsageError(f"--param {item!r} is not key=value", hint="write --param ports=22 (repeatable)")
        out[key.strip()] = value
    return out


def remediate_command(
    finding: Annotated[str, typer.Argument(help="The finding's fingerprint (or 8+ characters of it).")],
    action: Annotated[
        str | None,
        typer.Option("--action", "-a", help="The action to run; without it, list the actions that fit."),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option("--apply/--dry-run", help="Make the changes (default: only show what would be done)."),
    ] = False,
    params: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="An action parameter, key=value (repeatable).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Format.table,
    out: OutPathOpt = None,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Fix what a finding reports with a remediation action.

    Without --action, list the actions that fit the finding. Dry-run (the default) prints the exact
    AWS calls; --apply makes them, re-records the resource, re-evaluates its rules and says whether
    the finding resolved. Exit codes: 2 wrong finding or action, 3 a call failed, 5 no credentials.
    Example: `vigil remediate 3f2a9c1e --action revoke-ingress --apply`.
    """
    from vigil import engine
    from vigil.remediate import run

    def body() -> int:
        given = _params(params)
        aws = {"profile": profile, "role_arn": role_arn, "endpoint_url": endpoint_url}
        with engine.context(config, db=db, aws=aws) as ctx:
            if action is None:
                with ctx.store.connect() as conn:
                    found = run.load_finding(conn, finding)
                _show_fitting(found, output, out)
                return EXIT_OK
            result = run.remediate(ctx, finding, action, params=given, apply=apply)
        _show_result(result, output, out)
        return EXIT_OK if result.ok else EXIT_PARTIAL

    _run(body)


def _show_fitting(found: Any, output: Format, out: Any) -> None:
    from vigil.remediate.actions import fitting

    actions = fitting(found.rule_id, found.resource_type)
    rows = [[a.name, a.title, ", ".join(a.calls), ", ".join(p.name for p in a.params)] for a in actions]
    if output is Format.json:
        emit(to_json([dict(zip(("name", "title", "calls", "params"), r, strict=True)) for r in rows]), out)
    elif output is Format.csv:
        emit(to_csv(["name", "title", "calls", "params"], rows), out)
    else:
        caption = f"{found.rule_id} on {found.resource_type} {found.resource_id} ({found.region})"
        if not rows:
            stdout.print(f"no remediation action fits {caption}")
            return
        stdout.print(
            table("Actions that fit", ["action", "what", "AWS calls", "params"], rows, caption=caption)
        )


def _show_result(result: Any, output: Format, out: Any) -> None:
    if output is Format.json:
        emit(to_json(result.as_dict()), out)
        return
    if result.outcome is None:
        pairs = [(step, "planned") for step in result.plan.steps]
    else:  # as made: a step may have expanded into several calls (one per access key)
        pairs = [(r.step, "done" if r.ok else f"FAILED {r.error}") for r in result.outcome.results]
    rows = [[f"{s.service}.{s.operation}", s.region, s.description, state] for s, state in pairs]
    if output is Format.csv:
        emit(to_csv(["call", "region", "what", "state"], rows), out)
        return
    header = f"{result.action.name} on {result.plan.resource_type} {result.plan.resource_id} ({result.plan.region})"
    stdout.print(header, highlight=False)
    if not result.plan.steps:
        stdout.print(f"nothing to do: {result.plan.summary}", highlight=False)
        return
    stdout.print(table(None, ["call", "region", "what", "state"], rows))
    if result.outcome is None:
        stdout.print(
            f"dry run: {result.plan.summary}. Run again with --apply to make the change.", highlight=False
        )
    elif not result.outcome.ok:
        stdout.print("[bold red]a call failed[/bold red]; nothing after it was attempted")
    else:
        verdict = "resolved" if result.resolved else f"still {result.status_after}"
        stdout.print(f"applied; finding {result.finding.fingerprint} is {verdict}", highlight=False)
        for error in result.recorded_errors:
            stdout.print(f"[yellow]re-record could not read[/yellow] {error}", highlight=False)
