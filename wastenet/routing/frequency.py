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

Balancing (deterministic per seed). Each stop unloads at one facility (its *group*,
``group[s]``; without groups every stop is in one group, the county). The aims, in order:

1. per group ``g`` and day ``d``, the load ``L_gd`` delivered to the group's facility is
   even: minimise ``max_d L_gd / L̄_g`` in every group (``L̄_g`` is the
   group's mean daily load, its daily waste; with a facility capacity ``C_g`` this is
   minimising ``max_{g,d} L_gd / C_g``, as groups do not share stops). A facility is
   filled to its daily capacity on average by the siting, so the county total being
   even is not enough: one facility may receive two days of waste while another
   receives none;
2. the even spacing of each stop's visits (only the patterns above are used);
3. the county's daily load ``L_d`` and number of visits ``N_d`` are even: the smallest
   ``Σ_d (L_gd / L̄_g)² + Σ_d (L_d / L̄)² + (N_d / N̄)²`` among the assignments of
   aim 1.

First a greedy pass: stops with 7 visits a week are fixed; the others are taken by
decreasing load per visit, ties broken by a seeded permutation, and each takes the offset
with the smallest ``(max_d L_gd / L̄_g, sum of squares)``; ties go to the first offset
after a seeded rotation. Then a local search, group by group, moves one stop to another
offset or swaps the offsets of two stops of the same frequency whenever that lowers the
group's largest day ratio, or keeps it and lowers the sum of squares, until no move
helps (groups of at most 60 stops move any two stops together instead of swapping, and
groups of at most 24 stops still above their mean restart from 4 seeded random starts).
Everything is computed from the first load dimension.

This is a heuristic: its largest day is often the smallest possible, but not always
(it can be a few per cent above it, e.g. 8.24 t where 8.08 t is possible).

Exact repair. Given a daily capacity ``C_g`` per group (``plan_week(capacity=...)``;
:mod:`wastenet.routing.build` passes each facility's), a group whose largest day after
the heuristic exceeds ``C_g`` is solved exactly: minimise ``max_d L_gd`` over the same
patterns (loads rounded down to whole kilograms, daily stops fixed, the heaviest stop
kept at its offset, as rotating every offset by a day only rotates the days), with CP-SAT
(:mod:`wastenet.routing.week_cpsat`) started from the heuristic's week; its week is taken
only when its largest day is lower. CP-SAT runs deterministically (one worker, seeded
with ``seed``, a limit on deterministic time, not on the clock), so the plan depends
only on the data and the seed (about 3-4 s for a group of 200-400 stops that reaches
the limit; small groups are usually proven optimal sooner). When its proven lower bound
exceeds ``C_g`` (or the group's daily waste, the mean day, alone does, in which case no
search runs), no week of these frequencies fits the facility; :attr:`WeekPlan.repairs`
says so. Groups that fit after the heuristic, and every group without a capacity, are
not touched, so their weeks are the heuristic's. The repair minimises aim 1 only (aim 3
is not kept in a repaired group).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wastenet.bounds import check_seed
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
    #: one entry per group whose heaviest day exceeded its capacity after the heuristic
    #: (empty when every group fits or no capacity was given)
    repairs: tuple[GroupRepair, ...] = ()


@dataclass(frozen=True)
class GroupRepair:
    """The exact repair of one facility group whose heaviest day (after the heuristic)
    exceeded its capacity (tonnes a day, first load dimension)."""

    group: object  #: the group's label, as passed in ``group`` (0 without groups)
    capacity: float  #: the group's daily capacity
    heuristic_max: float  #: heaviest day of the heuristic's week
    max_day: float  #: heaviest day of the week returned (lower only when repaired)
    lower_bound: float  #: proven: every choice of offsets has a day at least this heavy
    optimal: bool  #: ``max_day`` is proven the smallest possible (up to 1 kg per stop)
    method: str  #: ``"cp-sat <status>"``, or ``"mean"`` when the group's daily waste
    #: alone exceeds the capacity (no search needed)

    @property
    def fits(self) -> bool:
        """Does the returned week fit the capacity?"""
        return self.max_day <= self.capacity + _CAP_TOL

    @property
    def proven_infeasible(self) -> bool:
        """Is it proven that no week of these frequencies fits the capacity?"""
        return self.lower_bound > self.capacity + _CAP_TOL


