"""The evaluation order and the language's corners, on hand-written rules and CIs (pure)."""

from __future__ import annotations

from pathlib import Path

from vigil.rules import load
from vigil.rules.evaluate import Inventory, evaluate, evaluate_all
from vigil.rules.selftest import EXAMPLE_NOW, minimal_ci
from vigil.rules.spec import COMPLIANT, INSUFFICIENT_DATA, NON_COMPLIANT, NOT_APPLICABLE

PACK = """\
pack: corners
rules:
  - id: tagged-volumes-encrypted
    title: Volumes tagged env=prod are encrypted
    rationale: r
    resource_types: [AWS::EC2::Volume]
    severity: low
    scope: {tag_key: env, tag_value: prod}
    parameters:
      kmsId: {type: string}
    condition:
      all:
        - {key: configuration.encrypted, op: "true"}
        - {key: configuration.kmsKeyId, op: contains, value: {param: kmsId}}
    remediation: fix
  - id: analyzer-on
    title: Access Analyzer has an analyzer
    rationale: r
    resource_types: ["AWS::::Account"]
    severity: low
    condition: {key: configuration.accessAnalyzers, op: not-empty}
    remediation: fix
  - id: long-annotation
    title: A very long value
    rationale: r
    resource_types: [AWS::EC2::Volume]
    severity: low
    condition: {key: configuration.description, op: eq, value: short}
    remediation: fix
  - id: trail-somewhere
    title: The account has a trail
    rationale: r
    resource_types: ["AWS::::Account"]
    severity: low
    check: multi-region-cloudtrail-enabled
    remediation: fix
"""


def rules(tmp_path: Path) -> dict[str, load.Rule]:
    path = tmp_path / "corners.yaml"
    path.write_text(PACK)
    return {r.id: r for r in load.load([path], builtin=False).rules}


def volume(**fields: object) -> dict[str, object]:
    return {**minimal_ci("AWS::EC2::Volume"), **fields}


