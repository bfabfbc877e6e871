"""The whole solve's time limit is counted once. The decomposition counts its steps from
the solve's start ``t0``; it used to be handed the time *left* as its limit together
with that ``t0``, so the time already spent (the exact path's MIP, the one-echelon path
of ``auto``) was subtracted twice: after a MIP that used 3 s of 8 s, the decomposition's
deadline fell 2 s after its start instead of 5 s, and its Lagrangian got no iteration."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from siting_helpers import build, random_spec

import wastenet.siting.fixing as F
import wastenet.siting.relax as R
from wastenet.siting import solve as S
from wastenet.siting.checker import check
from wastenet.siting.mip import MipSolution

LIMIT = 30.0
SPENT = 0.3


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float | None, float]]:
    """The (time_limit_s, seconds from its t0 to the solve's end-of-limit) that
    solve_decomposition receives, recorded by a spy around the real one."""
    seen: list[tuple[float | None, float]] = []
    real = R.solve_decomposition

    def spy(data: Any, model: Any, params: Any, report: Any, t0: float) -> Any:
        seen.append((params.time_limit_s, t0))
        return real(data, model, params, report, t0)

    monkeypatch.setattr(R, "solve_decomposition", spy)
    return seen


def test_exact_fallback_gets_the_whole_limit_from_the_start(
        monkeypatch: pytest.MonkeyPatch, given: list[tuple[float | None, float]]) -> None:
    """The exact path's MIP spends 0.3 s and finds nothing: the decomposition it falls
    back to gets the solve's own limit (30 s) with the solve's start, so its deadline is
    the solve's; the MIP itself was given no more than what was left of the limit. The
    result passes the checker."""
    mip_limits: list[float | None] = []

    def no_solution(model: Any, opts: Any, **_kw: Any) -> MipSolution:
        mip_limits.append(opts.time_limit_s)
        time.sleep(SPENT)
        z = np.zeros(0)
        return MipSolution("unknown", float("inf"), float("-inf"), z, z, z, z, z, z,
                           SPENT, 0)

    monkeypatch.setattr(S, "solve_mip", no_solution)
    data = build(random_spec(2, n=4, m=3, q=2))
    start = time.perf_counter()
    res = S.solve(data, S.SiteParams(time_limit_s=LIMIT, max_iterations=50, method="exact"))
    assert len(given) == 1
    limit, t0 = given[0]
    assert limit == LIMIT
    assert start <= t0 <= start + SPENT  # the solve's start, before the MIP
    assert mip_limits[0] is not None and mip_limits[0] <= LIMIT
    assert check(data, res).ok


def test_auto_decomposition_after_the_one_echelon_path_keeps_the_limit(
        monkeypatch: pytest.MonkeyPatch, given: list[tuple[float | None, float]]) -> None:
    """``auto`` on a problem above EXACT_MAX_ARCS: the one-echelon path spends 0.3 s and
    gives up; the decomposition then gets the solve's limit from the solve's start (it
    used to get 30 s minus the 0.3 s, from the same start)."""
    def slow_none(*_a: Any, **_k: Any) -> None:
        time.sleep(SPENT)
        return None

    monkeypatch.setattr(F, "solve_fixing", slow_none)
    monkeypatch.setattr(S, "EXACT_MAX_ARCS", 0)
    data = build(random_spec(2, n=4, m=3, q=2))
    start = time.perf_counter()
    res = S.solve(data, S.SiteParams(time_limit_s=LIMIT, max_iterations=20))
    assert len(given) == 1
    limit, t0 = given[0]
    assert limit == LIMIT and start <= t0 <= start + SPENT
    assert check(data, res).ok
