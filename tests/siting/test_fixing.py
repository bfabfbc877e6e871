"""One-echelon path (:mod:`wastenet.siting.fixing`): bounds, fixing and the reduced MIP,
checked against enumerated optima of tiny instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from wastenet.formats.facility import _one_echelon
from wastenet.siting import fixing as F
from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SitingData
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve

KINDS = ("split", "single", "pmedian")


def make(seed: int, kind: str, n: int = 6, m: int = 4) -> SitingData:
    """A random tiny one-echelon instance: ``split`` (capacitated, demand may split),
    ``single`` (capacitated, single-source) or ``pmedian`` (p = 2, no binding capacity)."""
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 6, n).astype(float)
    alloc = rng.integers(1, 40, (n, m)).astype(float)
    if kind == "pmedian":
        w = np.ones(n)
        return _one_echelon(f"pm{seed}", w, np.full(m, float(n)), np.zeros(m), alloc, alloc,
                            single_source=False, counts=(CountTarget("incinerator", 2),))
    cap = rng.integers(int(w.sum() // 3) + 5, int(w.sum()) + 3, m).astype(float)
    fixed = rng.integers(5, 60, m).astype(float)
    return _one_echelon(f"{kind}{seed}", w, cap, fixed, alloc / w[:, None], alloc,
                        single_source=kind == "single")


def brute(data: SitingData) -> tuple[float, np.ndarray, np.ndarray]:
    """Optimum, open set and assignment matrix by enumerating the open sets (and, when
    single-source, the assignments; otherwise a transportation LP per open set)."""
    p = F.one_level(compile_model(data))
    assert p is not None
    best = (np.inf, np.zeros(p.m, bool), np.zeros((p.n, p.m)))
    for bits in itertools.product([False, True], repeat=p.m):
        op = np.array(bits)
        if not (p.lo <= op.sum() <= p.hi):
            continue
        cols = np.flatnonzero(op)
        fixed = float(p.fixed[op].sum())
        if p.single_source:
            for a in itertools.product(cols.tolist(), repeat=p.n):
                load = np.bincount(a, weights=p.w, minlength=p.m)
                if np.any(load > p.cap + 1e-9):
                    continue
                c = fixed + float(p.cost[np.arange(p.n), a].sum())
                if c < best[0]:
                    x = np.zeros((p.n, p.m))
                    x[np.arange(p.n), a] = 1.0
                    best = (c, op, x)
            continue
        sub = p.cost[:, cols]
        k = cols.size
        a_eq = np.kron(np.eye(p.n), np.ones(k))
        a_ub = np.stack([np.kron(p.w, np.eye(k)[j]) for j in range(k)])
        res = linprog(sub.ravel(), A_ub=a_ub, b_ub=p.cap[cols], A_eq=a_eq,
                      b_eq=np.ones(p.n), bounds=(0, 1), method="highs")
        if res.status == 0 and fixed + res.fun < best[0]:
            x = np.zeros((p.n, p.m))
            x[:, cols] = res.x.reshape(p.n, k)
            best = (fixed + float(res.fun), op, x)
    return best


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_one_echelon_path_reaches_the_enumerated_optimum(kind: str, seed: int) -> None:
    """``solve`` takes the fixing path, proves the enumerated optimum, and the bound is
    valid (LB <= optimum); the checker accepts the result."""
    data = make(seed, kind)
    opt, _, _ = brute(data)
    res = solve(data, SiteParams(time_limit_s=30))
    assert res.solver.startswith(("lagrangian", "fixing"))
    assert res.lower_bound <= opt * (1 + 1e-9)
    assert res.total_cost == pytest.approx(opt, rel=1e-7)
    assert res.status == "optimal"
    assert check(data, res).ok


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [5, 6, 7])
def test_lagrangian_value_is_a_lower_bound_for_any_multipliers(kind: str, seed: int) -> None:
    """Weak duality: L(lambda) <= optimum for random multipliers, and so are the values
    with one site fixed open (L1) or closed (L0) against the optimum with that site so."""
    data = make(seed, kind)
    p = F.one_level(compile_model(data))
    assert p is not None
    opt, op, _ = brute(data)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        lam = rng.uniform(0, 60, p.n)
        ev = F.evaluate(p, lam)
        assert ev is not None
        assert ev.value <= opt * (1 + 1e-9)
        l1, l0 = F.fixed_values(p, lam, ev.v)
        for k in range(p.m):
            assert (l1 if op[k] else l0)[k] <= opt * (1 + 1e-9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3, 8])
def test_fixing_never_removes_the_optimal_solution(kind: str, seed: int) -> None:
    """With the incumbent equal to the optimum, the reduced problem still contains the
    optimal solution: its open sites are not fixed closed, its closed sites not fixed open,
    its arcs are kept and its shares fit the new upper bounds."""
    data = make(seed, kind)
    p = F.one_level(compile_model(data))
    assert p is not None
    opt, op, x = brute(data)
    lr = F.subgradient(p, upper=None, deadline=float("inf"), max_iter=300)
    assert lr is not None
    fx = F.reduce(p, lr.lam, lr.best_eval.v, opt)
    assert not np.any(fx.fix_closed & op)
    assert not np.any(fx.fix_open & ~op)
    used = x > 1e-9
    assert np.all(fx.keep_arc[used])
    assert np.all(x[used] <= fx.x_ub[used] + 1e-9)


def test_fixed_values_match_enumeration() -> None:
    """L1/L0 (best selection with site k forced open / closed) equal the enumerated
    minimum of sum v over every feasible selection, with count limits and a forced site."""
    data = make(3, "split", n=5, m=6)
    p = F.one_level(compile_model(data))
    assert p is not None
    rng = np.random.default_rng(0)
    for lo, hi in ((0, 6), (2, 2), (1, 3), (3, 6)):
        forced = np.zeros(p.m, bool)
        forced[4] = lo == 1
        q = F.OneLevel(**{**p.__dict__, "lo": lo, "hi": hi, "forced": forced})
        v = rng.normal(0, 10, p.m)
        lam = np.zeros(p.n)
        l1, l0 = F.fixed_values(q, lam, v)
        for k in range(p.m):
            for val, want in ((l1, True), (l0, False)):
                best = np.inf
                for bits in itertools.product([False, True], repeat=p.m):
                    b = np.array(bits)
                    if b[k] != want or not lo <= b.sum() <= hi or np.any(forced & ~b):
                        continue
                    best = min(best, float(v[b].sum()))
                assert val[k] == pytest.approx(best) if np.isfinite(best) else val[k] == np.inf


def test_interchange_returns_a_feasible_p_median() -> None:
    """The interchange keeps exactly p sites open and never worsens its start."""
    data = make(9, "pmedian", n=8, m=6)
    p = F.one_level(compile_model(data))
    assert p is not None
    start = np.zeros(p.m, bool)
    start[[0, 1]] = True
    first = F.assign_nearest(p, start)
    got = F.interchange(p, start, deadline=float("inf"))
    assert got is not None and first is not None
    assert got.open.sum() == 2
    assert got.cost <= first.cost
    assert got.cost >= brute(data)[0] - 1e-9


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_branch_and_bound_proves_the_split_optimum(seed: int) -> None:
    """With split demand, the Lagrangian branch and bound finishes on tiny instances with
    the enumerated optimum, whatever (poor) multipliers and incumbent it starts from."""
    data = make(seed, "split", n=7, m=5)
    p = F.one_level(compile_model(data))
    assert p is not None
    opt, _, _ = brute(data)
    lam = np.zeros(p.n)
    bb = F.branch_and_bound(p, np.arange(p.m), p.forced.copy(), lam, None, -np.inf,
                            deadline=float("inf"), node_iter=30)
    assert bb.complete
    assert bb.best is not None
    assert bb.best.cost == pytest.approx(opt, rel=1e-9)
    assert bb.bound <= opt * (1 + 1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_branch_and_bound_bound_stays_valid_when_stopped(seed: int) -> None:
    """Stopped after its first node (deadline in the past after one pop), the branch and
    bound reports the least open node bound, which is still <= the optimum."""
    data = make(seed, "split", n=7, m=5)
    p = F.one_level(compile_model(data))
    assert p is not None
    opt, _, _ = brute(data)
    lr = F.subgradient(p, upper=None, deadline=float("inf"), max_iter=50)
    assert lr is not None
    bb = F.branch_and_bound(p, np.arange(p.m), p.forced.copy(), lr.lam, lr.primal, lr.bound,
                            deadline=0.0)
    assert not bb.complete
    assert bb.bound <= opt * (1 + 1e-9)
    assert bb.bound == pytest.approx(min(lr.bound, lr.primal.cost if lr.primal else np.inf))
