"""OR-Tools adapter: build and solve the siting MIP (or its LP relaxation).

This is the only siting module that imports OR-Tools. It takes a
:class:`~wastenet.siting.model.CompiledModel` and solves the formulation documented in
:mod:`wastenet.siting.model` through ``pywraplp`` with a chosen backend (``SCIP``,
``HIGHS``, ``CBC``; ``GLOP`` or ``HIGHS`` for the LP relaxation). Parts of the model may be
left out (masks) to solve a restricted problem; the bound of a restricted problem is *not* a
bound of the full problem, and the caller must not use it as one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from ortools.linear_solver import pywraplp
from scipy.optimize import Bounds, LinearConstraint, milp

from wastenet.siting.model import CompiledModel
from wastenet.siting.quiet import stdout_to_stderr

if TYPE_CHECKING:
    from wastenet.siting.cuts import CoverCut

log = logging.getLogger("wastenet.siting.mip")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


#: backends that take a start solution. OR-Tools' HiGHS interface (9.x) crashes the process
#: (segmentation fault) in ``Solve`` after ``SetHint``, so HiGHS solves start cold.
HINT_BACKENDS = frozenset({"SCIP", "CBC"})


@dataclass(frozen=True)
class MipOptions:
    """How to solve. ``node_limit`` is a work limit (no wall-clock dependence); it makes
    a run repeatable with HiGHS, not with SCIP as built into OR-Tools, whose searches
    differ from run to run even on one thread (see
    :class:`wastenet.siting.solve.SiteParams`). ``threads`` applies to SCIP; HiGHS always
    runs on one thread (see :func:`_specific_params`)."""

    backend: str = "SCIP"
    relax: bool = False
    #: wall-clock seconds from the call of the solve function, building the model included
    time_limit_s: float | None = None
    threads: int = 1
    mip_gap: float = 1e-9
    seed: int = 0
    node_limit: int | None = None
    strong_linking: bool = True
    drop_counts: bool = False
    #: extra backend-specific parameter lines (SCIP ``name = value`` format)
    extra_params: str = ""


@dataclass(frozen=True, eq=False)
class MipSolution:
    """Values of the model variables (zeros for variables left out of a restricted model).

    ``status``: ``optimal``, ``feasible`` (a solution, optimality not proven),
    ``infeasible`` (proven), ``unknown`` (no solution, nothing proven). ``bound`` is the
    solver's best bound of the (possibly restricted) model, ``-inf`` when unknown.
    """

    status: str
    objective: float
    bound: float
    y: FloatArray
    z: FloatArray
    x: FloatArray
    d: FloatArray
    h: FloatArray
    u: FloatArray
    wall_s: float
    nodes: int


_STATUS = {
    pywraplp.Solver.OPTIMAL: "optimal",
    pywraplp.Solver.FEASIBLE: "feasible",
    pywraplp.Solver.INFEASIBLE: "infeasible",
}


#: a solve is not started with less time than this left after building the model (its
#: status is then ``unknown``): pywraplp takes 1 ms as its least limit
MIN_SOLVE_S = 0.01

#: HiGHS as built into OR-Tools (1.12 in OR-Tools 9.15) gives its interior point method
#: what is left of the time limit after presolve; when presolve has used it all, the
#: interior point method runs with no limit at all. Measured on capc's plant LP (100 k
#: columns, presolve about 0.3 s): a 0.2 s limit ran 73-110 s to "optimal", a 0.4 s
#: limit stopped at 0.8 s. (highspy 1.16 keeps the limit.) An interior point solve is
#: therefore run by dual simplex, which keeps its limit, when less than
#: :func:`ipm_min_s` is left; with so little time neither method finishes such an LP.
IPM_MIN_BASE_S = 0.5
#: seconds per column and row added to :data:`IPM_MIN_BASE_S`: five times the presolve
#: time measured on capc (0.3 s for 201 k columns and rows), for slower machines
IPM_MIN_S_PER_ITEM = 1e-5
_IPM_LINE = re.compile(r"^\s*solver\s*=\s*ipm\s*$", re.MULTILINE)


def ipm_min_s(n_items: int) -> float:
    """Least time left for which an interior point solve of a model with ``n_items``
    columns and rows keeps HiGHS's time limit (:data:`IPM_MIN_BASE_S`)."""
    return IPM_MIN_BASE_S + IPM_MIN_S_PER_ITEM * n_items


