"""What every collector shares: the fetch context, the result of a collection, and CI builders.

A collector is ``collect(fx, region, ids) -> Batch``. It only fetches (through ``fx``, which
memoises describe calls for the whole scan, so the nine EC2 types of a region share nine API calls)
and turns responses into CIs with the pure helpers below. ``ids`` (ids, names or ARNs), when given,
asks for those resources only (a targeted re-record); ``None`` means "all of them".

Errors: a failed list call raises (the recorder records the unit as failed and deletes nothing);
a failed per-resource call is an ``ItemFailure`` in the batch (that resource keeps its previous CI;
the unit counts as partial). "Not configured" answers (no bucket policy, no password policy) are not
errors: ``fx.optional`` turns them into ``None``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import botocore.exceptions
import jmespath
from botocore.parsers import ResponseParserError

from vigil.aws.session import AwsSession, error_code
from vigil.model import NOT_APPLICABLE_AZ, ConfigurationItem, Relationship, iso_ms

# What a failed AWS call raises: an error answer, a transport/credential problem, or a response that
# is not AWS's (an endpoint or proxy answering HTML, an emulator's unimplemented call).
AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ResponseParserError)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ItemFailure:
    """One resource whose details could not be read (the rest of its unit was)."""

    resource_id: str
    code: str
    message: str


@dataclass
class Batch:
    """What one collection unit produced."""

    cis: list[ConfigurationItem] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)

    def fail(self, resource_id: str, exc: BaseException) -> None:
        code, message = error_code(exc)
        self.failures.append(ItemFailure(resource_id, code, message))


class Fetch:
    """Per-scan, per-account fetch context: clients, memoised list calls, a small fan-out pool."""

    def __init__(
        self,
        session: AwsSession,
        account_id: str,
        *,
        now: datetime,
        partition: str = "aws",
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        self.session = session
        self.account_id = account_id
        self.now = now
        self.partition = partition
        self.home_region = session.settings.home_region
        self._lock = threading.Lock()
        self._memo: dict[Any, Future[Any]] = {}
        self._pool = pool

    # -- calls ---------------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region)

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per key for this scan, even when threads ask at the same time."""
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if owner:
                future = Future()
                self._memo[key] = future
        assert future is not None
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
                raise
        return future.result()

    def items(self, service: str, region: str | None, operation: str, key: str, **params: Any) -> list[Any]:
        """Every item of a (paginated) list/describe call, memoised for the scan.

        ``key`` is a JMESPath into each page (``Reservations[].Instances[]``)."""
        frozen = tuple(sorted((k, repr(v)) for k, v in params.items()))
        return self.memo(
            (service, region, operation, key, frozen),
            lambda: self._fetch_all(service, region, operation, key, params),
        )

    def _fetch_all(
        self, service: str, region: str | None, operation: str, key: str, params: Mapping[str, Any]
    ) -> list[Any]:
        client = self.client(service, region)
        expression = jmespath.compile(key)
        out: list[Any] = []
        if client.can_paginate(operation):
            for page in client.get_paginator(operation).paginate(**params):
                out.extend(expression.search(page) or [])
        else:
            out.extend(expression.search(getattr(client, operation)(**params)) or [])
        return out

    def optional(self, call: Callable[[], T], absent: Iterable[str]) -> T | None:
        """Run ``call``; an error whose code is in ``absent`` means "not configured" → None."""
        try:
            return call()
        except botocore.exceptions.ClientError as exc:
            if error_code(exc)[0] in set(absent):
                return None
            raise

    def each(
        self, items: Sequence[T], build: Callable[[T], ConfigurationItem], id_of: Callable[[T], str]
    ) -> Batch:
        """Build one CI per item (fanned out); an AWS error on one item is that item's failure."""

        def one(item: T) -> ConfigurationItem | BaseException:
            try:
                return build(item)
            except AWS_ERRORS as exc:
                return exc

        batch = Batch()
        for item, result in zip(items, self.parallel(one, items), strict=True):
            if isinstance(result, BaseException):
                batch.fail(id_of(item), result)
            else:
                batch.cis.append(result)
        return batch

    def parallel(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(i) for i in items]``, fanned out on the scan's detail pool when there is one."""
        if self._pool is None or len(items) < 2:
            return [fn(i) for i in items]
        return list(self._pool.map(fn, items))

    # -- names ---------------------------------------------------------------------------------

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


