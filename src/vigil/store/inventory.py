"""The inventory: configuration items, their history, tags and relationships.

``record`` applies AWS Config's history rules to one collection unit's CIs:
  * a new CI is written only when configuration, supplementary configuration, tags or
    relationships changed (``diff.content_hash``); status ``ResourceDiscovered`` the first time (or
    when a deleted resource comes back), ``OK`` after;
  * when only volatile fields changed (usage timestamps), the current CI is refreshed in place;
  * a resource not seen by a *complete* collection of its (account, region, type) is recorded once
    as ``ResourceDeleted``; a failed or partial collection never deletes anything;
  * a targeted re-record of given ids deletes exactly the requested ids that were not found.

Everything takes a ``Connection`` so callers choose the transaction (one per collection unit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from vigil.diff import content_hash
from vigil.errors import NotFoundError
from vigil.model import (
    DELETED,
    DISCOVERED,
    GLOBAL_REGION,
    OK,
    ConfigurationItem,
    ResourceKey,
    iso_ms,
)
from vigil.store.schema import configuration_items, relationships, resource_tags, resources


@dataclass(frozen=True)
class Scope:
    """What one collection covered. ``ids=None`` with ``complete=True`` is a full listing."""

    account_id: str
    region: str
    resource_type: str
    complete: bool = True
    ids: frozenset[str] | None = None
    keep: frozenset[str] = frozenset()  # ids known to exist whose details could not be read this time


@dataclass
class RecordResult:
    discovered: int = 0
    changed: int = 0
    unchanged: int = 0
    refreshed: int = 0
    deleted: int = 0
    changed_keys: list[ResourceKey] = field(default_factory=list)

    def add(self, other: RecordResult) -> None:
        for name in ("discovered", "changed", "unchanged", "refreshed", "deleted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.changed_keys.extend(other.changed_keys)

    def as_dict(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in ("discovered", "changed", "unchanged", "refreshed", "deleted")}


def _state_id(now: datetime, previous: int | None) -> int:
    ms = int(now.timestamp() * 1000)
    return max(ms, (previous or 0) + 1)


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Ids in slices small enough for one ``IN (…)`` on every backend."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _tag_rows(pk: int, ci: ConfigurationItem) -> list[dict[str, Any]]:
    return [{"resource_pk": pk, "key": k, "value": "" if v is None else str(v)} for k, v in ci.tags.items()]


def _rel_rows(pk: int, ci: ConfigurationItem) -> list[dict[str, Any]]:
    return [
        {
            "resource_pk": pk,
            "name": r.relationshipName,
            "target_type": r.resourceType,
            "target_id": r.resourceId,
            "target_name": r.resourceName,
        }
        for r in ci.relationships
    ]


def record(
    conn: Connection,
    cis: Sequence[ConfigurationItem],
    scope: Scope,
    *,
    now: datetime,
    volatile: Iterable[str] = (),
    scan_id: int | None = None,
    source: str = "scan",
) -> RecordResult:
    """Write one collection unit's CIs with history semantics (see the module docstring)."""
    volatile = tuple(volatile)
    result = RecordResult()
    query = select(
        resources.c.id,
        resources.c.resource_id,
        resources.c.deleted,
        resources.c.state_id,
        resources.c.config_hash,
        resources.c.doc_hash,
        resources.c.latest_ci_id,
    ).where(
        resources.c.account_id == scope.account_id,
        resources.c.region == scope.region,
        resources.c.resource_type == scope.resource_type,
    )
    if scope.ids is not None:
        query = query.where(resources.c.resource_id.in_(sorted(scope.ids)))
    existing = {row.resource_id: row for row in conn.execute(query)}

    new_cis: list[tuple[Any, ConfigurationItem, str, str]] = []
    touched: list[int] = []
    refreshes: list[tuple[Any, ConfigurationItem, str]] = []
    seen: set[str] = set()
    for ci in cis:
        if ci.key[:3] != (scope.account_id, scope.region, scope.resource_type):
            raise ValueError(f"CI {ci.key} is outside the collection scope {scope}")
        seen.add(ci.resourceId)
        chash = content_hash(ci, volatile)
        dhash = content_hash(ci) if volatile else chash
        row = existing.get(ci.resourceId)
        if row is None or row.deleted or row.config_hash != chash:
            new_cis.append((row, ci, chash, dhash))
        elif row.doc_hash != dhash:
            refreshes.append((row, ci, dhash))
        else:
            touched.append(row.id)
            result.unchanged += 1

    if scope.complete or scope.ids is not None:
        wanted = scope.ids if scope.ids is not None else existing.keys()
        gone = [
            existing[rid]
            for rid in wanted
            if rid in existing and rid not in seen and rid not in scope.keep and not existing[rid].deleted
        ]
    else:
        gone = []

    for chunk in _chunks(touched):
        conn.execute(update(resources).where(resources.c.id.in_(chunk)).values(last_seen=now))
    for row, ci, dhash in refreshes:
        conn.execute(
            update(configuration_items)
            .where(configuration_items.c.id == row.latest_ci_id)
            .values(document=_refresh_document(conn, row.latest_ci_id, ci)),
        )
        conn.execute(update(resources).where(resources.c.id == row.id).values(doc_hash=dhash, last_seen=now))
        result.refreshed += 1

    _write_new(conn, new_cis, now, scan_id, source, result)
    _write_deleted(conn, gone, scope, now, scan_id, source, result)
    return result


