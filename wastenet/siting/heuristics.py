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
    met (when the ``allowed`` sites are too few, further candidates open, cheapest first:
    the model lets a site open without flow), until the open capacity covers ``need`` x
    1.05, and (with LP values) every site the LP opens at >= 0.5 -- never breaking an
    ``eq``/``le`` target. A target may still be missed (the greedy is not exact):
    :func:`counts_met` tells.
    """
    ech = model.echelon(echelon)
    targets = [(sense, value, mask) for e, sense, value, mask, _ in model.counts
               if e == echelon]
    has_opt = np.zeros(ech.n_sites, dtype=bool)
    has_opt[ech.opt_site] = True
    cand = has_opt & ech.usable & ~ech.existing
    is_open = cand & ech.forced
    order = [int(s) for s in np.lexsort((np.arange(ech.n_sites), -score))
             if cand[s] and not ech.forced[s] and allowed[s]]

    def can_add(s: int) -> bool:
        return _may_open(model, echelon, is_open, s)

    if enable is not None:
        pool = np.zeros(ech.n_sites, dtype=bool)
        pool[order] = True
        w = model.demand
        # capacity-aware max coverage: an opened site covers at most its largest capacity,
        # taking the reachable villages with the fewest alternatives first
        reach = np.asarray(enable @ (is_open | ech.existing).astype(float)).ravel() > 0
        deg = np.diff(enable.tocsr().indptr)
        while True:
            blocked = np.zeros(ech.n_sites, dtype=bool)
            for sense, value, mask in targets:
                if sense != "ge" and int(np.sum(mask & is_open)) >= value:
                    blocked |= mask
            gain = np.minimum(np.asarray(enable.T @ np.where(reach, 0.0, w)).ravel(),
                              ech.max_cap)
            gain[~pool | is_open | blocked] = 0.0
            if not np.any(gain > 0):
                break
            s_best = int(np.lexsort((np.arange(ech.n_sites), -score, -gain))[0])
            is_open[s_best] = True
            rows = np.flatnonzero((np.asarray(enable[:, s_best].toarray()).ravel() > 0)
                                  & ~reach)
            rows = rows[np.lexsort((rows, -w[rows], deg[rows]))]
            fits = np.cumsum(w[rows]) <= ech.max_cap[s_best] * (1 + 1e-12)
            fits[0] = True
            reach[rows[fits]] = True
    regional = sorted(targets, key=lambda t: -int(np.sum(~t[2])))  # prefecture ones first
    # candidates outside ``allowed`` (e.g. stations without a haul arc to an open plant)
    # may still open, empty, to meet an eq/ge target: cheapest first
    spare = [int(s) for s in np.lexsort((np.arange(ech.n_sites), ech.cheapest_fixed()))
             if cand[s] and not ech.forced[s] and not allowed[s]]
    for sense, value, mask in regional:
        if sense == "le":
            continue
        for s in (*order, *spare):
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


def counts_met(model: CompiledModel, echelon: str, is_open: np.ndarray) -> bool:
    """Do the open sites ``is_open`` of ``echelon`` meet its count targets (new sites)?"""
    for e, sense, value, mask, _ in model.counts:
        if e != echelon:
            continue
        c = int(np.sum(mask & is_open))
        if not (c == value if sense == "eq" else c <= value if sense == "le" else c >= value):
            return False
    return True


def _may_open(model: CompiledModel, echelon: str, is_open: np.ndarray, s: int) -> bool:
    """May new site ``s`` open without breaking an ``eq``/``le`` target of ``echelon``?"""
    return all(not mask[s] or sense == "ge" or int(np.sum(mask & is_open)) < value
               for e, sense, value, mask, _ in model.counts if e == echelon)


def _cover_empty(model: CompiledModel, tr_open: np.ndarray, inc_open: np.ndarray) -> None:
    """Villages without demand carry no load, but the model covers them too (constraint
    1): for each one that must be covered and has no arc to an open site, open the site of
    cheapest fixed cost among those it reaches (a station needs no haul without flow;
    count targets respected). In place; a village left without any open site makes the
    construction fail later."""
    w = model.demand
    empty = np.flatnonzero((w <= 0) & ~model.can_skip)
    if empty.size == 0:
        return
    tr, inc = model.transfer, model.incinerator
    fix_t, fix_i = tr.cheapest_fixed(), inc.cheapest_fixed()
    c_order = np.argsort(model.collect.src, kind="stable")
    c_start = np.searchsorted(model.collect.src[c_order], empty)
    c_stop = np.searchsorted(model.collect.src[c_order], empty, side="right")
    d_order = np.argsort(model.direct.src, kind="stable")
    d_start = np.searchsorted(model.direct.src[d_order], empty)
    d_stop = np.searchsorted(model.direct.src[d_order], empty, side="right")
    for r in range(empty.size):
        js = model.collect.dst[c_order[c_start[r]:c_stop[r]]]
        ks = model.direct.dst[d_order[d_start[r]:d_stop[r]]]
        if tr_open[js].any() or inc_open[ks].any():
            continue
        options = [(float(fix_t[j]), 0, int(j)) for j in js.tolist()
                   if np.isfinite(fix_t[j]) and tr.usable[j]
                   and _may_open(model, "transfer", tr_open, j)]
        options += [(float(fix_i[k]), 1, int(k)) for k in ks.tolist()
                    if np.isfinite(fix_i[k]) and inc.usable[k]
                    and _may_open(model, "incinerator", inc_open, k)]
        if options:
            _, e, site = min(options)
            (tr_open if e == 0 else inc_open)[site] = True


def verified(data: SitingData, res: SitingResult | None, what: str) -> SitingResult | None:
    """``res`` if the independent checker (:func:`wastenet.siting.checker.check`) accepts
    it, else ``None`` (logged). Guards every heuristic solution before it becomes an
    incumbent; it takes well under a second at province size, so it runs once per
    accepted incumbent, never inside a search loop."""
    if res is None:
        return None
    from wastenet.siting.checker import check

    rep = check(data, res)
    if rep.ok:
        return res
    log.warning("%s rejected by the checker: %s", what, "; ".join(rep.violations[:3]))
    return None


def _take(left: float, room: float, single_source: bool) -> float:
    """What a site with ``room`` takes of a demand with ``left`` still to place: all of it
    when it fits, else the room (nothing under single sourcing)."""
    if room >= left * (1 - 1e-12):
        return left
    return 0.0 if single_source else room


def construct(data: SitingData, model: CompiledModel, lp_y: np.ndarray | None = None,
              lp_z: np.ndarray | None = None) -> SitingResult | None:
    """A feasible solution by greedy opening and assignment, or None if the greedy fails.

    Opening (see :func:`_select`) is guided by LP open values when given, otherwise by
    demand attraction per unit of fixed cost; when the open sites miss a count target the
    construction fails (None). Villages (largest demand first) go to the open facility of
    least estimated path cost with room; a village without demand (no load) takes its
    cheapest arc to any open facility, opened for it if need be (:func:`_cover_empty`),
    since the model covers it too. Haul flows are then
    solved exactly (:func:`_transport`) and sizes shrunk to the cheapest that fits.
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
    if not counts_met(model, "incinerator", inc_open):
        log.debug("construction: the incinerator count targets are not met")
        return None
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
    if not counts_met(model, "transfer", tr_open):
        log.debug("construction: the transfer count targets are not met")
        return None
    _cover_empty(model, tr_open, inc_open)
    tcap = np.where(tr.existing, tr.existing_cap, np.where(tr_open, tr.max_cap, 0.0))
    icap = np.where(inc.existing, inc.existing_cap, np.where(inc_open, inc.max_cap, 0.0))
    # cheapest open haul per station, incinerator room tracked greedily per station
    c_order = np.argsort(model.collect.src, kind="stable")
    c_start = np.searchsorted(model.collect.src[c_order], np.arange(n + 1))
    d_order = np.argsort(model.direct.src, kind="stable")
    d_start = np.searchsorted(model.direct.src[d_order], np.arange(n + 1))
    troom = tcap.copy()
    iroom = icap.copy()
    # haul arcs of each station to open incinerators, cheapest first
    hs = np.flatnonzero(inc_open[model.haul.dst])
    hs = hs[np.lexsort((model.haul.cost[hs], model.haul.src[hs]))]
    h_start = np.searchsorted(model.haul.src[hs], np.arange(tr.n_sites + 1))
    h_dst = model.haul.dst[hs].tolist()
    h_cost = model.haul.cost[hs].tolist()

    def haul_for(j: int, need_t: float) -> tuple[float, int]:
        """Cheapest open incinerator with room for ``need_t`` from station ``j``."""
        for e in range(int(h_start[j]), int(h_start[j + 1])):
            if iroom[h_dst[e]] >= need_t * (1 - 1e-12):
                return h_cost[e], h_dst[e]
        return float("inf"), -1

    fv: list[int] = []
    ff: list[int] = []
    fd: list[bool] = []
    fr: list[float] = []
    # least-connected villages first (fewest open options), then the largest demand
    n_opt = np.bincount(model.collect.src, weights=tr_open[model.collect.dst].astype(float),
                        minlength=n) + np.bincount(
        model.direct.src, weights=inc_open[model.direct.dst].astype(float), minlength=n)
    for i in np.lexsort((np.arange(n), -w, n_opt)).tolist():
        wi = float(w[i])
        if wi <= 0:
            # no load, but covered all the same (constraint 1): the cheapest arc to any
            # open station (no haul needed for no flow) or open incinerator
            best_c, best_f, best_d = np.inf, -1, False
            for a in c_order[c_start[i]:c_start[i + 1]].tolist():
                j = int(model.collect.dst[a])
                if tr_open[j] and float(model.collect.cost[a]) < best_c:
                    best_c, best_f, best_d = float(model.collect.cost[a]), j, False
            for b in d_order[d_start[i]:d_start[i + 1]].tolist():
                k = int(model.direct.dst[b])
                if inc_open[k] and float(model.direct.cost[b]) < best_c:
                    best_c, best_f, best_d = float(model.direct.cost[b]), k, True
            if best_f >= 0:
                fv.append(i)
                ff.append(best_f)
                fd.append(best_d)
                fr.append(1.0)
            elif not model.can_skip[i]:
                log.debug("construction: village %d (no demand) has no open facility", i)
                return None
            continue
        left = wi
        while left > 1e-12 * max(1.0, wi):
            best_c, best_f, best_d, best_k, best_take = np.inf, -1, False, -1, 0.0
            for a in c_order[c_start[i]:c_start[i + 1]].tolist():
                j = int(model.collect.dst[a])
                if not tr_open[j] or troom[j] <= 1e-12:
                    continue
                take = _take(left, float(troom[j]), model.single_source)
                if take <= 0:
                    continue
                hc, k = haul_for(j, take)
                if k < 0:
                    continue
                c = float(model.collect.cost[a]) + hc
                if c < best_c:
                    best_c, best_f, best_d, best_k, best_take = c, j, False, k, take
            for b in d_order[d_start[i]:d_start[i + 1]].tolist():
                k = int(model.direct.dst[b])
                if not inc_open[k] or iroom[k] <= 1e-12:
                    continue
                take = _take(left, float(iroom[k]), model.single_source)
                if take > 0 and float(model.direct.cost[b]) < best_c:
                    best_c, best_f, best_d, best_k, best_take = (
                        float(model.direct.cost[b]), k, True, k, take)
            if best_f < 0 or (model.can_skip[i] and best_c > model.penalty):
                break
            if best_d:
                iroom[best_f] -= best_take
            else:
                troom[best_f] -= best_take
                iroom[best_k] -= best_take
            fv.append(i)
            ff.append(best_f)
            fd.append(best_d)
            fr.append(best_take / wi)
            left -= best_take
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


