"""Loading rule packs from YAML: every problem in every file, each with file:line and a hint.

A pack file::

    pack: aws-config-managed            # the pack's name
    description: …
    rules:
      - id: restricted-ssh              # AWS Config's rule name where one exists
        aws_identifier: INCOMING_SSH_DISABLED
        title: …
        rationale: …
        resource_types: [AWS::EC2::SecurityGroup]
        trigger: [change, periodic]     # or one of them
        frequency: 24h                  # 1h 3h 6h 12h 24h (periodic)
        severity: high                  # informational low medium high critical
        parameters: {ports: {type: list, default: [22], description: …}}
        scope: {tag_key: env, tag_value: prod, resource_ids: […]}
        applies_when: <condition>       # false → NOT_APPLICABLE
        condition: <condition>          # or  check: <name in CHECKS>
        remediation: {text: …, action: revoke-ingress}
        controls: [cis-aws-7.0:5.3, fsbp:EC2.13]
        examples:
          - expect: NON_COMPLIANT
            ci: {configuration: {…}}    # merged over a minimal CI of the first resource type
            params: {…}                 # optional parameter values
            related: [ {CI}, … ]        # optional CIs the example's relationships point at

Nothing half-loads: ``load`` returns every rule of every file, or raises ``RulesError`` with all
problems. Later packs override earlier ones by id (user packs over the built-in ones); two rules
with one id in the same pack are an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vigil.errors import Problem, UsageError
from vigil.rules.checks import CHECKS
from vigil.rules.conditions import PARAMETER_TYPES, Compiler, read_parameter
from vigil.rules.spec import (
    COMPLIANCE_TYPES,
    FREQUENCIES,
    SEVERITIES,
    TRIGGERS,
    Example,
    Parameter,
    Remediation,
    Rule,
    Scope,
)
from vigil.yamlsrc import Lines, line_of, parse

RULE_FIELDS = {
    "id",
    "aws_identifier",
    "title",
    "rationale",
    "resource_types",
    "trigger",
    "frequency",
    "severity",
    "parameters",
    "scope",
    "applies_when",
    "condition",
    "check",
    "remediation",
    "controls",
    "examples",
}


class RulesError(UsageError):
    """Rule packs are invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{len(problems)} {noun} in the rule packs\n{body}",
            hint="fix the lines above, then run `vigil rules validate`",
        )


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    packs: tuple[str, ...]
    overridden: tuple[str, ...] = ()  # ids a later pack replaced

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def builtin_pack_files() -> list[Path]:
    folder = resources.files("vigil.rules") / "packs"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def pack_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(
                Problem(str(path), "no such file or directory", "give a pack file or a directory of them")
            )
    return files, problems


def load(
    paths: Sequence[str | Path] = (), *, builtin: bool = True, known_types: Iterable[str] | None = None
) -> RuleSet:
    """The built-in packs (unless ``builtin`` is false), then the packs at ``paths`` in order."""
    files = builtin_pack_files() if builtin else []
    extra, problems = pack_files(paths)
    files += extra
    types = set(known_types) if known_types is not None else None
    by_id: dict[str, Rule] = {}
    overridden: list[str] = []
    packs: list[str] = []
    for file in files:
        pack, rules, found = load_file(file, types)
        problems += found
        packs.append(pack)
        for rule in rules:
            if rule.id in by_id:
                overridden.append(rule.id)
            by_id[rule.id] = rule
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(by_id.values()), tuple(packs), tuple(overridden))


