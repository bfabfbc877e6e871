r"""Exact re-optimisation of both echelons inside a closed region of the incumbent.

A large-neighbourhood step of the scalable path. The incinerator re-optimisation of
:mod:`wastenet.siting.echelon` keeps the transfer stations where the first construction
put them; this step re-sites the stations *and* the plants of a region together.

Neighbourhood
-------------
A region is a set of counties :math:`G`. Let :math:`V_G` be its villages,
:math:`J_G` and :math:`K_G` its usable transfer and incinerator sites. The region is
*closed in the incumbent* when no flow crosses its border: every village of
:math:`V_G` is collected to a station of :math:`J_G` or delivered to a plant of
:math:`K_G`, every station of :math:`J_G` hauls only to plants of :math:`K_G`, and no
village or station outside :math:`G` sends anything into :math:`J_G\cup K_G`. Then
everything outside :math:`G` can stay as it is while the region is solved again.

Sub-problem
-----------
The full model of :mod:`wastenet.siting.model` on :math:`V_G, J_G, K_G` and the arcs
between them (:func:`submodel`), with each count target :math:`(e, R, T)` of the model
replaced by the equality

.. math::

    \sum_{s\in R\cap G}\ \sum_l y^e_{sl} = n^e_{R\cap G} + \delta^e_{R}

where :math:`n^e_{R\cap G}` is the number of new sites of echelon :math:`e` the incumbent
opens in :math:`R\cap G` and :math:`\delta` a shift that the caller balances elsewhere
(zero by default), so that the count targets of the whole problem still hold. It is
solved by the MIP adapter (:func:`wastenet.siting.mip.solve_mip`) with the incumbent's
values in the region as a start, so its solution is never worse than the incumbent's
part. Joined with the untouched rest, every solution of the sub-problem is a solution of
the full problem, and the cost changes by the difference of the two regional objectives
(the regional costs are separable: fixed costs, arc costs and penalties of the region's
own variables only).

Without sharing every county is closed in every solution, so a county on its own is a
region and :func:`reoptimise_counties` re-solves all of them, independently, and joins
the improvements at once.

Moves between counties
----------------------
With one province-wide count target of an echelon (stations or plants), shifts
:math:`\delta_c` that sum to zero keep it. :func:`move_sites` prices some of them by the
sub-problem above (:math:`\delta_c\in\{-1,+1\}`, and :math:`\pm 2` for plants where
the county bound's program asks for two more or fewer; one site more is also priced by
:func:`spare_site`, a feasible point without a MIP) and picks the cheapest balanced set
by the dynamic program of :func:`wastenet.siting.echelon.allocate`. Without sharing the
regional changes add up, so the predicted change is exact. The shifted sub-problems
start from a partial solution (:func:`_shifted_start`): with fewer sites the least used
are closed and the rest is left to the solver.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from wastenet.siting.data import SitingData
from wastenet.siting.mip import MipOptions, MipSolution, solve_mip
from wastenet.siting.model import CompiledArcs, CompiledModel, Echelon
from wastenet.siting.result import SitingResult

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

log = logging.getLogger("wastenet.siting.region")


@dataclass(frozen=True, eq=False)
class SubModel:
    """A :class:`CompiledModel` on a subset, with the global index of each of its
    villages, sites, options and arcs (``villages[i]`` is the global id of local village
    ``i``, and so on). A sub-model of :mod:`wastenet.siting.openregion` also has
    pseudo-villages after the real ones (not in ``villages``), whose collection arcs
    have the global id ``-1`` and carry all their waste in every solution."""

    model: CompiledModel
    villages: IntArray
    tr_sites: IntArray
    inc_sites: IntArray
    tr_opts: IntArray
    inc_opts: IntArray
    collect: IntArray
    direct: IntArray
    haul: IntArray

    def restrict(self, sol: MipSolution) -> MipSolution:
        """The values of a full-model solution on this subset (a warm start)."""
        real = self.collect >= 0
        x = np.ones(self.collect.size)
        x[real] = sol.x[self.collect[real]]
        u = np.zeros(self.model.demand.shape[0])
        u[:self.villages.size] = sol.u[self.villages]
        return replace(sol, y=sol.y[self.tr_opts], z=sol.z[self.inc_opts], x=x,
                       d=sol.d[self.direct], h=sol.h[self.haul], u=u)

    def scatter(self, full: MipSolution, sub: MipSolution) -> MipSolution:
        """``full`` with this subset's values replaced by those of ``sub``."""
        def put(a: np.ndarray, idx: IntArray, v: np.ndarray) -> np.ndarray:
            out = a.copy()
            out[idx] = v
            return out
        real = self.collect >= 0
        return replace(full, y=put(full.y, self.tr_opts, sub.y),
                       z=put(full.z, self.inc_opts, sub.z),
                       x=put(full.x, self.collect[real], sub.x[real]),
                       d=put(full.d, self.direct, sub.d), h=put(full.h, self.haul, sub.h),
                       u=put(full.u, self.villages, sub.u[:self.villages.size]))


