"""The one place that wires the parts together: settings → AWS session and store → recorder.

Commands (CLI, later the API and the watch loop) build a :class:`Context` from the settings and call
the functions here; the parts below (recorder, store, rules, …) never reach for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from vigil.errors import ConfigError, Problem
from vigil.settings import LoadedSettings, Settings, load_settings
from vigil.store import Store, open_store

if TYPE_CHECKING:  # boto3 is imported only by the commands that call AWS
    from pathlib import Path

    from vigil.aws import recorder
    from vigil.aws.session import AwsSession
    from vigil.interop.awsconfig import ExportFormat
    from vigil.interop.transfer import ExportReport, ImportListener, ImportReport
    from vigil.store.inventory import Filters


@dataclass
class Context:
    """Settings plus the store and AWS session they describe, opened on first use."""

    loaded: LoadedSettings
    _store: Store | None = field(default=None, repr=False)
    _session: AwsSession | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db)
        return self._store

    @property
    def session(self) -> AwsSession:
        if self._session is None:
            from vigil.aws.session import AwsSession

            self._session = AwsSession(self.settings.aws)
        return self._session

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def context(
    config: str | None = None,
    *,
    db: str | None = None,
    aws: dict[str, Any] | None = None,
    recorder_settings: dict[str, Any] | None = None,
) -> Context:
    """Load the settings (file, VIGIL_*), apply command-line overrides, and validate them all."""
    loaded = load_settings(config, db=db)
    updates = {k: v for k, v in (aws or {}).items() if v is not None}
    rec_updates = {k: v for k, v in (recorder_settings or {}).items() if v}
    if updates or rec_updates:
        current = loaded.settings
        data = {
            "db": current.db,
            "aws": {name: getattr(current.aws, name) for name in type(current.aws).model_fields} | updates,
            "recorder": {
                name: getattr(current.recorder, name) for name in type(current.recorder).model_fields
            }
            | rec_updates,
        }
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                [
                    Problem(
                        "command line",
                        f"--{str(err['loc'][-1]).replace('_', '-')}: {err['msg']}",
                        "see `vigil scan --help`",
                    )
                    for err in exc.errors()
                ]
            ) from exc
        loaded = LoadedSettings(settings=settings, path=loaded.path, env_sources=loaded.env_sources)
    return Context(loaded)


def scan(
    ctx: Context,
    *,
    listener: recorder.Listener | None = None,
) -> recorder.ScanReport:
    """Record every selected type in every region (AWS Config's full snapshot)."""
    from vigil.aws import recorder

    rec = ctx.settings.recorder
    return recorder.scan(
        ctx.session,
        ctx.store,
        types=rec.resource_types,
        exclude=rec.exclude_resource_types,
        listener=listener,
    )


def rerecord(
    ctx: Context, requests: Sequence[recorder.Request], *, listener: recorder.Listener | None = None
) -> recorder.ScanReport:
    """Re-record only the given resources (what a CloudTrail event changed)."""
    from vigil.aws import recorder

    return recorder.rerecord(ctx.session, ctx.store, requests, listener=listener)


def import_config(
    ctx: Context, targets: Sequence[str], *, listener: ImportListener | None = None
) -> ImportReport:
    """Bring AWS Config history/snapshot files or API output (local or ``s3://``) into the store."""
    from vigil.aws.resources import RESOURCE_TYPES
    from vigil.errors import UsageError
    from vigil.interop import transfer

    files, ignored = transfer.gather(targets, lambda: ctx.session)
    if not files:
        raise UsageError(
            f"no .json or .json.gz files in {', '.join(targets)}",
            hint="point at AWS Config's delivery files (AWSLogs/<account>/Config/...) or API output saved as JSON",
        )

    def volatile(resource_type: str) -> tuple[str, ...]:
        known = RESOURCE_TYPES.get(resource_type)
        return known.volatile if known else ()

    return transfer.import_files(
        ctx.store, files, origin=", ".join(targets), ignored=ignored, volatile=volatile, listener=listener
    )


def export_config(ctx: Context, out: Path, fmt: ExportFormat, filters: Filters) -> ExportReport:
    """Write the store in AWS Config's shapes (history files, snapshot files or API output)."""
    from vigil.interop import transfer

    return transfer.export(ctx.store, out, fmt, home_region=ctx.settings.aws.home_region, filters=filters)
