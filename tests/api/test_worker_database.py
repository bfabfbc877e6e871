"""Each pytest-xdist worker wipes only its own PostgreSQL database
(:func:`tests.api.conftest.worker_database`)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.api.conftest import PG_ENV, postgres_url, worker_database


def test_without_a_worker_the_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside pytest-xdist (``-n 0``) the configured URL is used as it is, and no server
    is contacted (the host below does not exist)."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    url = "postgresql+psycopg://postgres@nowhere.invalid:1/wastenet_test"
    assert worker_database(url) == url


@pytest.mark.postgres
def test_each_worker_gets_a_database_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker ids give two databases on the configured server, each created on first
    use, and asking again gives the same one."""
    postgres_url()  # skips without a server (fails under CI)
    base = os.environ[PG_ENV]
    names = []
    for worker in ("gwx1", "gwx2", "gwx1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        url = worker_database(base)
        assert make_url(url).host == make_url(base).host
        names.append(make_url(url).database)
        eng = create_engine(url)
        try:
            with eng.connect() as conn:
                assert conn.execute(text("SELECT current_database()")).scalar() == names[-1]
        finally:
            eng.dispose()
    assert names[0] == names[2] == f"{make_url(base).database}_gwx1"
    assert names[1] == f"{make_url(base).database}_gwx2"
