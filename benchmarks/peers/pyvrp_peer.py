"""PyVRP peer for the routing benchmarks (benchmark only; the engine never uses PyVRP).

Kim et al. (2006) instances: :func:`solve_kim`
----------------------------------------------
PyVRP (0.14) has multi-trip vehicles with reload depots but no "unload before going
home", no daily load cap across trips and no break, so the instance is translated as the
benchmark issue prescribes:

* Landfills are PyVRP *reload depots* (time window = landfill hours, service = unload).
* Every vehicle *ends at a landfill and then drives home*: one PyVRP vehicle type per
  landfill ``L`` with ``end_depot = L``. The drive home ``tau(L, home)`` is added to the
  type's fixed cost (so the objective counts it) and taken off its latest end:
  ``tw_late = min(shift_end, depot_close) - lunch - unload_L - tau(L, home)``.
* Daily yardage cap ``R`` with vehicle capacity ``C``: at most ``k = ceil(R / C)``
  trips (``max_reloads = k - 1``) of at most ``R / k`` each (the trip capacity). Every
  schedule PyVRP accepts then collects at most ``R`` a day.
* The day is shortened by the lunch hour (``tw_late`` and ``shift_duration`` above);
  after solving, the hour is inserted where the windows allow
  (:func:`peers.common.build_route` tries every gap).
* A large fixed cost per vehicle (``BIG``, above any possible day of travel of the whole
  fleet) so that PyVRP minimises vehicles first, then travel time.
* Integers: time in deciseconds, rounded *up* (so a PyVRP-feasible schedule stays
  feasible in exact seconds), loads in hundredths of a cubic yard (trip capacity rounded
  down). Travel time is the PyVRP distance (``unit_distance_cost = 1``).
* Not modelled: the daily stop cap (500 in every file; per-trip caps of ``500 / k`` would
  be far stricter than the rule). The checker verifies it on the converted plan.

The PyVRP solution is converted into a wastenet :class:`RoutePlan` (exact times,
lunch inserted) and judged by the same checker as the engine's plan.

CVRPLIB: :func:`solve_cvrplib`
------------------------------
Plain PyVRP on the file (``pyvrp.read`` with ``round_func="round"``, the TSPLIB
nearest integer for integer coordinates) under ``MaxRuntime``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from peers.common import Step, build_plan
from wastenet.routing.data import RoutePlan, RoutingData

TIME_SCALE = 10  # deciseconds
LOAD_SCALE = 100  # hundredths of a load unit


@dataclass(frozen=True)
class PeerResult:
    plan: RoutePlan
    objective: float  #: the peer's own objective value
    elapsed_s: float
    feasible: bool  #: the peer's own feasibility verdict


def _iceil(a: np.ndarray | float) -> np.ndarray:
    return np.ceil(np.asarray(a, dtype=np.float64) * TIME_SCALE - 1e-6).astype(np.int64)


def _ifloor(a: float) -> int:
    return math.floor(a * TIME_SCALE + 1e-6)


def facility_depots(data: RoutingData, nf: int) -> list[object]:
    """PyVRP depots: the home depot (0), then the first ``nf`` facilities as reload depots
    (1..nf) with their opening hours and unload time, in TIME_SCALE units."""
    import pyvrp  # the peer's own extra (bench), imported where used

    depots: list[object] = [pyvrp.Depot(0, tw_early=_ifloor(data.depot_open_s[0]),
                          tw_late=_ifloor(data.depot_close_s[0]))]
    depots += [pyvrp.Depot(1 + j, tw_early=int(_iceil(data.facility_open_s[j])),
                           tw_late=_ifloor(data.facility_close_s[j]),
                           service_duration=int(_iceil(data.facility_unload_s[j])))
               for j in range(nf)]
    return depots


def solve_kim(data: RoutingData, *, time_limit_s: float, seed: int = 0) -> PeerResult:
    """Solve a Kim et al. (2006) instance read by ``read_wcvrptw`` with PyVRP."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    if len(data.depots) != 1 or len(data.vehicle_types) != 1:
        raise ValueError("the PyVRP Kim peer handles one depot and one vehicle type")
    vt = data.vehicle_types[0]
    home = int(data.depots[0])
    facs = [int(f) for f in data.facilities]
    stops = [int(s) for s in data.stops]
    locs = [home, *facs, *stops]
    lunch = vt.break_duration_s
    C = vt.capacity[0]
    R = vt.route_capacity[0] if vt.route_capacity is not None else math.inf
    k_trips = max(1, math.ceil(R / C - 1e-9)) if math.isfinite(R) else None
    trip_cap = R / k_trips if k_trips is not None else C
    dur = _iceil(data.duration_s[np.ix_(locs, locs)] / vt.speed_factor)

    nf = len(facs)
    locations = [pyvrp.Location(x=float(data.x[i]) if data.x is not None else 0.0,
                                y=float(data.y[i]) if data.y is not None else 0.0)
                 for i in locs]
    depots = facility_depots(data, nf)
    clients = [pyvrp.Client(1 + nf + s,
                            pickup=[round(float(data.stop_demand[s, 0]) * LOAD_SCALE)],
                            service_duration=int(_iceil(data.stop_service_s[s])),
                            tw_early=int(_iceil(data.stop_open_s[s])),
                            tw_late=_ifloor(data.stop_close_s[s]))
               for s in range(len(stops))]
    # fleet bound per type: twice what the load and the service time need, plus 5
    shift = min(vt.shift_end_s, data.depot_close_s[0]) - max(vt.shift_start_s,
                                                             data.depot_open_s[0])
    day = max(shift - lunch, 1.0)
    need = max(math.ceil(float(data.stop_demand[:, 0].sum()) / min(R, 1e18)),
               math.ceil(float(data.stop_service_s.sum()) / day), 1)
    per_type = min(len(stops), 2 * need + 5)
    big = int(per_type * (nf + 1) * 86400 * TIME_SCALE) + 1
    start = max(vt.shift_start_s, float(data.depot_open_s[0]))
    end = min(vt.shift_end_s, float(data.depot_close_s[0]))
    type_end: list[int] = []
    vtypes = []
    for j in range(nf):
        back = float(dur[1 + j, 0])  # deciseconds
        unload = float(_iceil(data.facility_unload_s[j]))
        tw_late = _ifloor(end - lunch) - int(back + unload)
        shift_dur = _ifloor(vt.max_shift_s - lunch) - int(back + unload)
        if tw_late < _ifloor(start) or shift_dur <= 0:
            continue
        kwargs = {}
        if k_trips is not None:
            kwargs["max_reloads"] = k_trips - 1
        vtypes.append(pyvrp.VehicleType(
            num_available=per_type, capacity=[math.floor(trip_cap * LOAD_SCALE + 1e-6)],
            start_depot=0, end_depot=1 + j, fixed_cost=big + int(back),
            tw_early=_ifloor(start), tw_late=tw_late, shift_duration=shift_dur,
            reload_depots=list(range(1, nf + 1)), unit_distance_cost=1, unit_duration_cost=0,
            **kwargs))
        type_end.append(j)
    pdata = pyvrp.ProblemData(locations, clients, depots, vtypes, [dur], [dur])  # type: ignore[list-item]
    t0 = time.perf_counter()
    res = pyvrp.solve(pdata, stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    elapsed = time.perf_counter() - t0
    sol = res.best
    routes: list[tuple[int, list[Step], float]] = []
    for r in sol.routes():
        j_end = type_end[r.vehicle_type()]
        steps: list[Step] = [("depot", 0)]
        sched = list(r.schedule())
        for act in sched[1:-1]:
            if act.is_client():
                steps.append(("stop", int(act.idx)))
            else:  # reload depot: PyVRP depot d >= 1 is facility d - 1
                steps.append(("unload", int(act.idx) - 1))
        steps += [("unload", j_end), ("depot", 0)]
        routes.append((0, steps, r.start_time() / TIME_SCALE))
    plan = build_plan(data, routes, solver="pyvrp", seed=seed, elapsed_s=elapsed,
                      status="FEASIBLE" if sol.is_feasible() else "INFEASIBLE")
    return PeerResult(plan, float(res.cost()), elapsed, bool(sol.is_feasible()))


def solve_cvrplib(path: str, data: RoutingData, *, time_limit_s: float,
                  seed: int = 0) -> PeerResult:
    """Plain PyVRP on a CVRPLIB ``.vrp``; ``data`` (from ``read_vrplib``) is used to
    express the result as a wastenet plan for the checker."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    pdata = pyvrp.read(path, round_func="round")
    t0 = time.perf_counter()
    res = pyvrp.solve(pdata, stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    elapsed = time.perf_counter() - t0
    sol = res.best
    routes: list[tuple[int, list[Step], float]] = []
    for r in sol.routes():
        steps: list[Step] = [("depot", 0)]
        steps += [("stop", int(a.idx)) for a in r.schedule() if a.is_client()]
        steps += [("unload", 0), ("depot", 0)]
        routes.append((0, steps, float(data.depot_open_s[0])))
    plan = build_plan(data, routes, solver="pyvrp", seed=seed, elapsed_s=elapsed,
                      status="FEASIBLE" if sol.is_feasible() else "INFEASIBLE")
    return PeerResult(plan, float(sol.distance()), elapsed, bool(sol.is_feasible()))