#: relative tolerance when comparing day ratios and sums of squares
_TOL = 1e-9
#: the local search stops after this many improving moves per stop (a safety net; it
#: normally ends much earlier, when no move helps)
_MOVES_PER_STOP = 50
#: the local search moves pairs of stops (any two offsets) in groups of at most this
#: many stops; larger groups get single moves and swaps of same-frequency stops
_PAIR_LIMIT = 60
#: groups of at most this many stops whose largest day is above their mean after the
#: local search are searched again from ``_RESTARTS`` seeded random starts
_RESTART_LIMIT = 24
_RESTARTS = 4
#: power of the day ratios in the second balance key (a smooth "largest first")
_POWER = 16
#: the exact repair scales loads to integers in this unit per tonne (kilograms)
_KG_PER_T = 1000.0


#: tolerance (tonnes) when comparing a load with a capacity, as the routing pre-check
_CAP_TOL = 1e-9


def _unit_patterns() -> dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per frequency: (days since previous visit, visit indicator) per offset and day,
    each an array (offsets, 7); frequency 7 has the one offset 0."""
    out = {}
    for k in FREQUENCIES:
        offs = [0] if k == DAYS else list(range(DAYS))
        gap = np.zeros((len(offs), DAYS))
        vis = np.zeros((len(offs), DAYS))
        for i, o in enumerate(offs):
            days = pattern(k, o)
            for d, g in zip(days, gaps(days), strict=True):
                gap[i, d] = g
                vis[i, d] = 1.0
        out[k] = (gap, vis)
    return out


_UNITS = _unit_patterns()


def _check_frequency(frequency: object) -> NDArray[np.int64]:
    """``frequency`` as an int64 array, when every entry is an integral number of
    visits a week among :data:`FREQUENCIES` (a Python or numpy integer, or a float with
    an integral value such as ``3.0``); a bool, string, NaN, fractional or other entry is
    a :class:`ValidationError` naming ``frequency[i]`` (checked before any conversion,
    so ``2.5`` is not truncated to 2)."""
    if isinstance(frequency, np.ndarray):
        if frequency.ndim != 1:
            raise ValidationError("frequency", tuple(int(x) for x in frequency.shape),
                                  "must be one-dimensional, one entry per stop")
        items = frequency.tolist() if frequency.dtype.kind in "iuf" else list(frequency)
    elif isinstance(frequency, str | bytes) or not hasattr(frequency, "__iter__"):
        raise ValidationError("frequency", frequency, "must be a sequence, one per stop")
    else:
        items = list(frequency)  # type: ignore[call-overload]
    out = np.empty(len(items), dtype=np.int64)
    for s, x in enumerate(items):
        integral = not isinstance(x, bool | np.bool_) and (
            isinstance(x, int | np.integer)
            or (isinstance(x, float | np.floating) and bool(np.isfinite(x))
            and float(x).is_integer()))
        value = int(x) if integral else None  # type: ignore[call-overload]
        if value is None or value not in FREQUENCIES:
            raise ValidationError(f"frequency[{s}]", x,
                                  f"must be an integer number of visits a week, one of "
                                  f"{FREQUENCIES}")
        out[s] = value
    return out


def plan_week(frequency: NDArray[np.int64] | list[int], daily_waste: NDArray[np.float64],
              seed: int = 0, *,
              group: NDArray[np.int64] | list[int] | None = None,
              capacity: Mapping[Any, float] | Sequence[float] | NDArray[np.float64]
              | None = None, name: str = "") -> WeekPlan:
    """Assign visit days to every stop (formulation in the module docstring).

    ``group``: the facility (any integer label) each stop unloads at; the load per
    facility and day is balanced. ``None``: one group, the county total (label 0).

    ``capacity``: the daily capacity (tonnes, first load dimension) of each group, a
    mapping from group label to capacity (labels not in it have none) or a sequence
    indexed by the label (labels must then be 0..len-1); ``inf`` is no capacity, ``None``
    no capacity at all. It does not change the heuristic; a group whose heaviest day
    exceeds its capacity afterwards is solved exactly (module docstring, "Exact repair")
    and reported in :attr:`WeekPlan.repairs`.

    ``name``: what the week is of (e.g. ``"county 210124"``), named in the log lines
    (the planner's summary and the repairs), so that the lines of many counties planned
    one after the other can be told apart; it changes nothing else."""
    freq = _check_frequency(frequency)
    w = np.asarray(daily_waste, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    n = len(freq)
    if w.shape[0] != n:
        raise ValidationError("daily_waste", w.shape, f"needs {n} rows, one per stop")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValidationError("daily_waste", "negative or not finite", "must be >= 0")
    seed = check_seed(seed)
    labels: list[object] = [0]
    if group is None:
        gid = np.zeros(n, dtype=np.int64)
    else:
        graw = np.asarray(group)
        if graw.shape != (n,):
            raise ValidationError("group", tuple(int(x) for x in graw.shape),
                                  f"needs {n} entries, one per stop")
        uniq, inverse = np.unique(graw, return_inverse=True)
        gid = inverse.astype(np.int64).reshape(n)
        labels = uniq.tolist()
    n_groups = int(gid.max()) + 1 if n else 0
    cap = _check_capacity(capacity, labels[:n_groups])
    w0 = w[:, 0] if w.shape[1] else np.zeros(n)

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.arange(n)
    per_visit = w0 * DAYS / freq if n else np.zeros(0)
    # fixed (daily) stops first, then by decreasing load per visit, then seeded
    order = np.lexsort((rank, -per_visit, (freq != DAYS).astype(np.int64)))
    rot = int(rng.integers(DAYS))
    rng_restart = np.random.default_rng([seed, 1])

    g_mean = np.maximum(np.bincount(gid, weights=w0, minlength=n_groups), 1e-12)
    c_mean = max(float(w0.sum()), 1e-12)
    n_mean = max(float(freq.sum()) / DAYS, 1e-12)
    gl = np.zeros((n_groups, DAYS))  # load per group and day
    cl = np.zeros(DAYS)  # county load per day
    cn = np.zeros(DAYS)  # county visits per day
    offsets = np.zeros(n, dtype=np.int64)

    def candidates(s: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Load and visit indicator of stop ``s`` per offset (rows, offset order; one row
        for a daily stop) and day."""
        gap, vis = _UNITS[int(freq[s])]
        return w0[s] * gap, vis

    def keys(g: int, new_gl: NDArray[np.float64], new_cl: NDArray[np.float64],
             new_cn: NDArray[np.float64]) -> NDArray[np.float64]:
        """The balance keys of candidate rows (…, 7), an array (…, 3): the group's
        largest day ratio, the sum of its day ratios to the power ``_POWER`` (which
        prefers fewer days near the largest), and the sum of squares of aim 3."""
        r = new_gl / g_mean[g]
        sq = (np.sum(r * r, axis=-1) + np.sum((new_cl / c_mean) ** 2, axis=-1)
              + np.sum((new_cn / n_mean) ** 2, axis=-1))
        return np.stack([r.max(axis=-1), np.sum(r ** _POWER, axis=-1), sq], axis=-1)

    def best_row(k: NDArray[np.float64]) -> int:
        """The row of ``k`` (n, 3) with the lexicographically smallest key, each part
        compared up to the tolerance; ties go to the first row."""
        mask = np.ones(len(k), dtype=bool)
        for j in range(3):
            lo = float(k[mask, j].min())
            mask &= k[:, j] <= lo + _TOL * max(abs(lo), 1.0)
        return int(np.flatnonzero(mask)[0])

    def better(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
        """Is key ``a`` smaller than key ``b`` (lexicographically, with tolerance)?"""
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            tol = _TOL * max(abs(x), abs(y), 1.0)
            if x < y - tol:
                return True
            if x > y + tol:
                return False
        return False

    # rows of each frequency's offsets in the seeded rotation order
    rot_order = np.array([(rot + i) % DAYS for i in range(DAYS)])

    # -- greedy ----------------------------------------------------------------------
    for s in (int(x) for x in order):
        g = int(gid[s])
        load, vis = candidates(s)
        if len(load) == 1:
            best = 0
        else:
            rl, rv = load[rot_order], vis[rot_order]
            best = int(rot_order[best_row(keys(g, gl[g] + rl, cl + rl, cn + rv))])
        offsets[s] = best
        gl[g] += load[best]
        cl += load[best]
        cn += vis[best]

    # -- local search, group by group ------------------------------------------------
    movable = [int(s) for s in order if freq[s] != DAYS and w0[s] > 0]
    budget = [_MOVES_PER_STOP * max(len(movable), 1)]  # improving moves left

    def apply(g: int, dl: NDArray[np.float64], dv: NDArray[np.float64]) -> None:
        gl[g] += dl
        cl[:] += dl
        cn[:] += dv

    def descend(g: int, mload: NDArray[np.float64], mvis: NDArray[np.float64],
                mfreq: NDArray[np.int64], pos: NDArray[np.int64]) -> None:
        """Improve group ``g`` (members' loads and visits per rotated offset and day,
        their offset positions ``pos``, updated) until no move helps."""
        m = len(pos)
        pairs = m <= _PAIR_LIMIT
        ar = np.arange(m)
        improved = True
        while improved and budget[0] > 0:
            improved = False
            cur = keys(g, gl[g], cl, cn)
            for i in range(m):
                # move stop i alone
                dl = mload[i] - mload[i, pos[i]]
                dv = mvis[i] - mvis[i, pos[i]]
                k = keys(g, gl[g] + dl, cl + dl, cn + dv)
                b = best_row(k)
                if better(k[b], cur):
                    pos[i] = b
                    apply(g, dl[b], dv[b])
                    cur, improved = k[b], True
                    budget[0] -= 1
                rest = ar[i + 1:]
                if not pairs:
                    # swap offsets with a stop of the same frequency
                    rest = rest[(mfreq[rest] == mfreq[i]) & (pos[rest] != pos[i])]
                    if rest.size == 0:
                        continue
                    pt = pos[rest]
                    dl1 = (mload[i, pt] - mload[i, pos[i]]
                           + mload[rest, pos[i]] - mload[rest, pt])
                    dv1 = (mvis[i, pt] - mvis[i, pos[i]]
                           + mvis[rest, pos[i]] - mvis[rest, pt])
                    k1 = keys(g, gl[g] + dl1, cl + dl1, cn + dv1)
                    b = best_row(k1)
                    if better(k1[b], cur):
                        t = int(rest[b])
                        pos[i], pos[t] = pos[t], pos[i]
                        apply(g, dl1[b], dv1[b])
                        cur, improved = k1[b], True
                        budget[0] -= 1
                    continue
                if rest.size == 0:
                    continue
                # move stop i and another stop t together (any two offsets)
                ds = (mload[i] - mload[i, pos[i]])[None, :, None, :]
                dt = (mload[rest] - mload[rest, pos[rest]][:, None, :])[:, None, :, :]
                vs_ = (mvis[i] - mvis[i, pos[i]])[None, :, None, :]
                vt_ = (mvis[rest] - mvis[rest, pos[rest]][:, None, :])[:, None, :, :]
                dl2 = (ds + dt).reshape(-1, DAYS)
                dv2 = (vs_ + vt_).reshape(-1, DAYS)
                k2 = keys(g, gl[g] + dl2, cl + dl2, cn + dv2)
                b = best_row(k2)
                if better(k2[b], cur):
                    j, rem = divmod(b, DAYS * DAYS)
                    t = int(rest[j])
                    pos[i], pos[t] = divmod(rem, DAYS)
                    apply(g, dl2[b], dv2[b])
                    cur, improved = k2[b], True
                    budget[0] -= 1

    def shift_to(g: int, mload: NDArray[np.float64], mvis: NDArray[np.float64],
                 pos: NDArray[np.int64], new: NDArray[np.int64]) -> None:
        """Move the members of group ``g`` from offset positions ``pos`` to ``new``."""
        ar = np.arange(len(pos))
        apply(g, (mload[ar, new] - mload[ar, pos]).sum(axis=0),
              (mvis[ar, new] - mvis[ar, pos]).sum(axis=0))
        pos[:] = new

    for g in range(n_groups):
        members = [s for s in movable if gid[s] == g]
        if not members:
            continue
        # load and visits per member, rotated offset position and day: (m, 7, 7)
        mload = np.stack([candidates(s)[0][rot_order] for s in members])
        mvis = np.stack([candidates(s)[1][rot_order] for s in members])
        mfreq = freq[members]
        pos = np.array([int(np.flatnonzero(rot_order == offsets[s])[0]) for s in members])
        descend(g, mload, mvis, mfreq, pos)
        # small groups whose days are still uneven: seeded restarts, keep the best
        if len(members) <= _RESTART_LIMIT:
            for _ in range(_RESTARTS):
                best_key, best_pos = keys(g, gl[g], cl, cn), pos.copy()
                if best_key[0] <= 1.0 + _TOL or budget[0] <= 0:
                    break
                shift_to(g, mload, mvis, pos, rng_restart.integers(DAYS, size=len(members)))
                descend(g, mload, mvis, mfreq, pos)
                if not better(keys(g, gl[g], cl, cn), best_key):
                    shift_to(g, mload, mvis, pos, best_pos)
        for i, s in enumerate(members):
            offsets[s] = rot_order[pos[i]]
    moves = _MOVES_PER_STOP * max(len(movable), 1) - budget[0]

    # -- exact repair of the groups over capacity ----------------------------------
    repairs = []
    for g in range(n_groups):
        if gl[g].max() <= cap[g] + _CAP_TOL:
            continue
        idx = np.flatnonzero(gid == g)
        before = offsets[idx].copy()
        rep = _repair_group(freq[idx], w0[idx], offsets[idx], float(cap[g]), labels[g],
                            seed, name)
        offsets[idx] = rep[1]
        for s, o_old, o_new in zip(idx.tolist(), before.tolist(), rep[1].tolist(),
                                   strict=True):
            if o_old != o_new:
                load, vis = candidates(s)
                row_old, row_new = (0, 0) if len(load) == 1 else (o_old, o_new)
                apply(g, load[row_new] - load[row_old], vis[row_new] - vis[row_old])
        repairs.append(rep[0])

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
    ratio = gl / g_mean[:, None] if n_groups else np.zeros((0, DAYS))
    log.info("%sweek planned: visits per day %s; %d facility groups, largest ratio of a "
             "day's load to the group's mean daily load %.3f (%d improving moves)",
             _prefix(name), [len(x) for x in day_stops], n_groups,
             float(ratio.max()) if ratio.size else 0.0, moves)
    return WeekPlan(tuple(int(o) for o in offsets), visit_days, tuple(day_stops),
                    tuple(day_loads), seed, tuple(repairs))


def _prefix(name: str) -> str:
    """``"<name>: "`` to start a log line with, or nothing without a name."""
    return f"{name}: " if name else ""


def _check_capacity(capacity: object, labels: list[object]) -> NDArray[np.float64]:
    """The capacity of each group (in the order of ``labels``), ``inf`` for none."""
    out = np.full(len(labels), np.inf)
    if capacity is None:
        return out
    if isinstance(capacity, Mapping):
        pairs = [(g, capacity[lab]) for g, lab in enumerate(labels) if lab in capacity]
        name = "capacity[{lab!r}]"
    else:
        if isinstance(capacity, str | bytes) or not hasattr(capacity, "__len__"):
            raise ValidationError("capacity", capacity,
                                  "must be a mapping or a sequence indexed by group")
        seq = list(capacity)  # type: ignore[call-overload]
        pairs = []
        for g, lab in enumerate(labels):
            if isinstance(lab, bool) or not isinstance(lab, int) or \
                    not 0 <= lab < len(seq):
                raise ValidationError("group", lab, f"with a capacity sequence of "
                                      f"{len(seq)} entries, labels must be 0..{len(seq) - 1}")
            pairs.append((g, seq[lab]))
        name = "capacity[{lab}]"
    for g, c in pairs:
        ok = not isinstance(c, bool | np.bool_) and isinstance(c, int | float | np.integer
                                                                  | np.floating)
        if not ok or np.isnan(c) or c < 0:  # type: ignore[arg-type,operator]
            raise ValidationError(name.format(lab=labels[g]), c,
                                  "must be a number of tonnes a day >= 0 (inf: none)")
        out[g] = float(c)  # type: ignore[arg-type]
    return out


def _repair_group(freq: NDArray[np.int64], w0: NDArray[np.float64],
                  offsets: NDArray[np.int64], capacity: float, label: object,
                  seed: int, name: str = "") -> tuple[GroupRepair, NDArray[np.int64]]:
    """Solve one group exactly (module docstring, "Exact repair"): the report and the
    offsets to use (the given ones unless CP-SAT's week has a lighter heaviest day).
    ``name`` (the week's, :func:`plan_week`) starts the log lines."""
    from wastenet.routing.week_cpsat import min_max_day

    def day_loads(offs: NDArray[np.int64]) -> NDArray[np.float64]:
        out = np.zeros(DAYS)
        for k, x, o in zip(freq.tolist(), w0.tolist(), offs.tolist(), strict=True):
            out += x * _UNITS[k][0][0 if k == DAYS else o]
        return out

    heur = float(day_loads(offsets).max())
    mean = float(w0.sum())  # the week's waste / 7: no week's heaviest day is lighter
    if mean > capacity + _CAP_TOL:
        rep = GroupRepair(label, capacity, heur, heur, mean, False, "mean")
        log.warning("%sfacility group %r: its daily waste %.3f t alone exceeds the "
                    "capacity %.3f t; no week fits (heaviest day %.3f t)", _prefix(name),
                    label, mean, capacity, heur)
        return rep, offsets
    # integer kilograms, rounded down (so the solver's bound is a bound of the real
    # loads; 1e-6 kg absorbs float noise such as 1.19 t x 1000 = 1189.9999... kg)
    movable = [i for i in range(len(freq)) if freq[i] != DAYS and w0[i] > 0]
    fixed = np.zeros(DAYS, dtype=np.int64)
    for i in range(len(freq)):
        if freq[i] == DAYS:
            fixed += np.floor(w0[i] * _KG_PER_T * _UNITS[DAYS][0][0] + 1e-6).astype(np.int64)
    loads = [np.floor(w0[i] * _KG_PER_T * _UNITS[int(freq[i])][0] + 1e-6).astype(np.int64)
             for i in movable]
    hint = [int(offsets[i]) for i in movable]
    # the week is cyclic: rotating every offset by one day rotates the day loads, so
    # the heaviest stop may keep its offset (symmetry breaking)
    a = -1
    if movable:
        a = max(range(len(movable)), key=lambda j: (w0[movable[j]], -j))
        loads[a] = loads[a][hint[a]:hint[a] + 1]
        hint[a] = 0
    res = min_max_day(loads, fixed, hint, seed=seed)
    new = offsets.copy()
    if res.choice is not None:
        for j, (i, c) in enumerate(zip(movable, res.choice, strict=True)):
            new[i] = offsets[i] if j == a else c
    best = float(day_loads(new).max())
    accepted = best < heur - _CAP_TOL
    if not accepted:
        new, best = offsets, heur
    bound = max(res.bound / _KG_PER_T, mean)
    rep = GroupRepair(label, capacity, heur, best, bound, res.optimal,
                      f"cp-sat {res.status.lower()}")
    log.log(logging.INFO if rep.fits else logging.WARNING,
            "%sfacility group %r: heaviest day %.3f t > capacity %.3f t after the "
            "heuristic; exact search (CP-SAT %s, %d stops, deterministic time %.2f, %.2f s): "
            "heaviest day %.3f t (%s), proven lower bound %.3f t%s", _prefix(name), label,
            heur, capacity, res.status, len(freq), res.deterministic_time, res.wall_s, best,
            "repaired" if accepted else "kept", bound,
            "; no week fits the capacity" if rep.proven_infeasible else "")
    return rep, new


def group_day_loads(plan: WeekPlan, group: NDArray[np.int64] | list[int],
                    n_groups: int | None = None) -> NDArray[np.float64]:
    """Load (first dimension) per group and day, an array ``(n_groups, 7)``: what the
    facility ``g`` receives on each day of the week. ``group`` holds small non-negative
    integers (one per stop); ``n_groups`` defaults to ``max(group) + 1``."""
    gid = np.asarray(group, dtype=np.int64)
    G = int(n_groups if n_groups is not None else (gid.max() + 1 if gid.size else 0))
    out = np.zeros((G, DAYS))
    for d in range(DAYS):
        st = plan.day_stops[d]
        if st.size and plan.day_loads[d].shape[1]:
            np.add.at(out[:, d], gid[st], plan.day_loads[d][:, 0])
    return out


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