def _prepare(ci: ConfigurationItem, now: datetime, state_id: int, status: str) -> ConfigurationItem:
    return dataclasses.replace(
        ci,
        configurationItemCaptureTime=iso_ms(now),
        configurationItemStatus=status,
        configurationStateId=str(state_id),
    )


def _refresh_document(conn: Connection, ci_pk: int, ci: ConfigurationItem) -> dict[str, Any]:
    """The stored CI with the fresh content (volatile fields), keeping its time, status and state id."""
    stored = conn.execute(
        select(configuration_items.c.document).where(configuration_items.c.id == ci_pk)
    ).scalar_one()
    fresh = ci.to_dict()
    for keep in ("configurationItemCaptureTime", "configurationItemStatus", "configurationStateId"):
        fresh[keep] = stored[keep]
    return fresh


def _write_new(
    conn: Connection,
    items: list[tuple[Any, ConfigurationItem, str, str]],
    now: datetime,
    scan_id: int | None,
    source: str,
    result: RecordResult,
) -> None:
    if not items:
        return
    fresh = [(ci, ch, dh) for row, ci, ch, dh in items if row is None]
    pks: dict[str, int] = {}
    if fresh:
        inserted = conn.execute(
            insert(resources).returning(
                resources.c.id, resources.c.resource_id, sort_by_parameter_order=True
            ),
            [
                {
                    "account_id": ci.accountId,
                    "region": ci.awsRegion,
                    "resource_type": ci.resourceType,
                    "resource_id": ci.resourceId,
                    "resource_name": ci.resourceName,
                    "arn": ci.arn,
                    "status": DISCOVERED,
                    "deleted": False,
                    "first_seen": now,
                    "last_seen": now,
                    "state_id": 0,
                    "config_hash": ch,
                    "doc_hash": dh,
                }
                for ci, ch, dh in fresh
            ],
        )
        pks = {r.resource_id: r.id for r in inserted}
    ci_rows: list[dict[str, Any]] = []
    resource_updates: list[dict[str, Any]] = []
    for row, ci, chash, dhash in items:
        pk = row.id if row is not None else pks[ci.resourceId]
        status = DISCOVERED if row is None or row.deleted else OK
        state = _state_id(now, row.state_id if row is not None else None)
        prepared = _prepare(ci, now, state, status)
        ci_rows.append(
            {
                "resource_pk": pk,
                "capture_time": now,
                "status": status,
                "state_id": state,
                "config_hash": chash,
                "source": source,
                "scan_id": scan_id,
                "document": prepared.to_dict(),
            }
        )
        resource_updates.append(
            {
                "pk": pk,
                "status": status,
                "deleted": False,
                "last_seen": now,
                "state_id": state,
                "config_hash": chash,
                "doc_hash": dhash,
                "resource_name": ci.resourceName,
                "arn": ci.arn,
            }
        )
        if status == DISCOVERED:
            result.discovered += 1
        else:
            result.changed += 1
        result.changed_keys.append(ci.key)
    ci_ids = conn.execute(
        insert(configuration_items).returning(configuration_items.c.id, sort_by_parameter_order=True), ci_rows
    ).scalars()
    for upd, ci_id in zip(resource_updates, ci_ids, strict=True):
        upd["latest"] = ci_id
    point_resources(conn, resource_updates)
    pk_list = [u["pk"] for u in resource_updates]
    _replace_edges(
        conn, pk_list, [(u["pk"], ci) for u, (_, ci, _, _) in zip(resource_updates, items, strict=True)]
    )


