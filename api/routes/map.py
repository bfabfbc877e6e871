"""The map page: ``GET /map``, its static files and ``GET /v1/counties.geojson``.

The page (``api/static/map/``) is plain JavaScript on a vendored Leaflet
(``api/static/vendor/leaflet/``): everything it loads comes from this service, so it
works with no network at all (no CDN, no tiles, no web fonts). Its
``Content-Security-Policy`` (``'self'`` only) makes the browser enforce that.

``/map`` and ``/static`` stay out of the OpenAPI document; ``/v1/counties.geojson`` is a
documented API endpoint like ``/v1/counties`` and needs the same key. The static files
are sent with ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-cache`` (the
browser revalidates each with its ETag before use, so that after an upgrade a new page is
never paired with an old ``map.js`` or stylesheet), and an HTML file among them (the page
itself, at ``/static/map/index.html``) with the page's headers, as at ``/map``.

``/v1/counties.geojson`` follows RFC 7946 §3.1.6 (outer rings counter-clockwise, holes
clockwise) and is sent as the county list is (see :mod:`api.routes.counties`): with a
content-hash ETag, 304 on ``If-None-Match``, ``Cache-Control: private, no-cache`` and
``Vary: Authorization, X-API-Key``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.deps import AnyPrincipal
from api.routes.common import NOT_MODIFIED, cached_answer, errors, etag_of

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAP_PAGE = STATIC_DIR / "map" / "index.html"
GEOJSON_MEDIA = "application/geo+json"

#: The page may load from and talk to this service only (inline styles are allowed
#: because Leaflet positions its panes and popups with them).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
#: The security headers of the page, wherever it is served from.
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}


class SecuredStaticFiles(StaticFiles):
    """``/static``: every file with ``nosniff`` and ``Cache-Control: no-cache`` (kept, but
    revalidated with its ETag before each use: its URL carries no version, so a cached
    copy must never outlive an upgrade), and HTML with :data:`PAGE_HEADERS` (the page must
    not be reachable without its Content-Security-Policy). A 304 carries them too."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        html = os.fspath(full_path).lower().endswith((".html", ".htm"))
        response.headers.update(PAGE_HEADERS if html else
                                {"X-Content-Type-Options": "nosniff"})
        response.headers["Cache-Control"] = "no-cache"
        return response

router = APIRouter(prefix="/v1", tags=["counties"])
page_router = APIRouter(include_in_schema=False)

_GEOJSON_EXAMPLE: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [{
        "type": "Feature", "id": "210124",
        "properties": {"adcode": "210124", "name": "法库县", "type": "county",
                       "prefecture_adcode": "210100", "prefecture_name": "沈阳市"},
        "geometry": {"type": "Polygon", "coordinates": [[[123.1, 42.2], [123.5, 42.2],
                                                          [123.5, 42.6], [123.1, 42.2]]]},
    }],
}


def rfc7946_oriented(geom: Any) -> Any:
    """``geom`` with every polygon's rings in the order of RFC 7946 §3.1.6: the outer
    ring counter-clockwise, holes clockwise (multi-part geometries and collections part
    by part; other geometries as they are). A new geometry: ``geom`` is not changed."""
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
    from shapely.geometry.polygon import orient

    if isinstance(geom, Polygon):
        return orient(geom, sign=1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])
    if isinstance(geom, GeometryCollection):
        return GeometryCollection([rfc7946_oriented(g) for g in geom.geoms])
    return geom


@cache
def counties_geojson_bytes() -> bytes:
    """The bundled simplified county polygons as a GeoJSON FeatureCollection (UTF-8),
    their rings oriented as RFC 7946 says (:func:`rfc7946_oriented`).

    Built once per process from :func:`wastenet.data.liaoning.county_polygons`; the
    bundled data is immutable, so the cached bytes never go stale."""
    from shapely.geometry import mapping

    from wastenet.data.liaoning import county_polygons, load_counties

    features = [
        {"type": "Feature", "id": c.adcode,
         "properties": {"adcode": c.adcode, "name": c.name, "type": c.type,
                        "prefecture_adcode": c.prefecture_adcode,
                        "prefecture_name": c.prefecture_name},
         "geometry": mapping(rfc7946_oriented(g))}
        for c, g in zip(load_counties(), county_polygons(), strict=True)
    ]
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


@cache
def counties_geojson_etag() -> str:
    """The ETag of :func:`counties_geojson_bytes` (a hash of its content), computed once."""
    return etag_of(counties_geojson_bytes())


@router.get("/counties.geojson", response_class=Response,
            responses={200: {"description": "GeoJSON FeatureCollection of the 100 county "
                             "polygons (simplified, WGS-84)",
                             "content": {GEOJSON_MEDIA: {"schema": {"type": "object"},
                                                         "example": _GEOJSON_EXAMPLE}}},
                       **NOT_MODIFIED, **errors(401)},
            summary="County polygons as GeoJSON")
def counties_geojson(request: Request, principal: AnyPrincipal) -> Response:
    """The simplified boundaries of all 100 county-level divisions of Liaoning (WGS-84
    lon/lat, outer rings counter-clockwise and holes clockwise as RFC 7946 §3.1.6 says),
    one feature per county with ``adcode``, ``name``, ``type``, ``prefecture_adcode`` and
    ``prefecture_name``; the base layer of the map page. Sent with an ETag (a request
    whose If-None-Match names it is answered 304, without the body), ``Cache-Control:
    private, no-cache`` and ``Vary: Authorization, X-API-Key``."""
    return cached_answer(request, counties_geojson_bytes(), counties_geojson_etag(),
                         GEOJSON_MEDIA)


@page_router.get("/map")
def map_page() -> FileResponse:
    """The map page (open: it holds no data; its API calls send the key)."""
    return FileResponse(MAP_PAGE, media_type="text/html; charset=utf-8",
                        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})
