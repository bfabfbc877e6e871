"""Fixes of the fourteenth service audit: ``?run=<siting run>`` downloads serve the plan of
the newest request (as publication does), ``elapsed_s`` of a run ended by a worker death,
415 for a scenario body without (or with another) Content-Type, stored scenarios that the
schema now refuses answered 422 when a run is requested, and HEAD on downloads without
fetching the file.

HTTP tests use a TestClient on a temporary SQLite file; the store-level tests run on each
database (SQLite, and PostgreSQL when configured, see ``conftest.py``)."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_helpers import head_as_get
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db.models import RoutePlanRow, RunRow
from api.db.store import Store, as_utc, db_now
from api.routes.common import progress_of
from api.settings import Settings
from tests.api.conftest import queue_sleep, wait_for, worker_pid_of

FAKU = "210124"
DAY = "2026-12-01"
FORMATS = ("json", "csv", "geojson", "gpx", "html")


def _store(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _set(store: Store, model: Any, key: str, **values: Any) -> None:
    """Overwrite columns of one stored row (timestamps, ids) directly."""
    with store.session() as s, s.begin():
        s.execute(update(model).where(model.id == key).values(**values))


def _siting(store: Store, body: dict[str, Any] | None = None) -> str:
    """A succeeded siting run (stored directly) whose network covers Faku."""
    body = body if body is not None else {"name": "x"}
    sid = store.create_scenario(name="x", source_format="json", body=body,
                                raw_text=json.dumps(body), owner_key_id=None).id
    run, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    assert store.claim_next() is not None
    store.finish_siting(run.id, {
        "summary": {"total_cost_yuan_per_year": 1.0},
        "facilities": {"type": "FeatureCollection", "features": []},
        "assignments": [{"village_id": "v", "county": FAKU}]}, 1.0)
    return run.id


def _exports(who: str) -> dict[str, str]:
    """One export per format, each naming ``who`` (non-ASCII text included, so that a
    length in characters differs from the length in bytes)."""
    return {"json": json.dumps({"who": who}), "csv": f"\ufeffvehicle,who\n1,{who}法库\n",
            "geojson": json.dumps({"type": "FeatureCollection", "features": [], "who": who}),
            "gpx": f"<gpx><name>{who}</name></gpx>",
            "html": f"<html><body>司机 {who}</body></html>"}


def _request(store: Store, siting: str, at: datetime, run_id: str | None = None) -> str:
    """A route-plan request of Faku on ``DAY`` from ``siting``, created at ``at``."""
    sid = store.get_run(siting).scenario_id  # type: ignore[union-attr]
    run, _ = store.create_run(kind="route_plan", scenario_id=sid, params={},
                              parent_run_id=siting, county=FAKU, plan_date=DAY)
    values: dict[str, Any] = {"created_at": at}
    if run_id is not None:
        values["id"] = run_id
    _set(store, RunRow, run.id, **values)
    return run_id or run.id


def _finish(store: Store, run_id: str, who: str, finished: datetime) -> None:
    """Claim and finish route-plan run ``run_id`` (its plan stored at ``finished``)."""
    claimed = store.claim_next()
    assert claimed is not None and claimed.id == run_id
    plan_id = store.finish_route_plan(run_id, {"plan": {"who": who},
                                               "exports": _exports(who)}, 1.0)
    assert plan_id is not None
    _set(store, RoutePlanRow, plan_id, created_at=finished)


def _out_of_order(store: Store) -> tuple[str, str, str]:
    """Siting run S; request ``older`` (t0) and ``newer`` (t0 + 1 s); the newer finishes
    first, the older a minute later. Returns (S, older, newer)."""
    siting = _siting(store)
    t0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    older = _request(store, siting, t0)
    newer = _request(store, siting, t0 + timedelta(seconds=1))
    # the queue is oldest first: claim (and finish) the older one last
    _set(store, RunRow, older, created_at=t0 + timedelta(seconds=5))
    _finish(store, newer, "newer", t0 + timedelta(seconds=10))
    _set(store, RunRow, older, created_at=t0)
    claimed = store.claim_next()
    assert claimed is not None and claimed.id == older
    plan_id = store.finish_route_plan(older, {"plan": {"who": "older"},
                                              "exports": _exports("older")}, 1.0)
    assert plan_id is not None
    _set(store, RoutePlanRow, plan_id, created_at=t0 + timedelta(seconds=70))
    return siting, older, newer


# -------------------------------------------------- 1. ?run=<siting run>: newest request
def test_run_query_of_a_siting_run_gives_the_newest_requests_plan(store: Store) -> None:
    """Two requests from one siting run finish out of order (the older request last):
    the plan read with the siting run's id is the newer request's, the same as the
    published plan, not the plan that finished last; by a route-plan run's id each plan
    stays readable."""
    siting, older, newer = _out_of_order(store)
    pub = store.get_route_plan(FAKU, DAY)
    assert pub is not None and pub.run_id == newer
    by_siting = store.get_route_plan(FAKU, DAY, siting)
    assert by_siting is not None and by_siting.run_id == newer, by_siting
    assert store.get_route_plan_export(FAKU, DAY, "csv", siting) == (
        True, _exports("newer")["csv"])
    late = store.get_route_plan(FAKU, DAY, older)
    assert late is not None and late.plan == {"who": "older"}


def test_run_query_breaks_ties_by_the_greater_run_id(store: Store) -> None:
    """Requests created at the same moment are ordered by id, as publication orders
    them: ``?run=<siting run>`` gives the plan of the greater id even when the other one
    finished later."""
    siting = _siting(store)
    t0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    high = _request(store, siting, t0, "b" * 32)
    _finish(store, high, "high", t0 + timedelta(seconds=10))
    low = _request(store, siting, t0, "a" * 32)
    _finish(store, low, "low", t0 + timedelta(seconds=20))
    pub = store.get_route_plan(FAKU, DAY)
    assert pub is not None and pub.run_id == high
    by_siting = store.get_route_plan(FAKU, DAY, siting)
    assert by_siting is not None and by_siting.run_id == high, by_siting


@pytest.mark.parametrize("fmt", FORMATS)
def test_download_with_a_siting_run_serves_the_newest_request(client: TestClient,
                                                               fmt: str) -> None:
    """Every download format with ``?run=<siting run>`` serves the newer request's plan
    when the older request finished last, byte for byte the published download."""
    store = _store(client)
    siting, older, newer = _out_of_order(store)
    base = f"/v1/route-plans/{FAKU}/{DAY}?format={fmt}"
    published = client.get(base)
    by_siting = client.get(f"{base}&run={siting}")
    by_newer = client.get(f"{base}&run={newer}")
    by_older = client.get(f"{base}&run={older}")
    for r in (published, by_siting, by_newer, by_older):
        assert r.status_code == 200, r.text
    assert "newer" in published.text and "older" in by_older.text
    assert by_siting.content == published.content == by_newer.content, by_siting.text


def test_download_docs_state_the_run_rule(client: TestClient) -> None:
    """The download's OpenAPI description says which plan ``run=<siting run>`` gives:
    the newest request's, as publication does."""
    op = client.get("/openapi.json").json()["paths"]["/v1/route-plans/{county}/{date}"]["get"]
    text = op["description"] + " ".join(p.get("description", "") for p in op["parameters"])
    assert "newest request" in text, text


