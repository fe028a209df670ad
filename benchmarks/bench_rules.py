"""Rule evaluation: 100,000 CIs × every built-in rule on one core, and one changed CI re-evaluated in a
10,000-resource store.

Shapes are real: the sample estate (N=1, two regions, 35 types) is seeded into the emulator and
recorded; its CIs are then copied into 600 accounts (ids and relationship targets renamed per copy,
so related resources and account-level lookups resolve inside each copy) until there are 100,000
CIs (``--full``: 300,000). Times cover evaluation only (the rules are loaded and compiled first,
and that is reported apart).

Rows:
  * evaluate_all over every CI: CIs/s and evaluations/s, against the aim (50,000 CIs/s);
  * baseline, measured in the same run: the same loop with each rule's verdict replaced by a
    constant (indexing rules by type, building the environment, writing the evaluation): what the
    engine costs before any condition runs; ``vs_loop`` is the rate over that floor;
  * incremental: ``engine.evaluate(only=[one CI])`` on a SQLite store of 10,000 resources, median of
    20 runs (rules loaded once), against a full ``engine.evaluate`` of the same store.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_scan import REGIONS, new_account
from benchlib import ResultTable, main, ratio

from vigil import engine
from vigil.aws import recorder
from vigil.aws.resources import RESOURCE_TYPES
from vigil.demo import emulator, estate
from vigil.model import ConfigurationItem, ResourceKey
from vigil.rules import evaluate as rules_evaluate
from vigil.rules import load
from vigil.rules.spec import Outcome
from vigil.store import inventory, open_store
from vigil.store.inventory import Scope

AIM_CIS_PER_S = 50_000
BASE_ACCOUNT = 300_000_000_000


def recorded_shapes() -> list[dict[str, Any]]:
    """The sample estate's CIs, as the recorder writes them."""
    with emulator.start() as server, tempfile.TemporaryDirectory() as tmp:
        account = new_account(server.endpoint)
        estate.seed(account.client, list(REGIONS), 1)
        import os

        saved = {
            k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        }
        os.environ.update({k: v for k, v in account.environment().items() if k != "AWS_ENDPOINT_URL"})
        try:
            from vigil.aws.session import AwsSession
            from vigil.settings import AwsSettings

            session = AwsSession(AwsSettings(endpoint_url=server.endpoint, regions=list(REGIONS)))
            store = open_store(Path(tmp) / "shapes.db")
            recorder.scan(session, store)
            with store.connect() as conn:
                docs = [ci.to_dict() for ci in inventory.current(conn)]
            store.close()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return docs


