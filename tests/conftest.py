"""Shared fixtures: a real moto server per test worker, fresh AWS accounts, seeded estates, stores.

Every test that touches "AWS" talks to moto's server over HTTP through boto3, and gets its own
account: Vigil assumes a role in a new random account id (moto lets any role be assumed), so tests
never see each other's resources and exercise the role-assumption path at the same time.

Stores: ``store`` is parametrised over SQLite and PostgreSQL (127.0.0.1:5432, database ``test``,
a schema of its own per test). With ``CI`` set, an unreachable PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from vigil.aws.session import AwsSession
from vigil.demo import emulator, estate
from vigil.settings import AwsSettings
from vigil.store import Store, open_store

REGIONS = ["us-east-1", "eu-west-1"]
PG_URL = os.environ.get("VIGIL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _shared_data() -> Path:
    """The team's shared public data (../shared/data next to the checkout, or where VIGIL_SHARED_DATA
    says; CI clones elsewhere on the same machine, so /work/shared/data is looked at too)."""
    candidates = [
        os.environ.get("VIGIL_SHARED_DATA", ""),
        str(Path(__file__).resolve().parents[2] / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "INDEX.md").is_file():
            return Path(candidate)
    return Path(candidates[1])


SHARED_DATA = _shared_data()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    em = emulator.start()
    yield em.endpoint
    em.stop()


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's AWS configuration or reaches a metadata endpoint."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "VIGIL_")) and name != "VIGIL_TEST_PG":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)


ClientFactory = Callable[[str, str], Any]


@dataclass(frozen=True)
class Account(emulator.EmulatorAccount):
    """A fresh account on the moto server, reached by assuming a role in it."""

    def settings(self, **overrides: Any) -> AwsSettings:
        values: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "role_arn": self.role_arn,
            "regions": REGIONS,
            "concurrency": 8,
        }
        values.update(overrides)
        return AwsSettings(**values)

    def session(self, **overrides: Any) -> AwsSession:
        return AwsSession(self.settings(**overrides))


def new_account(endpoint: str) -> Account:
    return Account(**dataclasses.asdict(emulator.new_account(endpoint)))


@pytest.fixture
def base_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the environment, as a user's would be; Vigil assumes a role from them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", emulator.EMULATOR_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emulator.EMULATOR_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def account(moto_endpoint: str, base_credentials: None) -> Account:
    return new_account(moto_endpoint)


@dataclass
class Seeded:
    account: Account
    estate: estate.Estate


@pytest.fixture
def seeded(account: Account) -> Seeded:
    """A fresh account with the sample estate at N=1 (for tests that change it)."""
    return Seeded(account, estate.seed(account.client, REGIONS, 1))


@pytest.fixture(scope="module")
def shared_seeded(moto_endpoint: str) -> Seeded:
    """One sample estate per test module (for tests that only read it)."""
    acct = new_account(moto_endpoint)
    return Seeded(acct, estate.seed(acct.client, REGIONS, 1))


# -- stores ------------------------------------------------------------------------------------


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; CI turns that into a failure below
        return False


@pytest.fixture(scope="session")
def pg_url() -> str:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; CI requires it (start it, see .ci/run)")
        pytest.skip("PostgreSQL is not reachable (set CI=1 to make this a failure)")
    return PG_URL


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = open_store(f"{pg_url}?options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "store" / "vigil.db")
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both backends."""
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_store")


def load_eventgen() -> ModuleType:
    """``benchmarks/eventgen.py``, loaded from its path (the benchmarks are scripts, not a package)."""
    name = "vigil_bench_eventgen"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / "eventgen.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
