"""Tests of ``GET /v1/runs`` (the paginated list of runs, newest first) and of the map
page's run picker that it feeds (TestClient on a temporary SQLite file, no solver
workers; the store-level test also runs on PostgreSQL when one is configured)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db.models import INTERNAL_RUN_KINDS, RUN_KINDS, RUN_STATUSES, RunRow
from api.db.store import Store
from api.routes.map import STATIC_DIR
from api.schemas import RunKind, RunStatus
from api.settings import Settings

FAKU_TOML = """name = "faku"
[data]
counties = ["210124"]
[solver]
time_limit_s = 60
"""
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
FACILITIES: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _store(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _scenario(store: Store, name: str = "x") -> str:
    return store.create_scenario(name=name, source_format="json", body={"name": name},
                                 raw_text="{}", owner_key_id=None).id


def _set(store: Store, run_id: str, **values: Any) -> None:
    """Overwrite columns of a stored run (timestamps, status) directly."""
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def _run(store: Store, sid: str, at: datetime, *, kind: str = "siting",
         status: str = "queued", county: str | None = None,
         summary: dict[str, Any] | None = None) -> str:
    """A run of scenario ``sid`` created at ``at`` and brought to ``status`` (a succeeded
    siting run stores a result with ``summary``)."""
    parent = "p" * 32 if kind == "route_plan" else None
    run, _ = store.create_run(kind=kind, scenario_id=sid, params={}, parent_run_id=parent,
                              county=county, plan_date="2026-12-01" if county else None)
    if status == "succeeded" and kind == "siting":
        store.finish_siting(run.id, {"summary": summary or {}, "facilities": FACILITIES,
                                     "assignments": []}, 1.0)
    elif status in ("succeeded", "failed", "cancelled"):
        store.finish_other(run.id, status, None if status == "succeeded" else "boom", 1.0)
    elif status == "running":
        _set(store, run.id, status="running", attempts=1, started_at=at,
             progress={"fraction": 0.25, "incumbent": 10.0, "message": "solving"})
    _set(store, run.id, created_at=at)
    return run.id


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def _mixed(store: Store) -> dict[str, Any]:
    """Two scenarios and eight runs of every status and both kinds, created an hour
    apart in a shuffled order (so neither insertion order nor id order is time order).
    Returns the ids by label and the expected newest-first order."""
    sa, sb = _scenario(store, "alpha"), _scenario(store, "beta")
    specs: list[tuple[str, str, str, str, str | None, dict[str, Any] | None]] = [
        ("siting_ok", sa, "siting", "succeeded", None,
         {"total_cost_yuan_per_year": 14732143.7, "gap": 0.0585, "kpis": {"x": 1}}),
        ("siting_ok_b", sb, "siting", "succeeded", None,
         {"total_cost_yuan_per_year": 900.0, "gap": 0.0}),
        ("siting_queued", sa, "siting", "queued", None, None),
        ("siting_running", sb, "siting", "running", None, None),
        ("siting_failed", sa, "siting", "failed", None, None),
        ("siting_cancelled", sb, "siting", "cancelled", None, None),
        ("plan_faku", sa, "route_plan", "succeeded", "210124", None),
        ("plan_other", sa, "route_plan", "queued", "210123", None)]
    hours = list(range(len(specs)))
    random.Random(7).shuffle(hours)
    ids: dict[str, str] = {}
    when: dict[str, datetime] = {}
    for (label, sid, kind, status, county, summary), h in zip(specs, hours, strict=True):
        when[label] = T0 + timedelta(hours=h)
        ids[label] = _run(store, sid, when[label], kind=kind, status=status, county=county,
                          summary=summary)
    order = [ids[label] for label in sorted(when, key=lambda k: when[k], reverse=True)]
    return {"ids": ids, "order": order, "scenarios": (sa, sb)}


# ---------------------------------------------------------------------- order and paging
def test_runs_are_listed_newest_first(client: TestClient) -> None:
    """Runs queued through the API (the Faku scenario) come back newest first by
    ``created_at``, not in the order they were made or by id; equal times are ordered
    by id (descending), so the order is total."""
    sid = client.post("/v1/scenarios", content=FAKU_TOML,
                      headers={"Content-Type": "application/toml"}).json()["id"]
    made = [client.post(f"/v1/scenarios/{sid}/runs").json()["id"] for _ in range(6)]
    store = _store(client)
    minutes = [3, 0, 5, 1, 5, 2]  # two runs share the newest time
    for rid, m in zip(made, minutes, strict=True):
        _set(store, rid, created_at=T0 + timedelta(minutes=m))
    expected = sorted(made, key=lambda r: (minutes[made.index(r)], r), reverse=True)
    page = client.get("/v1/runs").json()
    assert _ids(page) == expected
    assert page["total"] == 6 and page["limit"] == 50 and page["offset"] == 0
    stamps = [item["created_at"] for item in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert all(item["scenario_name"] == "faku" for item in page["items"])


def test_paging_with_limit_offset_and_total(client: TestClient) -> None:
    """``limit``/``offset`` cut the newest-first list into pages that add up to the
    whole list, each with the total; past the end the page is empty but the total
    stays."""
    store = _store(client)
    sid = _scenario(store)
    made = [_run(store, sid, T0 + timedelta(minutes=i)) for i in range(7)]
    newest_first = made[::-1]
    seen: list[str] = []
    for offset in (0, 3, 6):
        page = client.get(f"/v1/runs?limit=3&offset={offset}").json()
        assert (page["total"], page["limit"], page["offset"]) == (7, 3, offset)
        assert _ids(page) == newest_first[offset:offset + 3]
        seen += _ids(page)
    assert seen == newest_first
    past = client.get("/v1/runs?limit=3&offset=7").json()
    assert past["items"] == [] and past["total"] == 7
    assert _ids(client.get("/v1/runs?limit=500").json()) == newest_first
    assert len(client.get("/v1/runs?limit=1").json()["items"]) == 1


# ------------------------------------------------------------------------------- filters
@pytest.mark.parametrize(("query", "labels"), [
    ("status=succeeded", {"siting_ok", "siting_ok_b", "plan_faku"}),
    ("status=queued", {"siting_queued", "plan_other"}),
    ("status=running", {"siting_running"}),
    ("status=failed", {"siting_failed"}),
    ("status=cancelled", {"siting_cancelled"}),
    ("kind=siting", {"siting_ok", "siting_ok_b", "siting_queued", "siting_running",
                     "siting_failed", "siting_cancelled"}),
    ("kind=route_plan", {"plan_faku", "plan_other"}),
    ("kind=siting&status=succeeded", {"siting_ok", "siting_ok_b"}),
])
def test_status_and_kind_filters(client: TestClient, query: str, labels: set[str]) -> None:
    """``status`` and ``kind`` (alone or together) keep exactly the matching runs, still
    newest first, and ``total`` counts the matches, not every run."""
    mixed = _mixed(_store(client))
    want = {mixed["ids"][label] for label in labels}
    page = client.get(f"/v1/runs?{query}").json()
    assert set(_ids(page)) == want
    assert _ids(page) == [r for r in mixed["order"] if r in want]
    assert page["total"] == len(want)


def test_scenario_filter(client: TestClient) -> None:
    """``scenario_id`` keeps the runs of that scenario (combinable with the others); an
    unknown scenario or one with a NUL character lists nothing."""
    mixed = _mixed(_store(client))
    sa, sb = mixed["scenarios"]
    ids = mixed["ids"]
    a = client.get(f"/v1/runs?scenario_id={sa}").json()
    assert set(_ids(a)) == {ids[k] for k in ("siting_ok", "siting_queued", "siting_failed",
                                             "plan_faku", "plan_other")}
    assert a["total"] == 5 and {i["scenario_id"] for i in a["items"]} == {sa}
    assert {i["scenario_name"] for i in a["items"]} == {"alpha"}
    b = client.get(f"/v1/runs?scenario_id={sb}&status=succeeded&kind=siting").json()
    assert _ids(b) == [ids["siting_ok_b"]] and b["total"] == 1
    for unknown in ("nope", "a%00b"):
        page = client.get(f"/v1/runs?scenario_id={unknown}")
        assert page.status_code == 200 and page.json()["total"] == 0


# ------------------------------------------------------------------------- item contents
def test_items_carry_summary_and_progress(client: TestClient) -> None:
    """A succeeded siting run carries its total cost and gap; other runs carry none; a
    running run shows its progress; route-plan runs name their county and date."""
    mixed = _mixed(_store(client))
    ids = mixed["ids"]
    items = {i["id"]: i for i in client.get("/v1/runs").json()["items"]}
    ok = items[ids["siting_ok"]]
    assert ok["summary"] == {"total_cost_yuan_per_year": 14732143.7, "gap": 0.0585}
    assert ok["kind"] == "siting" and ok["status"] == "succeeded"
    assert ok["finished_at"] is not None and ok["progress"]["fraction"] == 1.0
    assert items[ids["siting_ok_b"]]["summary"] == {"total_cost_yuan_per_year": 900.0,
                                                    "gap": 0.0}
    for label in ("siting_queued", "siting_running", "siting_failed", "plan_faku"):
        assert items[ids[label]]["summary"] is None, label
    running = items[ids["siting_running"]]
    assert running["progress"]["fraction"] == 0.25 and running["finished_at"] is None
    assert running["progress"]["message"] == "solving"
    plan = items[ids["plan_faku"]]
    assert (plan["kind"], plan["county"], plan["date"]) == ("route_plan", "210124",
                                                            "2026-12-01")
    assert set(ok) == {"id", "kind", "scenario_id", "scenario_name", "status", "county",
                       "date", "created_at", "finished_at", "progress", "summary"}


def test_odd_summaries_give_null_figures_not_500(
        db_url: str, settings_factory: Callable[..., Settings]) -> None:
    """A stored summary without the figures, with NaN (stored as null) or with
    non-numbers lists with null figures instead of failing, on SQLite and PostgreSQL."""
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        store = _store(c)
        sid = _scenario(store)
        odd: list[dict[str, Any]] = [
            {}, {"gap": float("nan"), "total_cost_yuan_per_year": float("inf")},
            {"gap": "small", "total_cost_yuan_per_year": [1.0]},
            {"gap": {"x": 1}, "total_cost_yuan_per_year": None}]
        for i, summary in enumerate(odd):
            _run(store, sid, T0 + timedelta(minutes=i), status="succeeded", summary=summary)
        r = c.get("/v1/runs?kind=siting&status=succeeded")
        assert r.status_code == 200, r.text
        assert [i["summary"] for i in r.json()["items"]] == [
            {"total_cost_yuan_per_year": None, "gap": None}] * len(odd)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("query", "field", "needle"), [
    ("limit=0", "limit", "limit='0': Input should be greater than or equal to 1"),
    ("limit=501", "limit", "limit='501': Input should be less than or equal to 500"),
    ("offset=-1", "offset", "offset='-1': Input should be greater than or equal to 0"),
    ("limit=ten", "limit", "limit='ten': Input should be a valid integer"),
    ("status=bogus", "status", "status='bogus' is not one of: queued, running"),
    ("status=SUCCEEDED", "status", "status='SUCCEEDED'"),
    ("status=", "status", "status='' is not one of"),
    ("status=a%00b", "status", "status='a\\x00b'"),
    ("kind=bogus", "kind", "kind='bogus' is not one of: siting, route_plan"),
    ("kind=route-plan", "kind", "kind='route-plan'"),
    ("kind=sleep", "kind", "kind='sleep' is not one of: siting, route_plan"),
    ("scenario_id=" + "a" * 65, "scenario_id", "at most 64"),
])
def test_bad_query_is_422_naming_the_field(client: TestClient, query: str, field: str,
                                           needle: str) -> None:
    """Out-of-range paging, unknown statuses and kinds (the tests' internal ``sleep`` kind
    included) and over-long ids: 422 whose single problem is located at
    ``["query", field]`` (an unknown status or kind also names the value and the allowed
    ones), never a 500."""
    r = client.get(f"/v1/runs?{query}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["query", field]], detail
    assert needle in detail[0]["msg"], detail


# --------------------------------------------------------------------------- access
def test_keys_are_required_once_they_exist(client: TestClient) -> None:
    """With a key in the database the list needs one: 401 without or with a wrong key;
    engineer and admin keys see every run."""
    store = _store(client)
    mixed = _mixed(store)
    eng = store.create_key("engineer").token
    admin = store.create_key("admin").token
    missing = client.get("/v1/runs")
    assert missing.status_code == 401 and "API key" in missing.json()["detail"]
    assert client.get("/v1/runs", headers=_auth("wn_bad_key")).status_code == 401
    for token in (eng, admin):
        page = client.get("/v1/runs", headers=_auth(token)).json()
        assert _ids(page) == mixed["order"] and page["total"] == 8


def test_county_key_lists_only_runs_it_may_open(client: TestClient) -> None:
    """A county key lists exactly the route-plan runs of its own counties (no siting
    runs, no other county's plans, no other kind of run that names its county), and
    ``total`` counts only those; every listed run opens one by one (200) and every
    unlisted one is 403 for that key."""
    store = _store(client)
    mixed = _mixed(store)
    ids = mixed["ids"]
    sleeper = _run(store, mixed["scenarios"][0], T0 + timedelta(days=1), kind="sleep",
                   county="210124")
    faku = store.create_key("county", ["210124"]).token
    page = client.get("/v1/runs", headers=_auth(faku)).json()
    assert _ids(page) == [ids["plan_faku"]] and page["total"] == 1
    for rid in [*mixed["order"], sleeper]:
        code = client.get(f"/v1/runs/{rid}", headers=_auth(faku)).status_code
        assert code == (200 if rid in _ids(page) else 403), rid
    siting = client.get("/v1/runs?kind=siting&status=succeeded", headers=_auth(faku)).json()
    assert siting["items"] == [] and siting["total"] == 0
    both = store.create_key("county", ["210124", "210123"]).token
    assert set(_ids(client.get("/v1/runs", headers=_auth(both)).json())) == {
        ids["plan_faku"], ids["plan_other"]}
    nowhere = store.create_key("county", []).token
    assert client.get("/v1/runs", headers=_auth(nowhere)).json()["total"] == 0


# ------------------------------------------------------------------ storage, OpenAPI
def test_store_list_runs_on_each_database(db_url: str,
                                          settings_factory: Callable[..., Settings]) -> None:
    """``Store.list_runs`` filters, counts, orders newest first and scopes to counties on
    SQLite and on PostgreSQL alike, and ``result_headlines`` reads the summary figures
    there (the same answers through the app)."""
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        store = _store(c)
        mixed = _mixed(store)
        ids = mixed["ids"]
        rows, total = store.list_runs(limit=500)
        assert [r.id for r in rows] == mixed["order"] and total == 8
        rows, total = store.list_runs(kind="siting", status="succeeded", limit=1, offset=1)
        assert total == 2 and len(rows) == 1
        assert {r.id for r in store.list_runs(kind="siting", status="succeeded")[0]} == {
            ids["siting_ok"], ids["siting_ok_b"]}
        assert [r.id for r in store.list_runs(counties={"210124"})[0]] == [ids["plan_faku"]]
        assert store.list_runs(counties=set()) == ([], 0)
        assert store.list_runs(scenario_id="a\x00b") == ([], 0)
        heads = store.result_headlines([ids["siting_ok"], ids["siting_queued"]])
        assert heads == {ids["siting_ok"]: {"total_cost_yuan_per_year": 14732143.7,
                                            "gap": 0.0585}}
        page = c.get("/v1/runs?kind=siting&status=succeeded").json()
        assert [i["summary"]["gap"] for i in page["items"]] == [
            0.0585 if r == ids["siting_ok"] else 0.0 for r in _ids(page)]
        assert _ids(c.get("/v1/runs").json()) == mixed["order"]


def test_headline_figures_are_the_stored_floats_on_each_database(
        db_url: str, settings_factory: Callable[..., Settings]) -> None:
    """The list's total cost and gap are the very floats stored (all 17 significant
    digits, not a 15-digit re-print), the same as ``/result`` gives, on SQLite and
    PostgreSQL alike."""
    gap, cost = 0.08274749371695954, 14732143.712345678
    assert float(f"{gap:.15g}") != gap and float(f"{cost:.15g}") != cost
    with TestClient(create_app(settings_factory(database_url=db_url))) as c:
        store = _store(c)
        rid = _run(store, _scenario(store), T0, status="succeeded",
                   summary={"total_cost_yuan_per_year": cost, "gap": gap})
        assert store.result_headlines([rid]) == {
            rid: {"total_cost_yuan_per_year": cost, "gap": gap}}
        listed = c.get("/v1/runs").json()["items"][0]["summary"]
        result = c.get(f"/v1/runs/{rid}/result").json()["summary"]
        assert listed == {"total_cost_yuan_per_year": cost, "gap": gap}
        assert (result["gap"], result["total_cost_yuan_per_year"]) == (gap, cost)


def test_internal_sleep_runs_stay_readable(client: TestClient) -> None:
    """A run of the tests' internal ``sleep`` kind (made through the store) is still
    listed without a filter and read one by one, though ``kind=sleep`` is refused."""
    store = _store(client)
    rid = _run(store, _scenario(store), T0, kind="sleep", status="running")
    assert _ids(client.get("/v1/runs").json()) == [rid]
    one = client.get(f"/v1/runs/{rid}")
    assert one.status_code == 200 and one.json()["kind"] == "sleep"
    assert client.get("/v1/runs?kind=sleep").status_code == 422


def test_openapi_documents_the_list(client: TestClient) -> None:
    """``GET /v1/runs`` is documented with the paging parameters (offset and keyset), the ``status`` and
    public ``kind`` values the store uses (the same as the responses' documented kinds:
    ``siting`` and ``route_plan``, not the tests' internal ``sleep``, which appears
    nowhere in the document), and the 401, 403 and 422 answers."""
    assert get_args(RunStatus) == RUN_STATUSES and RUN_KINDS == ("siting", "route_plan")
    assert set(get_args(get_args(RunKind)[0])) == {*RUN_KINDS, *INTERNAL_RUN_KINDS}
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/v1/runs"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"scenario_id", "status", "kind", "limit", "offset", "before"}
    assert params["status"]["schema"]["enum"] == list(RUN_STATUSES)
    assert params["kind"]["schema"]["enum"] == list(RUN_KINDS)
    assert "sleep" not in params["kind"]["description"]
    for model in ("RunOut", "RunBrief"):
        assert doc["components"]["schemas"][model]["properties"]["kind"]["enum"] == list(
            RUN_KINDS), model
    assert '"sleep"' not in json.dumps(doc)
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"],
            params["limit"]["schema"]["default"]) == (1, 500, 50)
    assert params["offset"]["schema"]["minimum"] == 0
    assert {"200", "401", "403", "422"} <= set(op["responses"])
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/RunPage")


# ---------------------------------------------------------------------------- map page
def test_map_page_picks_succeeded_siting_runs_from_the_list(client: TestClient) -> None:
    """map.js calls ``/v1/runs`` (in its ENDPOINTS) with a picker query of kind
    ``siting`` and status ``succeeded``; that query, sent as the page sends it, lists
    exactly the succeeded siting runs newest first; the page has the picker's elements."""
    js = (STATIC_DIR / "map" / "map.js").read_text(encoding="utf-8")
    endpoints = re.search(r"const ENDPOINTS = Object\.freeze\(\{(.*?)\}\);", js, re.S)
    assert endpoints is not None
    assert re.search(r"""\bruns:\s*'/v1/runs'""", endpoints.group(1)), endpoints.group(1)
    picker = re.search(r"const RUN_PICKER_QUERY = Object\.freeze\(\{(.*?)\}\);", js, re.S)
    assert picker is not None, "map.js has no RUN_PICKER_QUERY"
    query = dict(re.findall(r"(\w+):\s*'?([\w-]+)'?", picker.group(1)))
    assert query["kind"] == "siting" and query["status"] == "succeeded"
    assert "apiUrl(ENDPOINTS.runs, {}, RUN_PICKER_QUERY)" in js
    mixed = _mixed(_store(client))
    r = client.get("/v1/runs", params=query)
    assert r.status_code == 200, r.text
    want = {mixed["ids"]["siting_ok"], mixed["ids"]["siting_ok_b"]}
    assert _ids(r.json()) == [rid for rid in mixed["order"] if rid in want]
    page = client.get("/map").text
    for element in ('<select id="run-pick"', 'id="runs-refresh"', 'id="runs-state"'):
        assert element in page, element