def _index(n: int, keep: IntArray) -> IntArray:
    out = -np.ones(n, dtype=np.int64)
    out[keep] = np.arange(keep.size)
    return out


def _sub_echelon(ech: Echelon, sites: IntArray, outside: BoolArray | None = None,
                 cap: np.ndarray | None = None) -> tuple[Echelon, IntArray]:
    """``ech`` on ``sites`` (sorted global ids) and the global ids of its options; the
    sites marked ``outside`` (with ``cap``) become existing at that capacity, without
    options and not forced (the frozen border of :mod:`wastenet.siting.openregion`)."""
    out = np.zeros(sites.size, dtype=bool) if outside is None else outside
    room = np.zeros(sites.size) if cap is None else cap
    local = _index(ech.n_sites, sites)
    opts = np.flatnonzero(_index(ech.n_sites, sites[~out])[ech.opt_site] >= 0)
    return Echelon(
        opt_site=local[ech.opt_site[opts]], opt_size=ech.opt_size[opts],
        opt_cap=ech.opt_cap[opts], opt_fixed=ech.opt_fixed[opts],
        existing=ech.existing[sites] | out,
        existing_cap=np.where(out, room, ech.existing_cap[sites]),
        forced=ech.forced[sites] & ~out, usable=ech.usable[sites] | out,
        max_cap=np.where(out, room, ech.max_cap[sites]),
        throughput=ech.throughput[sites],
        prefecture=tuple(ech.prefecture[s] for s in sites.tolist()),
    ), opts


def _sub_arcs(arcs: CompiledArcs, src: IntArray, dst: IntArray,
              keep: BoolArray | None = None) -> tuple[CompiledArcs, IntArray]:
    """The arcs whose ends are both in the subset (local ids ``src``, ``dst``; -1 outside
    it), or those marked ``keep``, renumbered; and their global ids."""
    idx = np.flatnonzero((src[arcs.src] >= 0) & (dst[arcs.dst] >= 0) if keep is None
                         else keep)
    return CompiledArcs(src[arcs.src[idx]], dst[arcs.dst[idx]], arcs.cost[idx],
                        arcs.unit[idx]), idx


def submodel(model: CompiledModel, villages: IntArray, tr_sites: IntArray,
             inc_sites: IntArray, counts: Sequence[tuple[str, str, int, BoolArray, str]]
             ) -> SubModel:
    """``model`` on the given villages and sites (global ids, sorted) and the arcs between
    them, with the count targets ``counts`` (masks over the *global* sites; they are cut
    to the subset)."""
    v = np.asarray(villages, dtype=np.int64)
    ts = np.asarray(tr_sites, dtype=np.int64)
    ks = np.asarray(inc_sites, dtype=np.int64)
    tr, tr_opts = _sub_echelon(model.transfer, ts)
    inc, inc_opts = _sub_echelon(model.incinerator, ks)
    lv = _index(model.demand.shape[0], v)
    lt = _index(model.transfer.n_sites, ts)
    lk = _index(model.incinerator.n_sites, ks)
    collect, ca = _sub_arcs(model.collect, lv, lt)
    direct, da = _sub_arcs(model.direct, lv, lk)
    haul, ha = _sub_arcs(model.haul, lt, lk)
    sub_counts = tuple((e, sense, int(value), mask[ts if e == "transfer" else ks], label)
                       for e, sense, value, mask, label in counts)
    sub = replace(model, demand=model.demand[v], can_skip=model.can_skip[v], transfer=tr,
                  incinerator=inc, collect=collect, direct=direct, haul=haul,
                  counts=sub_counts)
    return SubModel(sub, v, ts, ks, tr_opts, inc_opts, ca, da, ha)


