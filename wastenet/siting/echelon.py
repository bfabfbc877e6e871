r"""Exact re-optimisation of the incinerator echelon for a given transfer layer.

A large-neighbourhood step of the scalable path: keep the open transfer stations, their
sizes and the villages collected to them (so each station's inflow :math:`q_j` is fixed),
and re-solve *exactly* everything else as one mixed-integer program.

Sets
----
* :math:`S` open transfer stations with fixed inflow :math:`q_j` and capacity
  :math:`\mathrm{Cap}_j`;
* :math:`D` villages delivered directly in the incumbent; each may again go directly to any
  incinerator of its direct arcs, or be collected to an open station of :math:`S`;
* :math:`K` usable incinerator candidates with size options :math:`l` (capacity
  :math:`C_{kl}`, fixed cost :math:`F_{kl}`); existing ones are open with capacity
  :math:`\bar C_k`.

Variables
---------
:math:`z_{kl}\in\{0,1\}`; :math:`d_{ik}, x_{ij}\in\{0,1\}` for :math:`i\in D` (continuous in
:math:`[0,1]` when the model is not single-source); :math:`h_{jk}\ge 0` t/d hauled.

Objective (yuan/yr)
-------------------
.. math::

    \min \sum_{k,l} F_{kl} z_{kl} + \sum_{(j,k)} c_{jk} h_{jk}
        + \sum_{i\in D}\Big(\sum_k c_{ik} w_i d_{ik} + \sum_j c_{ij} w_i x_{ij}\Big)

(arc costs include the throughput cost of their head, as in :mod:`wastenet.siting.model`).

Constraints
-----------
1. :math:`\sum_k d_{ik} + \sum_j x_{ij} = 1` for :math:`i\in D`;
2. :math:`\sum_l z_{kl}\le 1` (:math:`=1` for a forced site);
3. station balance :math:`\sum_k h_{jk} = q_j + \sum_{i\in D} w_i x_{ij}` and capacity
   :math:`q_j + \sum_{i\in D} w_i x_{ij} \le \mathrm{Cap}_j`;
4. incinerator capacity :math:`\sum_j h_{jk} + \sum_{i\in D} w_i d_{ik} \le \sum_l C_{kl}
   z_{kl}` (:math:`\bar C_k` for an existing site);
5. strong linking :math:`d_{ik}\le Z_k` and :math:`h_{jk}\le \bar q_j Z_k` with
   :math:`\bar q_j = \min(\mathrm{Cap}_j, q_j + \sum_{i\in D} w_i)`, the most station
   :math:`j` can ever send (this is the tight form of the classic CFLP linking);
6. the incinerator count targets of the problem (transfer counts are unchanged because the
   stations are).

Every solution of this program, joined with the fixed part of the incumbent, is feasible for
the full model, and the incumbent itself is one of them; so the step never makes the
incumbent worse when its solution is accepted only if cheaper. The program's own bound is a
bound of this neighbourhood only and is never reported as a bound of the problem. It is
built as one sparse matrix and solved by SCIP through the OR-Tools adapter
(:func:`wastenet.siting.mip.solve_matrix`), with the incumbent as a start.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace

import numpy as np
from scipy.sparse import coo_matrix

from wastenet.siting.data import SitingData
from wastenet.siting.mip import MipOptions, solve_matrix
from wastenet.siting.model import CompiledModel
from wastenet.siting.ragged import expand
from wastenet.siting.result import SitingResult

log = logging.getLogger("wastenet.siting.echelon")


def reoptimise_incinerators(data: SitingData, model: CompiledModel, res: SitingResult, *,
                            free: np.ndarray | None = None, time_limit_s: float = 60.0,
                            mip_gap: float = 1e-6, seed: int = 0, backend: str = "SCIP",
                            count_shift: int = 0, accept_worse: bool = False,
                            node_limit: int | None = None) -> SitingResult:
    """Solve the program of the module docstring over the incinerator sites ``free``
    (default: all); return the cheaper of its solution and ``res``.

    With ``free`` given, the other open incinerators keep their sizes and offer their spare
    capacity; the stations and direct villages in the program are those the incumbent
    sends to a free site; count targets then bind the free sites to the number of them
    the incumbent opens in each target's region, plus ``count_shift`` (which the caller
    must balance elsewhere: :func:`reallocate_counts`). With a shift, or with
    ``accept_worse``, the program's solution is returned whatever its cost (``res`` is
    returned only when the program has no solution); otherwise only when cheaper.
    """
    from wastenet.siting.solve import hint_from_result, result_from_assignment

    t0 = time.perf_counter()
    tr, inc = model.transfer, model.incinerator
    w = model.demand
    n = w.shape[0]
    inc_ok = inc.usable & (inc.max_cap > 0)
    free_k = inc_ok.copy() if free is None else (np.asarray(free, dtype=bool) & inc_ok)
    inc_open = res.incinerator_size != -1
    fixed_open = inc_open & ~free_k
    col = ~res.flow_direct
    fv, ff, fd, fr = res.flow_village, res.flow_facility, res.flow_direct, res.flow_fraction
    # stations and direct villages in the neighbourhood
    in_st = np.zeros(tr.n_sites, dtype=bool)
    in_st[res.haul_transfer[free_k[res.haul_incinerator]]] = True
    is_d = np.zeros(n, dtype=bool)
    dir_rows = np.flatnonzero(fd)
    is_d[fv[dir_rows[free_k[ff[dir_rows]]]]] = True
    split = np.bincount(fv, minlength=n) > 1  # split villages stay as they are
    is_d &= ~split
    d_vill = np.flatnonzero(is_d)
    if d_vill.size == 0 and not in_st.any() and count_shift == 0:
        return res
    # fixed inflow of each station from the villages collected to it
    q = np.bincount(ff[col], weights=w[fv[col]] * fr[col], minlength=tr.n_sites)
    cap_t = np.zeros(tr.n_sites)
    new_t = res.transfer_size >= 0
    cap_t[new_t] = data.transfer.size_capacity[new_t, res.transfer_size[new_t]]
    cap_t[tr.existing] = tr.existing_cap[tr.existing]
    # capacity of each fixed-open incinerator left after the flows outside the neighbourhood
    cap_i = np.zeros(inc.n_sites)
    new_i = res.incinerator_size >= 0
    cap_i[new_i] = data.incinerator.size_capacity[new_i, res.incinerator_size[new_i]]
    cap_i[inc.existing] = inc.existing_cap[inc.existing]
    # (float even when there is no haul at all: bincount of nothing is an int array)
    load_out = np.bincount(res.haul_incinerator[~in_st[res.haul_transfer]],
                           weights=res.haul_t_per_day[~in_st[res.haul_transfer]],
                           minlength=inc.n_sites).astype(float)
    out_d = fd & ~is_d[fv]
    load_out += np.bincount(ff[out_d], weights=w[fv[out_d]] * fr[out_d], minlength=inc.n_sites)
    spare = np.where(fixed_open, np.maximum(cap_i - load_out, 0.0), 0.0)
    # free sites that are existing keep their capacity and need no option
    usable_dst = free_k | fixed_open
    zo = np.flatnonzero(free_k[inc.opt_site])
    da = np.flatnonzero(is_d[model.direct.src] & usable_dst[model.direct.dst])
    xa = np.flatnonzero(is_d[model.collect.src] & in_st[model.collect.dst])
    ha = np.flatnonzero(in_st[model.haul.src] & usable_dst[model.haul.dst])
    nz, nd, nx, nh = zo.size, da.size, xa.size, ha.size
    oz, od, ox, oh = 0, nz, nz + nd, nz + nd + nx
    nv = oh + nh
    cost = np.concatenate([inc.opt_fixed[zo],
                           model.direct.cost[da] * w[model.direct.src[da]],
                           model.collect.cost[xa] * w[model.collect.src[xa]],
                           model.haul.cost[ha]])
    d_pos = -np.ones(n, dtype=np.int64)
    d_pos[d_vill] = np.arange(d_vill.size)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    r = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray) -> None:
        rows.append(np.asarray(rr, dtype=np.int64))
        cols.append(np.asarray(cc, dtype=np.int64))
        vals.append(np.asarray(vv, dtype=np.float64))

    # 1. cover each D village
    add(r + d_pos[model.direct.src[da]], od + np.arange(nd), np.ones(nd))
    add(r + d_pos[model.collect.src[xa]], ox + np.arange(nx), np.ones(nx))
    lo.append(np.ones(d_vill.size))
    hi.append(np.ones(d_vill.size))
    r += d_vill.size
    # 2. one size per free site
    site_row = -np.ones(inc.n_sites, dtype=np.int64)
    sites_z = np.unique(inc.opt_site[zo])
    site_row[sites_z] = r + np.arange(sites_z.size)
    add(site_row[inc.opt_site[zo]], oz + np.arange(nz), np.ones(nz))
    lo.append(inc.forced[sites_z].astype(float))
    hi.append(np.ones(sites_z.size))
    r += sites_z.size
    # 3. station balance and capacity
    st = np.flatnonzero(in_st)
    st_row = -np.ones(tr.n_sites, dtype=np.int64)
    st_row[st] = np.arange(st.size)
    wx = w[model.collect.src[xa]]
    add(r + st_row[model.collect.dst[xa]], ox + np.arange(nx), -wx)
    add(r + st_row[model.haul.src[ha]], oh + np.arange(nh), np.ones(nh))
    lo.append(q[st])
    hi.append(q[st])
    r += st.size
    add(r + st_row[model.collect.dst[xa]], ox + np.arange(nx), wx)
    lo.append(np.full(st.size, -np.inf))
    hi.append(cap_t[st] - q[st])
    r += st.size
    # 4. incinerator capacity: free sites (options or existing capacity), fixed-open spare
    k_in = np.flatnonzero(usable_dst)
    k_row = -np.ones(inc.n_sites, dtype=np.int64)
    k_row[k_in] = r + np.arange(k_in.size)
    add(k_row[model.direct.dst[da]], od + np.arange(nd), w[model.direct.src[da]])
    add(k_row[model.haul.dst[ha]], oh + np.arange(nh), np.ones(nh))
    add(k_row[inc.opt_site[zo]], oz + np.arange(nz), -inc.opt_cap[zo])
    lo.append(np.full(k_in.size, -np.inf))
    hi.append(np.where(fixed_open[k_in], spare[k_in],
                       np.where(inc.existing[k_in], inc.existing_cap[k_in], 0.0)))
    r += k_in.size
    # 5. strong linking for new free sites: d_ik <= Z_k, h_jk <= qbar_j Z_k
    order = np.argsort(inc.opt_site[zo], kind="stable")
    starts = np.searchsorted(inc.opt_site[zo][order], np.arange(inc.n_sites + 1))
    n_opt = np.diff(starts)
    d_to_station = np.bincount(model.collect.dst[xa], weights=wx, minlength=tr.n_sites)
    qbar = np.minimum(cap_t, q + d_to_station)
    ld = np.flatnonzero(free_k[model.direct.dst[da]] & ~inc.existing[model.direct.dst[da]])
    lh = np.flatnonzero(free_k[model.haul.dst[ha]] & ~inc.existing[model.haul.dst[ha]])
    n_link = ld.size + lh.size
    link_r = r + np.arange(n_link)
    add(link_r[:ld.size], od + ld, np.ones(ld.size))
    add(link_r[ld.size:], oh + lh, np.ones(lh.size))
    k_of = np.concatenate([model.direct.dst[da][ld], model.haul.dst[ha][lh]])
    scale = np.concatenate([np.ones(ld.size), qbar[model.haul.src[ha][lh]]])
    owner, idx = expand(starts[k_of], n_opt[k_of])
    add(link_r[owner], oz + order[idx], -scale[owner])
    lo.append(np.full(n_link, -np.inf))
    hi.append(np.zeros(n_link))
    r += n_link
    # 6. incinerator count targets over the free sites
    for echelon, sense, value, mask, _ in model.counts:
        if echelon != "incinerator":
            continue
        sel = np.flatnonzero(mask[inc.opt_site[zo]])
        if sense == "eq":  # the free sites keep the number the incumbent opens, shifted
            v = int(np.sum(mask & free_k & ~inc.existing & inc_open)) + count_shift
        else:
            v = value - int(np.sum(mask & fixed_open & ~inc.existing))
        add(np.full(sel.size, r), oz + sel, np.ones(sel.size))
        lo.append(np.array([v if sense in ("eq", "ge") else -np.inf], dtype=float))
        hi.append(np.array([v if sense in ("eq", "le") else np.inf], dtype=float))
        r += 1
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(r, nv)).tocsr()
    integ = np.zeros(nv, dtype=bool)
    integ[oz:oz + nz] = True
    if model.single_source:
        integ[od:oh] = True
    ub = np.concatenate([np.ones(nz + nd + nx), np.full(nh, np.inf)])
    # the incumbent as a start: it is feasible for this program
    inc_vals = hint_from_result(model, res)
    start = np.concatenate([inc_vals.z[zo], inc_vals.d[da], inc_vals.x[xa], inc_vals.h[ha]])
    build_s = time.perf_counter() - t0
    out = solve_matrix(cost, a, np.concatenate(lo), np.concatenate(hi), np.zeros(nv), ub,
                       integ, MipOptions(backend=backend, seed=seed, mip_gap=mip_gap,
                                         node_limit=node_limit,
                                         time_limit_s=None if node_limit is not None
                                         else max(1.0, time_limit_s - build_s)),
                       hint=start if count_shift == 0 else None)
    log.debug("incinerator re-optimisation: %d free sites, %d vars, %d rows, build %.1fs, "
              "%s %.10g (start %.10g), %.1fs", int(free_k.sum()), nv, r, build_s, out.status,
              out.objective, float(cost @ start), time.perf_counter() - t0)
    if out.status not in ("optimal", "feasible"):
        return res
    xv = out.x
    isize = res.incinerator_size.copy()
    isize[free_k & ~inc.existing] = -1
    for o in np.flatnonzero(xv[oz:oz + nz] > 0.5).tolist():
        isize[int(inc.opt_site[zo[o]])] = int(inc.opt_size[zo[o]])
    fac = -np.ones(n, dtype=np.int64)
    direct = np.zeros(n, dtype=bool)
    if not model.single_source:
        return res  # fractional direct shares are not re-assembled here (one-echelon path)
    for b in np.flatnonzero(xv[od:od + nd] > 0.5).tolist():
        i = int(model.direct.src[da[b]])
        fac[i] = int(model.direct.dst[da[b]])
        direct[i] = True
    for b in np.flatnonzero(xv[ox:ox + nx] > 0.5).tolist():
        i = int(model.collect.src[xa[b]])
        fac[i] = int(model.collect.dst[xa[b]])
    # haul: the program's flows for the stations in it, the incumbent's for the others
    h = inc_vals.h.copy()
    h[ha] = np.where(xv[oh:] > 1e-9, xv[oh:], 0.0)
    cand = result_from_assignment(data, model, res, res.transfer_size, isize, fac, direct, h)
    if accept_worse or count_shift != 0 or \
            cand.total_cost < res.total_cost - 1e-9 * abs(res.total_cost):
        return cand
    return res


def _province_target(model: CompiledModel, echelon: str = "incinerator"
                     ) -> tuple[str, str, int, np.ndarray, str] | None:
    """The count target of ``echelon`` when there is exactly one and it counts every new
    usable site (a province-wide target), else None."""
    ech = model.echelon(echelon)
    counts = [c for c in model.counts if c[0] == echelon]
    if len(counts) == 1 and bool(counts[0][3][ech.usable & ~ech.existing].all()):
        return counts[0]
    return None


def _single_count(model: CompiledModel) -> bool:
    """True when the incinerator count targets are one province-wide target (or none)."""
    return (_province_target(model) is not None
            or not any(c[0] == "incinerator" for c in model.counts))


def _closed(data: SitingData, model: CompiledModel) -> bool:
    """True when no arc crosses a county border (no sharing on either echelon): the
    counties' incinerator programs are then independent of each other."""
    vc, tc, ic = data.village_county, data.transfer.county, data.incinerator.county
    return bool(np.array_equal(vc[model.collect.src], tc[model.collect.dst])
                and np.array_equal(vc[model.direct.src], ic[model.direct.dst])
                and np.array_equal(tc[model.haul.src], ic[model.haul.dst]))


