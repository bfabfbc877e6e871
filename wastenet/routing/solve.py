"""Daily collection routing: ``solve(data, params) -> RoutePlan``.

Problem (rules in :mod:`wastenet.routing.data`; the integer model handed to OR-Tools in
:mod:`wastenet.routing.ortools_adapter`): a heterogeneous fleet based at depots visits
every stop ``s ∈ S`` once, collecting ``q_s`` (per load dimension), unloads at
intermediate facilities whenever needed and before returning, respects capacities between
unloads, daily route caps (stops, load), stop/facility/depot windows, shifts, a break,
assigned facilities, facility daily capacities and access restrictions. The objective
works in a lexicographic spirit through the weights of :class:`RouteParams`. Every
OR-Tools search (the solve of step 3, route elimination and polishing in step 4, the
recreate step of step 5) minimises the model's vehicle and arc costs (exact form in
:mod:`wastenet.routing.ortools_adapter`)::

    min  Σ_v used_v·(W_veh + w_cost·fixed_yuan_v)
         + Σ_arcs (w_time·travel_s + w_cost·yuan_per_km·km)
         + Σ_v w_cost·yuan_per_h·(return_v − departure_v)/3600
         + unload_charge·|unload visits| + w_bal·(latest return − earliest departure)

The hourly cost is charged on each route's span, from leaving the depot to returning
(waits, service and unloads included), as in the reported route cost below; only the
break of the default ``"insert"`` break model is placed after the search and so is not
in the span. Every unload visit pays the small fixed ``AdapterConfig.unload_charge``
(against empty unloads; no weight applies). Between searches, plans are compared
by their reported figures: route elimination keeps a plan with fewer vehicles and every
stop served, while polishing and the neighbourhood search keep a new plan only when it
lowers the acceptance score :func:`_score`::

    W_veh·|used vehicles| + w_time·Σ travel_s + w_cost·Σ cost_yuan

(no balance term, no unload charge), with ``cost_yuan`` the reported route cost below.

Pipeline:

1. cheap pre-checks (:func:`precheck`) raise :class:`~wastenet.errors.InfeasibleError`
   naming each stop that cannot be served by any allowed vehicle at all (no vehicle,
   demand above capacity or route cap, window unreachable within the shift, facility
   overloaded by its assigned stops, facilities without room for the unassigned loads);
2. instances above ``RouteParams.decompose_above`` stops are cut into parts of
   :func:`part_size` stops (``RouteParams.part_size`` when set, else 250 stops, raised
   when the vehicles' days are long so that such days are solved whole), by assigned
   facility catchment and then by angular sectors around the depot, solved one after the
   other with the vehicles and the facility capacities still free, and merged; stops a
   part leaves out go on to the next part, and those left out at the end are inserted
   into the merged routes by one search on the whole instance (:func:`_reinsert`);
3. each part is solved by OR-Tools (strong insertion start, guided local search until the
   time or solution limit); when a whole instance is solved, has stops left out and no
   solution limit is set, the time of steps 4 and 5 goes to one more search for them
   from the routes found (:func:`_reinsert`);
4. when vehicles are charged (``vehicle_weight > 0``) and no solution limit is set,
   ``reduce_share`` of the time limit goes to route elimination on the whole instance
   (:func:`_reduce_fleet`): the smallest route is taken out, the fleet capped at one
   vehicle fewer, and the search restarted from the remaining routes; a plan is only
   accepted when every stop is served again. What is left of that share polishes the
   incumbent, unless the fleet is at :func:`fleet_lower_bound` (nothing left to
   eliminate): then it goes to step 5. Above :data:`POOL_ABOVE` stops, where those
   whole-instance searches left 30 to 190 stops out at every attempt, routes are
   eliminated through an ejection pool on neighbourhoods of the plan instead
   (:func:`wastenet.routing.improve.eliminate`, see :func:`_eliminate`), and the time
   left goes to step 5.
   OR-Tools' guided local search alone rarely removes a vehicle once the routes are
   full, which is what "fewest vehicles first" asks for;
5. ``lns_share`` of the time then left goes to the ruin-and-recreate neighbourhood search
   of :mod:`wastenet.routing.improve`, which also mends the borders between decomposed
   parts (the time split is :func:`budget_shares`); on multi-trip plans it stops short
   of the end, and the trip exchange (relocate, SWAP* and 2-opt* between trips) of
   :mod:`wastenet.routing.exchange` takes the plan to a local optimum (:func:`_improve`);
6. the integer solution is decoded into a :class:`~wastenet.routing.data.RoutePlan` with
   real-valued arrival, start and departure times, loads after each visit, the break,
   and totals recomputed from the float matrices (:func:`_decode`; a route that no
   schedule keeps within every rule is never returned: its stops are left out).

Stops still left out after the search raise :class:`~wastenet.errors.NoSolutionError`
naming them and the limit that ended the search (the time limit, or the
``solution_limit``): a search proves nothing, and a longer or larger limit may serve them
(with ``allow_unserved``, the plan lists them instead). Only the pre-checks of step 1,
which prove a stop unservable, raise :class:`~wastenet.errors.InfeasibleError`.

Time: ``time_limit_s`` bounds the whole of :func:`solve`. Each phase searches until its
share of the limit (:func:`budget_shares`) or what is left of it, and no search runs past
its end (:func:`_time_to`; the adapter counts building and restoring its start solution
in the time it is given). Once the limit is spent (:func:`_spent`), no further model is
built and no search started, except the first search of an instance solved whole: the
decomposed parts that got no time, the repeated searches of :func:`_solve_capped` and
the re-insertion are skipped, and the stops they would have placed are left out (by the
time limit, see above). Only the model building, decoding and checking around the last
search run over, by milliseconds on small instances.

Route cost (``Route.cost_yuan``, summed into ``RoutePlan.cost_yuan`` and recomputed by
:mod:`wastenet.routing.checker`) is ``fixed_cost_yuan + cost_yuan_per_km·distance_km +
cost_yuan_per_h·duration_h``, the duration running from leaving to returning: the paid
shift, waits, service, unloads and an on-route break included.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from wastenet.bounds import check_seed, check_time_limit
from wastenet.errors import InfeasibleError, NoSolutionError, ValidationError
from wastenet.routing.data import Route, RoutePlan, RoutingData, VehicleType, Visit
from wastenet.routing.ortools_adapter import (
    AdapterConfig,
    RawRoute,
    RawSolution,
    can_work,
    check_objective_range,
    implicit_final_unload,
    shift_window,
    solve_raw,
)
from wastenet.routing.text import WEEKDAYS, amounts, clock, num

log = logging.getLogger("wastenet.routing.solve")

Progress = Callable[[float, str], None]

#: The largest objective weight of :class:`RouteParams` (``vehicle_weight``,
#: ``time_weight``, ``cost_weight``, ``balance_weight``). The adapter works in int64
#: objective units, ``OBJ_SCALE`` (36 000) per unit of weighted cost: a weight of 1e9
#: on one vehicle, second or yuan is 3.6e13 units, a factor of 2.5e5 below the int64
#: limit (9.2e18), room for the sums over a plan. The products of the weights with an
#: instance's costs, travel times and distances are checked when :func:`solve` starts
#: (:func:`~wastenet.routing.ortools_adapter.check_objective_range`).
MAX_WEIGHT = 1e9


@dataclass(frozen=True)
class RouteParams:
    """Solver settings. Weights are per vehicle, per second of travel, per yuan, each
    in ``[0, MAX_WEIGHT]``."""

    time_limit_s: float = 10.0
    seed: int = 0
    solution_limit: int | None = None  #: stop after this many improving solutions
    vehicle_weight: float = 200_000.0  #: objective charge per vehicle used (fewest first)
    time_weight: float = 1.0  #: per second of travel
    cost_weight: float = 0.0  #: per yuan of route cost (km, hours, fixed)
    balance_weight: float = 0.0  #: per second of (latest return − earliest departure)
    decompose_above: int = 300  #: split instances with more stops than this
    #: target stops per part when decomposing; None: :func:`part_size` (250 stops, more
    #: when the vehicles' days are long), a number: exactly that
    part_size: int | None = None
    first_solution: str = "CONSTRUCT"  #: greedy of the adapter, or an OR-Tools strategy
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    unload_copies: int | None = None  #: copies of each facility; None = automatic
    allow_unserved: bool = False  #: return a partial plan instead of raising
    scheduling: str = "glop"  #: OR-Tools cumul scheduling: "default" (CP-SAT), "glop", "off"
    break_model: str = "insert"  #: "insert": shortened day, break placed after; "exact"
    #: share of the time limit kept for route elimination (fewest vehicles), used when
    #: ``vehicle_weight > 0`` and no solution limit is set (see :func:`_eliminate`)
    reduce_share: float = 0.4
    #: share of the time left after route elimination kept for the neighbourhood search
    #: of :mod:`wastenet.routing.improve` (ruin and recreate), without a solution limit
    lns_share: float = 0.5

    def __post_init__(self) -> None:
        check_seed(self.seed)
        check_time_limit(self.time_limit_s, upper=None)
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValidationError("solution_limit", self.solution_limit, "must be >= 1")
        for nm in ("vehicle_weight", "time_weight", "cost_weight", "balance_weight"):
            w = getattr(self, nm)
            if (isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating)
                    or not 0 <= w <= MAX_WEIGHT):  # NaN fails too
                raise ValidationError(nm, w, f"must be a number in [0, {MAX_WEIGHT:g}] (the "
                                             "solver's integer objective scaling)")
        if (self.part_size is not None and self.part_size < 1) or self.decompose_above < 1:
            raise ValidationError("part_size", self.part_size, "must be >= 1")
        if not 0.0 <= self.reduce_share < 1.0:
            raise ValidationError("reduce_share", self.reduce_share, "must be in [0, 1)")
        if not 0.0 <= self.lns_share < 1.0:
            raise ValidationError("lns_share", self.lns_share, "must be in [0, 1)")


def _stop_name(data: RoutingData, s: int) -> str:
    loc = int(data.stops[s])
    nm = data.names[loc]
    return f"stop {data.ids[loc]}" + (f" ({nm})" if nm and nm != data.ids[loc] else "")


def _day_text(data: RoutingData) -> str:
    """`` on 2026-12-01 (Tuesday)`` from ``data.meta`` (empty when it has no date)."""
    date = data.meta.get("date")
    if not date:
        return ""
    wd = data.meta.get("weekday")
    name = f" ({WEEKDAYS[wd]})" if isinstance(wd, int) and 0 <= wd < 7 else ""
    return f" on {date}{name}"


def _frequency_hint(data: RoutingData) -> str:
    freqs = data.meta.get("frequencies_per_week")
    if isinstance(freqs, list) and any(int(k) < 7 for k in freqs):
        return (" (the villages' visit days are chosen to spread each facility's load "
                "evenly over the week; even so this day's visits bring more than the "
                "facility takes: raise its capacity or the collection frequency)")
    return ""


def _visit_limit(vt: VehicleType) -> tuple[float, ...]:
    """The most one visit may load on a vehicle of type ``vt``: its capacity, and its
    daily route capacity when that is smaller (per load dimension)."""
    cap = tuple(float(c) for c in vt.capacity)
    if vt.route_capacity is not None:
        cap = tuple(min(a, float(b)) for a, b in zip(cap, vt.route_capacity, strict=True))
    return cap


def _too_big_text(data: RoutingData, s: int, types: list[int], every: bool) -> str:
    """Why stop ``s`` fits no vehicle of ``types``: its load and the largest of those
    vehicles' limits; ``every``: those are all the types allowed to serve it."""
    dims = data.load_dims
    largest = max(types, key=lambda t: (_visit_limit(data.vehicle_types[t])[:1], -t))
    vt = data.vehicle_types[largest]
    load = amounts(data.stop_demand[s], dims)
    limit = amounts(_visit_limit(vt), dims)
    if not every:
        names = ", ".join(data.vehicle_types[t].name for t in types)
        return f"load {load} exceeds the capacity of {names} (largest {vt.name}, {limit})"
    allowed = data.stop_allowed[s]
    only = ""
    if allowed is not None:
        only = ("; only " + ", ".join(data.vehicle_types[t].name for t in sorted(allowed))
                + " may serve it (access restriction)")
    return (f"load {load} exceeds the capacity of every vehicle type allowed to serve it "
            f"(largest: {vt.name}, {limit}), and a stop's load cannot be split{only}")


