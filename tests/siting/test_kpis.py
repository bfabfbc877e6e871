"""KPIs on a hand-checkable instance: two counties sharing one station and one incinerator."""

from __future__ import annotations

from typing import Any

import pytest
import siting_helpers as H

from wastenet.siting.kpis import kpis
from wastenet.siting.solve import SiteParams, solve


def _kpis() -> dict[str, Any]:
    # v0: 4 t/d in county C0, 2 km to T0; v1: 5 t/d in C1, 3 km to T0 (distance = 1000(1+cost))
    # T0 (county C0, 20 t/d, fixed 25) hauls 2 km to I0 (C0, fixed 100). Cost = 148.
    data = H.build(H.Spec(
        demand=[4.0, 5.0], village_county=[0, 1],
        transfer=[H.Site(0, [(20.0, 25.0)])], incinerator=[H.Site(0, [(50.0, 100.0)])],
        collect=[(0, 0, 1.0), (1, 0, 2.0)], haul=[(0, 0, 1.0)],
    ))
    res = solve(data, SiteParams(method="exact", time_limit_s=30))
    assert res.total_cost == pytest.approx(148.0)
    return kpis(data, res)


def test_coverage_distance_and_tonne_km() -> None:
    """2 villages covered; mean 2.5 km, max 3 km; tonne-km = 4*2 + 5*3 + 9*2 = 41."""
    k = _kpis()
    assert k["villages_covered"] == 2 and k["villages_uncovered"] == 0
    assert k["mean_collection_distance_m"] == pytest.approx(2500.0)
    assert k["max_collection_distance_m"] == pytest.approx(3000.0)
    assert k["tonne_km_per_day"] == pytest.approx(41.0)
    assert k["transfer_stations_opened"] == 1 and k["incinerators_opened"] == 1


def test_cost_per_tonne_by_county_and_prefecture() -> None:
    """C0 pays 4 + 4 + 125*4/9, C1 pays 10 + 5 + 125*5/9; prefecture P1 pays all 148."""
    k = _kpis()
    c0 = 8 + 125 * 4 / 9
    c1 = 15 + 125 * 5 / 9
    by_county = k["cost_by_county"]
    assert by_county["C0"]["cost_yuan_per_year"] == pytest.approx(c0)
    assert by_county["C1"]["cost_yuan_per_year"] == pytest.approx(c1)
    assert by_county["C0"]["cost_per_tonne_yuan"] == pytest.approx(c0 / (4 * 365))
    assert by_county["C2"]["cost_per_tonne_yuan"] is None
    assert k["cost_by_prefecture"]["P1"]["cost_yuan_per_year"] == pytest.approx(148.0)
    assert k["cost_by_prefecture"]["P1"]["cost_per_tonne_yuan"] == pytest.approx(148 / (9 * 365))


def test_shared_facilities_split_by_tonnes() -> None:
    """Both facilities serve two counties; shares are 4/9 and 5/9 of tonnes and fixed cost."""
    k = _kpis()
    shared = {(f["kind"], f["id"]): f for f in k["shared_facilities"]}
    assert set(shared) == {("transfer", "T0"), ("incinerator", "I0")}
    t0 = shared[("transfer", "T0")]
    assert t0["county_shares"] == pytest.approx({"C0": 4 / 9, "C1": 5 / 9})
    assert t0["county_fixed_cost_yuan_per_year"]["C1"] == pytest.approx(25 * 5 / 9)
    assert shared[("incinerator", "I0")]["county_shares"]["C0"] == pytest.approx(4 / 9)


def test_uncovered_villages_are_named_and_distances_null_when_none_served() -> None:
    """With a penalty below the cost of serving, both villages stay uncovered: the KPIs
    name them, and the distances are None rather than a misleading 0."""
    data = H.build(H.Spec(
        demand=[4.0, 5.0], village_county=[0, 1],
        transfer=[H.Site(0, [(20.0, 25.0)])], incinerator=[H.Site(0, [(50.0, 100.0)])],
        collect=[(0, 0, 1.0), (1, 0, 2.0)], haul=[(0, 0, 1.0)], penalty=0.001,
    ))
    res = solve(data, SiteParams(method="exact", time_limit_s=30))
    k = kpis(data, res)
    assert k["villages_uncovered"] == 2
    assert k["uncovered_village_ids"] == list(data.village_ids)
    assert k["mean_collection_distance_m"] is None
    assert k["max_collection_distance_m"] is None
