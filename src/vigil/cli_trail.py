"""``vigil trail …``: CloudTrail's own files, checked where CloudTrail delivered them.

``vigil trail validate`` is ``aws cloudtrail validate-logs``'s counterpart (digest files, their chain
and RSA signatures; aws-semantics.md §6.5), and works offline with ``--public-key``. ``cli.py`` adds
this group to the main app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil import engine
from vigil.cli import ConfigOpt, EndpointOpt, ExternalIdOpt, ProfileOpt, RoleArnOpt, _run, when_option
from vigil.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from vigil.output import Format, emit, render, stderr, stdout, to_json

trail_app = typer.Typer(
    help="CloudTrail: validate the integrity of delivered log files.", no_args_is_help=True
)

COLUMNS = ["type", "status", "path", "reason", "digest", "time"]


@trail_app.callback()
def trail_group() -> None:
    """CloudTrail: validate the integrity of delivered log files."""


def _status_lines() -> str:
    from vigil.trail.integrity import STATUSES

    return "\n\n".join(f"* `{name}`: {meaning}" for name, meaning in STATUSES.items())


VALIDATE_HELP = f"""Validate CloudTrail log files against their digest files.

Reads the digest files under `--prefix`/AWSLogs/ in `--bucket` (every account and region, organisation
trails too), checks each digest's RSA signature (SHA256withRSA over the string CloudTrail signs), the
chain of digests (each names the previous one and records its signature and hash), and the SHA-256 of
every log file a valid digest names. Log files in the window that no valid digest names are reported
as not covered. Public keys come from CloudTrail's ListPublicKeys in each region, or, offline, from
`--public-key` files (PEM, DER, or saved `aws cloudtrail list-public-keys` output).

Statuses:

{_status_lines()}

`--output json` prints `{{"requested": {{"start", "end"}}, "found": {{"start", "end"}}, "summary":
{{"digestFiles": {{"valid", "invalid"}}, "logFiles": {{"valid", "invalid", "pending"}}}}, "files":
[{{"type": "digest"|"log", "status", "path": "s3://…", "reason", "digest": the digest naming the file,
"time"}}, …]}}`; `--output csv` the same files, one row each.

Exit codes: 0 every file valid · 4 a file is missing, modified, unsigned, not covered, or a signature or
the chain is invalid · 2 invalid options or key files · 5 the bucket (or ListPublicKeys) cannot be read.
"""


@trail_app.command("validate", help=VALIDATE_HELP)
def validate_command(
    bucket: Annotated[str, typer.Option("--bucket", help="The S3 bucket CloudTrail delivers to.")],
    prefix: Annotated[str, typer.Option("--prefix", help="The trail's S3 key prefix, if any.")] = "",
    start: Annotated[
        str | None,
        typer.Option("--start", help="Validate from this time (ISO, or an age: 7d, 12h). Default: all."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Validate up to this time (ISO, or an age). Default: now.")
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--public-key",
            help="Validate offline with this public key file (PEM, DER, or list-public-keys JSON); repeatable.",
        ),
    ] = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="List valid files too (the table lists problems only).")
    ] = False,
    profile: ProfileOpt = None,
    role_arn: RoleArnOpt = None,
    external_id: ExternalIdOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
) -> None:
    from vigil.trail.integrity import KeyRing, load_key_file, validate_bucket

    def body() -> int:
        now = datetime.now(UTC)
        since = when_option(start, now, "--start")
        until = when_option(end, now, "--end") or now
        if since is not None and since > until:
            raise UsageError(f"--start {start} is after --end {end or 'now'}", hint="swap them")
        keys: KeyRing | None = None
        if public_key:
            keys = KeyRing()
            for path in public_key:
                keys += load_key_file(path)
        aws = {
            "profile": profile,
            "role_arn": role_arn,
            "external_id": external_id,
            "endpoint_url": endpoint_url,
        }
        with engine.context(config, aws=aws) as ctx:
            report = validate_bucket(ctx.session, bucket, prefix=prefix, start=since, end=until, keys=keys)
        if output is Format.json:
            emit(to_json(report.as_dict()), None)
        elif output is Format.csv:
            rows = [[r.as_dict()[c] for c in COLUMNS] for r in report.results]
            render(output, columns=COLUMNS, rows=rows, records=None)
        else:
            shown = [r for r in report.results if verbose or not r.ok]
            if shown:
                rows = [[r.status, r.kind, str(r.location), r.reason] for r in shown]
                render(output, columns=["status", "type", "path", "reason"], rows=rows, records=None)
            for line in report.summary():
                stdout.print(line, highlight=False)
        if not report.counts("digest")[1]:
            stderr.print(
                f"[yellow]no digest files found under s3://{bucket}/{prefix}[/yellow]", highlight=False
            )
        return EXIT_OK if report.ok else EXIT_FINDINGS

    _run(body)
