"""Tests of the map page's fixes of audit 14 (``api/static/map/``): return legs drawn and
counted, one status line per channel with stale answers ignored and failed layers
cleared, keyed download buttons, and a legend that says what the circles show.

The static checks read index.html and map.js. The behavioural checks run map.js under
node (skipped cleanly when node is not installed; no npm package is needed) against a
stub DOM, a stub Leaflet and a stub ``fetch`` whose answers come from this file, the
route plan among them made by the real exporter (``routes_geojson``/``plan_to_dict``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.routes.map import STATIC_DIR
from wastenet.routing.data import Route, RoutePlan, RoutingData, VehicleType, Visit
from wastenet.routing.exports import plan_to_dict, routes_geojson

MAP_DIR = STATIC_DIR / "map"
MAP_JS = MAP_DIR / "map.js"
INDEX = MAP_DIR / "index.html"
FORMATS = ("csv", "geojson", "gpx", "html", "json")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: map.js is not run")


def _js() -> str:
    return MAP_JS.read_text(encoding="utf-8")


class _Ids(HTMLParser):
    """The element ids of a page with their tag names."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids[str(a["id"])] = tag


def _page_ids() -> dict[str, str]:
    parser = _Ids()
    parser.feed(INDEX.read_text(encoding="utf-8"))
    parser.close()
    return parser.ids


# ------------------------------------------------------------------ a small real plan
# Depot, six villages and two transfer stations near Faku; a plane of 1 m units.
_LON = (123.40, 123.43, 123.47, 123.52, 123.44, 123.38, 123.50, 123.46, 123.55)
_LAT = (42.50, 42.52, 42.55, 42.51, 42.58, 42.56, 42.47, 42.53, 42.60)


def _data() -> RoutingData:
    lon, lat = np.array(_LON), np.array(_LAT)
    dx = (lon[:, None] - lon[None, :]) * 111_320.0 * np.cos(np.radians(42.5))
    dy = (lat[:, None] - lat[None, :]) * 111_320.0
    dist = np.round(1.3 * np.hypot(dx, dy))
    n = 9
    truck = VehicleType(name="压缩车", count=2, depot=0, capacity=(8.0,))
    return RoutingData(
        ids=("D", "V1", "V2", "V3", "V4", "V5", "V6", "T1", "T2"),
        names=("车场", "一村", "二村", "三村", "四村", "五村", "六村", "甲站", "乙站"),
        lon=lon, lat=lat, distance_m=dist, duration_s=np.round(dist / 10.0),
        load_dims=("t",), depots=np.array([0]), depot_open_s=np.array([0.0]),
        depot_close_s=np.array([86_400.0]), stops=np.arange(1, 7),
        stop_demand=np.full((6, 1), 1.5), stop_service_s=np.full(6, 300.0),
        stop_open_s=np.zeros(6), stop_close_s=np.full(6, 86_400.0),
        stop_allowed=(None,) * 6, stop_facility=np.full(6, -1, dtype=np.int64),
        facilities=np.array([n - 2, n - 1]), facility_unload_s=np.array([600.0, 600.0]),
        facility_open_s=np.zeros(2), facility_close_s=np.full(2, 86_400.0),
        facility_capacity=np.array([np.inf, np.inf]), vehicle_types=(truck,),
        name="法库 test day", synthetic=True, meta={"date": "2026-12-01"})


def _route(data: RoutingData, vehicle: int, seq: list[tuple[str, int]]) -> Route:
    """A route over ``seq`` (kind, index), timed from 07:00 with the data's matrices."""
    table = {"depot": data.depots, "stop": data.stops, "unload": data.facilities}
    locs = [int(table[k][i]) for k, i in seq]
    t, load, dist, visits = 25_200.0, 0.0, 0.0, []
    for j, (kind, idx) in enumerate(seq):
        if j:
            dist += float(data.distance_m[locs[j - 1], locs[j]])
            t += float(data.duration_s[locs[j - 1], locs[j]])
        arrival = t
        if kind == "stop":
            load += 1.5
            t += 300.0
        elif kind == "unload":
            load = 0.0
            t += 600.0
        visits.append(Visit(kind, idx, locs[j], arrival, arrival, t, (load,)))
    return Route(0, vehicle, tuple(visits), None, dist, t - 25_200.0, t - 25_200.0,
                 (1.5 * sum(k == "stop" for k, _ in seq),), 0.0, 0.0)


