"""The exact path falls back to the decomposition when its MIP finds no solution and time
is left: under a work limit HiGHS takes no start, and on Faku it found nothing in 50 nodes
(31 s), so the result was the greedy start with the path bound (26.4 M, gap 85 %)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from siting_helpers import brute_force, build, random_spec

from wastenet.siting import solve as S
from wastenet.siting.checker import check
from wastenet.siting.mip import MipSolution
from wastenet.siting.model import compile_model
from wastenet.siting.relax import path_bound

PARAMS = S.SiteParams(time_limit_s=None, max_iterations=50, method="exact")


def _no_solution(model: Any, opts: Any, **_kw: Any) -> MipSolution:
    """What solve_mip returns when the MIP's limits end it without a solution."""
    z = np.zeros(0)
    return MipSolution("unknown", float("inf"), float("-inf"), z, z, z, z, z, z, 0.0, 0)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 8])
def test_exact_path_without_a_mip_solution_uses_the_decomposition(
        monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """With the exact MIP returning no solution, the result carries the decomposition's
    bound (not just the path bound), passes the checker, costs no more than the
    decomposition's solution, and its bound is valid against the brute-force optimum."""
    data = build(random_spec(seed, n=4, m=3, q=2))
    best = brute_force(data)
    if not np.isfinite(best):
        pytest.skip("infeasible draw")
    dec = S.solve(data, S.SiteParams(time_limit_s=None, max_iterations=50,
                                     method="decomposition"))
    monkeypatch.setattr(S, "solve_mip", _no_solution)
    res = S.solve(data, PARAMS)
    assert check(data, res).ok
    assert res.total_cost <= dec.total_cost + 1e-9
    assert res.lower_bound >= dec.lower_bound - 1e-9
    assert res.lower_bound <= best * (1 + 1e-6)
    assert res.total_cost >= best * (1 - 1e-6)


def test_the_fallback_bound_beats_the_path_bound_somewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On at least one of the seeded instances the decomposition's bound is above the
    path bound, so the test above tells the fallback from the old greedy-start result."""
    monkeypatch.setattr(S, "solve_mip", _no_solution)
    gains = []
    for seed in (1, 2, 3, 5, 8):
        data = build(random_spec(seed, n=4, m=3, q=2))
        if not np.isfinite(brute_force(data)):
            continue
        res = S.solve(data, PARAMS)
        gains.append(res.lower_bound - path_bound(compile_model(data)))
    assert max(gains) > 1e-6


def test_no_fallback_when_the_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the MIP found nothing and less than a second of the limit is left, the
    checked greedy start is returned at once, with the path bound, as before."""
    data = build(random_spec(2, n=4, m=3, q=2))
    called: list[bool] = []
    import wastenet.siting.relax as R

    def slow_no_solution(model: Any, opts: Any, **kw: Any) -> MipSolution:
        time.sleep(1.0)  # the MIP used the limit
        return _no_solution(model, opts, **kw)

    monkeypatch.setattr(S, "solve_mip", slow_no_solution)
    monkeypatch.setattr(R, "solve_decomposition", lambda *a, **k: called.append(True))
    res = S.solve(data, S.SiteParams(time_limit_s=1.5, method="exact"))
    assert not called
    assert res.status == "feasible" and check(data, res).ok
    assert res.lower_bound == pytest.approx(min(path_bound(compile_model(data)),
                                                res.total_cost))