def load_file(path: Path, known_types: set[str] | None = None) -> tuple[str, list[Rule], list[Problem]]:
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return path.stem, [], [Problem(src, f"cannot read: {exc}", "check the path and its permissions")]
    data, lines, problems = parse(text, src)
    if data is None:
        if not problems:
            problems.append(Problem(f"{src}:1", "the pack is empty", "a pack is {pack: name, rules: [...]}"))
        return path.stem, [], problems
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        problems.append(
            Problem(f"{src}:1", "a pack needs a list of rules", "pack: my-pack\nrules:\n  - id: …")
        )
        return path.stem, [], problems
    pack = str(data.get("pack") or path.stem)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["rules"]):
        where = ("rules", index)
        rule_id = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(rule_id, str) and rule_id in seen:
            problems.append(
                Problem(
                    f"{src}:{line_of(lines, (*where, 'id'))}",
                    f"duplicate rule id {rule_id!r} (also at line {seen[rule_id]})",
                    "give each rule of a pack its own id; to replace a built-in rule, put yours in another pack",
                )
            )
        elif isinstance(rule_id, str):
            seen[rule_id] = line_of(lines, (*where, "id"))
        rule = _rule(raw, where, src, lines, pack, problems, known_types)
        if rule is not None:
            rules.append(rule)
    return pack, rules, problems


def _rule(
    raw: Any,
    where: tuple[str | int, ...],
    src: str,
    lines: Lines,
    pack: str,
    problems: list[Problem],
    known_types: set[str] | None,
) -> Rule | None:
    def fail(path: tuple[str | int, ...], message: str, hint: str = "") -> None:
        problems.append(Problem(f"{src}:{line_of(lines, (*where, *path))}", message, hint))

    if not isinstance(raw, Mapping):
        fail((), "a rule must be a mapping", "- id: my-rule\n  title: …")
        return None
    before = len(problems)
    for name in sorted(set(raw) - RULE_FIELDS):
        fail((name,), f"unknown field {name!r}", f"rule fields: {', '.join(sorted(RULE_FIELDS))}")
    for name in ("id", "title", "resource_types", "severity"):
        if not raw.get(name):
            fail((), f"missing {name}", "every rule has id, title, resource_types and severity")
    rule_id = str(raw.get("id", "?"))
    types = raw.get("resource_types") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        fail(("resource_types",), "resource_types must be a list of AWS Config type names")
        types = []
    for i, name in enumerate(types):
        if known_types is not None and name not in known_types:
            fail(("resource_types", i), f"unknown resource type {name!r}", "see `vigil resources --types`")
    severity = raw.get("severity")
    if severity and severity not in SEVERITIES:
        fail(("severity",), f"unknown severity {severity!r}", f"one of: {', '.join(SEVERITIES)}")
    trigger = raw.get("trigger", ["change"])
    triggers = [trigger] if isinstance(trigger, str) else list(trigger or [])
    for t in triggers:
        if t not in TRIGGERS:
            fail(("trigger",), f"unknown trigger {t!r}", "change, periodic, or both as a list")
    frequency = raw.get("frequency")
    if frequency is not None and str(frequency) not in FREQUENCIES:
        fail(("frequency",), f"unknown frequency {frequency!r}", f"one of: {', '.join(FREQUENCIES)}")

    parameters = _parameters(raw.get("parameters") or {}, fail)
    compiler = Compiler(src, lines, parameters)
    evaluate = None
    has_condition, has_check = "condition" in raw, "check" in raw
    if has_condition == has_check:
        fail(
            (),
            "a rule needs either condition or check",
            "condition: {key: …, op: …, value: …} or check: <name>",
        )
    elif has_condition:
        evaluate = compiler.compile(raw["condition"], (*where, "condition"))
    else:
        name = str(raw["check"])
        evaluate = CHECKS.get(name)
        if evaluate is None:
            fail(("check",), f"unknown check {name!r}", f"checks: {', '.join(sorted(CHECKS))}")
    applies = (
        compiler.compile(raw["applies_when"], (*where, "applies_when")) if "applies_when" in raw else None
    )
    problems += compiler.problems
    scope = _scope(raw.get("scope") or {}, fail)
    remediation = _remediation(raw.get("remediation"), fail)
    controls = raw.get("controls") or []
    if not isinstance(controls, list) or not all(isinstance(c, str) and ":" in c for c in controls):
        fail(
            ("controls",),
            "controls must be a list of framework:control ids",
            "e.g. [cis-aws-7.0:5.3, fsbp:EC2.13]",
        )
        controls = []
    examples = _examples(raw.get("examples") or [], where, src, lines, parameters, fail)
    if len(problems) > before or evaluate is None:
        return None
    return Rule(
        id=rule_id,
        title=str(raw["title"]),
        resource_types=tuple(types),
        severity=str(severity),
        triggers=tuple(triggers),
        frequency=str(frequency) if frequency is not None else ("24h" if "periodic" in triggers else None),
        evaluate=evaluate,
        applies=applies,
        rationale=str(raw.get("rationale") or ""),
        aws_identifier=raw.get("aws_identifier"),
        parameters=parameters,
        scope=scope,
        remediation=remediation,
        controls=tuple(controls),
        examples=tuple(examples),
        check=raw.get("check"),
        pack=pack,
        source=f"{src}:{line_of(lines, where)}",
        reads=tuple(dict.fromkeys(compiler.reads)),
    )