def region_sites(data: SitingData, model: CompiledModel, counties: IntArray
                 ) -> tuple[IntArray, IntArray, IntArray]:
    """``(villages, transfer sites, incinerator sites)`` of the counties: every village
    (zero demand too: every village must be covered) and the usable sites."""
    return (np.flatnonzero(np.isin(data.village_county, counties)),
            np.flatnonzero(np.isin(data.transfer.county, counties) & model.transfer.usable),
            np.flatnonzero(np.isin(data.incinerator.county, counties)
                           & model.incinerator.usable))


def closed_region(data: SitingData, model: CompiledModel, res: SitingResult,
                  counties: IntArray) -> tuple[IntArray, IntArray, IntArray] | None:
    """:func:`region_sites` of the counties, or None when the region is not closed in
    ``res`` (module docstring)."""
    vin = np.isin(data.village_county, counties)
    tin = np.isin(data.transfer.county, counties)
    kin = np.isin(data.incinerator.county, counties)
    fv, ff, fd = res.flow_village, res.flow_facility, res.flow_direct
    fac_in = np.empty(fv.shape[0], dtype=bool)
    fac_in[fd] = kin[ff[fd]]
    fac_in[~fd] = tin[ff[~fd]]
    if np.any(vin[fv] != fac_in):
        return None
    if np.any(tin[res.haul_transfer] != kin[res.haul_incinerator]):
        return None
    return region_sites(data, model, counties)


def region_counts(model: CompiledModel, res: SitingResult, tr_sites: IntArray,
                  inc_sites: IntArray, shift: dict[str, int] | None = None
                  ) -> tuple[tuple[str, str, int, BoolArray, str], ...]:
    """The count targets of a region: each target of ``model`` that reaches into the
    region becomes an equality at the incumbent's number of new sites there, plus
    ``shift[echelon]`` on the targets of that echelon (module docstring)."""
    shift = shift or {}
    out = []
    for e, here, label in region_targets(model, tr_sites, inc_sites):
        size = res.transfer_size if e == "transfer" else res.incinerator_size
        n_open = int(np.sum(here & (size >= 0)))
        out.append((e, "eq", n_open + int(shift.get(e, 0)), here, label))
    return tuple(out)


def region_targets(model: CompiledModel, tr_sites: IntArray, inc_sites: IntArray
                   ) -> list[tuple[str, BoolArray, str]]:
    """``(echelon, sites of the target in the region, label)`` for each count target of
    ``model`` that reaches into the region (masks over the global sites)."""
    out = []
    for e, _sense, _value, mask, label in model.counts:
        here = np.zeros(model.echelon(e).n_sites, dtype=bool)
        here[tr_sites if e == "transfer" else inc_sites] = True
        here &= mask
        if here.any():
            out.append((e, here, label))
    return out


def _values(sol: MipSolution, echelon: str) -> np.ndarray:
    """The option values of ``echelon`` in ``sol`` (``y`` or ``z``)."""
    return sol.y if echelon == "transfer" else sol.z


def _with_values(sol: MipSolution, echelon: str, values: np.ndarray) -> MipSolution:
    """``sol`` with the option values of ``echelon`` replaced."""
    return replace(sol, y=values) if echelon == "transfer" else replace(sol, z=values)


@dataclass(frozen=True)
class RegionSolve:
    """The outcome of one regional MIP: ``delta`` the change of cost (yuan/yr, negative
    is better; ``inf`` when it found no solution), ``status`` the MIP's."""

    delta: float
    status: str
    wall_s: float
    sub: SubModel | None
    sol: MipSolution | None