def _plan(data: RoutingData) -> RoutePlan:
    """Two vehicles: three trips and two return legs (last unload back to the depot)."""
    a = _route(data, 0, [("depot", 0), ("stop", 0), ("stop", 1), ("unload", 0),
                         ("stop", 2), ("stop", 3), ("unload", 1), ("depot", 0)])
    b = _route(data, 1, [("depot", 0), ("stop", 4), ("stop", 5), ("unload", 1), ("depot", 0)])
    routes = (a, b)
    return RoutePlan(routes=routes, unserved=(), vehicles=2,
                     distance_m=sum(r.distance_m for r in routes),
                     travel_s=sum(r.travel_s for r in routes),
                     duration_s=sum(r.duration_s for r in routes), tonne_km=0.0,
                     cost_yuan=0.0, status="feasible", solver="hand", seed=0, elapsed_s=0.0,
                     name="faku:210124:2026-12-01", synthetic=True)


def _km(metres: float) -> str:
    """How the page writes a distance: km with at most one decimal, thousands commas."""
    text = f"{metres / 1000:,.1f}"
    return (text[:-2] if text.endswith(".0") else text) + " km"


COUNTIES = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"adcode": "210124", "name": "法库县",
                                      "prefecture_adcode": "210100",
                                      "prefecture_name": "沈阳市"},
    "geometry": {"type": "Polygon", "coordinates": [[[123.1, 42.2], [123.5, 42.2],
                                                     [123.5, 42.6], [123.1, 42.2]]]}}]}


def _result(name: str, capacities: list[float]) -> dict[str, Any]:
    """A siting run's result with one facility per capacity."""
    feats = [{"type": "Feature", "geometry": {"type": "Point",
                                              "coordinates": [123.4 + i / 100, 42.5]},
              "properties": {"id": f"F{i}", "name": f"站{i}", "kind": "transfer",
                             "capacity_t_per_day": cap, "county": "210124"}}
             for i, cap in enumerate(capacities)]
    return {"summary": {"scenario": name, "status": "feasible"},
            "facilities": {"type": "FeatureCollection", "features": feats}}


