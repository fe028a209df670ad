"""Rendering for the terminal and for machines: ``--output table|json|csv`` and ``--out PATH``.

Tables go to the terminal through Rich; JSON through orjson (indented, keys as given); CSV with
one header row. Progress and messages go to stderr, so stdout stays clean for pipes.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from vigil.errors import UsageError

stdout = Console(soft_wrap=False)
stderr = Console(stderr=True, soft_wrap=True)  # messages keep paths on one line


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else (orjson.dumps(v).decode() if isinstance(v, dict | list) else v)
                for v in row
            ]
        )
    return buffer.getvalue()


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None
) -> Table:
    """A Rich table; the first column (what names the row) is kept on one line when it is short."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    t = Table(title=title, caption=caption, header_style="bold", title_justify="left", caption_justify="left")
    first_width = max((len(r[0]) for r in cells if r), default=0)
    for index, column in enumerate(columns):
        t.add_column(column, overflow="fold", no_wrap=index == 0 and first_width <= FIRST_COLUMN_NO_WRAP)
    for row in cells:
        t.add_row(*row)
    return t


FIRST_COLUMN_NO_WRAP = 30


def emit(text: str, out: Path | None) -> None:
    """Write machine output to ``--out PATH`` or stdout."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}", hint="choose a writable --out path") from exc
    stderr.print(f"[dim]wrote {out}[/dim]")


def render(
    fmt: Format,
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    records: Any,
    title: str | None = None,
    out: Path | None = None,
    caption: str | None = None,
) -> None:
    """One listing in the chosen format: a table, ``records`` as JSON, or ``rows`` as CSV."""
    if fmt is Format.json:
        emit(to_json(records), out)
    elif fmt is Format.csv:
        emit(to_csv(columns, rows), out)
    elif len(rows) > RICH_ROWS_MAX:
        emit(plain_table(columns, rows), out)
        stderr.print(f"[dim]{len(rows)} rows[/dim]" + (f" [dim]({caption})[/dim]" if caption else ""))
    elif out is not None:
        console = Console(file=io.StringIO(), width=200)
        console.print(table(title, columns, rows, caption=caption))
        emit(console.file.getvalue(), out)  # type: ignore[attr-defined]
    else:
        stdout.print(table(title, columns, rows, caption=caption))


# Rich draws about 1,000 table rows a second; past this many, a plain aligned table keeps a listing of a
# large account instant (and greppable).
RICH_ROWS_MAX = 500
PLAIN_CELL_MAX = 80


def plain_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned with two spaces, no borders; cells longer than 80 characters are cut with '…'."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= PLAIN_CELL_MAX else text[: PLAIN_CELL_MAX - 1] + "…"

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines) + "\n"
