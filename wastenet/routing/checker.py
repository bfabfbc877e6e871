"""Independent route-plan checker: ``check(data, plan) -> CheckReport``.

It shares nothing with the solver but the data contract. It re-simulates every route
from the matrices and verifies each rule of :mod:`wastenet.routing.data`:

* structure: a route starts and ends at its type's depot, kinds, indices and locations
  agree, each vehicle is used once and exists;
* every stop is visited exactly once (``unserved`` stops are violations too), by an
  allowed vehicle type;
* times: ``departure = start + service``; ``arrival_j ≥ departure_i + t_ij/speed``
  (plus the break when it is taken in that gap); ``start ≥ arrival``; stop and facility
  windows; leave ≥ ``max(shift_start, depot_open)``; return ≤ ``min(shift_end,
  depot_close)``; return − leave ≤ ``max_shift``;
* break: when on the route it starts in ``[earliest, latest]`` inside one gap between
  visits, never during service, and the gap holds travel plus break; when absent the
  route must leave at or after ``earliest + duration`` or return by ``latest``;
* loads: per dimension never above capacity between unloads, reported ``load_after``
  equal to the simulation, empty on return; route caps ``route_capacity`` and
  ``max_stops``; every trip carries only stops assigned to the facility it ends at (or
  unassigned stops), and a trip that carries a load ends at an unload (its assigned
  facility when it holds an assigned stop); a trip that collected nothing may return
  without unloading (see :mod:`wastenet.routing.data`); daily tonnes per facility within
  ``facility_capacity``;
* totals: each route's and the plan's distance, travel, duration, tonne-km, cost and
  vehicle count equal the recomputed ones.

Cost of a route (the reported ``cost_yuan``): ``fixed_cost_yuan + cost_yuan_per_km·km +
cost_yuan_per_h·duration_h``, the duration running from leaving to returning (waits,
service, unloads and an on-route break included). This is not what the OR-Tools search
minimises (it charges hours on travel time only, see :mod:`wastenet.routing.solve`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from wastenet.routing.data import Route, RoutePlan, RoutingData
from wastenet.routing.text import amounts, num

TOL_S = 1e-3
TOL_LOAD = 1e-6


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    violations: list[str] = field(default_factory=list)
    distance_m: float = 0.0
    travel_s: float = 0.0
    duration_s: float = 0.0
    tonne_km: float = 0.0
    cost_yuan: float = 0.0
    vehicles: int = 0


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-3)


def check(data: RoutingData, plan: RoutePlan) -> CheckReport:
    """Verify ``plan`` against ``data``; see the module docstring for the rules."""
    out: list[str] = []
    n = data.n_stops
    seen = np.zeros(n, dtype=np.int64)
    fac_t = np.zeros(len(data.facilities))
    tot = {"distance_m": 0.0, "travel_s": 0.0, "duration_s": 0.0, "tonne_km": 0.0,
           "cost_yuan": 0.0}
    used: set[tuple[int, int]] = set()
    for r in plan.routes:
        if not 0 <= r.vehicle_type < len(data.vehicle_types):
            out.append(f"route vehicle_type={r.vehicle_type}: unknown vehicle type")
            continue
        vt = data.vehicle_types[r.vehicle_type]
        tag = f"vehicle {vt.name}#{r.vehicle}"
        if not 0 <= r.vehicle < vt.count:
            out.append(f"{tag}: only {vt.count} vehicles of this type exist")
        if (r.vehicle_type, r.vehicle) in used:
            out.append(f"{tag}: vehicle used by more than one route")
        used.add((r.vehicle_type, r.vehicle))
        totals = _check_route(data, r, tag, out, seen, fac_t)
        if totals is None:
            continue
        for k, val in totals.items():
            tot[k] += val
            if not _close(getattr(r, k), val):
                out.append(f"{tag}: reported {k}={num(getattr(r, k), 6)}, recomputed "
                           f"{num(val, 6)}")
    for s in np.flatnonzero(seen == 0):
        out.append(f"stop {_sid(data, int(s))}: not visited (every stop exactly once)")
    for s in np.flatnonzero(seen > 1):
        out.append(f"stop {_sid(data, int(s))}: visited {int(seen[s])} times")
    for f in np.flatnonzero(fac_t > data.facility_capacity + TOL_LOAD):
        out.append(f"facility {data.ids[data.facilities[f]]}: receives {num(fac_t[f], 6)} "
                   f"{data.load_dims[0]}, daily capacity {num(data.facility_capacity[f], 6)}")
    for k, val in tot.items():
        if not _close(getattr(plan, k), val):
            out.append(f"plan: reported {k}={num(getattr(plan, k), 6)}, recomputed "
                       f"{num(val, 6)}")
    if plan.vehicles != len(plan.routes):
        out.append(f"plan: reported vehicles={plan.vehicles}, routes {len(plan.routes)}")
    return CheckReport(ok=not out, violations=out, vehicles=len(plan.routes), **tot)


def _sid(data: RoutingData, s: int) -> str:
    return data.ids[int(data.stops[s])] if 0 <= s < data.n_stops else str(s)


def _check_route(data: RoutingData, r: Route, tag: str, out: list[str],
                 seen: np.ndarray, fac_t: np.ndarray) -> dict[str, float] | None:
    vt = data.vehicle_types[r.vehicle_type]
    vs = r.visits
    D = len(data.load_dims)
    dims = data.load_dims
    if len(vs) < 2 or vs[0].kind != "depot" or vs[-1].kind != "depot":
        out.append(f"{tag}: a route must start and end at its depot")
        return None
    locs: list[int] = []
    svc: list[float] = []
    for i, v in enumerate(vs):
        if v.kind == "depot":
            if i not in (0, len(vs) - 1) or v.index != vt.depot:
                out.append(f"{tag} visit {i}: depot {v.index} is not this vehicle's depot "
                           f"{vt.depot} at the ends")
                return None
            locs.append(int(data.depots[v.index]))
            svc.append(0.0)
        elif v.kind == "stop" and 0 <= v.index < data.n_stops:
            locs.append(int(data.stops[v.index]))
            svc.append(float(data.stop_service_s[v.index]))
        elif v.kind == "unload" and 0 <= v.index < len(data.facilities):
            locs.append(int(data.facilities[v.index]))
            svc.append(float(data.facility_unload_s[v.index]))
        else:
            out.append(f"{tag} visit {i}: unknown {v.kind} index {v.index}")
            return None
        if v.location != locs[-1]:
            out.append(f"{tag} visit {i}: location {v.location} is not that of "
                       f"{v.kind} {v.index} ({locs[-1]})")
    sp = vt.speed_factor
    bd = vt.break_duration_s
    b = r.break_start_s
    leave, ret = vs[0].departure_s, vs[-1].arrival_s
    # --- times ---------------------------------------------------------------------------
    break_gap = None
    if b is not None:
        if bd <= 0:
            out.append(f"{tag}: break at {num(b)} s but the vehicle type has no break")
        elif not (vt.break_earliest_s - TOL_S <= b <= vt.break_latest_s + TOL_S):
            out.append(f"{tag}: break starts at {b:.0f} s outside its window "
                       f"[{vt.break_earliest_s:.0f}, {vt.break_latest_s:.0f}]")
        for i in range(len(vs) - 1):
            if vs[i].departure_s - TOL_S <= b and b + bd <= vs[i + 1].start_s + TOL_S:
                break_gap = i
        if break_gap is None:
            out.append(f"{tag}: break at {b:.0f} s overlaps a service or lies outside the route")
    elif bd > 0 and leave < vt.break_earliest_s + bd - TOL_S and ret > vt.break_latest_s + TOL_S:
        out.append(f"{tag}: route under way from {leave:.0f} to {ret:.0f} s but no break "
                   f"starting in [{vt.break_earliest_s:.0f}, {vt.break_latest_s:.0f}]")
    dist = travel = tkm = 0.0
    for i, v in enumerate(vs):
        where = f"{tag} visit {i} ({v.kind} {v.index})"
        if i < len(vs) - 1 and not math.isclose(v.departure_s, v.start_s + svc[i],
                                                abs_tol=TOL_S):
            out.append(f"{where}: departure {num(v.departure_s)} != start "
                       f"{num(v.start_s)} + service {num(svc[i])}")
        if v.start_s < v.arrival_s - TOL_S:
            out.append(f"{where}: service starts at {num(v.start_s)} before arrival "
                       f"{num(v.arrival_s)}")
        if i == 0:
            continue
        d = float(data.distance_m[locs[i - 1], locs[i]])
        tr = float(data.duration_s[locs[i - 1], locs[i]]) / sp
        dist += d
        travel += tr
        need = vs[i - 1].departure_s + tr
        if v.arrival_s < need - TOL_S:
            out.append(f"{where}: arrival {v.arrival_s:.1f} s earlier than departure "
                       f"{vs[i - 1].departure_s:.1f} + travel {tr:.1f}")
        if break_gap == i - 1 and b is not None and v.start_s < need + bd - TOL_S:
            out.append(f"{where}: no room for travel and the break before service")
        if v.kind == "stop":
            s = v.index
            if not (data.stop_open_s[s] - TOL_S <= v.start_s <= data.stop_close_s[s] + TOL_S):
                out.append(f"{where}: time window [{data.stop_open_s[s]:.0f}, "
                           f"{data.stop_close_s[s]:.0f}] violated, service starts at "
                           f"{v.start_s:.0f}")
        elif v.kind == "unload":
            f = v.index
            if not (data.facility_open_s[f] - TOL_S <= v.start_s
                    <= data.facility_close_s[f] + TOL_S):
                out.append(f"{where}: facility hours [{data.facility_open_s[f]:.0f}, "
                           f"{data.facility_close_s[f]:.0f}] violated at {v.start_s:.0f}")
    dep = vt.depot
    if leave < max(vt.shift_start_s, data.depot_open_s[dep]) - TOL_S:
        out.append(f"{tag}: leaves at {leave:.0f} s before the shift or depot opening")
    if ret > min(vt.shift_end_s, data.depot_close_s[dep]) + TOL_S:
        out.append(f"{tag}: returns at {ret:.0f} s after the shift end or depot closing")
    if ret - leave > vt.max_shift_s + TOL_S:
        out.append(f"{tag}: shift of {ret - leave:.0f} s exceeds max_shift {vt.max_shift_s:.0f}")
    # --- loads ---------------------------------------------------------------------------
    load = np.zeros(D)
    total = np.zeros(D)
    trip: list[int] = []
    n_stops = 0
    for i, v in enumerate(vs):
        where = f"{tag} visit {i} ({v.kind} {v.index})"
        if i > 0 and D:
            tkm += float(load[0]) * float(data.distance_m[locs[i - 1], locs[i]]) / 1000.0
        if v.kind == "stop":
            s = v.index
            seen[s] += 1
            n_stops += 1
            allowed = data.stop_allowed[s]
            if allowed is not None and r.vehicle_type not in allowed:
                out.append(f"{where}: vehicle type {vt.name} not allowed at stop "
                           f"{_sid(data, s)} (access restriction)")
            load = load + data.stop_demand[s]
            total = total + data.stop_demand[s]
            trip.append(s)
            over = load > np.asarray(vt.capacity) + TOL_LOAD
            if np.any(over):
                out.append(f"{where}: load {amounts(load, dims)} above capacity "
                           f"{amounts(vt.capacity, dims)}")
        elif v.kind == "unload":
            f = v.index
            for s in trip:
                if data.stop_facility[s] >= 0 and data.stop_facility[s] != f:
                    out.append(f"{where}: stop {_sid(data, s)} is assigned to facility "
                               f"{int(data.stop_facility[s])}, unloaded at {f}")
            if D:
                fac_t[f] += float(load[0])
            load = np.zeros(D)
            trip = []
        if len(v.load_after) != D or not np.allclose(v.load_after, load, atol=1e-6,
                                                     rtol=1e-9):
            out.append(f"{where}: reported load_after {amounts(v.load_after, dims, 6)}, "
                       f"recomputed {amounts(load, dims, 6)}")
    if np.any(load > TOL_LOAD):
        out.append(f"{tag}: returns to the depot carrying {amounts(load, dims)} (must unload "
                   "first)")
        for s in trip:  # a trip that carries something ends at its assigned facility
            if data.stop_facility[s] >= 0:
                out.append(f"{tag}: stop {_sid(data, s)} is assigned to facility "
                           f"{int(data.stop_facility[s])}, but its trip returns to the depot "
                           "without unloading there")
    if vt.route_capacity is not None and np.any(total > np.asarray(vt.route_capacity)
                                                  + TOL_LOAD):
        out.append(f"{tag}: collects {amounts(total, dims)} in the day, route capacity "
                   f"{amounts(vt.route_capacity, dims)}")
    if vt.max_stops is not None and n_stops > vt.max_stops:
        out.append(f"{tag}: {n_stops} stops, max_stops {vt.max_stops}")
    if not np.allclose(r.load_total, total, atol=1e-6):
        out.append(f"{tag}: reported load_total {amounts(r.load_total, dims, 6)}, "
                   f"recomputed {amounts(total, dims, 6)}")
    duration = ret - leave
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000.0
            + vt.cost_yuan_per_h * duration / 3600.0)
    return {"distance_m": dist, "travel_s": travel, "duration_s": duration,
            "tonne_km": tkm, "cost_yuan": cost}
