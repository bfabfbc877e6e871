"""Fixtures of the service tests: settings on a temporary SQLite file, a live app, and a
PostgreSQL URL from ``WASTENET_TEST_POSTGRES_URL`` (a failure, not a skip, under CI).

The default run is spread over worker processes (pytest-xdist); the tests wipe the
database they use, so each worker gets a database of its own on that server
(:func:`worker_database`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, make_url, text

from api.app import create_app
from api.db.models import Base
from api.db.session import make_engine, migrate
from api.db.store import Store
from api.settings import Settings

PG_ENV = "WASTENET_TEST_POSTGRES_URL"


def make_settings(tmp_path: Path, **kw: Any) -> Settings:
    """Settings for a test app on a SQLite file under ``tmp_path``."""
    base: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'wastenet.db'}",
        "poll_interval_s": 0.05,
        "start_workers": False,
        "kill_grace_s": 5.0,
    }
    base.update(kw)
    return Settings(**base)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings on this test's SQLite file (keyword overrides)."""
    return lambda **kw: make_settings(tmp_path, **kw)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A live app (no solver workers) on a fresh SQLite file, in open mode."""
    with TestClient(create_app(make_settings(tmp_path))) as c:
        yield c


def worker_database(url: str) -> str:
    """``url`` itself, or under a pytest-xdist worker (``PYTEST_XDIST_WORKER``, e.g.
    ``gw1``) the URL of the database ``<name>_gw1`` on the same server, created when
    missing: tests that wipe their database must not wipe another worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": name}).scalar() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        eng.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def postgres_url() -> str | None:
    """The test PostgreSQL URL (this worker's database, :func:`worker_database`) when a
    server answers there; under CI its absence fails."""
    url = os.environ.get(PG_ENV)
    problem = None
    if not url:
        problem = f"{PG_ENV} is not set"
    else:
        try:
            url = worker_database(url)
            eng = create_engine(url)
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
        except Exception as exc:
            problem = f"PostgreSQL at {PG_ENV} cannot be reached: {exc}"
    if problem is None:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {problem} (source .ci/postgres.sh first)")
    pytest.skip(problem)
    return None


def _reset_postgres(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        Base.metadata.drop_all(conn)
        if "alembic_version" in inspect(conn).get_table_names():
            conn.execute(text("DROP TABLE alembic_version"))
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or the test PostgreSQL server wiped."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = postgres_url()
    assert url is not None
    _reset_postgres(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on :func:`db_url`."""
    engine = make_engine(db_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def queue_sleep(app: Any, seconds: float, **params: Any) -> str:
    """Queue an internal ``sleep`` run of ``seconds`` (for the job-manager tests, through
    the store: the kind is not reachable over HTTP) and wake the app's manager."""
    store: Store = app.state.store
    sid = store.create_scenario(name="sleepy", source_format="json", body={"name": "sleepy"},
                                raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="sleep", scenario_id=sid,
                              params={"seconds": seconds, **params})
    app.state.jobs.wake()
    return run.id


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def worker_pid_of(app: Any, run_id: str) -> int:
    """The pid of the worker process solving ``run_id``, once the run is running."""
    def running_pid() -> int | None:
        pid = app.state.jobs.worker_pids().get(run_id)
        run = app.state.store.get_run(run_id)
        return pid if pid and run.status == "running" else None

    return int(wait_for(running_pid, 60, what=f"run {run_id} to start"))
