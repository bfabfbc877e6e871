"""Independent route-plan checker: ``check(data, plan) -> CheckReport``.

It shares nothing with the solver but the data contract. It re-simulates every route
from the matrices and verifies each rule of :mod:`wastenet.routing.data`:

* structure: a route starts and ends at its type's depot, kinds, indices and locations
  agree, each vehicle is used once and exists; vehicle types, vehicle numbers and visit
  indices are integers, every time, load, total and cost a finite number, ``load_after``
  and ``load_total`` hold exactly one entry per load dimension. A malformed plan gives a
  report, never an exception: a route that is not well formed is reported and its
  detailed checks are skipped (and so are the plan totals);
* every stop is visited exactly once (``unserved`` stops are violations too), by an
  allowed vehicle type; ``unserved`` lists exactly the stops not visited;
* times: ``departure = start + service``; ``arrival_j ≥ departure_i + t_ij/speed``
  (plus the break when it is taken in that gap); ``start ≥ arrival``; stop and facility
  windows; leave ≥ ``max(shift_start, depot_open)``; return ≤ ``min(shift_end,
  depot_close)``; return − leave ≤ ``max_shift``; the return is the final depot visit's
  arrival, and that visit's start and departure equal it;
* break: when on the route it starts in ``[earliest, latest]`` inside one gap between
  visits, never during service, and the gap holds travel plus break (the last gap ends
  on arriving at the depot: a break after the return is not on the route); when absent
  the route must leave at or after ``earliest + duration`` or return by ``latest``;
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
service, unloads and an on-route break included). The OR-Tools search charges the same
hours on each route's span, without the break that is placed after it (see
:mod:`wastenet.routing.solve`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from wastenet.bounds import is_finite_real, is_integral
from wastenet.routing.data import Route, RoutePlan, RoutingData, Visit
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


def _show(x: object) -> str:
    """A reported value in a message: plain numbers, ``repr`` for anything else."""
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral):
        v = float(x)
        return repr(v) if not math.isfinite(v) or v.is_integer() else num(v, 6)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, (tuple, list)) and all(isinstance(e, numbers.Real) for e in x):
        return "(" + ", ".join(_show(e) for e in x) + ")"
    return repr(x)


def _vector(x: object, d: int) -> np.ndarray | None:
    """``x`` as ``d`` finite floats, or None when it is not exactly that."""
    if isinstance(x, (str, bytes)):
        return None
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.shape != (d,) or not np.all(np.isfinite(arr)):
        return None
    return arr


def _compare_load(out: list[str], where: str, name: str, reported: object,
                  recomputed: np.ndarray, dims: tuple[str, ...]) -> None:
    """Report ``name`` when it is not one finite number per load dimension, or differs
    from the recomputed load (tolerance ``TOL_LOAD``)."""
    got = _vector(reported, len(dims))
    if got is None:
        out.append(f"{where}: reported {name} {_show(reported)} is not {len(dims)} finite "
                   f"number(s), recomputed {amounts(recomputed, dims, 6)}")
    elif not np.allclose(got, recomputed, atol=TOL_LOAD, rtol=1e-9):
        out.append(f"{where}: reported {name} {amounts(got, dims, 6)}, "
                   f"recomputed {amounts(recomputed, dims, 6)}")


def check(data: RoutingData, plan: RoutePlan) -> CheckReport:
    """Verify ``plan`` against ``data``; see the module docstring for the rules."""
    out: list[str] = []
    n = data.n_stops
    seen = np.zeros(n, dtype=np.int64)
    fac_t = np.zeros(len(data.facilities))
    tot = {"distance_m": 0.0, "travel_s": 0.0, "duration_s": 0.0, "tonne_km": 0.0,
           "cost_yuan": 0.0}
    used: set[tuple[int, int]] = set()
    complete = True  # every route re-simulated: the plan totals can be compared
    routes = plan.routes
    if not isinstance(routes, (tuple, list)):
        out.append(f"plan: routes {_show(routes)} is not a sequence of routes")
        routes, complete = (), False
    for k, r in enumerate(routes):
        if not isinstance(r, Route):
            out.append(f"route {k}: {_show(r)} is not a Route")
            complete = False
            continue
        tag, identified = _identify(data, r, k, out, used)
        if not _well_formed(data, r, tag, out, seen) or not identified:
            complete = False  # reported; its detailed checks are skipped
            continue
        totals = _check_route(data, r, tag, out, fac_t)
        if totals is None:
            complete = False
            continue
        for key, val in totals.items():
            tot[key] += val
            reported = getattr(r, key)
            if not is_finite_real(reported):
                out.append(f"{tag}: reported {key}={_show(reported)} is not a finite number")
            elif not _close(reported, val):
                out.append(f"{tag}: reported {key}={num(reported, 6)}, recomputed "
                           f"{num(val, 6)}")
    for s in np.flatnonzero(seen == 0):
        out.append(f"stop {_sid(data, int(s))}: not visited (every stop exactly once)")
    _check_unserved(data, plan, seen, out)
    for s in np.flatnonzero(seen > 1):
        out.append(f"stop {_sid(data, int(s))}: visited {int(seen[s])} times")
    for f in np.flatnonzero(fac_t > data.facility_capacity + TOL_LOAD):
        out.append(f"facility {data.ids[data.facilities[f]]}: receives {num(fac_t[f], 6)} "
                   f"{data.load_dims[0]}, daily capacity {num(data.facility_capacity[f], 6)}")
    for key, val in tot.items():
        reported = getattr(plan, key)
        if not is_finite_real(reported):
            out.append(f"plan: reported {key}={_show(reported)} is not a finite number")
        elif complete and not _close(reported, val):
            out.append(f"plan: reported {key}={num(reported, 6)}, recomputed "
                       f"{num(val, 6)}")
    if not is_integral(plan.vehicles) or plan.vehicles != len(routes):
        out.append(f"plan: reported vehicles={_show(plan.vehicles)}, routes {len(routes)}")
    return CheckReport(ok=not out, violations=out, vehicles=len(routes), **tot)


def _identify(data: RoutingData, r: Route, k: int, out: list[str],
              used: set[tuple[int, int]]) -> tuple[str, bool]:
    """The route's tag for messages, and whether its vehicle type and number are valid
    integers (the number may still be out of range or reused: reported here)."""
    t, number = r.vehicle_type, r.vehicle
    nt = len(data.vehicle_types)
    if not is_integral(t) or not 0 <= t < nt:
        out.append(f"route {k}: vehicle_type={_show(t)} is not a vehicle type index "
                   f"in [0, {nt})")
        return f"route {k}", False
    vt = data.vehicle_types[int(t)]
    if not is_integral(number):
        out.append(f"route {k} ({vt.name}): vehicle={_show(number)} is not an integer "
                   "vehicle number")
        return f"route {k} ({vt.name})", False
    tag = f"vehicle {vt.name}#{int(number)}"
    if not 0 <= number < vt.count:
        out.append(f"{tag}: only {vt.count} vehicles of this type exist")
    if (int(t), int(number)) in used:
        out.append(f"{tag}: vehicle used by more than one route")
    used.add((int(t), int(number)))
    return tag, True


def _well_formed(data: RoutingData, r: Route, tag: str, out: list[str],
                 seen: np.ndarray) -> bool:
    """Structural checks of one route (visits, kinds, indices, finite times); counts the
    stops it visits in ``seen``. Reports every problem found; True when there is none."""
    vs = r.visits
    if not isinstance(vs, (tuple, list)):
        out.append(f"{tag}: visits {_show(vs)} is not a sequence of visits")
        return False
    ok = True
    b = r.break_start_s
    if b is not None and not is_finite_real(b):
        out.append(f"{tag}: break_start_s={_show(b)} is not a finite number")
        ok = False
    size = {"depot": len(data.depots), "stop": data.n_stops,
            "unload": len(data.facilities)}
    for i, v in enumerate(vs):
        where = f"{tag} visit {i}"
        if not isinstance(v, Visit):
            out.append(f"{where}: {_show(v)} is not a Visit")
            ok = False
            continue
        kind, idx = v.kind, v.index
        if not isinstance(kind, str) or kind not in size:
            out.append(f"{where}: unknown kind {_show(kind)}")
            ok = False
        elif not is_integral(idx) or not 0 <= idx < size[kind]:
            out.append(f"{where}: {kind} index {_show(idx)} is not an integer in "
                       f"[0, {size[kind]})")
            ok = False
        elif kind == "stop":
            seen[int(idx)] += 1
        for name in ("arrival_s", "start_s", "departure_s"):
            x = getattr(v, name)
            if not is_finite_real(x):
                out.append(f"{where}: {name}={_show(x)} is not a finite number")
                ok = False
    return ok


def _check_unserved(data: RoutingData, plan: RoutePlan, seen: np.ndarray,
                    out: list[str]) -> None:
    """``plan.unserved`` must list exactly the stops that no route visits."""
    uns = plan.unserved
    if isinstance(uns, np.ndarray):
        uns = tuple(uns.tolist())
    if not isinstance(uns, (tuple, list)):
        out.append(f"plan: unserved {_show(uns)} is not a sequence of stop indices")
        return
    listed: set[int] = set()
    for s in uns:
        if not is_integral(s) or not 0 <= s < data.n_stops:
            out.append(f"plan: unserved entry {_show(s)} is not a stop index in "
                       f"[0, {data.n_stops})")
        else:
            listed.add(int(s))
    for s in sorted(listed):
        if seen[s] > 0:
            out.append(f"plan: stop {_sid(data, s)} is listed as unserved but visited")
    for s in np.flatnonzero(seen == 0).tolist():
        if s not in listed:
            out.append(f"plan: stop {_sid(data, s)} is not visited but not listed in "
                       "unserved")


def _sid(data: RoutingData, s: int) -> str:
    return data.ids[int(data.stops[s])] if 0 <= s < data.n_stops else str(s)


def _check_route(data: RoutingData, r: Route, tag: str, out: list[str],
                 fac_t: np.ndarray) -> dict[str, float] | None:
    """Detailed checks of a well-formed route (see :func:`_well_formed`)."""
    vt = data.vehicle_types[int(r.vehicle_type)]
    vs = r.visits
    D = len(data.load_dims)
    dims = data.load_dims
    if len(vs) < 2 or vs[0].kind != "depot" or vs[-1].kind != "depot":
        out.append(f"{tag}: a route must start and end at its depot")
        return None
    idx = [int(v.index) for v in vs]  # integers in range (checked by _well_formed)
    locs: list[int] = []
    svc: list[float] = []
    for i, v in enumerate(vs):
        if v.kind == "depot":
            if i not in (0, len(vs) - 1) or idx[i] != vt.depot:
                out.append(f"{tag} visit {i}: depot {idx[i]} is not this vehicle's depot "
                           f"{vt.depot} at the ends")
                return None
            locs.append(int(data.depots[idx[i]]))
            svc.append(0.0)
        elif v.kind == "stop":
            locs.append(int(data.stops[idx[i]]))
            svc.append(float(data.stop_service_s[idx[i]]))
        else:
            locs.append(int(data.facilities[idx[i]]))
            svc.append(float(data.facility_unload_s[idx[i]]))
        if v.location != locs[-1]:
            out.append(f"{tag} visit {i}: location {v.location} is not that of "
                       f"{v.kind} {v.index} ({locs[-1]})")
    sp = vt.speed_factor
    bd = vt.break_duration_s
    b = r.break_start_s
    last = len(vs) - 1
    leave, ret = vs[0].departure_s, vs[-1].arrival_s
    # the route ends on arriving at the depot: a later start or departure there is no time
    # on the route (a break "taken" then would dodge the shift end and the cost)
    if not (math.isclose(vs[-1].start_s, ret, abs_tol=TOL_S)
            and math.isclose(vs[-1].departure_s, ret, abs_tol=TOL_S)):
        out.append(f"{tag} visit {last} (depot {idx[last]}): start {num(vs[-1].start_s)} and "
                   f"departure {num(vs[-1].departure_s)} must equal the return "
                   f"(arrival) {num(ret)}")

    def gap_end(j: int) -> float:
        """When the gap before visit ``j`` ends: its service start, or the return."""
        return vs[j].arrival_s if j == last else vs[j].start_s

    # --- times ---------------------------------------------------------------------------
    break_gap = None
    if b is not None:
        if bd <= 0:
            out.append(f"{tag}: break at {num(b)} s but the vehicle type has no break")
        elif not (vt.break_earliest_s - TOL_S <= b <= vt.break_latest_s + TOL_S):
            out.append(f"{tag}: break starts at {b:.0f} s outside its window "
                       f"[{vt.break_earliest_s:.0f}, {vt.break_latest_s:.0f}]")
        for i in range(len(vs) - 1):
            if vs[i].departure_s - TOL_S <= b and b + bd <= gap_end(i + 1) + TOL_S:
                break_gap = i
        if break_gap is None:
            out.append(f"{tag}: break at {b:.0f} s overlaps a service or lies outside the route")
    elif bd > 0 and leave < vt.break_earliest_s + bd - TOL_S and ret > vt.break_latest_s + TOL_S:
        out.append(f"{tag}: route under way from {leave:.0f} to {ret:.0f} s but no break "
                   f"starting in [{vt.break_earliest_s:.0f}, {vt.break_latest_s:.0f}]")
    dist = travel = tkm = 0.0
    for i, v in enumerate(vs):
        where = f"{tag} visit {i} ({v.kind} {idx[i]})"
        if i < last and not math.isclose(v.departure_s, v.start_s + svc[i],
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
        if break_gap == i - 1 and b is not None and gap_end(i) < need + bd - TOL_S:
            out.append(f"{where}: no room for travel and the break before service")
        if v.kind == "stop":
            s = idx[i]
            if not (data.stop_open_s[s] - TOL_S <= v.start_s <= data.stop_close_s[s] + TOL_S):
                out.append(f"{where}: time window [{data.stop_open_s[s]:.0f}, "
                           f"{data.stop_close_s[s]:.0f}] violated, service starts at "
                           f"{v.start_s:.0f}")
        elif v.kind == "unload":
            f = idx[i]
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
        where = f"{tag} visit {i} ({v.kind} {idx[i]})"
        if i > 0 and D:
            tkm += float(load[0]) * float(data.distance_m[locs[i - 1], locs[i]]) / 1000.0
        if v.kind == "stop":
            s = idx[i]
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
            f = idx[i]
            for s in trip:
                if data.stop_facility[s] >= 0 and data.stop_facility[s] != f:
                    out.append(f"{where}: stop {_sid(data, s)} is assigned to facility "
                               f"{int(data.stop_facility[s])}, unloaded at {f}")
            if D:
                fac_t[f] += float(load[0])
            load = np.zeros(D)
            trip = []
        _compare_load(out, where, "load_after", v.load_after, load, dims)
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
    _compare_load(out, tag, "load_total", r.load_total, total, dims)
    duration = ret - leave
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000.0
            + vt.cost_yuan_per_h * duration / 3600.0)
    return {"distance_m": dist, "travel_s": travel, "duration_s": duration,
            "tonne_km": tkm, "cost_yuan": cost}