# ------------------------------------------------------ 2. elapsed_s of a dead run
def _running(store: Store, reported: float) -> str:
    """A siting run claimed (running) whose last report says ``reported`` seconds."""
    siting_scenario = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                            raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="siting", scenario_id=siting_scenario, params={})
    assert store.claim_next(pid=1, instance_id="gone") is not None
    store.update_progress(run.id, {"fraction": 0.2, "elapsed_s": reported})
    return run.id


@pytest.mark.parametrize("cancel", [False, True])
def test_a_run_taken_back_after_its_lease_reports_its_time_to_the_last_renewal(
        store: Store, cancel: bool) -> None:
    """A run whose instance stopped renewing its lease (started 200 s ago, last renewal
    110 s ago, last report at 1 s) and that is given up (failed, or cancelled as
    requested) reports ``elapsed_s`` 90 s, the time it was known to be running, not the
    1 s of its last report; ``solve_seconds`` says the same."""
    rid = _running(store, 1.0)
    with store.session() as s:
        now = db_now(s)
    _set(store, RunRow, rid, started_at=now - timedelta(seconds=200),
         heartbeat_at=now - timedelta(seconds=110), cancel_requested=cancel)
    out = store.recover_interrupted(1, instance_id="other", lease_s=60)
    assert out == {rid: "cancelled" if cancel else "failed"}
    run = store.get_run(rid)
    assert run is not None
    elapsed = progress_of(run).elapsed_s
    assert elapsed is not None and abs(elapsed - 90.0) < 0.01, elapsed
    assert run.solve_seconds is not None and abs(run.solve_seconds - 90.0) < 0.01


