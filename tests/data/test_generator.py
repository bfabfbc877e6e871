"""Tests of the seeded village generator: determinism and calibration."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from wastenet.data import liaoning
from wastenet.data.generator import (
    GeneratorParams,
    allocate_villages,
    allocation_weights,
    generate,
    largest_remainder,
)
from wastenet.errors import ValidationError


@pytest.fixture(scope="module")
def province():
    """The default province (11,500 villages, seed 2025)."""
    return generate(GeneratorParams())


def test_largest_remainder_exact_and_proportional() -> None:
    """Hamilton rounding: 10 split 1:1:1 gives 4,3,3 (tie to the lower index);
    7 split 2:1:1 has quotas 3.5, 1.75, 1.75, so the two spare units go to the 0.75s."""
    assert largest_remainder(np.array([1.0, 1.0, 1.0]), 10).tolist() == [4, 3, 3]
    out = largest_remainder(np.array([0.5, 0.25, 0.25]), 7)
    assert out.sum() == 7 and out.tolist() == [3, 2, 2]


def test_deterministic_per_seed() -> None:
    """The same seed gives identical villages; another seed gives different ones."""
    a, _ = generate(GeneratorParams(seed=7, counties=("210124", "210123")))
    b, _ = generate(GeneratorParams(seed=7, counties=("210124", "210123")))
    c, _ = generate(GeneratorParams(seed=8, counties=("210124", "210123")))
    assert a.ids == b.ids
    assert np.array_equal(a.lon, b.lon) and np.array_equal(a.population, b.population)
    assert not np.array_equal(a.lon, c.lon)


def test_county_independent_of_selection(province) -> None:
    """A county generated alone equals the same county inside the whole province."""
    v, _ = province
    alone, _ = generate(GeneratorParams(counties=("210124",)))
    mask = np.array(v.county) == "210124"
    assert alone.ids == tuple(np.array(v.ids)[mask])
    assert np.array_equal(alone.lon, v.lon[mask])


def test_calibration_per_county_follows_formula(province) -> None:
    """Villages per county equal the documented largest-remainder allocation of
    w_c = (zhen + xiang) * sqrt(area), computed here independently."""
    v, _ = province
    counties = liaoning.load_counties()
    w = np.array([c.n_rural * np.sqrt(c.area_km2) for c in counties])
    assert np.allclose(w, allocation_weights(counties))
    quota = 11_500 * w / w.sum()
    expected = np.floor(quota).astype(int)
    rem = quota - expected
    extra = 11_500 - expected.sum()
    expected[np.argsort(-rem, kind="stable")[:extra]] += 1
    got = {code: n for code, n in zip(*np.unique(np.array(v.county), return_counts=True),
                                      strict=True)}
    for c, e in zip(counties, expected, strict=True):
        assert got.get(c.adcode, 0) == e, c.adcode
    assert allocate_villages(11_500) == {c: int(n) for c, n in got.items()}


def test_totals_within_one_percent(province) -> None:
    """71 counties, 11,500 villages, 11 million people, 5,500 t/d at 0.5 kg."""
    v, seats = province
    assert len(set(v.county)) == 71
    assert abs(len(v) - 11_500) <= 115
    assert abs(int(v.population.sum()) - 11_000_000) <= 110_000
    assert v.waste_t_per_day.sum() == pytest.approx(5_500.0)
    assert len(seats.codes) == 841
    assert v.synthetic and v.seed == 2025
    assert (v.population > 0).all()


def test_every_village_lies_inside_its_county(province) -> None:
    """Each village point is inside its own county polygon."""
    v, _ = province
    polys = liaoning.county_polygons()
    idx = liaoning.county_index()
    codes = np.array(v.county)
    for code in np.unique(codes):
        m = codes == code
        assert shapely.contains_xy(polys[idx[code]], v.lon[m], v.lat[m]).all(), code


def test_seats_named_from_township_list(province) -> None:
    """One seat per rural town or township, carrying its official name and code."""
    _, seats = province
    towns = {t.code: t for t in liaoning.load_townships() if t.type in ("zhen", "xiang")}
    assert set(seats.codes) == set(towns)
    for code, name in zip(seats.codes, seats.names, strict=True):
        assert towns[code].name == name


def test_waste_rate_and_season() -> None:
    """Daily waste scales with the rate and the seasonal factor."""
    base, _ = generate(GeneratorParams(counties=("210124",)))
    peak, _ = generate(GeneratorParams(counties=("210124",), waste_kg_per_person_per_day=0.8,
                                       seasonal_factor=1.25))
    assert peak.waste_t_per_day.sum() == pytest.approx(base.waste_t_per_day.sum() * 2.0)


def test_flags() -> None:
    """Tourism fraction flags about that share; demonstration counties flag all villages."""
    v, _ = generate(GeneratorParams(tourism_fraction=0.5, counties=("210124",),
                                    demonstration_counties=("210124",)))
    assert 0.35 < v.tourism.mean() < 0.65
    assert v.demonstration.all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"villages_total": 0}, "villages_total"),
        ({"rural_population": 10}, "rural_population"),
        ({"waste_kg_per_person_per_day": -1.0}, "waste_kg_per_person_per_day"),
        ({"seasonal_factor": 0.0}, "seasonal_factor"),
        ({"tourism_fraction": 1.5}, "tourism_fraction"),
        ({"counties": ("999999",)}, "counties"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, field) -> None:
    """Invalid generator parameters raise a ValidationError naming the field."""
    with pytest.raises(ValidationError, match=field):
        GeneratorParams(**kwargs)
