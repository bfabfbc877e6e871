"""PyVRP peer for the county-day routing benchmark (benchmark only; never used by the engine).

A county day (:func:`wastenet.routing.build.build_routing_data`) has one depot (the county
fleet's base), villages with two load dimensions (t, m3), unload facilities (the transfer
stations and incinerators the siting result assigned the villages to), a mixed fleet and
narrow-lane villages that only small trucks may serve. Stock PyVRP 0.14 is given the SAME
instance and rules as follows (``P`` = depots, ``F`` = facilities, ``S`` = stops):

* **Places.** PyVRP depot 0 is the fleet's base; PyVRP depots ``1..|F|`` are the
  facilities, used as *reload depots* (``reload_depots``) with the facility's opening
  hours as time window and its unload time as ``service_duration``. Clients are the
  stops (``pickup`` = the load per visit in t and m3, scaled by ``LOAD_SCALE`` and
  rounded up; capacities rounded down).
* **Assigned facility** (every trip carries stops of one facility ``f(s)`` only and ends
  there). PyVRP has no per-client reload depot, so the rule is written into the arc
  matrices, which is exact, not a relaxation: for stops ``s, s'`` with
  ``f(s) != f(s')`` the arc ``s -> s'`` is the detour ``s -> f(s) -> s'`` with the unload
  folded in (``fold_between``, default; the converted plan shows that unload; PyVRP does
  not know it empties the vehicle, so its capacity check is conservative), and ``s -> g``
  is forbidden for every facility ``g != f(s)``. With ``fold_between=False`` the arc
  ``s -> s'`` is forbidden instead: PyVRP then must insert a reload depot and the village
  in one move to chain catchments, and in a 20 s trial its plans were 13-33 % dearer.
  Arcs ``facility -> stop`` and ``base -> stop`` stay free (a trip may start anywhere).
  Hence each trip is a run of stops of one catchment followed by an unload at its own
  facility (explicit reload depot, folded detour, or the folded final unload).
* **Unload before going home.** The arc ``s -> base`` is replaced by the detour
  ``s -> f(s) -> base``: distance ``d(s,f(s)) + d(f(s),base)``, duration
  ``t(s,f(s)) + unload_f(s) + t(f(s),base)`` (the folded final unload). The facility
  hours (05:00-20:00 by default) contain every shift, so the folded unload never misses
  its window; the converted plan shows the unload explicitly and the checker verifies it.
* **Access restrictions** and **speed factors**: one routing *profile* per vehicle type
  (its own distance and duration matrices); arcs into a stop the type may not serve are
  forbidden in its profile; durations are ``duration_s / speed_factor``.
* A *forbidden* arc gets distance ``BIG_M`` metres (about 30,000 yuan of cost, as much as
  a whole county day) and keeps its true duration. Forbidding by duration as well
  (``forbid_time=True``: ``BIG_T``, a time-window violation) drove PyVRP's penalties to
  their bound and gave 4-12 % dearer plans in a 20 s trial on both counties, so the
  peer uses the cost-only form. The checker verifies the converted plan, so any use of a
  forbidden arc would show.
* **Mixed fleet and costs.** One PyVRP vehicle type per wastenet type, ``num_available``
  = its count, ``fixed_cost`` = its fixed cost, ``unit_distance_cost`` per metre and
  ``unit_duration_cost`` per decisecond of route duration, all in cost units of
  ``COST_UNIT_YUAN``: PyVRP minimises exactly the plan cost
  ``sum_routes fixed + c_km * km + c_h * duration_h`` of the checker, except for the
  break hour (below) and integer rounding.
* **Shift and break.** ``tw_early = max(shift_start, depot_open)``; the day is
  shortened by the break as in the Kim peer: ``tw_late = min(shift_end, depot_close) -
  break`` and ``shift_duration = max_shift - break``; after solving, the break is
  inserted into the route (:func:`build_route`): in the gap after visit ``p`` it starts at
  ``b = max(departure_p, earliest)`` (``b <= latest``), while driving or waiting, and
  the next service starts at ``max(open, departure_p + travel + B, b + B)``, the rule of
  :mod:`wastenet.routing.data`. Every gap is tried; the feasible one with the earliest
  return wins. (:func:`peers.common.build_route`, used by the Kim peer, instead waits for
  ``earliest`` before driving, which can push a route of this peer past 12:00.)
* Integers: time in deciseconds rounded *up*, so a PyVRP-feasible schedule stays
  feasible in exact seconds.
* Not modelled (the builder never sets them for county days; :func:`solve_county`
  refuses instances that use them): ``max_stops``, ``route_capacity``, unassigned stops
  (``stop_facility = -1``), several depots. Facility daily capacity is implied: with the
  assignment rule every facility receives exactly its catchment, which the engine's
  pre-check (and the checker) holds within capacity.

The PyVRP solution is converted into a wastenet :class:`RoutePlan` (exact float times,
break placed, final unload explicit) and judged by the same checker as the engine's plan.
"""

