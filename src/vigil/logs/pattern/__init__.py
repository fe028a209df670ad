"""CloudWatch Logs filter patterns: ``compile_pattern(text).match(message)`` (spec §1.1–1.5).

Three families, chosen by the first non-blank character: ``{`` JSON, ``[`` space-delimited,
otherwise terms (which may be a ``%regex%``). A pattern is parsed and compiled once; matching is
pure and never raises. Decisions on the spec's [AMBIG] points (spec §8):

* terms match whole tokens by default (``term_mode="token"``); ``"substring"`` gives the
  emulators' containment semantics;
* ``?`` opens an AND-group that runs over the following plain terms (``?a b ?c`` = (a and b) or c);
  plain terms before the first ``?`` are rejected;
* a space-delimited pattern must account for every token unless it uses ``...``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from vigil.logs.pattern.compiler import TERM_MODES, TermMode, compile_ast, compile_document_test
from vigil.logs.pattern.lexer import PatternError
from vigil.logs.pattern.parser import JsonPattern, PatternAst, SpacePattern, parse

__all__ = ["Match", "Pattern", "PatternError", "compile_pattern"]


@dataclass(frozen=True)
class Match:
    """A successful match; ``extracted`` maps ``$name`` to the token of each named space-delimited field."""

    extracted: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pattern:
    """A compiled filter pattern."""

    text: str
    kind: Literal["terms", "json", "space-delimited"]
    ast: PatternAst = field(repr=False)
    _matcher: Callable[[str], dict[str, str] | None] = field(repr=False, compare=False)
    _document: Callable[[object], bool] | None = field(default=None, repr=False, compare=False)

    def match(self, message: str) -> Match | None:
        """The match for one log event message, or None when the pattern does not match it."""
        extracted = self._matcher(message)
        return None if extracted is None else Match(extracted)

    @property
    def document_test(self) -> Callable[[object], bool] | None:
        """The test on a parsed event, for JSON patterns (None for term and space-delimited ones)."""
        return self._document

    def match_record(self, record: Mapping[str, Any], message: Callable[[], str]) -> Match | None:
        """The match for an event already parsed to a dict; ``message()`` gives its text when needed.

        JSON patterns test the dict directly (same answer as :meth:`match` on its JSON text);
        term and space-delimited patterns read the text."""
        if self._document is not None:
            return _EMPTY if self._document(record) else None
        return self.match(message())


_EMPTY: Final = Match()


def compile_pattern(text: str, *, term_mode: str = "token") -> Pattern:
    """Parse and compile ``text``; raise :class:`PatternError` where AWS would reject it."""
    mode = _term_mode(term_mode)
    ast = parse(text)
    kind: Literal["terms", "json", "space-delimited"] = (
        "json"
        if isinstance(ast, JsonPattern)
        else "space-delimited"
        if isinstance(ast, SpacePattern)
        else "terms"
    )
    return Pattern(
        text=text,
        kind=kind,
        ast=ast,
        _matcher=compile_ast(ast, mode),
        _document=compile_document_test(ast),
    )


def _term_mode(term_mode: str) -> TermMode:
    if term_mode == "token":
        return "token"
    if term_mode == "substring":
        return "substring"
    raise ValueError(f"term_mode must be one of {', '.join(TERM_MODES)}, not {term_mode!r}")
