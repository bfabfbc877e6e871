"""Large-neighbourhood improvement of a plan: ruin and recreate around a seed stop.

OR-Tools' guided local search stagnates on full plans: on CVRPLIB X-n101 it reaches its
final cost within 20 s of a 60 s budget. This module perturbs the incumbent in a
neighbourhood and lets OR-Tools repair and improve only that neighbourhood, in the manner
of ruin-and-recreate / POPMUSIC decompositions. One iteration:

1. draw a seed stop ``s`` (seeded RNG);
2. the neighbourhood ``R``: the routes serving ``s`` and its nearest stops (by travel
   time), taken in order of distance until ``max_stops`` stops or ``max_routes`` routes,
   but at least two routes (:func:`neighbourhood`), so that stops can change vehicle;
3. ruin: the ``ruin`` stops of ``R`` nearest to ``s`` are taken out of their routes;
4. recreate: the sub-problem on the stops of ``R`` (all depots and facilities, each
   vehicle type capped at the vehicles ``R`` uses) is solved by the OR-Tools adapter from
   the ruined routes, the removed stops unperformed under their drop penalty, with guided
   local search for a short slice;
5. accept the new routes of ``R`` when every stop is served again, every route decodes,
   and the acceptance score :func:`~wastenet.routing.solve._score` over ``R`` decreases
   (the weights of :class:`~wastenet.routing.solve.RouteParams` applied to vehicles,
   travel time and the reported route cost; the OR-Tools objective that the recreate
   step minimises also has the unload charge and no break, see
   :mod:`wastenet.routing.solve`).

Every rule of :mod:`wastenet.routing.data` is kept by construction: the sub-problem is
the same model on fewer stops, and routes outside ``R`` are untouched. One exception is
excluded up front (the plan is returned as is, see :func:`applicable`): finite facility
capacities shared by unassigned stops, since a sub-problem cannot see the other routes'
deliveries. Vehicles never increase (each type is capped at its use in ``R``).

Route elimination on large instances (:func:`eliminate`) uses the same sub-problems: the
stops of a route taken out form an ejection pool, and neighbourhoods around pooled stops
are re-solved with the pooled stops unperformed until the pool is empty (one vehicle
fewer) or the attempt gives up; see :func:`_empty_route`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from wastenet.routing.data import Route, RoutingData

if TYPE_CHECKING:
    from wastenet.routing.solve import RouteParams

log = logging.getLogger("wastenet.routing.improve")


def applicable(data: RoutingData) -> bool:
    """Whether a neighbourhood can be re-solved on its own (see the module docstring)."""
    unassigned = bool(np.any(data.stop_facility < 0))
    finite = bool(np.any(np.isfinite(data.facility_capacity)))
    return not (unassigned and finite)


def improve(data: RoutingData, params: RouteParams, routes: list[Route], deadline: float,
            *, max_stops: int = 60, max_routes: int = 8, ruin: int = 10,
            slice_s: float = 0.5, metaheuristic: str = "GREEDY_DESCENT") -> list[Route]:
    """Ruin-and-recreate iterations until ``deadline``; returns the improved routes.

    Vehicle numbers are renumbered per type at the end (0, 1, ... in route order).
    """
    from wastenet.routing.solve import (
        _score,
        resolve_from,
        restrict,
        unload_copies,
        used_counts,
    )

    if not routes or not applicable(data):
        return routes
    rng = np.random.default_rng(params.seed)
    dur = data.duration_s[np.ix_(data.stops, data.stops)]
    copies = unload_copies(data, params)
    routes = list(routes)
    route_of = _route_of(routes, data.n_stops)
    served = np.flatnonzero(route_of >= 0)
    if served.size == 0:
        return routes
    tries = accepted = 0
    while True:
        left = deadline - time.perf_counter()
        if left < 0.5:
            break
        tries += 1
        s = int(served[rng.integers(served.size)])
        order = np.argsort(dur[s] + dur[:, s], kind="stable")
        chosen = neighbourhood(routes, route_of, order.tolist(), max_stops, max_routes,
                               least=2)
        stops = np.array(sorted(v.index for k in chosen for v in routes[k].visits
                                if v.kind == "stop"), dtype=np.int64)
        if stops.size < 2:
            continue
        local = {int(g): i for i, g in enumerate(stops.tolist())}
        removed = set([int(t) for t in order.tolist() if int(t) in local]
                      [:min(ruin, stops.size - 1)])
        old = [routes[k] for k in chosen]
        sub, _ = restrict(data, stops, counts=used_counts(data, old), name=f"{data.name}#lns")
        start = []
        for k in chosen:
            r = routes[k]
            visits = tuple((v.kind, local[v.index] if v.kind == "stop" else v.index)
                           for v in r.visits[1:-1]
                           if not (v.kind == "stop" and v.index in removed))
            start.append((r.vehicle_type, visits))
        new, _ = resolve_from(sub, params, min(slice_s, left), tuple(start), copies,
                              solution_limit=None, metaheuristic=metaheuristic)
        if new is None:
            continue
        if _score(params, new) >= _score(params, old) - 1e-6:
            continue
        accepted += 1
        remapped = [_to_global(r, stops, data) for r in new]
        gone = set(chosen)
        routes = [r for k, r in enumerate(routes) if k not in gone] + remapped
        route_of = _route_of(routes, data.n_stops)
    log.info("neighbourhood search: %d of %d moves accepted", accepted, tries)
    return _renumber(routes, len(data.vehicle_types))


def _route_of(routes: list[Route], n: int) -> np.ndarray:
    """For each of the ``n`` stops, the index of the route serving it (-1: none)."""
    out = np.full(n, -1, dtype=np.int64)
    for k, r in enumerate(routes):
        for v in r.visits:
            if v.kind == "stop":
                out[v.index] = k
    return out


def neighbourhood(routes: list[Route], route_of: np.ndarray, order: list[int],
                  max_stops: int, max_routes: int, *, least: int = 1) -> list[int]:
    """The routes serving the stops of ``order`` (nearest first; ``route_of[t]`` is the
    route of stop ``t``, -1 when none), taken in turn until one more would exceed
    ``max_stops`` stops or ``max_routes`` routes; the first ``least`` routes (at most
    ``max_routes``) are taken whatever their size.

    :func:`improve` takes at least two: with long routes (the 44 stops a route of the
    Kim et al. 444-stop instance serves) a single route already fills ``max_stops``, and a
    neighbourhood of one route can reorder its stops but never move one to another
    vehicle.
    """
    chosen: list[int] = []
    size = 0
    for t in order:
        k = int(route_of[t])
        if k < 0 or k in chosen:
            continue
        m = sum(v.kind == "stop" for v in routes[k].visits)
        if len(chosen) >= min(least, max_routes) and (
                size + m > max_stops or len(chosen) >= max_routes):
            break
        chosen.append(k)
        size += m
    return chosen


def _to_global(r: Route, stops: np.ndarray, data: RoutingData) -> Route:
    """A sub-problem route with the original stop and location indices."""
    visits = []
    for v in r.visits:
        if v.kind == "stop":
            g = int(stops[v.index])
            visits.append(replace(v, index=g, location=int(data.stops[g])))
        elif v.kind == "unload":
            visits.append(replace(v, location=int(data.facilities[v.index])))
        else:
            visits.append(replace(v, location=int(data.depots[v.index])))
    return replace(r, visits=tuple(visits))


def _renumber(routes: list[Route], n_types: int) -> list[Route]:
    seen = [0] * n_types
    out = []
    for r in sorted(routes, key=lambda r: (r.vehicle_type, r.vehicle, r.visits[0].departure_s)):
        out.append(replace(r, vehicle=seen[r.vehicle_type]))
        seen[r.vehicle_type] += 1
    return out


def eliminate(data: RoutingData, params: RouteParams, routes: list[Route], deadline: float,
              *, finish_by: float | None = None, max_stops: int = 300, max_routes: int = 3,
              pool_take: int = 30, slice_s: float = 1.0, patience: int = 20,
              metaheuristic: str = "GUIDED_LOCAL_SEARCH") -> list[Route]:
    """Route elimination with an ejection pool; returns the routes (never more of them).

    Repeatedly take the route with the fewest stops out of the plan: its stops form the
    pool, and :func:`_empty_route` puts them back into the other routes, one
    neighbourhood at a time. When the pool empties the plan has one vehicle fewer and
    the next route is taken out; when it does not, the next smallest route is tried on
    the plan as it was. Stops at :func:`~wastenet.routing.solve.fleet_lower_bound`, when
    every route has been tried, or when less than a second is left before ``deadline``
    to start an attempt; an attempt under way may go on until ``finish_by`` (default
    ``deadline``) while its pool keeps shrinking. Vehicle numbers are renumbered per type
    at the end, as :func:`improve` does. Not applicable (the plan is returned as is) in
    the case :func:`applicable` excludes.
    """
    from wastenet.routing.solve import fleet_lower_bound

    if len(routes) < 2 or not applicable(data):
        return routes
    lb = max(fleet_lower_bound(data), 1)
    rng = np.random.default_rng([params.seed, 1])
    dur = data.duration_s[np.ix_(data.stops, data.stops)]
    near = dur + dur.T
    end = max(deadline, finish_by if finish_by is not None else deadline)
    routes = list(routes)
    tried: set[tuple[tuple[str, int], ...]] = set()
    while len(routes) > lb and deadline - time.perf_counter() >= 1.0:
        cand = smallest_untried(routes, tried)
        if cand is None:
            break
        new = _empty_route(data, params, routes, cand, end, near, rng, max_stops=max_stops,
                           max_routes=max_routes, pool_take=pool_take, slice_s=slice_s,
                           patience=patience, metaheuristic=metaheuristic)
        if new is None:
            log.info("route elimination (pool): %d -> %d vehicles failed", len(routes),
                     len(routes) - 1)
            continue
        log.info("route elimination (pool): %d -> %d vehicles", len(routes), len(new))
        routes = new
        tried.clear()
    return _renumber(routes, len(data.vehicle_types))


def smallest_untried(routes: list[Route],
                     tried: set[tuple[tuple[str, int], ...]]) -> int | None:
    """The index of the route with the fewest stops (then the first) whose visits are not
    in ``tried``, added to ``tried``; None when every route has been tried. The route
    elimination of :func:`eliminate` and :func:`wastenet.routing.solve._reduce_fleet`
    try routes in this order."""
    keys = [tuple((v.kind, v.index) for v in r.visits) for r in routes]
    order = sorted(range(len(routes)), key=lambda k: (
        sum(v.kind == "stop" for v in routes[k].visits), k))
    cand = next((k for k in order if keys[k] not in tried), None)
    if cand is not None:
        tried.add(keys[cand])
    return cand


def _empty_route(data: RoutingData, params: RouteParams, routes: list[Route], cand: int,
                 end: float, near: np.ndarray, rng: np.random.Generator, *,
                 max_stops: int, max_routes: int, pool_take: int, slice_s: float,
                 patience: int, metaheuristic: str) -> list[Route] | None:
    """The other routes with the stops of ``routes[cand]`` put into them, or None.

    One iteration: draw a pooled stop ``p`` (seeded RNG); take the routes serving the
    stops nearest to ``p`` (by travel time, until ``max_routes`` routes or ``max_stops``
    stops), the last of them replaced by the least filled route of the plan
    (:func:`_fill`) when that is not among them; solve the sub-problem of their stops and
    the ``pool_take`` pooled stops nearest to ``p`` (all depots and facilities, each
    type capped at the vehicles those routes use) from those routes, the pooled stops
    unperformed under their drop penalty, for ``slice_s``. The result is kept when every
    route decodes and it leaves fewer stops out than it took from the pool, or as many
    with a lower acceptance score (:func:`~wastenet.routing.solve._score`); the stops it
    leaves out (pooled ones, or stops it ejected from a route to make room) go to the
    pool.

    Gives up (None) after ``patience`` iterations in a row without a smaller pool, or
    when less than half a second is left before ``end``.
    """
    from wastenet.routing.solve import (
        _score,
        resolve_partial,
        restrict,
        unload_copies,
        used_counts,
    )

    copies = unload_copies(data, params)
    rest = [r for k, r in enumerate(routes) if k != cand]
    pool = {v.index for v in routes[cand].visits if v.kind == "stop"}
    route_of = _route_of(rest, data.n_stops)
    stall = it = 0
    size0 = len(pool)
    while pool:
        left = end - time.perf_counter()
        if left < 0.5 or stall >= patience:
            log.debug("pool: %d of %d stops left after %d iterations", len(pool), size0, it)
            return None
        it += 1
        p = sorted(pool)[int(rng.integers(len(pool)))]
        order = np.argsort(near[p], kind="stable").tolist()
        chosen = neighbourhood(rest, route_of, order, max_stops, max_routes)
        if len(rest) > len(chosen):  # room to spare, wherever it is
            free = min((k for k in range(len(rest)) if k not in chosen),
                       key=lambda k: (_fill(data, rest[k]), k))
            if len(chosen) >= max_routes:
                chosen[-1] = free
            else:
                chosen.append(free)
        pend = [int(t) for t in order if int(t) in pool][:pool_take]
        stops = np.array(sorted([v.index for k in chosen for v in rest[k].visits
                                 if v.kind == "stop"] + pend), dtype=np.int64)
        local = {int(g): i for i, g in enumerate(stops.tolist())}
        old = [rest[k] for k in chosen]
        sub, _ = restrict(data, stops, counts=used_counts(data, old), name=f"{data.name}#pool")
        start = tuple((r.vehicle_type, tuple(
            (v.kind, local[v.index] if v.kind == "stop" else v.index)
            for v in r.visits[1:-1])) for r in old)
        new, dropped = resolve_partial(sub, params, min(slice_s, left), start, copies,
                                       solution_limit=None, metaheuristic=metaheuristic)
        out = {int(stops[d]) for d in dropped}
        fewer = len(out) < len(pend)
        if new is None or not (fewer or (len(out) == len(pend) and _score(
                params, new) < _score(params, old) - 1e-6)):
            stall += 1
            continue
        stall = 0 if fewer else stall + 1
        gone = set(chosen)
        rest = [r for k, r in enumerate(rest) if k not in gone] + [
            _to_global(r, stops, data) for r in new]
        pool = (pool - set(pend)) | out
        route_of = _route_of(rest, data.n_stops)
        log.debug("pool: %d stops left (%d in, %d out)", len(pool), len(pend), len(out))
    return rest


def _fill(data: RoutingData, r: Route) -> float:
    """How full route ``r`` is: the largest share of its vehicle's daily limits it uses
    (duration within the working day, daily load, stops)."""
    vt = data.vehicle_types[r.vehicle_type]
    day = min(vt.max_shift_s, vt.shift_end_s - vt.shift_start_s,
              float(data.depot_close_s[vt.depot] - data.depot_open_s[vt.depot]))
    out = r.duration_s / day if day > 0 else 0.0
    if vt.route_capacity is not None:
        for q, c in zip(r.load_total, vt.route_capacity, strict=True):
            if c > 0:
                out = max(out, q / c)
    if vt.max_stops:
        out = max(out, sum(v.kind == "stop" for v in r.visits) / vt.max_stops)
    return out
