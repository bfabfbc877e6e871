"""Audit 14, data: distances to county and province borders in metres, and the
``data.counties`` / ``data.demonstration_counties`` settings checked evenly.

Before the fix :func:`wastenet.data.liaoning.nearest_counties` and
:func:`wastenet.data.loader.distance_to_counties_m` took the nearest point in degree
space and scaled it with equator constants, overstating distances by up to about 30 %
(a village 1,757 m outside the province was refused as "2.2 km outside" against the
2 km tolerance); and with user villages an unknown county adcode, demonstration
counties and a tourism fraction were accepted and ignored, a demonstration county
outside ``data.counties`` did nothing, and the synthetic path's error named the field
``counties`` instead of ``data.counties``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.data.loader import (
    SNAP_DISTANCE_M,
    distance_to_counties_m,
    load_villages_file,
)
from wastenet.errors import ValidationError
from wastenet.geo.distance import haversine_m
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario, load_scenario

FAKU = "210124"

#: a point 1,757 m (brute-force haversine) outside the province, north of Changtu
NEAR_OUTSIDE = (123.671290, 43.305961)


def _brute_m(geom: Any, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Haversine distance from each point to the nearest vertex of ``geom``'s boundary
    densified to about 5 m (brute force over the vertices within 0.1 degree)."""
    verts = shapely.get_coordinates(shapely.segmentize(geom.boundary, 0.00005))
    out = np.empty(len(lon))
    for k, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        near = verts[(np.abs(verts[:, 0] - x) < 0.1) & (np.abs(verts[:, 1] - y) < 0.1)]
        out[k] = haversine_m(x, y, near[:, 0], near[:, 1]).min()
    return out


def _points_outside(geom: Any, n: int, seed: int) -> tuple[NDArray[np.float64],
                                                           NDArray[np.float64]]:
    """``n`` points 0.3-5 km outside ``geom``: border points pushed out at random angles."""
    rng = np.random.default_rng(seed)
    ring = geom.boundary
    lon: list[float] = []
    lat: list[float] = []
    while len(lon) < n:
        p = ring.interpolate(rng.uniform(0, ring.length))
        ang = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(0.003, 0.045)
        x, y = p.x + r * np.cos(ang), p.y + r * np.sin(ang)
        if not geom.covers(shapely.Point(x, y)):
            lon.append(x)
            lat.append(y)
    return np.array(lon), np.array(lat)


def test_distance_to_the_province_border_is_measured_in_metres() -> None:
    """nearest_counties agrees with a brute-force haversine search of the province's
    outline within 5 m for 150 points 0.3-5 km outside it (before the fix it
    overstated by up to about 900 m, 30 %), and 1,757 m for the audit's point north of
    Changtu; 0 for a point inside, with its county."""
    prov = liaoning.province_polygon()
    lon, lat = _points_outside(prov, 150, seed=5)
    _idx, got = liaoning.nearest_counties(lon, lat)
    want = _brute_m(prov, lon, lat)
    assert np.abs(got - want).max() <= 5.0, float(np.abs(got - want).max())
    x, y = NEAR_OUTSIDE
    idx, d = liaoning.nearest_counties(np.array([x]), np.array([y]))
    assert abs(float(d[0]) - 1757.0) < 5.0
    assert liaoning.load_counties()[int(idx[0])].adcode == "211224"  # Changtu
    c = liaoning.get_county(FAKU)
    idx, d = liaoning.nearest_counties(np.array([c.lon]), np.array([c.lat]))
    assert float(d[0]) == 0.0 and liaoning.load_counties()[int(idx[0])].adcode == FAKU


def test_nearest_county_is_the_metric_nearest() -> None:
    """For points just outside the province the county returned is one whose border is
    the nearest in metres (brute-force haversine over each candidate county)."""
    prov = liaoning.province_polygon()
    lon, lat = _points_outside(prov, 60, seed=11)
    idx, got = liaoning.nearest_counties(lon, lat)
    polys = liaoning.county_polygons()
    own = np.array([_brute_m(polys[int(i)], lon[k:k + 1], lat[k:k + 1])[0]
                    for k, i in enumerate(idx.tolist())])
    assert np.abs(own - got).max() <= 5.0


