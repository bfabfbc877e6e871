"""Tiny hand-checkable routing instances and a plain plan builder for the tests.

Locations live on a plane, in metres; travel at 10 m/s (so 1 km = 100 s).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from wastenet.routing.data import Route, RoutePlan, RoutingData, VehicleType, Visit

SPEED = 10.0


def make_data(
    depot: tuple[float, float],
    stops: list[dict],
    facilities: list[dict],
    vehicle_types: list[VehicleType],
    *,
    depot_window: tuple[float, float] = (0.0, 86_400.0),
    load_dims: tuple[str, ...] = ("t",),
) -> RoutingData:
    """Build a RoutingData. A stop dict holds ``xy``, ``q`` (load, scalar or tuple) and
    optionally ``service``, ``window``, ``allowed``, ``facility``, ``id``; a facility dict
    ``xy`` and optionally ``unload``, ``window``, ``cap``, ``id``."""
    pts = [depot] + [s["xy"] for s in stops] + [f["xy"] for f in facilities]
    xy = np.asarray(pts, dtype=float)
    dist = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)  # Manhattan
    n, nf = len(stops), len(facilities)
    ids = ("D", *tuple(s.get("id", f"S{i}") for i, s in enumerate(stops)), *tuple(f.get("id", f"F{i}") for i, f in enumerate(facilities)))
    D = len(load_dims)
    dem = np.array([np.broadcast_to(np.asarray(s["q"], float), (D,)) for s in stops]
                   ).reshape(n, D)
    return RoutingData(
        ids=ids, names=tuple("名" + i for i in ids),
        lon=np.full(len(ids), np.nan), lat=np.full(len(ids), np.nan),
        distance_m=dist, duration_s=dist / SPEED, load_dims=load_dims,
        depots=np.array([0]), depot_open_s=np.array([depot_window[0]]),
        depot_close_s=np.array([depot_window[1]]),
        stops=np.arange(1, n + 1), stop_demand=dem,
        stop_service_s=np.array([s.get("service", 0.0) for s in stops], float),
        stop_open_s=np.array([s.get("window", (0.0, 86_400.0))[0] for s in stops], float),
        stop_close_s=np.array([s.get("window", (0.0, 86_400.0))[1] for s in stops], float),
        stop_allowed=tuple(s.get("allowed") for s in stops),
        stop_facility=np.array([s.get("facility", -1) for s in stops], dtype=np.int64),
        facilities=np.arange(n + 1, n + 1 + nf),
        facility_unload_s=np.array([f.get("unload", 0.0) for f in facilities], float),
        facility_open_s=np.array([f.get("window", (0.0, 86_400.0))[0] for f in facilities],
                                 float),
        facility_close_s=np.array([f.get("window", (0.0, 86_400.0))[1] for f in facilities],
                                  float),
        facility_capacity=np.array([f.get("cap", np.inf) for f in facilities], float),
        vehicle_types=tuple(vehicle_types),
        x=xy[:, 0], y=xy[:, 1], name="tiny")


def truck(**kw: object) -> VehicleType:
    base = dict(name="truck", count=1, depot=0, capacity=(10.0,))
    base.update(kw)
    return VehicleType(**base)  # type: ignore[arg-type]


def build_route(data: RoutingData, vtype: int, vehicle: int, seq: list[tuple[str, int]],
                leave: float, break_after: int | None = None) -> Route:
    """A route over ``seq`` (kinds and indices, depots included) with earliest times from
    ``leave``; the break is taken right after leaving visit ``break_after``."""
    vt = data.vehicle_types[vtype]
    locs = []
    for kind, idx in seq:
        arr = {"depot": data.depots, "stop": data.stops, "unload": data.facilities}[kind]
        locs.append(int(arr[idx]))
    D = len(data.load_dims)
    load = np.zeros(D)
    total = np.zeros(D)
    visits = []
    t = leave
    dist = travel = tkm = 0.0
    brk = None
    for i, (kind, idx) in enumerate(seq):
        if i == 0:
            arr_t = start = t
        else:
            tr = data.duration_s[locs[i - 1], locs[i]] / vt.speed_factor
            d = data.distance_m[locs[i - 1], locs[i]]
            dist += d
            travel += tr
            tkm += load[0] * d / 1000.0
            if break_after == i - 1:
                brk = max(t, vt.break_earliest_s)
                t = brk + vt.break_duration_s
            arr_t = t + tr
            opn = {"stop": data.stop_open_s, "unload": data.facility_open_s}.get(kind)
            start = max(arr_t, opn[idx]) if opn is not None else arr_t
        svc = (data.stop_service_s[idx] if kind == "stop" else
               data.facility_unload_s[idx] if kind == "unload" else 0.0)
        if kind == "stop":
            load = load + data.stop_demand[idx]
            total = total + data.stop_demand[idx]
        elif kind == "unload":
            load = np.zeros(D)
        t = start + svc
        visits.append(Visit(kind, idx, locs[i], float(arr_t), float(start), float(t),
                            tuple(float(x) for x in load)))
    duration = visits[-1].arrival_s - visits[0].departure_s
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000
            + vt.cost_yuan_per_h * duration / 3600)
    return Route(vtype, vehicle, tuple(visits), brk, float(dist), float(duration),
                 float(travel), tuple(float(x) for x in total), float(tkm), float(cost))


def make_plan(routes: list[Route]) -> RoutePlan:
    return RoutePlan(
        routes=tuple(routes), unserved=(), vehicles=len(routes),
        distance_m=sum(r.distance_m for r in routes), travel_s=sum(r.travel_s for r in routes),
        duration_s=sum(r.duration_s for r in routes), tonne_km=sum(r.tonne_km for r in routes),
        cost_yuan=sum(r.cost_yuan for r in routes), status="HAND", solver="hand", seed=0,
        elapsed_s=0.0)


def with_route(plan: RoutePlan, i: int, route: Route) -> RoutePlan:
    routes = list(plan.routes)
    routes[i] = route
    return make_plan(routes)


__all__ = ["build_route", "make_data", "make_plan", "replace", "truck", "with_route"]


def checked(data: RoutingData, params: object) -> RoutePlan:
    """The plan of :func:`wastenet.routing.solve.solve`, asserted to pass the independent
    checker and to serve every stop (``params``: a ``RouteParams``)."""
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    assert isinstance(params, RouteParams)
    plan = solve(data, params)
    rep = check(data, plan)
    assert rep.ok, rep.violations
    assert not plan.unserved
    return plan
