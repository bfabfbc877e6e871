"""Fixes of the audit of the county endpoints and route-plan downloads: an empty ``?run=``
is a 422, a download without a plan says why (no such run, or the status and failure
reason of the run whose plan is missing), as ``/v1/runs/{id}/result`` does for a failed
run, the driver sheet has a strict Content-Security-Policy and every download
``nosniff``, the county polygons are oriented as RFC 7946 says, the county data is sent
with an ETag (304 on ``If-None-Match``) and ``Vary``, the static files revalidate, and a
malformed adcode is a 422 with the value cut short.

HTTP tests use a TestClient on a temporary SQLite file; the store-level test runs on each
database (SQLite, and PostgreSQL when configured, see ``conftest.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.db.models import RunRow
from api.db.store import Store

FAKU = "210124"
DAY = "2026-12-01"
FORMATS = ("json", "csv", "geojson", "gpx", "html")
T0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------ helpers
def _store(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _set_run(store: Store, run_id: str, **values: Any) -> None:
    """Overwrite columns of one stored run directly (status, error, creation time)."""
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def _scenario(store: Store) -> str:
    return store.create_scenario(name="x", source_format="json", body={"name": "x"},
                                 raw_text='{"name": "x"}', owner_key_id=None).id


def _siting(store: Store, status: str = "succeeded", error: str | None = None) -> str:
    """A siting run in ``status`` (a succeeded one with a network covering Faku)."""
    run, _ = store.create_run(kind="siting", scenario_id=_scenario(store), params={})
    if status == "succeeded":
        claimed = store.claim_next()
        assert claimed is not None and claimed.id == run.id
        store.finish_siting(run.id, {
            "summary": {"total_cost_yuan_per_year": 1.0},
            "facilities": {"type": "FeatureCollection", "features": []},
            "assignments": [{"village_id": "v", "county": FAKU}]}, 1.0)
    elif status != "queued":
        _set_run(store, run.id, status=status, last_error=error)
    return run.id


def _request(store: Store, siting: str, at: datetime = T0, county: str = FAKU,
             day: str = DAY) -> str:
    """A route-plan request (queued) of ``county`` on ``day`` from ``siting``."""
    sid = store.get_run(siting).scenario_id  # type: ignore[union-attr]
    run, _ = store.create_run(kind="route_plan", scenario_id=sid, params={},
                              parent_run_id=siting, county=county, plan_date=day)
    _set_run(store, run.id, created_at=at)
    return run.id


def _publish(store: Store, run_id: str, exports: dict[str, str] | None = None) -> None:
    """Claim and finish the queued route-plan run ``run_id`` (the only one queued)."""
    claimed = store.claim_next()
    assert claimed is not None and claimed.id == run_id
    exports = exports if exports is not None else {
        "json": '{"who": "x"}', "csv": "a,b\n", "geojson": '{"type": "FeatureCollection"}',
        "gpx": "<gpx/>", "html": "<!DOCTYPE html><html><body>x</body></html>"}
    assert store.finish_route_plan(run_id, {"plan": {"who": "x"}, "exports": exports},
                                   1.0) is not None


def _url(query: str = "", county: str = FAKU, day: str = DAY) -> str:
    return f"/v1/route-plans/{county}/{day}{query}"


def _detail(r: Any) -> str:
    return str(r.json()["detail"])


def _get_and_head(client: TestClient, url: str, **kw: Any) -> Any:
    """GET ``url``; HEAD must answer the same status (its body is empty)."""
    got = client.get(url, **kw)
    assert client.head(url, **kw).status_code == got.status_code, url
    return got


# ------------------------------------------------------------------ 1. an empty ?run=
@pytest.mark.parametrize("query", ["?run=", "?format=csv&run=", "?run=&format=html"])
def test_an_empty_run_is_422_naming_run(client: TestClient, query: str) -> None:
    """``?run=`` with no value is a 422 located at ``["query", "run"]`` whose message
    names ``run`` and its (empty) value, on GET and HEAD alike, even where a plan is
    published (the URL without ``run`` is a 200); it is not read as "no run" (the
    published plan) nor as a run id (404)."""
    store = _store(client)
    _publish(store, _request(store, _siting(store)))
    assert client.get(_url()).status_code == 200
    r = _get_and_head(client, _url(query))
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["query", "run"]
    assert "run=''" in item["msg"]


def test_the_download_documents_a_non_empty_run(client: TestClient) -> None:
    """The OpenAPI document states that ``run`` is at least one character and that the
    download answers 409."""
    op = client.get("/openapi.json").json()["paths"]["/v1/route-plans/{county}/{date}"]["get"]
    run = next(p for p in op["parameters"] if p["name"] == "run")
    schema = run["schema"].get("anyOf", [run["schema"]])[0]
    assert schema.get("minLength") == 1, run
    assert "409" in op["responses"]


# ------------------------------------------------------- 2. why a run has no plan
def test_an_unknown_run_is_404_no_run(client: TestClient) -> None:
    """``?run=nonexistent`` is a 404 saying that there is no such run (naming the value
    and the parameter), not that the run made no plan; GET and HEAD alike."""
    store = _store(client)
    _publish(store, _request(store, _siting(store)))
    r = _get_and_head(client, _url("?run=nonexistent"))
    assert r.status_code == 404
    assert "no run 'nonexistent'" in _detail(r) and "run" in _detail(r)
    assert "no plan" not in _detail(r)


@pytest.mark.parametrize(("status", "error"), [
    ("queued", None), ("running", None),
    ("failed", "routing failed: 3 stops cannot be served within the time limit"),
    ("cancelled", "cancelled before it started")])
def test_a_route_plan_run_without_a_plan_is_409_naming_its_status(
        client: TestClient, status: str, error: str | None) -> None:
    """``?run=<route-plan run>`` of this county-day that has no plan: 409 naming the run
    and its status; for a failed run, the stored failure reason too (GET and HEAD)."""
    store = _store(client)
    run = _request(store, _siting(store))
    if status != "queued":
        _set_run(store, run, status=status, last_error=error)
    r = _get_and_head(client, _url(f"?run={run}"))
    assert r.status_code == 409, r.text
    assert run in _detail(r) and f"it is {status}" in _detail(r)
    if status == "failed":
        assert str(error) in _detail(r)


@pytest.mark.parametrize(("status", "error"), [
    ("queued", None), ("running", None), ("failed", "solver crashed: out of memory"),
    ("cancelled", "cancelled while running")])
def test_a_siting_run_that_has_not_succeeded_is_409_naming_its_status(
        client: TestClient, status: str, error: str | None) -> None:
    """``?run=<siting run>`` of a siting run that has not succeeded (so no plan can have
    been made from it): 409 naming the run's status and, when it failed, the reason."""
    store = _store(client)
    siting = _siting(store, status, error)
    r = _get_and_head(client, _url(f"?run={siting}&format=geojson"))
    assert r.status_code == 409, r.text
    assert siting in _detail(r) and f"it is {status}" in _detail(r)
    if status == "failed":
        assert str(error) in _detail(r)


