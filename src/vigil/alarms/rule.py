"""The CloudWatch composite-alarm AlarmRule language: AST, parser, formatting and evaluation.

The language, as PutCompositeAlarm and the user guide ("Creating a composite alarm") document it:
``ALARM(x)``, ``OK(x)``, ``INSUFFICIENT_DATA(x)`` (x an alarm name or ARN, optionally in double
quotes), ``TRUE``, ``FALSE``, ``AND``, ``OR``, ``NOT``, parentheses, and ``AT_LEAST(n|p%, STATE,
(x, y, …))`` (added November 2025). Limits [DOC]: a rule is at most 10,240 characters, names at most
100 distinct child alarms and has at most 500 elements (child alarms, TRUE/FALSE, a pair of
parentheses counting as one).

Decisions where the documentation is silent (each has a test):
- precedence: NOT binds tighter than AND, AND tighter than OR (the usual Boolean order; AWS does
  not document one, so write parentheses when it matters);
- an unquoted name runs up to whitespace, ``(``, ``)``, ``,`` or ``"``; a name containing one of
  those must be quoted; inside quotes ``\\"`` and ``\\\\`` are escapes, any other backslash is literal;
- keywords are upper case only, as documented;
- ``AT_LEAST(p%, …)`` holds when matching × 100 ≥ p × listed.

Evaluation is a pure function of the children's states. A child in INSUFFICIENT_DATA only makes
``INSUFFICIENT_DATA(x)`` true (``ALARM(x)`` and ``OK(x)`` are false). A rule naming an alarm that
does not exist is an error, as PutCompositeAlarm rejects it ("Could not save the composite alarm as
alarms [x] in the alarm rule do not exist"). The composite's state machine is
:mod:`vigil.alarms.composite`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vigil.alarms.alarm import AlarmState, StateValue
from vigil.errors import UsageError

MAX_RULE_LENGTH = 10_240
MAX_CHILDREN = 100
MAX_ELEMENTS = 500

# ---------------------------------------------------------------------------------------------
# The AST.


@dataclass(frozen=True)
class StateIs:
    """``ALARM(x)`` / ``OK(x)`` / ``INSUFFICIENT_DATA(x)``: true when alarm ``x`` is in ``state``."""

    state: StateValue
    alarm: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Const:
    """``TRUE`` or ``FALSE``."""

    value: bool


@dataclass(frozen=True)
class Not:
    operand: Rule


@dataclass(frozen=True)
class And:
    operands: tuple[Rule, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Rule, ...]


@dataclass(frozen=True)
class AtLeast:
    """``AT_LEAST(threshold[%], [NOT ]STATE, (x, y, …))``."""

    threshold: int
    percent: bool
    state: StateValue
    negated: bool
    alarms: tuple[str, ...]


Rule = StateIs | Const | Not | And | Or | AtLeast


class RuleError(UsageError):
    """An AlarmRule CloudWatch would reject, with the 0-based ``position``, what was expected and found."""

    def __init__(self, *, position: int, expected: str, found: str, hint: str = "") -> None:
        self.position = position
        self.expected = expected
        self.found = found
        super().__init__(
            f"alarm rule: at column {position + 1}: expected {expected}, found {found}",
            hint=hint or "see “Creating a composite alarm” in the CloudWatch user guide",
        )


# ---------------------------------------------------------------------------------------------
# Parsing: a recursive-descent parser over the text, asking for the lexeme it expects.

_FUNCTIONS: dict[str, StateValue] = {"ALARM": "ALARM", "OK": "OK", "INSUFFICIENT_DATA": "INSUFFICIENT_DATA"}
_CONSTANTS: dict[str, bool] = {"TRUE": True, "FALSE": False}
_KEYWORDS = frozenset({*_FUNCTIONS, *_CONSTANTS, "NOT", "AND", "OR", "AT_LEAST"})
_NAME_STOP = frozenset('(),"')
_ESCAPES = frozenset('"\\')
_OPERAND = "ALARM(…), OK(…), INSUFFICIENT_DATA(…), AT_LEAST(…), TRUE, FALSE, NOT or '('"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.groups = 0  # parenthesised groups: one element each

    # -- lexemes --------------------------------------------------------------------------------

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def found(self, at: int | None = None) -> str:
        at = self.pos if at is None else at
        if at >= len(self.text):
            return "end of rule"
        end = at
        while end < len(self.text) and not self.text[end].isspace() and self.text[end] not in _NAME_STOP:
            end += 1
        lexeme = self.text[at:end] or self.text[at]
        return f"'{lexeme}'" if '"' in lexeme else f'"{lexeme}"'

    def error(self, expected: str, *, at: int | None = None, hint: str = "") -> RuleError:
        at = self.pos if at is None else at
        return RuleError(position=at, expected=expected, found=self.found(at), hint=hint)

    def peek_word(self) -> str:
        end = self.pos
        while end < len(self.text) and (self.text[end].isalpha() or self.text[end] == "_"):
            end += 1
        return self.text[self.pos : end]

    def take(self, literal: str, expected: str) -> None:
        self.skip_ws()
        if not self.text.startswith(literal, self.pos):
            raise self.error(expected)
        self.pos += len(literal)

    def name(self) -> str:
        """An alarm name or ARN: quoted (with \\" and \\\\ escapes) or a bare run."""
        self.skip_ws()
        start = self.pos
        if self.text.startswith('"', start):
            out: list[str] = []
            i = start + 1
            while i < len(self.text) and self.text[i] != '"':
                if self.text[i] == "\\" and i + 1 < len(self.text) and self.text[i + 1] in _ESCAPES:
                    i += 1
                out.append(self.text[i])
                i += 1
            if i >= len(self.text):
                raise RuleError(
                    position=start,
                    expected="a closing '\"' for the alarm name opened here",
                    found="end of rule",
                )
            self.pos = i + 1
            if not out:
                raise self.error("an alarm name or ARN between the quotes", at=start)
            return "".join(out)
        while (
            self.pos < len(self.text)
            and not self.text[self.pos].isspace()
            and self.text[self.pos] not in _NAME_STOP
        ):
            self.pos += 1
        if self.pos == start:
            raise self.error(
                "an alarm name or ARN",
                hint='quote names that contain spaces, parentheses or commas: ALARM("my alarm")',
            )
        return self.text[start : self.pos]

    # -- grammar ----------------------------------------------------------------------------------
    # rule := or END;  or := and ("OR" and)*;  and := unary ("AND" unary)*;  unary := "NOT" unary | primary

    def rule(self) -> Rule:
        node = self.or_()
        self.skip_ws()
        if self.pos < len(self.text):
            raise self.error("AND, OR or end of rule", hint=self.case_hint())
        return node

    def binary(
        self, keyword: str, operand: Callable[[], Rule], build: Callable[[tuple[Rule, ...]], Rule]
    ) -> Rule:
        operands = [operand()]
        while True:
            self.skip_ws()
            if self.peek_word() != keyword:
                break
            self.pos += len(keyword)
            operands.append(operand())
        return operands[0] if len(operands) == 1 else build(tuple(operands))

    def or_(self) -> Rule:
        return self.binary("OR", self.and_, Or)

    def and_(self) -> Rule:
        return self.binary("AND", self.unary, And)

    def unary(self) -> Rule:
        self.skip_ws()
        if self.peek_word() == "NOT":
            self.pos += 3
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Rule:
        self.skip_ws()
        start = self.pos
        if self.text.startswith("(", start):
            self.pos += 1
            self.groups += 1
            node = self.or_()
            self.take(")", "')' closing the '(' at column " + str(start + 1))
            return node
        word = self.peek_word()
        if word in _CONSTANTS:
            self.pos += len(word)
            return Const(_CONSTANTS[word])
        if word in _FUNCTIONS:
            self.pos += len(word)
            self.take("(", f"'(' after {word}")
            alarm = self.name()
            self.take(")", f"')' closing {word}(")
            return StateIs(_FUNCTIONS[word], alarm, start)
        if word == "AT_LEAST":
            self.pos += len(word)
            return self.at_least()
        raise self.error(_OPERAND, hint=self.case_hint())

    def at_least(self) -> AtLeast:
        self.take("(", "'(' after AT_LEAST")
        self.skip_ws()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            self.pos += 1
        if self.pos == start:
            raise self.error("a threshold: a count such as 2 or a percentage such as 60%")
        threshold = int(self.text[start : self.pos])
        percent = self.text.startswith("%", self.pos)
        self.pos += percent
        if threshold < 1 or (percent and threshold > 100):
            raise self.error("a count of at least 1 or a percentage from 1% to 100%", at=start)
        self.take(",", "',' after the threshold")
        self.skip_ws()
        negated = self.peek_word() == "NOT"
        if negated:
            self.pos += 3
            self.skip_ws()
        word = self.peek_word()
        if word not in _FUNCTIONS:
            raise self.error("a state: ALARM, OK or INSUFFICIENT_DATA, optionally after NOT")
        self.pos += len(word)
        self.take(",", "',' after the state")
        self.take("(", "'(' opening the list of alarms")
        self.groups += 1
        alarms = [self.name()]
        while True:
            self.skip_ws()
            if not self.text.startswith(",", self.pos):
                break
            self.pos += 1
            alarms.append(self.name())
        self.take(")", "',' or ')' closing the list of alarms")
        self.take(")", "')' closing AT_LEAST(")
        return AtLeast(threshold, percent, _FUNCTIONS[word], negated, tuple(alarms))

    def case_hint(self) -> str:
        word = self.peek_word()
        if word and word.upper() in _KEYWORDS and word not in _KEYWORDS:
            return f"functions and operators are upper case: write {word.upper()}"
        return ""


def parse_rule(text: str) -> Rule:
    """Parse an AlarmRule once into its AST; raise :class:`RuleError` (exit 2) with where and what."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(
            position=MAX_RULE_LENGTH,
            expected=f"a rule of at most {MAX_RULE_LENGTH} characters",
            found=f"{len(text)} characters",
            hint="split the rule into composites of composites",
        )
    parser = _Parser(text)
    rule = parser.rule()
    children = referenced_alarms(rule)
    if len(children) > MAX_CHILDREN:
        raise RuleError(
            position=0,
            expected=f"at most {MAX_CHILDREN} child alarms",
            found=f"{len(children)}",
            hint="group children into intermediate composite alarms",
        )
    elements = _elements(rule) + parser.groups
    if elements > MAX_ELEMENTS:
        raise RuleError(
            position=0,
            expected=f"at most {MAX_ELEMENTS} elements (child alarms, TRUE/FALSE, parentheses)",
            found=f"{elements}",
            hint="group children into intermediate composite alarms",
        )
    return rule


def _elements(rule: Rule) -> int:
    match rule:
        case StateIs() | Const():
            return 1
        case AtLeast(alarms=alarms):
            return len(alarms)
        case Not(operand=operand):
            return _elements(operand)
        case And(operands=ops) | Or(operands=ops):
            return sum(_elements(op) for op in ops)


def referenced_alarms(rule: Rule) -> tuple[str, ...]:
    """Every alarm name or ARN the rule names, as written, once each, in order of appearance."""
    out: dict[str, None] = {}

    def walk(node: Rule) -> None:
        match node:
            case StateIs(alarm=alarm):
                out.setdefault(alarm)
            case AtLeast(alarms=alarms):
                for alarm in alarms:
                    out.setdefault(alarm)
            case Not(operand=operand):
                walk(operand)
            case And(operands=ops) | Or(operands=ops):
                for op in ops:
                    walk(op)
            case Const():
                pass

    walk(rule)
    return tuple(out)


def _quote(name: str) -> str:
    if name and not any(c.isspace() or c in _NAME_STOP for c in name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_rule(rule: Rule) -> str:
    """The rule as text that parses back to the same AST (parentheses only where needed)."""

    def fmt(node: Rule, parent: int) -> str:  # parent binding: 0 top/OR, 1 AND, 2 NOT
        match node:
            case StateIs(state=state, alarm=alarm):
                return f"{state}({_quote(alarm)})"
            case Const(value=value):
                return "TRUE" if value else "FALSE"
            case AtLeast(threshold=t, percent=p, state=state, negated=neg, alarms=alarms):
                names = ", ".join(_quote(a) for a in alarms)
                return f"AT_LEAST({t}{'%' if p else ''}, {'NOT ' if neg else ''}{state}, ({names}))"
            case Not(operand=operand):
                return "NOT " + fmt(operand, 2)
            case And(operands=ops):
                text = " AND ".join(fmt(op, 1) for op in ops)
                return f"({text})" if parent > 1 else text
            case Or(operands=ops):
                text = " OR ".join(fmt(op, 0) for op in ops)
                return f"({text})" if parent > 0 else text

    return fmt(rule, 0)


# ---------------------------------------------------------------------------------------------
# Evaluation.


def alarm_name(reference: str) -> str:
    """The alarm name in a reference: the part after ``:alarm:`` of an ARN, else the reference."""
    if reference.startswith("arn:") and ":alarm:" in reference:
        return reference.split(":alarm:", 1)[1]
    return reference


def missing_alarms(rule: Rule, known: Collection[str]) -> tuple[str, ...]:
    """The references in ``rule`` that match no alarm in ``known`` (names or ARNs)."""
    names = {alarm_name(k) for k in known}
    return tuple(r for r in referenced_alarms(rule) if r not in known and alarm_name(r) not in names)


def _missing_error(missing: tuple[str, ...]) -> UsageError:
    return UsageError(
        f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm rule do not exist",
        hint="create the child alarms first, or give their states (names or ARNs)",
    )


def _resolver(children: Mapping[str, AlarmState]) -> Callable[[str], AlarmState]:
    by_name = {alarm_name(k): v for k, v in children.items()}

    def state_of(reference: str) -> AlarmState:
        found = children.get(reference) or by_name.get(alarm_name(reference))
        if found is None:
            raise _missing_error((reference,))
        return found

    return state_of


def _holds(node: Rule, state_of: Callable[[str], AlarmState]) -> bool:
    match node:
        case StateIs(state=state, alarm=alarm):
            return state_of(alarm).value == state
        case Const(value=value):
            return value
        case Not(operand=operand):
            return not _holds(operand, state_of)
        case And(operands=ops):
            return all(_holds(op, state_of) for op in ops)
        case Or(operands=ops):
            return any(_holds(op, state_of) for op in ops)
        case AtLeast(threshold=t, percent=p, state=state, negated=neg, alarms=alarms):
            matching = sum((state_of(a).value == state) != neg for a in alarms)
            return matching * 100 >= t * len(alarms) if p else matching >= t


def evaluate_rule(rule: Rule, children: Mapping[str, StateValue | AlarmState]) -> bool:
    """Whether the rule holds for these child states (keyed by name or ARN; a rule may use either)."""
    states = {
        k: v if isinstance(v, AlarmState) else AlarmState(v, "", datetime.min.replace(tzinfo=UTC))
        for k, v in children.items()
    }
    missing = missing_alarms(rule, states)
    if missing:
        raise _missing_error(missing)
    return _holds(rule, _resolver(states))


def triggering_alarms(rule: Rule, state_of: Callable[[str], AlarmState], want: bool) -> tuple[str, ...]:
    """The references whose states make ``rule`` evaluate to ``want`` (AWS's ``triggeringAlarms``).

    ALARM lists the children satisfying the terms that hold; OK lists those that keep the rule false.
    """
    out: dict[str, None] = {}

    def walk(node: Rule, goal: bool) -> None:
        match node:
            case StateIs(state=state, alarm=alarm):
                if (state_of(alarm).value == state) == goal:
                    out.setdefault(alarm)
            case Not(operand=operand):
                walk(operand, not goal)
            case And(operands=ops) | Or(operands=ops):
                for op in ops:
                    if _holds(op, state_of) == goal:
                        walk(op, goal)
            case AtLeast(state=state, negated=neg, alarms=alarms):
                for alarm in alarms:
                    if ((state_of(alarm).value == state) != neg) == goal:
                        out.setdefault(alarm)
            case Const():
                pass

    walk(rule, want)
    return tuple(out)
