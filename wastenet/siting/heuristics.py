r"""Primal improvement of a feasible siting: shift moves, exact haul, resizing.

Given a feasible :class:`~wastenet.siting.result.SitingResult` (open sites fixed), rounds of

1. **shift**: each wholly-assigned village (in index order, deterministic) moves to the open
   transfer station or incinerator (direct) of least estimated cost with spare capacity;
   the estimate of a station is :math:`w_i(c_{ij}+t_j+\min_k c_{jk})` where the minimum
   runs over haul arcs to open incinerators;
2. **haul**: the haul flows are re-optimised exactly as the transportation LP
   :math:`\min\sum_{jk}(c_{jk}+t_k)h_{jk}` s.t. :math:`\sum_k h_{jk}=\text{in}_j`,
   :math:`\sum_j h_{jk}\le \mathrm{Cap}_k-\text{direct}_k`, :math:`h\ge0`
   (scipy's HiGHS on sparse matrices);
3. **resize**: every open new site takes its cheapest size whose capacity holds its inflow.

A round is kept only if its recomputed total cost is lower; the input is returned when
nothing improves, so the result is never worse. Counts are unchanged (no site opens or
closes), so every count target stays satisfied.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix

from wastenet.siting.data import SitingData
from wastenet.siting.model import CompiledModel, Echelon
from wastenet.siting.result import SitingResult

log = logging.getLogger("wastenet.siting.heuristics")


def _capacity(ech: Echelon, data_sizes: np.ndarray, cap_table: np.ndarray,
              existing_cap: np.ndarray) -> np.ndarray:
    cap = np.zeros(ech.n_sites)
    new = data_sizes >= 0
    cap[new] = cap_table[np.flatnonzero(new), data_sizes[new]]
    cap[data_sizes == -2] = existing_cap[data_sizes == -2]
    return cap


def _transport(model: CompiledModel, inflow: np.ndarray, room: np.ndarray,
               in_open: np.ndarray) -> np.ndarray | None:
    """Optimal haul flows for station inflows ``inflow`` and incinerator room ``room``."""
    arcs = np.flatnonzero((inflow[model.haul.src] > 0) & in_open[model.haul.dst])
    h = np.zeros(len(model.haul))
    if arcs.size == 0:
        return h if not np.any(inflow > 0) else None
    src, dst = model.haul.src[arcs], model.haul.dst[arcs]
    stations = np.flatnonzero(inflow > 0)
    srow = np.full(inflow.shape[0], -1)
    srow[stations] = np.arange(stations.size)
    if np.any(np.isin(stations, src, invert=True)):
        return None
    kset = np.unique(dst)
    krow = np.full(room.shape[0], -1)
    krow[kset] = np.arange(kset.size)
    col = np.arange(arcs.size)
    a_eq = coo_matrix((np.ones(arcs.size), (srow[src], col)), shape=(stations.size, arcs.size))
    a_ub = coo_matrix((np.ones(arcs.size), (krow[dst], col)), shape=(kset.size, arcs.size))
    res = linprog(model.haul.cost[arcs], A_ub=a_ub.tocsr(), b_ub=np.maximum(room[kset], 0.0),
                  A_eq=a_eq.tocsr(), b_eq=inflow[stations], bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    h[arcs] = np.maximum(res.x, 0.0)
    return h


def _resize(sizes: np.ndarray, load: np.ndarray, cap_table: np.ndarray, fixed: np.ndarray,
            n_sizes: np.ndarray) -> np.ndarray:
    out = sizes.copy()
    for s in np.flatnonzero(sizes >= 0).tolist():
        ns = int(n_sizes[s])
        ok = np.flatnonzero(cap_table[s, :ns] >= load[s] * (1 + 1e-9) + 1e-9)
        if ok.size:
            out[s] = int(ok[np.argmin(fixed[s, ok])])
    return out


def improve(data: SitingData, model: CompiledModel, res: SitingResult, *,
            max_rounds: int = 50, deadline: float | None = None) -> SitingResult:
    """Improve ``res`` by the moves of the module docstring; never returns a worse result."""
    from wastenet.siting.solve import result_from_assignment

    best = res
    w = model.demand
    n = w.shape[0]
    tr_open = best.transfer_size != -1
    in_open = best.incinerator_size != -1
    for rnd in range(max_rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        tcap = _capacity(model.transfer, best.transfer_size, data.transfer.size_capacity,
                         data.transfer.existing_capacity)
        icap = _capacity(model.incinerator, best.incinerator_size,
                         data.incinerator.size_capacity, data.incinerator.existing_capacity)
        # current single assignment (villages with one row of fraction 1)
        fac = np.full(n, -1)
        dire = np.zeros(n, dtype=bool)
        rows = np.bincount(best.flow_village, minlength=n)
        whole = best.flow_fraction > 1 - 1e-9
        sel = whole & (rows[best.flow_village] == 1)
        fac[best.flow_village[sel]] = best.flow_facility[sel]
        dire[best.flow_village[sel]] = best.flow_direct[sel]
        movable = fac >= 0
        tload = np.bincount(best.flow_facility[~best.flow_direct],
                            weights=w[best.flow_village[~best.flow_direct]]
                            * best.flow_fraction[~best.flow_direct], minlength=len(tcap))
        dload = np.bincount(best.flow_facility[best.flow_direct],
                            weights=w[best.flow_village[best.flow_direct]]
                            * best.flow_fraction[best.flow_direct], minlength=len(icap))
        iload = dload + np.bincount(best.haul_incinerator, weights=best.haul_t_per_day,
                                    minlength=len(icap))
        hmin = np.full(len(tcap), np.inf)
        ok_h = in_open[model.haul.dst]
        np.minimum.at(hmin, model.haul.src[ok_h], model.haul.cost[ok_h])
        est_c = model.collect.cost + hmin[model.collect.dst]
        est_c[~tr_open[model.collect.dst]] = np.inf
        est_d = np.where(in_open[model.direct.dst], model.direct.cost, np.inf)
        c_order = np.argsort(model.collect.src, kind="stable")
        c_start = np.searchsorted(model.collect.src[c_order], np.arange(n + 1))
        d_order = np.argsort(model.direct.src, kind="stable")
        d_start = np.searchsorted(model.direct.src[d_order], np.arange(n + 1))
        cidx = {(int(s), int(t)): a for a, (s, t) in
                enumerate(zip(model.collect.src, model.collect.dst, strict=True))}
        didx = {(int(s), int(t)): b for b, (s, t) in
                enumerate(zip(model.direct.src, model.direct.dst, strict=True))}
        new_fac = fac.copy()
        new_dir = dire.copy()
        moved = 0
        for i in np.flatnonzero(movable).tolist():
            wi = float(w[i])
            if dire[i]:
                b = didx.get((i, int(fac[i])))
                cur = est_d[b] if b is not None else np.inf
            else:
                a = cidx.get((i, int(fac[i])))
                cur = est_c[a] if a is not None else np.inf
            ca = c_order[c_start[i]:c_start[i + 1]]
            da = d_order[d_start[i]:d_start[i + 1]]
            best_gain, choice = 1e-9 * max(1.0, abs(cur)), None
            for a in ca.tolist():
                j = int(model.collect.dst[a])
                if (not dire[i] and j == fac[i]) or tload[j] + wi > tcap[j] * (1 + 1e-12):
                    continue
                gain = cur - est_c[a]
                if gain > best_gain:
                    best_gain, choice = gain, (j, False)
            for b in da.tolist():
                k = int(model.direct.dst[b])
                if (dire[i] and k == fac[i]) or iload[k] + wi > icap[k] * (1 + 1e-12):
                    continue
                gain = cur - est_d[b]
                if gain > best_gain:
                    best_gain, choice = gain, (k, True)
            if choice is None:
                continue
            f, is_d = choice
            if dire[i]:
                dload[fac[i]] -= wi
                iload[fac[i]] -= wi
            else:
                tload[fac[i]] -= wi
            if is_d:
                dload[f] += wi
                iload[f] += wi
            else:
                tload[f] += wi
            new_fac[i], new_dir[i] = f, is_d
            fac[i], dire[i] = f, is_d
            moved += 1
        if moved == 0 and rnd > 0:
            break
        h = _transport(model, tload, icap - dload, in_open)
        if h is None:
            break
        iload_new = dload + np.bincount(model.haul.dst, weights=h, minlength=len(icap))
        tsize = _resize(best.transfer_size, tload, data.transfer.size_capacity,
                        data.transfer.size_fixed_cost, data.transfer.n_sizes)
        isize = _resize(best.incinerator_size, iload_new, data.incinerator.size_capacity,
                        data.incinerator.size_fixed_cost, data.incinerator.n_sizes)
        cand = result_from_assignment(data, model, best, tsize, isize, new_fac, new_dir, h)
        if cand.total_cost < best.total_cost * (1 - 1e-12):
            log.debug("round %d: %d moves, cost %.10g -> %.10g", rnd, moved, best.total_cost,
                      cand.total_cost)
            best = replace(cand, log=(
                *best.log, f"local search round {rnd}: {moved} moves, "
                f"cost {cand.total_cost:.10g}"))
        else:
            break
    return best


# ------------------------------------------------------------------------ construction
def _select(model: CompiledModel, echelon: str, score: np.ndarray, need: float,
            allowed: np.ndarray, lp_open: np.ndarray | None,
            enable: csr_matrix | None = None) -> np.ndarray:
    """Greedy open set of one echelon (new sites), respecting every count target.

    Forced sites first; then (``enable``: villages x sites incidence of "site s gives
    village i a path") the site enabling the most still-unreachable demand, until all
    demand is reachable; then, best score first, sites until every ``eq``/``ge`` target is
    met, until the open capacity covers ``need`` x 1.05, and (with LP values) every site the
    LP opens at >= 0.5 -- never breaking an ``eq``/``le`` target.
    """
    ech = model.transfer if echelon == "transfer" else model.incinerator
    targets = [(sense, value, mask) for e, sense, value, mask, _ in model.counts
               if e == echelon]
    has_opt = np.zeros(ech.n_sites, dtype=bool)
    has_opt[ech.opt_site] = True
    cand = has_opt & ech.usable & ~ech.existing
    is_open = cand & ech.forced
    order = [int(s) for s in np.lexsort((np.arange(ech.n_sites), -score))
             if cand[s] and not ech.forced[s] and allowed[s]]

    def can_add(s: int) -> bool:
        return all(not mask[s] or sense == "ge" or int(np.sum(mask & is_open)) < value
                   for sense, value, mask in targets)

    if enable is not None:
        pool = np.zeros(ech.n_sites, dtype=bool)
        pool[order] = True
        w = model.demand
        reach = np.asarray(enable @ (is_open | ech.existing).astype(float)).ravel() > 0
        while True:
            blocked = np.zeros(ech.n_sites, dtype=bool)
            for sense, value, mask in targets:
                if sense != "ge" and int(np.sum(mask & is_open)) >= value:
                    blocked |= mask
            gain = np.asarray(enable.T @ np.where(reach, 0.0, w)).ravel()
            gain[~pool | is_open | blocked] = 0.0
            if not np.any(gain > 0):
                break
            s_best = int(np.lexsort((np.arange(ech.n_sites), -score, -gain))[0])
            is_open[s_best] = True
            reach |= np.asarray(enable[:, s_best].toarray()).ravel() > 0
    regional = sorted(targets, key=lambda t: -int(np.sum(~t[2])))  # prefecture ones first
    for sense, value, mask in regional:
        if sense == "le":
            continue
        for s in order:
            if int(np.sum(mask & is_open)) >= value:
                break
            if mask[s] and not is_open[s] and can_add(s):
                is_open[s] = True
    cap = np.where(ech.existing, ech.existing_cap, 0.0)
    for s in order:
        if float(np.sum(np.where(is_open, ech.max_cap, 0.0)) + cap.sum()) >= need * 1.05:
            break
        if not is_open[s] and can_add(s):
            is_open[s] = True
    if lp_open is not None:
        for s in order:
            if lp_open[s] >= 0.5 and not is_open[s] and can_add(s):
                is_open[s] = True
    return is_open


def construct(data: SitingData, model: CompiledModel, lp_y: np.ndarray | None = None,
              lp_z: np.ndarray | None = None) -> SitingResult | None:
    """A feasible solution by greedy opening and assignment, or None if the greedy fails.

    Opening (see :func:`_select`) is guided by LP open values when given, otherwise by
    demand attraction per unit of fixed cost. Villages (largest demand first) go to the
    open facility of least estimated path cost with room; haul flows are then solved
    exactly (:func:`_transport`) and sizes shrunk to the cheapest that fits.
    """
    from wastenet.siting.solve import _assemble

    tr, inc = model.transfer, model.incinerator
    w = model.demand
    n = w.shape[0]
    deg = np.bincount(model.collect.src, minlength=n) + np.bincount(model.direct.src,
                                                                    minlength=n)
    share = np.where(deg > 0, w / np.maximum(deg, 1), 0.0)
    attract_t = np.bincount(model.collect.dst, weights=share[model.collect.src],
                            minlength=tr.n_sites)
    hdeg = np.bincount(model.haul.src, minlength=tr.n_sites)
    attract_i = np.bincount(model.direct.dst, weights=share[model.direct.src],
                            minlength=inc.n_sites) + np.bincount(
        model.haul.dst, weights=(attract_t / np.maximum(hdeg, 1))[model.haul.src],
        minlength=inc.n_sites)

    def open_value(ech: Echelon, val: np.ndarray | None) -> np.ndarray | None:
        if val is None:
            return None
        out = np.zeros(ech.n_sites)
        np.add.at(out, ech.opt_site, val)
        return out

    def fixed_per_cap(ech: Echelon) -> np.ndarray:
        best = np.full(ech.n_sites, np.inf)
        ok = ech.opt_cap > 0
        np.minimum.at(best, ech.opt_site[ok], ech.opt_fixed[ok] / ech.opt_cap[ok])
        return np.where(np.isfinite(best), best, 0.0)

    yo, zo = open_value(tr, lp_y), open_value(inc, lp_z)
    s_i = zo + 1e-9 * attract_i if zo is not None else attract_i / (1.0 + fixed_per_cap(inc))
    need = float(w.sum())
    m_, q_ = tr.n_sites, inc.n_sites
    c_inc = csr_matrix((np.ones(len(model.collect)), (model.collect.src, model.collect.dst)),
                       shape=(n, m_))
    h_inc = csr_matrix((np.ones(len(model.haul)), (model.haul.src, model.haul.dst)),
                       shape=(m_, q_))
    d_inc = csr_matrix((np.ones(len(model.direct)), (model.direct.src, model.direct.dst)),
                       shape=(n, q_))
    enable_i = ((c_inc @ h_inc) + d_inc).tocsc()
    inc_open = _select(model, "incinerator", s_i, need, np.ones(inc.n_sites, bool), zo,
                       enable_i)
    inc_open |= inc.existing
    reach = np.zeros(tr.n_sites, dtype=bool)
    reach[model.haul.src[inc_open[model.haul.dst]]] = True
    s_t = yo + 1e-9 * attract_t if yo is not None else attract_t / (1.0 + fixed_per_cap(tr))
    has_direct = np.zeros(n, dtype=bool)
    has_direct[model.direct.src[inc_open[model.direct.dst]]] = True
    need_t = float(w[~has_direct].sum())
    c_ok = csr_matrix((reach[model.collect.dst].astype(float),
                       (model.collect.src, model.collect.dst)), shape=(n, m_)).tocsc()
    c_ok.eliminate_zeros()
    # villages already served directly need no station
    c_ok = csr_matrix(c_ok.multiply((~has_direct).astype(float)[:, None])).tocsc()
    tr_open = _select(model, "transfer", s_t, need_t, reach, yo, c_ok) | tr.existing
    tcap = np.where(tr.existing, tr.existing_cap, np.where(tr_open, tr.max_cap, 0.0))
    icap = np.where(inc.existing, inc.existing_cap, np.where(inc_open, inc.max_cap, 0.0))
    # cheapest open haul per station, incinerator room tracked greedily per station
    hmin = np.full(tr.n_sites, np.inf)
    ok_h = inc_open[model.haul.dst]
    np.minimum.at(hmin, model.haul.src[ok_h], model.haul.cost[ok_h])
    est_c = np.where(tr_open[model.collect.dst], model.collect.cost
                     + hmin[model.collect.dst], np.inf)
    est_d = np.where(inc_open[model.direct.dst], model.direct.cost, np.inf)
    c_order = np.argsort(model.collect.src, kind="stable")
    c_start = np.searchsorted(model.collect.src[c_order], np.arange(n + 1))
    d_order = np.argsort(model.direct.src, kind="stable")
    d_start = np.searchsorted(model.direct.src[d_order], np.arange(n + 1))
    troom = tcap.copy()
    iroom = icap.copy()
    total_room = float(iroom.sum())
    fv: list[int] = []
    ff: list[int] = []
    fd: list[bool] = []
    fr: list[float] = []
    for i in np.lexsort((np.arange(n), -w)).tolist():
        wi = float(w[i])
        opts: list[tuple[float, int, bool]] = []
        for a in c_order[c_start[i]:c_start[i + 1]].tolist():
            if np.isfinite(est_c[a]):
                opts.append((float(est_c[a]), int(model.collect.dst[a]), False))
        for b in d_order[d_start[i]:d_start[i + 1]].tolist():
            if np.isfinite(est_d[b]):
                opts.append((float(est_d[b]), int(model.direct.dst[b]), True))
        opts.sort()
        left = wi
        if model.can_skip[i] and opts and opts[0][0] > model.penalty:
            continue  # cheaper to leave uncovered
        for _, f, is_d in opts:
            room = iroom[f] if is_d else min(troom[f], total_room)
            take = left if left <= room * (1 + 1e-12) else (
                room if not model.single_source else 0.0)
            if take <= 0:
                continue
            if is_d:
                iroom[f] -= take
            else:
                troom[f] -= take
            total_room -= take
            fv.append(i)
            ff.append(f)
            fd.append(is_d)
            fr.append(take / wi if wi > 0 else 1.0)
            left -= take
            if left <= 1e-12 * max(1.0, wi):
                break
        if left > 1e-9 * max(1.0, wi) and not model.can_skip[i]:
            log.debug("construction: village %d does not fit", i)
            return None
    fv_a = np.asarray(fv, dtype=np.int64)
    ff_a = np.asarray(ff, dtype=np.int64)
    fd_a = np.asarray(fd, dtype=bool)
    fr_a = np.asarray(fr, dtype=np.float64)
    tin = np.bincount(ff_a[~fd_a], weights=w[fv_a[~fd_a]] * fr_a[~fd_a],
                      minlength=tr.n_sites)
    din = np.bincount(ff_a[fd_a], weights=w[fv_a[fd_a]] * fr_a[fd_a], minlength=inc.n_sites)
    h = _transport(model, tin, icap - din, inc_open)
    if h is None:
        log.debug("construction: haul flows do not fit the incinerators")
        return None
    iin = din + np.bincount(model.haul.dst, weights=h, minlength=inc.n_sites)

    def sizes(ech: Echelon, is_open: np.ndarray, cap_table: np.ndarray, fixed: np.ndarray,
              n_sizes: np.ndarray, load: np.ndarray) -> np.ndarray:
        out = np.full(ech.n_sites, -1, dtype=np.int64)
        out[ech.existing] = -2
        for s in np.flatnonzero(is_open & ~ech.existing).tolist():
            out[s] = int(np.argmax(cap_table[s, :int(n_sizes[s])]))
        return _resize(out, load, cap_table, fixed, n_sizes)

    tsize = sizes(tr, tr_open, data.transfer.size_capacity, data.transfer.size_fixed_cost,
                  data.transfer.n_sizes, tin)
    isize = sizes(inc, inc_open, data.incinerator.size_capacity,
                  data.incinerator.size_fixed_cost, data.incinerator.n_sizes, iin)
    return _assemble(data, model, tsize, isize, fv_a, ff_a, fd_a, fr_a, h,
                     lower_bound=-np.inf, status="feasible", solver="construction",
                     seed=0, elapsed_s=0.0)
