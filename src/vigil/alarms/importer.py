"""An account's own CloudWatch metric filters and alarms, imported so they run locally
(``vigil alarms import``).

Three steps, so that the decisions can be tested without AWS:

- :func:`fetch` (I/O): DescribeMetricFilters and DescribeAlarms (metric and composite) in each
  region, through anything with ``client(service, region)`` (an ``AwsSession``). A (region,
  service) that cannot be read (AccessDenied, no endpoint) is recorded with AWS's error and the
  rest goes on: the command then exits 3, like ``vigil scan``.
- :func:`plan_import` (pure): what is stored, what is stored but will see no datapoints here
  (alarms on AWS service metrics such as ``AWS/EC2 CPUUtilization``: only metric filters publish
  metrics in Vigil), and what is not imported and why (metric math, percentiles, composite alarms
  whose children are not imported, names the config already uses, filters whose pattern Vigil
  cannot compile).
- :func:`import_definitions` (wiring): stores the plan in one transaction, one origin
  ``import:<account>/<region>`` per region; importing again replaces that origin's definitions,
  and a kind that could not be read keeps its previous import. The resulting catalog is built
  before the commit, so an import can never leave definitions that stop other commands.

Bodies are stored in AWS's own shapes (a DescribeMetricFilters ``metricFilters`` item, a
DescribeAlarms ``MetricAlarms`` / ``CompositeAlarms`` item), timestamps as ISO 8601 text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from vigil.alarms.aws_shape import composite_from_aws, definition_from_aws
from vigil.alarms.composite import CompositeAlarmDefinition, missing_alarms
from vigil.alarms.runner import check_statistic
from vigil.errors import ConfigError, UsageError
from vigil.logs.metric_filters import MetricFilter, MetricFilterError, MetricTransformation

if TYPE_CHECKING:
    from vigil.engine import Context

FILTER = "metric-filter"
ALARM = "alarm"
COMPOSITE = "composite-alarm"
KINDS = (FILTER, ALARM, COMPOSITE)

#: The services read, by what they give: service → DescribeX operation (for messages).
SERVICES: dict[str, str] = {"logs": "DescribeMetricFilters", "cloudwatch": "DescribeAlarms"}


class Clients(Protocol):
    """What :func:`fetch` needs of an ``AwsSession``."""

    def client(self, service: str, region: str | None = None) -> Any: ...


# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Unreadable:
    """One (region, service) that could not be read, with AWS's error."""

    region: str
    service: str
    code: str
    message: str


@dataclass(frozen=True)
class RegionRead:
    """What one region gave; None where the service could not be read."""

    region: str
    filters: tuple[dict[str, Any], ...] | None
    metric_alarms: tuple[dict[str, Any], ...] | None
    composite_alarms: tuple[dict[str, Any], ...] | None


@dataclass(frozen=True)
class Fetched:
    account: str
    regions: tuple[RegionRead, ...]
    unreadable: tuple[Unreadable, ...] = ()


@dataclass(frozen=True)
class Note:
    """Something about one definition: why it is not imported, or why it will not see datapoints."""

    kind: str  # metric-filter | alarm | composite-alarm
    name: str
    region: str
    message: str


@dataclass(frozen=True)
class RegionPlan:
    """The bodies to store for one origin; a kind that is None was not read and is left as it is."""

    region: str
    origin: str
    bodies: dict[str, dict[str, dict[str, Any]] | None]  # kind → (stored name → body)