def copies(shapes: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """``total`` CIs: the shapes copied into accounts of their own (one account per copy)."""
    out: list[dict[str, Any]] = []
    index = 0
    while len(out) < total:
        account = str(BASE_ACCOUNT + index)
        for shape in shapes:
            doc = copy.deepcopy(shape)
            old = doc["accountId"]
            doc["accountId"] = account
            if doc["resourceType"] == "AWS::::Account":
                doc["resourceId"] = account
            for edge in doc.get("relationships") or []:
                edge["resourceId"] = (edge.get("resourceId") or "").replace(old, account)
            if doc.get("arn"):
                doc["arn"] = doc["arn"].replace(old, account)
            out.append(doc)
            if len(out) == total:
                break
        index += 1
    return out


def time_full(rules: list[Any], docs: list[dict[str, Any]]) -> tuple[float, int]:
    inv = rules_evaluate.Inventory(docs)
    now = datetime.now(UTC)
    started = time.perf_counter()
    evaluations = rules_evaluate.evaluate_all(rules, inv, now=now)
    return time.perf_counter() - started, len(evaluations)


def constant_rules(rules: list[Any]) -> list[Any]:
    """The same rules with a constant verdict: the engine's loop without any condition."""
    import dataclasses

    def holds(_env: Any) -> Outcome:
        return Outcome(True)

    return [dataclasses.replace(r, evaluate=holds, applies=None) for r in rules]


def incremental(docs: list[dict[str, Any]]) -> dict[str, float]:
    """A 10,000-resource SQLite store; one changed CI re-evaluated vs the whole store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "incremental.db"
        store = open_store(db)
        now = datetime.now(UTC)
        units: dict[tuple[str, str, str], list[ConfigurationItem]] = {}
        for doc in docs:
            ci = ConfigurationItem.from_dict(doc)
            units.setdefault(ci.key[:3], []).append(ci)
        with store.begin() as conn:
            for (account, region, rtype), cis in units.items():
                inventory.record(conn, cis, Scope(account, region, rtype), now=now)
        store.close()
        with engine.context(None, db=str(db)) as ctx:
            engine.load_rules(ctx)
            started = time.perf_counter()
            engine.evaluate(ctx)
            full = time.perf_counter() - started
            group = next(d for d in docs if d["resourceType"] == "AWS::EC2::SecurityGroup")
            key = ResourceKey(
                group["accountId"], group["awsRegion"], group["resourceType"], group["resourceId"]
            )
            samples = []
            for _ in range(20):
                started = time.perf_counter()
                engine.evaluate(ctx, only=[key])
                samples.append(time.perf_counter() - started)
    return {"full_s": full, "one_ci_ms": statistics.median(samples) * 1000}


def run(full: bool = False) -> list[ResultTable]:
    total = 300_000 if full else 100_000
    started = time.perf_counter()
    loaded = load.load(known_types=RESOURCE_TYPES)
    load_s = time.perf_counter() - started
    rules = list(loaded.rules)
    shapes = recorded_shapes()
    docs = copies(shapes, total)
    seconds, evaluations = time_full(rules, docs)
    loop_s, loop_evaluations = time_full(constant_rules(rules), docs)
    rate = len(docs) / seconds
    loop_rate = len(docs) / loop_s
    result = ResultTable(
        f"Rule evaluation: {len(docs):,} CIs ({len({d['resourceType'] for d in shapes})} types from the recorded "
        f"sample estate) × {len(rules)} built-in rules, one core",
        notes=[
            f"rules loaded and compiled in {load_s:.2f} s (not timed below).",
            "vs_aim: CIs/s over the aim of 50,000; vs_loop: CIs/s over the loop without conditions (the floor).",
        ],
    )
    result.rows.append(
        {
            "run": "evaluate_all, every rule",
            "cis": len(docs),
            "evaluations": evaluations,
            "seconds": round(seconds, 2),
            "cis_per_s": round(rate),
            "evaluations_per_s": round(evaluations / seconds),
            "vs_aim": ratio(rate, AIM_CIS_PER_S),
            "vs_loop": ratio(rate, loop_rate),
        }
    )
    result.rows.append(
        {
            "run": "the loop alone, constant verdicts (baseline)",
            "cis": len(docs),
            "evaluations": loop_evaluations,
            "seconds": round(loop_s, 2),
            "cis_per_s": round(loop_rate),
            "evaluations_per_s": round(loop_evaluations / loop_s),
            "vs_aim": ratio(loop_rate, AIM_CIS_PER_S),
            "vs_loop": 1.0,
        }
    )
    timing = incremental(docs[:10_000])
    incremental_table = ResultTable(
        "Incremental re-evaluation of one changed CI in a 10,000-resource store (SQLite)",
        rows=[
            {
                "run": "engine.evaluate(only=one security group), median of 20",
                "ms": round(timing["one_ci_ms"], 1),
                "vs_full": ratio(timing["one_ci_ms"] / 1000, timing["full_s"]),
            },
            {
                "run": "engine.evaluate() of the whole store (baseline)",
                "ms": round(timing["full_s"] * 1000),
                "vs_full": 1.0,
            },
        ],
        notes=["Both include reading from the store and writing evaluations and findings."],
    )
    return [result, incremental_table]


if __name__ == "__main__":
    main(run)