def _keep_limit(params: str, left: float | None, n_items: int) -> str:
    """``params`` with HiGHS's interior point method swapped for dual simplex when only
    ``left`` seconds (None: no limit) remain for a model of ``n_items`` columns and rows,
    too little for the interior point method to keep the limit (:data:`IPM_MIN_BASE_S`)."""
    if left is None or left >= ipm_min_s(n_items) or not _IPM_LINE.search(params):
        return params
    log.debug("%.2fs left for %d columns and rows: dual simplex instead of the interior "
              "point method, which would not keep the limit", left, n_items)
    return _IPM_LINE.sub("solver = simplex", params)


def _solve_within(solver: pywraplp.Solver, mp: pywraplp.MPSolverParameters,
                  time_limit_s: float | None, build_s: float, params: str = "") -> int | None:
    """``solver.Solve(mp)`` with what is left of ``time_limit_s`` after the build, or
    None (not solved) when less than :data:`MIN_SOLVE_S` is left. ``params`` are the
    backend-specific parameter lines, set here because the time left decides one of them
    (:func:`_keep_limit`)."""
    left = None if time_limit_s is None else time_limit_s - build_s
    if left is not None and left < MIN_SOLVE_S:
        return None
    params = _keep_limit(params, left, solver.NumVariables() + solver.NumConstraints())
    if params:
        solver.SetSolverSpecificParametersAsString(params)
    if left is not None:
        solver.SetTimeLimit(max(1, int(left * 1000)))
    return int(solver.Solve(mp))


def _specific_params(opts: MipOptions) -> str:
    b = opts.backend.upper()
    lines: list[str] = []
    if b == "SCIP":
        lines.append(f"randomization/randomseedshift = {int(opts.seed) % 2**31}")
        if opts.node_limit is not None:
            lines.append(f"limits/nodes = {int(opts.node_limit)}")
        lines.append(f"limits/gap = {opts.mip_gap}")
        lines.append(f"parallel/maxnthreads = {max(1, opts.threads)}")
    elif b == "HIGHS":
        lines.append(f"random_seed = {int(opts.seed) % 2**31}")
        # HiGHS prints a banner and its log on the process's stdout (C level), which
        # would mix into command output; the wastenet.* loggers report instead
        lines.append("output_flag = false")
        # HiGHS keeps one thread scheduler per process, sized by its first solve: a later
        # solve asking for another number fails ("unknown"). Always one thread, so that
        # solves in the same process (a service worker, the steps of one run) agree.
        lines.append("threads = 1")
        if not opts.relax:
            lines.append(f"mip_rel_gap = {opts.mip_gap}")
            if opts.node_limit is not None:
                lines.append(f"mip_max_nodes = {int(opts.node_limit)}")
    if opts.extra_params:
        lines.append(opts.extra_params)
    return "\n".join(lines)