def solve_region(data: SitingData, model: CompiledModel, res: SitingResult,
                 hint: MipSolution, counties: IntArray, *, time_limit_s: float,
                 seed: int = 0, backend: str = "SCIP", node_limit: int | None = None,
                 shift: dict[str, int] | None = None) -> RegionSolve:
    """Solve the sub-problem of ``counties`` from the incumbent ``res`` (whose full-model
    values are ``hint``). Does not change anything; :func:`join` applies the outcome.
    ``time_limit_s`` applies only without ``node_limit``."""
    t0 = time.perf_counter()
    reg = closed_region(data, model, res, counties)
    if reg is None:
        return RegionSolve(float("inf"), "not closed", 0.0, None, None)
    villages, tr_sites, inc_sites = reg
    sub = submodel(model, villages, tr_sites, inc_sites,
                   region_counts(model, res, tr_sites, inc_sites, shift))
    start = sub.restrict(hint)
    before = _objective(sub.model, start)
    sol = solve_mip(sub.model, MipOptions(
        backend=backend, seed=seed, node_limit=node_limit, mip_gap=1e-6,
        # a node limit is a deterministic work limit: the clock must not cut it short
        time_limit_s=None if node_limit is not None else time_limit_s),
                    hint=_shifted_start(sub.model, start, shift or {}))
    wall = time.perf_counter() - t0
    if sol.status not in ("optimal", "feasible"):
        return RegionSolve(float("inf"), sol.status, wall, sub, None)
    return RegionSolve(sol.objective - before, sol.status, wall, sub, sol)


def _site_state(model: CompiledModel, echelon: str, values: np.ndarray
                ) -> tuple[BoolArray, BoolArray]:
    """``(counted, open)`` per site of ``echelon`` of a (sub-)model at the option values
    ``values`` (``y`` or ``z``): the sites every count target of that echelon counts, and
    the sites open."""
    ech = model.echelon(echelon)
    masks = [m for e, _s, _v, m, _l in model.counts if e == echelon]
    counted = np.logical_and.reduce(masks) if masks else ~ech.existing
    return counted, np.bincount(ech.opt_site, weights=values, minlength=ech.n_sites) > 0.5


def _shifted_start(model: CompiledModel, start: MipSolution, shift: dict[str, int]
                   ) -> MipSolution | None:
    """A start for the sub-problem with a count shifted, from the incumbent's values
    ``start`` of the region: a partial start (``nan`` marks what the solver completes
    with the best values it finds for the rest), or ``None`` for no start.

    * One station fewer: the new station with the least inflow closed, the flows unknown.
    * One station more: no start (the solver alone did better than from any start we
      tried, measured on the province).
    * :math:`k` plants fewer: the :math:`k` new plants with the least inflow closed, the
      sizes of the other open plants and the flows unknown (their waste needs room).
    * Plants more: the stations known, everything else unknown.

    Measured on liaoning-2025-no-sharing, 10 s per county MIP: county 97 with two plants
    more -6.9 M yuan/yr from this start against +6.9 M without one; county 67 with one
    plant fewer +0.19 M against +14.8 M (and +4.0 M from the stations alone)."""
    if not shift:
        return start
    if len(shift) != 1:
        return None
    echelon, k = next(iter(shift.items()))
    if k == 0:
        return start
    nan = np.nan
    w = model.demand
    flows = replace(start, x=np.full_like(start.x, nan), d=np.full_like(start.d, nan),
                    h=np.full_like(start.h, nan), u=np.full_like(start.u, nan))
    ech, values = model.echelon(echelon), _values(start, echelon)
    if echelon == "transfer":
        if k != -1:
            return None
        load = np.bincount(model.collect.dst, weights=start.x * w[model.collect.src],
                           minlength=ech.n_sites)
    else:
        if k > 0:
            return replace(flows, z=np.full_like(start.z, nan))
        load = (np.bincount(model.haul.dst, weights=start.h, minlength=ech.n_sites)
                + np.bincount(model.direct.dst, weights=start.d * w[model.direct.src],
                              minlength=ech.n_sites))
    counted, is_open = _site_state(model, echelon, values)
    sites = np.flatnonzero(counted & is_open & ~ech.forced)
    if sites.size < -k:
        return None
    values = values.copy()
    if echelon != "transfer":
        values[is_open[ech.opt_site]] = nan
    shut = sites[np.argsort(load[sites], kind="stable")[:-k]]
    values[np.isin(ech.opt_site, shut)] = 0.0
    return _with_values(flows, echelon, values)


