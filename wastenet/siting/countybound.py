r"""County bound: the split bound with whole plants, county by county, when counties share nothing.

Why
---
The plant part :math:`B_P` of the split bound (:mod:`wastenet.siting.splitbound`) is an LP:
fractions of plants may open everywhere, so with one plant's worth of :math:`Z` spread over
twenty sites every village sits next to a plant. With the province count of plants far
below what the counties would open on their own, whole plants cost far more (measured on
liaoning-2025-no-sharing, county 28 with one plant: LP 21.0 M, MIP 28.9 M yuan/yr).

Relaxation
----------
When no arc crosses a county border (no sharing on either echelon), the plant part separates
by county except for the plant count targets. For county :math:`c`, villages
:math:`I_c`, plant sites :math:`K_c`, let :math:`P_c(m)` be the optimum of the split plant
program of :math:`c` (every village-to-plant path, :math:`a_{ik}\le Z_k`, capacities, one
size per site, forced and existing sites, uncovered villages at the penalty) **with binary
plant variables** and exactly :math:`m` new plants. Any :math:`L_c(m)\le P_c(m)` gives

.. math::

    B_C = B_T + \min\Big\{\sum_c L_c(m_c) :\ \sum_c m_c \;(=,\le,\ge)\; T,\
        0\le m_c\le |K_c^{new}|\Big\}

by a dynamic program over the counties, where :math:`B_T` is the station bound of the split
bound (:func:`wastenet.siting.splitbound.transfer_bound`) and :math:`T` the single
province-wide plant count target. It is a valid bound: in an
optimal solution each county's plant and flow cost is at least :math:`P_c(m_c)` at its own
number of plants :math:`m_c` (path decomposition, as in the split bound), the station fixed
cost at least :math:`B_T`, and its :math:`m_c` satisfy the count.

:math:`L_c(m)` is the largest of

1. the county's LP (binary plants relaxed, :math:`m` free): at most :math:`P_c(m)` for every
   :math:`m`;
2. where the dynamic program picks :math:`m` (and :math:`m \le` ``exact_max`` if given),
   the dual bound of the county MIP at exactly :math:`m` (HiGHS through
   :func:`wastenet.siting.mip.solve_matrix`, time-limited; ``+inf`` when it proves
   :math:`m` infeasible);
3. when no village of the county may stay uncovered, :math:`\Phi_c(m) + \sum_{i\in I_c}
   w_i \min_k p_{ik}`: the cheapest whole modules of :math:`m` plants that hold the county's
   waste (:func:`wastenet.siting.echelon.fixed_cost_targets` uses the same knapsack) plus
   every village's cheapest path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix

from wastenet.siting.cuts import CoverCut, cover_cuts
from wastenet.siting.data import SitingData
from wastenet.siting.mip import MipOptions, solve_matrix, solve_mip
from wastenet.siting.model import CompiledModel
from wastenet.siting.ragged import expand
from wastenet.siting.splitbound import Paths, path_costs, transfer_bound

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

log = logging.getLogger("wastenet.siting.countybound")

#: a county MIP stopped by its time limit is solved again, with this many times the time,
#: once every open pick has stopped at the current limit; up to this many times
#: ``sub_time_s``
RETRY_FACTOR = 4.0
RETRY_MAX = 16.0


@dataclass(frozen=True)
class CountyBound:
    """``value`` = ``transfer`` (:math:`B_T`) + ``plants`` (the dynamic program over
    :math:`L_c`); ``table[c][m]`` = :math:`L_c(m)` per county of ``counties``, and
    ``picks[c]`` the number of new plants the program gives it (empty without an
    allocation), a guide for :func:`wastenet.siting.echelon.reallocate_counts`."""

    value: float
    transfer: float
    plants: float
    counties: IntArray
    table: list[FloatArray]
    n_exact: int
    wall_s: float
    status: str
    picks: IntArray

    def by_county(self) -> dict[int, FloatArray]:
        """``table`` keyed by county id: :math:`L_c(m)` for ``m = 0, 1, ...``."""
        return {int(c): row for c, row in zip(self.counties.tolist(), self.table, strict=True)}


def applies(data: SitingData, model: CompiledModel) -> bool:
    """True when the county bound is used: at least two counties, every village with
    waste and every usable plant in one of them, closed counties (no arc crosses a
    border) and exactly one incinerator count target, over every new usable site
    (without a count the counties are independent and the split bound's LP already sums
    their parts; with one county, or none as in the classic benchmark files, the bound
    would be one LP of the whole model)."""
    from wastenet.siting.echelon import _closed, _single_count

    inc = model.incinerator
    vc = data.village_county[model.demand > 0]
    ic = data.incinerator.county[inc.usable]
    real = bool((vc >= 0).all() and (ic >= 0).all())
    return (real and np.unique(np.concatenate([vc, ic])).size >= 2
            and sum(c[0] == "incinerator" for c in model.counts) == 1
            and _single_count(model) and _closed(data, model))


def _county_program(model: CompiledModel, paths: Paths, villages: IntArray,
                    sites: IntArray, cuts: Sequence[CoverCut] = ()
                    ) -> tuple[FloatArray, object, FloatArray, FloatArray,
                               NDArray[np.bool_], IntArray]:
    """The split plant program of one county: ``(cost, A, row_lo, row_hi, integer,
    z columns)``; the count row is the last row (free: ``[0, inf]``)."""
    inc = model.incinerator
    w = model.demand
    vil, pl, pc, _ = paths
    in_v = np.zeros(w.shape[0], bool)
    in_v[villages] = True
    sel = np.flatnonzero(in_v[vil])
    a_v, a_k, a_c = vil[sel], pl[sel], pc[sel]
    v_row = np.full(w.shape[0], -1, dtype=np.int64)
    v_row[villages] = np.arange(villages.size)
    new = sites[~inc.existing[sites]]
    opts = np.flatnonzero(np.isin(inc.opt_site, new))
    skip = villages[model.can_skip[villages]]
    na, nz, nu = sel.size, opts.size, skip.size
    oz, ou = na, na + nz
    cost = np.concatenate([w[a_v] * a_c, inc.opt_fixed[opts], model.penalty * w[skip]])
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    r = 0
    # coverage
    rows += [v_row[a_v], v_row[skip]]
    cols += [np.arange(na), ou + np.arange(nu)]
    vals += [np.ones(na), np.ones(nu)]
    lo.append(np.ones(villages.size))
    hi.append(np.ones(villages.size))
    r += villages.size
    # linking a_ik <= sum_l z_kl for new plants
    site_of_opt = inc.opt_site[opts]
    order = np.argsort(site_of_opt, kind="stable")
    starts = np.searchsorted(site_of_opt[order], np.arange(inc.n_sites + 1))
    n_opt = np.diff(starts)
    link = np.flatnonzero(~inc.existing[a_k])
    link_r = r + np.arange(link.size)
    owner, idx = expand(starts[a_k[link]], n_opt[a_k[link]])
    rows += [link_r, link_r[owner]]
    cols += [link, oz + order[idx]]
    vals += [np.ones(link.size), -np.ones(idx.size)]
    lo.append(np.full(link.size, -np.inf))
    hi.append(np.zeros(link.size))
    r += link.size
    # capacity per plant
    k_row = np.full(inc.n_sites, -1, dtype=np.int64)
    k_row[sites] = r + np.arange(sites.size)
    rows += [k_row[a_k], k_row[site_of_opt]]
    cols += [np.arange(na), oz + np.arange(nz)]
    vals += [w[a_v], -inc.opt_cap[opts]]
    lo.append(np.full(sites.size, -np.inf))
    hi.append(np.where(inc.existing[sites], inc.existing_cap[sites], 0.0))
    r += sites.size
    # one size per new site (forced: exactly one)
    s_row = np.full(inc.n_sites, -1, dtype=np.int64)
    s_row[new] = r + np.arange(new.size)
    rows.append(s_row[site_of_opt])
    cols.append(oz + np.arange(nz))
    vals.append(np.ones(nz))
    lo.append(inc.forced[new].astype(float))
    hi.append(np.ones(new.size))
    r += new.size
    # the county's plant cover cuts (:mod:`wastenet.siting.cuts`): valid for every
    # integer solution, they tighten the LP of item 1
    col_of_opt = np.full(inc.opt_site.shape[0], -1, dtype=np.int64)
    col_of_opt[opts] = oz + np.arange(nz)
    for cut in cuts:
        keep = cut.options[col_of_opt[cut.options] >= 0]
        rows.append(np.full(keep.size, r))
        cols.append(col_of_opt[keep])
        vals.append(inc.opt_fixed[keep].astype(float))
        lo.append(np.full(1, cut.rhs))
        hi.append(np.full(1, np.inf))
        r += 1
    # the count row (last)
    rows.append(np.full(nz, r))
    cols.append(oz + np.arange(nz))
    vals.append(np.ones(nz))
    lo.append(np.zeros(1))
    hi.append(np.full(1, np.inf))
    r += 1
    n_cols = na + nz + nu
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(r, n_cols)).tocsr()
    integer = np.zeros(n_cols, bool)
    integer[oz:oz + nz] = True
    return cost, a, np.concatenate(lo), np.concatenate(hi), integer, new


def _phi_plus_paths(model: CompiledModel, paths: Paths, villages: IntArray,
                    sites: IntArray, m_max: int) -> FloatArray:
    r""":math:`\Phi_c(m) + \sum_i w_i \min_k p_{ik}` for ``m = 0..m_max`` (item 3 of the
    module docstring; ``-inf`` when a village may stay uncovered)."""
    from wastenet.siting.echelon import module_knapsack

    inc = model.incinerator
    w = model.demand
    if model.can_skip[villages].any():
        return np.full(m_max + 1, -np.inf)
    vil, _, pc, rank = paths
    first = (rank == 0) & np.isin(vil, villages)
    flows = float((w[vil[first]] * pc[first]).sum())
    need = float(w[villages].sum()) - float(inc.existing_cap[sites][inc.existing[sites]].sum())
    return module_knapsack(model, sites, need, m_max) + flows


def county_bound(data: SitingData, model: CompiledModel, *, exact_max: int | None = None,
                 sub_time_s: float = 3.0, deadline: float | None = None, workers: int = 1,
                 node_limit: int | None = None, paths: Paths | None = None,
                 tick: Callable[[int, int], None] | None = None) -> CountyBound:
    """:math:`B_C` of the module docstring.

    :math:`B_T` first (with the station cover cuts; a tenth of the time to ``deadline``),
    then every county's LP and knapsack items, then county MIPs (at most ``exact_max``
    plants; ``None``: any number) where they can raise the bound: in rounds, the dynamic
    program picks one number per county from the current items, and the MIPs are solved
    at the picks not solved yet. Items only rise, so the bound rises with every round.
    When every pick is solved, the picks whose MIP stopped at its time limit are solved
    again with ``RETRY_FACTOR`` times the time (up to ``RETRY_MAX`` times ``sub_time_s``).
    It stops when every pick is proven (more MIPs elsewhere cannot change the optimum of
    the program: the picks keep their value and every other choice only gets dearer), at
    ``deadline``, or when the longest limit is spent.
    ``workers`` programs are solved at a time (threads). With ``node_limit`` the MIPs are
    limited by nodes instead of ``sub_time_s`` (a deterministic work limit).
    ``tick(done, total)`` is called after each program (``total`` grows with the rounds).

    Measured on liaoning-2025-no-sharing, 2 threads: 854.7 M yuan/yr in 90 s (112 MIPs in
    three rounds of 71, 33 and 8; every pick solved at 91 s, 855.1 M; the first retries at
    12 s added 0.2 M in 28 s), against 850.4 M when the MIPs ran at ``m = 0..4`` for
    every county in turn (173 MIPs) and 849.3 M when each round also solved the numbers
    next to the picks (131 MIPs, one round)."""
    t0 = time.perf_counter()
    inc = model.incinerator
    ic = data.incinerator.county
    vc = data.village_county
    paths = path_costs(model) if paths is None else paths
    counties = np.unique(np.concatenate([ic[inc.usable], vc[model.demand > 0]]))
    target = next((c for c in model.counts if c[0] == "incinerator"), None)
    by_county: dict[int, list[CoverCut]] = {}
    cuts = cover_cuts(model, vc)
    for cut in cuts:
        if cut.echelon == "incinerator":
            by_county.setdefault(int(cut.group), []).append(cut)
    b_t = transfer_bound(model, cuts,  # (it uses the station cuts only)
                         None if deadline is None else max(1.0, 0.1 * (deadline - t0)))
    programs: dict[int, tuple[FloatArray, object, FloatArray, FloatArray,
                              NDArray[np.bool_]]] = {}
    tables: dict[int, FloatArray] = {}

    def first(c: int) -> None:
        villages = np.flatnonzero((vc == c) & (model.demand > 0))
        sites = np.flatnonzero((ic == c) & inc.usable)
        cost, a, lo, hi, integer, new = _county_program(model, paths, villages, sites,
                                                        by_county.get(c, []))
        table = np.full(new.size + 1, -np.inf)
        free = solve_matrix(cost, a, lo, hi, np.zeros(cost.size), np.ones(cost.size),
                            integer, MipOptions(backend="SCIPY", relax=True))
        if free.status == "infeasible":
            table[:] = np.inf
        elif free.status == "optimal":
            table[:] = free.objective - 1e-9 * abs(free.objective)
        tables[c] = np.maximum(table, _phi_plus_paths(model, paths, villages, sites,
                                                      new.size))
        programs[c] = (cost, a, lo, hi, integer)

    def exact(job: tuple[int, int, float]) -> tuple[int, int, float, bool] | None:
        c, m, sub_s = job
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        cost, a, lo, hi, integer = programs[c]
        lo_m, hi_m = lo.copy(), hi.copy()
        lo_m[-1] = hi_m[-1] = float(m)
        limit = sub_s if deadline is None else min(
            sub_s, max(0.05, deadline - time.perf_counter()))
        sol = solve_matrix(cost, a, lo_m, hi_m, np.zeros(cost.size), np.ones(cost.size),
                           integer, MipOptions(backend="SCIPY", mip_gap=1e-6,
                                               time_limit_s=None if node_limit else limit,
                                               node_limit=node_limit))
        # final: proven, or limited by nodes (a deterministic run does not retry)
        final = sol.status in ("optimal", "infeasible") or node_limit is not None
        if sol.status == "infeasible":
            return c, m, np.inf, final
        return (c, m, sol.bound - 1e-9 * abs(sol.bound) if np.isfinite(sol.bound) else -np.inf,
                final)

    order = counties.tolist()
    total = len(order)
    done = 0
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for _ in (pool.map(first, order) if pool is not None else map(first, order)):
            done += 1
            if tick is not None:
                tick(done, total)
        final: set[tuple[int, int]] = set()
        tried: dict[tuple[int, int], float] = {}
        sub_s = sub_time_s
        n_exact = 0
        while deadline is None or time.perf_counter() < deadline:
            program, picks = _allocate([tables[c] for c in order], target)
            jobs = _next_jobs(order, picks, tables, final, exact_max) if picks else []
            if not jobs:
                break
            retry = [pk for pk in jobs if tried.get(pk, 0.0) < sub_s]
            if not retry:
                # every open pick stopped at this limit: again with a longer one
                if sub_s >= RETRY_MAX * sub_time_s:
                    break
                sub_s *= RETRY_FACTOR
                continue
            log.debug("county bound round: %d MIPs at %.0f s, program %.10g", len(retry),
                      sub_s, program)
            total += len(retry)
            tried.update((pk, sub_s) for pk in retry)
            runs = [(c, m, sub_s) for c, m in retry]
            for out in (pool.map(exact, runs) if pool is not None else map(exact, runs)):
                done += 1
                if tick is not None:
                    tick(done, total)
                if out is not None:
                    c, m, b, is_final = out
                    n_exact += 1
                    tables[c][m] = max(tables[c][m], b)
                    if is_final:
                        final.add((c, m))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    table_list = [tables[c] for c in order]
    plants, picks = _allocate(table_list, target)
    wall = time.perf_counter() - t0
    status = ("ok" if np.isfinite(plants) and np.isfinite(b_t) else
              "station bound not solved" if np.isfinite(plants) else "no allocation")
    log.info("county bound: stations %.10g + plants %.10g over %d counties (%d exact MIPs) "
             "in %.1fs", b_t, plants, counties.size, n_exact, wall)
    return CountyBound(float(b_t + plants), float(b_t), float(plants), counties, table_list,
                       n_exact, wall, status, np.array(picks, dtype=np.int64))


def _allocate(tables: list[FloatArray], target: tuple[str, str, int, NDArray[np.bool_], str]
              | None) -> tuple[float, list[int]]:
    """min sum_c table_c[m_c] subject to the count target on sum_c m_c, and the m_c
    (:func:`wastenet.siting.echelon.allocate`; ``(inf, [])`` when nothing is feasible)."""
    from wastenet.siting.echelon import allocate

    rows = [{m: float(t[m]) for m in np.flatnonzero(t < np.inf).tolist()} for t in tables]
    if target is None:
        return allocate(rows, lambda sums: np.ones(sums.shape, bool))
    _, sense, value, _, _ = target
    ops = {"eq": np.equal, "le": np.less_equal, "ge": np.greater_equal}
    return allocate(rows, lambda sums: ops[sense](sums, value))


def _next_jobs(order: list[int], picks: list[int], tables: dict[int, FloatArray],
               final: set[tuple[int, int]], exact_max: int | None) -> list[tuple[int, int]]:
    """The open picks: every county's pick, leaving out what is final (proven), what is
    known impossible and what is above ``exact_max``."""
    return [(c, m) for c, m in zip(order, picks, strict=True)
            if 0 <= m < tables[c].size and np.isfinite(tables[c][m])
            and (exact_max is None or m <= exact_max) and (c, m) not in final]


def station_floor(model: CompiledModel) -> float:
    r""":math:`B_T' = \min \sum_j F^{min}_j y_j` over the new usable stations :math:`j`
    (:math:`F^{min}_j` its cheapest size) subject to the single station count target and
    the forced sites (no capacity rows: every size above the cheapest is paid in
    :math:`W_c`, :func:`station_items`); ``nan`` when there is not exactly one station
    target over every new usable site, ``inf`` when the target cannot be met."""
    from wastenet.siting.echelon import _province_target

    tr = model.transfer
    target = _province_target(model, "transfer")
    if target is None:
        return float("nan")
    new = tr.usable & ~tr.existing
    f_min = tr.cheapest_fixed()
    forced = new & tr.forced
    rest = np.sort(f_min[new & ~forced])
    _, sense, value, _, _ = target
    need = 0 if sense == "le" else max(0, int(value) - int(forced.sum()))
    if need > rest.size or (sense == "le" and int(forced.sum()) > value):
        return float("inf")
    return float(f_min[forced].sum() + rest[:need].sum())


def _all_open(data: SitingData, model: CompiledModel, county: int, m: int,
              f_min: FloatArray) -> tuple[CompiledModel, float]:
    r"""The county's sub-model with every new usable station open and exactly ``m`` new
    plants, and :math:`\sum_{j\in J_c} F^{min}_j` (the offset of :math:`W_c`; ``f_min``
    is :meth:`~wastenet.siting.model.Echelon.cheapest_fixed` of the stations)."""
    from wastenet.siting.region import region_sites, region_targets, submodel

    tr = model.transfer
    villages, tr_sites, inc_sites = region_sites(data, model, np.array([county]))
    new = tr_sites[~tr.existing[tr_sites]]
    counts = tuple((e, "eq", int(np.sum(here[new])) if e == "transfer" else m, here, label)
                   for e, here, label in region_targets(model, tr_sites, inc_sites))
    sub = submodel(model, villages, tr_sites, inc_sites, counts)
    return sub.model, float(f_min[new].sum())


def station_items(data: SitingData, model: CompiledModel, cb: CountyBound, *,
                  deadline: float, sub_time_s: float = 10.0, workers: int = 1,
                  node_limit: int | None = None, backend: str = "SCIP",
                  tick: Callable[[int, int], None] | None = None) -> CountyBound:
    r"""Raise the county bound ``cb`` with county MIPs that route through stations.

    Let :math:`J_c` be county :math:`c`'s new usable stations, :math:`F^{min}_j` the fixed
    cost of station :math:`j`'s cheapest size, and :math:`W_c(s,m)` the least cost of the
    county's own variables (both echelons, the full model restricted to the county) with
    exactly :math:`s` new stations and :math:`m` new plants, less
    :math:`\sum_{j\ \text{open, new}} F^{min}_j`. Opening one more station at its cheapest
    size and sending it nothing keeps a solution feasible and :math:`W` unchanged, so
    :math:`W_c(s,m)\ge W_c(|J_c|,m)` for every :math:`s`: the county with *all* its
    stations open bounds it at any number of stations. The optimum is
    :math:`\sum_c W_c(s_c,m_c) + \sum_{j\ \text{open, new}} F^{min}_j
    \ge \min_{\sum m_c} \sum_c W_c(|J_c|,m_c) + B_T'` (:func:`station_floor`), and
    :math:`W_c \ge` the county's plant and flow cost :math:`\ge L_c(m)`, so the items
    :math:`\max\big(L_c(m),\ \beta_c(m) - \sum_{j\in J_c}F^{min}_j\big)`, with
    :math:`\beta_c(m)` the MIP's bound with all stations open and :math:`m` plants, keep
    the program valid.

    As in :func:`county_bound`, rounds of the dynamic program pick one number of plants
    per county and the all-open MIPs are solved at the picks not solved yet (``workers``
    at a time, ``sub_time_s`` or ``node_limit`` each) until every pick is solved or
    ``deadline``; ``tick(done, total)`` is called after each MIP. Returns ``cb`` unless
    the new program is higher, else a bound with ``transfer`` :math:`=B_T'` and the raised
    table.

    Measured on liaoning-2025-no-sharing (30 s per MIP): county 60 at two plants 17.11 M
    (proven) against :math:`L_c` 15.95 M; county 84 34.75 M against 33.68 M; at 3 s only
    county 84 rose."""
    floor = station_floor(model)
    target = next((c for c in model.counts if c[0] == "incinerator"), None)
    if not np.isfinite(floor) or cb.status != "ok":
        return cb
    f_min = model.transfer.cheapest_fixed()
    order = cb.counties.tolist()
    tables = [t.copy() for t in cb.table]
    solved: set[tuple[int, int]] = set()

    def run(job: tuple[int, int]) -> tuple[int, int, float] | None:
        ci, m = job
        left = deadline - time.perf_counter()
        if left < 0.5:
            return None
        sub, offset = _all_open(data, model, order[ci], m, f_min)
        sol = solve_mip(sub, MipOptions(backend=backend, mip_gap=1e-6, node_limit=node_limit,
                                        time_limit_s=None if node_limit else
                                        min(sub_time_s, left)))
        if sol.status == "infeasible":
            return ci, m, np.inf
        if not np.isfinite(sol.bound):
            return None
        return ci, m, float(sol.bound) - offset - 1e-9 * abs(float(sol.bound))

    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        while time.perf_counter() < deadline:
            _, picks = _allocate(tables, target)
            jobs = [(ci, m) for ci, m in enumerate(picks)
                    if (ci, m) not in solved and 0 <= m < tables[ci].size]
            if not jobs:
                break
            total = len(solved) + len(jobs)
            outs = pool.map(run, jobs) if pool is not None else map(run, jobs)
            for job, out in zip(jobs, outs, strict=True):
                solved.add(job)
                if tick is not None:
                    tick(len(solved), total)
                if out is not None:
                    tables[out[0]][out[1]] = max(tables[out[0]][out[1]], out[2])
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    plants, picks = _allocate(tables, target)
    value = floor + plants
    log.info("station items: %s MIPs, program %.10g + floor %.10g = %.10g (was %.10g)",
             len(solved), plants, floor, value, cb.value)
    if not value > cb.value:
        return cb
    return CountyBound(float(value), float(floor), float(plants), cb.counties, tables,
                       cb.n_exact + len(solved), cb.wall_s, cb.status,
                       np.array(picks, dtype=np.int64))


__all__ = ["CountyBound", "applies", "county_bound", "station_floor", "station_items"]