def solve_mip(
    model: CompiledModel,
    opts: MipOptions,
    *,
    keep_tr_opt: BoolArray | None = None,
    keep_inc_opt: BoolArray | None = None,
    keep_collect: BoolArray | None = None,
    keep_direct: BoolArray | None = None,
    keep_haul: BoolArray | None = None,
    hint: MipSolution | None = None,
    direct_ub: FloatArray | None = None,
    cuts: Sequence[CoverCut] = (),
) -> MipSolution:
    """Build and solve the (restricted) siting model; see :mod:`wastenet.siting.model`.

    ``direct_ub`` (per direct arc) tightens the upper bounds of the direct-delivery shares
    (default 1); the reduced-cost fixing of :mod:`wastenet.siting.fixing` uses it.
    ``hint`` is a start; its ``nan`` values are unknown (a partial start: only the known
    values are handed over, and SCIP completes them by a sub-MIP).
    ``cuts`` are valid fixed-cost cover inequalities (:mod:`wastenet.siting.cuts`) added as
    rows; options left out of a restricted model are 0 in them.
    """
    t0 = time.perf_counter()
    backend = opts.backend.upper()
    if opts.relax and backend == "SCIP":
        backend = "GLOP"
    # SCIPY: the model is built in a SCIP container and handed to scipy's HiGHS
    # (:func:`_solve_exported`)
    solver = pywraplp.Solver.CreateSolver("SCIP" if backend == "SCIPY" else backend)
    if solver is None:  # pragma: no cover - depends on the OR-Tools build
        raise RuntimeError(f"OR-Tools backend {backend!r} is not available")
    tr, inc = model.transfer, model.incinerator
    n = model.demand.shape[0]
    w = model.demand
    integer = not opts.relax
    ones = np.ones
    ktr = ones(tr.opt_site.shape[0], bool) if keep_tr_opt is None else keep_tr_opt
    kin = ones(inc.opt_site.shape[0], bool) if keep_inc_opt is None else keep_inc_opt
    kc = ones(len(model.collect), bool) if keep_collect is None else keep_collect
    kd = ones(len(model.direct), bool) if keep_direct is None else keep_direct
    kh = ones(len(model.haul), bool) if keep_haul is None else keep_haul
    inf = solver.infinity()
    objective = solver.Objective()

    def new_var(lb: float, ub: float, is_int: bool, cost: float) -> pywraplp.Variable:
        v = solver.Var(lb, ub, is_int, "")
        if cost:
            objective.SetCoefficient(v, float(cost))
        return v

    yv: dict[int, pywraplp.Variable] = {}
    zv: dict[int, pywraplp.Variable] = {}
    for o in np.flatnonzero(ktr).tolist():
        yv[int(o)] = new_var(0, 1, integer, tr.opt_fixed[o])
    for o in np.flatnonzero(kin).tolist():
        zv[int(o)] = new_var(0, 1, integer, inc.opt_fixed[o])
    # per-site option lists
    tr_opts: list[list[int]] = [[] for _ in range(tr.n_sites)]
    for o in yv:
        tr_opts[int(tr.opt_site[o])].append(o)
    in_opts: list[list[int]] = [[] for _ in range(inc.n_sites)]
    for o in zv:
        in_opts[int(inc.opt_site[o])].append(o)
    for ech, opts_of, var in ((tr, tr_opts, yv), (inc, in_opts, zv)):
        for s in range(ech.n_sites):
            if not opts_of[s]:
                continue
            lb = 1.0 if ech.forced[s] else 0.0
            ct = solver.Constraint(lb, 1.0)
            for o in opts_of[s]:
                ct.SetCoefficient(var[o], 1.0)
    ss = model.single_source and integer
    xv: dict[int, pywraplp.Variable] = {}
    dv: dict[int, pywraplp.Variable] = {}
    hv: dict[int, pywraplp.Variable] = {}
    for a in np.flatnonzero(kc).tolist():
        xv[int(a)] = new_var(0, 1, ss, model.collect.cost[a] * w[model.collect.src[a]])
    for b in np.flatnonzero(kd).tolist():
        ub_b = 1.0 if direct_ub is None else float(min(1.0, max(0.0, direct_ub[b])))
        dv[int(b)] = new_var(0, ub_b, ss, model.direct.cost[b] * w[model.direct.src[b]])
    for e in np.flatnonzero(kh).tolist():
        hv[int(e)] = new_var(0, inf, False, model.haul.cost[e])
    uv: dict[int, pywraplp.Variable] = {}
    for i in np.flatnonzero(model.can_skip).tolist():
        uv[int(i)] = new_var(0, 1, False, model.penalty * w[i])
    # coverage
    cover = [solver.Constraint(1.0, 1.0) for _ in range(n)]
    for a, v in xv.items():
        cover[int(model.collect.src[a])].SetCoefficient(v, 1.0)
    for b, v in dv.items():
        cover[int(model.direct.src[b])].SetCoefficient(v, 1.0)
    for i, v in uv.items():
        cover[i].SetCoefficient(v, 1.0)
    # capacity + conservation at transfer stations
    tr_in: list[list[int]] = [[] for _ in range(tr.n_sites)]
    for a in xv:
        tr_in[int(model.collect.dst[a])].append(a)
    tr_out: list[list[int]] = [[] for _ in range(tr.n_sites)]
    in_in: list[list[int]] = [[] for _ in range(inc.n_sites)]
    for e in hv:
        tr_out[int(model.haul.src[e])].append(e)
        in_in[int(model.haul.dst[e])].append(e)
    in_direct: list[list[int]] = [[] for _ in range(inc.n_sites)]
    for b in dv:
        in_direct[int(model.direct.dst[b])].append(b)
    for j in range(tr.n_sites):
        if not tr_in[j] and not tr_out[j]:
            continue
        cap = solver.Constraint(-inf, float(tr.existing_cap[j]))
        cons = solver.Constraint(0.0, 0.0)
        for a in tr_in[j]:
            wi = float(w[model.collect.src[a]])
            cap.SetCoefficient(xv[a], wi)
            cons.SetCoefficient(xv[a], wi)
        for o in tr_opts[j]:
            cap.SetCoefficient(yv[o], -float(tr.opt_cap[o]))
        for e in tr_out[j]:
            cons.SetCoefficient(hv[e], -1.0)
        if opts.strong_linking and not tr.existing[j]:
            for a in tr_in[j]:
                link = solver.Constraint(-inf, 0.0)
                link.SetCoefficient(xv[a], 1.0)
                for o in tr_opts[j]:
                    link.SetCoefficient(yv[o], -1.0)
    for k in range(inc.n_sites):
        if not in_in[k] and not in_direct[k]:
            continue
        cap = solver.Constraint(-inf, float(inc.existing_cap[k]))
        for e in in_in[k]:
            cap.SetCoefficient(hv[e], 1.0)
        for b in in_direct[k]:
            cap.SetCoefficient(dv[b], float(w[model.direct.src[b]]))
        for o in in_opts[k]:
            cap.SetCoefficient(zv[o], -float(inc.opt_cap[o]))
        if opts.strong_linking and not inc.existing[k]:
            for b in in_direct[k]:
                link = solver.Constraint(-inf, 0.0)
                link.SetCoefficient(dv[b], 1.0)
                for o in in_opts[k]:
                    link.SetCoefficient(zv[o], -1.0)
            for e in in_in[k]:
                j = int(model.haul.src[e])
                big = float(min(tr.max_cap[j], inc.max_cap[k]))
                link = solver.Constraint(-inf, 0.0)
                link.SetCoefficient(hv[e], 1.0)
                for o in in_opts[k]:
                    link.SetCoefficient(zv[o], -big)
    # aggregate capacity (valid, redundant for the MIP; helps cover cuts and the LP):
    # sum_k Cap_k + sum_i w_i u_i >= sum_i w_i, and
    # sum_j Cap_j + sum_i w_i (u_i + sum_k d_ik) >= sum_i w_i
    total = float(w.sum())
    if total > 0 and opts.strong_linking:
        agg_in = solver.Constraint(total - float(inc.existing_cap.sum()), inf)
        for o, var in zv.items():
            agg_in.SetCoefficient(var, float(inc.opt_cap[o]))
        agg_tr = solver.Constraint(total - float(tr.existing_cap.sum()), inf)
        for o, var in yv.items():
            agg_tr.SetCoefficient(var, float(tr.opt_cap[o]))
        for i, var in uv.items():
            agg_in.SetCoefficient(var, float(w[i]))
            agg_tr.SetCoefficient(var, float(w[i]))
        for b, var in dv.items():
            agg_tr.SetCoefficient(var, float(w[model.direct.src[b]]))
    if not opts.drop_counts:
        for echelon, sense, value, mask, _ in model.counts:
            ech, var, opts_of = ((tr, yv, tr_opts) if echelon == "transfer"
                                 else (inc, zv, in_opts))
            lo, hi = {"eq": (value, value), "le": (-inf, value), "ge": (value, inf)}[sense]
            ct = solver.Constraint(float(lo), float(hi))
            for s in np.flatnonzero(mask).tolist():
                for o in opts_of[int(s)]:
                    ct.SetCoefficient(var[o], 1.0)
    for cut in cuts:
        ech, var = (tr, yv) if cut.echelon == "transfer" else (inc, zv)
        ct = solver.Constraint(float(cut.rhs), inf)
        for o in cut.options.tolist():
            if o in var:
                ct.SetCoefficient(var[o], float(ech.opt_fixed[o]))
    objective.SetMinimization()
    partial = False
    if hint is not None and integer and backend in HINT_BACKENDS:
        hv_vars: list[pywraplp.Variable] = []
        hv_vals: list[float] = []
        for store, vals in ((yv, hint.y), (zv, hint.z), (xv, hint.x), (dv, hint.d),
                            (hv, hint.h), (uv, hint.u)):
            for idx, v in store.items():
                val = float(vals[idx])
                if np.isnan(val):  # unknown: a partial start, completed by the solver
                    partial = True
                    continue
                hv_vars.append(v)
                hv_vals.append(val)
        solver.SetHint(hv_vars, hv_vals)
    solver.SetNumThreads(max(1, opts.threads))
    params = _specific_params(MipOptions(**{**opts.__dict__, "backend": backend}))
    if partial and backend == "SCIP":
        # SCIP completes a partial start by a sub-MIP over its unknown values, by default
        # only when at most 85 % of them are unknown
        params = "\n".join(p for p in (params, "heuristics/completesol/maxunknownrate = 1")
                            if p)
    mp = pywraplp.MPSolverParameters()
    if integer:
        mp.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, opts.mip_gap)
    build_s = time.perf_counter() - t0
    if backend == "SCIPY":
        return _solve_exported(model, solver, (yv, zv, xv, dv, hv, uv), opts, t0)
    # the limit counts from the call: building the model (large restricted models take
    # seconds) is part of it
    code = _solve_within(solver, mp, opts.time_limit_s, build_s, params)
    status = "unknown" if code is None else _STATUS.get(code, "unknown")
    wall = time.perf_counter() - t0
    log.debug("%s %s: build %.2fs, total %.2fs, %d vars, %d rows, status %s", backend,
              "LP" if opts.relax else "MIP", build_s, wall, solver.NumVariables(),
              solver.NumConstraints(), status)

    obj = objective.Value() if status in ("optimal", "feasible") else float("inf")
    if status == "optimal":
        bound = obj if opts.relax else min(obj, objective.BestBound())
    elif status == "feasible" and integer:
        bound = objective.BestBound()
    else:
        bound = float("-inf")
    nodes = int(solver.nodes()) if integer and status != "unknown" else 0
    return _mip_solution(model, (yv, zv, xv, dv, hv, uv),
                         pywraplp.Variable.solution_value
                         if status in ("optimal", "feasible") else None,
                         status, float(obj), float(bound), wall, nodes)