@dataclass(frozen=True)
class ImportPlan:
    account: str
    regions: tuple[RegionPlan, ...]
    skipped: tuple[Note, ...] = ()  # not imported
    warnings: tuple[Note, ...] = ()  # imported, but will not run as in AWS
    unreadable: tuple[Unreadable, ...] = ()

    def imported(self, kind: str) -> list[tuple[str, str]]:
        """(region, name) of every definition of ``kind`` this import stores."""
        return [(r.region, name) for r in self.regions for name in sorted((r.bodies.get(kind) or {}).keys())]

    @property
    def partial(self) -> bool:
        return bool(self.unreadable)

    def as_dict(self) -> dict[str, Any]:
        def notes(items: Iterable[Note]) -> list[dict[str, str]]:
            return [{"kind": n.kind, "name": n.name, "region": n.region, "reason": n.message} for n in items]

        return {
            "account": self.account,
            "regions": [r.region for r in self.regions],
            "imported": {
                "metricFilters": [{"region": r, "name": n} for r, n in self.imported(FILTER)],
                "metricAlarms": [{"region": r, "name": n} for r, n in self.imported(ALARM)],
                "compositeAlarms": [{"region": r, "name": n} for r, n in self.imported(COMPOSITE)],
            },
            "notImported": notes(self.skipped),
            "warnings": notes(self.warnings),
            "unreadable": [
                {"region": u.region, "service": u.service, "code": u.code, "message": u.message}
                for u in self.unreadable
            ],
        }


def origin_of(account: str, region: str) -> str:
    return f"import:{account}/{region}"


# ------------------------------------------------------------------------------------------ fetch


def fetch(clients: Clients, account: str, regions: Sequence[str]) -> Fetched:
    """Read every region's metric filters and alarms; a failed (region, service) is recorded."""
    from botocore.exceptions import BotoCoreError, ClientError

    from vigil.aws.session import error_code

    reads: list[RegionRead] = []
    unreadable: list[Unreadable] = []

    def attempt(region: str, service: str, read: Callable[[Any], Any]) -> Any:
        try:
            return read(clients.client(service, region))
        except (ClientError, BotoCoreError) as exc:
            code, message = error_code(exc)
            unreadable.append(Unreadable(region, service, code, message))
            return None

    for region in regions:
        filters = attempt(region, "logs", _metric_filters)
        alarms = attempt(region, "cloudwatch", _alarms)
        reads.append(
            RegionRead(
                region,
                filters,
                None if alarms is None else alarms[0],
                None if alarms is None else alarms[1],
            )
        )
    return Fetched(account, tuple(reads), tuple(unreadable))


def _metric_filters(logs: Any) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for page in logs.get_paginator("describe_metric_filters").paginate():
        out.extend(json_safe(item) for item in page.get("metricFilters", ()))
    return tuple(out)


def _alarms(cloudwatch: Any) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    metric: list[dict[str, Any]] = []
    composite: list[dict[str, Any]] = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    for page in pages:
        metric.extend(json_safe(item) for item in page.get("MetricAlarms", ()))
        composite.extend(json_safe(item) for item in page.get("CompositeAlarms", ()))
    return tuple(metric), tuple(composite)


