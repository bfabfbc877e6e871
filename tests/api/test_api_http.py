"""HTTP tests against the real app (TestClient, temporary SQLite file, no solver workers):
access control, bad input, limits, paging, idempotency, downloads."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import StartupRefused, create_app
from api.db.store import Store
from api.settings import Settings

FAKU_TOML = """name = "faku"
[data]
counties = ["210124"]
[solver]
time_limit_s = 60
"""


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _seed_plan(store: Store, county: str, day: str = "2026-12-01") -> tuple[str, str]:
    """A succeeded siting run and a published plan for ``county`` (stored directly)."""
    sid = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                raw_text="{}", owner_key_id=None).id
    siting, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    store.claim_next()
    store.finish_siting(siting.id, {"summary": {"total_cost_yuan_per_year": 1.0},
                                    "facilities": {"type": "FeatureCollection", "features": []},
                                    "assignments": [{"village_id": "v", "county": county}]}, 1.0)
    rp, _ = store.create_run(kind="route_plan", scenario_id=sid, params={},
                             parent_run_id=siting.id, county=county, plan_date=day)
    store.claim_next()
    store.finish_route_plan(rp.id, {"plan": {"county": county}, "exports": {
        "json": json.dumps({"county": county}), "csv": "\ufeffvehicle,stop\n1,法库\n",
        "geojson": '{"type": "FeatureCollection", "features": []}',
        "gpx": "<gpx></gpx>", "html": "<html><body>司机</body></html>"}}, 1.0)
    return siting.id, rp.id


# ------------------------------------------------------------------------- access control
def test_open_mode_on_loopback_without_keys(client: TestClient) -> None:
    """No key in the database and a loopback listener: everything is open."""
    assert client.get("/v1/scenarios").status_code == 200
    assert client.get("/v1/counties").json()["total"] == 100


def test_open_mode_is_announced_in_the_startup_log(
        settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture) -> None:
    """Starting open (no key, loopback listener) logs a warning that says so; with a key
    in the database the warning is not logged."""
    settings = settings_factory()
    with caplog.at_level(logging.WARNING, logger="wastenet.api"), \
            TestClient(create_app(settings)) as c:
        c.app.state.store.create_key("admin")  # type: ignore[attr-defined]
    assert any("OPEN MODE" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records), caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wastenet.api"), \
            TestClient(create_app(settings)):
        pass  # start-up and shut-down only: the log line is what is checked
    assert not any("OPEN MODE" in r.getMessage() for r in caplog.records), caplog.text


def test_refuses_to_start_open_on_a_public_listener(
        settings_factory: Callable[..., Settings]) -> None:
    """No key and a non-loopback listener: start-up fails and says how to make a key."""
    app = create_app(settings_factory(host="0.0.0.0"))
    with pytest.raises(StartupRefused, match="wastenet keys create --role admin"), \
            TestClient(app):
        pass


def test_keys_and_roles(client: TestClient) -> None:
    """Once a key exists, requests need one; roles limit what a key may do; /healthz and
    the OpenAPI document stay open."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    eng = store.create_key("engineer").token
    faku = store.create_key("county", ["210124"]).token
    assert client.get("/v1/scenarios").status_code == 401
    assert client.get("/v1/scenarios", headers=_auth("wn_bad_key")).status_code == 401
    assert client.get("/v1/scenarios", headers=_auth(eng)).status_code == 200
    assert client.get("/v1/scenarios", headers={"X-API-Key": eng}).status_code == 200
    assert client.get("/v1/scenarios", headers=_auth(faku)).status_code == 403
    assert client.post("/v1/scenarios", json={"name": "x"}, headers=_auth(faku)).status_code == 403
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=_auth(faku)).status_code == 200