def module_knapsack(model: CompiledModel, sites: np.ndarray, need: float, m_max: int
                    ) -> np.ndarray:
    r"""``phi[m]`` for ``m = 0..m_max``: the least fixed cost of ``m`` new incinerator
    modules, at most one per site of ``sites`` (existing sites are skipped), whose
    capacity is at least ``need`` t/d (``inf`` when none is). Whole t/d, rounded so that
    ``phi`` never exceeds the true value: capacities up, the need down."""
    inc = model.incinerator
    new = [int(k) for k in np.asarray(sites).tolist() if not inc.existing[k] and inc.usable[k]]
    u_max = int(min(max(np.floor(need - 1e-6 * max(1.0, abs(need))), 0.0), 100_000))
    dp = np.full((m_max + 1, u_max + 1), np.inf)
    dp[0, 0] = 0.0
    for k in new:
        nxt = dp.copy()
        for o in np.flatnonzero(inc.opt_site == k).tolist():
            cu = int(min(np.ceil(inc.opt_cap[o] - 1e-9), u_max))
            moved = dp[:-1] + float(inc.opt_fixed[o])
            nxt[1:, cu:] = np.minimum(nxt[1:, cu:], moved[:, :u_max + 1 - cu])
            if cu > 0:
                nxt[1:, u_max] = np.minimum(nxt[1:, u_max],
                                            moved[:, u_max + 1 - cu:].min(axis=1))
        dp = nxt
    return dp[:, u_max]


