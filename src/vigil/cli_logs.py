"""``vigil logs …``: CloudWatch Logs' filter-pattern language, usable on its own.

``vigil logs test-pattern`` is TestMetricFilter's counterpart: one log event per line in, which lines
match (and what a space-delimited pattern extracts) out. ``cli.py`` adds this group to the main app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigil.cli import EPILOG, _run
from vigil.errors import EXIT_OK, UsageError
from vigil.output import Format, emit, stdout, table, to_json

logs_app = typer.Typer(
    help="CloudWatch Logs filter patterns: test them against log events.", no_args_is_help=True
)

TERM_MODES = ("token", "substring")


@logs_app.command("test-pattern", epilog=EPILOG)
def test_pattern(
    pattern: Annotated[
        str, typer.Option("--pattern", "-p", help="The filter pattern, as CloudWatch Logs takes it.")
    ],
    events_file: Annotated[
        Path, typer.Option("--events-file", help="Log events, one per line ('-' for standard input).")
    ],
    term_mode: Annotated[
        str,
        typer.Option(
            "--term-mode",
            help="How a plain term matches: token (whole words, the default) or substring (spec §1.2, AMBIG).",
        ),
    ] = "token",
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
) -> None:
    """Which log events a filter pattern matches, and the fields it extracts.

    With `--output json` prints `{"results": [{"line": N, "matched": true|false, "extracted": {...}}, …]}`
    in input order. An invalid pattern exits 2 with the column and what was expected.
    """
    from vigil.logs.pattern import PatternError, compile_pattern

    def body() -> int:
        if term_mode not in TERM_MODES:
            raise UsageError(f"--term-mode {term_mode!r} is not token or substring")
        try:
            compiled = compile_pattern(pattern, term_mode=term_mode)
        except PatternError as exc:
            raise UsageError(
                str(exc), hint="see the filter pattern syntax in CloudWatch Logs' documentation"
            ) from None
        text = _read(events_file)
        results: list[dict[str, Any]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            found = compiled.match(line)
            results.append(
                {
                    "line": number,
                    "matched": found is not None,
                    "extracted": dict(found.extracted) if found else {},
                }
            )
        if output is Format.json:
            emit(to_json({"results": results}), None)
        else:
            matched = sum(r["matched"] for r in results)
            rows = [
                [
                    r["line"],
                    "yes" if r["matched"] else "no",
                    " ".join(f"{k}={v}" for k, v in r["extracted"].items()),
                ]
                for r in results
            ]
            stdout.print(
                table(f"{matched} of {len(results)} events match", ["line", "matched", "extracted"], rows)
            )
        return EXIT_OK

    _run(body)


def _read(path: Path) -> str:
    if str(path) == "-":
        import sys

        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}", hint="give a file with one log event per line") from exc