def test_county_key_reads_only_its_own_plans(client: TestClient) -> None:
    """A county key reads its county's plan, gets 403 for another county's plan, and
    cannot request plans for other counties."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    siting_faku, rp_faku = _seed_plan(store, "210124")
    _seed_plan(store, "210123")
    faku = store.create_key("county", ["210124"]).token
    eng = store.create_key("engineer").token
    ok = client.get("/v1/route-plans/210124/2026-12-01?format=csv", headers=_auth(faku))
    assert ok.status_code == 200 and "法库" in ok.text
    denied = client.get("/v1/route-plans/210123/2026-12-01", headers=_auth(faku))
    assert denied.status_code == 403
    assert client.get("/v1/route-plans/210123/2026-12-01", headers=_auth(eng)).status_code == 200
    r = client.post(f"/v1/runs/{siting_faku}/route-plans",
                    json={"county": "210123", "date": "2026-12-02"}, headers=_auth(faku))
    assert r.status_code == 403
    assert client.get(f"/v1/runs/{rp_faku}", headers=_auth(faku)).status_code == 200
    assert client.get(f"/v1/runs/{siting_faku}", headers=_auth(faku)).status_code == 403
    r = client.post(f"/v1/runs/{siting_faku}/route-plans",
                    json={"county": "210124", "date": "2026-12-02"}, headers=_auth(faku))
    assert r.status_code == 202 and r.json()["status"] == "queued"


@pytest.mark.parametrize(("fmt", "ctype", "needle"), [
    ("json", "application/json", '"county"'),
    ("csv", "text/csv; charset=utf-8", "vehicle,stop"),
    ("geojson", "application/geo+json", "FeatureCollection"),
    ("gpx", "application/gpx+xml", "<gpx>"),
    ("html", "text/html; charset=utf-8", "司机"),
])
def test_route_plan_downloads(client: TestClient, fmt: str, ctype: str, needle: str) -> None:
    """Every format downloads with its media type and a Content-Disposition filename."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    siting, rp = _seed_plan(store, "210124")
    r = client.get(f"/v1/route-plans/210124/2026-12-01?format={fmt}")
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    assert needle in r.text
    assert 'filename="210124-2026-12-01-' in r.headers["content-disposition"]
    for run in (siting, rp):
        assert client.get(f"/v1/route-plans/210124/2026-12-01?format={fmt}&run={run}"
                          ).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "csv", "gpx", "html"])
def test_route_plan_download_answers_head(client: TestClient, fmt: str) -> None:
    """HEAD on a download answers as GET does (status, media type, file name, length)
    without the body; a missing plan is a 404 there too."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    _seed_plan(store, "210124")
    url = f"/v1/route-plans/210124/2026-12-01?format={fmt}"
    got, head = client.get(url), client.head(url)
    assert head.status_code == 200 and head.content == b""
    for h in ("content-type", "content-disposition", "content-length"):
        assert head.headers[h] == got.headers[h], h
    assert client.head("/v1/route-plans/210124/2026-12-09").status_code == 404


# ------------------------------------------------------------------------ scenarios
def test_toml_and_json_scenarios_round_trip(client: TestClient) -> None:
    """TOML and JSON bodies of the same scenario store the same validated scenario."""
    a = client.post("/v1/scenarios", content=FAKU_TOML,
                    headers={"Content-Type": "application/toml"})
    b = client.post("/v1/scenarios", json={"name": "faku", "data": {"counties": ["210124"]},
                                           "solver": {"time_limit_s": 60}})
    assert a.status_code == b.status_code == 201
    assert a.headers["location"] == f"/v1/scenarios/{a.json()['id']}"
    sa = client.get(f"/v1/scenarios/{a.json()['id']}").json()
    sb = client.get(f"/v1/scenarios/{b.json()['id']}").json()
    assert sa["source_format"] == "toml" and sb["source_format"] == "json"
    assert sa["scenario"] == sb["scenario"]
    assert sa["scenario"]["data"]["counties"] == ["210124"]


def test_scenario_paging(client: TestClient) -> None:
    """limit/offset page through scenarios, oldest first, with the total."""
    ids = [client.post("/v1/scenarios", json={"name": f"s{i}"}).json()["id"] for i in range(5)]
    page = client.get("/v1/scenarios?limit=2&offset=2").json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 2
    assert [x["id"] for x in page["items"]] == ids[2:4]


def test_idempotency_key(client: TestClient) -> None:
    """The same Idempotency-Key returns the same run; reused differently it is a 409."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    h = {"Idempotency-Key": "abc-1"}
    r1 = client.post(f"/v1/scenarios/{sid}/runs", json={"seed": 1}, headers=h)
    r2 = client.post(f"/v1/scenarios/{sid}/runs", json={"seed": 1}, headers=h)
    assert r1.status_code == r2.status_code == 202
    assert r1.json()["id"] == r2.json()["id"]
    assert client.post(f"/v1/scenarios/{sid}/runs", json={"seed": 2}, headers=h
                       ).status_code == 409
    r3 = client.post(f"/v1/scenarios/{sid}/runs")
    assert r3.status_code == 202 and r3.json()["id"] != r1.json()["id"]
    run = client.get(f"/v1/runs/{r3.json()['id']}").json()
    assert run["status"] == "queued" and run["attempts"] == 0
    assert run["params"] == {"time_limit_s": 600.0, "seed": 0}


