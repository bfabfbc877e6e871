"""Weekly collection planning: which days each stop is visited, and how much it holds.

Sets: days ``d ∈ {0..6}`` (Monday = 0), stops ``s`` with weekly frequency
``k_s ∈ {7, 6, 3, 2, 1}`` and daily waste ``w_s`` (per load dimension).

Patterns (evenly spaced, the week repeats cyclically)::

    k = 7: every day            k = 6: every day but one (gaps 1..1, 2)
    k = 3: {o, o+2, o+4} mod 7  (gaps 2, 2, 3)
    k = 2: {o, o+3} mod 7       (gaps 3, 4)
    k = 1: {o}                  (gap 7)

A pattern is chosen by its offset ``o``. Load per visit on day ``d`` = ``w_s × g`` where
``g`` is the number of days since the previous visit (cyclic).

Balancing (greedy, deterministic per seed): stops are taken by decreasing frequency,
then decreasing daily waste, ties broken by a seeded permutation; each takes the offset
minimising ``Σ_d (L_d / L̄)² + (N_d / N̄)²`` where ``L_d`` is the day's load (first
dimension), ``N_d`` its number of visits and ``L̄``, ``N̄`` their ideal daily means.
Ties between offsets go to the smallest ``o`` after the seeded rotation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wastenet.errors import ValidationError
from wastenet.routing.data import RoutingData
from wastenet.routing.solve import restrict

log = logging.getLogger("wastenet.routing.frequency")

DAYS = 7
FREQUENCIES = (7, 6, 3, 2, 1)


def pattern(frequency: int, offset: int) -> tuple[int, ...]:
    """Sorted visit days of a stop of ``frequency`` visits a week at ``offset``."""
    o = offset % DAYS
    days: list[int]
    if frequency == 7:
        days = list(range(DAYS))
    elif frequency == 6:
        days = [d for d in range(DAYS) if d != o]
    elif frequency == 3:
        days = [o, o + 2, o + 4]
    elif frequency == 2:
        days = [o, o + 3]
    elif frequency == 1:
        days = [o]
    else:
        raise ValidationError("frequency", frequency, f"must be one of {FREQUENCIES}")
    return tuple(sorted(d % DAYS for d in days))


def gaps(days: tuple[int, ...]) -> tuple[int, ...]:
    """Days since the previous visit for each visit day (the week repeats)."""
    return tuple((d - days[i - 1]) % DAYS or DAYS for i, d in enumerate(days))


@dataclass(frozen=True)
class WeekPlan:
    """Visit days per stop and, per day, the stops visited and their loads."""

    offsets: tuple[int, ...]  #: chosen pattern offset per stop
    visit_days: tuple[tuple[int, ...], ...]  #: per stop
    day_stops: tuple[NDArray[np.int64], ...]  #: 7 arrays of stop indices
    day_loads: tuple[NDArray[np.float64], ...]  #: 7 arrays (len(day_stops[d]), D)
    seed: int


def plan_week(frequency: NDArray[np.int64] | list[int], daily_waste: NDArray[np.float64],
              seed: int = 0) -> WeekPlan:
    """Assign visit days to every stop (formulation in the module docstring)."""
    freq = np.asarray(frequency, dtype=np.int64)
    w = np.asarray(daily_waste, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    n = len(freq)
    if w.shape[0] != n:
        raise ValidationError("daily_waste", w.shape, f"needs {n} rows, one per stop")
    for s in range(n):
        if int(freq[s]) not in FREQUENCIES:
            raise ValidationError(f"frequency[{s}]", int(freq[s]),
                                  f"must be one of {FREQUENCIES}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValidationError("daily_waste", "negative or not finite", "must be >= 0")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.arange(n)
    order = np.lexsort((rank, -w[:, 0] if w.shape[1] else np.zeros(n), -freq))
    rot = int(rng.integers(DAYS))
    total_load = float((w[:, 0] * DAYS).sum()) if w.shape[1] else 0.0
    mean_l = max(total_load / DAYS, 1e-12)
    mean_n = max(float(freq.sum()) / DAYS, 1e-12)
    day_l = np.zeros(DAYS)
    day_n = np.zeros(DAYS)
    offsets = np.zeros(n, dtype=np.int64)
    for s in order:
        k = int(freq[s])
        best, best_val = 0, np.inf
        cands = [0] if k == 7 else [(rot + i) % DAYS for i in range(DAYS)]
        for o in cands:
            days = pattern(k, o)
            g = gaps(days)
            dl = day_l.copy()
            dn = day_n.copy()
            for d, gg in zip(days, g, strict=True):
                dl[d] += w[s, 0] * gg if w.shape[1] else 0.0
                dn[d] += 1
            val = float(np.sum((dl / mean_l) ** 2) + np.sum((dn / mean_n) ** 2))
            if val < best_val - 1e-12:
                best, best_val = o, val
        offsets[s] = best
        days = pattern(k, best)
        for d, gg in zip(days, gaps(days), strict=True):
            day_l[d] += w[s, 0] * gg if w.shape[1] else 0.0
            day_n[d] += 1
    visit_days = tuple(pattern(int(freq[s]), int(offsets[s])) for s in range(n))
    day_stops = []
    day_loads = []
    for d in range(DAYS):
        st, ld = [], []
        for s in range(n):
            days = visit_days[s]
            if d in days:
                st.append(s)
                ld.append(w[s] * gaps(days)[days.index(d)])
        day_stops.append(np.asarray(st, dtype=np.int64))
        day_loads.append(np.asarray(ld, dtype=np.float64).reshape(len(st), w.shape[1]))
    log.info("week planned: visits per day %s", [len(x) for x in day_stops])
    return WeekPlan(tuple(int(o) for o in offsets), visit_days, tuple(day_stops),
                    tuple(day_loads), seed)


def day_data(week: RoutingData, plan: WeekPlan, day: int) -> RoutingData:
    """The routing problem of ``day``: its stops with their accumulated loads.

    ``week`` holds every stop (its ``stop_demand`` is not used; loads come from the
    plan). The location table is compacted; ids and names are kept.
    """
    if not 0 <= day < DAYS:
        raise ValidationError("day", day, "must be 0..6 (Monday = 0)")
    if len(plan.visit_days) != week.n_stops:
        raise ValidationError("plan.visit_days", len(plan.visit_days),
                              f"the week has {week.n_stops} stops")
    sub, _ = restrict(week, plan.day_stops[day], demand=plan.day_loads[day],
                      name=f"{week.name}/day{day}")
    return sub
