"""Fixes of audit 15 of the service: a 409 for a run that is not a succeeded siting run
says why (compare, route-plan requests), a comparison that fails says what is wrong in
plain words, HEAD of a plan stored without its JSON export (the legacy fallback) neither
fetches nor serialises the plan, and a queued run whose stored scenario or parameters the
current schema refuses fails with the 422's message instead of a traceback text or a
stuck run.

HTTP tests use a TestClient on a temporary SQLite file; the HEAD test runs on each
database (SQLite, and PostgreSQL when configured, see ``conftest.py``); the job tests
start the app's job manager with real worker processes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import head_as_get
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db.models import RunRow
from api.db.store import Store
from api.settings import Settings
from tests.api.conftest import wait_for

FAKU = "210124"
DAY = "2026-12-01"


# ------------------------------------------------------------------------------ helpers
def _store(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _detail(r: Any) -> str:
    return str(r.json()["detail"])


def _set_run(store: Store, run_id: str, **values: Any) -> None:
    """Overwrite columns of one stored run directly (status, error)."""
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def _scenario(store: Store, body: dict[str, Any] | None = None) -> str:
    body = body if body is not None else {"name": "x"}
    return store.create_scenario(name=str(body.get("name", "x")), source_format="json",
                                 body=body, raw_text=json.dumps(body), owner_key_id=None).id


def _siting(store: Store, status: str = "succeeded", error: str | None = None, *,
            summary: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None) -> str:
    """A siting run in ``status``, stored directly; a succeeded one has ``summary`` and a
    network covering Faku."""
    run, _ = store.create_run(kind="siting", scenario_id=_scenario(store, body),
                              params=params or {})
    if status == "succeeded":
        claimed = store.claim_next()
        assert claimed is not None and claimed.id == run.id
        store.finish_siting(run.id, {
            "summary": summary if summary is not None else {"total_cost_yuan_per_year": 1.0},
            "facilities": {"type": "FeatureCollection", "features": []},
            "assignments": [{"village_id": "v", "county": FAKU}]}, 1.0)
    elif status != "queued":
        _set_run(store, run.id, status=status, last_error=error)
    return run.id


def _route_run(store: Store, siting: str, status: str = "queued",
               error: str | None = None, params: dict[str, Any] | None = None) -> str:
    """A route-plan run of Faku on ``DAY`` from ``siting``, in ``status``."""
    sid = store.get_run(siting).scenario_id  # type: ignore[union-attr]
    run, _ = store.create_run(kind="route_plan", scenario_id=sid, params=params or {},
                              parent_run_id=siting, county=FAKU, plan_date=DAY)
    if status != "queued":
        _set_run(store, run.id, status=status, last_error=error)
    return run.id


REASON = "infeasible: transfer capacity 12 t/d < waste 30 t/d"


# ---------------------------------------------- 1. compare: why a run cannot be compared
@pytest.mark.parametrize(("status", "error", "needles"), [
    ("failed", REASON, ["it is failed", REASON]),
    ("queued", None, ["it is queued"]),
    ("running", None, ["it is running"]),
    ("cancelled", "cancelled while running", ["it is cancelled"]),
])
def test_compare_with_an_unfinished_run_says_its_status_and_reason(
        client: TestClient, status: str, error: str | None, needles: list[str]) -> None:
    """Comparing with a siting run that has not succeeded is a 409 naming that run, its
    status and, for a failed run, the reason it failed (as ``/result`` does); on either
    side of the comparison."""
    store = _store(client)
    good = _siting(store)
    bad = _siting(store, status, error)
    for a, b in ((good, bad), (bad, good)):
        r = client.get(f"/v1/runs/{a}/compare/{b}")
        assert r.status_code == 409, r.text
        detail = _detail(r)
        assert bad in detail and all(n in detail for n in needles), detail


def test_compare_with_a_route_plan_run_names_its_kind(client: TestClient) -> None:
    """Comparing with a route-plan run (even a succeeded one) is a 409 saying that the
    run is a route_plan run, not a siting run."""
    store = _store(client)
    good = _siting(store)
    plan_run = _route_run(store, good, "succeeded")
    r = client.get(f"/v1/runs/{good}/compare/{plan_run}")
    assert r.status_code == 409, r.text
    assert plan_run in _detail(r) and "route_plan run" in _detail(r), _detail(r)


@pytest.mark.parametrize(("summary", "needles"), [
    ({"sharing": "none"}, ["no total_cost_yuan_per_year"]),
    ({"total_cost_yuan_per_year": None}, ["total_cost_yuan_per_year", "not a number"]),
    ({"total_cost_yuan_per_year": "cheap"}, ["total_cost_yuan_per_year", "'cheap'"]),
    ({"total_cost_yuan_per_year": 5.0, "cost_breakdown_yuan_per_year": {"haul": "x"}},
     ["could not convert"]),
    ({"total_cost_yuan_per_year": 5.0, "kpis": ["not", "a", "table"]}, ["kpis"]),
])
def test_a_comparison_that_fails_says_why_in_plain_words(
        client: TestClient, summary: dict[str, Any], needles: list[str]) -> None:
    """A stored summary the comparison cannot use is a 409 whose message names the
    problem in plain words (the field, the run when it is known), never a Python repr of
    an exception (``KeyError('...')``) nor a 500."""
    store = _store(client)
    good = _siting(store, summary={"total_cost_yuan_per_year": 10.0, "kpis": {}})
    odd = _siting(store, summary=summary)
    r = client.get(f"/v1/runs/{good}/compare/{odd}")
    assert r.status_code == 409, r.text
    detail = _detail(r)
    assert not re.search(r"\b[A-Z]\w*Error\(", detail), detail
    assert odd in detail and all(n in detail for n in needles), detail


# ----------------------------------------- 2. route-plan request: why a run cannot be used
@pytest.mark.parametrize(("status", "error", "needles"), [
    ("failed", REASON, ["it is failed", REASON]),
    ("running", None, ["it is running"]),
])
def test_route_plan_from_an_unfinished_siting_run_says_why(
        client: TestClient, status: str, error: str | None, needles: list[str]) -> None:
    """A route-plan request from a siting run that has not succeeded is a 409 naming its
    status and, for a failed run, the reason it failed (as the downloads do)."""
    siting = _siting(_store(client), status, error)
    r = client.post(f"/v1/runs/{siting}/route-plans", json={"county": FAKU, "date": DAY})
    assert r.status_code == 409, r.text
    assert siting in _detail(r) and all(n in _detail(r) for n in needles), _detail(r)


def test_route_plan_from_a_route_plan_run_names_its_kind(client: TestClient) -> None:
    """A route-plan request from a route-plan run is a 409 saying that it is a
    route_plan run and that plans are made from a siting run."""
    store = _store(client)
    plan_run = _route_run(store, _siting(store), "succeeded")
    r = client.post(f"/v1/runs/{plan_run}/route-plans", json={"county": FAKU, "date": DAY})
    assert r.status_code == 409, r.text
    assert "route_plan run" in _detail(r) and "siting run" in _detail(r), _detail(r)


def test_route_plan_409_hides_a_failure_reason_from_a_county_key(client: TestClient) -> None:
    """A county key may request plans from a siting run but may not read it: the 409
    names the run's status, not its stored failure reason (the downloads likewise tell
    such a key nothing of a run it may not read); an engineer key gets the reason."""
    store = _store(client)
    siting = _siting(store, "failed", "secret detail of the scenario")
    county = store.create_key("county", [FAKU]).token
    engineer = store.create_key("engineer").token
    body = {"county": FAKU, "date": DAY}
    r = client.post(f"/v1/runs/{siting}/route-plans", json=body, headers=_auth(county))
    assert r.status_code == 409, r.text
    assert "it is failed" in _detail(r) and "secret" not in r.text, r.text
    r = client.post(f"/v1/runs/{siting}/route-plans", json=body, headers=_auth(engineer))
    assert r.status_code == 409 and "secret detail of the scenario" in _detail(r), r.text


# ------------------------------------------ 3. HEAD of a plan stored without its JSON export
def _fetches_text(statement: str) -> bool:
    """Whether ``statement`` fetches a plan's or an export's text (not only its length)."""
    m = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", statement, re.IGNORECASE | re.DOTALL)
    if m is None:
        return False
    columns = m.group(1)
    texts = re.search(r"route_plans\.\"?plan\b|route_plan_exports\.content\b", columns)
    return texts is not None and not re.search(r"\b(length|octet_length)\(", columns,
                                               re.IGNORECASE)


@pytest.fixture
def db_client(db_url: str, settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A live app (no workers) on each database (SQLite, and PostgreSQL when configured)."""
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        yield c


