"""Tests of the map page: ``GET /map``, its static files under ``/static`` and
``GET /v1/counties.geojson`` (TestClient, temporary SQLite file, no solver workers).

The page must work with no network: everything it references is a local path that the
service serves, and its sources contain no ``http(s)://`` URL at all."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.db.store import Store
from api.routes.map import MAP_PAGE, STATIC_DIR

PAGE_SOURCES = ("/map", "/static/map/map.js", "/static/map/map.css")
LEAFLET = ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css")
EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)
# A scheme-relative URL ("//cdn.example/x.js") opening a string, attribute or url().
SCHEME_RELATIVE = re.compile(r"""["'`(=]\s*//[^/\s]""")
# A quoted string literal starting with /v1/ (ends at the quote or the query string).
API_PATH = re.compile(r"""["'`](/v1/[^"'`?#\s]*)""")
# ``$('element-id')`` and ``L.map('element-id')``: how map.js finds the page's elements.
ELEMENT_ID = re.compile(r"""(?:\$|L\.map)\(\s*['"]([\w-]+)['"]""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")
# Liaoning's bounding box, with a margin (the province spans about 118.8-125.8 E, 38.7-43.5 N).
LON_RANGE, LAT_RANGE = (118.0, 126.0), (38.0, 44.0)
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",),
                 ".png": ("image/png",), ".html": ("text/html",)}


class _PageRefs(HTMLParser):
    """Collects what an HTML page loads or links to, its element ids and its meta data."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[tuple[str | None, str | None]] = []
        self.other_refs: list[str] = []
        self.ids: set[str] = set()
        self.inline_scripts = 0
        self.inline_styles = 0
        self.lang: str | None = None
        self.charset: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if a.get("style"):
            self.inline_styles += 1
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and a.get("charset"):
            self.charset = a["charset"]
        elif tag == "script":
            self.scripts.append(a.get("src"))
            self._in_script = a.get("src") is None
        elif tag == "link":
            self.links.append((a.get("rel"), a.get("href")))
        elif tag == "style":
            self.inline_styles += 1
        for name in ("src", "href", "action", "poster", "data"):
            if tag not in ("script", "link") and a.get(name):
                self.other_refs.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _page(client: TestClient) -> _PageRefs:
    r = client.get("/map")
    assert r.status_code == 200, r.text
    parser = _PageRefs()
    parser.feed(r.text)
    parser.close()
    return parser


def _local_assets(client: TestClient) -> list[str]:
    """Every asset the page loads (scripts, stylesheets), then Leaflet's own files and the
    images that leaflet.css refers to, as absolute paths on the service."""
    page = _page(client)
    assets = [s for s in page.scripts if s] + [h for _, h in page.links if h]
    for path in LEAFLET:
        if path not in assets:
            assets.append(path)
    css = client.get(LEAFLET[1])
    assert css.status_code == 200
    for ref in CSS_URL.findall(css.text):
        if ref.startswith(("#", "data:")):  # VML behaviour and inline images load nothing
            continue
        assets.append(urljoin(LEAFLET[1], ref))
    return assets


def _coordinates(geometry: dict[str, Any]) -> Iterator[tuple[float, float]]:
    def walk(node: Any) -> Iterator[tuple[float, float]]:
        if node and isinstance(node[0], int | float):
            yield float(node[0]), float(node[1])
        else:
            for child in node:
                yield from walk(child)

    yield from walk(geometry["coordinates"])


def _app_routes(client: TestClient) -> dict[str, set[str]]:
    """The app's API routes, path template -> methods, read from its OpenAPI document
    (built from the app's routes; recent FastAPI nests included routers, so ``app.routes``
    no longer lists them flat)."""
    doc = client.get("/openapi.json").json()
    return {path: {m.upper() for m in ops} for path, ops in doc["paths"].items()}


# ---------------------------------------------------------------------------- the page
def test_map_page_is_html_loading_local_assets_only(client: TestClient) -> None:
    """``/map`` answers 200 text/html (UTF-8, ``lang`` set); every ``<script src>`` and
    ``<link href>`` is a local path under ``/static/``, nothing is inline, and the
    Content-Security-Policy lets the page talk to its own origin only."""
    r = client.get("/map")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "charset=utf-8" in r.headers["content-type"].lower()
    page = _page(client)
    assert page.lang in ("zh-CN", "en")
    assert (page.charset or "").lower() == "utf-8"
    assert page.scripts and page.links, "the page loads no script or stylesheet"
    refs = [*page.scripts, *(h for _, h in page.links), *page.other_refs]
    for ref in refs:
        assert ref is not None, "a <script> or <link> without src/href"
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, f"{ref} is not a local path"
        assert ref.startswith("/static/"), f"{ref} is not under /static/"
    assert {"stylesheet"} == {rel for rel, _ in page.links}
    assert page.inline_scripts == 0
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "connect-src 'self'",
                      "img-src 'self'"):
        assert directive in csp
    assert not EXTERNAL_URL.search(csp)


@pytest.mark.parametrize("path", PAGE_SOURCES)
def test_page_sources_have_no_external_urls(client: TestClient, path: str) -> None:
    """Neither index.html nor map.js nor map.css (as served) contains an ``http://`` or
    ``https://`` URL, nor a scheme-relative ``//host/...`` one: no CDN, tiles or fonts can
    sneak in."""
    r = client.get(path)
    assert r.status_code == 200
    assert not EXTERNAL_URL.search(r.text), f"{path} mentions an external URL"
    assert not SCHEME_RELATIVE.search(r.text), f"{path} has a scheme-relative URL"