def allocate(rows: Sequence[Mapping[int, float]],
             accept: Callable[[np.ndarray], np.ndarray]) -> tuple[float, list[int]]:
    """Choose one key per row (a number of plants, or a shift, with its cost) so that the
    sum of the keys passes ``accept`` (a mask over an array of candidate sums) at least
    total cost: a dynamic program over the rows. ``(inf, [])`` when nothing passes. Keys
    are tried in increasing order, so the result does not depend on how rows were built."""
    if not rows or any(not row for row in rows):
        return float("inf"), []
    mins = [min(row) for row in rows]
    size = sum(max(row) - m for row, m in zip(rows, mins, strict=True)) + 1
    dp = np.full(size, np.inf)
    dp[0] = 0.0  # index = sum of (key - its row's smallest key)
    choice = np.zeros((len(rows), size), dtype=np.int64)
    for i, (row, m) in enumerate(zip(rows, mins, strict=True)):
        nxt = np.full(size, np.inf)
        for k in sorted(row):
            cand = np.full(size, np.inf)
            cand[k - m:] = dp[:size - (k - m)] + row[k]
            better = cand < nxt
            nxt[better] = cand[better]
            choice[i, better] = k
        dp = nxt
    ok = np.flatnonzero(accept(np.arange(size) + sum(mins)) & (dp < np.inf))
    if ok.size == 0:
        return float("inf"), []
    pos = int(ok[np.argmin(dp[ok])])
    value = float(dp[pos])
    picks = [0] * len(rows)
    for i in range(len(rows) - 1, -1, -1):
        picks[i] = int(choice[i, pos])
        pos -= picks[i] - mins[i]
    return value, picks