# ---------------------------------------------------------------------------------------------
# pure helpers


def camel_key(key: str) -> str:
    """AWS Config's property name for a service field: ``VpcId`` → ``vpcId``,
    ``SSEAlgorithm`` → ``sseAlgorithm``, ``KMSMasterKeyID`` → ``kmsMasterKeyID``, ``ARN`` → ``arn``."""
    if not key or not key[0].isupper():
        return key
    run = 0
    while run < len(key) and key[run].isupper():
        run += 1
    if run == len(key):
        return key.lower()
    if run == 1:
        return key[0].lower() + key[1:]
    return key[: run - 1].lower() + key[run - 1 :]


VERBATIM_KEYS = frozenset({"PolicyDocument", "AssumeRolePolicyDocument", "Document", "Tags"})


def to_config(value: Any, *, verbatim: frozenset[str] = VERBATIM_KEYS) -> Any:
    """A boto3 response → AWS Config's ``configuration`` form: camelCase keys, ISO timestamps.

    Values under ``verbatim`` keys (policy documents) keep their keys; ``Tags`` lists become
    ``tags: [{key, value}]`` as AWS Config writes them."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "Tags" and isinstance(v, list):
                out["tags"] = [{"key": t.get("Key"), "value": t.get("Value")} for t in v]
            elif k in verbatim:
                out[camel_key(k)] = _times(v)
            else:
                out[camel_key(k)] = to_config(v, verbatim=verbatim)
        return out
    if isinstance(value, list):
        return [to_config(v, verbatim=verbatim) for v in value]
    return _times(value)


def _times(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_ms(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    return value


def tag_map(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """``[{Key, Value}]`` (any case) → ``{key: value}``."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        value = tag.get("Value", tag.get("value", tag.get("TagValue")))
        if key is not None:
            out[str(key)] = "" if value is None else str(value)
    return out


def rel(
    resource_type: str, resource_id: str | None, name: str, resource_name: str | None = None
) -> Relationship:
    return Relationship(
        resourceType=resource_type, resourceId=resource_id, relationshipName=name, resourceName=resource_name
    )


def unique(relationships: Iterable[Relationship]) -> tuple[Relationship, ...]:
    """Relationships without duplicates, in a stable order (name, type, id)."""
    seen = {(r.relationshipName, r.resourceType, r.resourceId): r for r in relationships if r.resourceId}
    return tuple(seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1], k[2] or "")))


def make_ci(
    fx: Fetch,
    resource_type: str,
    region: str,
    resource_id: str,
    *,
    configuration: Mapping[str, Any],
    name: str | None = None,
    arn: str | None = None,
    tags: Mapping[str, str] | None = None,
    relationships: Iterable[Relationship] = (),
    supplementary: Mapping[str, Any] | None = None,
    availability_zone: str | None = None,
    created: datetime | str | None = None,
) -> ConfigurationItem:
    """A CI as collected; the store sets capture time, status and state id when it records it."""
    if isinstance(created, datetime):
        created = iso_ms(created)
    return ConfigurationItem(
        accountId=fx.account_id,
        awsRegion=region,
        resourceType=resource_type,
        resourceId=resource_id,
        resourceName=name,
        arn=arn,
        configurationItemCaptureTime=iso_ms(fx.now),
        availabilityZone=availability_zone or NOT_APPLICABLE_AZ,
        resourceCreationTime=created,
        tags=dict(tags or {}),
        relationships=unique(relationships),
        configuration=dict(configuration),
        supplementaryConfiguration=dict(supplementary or {}),
    )


def wanted(ids: frozenset[str] | None, *refs: str | None) -> bool:
    """Whether a resource known by any of ``refs`` (id, name, ARN) is asked for."""
    return ids is None or any(r in ids for r in refs if r)


def name_tag(tags: Mapping[str, str]) -> str | None:
    return tags.get("Name") or None