def spare_site(data: SitingData, model: CompiledModel, res: SitingResult,
               hint: MipSolution, counties: IntArray,
               region: tuple[IntArray, IntArray, IntArray] | None = None,
               echelon: str = "transfer") -> RegionSolve:
    """One new site of ``echelon`` more in a closed region without a MIP: the closed new
    site with the cheapest size opened, nothing sent to it (feasible; it costs that
    size's fixed cost). With an exact count this is how a site freed elsewhere can be
    placed when no county gains from one more. ``region`` is :func:`closed_region` of the
    counties when already known."""
    reg = closed_region(data, model, res, counties) if region is None else region
    if reg is None:
        return RegionSolve(float("inf"), "not closed", 0.0, None, None)
    sub = submodel(model, *reg, region_counts(model, res, reg[1], reg[2], {echelon: 1}))
    start = sub.restrict(hint)
    ech, values = sub.model.echelon(echelon), _values(start, echelon)
    counted, is_open = _site_state(sub.model, echelon, values)
    cand = np.flatnonzero((counted & ~is_open & ech.usable)[ech.opt_site])
    if cand.size == 0:
        return RegionSolve(float("inf"), "infeasible", 0.0, sub, None)
    o = int(cand[np.argmin(ech.opt_fixed[cand])])
    values = values.copy()
    values[o] = 1.0
    return RegionSolve(float(ech.opt_fixed[o]), "feasible", 0.0, sub,
                       _with_values(start, echelon, values))


def _objective(model: CompiledModel, sol: MipSolution) -> float:
    """The objective of :func:`wastenet.siting.mip.solve_mip` at the values ``sol``."""
    w = model.demand
    return float(np.dot(model.transfer.opt_fixed, sol.y)
                 + np.dot(model.incinerator.opt_fixed, sol.z)
                 + np.dot(model.collect.cost * w[model.collect.src], sol.x)
                 + np.dot(model.direct.cost * w[model.direct.src], sol.d)
                 + np.dot(model.haul.cost, sol.h)
                 + model.penalty * np.dot(w * model.can_skip, sol.u))


def join(data: SitingData, model: CompiledModel, res: SitingResult, hint: MipSolution,
         parts: Sequence[RegionSolve]) -> SitingResult:
    """``res`` with the solutions of disjoint closed regions (or compatible open ones,
    :func:`wastenet.siting.openregion.compatible`) put in, each as solved against
    ``res``, priced afresh."""
    from wastenet.siting.solve import to_result

    full = hint
    for p in parts:
        assert p.sub is not None and p.sol is not None
        full = p.sub.scatter(full, p.sol)
    out = to_result(data, model, full, lower_bound=res.lower_bound, status=res.status,
                    solver=res.solver, seed=res.seed, elapsed_s=res.elapsed_s,
                    iterations=res.iterations + 1, log_lines=res.log)
    return replace(out, meta=dict(res.meta))