def json_safe(value: Any) -> Any:
    """A boto3 answer as JSON-ready data: datetimes as ISO 8601 text (UTC), the rest as it is."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------- plan


def filter_from_aws(body: Mapping[str, Any]) -> MetricFilter:
    """A DescribeMetricFilters item (or PutMetricFilter's parameters) as a :class:`MetricFilter`.

    Raises :class:`MetricFilterError` naming the field (the item's own shape, or what Vigil's
    filter-pattern compiler refuses)."""
    name = str(body.get("filterName") or "")
    try:
        transformations = tuple(
            MetricTransformation(
                t["metricName"],
                t["metricNamespace"],
                t["metricValue"],
                t.get("defaultValue"),
                dict(t.get("dimensions") or {}),
                t.get("unit"),
            )
            for t in body.get("metricTransformations") or ()
        )
        return MetricFilter(name, body["logGroupName"], body.get("filterPattern") or "", transformations)
    except (KeyError, TypeError, AttributeError) as exc:
        raise MetricFilterError(
            filter_name=name or "?",
            field="metricTransformations" if not isinstance(exc, KeyError) else str(exc).strip("'"),
            problem=f"is missing or malformed ({type(exc).__name__}: {exc})",
            hint="the item must be in DescribeMetricFilters' shape",
        ) from exc


#: A published metric: (namespace, name, dimension names).
Published = tuple[str, str, frozenset[str]]


def published(filters: Iterable[MetricFilter]) -> set[Published]:
    return {
        (t.metric_namespace, t.metric_name, frozenset(t.dimensions))
        for f in filters
        for t in f.transformations
    }


def _problems(exc: ConfigError) -> str:
    return "; ".join(p.message for p in exc.problems)


def _metric_text(namespace: str, name: str, dimensions: Iterable[tuple[str, str]]) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in dimensions)
    return f"{namespace} {name}" + (f" ({dims})" if dims else "")


def _filter_signature(body: Mapping[str, Any]) -> tuple[Any, ...]:
    transformations = tuple(
        (t.get("metricNamespace"), t.get("metricName"), str(t.get("metricValue")), repr(t.get("dimensions")))
        for t in body.get("metricTransformations") or ()
    )
    return (body.get("logGroupName"), body.get("filterPattern") or "", transformations)


@dataclass
class _Planner:
    """The state of one plan: bodies chosen so far, and the notes."""

    account: str
    local_alarms: Mapping[str, str]  # name → where it is defined ("config", "monitoring pack", …)
    local_filters: Sequence[MetricFilter]
    trail_log_groups: Collection[str]
    log_group: str | None
    default_log_group: str
    bodies: dict[str, dict[str, dict[str, dict[str, Any]] | None]] = field(default_factory=dict)
    skipped: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)

    def filters(self, reads: Sequence[RegionRead]) -> list[MetricFilter]:
        kept: list[MetricFilter] = []
        seen_names: dict[str, str] = {}  # stored name → region
        signatures: dict[tuple[Any, ...], tuple[str, str]] = {}  # → (region, name)
        local_metrics = {
            (f.log_group, t.metric_namespace, t.metric_name): f.name
            for f in self.local_filters
            for t in f.transformations
        }
        for read in reads:
            chosen: dict[str, dict[str, Any]] | None = None if read.filters is None else {}
            self.bodies.setdefault(read.region, {})[FILTER] = chosen
            for raw in read.filters or ():
                name = str(raw.get("filterName") or "")
                body = dict(raw)
                if self.log_group:
                    body["logGroupName"] = self.log_group
                try:
                    compiled = filter_from_aws(body)
                except MetricFilterError as exc:
                    self.skipped.append(Note(FILTER, name, read.region, f"Vigil cannot run it: {exc}"))
                    continue
                signature = _filter_signature(body)
                if signature in signatures:
                    first_region, first_name = signatures[signature]
                    self.skipped.append(
                        Note(
                            FILTER,
                            name,
                            read.region,
                            f"same log group, pattern and metric as {first_name!r} ({first_region}), "
                            "imported once so that events are not counted twice",
                        )
                    )
                    continue
                signatures[signature] = (read.region, name)
                key = name if name not in seen_names else f"{name} ({read.region} {raw.get('logGroupName')})"
                seen_names[key] = read.region
                assert chosen is not None
                chosen[key] = body
                kept.append(compiled)
                group = compiled.log_group
                for t in compiled.transformations:
                    twin = local_metrics.get((group, t.metric_namespace, t.metric_name))
                    if twin is not None:
                        self.warnings.append(
                            Note(
                                FILTER,
                                name,
                                read.region,
                                f"publishes {t.metric_namespace} {t.metric_name} in log group {group}, as "
                                f"the local filter {twin!r} does: an event both match is counted twice",
                            )
                        )
                if group not in self.trail_log_groups:
                    self.warnings.append(
                        Note(
                            FILTER,
                            name,
                            read.region,
                            f"watches log group {group}, which no trail delivers to, so it will count "
                            f"nothing: add a trail for it in the config (events.trails: [{{name: …, "
                            f"log_group: {group}}}]), or import again with --log-group "
                            f"{self.default_log_group} to run it on the default trail's events",
                        )
                    )
        return kept

    def alarms(self, reads: Sequence[RegionRead], metrics: set[Published]) -> dict[str, str]:
        """Metric alarms that can run; returns name → the region each was imported from."""
        names: dict[str, str] = {}
        for read in reads:
            chosen: dict[str, dict[str, Any]] | None = None if read.metric_alarms is None else {}
            self.bodies.setdefault(read.region, {})[ALARM] = chosen
            for body in read.metric_alarms or ():
                name = str(body.get("AlarmName") or "")
                if not self._name_free(ALARM, name, read.region, names):
                    continue
                try:
                    definition = definition_from_aws(body)
                    check_statistic(definition)
                except ConfigError as exc:
                    self.skipped.append(Note(ALARM, name, read.region, _problems(exc)))
                    continue
                assert chosen is not None
                chosen[name] = dict(body)
                names[name] = read.region
                m = definition.metric
                if (m.namespace, m.name, frozenset(k for k, _ in m.dimensions)) not in metrics:
                    self.warnings.append(
                        Note(
                            ALARM,
                            name,
                            read.region,
                            f"no local datapoints: metric {_metric_text(m.namespace, m.name, m.dimensions)} "
                            "is not published by any metric filter",
                        )
                    )
        return names

    def composites(self, reads: Sequence[RegionRead], known: set[str], alarms: Mapping[str, str]) -> None:
        names = dict(alarms)  # composite names share the namespace with metric alarms
        parsed: dict[str, tuple[str, CompositeAlarmDefinition, dict[str, Any]]] = {}
        for read in reads:
            self.bodies.setdefault(read.region, {})[COMPOSITE] = None if read.composite_alarms is None else {}
            for body in read.composite_alarms or ():
                name = str(body.get("AlarmName") or "")
                if not self._name_free(COMPOSITE, name, read.region, names):
                    continue
                try:
                    parsed[name] = (read.region, composite_from_aws(body), dict(body))
                except (ConfigError, UsageError) as exc:
                    reason = _problems(exc) if isinstance(exc, ConfigError) else exc.message
                    self.skipped.append(Note(COMPOSITE, name, read.region, reason))
                    continue
                names[name] = read.region
        # a composite runs only when all its children do; dropping one may strand another
        available = set(known) | set(parsed)
        changed = True
        while changed:
            changed = False
            for name, (region, composite, _) in sorted(parsed.items()):
                if name not in available:
                    continue
                missing = missing_alarms(composite.rule, available)
                if missing:
                    available.discard(name)
                    changed = True
                    self.skipped.append(
                        Note(
                            COMPOSITE,
                            name,
                            region,
                            f"its rule names alarms that are not imported or not evaluated here: "
                            f"{', '.join(missing)}",
                        )
                    )
        for name, (region, _, body) in parsed.items():
            chosen = self.bodies[region][COMPOSITE]
            if name in available and chosen is not None:
                chosen[name] = body

    def _name_free(self, kind: str, name: str, region: str, imported: Mapping[str, str]) -> bool:
        if name in self.local_alarms:
            self.skipped.append(
                Note(
                    kind,
                    name,
                    region,
                    f"an alarm of this name is defined by the {self.local_alarms[name]}; that one is kept "
                    "(rename one of them to have both)",
                )
            )
            return False
        if name in imported:
            self.skipped.append(
                Note(
                    kind,
                    name,
                    region,
                    f"an alarm of this name was imported from {imported[name]} already; alarm names are "
                    "one namespace in Vigil, so import the regions one at a time with different names",
                )
            )
            return False
        return True


def plan_import(
    fetched: Fetched,
    *,
    local_alarms: Mapping[str, str] | None = None,
    local_filters: Sequence[MetricFilter] = (),
    other_alarms: Collection[str] = (),
    trail_log_groups: Collection[str] = (),
    log_group: str | None = None,
    default_log_group: str = "aws-cloudtrail-logs-vigil",
) -> ImportPlan:
    """Decide what of ``fetched`` is stored, and say why anything is not or will not run.

    ``local_alarms``: names the config and the monitoring pack define (name → which), they win;
    ``local_filters``: filters already running (config, pack, other imports), whose metrics alarms
    can watch; ``other_alarms``: alarm names from other imports that composites may name;
    ``trail_log_groups``: where trails deliver; ``log_group``: re-target every imported filter there.
    """
    local_alarms = local_alarms or {}
    planner = _Planner(
        fetched.account, local_alarms, local_filters, trail_log_groups, log_group, default_log_group
    )
    reads = fetched.regions
    imported_filters = planner.filters(reads)
    metrics = published([*local_filters, *imported_filters])
    alarms = planner.alarms(reads, metrics)
    planner.composites(reads, set(local_alarms) | set(other_alarms) | set(alarms), alarms)
    return ImportPlan(
        fetched.account,
        tuple(
            RegionPlan(r.region, origin_of(fetched.account, r.region), planner.bodies.get(r.region, {}))
            for r in reads
        ),
        tuple(planner.skipped),
        tuple(planner.warnings),
        fetched.unreadable,
    )


# ----------------------------------------------------------------------------------------- wiring


def import_definitions(
    ctx: Context,
    *,
    regions: Sequence[str] = (),
    log_group: str | None = None,
    now: datetime | None = None,
) -> ImportPlan:
    """Read the account's filters and alarms through ``ctx.session`` and store them (one transaction).

    Regions: those given, else the configured ones, else the account's enabled regions (as ``vigil
    scan``). Raises :class:`ConfigError` (nothing stored) if the result would not form a catalog.
    """
    from vigil.engine_events import build_catalog
    from vigil.store import alarms as alarm_store

    now = now or datetime.now(UTC)
    session = ctx.session
    account = session.account_id()
    chosen = list(dict.fromkeys(regions)) or session.regions()
    fetched = fetch(session, account, chosen)
    events = ctx.settings.events
    local = build_catalog(events)
    with ctx.store.begin() as conn:
        replaced = {
            (kind, origin_of(account, read.region))
            for read in fetched.regions
            for kind, got in (
                (FILTER, read.filters),
                (ALARM, read.metric_alarms),
                (COMPOSITE, read.composite_alarms),
            )
            if got is not None
        }
        kept = {
            kind: [
                (n, b, o) for n, b, o in alarm_store.load_definitions(conn, kind) if (kind, o) not in replaced
            ]
            for kind in KINDS
        }
        other_filters: list[MetricFilter] = []
        for _, body, _ in kept[FILTER]:
            try:
                other_filters.append(filter_from_aws(body))
            except MetricFilterError:
                continue  # the catalog already warns about it whenever it is built
        plan = plan_import(
            fetched,
            local_alarms={
                **{
                    name: f"earlier {origin}"  # another account's import keeps its alarms
                    for kind in (ALARM, COMPOSITE)
                    for name, _, origin in kept[kind]
                },
                **{name: origin for name, origin in local.origins.items() if not name.startswith("filter:")},
            },
            local_filters=[*local.filters, *other_filters],
            other_alarms={n for n, _, _ in kept[ALARM]} | {n for n, _, _ in kept[COMPOSITE]},
            trail_log_groups={t.log_group for t in local.trails},
            log_group=log_group,
            default_log_group=events.default_log_group,
        )
        for region_plan in plan.regions:
            for kind, bodies in region_plan.bodies.items():
                if bodies is not None:
                    alarm_store.save_definitions(conn, kind, bodies, region_plan.origin, now)
        # the catalog every other command builds must still build: check before committing
        build_catalog(
            events,
            alarm_store.load_definitions(conn, ALARM),
            alarm_store.load_definitions(conn, COMPOSITE),
        )
    return plan