def rows_by_key(conn: Connection, keys: Iterable[ResourceKey]) -> dict[ResourceKey, Any]:
    """The stored ``resources`` rows among ``keys`` (id, resource id, latest CI id), looked up per
    (account, region, type) in slices small enough for one ``IN (…)``."""
    by_scope: dict[tuple[str, str, str], list[str]] = {}
    for key in keys:
        by_scope.setdefault(key[:3], []).append(key.resourceId)
    found: dict[ResourceKey, Any] = {}
    for (account, region, rtype), ids in by_scope.items():
        for start in range(0, len(ids), 500):
            query = select(resources.c.id, resources.c.resource_id, resources.c.latest_ci_id).where(
                resources.c.account_id == account,
                resources.c.region == region,
                resources.c.resource_type == rtype,
                resources.c.resource_id.in_(ids[start : start + 500]),
            )
            for row in conn.execute(query):
                found[ResourceKey(account, region, rtype, row.resource_id)] = row
    return found


def point_resources(conn: Connection, updates: list[dict[str, Any]]) -> None:
    """Move resources to their newest CI: one executemany of rows keyed ``pk`` with ``status``,
    ``deleted``, ``last_seen``, ``state_id``, ``config_hash``, ``doc_hash``, ``resource_name``, ``arn``
    and ``latest`` (the CI's id)."""
    conn.execute(
        update(resources)
        .where(resources.c.id == bindparam("pk"))
        .values(
            status=bindparam("status"),
            deleted=bindparam("deleted"),
            last_seen=bindparam("last_seen"),
            state_id=bindparam("state_id"),
            config_hash=bindparam("config_hash"),
            doc_hash=bindparam("doc_hash"),
            resource_name=bindparam("resource_name"),
            arn=bindparam("arn"),
            latest_ci_id=bindparam("latest"),
        ),
        updates,
    )


def _replace_edges(conn: Connection, pk_list: list[int], pairs: list[tuple[int, ConfigurationItem]]) -> None:
    for chunk in _chunks(pk_list):
        conn.execute(delete(resource_tags).where(resource_tags.c.resource_pk.in_(chunk)))
        conn.execute(delete(relationships).where(relationships.c.resource_pk.in_(chunk)))
    tag_rows = [t for pk, ci in pairs for t in _tag_rows(pk, ci)]
    rel_rows = [r for pk, ci in pairs for r in _rel_rows(pk, ci)]
    if tag_rows:
        conn.execute(insert(resource_tags), tag_rows)
    if rel_rows:
        conn.execute(insert(relationships), rel_rows)


def _write_deleted(
    conn: Connection,
    gone: list[Any],
    scope: Scope,
    now: datetime,
    scan_id: int | None,
    source: str,
    result: RecordResult,
) -> None:
    if not gone:
        return
    latest_docs = {
        r.id: r.document
        for r in conn.execute(
            select(configuration_items.c.id, configuration_items.c.document).where(
                configuration_items.c.id.in_([g.latest_ci_id for g in gone])
            )
        )
    }
    ci_rows = []
    updates = []
    for row in gone:
        last = latest_docs[row.latest_ci_id]
        state = _state_id(now, row.state_id)
        document = {
            **last,
            "configurationItemCaptureTime": iso_ms(now),
            "configurationItemStatus": DELETED,
            "configurationStateId": str(state),
            "tags": {},
            "relationships": [],
            "relatedEvents": [],
            "configuration": None,
            "supplementaryConfiguration": {},
        }
        ci_rows.append(
            {
                "resource_pk": row.id,
                "capture_time": now,
                "status": DELETED,
                "state_id": state,
                "config_hash": "deleted",
                "source": source,
                "scan_id": scan_id,
                "document": document,
            }
        )
        updates.append({"pk": row.id, "state_id": state})
        result.deleted += 1
        result.changed_keys.append(
            ResourceKey(scope.account_id, scope.region, scope.resource_type, row.resource_id)
        )
    ids = conn.execute(
        insert(configuration_items).returning(configuration_items.c.id, sort_by_parameter_order=True), ci_rows
    ).scalars()
    for upd, ci_id in zip(updates, ids, strict=True):
        upd["latest"] = ci_id
    conn.execute(
        update(resources)
        .where(resources.c.id == bindparam("pk"))
        .values(
            status=DELETED,
            deleted=True,
            state_id=bindparam("state_id"),
            latest_ci_id=bindparam("latest"),
            config_hash="deleted",
            doc_hash="deleted",
        ),
        updates,
    )
    _replace_edges(conn, [u["pk"] for u in updates], [])