def _mip_solution(model: CompiledModel, stores: tuple[dict[int, pywraplp.Variable], ...],
                  value_of: Callable[[pywraplp.Variable], float] | None, status: str,
                  objective: float, bound: float, wall_s: float, nodes: int) -> MipSolution:
    """A :class:`MipSolution` whose y, z, x, d, h and u (``stores``: the model's variables
    by index) hold ``value_of(variable)``, or zeros when there is no solution (None)."""
    tr, inc = model.transfer, model.incinerator
    sizes = (tr.opt_site.shape[0], inc.opt_site.shape[0], len(model.collect),
             len(model.direct), len(model.haul), model.demand.shape[0])
    arrays = []
    for store, size in zip(stores, sizes, strict=True):
        out = np.zeros(size)
        if value_of is not None:
            for idx, v in store.items():
                out[idx] = value_of(v)
        arrays.append(out)
    y, z, x, d, h, u = arrays
    return MipSolution(status=status, objective=objective, bound=bound, y=y, z=z, x=x, d=d,
                       h=h, u=u, wall_s=wall_s, nodes=nodes)


def _solve_exported(model: CompiledModel, solver: pywraplp.Solver,
                    stores: tuple[dict[int, pywraplp.Variable], ...], opts: MipOptions,
                    t0: float) -> MipSolution:
    """``backend="SCIPY"`` for :func:`solve_mip`: the model built in ``solver`` (a
    container only) is exported to a matrix and solved by HiGHS through
    :func:`scipy.optimize.milp` (:func:`_solve_scipy`); ``stores`` are the variables of
    y, z, x, d, h and u by index.

    Why: HiGHS inside OR-Tools (1.12) drops the solution and the bound of a MIP stopped
    by its node limit (status "unknown"): the Faku MIP at 50 nodes gave nothing after
    31 s, where scipy's HiGHS returns 14.14 M with a bound of 13.94 M. Under a work limit
    (``SiteParams.max_iterations``) the engine therefore uses this backend. Starts are
    not passed (scipy takes none)."""
    from ortools.linear_solver import linear_solver_pb2
    from scipy.sparse import csr_matrix

    proto = linear_solver_pb2.MPModelProto()
    solver.ExportModelToProto(proto)
    n_var = len(proto.variable)
    cost = np.array([v.objective_coefficient for v in proto.variable], dtype=float)
    col_lo = np.array([v.lower_bound for v in proto.variable], dtype=float)
    col_hi = np.array([v.upper_bound for v in proto.variable], dtype=float)
    integer = np.array([v.is_integer for v in proto.variable], dtype=bool)
    lens = np.array([len(c.var_index) for c in proto.constraint], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)])
    cols = np.fromiter((i for c in proto.constraint for i in c.var_index), dtype=np.int64,
                       count=int(indptr[-1]))
    vals = np.fromiter((a for c in proto.constraint for a in c.coefficient), dtype=float,
                       count=int(indptr[-1]))
    a_csr = csr_matrix((vals, cols, indptr), shape=(len(proto.constraint), n_var))
    row_lo = np.array([c.lower_bound for c in proto.constraint], dtype=float)
    row_hi = np.array([c.upper_bound for c in proto.constraint], dtype=float)
    sol = _solve_scipy(cost, a_csr, row_lo, row_hi, col_lo, col_hi, integer, opts, t0)
    offset = float(proto.objective_offset)

    log.debug("SCIPY %s: %d vars, %d rows, status %s, %.2fs", "LP" if opts.relax else
              "MIP", n_var, len(proto.constraint), sol.status, sol.wall_s)
    return _mip_solution(model, stores, (lambda v: sol.x[v.index()])
                         if sol.status in ("optimal", "feasible") else None,
                         sol.status, sol.objective + offset, sol.bound + offset,
                         time.perf_counter() - t0, sol.nodes)