def test_cancel_queued_run_and_result_states(client: TestClient) -> None:
    """A queued run cancels at once; a run without result answers 409 on /result."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    rid = client.post(f"/v1/scenarios/{sid}/runs").json()["id"]
    assert client.get(f"/v1/runs/{rid}/result").status_code == 409
    r = client.delete(f"/v1/runs/{rid}")
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert client.delete(f"/v1/runs/{rid}").status_code == 409


def test_result_paging(client: TestClient) -> None:
    """/result returns the summary, the facilities and one page of assignments."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    sid = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    store.claim_next()
    rows = [{"village_id": f"v{i}", "county": "210124"} for i in range(7)]
    store.finish_siting(run.id, {"summary": {"gap": 0.0},
                                 "facilities": {"type": "FeatureCollection", "features": []},
                                 "assignments": rows}, 2.0)
    j = client.get(f"/v1/runs/{run.id}/result?limit=3&offset=3").json()
    assert j["summary"] == {"gap": 0.0} and j["schema_version"] == 1
    assert j["assignments"] == rows[3:6] and j["assignments_total"] == 7


# ------------------------------------------------------------------------ bad input
BIG = "x" * 2_000_000


@pytest.mark.parametrize(("body", "ctype", "loc", "needle"), [
    ('{"name": "x",', "application/json", ["body"], "invalid JSON at line 1"),
    ('{"name": NaN}', "application/json", ["body"], "NaN"),
    ('{"name": "x", "network": {"circuity_factor": Infinity}}', "application/json", ["body"],
     "Infinity"),
    ("[1, 2]", "application/json", ["body"], "must be an object"),
    ('name = "x"\n[data\n', "application/toml", ["body"], "invalid TOML"),
    ('{"name": 5}', "application/json", ["body", "name"], "string"),
    ('{"name": "x", "data": {"seed": "abc"}}', "application/json", ["body", "data", "seed"],
     "integer"),
    ('{"name": "x", "bogus": 1}', "application/json", ["body", "bogus"], "xtra"),
    ('{"name": "x", "data": {"source": "user", "villages_file": "/etc/passwd"}}',
     "application/json",
     ["body", "data", "villages_file"], "file on the server"),
    ('{"name": "x", "data": {"distance_matrix_file": "m.npz"}}', "application/json",
     ["body", "data", "distance_matrix_file"], "file on the server"),
    ('{"name": "x", "candidates": {"transfer": {"sites": [{"id": "s", "lon": 116.4, '
     '"lat": 39.9}]}}}', "application/json", ["body", "candidates", "transfer", "sites", 0],
     "outside Liaoning"),
    ('{"name": "x", "data": {"source": "user", "villages": [{"id": "v", "lon": 41.8, '
     '"lat": 83.4, "population": 10}]}}', "application/json",
     ["body", "data", "villages", 0], "swapped"),
    ('{"name": "x", "data": {"counties": ["999999"]}}', "application/json",
     ["body", "data", "counties", 0], "unknown Liaoning county"),
    ('{"name": "x", "solver": {"time_limit_s": 7200}}', "application/json",
     ["body", "solver", "time_limit_s"], "cap"),
    ('{"name": "x", "data": {"villages_total": 50000}}', "application/json",
     ["body", "data", "villages_total"], "WASTENET_MAX_VILLAGES"),
    (b"\xff\xfe{}", "application/json", ["body"], "not UTF-8"),
])
def test_bad_scenarios_are_422_with_location(client: TestClient, body: str | bytes,
                                             ctype: str, loc: list[Any], needle: str) -> None:
    """Malformed JSON/TOML, wrong types, NaN/Infinity, server files, out-of-province
    points, unknown counties and caps: 422 whose first item names the location."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    assert any(d["loc"][:len(loc)] == loc and needle in d["msg"] for d in detail), detail


@pytest.mark.parametrize(("body", "ctype", "loc"), [
    ('{"name": "x", "network": {"circuity_factor": NaN}}', "application/json",
     ["body", "network", "circuity_factor"]),
    ('{"name": "x", "costs": {"discount_rate": Infinity}}', "application/json",
     ["body", "costs", "discount_rate"]),
    ('{"name": "x", "data": {"source": "user", "villages": [{"id": "v", "lon": -Infinity, '
     '"lat": 42.4, "population": 10}]}}', "application/json",
     ["body", "data", "villages", 0, "lon"]),
    ('name = "x"\n[network]\ncircuity_factor = nan\n', "application/toml",
     ["body", "network", "circuity_factor"]),
    ('name = "x"\n[costs]\ndiscount_rate = inf\n', "application/toml",
     ["body", "costs", "discount_rate"]),
])
def test_nan_and_infinity_are_422_at_their_field(client: TestClient, body: str, ctype: str,
                                                 loc: list[Any]) -> None:
    """NaN or Infinity in a JSON or TOML scenario: 422 whose location is the field that
    holds it, not just the body."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [loc], r.json()


