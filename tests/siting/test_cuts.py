"""Fixed-cost cover cuts: hand-checked knapsacks, validity at brute-forced optima, and the
LP bound they raise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.cuts import cover_cuts, min_fixed_cost
from wastenet.siting.data import CountTarget, SiteStatus
from wastenet.siting.mip import MipOptions, solve_mip
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve

EXACT = SiteParams(time_limit_s=30, method="exact")
LP = MipOptions(backend="HIGHS", relax=True)


def _two_plant_echelon() -> Any:
    """Two incinerator sites, each offering 10 t/d for 100 or 50 t/d for 300."""
    spec = H.Spec(demand=[1.0], village_county=[0], transfer=[],
                  incinerator=[H.Site(0, [(10.0, 100.0), (50.0, 300.0)]),
                               H.Site(0, [(10.0, 100.0), (50.0, 300.0)])],
                  direct=[(0, 0, 1.0), (0, 1, 1.0)])
    return compile_model(H.build(spec)).incinerator


@pytest.mark.parametrize(("need", "expected"), [
    (0.0, 0.0),        # nothing to process
    (5.0, 100.0),      # one small module
    (10.0, 100.0),     # exactly one small module
    (30.0, 300.0),     # one large (two small give only 20)
    (55.0, 400.0),     # large + small, one per site
    (60.0, 400.0),
    (61.0, 600.0),     # two large
    (101.0, float("inf")),  # more than both sites can hold
])
def test_min_fixed_cost_buys_whole_modules_one_per_site(need: float, expected: float) -> None:
    """Phi is the cheapest set of whole modules, at most one per site, covering the need."""
    ech = _two_plant_echelon()
    opts = np.arange(ech.opt_site.shape[0])
    assert min_fixed_cost(ech, opts, need) == pytest.approx(expected)


def test_cut_lifts_the_lp_to_the_optimum_of_a_tiny_county() -> None:
    """On ``siting_helpers.tiny_county`` the plain LP opens a tenth of the plant
    (1 + 1 + 10 = 12: the haul linking allows it); with the cut it pays the whole plant,
    102, which is the brute-forced optimum."""
    spec = H.tiny_county()
    data = H.build(spec)
    model = compile_model(data)
    cuts = cover_cuts(model, data.village_county)
    assert [(c.echelon, c.group, c.rhs) for c in cuts] == [("incinerator", 0, 100.0)]
    assert solve_mip(model, LP).objective == pytest.approx(12.0)
    assert solve_mip(model, LP, cuts=cuts).objective == pytest.approx(102.0)
    assert H.brute_force(data) == pytest.approx(102.0)


def test_existing_capacity_and_skippable_villages_lower_the_need() -> None:
    """An existing plant's capacity is subtracted from the need; villages that may stay
    uncovered (penalty given) are not part of any cut."""
    spec = H.Spec(demand=[6.0, 4.0], village_county=[0, 0], transfer=[],
                  incinerator=[H.Site(0, [(10.0, 100.0)], status=SiteStatus.EXISTING,
                                      existing=5.0),
                               H.Site(0, [(10.0, 100.0), (50.0, 300.0)])],
                  direct=[(0, 0, 1.0), (1, 0, 1.0), (0, 1, 1.0), (1, 1, 1.0)])
    model = compile_model(H.build(spec))
    cuts = cover_cuts(model, np.array([0, 0]))
    assert [c.rhs for c in cuts] == [100.0]  # 10 - 5 = 5 t/d: one small module
    skip = replace(model, can_skip=np.array([True, True]))
    assert cover_cuts(skip, np.array([0, 0])) == []


CASES: list[dict[str, Any]] = [
    {},
    {"counts": (CountTarget("incinerator", 1, "eq"),)},
    {"counts": (CountTarget("transfer", 2, "eq"),)},
    {"statuses": (SiteStatus.EXISTING,)},
    {"statuses": (SiteStatus.FORCED, SiteStatus.EXCLUDED)},
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_cuts_hold_at_the_optimum_and_keep_the_lp_a_bound(case: int, seed: int) -> None:
    """On random tiny instances: the exact optimum satisfies every cut, and the LP with the
    cuts lies between the plain LP and the brute-forced optimum."""
    data = H.build(H.random_spec(seed, n=4, m=3, q=3, **CASES[case]))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    cuts = cover_cuts(model, data.village_county)
    best = solve(data, EXACT)
    assert best.total_cost == pytest.approx(opt, rel=1e-6)
    for cut in cuts:
        ech = model.transfer if cut.echelon == "transfer" else model.incinerator
        size = best.transfer_size if cut.echelon == "transfer" else best.incinerator_size
        chosen = size[ech.opt_site[cut.options]] == ech.opt_size[cut.options]
        paid = float(ech.opt_fixed[cut.options][chosen].sum())
        assert paid >= cut.rhs * (1 - 1e-9), (cut.echelon, cut.group, paid, cut.rhs)
    plain = solve_mip(model, LP).objective
    lifted = solve_mip(model, LP, cuts=cuts).objective
    assert plain - 1e-6 <= lifted <= opt * (1 + 1e-9)


def test_decomposition_builds_the_cuts() -> None:
    """The scalable path builds the cover cuts (for its split bound) and says so in its log;
    its bound is then the optimum (102 on the tiny county)."""
    spec = H.tiny_county()
    data = H.build(spec)
    res = solve(data, replace(EXACT, method="decomposition"))
    assert any(line.startswith("split bound") and "1 cover cuts" in line
               for line in res.log), res.log
    assert res.lower_bound == pytest.approx(102.0, rel=1e-6)
    assert res.total_cost == pytest.approx(102.0)