@dataclass(frozen=True, eq=False)
class MatrixSolution:
    """Solution of :func:`solve_matrix`: ``status`` as in :class:`MipSolution`."""

    status: str
    objective: float
    bound: float
    x: FloatArray
    wall_s: float
    nodes: int = 0  #: branch-and-bound nodes (0 when unknown or not a MIP)


def _solve_scipy(cost: FloatArray, a_csr: object, row_lo: FloatArray, row_hi: FloatArray,
                 col_lo: FloatArray, col_hi: FloatArray, integer: NDArray[np.bool_],
                 opts: MipOptions, t0: float) -> MatrixSolution:
    """``backend="SCIPY"``: HiGHS through :func:`scipy.optimize.milp`, which reports the
    dual bound of a MIP stopped by its time limit (pywraplp's HiGHS reports none). Used for
    many small bound MIPs (:mod:`wastenet.siting.countybound`), where HiGHS is faster than
    SCIP."""
    if cost.shape[0] == 0:
        # no variables (an empty region): scipy's milp refuses an empty objective; every
        # row is 0, so the problem is feasible exactly when each row's range holds 0
        ok = bool(np.all(row_lo <= 1e-9) and np.all(row_hi >= -1e-9))
        return MatrixSolution("optimal" if ok else "infeasible", 0.0 if ok else float("inf"),
                              0.0 if ok else float("inf"), np.zeros(0),
                              time.perf_counter() - t0)
    options: dict[str, object] = {"mip_rel_gap": opts.mip_gap, "presolve": True}
    if opts.time_limit_s is not None:  # counted from the call, the conversion included
        options["time_limit"] = max(0.05, float(opts.time_limit_s) - (time.perf_counter() - t0))
    if opts.node_limit is not None:
        options["node_limit"] = int(opts.node_limit)
    with stdout_to_stderr():  # HiGHS's debug lines are no output of the command
        res = milp(cost, integrality=np.asarray(integer, dtype=np.int8) if not opts.relax
                   else np.zeros(cost.shape[0], dtype=np.int8),
                   bounds=Bounds(col_lo, col_hi),
                   constraints=LinearConstraint(a_csr, row_lo, row_hi), options=options)
    wall = time.perf_counter() - t0
    nodes = int(getattr(res, "mip_node_count", None) or 0)
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and np.isfinite(dual) else float("-inf")
    if res.status == 0:
        obj = float(res.fun)
        # an optimum is its own bound (the dual bound may differ by the gap tolerance)
        bound = min(obj, bound) if not opts.relax and np.isfinite(bound) else obj
        return MatrixSolution("optimal", obj, bound, np.asarray(res.x), wall, nodes)
    if res.status == 2:
        return MatrixSolution("infeasible", float("inf"), float("inf"),
                              np.zeros(cost.shape[0]), wall)
    if res.x is not None:
        return MatrixSolution("feasible", float(res.fun), bound, np.asarray(res.x), wall,
                              nodes)
    return MatrixSolution("unknown", float("inf"), bound, np.zeros(cost.shape[0]), wall,
                          nodes)


