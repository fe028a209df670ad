"""Filter-pattern text → AST (frozen dataclasses), for the grammars of spec §1.2–1.4.

The family is chosen by the first non-blank character: ``{`` JSON, ``[`` space-delimited,
anything else a term pattern. Everything AWS would reject is rejected here, so compiling
and matching never fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from vigil.logs.pattern.lexer import (
    OPERATOR_HINT,
    RELATIONAL_OPERATORS,
    PatternError,
    Scanner,
    is_number,
)

MAX_PATTERN_LENGTH: Final = 1024  # §1.1
MAX_REGEXES: Final = 2  # §1.1: per JSON or space-delimited pattern

JSON_VALUE_STOPS: Final = frozenset('(){}"=<>!')
SD_VALUE_STOPS: Final = frozenset('(){}[]",=<>!')

# ---------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Value:
    """A comparison operand as written: ``"quoted"``, ``unquoted`` (may hold ``*``) or ``%regex%``."""

    kind: Literal["quoted", "unquoted", "regex"]
    text: str
    pos: int

    @property
    def is_number(self) -> bool:
        """An unquoted number literal without wildcard: compared numerically (§1.3 step 3)."""
        return self.kind == "unquoted" and is_number(self.text)


@dataclass(frozen=True)
class Atom:
    kind: Literal["word", "phrase", "regex"]
    text: str
    pos: int


@dataclass(frozen=True)
class TermGroup:
    """Terms that must all occur (``include``) while none of ``exclude`` does."""

    include: tuple[Atom, ...]
    exclude: tuple[Atom, ...]


@dataclass(frozen=True)
class TermPattern:
    """An OR of AND-groups; a pattern without ``?`` has exactly one group (§1.2)."""

    groups: tuple[TermGroup, ...]


@dataclass(frozen=True)
class MatchAll:
    """``""`` and ``" "``: every event matches (§1.1)."""


@dataclass(frozen=True)
class Selector:
    steps: tuple[str | int, ...]
    text: str
    pos: int


@dataclass(frozen=True)
class Comparison:
    selector: Selector
    op: str
    value: Value


@dataclass(frozen=True)
class IsLiteral:
    selector: Selector
    literal: Literal["NULL", "TRUE", "FALSE"]


@dataclass(frozen=True)
class NotExists:
    selector: Selector


@dataclass(frozen=True)
class BoolOp:
    op: Literal["&&", "||"]
    operands: tuple[JsonExpr, ...]


JsonExpr = Comparison | IsLiteral | NotExists | BoolOp


@dataclass(frozen=True)
class JsonPattern:
    expr: JsonExpr


@dataclass(frozen=True)
class FieldCondition:
    op: str
    value: Value


@dataclass(frozen=True)
class Field:
    """One slot of a space-delimited pattern; ``conditions`` is an OR of AND-lists (empty: any token)."""

    name: str
    conditions: tuple[tuple[FieldCondition, ...], ...]


@dataclass(frozen=True)
class AnyTokens:
    """``...``: any number (0..n) of unnamed tokens."""

    pos: int


@dataclass(frozen=True)
class SpacePattern:
    fields: tuple[Field | AnyTokens, ...]


PatternAst = TermPattern | MatchAll | JsonPattern | SpacePattern

# ---------------------------------------------------------------------------------------- entry


def parse(text: str) -> PatternAst:
    """Parse a whole filter pattern, choosing the family by its first non-blank character."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            position=MAX_PATTERN_LENGTH,
            expected=f"at most {MAX_PATTERN_LENGTH} characters",
            found=f"{len(text)} characters",
        )
    scanner = Scanner(text)
    scanner.skip_ws()
    first = scanner.peek()
    if first == "{":
        ast: PatternAst = _parse_json(scanner)
    elif first == "[":
        ast = _parse_space_delimited(scanner)
    else:
        return _parse_terms(scanner)
    scanner.skip_ws()
    if not scanner.at_end():
        raise scanner.error("end of pattern")
    _check_regex_quota(ast)
    return ast


def _check_regex_quota(ast: PatternAst) -> None:
    regexes = [value for value in _values(ast) if value.kind == "regex"]
    if len(regexes) > MAX_REGEXES:
        raise PatternError(
            position=regexes[MAX_REGEXES].pos,
            expected=f"at most {MAX_REGEXES} regular expressions in one JSON or space-delimited pattern",
            found=f"{len(regexes)}",
        )


def _values(node: PatternAst | JsonExpr) -> list[Value]:
    if isinstance(node, JsonPattern):
        return _values(node.expr)
    if isinstance(node, BoolOp):
        return [value for operand in node.operands for value in _values(operand)]
    if isinstance(node, Comparison):
        return [node.value]
    if isinstance(node, SpacePattern):
        return [
            cond.value
            for field in node.fields
            if isinstance(field, Field)
            for alternative in field.conditions
            for cond in alternative
        ]
    return []


