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
from scipy.sparse import coo_matrix

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