def test_a_dead_run_never_reports_less_than_its_last_report(store: Store) -> None:
    """A run taken back whose lease was never renewed after its start keeps the larger
    time of its last report (nothing better is known)."""
    rid = _running(store, 7.5)
    with store.session() as s:
        now = db_now(s)
    _set(store, RunRow, rid, started_at=now - timedelta(seconds=300),
         heartbeat_at=now - timedelta(seconds=299))
    assert store.recover_interrupted(1, instance_id="other", lease_s=60) == {rid: "failed"}
    run = store.get_run(rid)
    assert run is not None and progress_of(run).elapsed_s == 7.5


def test_a_worker_killed_mid_run_reports_the_time_until_its_death(
        settings_factory: Callable[..., Settings]) -> None:
    """A worker reports once at the start, then computes silently and is killed (the
    last attempt): the failed run's ``elapsed_s`` covers the time until the death was
    seen (at least the time from its start to the kill, at most its finish), not the
    0 s of its only report."""
    app = create_app(settings_factory(start_workers=True, max_attempts=1))
    with TestClient(app) as c:
        rid = queue_sleep(app, 120, reports=[{"fraction": 0.1, "message": "started"}])
        pid = worker_pid_of(app, rid)
        wait_for(lambda: c.get(f"/v1/runs/{rid}").json()["progress"]["message"] == "started",
                 30, what="the first report")
        started = as_utc(app.state.store.get_run(rid).started_at)
        assert started is not None
        wait_for(lambda: datetime.now(UTC) - started > timedelta(seconds=2), 10,
                 what="two seconds of running")
        killed_after = (datetime.now(UTC) - started).total_seconds()
        os.kill(pid, signal.SIGKILL)
        failed = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "failed"
                          and j, 60, what="failure")
        assert "giving up" in failed["last_error"]
        elapsed = failed["progress"]["elapsed_s"]
        finished = datetime.fromisoformat(failed["finished_at"])
        assert killed_after - 0.5 <= elapsed <= (finished - started).total_seconds() + 0.5, (
            elapsed, killed_after, failed)


def test_elapsed_s_documents_dead_runs(client: TestClient) -> None:
    """The API model's ``elapsed_s`` description says what a run ended by a worker death
    reports."""
    doc = client.get("/openapi.json").json()
    text = doc["components"]["schemas"]["Progress"]["properties"]["elapsed_s"]["description"]
    assert "worker death" in text and "lease" in text, text


# ----------------------------------------------- 3. scenario body without a Content-Type
JSON_SCENARIO = b'{"name": "typed", "data": {"counties": ["210124"]}}'
TOML_SCENARIO = b'name = "typed"\n[data]\ncounties = ["210124"]\n'


