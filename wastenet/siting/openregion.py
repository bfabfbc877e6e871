r"""Exact re-optimisation of both echelons in a region whose border flows cross.

With sharing between counties almost no county is closed in the incumbent (flows cross
its border), so :mod:`wastenet.siting.region` cannot re-solve it. This step freezes what
crosses the border instead, and re-solves the rest of the region exactly.

Neighbourhood
-------------
A region is a set of counties :math:`G` with usable transfer sites :math:`J_G` and
incinerator sites :math:`K_G`. In the incumbent :math:`(\bar y, \bar z, \bar x, \bar d,
\bar h)`:

* :math:`V` are the villages it serves at a facility of the region (collected to
  :math:`J_G` or delivered directly to :math:`K_G`); each must be served only there
  (always so with single sourcing), otherwise the region is not used;
* :math:`J^{out}` are the stations outside :math:`J_G` that haul into :math:`K_G`, each
  with :math:`H_j = \sum_{k\in K_G}\bar h_{jk} > 0`;
* :math:`K^{out}` are the open plants outside :math:`K_G` that a station of :math:`J_G`
  or a village of :math:`V` can reach, each with the room
  :math:`R_k = \bar C_k - \sum_{j\notin J_G}\bar h_{jk} - \sum_{i\notin V} w_i \bar d_{ik}
  > 0` its other inflows leave (:math:`\bar C_k` its open capacity).

Sub-problem
-----------
The model of :mod:`wastenet.siting.model` on

* villages :math:`V` and one pseudo-village per :math:`j\in J^{out}` with demand
  :math:`H_j`;
* stations :math:`J_G` (free, as in the full model) and :math:`J^{out}`, each an existing
  station of capacity :math:`H_j` fed only by its pseudo-village, at cost 0;
* plants :math:`K_G` (free) and :math:`K^{out}`, existing with capacity :math:`R_k`;
* the arcs of the full model from :math:`V` to :math:`J_G \cup K_G \cup K^{out}`, from
  :math:`J_G` to :math:`K_G\cup K^{out}`, and from :math:`J^{out}` to :math:`K_G` only;
* each count target of the model that reaches into the region as an equality at the
  incumbent's number of new sites of :math:`J_G` (or :math:`K_G`) it counts (existing
  sites never count).

So the region's stations and plants open, close and change size, the villages of
:math:`V` are collected again, the stations of :math:`J_G` ship anywhere with room, and
the waste the outside stations send into the region is split again among its plants;
everything else is fixed.

Validity
--------
Let a solution of the sub-problem replace, in the incumbent, the values of the options
of :math:`J_G` and :math:`K_G`, the collection and direct arcs of :math:`V`, and the haul
arcs out of :math:`J_G` and from :math:`J^{out}` into :math:`K_G`. Every village is
still served once (those of :math:`V` by the sub-problem, the rest as before); a station
of :math:`J_G` receives only from :math:`V` and ships what it receives; a station of
:math:`J^{out}` still ships its inflow (:math:`H_j` into the region, the rest as
before); a plant of :math:`K_G` receives only from :math:`V`, :math:`J_G` and
:math:`J^{out}` (any other sender would belong to them), within its capacity; a plant of
:math:`K^{out}` receives at most :math:`R_k` more than its fixed inflow; the counts hold
by the equalities. The variables replaced carry every cost that changes (fixed costs of
the region's options; arc costs with their heads' throughput), so the full cost changes
by the difference of the sub-problem's objective at the two solutions, and the
incumbent restricted to the sub-problem is one of its solutions. Two regions whose
stations, plants and villages (as above, pseudo ones included) are disjoint change
disjoint variables and constraints, so both changes may be joined and their gains add
(:func:`compatible`). Without sharing every county is closed, :math:`J^{out}` and
:math:`K^{out}` are empty, and the sub-problem is that of
:func:`wastenet.siting.region.submodel`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from wastenet.siting.data import SitingData
from wastenet.siting.mip import MipOptions, MipSolution, solve_mip
from wastenet.siting.model import CompiledArcs, CompiledModel
from wastenet.siting.region import (
    RegionSolve,
    SubModel,
    _index,
    _objective,
    _site_state,
    _sub_arcs,
    _sub_echelon,
    _values,
    join,
    region_targets,
)
from wastenet.siting.result import SitingResult

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

log = logging.getLogger("wastenet.siting.openregion")

#: flows and rooms at or below this (t/d) count as none
TOL_T = 1e-9


def open_region(model: CompiledModel, hint: MipSolution, tr_in: BoolArray,
                inc_in: BoolArray) -> SubModel | None:
    """The sub-problem of the region whose transfer and incinerator sites are marked by
    ``tr_in`` and ``inc_in``, at the incumbent's values ``hint`` (module docstring);
    ``None`` when a village it serves is also served outside it."""
    tr, inc = model.transfer, model.incinerator
    col, dr, hl = model.collect, model.direct, model.haul
    n, w = model.demand.shape[0], model.demand
    tr_in = np.asarray(tr_in, dtype=bool) & tr.usable
    inc_in = np.asarray(inc_in, dtype=bool) & inc.usable
    x_pos, d_pos = hint.x > TOL_T, hint.d > TOL_T
    free = np.zeros(n, dtype=bool)
    free[col.src[x_pos & tr_in[col.dst]]] = True
    free[dr.src[d_pos & inc_in[dr.dst]]] = True
    if np.any(free[col.src[x_pos & ~tr_in[col.dst]]]) or np.any(
            free[dr.src[d_pos & ~inc_in[dr.dst]]]):
        return None
    villages = np.flatnonzero(free)
    # outside stations hauling into the region
    into = np.bincount(hl.src, weights=np.where(inc_in[hl.dst], hint.h, 0.0),
                       minlength=tr.n_sites).astype(np.float64)
    j_out = ~tr_in & (into > TOL_T)
    # open outside plants within reach, with the room their fixed inflows leave
    cap = inc.existing_cap + np.bincount(inc.opt_site, weights=hint.z * inc.opt_cap,
                                         minlength=inc.n_sites)
    fixed = (np.bincount(hl.dst, weights=np.where(tr_in[hl.src], 0.0, hint.h),
                         minlength=inc.n_sites)
             + np.bincount(dr.dst, weights=np.where(free[dr.src], 0.0, hint.d * w[dr.src]),
                           minlength=inc.n_sites))
    room = cap - fixed
    reach = np.zeros(inc.n_sites, dtype=bool)
    reach[hl.dst[tr_in[hl.src]]] = True
    reach[dr.dst[free[dr.src]]] = True
    k_out = ~inc_in & reach & (room > TOL_T)
    tr_sites = np.flatnonzero(tr_in | j_out)
    inc_sites = np.flatnonzero(inc_in | k_out)
    sub_tr, tr_opts = _sub_echelon(tr, tr_sites, j_out[tr_sites], into[tr_sites])
    sub_inc, inc_opts = _sub_echelon(inc, inc_sites, k_out[inc_sites], room[inc_sites])
    lv = _index(n, villages)
    lt = _index(tr.n_sites, tr_sites)
    lk = _index(inc.n_sites, inc_sites)
    reg_c, ca = _sub_arcs(col, lv, lt, free[col.src] & tr_in[col.dst])
    outs = np.flatnonzero(j_out)
    pseudo_v = villages.size + np.arange(outs.size)
    zero = np.zeros(outs.size)
    collect = CompiledArcs(np.concatenate([reg_c.src, pseudo_v]),
                           np.concatenate([reg_c.dst, lt[outs]]),
                           np.concatenate([reg_c.cost, zero]),
                           np.concatenate([reg_c.unit, zero]))
    direct, da = _sub_arcs(dr, lv, lk, free[dr.src] & (inc_in | k_out)[dr.dst])
    haul, ha = _sub_arcs(hl, lt, lk, (tr_in[hl.src] & (inc_in | k_out)[hl.dst])
                         | (j_out[hl.src] & inc_in[hl.dst]))
    counts = []
    for e, here, label in region_targets(model, np.flatnonzero(tr_in),
                                         np.flatnonzero(inc_in)):
        is_open = _site_state(model, e, _values(hint, e))[1]
        sites = tr_sites if e == "transfer" else inc_sites
        counts.append((e, "eq", int(np.sum(here & is_open)), here[sites], label))
    sub = replace(model, demand=np.concatenate([w[villages], into[outs]]),
                  can_skip=np.concatenate([model.can_skip[villages],
                                           np.zeros(outs.size, dtype=bool)]),
                  transfer=sub_tr, incinerator=sub_inc, collect=collect, direct=direct,
                  haul=haul, counts=tuple(counts))
    return SubModel(sub, villages, tr_sites, inc_sites, tr_opts, inc_opts,
                    np.concatenate([ca, -np.ones(outs.size, dtype=np.int64)]), da, ha)


def compatible(a: SubModel, b: SubModel) -> bool:
    """Whether the changes of two regions solved from the same incumbent may be joined
    (disjoint stations, plants and villages; module docstring)."""
    return not (np.intersect1d(a.tr_sites, b.tr_sites).size
                or np.intersect1d(a.inc_sites, b.inc_sites).size
                or np.intersect1d(a.villages, b.villages).size)


def solve_open_region(model: CompiledModel, hint: MipSolution, tr_in: BoolArray,
                      inc_in: BoolArray, *, time_limit_s: float, seed: int = 0,
                      backend: str = "SCIP", node_limit: int | None = None) -> RegionSolve:
    """Solve the sub-problem of a region from the incumbent ``hint`` (its full-model
    values). Changes nothing; :func:`wastenet.siting.region.join` applies the outcome.
    ``time_limit_s`` applies only without ``node_limit``."""
    t0 = time.perf_counter()
    reg = open_region(model, hint, tr_in, inc_in)
    if reg is None:
        return RegionSolve(float("inf"), "split village", 0.0, None, None)
    start = reg.restrict(hint)
    before = _objective(reg.model, start)
    sol = solve_mip(reg.model, MipOptions(
        backend=backend, seed=seed, node_limit=node_limit, mip_gap=1e-6,
        # a node limit is a deterministic work limit: the clock must not cut it short
        time_limit_s=None if node_limit is not None else time_limit_s),
                    hint=start)
    wall = time.perf_counter() - t0
    if sol.status not in ("optimal", "feasible"):
        return RegionSolve(float("inf"), sol.status, wall, reg, None)
    return RegionSolve(sol.objective - before, sol.status, wall, reg, sol)


def reoptimise_open(data: SitingData, model: CompiledModel, res: SitingResult, *,
                    deadline: float, regions: Sequence[IntArray] | None = None,
                    seed: int = 0, sub_time_s: float = 10.0, backend: str = "SCIP",
                    workers: int = 1, node_limit: int | None = None,
                    tick: Callable[[float], None] | None = None) -> SitingResult:
    """Re-solve regions (each an array of county ids; default: every county alone, in id
    order) one batch of ``workers`` at a time, each batch from the current incumbent;
    join the improvements of a batch that are :func:`compatible`, cheapest first, and go
    on from the joined solution. Regions not reached by ``deadline`` are left as they
    are. With ``node_limit`` each MIP is limited by nodes as well (a deterministic work
    limit), and the result depends only on the data, ``res``, ``regions`` and
    ``workers`` (which forms the batches). ``tick(cost)`` is called after each batch."""
    from wastenet.siting.checker import check
    from wastenet.siting.solve import hint_from_result

    if regions is None:
        regions = [np.array([c]) for c in
                   np.unique(data.village_county[data.village_county >= 0]).tolist()]
    workers = max(1, int(workers))
    best = res
    hint = hint_from_result(model, best)
    improved = 0
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None

    def run(g: IntArray) -> RegionSolve | None:
        left = deadline - time.perf_counter()
        if left < 0.5:
            return None
        return solve_open_region(model, hint, np.isin(data.transfer.county, g),
                                 np.isin(data.incinerator.county, g), seed=seed,
                                 backend=backend, node_limit=node_limit,
                                 time_limit_s=min(sub_time_s, left))

    try:
        for b0 in range(0, len(regions), workers):
            if time.perf_counter() >= deadline:
                break
            chunk = list(regions[b0:b0 + workers])
            outs = ([run(g) for g in chunk] if pool is None
                    else list(pool.map(run, chunk)))
            for g, o in zip(chunk, outs, strict=True):
                if o is not None:
                    log.debug("open region %s: %s, delta %.6g, %.1fs", g.tolist(), o.status,
                              o.delta, o.wall_s)
            gains = sorted((o for o in outs if o is not None and o.sub is not None
                            and o.delta < -1e-9 * max(1.0, abs(best.total_cost))),
                           key=lambda o: o.delta)
            taken: list[RegionSolve] = []
            for o in gains:
                assert o.sub is not None
                if all(t.sub is not None and compatible(o.sub, t.sub) for t in taken):
                    taken.append(o)
            if taken:
                cand = join(data, model, best, hint, taken)
                if cand.total_cost < best.total_cost:
                    best = cand
                    hint = hint_from_result(model, best)
                    improved += len(taken)
            if tick is not None:
                tick(best.total_cost)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    # the independent checker once per pass (about 0.3 s on the province, where a pass
    # joins some 30 batches): every join is feasible by construction (module docstring)
    if best is not res and not check(data, best).ok:
        log.warning("open regions: the joined solution (%.10g) was not kept",
                    best.total_cost)
        return res
    if best is not res:
        log.info("open regions: %d of %d regions improved, %.10g -> %.10g", improved,
                 len(regions), res.total_cost, best.total_cost)
    return best


__all__ = ["compatible", "open_region", "reoptimise_open", "solve_open_region"]