def test_scope_deletion_and_optional_parameters(tmp_path: Path) -> None:
    rule = rules(tmp_path)["tagged-volumes-encrypted"]
    prod = {"tags": {"env": "prod"}}
    assert (
        evaluate(rule, volume(configuration={"encrypted": True}, **prod), now=EXAMPLE_NOW).compliance
        == COMPLIANT
    )
    out = evaluate(rule, volume(configuration={"encrypted": True}, tags={"env": "dev"}), now=EXAMPLE_NOW)
    assert (out.compliance, out.annotation) == (NOT_APPLICABLE, "tag env is not prod")
    gone = volume(configurationItemStatus="ResourceDeleted", configuration=None, **prod)
    assert evaluate(rule, gone, now=EXAMPLE_NOW).compliance == NOT_APPLICABLE
    keyed = volume(configuration={"encrypted": True, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/abc"}, **prod)
    assert evaluate(rule, keyed, now=EXAMPLE_NOW, params={"kmsId": "abc"}).compliance == COMPLIANT
    wrong = evaluate(rule, keyed, now=EXAMPLE_NOW, params={"kmsId": "def"})
    assert wrong.compliance == NON_COMPLIANT and "(kmsId)" in wrong.annotation
    failed = evaluate(
        rule,
        volume(configuration={"encrypted": False}, **prod),
        now=EXAMPLE_NOW,
        unreadable={("123456789012", "us-east-1", "AWS::EC2::Volume"): "AccessDenied: no"},
    )
    assert (failed.compliance, failed.annotation) == (
        INSUFFICIENT_DATA,
        "the last collection failed: AccessDenied: no",
    )


def test_an_unreadable_account_fact_gives_insufficient_data(tmp_path: Path) -> None:
    rule = rules(tmp_path)["analyzer-on"]
    account = minimal_ci(
        "AWS::::Account",
        configuration={"accessAnalyzers": None},
        supplementaryConfiguration={
            "Unavailable": {"AccessAnalyzers": {"code": "501", "message": "no backend"}}
        },
    )
    out = evaluate(rule, account, now=EXAMPLE_NOW)
    assert (out.compliance, out.annotation) == (
        INSUFFICIENT_DATA,
        "configuration.accessAnalyzers could not be read (501: no backend)",
    )
    readable = minimal_ci("AWS::::Account", configuration={"accessAnalyzers": []})
    assert evaluate(rule, readable, now=EXAMPLE_NOW).compliance == NON_COMPLIANT


def test_annotations_are_cut_to_aws_config_limit(tmp_path: Path) -> None:
    rule = rules(tmp_path)["long-annotation"]
    out = evaluate(rule, volume(configuration={"description": "x" * 1000}), now=EXAMPLE_NOW)
    assert out.compliance == NON_COMPLIANT and len(out.annotation) <= 256


def test_lookups_stay_inside_the_account(tmp_path: Path) -> None:
    rule = rules(tmp_path)["trail-somewhere"]
    trail = {
        **minimal_ci("AWS::CloudTrail::Trail", resourceId="org", accountId="111111111111"),
        "configuration": {"isMultiRegionTrail": True},
        "supplementaryConfiguration": {"TrailStatus": {"isLogging": True}},
    }
    with_trail = minimal_ci("AWS::::Account", resourceId="111111111111", accountId="111111111111")
    without = minimal_ci("AWS::::Account", resourceId="222222222222", accountId="222222222222")
    verdicts = {
        e.account_id: e.compliance
        for e in evaluate_all([rule], Inventory([trail, with_trail, without]), now=EXAMPLE_NOW)
    }
    assert verdicts == {"111111111111": COMPLIANT, "222222222222": NON_COMPLIANT}


def test_what_if_assignments() -> None:
    from vigil.errors import UsageError
    from vigil.model import Evaluation
    from vigil.rules import whatif

    ci = volume(configuration={"encrypted": True, "attachments": [{"instanceId": "i-1"}]})
    changed = whatif.apply(
        ci,
        [
            "configuration.encrypted=false",
            "configuration.attachments[0].instanceId=i-2",
            'configuration.attachments[]={"instanceId": "i-3"}',
            "tags.owner=data-team",
        ],
    )
    assert changed["configuration"] == {
        "encrypted": False,
        "attachments": [{"instanceId": "i-2"}, {"instanceId": "i-3"}],
    }
    assert changed["tags"] == {"owner": "data-team"} and ci["configuration"]["encrypted"] is True  # a copy
    for bad in ("configuration.encrypted", "configuration.attachments[5].x=1", "=1"):
        try:
            whatif.apply(ci, [bad])
        except UsageError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    before = Evaluation("encrypted-volumes", "AWS::EC2::Volume", "example", "1", "us-east-1", COMPLIANT, "")
    after = Evaluation(
        "encrypted-volumes", "AWS::EC2::Volume", "example", "1", "us-east-1", NON_COMPLIANT, "why"
    )
    assert whatif.flips({"encrypted-volumes": before}, [after]) == [
        whatif.Flip("encrypted-volumes", COMPLIANT, NON_COMPLIANT, "why")
    ]
    assert whatif.flips({"encrypted-volumes": before}, [before]) == []


def test_a_user_pack_overrides_a_built_in_rule_by_id(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli import app

    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "ours.yaml").write_text(
        "pack: ours\n"
        "rules:\n"
        "  - id: restricted-ssh\n"
        "    title: SSH only from the office\n"
        "    rationale: our policy\n"
        "    resource_types: [AWS::EC2::SecurityGroup]\n"
        "    severity: critical\n"
        "    condition: {key: configuration.ipPermissions, op: empty}\n"
        "    remediation: talk to the network team\n"
        "    examples:\n"
        "      - {expect: COMPLIANT, ci: {configuration: {ipPermissions: []}}}\n"
        "      - {expect: NON_COMPLIANT, ci: {configuration: {ipPermissions: [{ipProtocol: tcp}]}}}\n"
    )
    ruleset = load.load([packs])
    ours = ruleset.get("restricted-ssh")
    assert ours is not None and (ours.pack, ours.severity) == ("ours", "critical")
    assert ruleset.overridden == ("restricted-ssh",) and len(ruleset.rules) == len(load.load().rules)
    (tmp_path / "vigil.yaml").write_text(f"rules:\n  packs: [{packs}]\n")
    shown = CliRunner().invoke(
        app, ["rules", "show", "restricted-ssh", "--config", str(tmp_path / "vigil.yaml"), "-o", "json"]
    )
    assert shown.exit_code == 0 and '"pack": "ours"' in shown.stdout
    validated = CliRunner().invoke(app, ["rules", "validate", "--config", str(tmp_path / "vigil.yaml")])
    assert validated.exit_code == 0 and "replaced built-in rules: restricted-ssh" in " ".join(
        validated.output.split()
    )
