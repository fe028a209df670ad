"""AST → matcher closures, built once per pattern (spec §1.2–1.5).

A compiled pattern is a function ``message -> extracted fields | None``: ``None`` means no match,
a dict (often empty) means a match. JSON events are parsed with their number lexemes kept
(:class:`JsonNumber`), because AWS compares ``=`` operands against the number *as written*
(``12.0`` is not ``"12"``, §1.3).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

import orjson

from vigil.logs.pattern.lexer import WORD_CHARS, PatternError, is_number
from vigil.logs.pattern.parser import (
    AnyTokens,
    Atom,
    BoolOp,
    Comparison,
    Field,
    FieldCondition,
    IsLiteral,
    JsonExpr,
    JsonPattern,
    MatchAll,
    NotExists,
    PatternAst,
    Selector,
    SpacePattern,
    TermGroup,
    TermPattern,
    Value,
)

TermMode = Literal["token", "substring"]
TERM_MODES: Final = ("token", "substring")

Matcher = Callable[[str], dict[str, str] | None]
TextTest = Callable[[str], bool]

RELATIONAL: Final[dict[str, Callable[[Decimal, Decimal], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_WORD_CLASS: Final = "[A-Za-z0-9_]"


@dataclass(frozen=True)
class JsonNumber:
    """A JSON number kept as its source lexeme (``12.0``, ``1e3``)."""

    text: str


class _Missing:
    """The value of a selector whose path does not exist in the event."""


MISSING: Final = _Missing()


def number_text(value: object) -> str | None:
    """A JSON number's text, whether kept as a lexeme or parsed by orjson (int/float); else None.

    Events on the pipeline are orjson-parsed dicts; a CloudTrail record delivered to a log group is
    its orjson serialisation, so orjson's text for a float is the text AWS would have matched."""
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    return None


def compile_ast(ast: PatternAst, term_mode: TermMode) -> Matcher:
    if isinstance(ast, MatchAll):
        return lambda message: {}
    if isinstance(ast, TermPattern):
        return _compile_terms(ast, term_mode)
    if isinstance(ast, JsonPattern):
        return _compile_json(ast)
    return _compile_space_delimited(ast)


# ---------------------------------------------------------------------------------------- shared


def wildcard_match(pattern: str, value: str) -> bool:
    """AWS's ``*`` matching: each literal segment at its leftmost place, no backtracking (§1.3).

    Without a leading ``*`` the first segment must start the value; without a trailing ``*`` the
    leftmost occurrence of the last segment must end the value. This reproduces the observed
    quirks: ``*111.111.111`` does not match ``111.111.111.111`` while ``*.111.111.111`` does.
    """
    if "*" not in pattern:
        return pattern == value
    segments = pattern.split("*")
    first, middle, last = segments[0], segments[1:-1], segments[-1]
    if not value.startswith(first):
        return False
    pos = len(first)
    for segment in middle:
        found = value.find(segment, pos)
        if found < 0:
            return False
        pos = found + len(segment)
    if not last:
        return True
    found = value.find(last, pos)
    return found >= 0 and found + len(last) == len(value)


def compile_regex(body: str, pos: int) -> re.Pattern[str]:
    """Compile a validated ``%body%`` (ASCII classes; ``search`` semantics, §1.5)."""
    try:
        return re.compile(body, re.ASCII)
    except re.error as err:
        offset = err.pos if err.pos is not None else 0
        raise PatternError(
            position=pos + 1 + offset,
            expected="a valid regular expression",
            found=f'"{body[offset]}"' if offset < len(body) else "end of regular expression",
            hint=err.msg,
        ) from err


