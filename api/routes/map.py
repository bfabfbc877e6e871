"""The map page: ``GET /map``, its static files and ``GET /v1/counties.geojson``.

The page (``api/static/map/``) is plain JavaScript on a vendored Leaflet
(``api/static/vendor/leaflet/``): everything it loads comes from this service, so it
works with no network at all (no CDN, no tiles, no web fonts). Its
``Content-Security-Policy`` (``'self'`` only) makes the browser enforce that.

``/map`` and ``/static`` stay out of the OpenAPI document; ``/v1/counties.geojson`` is a
documented API endpoint like ``/v1/counties`` and needs the same key. The static files
are sent with ``X-Content-Type-Options: nosniff``, and an HTML file among them (the page
itself, at ``/static/map/index.html``) with the page's headers, as at ``/map``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.deps import AnyPrincipal
from api.routes.common import errors

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
    """``/static``: every file with ``nosniff``, and HTML with :data:`PAGE_HEADERS` (the
    page must not be reachable without its Content-Security-Policy)."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        html = os.fspath(full_path).lower().endswith((".html", ".htm"))
        response.headers.update(PAGE_HEADERS if html else
                                {"X-Content-Type-Options": "nosniff"})
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


@cache
def counties_geojson_bytes() -> bytes:
    """The bundled simplified county polygons as a GeoJSON FeatureCollection (UTF-8).

    Built once per process from :func:`wastenet.data.liaoning.county_polygons`; the
    bundled data is immutable, so the cached bytes never go stale."""
    from shapely.geometry import mapping

    from wastenet.data.liaoning import county_polygons, load_counties

    features = [
        {"type": "Feature", "id": c.adcode,
         "properties": {"adcode": c.adcode, "name": c.name, "type": c.type,
                        "prefecture_adcode": c.prefecture_adcode,
                        "prefecture_name": c.prefecture_name},
         "geometry": mapping(g)}
        for c, g in zip(load_counties(), county_polygons(), strict=True)
    ]
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


@router.get("/counties.geojson", response_class=Response,
            responses={200: {"description": "GeoJSON FeatureCollection of the 100 county "
                             "polygons (simplified, WGS-84)",
                             "content": {GEOJSON_MEDIA: {"schema": {"type": "object"},
                                                         "example": _GEOJSON_EXAMPLE}}},
                       **errors(401)},
            summary="County polygons as GeoJSON")
def counties_geojson(principal: AnyPrincipal) -> Response:
    """The simplified boundaries of all 100 county-level divisions of Liaoning (WGS-84
    lon/lat), one feature per county with ``adcode``, ``name``, ``type``,
    ``prefecture_adcode`` and ``prefecture_name``; the base layer of the map page."""
    return Response(content=counties_geojson_bytes(), media_type=GEOJSON_MEDIA,
                    headers={"Cache-Control": "private, max-age=3600"})


@page_router.get("/map")
def map_page() -> FileResponse:
    """The map page (open: it holds no data; its API calls send the key)."""
    return FileResponse(MAP_PAGE, media_type="text/html; charset=utf-8",
                        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})
