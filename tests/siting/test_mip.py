"""The MIP/LP adapter (:mod:`wastenet.siting.mip`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from wastenet.siting.mip import MipOptions, solve_matrix


@pytest.mark.parametrize("relax", [True, False])
def test_highs_solves_whatever_threads_earlier_solves_asked_for(relax: bool) -> None:
    """min 2x + 5y, x + y = 3, 0 <= x, y <= 10 (optimum 6 at x = 3), solved by HiGHS with
    2, then 1, then 2 threads in one process: every solve is optimal. (HiGHS sizes one
    scheduler per process at its first solve; asking for another number used to make
    every later solve fail with status unknown, which dropped the split bound of a
    two-thread province run.)"""
    a = csr_matrix(np.array([[1.0, 1.0]]))
    for threads in (2, 1, 2):
        sol = solve_matrix(np.array([2.0, 5.0]), a, np.array([3.0]), np.array([3.0]),
                           np.zeros(2), np.full(2, 10.0), np.array([not relax, False]),
                           MipOptions(backend="HIGHS", relax=relax, threads=threads))
        assert sol.status == "optimal", threads
        assert sol.objective == pytest.approx(6.0)


@pytest.mark.parametrize("backend", ["HIGHS", "SCIP", "CBC"])
def test_a_start_solution_is_accepted_by_every_backend(backend: str) -> None:
    """min 3x + 2y + 4z, x + y + z >= 2, binary (optimum 5 at x = y = 1), with the start
    x = z = 1 (cost 7): every backend returns the optimum. OR-Tools' HiGHS interface
    crashed the process (segmentation fault) when given a start, so HiGHS now starts
    cold; the others take it."""
    a = csr_matrix(np.array([[1.0, 1.0, 1.0]]))
    sol = solve_matrix(np.array([3.0, 2.0, 4.0]), a, np.array([2.0]), np.array([np.inf]),
                       np.zeros(3), np.ones(3), np.ones(3, bool), MipOptions(backend=backend),
                       hint=np.array([1.0, 0.0, 1.0]))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(5.0)
    assert np.allclose(sol.x, [1.0, 1.0, 0.0])


@pytest.mark.parametrize("backend", ["HIGHS", "SCIP", "CBC"])
def test_a_partial_start_is_accepted_by_every_backend(backend: str) -> None:
    """A start whose flows are unknown (``nan``) and whose sites are known: every backend
    returns the optimum of the instance (162, by brute force in ``test_region``), and
    the ``nan`` values never reach the solver as numbers."""
    import siting_helpers as _h
    from test_region import _no_station_spec

    from wastenet.siting.mip import MipSolution, solve_mip
    from wastenet.siting.model import compile_model

    model = compile_model(_h.build(_no_station_spec()))
    tr, inc = model.transfer, model.incinerator
    nan = np.nan
    start = MipSolution("feasible", nan, nan, y=np.array([1.0, 1.0, 0.0]),
                        z=np.ones(inc.opt_site.size), x=np.full(len(model.collect), nan),
                        d=np.full(len(model.direct), nan), h=np.full(len(model.haul), nan),
                        u=np.full(model.demand.size, nan), wall_s=0.0, nodes=0)
    assert tr.opt_site.tolist() == [0, 1, 2]
    sol = solve_mip(model, MipOptions(backend=backend), hint=start)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(162.0)


@pytest.mark.parametrize(("backend", "relax"), [("HIGHS", True), ("HIGHS", False),
                                               ("SCIP", False), ("CBC", False)])
def test_solvers_print_nothing_on_stdout(backend: str, relax: bool,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    """A solve writes nothing to the process's stdout or stderr (HiGHS printed its banner
    'Running HiGHS ...' from C on every solve, which mixed into command output)."""
    a = csr_matrix(np.array([[1.0, 1.0]]))
    capfd.readouterr()
    sol = solve_matrix(np.array([2.0, 5.0]), a, np.array([3.0]), np.array([3.0]),
                       np.zeros(2), np.full(2, 10.0), np.array([not relax, False]),
                       MipOptions(backend=backend, relax=relax))
    assert sol.status == "optimal"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
