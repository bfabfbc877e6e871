"""Defects a fuzz audit of the siting engine reproduced, each on a tiny hand-checkable
instance with its optimum worked out by hand in the docstring.

Every result returned goes through the independent checker
(:func:`wastenet.siting.checker.check`), and a result called ``optimal`` must cost the
optimum. The paths are the exact MIP, the decomposition and ``auto``.

1. count targets: the greedy construction could not open a station without a haul arc to
   an open plant to meet an ``eq`` target, and the decomposition (and the exact path's
   heuristic fallback) returned the construction unchecked, labelled ``optimal`` below
   the true optimum;
2. no new plant option or no path arc: the split bound crashed (``np.split`` of nothing);
3. no plant open in the best solution: the interchange crashed on an empty open set (and
   on a transfer count target in a one-echelon model);
4. villages without demand were left uncovered by the heuristics (the model covers them);
5. infeasibility caused by a count target was blamed on single sourcing.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest
import siting_helpers as _h

from wastenet.errors import InfeasibleError
from wastenet.siting import heuristics, relax
from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SiteStatus, SitingData
from wastenet.siting.model import compile_model
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import SiteParams, solve
from wastenet.siting.splitbound import split_bound

Site, Spec, build = _h.Site, _h.Spec, _h.build

Method = Literal["auto", "exact", "decomposition"]
METHODS: tuple[Method, ...] = ("exact", "decomposition", "auto")


def _checked(data: SitingData, params: SiteParams) -> SitingResult:
    """Solve and pass the result through the independent checker."""
    res = solve(data, params)
    rep = check(data, res)
    assert rep.ok, (params.method, rep.violations)
    assert res.total_cost == pytest.approx(rep.total_cost, rel=1e-9, abs=1e-9)
    assert res.lower_bound <= res.total_cost + 1e-9
    return res


def _optimum(data: SitingData, method: Method, want: float) -> SitingResult:
    """Solve by ``method``: checked, at the optimum ``want``, with a bound below it."""
    res = _checked(data, SiteParams(time_limit_s=30, method=method))
    assert res.total_cost == pytest.approx(want, rel=1e-9, abs=1e-9), method
    assert res.lower_bound <= want * (1 + 1e-9) + 1e-9
    if method == "exact":
        assert res.status == "optimal"
    return res


# ---------------------------------------------------------------- 1. count targets
def _two_stations_eq_2() -> SitingData:
    """One village of 5 t/d; stations T0, T1 (10 t/d for 10) with collect arcs of cost 1;
    T0 hauls only to I0, T1 only to I1 (plants of 20 t/d for 10, haul cost 1); exactly 2
    new stations. One plant suffices: 10 + 10 (stations) + 10 (plant) + 5 (collection) +
    5 (haul) = 40, one station open without flow. Without the target: 30."""
    return build(Spec(
        demand=[5.0], village_county=[0],
        transfer=[Site(0, [(10.0, 10.0)]), Site(0, [(10.0, 10.0)])],
        incinerator=[Site(0, [(20.0, 10.0)]), Site(0, [(20.0, 10.0)])],
        collect=[(0, 0, 1.0), (0, 1, 1.0)], haul=[(0, 0, 1.0), (1, 1, 1.0)],
        counts=(CountTarget("transfer", 2, "eq"),)))


@pytest.mark.parametrize("method", METHODS)
def test_count_target_met_by_a_station_without_flow(method: Method) -> None:
    """Every path opens both stations (the eq 2 target) at the optimum 40; the
    decomposition used to return 30 "optimal" with T1 closed."""
    res = _optimum(_two_stations_eq_2(), method, 40.0)
    assert res.transfer_size.tolist() == [0, 0]


def test_construction_meets_the_count_target() -> None:
    """The root: the greedy construction opens the cheapest eligible station, empty, when
    the stations with a haul arc to an open plant are too few for an eq target."""
    data = _two_stations_eq_2()
    res = heuristics.construct(data, compile_model(data))
    assert res is not None
    assert check(data, res).ok, check(data, res).violations
    assert res.transfer_size.tolist() == [0, 0]
    assert res.total_cost == pytest.approx(40.0)


def test_exact_under_a_tiny_limit_returns_no_invalid_heuristic() -> None:
    """With 1 ms the exact MIP finds nothing; what comes back (the greedy start or the
    decomposition fallback) satisfies the checker and costs at least the optimum 40."""
    data = _two_stations_eq_2()
    res = _checked(data, SiteParams(time_limit_s=0.001, method="exact"))
    assert res.total_cost >= 40.0 - 1e-9
    if res.status == "optimal":
        assert res.total_cost == pytest.approx(40.0)


@pytest.mark.parametrize("params", [SiteParams(time_limit_s=30, method="decomposition"),
                                    SiteParams(time_limit_s=30, method="exact"),
                                    SiteParams(time_limit_s=0.001, method="exact")],
                         ids=["decomposition", "exact", "exact-1ms"])
def test_an_invalid_construction_never_becomes_the_result(
        monkeypatch: pytest.MonkeyPatch, params: SiteParams) -> None:
    """Even if the construction ignores the count target (as it did: the 30 solution with
    one station), no path keeps it: each incumbent is checked before it is accepted, so
    the result satisfies the checker and, when called optimal, costs 40."""
    data = _two_stations_eq_2()
    loose = dataclasses.replace(data, counts=())
    real = heuristics.construct

    def blind(d: SitingData, m: object, *args: object) -> SitingResult | None:
        return real(loose, compile_model(loose), *args)  # type: ignore[arg-type]

    bad = blind(data, compile_model(data))
    assert bad is not None and bad.total_cost == pytest.approx(30.0)
    assert not check(data, bad).ok
    monkeypatch.setattr(heuristics, "construct", blind)
    monkeypatch.setattr(relax, "construct", blind)
    res = _checked(data, params)
    assert res.total_cost >= 40.0 - 1e-9
    if res.status == "optimal":
        assert res.total_cost == pytest.approx(40.0)


def test_an_invalid_local_search_result_is_not_returned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the local search return a solution that breaks the target (here: the 30
    one), the decomposition checks its final result and returns the checked incumbent
    (40) instead, saying so in its log."""
    data = _two_stations_eq_2()
    loose = dataclasses.replace(data, counts=())

    def broken(d: SitingData, m: object, res: SitingResult, **kw: object) -> SitingResult:
        out = heuristics.construct(loose, compile_model(loose))
        assert out is not None
        return out

    monkeypatch.setattr(relax, "improve", broken)
    res = _checked(data, SiteParams(time_limit_s=30, method="decomposition"))
    assert res.total_cost == pytest.approx(40.0)
    assert any("rejected by the checker" in line for line in res.log)


