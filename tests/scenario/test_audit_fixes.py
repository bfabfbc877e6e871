"""Regression tests of the scenario-layer audit fixes: small village totals, the
rural-population bounds, large data seeds in routing, user sites' counties, the removed
``network.haul_speed_km_per_h``, the distance-matrix coverage message and deeply nested
scenario files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wastenet.data import liaoning
from wastenet.data.generator import allocation_weights, largest_remainder
from wastenet.errors import DataFormatError, ValidationError
from wastenet.geo.matrix import DistanceMatrix, save_matrix
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario, load_scenario

FAKU = "210124"
SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def _zero_share_county(total: int) -> str:
    """A rural county whose largest-remainder share of ``total`` villages is 0."""
    counties = liaoning.load_counties()
    counts = largest_remainder(allocation_weights(counties), total)
    return next(c.adcode for c, n in zip(counties, counts, strict=True)
                if c.n_rural > 0 and n == 0)


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _faku(**data: Any) -> dict[str, Any]:
    return {"name": "t", "data": {"counties": [FAKU], **data},
            "candidates": {"transfer": {"extra_per_county": 2}}}


def test_small_total_with_zero_share_county() -> None:
    """With data.villages_total = 2,000, a selection holding Faku and a rural county
    whose share rounds to 0 builds: Faku's villages only, no crash."""
    zero = _zero_share_county(2000)
    sc = Scenario.model_validate({"name": "t", "data": {"counties": [FAKU, zero],
                                                        "villages_total": 2000}})
    net = build_network(sc)
    assert net.counties == (FAKU,) and len(net.villages) > 0


def test_small_total_selection_without_villages_names_the_total() -> None:
    """A selection of rural counties that all get 0 villages is refused naming
    data.counties, with a hint that names data.villages_total and its value."""
    zero = _zero_share_county(2000)
    sc = Scenario.model_validate({"name": "t", "data": {"counties": [zero],
                                                        "villages_total": 2000}})
    with pytest.raises(ValidationError) as exc:
        build_network(sc)
    assert exc.value.field == "data.counties" and exc.value.value == [zero]
    assert exc.value.hint is not None and "data.villages_total=2000" in exc.value.hint


@pytest.mark.parametrize("pop,fragment", [(10**20, "less than or equal to 100000000"),
                                          (10, "one person per generated village")])
def test_rural_population_bounds(tmp_path: Path, pop: int, fragment: str) -> None:
    """data.rural_population above 100 million, or below data.villages_total, is refused
    when the scenario is read, naming data.rural_population and the value."""
    path = _write(tmp_path, f'name = "x"\n[data]\nvillages_total = 20\n'
                  f"rural_population = {pop}\n")
    with pytest.raises(ValidationError) as exc:
        load_scenario(path)
    assert exc.value.field == "data.rural_population" and exc.value.value == pop
    assert fragment in str(exc.value)