def test_a_siting_runs_pending_or_failed_request_is_named(client: TestClient) -> None:
    """``?run=<succeeded siting run>`` whose newest request for the county-day has no
    plan: 409 naming that request and its status (and the reason of a failure); with no
    request for the county-day at all: 404 saying so."""
    store = _store(client)
    siting = _siting(store)
    r = _get_and_head(client, _url(f"?run={siting}"))
    assert r.status_code == 404 and "requested" in _detail(r), r.text
    older = _request(store, siting, T0)
    newer = _request(store, siting, T0 + timedelta(seconds=1))
    r = _get_and_head(client, _url(f"?run={siting}"))
    assert r.status_code == 409 and newer in _detail(r) and "it is queued" in _detail(r)
    assert older not in _detail(r)
    _set_run(store, newer, status="failed", last_error="no vehicle can reach stop v")
    r = _get_and_head(client, _url(f"?run={siting}"))
    assert r.status_code == 409, r.text
    assert newer in _detail(r) and "it is failed: no vehicle can reach stop v" in _detail(r)


def test_a_route_plan_run_of_another_county_day_is_404_naming_its_own(
        client: TestClient) -> None:
    """``?run=<route-plan run>`` of another day: 404 naming the county-day that run
    plans, even while it is still queued (no plan of this county-day will come of it)."""
    store = _store(client)
    run = _request(store, _siting(store), day="2026-12-02")
    r = _get_and_head(client, _url(f"?run={run}"))
    assert r.status_code == 404, r.text
    assert "2026-12-02" in _detail(r) and DAY in _detail(r)


def test_a_run_the_key_may_not_read_is_not_described(client: TestClient) -> None:
    """A county key that names a failed siting run (which it may not read at
    ``/v1/runs/{id}``) learns that there is no plan, not the run's status or failure
    reason; the same key does learn the status of its own county's route-plan runs."""
    store = _store(client)
    token = store.create_key("county", [FAKU]).token
    siting = _siting(store, "failed", "secret detail of the scenario")
    r = _get_and_head(client, _url(f"?run={siting}"), headers=_auth(token))
    assert r.status_code == 404 and "secret" not in r.text and "failed" not in r.text
    own = _request(store, _siting(store))
    r = _get_and_head(client, _url(f"?run={own}"), headers=_auth(token))
    assert r.status_code == 409 and "it is queued" in _detail(r)