def solve_matrix(cost: FloatArray, a_csr: object, row_lo: FloatArray, row_hi: FloatArray,
                 col_lo: FloatArray, col_hi: FloatArray, integer: NDArray[np.bool_],
                 opts: MipOptions, hint: FloatArray | None = None) -> MatrixSolution:
    """Solve ``min cost.x : row_lo <= A x <= row_hi, col_lo <= x <= col_hi`` (some ``x``
    integer) with the backend of ``opts``; ``a_csr`` is a :class:`scipy.sparse.csr_matrix`.
    ``hint`` (a feasible point, e.g. the incumbent) is passed to the solver as a start."""
    t0 = time.perf_counter()
    backend = opts.backend.upper()
    if backend == "SCIPY":
        return _solve_scipy(cost, a_csr, row_lo, row_hi, col_lo, col_hi, integer, opts, t0)
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:  # pragma: no cover - depends on the OR-Tools build
        raise RuntimeError(f"OR-Tools backend {backend!r} is not available")
    inf = solver.infinity()
    n = int(cost.shape[0])
    lo_c = np.where(np.isneginf(col_lo), -inf, col_lo)
    hi_c = np.where(np.isposinf(col_hi), inf, col_hi)
    xs = [solver.Var(float(lo_c[j]), float(hi_c[j]), bool(integer[j]), "") for j in range(n)]
    obj = solver.Objective()
    for j in np.flatnonzero(cost).tolist():
        obj.SetCoefficient(xs[j], float(cost[j]))
    indptr = a_csr.indptr  # type: ignore[attr-defined]
    indices = a_csr.indices  # type: ignore[attr-defined]
    data = a_csr.data  # type: ignore[attr-defined]
    for r in range(int(row_lo.shape[0])):
        lo = -inf if row_lo[r] == -np.inf else float(row_lo[r])
        hi = inf if row_hi[r] == np.inf else float(row_hi[r])
        ct = solver.Constraint(lo, hi)
        for p in range(int(indptr[r]), int(indptr[r + 1])):
            ct.SetCoefficient(xs[int(indices[p])], float(data[p]))
    obj.SetMinimization()
    if hint is not None and backend in HINT_BACKENDS:
        solver.SetHint(xs, [float(v) for v in hint])
    solver.SetNumThreads(max(1, opts.threads))
    params = _specific_params(opts)
    mp = pywraplp.MPSolverParameters()
    mp.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, opts.mip_gap)
    # the limit counts from the call, the build included
    code = _solve_within(solver, mp, opts.time_limit_s, time.perf_counter() - t0,
                         params)
    status = "unknown" if code is None else _STATUS.get(code, "unknown")
    ok = status in ("optimal", "feasible")
    x = np.array([v.solution_value() for v in xs]) if ok else np.zeros(n)
    objective = obj.Value() if ok else float("inf")
    bound = obj.BestBound() if ok else float("-inf")
    return MatrixSolution(status, float(objective), float(bound), x, time.perf_counter() - t0)