# --------------------------------------------------------------- the node driver
NODE_DRIVER = r"""
'use strict';
const vm = require('vm');
const fs = require('fs');
const [jsPath, inputPath] = process.argv.slice(2);
const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const code = fs.readFileSync(jsPath, 'utf8');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Elem {
  constructor(tag, id) {
    this.tagName = String(tag).toUpperCase(); this.id = id || ''; this.children = [];
    this._text = ''; this.value = ''; this.className = ''; this.hidden = false;
    this.disabled = false; this.dataset = {}; this.style = {}; this.listeners = {};
    this.parent = null;
  }
  get textContent() {
    if (!this.children.length) return this._text;
    return this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join('');
  }
  set textContent(v) { this.children = []; this._text = String(v); }
  get innerHTML() { throw new Error('innerHTML read'); }
  set innerHTML(v) { throw new Error('innerHTML used'); }
  append(...nodes) {
    for (const n of nodes) {
      if (n instanceof Elem) { n.parent = this; this.children.push(n); }
      else this.children.push(String(n));
    }
  }
  replaceChildren(...nodes) { this.children = []; this._text = ''; this.append(...nodes); }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  fire(type) { for (const fn of this.listeners[type] || []) fn({ preventDefault() {} }); }
  click() { if (this.tagName === 'A') clicked.push({ download: this.download, href: this.href }); this.fire('click'); }
  get elements() { const out = []; const walk = (e) => { for (const c of e.children) if (c instanceof Elem) { out.push(c); walk(c); } }; walk(this); return out; }
  querySelectorAll(sel) { return this.elements.filter((e) => e.tagName === sel.toUpperCase()); }
  get options() { return this.children.filter((c) => c instanceof Elem && c.tagName === 'OPTION'); }
}

const clicked = [];
const requests = [];
const blobs = [];
const groups = [];

function run(sc) {
  const elements = {};
  for (const [id, tag] of Object.entries(input.ids)) elements[id] = new Elem(tag, id);
  const document = {
    getElementById: (id) => elements[id] || null,
    createElement: (tag) => new Elem(tag),
    body: new Elem('body'),
  };
  const layer = (kind, extra) => Object.assign({ kind, popup: null,
    bindPopup(c) { this.popup = c; return this; }, bindTooltip() { return this; },
    addTo(g) { g.layers.push(this); return this; }, on() { return this; }, setStyle() {},
    getRadius() { return this.options.radius; } }, extra);
  const group = () => { const g = { layers: [], addTo() { return this; }, clearLayers() { this.layers = []; },
    getBounds() { return { isValid: () => false, pad() { return this; } }; },
    bringToBack() {}, addData() {} }; groups.push(g); return g; };
  const L = {
    map: () => ({ setView() {}, attributionControl: { setPrefix() {} }, fitBounds() {} }),
    geoJSON: () => group(),
    featureGroup: () => group(),
    control: Object.assign(() => ({ addTo(m) { this.div = this.onAdd(m); return this; },
      getContainer() { return this.div; } }),
    { layers: () => ({ addTo() {} }), scale: () => ({ addTo() {} }) }),
    DomUtil: { create: (tag, cls) => { const e = new Elem(tag); e.className = cls; return e; } },
    DomEvent: { disableClickPropagation() {}, disableScrollPropagation() {} },
    polyline: (latlngs, options) => layer('polyline', { latlngs, options }),
    circleMarker: (latlng, options) => layer('circle', { latlng, options }),
  };
  const storage = new Map(Object.entries(sc.session || {}));
  async function fetchStub(url, opts) {
    requests.push({ url, auth: (opts && opts.headers && opts.headers.Authorization) || null });
    const route = sc.routes.find(([part]) => url.includes(part));
    if (!route) return new Response('{"detail":"no stub"}', { status: 599 });
    const [, status, body, headers, delay] = route;
    if (delay) await sleep(delay);
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: headers || { 'Content-Type': 'application/json' } });
  }
  const URLx = class extends URL {};
  URLx.createObjectURL = (blob) => { blobs.push(blob); return `blob:stub/${blobs.length}`; };
  URLx.revokeObjectURL = () => {};
  const ctx = {
    document, L, fetch: fetchStub, Node: Elem, URL: URLx, URLSearchParams, Intl, console,
    setTimeout, clearTimeout, Response, Blob,
    location: { search: sc.search || '', pathname: '/map' },
    history: { replaceState() {} },
    sessionStorage: { getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)), removeItem: (k) => storage.delete(k) },
  };
  ctx.window = ctx;
  vm.createContext(ctx);
  vm.runInContext(code, ctx, { filename: 'map.js' });
  return { elements };
}

function snapshot(elements) {
  const [, facilities, routes] = groups; // made in this order: counties, facilities, routes
  return {
    status: elements.status.textContent,
    statusLines: elements.status.children.filter((c) => typeof c !== 'string').map((c) => c.textContent),
    runSummary: elements['run-summary'].textContent,
    planSummary: elements['plan-summary'].textContent,
    facilities: facilities.layers.map((l) => ({ radius: l.options.radius,
      capacity: l.popup && l.popup.textContent })),
    routes: routes.layers.map((l) => ({ kind: l.kind, color: l.options.color,
      fill: l.options.fillColor, dash: l.options.dashArray || null,
      title: l.popup ? l.popup.textContent : '' })),
  };
}

(async () => {
  const sc = input.scenario;
  const { elements } = run(sc);
  const out = { steps: [] };
  await sleep(300);
  out.steps.push(snapshot(elements));
  for (const step of sc.steps || []) {
    for (const [id, value] of Object.entries(step.set || {})) elements[id].value = value;
    if (step.submit) elements[step.submit].fire('submit');
    if (step.download) {
      const box = elements['plan-downloads'];
      const button = box && box.elements.find((b) => b.dataset.format === step.download);
      if (!button) { out.error = `no download button for ${step.download}`; break; }
      button.click();
    }
    await sleep(step.wait || 300);
    if (step.snap) out.steps.push(snapshot(elements));
  }
  out.requests = requests;
  out.clicked = clicked;
  out.blobs = [];
  for (const b of blobs) out.blobs.push({ type: b.type, size: b.size, text: await b.text() });
  // exit at once: the page's timers (object URLs revoked after a minute) would keep node up
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
})().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String((err && err.stack) || err) }), () => process.exit(0));
});
"""


