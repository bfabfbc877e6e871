"""Fixes of the thirteenth service audit: reproducible route plans (``solution_limit``),
publication order of route plans finishing out of order, 413 for a streamed body on the
model endpoints, 415 for non-JSON bodies, ``YYYY-MM-DD`` dates only, progress between
reports and after a cancel, complete ``Allow`` headers, HEAD on every GET endpoint, the
map page's headers under ``/static``, and TOML dates quoted in 422 messages.

HTTP tests use a TestClient on a temporary SQLite file; the store-level tests run on each
database (SQLite, and PostgreSQL when configured, see ``conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db.models import RunRow
from api.db.session import make_engine, migrate
from api.db.store import Store
from api.routes.common import progress_of, run_out
from api.settings import Settings
from tests.api.conftest import wait_for

FAKU = "210124"
DAY = "2026-12-01"
#: The small Faku scenario of ``tests/test_pipeline.py`` (about 40 villages): sited in a
#: few seconds under a work limit, routed in well under a second.
SMALL: dict[str, Any] = {
    "name": "faku-small",
    "data": {"counties": [FAKU], "villages_total": 2000, "seed": 11},
    "candidates": {"transfer": {"extra_per_county": 4}},
    "policy": {"sharing": "none"},
    "fleet": {"narrow_lane_fraction": 0.0},
    "solver": {"time_limit_s": 30, "routing_time_limit_s": 5},
}


def _store(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _set(store: Store, run_id: str, **values: Any) -> None:
    """Overwrite columns of a stored run (timestamps) directly."""
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def _siting(store: Store, county: str = FAKU, body: dict[str, Any] | None = None,
            result: dict[str, Any] | None = None) -> str:
    """A succeeded siting run (stored directly) whose network covers ``county``."""
    body = body or {"name": "x"}
    sid = store.create_scenario(name=str(body["name"]), source_format="json", body=body,
                                raw_text=json.dumps(body), owner_key_id=None).id
    run, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    assert store.claim_next() is not None
    store.finish_siting(run.id, result or {
        "summary": {"total_cost_yuan_per_year": 1.0},
        "facilities": {"type": "FeatureCollection", "features": []},
        "assignments": [{"village_id": "v", "county": county}]}, 1.0)
    return run.id


# ------------------------------------------------------------ 1. reproducible route plans
def _finished(c: TestClient, run_id: str) -> dict[str, Any]:
    return wait_for(lambda: (j := c.get(f"/v1/runs/{run_id}").json())["status"]
                    in ("succeeded", "failed", "cancelled") and j, 120, interval=0.1,
                    what=f"run {run_id}")


def _without_times(export: str) -> dict[str, Any]:
    plan = json.loads(export)
    plan.pop("elapsed_s", None)
    return plan  # type: ignore[no-any-return]


def test_route_plans_with_a_solution_limit_are_reproducible(
        settings_factory: Callable[..., Settings]) -> None:
    """Two route-plan requests with the same seed and a small ``solution_limit`` (the
    time limit far away) give the same plan: the limit is recorded in the run's params
    and reaches the solver (the plan's meta names it)."""
    from wastenet.pipeline import run_siting
    from wastenet.scenario.schema import Scenario

    settings = settings_factory(start_workers=True, kill_grace_s=60)
    scenario = Scenario.model_validate(SMALL)
    sited = run_siting(scenario, time_limit_s=None, seed=3, max_iterations=5)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    siting = _siting(Store(engine), body=scenario.model_dump(mode="json"), result=sited)
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        runs = []
        for _ in range(2):
            r = c.post(f"/v1/runs/{siting}/route-plans",
                       json={"county": FAKU, "date": DAY, "seed": 4, "solution_limit": 3,
                             "time_limit_s": 60})
            assert r.status_code == 202, r.text
            runs.append(_finished(c, r.json()["id"]))
        exports = []
        for run in runs:
            assert run["status"] == "succeeded", run["last_error"]
            assert run["params"] == {"time_limit_s": 60.0, "seed": 4, "solution_limit": 3}
            got = c.get(f"/v1/route-plans/{FAKU}/{DAY}?format=json&run={run['id']}")
            assert got.status_code == 200
            exports.append(_without_times(got.text))
        assert exports[0]["meta"]["solution_limit"] == 3
        assert exports[0]["routes"], "the plan has no route"
        assert exports[0] == exports[1]


@pytest.mark.parametrize(("value", "needle"), [
    (0, "solution_limit=0: "), (-1, "solution_limit=-1: "), ("x", "solution_limit='x': "),
    (1.5, "solution_limit=1.5: "), (True, "solution_limit=True: "),
    (10**9, "solution_limit=1000000000: "),
])
def test_solution_limit_is_validated(client: TestClient, value: Any, needle: str) -> None:
    """``solution_limit`` must be an integer from 1 to a sensible bound: anything else is
    a 422 at ``body.solution_limit`` naming the field and the value (the field's own
    check, not an unknown field's)."""
    siting = _siting(_store(client))
    r = client.post(f"/v1/runs/{siting}/route-plans",
                    json={"county": FAKU, "date": DAY, "solution_limit": value})
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == ["body", "solution_limit"] and item["msg"].startswith(needle), item
    assert item["type"] != "extra_forbidden", item


def test_solution_limit_is_recorded_only_when_given(client: TestClient) -> None:
    """A request with ``solution_limit`` records it in the run's params; one without
    records no such key, and an Idempotency-Key request without it still finds its run."""
    siting = _siting(_store(client))
    url = f"/v1/runs/{siting}/route-plans"
    with_limit = client.post(url, json={"county": FAKU, "date": DAY, "solution_limit": 7})
    assert with_limit.status_code == 202
    params = client.get(f"/v1/runs/{with_limit.json()['id']}").json()["params"]
    assert params["solution_limit"] == 7
    body = {"county": FAKU, "date": DAY, "seed": 2}
    first = client.post(url, json=body, headers={"Idempotency-Key": "k1"}).json()["id"]
    assert "solution_limit" not in client.get(f"/v1/runs/{first}").json()["params"]
    again = client.post(url, json=body, headers={"Idempotency-Key": "k1"})
    assert again.json()["id"] == first
    other = client.post(url, json={**body, "solution_limit": 2},
                        headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409


def test_solution_limit_is_documented(client: TestClient) -> None:
    """The OpenAPI document bounds ``solution_limit`` and says when a plan is
    reproducible."""
    doc = client.get("/openapi.json").json()
    field = doc["components"]["schemas"]["RoutePlanCreate"]["properties"]["solution_limit"]
    text = json.dumps(field)
    assert '"minimum": 1' in text and '"maximum"' in text
    assert "before the time limit" in field["description"]


# ------------------------------------------------------------- 2. publication order
def _plan_run(store: Store, sid: str, siting: str, at: datetime, run_id: str | None = None
              ) -> str:
    run, _ = store.create_run(kind="route_plan", scenario_id=sid, params={},
                              parent_run_id=siting, county=FAKU, plan_date=DAY)
    values: dict[str, Any] = {"created_at": at}
    if run_id is not None:
        values["id"] = run_id
    _set(store, run.id, **values)
    return run_id or run.id


def test_a_plan_finishing_late_does_not_replace_a_later_requests_plan(store: Store) -> None:
    """Two workers: the later request's run finishes first and is published; the earlier
    request's run finishing afterwards is stored unpublished (readable by run id), so the
    default download stays the later request's plan. Runs created at the same moment are
    ordered by id."""
    siting = _siting(store)
    sid = store.get_run(siting).scenario_id  # type: ignore[union-attr]
    t0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    older = _plan_run(store, sid, siting, t0)
    newer = _plan_run(store, sid, siting, t0 + timedelta(seconds=1))
    assert store.claim_next() is not None and store.claim_next() is not None
    store.finish_route_plan(newer, {"plan": {"who": "newer"}, "exports": {"csv": "new"}}, 1.0)
    store.finish_route_plan(older, {"plan": {"who": "older"}, "exports": {"csv": "old"}}, 1.0)
    pub = store.get_route_plan(FAKU, DAY)
    assert pub is not None and pub.run_id == newer and pub.plan == {"who": "newer"}
    assert store.get_route_plan_export(FAKU, DAY, "csv") == (True, "new")
    late = store.get_route_plan(FAKU, DAY, older)
    assert late is not None and late.plan == {"who": "older"} and not late.published
    assert store.get_run(older).status == "succeeded"  # type: ignore[union-attr]

    # a third request, later still, finishing last: published as before
    latest = _plan_run(store, sid, siting, t0 + timedelta(seconds=2))
    assert store.claim_next() is not None
    store.finish_route_plan(latest, {"plan": {"who": "latest"}, "exports": {}}, 1.0)
    pub = store.get_route_plan(FAKU, DAY)
    assert pub is not None and pub.run_id == latest

    # same created_at: the greater id is the later request
    t1 = t0 + timedelta(seconds=3)
    low = _plan_run(store, sid, siting, t1, "a" * 32)
    high = _plan_run(store, sid, siting, t1, "b" * 32)
    assert store.claim_next() is not None and store.claim_next() is not None
    store.finish_route_plan(high, {"plan": {"who": "high"}, "exports": {}}, 1.0)
    store.finish_route_plan(low, {"plan": {"who": "low"}, "exports": {}}, 1.0)
    pub = store.get_route_plan(FAKU, DAY)
    assert pub is not None and pub.run_id == high


# -------------------------------------------------------- 3. streamed body over the limit
@pytest.fixture
def small_limit_client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A live app (no workers) whose body limit is 2000 bytes."""
    with TestClient(create_app(settings_factory(max_body_bytes=2000))) as c:
        yield c


def _post_url(client: TestClient, which: str) -> str:
    store = _store(client)
    if which == "runs":
        sid = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                    raw_text="{}", owner_key_id=None).id
        return f"/v1/scenarios/{sid}/runs"
    return f"/v1/runs/{_siting(store)}/route-plans"


@pytest.mark.parametrize("which", ["runs", "route-plans"])
def test_a_chunked_body_over_the_limit_is_413(small_limit_client: TestClient,
                                              which: str) -> None:
    """A body over the limit sent chunked (no Content-Length) to an endpoint whose body
    FastAPI reads into a model is a 413 with the same body as when its length is
    declared, not a 422 "malformed"."""
    c = small_limit_client
    url = _post_url(c, which)
    big = b'{"seed": 1, "pad": "' + b"x" * 5000 + b'"}'
    declared = c.post(url, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 500):
            yield big[i:i + 500]

    streamed = c.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == declared.json()
    assert "2000 bytes" in streamed.json()["detail"]
    # a small chunked body is read as usual
    ok = c.post(url, content=iter([b'{"county": "210124", ', b'"date": "2026-12-01"}']
                                  if which == "route-plans" else [b'{"seed": ', b'1}']),
                headers={"Content-Type": "application/json"})
    assert ok.status_code == 202, ok.text


# ------------------------------------------------------------- 4. non-JSON content types
@pytest.mark.parametrize("which", ["runs", "route-plans"])
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/toml; charset=utf-8", "text/json"])
def test_non_json_bodies_are_415(client: TestClient, which: str, ctype: str) -> None:
    """A valid JSON body sent with a non-JSON Content-Type to a JSON-only endpoint is a
    415 naming the type, worded as ``POST /v1/scenarios`` words it."""
    url = _post_url(client, which)
    body = json.dumps({"county": FAKU, "date": DAY} if which == "route-plans" else {"seed": 1})
    r = client.post(url, content=body, headers={"Content-Type": ctype})
    assert r.status_code == 415, r.text
    base = ctype.split(";")[0]
    assert r.json() == {"detail": f"Content-Type {base!r} is not accepted: send "
                                  "application/json"}
    scen = client.post("/v1/scenarios", content="{}", headers={"Content-Type": "text/yaml"})
    assert scen.status_code == 415
    assert scen.json()["detail"].startswith("Content-Type 'text/yaml' is not accepted: send ")


@pytest.mark.parametrize("which", ["runs", "route-plans"])
@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8",
                                   "application/merge-patch+json"])
def test_json_bodies_are_accepted(client: TestClient, which: str, ctype: str) -> None:
    """JSON types, with parameters or as ``+json`` suffixes, are accepted."""
    url = _post_url(client, which)
    body = json.dumps({"county": FAKU, "date": DAY} if which == "route-plans" else {"seed": 1})
    r = client.post(url, content=body.encode(), headers={"Content-Type": ctype})
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("which", ["runs", "route-plans"])
def test_a_body_without_content_type_is_415(client: TestClient, which: str) -> None:
    """A body without Content-Type is a 415 saying what to send: FastAPI leaves it
    unread (a guard against cross-site posts without a CORS preflight), which used to
    surface as a misleading 422."""
    url = _post_url(client, which)
    body = json.dumps({"county": FAKU, "date": DAY} if which == "route-plans" else {"seed": 1})
    r = client.post(url, content=body.encode(), headers={})
    assert "content-type" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 415, r.text
    assert r.json() == {"detail": "the body has no Content-Type: send application/json"}


def test_415_is_documented(client: TestClient) -> None:
    """Both JSON-only POST operations document 415."""
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/scenarios/{scenario_id}/runs", "/v1/runs/{run_id}/route-plans"):
        assert "415" in paths[path]["post"]["responses"], path


# ------------------------------------------------------------------------- 5. dates
@pytest.mark.parametrize(("value", "shown"), [
    (0, "0"), (1764547200, "1764547200"), ("1764547200", "'1764547200'"),
    ("20261201", "'20261201'"), ("2026-12-01T00:00:00", "'2026-12-01T00:00:00'"),
    ("2026-1-1", "'2026-1-1'"), (True, "True"), (1764547200.0, "1764547200.0"),
])
def test_route_plan_dates_must_be_iso_text(client: TestClient, value: Any, shown: str) -> None:
    """A request's date is ``YYYY-MM-DD`` text: a Unix timestamp (number or digits) or
    another layout is a 422 at ``body.date`` saying so."""
    siting = _siting(_store(client))
    r = client.post(f"/v1/runs/{siting}/route-plans", json={"county": FAKU, "date": value})
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == ["body", "date"]
    assert item["msg"].startswith(f"date={shown}: use YYYY-MM-DD"), item


@pytest.mark.parametrize("value", ["1764547200", "0", "20261201", "2026-12-01T00:00:00Z",
                                   "2026-12-1"])
def test_download_dates_must_be_iso_text(client: TestClient, value: str) -> None:
    """The download's path date is ``YYYY-MM-DD`` too (the same rule): 422 at
    ``path.date``."""
    r = client.get(f"/v1/route-plans/{FAKU}/{value}")
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == ["path", "date"]
    assert item["msg"] == f"date={value!r}: use YYYY-MM-DD, for example 2026-12-01"


def test_iso_dates_still_work(client: TestClient) -> None:
    """``YYYY-MM-DD`` is accepted in body and path; a day that does not exist is still
    a 422."""
    siting = _siting(_store(client))
    url = f"/v1/runs/{siting}/route-plans"
    assert client.post(url, json={"county": FAKU, "date": DAY}).status_code == 202
    r = client.post(url, json={"county": FAKU, "date": "2026-02-30"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "date"]
    assert client.get(f"/v1/route-plans/{FAKU}/{DAY}").status_code == 404  # no plan yet
    assert client.get(f"/v1/route-plans/{FAKU}/2026-02-30").status_code == 422


# ---------------------------------------------------------------------- 6. progress
def _running_siting(store: Store, started_ago_s: float) -> tuple[str, datetime]:
    """A siting run with a 10 s time limit, running since ``started_ago_s`` seconds,
    whose solver reported 1 % done after 0.4 s and nothing since (a long MIP step)."""
    sid = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="siting", scenario_id=sid, params={"time_limit_s": 10.0})
    assert store.claim_next() is not None
    start = datetime.now(UTC) - timedelta(seconds=started_ago_s)
    _set(store, run.id, started_at=start)
    store.update_progress(run.id, {"fraction": 0.01, "elapsed_s": 0.4, "incumbent": None,
                                   "message": "MIP"})
    return run.id, start


def test_progress_fraction_advances_with_the_time_budget(store: Store) -> None:
    """A running siting run silent in a long step (fraction 0.01 reported) shows the
    share of its time limit used as its fraction (at most 0.99), unless it reported
    more."""
    run_id, start = _running_siting(store, 5.0)
    row = store.get_run(run_id)
    assert row is not None
    now = progress_of(row)
    assert now.fraction is not None and 0.49 <= now.fraction < 0.99
    assert now.elapsed_s is not None and now.elapsed_s >= 5.0
    assert run_out(row).progress.fraction == pytest.approx(now.fraction, abs=0.05)
    later = progress_of(row, now=start + timedelta(seconds=7.5))
    assert (later.fraction, later.elapsed_s) == (0.75, 7.5)
    assert progress_of(row, now=start + timedelta(seconds=40)).fraction == 0.99
    store.update_progress(run_id, {"fraction": 0.9, "elapsed_s": 2.0, "message": "MIP"})
    row = store.get_run(run_id)
    assert row is not None
    assert progress_of(row, now=start + timedelta(seconds=3)).fraction == 0.9
    assert progress_of(row, now=start + timedelta(seconds=9.95)).fraction == 0.99


def test_progress_elapsed_after_a_cancel_is_the_solve_time(store: Store) -> None:
    """Once cancelled (6.5 s after its start), a run's elapsed_s is its solve time, not
    its first and only report's 0.4 s; a report later than the recorded solve time
    wins."""
    run_id, _ = _running_siting(store, 6.0)
    store.request_cancel(run_id)
    assert store.finish_other(run_id, "cancelled", "cancelled while running", 6.5)
    row = store.get_run(run_id)
    assert row is not None and row.status == "cancelled"
    done = progress_of(row)
    assert done.elapsed_s == 6.5 and done.fraction == 0.01
    assert run_out(row).progress.elapsed_s == 6.5
    _set(store, run_id, solve_seconds=0.1)
    row = store.get_run(run_id)
    assert row is not None and progress_of(row).elapsed_s == 0.4


def test_progress_is_documented_as_work_or_time() -> None:
    """The schema says what fraction and elapsed_s are measured against."""
    from api.schemas import Progress

    props = Progress.model_json_schema()["properties"]
    assert "whichever is further" in props["fraction"]["description"]
    assert "solve_seconds" in props["elapsed_s"]["description"]


# ------------------------------------------------------------------------ 7. Allow
@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/v1/runs/abc", {"GET", "HEAD", "DELETE"}),
    ("PATCH", "/v1/scenarios", {"GET", "HEAD", "POST"}),
    ("DELETE", "/v1/counties", {"GET", "HEAD"}),
    ("PUT", "/v1/runs/abc/route-plans", {"POST"}),
    ("POST", "/static/map/map.js", {"GET", "HEAD"}),
    ("POST", "/map", {"GET", "HEAD"}),
])
def test_405_allows_every_method_of_the_path(client: TestClient, method: str, path: str,
                                              allowed: set[str]) -> None:
    """A 405's ``Allow`` header names the methods of every route matching the path."""
    r = client.request(method, path)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


# ------------------------------------------------------------------------- 8. HEAD
def _get_paths(client: TestClient) -> list[str]:
    """Every documented GET path without path parameters, and the pages."""
    doc = client.get("/openapi.json").json()
    paths = [p for p, ops in doc["paths"].items() if "get" in ops and "{" not in p]
    return [*paths, "/map", "/docs", "/openapi.json", "/static/map/map.js"]


def test_every_get_endpoint_answers_head(client: TestClient) -> None:
    """HEAD answers wherever GET does, with GET's status, type and length and no body;
    the OpenAPI document gains no HEAD operation."""
    paths = _get_paths(client)
    assert {"/map", "/docs", "/healthz", "/v1/counties.geojson"} <= set(paths)
    for path in [*paths, f"/v1/counties/{FAKU}", "/v1/runs/nope"]:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
        if "content-length" in get.headers and path != "/metrics":  # metrics count HEAD
            assert head.headers["content-length"] == get.headers["content-length"], path
    doc = client.get("/openapi.json").json()
    assert not [p for p, ops in doc["paths"].items() if "head" in ops]
    assert client.head("/v1/scenarios/x/runs").status_code == 405  # no GET there


# ------------------------------------------------------------- 9. the page under /static
def test_the_page_under_static_has_its_security_headers(client: TestClient) -> None:
    """``/static/map/index.html`` (the same file as ``/map``) is sent with the page's
    CSP, nosniff and Referrer-Policy; the other static files with nosniff."""
    page, copy = client.get("/map"), client.get("/static/map/index.html")
    assert copy.status_code == 200 and copy.content == page.content
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
        assert copy.headers.get(name) == page.headers[name], name
    for path in ("/static/map/map.js", "/static/vendor/leaflet/leaflet.css"):
        assert client.get(path).headers.get("x-content-type-options") == "nosniff", path


# -------------------------------------------------------------- 10. TOML dates in 422s
@pytest.mark.parametrize(("toml", "prefix"), [
    ("name = 1979-05-27T07:32:00Z", "name=1979-05-27T07:32:00+00:00: "),
    ("name = 1979-05-27T07:32:00", "name=1979-05-27T07:32:00: "),
    ("name = 1979-05-27", "name=1979-05-27: "),
    ("name = 07:32:00", "name=07:32:00: "),
    ('name = "x"\n[solver]\nseed = 1979-05-27', "solver.seed=1979-05-27: "),
])
def test_toml_dates_and_times_are_quoted_in_messages(client: TestClient, toml: str,
                                                     prefix: str) -> None:
    """A TOML date, time or date-time where another type is expected is a 422 whose
    message names the field and the value (ISO 8601), as for other scalars."""
    r = client.post("/v1/scenarios", content=toml,
                    headers={"Content-Type": "application/toml"})
    assert r.status_code == 422, r.text
    assert any(d["msg"].startswith(prefix) for d in r.json()["detail"]), r.json()
