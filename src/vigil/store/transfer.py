"""Bringing configuration history in (AWS Config's files and API output) and reading it all out.

Import keeps every item as it was recorded — capture time, status, state id, hash — so history from
AWS Config and history from Vigil's own scans read the same way afterwards:
  * items of one resource are written oldest first (capture time, then state id);
  * an item already stored (same resource, same ``configurationStateId``) is skipped, so importing
    the same files twice, or overlapping snapshot and history files, stores each state once;
  * the resource's current state moves to the newest item, whichever source it came from; a later
    scan compares against it as it would against its own last CI;
  * rows are marked ``source = "import"`` and tied to the import's run in ``scans`` (kind
    ``import``), whose ``origin`` names the files or bucket read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from vigil.diff import content_hash
from vigil.model import ConfigurationItem, ResourceKey, parse_time
from vigil.store.inventory import Filters, _chunks, _filtered, _replace_edges, point_resources, rows_by_key
from vigil.store.schema import configuration_items, resources

IMPORT_SOURCE = "import"


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    resources_created: int = 0
    resources_updated: int = 0
    changed_keys: list[ResourceKey] = field(default_factory=list)

    def add(self, other: ImportResult) -> None:
        self.imported += other.imported
        self.skipped += other.skipped
        self.resources_created += other.resources_created
        self.resources_updated += other.resources_updated
        self.changed_keys.extend(other.changed_keys)


def _order(ci: ConfigurationItem) -> tuple[datetime, int]:
    return parse_time(ci.configurationItemCaptureTime), int(ci.configurationStateId)


def group_items(items: Sequence[ConfigurationItem]) -> dict[ResourceKey, list[ConfigurationItem]]:
    """Items per resource, oldest first, one per state id (the last one read wins a tie)."""
    groups: dict[ResourceKey, dict[str, ConfigurationItem]] = defaultdict(dict)
    for ci in items:
        groups[ci.key][ci.configurationStateId] = ci
    return {key: sorted(by_state.values(), key=_order) for key, by_state in groups.items()}


def import_items(
    conn: Connection,
    groups: Mapping[ResourceKey, list[ConfigurationItem]],
    *,
    scan_id: int | None,
    volatile: Callable[[str], tuple[str, ...]] = lambda _t: (),
) -> ImportResult:
    """Write grouped items (see :func:`group_items`) with the rules in the module docstring."""
    result = ImportResult()
    keys = list(groups)
    existing = rows_by_key(conn, keys)
    known_states = _known_states(conn, [row.id for row in existing.values()])

    fresh = [k for k in keys if k not in existing]
    if fresh:
        inserted = conn.execute(
            insert(resources).returning(
                resources.c.id,
                resources.c.account_id,
                resources.c.region,
                resources.c.resource_type,
                resources.c.resource_id,
                resources.c.latest_ci_id,
                sort_by_parameter_order=True,
            ),
            [_resource_row(k, groups[k]) for k in fresh],
        )
        for row in inserted:
            existing[ResourceKey(row.account_id, row.region, row.resource_type, row.resource_id)] = row
        result.resources_created = len(fresh)

    ci_rows: list[dict[str, Any]] = []
    owners: list[tuple[ResourceKey, ConfigurationItem]] = []
    for key in keys:
        pk = existing[key].id
        seen = known_states.get(pk, set())
        for ci in groups[key]:
            state = int(ci.configurationStateId)
            if state in seen:
                result.skipped += 1
                continue
            ci_rows.append(
                {
                    "resource_pk": pk,
                    "capture_time": parse_time(ci.configurationItemCaptureTime),
                    "status": ci.configurationItemStatus,
                    "state_id": state,
                    "config_hash": _hash(ci, volatile),
                    "source": IMPORT_SOURCE,
                    "scan_id": scan_id,
                    "document": ci.to_dict(),
                }
            )
            owners.append((key, ci))
    if not ci_rows:
        return result
    ids = list(
        conn.execute(
            insert(configuration_items).returning(configuration_items.c.id, sort_by_parameter_order=True),
            ci_rows,
        ).scalars()
    )
    result.imported = len(ci_rows)

    # the newest new item per resource, and whether it is newer than what the resource points at
    newest: dict[ResourceKey, tuple[tuple[datetime, int], int, ConfigurationItem]] = {}
    for (key, ci), ci_id, ci_row in zip(owners, ids, ci_rows, strict=True):
        order = (ci_row["capture_time"], ci_row["state_id"])
        best = newest.get(key)
        if best is None or order >= best[0]:
            newest[key] = (order, ci_id, ci)
    current_times = _latest_times(
        conn, [existing[k].latest_ci_id for k in newest if existing[k].latest_ci_id]
    )

    updates: list[dict[str, Any]] = []
    edges: list[tuple[int, ConfigurationItem]] = []
    for key, (candidate, ci_id, ci) in newest.items():
        row = existing[key]
        held = current_times.get(row.latest_ci_id) if row.latest_ci_id else None
        if held is not None and held >= candidate:
            continue
        updates.append(
            {
                "pk": row.id,
                "status": ci.configurationItemStatus,
                "deleted": ci.deleted,
                "last_seen": candidate[0],
                "state_id": candidate[1],
                "config_hash": "deleted" if ci.deleted else _hash(ci, volatile),
                "doc_hash": "deleted" if ci.deleted else content_hash(ci),
                "resource_name": ci.resourceName,
                "arn": ci.arn,
                "latest": ci_id,
            }
        )
        edges.append((row.id, ci))
        result.changed_keys.append(key)
    if updates:
        point_resources(conn, updates)
        _replace_edges(conn, [pk for pk, _ in edges], [(pk, ci) for pk, ci in edges if not ci.deleted])
    result.resources_updated = len(updates) - result.resources_created
    return result


def _hash(ci: ConfigurationItem, volatile: Callable[[str], tuple[str, ...]]) -> str:
    return "deleted" if ci.deleted else content_hash(ci, volatile(ci.resourceType))


def _resource_row(key: ResourceKey, items: list[ConfigurationItem]) -> dict[str, Any]:
    first, last = items[0], items[-1]
    return {
        "account_id": key.accountId,
        "region": key.awsRegion,
        "resource_type": key.resourceType,
        "resource_id": key.resourceId,
        "resource_name": last.resourceName,
        "arn": last.arn,
        "status": last.configurationItemStatus,
        "deleted": last.deleted,
        "first_seen": parse_time(first.configurationItemCaptureTime),
        "last_seen": parse_time(last.configurationItemCaptureTime),
        "state_id": 0,
        "config_hash": "",
        "doc_hash": "",
    }


def _known_states(conn: Connection, pks: list[int]) -> dict[int, set[int]]:
    known: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(pks):
        query = select(configuration_items.c.resource_pk, configuration_items.c.state_id).where(
            configuration_items.c.resource_pk.in_(chunk)
        )
        for pk, state in conn.execute(query):
            known[pk].add(state)
    return known


def _latest_times(conn: Connection, ci_ids: list[int]) -> dict[int, tuple[datetime, int]]:
    out: dict[int, tuple[datetime, int]] = {}
    for chunk in _chunks(ci_ids):
        query = select(
            configuration_items.c.id, configuration_items.c.capture_time, configuration_items.c.state_id
        ).where(configuration_items.c.id.in_(chunk))
        for ci_id, moment, state in conn.execute(query):
            out[ci_id] = (moment, state)
    return out


# ---------------------------------------------------------------------------------------------
# reading everything out


def all_history(
    conn: Connection, filters: Filters = Filters(include_deleted=True)
) -> Iterator[ConfigurationItem]:
    """Every stored CI of the resources matching ``filters``, per resource oldest first."""
    query = _filtered(
        select(configuration_items.c.document).join(
            resources, resources.c.id == configuration_items.c.resource_pk
        ),
        filters,
    ).order_by(
        resources.c.account_id,
        resources.c.region,
        resources.c.resource_type,
        resources.c.resource_id,
        configuration_items.c.capture_time,
        configuration_items.c.state_id,
    )
    for doc in conn.execute(query).scalars():
        yield ConfigurationItem.from_dict(doc)
