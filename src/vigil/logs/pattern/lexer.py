"""Character-level scanning shared by the three filter-pattern families (spec §1.2–1.5).

The pattern language is context sensitive (an unquoted value may contain ``.`` and ``*``, a
bareword may contain almost anything), so instead of one token stream the parser drives a
:class:`Scanner` and asks for the lexeme it expects at each point. Every failure becomes a
:class:`PatternError` that says where (0-based ``position``), what was expected and what was found.
"""

from __future__ import annotations

import re
from typing import Final

OPERATORS: Final = ("<=", ">=", "!=", "=", "<", ">")  # two-character operators first
RELATIONAL_OPERATORS: Final = frozenset({"<", "<=", ">", ">="})
OPERATOR_HINT: Final = "an operator (= != < <= > >=)"

NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
NUMBER_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
WORD_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

# §1.5: the only characters AWS accepts between the two '%' of a regular expression.
REGEX_ALPHABET: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + ":_#=@/;,-" + "^$?[]{}|\\*+."
)
REGEX_ALPHABET_HINT: Final = (
    r"a regex character (letters, digits, : _ # = @ / ; , - or ^ $ ? [ ] { } | \ * + .)"
)


class PatternError(ValueError):
    """A filter pattern AWS would reject (InvalidParameterException), with where and why."""

    def __init__(self, *, position: int, expected: str, found: str, hint: str = "") -> None:
        self.position = position
        self.expected = expected
        self.found = found
        self.hint = hint
        message = f"filter pattern: at column {position + 1}: expected {expected}, found {found}"
        super().__init__(f"{message} ({hint})" if hint else message)


class Scanner:
    """A cursor over the pattern text; every ``read_*`` consumes one lexeme or raises."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def startswith(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def skip_ws(self) -> int:
        """Skip whitespace and return how much was skipped."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos - start

    def found(self, pos: int | None = None) -> str:
        at = self.pos if pos is None else pos
        if at >= len(self.text):
            return "end of pattern"
        word = NAME_RE.match(self.text, at)
        lexeme = word.group() if word else self.text[at]
        return f"'{lexeme}'" if '"' in lexeme else f'"{lexeme}"'

    def error(self, expected: str, *, pos: int | None = None, hint: str = "") -> PatternError:
        at = self.pos if pos is None else pos
        return PatternError(position=at, expected=expected, found=self.found(at), hint=hint)

    def expect(self, literal: str, expected: str) -> None:
        if not self.startswith(literal):
            raise self.error(expected)
        self.pos += len(literal)

    def read_name(self, expected: str) -> str:
        match = NAME_RE.match(self.text, self.pos)
        if match is None:
            raise self.error(expected)
        self.pos = match.end()
        return match.group()

    def read_alpha_word(self) -> str:
        """A run of ASCII letters (a keyword such as IS, NOT, NULL); empty when none."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isascii() and self.text[self.pos].isalpha():
            self.pos += 1
        return self.text[start : self.pos]

    def read_operator(self) -> str | None:
        for op in OPERATORS:
            if self.startswith(op):
                self.pos += len(op)
                return op
        return None

    def read_quoted(self) -> str:
        """A double-quoted string at the cursor; ``\\"`` stands for a quote, other backslashes are literal."""
        start = self.pos
        self.expect('"', "'\"'")
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.text.startswith('"', self.pos + 1):
                out.append('"')
                self.pos += 2
            elif ch == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(ch)
                self.pos += 1
        raise self.error("a closing '\"'", hint=f"the string opened at column {start + 1} is not closed")

    def read_regex(self) -> str:
        """A ``%body%`` regular expression; the body is checked against the §1.5 alphabet."""
        start = self.pos
        self.expect("%", "'%'")
        body_start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != "%":
            if self.text[self.pos] not in REGEX_ALPHABET:
                hint = "parentheses are not supported" if self.text[self.pos] in "()" else ""
                raise self.error(REGEX_ALPHABET_HINT, hint=hint)
            self.pos += 1
        if self.at_end():
            raise self.error("a closing '%'", hint=f"the regular expression opened at column {start + 1}")
        body = self.text[body_start : self.pos]
        if not body:
            raise self.error("a regular expression between the two '%'")
        self.pos += 1
        return body

    def read_unquoted(self, stops: frozenset[str]) -> str:
        """An unquoted value: up to a stop character, ``&&`` or ``||``; inner spaces kept, trailing trimmed.

        Inner spaces are accepted because CIS 4.0+ publishes values such as
        ``$.errorMessage = Failed authentication`` (spec §2.2) that a checker must still read.
        """
        start = self.pos
        while self.pos < len(self.text):
            if self.text[self.pos] in stops or self.startswith("&&") or self.startswith("||"):
                break
            self.pos += 1
        return self.text[start : self.pos].rstrip()

    def read_bareword(self) -> str:
        """A term: everything up to whitespace or a double quote."""
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace() and self.text[self.pos] != '"':
            self.pos += 1
        return self.text[start : self.pos]


def is_number(text: str) -> bool:
    """True for a number literal (sign, decimals and exponent allowed, as in ``1e-3``)."""
    return NUMBER_RE.fullmatch(text) is not None
