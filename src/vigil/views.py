"""Records → rows and JSON for people and machines; shared by the CLI and the demo. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from rich.table import Table

from vigil.output import table

if TYPE_CHECKING:
    from vigil.aws import recorder
    from vigil.store.inventory import Graph

SUMMARY_COLUMNS = ["resource type", "recorded", "new", "changed", "deleted", "status"]
DIFF_COLUMNS = ["property", "change", "before", "after"]


def summary_rows(report: recorder.ScanReport) -> list[list[Any]]:
    per_type: dict[str, dict[str, Any]] = {}
    for o in report.outcomes:
        row = per_type.setdefault(
            o.unit.rtype.name, {"regions": 0, "found": 0, "new": 0, "changed": 0, "deleted": 0, "failed": []}
        )
        row["regions"] += 1
        row["found"] += o.found
        row["new"] += o.result.discovered
        row["changed"] += o.result.changed
        row["deleted"] += o.result.deleted
        if o.error:
            row["failed"].append(f"{o.unit.region}: {o.error.code}")
        elif o.failures:
            row["failed"].append(f"{o.unit.region}: {len(o.failures)} resource(s)")
    return [
        [name, r["found"], r["new"], r["changed"], r["deleted"], "; ".join(r["failed"]) or "ok"]
        for name, r in sorted(per_type.items())
    ]


MATRIX_REGIONS_MAX = 5


def region_matrix(report: recorder.ScanReport) -> tuple[list[str], list[list[Any]]]:
    """The summary by type and region: one column of counts per region when there are few regions,
    else one row per (type, region). A unit that could not be read shows its error code."""
    present = {o.unit.region for o in report.outcomes}
    regions = [r for r in ("global", *report.regions) if r in present]
    cell: dict[tuple[str, str], str] = {}
    for o in report.outcomes:
        mark = (
            o.error.code
            if o.error
            else (f"{o.found} ({len(o.failures)} failed)" if o.failures else str(o.found))
        )
        cell[(o.unit.rtype.name, o.unit.region)] = mark
    totals = {row[0]: row for row in summary_rows(report)}
    if len(regions) <= MATRIX_REGIONS_MAX:
        columns = ["resource type", *regions, "new", "changed", "deleted"]
        rows = [
            [name, *(cell.get((name, r), "") for r in regions), *totals[name][2:5]] for name in sorted(totals)
        ]
        return columns, rows
    columns = ["resource type", "region", "recorded", "new", "changed", "deleted"]
    rows = []
    for o in sorted(report.outcomes, key=lambda o: (o.unit.rtype.name, o.unit.region)):
        rows.append(
            [
                o.unit.rtype.name,
                o.unit.region,
                cell[(o.unit.rtype.name, o.unit.region)],
                o.result.discovered,
                o.result.changed,
                o.result.deleted,
            ]
        )
    return columns, rows


def report_json(report: recorder.ScanReport) -> dict[str, Any]:
    return {
        "scanId": report.scan_id,
        "kind": report.kind,
        "status": report.status,
        "accountId": report.account_id,
        "regions": report.regions,
        "seconds": round(report.seconds, 3),
        "recorded": report.recorded,
        "counts": report.totals.as_dict(),
        "apiCalls": report.api_calls,
        "apiCallsTotal": sum(report.api_calls.values()),
        "byType": [
            dict(zip(("resourceType", "recorded", "new", "changed", "deleted", "status"), row, strict=True))
            for row in summary_rows(report)
        ],
        "units": [
            {
                "region": o.unit.region,
                "resourceType": o.unit.rtype.name,
                "recorded": o.found,
                "seconds": round(o.seconds, 3),
                "status": o.error.code if o.error else ("partial" if o.failures else "ok"),
            }
            for o in sorted(report.outcomes, key=lambda o: (o.unit.rtype.name, o.unit.region))
        ],
        "errors": [
            {
                "accountId": e.account_id,
                "region": e.region,
                "resourceType": e.resource_type,
                "resourceId": e.resource_id,
                "code": e.code,
                "message": e.message,
            }
            for e in report.errors
        ],
    }


def _readable(value: Any) -> Any:
    """JSON documents kept as text (a bucket policy's ``policyText``) shown as the objects they are."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    return value


def diff_rows(changes: dict[str, Any]) -> list[list[Any]]:
    """One row per changed property; a deletion is one row."""
    if changes["changeType"] == "DELETE" and not changes["changedProperties"]:
        return [["(the resource)", "DELETE", "recorded before", "gone: ResourceDeleted"]]

    def short(v: Any) -> str:
        text = v if isinstance(v, str) else orjson.dumps(_readable(v)).decode()
        return text if len(text) <= 160 else text[:157] + "..."

    return [
        [
            path,
            c["changeType"],
            "" if c["previousValue"] is None else short(c["previousValue"]),
            "" if c["updatedValue"] is None else short(c["updatedValue"]),
        ]
        for path, c in changes["changedProperties"].items()
    ]


def scan_tables(report: recorder.ScanReport, stats_rows: list[Any] | None = None) -> list[Table]:
    """The summary of a scan by resource type, what could not be read, and (optionally) API calls."""
    totals = report.totals
    rate = report.recorded / report.seconds if report.seconds else 0.0
    caption = (
        f"{report.recorded} resources in {report.seconds:.1f}s ({rate:.0f}/s) · {totals.discovered} new · "
        f"{totals.changed} changed · {totals.deleted} deleted · {sum(report.api_calls.values())} API calls · "
        f"scan #{report.scan_id} {report.status}"
    )
    title = f"Scan of account {report.account_id} ({', '.join(report.regions)})"
    columns, rows = region_matrix(report)
    out = [table(title, columns, rows, caption=caption)]
    if report.errors:
        out.append(
            table(
                "Could not read (nothing of these was marked deleted)",
                ["where", "code", "message"],
                [[e.where, e.code, e.message[:200]] for e in report.errors],
            )
        )
    if stats_rows is not None:
        out.append(table("API calls", ["service", "calls", "retries", "errors"], stats_rows))
    return out


def graph_tables(g: Graph, depth: int) -> list[Table]:
    """The blast radius as two tables: the linked resources by distance, and the edges."""
    root = g.root
    nodes = sorted(g.nodes.items(), key=lambda kv: (kv[1], kv[0].resourceType, kv[0].resourceId))
    edges = [
        [e.source.resourceType, e.source.resourceId, e.name, e.target.resourceType, e.target.resourceId]
        for e in g.edges
    ]
    return [
        table(
            f"Blast radius of {root.resourceType} {root.resourceId} (depth {depth}): {len(g.nodes) - 1} linked resources",
            ["hops", "type", "id", "name"],
            [[d, k.resourceType, k.resourceId, g.names.get(k) or ""] for k, d in nodes if d > 0],
        ),
        table("Relationships", ["from", "", "relationship", "to", ""], edges),
    ]


FINDING_COLUMNS = ["severity", "rule", "type", "resource", "region", "why"]


def finding_rows(found: Sequence[Any], limit: int | None = None) -> list[list[str]]:
    """Findings as table rows: severity, rule, short type, resource name or id, region, annotation."""
    rows = [
        [
            f.severity,
            f.rule_id,
            f.resource_type.split("::", 1)[1],
            f.resource_name or f.resource_id,
            f.region,
            f.annotation,
        ]
        for f in found
    ]
    return rows[:limit] if limit else rows


def short_principal(principal: str | None) -> str:
    """``arn:aws:iam::123456789012:user/alice`` → ``user/alice`` (the account is in the JSON)."""
    if not principal:
        return ""
    if principal.startswith("arn:"):
        resource = principal.split(":", 5)[-1]
        return resource.replace("assumed-role/", "role/", 1)
    return principal


def changed_by(changes: Sequence[Any]) -> str:
    """Who made a configuration item, how, from where and when:
    ``user/dev-alice (AuthorizeSecurityGroupIngress from 203.0.113.7 at 2026-11-28 04:56:41Z)``."""
    return "; ".join(
        f"{short_principal(c.principal) or 'unknown'} ({c.event_name}"
        + (f" from {c.source_ip}" if c.source_ip else "")
        + f" at {c.event_time:%Y-%m-%d %H:%M:%S}Z)"
        for c in changes
    )