def _cannot_work_text(data: RoutingData, vt: VehicleType) -> str:
    """Why no route of type ``vt`` is possible (see
    :func:`~wastenet.routing.ortools_adapter.can_work`)."""
    a0, end = shift_window(data, vt)
    d = int(vt.depot)
    hours = (f"its shift {clock(vt.shift_start_s)}-{clock(vt.shift_end_s)} and its depot's "
             f"hours {clock(data.depot_open_s[d])}-{clock(data.depot_close_s[d])}")
    if end < a0:
        return f"{vt.name} cannot work: {hours} do not overlap"
    be, bl, bd = vt.break_earliest_s, vt.break_latest_s, vt.break_duration_s
    return (f"{vt.name} cannot take its break of {num(bd / 60.0)} min starting "
            f"{clock(be)}-{clock(bl)}: within {hours} it can neither be back by "
            f"{clock(bl)}, nor leave after the break ({clock(be + bd)}), nor take it "
            "on the route")


def assigned_load(data: RoutingData, stops: np.ndarray) -> np.ndarray:
    """Per facility, the first-dimension load of those of ``stops`` assigned to it."""
    out = np.zeros(len(data.facilities))
    sf = data.stop_facility[stops]
    on = sf >= 0
    np.add.at(out, sf[on], data.stop_demand[stops[on], 0])
    return out


def precheck(data: RoutingData) -> list[str]:
    """Reasons why some stops cannot be served by any vehicle at all (empty when none).

    The travel times are the direct arcs; when that finds reasons, they are checked again
    with shortest-path times (a matrix need not be metric: a route may pass through a
    facility, as an empty unload, or another stop when that is quicker), and only what
    still holds is reported (:func:`_precheck`).
    """
    reasons = _precheck(data, data.duration_s)
    if reasons and data.n_stops:
        reasons = _precheck(data, _shortest_paths(data))
    return reasons


def _shortest_paths(data: RoutingData) -> np.ndarray:
    """``duration_s`` with the shortest-path time (through any locations) on every arc
    from or to a depot or facility, the only arcs :func:`_precheck` reads."""
    from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

    hubs = np.concatenate([data.depots, data.facilities]).astype(np.int64)
    g = csgraph_from_dense(data.duration_s, null_value=np.inf)  # zero arcs are arcs
    out = np.array(data.duration_s, dtype=np.float64)
    out[hubs, :] = np.minimum(out[hubs, :], dijkstra(g, indices=hubs))
    out[:, hubs] = np.minimum(out[:, hubs], dijkstra(g.T.tocsr(), indices=hubs).T)
    return out