def test_head_of_a_plan_without_json_export_reads_no_plan(db_client: TestClient) -> None:
    """HEAD of ``format=json`` for a plan stored without its JSON export (the legacy
    fallback, which serves the stored plan) answers GET's headers, the length in bytes
    of non-ASCII text included, without fetching the plan or any export's text; GET
    still serves the plan itself. With ``?run=`` too; on each database."""
    client = db_client
    store = _store(client)
    siting = _siting(store)
    run = _route_run(store, siting)
    assert store.claim_next() is not None
    plan = {"name": "法库:210124:2026-12-01", "routes": [{"label": "压缩车-1", "stops": 21}],
            "distance_m": 287400.0}
    store.finish_route_plan(run, {"plan": plan, "exports": {"csv": "a,b\n"}}, 1.0)
    for query in ("", f"&run={run}", f"&run={siting}"):
        url = f"/v1/route-plans/{FAKU}/{DAY}?format=json{query}"
        got = client.get(url)
        assert got.status_code == 200 and got.json() == plan, got.text
        seen = head_as_get(client, store, url)
        assert not [s for s in seen if _fetches_text(s)], seen


# ------------------------------------------------ 4. queued runs the schema now refuses
def _final(app: Any, run_id: str, timeout: float = 90.0) -> Any:
    """The run once it has finished (waits for the app's job manager)."""
    store: Store = app.state.store

    def done() -> Any:
        run = store.get_run(run_id)
        return run if run is not None and run.status in ("succeeded", "failed",
                                                         "cancelled") else None

    return wait_for(done, timeout, what=f"run {run_id} to finish")


