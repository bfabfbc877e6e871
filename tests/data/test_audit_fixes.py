"""Regression tests of the data-layer audit fixes: small village totals, one person per
generated village, the rural-population cap, the tonnes-per-person bound, deeply nested
village JSON and villages exactly on a county border."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from wastenet.data import liaoning
from wastenet.data.generator import GeneratorParams, generate
from wastenet.data.loader import load_villages_file, villages_from_records
from wastenet.errors import DataFormatError, ValidationError


def _shared_vertex(a_code: str) -> tuple[float, float, str]:
    """A vertex that county ``a_code`` shares with one of its neighbours."""
    polys = liaoning.county_polygons()
    ci = liaoning.county_index()
    a = set(map(tuple, shapely.get_coordinates(polys[ci[a_code]]).tolist()))
    for b_code in liaoning.county_neighbours()[a_code]:
        common = a & set(map(tuple, shapely.get_coordinates(polys[ci[b_code]]).tolist()))
        if common:
            x, y = sorted(common)[0]
            return float(x), float(y), b_code
    raise AssertionError("no shared vertex")  # pragma: no cover


def test_small_total_gives_exact_province() -> None:
    """A provincial total below ~2,629 (here 2,000 and 1) is generated: exactly that many
    villages and people, and the rural counties whose share rounds to 0 have neither
    villages nor township seats (they are left out of the allocation)."""
    from wastenet.data.generator import allocate_villages

    v, seats = generate(GeneratorParams(villages_total=2000, rural_population=2_000_000))
    assert len(v) == 2000 and int(v.population.sum()) == 2_000_000
    alloc = allocate_villages(2000)
    assert sum(alloc.values()) == 2000 and min(alloc.values()) >= 1
    assert set(v.county) == set(alloc) and set(seats.county) == set(alloc)
    assert len(alloc) < 71  # some rural counties get none at this total
    one, _ = generate(GeneratorParams(villages_total=1, rural_population=5))
    assert len(one) == 1 and int(one.population[0]) == 5


def test_every_generated_village_has_a_person() -> None:
    """With one person per village on average, every village still has >= 1 person and
    a positive daily waste; the county and provincial totals stay exact."""
    v, _ = generate(GeneratorParams(villages_total=11_500, rural_population=11_500,
                                    counties=("210124",)))
    assert int(v.population.min()) >= 1
    assert float(v.waste_t_per_day.min()) > 0
    assert int(v.population.sum()) == len(v)  # 1 person each: the county's exact share


def test_largest_remainder_min1() -> None:
    """The floor-of-one split gives a 0 share 1 and re-splits the rest; with no 0 share
    it equals the plain largest-remainder split; too small a total is a named error."""
    from wastenet.data.generator import largest_remainder, largest_remainder_min1

    assert largest_remainder(np.array([10.0, 1.0, 1.0]), 4).tolist() == [3, 1, 0]
    assert largest_remainder_min1(np.array([10.0, 1.0, 1.0]), 4).tolist() == [2, 1, 1]
    w = np.array([3.0, 2.0, 1.0])
    assert largest_remainder_min1(w, 12).tolist() == largest_remainder(w, 12).tolist()
    with pytest.raises(ValidationError, match="total"):
        largest_remainder_min1(w, 2)


def test_rural_population_is_capped() -> None:
    """A rural population above 100 million is refused naming the field (it used to
    overflow numpy's integers with a traceback)."""
    with pytest.raises(ValidationError) as exc:
        GeneratorParams(rural_population=10**20)
    assert exc.value.field == "rural_population" and exc.value.value == 10**20
    with pytest.raises(ValidationError, match="implausibly large"):
        GeneratorParams(rural_population=100_000_001)


def test_tonnes_per_person_is_bounded() -> None:
    """With population given, tonnes_per_day above 100 kg/person/day is refused naming
    the row, the field and the value; a high but plausible rate is kept as given."""
    with pytest.raises(ValidationError) as exc:
        villages_from_records([{"id": "a", "lon": 123.35, "lat": 42.30, "population": 100,
                                "tonnes_per_day": 1e9}])
    assert exc.value.field == "tonnes_per_day" and exc.value.row == 1
    assert exc.value.value == 1e9 and "kg per person per day" in str(exc.value)
    with pytest.raises(ValidationError, match="tonnes_per_day"):
        villages_from_records([{"id": "a", "lon": 123.35, "lat": 42.30, "population": 100,
                                "tonnes_per_day": 10.01}])
    v, _ = villages_from_records([{"id": "a", "lon": 123.35, "lat": 42.30,
                                   "population": 100, "tonnes_per_day": 10.0}])
    assert float(v.waste_t_per_day[0]) == 10.0 and int(v.population[0]) == 100


def test_deeply_nested_villages_json(tmp_path: Path) -> None:
    """A villages .json/.geojson nested too deeply for the parser is an invalid-JSON
    DataFormatError naming the file, not a RecursionError traceback."""
    for name in ("deep.json", "deep.geojson"):
        path = tmp_path / name
        path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
        with pytest.raises(DataFormatError) as exc:
            load_villages_file(path)
        assert exc.value.path == name and "invalid JSON" in str(exc.value)


def test_village_on_internal_border_is_inside() -> None:
    """A village exactly on a vertex shared by Faku and a neighbour is inside the
    province: no snapping warning, and it is placed in the bordering county of lowest
    adcode (the point is on that county's boundary)."""
    x, y, _ = _shared_vertex("210124")
    idx = int(liaoning.locate_points(np.array([x]), np.array([y]))[0])
    assert idx >= 0
    county = liaoning.load_counties()[idx]
    assert shapely.intersects(liaoning.county_polygons()[idx], shapely.Point(x, y))
    v, warnings = villages_from_records([{"id": "v1", "lon": x, "lat": y, "population": 100}])
    assert warnings == [] and v.county == (county.adcode,)
    touching = [c.adcode for c, g in zip(liaoning.load_counties(), liaoning.county_polygons(),
                                         strict=True) if shapely.intersects(g, shapely.Point(x, y))]
    assert county.adcode == min(touching)