def fixed_cost_targets(data: SitingData, model: CompiledModel, counties: np.ndarray,
                       current: np.ndarray, max_per_county: int = 40) -> np.ndarray:
    r"""Numbers of new incinerators per county that minimise the plant fixed cost alone.

    For county :math:`c` with demand :math:`D_c` (less its existing capacity),
    :math:`\Phi_c(m)` is the least fixed cost of :math:`m` new modules at distinct sites
    of the county whose capacity covers :math:`D_c` (:func:`module_knapsack`); a dynamic
    program then spreads ``current.sum()`` plants so that :math:`\sum_c \Phi_c(m_c)` is
    least. A guide for closed counties (no sharing), where it shows which counties are far
    from a good number: hauls, reach and station capacities are ignored, so the
    reallocation only tries these numbers, with their exact costs.
    """
    inc = model.incinerator
    ic = data.incinerator.county
    demand = np.bincount(data.village_county, weights=model.demand,
                         minlength=int(max(counties.max(initial=0), ic.max(initial=0))) + 1)
    total = int(current.sum())
    rows: list[dict[int, float]] = []
    for c in counties.tolist():
        sites = np.flatnonzero(ic == c)
        need = float(demand[c]) - float(inc.existing_cap[(ic == c) & inc.existing].sum())
        m_max = min(int(np.sum(inc.usable[sites] & ~inc.existing[sites])), max_per_county)
        phi = module_knapsack(model, sites, need, m_max)
        rows.append({m: float(phi[m]) for m in np.flatnonzero(np.isfinite(phi)).tolist()})
    value, picks = allocate(rows, lambda sums: sums == total)
    return np.array(picks, dtype=np.int64) if np.isfinite(value) else current.copy()