from __future__ import annotations

import math
import time

import numpy as np

from peers.common import Step
from peers.pyvrp_peer import TIME_SCALE, PeerResult, _iceil, _ifloor, facility_depots
from wastenet.routing.data import Route, RoutePlan, RoutingData, Visit

LOAD_SCALE = 1000  #: thousandths of a tonne / m3
COST_UNIT_YUAN = 1.0 / 36_000.0  #: 1 yuan/km = 36 units per metre; 1 yuan/h = 1 unit per ds
BIG_M = 10_000_000  #: metres of a forbidden arc
BIG_T = 86_400 * TIME_SCALE  #: deciseconds of a forbidden arc


def build_problem(data: RoutingData, *, forbid_time: bool = False,
                  fold_between: bool = True) -> tuple[object, list[int]]:
    """The PyVRP ``ProblemData`` of a county day and the wastenet type of each PyVRP type.

    ``forbid_time=False`` forbids arcs by distance (cost) only, keeping their true duration.
    ``fold_between=True``: an arc between villages of different catchments ``A -> B`` is
    not forbidden but is the detour through ``A``'s facility (distance, travel and unload
    folded in, as for the arc home); the converted plan shows that unload. PyVRP does not
    know the implied unload empties the vehicle, so its capacity check stays conservative."""
    import pyvrp

    if len(data.depots) != 1:
        raise ValueError("the county peer handles one depot")
    if np.any(data.stop_facility < 0):
        raise ValueError("the county peer needs an assigned facility for every stop")
    for vt in data.vehicle_types:
        if vt.max_stops is not None or vt.route_capacity is not None:
            raise ValueError(f"vehicle type {vt.name}: max_stops / route_capacity not modelled")
    home = int(data.depots[0])
    facs = [int(f) for f in data.facilities]
    stops = [int(s) for s in data.stops]
    nf, n = len(facs), len(stops)
    locs = np.array([home, *facs, *stops], dtype=np.int64)
    D = len(data.load_dims)
    sf = data.stop_facility.astype(np.int64)
    S0 = 1 + nf  # first stop row in the PyVRP matrices

    dist = np.rint(data.distance_m[np.ix_(locs, locs)]).astype(np.int64)
    # forbidden arcs of the assigned-facility rule (common to every profile)
    forbid = np.zeros((len(locs), len(locs)), dtype=bool)
    cross = sf[:, None] != sf[None, :]
    if not fold_between:
        forbid[S0:, S0:] = cross
    forbid[S0:, 1:S0] = sf[:, None] != np.arange(nf)[None, :]
    # folded final unload: stop -> f(s) -> home
    f_loc = np.array(facs, dtype=np.int64)[sf]
    s_loc = np.array(stops, dtype=np.int64)
    dist[S0:, 0] = np.rint(data.distance_m[s_loc, f_loc] + data.distance_m[f_loc, home])
    if fold_between:
        via = data.distance_m[s_loc, f_loc][:, None] + data.distance_m[np.ix_(f_loc, s_loc)]
        blk = dist[S0:, S0:]
        blk[cross] = np.rint(via[cross])
    dist_p, dur_p = [], []
    for t, vt in enumerate(data.vehicle_types):
        sp = vt.speed_factor
        dur = _iceil(data.duration_s[np.ix_(locs, locs)] / sp)
        dur[S0:, 0] = _iceil((data.duration_s[s_loc, f_loc] + data.duration_s[f_loc, home]) / sp
                             + data.facility_unload_s[sf])
        if fold_between:
            via_t = _iceil((data.duration_s[s_loc, f_loc][:, None]
                            + data.duration_s[np.ix_(f_loc, s_loc)]) / sp
                           + data.facility_unload_s[sf][:, None])
            blk_t = dur[S0:, S0:]
            blk_t[cross] = via_t[cross]
        bad = forbid.copy()
        barred = np.array([a is not None and t not in a for a in data.stop_allowed], dtype=bool)
        bad[:, S0:] |= barred[None, :]
        d_t = dist.copy()
        d_t[bad] = BIG_M
        if forbid_time:
            dur[bad] = BIG_T
        np.fill_diagonal(d_t, 0)
        np.fill_diagonal(dur, 0)
        dist_p.append(d_t)
        dur_p.append(dur)

    locations = [pyvrp.Location(x=float(data.lon[i]), y=float(data.lat[i])) for i in locs]
    depots = facility_depots(data, nf)
    clients = [pyvrp.Client(S0 + s,
                            pickup=[math.ceil(float(data.stop_demand[s, d]) * LOAD_SCALE - 1e-6)
                                    for d in range(D)],
                            service_duration=int(_iceil(data.stop_service_s[s])),
                            tw_early=int(_iceil(data.stop_open_s[s])),
                            tw_late=_ifloor(data.stop_close_s[s]))
               for s in range(n)]
    vtypes = []
    kept: list[int] = []
    for t, vt in enumerate(data.vehicle_types):
        if vt.count <= 0:
            continue
        brk = vt.break_duration_s
        start = max(vt.shift_start_s, float(data.depot_open_s[0]))
        end = min(vt.shift_end_s, float(data.depot_close_s[0]))
        vtypes.append(pyvrp.VehicleType(
            num_available=vt.count,
            capacity=[math.floor(c * LOAD_SCALE + 1e-6) for c in vt.capacity],
            start_depot=0, end_depot=0,
            fixed_cost=round(vt.fixed_cost_yuan / COST_UNIT_YUAN),
            tw_early=_ifloor(start), tw_late=_ifloor(end - brk),
            shift_duration=_ifloor(vt.max_shift_s - brk),
            unit_distance_cost=round(vt.cost_yuan_per_km / 1000.0 / COST_UNIT_YUAN),
            unit_duration_cost=round(vt.cost_yuan_per_h / 3600.0 / TIME_SCALE / COST_UNIT_YUAN),
            profile=t, reload_depots=list(range(1, nf + 1)), name=vt.name))
        kept.append(t)
    mats: list = [dist_p, dur_p]
    pdata = pyvrp.ProblemData(locations, clients, depots, vtypes, *mats)
    return pdata, kept