def _precheck(data: RoutingData, dur: np.ndarray) -> list[str]:
    """:func:`precheck` with the travel times ``dur`` (at speed factor 1).

    Necessary conditions only, per stop ``s`` and allowed type ``t`` with vehicles:
    ``q_s ≤ cap_t`` and ``q_s ≤ route_capacity_t``; leaving the depot no earlier than
    ``a_t = max(shift_start, depot_open)``, the stop is reached by its close; after its
    service some admissible facility ``f`` is reached by its close, and the depot by
    ``min(shift_end, depot_close)``, within ``max_shift`` (waiting avoided by leaving
    later). Assigned loads of a facility must fit its daily capacity, and the loads of
    unassigned stops, together, the room the capacities leave after the assigned loads.
    """
    n = data.n_stops
    reasons: list[str] = []
    if n == 0:
        return reasons
    nf = len(data.facilities)
    ok_any = np.zeros(n, dtype=bool)
    why: list[set[str]] = [set() for _ in range(n)]
    too_big: list[list[int]] = [[] for _ in range(n)]  #: allowed types the load exceeds
    considered = np.zeros(n, dtype=np.int64)  #: allowed types with vehicles that fail
    need_unload = np.any(data.stop_demand > 0, axis=1)
    for t, vt in enumerate(data.vehicle_types):
        if vt.count <= 0:
            continue
        allowed = np.array([a is None or t in a for a in data.stop_allowed], dtype=bool)
        if not allowed.any():
            continue
        if not can_work(data, vt):
            for s in np.flatnonzero(allowed):
                considered[s] += 1
                why[s].add(_cannot_work_text(data, vt))
            continue
        cap = np.asarray(vt.capacity)
        fits = np.all(data.stop_demand <= cap + 1e-9, axis=1)
        if vt.route_capacity is not None:
            fits &= np.all(data.stop_demand <= np.asarray(vt.route_capacity) + 1e-9, axis=1)
        if vt.max_stops is not None and vt.max_stops < 1:
            fits[:] = False
        dep = int(data.depots[vt.depot])
        a0 = max(vt.shift_start_s, float(data.depot_open_s[vt.depot]))
        end = min(vt.shift_end_s, float(data.depot_close_s[vt.depot]))
        sp = vt.speed_factor
        to_s = dur[dep, data.stops] / sp
        arr = a0 + to_s
        start = np.maximum(arr, data.stop_open_s)
        leave = np.maximum(a0, data.stop_open_s - to_s)
        window_ok = start <= data.stop_close_s + 1e-6
        dep_s = start + data.stop_service_s
        if nf:
            f_loc = data.facilities
            tf = dur[np.ix_(data.stops, f_loc)] / sp  # (n, nf)
            f_start = np.maximum(dep_s[:, None] + tf, data.facility_open_s[None, :])
            back = f_start + data.facility_unload_s[None, :] + dur[f_loc, dep][None, :] / sp
            f_ok = (f_start <= data.facility_close_s[None, :] + 1e-6) & (back <= end + 1e-6) & (
                back - leave[:, None] <= vt.max_shift_s + 1e-6)
            sf = data.stop_facility
            assigned = sf >= 0
            adm = np.ones((n, nf), dtype=bool)
            adm[assigned] = False
            adm[np.flatnonzero(assigned), sf[assigned]] = True
            back_ok = np.any(f_ok & adm, axis=1)
        else:
            back_ok = np.zeros(n, dtype=bool)
        direct = dep_s + dur[data.stops, dep] / sp
        direct_ok = (direct <= end + 1e-6) & (direct - leave <= vt.max_shift_s + 1e-6)
        back_ok = np.where(need_unload, back_ok, back_ok | direct_ok)
        good = allowed & fits & window_ok & back_ok
        ok_any |= good
        for s in np.flatnonzero(allowed & ~good):
            considered[s] += 1
            if not fits[s]:
                too_big[s].append(t)
            elif not window_ok[s]:
                why[s].add(f"window closes at {clock(data.stop_close_s[s])} but "
                           f"{vt.name} arrives at {clock(arr[s])} at the earliest")
            else:
                why[s].add(f"{vt.name} cannot unload and return to its depot within the "
                           "shift and facility hours")
    dims = data.load_dims
    for s in np.flatnonzero(~ok_any):
        if too_big[s]:
            why[s].add(_too_big_text(data, int(s), too_big[s],
                                     len(too_big[s]) == int(considered[s])))
        detail = "; ".join(sorted(why[s])) or "no allowed vehicle type has vehicles"
        reasons.append(f"{_stop_name(data, int(s))}: {detail}")
    if nf:
        assigned_t = assigned_load(data, np.arange(data.n_stops))
        on = _day_text(data)
        for f in np.flatnonzero(assigned_t > data.facility_capacity + 1e-9):
            loc = int(data.facilities[f])
            nm = data.names[loc]
            name = f" ({nm})" if nm and nm != data.ids[loc] else ""
            reasons.append(f"facility {data.ids[loc]}{name}{on}: assigned stops bring "
                           f"{num(assigned_t[f])} {dims[0]}, daily capacity "
                           f"{num(data.facility_capacity[f])} {dims[0]}"
                           + _frequency_hint(data))
        spare = np.maximum(data.facility_capacity - assigned_t, 0.0)
        free_t = float(data.stop_demand[data.stop_facility < 0, 0].sum())
        if free_t > 0 and free_t > float(spare.sum()) + 1e-9:
            caps = ", ".join(f"{data.ids[int(data.facilities[f])]} "
                             f"{num(data.facility_capacity[f])} {dims[0]}" for f in range(nf))
            reasons.append(f"facilities{on}: the stops not assigned to a facility bring "
                           f"{num(free_t)} {dims[0]}, but the daily capacities ({caps}) "
                           f"leave room for {num(float(spare.sum()))} {dims[0]} after the "
                           "assigned stops" + _frequency_hint(data))
    return reasons


def restrict(data: RoutingData, stops: np.ndarray, *,
             demand: np.ndarray | None = None,
             counts: tuple[int, ...] | None = None,
             facility_capacity: np.ndarray | None = None,
             name: str | None = None) -> tuple[RoutingData, np.ndarray]:
    """The sub-problem on ``stops`` (stop indices), with a compacted location table.

    ``demand`` replaces the stops' loads (rows aligned with ``stops``), ``counts`` the
    number of vehicles of each type, ``facility_capacity`` the facilities' daily
    capacities (by default the full ones: right only when the sub-problem is the only
    one delivering to a finite-capacity facility). Returns the sub-data and the original
    location index of each of its locations. Depots and facilities are all kept, in order.
    """
    stops = np.asarray(stops, dtype=np.int64)
    locs = np.concatenate([data.depots, data.stops[stops], data.facilities]).astype(np.int64)
    P, k = len(data.depots), len(stops)
    nf = len(data.facilities)
    vts = data.vehicle_types
    if counts is not None:
        vts = tuple(replace(vt, count=int(c)) for vt, c in zip(vts, counts, strict=True))
    ix = np.ix_(locs, locs)
    sub = RoutingData(
        ids=tuple(data.ids[i] for i in locs), names=tuple(data.names[i] for i in locs),
        lon=data.lon[locs], lat=data.lat[locs],
        distance_m=data.distance_m[ix], duration_s=data.duration_s[ix],
        load_dims=data.load_dims, depots=np.arange(P), depot_open_s=data.depot_open_s,
        depot_close_s=data.depot_close_s, stops=np.arange(P, P + k),
        stop_demand=data.stop_demand[stops] if demand is None else demand,
        stop_service_s=data.stop_service_s[stops], stop_open_s=data.stop_open_s[stops],
        stop_close_s=data.stop_close_s[stops],
        stop_allowed=tuple(data.stop_allowed[int(s)] for s in stops),
        stop_facility=data.stop_facility[stops], facilities=np.arange(P + k, P + k + nf),
        facility_unload_s=data.facility_unload_s, facility_open_s=data.facility_open_s,
        facility_close_s=data.facility_close_s,
        facility_capacity=(data.facility_capacity if facility_capacity is None
                           else facility_capacity),
        vehicle_types=vts,
        x=None if data.x is None else data.x[locs], y=None if data.y is None else data.y[locs],
        name=name or data.name, synthetic=data.synthetic, seed=data.seed, meta=dict(data.meta))
    return sub, locs


def _coords(data: RoutingData) -> tuple[np.ndarray, np.ndarray] | None:
    if data.x is not None and data.y is not None and np.all(np.isfinite(data.x)):
        return data.x, data.y
    if np.all(np.isfinite(data.lon)) and np.all(np.isfinite(data.lat)):
        return data.lon * np.cos(np.radians(np.nanmean(data.lat))), data.lat
    return None


#: :func:`part_size` raises a part to this many stops when vehicles' days are long (one
#: OR-Tools model of 2,100 stops and their unload copies peaks at about 1 GB)
MAX_PART_STOPS = 2500
#: the main search's seconds per stop that :func:`part_size` asks before it raises a
#: part: a first plan of the whole 2,100-stop Kim instance took 3.1 s on two shared cores
#: (model, greedy start, first solution), so a 30 s limit raises parts to 2,500 stops
#: (9 s of main search) and a 2 s limit leaves them at :data:`DEFAULT_PART_SIZE`
PART_S_PER_STOP = 0.003
#: above this many stops, route elimination works on neighbourhoods of the plan with an
#: ejection pool (:func:`wastenet.routing.improve.eliminate`) instead of searching the
#: whole instance from the remaining routes (:func:`_reduce_fleet`), which on 800 to
#: 2,100 stops left 30 to 190 stops out in every attempt
POOL_ABOVE = 500


#: the stops per part when ``RouteParams.part_size`` is None, unless :func:`part_size`
#: raises it
DEFAULT_PART_SIZE = 250


def part_size(data: RoutingData, params: RouteParams) -> int:
    """Target stops per part when decomposing: ``params.part_size`` when set; by default
    :data:`DEFAULT_PART_SIZE`, or up to :data:`MAX_PART_STOPS` when one vehicle's day may
    hold more than half a part.

    Each part ends with a partly filled route (handed on to the next part, see
    :func:`_solve_parts`) and no route crosses a border between parts, so parts that
    hold only one or two routes each cost vehicles: on the instances of Kim et al.
    (2006), with 100 to 260 stops a route, parts of 250 stops left the joined plans one
    or two vehicles above a solve of the whole day, with more travel. The stops one
    vehicle may serve are estimated as ``n / lb`` with ``lb`` the
    :func:`fleet_lower_bound` (an upper estimate, the fleet being at least ``lb``);
    the rule applies when vehicles are charged (``vehicle_weight > 0``) and ``lb`` is at
    least 2 (at 1 the bound says nothing). A larger part needs more time for its first
    plan: the raised size is also held to the main search's share of the time limit
    (:func:`budget_shares`) over :data:`PART_S_PER_STOP`, so that short limits keep the
    parts they had (a whole 2,100-stop day found no plan in 2 s).
    """
    if params.part_size is not None:
        return params.part_size
    size = DEFAULT_PART_SIZE
    if params.vehicle_weight <= 0 or data.n_stops == 0:
        return size
    lb = fleet_lower_bound(data)
    if lb >= 2 and data.n_stops / lb > size / 2:
        main_s = budget_shares(params)[0] * params.time_limit_s
        return max(size, min(MAX_PART_STOPS, int(main_s / PART_S_PER_STOP)))
    return size