@pytest.mark.parametrize(("body", "ctype"), [
    ('{"name": "x", "description": ' + "[" * 5000 + "]" * 5000 + "}", "application/json"),
    ("[" * 100_000 + "]" * 100_000, "application/json"),
    ('name = "x"\ndescription = ' + "[" * 5000 + "]" * 5000 + "\n", "application/toml"),
    ('name = "x"\nbogus = ' + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "application/toml"),
])
def test_deeply_nested_scenarios_are_422_not_500(client: TestClient, body: str,
                                                 ctype: str) -> None:
    """Arrays or tables nested thousands deep (within the body limit) exhaust the
    parser's recursion: the answer is a located 422, never a 500."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text[:300]
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body"] and "nested too deeply" in detail[0]["msg"]


def test_body_limit_is_413(client: TestClient) -> None:
    """A body above max_body_bytes is refused with 413, declared or streamed."""
    r = client.post("/v1/scenarios", content=BIG, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 100_000

    r = client.post("/v1/scenarios", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    """Only JSON and TOML bodies are accepted."""
    r = client.post("/v1/scenarios", content="name: x", headers={"Content-Type": "text/yaml"})
    assert r.status_code == 415


@pytest.mark.parametrize(("body", "loc", "needle"), [
    ({"time_limit_s": 99999}, ["body", "time_limit_s"], "99999"),
    ({"time_limit_s": -1}, ["body", "time_limit_s"], "time_limit_s=-1: "),
    ({"seed": "x"}, ["body", "seed"], "seed='x': "),
    ({"seed": 2**31}, ["body", "seed"], "seed=2147483648: "),
    ({"seed": 1, "extra": 1}, ["body", "extra"], "extra=1: "),
    ({"seed": "y" * 200}, ["body", "seed"], "seed='" + "y" * 76 + "...: "),
    ({"time_limit_s": True}, ["body", "time_limit_s"], "time_limit_s=True: "),
    ({"time_limit_s": False}, ["body", "time_limit_s"], "time_limit_s=False: "),
    ({"seed": True}, ["body", "seed"], "seed=True: "),
])
def test_bad_run_requests_are_422(client: TestClient, body: dict[str, Any],
                                  loc: list[str], needle: str) -> None:
    """Run parameters out of range or of the wrong type (a boolean is not a number): 422
    naming the field and, in its message, the offending value (a long one cut to 80
    characters)."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    r = client.post(f"/v1/scenarios/{sid}/runs", json=body)
    assert r.status_code == 422
    assert any(d["loc"] == loc and needle in d["msg"] for d in r.json()["detail"]), r.json()