# --------------------------------------------------------------- uncapacitated interchange
def interchange(data: SitingData, model: CompiledModel, res: SitingResult, *,
                deadline: float | None = None, max_passes: int = 200) -> SitingResult:
    r"""Swap/add/drop local search for one-echelon *uncapacitated* problems (p-median, UFL).

    Applies only when there are no transfer stations, every site has one size whose
    capacity holds the whole demand, nothing is existing and the incinerator count targets
    are at most one province-wide target (station targets do not bind: no station moves):
    then each village simply uses its cheapest open site (or stays
    uncovered at the penalty) and a move's cost is exact. With the dense matrix
    :math:`D_{ik}=w_i c_{ik}` (inf without an arc), the cost after swapping open site
    :math:`r` for closed :math:`a` is :math:`\sum_i \min(D_{ia}, b^r_i) + F_a - F_r`, with
    :math:`b^r_i` the best remaining cost of village :math:`i` without :math:`r` -- evaluated
    for all :math:`a` at once. First improvement per removed site, until no move improves.
    Returns ``res`` unchanged when the case does not apply.
    """
    from wastenet.siting.solve import _assemble

    inc = model.incinerator
    n, q = model.demand.shape[0], inc.n_sites
    total = float(model.demand.sum())
    # the stations do not change here: only the incinerator targets bind the moves
    counts = [c for c in model.counts if c[0] == "incinerator"]
    applies = (
        len(model.collect) == 0 and not np.any(inc.existing) and q > 0
        and n * q <= 4_000_000
        and np.all(np.bincount(inc.opt_site, minlength=q) <= 1)
        and np.all(inc.opt_cap >= total * (1 - 1e-12))
        and len(counts) <= 1
        and all(mask[inc.opt_site].all() for _, _, _, mask, _ in counts)
    )
    if not applies:
        return res
    w = model.demand
    big = np.inf
    dmat = np.full((n, q), big)
    np.minimum.at(dmat, (model.direct.src, model.direct.dst), w[model.direct.src]
                  * model.direct.cost)
    fixed = np.full(q, big)
    fixed[inc.opt_site] = inc.opt_fixed
    cand = np.isfinite(fixed) & inc.usable
    skip = np.where(model.can_skip, model.penalty * w, big)
    sense = counts[0][1] if counts else None
    can_add = sense in (None, "ge")
    can_drop = sense in (None, "le")
    is_open = res.incinerator_size >= 0

    def best_two(open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = np.flatnonzero(open_mask)
        sub = np.column_stack([dmat[:, cols], skip])
        idx = np.argsort(sub, axis=1)[:, :2] if sub.shape[1] > 1 else np.zeros((n, 1), int)
        d1 = sub[np.arange(n), idx[:, 0]]
        d2 = sub[np.arange(n), idx[:, 1]] if idx.shape[1] > 1 else np.full(n, big)
        if cols.size == 0:  # nothing open: every village at its penalty
            return d1, d2, np.full(n, -1)
        near = np.where(idx[:, 0] < cols.size, cols[np.minimum(idx[:, 0], cols.size - 1)], -1)
        return d1, d2, near

    def cost_of(d1: np.ndarray, open_mask: np.ndarray) -> float:
        return float(d1.sum() + fixed[open_mask].sum())

    d1, d2, near = best_two(is_open)
    current = cost_of(d1, is_open)
    moves = 0
    for _ in range(max_passes):
        if deadline is not None and time.perf_counter() > deadline:
            break
        improved = False
        for r in np.flatnonzero(is_open & ~inc.forced).tolist():
            if deadline is not None and time.perf_counter() > deadline:
                break
            base = np.where(near == r, d2, d1)
            tot = np.minimum(dmat, base[:, None]).sum(axis=0) + fixed - fixed[r] \
                + fixed[is_open].sum()
            tot[is_open | ~cand] = big
            a = int(np.argmin(tot))
            best_val, best_move = tot[a], ("swap", r, a)
            if can_drop:
                drop = float(base.sum() + fixed[is_open].sum() - fixed[r])
                if drop < best_val:
                    best_val, best_move = drop, ("drop", r, -1)
            if best_val < current * (1 - 1e-12) - 1e-12:
                kind, rr, aa = best_move
                is_open[rr] = False
                if kind == "swap":
                    is_open[aa] = True
                d1, d2, near = best_two(is_open)
                current = cost_of(d1, is_open)
                moves += 1
                improved = True
        if can_add:
            tot = np.minimum(dmat, d1[:, None]).sum(axis=0) + fixed + fixed[is_open].sum()
            tot[is_open | ~cand] = big
            a = int(np.argmin(tot))
            if tot[a] < current * (1 - 1e-12) - 1e-12:
                is_open[a] = True
                d1, d2, near = best_two(is_open)
                current = cost_of(d1, is_open)
                moves += 1
                improved = True
        if not improved:
            break
    if moves == 0 or current >= res.total_cost * (1 - 1e-12):
        return res
    if not np.all(np.isfinite(d1)):
        return res
    served = (near >= 0) & (d1 < skip)
    fv = np.flatnonzero(served)
    ff = near[served]
    isize = np.where(is_open, 0, -1).astype(np.int64)
    isize[is_open] = inc.opt_size[np.searchsorted(inc.opt_site, np.flatnonzero(is_open))]
    out = _assemble(data, model, np.asarray(res.transfer_size), isize, fv, ff,
                    np.ones(fv.size, dtype=bool), np.ones(fv.size), np.zeros(len(model.haul)),
                    lower_bound=res.lower_bound, status=res.status, solver=res.solver,
                    seed=res.seed, elapsed_s=res.elapsed_s, iterations=res.iterations + moves,
                    log_lines=(*res.log, f"interchange: {moves} moves, cost {current:.10g}"))
    return out if out.total_cost < res.total_cost else res


def downsize(data: SitingData, model: CompiledModel, res: SitingResult, *,
             deadline: float | None = None, max_moves: int = 1000) -> SitingResult:
    """Try each open new incinerator at its next cheaper size, re-solving the haul exactly.

    Villages stay where they are; a move sets the site's capacity to a cheaper size that
    still holds its direct deliveries, re-solves the haul transportation LP over all open
    incinerators and is kept only if the recomputed total cost falls. Sites are tried in
    order of the fixed cost the move would save (largest first), until no move improves;
    a (site, size) move that did not pay once is not retried.
    """
    from wastenet.siting.solve import result_from_assignment

    inc = data.incinerator
    n = data.n_villages
    w = model.demand
    best = res
    moves = 0
    no_move = np.full(n, -1)
    failed: set[tuple[int, int]] = set()
    while moves < max_moves:
        if deadline is not None and time.perf_counter() > deadline:
            break
        isize = best.incinerator_size
        in_open = isize != -1
        tin = np.bincount(best.flow_facility[~best.flow_direct],
                          weights=w[best.flow_village[~best.flow_direct]]
                          * best.flow_fraction[~best.flow_direct], minlength=len(data.transfer))
        din = np.bincount(best.flow_facility[best.flow_direct],
                          weights=w[best.flow_village[best.flow_direct]]
                          * best.flow_fraction[best.flow_direct], minlength=len(inc))
        cap = _capacity(model.incinerator, isize, inc.size_capacity, inc.existing_capacity)
        tried: list[tuple[float, int, int]] = []
        for k in np.flatnonzero(isize >= 0).tolist():
            cur = int(isize[k])
            ns = int(inc.n_sizes[k])
            opts = [sl for sl in range(ns) if inc.size_fixed_cost[k, sl]
                    < inc.size_fixed_cost[k, cur] and inc.size_capacity[k, sl] >= din[k]]
            if opts:
                sl = max(opts, key=lambda x: inc.size_fixed_cost[k, x])
                tried.append((float(inc.size_fixed_cost[k, cur] - inc.size_fixed_cost[k, sl]),
                              k, sl))
        tried.sort(key=lambda t: (-t[0], t[1]))
        improved = False
        for _, k, sl in tried:
            if deadline is not None and time.perf_counter() > deadline:
                break
            if (k, sl) in failed:  # a move that did not pay is not retried
                continue
            failed.add((k, sl))
            trial_cap = cap.copy()
            trial_cap[k] = inc.size_capacity[k, sl]
            if trial_cap.sum() < tin.sum() + din.sum():
                continue
            h = _transport(model, tin, trial_cap - din, in_open)
            if h is None:
                continue
            trial = isize.copy()
            trial[k] = sl
            cand = result_from_assignment(data, model, best, best.transfer_size, trial,
                                          no_move, np.zeros(n, dtype=bool), h)
            if cand.total_cost < best.total_cost * (1 - 1e-12):
                best = cand
                moves += 1
                improved = True
                break
        if not improved:
            break
    if moves:
        best = replace(best, log=(*best.log, f"downsize: {moves} moves, cost "
                                             f"{best.total_cost:.10g}"))
    return best