def _open_per_county(data: SitingData, model: CompiledModel, res: SitingResult,
                     counties: np.ndarray) -> np.ndarray:
    """Number of new incinerators ``res`` opens in each of ``counties``."""
    ic = data.incinerator.county
    open_ = (res.incinerator_size >= 0) & ~model.incinerator.existing
    return np.array([int(np.sum((ic == c) & open_)) for c in counties.tolist()])


def _shift_sets(data: SitingData, model: CompiledModel, base: SitingResult,
                counties: np.ndarray, shifts: tuple[int, ...], target: np.ndarray | None
                ) -> list[tuple[int, ...]]:
    """The shifts tried for each county: ``shifts`` (shift 0 first), plus the way to and
    half-way to ``target`` (:func:`fixed_cost_targets`) when that is further away."""
    ic = data.incinerator.county
    usable = model.incinerator.usable & ~model.incinerator.existing
    current = _open_per_county(data, model, base, counties)
    n_max = np.array([int(np.sum((ic == c) & usable)) for c in counties.tolist()])
    extra: list[set[int]] = [set() for _ in counties.tolist()]
    if target is not None:
        for ci, t in enumerate((target - current).tolist()):
            if abs(t) >= 2:
                extra[ci] |= {t, int(np.trunc(t / 2))}
    out = []
    for ci in range(counties.size):
        every = sorted(set(shifts) | extra[ci], key=lambda k: (abs(k), k))
        out.append(tuple(s for s in every if 0 <= current[ci] + s <= n_max[ci]))
    return out


def _table(data: SitingData, model: CompiledModel, base: SitingResult,
           counties: np.ndarray, shift_sets: list[tuple[int, ...]], *, deadline: float,
           seed: int, backend: str, sub_time_s: float, nodes: int | None,
           tick: Callable[[float], None], workers: int
           ) -> list[dict[int, tuple[float, SitingResult]]]:
    """The table of one reallocation round: for county ``counties[c]`` and each shift
    ``s`` of ``shift_sets[c]``, the change of cost when its incinerators are re-optimised
    from ``base`` with ``s`` more open, and that solution (missing: impossible, or not
    computed before ``deadline``; at shift 0, 0 and ``base`` when nothing cheaper was
    found)."""
    county_of = data.incinerator.county
    jobs = [(ci, s) for ci in range(counties.size) for s in shift_sets[ci]]

    def run(job: tuple[int, int]) -> SitingResult | None:
        ci, s = job
        if time.perf_counter() >= deadline:
            return None
        return reoptimise_incinerators(
            data, model, base, free=county_of == counties[ci], seed=seed, backend=backend,
            count_shift=s, accept_worse=s != 0, node_limit=nodes,
            time_limit_s=min(sub_time_s, deadline - time.perf_counter()))

    table: list[dict[int, tuple[float, SitingResult]]] = [{} for _ in range(counties.size)]
    best_cost = base.total_cost

    def record(job: tuple[int, int], cand: SitingResult | None) -> None:
        nonlocal best_cost
        ci, s = job
        if cand is None or (s != 0 and cand is base):
            return
        if s == 0 and cand.total_cost >= base.total_cost:
            table[ci][0] = (0.0, base)
        else:
            table[ci][s] = (cand.total_cost - base.total_cost, cand)
        if s == 0:
            best_cost = min(best_cost, cand.total_cost)
        tick(best_cost)

    if workers <= 1:
        for job in jobs:
            record(job, run(job))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run, job): job for job in jobs}
            for fut in as_completed(futures):
                record(futures[fut], fut.result())
    return table