def test_page_assets_are_served_with_sensible_types(client: TestClient) -> None:
    """Every asset the page references, Leaflet's JS and CSS and the images leaflet.css
    refers to are served with 200 and a content type that fits their extension."""
    assets = _local_assets(client)
    assert any(a.endswith(".png") for a in assets), "leaflet.css refers to no image"
    for path in assets:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.content, path
        ctype = r.headers["content-type"].split(";")[0].strip()
        expected = CONTENT_TYPES[Path(urlsplit(path).path).suffix]
        assert ctype in expected, (path, ctype)


def test_vendored_leaflet_is_1_9_4_with_its_licence() -> None:
    """The vendored Leaflet is version 1.9.4 and ships with its BSD-2-Clause licence and
    the README that says how to refresh it."""
    vendor = STATIC_DIR / "vendor"
    assert 't.version="1.9.4"' in (vendor / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert "BSD 2-Clause" in (vendor / "leaflet" / "LICENSE").read_text(encoding="utf-8")
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "1.9.4" in readme and "BSD-2-Clause" in readme and "npm pack" in readme


def test_map_and_static_are_open_and_not_in_the_openapi_document(client: TestClient) -> None:
    """The page and its files need no key (the page asks for it) and stay out of the
    OpenAPI document; ``/v1/counties.geojson`` is documented as GeoJSON with a 401."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    store.create_key("admin")
    assert client.get("/v1/counties").status_code == 401
    assert client.get("/map").status_code == 200
    assert client.get("/static/map/map.js").status_code == 200
    assert client.get("/static/map/no-such-file.js").status_code == 404
    doc = client.get("/openapi.json").json()
    assert not [p for p in doc["paths"] if p == "/map" or p.startswith("/static")]
    op = doc["paths"]["/v1/counties.geojson"]["get"]
    assert "application/geo+json" in op["responses"]["200"]["content"]
    assert "401" in op["responses"]


# ---------------------------------------------------------------------- county polygons
def test_counties_geojson_matches_the_county_list(client: TestClient) -> None:
    """``/v1/counties.geojson`` is a FeatureCollection (application/geo+json) of 100
    polygons whose adcodes, names and prefectures equal ``/v1/counties``, with every
    coordinate inside Liaoning's bounding box."""
    r = client.get("/v1/counties.geojson")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 100
    counties = {c["adcode"]: c for c in client.get("/v1/counties").json()["items"]}
    assert [f["properties"]["adcode"] for f in doc["features"]] == sorted(counties)
    for f in doc["features"]:
        p = f["properties"]
        c = counties[p["adcode"]]
        assert f["type"] == "Feature"
        assert (p["name"], p["prefecture_adcode"], p["prefecture_name"]) == (
            c["name"], c["prefecture_adcode"], c["prefecture_name"])
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        points = list(_coordinates(f["geometry"]))
        assert len(points) >= 4, p["adcode"]
        for lon, lat in points:
            assert LON_RANGE[0] < lon < LON_RANGE[1] and LAT_RANGE[0] < lat < LAT_RANGE[1], (
                p["adcode"], lon, lat)
    names = {f["properties"]["name"] for f in doc["features"]}
    assert "法库县" in names  # Chinese names come through as they are in the data


def test_counties_geojson_needs_a_key_once_keys_exist(client: TestClient) -> None:
    """With a key in the database the polygons need one: 401 without or with a wrong key,
    200 for an engineer key and for a county key (sanitation teams use the page too)."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    eng = store.create_key("engineer").token
    county = store.create_key("county", ["210124"]).token
    missing = client.get("/v1/counties.geojson")
    assert missing.status_code == 401
    assert "API key" in missing.json()["detail"]
    assert client.get("/v1/counties.geojson", headers=_auth("wn_bad_key")).status_code == 401
    assert client.get("/v1/counties.geojson", headers=_auth(eng)).status_code == 200
    assert client.get("/v1/counties.geojson", headers=_auth(county)).status_code == 200


# ------------------------------------------------------------------------------ map.js
def test_endpoints_called_by_map_js_exist(client: TestClient) -> None:
    """Every ``/v1/...`` path template in map.js is a GET route of the app, written as
    the route's own template (renaming an endpoint or a path parameter breaks this)."""
    js = client.get("/static/map/map.js").text
    paths = set(API_PATH.findall(js))
    assert {"/v1/counties.geojson", "/v1/runs/{run_id}/result",
            "/v1/route-plans/{county}/{date}"} <= paths
    routes = _app_routes(client)
    for path in sorted(paths):
        assert path in routes, f"map.js calls {path}, which the app does not serve"
        assert "GET" in routes[path], path


def test_elements_used_by_map_js_exist_in_the_page(client: TestClient) -> None:
    """Every element id that map.js looks up (``$('id')``, ``L.map('id')``) exists in
    index.html."""
    js = client.get("/static/map/map.js").text
    wanted = set(ELEMENT_ID.findall(js))
    assert {"map", "status", "api-key", "run-id", "plan-county", "plan-date"} <= wanted
    missing = wanted - _page(client).ids
    assert not missing, f"map.js uses ids missing from index.html: {sorted(missing)}"


def test_map_js_passes_node_check() -> None:
    """``node --check`` accepts map.js (skipped when node is not installed)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: cannot syntax-check map.js")
    js = STATIC_DIR / "map" / "map.js"
    proc = subprocess.run([node, "--check", str(js)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_map_page_file_is_the_one_served(client: TestClient) -> None:
    """``/map`` serves ``api/static/map/index.html`` byte for byte."""
    assert client.get("/map").content == MAP_PAGE.read_bytes()
