r"""One-echelon fast path: Lagrangian bound, reduced-cost fixing and an exact reduced MIP.

Applies to compiled models with *one echelon* (no transfer stations, no haul; customers
reach sites by direct arcs only), one size per site, no existing sites, full coverage and
count targets on the whole province only -- the classic facility-location benchmarks
(capacitated, single-source capacitated, p-median) and any scenario of that shape.

Formulation
-----------
Customers :math:`i` with demand :math:`w_i>0`, sites :math:`k` with fixed cost :math:`f_k`
and capacity :math:`s_k`, arc costs :math:`c_{ik}` (yuan/yr for the whole demand of
:math:`i`, i.e. ``w_i * compiled cost``; :math:`+\infty` where there is no arc):

.. math::

    Z^* = \min \sum_k f_k y_k + \sum_{i,k} c_{ik} x_{ik}
    \quad\text{s.t.}\quad \sum_k x_{ik} = 1,\;
    \sum_i w_i x_{ik} \le s_k y_k,\; x_{ik}\le y_k,\;
    \mathrm{lo} \le \sum_k y_k \le \mathrm{hi},\; y_k = 1\ (k \text{ forced}),

with :math:`y\in\{0,1\}`, :math:`x\in[0,1]` (:math:`\{0,1\}` when single-source). Every
feasible solution also satisfies :math:`\sum_k s_k y_k \ge D=\sum_i w_i`, hence
:math:`\sum_k y_k \ge c_{\min}`, the least number of sites whose largest capacities reach
:math:`D`; ``lo`` is raised to :math:`c_{\min}` (a valid inequality).

Lagrangian bound
----------------
Relaxing the assignment rows with multipliers :math:`\lambda` gives, with reduced costs
:math:`r_{ik}=c_{ik}-\lambda_i`,

.. math::

    L(\lambda) = \sum_i\lambda_i + \min_{y}\Big\{\sum_k v_k y_k :
      \mathrm{lo}\le\textstyle\sum_k y_k\le\mathrm{hi},\ y_k=1\ (k\text{ forced})\Big\},\quad
    v_k = f_k + \min\Big\{\sum_i r_{ik}x_{ik} : \sum_i w_i x_{ik}\le s_k,\ 0\le x\le 1\Big\}

(the inner minimum is a continuous knapsack, solved greedily; dropping integrality of
:math:`x` only lowers it). The selection is a sort. By weak duality
:math:`L(\lambda)\le Z^*` for every :math:`\lambda`; the multipliers follow the
subgradient method. The bound reported is :math:`L` less a ``1e-9`` relative margin.

Reduced-cost (Lagrangian) fixing
--------------------------------
Let :math:`U` be the cost of a feasible solution. Write :math:`L_k^{1}` and :math:`L_k^{0}`
for the Lagrangian value with :math:`y_k` fixed to 1 or 0 (same :math:`\lambda`; computed
exactly from the sorted :math:`v`). Both are lower bounds of every solution with that
:math:`y_k`. Hence

* if :math:`L_k^{1} > U`, no solution with :math:`y_k=1` is cheaper than :math:`U`: fix
  :math:`y_k=0`; if :math:`L_k^{0} > U`, fix :math:`y_k=1`;
* a solution with :math:`x_{ik}=t` costs at least :math:`L_k^{1}+t\max(0,r_{ik})`
  (for :math:`r_{ik}\ge 0` item :math:`i` is not in the knapsack optimum, and forcing it in
  at :math:`t` adds :math:`t\,r_{ik}` while the remaining knapsack cannot get cheaper).
  So :math:`x_{ik}\le (U-L_k^1)/r_{ik}` in every solution cheaper than :math:`U`. When the
  assignment may be taken integral (single-source, or every capacity at least :math:`D`
  so that each customer goes wholly to its cheapest open site) an arc with
  :math:`L_k^1 + r_{ik} > U` is removed; otherwise it keeps the upper bound.

Thresholds carry a small tolerance so that nothing is fixed on round-off. Every solution of
cost :math:`\le U` (and, where arcs are removed, an optimal one when it costs :math:`< U`)
is feasible for the *reduced* MIP. If that MIP returns a bound :math:`B_R`,
then :math:`Z^*\ge\min(U, B_R)`: the reported lower bound is
:math:`\max(L, \min(U, B_R))`, and when the reduced MIP is solved to optimality the
result is proven optimal for the full problem.

Targets. The fixing is first done against targets :math:`T = L + \delta` below the
incumbent (``delta`` grows x4 per round). Every solution of cost :math:`\le T` lies in the
reduced problem of target :math:`T`; if its optimum :math:`Z_R\le T`, then :math:`Z_R` is
the optimum; if :math:`Z_R > T` (or it is infeasible), :math:`Z^* > T` and :math:`T` is a
valid bound. With integral costs (up to a round-off ``int_dev``) and integral assignment,
bounds are rounded up to integers (less ``int_dev``) and targets down.

Split demand: Lagrangian branch and bound. With split demand (capacitated, not
single-source) the arcs cannot be removed, and the reduced MIP is slow; instead
:func:`branch_and_bound` branches on the sites best-first. A node's bound is
:math:`L(\lambda)` of the problem restricted to its sites (some forced open), warm-started
from its parent; reduced-cost fixing applies in every node; a node with every site fixed is
the transportation LP, solved exactly. The least open node bound is a valid lower bound at
any time; when no open node remains below the incumbent, the incumbent is optimal.

Upper bounds come from the Lagrangian selections: for the p-median (exactly ``p`` sites,
no binding capacity) a vectorised Whitaker interchange (best swap over all pairs, with
nearest and second-nearest open sites); with capacities and split demand a transportation
LP over the open sites (scipy HiGHS) with greedy closing; single-source a greedy
regret assignment. The reduced MIP goes through the OR-Tools adapter
:mod:`wastenet.siting.mip` with the incumbent as a hint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from wastenet.siting.data import SitingData
from wastenet.siting.mip import MipOptions, MipSolution, solve_mip
from wastenet.siting.model import CompiledModel
from wastenet.siting.result import SitingResult

if TYPE_CHECKING:
    from wastenet.siting.solve import SiteParams

log = logging.getLogger("wastenet.siting.fixing")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: dense cost matrices up to this many entries (customers x sites)
MAX_DENSE = 4_000_000
#: relative safety margin on bounds and fixing thresholds
SAFETY = 1e-9
#: first target above the Lagrangian bound (relative), and its growth per round
TARGET_START = 1e-3
TARGET_GROWTH = 4.0
#: subgradient iterations per branch-and-bound node
BB_NODE_ITER = 200
#: share of the time limit kept free at the end (result assembly, reading, start-up)
END_MARGIN = 0.05
#: seconds the heuristic after the subgradient steps may run past their deadline (not
#: past the time limit)
FINAL_HEURISTIC_S = 5.0
#: estimated seconds to build one column of a reduced MIP (measured 15-23 us per column
#: with pywraplp and SCIP on pmed29, 7 k and 342 k columns); a reduced MIP whose estimated
#: build takes more than half the time left is not started
BUILD_S_PER_COLUMN = 2.5e-5


@dataclass(frozen=True, eq=False)
class OneLevel:
    """Dense arrays of a one-echelon problem (see the module docstring)."""

    w: FloatArray  #: (n,) demand
    cost: FloatArray  #: (n, m) cost of the whole demand of i at k; inf where no arc
    fixed: FloatArray  #: (m,)
    cap: FloatArray  #: (m,)
    forced: BoolArray  #: (m,)
    usable: BoolArray  #: (m,) site has an option
    opt_of: IntArray  #: (m,) option index of the site (-1 unusable)
    arc: IntArray  #: (n, m) direct arc index, -1 where none
    lo: int
    hi: int
    single_source: bool
    integral_x: bool  #: some optimal solution assigns every customer wholly
    integral_obj: bool  #: integral_x and integral costs: the optimum is an integer
    uncapacitated: bool
    #: with integral_obj: the objective of any integral assignment is within int_dev of an
    #: integer (the integer-valued costs are represented with round-off)
    int_dev: float = 0.0

    @property
    def n(self) -> int:
        return int(self.w.shape[0])

    @property
    def m(self) -> int:
        return int(self.fixed.shape[0])


def one_level(model: CompiledModel) -> OneLevel | None:
    """The dense one-echelon view of ``model``, or ``None`` when it does not apply."""
    inc = model.incinerator
    n, m = model.demand.shape[0], inc.n_sites
    if len(model.collect) or len(model.haul) or m == 0 or n == 0:
        return None
    if n * m > MAX_DENSE or inc.existing.any() or model.can_skip.any():
        return None
    if np.unique(inc.opt_site).shape[0] != inc.opt_site.shape[0]:
        return None  # several sizes per site
    w = model.demand
    if not np.all(w > 0):
        return None
    lo, hi = 0, m
    for echelon, sense, value, mask, _ in model.counts:
        if echelon != "incinerator":
            if sense in ("eq", "ge") and value > 0:
                return None
            continue
        if not mask[inc.opt_site].all():
            return None  # a count on a region only
        if sense in ("eq", "ge"):
            lo = max(lo, value)
        if sense in ("eq", "le"):
            hi = min(hi, value)
    opt_of = np.full(m, -1, dtype=np.int64)
    opt_of[inc.opt_site] = np.arange(inc.opt_site.shape[0])
    usable = opt_of >= 0
    fixed = np.zeros(m)
    cap = np.zeros(m)
    fixed[inc.opt_site] = inc.opt_fixed
    cap[inc.opt_site] = inc.opt_cap
    d = model.direct
    cost = np.full((n, m), np.inf)
    cost[d.src, d.dst] = d.cost * w[d.src]
    arc = np.full((n, m), -1, dtype=np.int64)
    arc[d.src, d.dst] = np.arange(len(d))
    cost[:, ~usable] = np.inf
    total = float(w.sum())
    top = np.cumsum(np.sort(cap[usable])[::-1])
    c_min = int(np.searchsorted(top, total * (1 - 1e-9), side="left")) + 1
    lo = max(lo, min(c_min, int(usable.sum())))
    forced = inc.forced & usable
    uncap = bool(np.all(cap[usable] >= total))
    fin = np.where(np.isfinite(cost), cost, 0.0)
    integral_x = model.single_source or uncap
    # costs integral up to round-off: dev bounds |objective - nearest integer objective|
    off = np.abs(fin - np.round(fin))
    dev = float(off.max(axis=1).sum() + np.abs(fixed - np.round(fixed)).sum())
    integral_obj = integral_x and bool(np.all(off <= 1e-9 * np.maximum(1.0, np.abs(fin)))
                                       and np.abs(fin).max(initial=0.0) < 2**50
                                       and dev < 1e-3)
    return OneLevel(w=w, cost=cost, fixed=fixed, cap=cap, forced=forced, usable=usable,
                    opt_of=opt_of, arc=arc, lo=lo, hi=hi, single_source=model.single_source,
                    integral_x=integral_x, integral_obj=integral_obj, uncapacitated=uncap,
                    int_dev=dev if integral_obj else 0.0)


# ------------------------------------------------------------------ Lagrangian subproblem
@dataclass(frozen=True, eq=False)
class LagEval:
    """One evaluation of :math:`L(\\lambda)`."""

    value: float
    v: FloatArray  #: (m,) site values v_k (inf for unusable)
    pick: BoolArray  #: selected sites
    x_sel: FloatArray  #: (n,) sum of x over the selected sites (for the subgradient)


def _knapsack(p: OneLevel, red: FloatArray, want_x: BoolArray
              ) -> tuple[FloatArray, FloatArray]:
    """Per-site continuous knapsack values (without f) and x for the columns ``want_x``."""
    neg = red < 0
    negw = (p.w[:, None] * neg).sum(axis=0)
    val = np.where(neg, red, 0.0).sum(axis=0)
    x = np.zeros((p.n, p.m))
    tight = np.flatnonzero(negw > p.cap * (1 + 1e-12))
    loose = want_x.copy()
    loose[tight] = False
    if loose.any():
        x[:, loose] = neg[:, loose]
    if tight.size:
        sub = red[:, tight]
        ratio = np.where(sub < 0, sub / p.w[:, None], np.inf)
        order = np.argsort(ratio, axis=0, kind="stable")
        ws = p.w[order]
        ns = np.take_along_axis(sub, order, axis=0) < 0
        prev = np.cumsum(ws * ns, axis=0) - ws * ns
        frac = np.clip((p.cap[tight][None, :] - prev) / ws, 0.0, 1.0) * ns
        rs = np.take_along_axis(sub, order, axis=0)
        val[tight] = np.where(ns, rs * frac, 0.0).sum(axis=0)
        xt = np.zeros_like(frac)
        np.put_along_axis(xt, order, frac, axis=0)
        x[:, tight] = xt
    return val, x


def _select_value(p: OneLevel, v: FloatArray) -> tuple[float, BoolArray] | None:
    """min sum v_k y_k under lo <= sum y <= hi, forced sites open; None if infeasible."""
    free = np.flatnonzero(p.usable & ~p.forced)
    nf = int(p.forced.sum())
    lo, hi = max(0, p.lo - nf), min(free.size, p.hi - nf)
    if lo > hi:
        return None
    ranked = free[np.argsort(v[free], kind="stable")]
    neg = int(np.sum(v[free] < 0))
    take = min(max(neg, lo), hi)
    pick = p.forced.copy()
    pick[ranked[:take]] = True
    return float(v[pick].sum()), pick


def evaluate(p: OneLevel, lam: FloatArray) -> LagEval | None:
    """:math:`L(\\lambda)` with its site values and selection."""
    red = p.cost - lam[:, None]
    if p.uncapacitated:
        val = np.minimum(red, 0.0).sum(axis=0)
        v = np.where(p.usable, p.fixed + val, np.inf)
        sel = _select_value(p, v)
        if sel is None:
            return None
        s, pick = sel
        return LagEval(float(lam.sum()) + s, v, pick, (red[:, pick] < 0).sum(axis=1)
                       .astype(np.float64))
    val, x = _knapsack(p, red, np.ones(p.m, dtype=bool))
    v = np.where(p.usable, p.fixed + val, np.inf)
    sel = _select_value(p, v)
    if sel is None:
        return None
    s, pick = sel
    return LagEval(float(lam.sum()) + s, v, pick, x[:, pick].sum(axis=1))


def fixed_values(p: OneLevel, lam: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(L1, L0)``: the Lagrangian value with y_k fixed to 1 / to 0, per site (inf if
    infeasible). Exact for the sorted selection."""
    free = np.flatnonzero(p.usable & ~p.forced)
    nf = int(p.forced.sum())
    base = float(lam.sum()) + float(v[p.forced].sum())
    lo, hi = max(0, p.lo - nf), min(free.size, p.hi - nf)
    m = p.m
    l1 = np.full(m, np.inf)
    l0 = np.full(m, np.inf)
    if p.forced.any():
        l1[p.forced] = base  # adjusted below by the best free selection
    f = free.size
    if f == 0:
        sel = _select_value(p, v)
        if sel is not None:
            l1[p.forced] = float(lam.sum()) + sel[0]
        return l1, l0
    order = np.argsort(v[free], kind="stable")
    vs = v[free][order]
    pre = np.concatenate([[0.0], np.cumsum(vs)])  # pre[c] = sum of the c smallest
    c = np.arange(f + 1)

    def best(lo_c: int, hi_c: int, skip_rank: IntArray | None) -> FloatArray:
        """min over c in [lo_c, hi_c] of the c smallest values excluding rank skip_rank."""
        if skip_rank is None:
            if lo_c > hi_c:
                return np.array([np.inf])
            return np.array([pre[lo_c:hi_c + 1].min()])
        out = np.full(skip_rank.shape[0], np.inf)
        if lo_c > hi_c:
            return out
        cc = c[lo_c:hi_c + 1][None, :]
        r = skip_rank[:, None]
        idx = np.where(cc <= r, cc, cc + 1)
        ok = idx <= f
        vals = np.where(ok, pre[np.minimum(idx, f)] - np.where(cc > r, vs[r], 0.0), np.inf)
        # when c > rank the skipped element is inside the c+1 prefix: subtract it
        return vals.min(axis=1)  # type: ignore[no-any-return]

    ranks = np.arange(f)
    in_val = vs + best(max(0, lo - 1), min(hi - 1, f - 1), ranks)
    out_val = best(lo, min(hi, f - 1), ranks)
    l1[free[order]] = base + in_val
    l0[free[order]] = base + out_val
    if p.forced.any():
        l1[p.forced] = base + float(best(lo, hi, None)[0])
    return l1, l0


# ------------------------------------------------------------------ upper bounds
@dataclass(frozen=True, eq=False)
class Primal:
    """A feasible solution: open sites and the assignment matrix (fractions)."""

    cost: float
    open: BoolArray
    x: FloatArray  #: (n, m)


def _price(p: OneLevel, open_: BoolArray, x: FloatArray) -> float:
    c = np.where(x > 0, p.cost, 0.0)
    return float(p.fixed[open_].sum() + (c * x).sum())


def assign_nearest(p: OneLevel, open_: BoolArray) -> Primal | None:
    """Uncapacitated: every customer wholly to its cheapest open site."""
    cols = np.flatnonzero(open_)
    if cols.size == 0:
        return None
    sub = p.cost[:, cols]
    best = np.argmin(sub, axis=1)
    if not np.all(np.isfinite(sub[np.arange(p.n), best])):
        return None
    x = np.zeros((p.n, p.m))
    x[np.arange(p.n), cols[best]] = 1.0
    return Primal(_price(p, open_, x), open_.copy(), x)


def transport(p: OneLevel, open_: BoolArray) -> Primal | None:
    """Split demand: the transportation LP over the open sites (scipy HiGHS)."""
    cols = np.flatnonzero(open_)
    if cols.size == 0 or p.cap[cols].sum() < p.w.sum() * (1 - 1e-12):
        return None
    sub = p.cost[:, cols]
    ii, kk = np.nonzero(np.isfinite(sub))
    a = ii.shape[0]
    rows_eq = coo_matrix((np.ones(a), (ii, np.arange(a))), shape=(p.n, a)).tocsr()
    rows_ub = coo_matrix((p.w[ii], (kk, np.arange(a))), shape=(cols.size, a)).tocsr()
    res = linprog(sub[ii, kk], A_ub=rows_ub, b_ub=p.cap[cols], A_eq=rows_eq,
                  b_eq=np.ones(p.n), bounds=(0.0, 1.0), method="highs")
    if res.status != 0:
        return None
    x = np.zeros((p.n, p.m))
    x[ii, cols[kk]] = np.clip(res.x, 0.0, 1.0)
    x[x < 1e-10] = 0.0
    x /= x.sum(axis=1, keepdims=True)
    return Primal(_price(p, open_, x), open_.copy(), x)


def greedy_single(p: OneLevel, open_: BoolArray) -> Primal | None:
    """Single-source: regret-ordered greedy assignment within capacities."""
    cols = np.flatnonzero(open_)
    if cols.size == 0:
        return None
    sub = p.cost[:, cols] / p.w[:, None]
    room = p.cap[cols].copy()
    x = np.zeros((p.n, p.m))
    left = np.ones(p.n, dtype=bool)
    while left.any():
        fits = (p.w[:, None] <= room[None, :] + 1e-9) & np.isfinite(sub)
        s = np.where(fits, sub, np.inf)
        s2 = np.sort(s, axis=1)
        first = s2[:, 0]
        second = s2[:, 1] if cols.size > 1 else np.full(p.n, np.inf)
        with np.errstate(invalid="ignore"):
            regret = np.where(np.isfinite(second), second - first, 1e30) * p.w
        regret = np.where(left & np.isfinite(first), regret, -np.inf)
        if not np.isfinite(first[left]).all():
            return None
        i = int(np.argmax(regret))
        k = int(np.argmin(s[i]))
        x[i, cols[k]] = 1.0
        room[k] -= p.w[i]
        left[i] = False
    return Primal(_price(p, open_, x), open_.copy(), x)


def interchange(p: OneLevel, open_: BoolArray, *, deadline: float,
                max_moves: int = 100_000) -> Primal | None:
    """Whitaker best-swap interchange for the uncapacitated case with a fixed count.

    For every closed site ``a`` and open site ``b`` the change of swapping ``b`` out and
    ``a`` in is ``sum_i [c1_i == b] (min(d2_i, c_ia) - d1_i) + [c1_i != b] min(0, c_ia -
    d1_i)`` plus ``f_a - f_b`` (``d1, d2``: costs to the nearest and second-nearest open
    site, ``c1`` the nearest); all pairs are evaluated with numpy, best improving swap first.
    """
    cur = open_.copy()
    cost = np.where(np.isfinite(p.cost), p.cost, 1e300)
    closed_ok = p.usable.copy()
    moves = 0
    while moves < max_moves and time.perf_counter() < deadline:
        cols = np.flatnonzero(cur)
        if cols.size < 1:
            return None
        sub = cost[:, cols]
        if cols.size > 1:
            part = np.argpartition(sub, 1, axis=1)
            c1 = cols[part[:, 0]]
            d1 = sub[np.arange(p.n), part[:, 0]]
            d2 = sub[np.arange(p.n), part[:, 1]]
        else:
            c1 = np.full(p.n, cols[0])
            d1 = sub[:, 0]
            d2 = np.full(p.n, 1e300)
        gain_in = np.minimum(0.0, cost - d1[:, None])  # (n, m)
        base = gain_in.sum(axis=0)  # change if a opens and nothing closes
        best_delta, best_pair = -1e-9 * max(1.0, float(d1.sum())), None
        for b in cols.tolist():
            if p.forced[b]:
                continue
            rows = np.flatnonzero(c1 == b)
            extra = (np.minimum(d2[rows, None], cost[rows]) - d1[rows, None]
                     - gain_in[rows]).sum(axis=0) if rows.size else np.zeros(p.m)
            delta = base + extra + p.fixed - p.fixed[b]
            delta = np.where(closed_ok & ~cur, delta, np.inf)
            a = int(np.argmin(delta))
            if delta[a] < best_delta:
                best_delta, best_pair = float(delta[a]), (b, a)
        if best_pair is None:
            break
        cur[best_pair[0]] = False
        cur[best_pair[1]] = True
        moves += 1
    return assign_nearest(p, cur)


def _complete(p: OneLevel, pick: BoolArray, v: FloatArray) -> BoolArray:
    """Add the cheapest-valued sites until the capacity covers the demand and lo holds."""
    out = pick.copy()
    order = np.argsort(np.where(p.usable & ~out, v, np.inf), kind="stable")
    total = float(p.w.sum())
    for k in order.tolist():
        if (p.cap[out].sum() >= total and out.sum() >= p.lo) or not p.usable[k] or out[k]:
            if p.cap[out].sum() >= total and out.sum() >= p.lo:
                break
            continue
        out[k] = True
    return out


def heuristic(p: OneLevel, pick: BoolArray, v: FloatArray, deadline: float
              ) -> Primal | None:
    """A feasible solution from a Lagrangian selection (see the module docstring)."""
    if p.uncapacitated and p.lo == p.hi:
        return interchange(p, pick, deadline=deadline)
    start = _complete(p, pick, v)
    if start.sum() > p.hi:
        return None
    if p.uncapacitated:
        return assign_nearest(p, start)
    if p.single_source:
        return greedy_single(p, start)
    best = transport(p, start)
    if best is None:
        return None
    # greedy closing: try to close open sites, worst Lagrangian value first, while the
    # capacity suffices and the cost drops
    cand = [k for k in np.flatnonzero(best.open).tolist() if not p.forced[k]]
    cand.sort(key=lambda k: -float(v[k]))
    total = float(p.w.sum())
    for k in cand:
        if time.perf_counter() > deadline or best.open.sum() - 1 < p.lo:
            break
        trial = best.open.copy()
        trial[k] = False
        if p.cap[trial].sum() < total:
            continue
        got = transport(p, trial)
        if got is not None and got.cost < best.cost - 1e-9 * best.cost:
            best = got
    return best


# ------------------------------------------------------------------ subgradient
@dataclass(frozen=True, eq=False)
class LagResult:
    bound: float  #: best L (before the safety margin)
    lam: FloatArray  #: multipliers of the best L
    best_eval: LagEval
    primal: Primal | None
    iterations: int


def subgradient(p: OneLevel, *, upper: Primal | None, deadline: float, max_iter: int = 3000,
                patience: int = 30, heur_every: int = 50, lam0: FloatArray | None = None,
                ub_cost: float = float("inf"), theta0: float = 2.0,
                final_deadline: float | None = None) -> LagResult | None:
    """Maximise :math:`L(\\lambda)` by subgradient steps; run heuristics on the way.

    ``lam0``: starting multipliers; ``ub_cost``: a known upper bound (for the steps).
    ``final_deadline``: the deadline of the heuristic run from the best multipliers after
    the steps (default ``deadline`` + :data:`FINAL_HEURISTIC_S`); callers with a time
    limit pass at most their own end."""
    if lam0 is not None:
        lam = lam0.copy()
    else:
        finite = np.where(np.isfinite(p.cost), p.cost, np.nan)
        lam = np.nan_to_num(np.nanmin(finite, axis=1))
        if p.uncapacitated and p.m > 1:
            srt = np.sort(np.where(np.isfinite(p.cost), p.cost, np.inf), axis=1)
            lam = np.where(np.isfinite(srt[:, 1]), srt[:, 1], lam)
    best_val, best_lam, best_ev = -np.inf, lam, None
    primal = upper
    theta, stall, it = theta0, 0, 0
    next_heur = 1
    h_budget = max(0.3, 0.05 * (deadline - time.perf_counter())) if np.isfinite(deadline) \
        else float("inf")
    tried: set[bytes] = set()
    for it in range(1, max_iter + 1):
        if time.perf_counter() > deadline:
            break
        ev = evaluate(p, lam)
        if ev is None:
            return None
        if best_ev is None or ev.value > best_val + 1e-12 * max(1.0, abs(best_val)):
            best_val, best_lam, best_ev, stall = ev.value, lam.copy(), ev, 0
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
        if it == next_heur:
            next_heur = max(next_heur + heur_every, 2 * next_heur)
            key = ev.pick.tobytes()
            if key not in tried:
                tried.add(key)
                got = heuristic(p, ev.pick, ev.v, min(deadline, time.perf_counter() + h_budget))
                if got is not None and (primal is None or got.cost < primal.cost):
                    primal = got
        ub = primal.cost if primal is not None else best_val + abs(best_val) * 0.1 + 1.0
        ub = min(ub, ub_cost)
        if ub - best_val <= SAFETY * max(1.0, abs(ub)):
            break
        if p.integral_obj and primal is not None and round_up(
                np.array([best_val]), p.int_dev)[0] - p.int_dev >= ub - 3 * p.int_dev - \
                SAFETY * max(1.0, abs(ub)):
            break
        g = 1.0 - ev.x_sel
        norm = float(g @ g)
        if norm <= 1e-18:
            break
        step = theta * (ub - ev.value) / norm
        lam = lam + step * g
        if theta < 1e-5:
            break
    if best_ev is None:
        return None
    if best_ev.pick.tobytes() not in tried:
        got = heuristic(p, best_ev.pick, best_ev.v, deadline + FINAL_HEURISTIC_S
                        if final_deadline is None else final_deadline)
        if got is not None and (primal is None or got.cost < primal.cost):
            primal = got
    return LagResult(best_val, best_lam, best_ev, primal, it)


# ------------------------------------------------------------------ fixing
@dataclass(frozen=True, eq=False)
class Fixing:
    """What the reduced MIP keeps: per-site open/closed fixings and per-arc bounds."""

    fix_open: BoolArray
    fix_closed: BoolArray
    keep_arc: BoolArray  #: (n, m)
    x_ub: FloatArray  #: (n, m) upper bound of x (1 where unrestricted)

    def same(self, other: Fixing) -> bool:
        """Do both define the same reduced problem?"""
        return bool(np.array_equal(self.fix_open, other.fix_open)
                    and np.array_equal(self.fix_closed, other.fix_closed)
                    and np.array_equal(self.keep_arc, other.keep_arc)
                    and np.array_equal(self.x_ub, other.x_ub))


def round_up(b: FloatArray, dev: float = 0.0) -> FloatArray:
    """Integral costs: the least integers that bound the integer-valued objectives from
    below, given bounds ``b`` of objectives that are within ``dev`` of integers."""
    with np.errstate(invalid="ignore"):  # inf bounds stay inf (or nan: never fixed)
        return np.ceil(b - dev - SAFETY * np.maximum(1.0, np.abs(b)))  # type: ignore[no-any-return]


def reduce(p: OneLevel, lam: FloatArray, v: FloatArray, upper: float) -> Fixing:
    """Reduced-cost fixing against the incumbent cost ``upper`` (module docstring)."""
    l1, l0 = fixed_values(p, lam, v)
    thr = upper + SAFETY * max(1.0, abs(upper))
    if p.integral_obj:
        # integral costs: a solution costs <= upper iff it costs <= floor(upper), and a
        # lower bound b of integral costs may be raised to ceil(b)
        thr = float(np.floor(thr + p.int_dev)) + 0.5
        l1 = round_up(l1, p.int_dev)
        l0 = round_up(l0, p.int_dev)
    fix_closed = p.usable & ~p.forced & (l1 > thr)
    fix_open = p.usable & (l0 > thr) & ~fix_closed
    red = p.cost - lam[:, None]
    room = thr - l1  # >= 0 on sites not closed
    pos = np.maximum(red, 0.0)
    keep = np.isfinite(p.cost) & p.usable[None, :] & ~fix_closed[None, :]
    if p.integral_x:
        if p.integral_obj:
            with np.errstate(invalid="ignore"):
                keep &= ~(round_up(l1[None, :] + pos, p.int_dev) > thr)
        else:
            keep &= ~(pos > room[None, :])
        x_ub = np.ones_like(p.cost)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            x_ub = np.where(pos > 0, np.minimum(1.0, room[None, :] / pos), 1.0)
        x_ub = np.where(keep, np.clip(x_ub, 0.0, 1.0), 0.0)
    return Fixing(fix_open, fix_closed, keep, x_ub)


def open_mask(model: CompiledModel, sel: BoolArray) -> CompiledModel:
    """``model`` with the sites ``sel`` forced open."""
    inc = model.incinerator
    return replace(model, incinerator=replace(inc, forced=inc.forced | sel))


# ------------------------------------------------------------------ branch and bound
def restrict(p: OneLevel, cols: IntArray, forced: BoolArray) -> OneLevel:
    """``p`` on the site columns ``cols`` only (others closed), ``forced`` (over cols) open."""
    return replace(p, cost=p.cost[:, cols], fixed=p.fixed[cols], cap=p.cap[cols],
                   forced=forced.copy(), usable=np.ones(cols.size, dtype=bool),
                   opt_of=p.opt_of[cols], arc=p.arc[:, cols])


def widen(p: OneLevel, cols: IntArray, sol: Primal) -> Primal:
    """A solution of ``restrict(p, cols, .)`` as a solution of ``p``."""
    op = np.zeros(p.m, dtype=bool)
    op[cols[sol.open]] = True
    x = np.zeros((p.n, p.m))
    x[:, cols] = sol.x
    return Primal(sol.cost, op, x)


@dataclass(frozen=True, eq=False)
class BranchResult:
    best: Primal | None
    bound: float  #: valid lower bound of the problem searched (before safety margins)
    complete: bool  #: the search finished: ``best`` is optimal (or none is cheaper)
    nodes: int


def branch_and_bound(p: OneLevel, cols: IntArray, forced: BoolArray, lam: FloatArray,
                     incumbent: Primal | None, root_bound: float, *, deadline: float,
                     node_iter: int = 200) -> BranchResult:
    """Best-first branch and bound over the sites ``cols`` with Lagrangian node bounds.

    A node fixes some sites open (``forced``) and others closed (dropped from its columns);
    its bound is :math:`L(\\lambda)` of the restricted problem (warm-started subgradient),
    valid for every solution in the node by weak duality. Sites whose fixed values (see
    :func:`fixed_values`) exceed the incumbent are fixed in the node (reduced-cost fixing);
    the node branches on the free site maximising ``min(L1, L0)``. A node with every site
    fixed is solved exactly (transportation LP / nearest assignment / greedy for
    single-source -- the latter is not exact, so this search is used with split demand or
    uncapacitated sites only). The search is complete when no open node has a bound below
    the incumbent; the bound returned is the least open bound otherwise.
    """
    import heapq

    best = incumbent
    total = float(p.w.sum())
    heap: list[tuple[float, int, IntArray, BoolArray, FloatArray]] = [
        (root_bound, 0, cols, forced, lam)]
    counter, nodes = 1, 0

    def ub() -> float:
        return best.cost if best is not None else float("inf")

    def tol() -> float:
        return SAFETY * max(1.0, abs(ub()))

    while heap:
        if time.perf_counter() > deadline:
            break
        bound, _, c, f, lam_n = heapq.heappop(heap)
        if bound >= ub() - tol():
            heap.clear()
            break
        nodes += 1
        if p.cap[c].sum() < total * (1 - 1e-12) or f.sum() > p.hi or c.size < p.lo:
            continue
        q = restrict(p, c, f)
        if f.all():
            got = transport(q, f) if not p.uncapacitated else assign_nearest(q, f)
            if got is not None and got.cost < ub():
                best = widen(p, c, got)
            continue
        lr = subgradient(q, upper=None, deadline=deadline, max_iter=node_iter, patience=10,
                         heur_every=node_iter // 2, lam0=lam_n, ub_cost=ub(), theta0=1.0,
                         final_deadline=deadline)
        if lr is None:
            continue
        if lr.primal is not None and lr.primal.cost < ub():
            best = widen(p, c, lr.primal)
        nb = max(bound, lr.bound)
        if nb >= ub() - tol():
            continue
        l1, l0 = fixed_values(q, lr.lam, lr.best_eval.v)
        thr = ub() - tol()
        close = ~f & (l1 >= thr)
        open_ = ~f & ~close & (l0 >= thr)
        keep = ~close
        c2, f2 = c[keep], (f | open_)[keep]
        l1k, l0k = l1[keep], l0[keep]
        free = np.flatnonzero(~f2)
        if free.size == 0:
            heapq.heappush(heap, (nb, counter, c2, f2, lr.lam))
            counter += 1
            continue
        score = np.minimum(l1k[free], l0k[free])
        k = int(free[np.argmax(score)])
        # child 1: k closed; child 2: k open
        drop = np.ones(c2.size, dtype=bool)
        drop[k] = False
        heapq.heappush(heap, (max(nb, float(l0k[k])), counter, c2[drop], f2[drop], lr.lam))
        f_open = f2.copy()
        f_open[k] = True
        heapq.heappush(heap, (max(nb, float(l1k[k])), counter + 1, c2, f_open, lr.lam))
        counter += 2
    if heap:
        lb = min(min(h[0] for h in heap), ub())
        return BranchResult(best, lb, False, nodes)
    return BranchResult(best, ub(), True, nodes)


# ------------------------------------------------------------------ driver
def _as_mip(model: CompiledModel, p: OneLevel, sol: Primal) -> MipSolution:
    """A heuristic solution as variable values of the full model."""
    inc = model.incinerator
    z = np.zeros(inc.opt_site.shape[0])
    z[p.opt_of[sol.open]] = 1.0
    d = np.zeros(len(model.direct))
    ii, kk = np.nonzero(sol.x > 0)
    d[p.arc[ii, kk]] = sol.x[ii, kk]
    n = p.n
    return MipSolution("feasible", sol.cost, float("-inf"), np.zeros(model.transfer.opt_site
                                                                      .shape[0]),
                       z, np.zeros(len(model.collect)), d, np.zeros(len(model.haul)), np.zeros(n), 0.0, 0)