def _pick(table: list[dict[int, tuple[float, SitingResult]]]) -> tuple[float, list[int]]:
    """One shift per county, summing to zero, least total change (:func:`allocate`;
    ``inf`` and no picks when some county has no entry)."""
    return allocate([{s: d for s, (d, _) in row.items()} for row in table],
                    lambda sums: sums == 0)


def _merge(data: SitingData, model: CompiledModel, base: SitingResult,
           parts: list[tuple[np.ndarray, SitingResult]]) -> SitingResult:
    """``base`` with, for each ``(county mask of incinerator sites, candidate)``, the
    candidate's incinerators there, the assignment of the county's villages and the hauls
    into those sites: the candidates' changes joined (closed counties only)."""
    from wastenet.siting.solve import hint_from_result, result_from_assignment

    n = data.n_villages
    isize = base.incinerator_size.copy()
    h = hint_from_result(model, base).h.copy()
    fac = -np.ones(n, dtype=np.int64)
    direct = np.zeros(n, dtype=bool)
    ic = data.incinerator.county
    for free, cand in parts:
        isize[free] = cand.incinerator_size[free]
        into = free[model.haul.dst]
        h[into] = hint_from_result(model, cand).h[into]
        counties = np.unique(ic[free])
        rows = np.isin(data.village_county[cand.flow_village], counties)
        fac[cand.flow_village[rows]] = cand.flow_facility[rows]
        direct[cand.flow_village[rows]] = cand.flow_direct[rows]
    return result_from_assignment(data, model, base, base.transfer_size, isize, fac, direct, h)


def reallocate_counts(data: SitingData, model: CompiledModel, res: SitingResult, *,
                      deadline: float, seed: int = 0, shifts: tuple[int, ...] = (-1, 0, 1),
                      sub_time_s: float = 5.0, backend: str = "SCIP",
                      max_rounds: int | None = None, min_gain: float = 0.0,
                      tick: Callable[[float], None] | None = None, workers: int = 1,
                      guide: bool = True, targets: Mapping[int, int] | None = None,
                      node_limit: int | None = None) -> SitingResult:
    r"""Move incinerators between counties: an exact step when counties do not share.

    For every county :math:`c` and shift :math:`s`, :math:`\Delta_c(s)` is the change of
    cost when only the incinerator sites of :math:`c` are re-optimised
    (:func:`reoptimise_incinerators`) with :math:`s` more of them open. A dynamic program
    picks one shift per county with :math:`\sum_c s_c = 0` (so an exact province count
    still holds) and least :math:`\sum_c\Delta_c(s_c)`. The shifts are ``shifts`` and,
    with ``guide`` and closed counties (no arc crosses a border), the way to and half-way
    to the numbers that minimise the plant fixed cost (:func:`fixed_cost_targets`), or to
    ``targets`` (new plants per county id) when given, such as the allocation of the
    county bound (:mod:`wastenet.siting.countybound`), so that a county far from a good
    number gets there in one round.

    Without sharing the counties' programs are independent, the sum is the exact change,
    and the chosen candidates are joined as they are (checked by
    :func:`wastenet.siting.checker.check`); otherwise, or if the join fails its check, the
    chosen shifts are applied one after another to the running solution, which is kept
    only if it ends up cheaper (otherwise the next round starts again from the incumbent).
    Repeats until no improving allocation is found, two rounds in a row fail, a round
    gains less than ``min_gain`` (relative; not with closed counties, where a round after
    the first solves only the counties that moved), ``deadline``, or ``max_rounds`` rounds.
    With ``node_limit`` each sub-MIP is limited by nodes, not time (with ``max_rounds``,
    a deterministic work limit).
    ``tick(cost)``, when given, is called after every sub-MIP with the best cost known
    (progress reporting).

    The table of a round is computed against the round's starting solution, by
    ``workers`` sub-MIPs at a time (threads: the solver releases the GIL while it
    searches); a cheaper re-optimisation at shift 0 is an entry below zero. The table, and
    so the result, does not depend on ``workers``.
    """
    notes: list[str] = []
    out = _reallocate(data, model, res, notes, deadline=deadline, seed=seed, shifts=shifts,
                      sub_time_s=sub_time_s, backend=backend, max_rounds=max_rounds,
                      min_gain=min_gain, tick=tick or (lambda _cost: None),
                      workers=max(1, int(workers)), guide=guide, targets=targets,
                      nodes=node_limit)
    return replace(out, log=(*out.log, *notes)) if notes else out


