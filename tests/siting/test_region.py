"""Re-optimisation of both echelons inside a closed region (wastenet.siting.region)."""

from __future__ import annotations

import numpy as np
import pytest
from siting_helpers import Site, Spec, brute_force, build, spy_time_limits

from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SiteStatus, SitingData
from wastenet.siting.model import CompiledModel, compile_model
from wastenet.siting.region import (
    _objective,
    closed_region,
    region_counts,
    reoptimise_counties,
    solve_region,
    submodel,
)
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import SiteParams, hint_from_result, solve
from wastenet.siting.synthetic import synthetic_province

EXACT = SiteParams(time_limit_s=30, method="exact")


def _spec(t1_status: int = SiteStatus.FREE, shared: bool = False) -> Spec:
    """County 0: villages 0 and 1 (10 t/d each), stations T0 (1 from village 0, 4 from
    village 1) and T1 (1 from both); county 1: village 2 (10 t/d) and station T2. One plant
    per county (50 each). Exactly 2 stations and 2 plants, so county 0 gets one station.

    Optimum: T1 and T2, collection 10 + 10 + 10, haul 20 + 10, stations 2, plants 100:
    162. With T1 excluded the best is T0: collection 10 + 40 + 10, so 192. With ``shared``
    village 2 may also go to T1 (cost 1) and T2 is excluded, with exactly one station."""
    return Spec(
        demand=[10.0, 10.0, 10.0], village_county=[0, 0, 1],
        transfer=[Site(0, [(30.0, 1.0)]), Site(0, [(30.0, 1.0)], status=t1_status),
                  Site(1, [(30.0, 1.0)],
                       status=SiteStatus.EXCLUDED if shared else SiteStatus.FREE)],
        incinerator=[Site(0, [(30.0, 50.0)]), Site(1, [(10.0, 50.0)])],
        collect=[(0, 0, 1.0), (1, 0, 4.0), (0, 1, 1.0), (1, 1, 1.0), (2, 2, 1.0)]
        + ([(2, 1, 1.0)] if shared else []),
        haul=[(0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0)],
        counts=(CountTarget("transfer", 1 if shared else 2, "eq"),
                CountTarget("incinerator", 1 if shared else 2, "eq")),
    )


def _poor() -> tuple[SitingData, SitingResult]:
    """The instance above and its best solution with T1 excluded (192)."""
    data = build(_spec())
    poor = solve(build(_spec(SiteStatus.EXCLUDED)), EXACT)
    assert poor.total_cost == pytest.approx(192.0)
    assert check(data, poor).ok
    return data, poor


def test_instance_optimum_by_brute_force() -> None:
    """The hand-computed optimum of the instance is 162."""
    assert brute_force(build(_spec())) == pytest.approx(162.0)


def test_county_reoptimisation_moves_a_station() -> None:
    """Re-solving county 0 on its own moves its one station from T0 to T1 (192 -> 162, the
    optimum); the plant step alone cannot, as it keeps the stations."""
    data, poor = _poor()
    out = reoptimise_counties(data, compile_model(data), poor, deadline=float("inf"))
    assert out.total_cost == pytest.approx(162.0)
    assert out.transfer_size.tolist() == [-1, 0, 0]
    assert check(data, out).ok


def test_region_objective_is_the_regional_part_of_the_cost() -> None:
    """With every county closed, the regional objectives at the incumbent's values sum to
    its total cost (the separability the join relies on)."""
    data, poor = _poor()
    model = compile_model(data)
    hint = hint_from_result(model, poor)
    total = 0.0
    for c in (0, 1):
        reg = closed_region(data, model, poor, np.array([c]))
        assert reg is not None
        sub = submodel(model, *reg, region_counts(model, poor, reg[1], reg[2]))
        total += _objective(sub.model, sub.restrict(hint))
    assert total == pytest.approx(poor.total_cost)