def reoptimise_counties(data: SitingData, model: CompiledModel, res: SitingResult, *,
                        deadline: float, seed: int = 0, sub_time_s: float = 10.0,
                        backend: str = "SCIP", workers: int = 1,
                        node_limit: int | None = None,
                        counties: Sequence[int] | None = None,
                        tick: Callable[[float], None] | None = None) -> SitingResult:
    """Re-solve each county that is closed in ``res`` on its own (both echelons, its
    numbers of new sites kept), ``workers`` at a time, and join every improvement; return
    the cheaper of the join and ``res``. Counties are taken in id order; those not reached
    by ``deadline`` stay as they are. With ``node_limit`` each MIP is limited by nodes
    (a deterministic work limit) instead of ``sub_time_s``. ``tick(cost)``, when given,
    is called after every MIP with the cost the join would have so far.

    Measured on liaoning-2025-no-sharing after step 7 of the scalable path (892.8 M
    yuan/yr, 2 threads, 10 s per county): 45 of 71 counties improved, 37 proven optimal at
    their numbers of sites, 889.8 M in 196 s."""
    from wastenet.siting.checker import check
    from wastenet.siting.solve import hint_from_result

    hint = hint_from_result(model, res)
    ids = (np.unique(data.village_county[data.village_county >= 0]) if counties is None
           else np.asarray(counties, dtype=np.int64))
    gained = 0.0

    def run(c: int) -> RegionSolve | None:
        left = deadline - time.perf_counter()
        if left < 0.5:
            return None
        return solve_region(data, model, res, hint, np.array([c]), seed=seed,
                            backend=backend, time_limit_s=min(sub_time_s, left),
                            node_limit=node_limit)

    parts: list[RegionSolve] = []

    def record(r: RegionSolve | None) -> None:
        nonlocal gained
        if r is None:
            return
        if r.delta < -1e-9 * max(1.0, abs(res.total_cost)):
            parts.append(r)
            gained += r.delta
        if tick is not None:
            tick(res.total_cost + gained)

    if workers <= 1:
        for c in ids.tolist():
            record(run(c))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(run, ids.tolist()):
                record(r)
    if not parts:
        return res
    cand = join(data, model, res, hint, parts)
    if cand.total_cost < res.total_cost and check(data, cand).ok:
        log.info("county re-optimisation: %d of %d counties improved, %.10g -> %.10g",
                 len(parts), ids.size, res.total_cost, cand.total_cost)
        return cand
    log.warning("county re-optimisation: the joined solution (%.10g) was not kept",
                cand.total_cost)
    return res


Region = tuple[IntArray, IntArray, IntArray]


def _regional_parts(data: SitingData, model: CompiledModel, res: SitingResult,
                    hint: MipSolution, counties: IntArray
                    ) -> tuple[np.ndarray, np.ndarray, list[Region | None]]:
    """Per county: the cost of its region at ``res`` without the station fixed costs, its
    number of new stations (``nan`` and 0 where the county is not closed) and its
    :func:`closed_region`."""
    tr = model.transfer
    rest = np.full(counties.size, np.nan)
    n_st = np.zeros(counties.size, dtype=np.int64)
    regions: list[Region | None] = []
    for ci, c in enumerate(counties.tolist()):
        reg = closed_region(data, model, res, np.array([c]))
        regions.append(reg)
        if reg is None:
            continue
        sub = submodel(model, *reg, ())
        start = sub.restrict(hint)
        rest[ci] = _objective(sub.model, start) - float(np.dot(sub.model.transfer.opt_fixed,
                                                               start.y))
        n_st[ci] = int(np.sum((res.transfer_size[reg[1]] >= 0) & ~tr.existing[reg[1]]))
    return rest, n_st, regions


