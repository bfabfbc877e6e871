"""KPIs and gap anatomy with uncovered villages and existing facilities: the uncovered
penalty is its own cost line (never a county's cost or part of a cost per tonne), a
partly covered village pays the penalty on its uncovered share only, and an existing
facility that receives nothing is not counted as used."""

from __future__ import annotations

from typing import Any

import pytest
import siting_helpers as H

from wastenet.siting.anatomy import gap_anatomy
from wastenet.siting.data import SiteStatus, SitingData
from wastenet.siting.kpis import kpis
from wastenet.siting.model import compile_model
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import SiteParams, solve


def _solve(spec: H.Spec) -> tuple[SitingData, SitingResult]:
    data = H.build(spec)
    return data, solve(data, SiteParams(method="exact", time_limit_s=10))


def _one_county_uncovered() -> tuple[SitingData, SitingResult, dict[str, Any]]:
    # v0: 4 t/d in C0, 1 to T0; v1: 5 t/d in C1, no arc at all -> uncovered, penalty 50
    # per t/d. T0 (C0, fixed 25) hauls at 1 to I0 (C0, fixed 100). Serving v0 (133) beats
    # its penalty (200). Cost = 25 + 100 + 4 + 4 + 50 * 5 = 383.
    data, res = _solve(H.Spec(
        demand=[4.0, 5.0], village_county=[0, 1],
        transfer=[H.Site(0, [(20.0, 25.0)])], incinerator=[H.Site(0, [(50.0, 100.0)])],
        collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)], penalty=50.0))
    assert res.total_cost == pytest.approx(383.0)
    return data, res, kpis(data, res)


def test_penalty_is_not_a_county_cost() -> None:
    """A county whose only village is left uncovered receives nothing and is allocated
    no cost: the penalty 250 is reported as uncovered_penalty_yuan_per_year, not charged
    to county C1 or its prefecture."""
    _, res, k = _one_county_uncovered()
    by_county = k["cost_by_county"]
    assert by_county["C1"]["t_per_day"] == 0.0
    assert by_county["C1"]["cost_yuan_per_year"] == pytest.approx(0.0)
    assert by_county["C0"]["cost_yuan_per_year"] == pytest.approx(133.0)
    assert k["cost_by_prefecture"]["P1"]["cost_yuan_per_year"] == pytest.approx(133.0)
    assert k["uncovered_penalty_yuan_per_year"] == pytest.approx(250.0)
    assert k["uncovered_penalty_yuan_per_year"] == pytest.approx(res.cost["uncovered_penalty"])


def test_cost_per_tonne_leaves_the_penalty_out() -> None:
    """The top-level cost per tonne is (total - penalty) / (covered t/d x 365) =
    133 / (4 x 365), and C0's is its allocated 133 over its 4 t/d."""
    _, _, k = _one_county_uncovered()
    assert k["cost_per_tonne_yuan"] == pytest.approx(133.0 / (4 * 365))
    assert k["cost_by_county"]["C0"]["cost_per_tonne_yuan"] == pytest.approx(
        133.0 / (4 * 365))


def test_allocated_plus_unallocated_plus_penalty_is_the_total() -> None:
    """The documented identity: county costs + unallocated + uncovered penalty = total."""
    _, res, k = _one_county_uncovered()
    counties = sum(r["cost_yuan_per_year"] for r in k["cost_by_county"].values())
    assert (counties + k["unallocated_cost_yuan_per_year"]
            + k["uncovered_penalty_yuan_per_year"]) == pytest.approx(res.total_cost)


def test_partly_covered_village_pays_penalty_on_its_uncovered_share() -> None:
    """Split sourcing: 6 of V0's 10 t/d are served, 4 are not (penalty 100 per t/d). The
    KPI penalty is 400 (not 1000 on the whole demand) and the gap anatomy's relaxed flow
    is 10 x 2 x 0.6 + 400 = 412, so station_paths is 0 and every part is >= 0."""
    data, res = _solve(H.Spec(
        demand=[10.0], village_county=[0], transfer=[H.Site(0, [(6.0, 1.0)])],
        incinerator=[H.Site(0, [(6.0, 1.0)])], collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)],
        single_source=False, penalty=100.0))
    assert res.total_cost == pytest.approx(414.0)
    k: dict[str, Any] = kpis(data, res)
    assert k["uncovered_penalty_yuan_per_year"] == pytest.approx(400.0)
    assert k["cost_per_tonne_yuan"] == pytest.approx(14.0 / (6 * 365))
    a = gap_anatomy(compile_model(data), res, transfer_bound=1.0, plant_bound=1.0)
    assert a.relaxed_flow == pytest.approx(412.0)
    assert a.station_paths == pytest.approx(0.0, abs=1e-9)
    assert min(a.station_fixed, a.station_paths, a.plants) >= -1e-9
    assert a.total == pytest.approx(res.total_cost - 2.0)


def _existing_used(existing_cost: float) -> int:
    """existing_facilities_used when the existing station T1's collection arc costs
    ``existing_cost`` (T0: arc 1, fixed 25)."""
    data, res = _solve(H.Spec(
        demand=[4.0], village_county=[0],
        transfer=[H.Site(0, [(20.0, 25.0)]),
                  H.Site(0, [], status=SiteStatus.EXISTING, existing=10.0)],
        incinerator=[H.Site(0, [(50.0, 100.0)])],
        collect=[(0, 0, 1.0), (0, 1, existing_cost)], haul=[(0, 0, 1.0), (1, 0, 1.0)]))
    assert int(res.transfer_size[1]) == -2
    return int(kpis(data, res)["existing_facilities_used"])  # type: ignore[call-overload]


def test_existing_facilities_used_counts_only_those_with_inflow() -> None:
    """An existing station (T1) that the result leaves empty (its collection arc costs
    100 against T0's 1 + fixed 25) is not 'used'; when it is the cheapest (0.5) and
    receives the village, it is."""
    assert _existing_used(100.0) == 0
    assert _existing_used(0.5) == 1
