"""``vigil notify …``: notifications. For now ``test-filter-policy``: does an SNS filter policy match?

``cli.py`` adds ``notify_app`` to the main app as ``vigil notify``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigil.alarm_views import read_json
from vigil.cli import EPILOG, _run
from vigil.errors import EXIT_OK, UsageError
from vigil.output import Format, emit, stdout, table, to_json

notify_app = typer.Typer(
    help="Notifications: topics, subscriptions and their SNS filter policies.", no_args_is_help=True
)


@notify_app.callback()
def notify() -> None:
    """Notifications: topics, subscriptions and their SNS filter policies."""
    # A callback keeps `notify` a group while it has a single command (Typer would collapse it).


POLICY_HINT = 'give the FilterPolicy as JSON, e.g. {"store": ["example_corp"]}, or @policy.json'
ATTRIBUTES_HINT = (
    'give SNS message attributes, e.g. {"store": {"DataType": "String", "StringValue": "example_corp"}}'
)
MESSAGE_HINT = 'give the message body as JSON, e.g. {"store": "example_corp"}, or @message.json'


def _message_text(text: str) -> str:
    """The body as published, inline or ``@file``; a body that is not JSON is valid and matches nothing."""
    if not text.startswith("@"):
        return text
    path = Path(text[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--message: cannot read {path}: {exc.strerror}", hint=MESSAGE_HINT) from exc


@notify_app.command("test-filter-policy", epilog=EPILOG)
def test_filter_policy(
    policy: Annotated[
        str, typer.Option("--policy", help="The FilterPolicy as JSON, or @file.json (SNS's syntax).")
    ],
    scope: Annotated[
        str,
        typer.Option("--scope", help="FilterPolicyScope: MessageAttributes (SNS's default) or MessageBody."),
    ] = "MessageAttributes",
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            help='Message attributes as JSON or @file.json: {"Name": {"DataType": …, "StringValue": …}}.',
        ),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option("--message", help="The message body (JSON for MessageBody scope), or @file.json."),
    ] = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
) -> None:
    """Whether SNS would deliver a message to a subscription with this filter policy.

    With `--output json` prints `{"matched": true|false}`. An invalid policy exits 2 with SNS's error
    text (`Invalid parameter: FilterPolicy: …`).
    """
    from vigil.notify.filter_policy import (
        SCOPES,
        FilterPolicyError,
        compile_policy,
        sns_error_message,
    )

    def body() -> int:
        if scope not in SCOPES:
            raise UsageError(f"--scope {scope!r} is not MessageAttributes or MessageBody")
        raw = read_json(policy, "--policy", POLICY_HINT)
        try:
            compiled = compile_policy(raw, scope)  # scope checked above
        except FilterPolicyError as exc:
            raise UsageError(sns_error_message(exc), hint=POLICY_HINT) from None
        if scope == "MessageBody":
            if message is None:
                raise UsageError("--scope MessageBody needs --message", hint=MESSAGE_HINT)
            matched = compiled.matches_body(_message_text(message))
            given = "message body"
        else:
            attrs = _attributes(read_json(attributes, "--attributes", ATTRIBUTES_HINT) if attributes else {})
            matched = compiled.matches_attributes(attrs)
            given = f"{len(attrs)} message attribute(s)"
        if output is Format.json:
            emit(to_json({"matched": matched}), None)
        else:
            rows = [["matched", "yes" if matched else "no"], ["scope", scope], ["input", given]]
            rows.append(["combinations", str(compiled.combinations)])
            stdout.print(table("filter policy test", ["", ""], rows))
        return EXIT_OK

    _run(body)


def _attributes(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise UsageError(
            "--attributes must be a JSON object of name → {DataType, StringValue}", hint=ATTRIBUTES_HINT
        )
    return raw