# --------------------------------------------------- 2. no new plant, no path arcs
def _existing_plant_only() -> SitingData:
    """One village of 1 t/d, one new station (10 t/d for 5), one existing plant of 10 t/d
    (no new plant option): 5 + 1 (collection) + 1 (haul) = 7."""
    return build(Spec(demand=[1.0], village_county=[0], transfer=[Site(0, [(10.0, 5.0)])],
                      incinerator=[Site(0, [], SiteStatus.EXISTING, existing=10.0)],
                      collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)]))


def _no_arcs() -> SitingData:
    """One village of 1 t/d without any arc, penalty 5 a tonne: uncovered, 5."""
    return build(Spec(demand=[1.0], village_county=[0], transfer=[],
                      incinerator=[Site(0, [(10.0, 30.0)])], penalty=5.0))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("make", "want"), [(_existing_plant_only, 7.0), (_no_arcs, 5.0)],
                         ids=["existing-plant-only", "no-arcs"])
def test_no_new_plant_or_no_path_arcs(make: object, want: float, method: Method) -> None:
    """The decomposition used to raise ValueError in the split bound (``zip`` of the one
    group ``np.split`` makes of nothing against no site)."""
    _optimum(make(), method, want)  # type: ignore[operator]


@pytest.mark.parametrize(("make", "want"), [(_existing_plant_only, 7.0), (_no_arcs, 5.0)],
                         ids=["existing-plant-only", "no-arcs"])
def test_split_bound_without_plant_options_or_paths(make: object, want: float) -> None:
    """The split bound itself: a finite valid bound (at most the optimum)."""
    b = split_bound(compile_model(make()))  # type: ignore[operator]
    assert b.value == b.value and b.value > float("-inf")
    assert b.value <= want + 1e-9


