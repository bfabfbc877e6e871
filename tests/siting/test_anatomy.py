"""Where a gap lives (wastenet.siting.anatomy)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from siting_helpers import Site, Spec, build

from wastenet.errors import ValidationError
from wastenet.siting.anatomy import gap_anatomy, plant_shares
from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve
from wastenet.siting.splitbound import split_bound
from wastenet.siting.synthetic import synthetic_province

EXACT = SiteParams(time_limit_s=30, method="exact")


def _spec() -> Spec:
    """Villages V0, V1 (10 t/d each); stations T0 (reached from V0 at 1) and T1 (from V0
    at 2, from V1 at 1), exactly one station; plants P0, P1 (10 t/d each, 50 each), both
    needed. Hauls T0->P0 1, T1->P0 1, T1->P1 3.

    Only T1 reaches V1, so T1 opens and splits its 20 t/d evenly between the plants.
    Cost: station 1 + plants 100 + collection 20 + 10 + haul 10 + 30 = 171. Cheapest
    paths: V0->P0 2 (through T0), V0->P1 5, V1->P0 2, V1->P1 4; at the optimum's
    half-and-half shares they cost 10(1 + 2.5) + 10(1 + 2) = 65, and the flow pays 70:
    V0's half to P0 goes through T1 at 3 instead of T0 at 2."""
    return Spec(
        demand=[10.0, 10.0], village_county=[0, 0],
        transfer=[Site(0, [(30.0, 1.0)]), Site(0, [(30.0, 1.0)])],
        incinerator=[Site(0, [(10.0, 50.0)]), Site(0, [(10.0, 50.0)])],
        collect=[(0, 0, 1.0), (0, 1, 2.0), (1, 1, 1.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (1, 1, 3.0)],
        counts=(CountTarget("transfer", 1, "eq"), CountTarget("incinerator", 2, "eq")),
    )


def test_hand_instance_parts() -> None:
    """The hand instance: the optimum 171 splits against bounds of 1 (stations) and 150
    (plants) into station fixed 0, station paths 5 and plants 100 + 65 - 150 = 15."""
    data = build(_spec())
    res = solve(data, EXACT)
    assert res.total_cost == pytest.approx(171.0)
    assert check(data, res).ok
    a = gap_anatomy(compile_model(data), res, transfer_bound=1.0, plant_bound=150.0)
    assert a.relaxed_flow == pytest.approx(65.0)
    assert a.station_fixed == pytest.approx(0.0)
    assert a.station_paths == pytest.approx(5.0)
    assert a.plants == pytest.approx(15.0)
    assert a.total == pytest.approx(171.0 - 151.0)
    assert a.as_dict()["station_paths"] == pytest.approx(5.0)


def test_station_rows_split_by_the_station_hauls() -> None:
    """Each village's waste goes to the plants in the shares of its station's hauls:
    half to each plant for both villages of the hand instance."""
    data = build(_spec())
    res = solve(data, EXACT)
    vil, pl, share = plant_shares(compile_model(data), res)
    got = {(int(i), int(k)): float(s) for i, k, s in zip(vil, pl, share, strict=True)}
    assert got == pytest.approx({(0, 0): 0.5, (0, 1): 0.5, (1, 0): 0.5, (1, 1): 0.5})


@pytest.mark.parametrize("policy", ["none", "free"])
def test_parts_are_non_negative_against_the_split_bound(policy: str) -> None:
    """On seeded synthetic provinces, against the split bound: every part is >= 0 and
    they add up to the incumbent's cost less the bound."""
    data = synthetic_province(120, 24, 8, n_counties=4, n_prefectures=1, seed=7,
                              policy=policy,  # type: ignore[arg-type]
                              k_collect=6, k_haul=6, transfer_target=8, incinerator_target=4,
                              width_km=70, height_km=40)
    model = compile_model(data)
    res = solve(data, SiteParams(time_limit_s=None, method="decomposition",
                                 max_iterations=3))
    sb = split_bound(model, groups=data.village_county)
    assert np.isfinite(sb.value)
    a = gap_anatomy(model, res, transfer_bound=sb.transfer, plant_bound=sb.plants)
    tol = 1e-7 * res.total_cost
    assert a.station_fixed >= -tol and a.station_paths >= -tol and a.plants >= -tol
    assert a.total == pytest.approx(res.total_cost - sb.value, rel=1e-9, abs=tol)


def test_solve_records_the_parts_of_the_bound_it_reports() -> None:
    """Without sharing, under a time limit (so without the station items), the county
    bound gives the scalable path's lower bound: the result's meta carries its two parts,
    they add up to that bound, and the anatomy's parts are >= 0 against them. Without a
    time limit the station items change what the parts mean, and none are recorded."""
    data = synthetic_province(120, 24, 8, n_counties=4, n_prefectures=1, seed=7,
                              policy="none", k_collect=6, k_haul=6, transfer_target=8,
                              incinerator_target=4, width_km=70, height_km=40)
    res = solve(data, SiteParams(time_limit_s=60, method="decomposition", max_iterations=3))
    assert any(line.startswith("county bound") for line in res.log)
    parts = res.meta.get("bound_parts")
    assert isinstance(parts, dict)
    assert parts["transfer"] + parts["plants"] == pytest.approx(res.lower_bound, rel=1e-12)
    a = gap_anatomy(compile_model(data), res, transfer_bound=parts["transfer"],
                    plant_bound=parts["plants"])
    tol = 1e-7 * res.total_cost
    assert min(a.station_fixed, a.station_paths, a.plants) >= -tol
    untimed = solve(data, SiteParams(time_limit_s=None, method="decomposition",
                                     max_iterations=3))
    assert any(line.startswith("station items") for line in untimed.log)
    assert "bound_parts" not in untimed.meta


@pytest.mark.parametrize("field,value", [("transfer_bound", float("inf")),
                                         ("plant_bound", float("nan")),
                                         ("plant_bound", float("-inf"))])
def test_bounds_must_be_finite(field: str, value: float) -> None:
    """A bound that is not finite is refused, naming it."""
    data = build(_spec())
    res = solve(data, EXACT)
    kw = {"transfer_bound": 1.0, "plant_bound": 150.0, field: value}
    with pytest.raises(ValidationError, match=field):
        gap_anatomy(compile_model(data), res, **kw)


def test_station_without_haul_is_refused() -> None:
    """A result whose station receives villages but hauls nothing is not feasible; its
    shares cannot be formed and the error names the haul flows."""
    data = build(_spec())
    res = solve(data, EXACT)
    broken = replace(res, haul_transfer=res.haul_transfer[:0],
                     haul_incinerator=res.haul_incinerator[:0],
                     haul_t_per_day=res.haul_t_per_day[:0])
    with pytest.raises(ValidationError, match="haul_t_per_day"):
        plant_shares(compile_model(data), broken)
