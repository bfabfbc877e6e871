"""OR-Tools adapter: the exact weekly balance of one facility group, with CP-SAT.

This is the only module of the weekly planner (:mod:`wastenet.routing.frequency`) that
imports OR-Tools. It knows nothing of villages or patterns: it takes, per stop, the
integer load of each of its options on each day of the week, and chooses one option per
stop so that the heaviest day is as light as possible.

Model (all data integers, e.g. kilograms)::

    x_so ∈ {0, 1}                  stop s takes option o
    Σ_o x_so = 1                   for every stop s
    F_d + Σ_{s,o} q_sod · x_so ≤ M for every day d (F_d: load that no choice moves)
    min M

Deterministic: one worker, a fixed random seed and a limit on CP-SAT's *deterministic*
time (its own work count, not the wall clock), so the same data, seed and limit give the
same answer under any load (and on any machine with the same OR-Tools build). A start
(``hint``) is passed as a solution hint; the answer need not contain it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

#: CP-SAT's deterministic-time limit of one group, in its own units (roughly one
#: wall-clock second each on one core: 3-4 s for groups of 200-400 stops when the limit
#: is reached; small groups are usually proven optimal well before)
DETERMINISTIC_TIME = 3.0


@dataclass(frozen=True)
class MinMaxResult:
    """The outcome of :func:`min_max_day`."""

    choice: tuple[int, ...] | None  #: option per stop (None when no solution was found)
    objective: int | None  #: the heaviest day of ``choice`` (model units)
    bound: int  #: proven lower bound of the heaviest day over every choice
    optimal: bool  #: the objective is proven optimal (``objective == bound``)
    status: str  #: CP-SAT's status name
    deterministic_time: float  #: CP-SAT's deterministic time used
    wall_s: float  #: wall-clock seconds (informative only; not used by any decision)


def min_max_day(loads: Sequence[NDArray[np.int64]], fixed: NDArray[np.int64],
                hint: Sequence[int], *, seed: int,
                deterministic_time: float | None = None) -> MinMaxResult:
    """Choose one option per stop minimising the heaviest day (model in the module
    docstring).

    ``loads[s]``: integer array ``(options of s, days)``, the load of stop ``s`` on each
    day under each option (at least one option); ``fixed``: integer load per day that no
    option changes; ``hint``: an option index per stop (a start, e.g. a heuristic's);
    ``seed``: CP-SAT's random seed (``0 <= seed < 2**31``); ``deterministic_time``:
    CP-SAT's deterministic-time limit (default :data:`DETERMINISTIC_TIME`)."""
    days = len(fixed)
    fixed = np.asarray(fixed, dtype=np.int64)
    model = cp_model.CpModel()
    peak_hi = int(fixed.max(initial=0)) + sum(int(q.max(initial=0)) for q in loads)
    peak = model.new_int_var(0, peak_hi, "peak")
    xs: list[list[cp_model.IntVar]] = []
    for s, q in enumerate(loads):
        row = [model.new_bool_var(f"x{s}_{o}") for o in range(q.shape[0])]
        model.add_exactly_one(row)
        xs.append(row)
    for d in range(days):
        vs = [x for q, row in zip(loads, xs, strict=True)
              for o, x in enumerate(row) if q[o, d]]
        cs = [int(q[o, d]) for q in loads for o in range(q.shape[0]) if q[o, d]]
        model.add(cp_model.LinearExpr.weighted_sum(vs, cs) + int(fixed[d]) <= peak)
    hint_peak = fixed.copy()
    for q, row, h in zip(loads, xs, hint, strict=True):
        hint_peak += q[h]
        for o, x in enumerate(row):
            model.add_hint(x, o == h)
    model.add_hint(peak, int(hint_peak.max(initial=0)))
    model.minimize(peak)

    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.random_seed = int(seed)
    prm.max_deterministic_time = float(DETERMINISTIC_TIME if deterministic_time is None
                                       else deterministic_time)
    prm.linearization_level = 2  # a stronger LP: better weeks and bounds in the same time
    prm.log_search_progress = False
    t0 = time.perf_counter()
    status = solver.solve(model)
    wall = time.perf_counter() - t0
    choice: tuple[int, ...] | None = None
    obj: int | None = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        choice = tuple(next(o for o, x in enumerate(row) if solver.boolean_value(x))
                       for row in xs)
        obj = round(solver.objective_value)
    raw = float(solver.best_objective_bound)
    bound = max(0, int(np.ceil(raw - 1e-6))) if np.isfinite(raw) else 0
    optimal = False
    if status == cp_model.OPTIMAL and obj is not None:
        bound, optimal = obj, True
    return MinMaxResult(choice, obj, bound, optimal, solver.status_name(status),
                        float(solver.deterministic_time), wall)
