"""HiGHS's interior point method keeps the time limit: with less time left than
:func:`wastenet.siting.mip.ipm_min_s`, the adapter runs dual simplex instead, because
HiGHS 1.12 (in OR-Tools) runs the interior point method without a limit when presolve
has used the whole limit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from ortools.linear_solver import pywraplp

from wastenet.formats.facility import read_orlib_cap
from wastenet.siting import mip as M
from wastenet.siting.model import compile_model
from wastenet.siting.splitbound import IPM, plant_lp

CAPC = Path(__file__).parents[2] / "benchmarks" / "data" / "siting" / "orlib-cap" / "capc.txt"


@pytest.mark.parametrize(("left", "n_items", "swapped"), [
    (0.2, 200_000, True),      # capc's plant LP with 0.2 s left: the measured failure
    (2.0, 200_000, True),      # below 0.5 + 2.0
    (2.6, 200_000, False),
    (0.6, 1_000, False),       # a small model needs only the base
    (None, 10**7, False),      # no limit: nothing to keep
])
def test_keep_limit_swaps_ipm_only_when_too_little_time_is_left(
        left: float | None, n_items: int, swapped: bool) -> None:
    """The interior point line becomes dual simplex exactly when less than
    ``ipm_min_s(n_items)`` is left; the other lines are kept as they are."""
    params = f"output_flag = false\n{IPM}\nthreads = 1"
    got = M._keep_limit(params, left, n_items)
    want = params.replace(IPM, "solver = simplex") if swapped else params
    assert got == want


def test_keep_limit_leaves_other_solvers_alone() -> None:
    """Parameters without the interior point method are returned unchanged, even with no
    time left."""
    params = "output_flag = false\nthreads = 1"
    assert M._keep_limit(params, 0.05, 10**6) == params
    assert M._keep_limit("", 0.05, 10**6) == ""


def test_ipm_min_s_grows_with_the_model() -> None:
    """The floor is the base plus a per-item term (capc's plant LP: 2.5 s)."""
    assert M.ipm_min_s(0) == pytest.approx(M.IPM_MIN_BASE_S)
    assert M.ipm_min_s(200_000) == pytest.approx(2.5)


@pytest.mark.timeout(120)
def test_capc_plant_lp_keeps_a_short_limit() -> None:
    """capc's plant LP (100 k columns) given to the interior point method with 0.2 s
    left ends within seconds with no solution. Before, HiGHS ran it 73-110 s to
    "optimal" past such a limit (presolve took the 0.2 s)."""
    model = compile_model(read_orlib_cap(CAPC, capacity=5000))
    cost, a_mat, lo, hi, _ = plant_lp(model, [], 100, None)
    a_csr = a_mat.tocsr()
    solver = pywraplp.Solver.CreateSolver("HIGHS")
    xs = [solver.NumVar(0.0, 1.0, "") for _ in range(cost.shape[0])]
    obj = solver.Objective()
    for j in np.flatnonzero(cost).tolist():
        obj.SetCoefficient(xs[j], float(cost[j]))
    for r in range(a_csr.shape[0]):
        ct = solver.Constraint(float(lo[r]), solver.infinity() if np.isinf(hi[r])
                               else float(hi[r]))
        for p in range(int(a_csr.indptr[r]), int(a_csr.indptr[r + 1])):
            ct.SetCoefficient(xs[int(a_csr.indices[p])], float(a_csr.data[p]))
    obj.SetMinimization()
    params = M._specific_params(M.MipOptions(backend="HIGHS", relax=True,
                                             extra_params=IPM))
    t0 = time.perf_counter()
    code = M._solve_within(solver, pywraplp.MPSolverParameters(), 0.2, 0.0, params)
    assert time.perf_counter() - t0 < 10.0
    assert code not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