def test_region_counts_keep_the_incumbents_numbers() -> None:
    """Each count target becomes an equality at the incumbent's number of new sites in
    the region, plus the shift asked for."""
    data, poor = _poor()
    model = compile_model(data)
    reg = closed_region(data, model, poor, np.array([0]))
    assert reg is not None
    counts = region_counts(model, poor, reg[1], reg[2], {"incinerator": 1})
    assert [(e, s, v) for e, s, v, _, _ in counts] == [("transfer", "eq", 1),
                                                      ("incinerator", "eq", 2)]
    assert counts[0][3].tolist() == [True, True, False]


def test_region_not_closed_is_left_alone() -> None:
    """When a flow crosses the region's border (village 2 of county 1 collected to T1 of
    county 0), the region is not re-solved and the incumbent comes back unchanged."""
    data = build(_spec(shared=True))
    model = compile_model(data)
    res = solve(data, EXACT)
    assert res.transfer_size.tolist() == [-1, 0, -1]
    assert closed_region(data, model, res, np.array([0])) is None
    out = solve_region(data, model, res, hint_from_result(model, res), np.array([1]),
                       time_limit_s=10)
    assert out.status == "not closed" and out.delta == float("inf")
    assert reoptimise_counties(data, model, res, deadline=float("inf")) is res


def _province() -> SitingData:
    """A seeded synthetic province without sharing: 120 villages in four counties."""
    return synthetic_province(120, 24, 8, n_counties=4, n_prefectures=1, seed=5,
                              policy="none", k_collect=6, transfer_target=8,
                              incinerator_target=4, width_km=60, height_km=40)


@pytest.mark.parametrize("workers", [1, 2])
def test_county_reoptimisation_keeps_counts_and_never_worsens(workers: int) -> None:
    """On a synthetic province without sharing, from the greedy construction: the result
    is feasible, cheaper (stations move), keeps each county's numbers of new stations and plants, and
    does not depend on the number of workers (node-limited MIPs)."""
    from wastenet.siting.heuristics import construct

    data = _province()
    model = compile_model(data)
    start = construct(data, model)
    assert start is not None
    out = reoptimise_counties(data, model, start, deadline=float("inf"), workers=workers,
                              node_limit=2000, backend="HIGHS")
    ref = reoptimise_counties(data, model, start, deadline=float("inf"), workers=1,
                              node_limit=2000, backend="HIGHS")
    assert check(data, out).ok
    assert out.total_cost < start.total_cost
    assert np.any(out.transfer_size != start.transfer_size)
    assert out.total_cost == ref.total_cost
    assert np.array_equal(out.transfer_size, ref.transfer_size)
    for a, b, county in ((out.transfer_size, start.transfer_size, data.transfer.county),
                         (out.incinerator_size, start.incinerator_size,
                          data.incinerator.county)):
        for c in range(4):
            assert np.sum((a >= 0) & (county == c)) == np.sum((b >= 0) & (county == c))


def _no_station_spec(t0_status: int = SiteStatus.FREE) -> Spec:
    """County 0: village 0 (10 t/d), 10 per tonne directly to its plant, or 1 to station
    T0 and 1 on to the plant. County 1: villages 1 and 2 (10 t/d each), stations T1 and
    T2, each 1 from both villages and 1 from the plant. One plant per county (50 each),
    exactly 2 stations and 2 plants.

    Optimum: T0 and one of T1, T2: stations 2, plants 100, county 0 10 + 10, county 1
    20 + 20: 162. With T0 excluded, T1 and T2 open and village 0 goes directly: 242."""
    return Spec(
        demand=[10.0, 10.0, 10.0], village_county=[0, 1, 1],
        transfer=[Site(0, [(30.0, 1.0)], status=t0_status), Site(1, [(30.0, 1.0)]),
                  Site(1, [(30.0, 1.0)])],
        incinerator=[Site(0, [(10.0, 50.0)]), Site(1, [(20.0, 50.0)])],
        collect=[(0, 0, 1.0), (1, 1, 1.0), (2, 1, 1.0), (1, 2, 1.0), (2, 2, 1.0)],
        direct=[(0, 0, 10.0)],
        haul=[(0, 0, 1.0), (1, 1, 1.0), (2, 1, 1.0)],
        counts=(CountTarget("transfer", 2, "eq"), CountTarget("incinerator", 2, "eq")),
    )


