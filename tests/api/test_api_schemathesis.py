"""Property-based tests of the whole HTTP API from its OpenAPI document (schemathesis):
at least 50 generated examples per operation, fixed seed; any 5xx, undocumented status
code, wrong content type or response that violates its schema fails.

The same tests run against an app on SQLite and, when ``WASTENET_TEST_POSTGRES_URL`` is
set (CI sets it), against an app on that PostgreSQL server: a generated input that only
PostgreSQL refuses (a NUL character in a string, a value out of a column's range) must be
a 4xx there too, never a 500."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from tests.api.conftest import (
    PG_ENV,
    _reset_postgres,
    make_settings,
    postgres_url,
    worker_database,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# TOML bodies are text: send the generated string as it is.
schemathesis.serializer.alias("application/toml", "text/plain")

# The schema is loaded when the module is imported (schemathesis parametrizes at
# collection); the app's storage comes up in the module fixture below.
_TMP = Path(tempfile.mkdtemp(prefix="wastenet-schemathesis-"))
APP = create_app(make_settings(_TMP))
SEED = 20261128
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.seed = SEED  # schemathesis derives each operation's seed from it
# The quick variant skips the coverage phase (boundary cases of every schema keyword,
# which alone takes most of the time on the large scenario schema); the slow one keeps it.
quick_schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
quick_schema.config.seed = SEED
quick_schema.config.phases.coverage.enabled = False

# The PostgreSQL twin, when a server is configured: the same schema on an app whose
# storage is that server (wiped before the app starts, in the module fixture); under
# pytest-xdist this worker's own database on it.
_PG_URL = os.environ.get(PG_ENV)
if _PG_URL:
    try:
        _PG_URL = worker_database(_PG_URL)
    except Exception:  # no server: postgres_url() reports it in the test
        _PG_URL = None
APP_PG = (create_app(make_settings(_TMP / "pg", database_url=_PG_URL)) if _PG_URL
          else None)
pg_schema = pg_quick_schema = None
if APP_PG is not None:
    (_TMP / "pg").mkdir()
    pg_schema = schemathesis.openapi.from_asgi("/openapi.json", APP_PG)
    pg_schema.config.seed = SEED
    pg_quick_schema = schemathesis.openapi.from_asgi("/openapi.json", APP_PG)
    pg_quick_schema.config.seed = SEED
    pg_quick_schema.config.phases.coverage.enabled = False


@pytest.fixture(scope="module", autouse=True)
def live_app() -> Iterator[None]:
    """Run the apps' lifespans (storage, migrations) around the generated tests."""
    with TestClient(APP):
        if APP_PG is None or _PG_URL is None:
            yield
        else:
            _reset_postgres(_PG_URL)
            with TestClient(APP_PG):
                yield
    shutil.rmtree(_TMP, ignore_errors=True)


def _check(case: Any) -> None:
    # /readyz answers a documented 503 here: this app runs without solver workers.
    checks = CHECKS[1:] if case.operation.path == "/readyz" else CHECKS
    response = case.call_and_validate(checks=checks)
    assert response.status_code < 500 or (case.operation.path == "/readyz"
                                           and response.status_code == 503)


@pytest.mark.slow
@schema.parametrize()
@seed(SEED)
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any) -> None:
    """50 examples per operation (the CI run; ``-m slow``): no 5xx, no response outside
    the documented schema."""
    _check(case)


@quick_schema.parametrize()
@seed(SEED)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema_quick(case: Any) -> None:
    """The same property at 8 examples per operation, for the default test run."""
    _check(case)


if pg_schema is not None and pg_quick_schema is not None:
    @pytest.mark.slow
    @pytest.mark.postgres
    @pg_schema.parametrize()
    @seed(SEED)
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    def test_api_on_postgres_conforms_to_its_schema(case: Any) -> None:
        """50 examples per operation against the app on PostgreSQL (``-m slow``)."""
        _check(case)

    @pytest.mark.postgres
    @pg_quick_schema.parametrize()
    @seed(SEED)
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    def test_api_on_postgres_conforms_to_its_schema_quick(case: Any) -> None:
        """8 examples per operation against the app on PostgreSQL."""
        _check(case)
else:
    @pytest.mark.postgres
    def test_api_on_postgres_conforms_to_its_schema_quick() -> None:
        """Without a PostgreSQL server this is skipped (and fails under CI)."""
        postgres_url()
