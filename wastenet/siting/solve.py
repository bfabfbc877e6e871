"""Public entry point of the siting engine: ``solve(data, params, progress) -> SitingResult``.

Two paths solve the model of :mod:`wastenet.siting.model`:

* ``exact``: the full MIP through the OR-Tools adapter :mod:`wastenet.siting.mip`; the result
  is ``optimal`` with ``lower_bound`` = the solver's proven bound, or ``feasible`` with the
  solver's best bound when a time or node limit stops it.
* ``decomposition``: the scalable path of :mod:`wastenet.siting.relax` (LP-relaxation bound,
  LP-guided restricted MIP, local search) for province-size problems.

``auto`` first tries the one-echelon path of :mod:`wastenet.siting.fixing` (Lagrangian
bound, reduced-cost fixing, exact reduced MIP) when the problem has that shape (customers
served directly by one echelon of sites, as in the classic benchmarks); otherwise, or when
that path finds no solution, it picks ``exact`` for small problems and ``decomposition``
for large ones. Before solving, cheap pre-checks raise
:class:`~wastenet.errors.InfeasibleError` with reasons that name the villages without any
usable arc, the count targets that cannot be met and the regions short of capacity; a
solver's infeasible verdict is translated into a reasoned error as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from wastenet.errors import InfeasibleError, ValidationError
from wastenet.siting.data import SHARE_TOL, SitingData, missing_share
from wastenet.siting.mip import MipOptions, MipSolution, solve_mip
from wastenet.siting.model import CompiledModel, Echelon, compile_model
from wastenet.siting.result import SitingResult

log = logging.getLogger("wastenet.siting.solve")

#: problems at most this large (collect + direct + haul arcs) go to the exact MIP under "auto"
EXACT_MAX_ARCS = 60_000


@dataclass(frozen=True)
class SiteParams:
    """Solver parameters.

    ``time_limit_s``: wall-clock limit (``None``: none). ``max_iterations``: a deterministic
    work limit (MIP nodes for the exact path; iterations of the local search and node limit
    of the restricted MIPs for the decomposition path); with it and without a time limit the
    result depends only on data, params and seed. ``backend``: MIP solver behind the adapter;
    ``"auto"`` (:attr:`mip_backend`) is SCIP under a time limit and HiGHS under a work limit
    (``max_iterations``), because SCIP as built into OR-Tools is not repeatable from run to
    run even on one thread: the same restricted MIP with a 50-node limit ended at 13 nodes
    (optimal) or at 50 (a worse solution), while HiGHS gave the same tree every time.
    That HiGHS is scipy's (``"SCIPY"``): HiGHS as built into OR-Tools drops the solution
    and the bound of a MIP its node limit stops, so the Faku MIP at 50 nodes gave nothing
    (and the run the greedy start, 26.4 M), where scipy's gives 14.17 M with a bound of
    13.94 M.
    """

    time_limit_s: float | None = 600.0
    seed: int = 0
    method: Literal["auto", "exact", "decomposition"] = "auto"
    max_iterations: int | None = None
    mip_gap: float = 1e-9
    threads: int = 1
    backend: Literal["auto", "SCIP", "HIGHS", "SCIPY", "CBC"] = "auto"

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise ValidationError("time_limit_s", self.time_limit_s, "must be > 0")
        if self.method not in ("auto", "exact", "decomposition"):
            raise ValidationError("method", self.method, "must be auto, exact or decomposition")
        if self.max_iterations is not None and self.max_iterations < 1:
            raise ValidationError("max_iterations", self.max_iterations, "must be >= 1")
        if not 0 <= self.mip_gap < 1:
            raise ValidationError("mip_gap", self.mip_gap, "must lie in [0, 1)")
        if self.threads < 1:
            raise ValidationError("threads", self.threads, "must be >= 1")
        if self.backend not in ("auto", "SCIP", "HIGHS", "SCIPY", "CBC"):
            raise ValidationError("backend", self.backend,
                                  "must be auto, SCIP, HIGHS, SCIPY or CBC")

    @property
    def mip_backend(self) -> str:
        """The MIP backend to use: ``backend``, with ``"auto"`` resolved (see above)."""
        if self.backend != "auto":
            return self.backend
        return "SCIP" if self.max_iterations is None else "SCIPY"


@dataclass(frozen=True)
class SiteProgress:
    """Progress report: fraction of the time/work budget used, best cost, best bound."""

    fraction: float
    incumbent: float | None
    lower_bound: float | None
    elapsed_s: float
    message: str


ProgressFn = Callable[[SiteProgress], None]


# ----------------------------------------------------------------------------- pre-checks
def _region_label(data: SitingData, counties: np.ndarray) -> str:
    names = sorted({data.county_names[c] if 0 <= c < len(data.county_names) else "?"
                    for c in counties.tolist()})
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return shown or "?"


def _top_capacity(ech: Echelon, region_new: np.ndarray, value: int) -> float:
    """Largest capacity an echelon can have when at most ``value`` new sites open in region."""
    cap = np.where(ech.usable, ech.max_cap, 0.0)
    inside = np.sort(cap[region_new])[::-1][:value].sum()
    return float(cap[~region_new].sum() + inside)


def precheck(data: SitingData, model: CompiledModel) -> None:
    """Cheap necessary conditions; raise :class:`InfeasibleError` naming what fails."""
    reasons: list[str] = []
    n = data.n_villages
    hard = ~model.can_skip
    reach = np.zeros(n, dtype=bool)
    reach[model.collect.src] = True
    reach[model.direct.src] = True
    lost = np.flatnonzero(hard & ~reach)
    for i in lost.tolist():
        c = int(data.village_county[i])
        county = data.county_names[c] if 0 <= c < len(data.county_names) else "?"
        reasons.append(
            f"village {data.village_ids[i]} ({data.village_names[i]}, {county}) cannot be "
            "covered: no usable transfer station within the service radius and sharing "
            "policy, and no incinerator for direct delivery"
        )
    if reasons:
        raise InfeasibleError(f"{len(lost)} village(s) cannot be covered", reasons)
    has_direct = np.zeros(n, dtype=bool)
    has_direct[model.direct.src] = True
    # must-cover demand each echelon has to take: every tonne reaches an incinerator, but
    # a village with a direct arc may skip transfer (constraint 1 of the model)
    must_by = {"incinerator": float(model.demand[hard].sum()),
               "transfer": float(model.demand[hard & ~has_direct].sum())}
    for echelon, sense, value, mask, where in model.counts:
        ech = model.echelon(echelon)
        forced = int(np.sum(mask & ech.forced & ech.usable))
        avail = int(np.sum(mask & ech.usable))
        label = f"count target {echelon} {sense} {value} in {where}"
        if sense in ("eq", "le") and forced > value:
            reasons.append(f"{label} cannot be met: {forced} sites are forced open")
        if sense in ("eq", "ge") and avail < value:
            reasons.append(f"{label} cannot be met: only {avail} candidate sites may open")
        if sense in ("eq", "le"):
            cap = _top_capacity(ech, mask, value)
            must = must_by[echelon]
            if cap < must * (1 - 1e-9) and must > 0:
                via = (" and can only go through transfer stations" if echelon == "transfer"
                       else "")
                reasons.append(
                    f"{label} limits {echelon} capacity to {cap:.6g} t/d, short of the "
                    f"{must:.6g} t/d that must be covered{via}"
                )
    if reasons:
        raise InfeasibleError("count targets cannot be met", reasons)
    # capacity per connected region of the arc graph
    m, q = model.transfer.n_sites, model.incinerator.n_sites
    src = np.concatenate([model.collect.src, model.direct.src, n + model.haul.src])
    dst = np.concatenate([n + model.collect.dst, n + m + model.direct.dst, n + m + model.haul.dst])
    size = n + m + q
    graph = coo_matrix((np.ones(src.shape[0]), (src, dst)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    inc_cap = np.where(model.incinerator.usable, model.incinerator.max_cap, 0.0)
    tr_cap = np.where(model.transfer.usable, model.transfer.max_cap, 0.0)
    need = np.bincount(comp[:n], weights=np.where(hard, model.demand, 0.0), minlength=size)
    have = np.bincount(comp[n + m:], weights=inc_cap, minlength=size)
    need_tr = np.bincount(comp[:n], weights=np.where(hard & ~has_direct, model.demand, 0.0),
                          minlength=size)
    have_tr = np.bincount(comp[n:n + m], weights=tr_cap, minlength=size)
    for c in np.flatnonzero(need > have * (1 + 1e-9) + 1e-9).tolist():
        counties = data.village_county[:n][comp[:n] == c]
        reasons.append(
            f"incinerator capacity is short in the region {_region_label(data, counties)}: "
            f"{need[c]:.6g} t/d must be covered but at most {have[c]:.6g} t/d can be built there"
        )
    for c in np.flatnonzero(need_tr > have_tr * (1 + 1e-9) + 1e-9).tolist():
        counties = data.village_county[:n][comp[:n] == c]
        reasons.append(
            f"transfer capacity is short in the region {_region_label(data, counties)}: "
            f"{need_tr[c]:.6g} t/d can only go through transfer stations but at most "
            f"{have_tr[c]:.6g} t/d can be built there"
        )
    if reasons:
        raise InfeasibleError("capacity is short", reasons)


#: ``diagnose`` names single count targets (each dropped alone) up to this many targets
DIAGNOSE_MAX_TARGETS = 8


def diagnose(data: SitingData, model: CompiledModel, params: SiteParams) -> InfeasibleError:
    """Explain a solver's infeasible verdict by solving relaxations of the model.

    With the LP relaxation infeasible, capacities and coverage are short (or the count
    targets, when the LP without them is feasible). With the LP feasible, the integer model
    fails on single sourcing or on the count targets (whole sites): single sourcing is
    named only when the split-assignment MIP (counts kept) is feasible, the count targets
    only when the MIP without them is feasible -- each target alone when dropping it
    alone is enough. A cause nothing proves is not named as the cause. The MIPs share the
    time limit of ``params``."""
    opts = MipOptions(backend=params.mip_backend, relax=True, threads=params.threads,
                      seed=params.seed, time_limit_s=params.time_limit_s)
    targets = [f"{t.echelon} {t.sense} {t.value} in "
               f"{'prefecture ' + t.prefecture if t.prefecture else 'province'}"
               for t in data.counts]
    t0 = time.perf_counter()
    lp = solve_mip(model, opts)
    if lp.status == "infeasible":
        no_counts = solve_mip(model, replace(opts, drop_counts=True))
        if no_counts.status != "infeasible" and targets:
            return InfeasibleError("the count targets cannot be met together with the "
                                   "capacities and coverage", [f"count target {t}"
                                                               for t in targets])
        return InfeasibleError("capacity is short", [
            "no (even fractional) assignment of the villages fits the capacities that "
            "the arcs allow: total demand that must be covered is "
            f"{float(model.demand[~model.can_skip].sum()):.6g} t/d"])
    # the LP fits: the integers do not. Feasibility alone is asked (a loose gap), under
    # the work limit of ``params`` too
    mip = replace(opts, relax=False, mip_gap=0.5, node_limit=params.max_iterations)

    def feasible(sub: CompiledModel, drop_counts: bool = False) -> bool | None:
        """True / False when proven, None when the limit ends the MIP first."""
        left = None if params.time_limit_s is None else max(
            1.0, params.time_limit_s - (time.perf_counter() - t0))
        sol = solve_mip(sub, replace(mip, drop_counts=drop_counts, time_limit_s=left))
        if sol.status in ("optimal", "feasible"):
            return True
        return False if sol.status == "infeasible" else None

    split = feasible(replace(model, single_source=False)) if model.single_source else False
    if split:
        return InfeasibleError("single-source assignment is infeasible", [
            "the villages cannot be packed whole into the station and incinerator capacities "
            "(a split assignment would fit)"])
    if targets and feasible(model, drop_counts=True):
        named: list[str] = []
        if len(targets) > 1 and len(targets) <= DIAGNOSE_MAX_TARGETS:
            for c, label in zip(model.counts, targets, strict=True):
                rest = tuple(x for x in model.counts if x is not c)
                if feasible(replace(model, counts=rest)):
                    named.append(label)
        return InfeasibleError(
            "the count targets cannot be met together with the capacities and coverage"
            # (unless the split assignment was proven infeasible too)
            + (" of a single-source assignment" if split is None else ""),
            [f"count target {t}" for t in (named or targets)])
    reasons = [f"count target {t}" for t in targets]
    if model.single_source:
        reasons.append("single sourcing: the villages may not fit whole into the station "
                       "and incinerator capacities")
    return InfeasibleError("the siting problem is infeasible", reasons)


# ---------------------------------------------------------------------------- the result
def to_result(data: SitingData, model: CompiledModel, sol: MipSolution, *, lower_bound: float,
              status: str, solver: str, seed: int, elapsed_s: float, iterations: int = 0,
              log_lines: tuple[str, ...] = ()) -> SitingResult:
    """Turn variable values into a clean :class:`SitingResult` with its cost breakdown."""
    n = data.n_villages
    w = model.demand
    tr, inc = model.transfer, model.incinerator

    def sizes(ech: Echelon, val: np.ndarray) -> np.ndarray:
        out = np.full(ech.n_sites, -1, dtype=np.int64)
        out[ech.existing] = -2
        best = np.full(ech.n_sites, 0.5)
        for o in np.flatnonzero(val > 0.5).tolist():
            s = int(ech.opt_site[o])
            if val[o] > best[s]:
                best[s] = val[o]
                out[s] = int(ech.opt_size[o])
        return out

    tsize, isize = sizes(tr, sol.y), sizes(inc, sol.z)
    tr_open = tsize != -1
    in_open = isize != -1
    x = np.where(sol.x > 1e-9, sol.x, 0.0) * tr_open[model.collect.dst]
    d = np.where(sol.d > 1e-9, sol.d, 0.0) * in_open[model.direct.dst]
    if model.single_source:
        x = (x > 0.5).astype(float)
        d = (d > 0.5).astype(float)
    covered = np.bincount(model.collect.src, weights=x, minlength=n) + np.bincount(
        model.direct.src, weights=d, minlength=n)
    scale = np.where(covered > 1.0, 1.0 / np.maximum(covered, 1e-300), 1.0)
    if not model.single_source:
        full = covered >= 1 - SHARE_TOL
        scale = np.where(full & (covered > 0), 1.0 / np.maximum(covered, 1e-300), scale)
    x = x * scale[model.collect.src]
    d = d * scale[model.direct.src]
    covered = covered * scale
    # haul: rescale each station's outflow to equal its (cleaned) inflow
    inflow = np.bincount(model.collect.dst, weights=x * w[model.collect.src],
                         minlength=tr.n_sites)
    h = np.where(sol.h > 1e-12, sol.h, 0.0) * in_open[model.haul.dst]
    out = np.bincount(model.haul.src, weights=h, minlength=tr.n_sites)
    need_fix = np.flatnonzero((inflow > 0) & (out <= 0))
    if need_fix.size:  # inflow with no haul chosen: send it along the cheapest open arc
        for j in need_fix.tolist():
            arcs = np.flatnonzero((model.haul.src == j) & in_open[model.haul.dst])
            h[arcs[np.argmin(model.haul.cost[arcs])]] = 1.0
        out = np.bincount(model.haul.src, weights=h, minlength=tr.n_sites)
    ratio = np.where(out > 0, inflow / np.maximum(out, 1e-300), 0.0)
    h = h * ratio[model.haul.src]
    rows_c = np.flatnonzero(x > 0)
    rows_d = np.flatnonzero(d > 0)
    fv = np.concatenate([model.collect.src[rows_c], model.direct.src[rows_d]])
    ff = np.concatenate([model.collect.dst[rows_c], model.direct.dst[rows_d]])
    fd = np.concatenate([np.zeros(rows_c.size, bool), np.ones(rows_d.size, bool)])
    fr = np.concatenate([x[rows_c], d[rows_d]])
    return _assemble(data, model, tsize, isize, fv, ff, fd, fr, h, lower_bound=lower_bound,
                     status=status, solver=solver, seed=seed, elapsed_s=elapsed_s,
                     iterations=iterations, log_lines=log_lines)


def _assemble(data: SitingData, model: CompiledModel, tsize: np.ndarray, isize: np.ndarray,
              fv: np.ndarray, ff: np.ndarray, fd: np.ndarray, fr: np.ndarray, h: np.ndarray,
              *, lower_bound: float, status: str, solver: str, seed: int, elapsed_s: float,
              iterations: int = 0, log_lines: tuple[str, ...] = ()) -> SitingResult:
    """Build a result from flow rows and haul values (per compiled haul arc); price it."""
    n = data.n_villages
    w = model.demand
    tr, inc = model.transfer, model.incinerator
    order = np.lexsort((ff, fd, fv))
    fv, ff, fd, fr = fv[order], ff[order], fd[order], fr[order]
    share = np.bincount(fv, weights=fr, minlength=n)
    missing = missing_share(share)  # as the checker: within SHARE_TOL is covered
    uncovered = np.flatnonzero(missing > 0)
    t = w[fv] * fr
    c_key = model.collect.src * max(1, tr.n_sites) + model.collect.dst
    d_key = model.direct.src * max(1, inc.n_sites) + model.direct.dst
    c_sorted = np.argsort(c_key)
    d_sorted = np.argsort(d_key)
    col = ~fd
    a = c_sorted[np.searchsorted(c_key[c_sorted], fv[col] * max(1, tr.n_sites) + ff[col])]
    b = d_sorted[np.searchsorted(d_key[d_sorted], fv[fd] * max(1, inc.n_sites) + ff[fd])]
    rows_h = np.flatnonzero(h > 0)
    cost = {
        "transfer_fixed": float(sum(data.transfer.size_fixed_cost[s, tsize[s]]
                                    for s in np.flatnonzero(tsize >= 0).tolist())),
        "incinerator_fixed": float(sum(data.incinerator.size_fixed_cost[s, isize[s]]
                                       for s in np.flatnonzero(isize >= 0).tolist())),
        "collection": float(np.dot(model.collect.unit[a], t[col])),
        "direct": float(np.dot(model.direct.unit[b], t[fd])),
        "haul": float(np.dot(model.haul.unit, h)),
        "transfer_throughput": float(np.dot(tr.throughput[ff[col]], t[col])),
        "incinerator_throughput": float(np.dot(inc.throughput[ff[fd]], t[fd])
                                        + np.dot(inc.throughput[model.haul.dst], h)),
        "uncovered_penalty": float(model.penalty * np.dot(w, missing)),
    }
    total = float(sum(cost.values()))
    return SitingResult(
        transfer_size=np.asarray(tsize, dtype=np.int64),
        incinerator_size=np.asarray(isize, dtype=np.int64),
        flow_village=fv.astype(np.int64),
        flow_facility=ff.astype(np.int64),
        flow_direct=fd.astype(bool),
        flow_fraction=fr.astype(np.float64),
        haul_transfer=model.haul.src[rows_h].astype(np.int64),
        haul_incinerator=model.haul.dst[rows_h].astype(np.int64),
        haul_t_per_day=h[rows_h].astype(np.float64),
        uncovered=uncovered.astype(np.int64),
        cost=cost,
        total_cost=total,
        lower_bound=float(min(lower_bound, total)),
        status=status,
        solver=solver,
        seed=seed,
        elapsed_s=elapsed_s,
        iterations=iterations,
        log=log_lines,
    )


def result_from_assignment(data: SitingData, model: CompiledModel, base: SitingResult,
                           tsize: np.ndarray, isize: np.ndarray, fac: np.ndarray,
                           direct: np.ndarray, h: np.ndarray) -> SitingResult:
    """``base`` with villages ``fac >= 0`` reassigned wholly to ``fac`` (direct if
    ``direct``), haul flows ``h`` (per compiled haul arc) and new sizes."""
    keep = fac[base.flow_village] < 0
    moved = np.flatnonzero(fac >= 0)
    fv = np.concatenate([base.flow_village[keep], moved])
    ff = np.concatenate([base.flow_facility[keep], fac[moved]])
    fd = np.concatenate([base.flow_direct[keep], direct[moved]])
    fr = np.concatenate([base.flow_fraction[keep], np.ones(moved.size)])
    return _assemble(data, model, tsize, isize, fv, ff, fd, fr, h,
                     lower_bound=base.lower_bound, status=base.status, solver=base.solver,
                     seed=base.seed, elapsed_s=base.elapsed_s, iterations=base.iterations + 1,
                     log_lines=base.log)


def hint_from_result(model: CompiledModel, res: SitingResult) -> MipSolution:
    """The variable values of a feasible result, as a warm start for the MIP."""
    tr, inc = model.transfer, model.incinerator
    n = model.demand.shape[0]

    def arc_index(src: np.ndarray, dst: np.ndarray, n_dst: int, qs: np.ndarray,
                  qd: np.ndarray) -> np.ndarray:
        key = src * max(1, n_dst) + dst
        order = np.argsort(key)
        pos = np.searchsorted(key[order], qs * max(1, n_dst) + qd)
        return order[np.minimum(pos, max(0, order.size - 1))]

    y = (res.transfer_size[tr.opt_site] == tr.opt_size).astype(float) if tr.opt_site.size \
        else np.zeros(0)
    z = (res.incinerator_size[inc.opt_site] == inc.opt_size).astype(float) \
        if inc.opt_site.size else np.zeros(0)
    x = np.zeros(len(model.collect))
    d = np.zeros(len(model.direct))
    h = np.zeros(len(model.haul))
    col = ~res.flow_direct
    if col.any():
        a = arc_index(model.collect.src, model.collect.dst, tr.n_sites, res.flow_village[col],
                      res.flow_facility[col])
        x[a] = res.flow_fraction[col]
    if res.flow_direct.any():
        fd = res.flow_direct
        b = arc_index(model.direct.src, model.direct.dst, inc.n_sites, res.flow_village[fd],
                      res.flow_facility[fd])
        d[b] = res.flow_fraction[fd]
    if res.haul_transfer.size:
        e = arc_index(model.haul.src, model.haul.dst, inc.n_sites, res.haul_transfer,
                      res.haul_incinerator)
        h[e] = res.haul_t_per_day
    share = np.bincount(res.flow_village, weights=res.flow_fraction, minlength=n)
    u = np.where(model.can_skip, np.clip(1.0 - share, 0.0, 1.0), 0.0)
    return MipSolution("feasible", res.total_cost, float("-inf"), y, z, x, d, h, u, 0.0, 0)


# ---------------------------------------------------------------------------- entry point
def _size(model: CompiledModel) -> int:
    return len(model.collect) + len(model.direct) + len(model.haul)


def solve(data: SitingData, params: SiteParams | None = None,
          progress: ProgressFn | None = None) -> SitingResult:
    """Solve the siting problem ``data``; never mutates it. See the module docstring."""
    params = params or SiteParams()
    t0 = time.perf_counter()

    def report(fraction: float, inc: float | None, lb: float | None, msg: str) -> None:
        if progress is not None:
            progress(SiteProgress(min(1.0, max(0.0, fraction)), inc, lb,
                                  time.perf_counter() - t0, msg))

    model = compile_model(data)
    report(0.0, None, None, "checking the problem")
    precheck(data, model)
    method = params.method
    if method == "auto":
        method = "exact" if _size(model) <= EXACT_MAX_ARCS else "decomposition"
    log.info("siting %s: %d villages, %d/%d candidates, %d arcs, method %s", data.name,
             data.n_villages, model.transfer.n_sites, model.incinerator.n_sites,
             _size(model), method)
    if params.method == "auto":
        from wastenet.siting.fixing import solve_fixing

        fast = solve_fixing(data, model, params, report, t0)
        if fast is not None:
            return fast
    # params.time_limit_s stays the whole solve's limit, counted from t0: the
    # decomposition keeps its steps to t0 + limit, and the MIP gets what is left
    if method == "decomposition":
        from wastenet.siting.relax import solve_decomposition

        return solve_decomposition(data, model, params, report, t0)
    report(0.01, None, None, f"solving the MIP with {params.mip_backend}")
    opts = MipOptions(backend=params.mip_backend, time_limit_s=None
                      if params.time_limit_s is None
                      else max(1.0, params.time_limit_s - (time.perf_counter() - t0)),
                      threads=params.threads, mip_gap=params.mip_gap, seed=params.seed,
                      node_limit=params.max_iterations)
    from wastenet.siting.heuristics import construct, downsize, verified

    warm = construct(data, model)
    if warm is not None:
        # checked before it can start the MIP or become the result (below)
        warm = verified(data, downsize(data, model, warm, max_moves=50), "greedy start")
    sol = solve_mip(model, opts, hint=None if warm is None else hint_from_result(model, warm))
    if sol.status == "infeasible":
        raise diagnose(data, model, params)
    left = None if params.time_limit_s is None else \
        params.time_limit_s - (time.perf_counter() - t0)
    if sol.status == "unknown" and (warm is None or left is None or left >= 1.0):
        # no solution within the MIP's limits, and time left (or no time limit): HiGHS,
        # the backend under a work limit, takes no start and found none in 50 nodes of
        # the Faku MIP (31 s), where the decomposition gives a far better solution and
        # bound in seconds (15.6 M and 12.9 M against the greedy start's 26.4 M and the
        # path bound's 3.9 M)
        log.warning("the MIP found no solution in its limits; falling back to decomposition")
        from wastenet.siting.relax import solve_decomposition

        # the same limit and start: the decomposition counts its steps from t0
        dec = solve_decomposition(data, model, params, report, t0)
        if warm is None or dec.total_cost <= warm.total_cost:
            return dec
        # the (checked) greedy start is cheaper; the decomposition's bound stays valid
        res = replace(warm, lower_bound=float(min(dec.lower_bound, warm.total_cost)),
                      status="feasible", solver=f"{dec.solver}+heuristic", seed=params.seed,
                      elapsed_s=time.perf_counter() - t0, iterations=dec.iterations,
                      log=(*warm.log, *dec.log, f"MIP {params.mip_backend}: no solution; "
                           "decomposition above; greedy start kept"))
        report(1.0, res.total_cost, res.lower_bound, "done: feasible")
        return res
    if warm is not None and (sol.status == "unknown" or (
            sol.status == "feasible" and warm.total_cost < sol.objective)):
        # the (checked) heuristic beats what the MIP found in its limits (or the MIP
        # found nothing and the time is up); the MIP's bound stays valid
        bound = sol.bound if sol.status == "feasible" else float("-inf")
        from wastenet.siting.relax import path_bound

        bound = max(bound, path_bound(model))
        res = replace(warm, lower_bound=float(min(bound, warm.total_cost)), status="feasible",
                      solver=f"mip-{params.mip_backend.lower()}+heuristic", seed=params.seed,
                      elapsed_s=time.perf_counter() - t0, iterations=sol.nodes,
                      log=(*warm.log, f"MIP {params.mip_backend}: {sol.status}, objective "
                           f"{sol.objective:.10g}, bound {sol.bound:.10g}; heuristic kept"))
        report(1.0, res.total_cost, res.lower_bound, "done: feasible")
        return res
    status = "optimal" if sol.status == "optimal" else "feasible"
    res = to_result(data, model, sol, lower_bound=sol.bound, status=status,
                    solver=f"mip-{params.mip_backend.lower()}", seed=params.seed,
                    elapsed_s=time.perf_counter() - t0, iterations=sol.nodes,
                    log_lines=(f"MIP {params.mip_backend}: {sol.status}, objective "
                               f"{sol.objective:.10g}, bound {sol.bound:.10g}, "
                               f"{sol.nodes} nodes, {sol.wall_s:.2f}s",))
    report(1.0, res.total_cost, res.lower_bound, f"done: {status}")
    return res