# ------------------------------------------------------------- 3. no plant open
def _penalty_cheapest(demand: float, penalty: float | None) -> SitingData:
    """One village, a direct arc (cost 1) to the only plant (10 t/d for 30)."""
    return build(Spec(demand=[demand], village_county=[0], transfer=[],
                      incinerator=[Site(0, [(10.0, 30.0)])], direct=[(0, 0, 1.0)],
                      penalty=penalty))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("demand", "penalty", "want"), [
    (1.0, 1.0, 1.0),    # uncovered at 1 x 1 beats the plant (30 + 1)
    (0.0, 3.0, 0.0),    # no demand, skippable: uncovered at 0, no plant
    (0.0, None, 30.0),  # no demand, no penalty: covered, so the plant opens
], ids=["penalty", "no-demand-skippable", "no-demand-covered"])
def test_best_solution_opens_no_plant(method: Method, demand: float, penalty: float | None,
                                      want: float) -> None:
    """The decomposition used to raise IndexError in the interchange (no open plant)."""
    res = _optimum(_penalty_cheapest(demand, penalty), method, want)
    if want < 30.0:
        assert res.incinerator_size.tolist() == [-1]


def test_interchange_with_nothing_open() -> None:
    """The interchange itself, from a solution with no plant open (village uncovered)."""
    data = _penalty_cheapest(1.0, 1.0)
    model = compile_model(data)
    res = solve(data, SiteParams(time_limit_s=30, method="exact"))
    assert res.incinerator_size.tolist() == [-1]
    out = heuristics.interchange(data, model, res)
    assert check(data, out).ok
    assert out.total_cost == pytest.approx(1.0)


@pytest.mark.parametrize("method", METHODS)
def test_transfer_count_target_in_a_one_echelon_model(method: Method) -> None:
    """A transfer target (le 0, no stations) on a plants-only model: villages of 1 and
    2 t/d, I0 (30, direct cost 1) or I1 (20, direct cost 5): 30 + 3 = 33 against 35. The
    interchange used to index the transfer target's mask by plant sites (IndexError)."""
    data = build(Spec(demand=[1.0, 2.0], village_county=[0, 0], transfer=[],
                      incinerator=[Site(0, [(10.0, 30.0)]), Site(0, [(10.0, 20.0)])],
                      direct=[(0, 0, 1.0), (1, 0, 1.0), (0, 1, 5.0), (1, 1, 5.0)],
                      counts=(CountTarget("transfer", 0, "le"),)))
    _optimum(data, method, 33.0)