def _stuck(spec: Spec, poor_spec: Spec, optimum: float, poor_cost: float
           ) -> tuple[SitingData, CompiledModel, SitingResult]:
    """``(data, model, poor)``: the instance of ``spec`` (whose optimum, by brute force,
    is ``optimum``) and the exact optimum of ``poor_spec`` (``poor_cost``), a feasible
    solution of it that re-solving each county at its own numbers of sites cannot
    improve."""
    data = build(spec)
    assert brute_force(data) == pytest.approx(optimum)
    poor = solve(build(poor_spec), EXACT)
    assert poor.total_cost == pytest.approx(poor_cost) and check(data, poor).ok
    model = compile_model(data)
    assert reoptimise_counties(data, model, poor, deadline=float("inf")).total_cost \
        == pytest.approx(poor_cost)
    return data, model, poor


def test_station_moves_to_a_county_without_one() -> None:
    """County 0 has no station in the incumbent (242); one station moves there from
    county 1, where the second station saves nothing: the optimum, 162. The station
    counts per county change, the province's does not; re-solving each county at its
    own numbers cannot find this."""
    from wastenet.siting.countybound import county_bound
    from wastenet.siting.region import move_sites

    data, model, poor = _stuck(_no_station_spec(), _no_station_spec(SiteStatus.EXCLUDED),
                               162.0, 242.0)
    table = county_bound(data, model).by_county()
    out = move_sites(data, model, poor, table, deadline=float("inf"))
    assert out.total_cost == pytest.approx(162.0) and check(data, out).ok
    assert out.transfer_size[0] == 0 and int(np.sum(out.transfer_size >= 0)) == 2


def test_station_moves_keep_an_optimal_solution() -> None:
    """From the optimum nothing moves (every pair of shifts costs more or the same)."""
    from wastenet.siting.countybound import county_bound
    from wastenet.siting.region import move_sites

    data = build(_no_station_spec())
    model = compile_model(data)
    best = solve(data, EXACT)
    table = county_bound(data, model).by_county()
    out = move_sites(data, model, best, table, deadline=float("inf"))
    assert out is best


def test_spare_site_opens_the_cheapest_closed_site() -> None:
    """One station more without a MIP: the cheapest closed site of the county opens and
    nothing is sent to it; joined, the result is feasible and dearer by that fixed cost,
    with one station more in the county."""
    from wastenet.siting.heuristics import construct
    from wastenet.siting.region import join, spare_site

    data = _province()
    model = compile_model(data)
    start = construct(data, model)
    assert start is not None
    hint = hint_from_result(model, start)
    out = spare_site(data, model, start, hint, np.array([2]))
    closed = (start.transfer_size < 0) & (data.transfer.county == 2) & model.transfer.usable
    fixed = data.transfer.size_fixed_cost[closed, 0]
    assert out.delta == pytest.approx(float(fixed.min()))
    joined = join(data, model, start, hint, [out])
    assert joined.total_cost == pytest.approx(start.total_cost + out.delta)
    in_2 = data.transfer.county == 2
    assert np.sum((joined.transfer_size >= 0) & in_2) == np.sum((start.transfer_size >= 0)
                                                                 & in_2) + 1


