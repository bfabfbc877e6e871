"""Solver tests on tiny hand-checkable instances with known (brute-forced) optima."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import siting_helpers as _h

from wastenet.errors import InfeasibleError, ValidationError
from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SiteStatus
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import SiteParams, SiteProgress, solve

Site, Spec, brute_force, build, random_spec = (_h.Site, _h.Spec, _h.brute_force, _h.build,
                                                _h.random_spec)

EXACT = SiteParams(time_limit_s=30, method="exact")
DECOMP = SiteParams(time_limit_s=30, method="decomposition")


def _solve_checked(spec: Any, params: SiteParams = EXACT) -> SitingResult:
    data = build(spec)
    res = solve(data, params)
    rep = check(data, res)
    assert rep.ok, rep.violations
    assert res.total_cost == pytest.approx(rep.total_cost, rel=1e-9)
    return res


# ------------------------------------------------------------------ sharing policies
# Counties: 0 and 1 adjacent in prefecture P1; 2 in P2 adjacent to 0; 3 in P1 not adjacent
# to 0; 4 in P2 not adjacent to 0.  A village in county 0 and the station/incinerator
# candidates in counties 0..4 with decreasing costs (0: 40, 1: 30, 2: 20, 3: 10, 4: 5).
PREF = ("P1", "P1", "P2", "P1", "P2")
ADJ = {(0, 1), (0, 2), (1, 0), (2, 0)}


def _allowed(policy: str, a: int, b: int) -> bool:
    return {"none": a == b, "adjacent": a == b or (a, b) in ADJ,
            "prefecture": PREF[a] == PREF[b], "free": True}[policy]


EXPECTED_COUNTY = {"none": 0, "adjacent": 2, "prefecture": 3, "free": 4}


@pytest.mark.parametrize("policy", ["none", "adjacent", "prefecture", "free"])
def test_sharing_policy_on_collect_arcs(policy: str) -> None:
    """The village uses the cheapest station its policy allows (one per county 0..4)."""
    cost = [40.0, 30.0, 20.0, 10.0, 5.0]
    spec = Spec(
        demand=[2.0], village_county=[0],
        transfer=[Site(c, [(10.0, 1.0)]) for c in range(5)],
        incinerator=[Site(0, [(10.0, 1.0)])],
        collect=[(0, c, cost[c]) for c in range(5) if _allowed(policy, 0, c)],
        haul=[(c, 0, 1.0) for c in range(5)],
        county_prefecture=PREF,
    )
    res = _solve_checked(spec)
    want = EXPECTED_COUNTY[policy]
    assert res.flow_facility.tolist() == [want]
    assert res.total_cost == pytest.approx(1 + 1 + 2 * cost[want] + 2 * 1.0)
    assert res.total_cost == pytest.approx(brute_force(build(spec)))


@pytest.mark.parametrize("policy", ["none", "adjacent", "prefecture", "free"])
def test_sharing_policy_on_haul_arcs(policy: str) -> None:
    """A station in county 0 hauls to the cheapest incinerator its policy allows."""
    cost = [40.0, 30.0, 20.0, 10.0, 5.0]
    spec = Spec(
        demand=[3.0], village_county=[0],
        transfer=[Site(0, [(10.0, 1.0)])],
        incinerator=[Site(c, [(10.0, 2.0)]) for c in range(5)],
        collect=[(0, 0, 1.0)],
        haul=[(0, c, cost[c]) for c in range(5) if _allowed(policy, 0, c)],
        county_prefecture=PREF,
    )
    res = _solve_checked(spec)
    want = EXPECTED_COUNTY[policy]
    assert res.haul_incinerator.tolist() == [want]
    assert res.total_cost == pytest.approx(1 + 2 + 3 * 1.0 + 3 * cost[want])


# ------------------------------------------------------------------ random vs brute force
CASES = [
    {},
    {"penalty": 12.0},
    {"counts": (CountTarget("transfer", 2, "eq"),)},
    {"counts": (CountTarget("transfer", 1, "le"), CountTarget("incinerator", 2, "ge"))},
    {"counts": (CountTarget("transfer", 1, "ge", prefecture="P1"),)},
    {"statuses": (SiteStatus.FORCED, SiteStatus.EXCLUDED)},
    {"statuses": (SiteStatus.EXISTING,)},
    {"direct": False},
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_matches_brute_force(case: int, seed: int) -> None:
    """Exact MIP cost = enumerated optimum; bound <= optimum; checker agrees."""
    spec = random_spec(seed, **CASES[case])  # type: ignore[arg-type]
    data = build(spec)
    opt = brute_force(data)
    if not np.isfinite(opt):
        with pytest.raises(InfeasibleError):
            solve(data, EXACT)
        return
    res = _solve_checked(spec)
    assert res.status == "optimal"
    assert res.total_cost == pytest.approx(opt, rel=1e-6)
    assert res.lower_bound <= opt * (1 + 1e-6)


@pytest.mark.parametrize("case", [0, 1, 2, 5, 6])
@pytest.mark.parametrize("seed", [4, 5])
def test_decomposition_is_feasible_with_valid_bound(case: int, seed: int) -> None:
    """The scalable path returns a checked solution, LB <= optimum <= UB."""
    spec = random_spec(seed, **CASES[case])  # type: ignore[arg-type]
    data = build(spec)
    opt = brute_force(data)
    if not np.isfinite(opt):
        with pytest.raises(InfeasibleError):
            solve(data, DECOMP)
        return
    res = _solve_checked(spec, DECOMP)
    assert res.lower_bound <= opt * (1 + 1e-6)
    assert res.total_cost >= opt * (1 - 1e-6)


# ------------------------------------------------------------------ hand-made features
def _two_village_spec(**kw: object) -> Any:
    base = dict(
        demand=[4.0, 5.0], village_county=[0, 1],
        transfer=[Site(0, [(6.0, 10.0), (20.0, 25.0)]), Site(1, [(6.0, 10.0)])],
        incinerator=[Site(0, [(50.0, 100.0)])],
        collect=[(0, 0, 1.0), (1, 0, 2.0), (1, 1, 1.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0)],
    )
    base.update(kw)
    return Spec(**base)  # type: ignore[arg-type]


def test_size_choice() -> None:
    """Two stations at the small size (10+10+4+5+9 haul) beat one large (25+4+10+9)."""
    res = _solve_checked(_two_village_spec())
    assert res.transfer_size.tolist() == [0, 0]
    assert res.total_cost == pytest.approx(100 + 20 + 4 + 5 + 9)


def test_count_target_forces_one_large_station() -> None:
    """With exactly one station, station 0 opens at its large size for both villages."""
    res = _solve_checked(_two_village_spec(counts=(CountTarget("transfer", 1, "eq"),)))
    assert res.transfer_size.tolist() == [1, -1]
    assert res.total_cost == pytest.approx(100 + 25 + 4 + 10 + 9)


def test_prefecture_count_target() -> None:
    """A prefecture target 'le 0' in P1 closes both P1 stations: station 2 (P2) serves."""
    spec = _two_village_spec(
        transfer=[Site(0, [(6.0, 10.0)]), Site(1, [(6.0, 10.0)]), Site(2, [(20.0, 30.0)])],
        collect=[(0, 0, 1.0), (1, 1, 1.0), (0, 2, 3.0), (1, 2, 3.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (2, 0, 1.0)],
        counts=(CountTarget("transfer", 0, "le", prefecture="P1"),),
    )
    res = _solve_checked(spec)
    assert res.transfer_size.tolist() == [-1, -1, 0]
    assert res.total_cost == pytest.approx(100 + 30 + 27 + 9)


def test_forced_excluded_existing() -> None:
    """Forced station opens though unused; excluded stays shut; existing is used for free."""
    spec = _two_village_spec(
        transfer=[Site(0, [(6.0, 10.0)], SiteStatus.FORCED),
                  Site(1, [(6.0, 1.0)], SiteStatus.EXCLUDED),
                  Site(1, [], SiteStatus.EXISTING, existing=10.0)],
        collect=[(0, 2, 1.0), (1, 1, 1.0), (1, 2, 1.0), (0, 0, 5.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (2, 0, 1.0)],
        counts=(CountTarget("transfer", 1, "eq"),),
    )
    res = _solve_checked(spec)
    assert res.transfer_size.tolist() == [0, -1, -2]
    assert set(res.flow_facility.tolist()) == {2}
    assert res.total_cost == pytest.approx(100 + 10 + 4 + 5 + 9)


def test_direct_delivery_skips_transfer() -> None:
    """A village next to the incinerator delivers directly when that is cheaper."""
    spec = _two_village_spec(direct=[(0, 0, 1.5)])
    res = _solve_checked(spec)
    assert res.flow_direct.tolist() == [True, False]
    assert res.total_cost == pytest.approx(100 + 10 + 6 + 5 + 5)


def test_multi_source_split() -> None:
    """Without single sourcing, a 9 t/d village splits 6/3 over two small stations."""
    spec = Spec(
        demand=[9.0], village_county=[0],
        transfer=[Site(0, [(6.0, 5.0)]), Site(0, [(6.0, 5.0)])],
        incinerator=[Site(0, [(50.0, 0.0)])],
        collect=[(0, 0, 1.0), (0, 1, 2.0)], haul=[(0, 0, 0.0), (1, 0, 0.0)],
        single_source=False,
    )
    res = _solve_checked(spec)
    assert res.flow_fraction.tolist() == pytest.approx([6 / 9, 3 / 9])
    assert res.total_cost == pytest.approx(10 + 6 + 6)
    with pytest.raises(InfeasibleError, match="single-source"):
        solve(build(Spec(**{**spec.__dict__, "single_source": True})), EXACT)


def test_uncovered_penalty_and_must_cover() -> None:
    """A village too costly to serve is dropped at the penalty unless it must be covered."""
    spec = Spec(
        demand=[1.0, 1.0], village_county=[0, 0],
        transfer=[Site(0, [(5.0, 1.0)]), Site(0, [(5.0, 50.0)])],
        incinerator=[Site(0, [(5.0, 0.0)])],
        collect=[(0, 0, 1.0), (1, 1, 1.0)], haul=[(0, 0, 0.0), (1, 0, 0.0)],
        penalty=20.0,
    )
    res = _solve_checked(spec)
    assert res.uncovered.tolist() == [1]
    assert res.total_cost == pytest.approx(1 + 1 + 20)
    spec.must_cover = [False, True]
    res = _solve_checked(spec)
    assert res.uncovered.tolist() == []
    assert res.total_cost == pytest.approx(1 + 1 + 50 + 1)


# ------------------------------------------------------------------ infeasibility reasons
def test_infeasible_village_without_arc_is_named() -> None:
    """A village with no arc is named in the error."""
    spec = _two_village_spec(collect=[(0, 0, 1.0)])
    with pytest.raises(InfeasibleError, match=r"village V1 \(village-1"):
        solve(build(spec), EXACT)


def test_infeasible_count_target_is_named() -> None:
    """An eq target above the number of candidates, and below the forced ones, are named."""
    with pytest.raises(InfeasibleError, match="count target transfer eq 3 in province"):
        solve(build(_two_village_spec(counts=(CountTarget("transfer", 3, "eq"),))), EXACT)
    spec = _two_village_spec(transfer=[Site(0, [(20.0, 1.0)], SiteStatus.FORCED),
                                       Site(1, [(20.0, 1.0)], SiteStatus.FORCED)],
                             counts=(CountTarget("transfer", 1, "le", prefecture="P1"),))
    with pytest.raises(InfeasibleError, match=r"transfer le 1 in prefecture P1.*2 sites are forced"):
        solve(build(spec), EXACT)


def test_transfer_count_target_leaves_direct_delivery_feasible() -> None:
    """A 'transfer le 0' target is feasible when every village has a direct arc: the
    pre-check counts only the demand that cannot skip transfer. With no direct arc for
    V1, its 5 t/d have no way past the target and the pre-check names the shortfall."""
    spec = _two_village_spec(direct=[(0, 0, 2.0), (1, 0, 3.0)],
                             counts=(CountTarget("transfer", 0, "le"),))
    res = _solve_checked(spec)
    assert res.transfer_size.tolist() == [-1, -1]
    assert res.flow_direct.tolist() == [True, True]
    assert res.total_cost == pytest.approx(100 + 4 * 2 + 5 * 3)
    assert res.total_cost == pytest.approx(brute_force(build(spec)))
    spec = _two_village_spec(direct=[(0, 0, 2.0)], counts=(CountTarget("transfer", 0, "le"),))
    with pytest.raises(InfeasibleError, match="transfer capacity to 0 t/d, short of the 5 t/d"):
        solve(build(spec), EXACT)


def test_infeasible_capacity_is_named() -> None:
    """Total incinerator capacity below demand is reported as a capacity shortage."""
    spec = _two_village_spec(incinerator=[Site(0, [(5.0, 1.0)])])
    with pytest.raises(InfeasibleError, match="incinerator capacity is short"):
        solve(build(spec), EXACT)


def test_solver_infeasibility_is_explained() -> None:
    """Targets that only conflict jointly (province eq 1 + prefecture ge 1 in P1 and P2)."""
    spec = _two_village_spec(
        transfer=[Site(0, [(20.0, 1.0)]), Site(2, [(20.0, 1.0)])],
        county_prefecture=("P1", "P1", "P2"),
        collect=[(0, 0, 1.0), (1, 0, 1.0), (0, 1, 1.0), (1, 1, 1.0)],
        counts=(CountTarget("transfer", 1, "eq"), CountTarget("transfer", 1, "ge", "P1"),
                CountTarget("transfer", 1, "ge", "P2")),
    )
    with pytest.raises(InfeasibleError, match="count target"):
        solve(build(spec), EXACT)


# ------------------------------------------------------------------ params, determinism
def test_params_are_validated() -> None:
    """Bad parameters raise ValidationError naming the field."""
    with pytest.raises(ValidationError, match="time_limit_s"):
        SiteParams(time_limit_s=0)
    with pytest.raises(ValidationError, match="method"):
        SiteParams(method="magic")  # type: ignore[arg-type]


def _three_counties() -> Any:
    """A seeded synthetic province: 20 villages, 8 station and 3 plant candidates in three
    counties, exactly 4 stations."""
    from wastenet.siting.synthetic import synthetic_province

    return synthetic_province(20, 8, 3, n_counties=3, n_prefectures=1, seed=3, k_collect=5,
                              transfer_target=4, incinerator_target=None, width_km=20,
                              height_km=16)


@pytest.mark.parametrize("policy", ["adjacent", "None", ""])
def test_synthetic_province_rejects_an_unknown_policy(policy: str) -> None:
    """The synthetic generator knows none, prefecture and free; any other policy is an
    error naming the field, not a silent fallback to free."""
    from wastenet.siting.synthetic import synthetic_province

    with pytest.raises(ValidationError, match="policy"):
        synthetic_province(20, 8, 3, n_counties=3, policy=policy)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["exact", "decomposition"])
def test_determinism_under_iteration_limit(method: str) -> None:
    """Same data, params and seed give identical results under a node limit."""
    data = _three_counties()
    params = SiteParams(time_limit_s=None, method=method, max_iterations=5, seed=7)  # type: ignore[arg-type]
    a, b = solve(data, params), solve(data, params)
    for name in ("transfer_size", "incinerator_size", "flow_village", "flow_facility",
                 "flow_fraction", "haul_t_per_day"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.total_cost == b.total_cost and a.lower_bound == b.lower_bound
    assert check(data, a).ok


@pytest.mark.parametrize(("backend", "max_iterations", "expected"), [
    ("auto", None, "SCIP"), ("auto", 5, "SCIPY"), ("SCIP", 5, "SCIP"), ("HIGHS", None, "HIGHS"),
    ("CBC", 5, "CBC"), ("SCIPY", None, "SCIPY")])
def test_auto_backend_is_scip_under_a_time_limit_and_highs_under_a_work_limit(
        backend: str, max_iterations: int | None, expected: str) -> None:
    """``backend="auto"`` resolves to SCIP for time-limited runs and to scipy's HiGHS
    (repeatable, and keeping what a node limit stops) for work-limited ones; an explicit
    backend is kept."""
    params = SiteParams(backend=backend, max_iterations=max_iterations)  # type: ignore[arg-type]
    assert params.mip_backend == expected


@pytest.mark.parametrize("backend", ["HIGHS", "SCIP", "SCIPY"])
def test_exact_path_with_a_warm_start_on_each_backend(backend: str) -> None:
    """The exact path hands the heuristic's solution to the MIP as a start (SCIP; not to
    HiGHS, where this crashed the process, nor scipy, which takes none). Every backend
    reaches the same optimum, which the checker accepts."""
    data = _three_counties()
    res = solve(data, SiteParams(time_limit_s=60, method="exact", backend=backend))  # type: ignore[arg-type]
    ref = solve(data, SiteParams(time_limit_s=60, method="exact", backend="CBC"))
    assert res.status == "optimal" and res.solver.startswith(f"mip-{backend.lower()}")
    assert res.total_cost == pytest.approx(ref.total_cost, rel=1e-6)
    assert check(data, res).ok


def test_progress_is_reported() -> None:
    """The progress callback sees fractions in [0,1] ending at 1 with the final cost."""
    seen: list[SiteProgress] = []
    data = build(_two_village_spec())
    res = solve(data, EXACT, progress=seen.append)
    assert seen and all(0 <= p.fraction <= 1 for p in seen)
    assert seen[-1].fraction == 1.0 and seen[-1].incumbent == pytest.approx(res.total_cost)


def test_data_not_mutated() -> None:
    """Solving leaves the (read-only) input arrays unchanged."""
    data = build(_two_village_spec())
    before = data.demand.copy(), data.collect.unit_cost.copy()
    solve(data, EXACT)
    assert np.array_equal(before[0], data.demand)
    assert np.array_equal(before[1], data.collect.unit_cost)