def test_distance_to_a_given_county_is_measured_in_metres() -> None:
    """distance_to_counties_m (the given-county rule of the village loader and of user
    sites) agrees within 5 m with a brute-force haversine search of the county's
    border, for 80 points 0.3-5 km outside Faku's polygon; before the fix it overstated
    by hundreds of metres where the border runs north-south."""
    ci = liaoning.county_index()[FAKU]
    poly = liaoning.county_polygons()[ci]
    lon, lat = _points_outside(poly, 80, seed=3)
    got = distance_to_counties_m(np.full(len(lon), ci), lon, lat)
    want = _brute_m(poly, lon, lat)
    assert np.abs(got - want).max() <= 5.0, float(np.abs(got - want).max())


def test_village_1757_m_outside_is_snapped_not_refused(tmp_path: Path) -> None:
    """A village 1,757 m outside the province (within the 2 km tolerance) is snapped to
    Changtu with a warning giving about 1757 m; before the fix it was refused as
    "2.2 km outside". A village a little over 2 km out is still refused."""
    x, y = NEAR_OUTSIDE
    path = tmp_path / "v.csv"
    path.write_text(f"id,lon,lat,population\nv1,{x},{y},100\n", encoding="utf-8")
    v = load_villages_file(path)
    assert v.county == ("211224",)
    meta_warnings = v.meta["warnings"]
    assert isinstance(meta_warnings, list)
    warnings = [str(w) for w in meta_warnings]
    assert any(" m outside" in w and ("1757 m" in w or "1756 m" in w) for w in warnings)
    far = y + 0.012  # farther north, away from the border
    brute = _brute_m(liaoning.province_polygon(), np.array([x]), np.array([far]))[0]
    assert SNAP_DISTANCE_M < brute < 3000.0
    path.write_text(f"id,lon,lat,population\nv1,{x},{far},100\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="outside Liaoning"):
        load_villages_file(path)


# --------------------------------------------------------------------------- counties


def _toml(tmp_path: Path, data: str) -> Path:
    (tmp_path / "v.csv").write_text("id,lon,lat,population\nv1,123.3,42.45,100\n",
                                    encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(f'schema_version = 1\nname = "s"\n[data]\n{data}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("data", "field", "value", "needle"), [
    ('source = "user"\nvillages_file = "v.csv"\ncounties = ["219999", "210124"]',
     "data.counties", "219999", "unknown Liaoning county adcode"),
    ('counties = ["219999"]', "data.counties", "219999", "unknown Liaoning county adcode"),
    ('counties = ["210124"]\ndemonstration_counties = ["219998"]',
     "data.demonstration_counties", "219998", "unknown Liaoning county adcode"),
    ('counties = ["210124"]\ndemonstration_counties = ["210102"]',
     "data.demonstration_counties", "210102", "not among data.counties"),
    ('source = "user"\nvillages_file = "v.csv"\ndemonstration_counties = ["210124"]',
     "data.demonstration_counties", ["210124"], "would ignore it"),
    ('source = "user"\nvillages_file = "v.csv"\ntourism_fraction = 1.0',
     "data.tourism_fraction", 1.0, "would ignore it"),
    ('source = "user"\nvillages_file = "v.csv"\nvillages_total = 5',
     "data.villages_total", 5, "would ignore it"),
])
def test_county_settings_are_checked_evenly(tmp_path: Path, data: str, field: str,
                                            value: object, needle: str) -> None:
    """Unknown adcodes in data.counties (with user villages too) and in
    data.demonstration_counties, a demonstration county outside data.counties, and
    settings that user villages ignore (demonstration counties, tourism fraction,
    village total) are refused when the scenario is read, naming the field (data.*)
    and the value."""
    with pytest.raises(ValidationError) as err:
        load_scenario(_toml(tmp_path, data))
    e = err.value
    assert (e.field, e.value) == (field, value) and needle in str(e), str(e)


def test_user_scenario_defaults_survive_a_round_trip(tmp_path: Path) -> None:
    """A user scenario dumped with every default (as the HTTP service stores it) is
    accepted again: only settings that differ from their defaults count as given. A
    selected county that holds none of the supplied villages is reported in the
    network's warnings (before the fix it was dropped silently)."""
    sc = load_scenario(_toml(tmp_path, 'source = "user"\nvillages_file = "v.csv"\n'
                                       'counties = ["210124", "210123"]'))
    again = Scenario.model_validate(sc.model_dump(mode="json"))
    assert again.data.tourism_fraction == sc.data.tourism_fraction
    net = build_network(again)
    assert net.villages.ids == ("v1",)
    assert any("210123" in w and "none of the supplied villages" in w for w in net.warnings)