def partition(data: RoutingData, params: RouteParams) -> list[np.ndarray]:
    """Stop index groups of about :func:`part_size` stops, by angle around the first depot.

    Stops are ordered by angle (the cut starts at the widest empty angular gap, so it is
    deterministic). When stops are assigned to facilities, whole catchments are kept
    together: catchments are ordered by the angle of their facility and packed into
    parts of about ``part_size`` stops; a catchment larger than that is cut by sector on
    its own. Without coordinates, stops are ordered by travel time from the depot.
    """
    n = data.n_stops
    size = part_size(data, params)
    k = max(1, math.ceil(n / size))
    if k <= 1:
        return [np.arange(n)]
    xy = _coords(data)
    dep = int(data.depots[0])

    def angle_order(locs: np.ndarray) -> np.ndarray:
        if xy is None:
            return np.argsort(data.duration_s[dep, locs], kind="stable")
        x, y = xy
        ang = np.arctan2(y[locs] - y[dep], x[locs] - x[dep])
        order = np.argsort(ang, kind="stable")
        sa = ang[order]
        gaps = np.diff(np.concatenate([sa, sa[:1] + 2 * np.pi]))
        cut = (int(np.argmax(gaps)) + 1) % len(locs)
        return np.roll(order, -cut)

    sf = data.stop_facility
    if not np.all(sf >= 0):
        order = angle_order(data.stops)
        return [np.sort(part) for part in np.array_split(order, k)]
    fac = np.unique(sf)
    fac_order = fac[angle_order(data.facilities[fac])]
    groups: list[np.ndarray] = []
    current: list[np.ndarray] = []
    held = 0
    for f in fac_order:
        c = np.flatnonzero(sf == f)
        if len(c) > size:
            if current:
                groups.append(np.sort(np.concatenate(current)))
                current, held = [], 0
            kk = math.ceil(len(c) / size)
            sub = angle_order(data.stops[c])
            groups.extend(np.sort(c[p]) for p in np.array_split(sub, kk))
            continue
        if held + len(c) > size and current:
            groups.append(np.sort(np.concatenate(current)))
            current, held = [], 0
        current.append(c)
        held += len(c)
    if current:
        groups.append(np.sort(np.concatenate(current)))
    return groups


def solve(data: RoutingData, params: RouteParams | None = None,
          progress: Progress | None = None) -> RoutePlan:
    """Plan the day.

    Raises :class:`InfeasibleError` naming the stops that cannot be served (found by
    :func:`precheck`, before any search), and :class:`~wastenet.errors.NoSolutionError`
    naming the stops a search left out and the limit that ended it (its time limit or
    its ``solution_limit``): a search does not prove infeasibility. Neither with
    ``allow_unserved``: the plan then lists the left-out stops as unserved.
    :class:`~wastenet.errors.ValidationError` when the weights of ``params`` and the
    costs, travel times and distances of ``data`` together exceed the integer range of
    the OR-Tools model (:func:`~wastenet.routing.ortools_adapter.check_objective_range`).

    ``params.time_limit_s`` bounds the whole call: every phase searches until its share
    of the limit or what is left of it, and none starts once it is spent. Only the last
    model build and the decoding can overrun it, by milliseconds on small instances
    (tests hold it to 1 s). Stops that no search could place in time (the decomposed
    parts reached after the limit, :func:`_solve_parts`) are left out by the time limit:
    NoSolutionError naming it, or unserved with ``allow_unserved``, and
    ``meta["stopped_by"]`` is ``"time_limit"``.
    """
    params = params or RouteParams()
    t0 = time.perf_counter()
    check_objective_range(data, _cfg(params, params.time_limit_s))
    reasons = precheck(data)
    if reasons:
        raise InfeasibleError(f"{len(reasons)} problem(s) make routing {data.name!r} "
                              "infeasible", reasons)
    if data.n_stops == 0:
        return _plan(data, (), (), params, t0, "EMPTY")
    if data.n_stops <= params.decompose_above or (
            params.part_size is None and data.n_stops <= part_size(data, params)):
        main, red, _ = budget_shares(params)
        raw, routes = _solve_capped(data, params, main * params.time_limit_s, t0,
                                    t0 + params.time_limit_s)
        dropped, stopped = list(raw.dropped), raw.stopped_by
        seen = [raw.stopped_by]
        if (dropped and params.solution_limit is None
                and t0 + params.time_limit_s - time.perf_counter() >= MIN_RETRY_S):
            # the shares of the later phases go to the stops left out instead
            routes, dropped, stopped = _reinsert(data, params, routes, dropped, t0)
            seen.append(stopped)
        if red > 0 and not dropped and routes:
            routes = _eliminate(data, params, routes, t0)
        if not dropped and routes:
            routes = _improve(data, params, routes, t0)
        if progress:
            progress(1.0, raw.status)
        plan = _plan(data, tuple(routes), tuple(sorted(dropped)), params, t0, raw.status,
                     {"stopped_by": first_limit(seen)})
    else:
        plan, stopped = _solve_parts(data, params, t0, progress)
    if plan.unserved and not params.allow_unserved:
        raise _left_over_error(data, params, plan, stopped)
    return plan


def _left_over_error(data: RoutingData, params: RouteParams, plan: RoutePlan,
                     stopped: str) -> NoSolutionError:
    """The error for stops a search left out: :class:`NoSolutionError` naming the limit
    that ended the search (``stopped``, see
    :class:`~wastenet.routing.ortools_adapter.RawSolution`) and the stops.

    A search proves nothing about the stops it leaves out, whether its solution limit
    or its time limit ended it: the provably unservable ones are refused before any
    search, by :func:`precheck`, with :class:`InfeasibleError`.
    """
    names = [_stop_name(data, s) for s in plan.unserved]
    shown = "; ".join(names[:20]) + (f"; and {len(names) - 20} more"
                                     if len(names) > 20 else "")
    head = f"{len(names)} stop(s) were left unserved when "
    if stopped == "solution_limit":  # the search ended early at its solution limit
        return NoSolutionError(
            f"{head}the solution limit (solution_limit={params.solution_limit}) stopped "
            f"the search after {plan.elapsed_s:.2f} s of the {params.time_limit_s:g} s time "
            "limit; that does not prove them infeasible: a larger solution limit (or none) "
            f"may serve them: {shown}")
    proof = ("that does not prove them infeasible (the pre-checks found no reason they "
             "cannot be served)")
    if stopped == "time_limit":
        return NoSolutionError(
            f"{head}the time limit (time_limit_s={params.time_limit_s:g}) ended the search "
            f"after {plan.elapsed_s:.2f} s; {proof}: a longer time limit, or more vehicles, "
            f"may serve them: {shown}")
    return NoSolutionError(  # no search reached them (no vehicle left for them)
        f"{head}no search could place them ({plan.status}, {plan.elapsed_s:.2f} s of the "
        f"{params.time_limit_s:g} s time limit); {proof}: more vehicles, or a longer time "
        f"limit, may serve them: {shown}")


def fleet_bound(data: RoutingData) -> int:
    """A generous estimate of the vehicles a plan needs (per type cap for the model).

    ``B = ⌈1.5·max(Q/R, W/H, n/m)⌉ + 3`` with ``Q`` the total load over the largest daily
    route capacity ``R``, ``W`` the total service time over the longest usable shift
    ``H`` (shift minus break), and ``n`` stops over the largest ``max_stops`` ``m``.
    Identical vehicles beyond it only slow the search down; :func:`solve` doubles it
    when stops are left over.
    """
    vts = [vt for vt in data.vehicle_types if vt.count > 0]
    if not vts or data.n_stops == 0:
        return 1
    lb = 1.0
    rc = [max(vt.route_capacity) if vt.route_capacity is not None else math.inf for vt in vts]
    if np.isfinite(max(rc)) and data.stop_demand.size:
        caps = np.array([vt.route_capacity for vt in vts if vt.route_capacity is not None])
        lb = max(lb, float(np.max(data.stop_demand.sum(axis=0) / caps.max(axis=0))))
    work, stops = _work_and_stop_ratios(data, vts)
    lb = max(lb, work)
    if all(vt.count >= data.n_stops for vt in vts) and data.stop_demand.size:
        # unlimited fleet (CVRP style): each trip may be its own vehicle
        caps = np.array([vt.capacity for vt in vts])
        lb = max(lb, float(np.max(data.stop_demand.sum(axis=0) / caps.max(axis=0))))
    lb = max(lb, stops)
    return math.ceil(1.5 * lb) + 3


def _work_and_stop_ratios(data: RoutingData, vts: list[VehicleType]) -> tuple[float, float]:
    """``W/H`` (total service time over the longest usable shift: shift minus break) and
    ``n/m`` (stops over the largest ``max_stops``), each 0 when it does not apply."""
    shift = max(min(vt.max_shift_s, vt.shift_end_s - vt.shift_start_s) - vt.break_duration_s
                for vt in vts)
    work = float(data.stop_service_s.sum()) / shift if shift > 0 else 0.0
    ms = [vt.max_stops for vt in vts]
    stops = (data.n_stops / max(max(int(m or 1) for m in ms), 1)
             if all(m is not None for m in ms) else 0.0)
    return work, stops