def _reallocate(data: SitingData, model: CompiledModel, res: SitingResult, notes: list[str],
                *, deadline: float, seed: int, shifts: tuple[int, ...], sub_time_s: float,
                backend: str, max_rounds: int | None, min_gain: float,
                tick: Callable[[float], None], workers: int, guide: bool,
                targets: Mapping[int, int] | None, nodes: int | None) -> SitingResult:
    """The rounds of :func:`reallocate_counts`; appends a line per round to ``notes``."""
    from wastenet.siting.checker import check

    if not _single_count(model) or not any(c[0] == "incinerator" for c in model.counts):
        return res
    county_of = data.incinerator.county
    counties = np.unique(county_of[county_of >= 0])
    closed = _closed(data, model)
    # closed counties are independent: a county's row of the table stays valid until the
    # county itself changes, so later rounds only solve the counties that moved
    cache: list[dict[int, tuple[float, SitingResult]] | None] = [None] * counties.size
    # the guide depends only on the counties and the total, which the rounds keep
    current = _open_per_county(data, model, res, counties)
    target = None
    if guide and closed:
        target = fixed_cost_targets(data, model, counties, current) if targets is None \
            else np.array([int(targets.get(c, n)) for c, n in
                           zip(counties.tolist(), current.tolist(), strict=True)])
    best = res
    failures = 0
    for rnd in range(20 if max_rounds is None else max_rounds):
        sets = _shift_sets(data, model, best, counties, shifts, target)
        todo = [sets[ci] if cache[ci] is None else () for ci in range(counties.size)]
        table = _table(data, model, best, counties, todo, deadline=deadline, seed=seed,
                       backend=backend, sub_time_s=sub_time_s, nodes=nodes, tick=tick,
                       workers=workers)
        for ci, row in enumerate(cache):
            if row is not None:
                table[ci] = row
        gains = [ci for ci, row in enumerate(table) if 0 in row and row[0][0] < 0]
        if time.perf_counter() >= deadline:
            # no time to apply a round: keep what the counties gained at shift 0
            return _keep_gains(data, model, best, counties, table, gains, closed)
        if closed:
            cache = list(table)
        gain, picks = _pick(table)
        if not np.isfinite(gain) or gain >= -1e-9 * abs(best.total_cost):
            return best
        chosen = [ci for ci in range(counties.size) if table[ci][picks[ci]][0] != 0.0
                  or picks[ci] != 0]
        run = None
        how = "joined"
        if closed:
            joined = _merge(data, model, best, [(county_of == counties[ci],
                                                 table[ci][picks[ci]][1]) for ci in chosen])
            if check(data, joined).ok:
                run = joined
        ok = True
        if run is None:
            # apply: shifts down first (they free capacity), then the rest
            how = "applied"
            run = best
            for ci in sorted(chosen, key=lambda ci: picks[ci]):
                s = picks[ci]
                nxt_res = reoptimise_incinerators(
                    data, model, run, free=county_of == counties[ci], seed=seed,
                    backend=backend, count_shift=s, accept_worse=True, node_limit=nodes,
                    time_limit_s=max(1.0, min(3 * sub_time_s, deadline - time.perf_counter())))
                if nxt_res is run and s != 0:
                    ok = False
                    break
                run = nxt_res
        line = (f"count reallocation round {rnd + 1}: predicted {gain:.6g}, "
                f"{best.total_cost:.10g} -> {run.total_cost:.10g} ({len(chosen)} counties "
                f"{how})" + ("" if ok else " (aborted)"))
        log.info(line)
        notes.append(line)
        if not ok or run.total_cost >= best.total_cost:
            # a sub-MIP stopped by its time limit can miss what the table found: the next
            # round starts again from the incumbent (with this round's shift-0 gains)
            failures += 1
            best = _keep_gains(data, model, best, counties, table, gains, closed)
            cache = [None] * counties.size
            if failures >= 2:
                return best
            continue
        for ci in chosen:
            cache[ci] = None
        failures = 0
        # (closed counties: the next round solves only the counties that moved, so it is
        # cheap and runs whatever this one gained)
        small = not closed and run.total_cost > best.total_cost * (1.0 - min_gain)
        best = run
        if small:
            return best
    return best