def test_a_published_plan_is_still_served_by_run(client: TestClient) -> None:
    """The plan of a run is served as before: by the route-plan run's id and by its
    siting run's id, even while a newer request from that siting run is queued."""
    store = _store(client)
    siting = _siting(store)
    run = _request(store, siting, T0)
    _publish(store, run)
    _request(store, siting, T0 + timedelta(seconds=1))
    for query in (f"?run={run}", f"?run={siting}", ""):
        r = client.get(_url(query))
        assert r.status_code == 200 and r.json() == {"who": "x"}, (query, r.text)


def test_result_of_a_failed_run_names_the_reason(client: TestClient) -> None:
    """``GET /v1/runs/{id}/result`` of a failed siting run: 409 naming the status and the
    stored failure reason; of a queued one, the status alone."""
    store = _store(client)
    failed = _siting(store, "failed", "scenario infeasible: 12 villages out of reach")
    r = client.get(f"/v1/runs/{failed}/result")
    assert r.status_code == 409
    assert _detail(r) == (f"run {failed} has no result: it is failed: scenario infeasible: "
                          "12 villages out of reach")
    queued = _siting(store, "queued")
    r = client.get(f"/v1/runs/{queued}/result")
    assert r.status_code == 409 and _detail(r).endswith("has no result: it is queued")


def test_newest_route_plan_request_follows_the_publication_order(store: Store) -> None:
    """The store's newest request of a county-day from a siting run is the one created
    last (at the same moment, the greater id), whatever its status; other siting runs,
    counties and days do not count; on each database."""
    siting, other = _siting(store), _siting(store)
    assert store.newest_route_plan_request(siting, FAKU, DAY) is None
    first = _request(store, siting, T0)
    _request(store, siting, T0 + timedelta(hours=1), day="2026-12-02")
    _request(store, other, T0 + timedelta(hours=1))
    got = store.newest_route_plan_request(siting, FAKU, DAY)
    assert got is not None and got.id == first
    tied = _request(store, siting, T0)
    got = store.newest_route_plan_request(siting, FAKU, DAY)
    assert got is not None and got.id == max(first, tied)
    assert store.newest_route_plan_request("nul\x00", FAKU, DAY) is None