def test_nan_in_run_request_is_422(client: TestClient) -> None:
    """NaN sent to a typed endpoint is refused, not a 500."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    r = client.post(f"/v1/scenarios/{sid}/runs", content='{"time_limit_s": NaN}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422


@pytest.mark.parametrize("path", [
    "/v1/scenarios/nope", "/v1/runs/nope", "/v1/runs/nope/result",
    "/v1/runs/a/compare/b", "/v1/counties/999999", "/v1/route-plans/999999/2026-12-01",
    "/v1/route-plans/210124/2026-12-01",
])
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    """Unknown scenarios, runs, counties and plans: 404."""
    assert client.get(path).status_code == 404


def test_unknown_scenario_run_and_plan_posts_are_404(client: TestClient) -> None:
    """POSTs under an unknown scenario or run: 404."""
    assert client.post("/v1/scenarios/nope/runs").status_code == 404
    assert client.post("/v1/runs/nope/route-plans",
                       json={"county": "210124", "date": "2026-12-01"}).status_code == 404


def test_route_plan_request_validation(client: TestClient) -> None:
    """Bad dates, unknown counties and counties outside the sited network: 422; a run
    that has not succeeded: 409."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    siting, _ = _seed_plan(store, "210124")
    url = f"/v1/runs/{siting}/route-plans"
    r = client.post(url, json={"county": "210124", "date": "2026-13-45"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "date"]
    r = client.post(url, json={"county": "999999", "date": "2026-12-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "county"]
    r = client.post(url, json={"county": "210123", "date": "2026-12-01"})
    assert r.status_code == 422 and "no villages" in r.json()["detail"][0]["msg"]
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    queued = client.post(f"/v1/scenarios/{sid}/runs").json()["id"]
    r = client.post(f"/v1/runs/{queued}/route-plans", json={"county": "210124",
                                                            "date": "2026-12-01"})
    assert r.status_code == 409


def test_metrics_exposition(client: TestClient) -> None:
    """/metrics has runs by status, request counts and latency histograms."""
    client.get("/v1/counties/210124")
    text = client.get("/metrics").text
    assert 'wastenet_runs{status="queued"} 0' in text
    assert ('wastenet_http_requests_total{method="GET",route="/v1/counties/{adcode}",'
            'status="200"} 1') in text
    assert "wastenet_http_request_duration_seconds_bucket" in text
    assert "# TYPE wastenet_solve_duration_seconds histogram" in text


def test_readyz_reports_missing_workers(client: TestClient) -> None:
    """Without solver workers the service is alive but not ready."""
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] is True


def test_undecodable_json_on_typed_endpoint_is_422(client: TestClient) -> None:
    """Bytes that are not JSON, sent to a typed endpoint, are a located 422, not a 400."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    r = client.post(f"/v1/scenarios/{sid}/runs", content=b"\xc0\xaf}\x06\xe9E=7",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    assert "not UTF-8" in r.json()["detail"][0]["msg"], r.json()


# ------------------------------------------------------- bad input found by the audit
HUGE_INT = "1" * 4400  # Python converts at most 4300 digits (sys.get_int_max_str_digits)


@pytest.mark.parametrize(("body", "ctype", "needle"), [
    ('{"name": "x", "data": {"seed": ' + HUGE_INT + "}}", "application/json",
     "invalid JSON: an integer has more than 4300 digits"),
    ('name = "x"\n[data]\nseed = ' + HUGE_INT + "\n", "application/toml",
     "invalid TOML: an integer has more than 4300 digits"),
    ('{"name": "x", "data": {"seed": -' + HUGE_INT + "}}", "application/json",
     "more than 4300 digits"),
])
def test_integer_too_long_to_convert_is_422(client: TestClient, body: str, ctype: str,
                                            needle: str) -> None:
    """A scenario holding an integer of more than 4,300 digits (which Python refuses to
    convert) is a 422 at the body naming the problem, like other unparsable bodies, not
    a 500; nothing is stored."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 422, r.text[:300]
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body"] and needle in detail[0]["msg"], detail
    assert client.get("/v1/scenarios").json()["total"] == 0


def test_integer_too_long_in_a_run_request_names_the_problem(client: TestClient) -> None:
    """The same integer in a run request's body is a 422 at the body whose message says
    what is wrong with it, not just that there was an error parsing it."""
    sid = client.post("/v1/scenarios", json={"name": "x"}).json()["id"]
    r = client.post(f"/v1/scenarios/{sid}/runs", content='{"seed": ' + HUGE_INT + "}",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body"], detail
    assert "malformed request body: invalid JSON: an integer has more than 4300 digits" in (
        detail[0]["msg"]), detail


@pytest.mark.parametrize(("body", "loc", "needle"), [
    ('{"name": "x", "description": "caf\\ud800e"}', ["body", "description"],
     "description='caf\\ud800e': Input should be valid Unicode text"),
    ('{"name": "x", "candidates": {"transfer": {"sizes": [{"name": "T\\udfff", '
     '"capacity_t_per_day": 5, "capex_yuan": 1}]}}}',
     ["body", "candidates", "transfer", "sizes", 0, "name"], "lone surrogate '\\udfff'"),
    ('{"name": "x", "candidates": {"transfer": {"exclude": ["a", "\\ud83d"]}}}',
     ["body", "candidates", "transfer", "exclude", 1], "cannot be encoded as UTF-8"),
    ('{"name": "x", "bad\\ud800key": 1}', ["body", "bad\\ud800key"],
     "the object key 'bad\\ud800key'"),
    ('{"name": "\\ud800"}', ["body", "name"], "name='\\ud800'"),
])
def test_lone_surrogates_are_422_at_their_field(client: TestClient, body: str,
                                                loc: list[Any], needle: str) -> None:
    """A string (or an object key) anywhere in a scenario that cannot be encoded as
    UTF-8 (a lone surrogate sent as a JSON escape) is refused at POST with a 422 naming
    its field, instead of being stored and then failing every read with a 500; nothing
    is stored, and the list of scenarios still reads."""
    r = client.post("/v1/scenarios", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [loc], detail
    assert detail[0]["type"] == "string_unicode" and needle in detail[0]["msg"], detail
    listed = client.get("/v1/scenarios")
    assert listed.status_code == 200 and listed.json()["total"] == 0


def test_selection_without_rural_villages_is_422(client: TestClient) -> None:
    """A scenario selecting only urban districts (Heping, 210102, has no rural villages)
    is refused at POST with the message its runs would fail with, instead of being
    stored for runs that can only fail; a selection with a rural county is accepted."""
    r = client.post("/v1/scenarios", json={"name": "urban", "data": {"counties": ["210102"]}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{
        "loc": ["body", "data", "counties"], "type": "value_error",
        "msg": "data.counties=['210102']: the selection contains no rural villages"}]
    mixed = client.post("/v1/scenarios", json={"name": "mixed",
                                               "data": {"counties": ["210102", "210124"]}})
    assert mixed.status_code == 201, mixed.text


@pytest.mark.parametrize(("body", "loc", "msg"), [
    ({"name": "x", "data": {"counties": ["210124"]}, "solver": {"time_limit_s": -1}},
     ["body", "solver", "time_limit_s"], "solver.time_limit_s=-1: Input should be greater than 0"),
    ({"name": "x", "data": {"seed": "abc"}}, ["body", "data", "seed"],
     "data.seed='abc': Input should be a valid integer"),
    ({"name": "x", "data": {"seed": "z" * 200}}, ["body", "data", "seed"],
     "data.seed='" + "z" * 76 + "...: Input should be a valid integer"),
    ({"name": "x", "bogus": 1}, ["body", "bogus"], "bogus=1: Extra inputs are not permitted"),
])
def test_scenario_messages_name_field_and_value(client: TestClient, body: dict[str, Any],
                                                loc: list[Any], msg: str) -> None:
    """Schema errors in a scenario name the field and the offending value, as the other
    endpoints' validation errors do (a long value cut to 80 characters)."""
    r = client.post("/v1/scenarios", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == loc and detail[0]["msg"].startswith(msg), detail


def test_missing_scenario_field_message_quotes_no_value(client: TestClient) -> None:
    """A missing field is named without a value (there is none to quote)."""
    r = client.post("/v1/scenarios", json={"data": {"counties": ["210124"]}})
    assert r.status_code == 422
    assert r.json()["detail"][0] == {"loc": ["body", "name"], "msg": "Field required",
                                     "type": "missing"}


def test_route_plan_request_refuses_booleans_as_numbers(client: TestClient) -> None:
    """``time_limit_s: true`` in a route-plan request is a 422 naming field and value,
    not a 1-second plan."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    siting, _ = _seed_plan(store, "210124")
    r = client.post(f"/v1/runs/{siting}/route-plans",
                    json={"county": "210124", "date": "2026-12-02", "time_limit_s": True})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "time_limit_s"], detail
    assert detail[0]["msg"].startswith("time_limit_s=True: "), detail


def test_public_listener_needs_an_admin_key(settings_factory: Callable[..., Settings]) -> None:
    """A listener that is not loopback-only refuses to start while the database holds no
    live admin key, even with engineer and county keys (or a revoked admin key); with an
    admin key it starts."""
    from api.db.session import make_engine, migrate

    settings = settings_factory(host="0.0.0.0")
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    store = Store(engine)
    store.create_key("county", ["210124"])
    store.create_key("engineer")
    revoked = store.create_key("admin")
    store.revoke_key(revoked.key_id)
    assert store.has_keys() and not store.has_admin_key()
    with pytest.raises(StartupRefused, match="no admin API key exists"), \
            TestClient(create_app(settings)):
        pass
    admin = store.create_key("admin")
    assert store.has_admin_key()
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/scenarios").status_code == 401
        assert c.get("/v1/scenarios", headers=_auth(admin.token)).status_code == 200


def test_download_disposition_matches_its_documentation(client: TestClient) -> None:
    """The OpenAPI 200 description of a download says what is sent: an attachment for
    each format except ``html``, the printable sheet, which is sent inline (and is)."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    _seed_plan(store, "210124")
    op = client.get("/openapi.json").json()["paths"]["/v1/route-plans/{county}/{date}"]["get"]
    described = op["responses"]["200"]["description"]
    assert "attachment" in described and "inline" in described and "html" in described
    for fmt in ("json", "csv", "geojson", "gpx", "html"):
        r = client.get(f"/v1/route-plans/210124/2026-12-01?format={fmt}")
        want = "inline" if fmt == "html" else "attachment"
        assert r.headers["content-disposition"].startswith(f"{want}; "), (fmt, r.headers)


def test_app_on_each_database(db_url: str, settings_factory: Callable[..., Settings]) -> None:
    """The app migrates and serves on SQLite and on PostgreSQL alike, and a new app on
    the same database finds what the first stored."""
    settings = settings_factory(database_url=db_url)
    with TestClient(create_app(settings)) as c:
        sid = c.post("/v1/scenarios", content=FAKU_TOML,
                     headers={"Content-Type": "application/toml"}).json()["id"]
        rid = c.post(f"/v1/scenarios/{sid}/runs", json={"seed": 3}).json()["id"]
    with TestClient(create_app(settings)) as c:
        assert c.get(f"/v1/scenarios/{sid}").json()["scenario"]["data"]["counties"] == ["210124"]
        run = c.get(f"/v1/runs/{rid}").json()
        assert run["status"] == "queued" and run["params"]["seed"] == 3


def test_nul_in_ids_and_names_is_4xx_on_each_database(
        db_url: str, settings_factory: Callable[..., Settings]) -> None:
    """A NUL character in a path id, the ``run`` query or the scenario name is bad input:
    404 or 422 on SQLite and on PostgreSQL alike (PostgreSQL refuses NUL in text, which
    must not surface as a 500)."""
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        sid = c.post("/v1/scenarios", json={"name": "x"}).json()["id"]
        for method, path in [
            ("GET", "/v1/scenarios/a%00b"), ("POST", "/v1/scenarios/a%00b/runs"),
            ("GET", "/v1/runs/a%00b"), ("DELETE", "/v1/runs/a%00b"),
            ("GET", "/v1/runs/a%00b/result"), ("GET", "/v1/runs/a%00b/compare/b"),
            ("GET", "/v1/route-plans/210124/2026-12-01?run=a%00b"),
        ]:
            assert c.request(method, path).status_code == 404, (method, path)
        r = c.post("/v1/runs/a%00b/route-plans", json={"county": "210124",
                                                        "date": "2026-12-01"})
        assert r.status_code == 404
        for body, ctype in [('{"name": "a\\u0000b"}', "application/json"),
                            ('name = "a\\u0000b"', "application/toml")]:
            r = c.post("/v1/scenarios", content=body, headers={"Content-Type": ctype})
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"] == ["body", "name"]
        assert c.get(f"/v1/scenarios/{sid}").status_code == 200


def test_compare_two_runs(client: TestClient) -> None:
    """/compare reports b's saving against a (here: sharing saves 10 of 100)."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    sid = store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                raw_text="{}", owner_key_id=None).id
    ids = []
    for cost, sharing in ((100.0, "none"), (90.0, "adjacent")):
        run, _ = store.create_run(kind="siting", scenario_id=sid, params={})
        store.claim_next()
        store.finish_siting(run.id, {"summary": {"total_cost_yuan_per_year": cost,
                                                 "sharing": sharing, "kpis": {}},
                                     "facilities": {}, "assignments": []}, 1.0)
        ids.append(run.id)
    j = client.get(f"/v1/runs/{ids[0]}/compare/{ids[1]}").json()
    assert j["run_a"] == ids[0] and j["run_b"] == ids[1]
    assert j["saving_yuan_per_year"] == 10.0 and j["b"]["sharing"] == "adjacent"
    queued = client.post(f"/v1/scenarios/{sid}/runs").json()["id"]
    assert client.get(f"/v1/runs/{ids[0]}/compare/{queued}").status_code == 409


def test_candidate_and_village_caps(settings_factory: Callable[..., Settings]) -> None:
    """Configured caps answer 422 naming the field: Faku produces 210 villages, 27 transfer
    and 18 incinerator candidates (17 rural seats + 10 extra; 1 county seat + 17 township
    seats)."""
    app = create_app(settings_factory(max_candidates=44, max_villages=209))
    with TestClient(app) as c:
        r = c.post("/v1/scenarios", content=FAKU_TOML.replace(
            "[solver]", "[candidates.transfer]\nextra_per_county = 10\n[solver]"),
            headers={"Content-Type": "application/toml"})
        assert r.status_code == 422
        by_loc = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
        assert "45 candidate sites (27 transfer, 18 incinerator)" in by_loc[("body", "candidates")]
        assert "210 villages" in by_loc[("body", "data", "villages_total")]


def test_openapi_documents_every_operation_with_examples(client: TestClient) -> None:
    """Every operation's request body and success response carry an example, inline or
    in the component schema they reference."""
    doc = client.get("/openapi.json").json()
    comps = doc["components"]["schemas"]

    def has_example(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "example" in node or "examples" in node:
            return True
        if "$ref" in node:
            return has_example(comps[node["$ref"].rsplit("/", 1)[-1]])
        if any(has_example(n) for n in node.get("anyOf", []) if n.get("type") != "null"):
            return True
        return has_example(node.get("schema"))

    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            bodies = list(op.get("requestBody", {}).get("content", {}).values())
            ok = [r for code, r in op["responses"].items() if code.startswith("2")]
            contents = [c for r in ok for c in r.get("content", {}).values()]
            if not contents or not all(has_example(c) for c in bodies + contents):
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing
