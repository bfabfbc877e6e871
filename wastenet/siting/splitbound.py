r"""Split bound: a lower bound of the siting model with a strong, village-level plant linking.

Why
---
The LP relaxation of :mod:`wastenet.siting.model` links hauls to plants only by
:math:`h_{jk}\le M Z_k`: a station's flow may go to a hundredth of a plant opened next to
it, so the LP hauls almost for free. Here each village's waste is followed to the plant that
processes it, which allows the facility-location linking :math:`a_{ik}\le Z_k`.

Relaxation
----------
Write the cost of any solution as :math:`\mathrm{TF} + \mathrm{IF} + \mathrm{FLOW}`
(station fixed costs, plant fixed costs, everything else). Let
:math:`p_{ik}` be the cheapest path cost of one tonne from village :math:`i` to plant
:math:`k`: a direct arc, or a collection arc to any station :math:`j` plus its haul arc
:math:`j\to k` (throughput costs included, station openness and capacity ignored).

1. :math:`\mathrm{TF}\ge B_T`, the optimum (the MIP solver's best bound) of
   :math:`\min \sum F_{jl}y_{jl}` subject to one size per site, the station count targets,
   the station cover cuts of :mod:`wastenet.siting.cuts`, and
   :math:`\sum C_{jl}y_{jl}\ge D^T - \bar C^T`, where :math:`D^T` is the demand of the
   villages that must be covered and have no direct arc.
2. :math:`\mathrm{IF}+\mathrm{FLOW}\ge B_P`, the optimum of the LP

   .. math::

       \min \sum_{k,l}F_{kl}z_{kl} + \sum_{i,k} w_i p_{ik} a_{ik} + \sum_i w_i \hat p_i
       \hat a_i + \sum_i P w_i u_i

   subject to :math:`\sum_k a_{ik}+\hat a_i+u_i=1` (:math:`u_i=0` unless :math:`i` may be
   skipped), :math:`a_{ik}\le Z_k` (new plants), :math:`\sum_i w_i a_{ik}\le
   \mathrm{Cap}_k`, one size per site (forced sites open), the plant count targets and the
   plant cover cuts. To keep the LP small only the ``k_max`` cheapest plants of each
   village get an :math:`a_{ik}`; :math:`\hat a_i` stands for all the others at the cost
   :math:`\hat p_i` of the cheapest of them, without linking or capacity (a relaxation of
   those options, so the bound stays valid).

Lagrangian form of 2. (for models too large for the LP)
------------------------------------------------------
Keep every path (no truncation, no catch-all) and relax the coverage rows with multipliers
:math:`\lambda_i` (the plant cover cuts are left out):

.. math::

    L(\lambda) = \sum_i \lambda_i + \sum_{i\ \text{skippable}} \min(0, P w_i-\lambda_i)
      + \min_{z}\Big[\sum_{k,l} F_{kl} z_{kl}
      + \sum_k \min_{a_{\cdot k}} \sum_i (w_i p_{ik} - \lambda_i) a_{ik}\Big]

where, for each plant, :math:`0\le a_{ik}\le Z_k` and
:math:`\sum_i w_i a_{ik}\le\mathrm{Cap}_k`: for a size, a continuous knapsack (fill the
villages of negative reduced cost per tonne, best first); each site takes its best size;
the sites to open are chosen under the plant count targets (a sort, or the LP of
:func:`wastenet.siting.lagrange._select`, whose optimum bounds that choice from below).
The minimum over the relaxed set is exact, so :math:`L(\lambda)\le B_P` for every
:math:`\lambda` (weak duality) and :math:`B_T + \max L` is a valid bound; the
multipliers follow the subgradient method with Polyak steps, vectorised over the paths
(:func:`plant_lagrangian`).

Validity: decompose the flow of an optimal solution into village-to-plant paths
(:math:`a_{ik}` = share of village :math:`i` processed at :math:`k`; a station splits its
villages' waste in proportion to its hauls). Each path costs at least :math:`p_{ik}`, a
village's waste only reaches open plants, capacities and counts hold, and the cover cuts
hold for every integer solution; so the solution's :math:`(a, z)` is feasible for 2. at no
more than its :math:`\mathrm{IF}+\mathrm{FLOW}`, and its :math:`y` is feasible for 1. Hence
:math:`B_T + B_P \le` the optimum.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, vstack

from wastenet.siting.cuts import CoverCut, cover_cuts
from wastenet.siting.lagrange import _fill, _knapsack, _select
from wastenet.siting.mip import MipOptions, solve_matrix
from wastenet.siting.model import CompiledModel, Echelon
from wastenet.siting.ragged import expand

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

log = logging.getLogger("wastenet.siting.splitbound")

#: HiGHS settings of the plant LP: interior point (with crossover). Measured on
#: liaoning-2025-no-sharing (91 k path arcs): 60 s, against 310 s for the dual simplex; the
#: LP is a degenerate facility-location LP, where simplex methods stall.
IPM = "solver = ipm"


@dataclass(frozen=True)
class SplitBound:
    """``value = transfer + plants`` (yuan/yr; ``-inf`` when a part was not solved)."""

    value: float
    transfer: float
    plants: float
    n_arcs: int
    wall_s: float
    status: str
    n_cuts: int = 0


def path_costs(model: CompiledModel) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Cheapest village-to-plant path costs ``(village, plant, cost, rank)``, sorted by
    village then cost; ``rank`` is the position of the plant among its village's plants
    (0 = cheapest)."""
    n = model.demand.shape[0]
    q = model.incinerator.n_sites
    col, haul, dirc = model.collect, model.haul, model.direct
    order = np.argsort(haul.src, kind="stable")
    h_dst, h_cost = haul.dst[order], haul.cost[order]
    h_src = haul.src[order]
    start = np.searchsorted(h_src, np.arange(model.transfer.n_sites))
    stop = np.searchsorted(h_src, np.arange(model.transfer.n_sites), side="right")
    rep, hidx = expand(start[col.dst], (stop - start)[col.dst])
    src = np.concatenate([col.src[rep], dirc.src])
    dst = np.concatenate([h_dst[hidx], dirc.dst])
    cost = np.concatenate([col.cost[rep] + h_cost[hidx], dirc.cost])
    # cheapest per (village, plant)
    key = src.astype(np.int64) * q + dst
    o = np.lexsort((cost, key))
    key, cost = key[o], cost[o]
    first = np.ones(key.shape[0], bool)
    first[1:] = key[1:] != key[:-1]
    key, cost = key[first], cost[first]
    vil, pl = key // q, key % q
    o = np.lexsort((pl, cost, vil))
    vil, pl, cost = vil[o], pl[o], cost[o]
    begin = np.searchsorted(vil, np.arange(n))
    rank = np.arange(vil.shape[0]) - begin[vil]
    return vil, pl, cost, rank