def fleet_lower_bound(data: RoutingData) -> int:
    """A valid lower bound on the vehicles of any plan: ``max(⌈Q/R⌉, ⌈W/H⌉, ⌈n/m⌉)``.

    ``Q`` is the total load (per dimension) over the largest daily route capacity ``R``,
    ``W`` the total service time over the longest usable shift ``H`` (shift minus
    break), ``n`` the stops over the largest ``max_stops`` ``m``; each vehicle does at
    most one day of each.
    """
    vts = [vt for vt in data.vehicle_types if vt.count > 0]
    if not vts or data.n_stops == 0:
        return 0
    lb = 1
    caps = [vt.route_capacity for vt in vts]
    if all(c is not None for c in caps) and data.stop_demand.size:
        cap = np.array(caps, dtype=float).max(axis=0)
        lb = max(lb, math.ceil(float(np.max(data.stop_demand.sum(axis=0) / cap)) - 1e-9))
    work, stops = _work_and_stop_ratios(data, vts)
    return max(lb, math.ceil(work - 1e-9), math.ceil(stops))


def _start(routes: list[Route]) -> tuple[tuple[int, tuple[tuple[str, int], ...]], ...]:
    """A start solution for the adapter: each route's type and visits between depots."""
    return tuple((r.vehicle_type, tuple((v.kind, v.index) for v in r.visits[1:-1]))
                 for r in routes)


def _score(params: RouteParams, routes: list[Route]) -> float:
    """The acceptance score of a plan: ``W_veh·|routes| + w_time·Σ travel_s +
    w_cost·Σ cost_yuan``, with the reported route costs (hourly cost on the whole
    duration, break included). Unlike the OR-Tools objective it has no balance term
    and no unload charge (module docstring).
    """
    return (params.vehicle_weight * len(routes)
            + params.time_weight * sum(r.travel_s for r in routes)
            + params.cost_weight * sum(r.cost_yuan for r in routes))


def used_counts(data: RoutingData, routes: list[Route],
                minus: int | None = None) -> tuple[int, ...]:
    """Vehicles of each type that ``routes`` use (one fewer of type ``minus``), capped at
    each type's count."""
    used = [0] * len(data.vehicle_types)
    for r in routes:
        used[r.vehicle_type] += 1
    if minus is not None:
        used[minus] -= 1
    return tuple(min(vt.count, c) for vt, c in zip(data.vehicle_types, used, strict=True))


def _capped_to_used(data: RoutingData, routes: list[Route],
                    minus: int | None = None) -> RoutingData:
    return replace(data, vehicle_types=tuple(
        replace(vt, count=c) for vt, c in zip(
            data.vehicle_types, used_counts(data, routes, minus), strict=True)))


def resolve_from(sub: RoutingData, params: RouteParams, time_s: float,
                 start: tuple[tuple[int, tuple[tuple[str, int], ...]], ...],
                 copies: int | None, **overrides: object) -> tuple[list[Route] | None, int]:
    """Search ``sub`` from the start solution ``start`` for ``time_s``.

    Returns the decoded routes when every stop is served and every route decodes (else
    ``None``), and the number of stops left out.
    """
    routes, dropped = resolve_partial(sub, params, time_s, start, copies, **overrides)
    if routes is None or dropped:
        return None, len(dropped)
    return routes, 0


def resolve_partial(sub: RoutingData, params: RouteParams, time_s: float,
                    start: tuple[tuple[int, tuple[tuple[str, int], ...]], ...],
                    copies: int | None,
                    **overrides: object) -> tuple[list[Route] | None, tuple[int, ...]]:
    """:func:`resolve_from` that also hands back a solution leaving stops out.

    Returns the decoded routes (``None`` when some route does not decode) and the stops
    of ``sub`` left out (all of them when the search found no solution).
    """
    cfg = replace(_cfg(params, time_s), unload_copies=copies, start_routes=start,
                  **overrides)  # type: ignore[arg-type]
    raw = solve_raw(sub, cfg)
    decoded = [_decode(sub, r) for r in raw.routes]
    if any(d is None for d in decoded):
        return None, raw.dropped
    return [d for d in decoded if d is not None], raw.dropped


def _reduce_fleet(data: RoutingData, params: RouteParams, routes: list[Route],
                  deadline: float) -> list[Route]:
    """Route elimination, then polishing, until ``deadline``; returns the new routes.

    Repeatedly take the route with the fewest stops out of the incumbent, cap each type at
    the vehicles it still uses, and search from the remaining routes with the removed stops
    unperformed (their drop penalty dominates the objective). When every stop is served
    again and every route decodes, the plan with one vehicle fewer is the new incumbent;
    otherwise the next smallest route is tried. Stops when the fleet reaches
    :func:`fleet_lower_bound`, when every route has been tried, or at the deadline. The
    time left then polishes the incumbent with guided local search on the fleet it uses,
    unless the fleet is at the bound: then nothing is left to eliminate and the time goes
    to the neighbourhood search (:func:`_improve`), which improves travel more than a
    whole-instance search does (444_stop of Kim et al. at 120 s: 7,683 s after
    elimination; 24 s of polishing gained nothing, the same 24 s of neighbourhood search
    ended 116 s lower, single runs).
    The result is never worse than the input: an attempt is only accepted with fewer
    vehicles and no stop left out, the polished plan only with a lower :func:`_score`.
    """
    from wastenet.routing.improve import smallest_untried

    lb = fleet_lower_bound(data)
    tried: set[tuple[tuple[str, int], ...]] = set()
    copies = unload_copies(data, params)
    while len(routes) > lb:
        left = deadline - time.perf_counter()
        if left < 1.0:
            break
        cand = smallest_untried(routes, tried)
        if cand is None:
            break
        sub = _capped_to_used(data, routes, routes[cand].vehicle_type)
        keep = [r for k, r in enumerate(routes) if k != cand]
        new, left_out = resolve_from(sub, params, min(left, max(2.0, 0.5 * left)),
                                     _start(keep), copies)
        if new is None or len(new) >= len(routes):
            log.info("route elimination: %d -> %d vehicles failed (%d stops left)",
                     len(routes), len(routes) - 1, left_out)
            continue
        log.info("route elimination: %d -> %d vehicles", len(routes), len(new))
        routes = new
        tried.clear()
    left = deadline - time.perf_counter()
    if left >= 1.0 and len(routes) > lb:
        sub = _capped_to_used(data, routes)
        polished, _ = resolve_from(sub, params, left, _start(routes), copies)
        if polished is not None and _score(params, polished) < _score(params, routes):
            routes = polished
    return routes


def _eliminate(data: RoutingData, params: RouteParams, routes: list[Route],
               t0: float) -> list[Route]:
    """Route elimination (step 4 of the module docstring) from ``routes``; returns the
    new routes, never more of them.

    Up to :data:`POOL_ABOVE` stops, or when a neighbourhood cannot be re-solved on its
    own (:func:`wastenet.routing.improve.applicable`): :func:`_reduce_fleet` until the
    end of the route elimination share. Above: the ejection pool of
    :func:`wastenet.routing.improve.eliminate`, which starts no attempt after the end of
    that share but may finish one under way until half the neighbourhood search's share
    is left (vehicles come first); what it leaves goes to the neighbourhood search.
    """
    from wastenet.routing.improve import applicable, eliminate

    main, red, lns = budget_shares(params)
    T = params.time_limit_s
    if not applicable(data) or data.n_stops <= POOL_ABOVE:
        return _reduce_fleet(data, params, routes, t0 + (main + red) * T)
    return eliminate(data, params, routes, t0 + (main + red) * T,
                     finish_by=t0 + (1.0 - 0.5 * lns) * T)


def budget_shares(params: RouteParams) -> tuple[float, float, float]:
    """Shares of the time limit: (main search, route elimination, neighbourhood search).

    Route elimination runs only when vehicles are charged; both phases only without a
    solution limit (their slices are wall-clock), so runs under a solution limit stay
    deterministic.
    """
    if params.solution_limit is not None:
        return 1.0, 0.0, 0.0
    red = params.reduce_share if params.vehicle_weight > 0 else 0.0
    lns = params.lns_share * (1.0 - red)
    return 1.0 - red - lns, red, lns


#: the share of the neighbourhood search's time kept for the trip exchange at its end
EXCHANGE_SHARE = 0.05