# ---------------------------------------------------------------------------------------- terms


def _parse_terms(s: Scanner) -> TermPattern | MatchAll:
    stripped = s.text.strip()
    if stripped in ("", '" "'):
        return MatchAll()
    terms: list[tuple[str, Atom]] = []
    while True:
        s.skip_ws()
        if s.at_end():
            break
        prefix = ""
        if s.peek() in ("?", "-"):
            prefix = s.peek()
            s.pos += 1
            if s.at_end() or s.peek().isspace() or s.peek() in ("?", "-"):
                raise s.error(f"a term after '{prefix}'")
        terms.append((prefix, _parse_atom(s)))
        if not s.at_end() and not s.peek().isspace():
            raise s.error("whitespace between terms", hint="quote a phrase that contains '\"'")
    return TermPattern(groups=_group_terms(terms))


def _parse_atom(s: Scanner) -> Atom:
    start = s.pos
    if s.peek() == '"':
        return Atom("phrase", s.read_quoted(), start)
    if s.peek() == "%":
        return Atom("regex", s.read_regex(), start)
    return Atom("word", s.read_bareword(), start)


def _group_terms(terms: list[tuple[str, Atom]]) -> tuple[TermGroup, ...]:
    """Split into AND-groups: each ``?`` term opens a group that runs over the following terms.

    This is the reading the AWS CDK's ``anyTermGroup`` relies on (spec §1.2 [AMBIG]). Plain terms
    before the first ``?`` cannot be read unambiguously, so they are rejected.
    """
    uses_or = any(prefix == "?" for prefix, _ in terms)
    if uses_or and terms[0][0] != "?":
        raise PatternError(
            position=terms[0][1].pos,
            expected="'?' before the first term",
            found=f'"{terms[0][1].text}"' if terms[0][1].text else "a term without '?'",
            hint="in a pattern that uses '?', every OR-group starts with a '?' term",
        )
    groups: list[tuple[list[Atom], list[Atom]]] = []
    for prefix, atom in terms:
        if prefix == "?" or not groups:
            groups.append(([], []))
        include, exclude = groups[-1]
        (exclude if prefix == "-" else include).append(atom)
    return tuple(TermGroup(tuple(include), tuple(exclude)) for include, exclude in groups)


# ---------------------------------------------------------------------------------------- JSON


def _parse_json(s: Scanner) -> JsonPattern:
    s.expect("{", "'{'")
    expr = _parse_or(s)
    s.skip_ws()
    s.expect("}", "'&&', '||' or '}'")
    return JsonPattern(expr)


def _parse_or(s: Scanner) -> JsonExpr:
    operands = [_parse_and(s)]
    while True:
        s.skip_ws()
        if not s.startswith("||"):
            break
        s.pos += 2
        operands.append(_parse_and(s))
    return operands[0] if len(operands) == 1 else BoolOp("||", tuple(operands))


def _parse_and(s: Scanner) -> JsonExpr:
    operands = [_parse_primary(s)]
    while True:
        s.skip_ws()
        if not s.startswith("&&"):
            break
        s.pos += 2
        operands.append(_parse_primary(s))
    return operands[0] if len(operands) == 1 else BoolOp("&&", tuple(operands))


def _parse_primary(s: Scanner) -> JsonExpr:
    s.skip_ws()
    if s.peek() == "(":
        s.pos += 1
        expr = _parse_or(s)
        s.skip_ws()
        s.expect(")", "'&&', '||' or ')'")
        return expr
    if s.peek() == "$":
        return _parse_condition(s)
    raise s.error("a selector ($.field) or '('")


def _parse_selector(s: Scanner) -> Selector:
    start = s.pos
    s.expect("$", "'$'")
    steps: list[str | int] = []
    while s.peek() in (".", "["):
        if s.peek() == ".":
            s.pos += 1
            if s.peek() in (".", "*"):
                raise s.error("a field name", hint="recursive descent '..' and '.*' are not supported")
            steps.append(s.read_name("a field name ([A-Za-z0-9_-])"))
            continue
        s.pos += 1
        if s.peek() == '"':
            steps.append(s.read_quoted())
        else:
            digits = s.pos
            while s.peek().isdigit() and s.peek().isascii():
                s.pos += 1
            if digits == s.pos:
                raise s.error(
                    "an array index such as [0]", hint="'[*]', slices and filters are not supported"
                )
            steps.append(int(s.text[digits : s.pos]))
        s.expect("]", "']'")
    if not steps:
        raise s.error("'.' or '[' after '$'")
    return Selector(tuple(steps), s.text[start : s.pos], start)