# ---------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class Filters:
    """Which current CIs to list. Empty tuples mean "any"."""

    types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()
    include_deleted: bool = False


def _filtered(query: Any, filters: Filters) -> Any:
    if filters.types:
        query = query.where(resources.c.resource_type.in_(filters.types))
    if filters.regions:
        query = query.where(resources.c.region.in_(filters.regions))
    if filters.accounts:
        query = query.where(resources.c.account_id.in_(filters.accounts))
    if not filters.include_deleted:
        query = query.where(resources.c.deleted.is_(False))
    for key, value in filters.tags:
        cond = [resource_tags.c.resource_pk == resources.c.id, resource_tags.c.key == key]
        if value is not None:
            cond.append(resource_tags.c.value == value)
        query = query.where(select(resource_tags.c.resource_pk).where(*cond).exists())
    return query


def current(conn: Connection, filters: Filters = Filters()) -> list[ConfigurationItem]:
    """The latest CI of every resource matching ``filters``, ordered by type, region, id."""
    query = _filtered(
        select(configuration_items.c.document).join(
            resources, resources.c.latest_ci_id == configuration_items.c.id
        ),
        filters,
    ).order_by(resources.c.resource_type, resources.c.account_id, resources.c.region, resources.c.resource_id)
    return [ConfigurationItem.from_dict(doc) for doc in conn.execute(query).scalars()]


def latest_of(
    conn: Connection,
    account_id: str,
    resource_type: str,
    resource_ids: Sequence[str],
    *,
    regions: Sequence[str] = (),
) -> list[ConfigurationItem]:
    """The latest CI of each named resource of one account and type (any region unless given)."""
    out: list[ConfigurationItem] = []
    ids = list(resource_ids)
    for start in range(0, len(ids), 500):
        query = (
            select(configuration_items.c.document)
            .join(resources, resources.c.latest_ci_id == configuration_items.c.id)
            .where(
                resources.c.account_id == account_id,
                resources.c.resource_type == resource_type,
                resources.c.resource_id.in_(ids[start : start + 500]),
            )
        )
        if regions:
            query = query.where(resources.c.region.in_(regions))
        out.extend(ConfigurationItem.from_dict(doc) for doc in conn.execute(query).scalars())
    return out


def counts(conn: Connection, filters: Filters = Filters()) -> list[tuple[str, str, str, int]]:
    """(account, region, type, number of current resources)."""
    query = _filtered(
        select(resources.c.account_id, resources.c.region, resources.c.resource_type, func.count()).group_by(
            resources.c.account_id, resources.c.region, resources.c.resource_type
        ),
        filters,
    ).order_by(resources.c.resource_type, resources.c.region)
    return [(a, r, t, n) for a, r, t, n in conn.execute(query)]


@dataclass(frozen=True)
class ResourceRef:
    """A resource row, without its documents."""

    pk: int
    key: ResourceKey
    resource_name: str | None
    arn: str | None
    status: str
    deleted: bool


def _ref(row: Any) -> ResourceRef:
    return ResourceRef(
        pk=row.id,
        key=ResourceKey(row.account_id, row.region, row.resource_type, row.resource_id),
        resource_name=row.resource_name,
        arn=row.arn,
        status=row.status,
        deleted=row.deleted,
    )


_REF_COLUMNS = (
    resources.c.id,
    resources.c.account_id,
    resources.c.region,
    resources.c.resource_type,
    resources.c.resource_id,
    resources.c.resource_name,
    resources.c.arn,
    resources.c.status,
    resources.c.deleted,
)


def find(
    conn: Connection, ref: str, *, region: str | None = None, resource_type: str | None = None
) -> list[ResourceRef]:
    """Resources known by this id, ARN or name (deleted ones included), narrowed by region/type."""
    query = select(*_REF_COLUMNS).where(
        or_(resources.c.resource_id == ref, resources.c.arn == ref, resources.c.resource_name == ref)
    )
    if region:
        query = query.where(resources.c.region == region)
    if resource_type:
        query = query.where(resources.c.resource_type == resource_type)
    rows = [_ref(r) for r in conn.execute(query.order_by(resources.c.resource_type, resources.c.region))]
    exact = [r for r in rows if r.key.resourceId == ref or r.arn == ref]
    return exact or rows