def move_sites(data: SitingData, model: CompiledModel, res: SitingResult,
               table: dict[int, np.ndarray], *, deadline: float, echelon: str = "transfer",
               picks: dict[int, int] | None = None, seed: int = 0,
               sub_time_s: float = 10.0, backend: str = "SCIP", workers: int = 1,
               node_limit: int | None = None, n_up: int = 6, n_down: int = 12,
               max_rounds: int | None = None,
               tick: Callable[[float], None] | None = None) -> SitingResult:
    r"""Move new sites of ``echelon`` (transfer stations or plants) between closed
    counties (no sharing), exactly.

    ``table[c][m]`` is a lower bound :math:`L_c(m)` of county :math:`c`'s plant and flow
    cost with :math:`m` new plants (the county bound's, :mod:`wastenet.siting.countybound`,
    where station fixed costs are left out and any station may be passed through). The
    counties whose cost at ``res``, less their station fixed costs, is furthest above
    :math:`L_c(m_c)` are those a site more may help most (a county left without a
    station must deliver everything directly). For the ``n_up`` such counties the region
    is solved with one new site more (:func:`solve_region`, shift ``+1``; one more is also
    priced by :func:`spare_site`), and for the ``n_down`` counties with the most new sites
    of the echelon with one fewer; ``picks[c]``, the numbers of plants the county bound's
    program gives (for plants), puts the counties it gives more first among the former and
    those it gives fewer first among the latter. Then, as in
    :func:`wastenet.siting.echelon.reallocate_counts`, a dynamic program picks shifts
    summing to zero at least total change, and the chosen regions are joined. The count
    target holds because the shifts sum to zero (one province-wide target of the
    echelon); the other echelon's counts do not move. Repeats while a round gains, time
    is left and fewer than ``max_rounds`` rounds ran; returns the cheapest solution seen.

    Measured on liaoning-2025-no-sharing after the rest of step 7: county 63 (新邱区, three
    villages, 1.4 t/d) had no station, so its villages went directly to a 100 t/d plant
    (6.7 M yuan/yr) where one station and a 10 t/d plant cost 0.9 M in the bound.
    """
    from wastenet.siting.checker import check
    from wastenet.siting.echelon import _open_per_county, _province_target, allocate
    from wastenet.siting.solve import hint_from_result

    if _province_target(model, echelon) is None:
        return res  # one province-wide target only (zero-sum shifts keep it)
    counties = np.array(sorted(table), dtype=np.int64)
    best = res
    rounds = 0
    while time.perf_counter() < deadline and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        hint = hint_from_result(model, best)
        rest, n_st, regions = _regional_parts(data, model, best, hint, counties)
        m_now = _open_per_county(data, model, best, counties)
        n_new = n_st if echelon == "transfer" else m_now
        low = np.array([table[c][m] if m < table[c].size else np.nan
                        for c, m in zip(counties.tolist(), m_now.tolist(), strict=True)])
        excess = np.where(np.isfinite(rest) & np.isfinite(low), rest - low, -np.inf)
        want = (np.zeros(counties.size, dtype=np.int64) if picks is None else
                np.array([picks.get(c, m) for c, m in zip(counties.tolist(), m_now.tolist(),
                                                          strict=True)]) - m_now)
        up = [int(ci) for ci in np.lexsort((-excess, -(want > 0).astype(np.int64)))[:n_up]
              if np.isfinite(excess[ci])]
        down = [int(ci) for ci in np.lexsort((-n_new, -np.maximum(-want, 0)))[:n_down]
                if n_new[ci] > 0 and np.isfinite(rest[ci])]
        jobs = ([(ci, 1) for ci in up] + [(ci, 2) for ci in up if want[ci] >= 2]
                + [(ci, -1) for ci in down] + [(ci, -2) for ci in down
                                               if want[ci] <= -2 and n_new[ci] >= 2])

        def run(job: tuple[int, int], base: SitingResult = best,
                start: MipSolution = hint) -> RegionSolve | None:
            left = deadline - time.perf_counter()
            if left < 0.5:
                return None
            return solve_region(data, model, base, start, np.array([counties[job[0]]]),
                                seed=seed, backend=backend, node_limit=node_limit,
                                time_limit_s=min(sub_time_s, left),
                                shift={echelon: job[1]})

        if workers <= 1:
            outs = [run(j) for j in jobs]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outs = list(pool.map(run, jobs))
        rows: list[dict[int, float]] = [{0: 0.0} for _ in range(counties.size)]
        found: dict[tuple[int, int], RegionSolve] = {}
        for ci, c in enumerate(counties.tolist()):
            spare = spare_site(data, model, best, hint, np.array([c]), regions[ci],
                               echelon)
            if np.isfinite(spare.delta):
                rows[ci][1] = spare.delta
                found[(ci, 1)] = spare
        for job, out in zip(jobs, outs, strict=True):
            if out is not None and out.delta < rows[job[0]].get(job[1], np.inf):
                rows[job[0]][job[1]] = out.delta
                found[job] = out
            if tick is not None:
                tick(best.total_cost)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s moves: %s", echelon,
                      {(int(counties[ci]), sh): (round(o.delta), o.status, round(o.wall_s, 1))
                       for (ci, sh), o in found.items()})
        value, shifts = allocate(rows, lambda sums: sums == 0)
        chosen = [found[(ci, s)] for ci, s in enumerate(shifts) if s != 0]
        if not chosen or value >= -1e-9 * abs(best.total_cost):
            break
        cand = join(data, model, best, hint, chosen)
        if not (cand.total_cost < best.total_cost and check(data, cand).ok):
            log.warning("%s moves: the joined solution (%.10g) was not kept", echelon,
                        cand.total_cost)
            break
        log.info("%s moves: %d counties, predicted %.6g, %.10g -> %.10g", echelon,
                 len(chosen), value, best.total_cost, cand.total_cost)
        best = cand
    return best