def test_keyset_pages_neither_repeat_nor_skip_while_runs_are_created(
        client: TestClient) -> None:
    """Walking ``GET /v1/runs`` by ``next_before`` lists every run once, newest first,
    although new runs are created between the pages (with ``offset`` the same walk
    repeats the runs the new ones push down). Ties in creation time go by id."""
    store = _store(client)
    sid = _scenario(store)
    old = [_run(store, sid, T0 + timedelta(minutes=k // 2)) for k in range(7)]  # 2 per minute
    seen: list[str] = []
    page = client.get("/v1/runs", params={"limit": 3}).json()
    by_offset = client.get("/v1/runs", params={"limit": 3, "offset": 3})
    while True:
        seen += [r["id"] for r in page["items"]]
        # a new run arrives between two pages
        _run(store, sid, T0 + timedelta(hours=1, minutes=len(seen)))
        if page["next_before"] is None:
            break
        page = client.get("/v1/runs", params={"limit": 3,
                                              "before": page["next_before"]}).json()
    want = sorted(old, key=lambda r: (store.get_run(r).created_at, r),  # type: ignore[union-attr]
                  reverse=True)
    assert seen == want
    # offset paging of the same list, after one new run, repeats a run of page one
    again = client.get("/v1/runs", params={"limit": 3, "offset": 3}).json()
    assert by_offset.status_code == 200
    assert set(r["id"] for r in again["items"]) & set(seen[:3])


@pytest.mark.parametrize("before", ["f" * 32, "nope", "x" * 64])
def test_before_must_be_a_run_id(client: TestClient, before: str) -> None:
    """``before`` that names no run is a 422 naming the parameter and its value."""
    r = client.get("/v1/runs", params={"before": before})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", "before"]
    shown = repr(before) if len(before) <= 40 else repr(before[:40] + "...")
    assert f"before={shown}" in r.json()["detail"][0]["msg"]