# ------------------------------------------------------- 4. villages without demand
def _zero_demand(penalty: float | None = None, must: bool = False) -> SitingData:
    """V0 (0 t/d) reaches only T1, V1 (1 t/d) only T0; stations 10 t/d for 5, both
    hauling (cost 1) to the one plant (10 t/d for 30). Covering V0 opens T1:
    5 + 5 + 30 + 1 + 1 = 42; when V0 may be skipped (a penalty, not must-cover) it stays
    uncovered at no cost: 37."""
    return build(Spec(demand=[0.0, 1.0], village_county=[0, 0],
                      transfer=[Site(0, [(10.0, 5.0)]), Site(0, [(10.0, 5.0)])],
                      incinerator=[Site(0, [(10.0, 30.0)])],
                      collect=[(0, 1, 1.0), (1, 0, 1.0)], haul=[(0, 0, 1.0), (1, 0, 1.0)],
                      penalty=penalty, must_cover=[must, False]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("penalty", "must", "want"), [
    (None, False, 42.0), (100.0, True, 42.0), (100.0, False, 37.0)],
    ids=["no-penalty", "must-cover", "skippable"])
def test_zero_demand_village_is_covered(method: Method, penalty: float | None, must: bool,
                                        want: float) -> None:
    """The decomposition used to leave V0 without a flow row and call 37 optimal."""
    res = _optimum(_zero_demand(penalty, must), method, want)
    if want == 42.0:
        assert 0 in res.flow_village.tolist()
        assert res.uncovered.tolist() == []


def _lone_empty_village() -> SitingData:
    """A lone village without demand and its one station (10 t/d for 5), which hauls to a
    plant of 30: the station opens (5), no plant (no flow to haul)."""
    return build(Spec(demand=[0.0], village_county=[0], transfer=[Site(0, [(10.0, 5.0)])],
                      incinerator=[Site(0, [(10.0, 30.0)])], collect=[(0, 0, 1.0)],
                      haul=[(0, 0, 1.0)]))


@pytest.mark.parametrize(("make", "want"), [(_zero_demand, 42.0), (_lone_empty_village, 5.0)],
                         ids=["two-stations", "lone-station"])
def test_construction_covers_zero_demand_villages(make: object, want: float) -> None:
    """The root: the construction opens the cheapest site reaching a village without
    demand (T1 for V0; the lone station, without a plant) and gives it its arc."""
    data = make()  # type: ignore[operator]
    res = heuristics.construct(data, compile_model(data))
    assert res is not None
    assert check(data, res).ok, check(data, res).violations
    assert 0 in res.flow_village.tolist()
    assert res.total_cost == pytest.approx(want)


@pytest.mark.parametrize("method", METHODS)
def test_zero_demand_village_opens_an_empty_station(method: Method) -> None:
    """The lone village of :func:`_lone_empty_village` on every path: 5, no plant."""
    res = _optimum(_lone_empty_village(), method, 5.0)
    assert res.transfer_size.tolist() == [0]
    assert res.incinerator_size.tolist() == [-1]


# ------------------------------------------------------------- 5. diagnose
def _closed_counties(single_source: bool, extra: tuple[CountTarget, ...] = ()) -> SitingData:
    """Two villages (1 t/d) in two counties, each reaching only its own station and plant
    (no sharing); exactly one plant: infeasible whatever the sourcing, because of the
    count target (without it: two plants, feasible)."""
    return build(Spec(demand=[1.0, 1.0], village_county=[0, 1],
                      transfer=[Site(0, [(10.0, 1.0)]), Site(1, [(10.0, 1.0)])],
                      incinerator=[Site(0, [(100.0, 10.0)]), Site(1, [(100.0, 10.0)])],
                      collect=[(0, 0, 1.0), (1, 1, 1.0)], haul=[(0, 0, 1.0), (1, 1, 1.0)],
                      counts=(CountTarget("incinerator", 1, "eq"), *extra),
                      single_source=single_source))


@pytest.mark.parametrize("method", ["exact", "decomposition", "auto"])
@pytest.mark.parametrize("single_source", [True, False])
def test_infeasible_count_target_is_named_not_single_sourcing(method: Method,
                                                              single_source: bool) -> None:
    """The error names the count target; it used to blame single sourcing and claim that
    a split assignment would fit."""
    with pytest.raises(InfeasibleError) as err:
        solve(_closed_counties(single_source), SiteParams(time_limit_s=30, method=method))
    text = str(err.value)
    assert "count target incinerator eq 1 in province" in text
    assert "split assignment would fit" not in text
    assert "single-source assignment is infeasible" not in text


def test_only_the_guilty_count_target_is_named() -> None:
    """With a second, harmless target (at most 2 stations), only the plant target is
    named: dropping it alone makes the model feasible, dropping the other does not."""
    data = _closed_counties(True, (CountTarget("transfer", 2, "le"),))
    with pytest.raises(InfeasibleError) as err:
        solve(data, SiteParams(time_limit_s=30, method="exact"))
    assert "count target incinerator eq 1 in province" in str(err.value)
    assert "transfer le 2" not in str(err.value)


def test_single_sourcing_still_named_when_a_split_fits() -> None:
    """A village of 9 t/d and two stations of 6 t/d: whole it fits nowhere, split 6 + 3 it
    does; the split-assignment MIP proves it, so single sourcing is named."""
    data = build(Spec(demand=[9.0], village_county=[0],
                      transfer=[Site(0, [(6.0, 5.0)]), Site(0, [(6.0, 5.0)])],
                      incinerator=[Site(0, [(50.0, 0.0)])],
                      collect=[(0, 0, 1.0), (0, 1, 2.0)], haul=[(0, 0, 0.0), (1, 0, 0.0)]))
    with pytest.raises(InfeasibleError, match=r"single-source assignment is infeasible.*"
                                              r"a split assignment would fit"):
        solve(data, SiteParams(time_limit_s=30, method="exact"))
