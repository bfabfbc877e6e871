"""The ``SCIPY`` backend of the siting MIP adapter: the model built by the adapter,
exported to a matrix and solved by scipy's HiGHS, which keeps the solution and the bound
of a MIP its node limit stops (HiGHS inside OR-Tools drops both)."""

from __future__ import annotations

import numpy as np
import pytest
from siting_helpers import brute_force, build, random_spec

from wastenet.siting.checker import check
from wastenet.siting.mip import MipOptions, solve_mip
from wastenet.siting.model import compile_model
from wastenet.siting.solve import to_result
from wastenet.siting.synthetic import synthetic_province


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 8])
def test_scipy_backend_finds_the_brute_force_optimum(seed: int) -> None:
    """On tiny seeded instances the SCIPY MIP is optimal at the brute-force optimum, its
    LP relaxation equals the LP through OR-Tools' GLOP, and its solution, read back
    through the adapter's variable stores, passes the independent checker."""
    data = build(random_spec(seed, n=4, m=3, q=2))
    best = brute_force(data)
    model = compile_model(data)
    sol = solve_mip(model, MipOptions(backend="SCIPY"))
    if not np.isfinite(best):
        assert sol.status == "infeasible"
        return
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best, rel=1e-6)
    res = to_result(data, model, sol, lower_bound=sol.bound, status="optimal",
                    solver="mip-scipy", seed=0, elapsed_s=sol.wall_s, iterations=sol.nodes,
                    log_lines=())
    assert check(data, res).ok
    assert res.total_cost == pytest.approx(best, rel=1e-6)
    lp = solve_mip(model, MipOptions(backend="SCIPY", relax=True))
    glop = solve_mip(model, MipOptions(backend="SCIP", relax=True))
    assert lp.objective == pytest.approx(glop.objective, rel=1e-7)


@pytest.mark.slow
def test_a_node_limit_keeps_the_solution_and_the_bound() -> None:
    """A seeded synthetic province (150 villages) whose MIP a 5-node limit stops: the
    SCIPY backend returns a feasible solution the checker accepts, with a finite bound
    below it; the same call gives the same solution (repeatable)."""
    data = synthetic_province(150, 30, 10, n_counties=5, n_prefectures=1, seed=1,
                              policy="free", k_collect=6, k_haul=6, transfer_target=10,
                              incinerator_target=5, width_km=80, height_km=50)
    model = compile_model(data)
    opts = MipOptions(backend="SCIPY", node_limit=5)
    sol = solve_mip(model, opts)
    assert sol.status in ("feasible", "optimal")
    assert np.isfinite(sol.bound) and sol.bound <= sol.objective * (1 + 1e-9)
    res = to_result(data, model, sol, lower_bound=sol.bound, status="feasible",
                    solver="mip-scipy", seed=0, elapsed_s=sol.wall_s, iterations=sol.nodes,
                    log_lines=())
    assert check(data, res).ok
    assert res.total_cost == pytest.approx(sol.objective, rel=1e-6)
    again = solve_mip(model, opts)
    assert again.objective == sol.objective and np.array_equal(again.y, sol.y)


@pytest.mark.parametrize(("lo", "hi", "status"), [([0.0, -1.0], [0.0, 2.0], "optimal"),
                                                  ([1.0], [2.0], "infeasible"),
                                                  ([], [], "optimal")])
def test_a_program_without_variables_is_solved_not_refused(
        lo: list[float], hi: list[float], status: str) -> None:
    """A region with nothing to decide (no columns) is optimal at cost 0 when every row's
    range holds 0 and infeasible otherwise; scipy's milp itself refuses an empty
    objective (found when the open-region passes first ran on scipy's HiGHS)."""
    from scipy.sparse import csr_matrix

    from wastenet.siting.mip import solve_matrix

    empty = np.zeros(0)
    sol = solve_matrix(empty, csr_matrix((len(lo), 0)), np.array(lo), np.array(hi), empty,
                       empty, np.zeros(0, dtype=bool),
                       MipOptions(backend="SCIPY", time_limit_s=5))
    assert sol.status == status
    assert sol.objective == (0.0 if status == "optimal" else float("inf"))