def _parameters(raw: Any, fail: Any) -> dict[str, Parameter]:
    out: dict[str, Parameter] = {}
    if not isinstance(raw, Mapping):
        fail(("parameters",), "parameters must be a mapping of name to {type, default}")
        return out
    for name, spec in raw.items():
        if not isinstance(spec, Mapping) or spec.get("type") not in PARAMETER_TYPES:
            fail(
                ("parameters", name),
                f"parameter {name!r} needs a type",
                f"type is one of: {', '.join(PARAMETER_TYPES)}",
            )
            continue
        param = Parameter(
            str(name),
            str(spec["type"]),
            None,
            bool(spec.get("required", False)),
            str(spec.get("description") or ""),
        )
        try:
            default = read_parameter(param, spec.get("default"))
        except ValueError as exc:
            fail(("parameters", name, "default"), str(exc))
            continue
        out[str(name)] = Parameter(param.name, param.type, default, param.required, param.description)
    return out


def _scope(raw: Any, fail: Any) -> Scope:
    if not isinstance(raw, Mapping):
        fail(("scope",), "scope must be a mapping", "scope: {tag_key: env, tag_value: prod}")
        return Scope()
    unknown = sorted(set(raw) - {"tag_key", "tag_value", "resource_ids"})
    if unknown:
        fail(("scope",), f"unknown scope field(s): {', '.join(unknown)}", "tag_key, tag_value, resource_ids")
    if raw.get("tag_value") is not None and raw.get("tag_key") is None:
        fail(("scope", "tag_value"), "tag_value needs tag_key")
    return Scope(raw.get("tag_key"), raw.get("tag_value"), tuple(raw.get("resource_ids") or ()))


def _remediation(raw: Any, fail: Any) -> Remediation:
    if raw is None:
        return Remediation("")
    if isinstance(raw, str):
        return Remediation(raw)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("text", ""), str):
        fail(("remediation",), "remediation is text, or {text, action}")
        return Remediation("")
    return Remediation(str(raw.get("text") or ""), raw.get("action"))


def _examples(
    raw: Any,
    where: tuple[str | int, ...],
    src: str,
    lines: Lines,
    parameters: Mapping[str, Parameter],
    fail: Any,
) -> list[Example]:
    out: list[Example] = []
    if not isinstance(raw, list):
        fail(("examples",), "examples must be a list")
        return out
    for i, item in enumerate(raw):
        path = ("examples", i)
        if (
            not isinstance(item, Mapping)
            or item.get("expect") not in COMPLIANCE_TYPES
            or not isinstance(item.get("ci"), Mapping)
        ):
            fail(
                path,
                "an example is {expect: COMPLIANT|NON_COMPLIANT|NOT_APPLICABLE|INSUFFICIENT_DATA, ci: {…}}",
            )
            continue
        params: dict[str, Any] = {}
        for name, value in (item.get("params") or {}).items():
            if name not in parameters:
                fail((*path, "params", name), f"unknown parameter {name!r}")
                continue
            try:
                params[name] = read_parameter(parameters[name], value)
            except ValueError as exc:
                fail((*path, "params", name), str(exc))
        out.append(
            Example(
                expect=str(item["expect"]),
                ci=item["ci"],
                note=str(item.get("note") or ""),
                params=params,
                related=tuple(item.get("related") or ()),
                where=f"{src}:{line_of(lines, (*where, *path))}",
            )
        )
    return out