def test_largest_data_seed_plans_routes() -> None:
    """data.seed = 2**32 - 1 (the schema's maximum) compiles a county-day, the same way
    twice (it used to fail the planner's seed check with seed + adcode)."""
    from wastenet.routing.build import build_routing_data

    sc = Scenario.model_validate({**_faku(villages_total=2000, seed=2**32 - 1),
                                  "fleet": {"narrow_lane_fraction": 0.0}})
    net = build_network(sc)
    fac = [{"id": "S1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 500}]
    assign = [{"village_id": vid, "facility_id": "S1"} for vid in net.villages.ids]
    a = build_routing_data(net, assign, fac, FAKU, "2026-12-01")
    b = build_routing_data(net, assign, fac, FAKU, "2026-12-01")
    assert a.n_stops == len(net.villages) and a.seed == 2**32 - 1
    assert np.array_equal(a.stop_demand, b.stop_demand)


def test_routing_seed_mix() -> None:
    """The weekly planner's seed is (data.seed + adcode) mod 2**31: the plain sum for
    ordinary seeds (so their plans are unchanged), reduced into range for large ones."""
    from wastenet.routing.build import routing_seed

    assert routing_seed(2025, FAKU) == 2025 + int(FAKU)
    assert routing_seed(None, FAKU) == int(FAKU)
    assert routing_seed(2**32 - 1, FAKU) == (2**32 - 1 + int(FAKU)) % 2**31
    assert all(0 <= routing_seed(s, FAKU) < 2**31 for s in (0, 2**31 - 1, 2**32 - 1))


def test_user_site_county_must_match_its_point() -> None:
    """A user site in Faku labelled as Changhai (210224, 360 km away) is refused naming
    the site, its county field and value; a label of the neighbouring county within the
    2 km tolerance of the simplified borders is kept."""
    spec = _faku()
    spec["candidates"]["transfer"]["sites"] = [
        {"id": "S1", "lon": 123.40, "lat": 42.50, "county": "210224"}]
    with pytest.raises(ValidationError) as exc:
        build_network(Scenario.model_validate(spec))
    assert exc.value.field == "candidates.transfer.sites[0].county"
    assert exc.value.value == "210224" and "'S1'" in str(exc.value)
    spec["candidates"]["transfer"]["sites"] = []
    spec["candidates"]["incinerator"] = {"existing": [
        {"id": "E1", "lon": 123.40, "lat": 42.50, "county": "211481",
         "remaining_capacity_t_per_day": 100}]}
    with pytest.raises(ValidationError) as exc:
        build_network(Scenario.model_validate(spec))
    assert exc.value.field == "candidates.incinerator.existing[0].county"
    assert exc.value.value == "211481" and "'E1'" in str(exc.value)


def test_haul_speed_is_refused_as_unused(tmp_path: Path) -> None:
    """network.haul_speed_km_per_h is gone from the schema: a scenario that sets it gets
    an error naming the field and saying it is not used; the bundled scenarios load."""
    assert "haul_speed_km_per_h" not in Scenario.model_json_schema()["$defs"][
        "NetworkSpec"]["properties"]
    path = _write(tmp_path, 'name = "x"\n[network]\nhaul_speed_km_per_h = 50.0\n')
    with pytest.raises(ValidationError) as exc:
        load_scenario(path)
    assert exc.value.field == "network.haul_speed_km_per_h" and exc.value.value == 50.0
    assert "not used" in str(exc.value)
    for name in ("liaoning-2025.toml", "liaoning-2025-no-sharing.toml"):
        assert "haul_speed" not in (SCEN / name).read_text(encoding="utf-8")
        load_scenario(SCEN / name)


def test_matrix_missing_places_named(tmp_path: Path) -> None:
    """A distance matrix that lacks places of the network is refused naming
    data.distance_matrix_file and the file, with the count of distinct missing places
    and a few distinct ones."""
    path = tmp_path / "m.csv"
    square = np.array([[0, 1.0], [1.0, 0]])
    save_matrix(DistanceMatrix(ids=("a", "b"), distance_m=square, duration_s=square), path)
    sc = Scenario.model_validate(_faku(villages_total=2000,
                                       distance_matrix_file=str(path)))
    with pytest.raises(ValidationError) as exc:
        build_network(sc)
    assert exc.value.field == "data.distance_matrix_file" and exc.value.value == str(path)
    msg = str(exc.value)
    shown = msg.split(": ")[-1].split(" and ")[0].split(", ")
    assert len(shown) == len(set(shown)) == 5
    net_ids = build_network(Scenario.model_validate(_faku(villages_total=2000)))
    needed = len(net_ids.villages) + len(net_ids.transfer) + len(net_ids.incinerator)
    count = int(msg.split(" lacks ")[1].split(" ")[0])
    assert 0 < count <= needed


@pytest.mark.parametrize("name,text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n"),
])
def test_deeply_nested_scenario_file(tmp_path: Path, name: str, text: str) -> None:
    """A scenario file nested too deeply for the parser is a DataFormatError naming the
    file (as invalid JSON / TOML), not a RecursionError traceback."""
    path = _write(tmp_path, text, name)
    with pytest.raises(DataFormatError) as exc:
        load_scenario(path)
    assert exc.value.path == str(path)
    assert "invalid " + ("JSON" if name.endswith(".json") else "TOML") in str(exc.value)
    json.dumps(str(exc.value))  # a plain message, printable by the CLI and the API