@pytest.mark.slow
def test_decomposition_moves_stations_and_reoptimises_counties() -> None:
    """Without sharing the scalable path runs the plant and station moves and the county
    re-optimisation after the count reallocation (work-limited, so repeatable), and the
    checker accepts what it returns."""
    data = _province()
    params = SiteParams(time_limit_s=None, method="decomposition", max_iterations=5)
    res = solve(data, params)
    assert any(line.startswith("plant moves: ") for line in res.log)
    assert any(line.startswith("station moves: ") for line in res.log)
    assert any(line.startswith("county re-optimisation (both echelons): ") for line in res.log)
    assert check(data, res).ok
    again = solve(data, params)
    assert again.total_cost == res.total_cost


def test_a_village_without_waste_stays_covered() -> None:
    """A village with no waste in county 0 (arcs to T0 and T1) is part of the region: when
    the station moves from T0 to T1 it moves along, so the result stays feasible (every
    village must be covered) and reaches the optimum, 162."""
    def with_empty_village(spec: Spec) -> SitingData:
        spec.demand.append(0.0)
        spec.village_county.append(0)
        spec.collect += [(3, 0, 1.0), (3, 1, 1.0)]
        return build(spec)

    data = with_empty_village(_spec())
    poor = solve(with_empty_village(_spec(SiteStatus.EXCLUDED)), EXACT)
    assert poor.total_cost == pytest.approx(192.0)
    out = reoptimise_counties(data, compile_model(data), poor, deadline=float("inf"))
    assert out.total_cost == pytest.approx(162.0)
    assert check(data, out).ok


def test_station_moves_need_one_province_wide_station_target() -> None:
    """With the station count set per prefecture (county 0 in P1, county 1 in P2), a
    station may not move from one county to the other: nothing moves."""
    from wastenet.siting.region import move_sites

    spec = _no_station_spec()
    spec.county_prefecture = ("P1", "P2")
    spec.counts = (CountTarget("transfer", 0, "eq", prefecture="P1"),
                   CountTarget("transfer", 2, "eq", prefecture="P2"),
                   CountTarget("incinerator", 2, "eq"))
    data = build(spec)
    model = compile_model(data)
    poor = solve(build(_no_station_spec(SiteStatus.EXCLUDED)), EXACT)
    assert check(data, poor).ok
    table = {0: np.array([np.inf, 70.0]), 1: np.array([np.inf, 90.0])}
    assert move_sites(data, model, poor, table, deadline=float("inf")) is poor


def test_station_moves_stop_after_max_rounds() -> None:
    """``max_rounds=0`` does no round (the incumbent comes back); one round is enough for
    the hand instance's optimum."""
    from wastenet.siting.countybound import county_bound
    from wastenet.siting.region import move_sites

    data = build(_no_station_spec())
    model = compile_model(data)
    poor = solve(build(_no_station_spec(SiteStatus.EXCLUDED)), EXACT)
    table = county_bound(data, model).by_county()
    assert move_sites(data, model, poor, table, deadline=float("inf"),
                         max_rounds=0) is poor
    one = move_sites(data, model, poor, table, deadline=float("inf"), max_rounds=1)
    assert one.total_cost == pytest.approx(162.0)


def _plant_spec(county_0_status: int = SiteStatus.FREE) -> Spec:
    """No stations; direct delivery only. County 0: village 0 (10 t/d), plants K0 and K1
    (cost 1 each). County 1: villages 1 and 2 (10 t/d each), plants K2 (1 from village 1,
    10 from village 2) and K3 (the other way round). Plants 30 t/d at 50; exactly three.

    Optimum: K0, K2, K3 (or K1 for K0): 150 + 10 + 10 + 10 = 180. With K0 and K1 forced
    open the best is K0, K1, K2 (or K3): 150 + 10 + 10 + 100 = 270."""
    big = [(30.0, 50.0)]
    return Spec(
        demand=[10.0, 10.0, 10.0], village_county=[0, 1, 1], transfer=[],
        incinerator=[Site(0, big, status=county_0_status),
                     Site(0, big, status=county_0_status), Site(1, big), Site(1, big)],
        direct=[(0, 0, 1.0), (0, 1, 1.0), (1, 2, 1.0), (1, 3, 10.0), (2, 3, 1.0),
                (2, 2, 10.0)],
        county_prefecture=("P1", "P1"),
        counts=(CountTarget("incinerator", 3, "eq"),),
    )