@pytest.mark.parametrize(("headers", "shown"), [
    ({}, "no Content-Type"),
    ({"Content-Type": ""}, "no Content-Type"),
    ({"Content-Type": "text/plain"}, "'text/plain'"),
    ({"Content-Type": "application/x-www-form-urlencoded"},
     "'application/x-www-form-urlencoded'"),
    ({"Content-Type": "multipart/form-data; boundary=x"}, "'multipart/form-data'"),
])
def test_scenario_without_a_json_or_toml_type_is_415(client: TestClient,
                                                     headers: dict[str, str],
                                                     shown: str) -> None:
    """A scenario body sent without Content-Type (or with a type a cross-site form can
    send) is not read as JSON: 415 whose message says what came and names both accepted
    types; nothing is stored."""
    r = client.post("/v1/scenarios", content=JSON_SCENARIO, headers=headers)
    assert r.status_code == 415, r.text
    detail = r.json()["detail"]
    assert shown in detail and "application/json" in detail and "application/toml" in detail
    assert client.get("/v1/scenarios").json()["total"] == 0


def test_an_empty_scenario_post_without_a_type_is_415(client: TestClient) -> None:
    """A POST without body or Content-Type is told which types to send (415), like a
    body without a type."""
    r = client.post("/v1/scenarios")
    assert r.status_code == 415, r.text
    assert "application/toml" in r.json()["detail"]


