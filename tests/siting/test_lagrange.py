"""Lagrangian bound validity and the greedy construction, against brute-forced optima."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SiteStatus
from wastenet.siting.heuristics import construct
from wastenet.siting.lagrange import _by_site_then_ratio, lagrangian_bound
from wastenet.siting.model import compile_model
from wastenet.siting.relax import path_bound

CASES: list[dict[str, Any]] = [
    {},
    {"penalty": 12.0},
    {"counts": (CountTarget("transfer", 2, "eq"),)},
    {"counts": (CountTarget("transfer", 1, "le"), CountTarget("incinerator", 2, "ge"))},
    {"counts": (CountTarget("transfer", 1, "ge", prefecture="P1"),
                CountTarget("transfer", 2, "le"))},
    {"statuses": (SiteStatus.FORCED, SiteStatus.EXCLUDED)},
    {"statuses": (SiteStatus.EXISTING,)},
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_bounds_never_exceed_the_optimum(case: int, seed: int) -> None:
    """Path and Lagrangian bounds are <= the enumerated optimum (even with UB = optimum)."""
    data = H.build(H.random_spec(seed, **CASES[case]))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    assert path_bound(model) <= opt * (1 + 1e-9)
    lag = lagrangian_bound(model, upper_bound=opt, max_iter=200)
    assert lag.bound <= opt * (1 + 1e-9)
    assert np.isfinite(lag.bound)


def test_lagrangian_closes_an_uncapacitated_instance() -> None:
    """On an uncapacitated facility problem with an integral LP, L reaches the optimum."""
    # two villages, two incinerators, direct arcs only; optimum: open I0 for both (10+1+2)
    spec = H.Spec(demand=[1.0, 1.0], village_county=[0, 0], transfer=[],
                  incinerator=[H.Site(0, [(100.0, 10.0)]), H.Site(0, [(100.0, 10.0)])],
                  direct=[(0, 0, 1.0), (1, 0, 2.0), (0, 1, 5.0), (1, 1, 1.0)])
    data = H.build(spec)
    assert H.brute_force(data) == pytest.approx(13.0)
    lag = lagrangian_bound(compile_model(data), upper_bound=20.0, max_iter=300)
    assert lag.bound == pytest.approx(13.0, rel=1e-3)
    assert lag.bound <= 13.0


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [11, 12])
def test_construction_is_feasible_or_declines(case: int, seed: int) -> None:
    """The greedy construction returns a checked feasible solution (or None), never a bad one."""
    data = H.build(H.random_spec(seed, **CASES[case]))
    res = construct(data, compile_model(data))
    if res is None:
        return
    rep = check(data, res)
    assert rep.ok, rep.violations
    opt = H.brute_force(data)
    assert res.total_cost >= opt * (1 - 1e-9)


def test_construction_on_a_synthetic_province_slice() -> None:
    """On a 600-village synthetic slice with exact counts the construction is feasible."""
    from wastenet.siting.synthetic import synthetic_province

    data = synthetic_province(600, 110, 50, n_counties=6, n_prefectures=2, seed=2,
                              transfer_target=100, incinerator_target=6, width_km=120,
                              height_km=100)
    res = construct(data, compile_model(data))
    assert res is not None
    rep = check(data, res)
    assert rep.ok, rep.violations


def test_interchange_reaches_the_p_median_optimum() -> None:
    """From a bad start (sites 0, 1 of 5 on a line), swaps reach the brute-forced 2-median."""
    from wastenet.siting.heuristics import interchange
    from wastenet.siting.solve import SiteParams, solve

    pos = [0.0, 1.0, 2.0, 10.0, 11.0]
    n = len(pos)
    spec = H.Spec(demand=[1.0] * n, village_county=[0] * n, transfer=[],
                  incinerator=[H.Site(0, [(float(n), 0.0)]) for _ in range(n)],
                  direct=[(i, k, abs(pos[i] - pos[k])) for i in range(n) for k in range(n)],
                  counts=(CountTarget("incinerator", 2, "eq"),))
    data = H.build(spec)
    opt = H.brute_force(data)
    assert opt == pytest.approx(3.0)  # open sites 1 and 3 (or 4): 1+0+1 + 0+1
    model = compile_model(data)
    start = solve(data, SiteParams(method="exact", time_limit_s=30))
    bad_sizes = np.array([0, 0, -1, -1, -1])
    from wastenet.siting.solve import _assemble

    bad = _assemble(data, model, np.zeros(0, dtype=np.int64), bad_sizes,
                    np.arange(n), np.array([0, 1, 1, 1, 1]), np.ones(n, dtype=bool),
                    np.ones(n), np.zeros(0), lower_bound=0.0, status="feasible",
                    solver="test", seed=0, elapsed_s=0.0)
    assert check(data, bad).ok and bad.total_cost == pytest.approx(0 + 0 + 1 + 9 + 10)
    better = interchange(data, model, bad)
    assert check(data, better).ok
    assert better.total_cost == pytest.approx(opt) == pytest.approx(start.total_cost)


def test_downsize_keeps_feasibility_and_lowers_cost() -> None:
    """A plant opened at its large size drops to the small size that still holds its load."""
    from wastenet.siting.heuristics import downsize

    spec = H.Spec(demand=[4.0], village_county=[0], transfer=[H.Site(0, [(10.0, 1.0)])],
                  incinerator=[H.Site(0, [(5.0, 10.0), (50.0, 40.0)])],
                  collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)])
    data = H.build(spec)
    model = compile_model(data)
    from wastenet.siting.solve import _assemble

    big = _assemble(data, model, np.array([0]), np.array([1]), np.array([0]), np.array([0]),
                    np.zeros(1, dtype=bool), np.ones(1), np.array([4.0]), lower_bound=0.0,
                    status="feasible", solver="test", seed=0, elapsed_s=0.0)
    assert check(data, big).ok and big.total_cost == pytest.approx(40 + 1 + 4 + 4)
    small = downsize(data, model, big)
    assert check(data, small).ok
    assert small.incinerator_size.tolist() == [0]
    assert small.total_cost == pytest.approx(H.brute_force(data)) == pytest.approx(19.0)


def test_on_iteration_sees_every_step_and_a_rising_bound() -> None:
    """The progress hook gets one call per subgradient step, with a best bound that never
    decreases and ends at the bound returned (so a live progress bound is a valid one)."""
    data = H.build(H.random_spec(11))
    opt = H.brute_force(data)
    seen: list[tuple[int, float]] = []
    lag = lagrangian_bound(compile_model(data), upper_bound=opt, max_iter=60,
                           on_iteration=lambda it, b: seen.append((it, b)))
    its = [it for it, _ in seen]
    assert its == list(range(1, len(its) + 1)) and len(its) >= 1
    assert len(its) in (lag.iterations, lag.iterations - 1)
    bounds = [b for _, b in seen if np.isfinite(b)]
    assert bounds == sorted(bounds)
    assert bounds[-1] == pytest.approx(lag.bound, rel=1e-9)
    assert bounds[-1] <= opt * (1 + 1e-9)


@pytest.mark.parametrize("n_sites", [7, 70_000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_items_are_ordered_by_site_then_ratio_as_lexsort_orders_them(n_sites: int,
                                                                     seed: int) -> None:
    """The knapsack's ordering (radix sort on 16-bit sites, or ``lexsort`` above 65,535
    sites) puts the items in exactly ``lexsort``'s (site, ratio) key order, ties included
    (drawn on a coarse grid so that many ratios repeat), and returns a permutation."""
    rng = np.random.default_rng(seed)
    site = rng.integers(0, n_sites, size=5_000)
    ratio = np.round(rng.normal(size=5_000), 1)
    got = _by_site_then_ratio(site, ratio, n_sites)
    want = np.lexsort((ratio, site))
    assert np.array_equal(np.sort(got), np.arange(5_000))
    assert np.array_equal(site[got], site[want])
    assert np.array_equal(ratio[got], ratio[want])