def _parse_condition(s: Scanner) -> JsonExpr:
    selector = _parse_selector(s)
    s.skip_ws()
    keyword_pos = s.pos
    keyword = s.read_alpha_word()
    if keyword == "IS":
        s.skip_ws()
        literal_pos = s.pos
        literal = s.read_alpha_word()
        if literal == "NULL":
            return IsLiteral(selector, "NULL")
        if literal == "TRUE":
            return IsLiteral(selector, "TRUE")
        if literal == "FALSE":
            return IsLiteral(selector, "FALSE")
        hint = "IS NOT is not supported; use NOT EXISTS or != instead" if literal == "NOT" else ""
        raise s.error("NULL, TRUE or FALSE after IS", pos=literal_pos, hint=hint)
    if keyword == "NOT":
        s.skip_ws()
        exists_pos = s.pos
        if s.read_alpha_word() != "EXISTS":
            raise s.error("EXISTS after NOT", pos=exists_pos)
        return NotExists(selector)
    if keyword:
        hint = 'EXISTS is not supported; use $.field = "*"' if keyword == "EXISTS" else ""
        raise s.error(f"{OPERATOR_HINT}, IS or NOT EXISTS", pos=keyword_pos, hint=hint)
    op = s.read_operator()
    if op is None:
        raise s.error(OPERATOR_HINT)
    s.skip_ws()
    value = _parse_value(s, JSON_VALUE_STOPS)
    _check_relational(op, value, s)
    return Comparison(selector, op, value)


def _parse_value(s: Scanner, stops: frozenset[str]) -> Value:
    start = s.pos
    if s.peek() == '"':
        return Value("quoted", s.read_quoted(), start)
    if s.peek() == "%":
        return Value("regex", s.read_regex(), start)
    text = s.read_unquoted(stops)
    if not text:
        raise s.error("a value (a quoted string, a number, a word or a %regex%)", pos=start)
    return Value("unquoted", text, start)


def _check_relational(op: str, value: Value, s: Scanner) -> None:
    """``< <= > >=`` take an unquoted number only; anything else is INVALID (§1.3, [AWS-OBS])."""
    if op in RELATIONAL_OPERATORS and not value.is_number:
        raise PatternError(
            position=value.pos,
            expected=f"an unquoted number after '{op}'",
            found=s.found(value.pos) if value.kind != "unquoted" else f'"{value.text}"',
            hint="relational operators compare numbers only",
        )


# ---------------------------------------------------------------------------------------- space-delimited


def _parse_space_delimited(s: Scanner) -> SpacePattern:
    s.expect("[", "'['")
    fields: list[Field | AnyTokens] = []
    names: set[str] = set()
    while True:
        s.skip_ws()
        if s.startswith("..."):
            if any(isinstance(field, AnyTokens) for field in fields):
                raise s.error("a field name", hint="at most one '...' per pattern")
            fields.append(AnyTokens(s.pos))
            s.pos += 3
        else:
            name_pos = s.pos
            field = _parse_field(s)
            if field.name in names:
                raise s.error("a new field name", pos=name_pos, hint=f"'{field.name}' is already used")
            names.add(field.name)
            fields.append(field)
        s.skip_ws()
        if s.peek() == "]":
            s.pos += 1
            return SpacePattern(tuple(fields))
        s.expect(",", "',' or ']'")


def _parse_field(s: Scanner) -> Field:
    name = s.read_name("a field name ([A-Za-z0-9_-]) or '...'")
    s.skip_ws()
    if s.peek() in (",", "]", ""):
        return Field(name, ())
    alternatives: list[list[FieldCondition]] = [[_parse_field_condition(s)]]
    while True:
        s.skip_ws()
        if s.startswith("&&"):
            s.pos += 2
            alternatives[-1].append(_parse_field_condition(s, name))
        elif s.startswith("||"):
            s.pos += 2
            alternatives.append([_parse_field_condition(s, name)])
        else:
            return Field(name, tuple(tuple(conds) for conds in alternatives))


def _parse_field_condition(s: Scanner, name: str | None = None) -> FieldCondition:
    """``op value``; after ``&&``/``||`` the slot's own name must be repeated (§1.4)."""
    if name is not None:
        s.skip_ws()
        name_pos = s.pos
        again = s.read_name(f"the field name '{name}'")
        if again != name:
            raise s.error(
                f"the field name '{name}'",
                pos=name_pos,
                hint="conditions joined by && or || in one field may only test that field",
            )
        s.skip_ws()
    op = s.read_operator()
    if op is None:
        raise s.error(f"{OPERATOR_HINT}, ',' or ']'")
    s.skip_ws()
    value = _parse_value(s, SD_VALUE_STOPS)
    _check_relational(op, value, s)
    return FieldCondition(op, value)