# ------------------------------------------------------- 3. the driver sheet's headers
def _csp(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as ``{directive: [sources]}``."""
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


class _Sheet(HTMLParser):
    """What a page asks the browser to load or run: tags, attributes, inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _real_sheet() -> str:
    """A driver sheet made by the exporter itself (two vehicles, Chinese names)."""
    from tests.routing.test_exports import PLAN, make_data
    from wastenet.routing.exports import driver_sheets_html

    return driver_sheets_html(make_data(), PLAN)


def test_the_driver_sheet_is_sent_with_a_strict_csp_it_can_live_with(
        client: TestClient) -> None:
    """The inline driver sheet (a real one from the exporter) is sent with a
    Content-Security-Policy that allows no script and loads nothing (``default-src
    'none'``, no ``script-src``), allowing inline styles only, and with ``nosniff``;
    the sheet needs nothing more: it loads no resource, runs no script, and its print
    layout (``@page``, ``@media print``) is in its inline ``<style>``."""
    store = _store(client)
    sheet = _real_sheet()
    _publish(store, _request(store, _siting(store)), {"html": sheet})
    for method in ("GET", "HEAD"):
        r = client.request(method, _url("?format=html"))
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"].startswith("inline")
        csp = _csp(r.headers.get("content-security-policy", ""))
        assert csp.get("default-src") == ["'none'"], csp
        assert csp.get("style-src") == ["'unsafe-inline'"], csp
        assert "script-src" not in csp and "base-uri" in csp and "form-action" in csp
    assert client.get(_url("?format=html")).text == sheet
    page = _Sheet()
    page.feed(sheet)
    loads = {"script", "img", "link", "iframe", "frame", "object", "embed", "form",
             "audio", "video", "source", "svg", "base", "meta"} & page.tags
    assert loads <= {"meta"} and "style" in page.tags, page.tags
    assert not {a for a in page.attrs if a.startswith("on") or a in ("src", "href")}
    css = "".join(page.styles)
    assert "@media print" in css and "@page" in css
    assert "url(" not in css and "@import" not in css and "@font-face" not in css


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_download_is_nosniff(client: TestClient, fmt: str) -> None:
    """Every download format (GET and HEAD) carries ``X-Content-Type-Options: nosniff``
    and a Content-Security-Policy that loads and runs nothing (``default-src 'none'``)."""
    store = _store(client)
    _publish(store, _request(store, _siting(store)))
    for method in ("GET", "HEAD"):
        r = client.request(method, _url(f"?format={fmt}"))
        assert r.status_code == 200
        assert r.headers.get("x-content-type-options") == "nosniff", (method, fmt)
        csp = _csp(r.headers.get("content-security-policy", ""))
        assert csp.get("default-src") == ["'none'"] and "script-src" not in csp


# ------------------------------------------------------- 4. RFC 7946 ring orientation
def _signed_area(ring: list[list[float]]) -> float:
    """Twice the signed area of a closed ring (shoelace): positive when counter-
    clockwise in lon/lat."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))


def test_county_polygons_follow_the_rfc7946_ring_orientation(client: TestClient) -> None:
    """Every outer ring of ``/v1/counties.geojson`` is counter-clockwise and every hole
    clockwise (RFC 7946 §3.1.6); the data has holes; each polygon covers the same area
    as the bundled one; the GeoJSON is built once and cached."""
    from shapely.geometry import shape

    from api.routes.map import counties_geojson_bytes
    from wastenet.data.liaoning import county_polygons

    doc = client.get("/v1/counties.geojson").json()
    outer = holes = 0
    for f, bundled in zip(doc["features"], county_polygons(), strict=True):
        g = f["geometry"]
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for rings in polygons:
            assert _signed_area(rings[0]) > 0, (f["id"], "outer ring clockwise")
            outer += 1
            for hole in rings[1:]:
                assert _signed_area(hole) < 0, (f["id"], "hole counter-clockwise")
                holes += 1
        assert shape(g).equals(bundled), f["id"]
    assert outer >= 100 and holes >= 1
    assert counties_geojson_bytes() is counties_geojson_bytes()


# -------------------------------------------------------------------- 5. caching
COUNTY_DATA = ("/v1/counties", f"/v1/counties/{FAKU}", "/v1/counties.geojson")


@pytest.mark.parametrize("path", COUNTY_DATA)
def test_county_data_has_an_etag_and_answers_304(client: TestClient, path: str) -> None:
    """The county data is sent with a content-hash ETag (the same on every request),
    ``Cache-Control`` that keeps it private and revalidated, and ``Vary:
    Authorization``; ``If-None-Match`` with that ETag (strong, weak, in a list, or
    ``*``) is a 304 without a body carrying the same headers; another ETag is a 200."""
    r = client.get(path)
    assert r.status_code == 200
    etag = r.headers.get("etag")
    assert etag and etag.startswith('"') and client.get(path).headers["etag"] == etag
    cc = {d.strip() for d in r.headers.get("cache-control", "").split(",")}
    assert "private" in cc and ("no-cache" in cc or "max-age=0" in cc), cc
    assert "public" not in cc
    vary = {v.strip().lower() for v in r.headers.get("vary", "").split(",")}
    assert "authorization" in vary and "x-api-key" in vary
    for match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        nm = client.get(path, headers={"If-None-Match": match})
        assert nm.status_code == 304 and nm.content == b"", match
        assert nm.headers["etag"] == etag and nm.headers["cache-control"] == \
            r.headers["cache-control"] and nm.headers["vary"] == r.headers["vary"]
        assert client.head(path, headers={"If-None-Match": match}).status_code == 304
    other = client.get(path, headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200 and other.content == r.content


def test_county_etags_follow_the_content(client: TestClient) -> None:
    """Different county answers have different ETags; the answers' content is as before
    (the list of 100 counties, one county by adcode)."""
    tags = {client.get(p).headers.get("etag") for p in
            (*COUNTY_DATA, "/v1/counties/210123")}
    assert None not in tags and len(tags) == 4
    listing = client.get("/v1/counties").json()
    assert listing["total"] == len(listing["items"]) == 100
    one = client.get(f"/v1/counties/{FAKU}").json()
    assert one == next(c for c in listing["items"] if c["adcode"] == FAKU)


def test_a_matching_etag_without_a_key_is_still_401(client: TestClient) -> None:
    """Once keys exist, ``If-None-Match`` does not bypass the key: 401 without one, 304
    with one."""
    token = _store(client).create_key("county", [FAKU]).token
    etags = {p: client.get(p, headers=_auth(token)).headers.get("etag") for p in COUNTY_DATA}
    for path, etag in etags.items():
        assert etag is not None
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 401
        assert client.get(path, headers={"If-None-Match": etag,
                                         **_auth(token)}).status_code == 304


@pytest.mark.parametrize("path", ["/static/map/map.js", "/static/map/map.css",
                                  "/static/map/index.html",
                                  "/static/vendor/leaflet/leaflet.js"])
def test_static_files_are_revalidated_before_use(client: TestClient, path: str) -> None:
    """Static files (whose URLs carry no version) are sent with ``Cache-Control:
    no-cache`` and an ETag, so that a browser revalidates them and never pairs a new
    page with an old script; the 304 keeps ``no-cache`` and ``nosniff``."""
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers.get("cache-control") == "no-cache" and r.headers.get("etag")
    nm = client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert nm.status_code == 304
    assert nm.headers.get("cache-control") == "no-cache"
    assert nm.headers.get("x-content-type-options") == "nosniff"


# ------------------------------------------------------------- 6. malformed adcodes
MALFORMED = ["abc", "1" * 5000, "２１０１２４", "210124 ", " 210124", "21012", "2101240",
             "21O124", "-21012"]


@pytest.mark.parametrize("adcode", MALFORMED, ids=lambda a: f"{a[:10]!r}/{len(a)}")
def test_a_malformed_adcode_is_422_with_the_value_cut_short(client: TestClient,
                                                             adcode: str) -> None:
    """An adcode that is not six ASCII digits (letters, 5,000 digits, full-width digits,
    a space) is a 422 located at ``["path", "adcode"]`` whose message names ``adcode``
    and starts its value, cut to a sane length (the whole answer stays short)."""
    r = client.get(f"/v1/counties/{adcode}")
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["path", "adcode"]
    assert item["msg"].startswith(f"adcode={adcode[:20]!r}"[:-1])
    assert len(r.content) < 400


@pytest.mark.parametrize("county", ["abc", "9" * 5000, "２１０１２４"])
def test_a_malformed_download_county_is_422_with_the_value_cut_short(
        client: TestClient, county: str) -> None:
    """The download's ``county`` follows the same rule: 422 at ``["path", "county"]``,
    the value cut short, on GET and HEAD."""
    r = _get_and_head(client, _url(county=county))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["path", "county"]
    assert len(r.content) < 400


def test_a_well_formed_unknown_adcode_is_still_404(client: TestClient) -> None:
    """A six-digit adcode of no Liaoning county stays a 404 naming it; the OpenAPI
    document states the adcode's pattern and the 422."""
    r = client.get("/v1/counties/999999")
    assert r.status_code == 404 and "'999999'" in _detail(r)
    op = client.get("/openapi.json").json()["paths"]["/v1/counties/{adcode}"]["get"]
    param = next(p for p in op["parameters"] if p["name"] == "adcode")
    assert param["schema"]["pattern"] == "^[0-9]{6}$" and "422" in op["responses"]


def test_a_full_width_adcode_in_a_plan_request_is_refused_by_its_pattern(
        client: TestClient) -> None:
    """A plan request's ``county`` in full-width digits is refused by the adcode pattern
    (six ASCII digits) with a message naming ``county`` and its value."""
    siting = _siting(_store(client))
    r = client.post(f"/v1/runs/{siting}/route-plans",
                    json={"county": "２１０１２４", "date": DAY})
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "county"] and item["type"] == "string_pattern_mismatch"
    assert "county='２１０１２４'" in item["msg"]


def test_unknown_query_parameters_on_county_endpoints_are_ignored(client: TestClient) -> None:
    """Unknown query parameters are ignored on the county endpoints, as on every endpoint
    of the service (FastAPI's rule): the answer and its ETag are the same."""
    for path in COUNTY_DATA:
        plain, extra = client.get(path), client.get(path, params={"foo": "1"})
        assert extra.status_code == plain.status_code == 200
        assert extra.content == plain.content
        assert extra.headers.get("etag") == plain.headers.get("etag")


def test_json_of_counties_is_unchanged_in_shape(client: TestClient) -> None:
    """The county list, now serialised once, still validates as the documented model and
    is UTF-8 JSON with the Chinese names as they are."""
    from api.schemas import CountyList

    r = client.get("/v1/counties")
    assert r.headers["content-type"].startswith("application/json")
    CountyList.model_validate(r.json())
    assert "法库县".encode() in r.content
    assert json.loads(r.content)["total"] == 100