def _improve(data: RoutingData, params: RouteParams, routes: list[Route],
             t0: float) -> list[Route]:
    """Step 5: the neighbourhood search of :mod:`wastenet.routing.improve` until the end
    of the time limit; on plans where some vehicle makes two trips or more, until the
    last :data:`EXCHANGE_SHARE` of its time (at least half a second), which goes to the
    trip exchange of :mod:`wastenet.routing.exchange` (relocate, SWAP* and 2-opt*
    between trips, to a local optimum or the end of the limit).

    Measured at 120 s on Kim et al.'s 444-stop instance (seeds 0-2, single runs on two
    shared cores): 7,202.3 / 7,302.0 / 7,294.0 s of travel, against 7,319.5 / 7,402.4 /
    7,353.1 s without the exchange. Rounds of neighbourhood search each followed by an
    exchange did better there (7,230.0 / 7,238.7 / 7,225.8 s) but worse on the Xinmin
    county day at 60 s (seeds 1-3: 23,508 / 23,808 / 23,707 yuan against 23,207 / 23,365
    / 23,249 without the exchange, and 23,206 / 23,365 / 23,196 with one exchange at the
    end): an exchange early sends the neighbourhood search to other local optima.
    Plans of one trip per vehicle (the CVRP benchmarks) get the neighbourhood search
    alone.
    """
    from wastenet.routing.exchange import exchange, multi_trip
    from wastenet.routing.improve import improve

    if budget_shares(params)[2] <= 0:
        return routes
    end = t0 + params.time_limit_s
    if not multi_trip(routes):
        return improve(data, params, routes, end)
    tail = max(0.5, EXCHANGE_SHARE * (end - time.perf_counter()))
    routes = improve(data, params, routes, end - tail)
    return exchange(data, params, routes, end)


def _solve_capped(data: RoutingData, params: RouteParams, time_limit_s: float,
                  t0: float, end: float) -> tuple[RawSolution, list[Route]]:
    """Solve with each type's count capped at :func:`fleet_bound` (doubled on drops),
    decode the routes, and place the breaks.

    Breaks are first handled by shortening the day and placing each route's break
    afterwards (fast moves). When a break cannot be placed on some route, or stops are
    left over, the part is solved again with OR-Tools' exact break intervals.

    The searches share ``time_limit_s`` from ``t0``; a repeated search gets at least a
    fifth (fleet doubled) or three tenths (exact breaks) of it, but none runs past
    ``end``, the end of the whole solve's time limit (:func:`_time_to`), and none is
    started once that is spent (:func:`_spent`: the first search's stops left out and
    routes whose break cannot be placed then stay left out, by the time limit). The
    returned solution's ``stopped_by`` covers all of them (:func:`first_limit`)."""
    counts = [vt.count for vt in data.vehicle_types]
    # the greedy construction sizes the fleet itself; OR-Tools strategies get a bound
    bound = max([*counts, 1]) if params.first_solution == "CONSTRUCT" else fleet_bound(data)
    copies = unload_copies(data, params)
    seen: list[str] = []  # what stopped each search
    while True:
        capped = [min(c, bound) for c in counts]
        sub = data if capped == counts else replace(
            data, vehicle_types=tuple(replace(vt, count=c) for vt, c in
                                      zip(data.vehicle_types, capped, strict=True)))
        left = time_limit_s - (time.perf_counter() - t0)
        cfg = replace(_cfg(params, _time_to(end, max(left, 0.2 * time_limit_s))),
                      unload_copies=copies)
        raw = solve_raw(sub, cfg)
        seen.append(raw.stopped_by)
        if not raw.dropped or capped == counts:
            break
        if _spent(end):
            seen.append("time_limit")
            break
        log.info("%d stops left with %d vehicles per type; doubling", len(raw.dropped), bound)
        bound *= 2
    decoded = [_decode(sub, r) for r in raw.routes]
    has_break = any(vt.break_duration_s > 0 for vt in sub.vehicle_types)
    retry = has_break and cfg.break_model == "insert" and bool(raw.dropped or None in decoded)
    if retry and _spent(end):
        seen.append("time_limit")
    elif retry:
        left = time_limit_s - (time.perf_counter() - t0)
        log.info("break placement failed on %d route(s), %d stops left: exact breaks",
                 decoded.count(None), len(raw.dropped))
        cfg = replace(cfg, break_model="exact",
                      time_limit_s=_time_to(end, max(left, 0.3 * time_limit_s)))
        raw = solve_raw(sub, cfg)
        seen.append(raw.stopped_by)
        decoded = [_decode(sub, r) for r in raw.routes]
    routes = [r for r in decoded if r is not None]
    if len(routes) != len(decoded):  # not expected (see _decode): its stops are left out
        lost = [v.index for r, d in zip(raw.routes, decoded, strict=True) if d is None
                for v in r.visits if v.kind == "stop"]
        raw = replace(raw, dropped=tuple(sorted({*raw.dropped, *lost})))
    return replace(raw, stopped_by=first_limit(seen)), routes


def first_limit(seen: list[str]) -> str:
    """What stopped a plan's searches, ``seen`` in turn (each
    :attr:`~wastenet.routing.ortools_adapter.RawSolution.stopped_by`), as one value:
    ``"time_limit"`` when any search ran to its time limit (the plan then depends on the
    machine's speed), else ``"solution_limit"`` when any ended at the solution limit,
    else ``"search_end"`` when a search ran, else ``""``. Recorded in the plan's
    ``meta["stopped_by"]`` (read by :func:`wastenet.province.stopped_by`)."""
    for what in ("time_limit", "solution_limit"):
        if what in seen:
            return what
    return "search_end" if any(seen) else ""


#: the least time left for a second search on the stops the first one left out
MIN_RETRY_S = 0.2
#: the shortest search handed to the adapter; with less time left the limit is spent
#: (:func:`_spent`) and no search is started, except the first one of an instance solved
#: whole, whose start solution is still built, restored and decoded
MIN_SEARCH_S = 0.01
#: the least time a decomposed part gets while the time left allows it: its share of
#: the main search, raised to this from the later phases' time, but never above its fair
#: share of what is left of the whole limit (:func:`_solve_parts`)
PART_MIN_S = 0.5


def _time_to(end: float, want: float = math.inf) -> float:
    """Seconds for a search that wants ``want`` s but must end by ``end`` (a
    ``time.perf_counter()`` instant, the end of the solve's time limit): at most the
    time left, never below :data:`MIN_SEARCH_S`."""
    return max(min(want, end - time.perf_counter()), MIN_SEARCH_S)


def _spent(end: float) -> bool:
    """Whether the time limit ending at ``end`` is spent: less than :data:`MIN_SEARCH_S`
    left, so no model is built and no search started any more."""
    return end - time.perf_counter() < MIN_SEARCH_S


def _depot_unload(data: RoutingData, params: RouteParams) -> bool:
    """Vehicles are free and every facility sits at its depots (the CVRP mapping)."""
    if params.vehicle_weight > 0 or not implicit_final_unload(data):
        return False
    if params.cost_weight > 0 and any(vt.fixed_cost_yuan > 0 for vt in data.vehicle_types):
        return False
    if any(vt.count < data.n_stops for vt in data.vehicle_types):
        return False
    f, d = data.facilities, data.depots
    return bool(np.all(data.duration_s[np.ix_(f, d)] == 0)
                and np.all(data.duration_s[np.ix_(d, f)] == 0)
                and np.all(data.facility_unload_s == 0))


def unload_copies(data: RoutingData, params: RouteParams) -> int | None:
    """Unload copies per facility for the adapter: the parameter, or none at all when
    vehicles are free and every facility sits at the depots (a free extra vehicle then
    replaces any reload), else ``None`` (the adapter's default)."""
    if params.unload_copies is None and _depot_unload(data, params):
        return 0
    return params.unload_copies


def _cfg(params: RouteParams, time_limit_s: float) -> AdapterConfig:
    return AdapterConfig(
        time_limit_s=time_limit_s, solution_limit=params.solution_limit,
        vehicle_weight=params.vehicle_weight, time_weight=params.time_weight,
        cost_weight=params.cost_weight, balance_weight=params.balance_weight,
        first_solution=params.first_solution, metaheuristic=params.metaheuristic,
        gls_lambda=params.gls_lambda, unload_copies=params.unload_copies,
        scheduling=params.scheduling, break_model=params.break_model)


