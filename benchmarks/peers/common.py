"""Turn a peer solver's visit sequences into a wastenet :class:`RoutePlan`.

The peers (PyVRP, plain OR-Tools) only return *orders* of visits. This module rebuilds
every time from ``RoutingData`` in exact (float) seconds, so that the same independent
checker (:func:`wastenet.routing.checker.check`) judges every solver's plan.

Schedule of one route ``v_0 = depot, v_1, ..., v_m = depot`` leaving at ``t_0``::

    arrival_k = departure_{k-1} + tau(v_{k-1}, v_k) / speed
    start_k   = max(arrival_k, open_k)          (waiting allowed)
    departure_k = start_k + service_k

Break (lunch) of length ``B`` with window ``[e, l]``: if the break-free schedule is under
way at some moment of the window, the break is inserted after visit ``p`` at
``b = max(departure_p, e)`` (requires ``b <= l``), and the next visit starts at
``max(open, b + B + tau)``. Every position ``p`` is tried; the feasible one with the
earliest return wins (ties: the earliest ``p``). When none is feasible the one with the
least total lateness is kept and the checker reports the violation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wastenet.routing.data import Route, RoutePlan, RoutingData, Visit

Step = tuple[str, int]  # ("depot" | "stop" | "unload", index in that role)


def _loc(data: RoutingData, kind: str, index: int) -> int:
    if kind == "depot":
        return int(data.depots[index])
    if kind == "stop":
        return int(data.stops[index])
    return int(data.facilities[index])


def _window(data: RoutingData, kind: str, index: int) -> tuple[float, float, float]:
    """(open, close, service) of a visit."""
    if kind == "stop":
        return (float(data.stop_open_s[index]), float(data.stop_close_s[index]),
                float(data.stop_service_s[index]))
    if kind == "unload":
        return (float(data.facility_open_s[index]), float(data.facility_close_s[index]),
                float(data.facility_unload_s[index]))
    return float(data.depot_open_s[index]), float(data.depot_close_s[index]), 0.0


def _times(data: RoutingData, vt_index: int, seq: Sequence[Step], leave: float,
           brk: int | None) -> tuple[list[tuple[float, float, float]], float | None, float]:
    """(arrival, start, departure) per visit, break start, and total lateness."""
    vt = data.vehicle_types[vt_index]
    out = [(leave, leave, leave)]
    late = 0.0
    b_start: float | None = None
    for k in range(1, len(seq)):
        a, b = _loc(data, *seq[k - 1]), _loc(data, *seq[k])
        tau = float(data.duration_s[a, b]) / vt.speed_factor
        dep = out[-1][2]
        if brk is not None and k - 1 == brk:
            b_start = max(dep, vt.break_earliest_s)
            late += max(0.0, b_start - vt.break_latest_s)
            arr = b_start + vt.break_duration_s + tau
        else:
            arr = dep + tau
        op, cl, svc = _window(data, *seq[k])
        if k == len(seq) - 1:  # back home: no service, no waiting
            cl = min(cl, vt.shift_end_s)
            late += max(0.0, arr - cl) + max(0.0, arr - leave - vt.max_shift_s)
            out.append((arr, arr, arr))
            continue
        start = max(arr, op)
        late += max(0.0, start - cl)
        out.append((arr, start, start + svc))
    return out, b_start, late


def build_route(data: RoutingData, vt_index: int, vehicle: int, seq: Sequence[Step],
                leave_s: float) -> Route:
    """A checked-format :class:`Route` for ``seq`` (depot first and last) leaving at
    ``leave_s``, with the break placed as described in the module docstring."""
    vt = data.vehicle_types[vt_index]
    times, _, _ = _times(data, vt_index, seq, leave_s, None)
    brk_start: float | None = None
    if vt.break_duration_s > 0:
        ret = times[-1][0]
        if leave_s < vt.break_earliest_s + vt.break_duration_s and ret > vt.break_latest_s:
            best: tuple[float, float, int] | None = None
            for p in range(len(seq) - 1):
                t_p, b_p, late_p = _times(data, vt_index, seq, leave_s, p)
                key = (late_p, t_p[-1][0], p)
                if best is None or key < best:
                    best = key
                    times, brk_start = t_p, b_p
            assert best is not None
    D = len(data.load_dims)
    load = np.zeros(D)
    total = np.zeros(D)
    visits: list[Visit] = []
    dist = travel = tkm = 0.0
    for k, (kind, index) in enumerate(seq):
        loc = _loc(data, kind, index)
        if k > 0:
            prev = _loc(data, *seq[k - 1])
            d = float(data.distance_m[prev, loc])
            dist += d
            travel += float(data.duration_s[prev, loc]) / vt.speed_factor
            if D:
                tkm += float(load[0]) * d / 1000.0
        if kind == "stop":
            load = load + data.stop_demand[index]
            total = total + data.stop_demand[index]
        elif kind == "unload":
            load = np.zeros(D)
        arr, start, dep = times[k]
        visits.append(Visit(kind, int(index), loc, arr, start, dep,
                            tuple(float(x) for x in load)))
    duration = times[-1][0] - times[0][2]
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000.0
            + vt.cost_yuan_per_h * duration / 3600.0)
    return Route(vt_index, vehicle, tuple(visits), brk_start, dist, duration, travel,
                 tuple(float(x) for x in total), tkm, cost)


def build_plan(data: RoutingData, routes: Sequence[tuple[int, Sequence[Step], float]], *,
               solver: str, seed: int, elapsed_s: float, status: str = "OK") -> RoutePlan:
    """A :class:`RoutePlan` from ``(vehicle_type, steps, leave_s)`` per used vehicle."""
    built: list[Route] = []
    number: dict[int, int] = {}
    for vt_index, seq, leave in routes:
        k = number.get(vt_index, 0)
        number[vt_index] = k + 1
        built.append(build_route(data, vt_index, k, seq, leave))
    seen = {v.index for r in built for v in r.visits if v.kind == "stop"}
    unserved = tuple(s for s in range(data.n_stops) if s not in seen)
    return RoutePlan(
        routes=tuple(built), unserved=unserved, vehicles=len(built),
        distance_m=sum(r.distance_m for r in built), travel_s=sum(r.travel_s for r in built),
        duration_s=sum(r.duration_s for r in built), tonne_km=sum(r.tonne_km for r in built),
        cost_yuan=sum(r.cost_yuan for r in built), status=status, solver=solver, seed=seed,
        elapsed_s=elapsed_s, name=data.name, synthetic=data.synthetic)