def _number(text: str) -> Decimal | None:
    if not is_number(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


# ---------------------------------------------------------------------------------------- terms


def _compile_atom(atom: Atom, term_mode: TermMode) -> TextTest:
    if atom.kind == "regex":
        regex_search = compile_regex(atom.text, atom.pos).search
        return lambda message: regex_search(message) is not None
    text = atom.text
    if term_mode == "substring" or not text:
        return lambda message: text in message
    # Token mode: a term edge that is a word character must sit on a word boundary (§1.2 [AMBIG]).
    left = f"(?<!{_WORD_CLASS})" if text[0] in WORD_CHARS else ""
    right = f"(?!{_WORD_CLASS})" if text[-1] in WORD_CHARS else ""
    search = re.compile(left + re.escape(text) + right).search
    # the plain containment test first: far cheaper, and a token match needs the text anyway
    return lambda message: text in message and search(message) is not None


def _compile_group(group: TermGroup, term_mode: TermMode) -> TextTest:
    include = [_compile_atom(atom, term_mode) for atom in group.include]
    exclude = [_compile_atom(atom, term_mode) for atom in group.exclude]
    return lambda message: (
        all(test(message) for test in include) and not any(test(message) for test in exclude)
    )


def _compile_terms(ast: TermPattern, term_mode: TermMode) -> Matcher:
    groups = [_compile_group(group, term_mode) for group in ast.groups]

    def match(message: str) -> dict[str, str] | None:
        return {} if any(group(message) for group in groups) else None

    return match


# ---------------------------------------------------------------------------------------- JSON


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_event(message: str) -> dict[str, object] | None:
    """The event as a JSON object with number lexemes kept, or None when it is not one."""
    try:
        document = json.loads(
            message, parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
        return None
    return document if isinstance(document, dict) else None


def resolve(document: object, selector: Selector) -> object:
    """The value at ``selector`` in a parsed event, or :data:`MISSING`."""
    current = document
    for step in selector.steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return MISSING
            current = current[step]
    return current


def resolver(selector: Selector) -> Callable[[object], object]:
    """``resolve`` specialised for one selector: plain key lookups unrolled for one to three keys."""
    steps = selector.steps
    if not steps or not all(isinstance(step, str) for step in steps) or len(steps) > 3:
        return lambda document: resolve(document, selector)
    if len(steps) == 1:
        (a,) = steps

        def one(d: object) -> object:
            return d.get(a, MISSING) if isinstance(d, dict) else MISSING

        return one
    if len(steps) == 2:
        a, b = steps

        def two(d: object) -> object:
            d = d.get(a, MISSING) if isinstance(d, dict) else MISSING
            return d.get(b, MISSING) if isinstance(d, dict) else MISSING

        return two
    a, b, c = steps

    def three(d: object) -> object:
        d = d.get(a, MISSING) if isinstance(d, dict) else MISSING
        d = d.get(b, MISSING) if isinstance(d, dict) else MISSING
        return d.get(c, MISSING) if isinstance(d, dict) else MISSING

    return three


def _scalar_text(target: object) -> str:
    if isinstance(target, bool):
        return "true" if target else "false"
    if isinstance(target, str):
        return target
    return number_text(target) or ""


def _json_equals(value: Value) -> Callable[[object], bool]:
    """§1.3 step 3: numeric equality for an unquoted number, else wildcard test on the source text."""
    if value.kind == "regex":
        search = compile_regex(value.text, value.pos).search
        return lambda target: search(_scalar_text(target)) is not None
    number = _number(value.text) if value.is_number else None
    if number is not None:

        def numeric(target: object) -> bool:
            text = number_text(target)
            return text is not None and Decimal(text) == number

        return numeric
    text = value.text
    if "*" not in text:  # the common case: exact text
        return lambda target: (target if type(target) is str else _scalar_text(target)) == text
    if text.endswith("*") and "*" not in text[:-1]:  # prefix*: the first segment must start the value
        prefix = text[:-1]
        return lambda target: (target if type(target) is str else _scalar_text(target)).startswith(prefix)
    return lambda target: wildcard_match(text, _scalar_text(target))


def _compile_comparison(node: Comparison) -> Callable[[object], bool]:
    get = resolver(node.selector)
    if node.op in RELATIONAL:
        compare = RELATIONAL[node.op]
        operand = Decimal(node.value.text)

        def relational(document: object) -> bool:
            text = number_text(get(document))
            return text is not None and compare(Decimal(text), operand)

        return relational
    equals = _json_equals(node.value)
    negate = node.op == "!="

    def equality(document: object) -> bool:
        target = get(document)
        # Step 1: missing, null, object and array targets never satisfy a comparison, not even !=.
        if type(target) is not str and not isinstance(target, JsonNumber | bool | int | float):
            return False
        return equals(target) != negate

    return equality


def _all_of(tests: list[Callable[[object], bool]]) -> Callable[[object], bool]:
    if len(tests) == 2:
        a, b = tests
        return lambda document: a(document) and b(document)

    def every(document: object) -> bool:
        for test in tests:  # noqa: SIM110 (a loop: no generator object per call on the hot path)
            if not test(document):
                return False
        return True

    return every


def _any_of(tests: list[Callable[[object], bool]]) -> Callable[[object], bool]:
    if len(tests) == 2:
        a, b = tests
        return lambda document: a(document) or b(document)

    def some(document: object) -> bool:
        for test in tests:  # noqa: SIM110 (a loop: no generator object per call on the hot path)
            if test(document):
                return True
        return False

    return some


def _compile_json_expr(node: JsonExpr) -> Callable[[object], bool]:
    if isinstance(node, BoolOp):
        operands = [_compile_json_expr(operand) for operand in node.operands]
        return _all_of(operands) if node.op == "&&" else _any_of(operands)
    if isinstance(node, NotExists):
        get = resolver(node.selector)
        return lambda document: get(document) is MISSING
    if isinstance(node, IsLiteral):
        get = resolver(node.selector)
        expected = {"NULL": None, "TRUE": True, "FALSE": False}[node.literal]
        return lambda document: get(document) is expected
    return _compile_comparison(node)


def _compile_json(ast: JsonPattern) -> Matcher:
    test = _compile_json_expr(ast.expr)

    def match(message: str) -> dict[str, str] | None:
        document = parse_json_event(message)
        return {} if document is not None and test(document) else None

    return match


def compile_document_test(ast: PatternAst) -> Callable[[object], bool] | None:
    """For JSON patterns (and the match-all pattern), a test on an already-parsed event; else None.

    The pipeline parses each record once with orjson and runs every JSON filter on the dict, so
    JSON filters never re-parse the message."""
    if isinstance(ast, MatchAll):
        return lambda document: True
    if isinstance(ast, JsonPattern):
        return _compile_json_expr(ast.expr)
    return None


# ---------------------------------------------------------------------------------------- space-delimited


def split_fields(message: str) -> list[str]:
    """Tokens separated by runs of spaces; ``[...]`` and ``"..."`` are one token, delimiters stripped (§1.4)."""
    tokens: list[str] = []
    pos, end = 0, len(message)
    while pos < end:
        if message[pos] == " ":
            pos += 1
            continue
        closer = {"[": "]", '"': '"'}.get(message[pos])
        if closer is not None:
            close = message.find(closer, pos + 1)
            if close >= 0:
                tokens.append(message[pos + 1 : close])
                pos = close + 1
                continue
        stop = message.find(" ", pos)
        stop = end if stop < 0 else stop
        tokens.append(message[pos:stop])
        pos = stop
    return tokens


def _compile_field_condition(cond: FieldCondition) -> TextTest:
    value = cond.value
    if cond.op in RELATIONAL:
        compare = RELATIONAL[cond.op]
        operand = Decimal(value.text)

        def relational(token: str) -> bool:
            number = _number(token)
            return number is not None and compare(number, operand)

        return relational
    negate = cond.op == "!="
    if value.kind == "regex":
        search = compile_regex(value.text, value.pos).search
        return lambda token: (search(token) is not None) != negate
    operand_number = _number(value.text) if value.is_number else None
    text = value.text

    def equality(token: str) -> bool:
        token_number = _number(token) if operand_number is not None else None
        if token_number is not None:  # numeric only when both sides are numbers (§1.4)
            return (token_number == operand_number) != negate
        return wildcard_match(text, token) != negate

    return equality


def _compile_field(field: Field) -> TextTest:
    alternatives = [[_compile_field_condition(cond) for cond in conds] for conds in field.conditions]
    if not alternatives:
        return lambda token: True
    return lambda token: any(all(test(token) for test in conds) for conds in alternatives)


def _compile_space_delimited(ast: SpacePattern) -> Matcher:
    split = next((i for i, field in enumerate(ast.fields) if isinstance(field, AnyTokens)), None)
    head = [field for field in ast.fields[:split] if isinstance(field, Field)]
    tail = (
        [field for field in ast.fields[split + 1 :] if isinstance(field, Field)] if split is not None else []
    )
    head_tests = [(field.name, _compile_field(field)) for field in head]
    tail_tests = [(field.name, _compile_field(field)) for field in tail]

    def match(message: str) -> dict[str, str] | None:
        tokens = split_fields(message)
        if split is None and len(tokens) != len(head_tests):
            return None
        if len(tokens) < len(head_tests) + len(tail_tests):
            return None
        placed = list(zip(head_tests, tokens, strict=False))
        if tail_tests:
            placed += list(zip(tail_tests, tokens[len(tokens) - len(tail_tests) :], strict=True))
        extracted: dict[str, str] = {}
        for (name, test), token in placed:
            if not test(token):
                return None
            extracted[f"${name}"] = token
        return extracted

    return match