def _run_page(tmp_path: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    """Run map.js under node with the stub DOM and ``scenario`` (search, session,
    routes = [url part, status, body, headers, delay ms], steps); its JSON report."""
    assert NODE is not None
    driver = tmp_path / "driver.js"
    driver.write_text(NODE_DRIVER, encoding="utf-8")
    data = tmp_path / "input.json"
    data.write_text(json.dumps({"ids": _page_ids(), "scenario": scenario},
                               ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([NODE, str(driver), str(MAP_JS), str(data)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    assert "error" not in out, out["error"]
    return out


def _base_routes(plan_status: int = 200, plan_body: Any = None) -> list[list[Any]]:
    return [["/v1/counties.geojson", 200, COUNTIES],
            ["/v1/runs?", 200, {"items": [], "total": 0}],
            ["/v1/route-plans/210124/2026-12-01", plan_status, plan_body]]


# ------------------------------------------------------------------ static checks
def test_map_js_handles_return_legs() -> None:
    """map.js draws ``return`` features (the drive back to the depot) as dashed lines and
    counts their distance, not only ``trip`` features."""
    js = _js()
    assert re.search(r"""['"]return['"]""", js), "map.js never mentions return features"
    assert "dashArray" in js
    assert re.search(r"return(Distance|_distance|Km)", js), "no distance of return legs"


def test_page_has_keyed_download_buttons() -> None:
    """index.html has the download group; map.js offers every format, fetches with the
    key and saves a blob under the Content-Disposition file name; no plain ``/v1`` link
    (which could not carry the key) is in the page."""
    assert "plan-downloads" in _page_ids()
    js = _js()
    for fmt in FORMATS:
        assert re.search(rf"\b{fmt}: \{{", js), f"no download entry for {fmt}"
    for needle in ("Content-Disposition", "createObjectURL", "revokeObjectURL", ".blob()",
                   "download:"):
        assert needle in js, needle
    assert not re.search(r"""href=["']/v1/""", INDEX.read_text(encoding="utf-8"))


def test_legend_matches_the_circle_formula() -> None:
    """The additive radius formula (4 + 0.4·√capacity, which makes area not ∝ capacity)
    is gone, and the legend still states area ∝ capacity together with the minimum
    radius below which that no longer holds."""
    js = _js()
    assert not re.search(r"4\s*\+\s*0\.4\s*\*\s*Math\.sqrt", js)
    assert "area ∝ capacity" in js
    assert "FACILITY_MIN_RADIUS" in js and "radius at least" in js


def test_map_js_inserts_no_html() -> None:
    """map.js builds its DOM with nodes and textContent only: no innerHTML, outerHTML,
    insertAdjacentHTML, document.write, eval or Function constructor (CSP, XSS)."""
    js = _js()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in js, sink


# ------------------------------------------------------------ behaviour under node
@needs_node
def test_return_legs_are_drawn_and_totals_match_the_plan(tmp_path: Path) -> None:
    """With a plan made by the real exporter, every trip and return leg is drawn (the
    return legs dashed, in their vehicle's colour) and the page's total distance is the
    plan's own ``distance_m`` (what plan.json says), not the trips' alone."""
    data = _data()
    plan = _plan(data)
    fc = json.loads(routes_geojson(data, plan))
    total = plan_to_dict(data, plan)["distance_m"]
    legs = [f for f in fc["features"] if f["properties"]["feature_type"] in ("trip", "return")]
    returns = [f for f in legs if f["properties"]["feature_type"] == "return"]
    trip_only = sum(f["properties"]["distance_m"] for f in legs if f not in returns)
    assert len(returns) == 2 and _km(trip_only) != _km(total)
    out = _run_page(tmp_path, {"search": "?county=210124&date=2026-12-01",
                               "routes": _base_routes(200, fc)})
    snap = out["steps"][0]
    lines = [r for r in snap["routes"] if r["kind"] == "polyline"]
    assert len(lines) == len(legs)
    dashed = [r for r in lines if r["dash"]]
    assert len(dashed) == len(returns)
    colors: dict[str, set[str]] = {}
    for r in lines:
        vehicle = r["title"].split(" · ")[0]
        colors.setdefault(vehicle, set()).add(r["color"])
    assert all(len(c) == 1 for c in colors.values()), colors  # one colour per vehicle
    assert _km(total) in snap["planSummary"], (snap["planSummary"], _km(total))
    assert _km(total) in snap["status"]


@needs_node
def test_every_error_of_the_load_stays_visible(tmp_path: Path) -> None:
    """A 403 on the run and a plan that loads fine: both show in the status box (the
    plan's success does not hide the run's error) and the run's facilities are absent."""
    data = _data()
    fc = json.loads(routes_geojson(data, _plan(data)))
    routes = [["/v1/runs/R1/result", 403, {"detail": "role 'county' may not do this"}],
              *_base_routes(200, fc)]
    out = _run_page(tmp_path, {"search": "?run=R1&county=210124&date=2026-12-01",
                               "session": {"wastenet.apiKey": "wn_county"},
                               "routes": routes})
    snap = out["steps"][0]
    assert "HTTP 403" in snap["status"] and "may not do this" in snap["status"]
    assert "route plan 210124 2026-12-01" in snap["status"]
    assert any("HTTP 403" in line for line in snap["statusLines"])
    assert snap["facilities"] == []
    assert {r["auth"] for r in out["requests"]} == {"Bearer wn_county"}


@needs_node
def test_stale_answers_are_ignored_and_failed_layers_cleared(tmp_path: Path) -> None:
    """An older run request failing after a newer one succeeded changes nothing; a run
    or plan load that fails clears the facilities or routes drawn before (with the
    failure in the summary and the status)."""
    data = _data()
    fc = json.loads(routes_geojson(data, _plan(data)))
    routes = [["/v1/runs/R1/result", 200, _result("first", [10, 20, 30])],
              ["/v1/runs/R2/result", 404, {"detail": "no run with id 'R2'"}, None, 600],
              ["/v1/runs/R3/result", 200, _result("third", [40, 50])],
              ["/v1/runs/R4/result", 404, {"detail": "no run with id 'R4'"}],
              ["/v1/route-plans/210124/2026-12-02", 404, {"detail": "no plan published"}],
              *_base_routes(200, fc)]
    out = _run_page(tmp_path, {
        "search": "?run=R1&county=210124&date=2026-12-01", "routes": routes,
        "steps": [
            {"set": {"run-id": "R2"}, "submit": "run-form", "wait": 50},
            {"set": {"run-id": "R3"}, "submit": "run-form", "wait": 1000, "snap": True},
            {"set": {"run-id": "R4"}, "submit": "run-form", "wait": 300, "snap": True},
            {"set": {"plan-date": "2026-12-02"}, "submit": "plan-form", "wait": 300,
             "snap": True},
        ]})
    first, after_stale, run_failed, plan_failed = out["steps"]
    assert len(first["facilities"]) == 3 and first["routes"]
    assert len(after_stale["facilities"]) == 2 and "third" in after_stale["runSummary"]
    assert "R2" not in after_stale["status"] and "404" not in after_stale["status"]
    assert run_failed["facilities"] == [] and "third" not in run_failed["runSummary"]
    assert "R4" in run_failed["runSummary"] and "HTTP 404" in run_failed["status"]
    assert run_failed["routes"], "the plan must stay: only the run failed"
    assert plan_failed["routes"] == [] and "2026-12-02" in plan_failed["planSummary"]
    assert "no plan published" in plan_failed["status"]
    assert "R4" in plan_failed["status"], "the run's error must stay visible"


@needs_node
def test_download_buttons_fetch_with_the_key_and_save_the_servers_file(
        tmp_path: Path) -> None:
    """Each download button fetches the form's county-day (and run) in its format with
    the key and saves the answer as a blob under the Content-Disposition file name (a
    path in it is dropped); without one, ``<county>-<date>-<file>``."""
    names = {"csv": 'attachment; filename="210124-2026-12-01-routes.csv"',
             "geojson": "attachment; filename*=UTF-8''210124-2026-12-01-%E8%B7%AF.geojson",
             "gpx": 'attachment; filename="../../etc/210124-2026-12-01-routes.gpx"',
             "html": 'inline; filename="210124-2026-12-01-sheets.html"',
             "json": None}
    expected = {"csv": "210124-2026-12-01-routes.csv",
                "geojson": "210124-2026-12-01-路.geojson",
                "gpx": "210124-2026-12-01-routes.gpx",
                "html": "210124-2026-12-01-sheets.html",
                "json": "210124-2026-12-01-plan.json"}
    routes: list[list[Any]] = [["/v1/counties.geojson", 200, COUNTIES],
                               ["/v1/runs?", 200, {"items": [], "total": 0}]]
    for fmt, disposition in names.items():
        headers = {"Content-Type": "application/octet-stream"}
        if disposition:
            headers["Content-Disposition"] = disposition
        routes.append([f"format={fmt}", 200, f"body of {fmt}", headers])
    steps: list[dict[str, Any]] = [{"set": {"plan-county": "210124", "plan-date": "2026-12-01",
                                            "plan-run": "R9"}, "wait": 10}]
    steps += [{"download": fmt, "wait": 200, "snap": True} for fmt in FORMATS]
    out = _run_page(tmp_path, {"session": {"wastenet.apiKey": "wn_secret"}, "routes": routes,
                               "steps": steps})
    downloads = [r for r in out["requests"] if "format=" in r["url"]]
    assert [re.search(r"format=(\w+)", r["url"]).group(1)  # type: ignore[union-attr]
            for r in downloads] == list(FORMATS)
    for r in downloads:
        assert r["url"].startswith("/v1/route-plans/210124/2026-12-01?")
        assert "run=R9" in r["url"] and r["auth"] == "Bearer wn_secret"
    assert [c["download"] for c in out["clicked"]] == [expected[f] for f in FORMATS]
    assert all(c["href"].startswith("blob:") for c in out["clicked"])
    assert [b["text"] for b in out["blobs"]] == [f"body of {f}" for f in FORMATS]
    assert "saved 210124-2026-12-01-plan.json" in out["steps"][-1]["status"]


@needs_node
def test_facility_circle_area_is_proportional_to_capacity(tmp_path: Path) -> None:
    """As the legend says: circle area ∝ capacity (radius² ratios equal capacity ratios)
    for every facility above the minimum radius; tiny ones get the minimum."""
    caps = [400.0, 100.0, 25.0, 1.0]
    routes = [["/v1/runs/R1/result", 200, _result("caps", caps)],
              *_base_routes(404, {"detail": "none"})]
    out = _run_page(tmp_path, {"search": "?run=R1", "routes": routes})
    facilities = out["steps"][0]["facilities"]
    radius = {}
    for f in facilities:
        cap = float(re.search(r"能力 capacity([\d.,]+)", f["capacity"]).group(1)  # type: ignore[union-attr]
                    .replace(",", ""))
        radius[cap] = f["radius"]
    assert set(radius) == set(caps)
    assert radius[400.0] ** 2 / radius[100.0] ** 2 == pytest.approx(4.0)
    assert radius[100.0] ** 2 / radius[25.0] ** 2 == pytest.approx(4.0)
    assert radius[1.0] >= 2.0  # clamped to a visible minimum