def find_one(
    conn: Connection, ref: str, *, region: str | None = None, resource_type: str | None = None
) -> ResourceRef:
    """The one resource known by ``ref``; a helpful error when none or several match."""
    found = find(conn, ref, region=region, resource_type=resource_type)
    if not found:
        raise NotFoundError(
            f"no resource with id, ARN or name {ref!r} in the store",
            hint="list what is recorded with `vigil resources`, or run `vigil scan` first",
        )
    if len(found) > 1:
        listed = ", ".join(f"{r.key.resourceType} in {r.key.awsRegion}" for r in found[:6])
        raise NotFoundError(
            f"{ref!r} names {len(found)} resources ({listed})",
            hint="narrow it with --region or --type",
        )
    return found[0]


def history(conn: Connection, pk: int, *, limit: int | None = None) -> list[ConfigurationItem]:
    """The CIs of one resource, oldest first (the newest ``limit`` when given)."""
    query = (
        select(configuration_items.c.document)
        .where(configuration_items.c.resource_pk == pk)
        .order_by(configuration_items.c.state_id.desc())
    )
    if limit:
        query = query.limit(limit)
    docs = list(conn.execute(query).scalars())
    return [ConfigurationItem.from_dict(d) for d in reversed(docs)]


def latest(conn: Connection, pk: int) -> ConfigurationItem:
    doc = conn.execute(
        select(configuration_items.c.document)
        .join(resources, resources.c.latest_ci_id == configuration_items.c.id)
        .where(resources.c.id == pk)
    ).scalar_one()
    return ConfigurationItem.from_dict(doc)


@dataclass(frozen=True)
class Edge:
    source: ResourceKey
    target: ResourceKey
    name: str


@dataclass
class Graph:
    """Resources linked to a start resource, both ways, up to a depth."""

    root: ResourceKey
    nodes: dict[ResourceKey, int] = field(default_factory=dict)  # key -> depth
    edges: list[Edge] = field(default_factory=list)
    names: dict[ResourceKey, str | None] = field(default_factory=dict)


def graph(conn: Connection, start: ResourceRef, depth: int = 1) -> Graph:
    """Breadth-first over relationships, outgoing (this resource names them) and incoming (others name
    this resource). Relationships are within one account (spec §5.2); a target is looked up in its
    region or among global resources."""
    result = Graph(root=start.key, nodes={start.key: 0}, names={start.key: start.resource_name})
    frontier = [start]
    seen_edges: set[tuple[ResourceKey, ResourceKey]] = set()
    for level in range(1, depth + 1):
        next_frontier: list[ResourceRef] = []
        for node in frontier:
            for edge, ref in _neighbours(conn, node):
                pair = (edge.source, edge.target)
                if pair not in seen_edges:
                    seen_edges.add(pair)
                    result.edges.append(edge)
                other = ref.key
                if other not in result.nodes:
                    result.nodes[other] = level
                    result.names[other] = ref.resource_name
                    next_frontier.append(ref)
        frontier = next_frontier
    return result


def _neighbours(conn: Connection, node: ResourceRef) -> list[tuple[Edge, ResourceRef]]:
    account, region = node.key.accountId, node.key.awsRegion
    out: list[tuple[Edge, ResourceRef]] = []
    target = resources.alias("target")
    outgoing = (
        select(relationships.c.name, *[target.c[c.name] for c in _REF_COLUMNS])
        .join(
            target,
            and_(
                target.c.resource_type == relationships.c.target_type,
                target.c.resource_id == relationships.c.target_id,
                target.c.account_id == account,
                target.c.region.in_((region, GLOBAL_REGION)),
            ),
        )
        .where(relationships.c.resource_pk == node.pk)
    )
    for row in conn.execute(outgoing):
        ref = _ref(row)
        out.append((Edge(node.key, ref.key, row.name), ref))
    source = resources.alias("source")
    regions = (region,) if region != GLOBAL_REGION else None
    incoming = (
        select(relationships.c.name, *[source.c[c.name] for c in _REF_COLUMNS])
        .join(source, source.c.id == relationships.c.resource_pk)
        .where(
            relationships.c.target_type == node.key.resourceType,
            relationships.c.target_id == node.key.resourceId,
            source.c.account_id == account,
        )
    )
    if regions:
        incoming = incoming.where(source.c.region.in_((region, GLOBAL_REGION)))
    for row in conn.execute(incoming):
        ref = _ref(row)
        out.append((Edge(ref.key, node.key, row.name), ref))
    return out