@pytest.mark.parametrize(("body", "ctype"), [
    (JSON_SCENARIO, "application/json"),
    (JSON_SCENARIO, "application/json; charset=utf-8"),
    (JSON_SCENARIO, "Application/JSON"),
    (JSON_SCENARIO, "application/vnd.wastenet+json"),
    (TOML_SCENARIO, "application/toml"),
    (TOML_SCENARIO, "text/toml"),
    (TOML_SCENARIO, "application/x-toml"),
])
def test_scenarios_with_a_json_or_toml_type_are_accepted(client: TestClient, body: bytes,
                                                          ctype: str) -> None:
    """JSON (any ``+json`` type, with parameters, in any case) and TOML bodies are still
    accepted."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 201, r.text


def test_scenario_endpoint_documents_the_types(client: TestClient) -> None:
    """The OpenAPI operation of ``POST /v1/scenarios`` says that another or no
    Content-Type is a 415."""
    op = client.get("/openapi.json").json()["paths"]["/v1/scenarios"]["post"]
    assert "415" in op["responses"]
    assert "Content-Type" in op.get("description", "") and "415" in op["description"]


# --------------------------------------- 4. runs of stored scenarios the schema now refuses
#: scenario bodies stored before the schema refused them, and what the 422 must name
STALE = [
    ({"name": "old", "data": {"villages_total": 0}}, ["scenario", "data", "villages_total"],
     "data.villages_total=0: "),
    ({"name": "old", "data": {"villages_total": 100, "rural_population": 5}},
     ["scenario", "data", "rural_population"], "data.rural_population=5: "),
    ({"name": "old", "network": {"haul_speed_km_per_h": 40}},
     ["scenario", "network", "haul_speed_km_per_h"], "network.haul_speed_km_per_h=40: "),
]


def _stale_scenario(store: Store, body: dict[str, Any]) -> str:
    return store.create_scenario(name="old", source_format="json", body=body,
                                 raw_text=json.dumps(body), owner_key_id=None).id


@pytest.mark.parametrize(("body", "loc", "needle"), STALE)
def test_a_run_of_a_scenario_the_schema_now_refuses_is_422(
        client: TestClient, body: dict[str, Any], loc: list[str], needle: str) -> None:
    """A stored scenario that the current schema refuses: ``POST .../runs`` answers 422
    naming the field and its value (the schema's message), and queues no run."""
    sid = _stale_scenario(_store(client), body)
    r = client.post(f"/v1/scenarios/{sid}/runs", json={})
    assert r.status_code == 422, r.text
    items = r.json()["detail"]
    assert any(i["loc"] == loc and needle in i["msg"] and sid in i["msg"] for i in items), items
    assert client.get("/v1/runs").json()["total"] == 0


def test_a_run_request_without_a_body_is_checked_too(client: TestClient) -> None:
    """The body of a run request is optional: without one the stored scenario is
    re-validated all the same."""
    sid = _stale_scenario(_store(client), STALE[0][0])
    r = client.post(f"/v1/scenarios/{sid}/runs")
    assert r.status_code == 422, r.text


def test_a_stored_scenario_that_is_no_object_is_422_not_500(client: TestClient) -> None:
    """A stored body that is not even an object is a 422 at the scenario, never a 500."""
    store = _store(client)
    sid = store.create_scenario(name="odd", source_format="json", body={"name": "odd"},
                                raw_text="[]", owner_key_id=None).id
    with store.session() as s, s.begin():
        from api.db.models import ScenarioRow

        s.execute(update(ScenarioRow).where(ScenarioRow.id == sid).values(body=[1, 2]))
    r = client.post(f"/v1/scenarios/{sid}/runs", json={})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "scenario"


def test_a_route_plan_of_a_scenario_the_schema_now_refuses_is_422(client: TestClient) -> None:
    """A route-plan request from a siting run whose scenario the schema now refuses: 422
    naming the field and value, and no run is queued."""
    store = _store(client)
    siting = _siting(store, body=STALE[0][0])
    r = client.post(f"/v1/runs/{siting}/route-plans", json={"county": FAKU, "date": DAY})
    assert r.status_code == 422, r.text
    assert any("data.villages_total=0: " in i["msg"] for i in r.json()["detail"])
    assert client.get("/v1/runs?kind=route_plan").json()["total"] == 0


def test_a_valid_stored_scenario_still_runs(client: TestClient) -> None:
    """A stored scenario the schema accepts is queued as before (202)."""
    sid = client.post("/v1/scenarios", json={"name": "fine"}).json()["id"]
    assert client.post(f"/v1/scenarios/{sid}/runs", json={}).status_code == 202
    siting = _siting(_store(client), body={"name": "fine"})
    r = client.post(f"/v1/runs/{siting}/route-plans", json={"county": FAKU, "date": DAY})
    assert r.status_code == 202, r.text


# ------------------------------------------------------ 5. HEAD on downloads: no file read
#: a statement that fetches an export's text itself (a length of it is not)
READS_CONTENT = re.compile(r"SELECT\s+route_plan_exports\.content\b", re.IGNORECASE)


@pytest.fixture
def db_client(db_url: str, settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A live app (no workers) on each database (SQLite, and PostgreSQL when configured)."""
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        yield c


@pytest.mark.parametrize("fmt", FORMATS)
def test_head_of_a_download_does_not_fetch_the_file(db_client: TestClient, fmt: str) -> None:
    """HEAD of a download answers GET's status and headers (type, file name and the
    length in bytes of non-ASCII text) without fetching the export's text from the
    database; with ``?run=`` too; on each database."""
    client = db_client
    store = _store(client)
    siting, _, newer = _out_of_order(store)
    for query in ("", f"&run={siting}", f"&run={newer}"):
        url = f"/v1/route-plans/{FAKU}/{DAY}?format={fmt}{query}"
        seen = head_as_get(client, store, url)
        assert not [s for s in seen if READS_CONTENT.search(s)], seen


def test_head_of_a_missing_download_is_404(client: TestClient) -> None:
    """HEAD of a plan that does not exist, or of a format the plan lacks, answers GET's
    404."""
    store = _store(client)
    siting = _siting(store)
    run = _request(store, siting, datetime(2026, 11, 28, 21, 0, tzinfo=UTC))
    assert store.claim_next() is not None
    store.finish_route_plan(run, {"plan": {"who": "x"}, "exports": {"csv": "a"}}, 1.0)
    for url in (f"/v1/route-plans/{FAKU}/2026-12-09", f"/v1/route-plans/{FAKU}/{DAY}?format=gpx",
                f"/v1/route-plans/{FAKU}/{DAY}?run=nope"):
        assert client.head(url).status_code == client.get(url).status_code == 404, url
    # a plan stored without its JSON export: GET and HEAD serve the plan itself
    url = f"/v1/route-plans/{FAKU}/{DAY}?format=json"
    got, head = client.get(url), client.head(url)
    assert got.status_code == head.status_code == 200 and got.json() == {"who": "x"}
    assert head.headers["content-length"] == got.headers["content-length"]
