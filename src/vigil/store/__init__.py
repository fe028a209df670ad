"""The store: SQLite (WAL) by default, PostgreSQL by URL; the same schema and migrations on both.

``open_store(target)`` takes what users give to ``--db`` / ``VIGIL_DB``: a file path (SQLite) or a
SQLAlchemy URL (``postgresql://user@host/db`` is read as ``postgresql+psycopg://``). It creates the
file's folder, applies pending Alembic migrations (under an advisory lock on PostgreSQL, so several
processes may start at once) and returns a :class:`Store`. Every failure to open becomes one
:class:`~vigil.errors.StoreUnavailable` that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from vigil.errors import StoreUnavailable, UsageError

HEAD_REVISION = "0006"  # the newest migration in migrations/versions (a test keeps this true)
_MIGRATION_LOCK = 0x76696769  # "vigi": the PostgreSQL advisory lock key for migrations


def _json_dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def resolve_url(target: str | os.PathLike[str]) -> URL:
    """``--db`` text → SQLAlchemy URL. Paths become SQLite URLs; their folder is created."""
    raw = os.fspath(target).strip()
    if not raw:
        raise UsageError("the store location is empty", hint="give --db a path or a URL, or unset VIGIL_DB")
    if "://" in raw:
        try:
            url = make_url(raw)
        except ArgumentError as exc:
            raise UsageError(
                f"cannot read the store URL {raw!r}",
                hint="write it as postgresql://user@host:5432/dbname or sqlite:///path/to/vigil.db",
            ) from exc
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    path = Path(raw).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot create the folder {path.parent} for the store: {exc.strerror}",
            hint="choose a writable location with --db PATH or VIGIL_DB",
        ) from exc
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreUnavailable(
            f"the store file {path} is not writable", hint="fix its permissions or choose another --db PATH"
        )
    if not os.access(path.parent, os.W_OK):
        raise StoreUnavailable(
            f"the folder {path.parent} is not writable", hint="choose a writable location with --db PATH"
        )
    return URL.create("sqlite+pysqlite", database=str(path.resolve()))


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """An open store: an engine plus the knowledge of what it is, for messages."""

    def __init__(self, engine: Engine, display: str) -> None:
        self.engine = engine
        self.display = display

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _current_revision(conn: Connection) -> str | None:
    """The store's migration revision, read without importing Alembic (every command opens the store)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(conn: Connection) -> None:
    if _current_revision(conn) == HEAD_REVISION:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        if _current_revision(conn) == HEAD_REVISION:  # another process migrated while this one waited
            return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "vigil.store:migrations")
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def open_store(target: str | os.PathLike[str], *, migrate: bool = True) -> Store:
    """Open (and bring up to date) the store at ``target``: a path or a SQLAlchemy URL."""
    url = resolve_url(target)
    display = url.render_as_string(hide_password=True)
    kwargs: dict[str, object] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise UsageError(
            f"the store URL {display} names a database Vigil cannot use ({exc})",
            hint="use a file path (SQLite) or postgresql://user@host:5432/dbname",
        ) from exc
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as conn:
            if migrate:
                _migrate(conn)
            else:
                conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(
            f"cannot open the store {display}: {reason}",
            hint="check that the server is running and the URL (host, port, user, database) is right"
            if url.get_backend_name() != "sqlite"
            else "check the path and that no other program holds the file",
        ) from exc
    return Store(engine, display)