def _loc_window(data: RoutingData, kind: str, i: int) -> tuple[int, float, float, float]:
    """(location, open, close, service) of a visit."""
    if kind == "stop":
        return (int(data.stops[i]), float(data.stop_open_s[i]), float(data.stop_close_s[i]),
                float(data.stop_service_s[i]))
    if kind == "unload":
        return (int(data.facilities[i]), float(data.facility_open_s[i]),
                float(data.facility_close_s[i]), float(data.facility_unload_s[i]))
    return int(data.depots[i]), float(data.depot_open_s[i]), float(data.depot_close_s[i]), 0.0


def _schedule(data: RoutingData, t: int, seq: list[Step], leave: float,
              gap: int | None) -> tuple[list[tuple[float, float, float]], float | None, float]:
    """(arrival, start, departure) per visit, break start and total lateness, with the
    break in the gap after visit ``gap`` (None: no break)."""
    vt = data.vehicle_types[t]
    info = [_loc_window(data, k, i) for k, i in seq]
    out = [(leave, leave, leave)]
    late = 0.0
    b: float | None = None
    bd = vt.break_duration_s
    for k in range(1, len(seq)):
        dep = out[-1][2]
        tr = float(data.duration_s[info[k - 1][0], info[k][0]]) / vt.speed_factor
        arr = dep + tr
        ready = arr
        if gap == k - 1:
            b = max(dep, vt.break_earliest_s)
            late += max(0.0, b - vt.break_latest_s)
            ready = max(arr + bd, b + bd)
            arr = ready if b < arr else arr  # a break taken while driving delays arrival
        _, op, cl, svc = info[k]
        if k == len(seq) - 1:  # home
            late += max(0.0, ready - min(cl, vt.shift_end_s))
            late += max(0.0, ready - leave - vt.max_shift_s)
            out.append((arr, ready, ready))
            continue
        st = max(ready, op)
        late += max(0.0, st - cl)
        out.append((arr, st, st + svc))
    return out, b, late


