"""Where CloudTrail records come from: local files, stdin, S3, SQS and LookupEvents.

Every source yields :class:`Batch` es; a batch carries the source's whole position after it
(``checkpoint``), which the pipeline stores in the same transaction as the batch's effects and hands
back to :meth:`Source.batches` to resume. Input that is not CloudTrail is never raised past
``batches()``: it is returned as :class:`Quarantined` entries with the reason, and the rest goes on.
Only a source that cannot be read at all (no such bucket or queue, access denied to list it, network
down) raises :class:`SourceUnavailable`.

The package: ``base`` (the records and stream reading), ``files`` (paths, stdin), ``s3``, ``sqs`` and
``lookup``; this module opens a source from its spec and re-exports the public names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import botocore.exceptions

from vigil.aws.session import AwsSession
from vigil.errors import UsageError
from vigil.settings import AwsSettings
from vigil.trail.sources.base import (
    BATCH_LINES,
    LINES_SUFFIXES,
    LOG_SUFFIXES,
    Batch,
    Checkpoint,
    Quarantined,
    Source,
    SourceUnavailable,
    _aws_failure,
)
from vigil.trail.sources.files import PathSource, StdinSource
from vigil.trail.sources.lookup import HISTORY, LOOKUP_RATE, LookupEventsSource
from vigil.trail.sources.s3 import (
    GROUP_RE,
    OBJECT_ERRORS,
    S3Source,
    decode_object,
    fetch_object,
    is_log_key,
    key_time,
    read_object,
)
from vigil.trail.sources.sqs import MESSAGE_KINDS, SqsSource, _queue_region, message_objects

__all__ = [
    "ACCEPTED_FORMS",
    "BATCH_LINES",
    "GROUP_RE",
    "HISTORY",
    "LINES_SUFFIXES",
    "LOG_SUFFIXES",
    "LOOKUP_RATE",
    "MESSAGE_KINDS",
    "OBJECT_ERRORS",
    "OPENERS",
    "Batch",
    "Checkpoint",
    "LookupEventsSource",
    "PathSource",
    "Quarantined",
    "S3Source",
    "Source",
    "SourceUnavailable",
    "SqsSource",
    "StdinSource",
    "decode_object",
    "fetch_object",
    "is_log_key",
    "key_time",
    "message_objects",
    "open_source",
    "read_object",
]


ACCEPTED_FORMS = (
    "'-' (standard input)",
    "s3://bucket[/prefix]",
    "sqs://<queue name or URL>",
    "https://sqs.<region>.amazonaws.com/<account>/<queue>",
    "lookup-events[:<region>]",
    "a local file or directory",
)


def _usage(spec: str, problem: str) -> UsageError:
    return UsageError(
        f"{problem}: {spec!r}", hint=f"give one of: {', '.join(ACCEPTED_FORMS)}", where="event source"
    )


def _session(session: AwsSession | None) -> AwsSession:
    return session or AwsSession(AwsSettings())


def _open_s3(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    bucket, _, prefix = spec.removeprefix("s3://").partition("/")
    if not bucket:
        raise _usage(spec, "no bucket named")
    return S3Source(_session(session), bucket, prefix)


def _open_sqs(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    target = spec.removeprefix("sqs://")
    if not target:
        raise _usage(spec, "no queue named")
    aws = _session(session)
    if target.startswith(("https://", "http://")):
        return SqsSource(aws, target, _queue_region(target))
    try:
        url = aws.client("sqs").get_queue_url(QueueName=target)["QueueUrl"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise _aws_failure(
            f"find the queue {target!r}",
            exc,
            where=spec,
            hint="check the queue name, the region and sqs:GetQueueUrl",
        ) from exc
    return SqsSource(aws, str(url))


def _open_lookup(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    _, _, region = spec.partition(":")
    aws = _session(session)
    return LookupEventsSource(aws, region or aws.settings.home_region)


def _open_stdin(spec: str, session: AwsSession | None, stdin: BinaryIO | None) -> Source:
    return StdinSource(stdin or sys.stdin.buffer)


# Spec test → opener, checked in order; anything else is a local path.
OPENERS: tuple[
    tuple[Callable[[str], bool], Callable[[str, AwsSession | None, BinaryIO | None], Source]], ...
] = (
    (lambda s: s == "-", _open_stdin),
    (lambda s: s.startswith("s3://"), _open_s3),
    (lambda s: s.startswith("sqs://"), _open_sqs),
    (
        lambda s: s.startswith("https://") and _queue_region(s) is not None,
        lambda s, a, i: _open_sqs(f"sqs://{s}", a, i),
    ),
    (lambda s: s == "lookup-events" or s.startswith("lookup-events:"), _open_lookup),
)


def open_source(spec: str, *, session: AwsSession | None = None, stdin: BinaryIO | None = None) -> Source:
    """The source ``spec`` names (see :data:`ACCEPTED_FORMS`); raises UsageError for anything else."""
    for test, opener in OPENERS:
        if test(spec):
            return opener(spec, session, stdin)
    if "://" in spec:
        raise _usage(spec, "unsupported event source")
    path = Path(spec).expanduser()
    if not path.exists():
        raise _usage(spec, "no such file or directory")
    return PathSource(path)