def _solve_parts(data: RoutingData, params: RouteParams, t0: float,
                 progress: Progress | None) -> tuple[RoutePlan, str]:
    """Solve the parts of :func:`partition` one after the other and merge the routes.

    The vehicles still free go to each next part. The shortest route of a part (its
    partly used last vehicle) is not kept: its stops are handed on to the next part of
    (every part keeps all facilities), so vehicles are not left half empty at each border.
    So are the stops a part leaves out. When stops are still left out at the end (the
    last part found no vehicle free, for example), they are inserted into the merged
    routes by a search on the whole instance (:func:`_reinsert`).

    Facility daily capacities are shared by the parts: each part gets the capacity left
    by the routes kept so far, less the assigned loads of the parts still to come
    (:func:`_part_capacity`), so the merged routes keep every facility within its
    capacity. The phases that follow (route elimination, polishing) search the whole
    instance, whose model counts every route; the neighbourhood search of
    :mod:`wastenet.routing.improve` is not run when such capacities are shared.

    Time: the parts share the main search's part of the limit (:func:`budget_shares`)
    by their stops: a part of ``k`` of the ``m`` stops not yet reached gets ``k/m`` of
    what is left of it, raised to :data:`PART_MIN_S` (from the later phases' time) but
    never above ``k/m`` of what is left of the whole limit, so that a short limit is
    shared fairly instead of going to the first parts. Once the limit is spent
    (:func:`_spent`, an earlier part overran on a loaded machine) no part builds its
    model or searches: the stops of those parts (and those handed on to them) are left
    out by the time limit, as a search leaves stops out when its time limit ends it:
    the returned limit is ``"time_limit"`` (so :func:`solve` raises
    :class:`~wastenet.errors.NoSolutionError` naming it, or, with ``allow_unserved``,
    lists them as unserved), and so is the plan's ``meta["stopped_by"]``. The
    re-insertion needs :data:`MIN_RETRY_S` left; without it the stops left out stay
    out, by the time limit too. With time to spare the shares, and so the plans, are
    those of a solve without these checks.

    Also returns what stopped the last search that left stops out (see
    :class:`~wastenet.routing.ortools_adapter.RawSolution`; "" when none did).
    """
    groups = partition(data, params)
    end = t0 + params.time_limit_s
    main, red, _ = budget_shares(params)
    budget_s = params.time_limit_s * main
    counts = [vt.count for vt in data.vehicle_types]
    routes: list[Route] = []
    dropped: list[int] = []
    statuses = []
    stopped = ""  #: what stopped the last search that left stops out
    seen: list[str] = []  #: what stopped each part's searches
    n = data.n_stops
    done = 0
    carry = np.zeros(0, dtype=np.int64)
    for gi, g0 in enumerate(groups):
        g = np.sort(np.concatenate([g0, carry]))
        carry = np.zeros(0, dtype=np.int64)
        # no vehicle left: the stops wait for the re-insertion; no time left: no model,
        # no search, the stops are left out by the time limit
        skip = ("NO_VEHICLES", "no vehicle left") if not any(counts) else \
            ("NO_TIME", "time limit spent") if _spent(end) else None
        if skip is not None:
            statuses.append(skip[0])
            if skip[0] == "NO_TIME":
                seen.append("time_limit")
                stopped = "time_limit"
            dropped.extend(int(s) for s in g)
            done += len(g0)
            log.info("part %d/%d: %d stops, %s", gi + 1, len(groups), len(g), skip[1])
            if progress:
                progress(done / n, f"part {gi + 1}/{len(groups)}")
            continue
        now = time.perf_counter()
        frac = len(g0) / max(n - done, 1)
        share = max((t0 + budget_s - now) * frac, min(PART_MIN_S, (end - now) * frac))
        sub, locs = restrict(data, g, counts=tuple(counts), name=f"{data.name}#{gi}",
                             facility_capacity=_part_capacity(data, routes, groups[gi + 1:]))
        raw, part = _solve_capped(sub, params, share, time.perf_counter(), end)
        statuses.append(raw.status)
        seen.append(raw.stopped_by)
        if gi + 1 < len(groups) and len(part) > 1:
            short = min(range(len(part)), key=lambda k: (part[k].duration_s, k))
            carry = np.array([int(g[v.index]) for v in part[short].visits
                              if v.kind == "stop"], dtype=np.int64)
            del part[short]
        for rt in part:
            t = rt.vehicle_type
            number = data.vehicle_types[t].count - counts[t]
            counts[t] -= 1
            routes.append(_remap(rt, g, locs, number))
        if raw.dropped:
            stopped = raw.stopped_by
            left_out = np.array([int(g[s]) for s in raw.dropped], dtype=np.int64)
            if gi + 1 < len(groups):  # another chance in the next part
                carry = np.concatenate([carry, left_out])
            else:
                dropped.extend(left_out.tolist())
        done += len(g0)
        log.info("part %d/%d: %d stops, %d routes kept, %d stops handed on, %s", gi + 1,
                 len(groups), len(g), len(part), len(carry), raw.status)
        if progress:
            progress(done / n, f"part {gi + 1}/{len(groups)}")
    status = "DECOMPOSED:" + ",".join(sorted(set(statuses)))
    if dropped and routes and end - time.perf_counter() >= MIN_RETRY_S:
        routes, dropped, stopped = _reinsert(data, params, routes, dropped, t0)
        seen.append(stopped)
    elif dropped and routes:  # no time left to re-insert them
        stopped = "time_limit"
        seen.append(stopped)
    if red > 0 and not dropped and routes:
        routes = _eliminate(data, params, routes, t0)
    if not dropped and routes:
        routes = _improve(data, params, routes, t0)
    plan = _plan(data, tuple(routes), tuple(sorted(dropped)), params, t0, status,
                 {"parts": len(groups), "stopped_by": first_limit(seen)})
    return plan, stopped


def _reinsert(data: RoutingData, params: RouteParams, routes: list[Route], dropped: list[int],
              t0: float) -> tuple[list[Route], list[int], str]:
    """Insert the stops ``dropped`` into ``routes``: one search on the whole instance
    and its whole fleet (the vehicles that ``routes`` use and those still free), from
    ``routes`` with the dropped stops unperformed, for the time left of the time limit
    (:func:`_time_to`) or up to the solution limit. The result is kept when it leaves
    fewer stops out and every route decodes. Returns the routes, the stops still left
    out and what stopped the search. The callers call it with time left; its second
    search (exact breaks) is not started once the limit is spent (:func:`_spent`).
    """
    time_s = _time_to(t0 + params.time_limit_s)
    cfg = replace(_cfg(params, time_s), unload_copies=unload_copies(data, params),
                  start_routes=_start(routes))
    raw = solve_raw(data, cfg)
    decoded = [_decode(data, r) for r in raw.routes]
    if None in decoded and cfg.break_model == "insert" and any(
            vt.break_duration_s > 0 for vt in data.vehicle_types) and not _spent(
            t0 + params.time_limit_s):
        raw = solve_raw(data, replace(cfg, break_model="exact",
                                      time_limit_s=_time_to(t0 + params.time_limit_s)))
        decoded = [_decode(data, r) for r in raw.routes]
    new = [r for r in decoded if r is not None]
    log.info("re-inserting %d stops left out: %d left, %s", len(dropped),
             len(raw.dropped), raw.status)
    if len(new) == len(decoded) and len(raw.dropped) < len(dropped):
        return new, [int(s) for s in raw.dropped], raw.stopped_by
    return routes, dropped, raw.stopped_by


def delivered_t(data: RoutingData, routes: list[Route]) -> np.ndarray:
    """Load (first dimension) that ``routes`` unload at each facility; zeros when the
    data has no load dimension."""
    out = np.zeros(len(data.facilities))
    if not data.load_dims:
        return out
    for r in routes:
        load = 0.0
        for v in r.visits:
            if v.kind == "stop":
                load += float(data.stop_demand[v.index, 0])
            elif v.kind == "unload":
                out[v.index] += load
                load = 0.0
    return out


def _part_capacity(data: RoutingData, kept: list[Route],
                   later: list[np.ndarray]) -> np.ndarray:
    """Daily facility capacities for the next part of :func:`_solve_parts`.

    The full capacity less what the routes ``kept`` so far unload there, less the
    assigned loads of the stops in the ``later`` parts (which must go there whatever
    happens), never below zero. Solving a part within it leaves, by induction, room for
    every later part's assigned loads: :func:`precheck` makes sure that holds at the
    start, and a route a part hands on carried at most its stops' assigned loads.
    Infinite capacities stay infinite.
    """
    cap = np.asarray(data.facility_capacity, dtype=np.float64)
    if not np.any(np.isfinite(cap)):
        return cap
    reserved = np.zeros(len(cap))
    if later and data.load_dims:
        reserved = assigned_load(data, np.concatenate(later))
    left = cap - delivered_t(data, kept) - reserved
    return np.where(np.isfinite(cap), np.maximum(left, 0.0), cap)


def _remap(rt: Route, g: np.ndarray, locs: np.ndarray, number: int) -> Route:
    visits = []
    for v in rt.visits:
        idx = int(g[v.index]) if v.kind == "stop" else v.index
        visits.append(replace(v, index=idx, location=int(locs[v.location])))
    return replace(rt, visits=tuple(visits), vehicle=number)