def choose_k(model: CompiledModel, vil: IntArray, max_arcs: int) -> int:
    """The largest ``k_max`` whose kept arcs (``min(plants of i, k_max)`` summed over the
    villages) fit in ``max_arcs`` (at least 1)."""
    n = model.demand.shape[0]
    per = np.bincount(vil, minlength=n)
    lo, hi = 1, max(1, int(per.max(initial=1)))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(np.minimum(per, mid).sum()) <= max_arcs:
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Rows:
    """Rows ``lo <= sum(val * x[idx]) <= hi`` collected for one sparse matrix."""

    def __init__(self) -> None:
        self.idx: list[IntArray] = []
        self.val: list[FloatArray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, idx: IntArray, val: FloatArray, lo: float, hi: float) -> None:
        self.idx.append(idx)
        self.val.append(val)
        self.lo.append(lo)
        self.hi.append(hi)

    def counts(self, ech: Echelon, model: CompiledModel, name: str, cols_of_opt: IntArray
               ) -> None:
        """The count targets of echelon ``name`` over its option columns."""
        for echelon, sense, value, mask, _ in model.counts:
            if echelon == name:
                o = np.flatnonzero(mask[ech.opt_site])
                self.add(cols_of_opt[o], np.ones(o.size),
                         float(value) if sense in ("eq", "ge") else -np.inf,
                         float(value) if sense in ("eq", "le") else np.inf)

    def one_size(self, ech: Echelon, cols_of_opt: IntArray) -> None:
        """One size per site (at least one for a forced site)."""
        if ech.opt_site.size == 0:  # (np.split of nothing gives one empty group)
            return
        order = np.argsort(ech.opt_site, kind="stable")
        sites, first = np.unique(ech.opt_site[order], return_index=True)
        for s, g in zip(sites.tolist(), np.split(order, first[1:]), strict=True):
            self.add(cols_of_opt[g], np.ones(g.size), 1.0 if ech.forced[s] else -np.inf, 1.0)

    def cuts(self, cuts: Sequence[CoverCut], name: str, ech: Echelon, cols_of_opt: IntArray
             ) -> None:
        """The cover cuts of echelon ``name``: fixed costs of their options >= rhs."""
        for c in cuts:
            if c.echelon == name:
                self.add(cols_of_opt[c.options], ech.opt_fixed[c.options], c.rhs, np.inf)

    def matrix(self, n_cols: int) -> csr_matrix:
        lengths = np.array([r.size for r in self.idx], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate(self.idx) if self.idx else np.zeros(0, np.int64)
        data = np.concatenate(self.val) if self.val else np.zeros(0)
        return csr_matrix((data, indices, indptr), shape=(len(self.idx), n_cols))


def transfer_bound(model: CompiledModel, cuts: Sequence[CoverCut], time_limit_s: float | None
                   ) -> float:
    """:math:`B_T` of the module docstring (the MIP's best bound; ``-inf`` if unsolved)."""
    tr = model.transfer
    n_opt = tr.opt_site.shape[0]
    if n_opt == 0:
        return 0.0
    cols = np.arange(n_opt)
    rows = _Rows()
    rows.one_size(tr, cols)
    rows.counts(tr, model, "transfer", cols)
    rows.cuts(cuts, "transfer", tr, cols)
    has_direct = np.zeros(model.demand.shape[0], bool)
    has_direct[model.direct.src] = True
    need = float(model.demand[~model.can_skip & ~has_direct].sum()) - float(
        tr.existing_cap[tr.existing].sum())
    if need > 0:
        rows.add(cols, tr.opt_cap.astype(float), need, np.inf)
    sol = solve_matrix(tr.opt_fixed.astype(float), rows.matrix(n_opt), np.array(rows.lo),
                       np.array(rows.hi), np.zeros(n_opt), np.ones(n_opt), np.ones(n_opt, bool),
                       MipOptions(backend="SCIP", time_limit_s=time_limit_s, mip_gap=1e-6))
    return float(sol.bound) if sol.status in ("optimal", "feasible") else -np.inf


Paths = tuple[IntArray, IntArray, FloatArray, IntArray]


def plant_lp(model: CompiledModel, cuts: Sequence[CoverCut], k_max: int,
             paths: Paths | None = None
             ) -> tuple[FloatArray, csr_matrix, FloatArray, FloatArray, int]:
    """The LP of :math:`B_P`: ``(cost, A, row_lo, row_hi, number of a-arcs)``, all columns
    in [0, 1]; ``paths`` is :func:`path_costs` of the model when already computed."""
    inc = model.incinerator
    w = model.demand
    n = w.shape[0]
    vil, pl, pc, rank = path_costs(model) if paths is None else paths
    rest = np.full(n, np.inf)
    rest[vil[rank == k_max]] = pc[rank == k_max]
    keep = rank < k_max
    vil, pl, pc = vil[keep], pl[keep], pc[keep]
    n_a = vil.shape[0]
    n_opt = inc.opt_site.shape[0]
    has_rest = np.flatnonzero(np.isfinite(rest))
    skip = np.flatnonzero(model.can_skip)
    # columns: a (n_a) | z (n_opt) | a_hat (has_rest) | u (skip)
    c_z = n_a + np.arange(n_opt)
    c_hat = n_a + n_opt + np.arange(has_rest.size)
    c_u = n_a + n_opt + has_rest.size + np.arange(skip.size)
    n_cols = n_a + n_opt + has_rest.size + skip.size
    cost = np.concatenate([w[vil] * pc, inc.opt_fixed, w[has_rest] * rest[has_rest],
                           model.penalty * w[skip]])
    # coverage, one row per village: built in one go from a sorted column list
    cov_cols = np.concatenate([np.arange(n_a), c_hat, c_u])
    cov_vil = np.concatenate([vil, has_rest, skip])
    o = np.argsort(cov_vil, kind="stable")
    cov_cols, cov_vil = cov_cols[o], cov_vil[o]
    cov = csr_matrix((np.ones(cov_cols.size), (cov_vil, cov_cols)), shape=(n, n_cols))
    rows = _Rows()
    # linking a_ik <= sum_l z_kl for new plants
    o_sort = np.argsort(inc.opt_site, kind="stable")
    o_start = np.searchsorted(inc.opt_site[o_sort], np.arange(inc.n_sites))
    o_stop = np.searchsorted(inc.opt_site[o_sort], np.arange(inc.n_sites), side="right")
    opts_of = [o_sort[o_start[k]:o_stop[k]] for k in range(inc.n_sites)]
    for a in np.flatnonzero(~inc.existing[pl]).tolist():
        z_cols = c_z[opts_of[int(pl[a])]]
        rows.add(np.concatenate([[a], z_cols]), np.concatenate([[1.0], -np.ones(z_cols.size)]),
                 -np.inf, 0.0)
    # capacity per plant (none without path arcs: np.split of nothing gives one group)
    order = np.argsort(pl, kind="stable")
    sites, first = np.unique(pl[order], return_index=True)
    for k, g in zip(sites.tolist(), np.split(order, first[1:]) if order.size else [],
                    strict=True):
        rows.add(np.concatenate([g, c_z[opts_of[k]]]),
                 np.concatenate([w[vil[g]], -inc.opt_cap[opts_of[k]]]),
                 -np.inf, float(inc.existing_cap[k]))
    rows.one_size(inc, c_z)
    rows.counts(inc, model, "incinerator", c_z)
    # aggregate capacity: the waste of the left-out plants (a_hat) needs capacity too
    total = float(w.sum()) - float(inc.existing_cap[inc.existing].sum())
    if total > 0 and n_opt:
        rows.add(np.concatenate([c_z, c_u]),
                 np.concatenate([inc.opt_cap.astype(float), w[skip]]), total, np.inf)
    rows.cuts(cuts, "incinerator", inc, c_z)
    a_mat = vstack([cov, rows.matrix(n_cols)]).tocsr()
    row_lo = np.concatenate([np.ones(n), np.array(rows.lo)])
    row_hi = np.concatenate([np.ones(n), np.array(rows.hi)])
    return cost, a_mat, row_lo, row_hi, n_a


def plant_bound(model: CompiledModel, cuts: Sequence[CoverCut], *, k_max: int,
                time_limit_s: float | None, backend: str = "HIGHS",
                paths: Paths | None = None) -> tuple[float, int, str]:
    """:math:`B_P` of the module docstring: ``(value, number of a-arcs, LP status)``."""
    cost, a_mat, row_lo, row_hi, n_a = plant_lp(model, cuts, k_max, paths)
    n_cols = cost.shape[0]
    sol = solve_matrix(cost, a_mat, row_lo, row_hi, np.zeros(n_cols), np.ones(n_cols),
                       np.zeros(n_cols, bool), MipOptions(
                           backend=backend, relax=True, time_limit_s=time_limit_s,
                           extra_params=IPM if backend.upper() == "HIGHS" else ""))
    if sol.status != "optimal":  # (an infeasible relaxation is left to the other steps)
        return -np.inf, n_a, sol.status
    return sol.objective - 1e-9 * abs(sol.objective), n_a, sol.status


def split_bound(model: CompiledModel, cuts: Sequence[CoverCut] | None = None, *,
                groups: IntArray | None = None, max_arcs: int = 100_000,
                max_truncated: float = 1.0, time_limit_s: float | None = None
                ) -> SplitBound:
    """:math:`B_T + B_P` (see the module docstring). ``k_max`` is the largest that keeps at
    most ``max_arcs`` path arcs. When villages with more than ``k_max`` plants carry more
    than ``max_truncated`` of the demand (default: never), nothing is solved and ``status``
    says so: their left-out plants are free of fixed cost in the relaxation and can make
    the bound weak (under adjacent sharing, 786 M yuan/yr at 100 k arcs; without sharing,
    where 97 % of the demand is truncated too, it is still 844 M against the LP's 792 M).
    The plant LP gets the time left after the station MIP.
    Without ``cuts``, the cover cuts of the village ``groups`` (counties) are built once the
    bound is known to run."""
    t0 = time.perf_counter()
    paths = path_costs(model)
    vil, rank = paths[0], paths[3]
    k_max = choose_k(model, vil, max_arcs)
    w = model.demand
    truncated = float(w[np.unique(vil[rank == k_max])].sum()) / max(float(w.sum()), 1e-12)
    if truncated > max_truncated:
        return SplitBound(-np.inf, -np.inf, -np.inf, 0, time.perf_counter() - t0,
                          f"skipped: {truncated:.0%} of the demand reaches more than "
                          f"{k_max} plants")
    if cuts is None:
        cuts = [] if groups is None else cover_cuts(model, groups)
    b_t = transfer_bound(model, cuts, None if time_limit_s is None else 0.1 * time_limit_s)
    left = None if time_limit_s is None else max(1.0, time_limit_s - (time.perf_counter() - t0))
    b_p, n_a, status = plant_bound(model, cuts, k_max=k_max, time_limit_s=left, paths=paths)
    wall = time.perf_counter() - t0
    log.info("split bound: stations %.10g + plants %.10g (%d arcs, %s) in %.1fs", b_t, b_p,
             n_a, status, wall)
    return SplitBound(b_t + b_p, b_t, b_p, n_a, wall, status, len(cuts))


@dataclass(frozen=True)
class PlantLagrangian:
    r"""Best :math:`L(\lambda)` found (yuan/yr, after a ``1e-9`` relative safety margin;
    ``-inf`` when the plant selection is infeasible), iterations, paths, seconds."""

    bound: float
    iterations: int
    n_paths: int
    wall_s: float


def plant_lagrangian(model: CompiledModel, *, upper_bound: float,
                     deadline: float | None = None, max_iter: int = 2000,
                     patience: int = 50, paths: Paths | None = None,
                     on_iteration: Callable[[int, float], None] | None = None
                     ) -> PlantLagrangian:
    r"""Subgradient optimisation of :math:`L(\lambda)`, the Lagrangian form of
    :math:`B_P` (module docstring); ``upper_bound`` (an incumbent's plant and flow cost,
    or its total) sets the Polyak steps. ``on_iteration(it, bound)`` is called after
    every step with the best bound so far."""
    t0 = time.perf_counter()
    inc = model.incinerator
    w = model.demand
    n, q = w.shape[0], inc.n_sites
    vil, pl, pc, _ = path_costs(model) if paths is None else paths
    keep = w[vil] > 0
    vil, pl, pc = vil[keep], pl[keep], pc[keep]
    wv = w[vil]
    pos = w > 0
    skip = model.can_skip & pos
    pen = float(model.penalty)
    counts = [(s, v, mk) for e, s, v, mk, _ in model.counts if e == "incinerator"]
    cheapest = np.full(n, np.inf)
    np.minimum.at(cheapest, vil, pc)
    if pen > 0:
        cheapest = np.where(skip, np.minimum(cheapest, pen), cheapest)
    lam = np.where(pos & np.isfinite(cheapest), w * cheapest, 0.0)
    best, theta, stall, it = -np.inf, 2.0, 0, 0
    for it in range(1, max_iter + 1):
        if deadline is not None and time.perf_counter() > deadline:
            break
        ratio = pc - lam[vil] / wv
        opt_v, ex_v, _, order, cum_t, base_t = _knapsack(
            pl, ratio, wv, q, inc.opt_site, inc.opt_cap, inc.existing_cap, inc.existing)
        opt_v = opt_v + inc.opt_fixed
        site_v = np.full(q, np.inf)
        np.minimum.at(site_v, inc.opt_site, opt_v)
        picked = _select(inc, site_v, counts)
        if picked is None:
            return PlantLagrangian(-np.inf, it, int(vil.size), time.perf_counter() - t0)
        value = (float(lam[pos].sum()) + float(np.minimum(0.0, pen * w - lam)[skip].sum())
                 + picked[1] + float(ex_v[inc.existing].sum()))
        if value > best + 1e-12 * abs(best if np.isfinite(best) else 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
        if on_iteration is not None:
            on_iteration(it, best - 1e-9 * abs(best))
        # the relaxed solution: each open site filled with its best size
        best_opt = np.full(q, -1)
        is_best = np.flatnonzero(opt_v <= site_v[inc.opt_site])
        best_opt[inc.opt_site[is_best[::-1]]] = is_best[::-1]
        cap = np.zeros(q)
        opened = picked[0] & (best_opt >= 0)
        cap[opened] = inc.opt_cap[best_opt[opened]]
        cap[inc.existing] = inc.existing_cap[inc.existing]
        take = _fill(order, cum_t, base_t, wv, pl, cap, vil.shape[0])
        u = skip & (pen * w - lam < 0)
        g = np.where(pos, 1.0 - np.bincount(vil, weights=take / wv, minlength=n) - u, 0.0)
        norm = float(np.dot(g, g))
        if norm <= 1e-18:
            break  # the relaxed solution covers every village exactly: L is optimal
        gap = max(upper_bound - value, 1e-6 * max(1.0, abs(upper_bound)))
        lam = lam + theta * gap / norm * g
        if theta < 1e-4:
            break
    safe = best - 1e-9 * abs(best) if np.isfinite(best) else best
    return PlantLagrangian(float(safe), it, int(vil.size), time.perf_counter() - t0)


def split_lagrangian(model: CompiledModel, *, groups: IntArray | None, upper_bound: float,
                     deadline: float | None = None, max_iter: int = 2000, patience: int = 50,
                     on_iteration: Callable[[int, float], None] | None = None
                     ) -> SplitBound:
    """:math:`B_T` plus the Lagrangian form of :math:`B_P` over every path (module
    docstring): the split bound for models too large for its LP. :math:`B_T` (with the
    station cover cuts of the village ``groups``) gets a tenth of the time to
    ``deadline``, the subgradient steps the rest; ``upper_bound`` is an incumbent's
    total cost. ``status`` says how many steps ran."""
    t0 = time.perf_counter()
    cuts = [] if groups is None else cover_cuts(model, groups)  # B_T uses the station cuts
    b_t = transfer_bound(model, cuts, None if deadline is None
                         else max(1.0, 0.1 * (deadline - t0)))
    if not np.isfinite(b_t):
        return SplitBound(-np.inf, -np.inf, -np.inf, 0, time.perf_counter() - t0,
                          "station bound not solved", len(cuts))
    lag = plant_lagrangian(model, upper_bound=upper_bound - b_t, deadline=deadline,
                           max_iter=max_iter, patience=patience,
                           on_iteration=None if on_iteration is None
                           else (lambda it, b: on_iteration(it, b_t + b)))
    wall = time.perf_counter() - t0
    log.info("split Lagrangian: stations %.10g + plants %.10g (%d paths, %d steps) in %.1fs",
             b_t, lag.bound, lag.n_paths, lag.iterations, wall)
    return SplitBound(b_t + lag.bound, b_t, lag.bound, lag.n_paths, wall,
                      f"{lag.iterations} subgradient steps", len(cuts))


__all__ = ["PlantLagrangian", "SplitBound", "choose_k", "path_costs", "plant_bound",
           "plant_lagrangian", "plant_lp", "split_bound", "split_lagrangian", "transfer_bound"]