def _keep_gains(data: SitingData, model: CompiledModel, best: SitingResult,
                counties: np.ndarray, table: list[dict[int, tuple[float, SitingResult]]],
                gains: list[int], closed: bool) -> SitingResult:
    """``best`` with the cheaper shift-0 layouts of the counties ``gains``: all of them
    joined when the counties are closed (and the join passes the checker), else the
    cheapest one alone (each was computed from ``best``)."""
    from wastenet.siting.checker import check

    if not gains:
        return best
    county_of = data.incinerator.county
    if closed:
        joined = _merge(data, model, best, [(county_of == counties[ci], table[ci][0][1])
                                            for ci in gains])
        if check(data, joined).ok and joined.total_cost < best.total_cost:
            return joined
        return best
    return min([best, *(table[ci][0][1] for ci in gains)], key=lambda r: r.total_cost)


def county_groups(data: SitingData, size: int, seed: int) -> list[np.ndarray]:
    """Each county with incinerator candidates together with its ``size - 1`` nearest such
    counties (by the mean position of their sites), in a seeded random order."""
    inc = data.incinerator
    counties = np.unique(inc.county[inc.county >= 0])
    if counties.size == 0:
        return []
    # mean position of the sites with coordinates (abstract sites: 0, so groups follow
    # the county order)
    has = (inc.county >= 0) & np.isfinite(inc.lon) & np.isfinite(inc.lat)
    n_c = int(counties.max()) + 1
    k = np.maximum(np.bincount(inc.county[has], minlength=n_c), 1)[counties]
    lon = np.bincount(inc.county[has], weights=inc.lon[has], minlength=n_c)[counties] / k
    lat = np.bincount(inc.county[has], weights=inc.lat[has], minlength=n_c)[counties] / k
    x = lon * np.cos(np.radians(lat))
    y = lat
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    near = np.argsort(dist, axis=1, kind="stable")[:, :max(1, size)]
    order = np.random.default_rng(seed).permutation(counties.size)
    return [counties[near[c]] for c in order.tolist()]


def group_search(data: SitingData, model: CompiledModel, res: SitingResult, *,
                 deadline: float, seed: int = 0, size: int = 3, sub_time_s: float = 10.0,
                 max_rounds: int | None = None, backend: str = "SCIP",
                 tick: Callable[[float], None] | None = None, workers: int = 1,
                 batch: int = 2) -> SitingResult:
    """Re-optimise the incinerators of groups of nearby counties together
    (:func:`county_groups`; their number of plants kept), so that one larger plant may
    replace several smaller ones across county borders. Stops at ``deadline``, after
    ``max_rounds`` groups, or after a pass over all groups without improvement.
    ``tick(cost)``, when given, is called after every batch with the incumbent's cost.

    The groups are taken ``batch`` at a time from a queue, each re-optimised from the same
    incumbent, ``workers`` of them at once (threads); the cheapest improvement of a batch
    is kept, and the other groups that improved go back to the front of the queue, to be
    solved again at once from the new incumbent (the rest go to its end). The result does
    not depend on ``workers``."""
    groups = county_groups(data, size, seed)
    county_of = data.incinerator.county
    nodes = None if max_rounds is None else 2000
    workers = max(1, int(workers))
    batch = max(1, int(batch))
    best = res
    since = done = 0

    def run(base: SitingResult, g: np.ndarray) -> SitingResult:
        return reoptimise_incinerators(
            data, model, base, free=np.isin(county_of, g), seed=seed, backend=backend,
            node_limit=nodes,
            time_limit_s=max(1.0, min(sub_time_s, deadline - time.perf_counter())))

    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    queue = deque(range(len(groups)))
    try:
        while groups and since < len(groups):
            if time.perf_counter() >= deadline or (max_rounds is not None
                                                   and done >= max_rounds):
                return best
            take = batch if max_rounds is None else min(batch, max_rounds - done)
            chunk = [queue.popleft() for _ in range(min(take, len(queue)))]
            base = best
            if pool is None:
                cands = [run(base, groups[g]) for g in chunk]
            else:
                cands = list(pool.map(run, [base] * len(chunk), [groups[g] for g in chunk]))
            done += len(chunk)
            kept = min(range(len(chunk)), key=lambda b: cands[b].total_cost)
            if cands[kept].total_cost < best.total_cost:
                log.debug("group search: %.10g -> %.10g", best.total_cost,
                          cands[kept].total_cost)
                best, since = cands[kept], 0
                again = [g for b, g in enumerate(chunk)
                         if b != kept and cands[b].total_cost < base.total_cost]
                queue.extendleft(reversed(again))
                queue.extend(g for g in chunk if g not in again)
            else:
                since += len(chunk)
                queue.extend(chunk)
            if tick is not None:
                tick(best.total_cost)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return best