def solve_fixing(data: SitingData, model: CompiledModel, params: SiteParams,
                 report: Callable[[float, float | None, float | None, str], None],
                 t0: float) -> SitingResult | None:
    """The one-echelon path (module docstring); ``None`` when it does not apply or finds
    no feasible solution (the caller then takes the general path)."""
    p = one_level(model)
    if p is None:
        return None
    limit = params.time_limit_s
    end = None if limit is None else t0 + limit
    now = time.perf_counter()
    left = 1e9 if end is None else end - now
    lag_deadline = float("inf") if end is None else now + min(0.3 * left, 25.0)
    max_iter = 3000 if params.max_iterations is None else max(50, params.max_iterations)
    report(0.02, None, None, "Lagrangian bound")
    heur_deadline = min(lag_deadline + FINAL_HEURISTIC_S,
                        float("inf") if end is None else end)
    lr = subgradient(p, upper=None, deadline=lag_deadline, max_iter=max_iter,
                     final_deadline=heur_deadline)
    if lr is None:
        return None
    primal = lr.primal
    if primal is None:
        primal = heuristic(p, lr.best_eval.pick, lr.best_eval.v, heur_deadline)
    if primal is None:
        return None
    lag_lb = lr.bound - SAFETY * max(1.0, abs(lr.bound))
    if p.integral_obj:
        lag_lb = max(lag_lb, float(round_up(np.array([lr.bound]), p.int_dev)[0]) - p.int_dev)
    ub = primal.cost
    lines = [f"Lagrangian: bound {lag_lb:.10g} after {lr.iterations} iterations, incumbent "
             f"{ub:.10g}"]
    best_sol = _as_mip(model, p, primal)
    best_cost = ub
    lb = lag_lb
    proven = ub <= lag_lb + SAFETY * max(1.0, abs(ub))
    solver = "lagrangian"
    nodes = 0
    # targets T = L + delta, growing until a reduced MIP is solved with optimum <= T (then
    # it is the optimum of the full problem) or reaches the incumbent (see the docstring)
    delta = max(min(ub - lr.bound, TARGET_START * abs(lr.bound)), 1e-6 * max(1.0, abs(ub)))
    if not proven and not p.integral_x:
        # split demand: Lagrangian branch and bound (exact leaves: transportation LPs)
        bb_end = float("inf") if end is None else end - END_MARGIN * (limit or 0.0)
        report(0.35, best_cost, lb, "Lagrangian branch and bound")
        bb = branch_and_bound(p, np.flatnonzero(p.usable), p.forced[p.usable], lr.lam,
                              primal, lr.bound, deadline=bb_end,
                              node_iter=BB_NODE_ITER if params.max_iterations is None
                              else min(BB_NODE_ITER, params.max_iterations))
        nodes = bb.nodes
        if bb.best is not None and bb.best.cost < best_cost:
            best_sol, best_cost = _as_mip(model, p, bb.best), bb.best.cost
            solver = "lagrangian-bb"
        lb = max(lb, min(bb.bound, best_cost) - SAFETY * max(1.0, abs(best_cost)))
        proven = bb.complete
        lines.append(f"branch and bound: {bb.nodes} nodes, {'complete' if bb.complete else 'stopped'}"
                     f", incumbent {best_cost:.10g}, bound {lb:.10g}")
        log.info("%s: %s", data.name, lines[-1])
    rounds = 0
    prev: tuple[Fixing, MipSolution] | None = None
    while not proven and p.integral_x:
        rounds += 1
        target = min(best_cost, lr.bound + delta)
        last = target >= best_cost
        fx = reduce(p, lr.lam, lr.best_eval.v, target)
        n_free = int((p.usable & ~fx.fix_closed & ~fx.fix_open).sum())
        lines.append(f"target {target:.10g}: {int(fx.fix_closed.sum())} sites fixed closed, "
                     f"{int(fx.fix_open.sum())} open, {n_free} free; "
                     f"{int(fx.keep_arc.sum())} of {int(np.isfinite(p.cost).sum())} arcs kept")
        report(0.35, best_cost, lb, lines[-1])
        keep_opt = np.zeros(model.incinerator.opt_site.shape[0], dtype=bool)
        keep_opt[p.opt_of[p.usable & ~fx.fix_closed]] = True
        keep_d = np.zeros(len(model.direct), dtype=bool)
        ii, kk = np.nonzero(fx.keep_arc)
        keep_d[p.arc[ii, kk]] = True
        d_ub = np.ones(len(model.direct))
        d_ub[p.arc[ii, kk]] = fx.x_ub[ii, kk]
        rest = None if end is None else end - time.perf_counter() - END_MARGIN * (limit or 0.0)
        if prev is not None and prev[0].same(fx):
            # the same reduced problem as the last round, already solved to optimality: it
            # contains every solution of cost <= target as well
            lb = max(lb, min(target, prev[1].bound))
            lines.append("reduced problem unchanged: its optimum stands")
            if best_cost <= lb + SAFETY * max(1.0, abs(best_cost)) or last:
                proven = best_cost <= lb + SAFETY * max(1.0, abs(lb))
                break
            delta *= TARGET_GROWTH
            continue
        if rest is not None and (rest < 0.5 or BUILD_S_PER_COLUMN * (
                int(fx.keep_arc.sum()) + int(keep_opt.sum())) > 0.5 * rest):
            break  # no time to build and search the reduced MIP
        opts = MipOptions(backend=params.mip_backend, time_limit_s=rest, threads=params.threads,
                          mip_gap=params.mip_gap, seed=params.seed,
                          node_limit=params.max_iterations)
        sol = solve_mip(open_mask(model, fx.fix_open), opts, keep_inc_opt=keep_opt,
                        keep_collect=np.zeros(len(model.collect), dtype=bool),
                        keep_haul=np.zeros(len(model.haul), dtype=bool),
                        keep_direct=keep_d, hint=best_sol, direct_ub=d_ub)
        nodes += sol.nodes
        lines.append(f"reduced MIP {params.mip_backend}: {sol.status}, objective "
                     f"{sol.objective:.10g}, bound {sol.bound:.10g}, {sol.nodes} nodes, "
                     f"{sol.wall_s:.2f}s")
        log.info("%s: %s; %s", data.name, lines[-2], lines[-1])
        if sol.status in ("optimal", "feasible") and sol.objective < best_cost:
            best_sol, best_cost = sol, sol.objective
            solver = f"fixing+mip-{params.mip_backend.lower()}"
        if sol.status == "infeasible":
            # no solution costs <= target
            lb = max(lb, target)
        elif sol.status in ("optimal", "feasible"):
            # every solution of cost <= target lies in the reduced problem
            lb = max(lb, min(target, sol.bound))
        if sol.status not in ("optimal", "infeasible"):
            break  # out of time or work
        if sol.status == "optimal":
            prev = (fx, sol)
        if best_cost <= lb + SAFETY * max(1.0, abs(best_cost)) or last:
            proven = sol.status == "optimal" or best_cost <= lb + SAFETY * max(1.0, abs(lb))
            if sol.status == "optimal" and last:
                lb = max(lb, min(best_cost, sol.bound))
            break
        delta *= TARGET_GROWTH
    from wastenet.siting.solve import to_result

    res = to_result(data, model, best_sol, lower_bound=lb,
                    status="optimal" if proven else "feasible", solver=solver,
                    seed=params.seed, elapsed_s=time.perf_counter() - t0, iterations=nodes,
                    log_lines=tuple(lines))
    if res.total_cost > res.lower_bound + SAFETY * max(1.0, abs(res.total_cost)) * 10:
        res = replace(res, status="feasible")
    report(1.0, res.total_cost, res.lower_bound, f"done: {res.status}")
    return res
