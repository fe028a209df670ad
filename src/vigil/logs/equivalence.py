"""Do two filter patterns mean the same thing? Structural comparison of normalised ASTs.

Both patterns are parsed with the pattern engine, so whitespace, parentheses and selector spelling
(``$.a.b`` / ``$["a"].b``) vanish. Then :func:`normalise` makes a canonical, hashable form:

* nested ``&&`` in ``&&`` (and ``||`` in ``||``) are flattened, operands become a set (order and
  duplicates do not matter), and a one-operand group is its operand;
* a value is what the matcher compares: an unquoted number is a number (``12`` = ``12.0``), any
  other quoted or unquoted value is its text (``"ConsoleLogin"`` = ``ConsoleLogin``), a regex its
  body; quoted ``"12"`` stays text, because it is compared as text (spec §1.3);
* term patterns: bare words and quoted phrases are both text; groups and their terms are sets.

Nothing else is rewritten (no distribution of ``&&`` over ``||``): equal forms mean the same
pattern; a dropped, added or changed clause gives a different form. A pattern the engine cannot
parse is the same as nothing (``same_pattern`` says False).
"""

from __future__ import annotations

from decimal import Decimal

from vigil.logs.monitoring import entry
from vigil.logs.pattern import PatternError
from vigil.logs.pattern.parser import (
    AnyTokens,
    Atom,
    BoolOp,
    Comparison,
    Field,
    IsLiteral,
    JsonExpr,
    JsonPattern,
    MatchAll,
    NotExists,
    PatternAst,
    TermPattern,
    Value,
    parse,
)

__all__ = ["canonical", "matches_cis", "normalise", "same_pattern"]

Canon = tuple[object, ...]


def _value(value: Value) -> Canon:
    if value.is_number:
        return ("number", Decimal(value.text).normalize())
    if value.kind == "regex":
        return ("regex", value.text)
    return ("text", value.text)


def _atom(atom: Atom) -> Canon:
    return ("regex", atom.text) if atom.kind == "regex" else ("text", atom.text)


def _json(node: JsonExpr) -> Canon:
    if isinstance(node, Comparison):
        return ("cmp", node.selector.steps, node.op, _value(node.value))
    if isinstance(node, IsLiteral):
        return ("is", node.selector.steps, node.literal)
    if isinstance(node, NotExists):
        return ("not-exists", node.selector.steps)
    return _bool(node)


def _bool(node: BoolOp) -> Canon:
    operands: set[Canon] = set()
    for operand in node.operands:
        form = _json(operand)
        if form[0] == node.op and isinstance(form[1], frozenset):  # flatten (a && b) && c
            operands.update(form[1])
        else:
            operands.add(form)
    if len(operands) == 1:
        return next(iter(operands))
    return (node.op, frozenset(operands))


def normalise(ast: PatternAst) -> Canon:
    """The canonical form of a parsed pattern (hashable; equal forms match the same events)."""
    if isinstance(ast, MatchAll):
        return ("all",)
    if isinstance(ast, JsonPattern):
        return ("json", _json(ast.expr))
    if isinstance(ast, TermPattern):
        groups = frozenset(
            (frozenset(_atom(a) for a in g.include), frozenset(_atom(a) for a in g.exclude))
            for g in ast.groups
        )
        return ("terms", groups)
    return ("space", tuple(_field(f) for f in ast.fields))


def _field(field: Field | AnyTokens) -> Canon:
    if isinstance(field, AnyTokens):
        return ("...",)
    alternatives = frozenset(frozenset((c.op, _value(c.value)) for c in conds) for conds in field.conditions)
    return ("field", field.name, alternatives)


def canonical(text: str) -> Canon | None:
    """The canonical form of a pattern's text, or None when the engine cannot parse it."""
    try:
        return normalise(parse(text))
    except PatternError:
        return None


def same_pattern(a: str, b: str) -> bool:
    """True when both patterns parse and differ only in spelling (spaces, quotes, parentheses, order)."""
    left = canonical(a)
    return left is not None and left == canonical(b)


def matches_cis(pattern_text: str, control: str) -> bool:
    """True when the pattern is one of the forms the monitoring pack accepts for ``control``.

    ``control`` is a pack id (``cis-5.1-unauthorized-api-calls``), a CIS v7.0 id (``5.1``) or a
    Security Hub id (``CloudWatch.2``); an unknown one is a :class:`~vigil.errors.UsageError`.
    """
    accepted = entry(control).patterns
    form = canonical(pattern_text)
    return form is not None and any(form == canonical(p) for p in accepted)