def _decode(data: RoutingData, raw: RawRoute, *, quiet: bool = False) -> Route | None:
    """Real-valued timeline of one raw route.

    The sequence and the gap of the break come from the solver; times are recomputed as
    the earliest schedule (service starts at ``max(arrival, open)``, the break starts at
    ``max(earliest, departure)`` in its gap). This schedule is never later than the
    solver's integer one, so it keeps every window, shift and span the solver kept. The
    depot departure is then postponed to remove idle waiting before the first visit.
    Empty unloads (right after the depot or another unload) are dropped, unless the
    route only keeps its windows and shift through them: with a matrix that is not
    metric, passing through a facility can be quicker than the direct arc, and the
    solver may use an empty unload as that shortcut; the route then keeps its empty
    unloads. Returns None when no schedule keeps every rule (with the ``"insert"``
    break model: the break cannot be placed), never a schedule that breaks one.
    ``quiet``: without the log lines (for callers that try sequences of their own, such
    as :mod:`wastenet.routing.exchange`, to whom a rejected sequence is no news).
    """
    t = raw.vehicle_type
    vt = data.vehicle_types[t]
    number = raw.number
    best = _best_schedule(data, vt, raw, drop_empty=True)
    if best is None:
        best = _best_schedule(data, vt, raw, drop_empty=False)
        if best is not None and not quiet:
            log.debug("route %s#%d keeps its empty unloads (a shortcut of the solver)",
                      vt.name, number)
    if best is None:
        if not quiet and raw.break_free:  # the caller solves again with exact breaks
            log.debug("route %s#%d: no gap takes the break", vt.name, number)
        elif not quiet:  # not expected (the integer model is conservative): dropped
            log.warning("route %s#%d: no schedule keeps every rule", vt.name, number)
        return None
    return _timeline(data, t, number, best)


def _best_schedule(data: RoutingData, vt: VehicleType, raw: RawRoute,
                   drop_empty: bool) -> tuple | None:
    """The earliest-returning schedule (see :func:`_schedule`) of the raw route's visits
    over the break's admissible gaps, or None; ``drop_empty``: without its empty
    unloads (see :func:`_decode`)."""
    BRK = None
    seq: list = []
    for k, v in enumerate(raw.visits):
        if drop_empty and v.kind == "unload" and seq and seq[-1] is not BRK and seq[-1].kind in (
                "depot", "unload"):
            pass  # empty unload
        elif drop_empty and v.kind == "unload" and len(seq) >= 2 and seq[-1] is BRK and seq[
                -2].kind in ("depot", "unload"):
            pass
        else:
            seq.append(v)
        if raw.break_gap is not None and k == raw.break_gap:
            seq.append(BRK)
    options = [seq]
    if raw.break_free:  # the model had no break: try every gap, and none
        plain = [x for x in seq if x is not BRK]
        options = [[*plain[:k + 1], BRK, *plain[k + 1:]] for k in range(len(plain) - 1)]
        options.append(plain)
    elif raw.break_flexible and raw.break_gap is not None:
        j = seq.index(BRK)
        alt = [x for x in seq if x is not BRK]
        alt.insert(j + 1, BRK)  # after the final unload instead
        options.append(alt)
    if raw.break_gap is not None:
        options.append([x for x in seq if x is not BRK])  # maybe no break is needed
    best = None
    for opt in options:
        sched = _schedule(data, vt, opt, float(raw.visits[0].start_s))
        if sched is not None and (best is None or sched[1][-1] < best[1][-1]):
            best = sched
    return best


def _timeline(data: RoutingData, t: int, number: int, best: tuple) -> Route:
    """The decoded :class:`Route` of a schedule of :func:`_schedule`: visits with their
    times and loads, and the totals recomputed from the float matrices."""
    vt = data.vehicle_types[t]
    seq2, arrival, start, departure, b = best
    sp = vt.speed_factor
    loc = [_loc(data, v.kind, v.index) for v in seq2]
    D = len(data.load_dims)
    load = np.zeros(D)
    visits = []
    dist = travel = tkm = 0.0
    total = np.zeros(D)
    for i, v in enumerate(seq2):
        if i > 0:
            d = float(data.distance_m[loc[i - 1], loc[i]])
            dist += d
            travel += float(data.duration_s[loc[i - 1], loc[i]]) / sp
            tkm += float(load[0]) * d / 1000.0 if D else 0.0
        if v.kind == "stop":
            load = load + data.stop_demand[v.index]
            total += data.stop_demand[v.index]
        elif v.kind == "unload":
            load = np.zeros(D)
        visits.append(Visit(v.kind, v.index, loc[i], arrival[i], start[i], departure[i],
                            tuple(float(x) for x in load)))
    duration = visits[-1].arrival_s - visits[0].departure_s
    cost = (vt.fixed_cost_yuan + vt.cost_yuan_per_km * dist / 1000.0
            + vt.cost_yuan_per_h * duration / 3600.0)
    return Route(vehicle_type=t, vehicle=number, visits=tuple(visits), break_start_s=b,
                 distance_m=dist, duration_s=duration, travel_s=travel,
                 load_total=tuple(float(x) for x in total), tonne_km=tkm, cost_yuan=cost)


def _schedule(data: RoutingData, vt: VehicleType, seq: list, leave: float,
              strict: bool = True) -> tuple | None:
    """Earliest schedule of ``seq`` (visits with ``None`` marking the break's gap).

    Returns (visits, arrival, start, departure, break_start) or None when a window,
    the break window or the shift end is missed (only with ``strict``).
    """
    visits = [v for v in seq if v is not None]
    gap = None
    if None in seq:
        gap = seq.index(None) - 1  # break between visits[gap] and visits[gap + 1]
    sp = vt.speed_factor
    bd = vt.break_duration_s
    loc = [_loc(data, v.kind, v.index) for v in visits]
    svc = [_service(data, v.kind, v.index) for v in visits]
    m = len(visits)
    if gap != 0 and m > 1:  # postpone leaving while the first visit would only wait
        tr0 = data.duration_s[loc[0], loc[1]] / sp
        o1 = _open(data, visits[1])
        leave = max(leave, o1 - tr0)
    arrival, start, departure = [leave], [leave], [leave]
    b = None
    ok = True
    for i in range(1, m):
        dep = departure[-1]
        tr = float(data.duration_s[loc[i - 1], loc[i]]) / sp
        arr = dep + tr
        ready = arr
        if gap == i - 1:
            b = max(vt.break_earliest_s, dep)
            if b > vt.break_latest_s + 1e-9:
                ok = False
            if b < arr:
                arr += bd  # driving interrupted by the break
                ready = arr
            else:
                ready = b + bd  # break while waiting at the next place
        if i == m - 1:
            st = ready
            if gap == i - 1 and b is not None and b >= arr:
                b, st = None, arr  # back before the break: it is taken after the route
        else:
            st = max(ready, _open(data, visits[i]))
            if st > _close(data, visits[i]) + 1e-6:
                ok = False
        arrival.append(arr)
        start.append(st)
        departure.append(st + svc[i] if i < m - 1 else st)
    end_lim = min(vt.shift_end_s, float(data.depot_close_s[vt.depot]))
    if start[-1] > end_lim + 1e-6 or start[-1] - leave > vt.max_shift_s + 1e-6:
        ok = False
    if gap is None and vt.break_duration_s > 0 and not (
            leave >= vt.break_earliest_s + bd - 1e-9 or start[-1] <= vt.break_latest_s + 1e-9):
        ok = False
    if not ok and strict:
        return None
    return visits, arrival, start, departure, b


def _open(data: RoutingData, v: object) -> float:
    kind, index = v.kind, v.index  # type: ignore[attr-defined]
    if kind == "stop":
        return float(data.stop_open_s[index])
    if kind == "unload":
        return float(data.facility_open_s[index])
    return 0.0


def _close(data: RoutingData, v: object) -> float:
    kind, index = v.kind, v.index  # type: ignore[attr-defined]
    if kind == "stop":
        return float(data.stop_close_s[index])
    if kind == "unload":
        return float(data.facility_close_s[index])
    return math.inf


def _loc(data: RoutingData, kind: str, index: int) -> int:
    if kind == "depot":
        return int(data.depots[index])
    if kind == "stop":
        return int(data.stops[index])
    return int(data.facilities[index])


def _service(data: RoutingData, kind: str, index: int) -> float:
    if kind == "stop":
        return float(data.stop_service_s[index])
    if kind == "unload":
        return float(data.facility_unload_s[index])
    return 0.0


def _plan(data: RoutingData, routes: tuple[Route, ...], dropped: tuple[int, ...],
          params: RouteParams, t0: float, status: str,
          meta: dict[str, object] | None = None) -> RoutePlan:
    routes = tuple(sorted(routes, key=lambda r: (r.vehicle_type, r.vehicle)))
    return RoutePlan(
        routes=routes, unserved=tuple(dropped), vehicles=len(routes),
        distance_m=float(sum(r.distance_m for r in routes)),
        travel_s=float(sum(r.travel_s for r in routes)),
        duration_s=float(sum(r.duration_s for r in routes)),
        tonne_km=float(sum(r.tonne_km for r in routes)),
        cost_yuan=float(sum(r.cost_yuan for r in routes)),
        status=status, solver="ortools", seed=params.seed,
        elapsed_s=time.perf_counter() - t0, name=data.name, synthetic=data.synthetic,
        meta={"time_limit_s": params.time_limit_s, "solution_limit": params.solution_limit,
              **(meta or {})})


__all__ = ["RouteParams", "VehicleType", "partition", "precheck", "restrict", "solve"]