def build_route(data: RoutingData, t: int, number: int, seq: list[Step],
                leave: float) -> Route:
    """A :class:`Route` for ``seq`` (depot first and last) leaving at ``leave``, with the
    break placed as in the module docstring."""
    vt = data.vehicle_types[t]
    times, brk, _ = _schedule(data, t, seq, leave, None)
    bd = vt.break_duration_s
    if bd > 0 and leave < vt.break_earliest_s + bd and times[-1][0] > vt.break_latest_s:
        best: tuple[float, float, int] | None = None
        for p in range(len(seq) - 1):
            tp, bp, lp = _schedule(data, t, seq, leave, p)
            key = (lp, tp[-1][1], p)
            if best is None or key < best:
                best, times, brk = key, tp, bp
    D = len(data.load_dims)
    load = np.zeros(D)
    total = np.zeros(D)
    visits: list[Visit] = []
    dist = travel = tkm = 0.0
    prev = -1
    for k, (kind, index) in enumerate(seq):
        loc = _loc_window(data, kind, index)[0]
        if k > 0:
            d = float(data.distance_m[prev, loc])
            dist += d
            travel += float(data.duration_s[prev, loc]) / vt.speed_factor
            tkm += float(load[0]) * d / 1000.0
        if kind == "stop":
            load = load + data.stop_demand[index]
            total = total + data.stop_demand[index]
        elif kind == "unload":
            load = np.zeros(D)
        arr, st, dep = times[k]
        if k == len(seq) - 1:
            arr = st  # back home: arrival is the (break-inclusive) return time
        visits.append(Visit(kind, int(index), loc, arr, st, dep,
                            tuple(float(x) for x in load)))
        prev = loc
    duration = visits[-1].arrival_s - visits[0].departure_s
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000.0
            + vt.cost_yuan_per_h * duration / 3600.0)
    return Route(t, number, tuple(visits), brk, dist, duration, travel,
                 tuple(float(x) for x in total), tkm, cost)


def solve_county(data: RoutingData, *, time_limit_s: float, seed: int = 0,
                 forbid_time: bool = False, fold_between: bool = True) -> PeerResult:
    """Solve a county day with stock PyVRP under ``MaxRuntime(time_limit_s)``.

    The wall-clock budget covers building the PyVRP data and the search."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    pdata, kept = build_problem(data, forbid_time=forbid_time, fold_between=fold_between)
    left = max(time_limit_s - (time.perf_counter() - t0), 0.1)
    res = pyvrp.solve(pdata, stop=MaxRuntime(left), seed=seed, display=False)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    sol = res.best
    sf = data.stop_facility
    routes: list[tuple[int, list[Step], float]] = []
    for r in sol.routes():
        t = kept[r.vehicle_type()]
        steps: list[Step] = [("depot", 0)]
        last_stop: int | None = None
        for act in list(r.schedule())[1:-1]:
            if act.is_client():
                c = int(act.idx)  # clients are numbered from 0
                if last_stop is not None and sf[last_stop] != sf[c]:
                    steps.append(("unload", int(sf[last_stop])))  # folded between catchments
                last_stop = c
                steps.append(("stop", c))
            else:  # reload depot: PyVRP depot d >= 1 is facility d - 1
                steps.append(("unload", int(act.idx) - 1))
                last_stop = None
        if last_stop is not None:  # the folded final unload at the stop's facility
            steps.append(("unload", int(data.stop_facility[last_stop])))
        steps.append(("depot", 0))
        routes.append((t, steps, r.start_time() / TIME_SCALE))
    number: dict[int, int] = {}
    built = []
    for t, steps, leave in routes:
        built.append(build_route(data, t, number.get(t, 0), steps, leave))
        number[t] = number.get(t, 0) + 1
    seen = {v.index for r in built for v in r.visits if v.kind == "stop"}
    plan = RoutePlan(
        routes=tuple(built), unserved=tuple(s for s in range(data.n_stops) if s not in seen),
        vehicles=len(built), distance_m=sum(r.distance_m for r in built),
        travel_s=sum(r.travel_s for r in built), duration_s=sum(r.duration_s for r in built),
        tonne_km=sum(r.tonne_km for r in built), cost_yuan=sum(r.cost_yuan for r in built),
        status="FEASIBLE" if sol.is_feasible() else "INFEASIBLE", solver="pyvrp", seed=seed,
        elapsed_s=elapsed, name=data.name, synthetic=data.synthetic)
    return PeerResult(plan, float(res.cost()) * COST_UNIT_YUAN, elapsed,
                      bool(sol.is_feasible()))