def test_plant_moves_between_counties() -> None:
    """The incumbent has two plants in county 0 (270); the county bound's program gives
    county 0 one plant and county 1 two, and one plant moves: the optimum, 180.
    Re-solving each county at its own number of plants cannot find this."""
    from wastenet.siting.countybound import county_bound
    from wastenet.siting.region import move_sites

    data, model, poor = _stuck(_plant_spec(), _plant_spec(SiteStatus.FORCED), 180.0, 270.0)
    cb = county_bound(data, model)
    picks = dict(zip(cb.counties.tolist(), cb.picks.tolist(), strict=True))
    assert picks == {0: 1, 1: 2}
    out = move_sites(data, model, poor, cb.by_county(), deadline=float("inf"),
                     echelon="incinerator", picks=picks)
    assert out.total_cost == pytest.approx(180.0) and check(data, out).ok
    assert list(out.incinerator_size[2:] >= 0) == [True, True]
    assert int(np.sum(out.incinerator_size[:2] >= 0)) == 1


def test_partial_start_for_one_plant_fewer() -> None:
    """One plant fewer in county 0 of the incumbent above: the start closes the plant
    with the least inflow (the one that receives nothing), leaves the other open plant's
    size and every flow unknown. With plants more only the stations are known."""
    from wastenet.siting.region import _shifted_start

    data = build(_plant_spec())
    model = compile_model(data)
    poor = solve(build(_plant_spec(SiteStatus.FORCED)), EXACT)
    hint = hint_from_result(model, poor)
    reg = closed_region(data, model, poor, np.array([0]))
    assert reg is not None
    sub = submodel(model, *reg, region_counts(model, poor, reg[1], reg[2],
                                              {"incinerator": -1}))
    start = sub.restrict(hint)
    out = _shifted_start(sub.model, start, {"incinerator": -1})
    assert out is not None
    load = [float(np.sum(poor.flow_fraction[poor.flow_direct & (poor.flow_facility == k)]))
            for k in (0, 1)]
    idle, used = (0, 1) if load[0] < load[1] else (1, 0)
    opt_site = sub.model.incinerator.opt_site
    assert np.all(out.z[opt_site == int(np.flatnonzero(sub.inc_sites == idle)[0])] == 0.0)
    assert np.all(np.isnan(out.z[opt_site == int(np.flatnonzero(sub.inc_sites == used)[0])]))
    assert np.all(np.isnan(out.d))
    more = _shifted_start(sub.model, start, {"incinerator": 1})
    assert more is not None and np.all(np.isnan(more.z)) and np.array_equal(more.y, start.y)


@pytest.mark.parametrize("node_limit,expected", [(2000, None), (None, 7.0)])
def test_a_node_limit_is_not_cut_short_by_the_clock(
        monkeypatch: pytest.MonkeyPatch, node_limit: int | None, expected: float | None
) -> None:
    """With a node limit (the deterministic work limit of repeatable runs) a county's MIP
    gets no time limit, so a loaded machine cannot change a work-limited result (the
    scalable path's determinism test once failed on this under load: the MIP needed 8 s
    of its 10 s); without one it gets the time limit given. Either way county 0 reaches
    its optimum (192 -> 162)."""
    import wastenet.siting.region as mod

    seen = spy_time_limits(monkeypatch, mod)
    data, poor = _poor()
    model = compile_model(data)
    out = solve_region(data, model, poor, hint_from_result(model, poor), np.array([0]),
                       time_limit_s=7.0, node_limit=node_limit, backend="HIGHS")
    assert seen == [expected]
    assert out.delta == pytest.approx(-30.0)
