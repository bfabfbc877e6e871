"""Large-neighbourhood improvement of a plan: ruin and recreate around a seed stop.

OR-Tools' guided local search stagnates on full plans: on CVRPLIB X-n101 it reaches its
final cost within 20 s of a 60 s budget. This module perturbs the incumbent in a
neighbourhood and lets OR-Tools repair and improve only that neighbourhood, in the manner
of ruin-and-recreate / POPMUSIC decompositions. One iteration:

1. draw a seed stop ``s`` (seeded RNG);
2. the neighbourhood ``R``: the routes serving ``s`` and its nearest stops (by travel
   time), taken in order of distance until ``max_stops`` stops or ``max_routes`` routes;
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
    n = data.n_stops
    route_of = np.full(n, -1, dtype=np.int64)
    dur = data.duration_s[np.ix_(data.stops, data.stops)]
    copies = unload_copies(data, params)
    routes = list(routes)

    def index() -> None:
        route_of[:] = -1
        for k, r in enumerate(routes):
            for v in r.visits:
                if v.kind == "stop":
                    route_of[v.index] = k

    index()
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
        chosen: list[int] = []
        size = 0
        for t in order.tolist():
            k = int(route_of[t])
            if k < 0 or k in chosen:
                continue
            m = sum(v.kind == "stop" for v in routes[k].visits)
            if chosen and (size + m > max_stops or len(chosen) >= max_routes):
                break
            chosen.append(k)
            size += m
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
        index()
    log.info("neighbourhood search: %d of %d moves accepted", accepted, tries)
    return _renumber(routes, len(data.vehicle_types))


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
