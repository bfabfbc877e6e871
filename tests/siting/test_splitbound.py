"""Split bound: hand-checked path costs, the haul leak it closes, and validity against
brute-forced optima."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.cuts import cover_cuts
from wastenet.siting.data import CountTarget, SiteStatus
from wastenet.siting.mip import MipOptions, solve_mip
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve
from wastenet.siting.splitbound import (
    choose_k,
    path_costs,
    plant_bound,
    plant_lagrangian,
    split_bound,
)

EXACT = SiteParams(time_limit_s=30, method="exact")


def _paths_spec() -> H.Spec:
    """Village 0 reaches plant 0 by T0 (1 + 4) or T1 (2 + 1), plant 1 by T1 (2 + 5) or
    directly (6); village 1 reaches plant 1 by T1 (3 + 5) only."""
    return H.Spec(demand=[1.0, 2.0], village_county=[0, 0],
                  transfer=[H.Site(0, [(10.0, 5.0)]), H.Site(0, [(10.0, 5.0)])],
                  incinerator=[H.Site(0, [(10.0, 50.0)]), H.Site(0, [(10.0, 50.0)])],
                  collect=[(0, 0, 1.0), (0, 1, 2.0), (1, 1, 3.0)],
                  direct=[(0, 1, 6.0)],
                  haul=[(0, 0, 4.0), (1, 0, 1.0), (1, 1, 5.0)])


def test_path_costs_are_the_cheapest_paths_sorted_per_village() -> None:
    """Per (village, plant) the cheapest of the direct and station paths, cheapest first."""
    model = compile_model(H.build(_paths_spec()))
    vil, pl, cost, rank = path_costs(model)
    got = list(zip(vil.tolist(), pl.tolist(), cost.tolist(), rank.tolist(), strict=True))
    assert got == [(0, 0, 3.0, 0), (0, 1, 6.0, 1), (1, 0, 4.0, 0), (1, 1, 8.0, 1)]
    assert choose_k(model, vil, max_arcs=4) == 2
    assert choose_k(model, vil, max_arcs=3) == 1


def test_village_level_linking_closes_the_haul_leak() -> None:
    """The model's LP opens a tenth of the plant behind a station (12); the split bound's
    plant LP links the village to the plant itself and pays all of it, even without the
    cover cuts: 102, the brute-forced optimum."""
    data = H.build(H.tiny_county())
    model = compile_model(data)
    assert solve_mip(model, MipOptions(backend="HIGHS", relax=True)).objective == \
        pytest.approx(12.0)
    value, n_arcs, status = plant_bound(model, [], k_max=5, time_limit_s=None)
    assert status == "optimal" and n_arcs == 1
    assert value == pytest.approx(102.0)
    sb = split_bound(model, [])
    assert sb.transfer == 0.0 and sb.value == pytest.approx(102.0)
    assert H.brute_force(data) == pytest.approx(102.0)


def test_truncation_keeps_the_bound_valid_and_skips_when_most_demand_is_cut() -> None:
    """With one plant kept per village the rest go to the unlinked catch-all: the bound
    stays <= the optimum; when that catch-all carries most of the demand the bound is
    skipped and says why."""
    data = H.build(_paths_spec())
    model = compile_model(data)
    opt = H.brute_force(data)
    value, _, _ = plant_bound(model, [], k_max=1, time_limit_s=None)
    assert value <= opt * (1 + 1e-9)
    sb = split_bound(model, [], max_arcs=2, max_truncated=0.5)
    assert not np.isfinite(sb.value) and sb.status.startswith("skipped: 100% of the demand")


CASES: list[dict[str, Any]] = [
    {},
    {"penalty": 12.0},
    {"counts": (CountTarget("incinerator", 1, "eq"),)},
    {"counts": (CountTarget("transfer", 2, "eq"), CountTarget("incinerator", 2, "le"))},
    {"statuses": (SiteStatus.EXISTING,)},
    {"statuses": (SiteStatus.FORCED, SiteStatus.EXCLUDED)},
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [31, 32, 33, 34])
@pytest.mark.parametrize("max_arcs", [3, 100])
def test_split_bound_never_exceeds_the_optimum(case: int, seed: int, max_arcs: int) -> None:
    """On random tiny instances (with and without truncated plant lists, with the cover
    cuts) the split bound is at most the brute-forced optimum."""
    data = H.build(H.random_spec(seed, n=4, m=3, q=3, **CASES[case]))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    sb = split_bound(model, cover_cuts(model, data.village_county), max_arcs=max_arcs,
                     max_truncated=1.0)
    assert np.isfinite(sb.value), sb.status
    assert sb.value <= opt * (1 + 1e-6), (sb, opt)


def test_plant_lagrangian_by_hand() -> None:
    """Tiny county: the village's path costs 2, so the multiplier starts at 2 and nothing
    opens (L = 2); one Polyak step (theta 2, upper bound 102) lifts it to 202, the plant
    opens (100 - 200) and covers the village exactly: L = 102 = B_P, and the subgradient
    is 0, so the method stops after two iterations."""
    model = compile_model(H.build(H.tiny_county()))
    res = plant_lagrangian(model, upper_bound=102.0)
    assert res.bound == pytest.approx(102.0, rel=1e-8) and res.bound <= 102.0
    assert res.iterations == 2 and res.n_paths == 1


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [31, 32, 33, 34, 35])
def test_plant_lagrangian_never_exceeds_the_optimum(case: int, seed: int) -> None:
    """On random tiny instances the station bound plus the plant Lagrangian is at most the
    brute-forced optimum, and it climbs above the path bound's flow part."""
    data = H.build(H.random_spec(seed, n=4, m=3, q=3, **CASES[case]))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    b_t = split_bound(model, []).transfer
    res = plant_lagrangian(model, upper_bound=opt, max_iter=500)
    assert np.isfinite(res.bound)
    assert b_t + res.bound <= opt * (1 + 1e-6), (b_t, res, opt)