def _clear(reason: str | None) -> None:
    """A failure reason written for a user: no traceback, no exception repr, no
    pydantic report."""
    assert reason is not None
    for bad in ("Traceback", "internal error", "ValidationError", "errors.pydantic.dev",
                "validation error for"):
        assert bad not in reason, reason


def test_queued_runs_of_a_scenario_the_schema_now_refuses_fail_naming_the_field(
        settings_factory: Callable[..., Settings]) -> None:
    """A siting run and a route-plan run queued before the schema refused their stored
    scenario end ``failed`` with the message a 422 of a new request would give: the
    field and its value, the scenario named, not a traceback or a pydantic report."""
    with TestClient(create_app(settings_factory())) as client:  # no workers: set up
        store = _store(client)
        stale_siting = {"name": "old", "data": {"villages_total": 100, "rural_population": 5}}
        siting = _siting(store, "queued", body=stale_siting)
        sid = store.get_run(siting).scenario_id  # type: ignore[union-attr]
        _set_run(store, siting, status="running")  # out of the queue while the next is made
        done = _siting(store, body={"name": "old", "data": {"villages_total": 0}})
        _set_run(store, siting, status="queued")
        plan_run = _route_run(store, done)
        plan_sid = store.get_run(done).scenario_id  # type: ignore[union-attr]
        # the messages a new request of each would get
        r = client.post(f"/v1/scenarios/{sid}/runs", json={})
        assert r.status_code == 422, r.text
        want_siting = [i["msg"] for i in r.json()["detail"]]
        r = client.post(f"/v1/runs/{done}/route-plans", json={"county": FAKU, "date": DAY})
        assert r.status_code == 422, r.text
        want_plan = [i["msg"] for i in r.json()["detail"]]
    with TestClient(create_app(settings_factory(start_workers=True))) as client:
        for run_id, scenario_id, want, needle in (
                (siting, sid, want_siting, "data.rural_population=5: "),
                (plan_run, plan_sid, want_plan, "data.villages_total=0: ")):
            run = _final(client.app, run_id)
            assert run.status == "failed", (run.status, run.last_error)
            _clear(run.last_error)
            assert needle in run.last_error and scenario_id in run.last_error, run.last_error
            assert all(m in run.last_error for m in want), (want, run.last_error)


@pytest.mark.parametrize(("params", "needle"), [
    ({"time_limit_s": "soon", "seed": 0}, "time_limit_s='soon': "),
    ({"time_limit_s": 5.0, "seed": -1}, "seed=-1: "),
])
def test_a_queued_run_with_parameters_the_schema_now_refuses_fails_naming_them(
        settings_factory: Callable[..., Settings], params: dict[str, Any], needle: str) -> None:
    """A queued siting run whose stored parameters the current request schema refuses
    (a time limit that is no number, a negative seed) ends ``failed`` naming the
    parameter and its value, without reaching a solver: not a job manager that fails on
    each tick while the run stays ``running``, nor a solver's exception text."""
    with TestClient(create_app(settings_factory())) as client:  # no workers: set up
        run_id = _siting(_store(client), "queued", params=params)
    with TestClient(create_app(settings_factory(start_workers=True))) as client:
        run = _final(client.app, run_id, timeout=45.0)
        assert run.status == "failed", (run.status, run.last_error)
        _clear(run.last_error)
        assert needle in run.last_error, run.last_error
