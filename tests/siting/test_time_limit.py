"""The siting solvers keep to their time limit: heuristics and reduced MIPs are cut or
skipped when the limit comes, and a MIP's limit counts the building of the model."""

from __future__ import annotations

import time
import types
from typing import Any

import numpy as np
import pytest
from ortools.linear_solver import pywraplp

from wastenet.formats.facility import _one_echelon
from wastenet.siting import fixing as F
from wastenet.siting import mip as M
from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SitingData
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve


def p_median(n: int = 60, m: int = 30, p: int = 5, seed: int = 3) -> SitingData:
    """A seeded p-median instance (unit demands, no binding capacity)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    sites = pts[rng.choice(n, m, replace=False)]
    d = np.hypot(pts[:, None, 0] - sites[None, :, 0], pts[:, None, 1] - sites[None, :, 1])
    return _one_echelon("pm", np.ones(n), np.full(m, float(n)), np.zeros(m), d, d,
                        single_source=False, counts=(CountTarget("incinerator", p),))


def single_source(seed: int = 11, n: int = 40, m: int = 12) -> SitingData:
    """A seeded single-source capacitated instance whose Lagrangian bound is not tight,
    so the fixing path goes on to reduced MIPs."""
    rng = np.random.default_rng(seed)
    w = rng.integers(5, 30, n).astype(float)
    cap = rng.integers(80, 160, m).astype(float)
    fixed = rng.integers(200, 900, m).astype(float)
    cost = rng.integers(1, 60, (n, m)).astype(float)
    return _one_echelon("ss", w, cap, fixed, cost, cost * w[:, None], single_source=True)


def test_heuristics_get_no_deadline_past_the_time_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every heuristic of a 1 s run is given a deadline within the limit: the one run
    after the subgradient steps used to get their deadline plus 5 s, whatever the limit,
    so a heuristic that uses its time carried the run seconds past it. (50 subgradient
    steps end well before their deadline, and the best multipliers' pick has not been
    tried by a heuristic yet, so that final heuristic runs: the precondition below.)"""
    real = F.interchange
    deadlines: list[float] = []

    def spy(p: F.OneLevel, open_: np.ndarray, *, deadline: float) -> Any:
        deadlines.append(deadline)
        return real(p, open_, deadline=deadline)

    monkeypatch.setattr(F, "interchange", spy)
    data = p_median()
    t0 = time.perf_counter()
    res = solve(data, SiteParams(time_limit_s=1.0, max_iterations=50))
    assert len(deadlines) >= 2, "precondition: the final heuristic runs"
    assert max(deadlines) <= t0 + 1.1, f"deadline {max(deadlines) - t0:.2f} s after the start"
    assert check(data, res).ok
    assert res.lower_bound <= res.total_cost * (1 + 1e-9)


def test_reduced_mip_skipped_when_its_build_does_not_fit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A reduced MIP whose estimated build time exceeds half the time left is not
    started (pmed29 at 2 s used to build a 342 k column model for 5 s and overrun the
    limit sevenfold); the result is the Lagrangian incumbent, feasible, with a valid
    bound. Without the estimate the same instance does solve reduced MIPs."""
    data = single_source()
    calls: list[int] = []
    real = F.solve_mip

    def spy(*args: Any, **kwargs: Any) -> M.MipSolution:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "solve_mip", spy)
    first = solve(data, SiteParams(time_limit_s=30.0))
    assert calls, "precondition: this instance needs reduced MIPs"
    calls.clear()
    monkeypatch.setattr(F, "BUILD_S_PER_COLUMN", 10.0, raising=False)
    res = solve(data, SiteParams(time_limit_s=30.0))
    assert not calls
    assert check(data, res).ok
    assert res.lower_bound <= first.total_cost * (1 + 1e-9)
    assert res.total_cost >= first.lower_bound * (1 - 1e-9)


def test_mip_time_limit_counts_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MipOptions.time_limit_s`` counts from the call: when building the model took
    3 s of a 5 s limit, the solver is given the 2 s left, not 5 s."""
    limits: list[int] = []
    real = pywraplp.Solver.SetTimeLimit

    def spy(self: pywraplp.Solver, ms: int) -> None:
        limits.append(int(ms))
        real(self, ms)

    clock = iter([0.0, 3.0])  # the call, then the end of the build; later reads: 3.0 s

    def fake() -> float:
        return next(clock, 3.0)

    monkeypatch.setattr(pywraplp.Solver, "SetTimeLimit", spy)
    monkeypatch.setattr(M, "time", types.SimpleNamespace(perf_counter=fake))
    model = compile_model(p_median(n=8, m=4, p=2))
    sol = M.solve_mip(model, M.MipOptions(time_limit_s=5.0))
    assert sol.status == "optimal"
    assert limits == [2000]


def test_mip_not_solved_when_the_build_used_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """When building the model took the whole limit, the solver is not started (status
    ``unknown``, no solution): it used to be given its least limit of 1 ms, which HiGHS's
    interior point method was seen to overrun by a minute."""
    solves: list[int] = []
    real = pywraplp.Solver.Solve

    def spy(self: pywraplp.Solver, *args: Any) -> Any:
        solves.append(1)
        return real(self, *args)

    clock = iter([0.0, 6.0])

    def fake() -> float:
        return next(clock, 6.0)

    monkeypatch.setattr(pywraplp.Solver, "Solve", spy)
    monkeypatch.setattr(M, "time", types.SimpleNamespace(perf_counter=fake))
    model = compile_model(p_median(n=8, m=4, p=2))
    sol = M.solve_mip(model, M.MipOptions(time_limit_s=5.0))
    assert sol.status == "unknown" and not solves
    assert sol.objective == float("inf") and sol.bound == float("-inf")