def test_plant_lagrangian_reaches_the_plant_lp() -> None:
    """On a 12-village instance with a plant count the Lagrangian reaches the plant LP
    without truncation and cuts (their common optimum, up to the subgradient's accuracy:
    within 1 %), and never passes the brute-force-free upper bound of a solve."""
    data = H.build(H.random_spec(7, n=12, m=4, q=5,
                                 counts=(CountTarget("incinerator", 2, "eq"),)))
    model = compile_model(data)
    lp, _, status = plant_bound(model, [], k_max=10**6, time_limit_s=None)
    assert status == "optimal"
    ub = solve(data, EXACT).total_cost
    res = plant_lagrangian(model, upper_bound=ub, max_iter=3000)
    assert res.bound >= lp * 0.99, (res, lp)
    assert res.bound <= ub


def test_decomposition_reports_the_split_bound() -> None:
    """The scalable path runs the split bound, logs it, and on the tiny county its bound
    is the optimum, so the run is proven optimal."""
    data = H.build(H.tiny_county())
    res = solve(data, replace(EXACT, method="decomposition"))
    assert any("split bound 10" in line for line in res.log), res.log
    assert res.lower_bound == pytest.approx(102.0, rel=1e-6)
    assert res.total_cost == pytest.approx(102.0) and res.status == "optimal"


def test_decomposition_uses_the_split_lagrangian_above_the_lp_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``LP_MAX_ARCS`` arcs the LP and the split bound are skipped and the split
    Lagrangian (step 4c) runs instead: on the tiny county it reaches the optimum, 102, so
    the run is proven optimal from it alone."""
    import wastenet.siting.relax as relax

    monkeypatch.setattr(relax, "LP_MAX_ARCS", 0)
    data = H.build(H.tiny_county())
    res = solve(data, replace(EXACT, method="decomposition"))
    assert "split bound skipped (more than 0 arcs)" not in res.log
    assert not any(line.startswith("LP bound") for line in res.log)
    line = next(x for x in res.log if x.startswith("split Lagrangian bound"))
    assert line.startswith("split Lagrangian bound 10"), line
    assert res.lower_bound == pytest.approx(102.0, rel=1e-6)
    assert res.lower_bound <= 102.0 * (1 + 1e-9)
    assert res.total_cost == pytest.approx(102.0) and res.status == "optimal"


@pytest.mark.parametrize("seed", [31, 32, 33, 34])
def test_decomposition_above_the_lp_size_keeps_a_valid_bound(
        monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """On random tiny instances with counts, run as if too large for the LP, the reported
    bound never exceeds the brute-forced optimum."""
    import wastenet.siting.relax as relax

    monkeypatch.setattr(relax, "LP_MAX_ARCS", 0)
    data = H.build(H.random_spec(seed, n=4, m=3, q=3,
                                 counts=(CountTarget("incinerator", 1, "eq"),)))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    res = solve(data, replace(EXACT, method="decomposition", time_limit_s=10))
    assert res.lower_bound <= opt * (1 + 1e-6)
    assert any(x.startswith("split Lagrangian bound") for x in res.log)
