"""The only module that talks to OR-Tools routing.

It turns a :class:`~wastenet.routing.data.RoutingData` into a ``RoutingModel``, runs the
search and hands back plain Python sequences (:class:`RawRoute`). Decoding into a
:class:`~wastenet.routing.data.RoutePlan` with float times lives in
:mod:`wastenet.routing.solve`.

Model
-----
Nodes: ``0..P-1`` the depots, ``P..P+n-1`` the stops, then ``K_f`` optional copies of each
unload facility ``f`` (an unload visit each; a vehicle may use any number of copies). A
depot that no vehicle of the model starts from (no type there, or none left) would be an
ordinary, mandatory node for OR-Tools: it is made optional and inactive, never visited.

Vehicles: every vehicle of every type, except the types that cannot work at all in the
model (:func:`can_work`; with the ``"insert"`` break model also a type whose shift is
shorter than the break it may need): those get no vehicles instead of making the model
fail; the caller reports the stops that no vehicle then serves.

Sets: vehicles ``V`` (every vehicle of every type), stops ``S``, copies ``U = ∪ U_f``.
Variables: successor ``next_i``, vehicle ``veh_i``, active ``a_i`` of each node; cumuls
``T_i`` (time), ``Q^d_i`` (load on board, dimension ``d``), ``R^d_i`` (collected today),
``C_i`` (stops today), ``G_i`` (trip tag) and their slacks.

Objective (integers, scaled by ``OBJ_SCALE``)::

    min  Σ_v used_v (W_veh + w_cost·fixed_v)
       + Σ_{(i,j) used by v} (w_time·t^v_ij + w_cost·c^km_v·d_ij/1000)
       + Σ_v w_cost·c^h_v·(T_end(v) − T_start(v))/3600
       + Σ_{unload visits} c_u
       + w_bal·(max_v end_v − min_v start_v) + Σ_{s dropped} M

``t^v_ij`` is travel time only (``duration_s / speed_factor``). The hourly cost ``c^h_v``
is charged on the span of the route in the time dimension (a span cost per vehicle), so
waiting, service and unloads are paid as in the reported route cost of
:mod:`wastenet.routing.solve`; only the break, which the ``"insert"`` model places after
the search, is outside the span (one hour of ``c^h_v`` more or less per route, never
more than the break's length). Integer rounding: objective units are ``OBJ_SCALE`` per
unit of weighted cost, so the span coefficient ``w_cost·c^h_v·OBJ_SCALE/3600`` per
second is exact to 0.05 yuan/h. ``c_u`` is
``AdapterConfig.unload_charge`` (weighted-cost units, no weight applies), paid on every
arc into an unload copy and on every folded final unload, against empty unloads. A
folded arc ``i → depot`` (see :func:`implicit_final_unload`) costs the two legs ``i → f``
and ``f → depot``. ``M`` is ``AdapterConfig.drop_penalty``, in weighted-cost units like
the vehicle weight, raised when serving a stop could cost more (:func:`drop_penalty`).
The objective of every solution stays below ``OBJ_LIMIT`` (half the int64 range);
:func:`check_objective_range` refuses weights and data that could exceed it.

Constraints::

    T_j ≥ T_i + s_i + t^v_ij                      (time; waiting is slack)
    open_i ≤ T_i ≤ close_i                        (stop and facility windows)
    T_start(v) ≥ max(shift_start, depot_open);  T_end(v) ≤ min(shift_end, depot_close)
    T_end(v) − T_start(v) ≤ max_shift_v
    Q^d_j = Q^d_i + q^d_i + σ_i   (q = demand at stops, −B at unload copies, σ ≥ 0)
    0 ≤ Q^d_i ≤ cap^d_v,  Q^d_end(v) = 0          (capacity between unloads; unload
                                                   before returning)
    R^d_end(v) ≤ route_capacity^d_v,  C_end(v) ≤ max_stops_v
    G_j = G_i + g_i + γ_i with g = −(F+1) at copies, γ_i = 0 off copies,
    G_s = f(s)+1 for an assigned stop, G_u = f+1 for a copy of f   (every trip carries
                                                   stops of one facility and ends there)
    veh_s ∈ allowed(s)                            (access restrictions)
    Σ_{u ∈ U_f} a_u·Q^1_u ≤ cap_f                 (facility daily capacity, only when
                                                   some finite-capacity facility may
                                                   receive unassigned stops)

Breaks, two models (``AdapterConfig.break_model``):

* ``"exact"``: one fixed-duration interval per vehicle, its start in
  ``[earliest, latest]``, placed by OR-Tools either inside a transit (not during
  service) or before the route starts or after it ends, which is exactly the rule of
  :mod:`wastenet.routing.data`. Correct but slow (each move re-schedules the breaks).
* ``"insert"`` (default): no break in the model; the shift end and the maximum shift
  are shortened by the break (not for a type that can always take its break before
  leaving or after returning, :func:`break_needed`, which gets no break in either
  model), and every window closing at or after the earliest break
  start ``E`` closes ``BD`` earlier (``close' = max(close − BD, min(close, E − 1))``),
  since only visits starting at or after ``E`` can be delayed by the break. The decoder
  then places the break in the gap that returns earliest. If a window cannot take the
  shortening, the exact model is used; if a placement fails, the caller re-solves with
  the exact model.

Construction: :func:`construct` builds greedy routes (earliest feasible start, unload
when full) that are read into the model, restored, and improved by guided local search;
it also sizes the model's fleet (vehicles the greedy used plus a margin).

Integer rounding is conservative: travel and service times are rounded up, demands up,
capacities down, window opens up and closes down, so a solution of the integer model is
feasible for the real-valued data. A window with no whole second in it (a single
instant such as 36000.5) is the one exception to "opens up": it becomes the second
``⌊open⌋`` and the node's service lasts until ``⌈open + service⌉``, so the real arrival
is before ``open`` and the real departure before the integer one (still conservative).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_parameters_pb2

from wastenet.routing.data import RoutingData, VehicleType

log = logging.getLogger("wastenet.routing.ortools_adapter")

OBJ_SCALE = 36_000  #: objective units per unit of weighted cost (0.1 yuan/h per second)
LOAD_SCALE = 1000  #: integer load units per data load unit
HORIZON_S = 3 * 86_400
#: relative tolerance of the trip count of :func:`default_copies`
COPIES_RTOL = 1e-9
#: the largest objective, in integer units, that any solution of the model may reach
#: (:func:`check_objective_range`): half the int64 range, so that OR-Tools' own sums on
#: top of it (guided local search penalties, move deltas) stay clear of overflowing
OBJ_LIMIT = 2**62

FIRST_SOLUTION = {
    name: getattr(routing_enums_pb2.FirstSolutionStrategy, name)
    for name in ("AUTOMATIC", "PATH_CHEAPEST_ARC", "PARALLEL_CHEAPEST_INSERTION",
                 "LOCAL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION",
                 "GLOBAL_CHEAPEST_ARC", "SAVINGS", "CHRISTOFIDES", "BEST_INSERTION",
                 "LOCAL_CHEAPEST_COST_INSERTION", "PATH_MOST_CONSTRAINED_ARC")
}
METAHEURISTIC = {
    name: getattr(routing_enums_pb2.LocalSearchMetaheuristic, name)
    for name in ("AUTOMATIC", "GREEDY_DESCENT", "GUIDED_LOCAL_SEARCH",
                 "SIMULATED_ANNEALING", "TABU_SEARCH")
}


@dataclass(frozen=True)
class AdapterConfig:
    """Search settings handed over by :func:`wastenet.routing.solve.solve`."""

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    vehicle_weight: float = 200_000.0
    time_weight: float = 1.0
    cost_weight: float = 0.0
    balance_weight: float = 0.0
    #: weighted-cost units per stop left out, at least (see :func:`drop_penalty`)
    drop_penalty: float = 1.0e7
    first_solution: str = "CONSTRUCT"  #: our greedy, else an OR-Tools strategy name
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    unload_copies: int | None = None
    unload_charge: float = 1.0  #: objective charge per unload visit, against empty unloads
    lns_time_limit_s: float = 1.0
    scheduling: str = "default"  #: "default", "glop" or "off" (cumul scheduling solver)
    break_model: str = "insert"  #: "insert" (day shortened, break placed after) or "exact"
    log_search: bool = False
    #: a start solution instead of the greedy construction: per route, its vehicle type
    #: and its visits between the depots as ("stop", stop) / ("unload", facility) pairs
    start_routes: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] | None = None


@dataclass(frozen=True)
class RawVisit:
    kind: str  #: "depot", "stop" or "unload"
    index: int  #: depot / stop / facility index
    start_s: int  #: service start (time cumul) in the integer model


@dataclass(frozen=True)
class RawRoute:
    vehicle: int  #: global vehicle number in the model (types in order, then vehicles)
    vehicle_type: int
    number: int  #: 0-based vehicle number within its type
    visits: tuple[RawVisit, ...]
    break_start_s: int | None  #: the break start when taken on the route, else None
    break_gap: int | None  #: break between ``visits[k]`` and ``visits[k + 1]``
    break_flexible: bool = False  #: the break may also be in gap ``k + 1`` (final unload)
    break_free: bool = False  #: the model had no break: the decoder places it


@dataclass(frozen=True)
class RawSolution:
    routes: tuple[RawRoute, ...]
    dropped: tuple[int, ...]  #: stop indices left out
    objective: int
    status: str
    n_nodes: int
    #: what ended the search: "time_limit", "solution_limit" (the search ended well
    #: before its time limit with a solution limit set), or "" (no search was run)
    stopped_by: str = ""


def vehicle_list(data: RoutingData) -> list[int]:
    """The vehicle type of each global vehicle number."""
    return [t for t, vt in enumerate(data.vehicle_types) for _ in range(vt.count)]


def default_copies(data: RoutingData) -> NDArray[np.int64]:
    """Number of optional unload copies of each facility.

    Enough for every trip that could end there: the loads that may go to ``f`` divided by
    the smallest vehicle capacity, half again for slack, plus one final unload per vehicle
    that could be used (bounded by the trips).

    The trips are ``⌈r·(1 − COPIES_RTOL)⌉`` of the ratio ``r`` (largest over the load
    dimensions): a relative tolerance, so a ratio a hair above a whole number from
    floating-point sums (3.0000000000000004) needs no extra trip, while any positive
    load, however small against the capacity (1e-9 of it), needs one. An absolute
    tolerance of 1e-9 rounded such a tiny load to no trip and no copy: where the final
    unload is not folded into the way home, its stop could never be served.
    """
    nf = len(data.facilities)
    if nf == 0:
        return np.zeros(0, dtype=np.int64)
    dem = data.stop_demand
    caps = [vt.capacity for vt in data.vehicle_types if vt.count > 0]
    cap = np.array(caps) if caps else np.ones((1, len(data.load_dims)))
    min_cap = cap.min(axis=0)
    n_veh = sum(vt.count for vt in data.vehicle_types)
    out = np.zeros(nf, dtype=np.int64)
    any_mask = data.stop_facility < 0
    for f in range(nf):
        mask = any_mask | (data.stop_facility == f)
        ratio = dem[mask].sum(axis=0) / min_cap if mask.any() else np.zeros(1)
        trips = int(np.max(np.ceil(ratio * (1.0 - COPIES_RTOL)), initial=0))
        out[f] = math.ceil(1.5 * trips) + min(n_veh, trips + 1) + 1 if trips else 0
    return out


@dataclass(frozen=True)
class Charge:
    """One of the largest charges of the model's objective (:func:`charges`)."""

    field: str  #: the field of the data or of the parameters that sets it
    value: float  #: the value of that field
    units: float  #: the charge, in weighted-cost units
    per: str  #: "vehicle" (per vehicle used), "arc" (per arc used) or "once"
    vehicle_type: int = -1  #: the vehicle type of a per-vehicle or per-arc charge


def charges(data: RoutingData, cfg: AdapterConfig) -> list[Charge]:
    """The largest charges of the objective, in weighted-cost units.

    Per vehicle type with vehicles: its charge for being used (the vehicle weight and
    the weighted fixed cost), its hourly cost over the longest span (``HORIZON_S``), and
    its costliest arc, split into the travel time and the distance parts (an arc with a
    folded final unload has two legs: twice the longest travel time and distance, plus
    the unload charge). Once: the balance term over the longest span.
    """
    roles = np.concatenate([data.depots, data.stops, data.facilities]).astype(np.int64)
    ix = np.ix_(roles, roles)
    longest_s = float(data.duration_s[ix].max()) if roles.size else 0.0
    longest_m = float(data.distance_m[ix].max()) if roles.size else 0.0
    cw = cfg.cost_weight
    out: list[Charge] = []
    for t, vt in enumerate(data.vehicle_types):
        if vt.count <= 0:
            continue
        tag = f"vehicle_types[{vt.name}]"
        out += [
            Charge("vehicle_weight", cfg.vehicle_weight, cfg.vehicle_weight, "vehicle", t),
            Charge(f"{tag}.fixed_cost_yuan", vt.fixed_cost_yuan, cw * vt.fixed_cost_yuan,
                   "vehicle", t),
            Charge(f"{tag}.cost_yuan_per_h", vt.cost_yuan_per_h,
                   cw * vt.cost_yuan_per_h * HORIZON_S / 3600.0, "vehicle", t),
            Charge("time_weight", cfg.time_weight,
                   2.0 * cfg.time_weight * longest_s / vt.speed_factor + cfg.unload_charge,
                   "arc", t),
            Charge(f"{tag}.cost_yuan_per_km", vt.cost_yuan_per_km,
                   2.0 * cw * vt.cost_yuan_per_km * longest_m / 1000.0, "arc", t)]
    out.append(Charge("balance_weight", cfg.balance_weight,
                      cfg.balance_weight * HORIZON_S, "once"))
    return out


def _per_type(found: list[Charge], per: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for c in found:
        if c.per == per:
            out[c.vehicle_type] = out.get(c.vehicle_type, 0.0) + c.units
    return out


def drop_penalty(data: RoutingData, cfg: AdapterConfig) -> float:
    """The charge ``M`` for leaving a stop out, in weighted-cost units:
    ``AdapterConfig.drop_penalty``, or twice what serving one stop can cost at most
    when that is more (a vehicle of its own and three of its costliest arcs, see
    :func:`charges`). Leaving a stop out is then never cheaper than serving it, however
    large the weights and costs (a fixed cost of 1e8 yuan at ``cost_weight`` 1 left
    every stop out under the plain 1e7); the default weights keep the default.
    """
    found = charges(data, cfg)
    vehicle, arc = _per_type(found, "vehicle"), _per_type(found, "arc")
    serve = max((vehicle[t] + 3.0 * arc.get(t, 0.0) for t in vehicle), default=0.0)
    return max(cfg.drop_penalty, 2.0 * serve)


def check_objective_range(data: RoutingData, cfg: AdapterConfig) -> None:
    """Raise :class:`~wastenet.errors.ValidationError` when some solution of the model
    of ``data`` could reach an objective above :data:`OBJ_LIMIT` integer units
    (``OBJ_SCALE`` per weighted-cost unit), naming the field with the largest charge
    (:func:`charges`) and its value.

    The bound, in weighted-cost units: every vehicle of each type used (at most one per
    stop or unload copy), paying its per-vehicle charges; the costliest arc out of every
    node and every vehicle; the balance term; every stop left out
    (:func:`drop_penalty`). The weights of :class:`~wastenet.routing.solve.RouteParams`
    and the costs of :class:`~wastenet.routing.data.VehicleType` are bounded on their
    own (``MAX_WEIGHT``, ``MAX_COST_YUAN``); this bounds their products with the
    instance's travel times and distances.
    """
    from wastenet.errors import ValidationError

    nf = len(data.facilities)
    copies = (int(cfg.unload_copies) * nf if cfg.unload_copies is not None
              else int(default_copies(data).sum()))
    nodes = data.n_stops + copies
    found = charges(data, cfg)
    used = {t: float(min(vt.count, nodes)) for t, vt in enumerate(data.vehicle_types)}
    vehicle, arc = _per_type(found, "vehicle"), _per_type(found, "arc")
    total = (sum(used[t] * c for t, c in vehicle.items())
             + (nodes + sum(used[t] for t in vehicle)) * max(arc.values(), default=0.0)
             + sum(c.units for c in found if c.per == "once")
             + data.n_stops * drop_penalty(data, cfg))
    if total * OBJ_SCALE <= OBJ_LIMIT:
        return
    worst = max(found, key=lambda c: c.units)
    raise ValidationError(
        worst.field, worst.value,
        f"the routing model's objective could reach {total * OBJ_SCALE:.3g} integer units, "
        f"above its limit of {OBJ_LIMIT:.3g} (int64, {OBJ_SCALE} units per weighted yuan); "
        f"the largest charge, {worst.units:.3g} weighted yuan, comes from this value "
        f"(weights: vehicle {cfg.vehicle_weight:g}, time {cfg.time_weight:g}, cost "
        f"{cfg.cost_weight:g}, balance {cfg.balance_weight:g}): lower it or its weight")


@dataclass(frozen=True)
class Instance:
    """Integer view of the model that the greedy construction needs."""

    P: int
    n: int
    vtype: list[int]
    time: list[NDArray[np.int64]]  #: per vehicle type: service_i + travel, final leg folded
    service: NDArray[np.int64]
    lo: NDArray[np.int64]
    hi: NDArray[np.int64]
    demand: NDArray[np.int64]  #: (n, D)
    caps: NDArray[np.int64]  #: (vehicles, D)
    data: RoutingData
    node_fac: NDArray[np.int64]
    sf: NDArray[np.int64]
    implicit: bool = True  #: final unload folded into the arc home
    break_insert: bool = False  #: no break in the model: day shortened by the break


def construct(inst: Instance) -> list[list[int]]:
    """Greedy routes (node lists without depots) for the folded-final-unload model.

    Vehicles are filled one after the other. From the current node the next stop is the
    one with the earliest feasible service start; when the load would overflow, the
    vehicle first unloads at the admissible facility copy that gives the earliest start
    at the stop. A candidate is feasible when its window, the capacity, the route caps,
    the trip's facility, the break (taken in the gap where the schedule reaches its
    window, OR-Tools' rule) and the return via the final unload by the shift end and
    within the maximum shift all hold, in the same integer transits as the model.
    """
    P, n = inst.P, inst.n
    unvisited = np.ones(n, dtype=bool)
    free_copies: dict[int, list[int]] = {}
    for k, f in enumerate(inst.node_fac.tolist()):
        free_copies.setdefault(f, []).append(P + n + k)
    for f in free_copies:
        free_copies[f].reverse()
    routes: list[list[int]] = [[] for _ in inst.vtype]
    order = sorted(range(len(inst.vtype)), key=lambda v: (-int(inst.caps[v].sum()), v))
    for v in order:
        if not unvisited.any():
            break
        routes[v] = _construct_vehicle(inst, v, unvisited, free_copies)
    return routes


def _construct_vehicle(inst: Instance, v: int, unvisited: NDArray[np.bool_],
                       free_copies: dict[int, list[int]]) -> list[int]:
    """One vehicle's greedy route (see :func:`construct`); marks what it serves."""
    data, P, n = inst.data, inst.P, inst.n
    stop_nodes = np.arange(P, P + n)
    nf = len(data.facilities)
    t = inst.vtype[v]
    vt = data.vehicle_types[t]
    allowed = np.array([a is None or t in a for a in data.stop_allowed], dtype=bool)
    tm = inst.time[t]
    dep_node = int(vt.depot)
    lo_s = int(np.ceil(max(vt.shift_start_s, data.depot_open_s[vt.depot]) - 1e-7))
    end_hi = int(np.floor(min(vt.shift_end_s, data.depot_close_s[vt.depot])))
    span = int(np.floor(min(vt.max_shift_s, HORIZON_S)))
    needed = break_needed(data, vt)
    has_break = needed and not inst.break_insert
    if inst.break_insert and needed:
        end_hi -= int(np.ceil(vt.break_duration_s))
        span -= int(np.ceil(vt.break_duration_s))
    e = int(np.ceil(vt.break_earliest_s))
    lat = int(np.floor(vt.break_latest_s))
    bd = int(np.ceil(vt.break_duration_s))
    cap = inst.caps[v]
    rcap = (np.floor(np.asarray(vt.route_capacity) * LOAD_SCALE + 1e-7).astype(np.int64)
            if vt.route_capacity is not None else None)
    mstops = vt.max_stops if vt.max_stops is not None else n
    cur, T = dep_node, lo_s  # T: service start at cur
    load = np.zeros(inst.demand.shape[1], dtype=np.int64)
    day = load.copy()
    count = 0
    taken = not has_break
    tag = -1
    route: list[int] = []

    def arrive(dep: int | NDArray[np.int64], travel: NDArray[np.int64],
               opn: NDArray[np.int64], taken: bool) -> tuple[NDArray[np.int64],
                                                         NDArray[np.bool_]]:
        """Service start at the targets and whether the break falls in this gap."""
        s0 = np.maximum(dep + travel, opn)
        if taken:
            return s0, np.zeros(len(s0), dtype=bool)
        brk = s0 >= e
        b = np.maximum(e, dep)
        s1 = np.maximum(opn, np.maximum(dep + travel + bd, b + bd))
        s1 = np.where(b <= lat, s1, HORIZON_S * 4)
        return np.where(brk, s1, s0), brk

    rep = np.array([P + n + int(np.flatnonzero(inst.node_fac == f)[0])
                    if np.any(inst.node_fac == f) else -1 for f in range(nf)], dtype=np.int64)

    def finish(starts: NDArray[np.int64], brk_now: NDArray[np.bool_], taken: bool,
               nodes: NDArray[np.int64], tag: int) -> tuple[NDArray[np.int64],
                                                             NDArray[np.int64]]:
        """Return time home after the node (via the final unload) and that facility."""
        never = HORIZON_S * 4
        if inst.implicit:
            end = starts + tm[nodes, dep_node]  # service + final unload + home
            fbest = np.full(len(nodes), -1, dtype=np.int64)
            if not taken:
                dep_j = starts + inst.service[nodes]
                need = (~brk_now) & (end > lat)
                b = np.maximum(e, dep_j)
                end_b = np.maximum(end + bd, b + bd)
                end = np.where(need, np.where(b <= lat, end_b, never), end)
            return end, fbest
        if nf == 0:  # nothing to unload anywhere (loads are zero): straight home
            return starts + tm[nodes, dep_node], np.full(len(nodes), -1, dtype=np.int64)
        avail = np.array([bool(free_copies.get(f)) for f in range(nf)]) & (rep >= 0)
        if not avail.any():
            return np.full(len(nodes), never, dtype=np.int64), np.full(len(nodes), -1)
        r = np.where(rep >= 0, rep, P + n)
        adm = np.broadcast_to(avail, (len(nodes), nf)).copy()
        sfn = np.where(nodes >= P, inst.sf[np.clip(nodes - P, 0, n - 1)], -1)
        sfn = np.where(nodes < P + n, sfn, -1)
        want = np.where(sfn >= 0, sfn, tag)
        adm &= (want[:, None] < 0) | (np.arange(nf)[None, :] == want[:, None])
        a = starts[:, None] + tm[np.ix_(nodes, r)]  # arrival at each facility
        sfac = np.maximum(a, inst.lo[r][None, :])
        end = sfac + tm[r, dep_node][None, :]
        ok = adm & (sfac <= inst.hi[r][None, :])
        if not taken:
            dep_j = starts + inst.service[nodes]
            b = np.maximum(e, dep_j)[:, None]
            a_b = np.maximum(a + bd, b + bd)
            s_b = np.maximum(a_b, inst.lo[r][None, :])
            end_b = s_b + tm[r, dep_node][None, :]
            ok_b = adm & (s_b <= inst.hi[r][None, :]) & (b <= lat)
            use_b = (~brk_now[:, None]) & (end > lat)
            end = np.where(use_b, end_b, end)
            ok = np.where(use_b, ok_b, ok)
        end = np.where(ok, end, never)
        fbest = np.argmin(end, axis=1)
        return end[np.arange(len(nodes)), fbest], fbest

    def finish_ok(starts: NDArray[np.int64], brk_now: NDArray[np.bool_], taken: bool,
                  nodes: NDArray[np.int64], tag: int = -1) -> NDArray[np.bool_]:
        end, _ = finish(starts, brk_now, taken, nodes, tag)
        return (end <= end_hi) & (end - leave <= span)

    leave = lo_s
    while True:
        cand = np.flatnonzero(unvisited & allowed)
        if cand.size == 0 or count >= mstops:
            break
        q = inst.demand[cand]
        ok_rc = np.ones(cand.size, dtype=bool) if rcap is None else np.all(
            day + q <= rcap, axis=1)
        ok_tag = (inst.sf[cand] < 0) | (tag < 0) | (inst.sf[cand] == tag)
        nodes = stop_nodes[cand]
        dep = T + int(inst.service[cur])
        st, brk = arrive(dep, tm[cur, nodes] - int(inst.service[cur]), inst.lo[nodes],
                         taken)
        fits = np.all(load + q <= cap, axis=1)
        ok = fits & ok_rc & ok_tag & (st <= inst.hi[nodes])
        ok_direct = ok & finish_ok(st, brk, taken, nodes, tag)
        if ok_direct.any():
            i = int(np.argmin(np.where(ok_direct, st, np.iinfo(np.int64).max)))
            j = int(nodes[i])
            route.append(j)
            taken = taken or bool(brk[i])
            T = int(st[i])
            cur = j
            load = load + q[i]
            day = day + q[i]
            count += 1
            unvisited[cand[i]] = False
            if inst.sf[cand[i]] >= 0:
                tag = int(inst.sf[cand[i]])
            continue
        if not load.any():
            break
        # unload first, then the stop: facility = trip tag (or best of all)
        fset = [tag] if tag >= 0 else list(range(nf))
        best = None
        for f in fset:
            if not free_copies.get(f):
                continue
            u = free_copies[f][-1]
            su, bu = arrive(dep, np.array([tm[cur, u] - int(inst.service[cur])]),
                            np.array([inst.lo[u]]), taken)
            if su[0] > inst.hi[u]:
                continue
            tk = taken or bool(bu[0])
            dep_u = int(su[0]) + int(inst.service[u])
            st2, brk2 = arrive(dep_u, tm[u, nodes] - int(inst.service[u]), inst.lo[nodes],
                               tk)
            ok2 = np.all(q <= cap, axis=1) & ok_rc & (st2 <= inst.hi[nodes])
            ok2 &= finish_ok(st2, brk2, tk, nodes)
            if not ok2.any():
                continue
            i = int(np.argmin(np.where(ok2, st2, np.iinfo(np.int64).max)))
            if best is None or st2[i] < best[0]:
                best = (int(st2[i]), f, u, int(su[0]), tk or bool(brk2[i]), i)
        if best is None:
            break
        _, f, u, _su0, tk, i = best
        free_copies[f].pop()
        route.append(u)
        j = int(nodes[i])
        route.append(j)
        taken = tk
        T = best[0]
        cur = j
        load = inst.demand[cand[i]].copy()
        day = day + q[i]
        count += 1
        unvisited[cand[i]] = False
        tag = int(inst.sf[cand[i]]) if inst.sf[cand[i]] >= 0 else -1
    if not inst.implicit and load.any():
        _, fb = finish(np.array([T]), np.array([False]), taken, np.array([cur]), tag)
        f = int(fb[0])
        if free_copies.get(f):
            route.append(free_copies[f].pop())
    return route


def break_needed(data: RoutingData, vt: VehicleType) -> bool:
    """Whether a route of type ``vt`` may have to take its break on the route.

    Not when it has no break, nor when every route of its shift can take the break off
    the route (the rule of :mod:`wastenet.routing.data`): the shift (within its depot's
    hours) ends by ``break_latest_s`` (the break after returning), or starts at or after
    ``break_earliest_s + break_duration_s`` (the break before leaving). Such a type's
    day is not shortened by the ``"insert"`` model and gets no break interval in the
    ``"exact"`` one.
    """
    if vt.break_duration_s <= 0:
        return False
    a0, end = shift_window(data, vt)
    return not (end <= vt.break_latest_s
                or a0 >= vt.break_earliest_s + vt.break_duration_s)


def can_work(data: RoutingData, vt: VehicleType) -> bool:
    """Whether any route of type ``vt`` can keep its shift and its break (stops aside).

    Not when its shift lies outside its depot's hours, nor when its break must be taken
    (:func:`break_needed`) but can be neither after the route (the shift starts after
    ``break_latest_s``, so no route is back by then), nor before it (the break would end
    after the shift), nor on it (a break on the route starts after leaving and by
    ``break_latest_s``). Such a type gets no vehicles in the model.
    """
    a0, end = shift_window(data, vt)
    if end < a0:
        return False
    if not break_needed(data, vt):
        return True
    return (a0 <= vt.break_latest_s
            or max(a0, vt.break_earliest_s + vt.break_duration_s) <= end)


def shift_window(data: RoutingData, vt: VehicleType) -> tuple[float, float]:
    """``(max(shift_start, depot_open), min(shift_end, depot_close))`` of type ``vt``."""
    d = int(vt.depot)
    return (max(float(vt.shift_start_s), float(data.depot_open_s[d])),
            min(float(vt.shift_end_s), float(data.depot_close_s[d])))


def implicit_final_unload(data: RoutingData) -> bool:
    """Whether the last unload of each route can be folded into the arc to the depot.

    It can when every facility is open through every shift (no waiting at the final
    unload) and no finite facility capacity needs the unload copies to be counted.
    Then the arc ``i → depot`` of a stop ``i`` costs ``t_if + u_f + t_fd`` through the
    facility ``f`` of :func:`final_facilities`, and the empty-at-return constraint holds
    by construction, so single-stop insertions stay feasible (the construction and
    local search need no paired stop + unload moves).
    """
    if len(data.facilities) == 0 or data.n_stops == 0:
        return False
    starts = [max(vt.shift_start_s, data.depot_open_s[vt.depot]) for vt in data.vehicle_types]
    ends = [min(vt.shift_end_s, data.depot_close_s[vt.depot]) for vt in data.vehicle_types]
    if not starts:
        return False
    always_open = bool(np.all(data.facility_open_s <= min(starts))
                       and np.all(data.facility_close_s >= max(ends)))
    any_stop = bool(np.any(data.stop_facility < 0))
    finite = bool(np.any(np.isfinite(data.facility_capacity)))
    return always_open and not (any_stop and finite)


def final_facilities(data: RoutingData, speed: float,
                     stop_facility: NDArray[np.int64]) -> NDArray[np.int64]:
    """(depots, stops) facility of the folded final unload: the assigned one, else the
    one minimising ``t_if/speed + unload_f + t_fd/speed``."""
    P = len(data.depots)
    out = np.zeros((P, data.n_stops), dtype=np.int64)
    t_sf = data.duration_s[np.ix_(data.stops, data.facilities)] / speed
    for p in range(P):
        t_fd = data.duration_s[data.facilities, data.depots[p]] / speed
        best = np.argmin(t_sf + data.facility_unload_s[None, :] + t_fd[None, :], axis=1)
        out[p] = np.where(stop_facility >= 0, stop_facility, best)
    return out


def _shift_range(data: RoutingData, vt: VehicleType, insert: bool) -> tuple[int, int, int]:
    """Integer ``(leave at or after, return by, break taken off the day)`` of type
    ``vt``: its shift within its depot's hours, and its break when the ``insert`` model
    shortens its day (only when the break may be needed, :func:`break_needed`)."""
    a0, end = shift_window(data, vt)
    lo = int(_iceil(np.array(a0)))
    hi = int(_ifloor(np.array(min(end, HORIZON_S))))
    bd = int(_iceil(np.array(vt.break_duration_s))) if insert and break_needed(data, vt) else 0
    return lo, hi, bd


def _iceil(a: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.ceil(np.asarray(a, dtype=np.float64) - 1e-7).astype(np.int64)


def _ifloor(a: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.floor(np.asarray(a, dtype=np.float64) + 1e-7).astype(np.int64)


def solve_raw(data: RoutingData, cfg: AdapterConfig) -> RawSolution:
    """Build the OR-Tools model of ``data`` (formulation in the module docstring) and solve.

    ``cfg.time_limit_s`` bounds the whole call, from its start: building the start
    solution and restoring it in the model (:func:`_search`) take their time out of it,
    and the search gets what is left. Only the model build before the search and the
    reading of the solution after it can add to it (milliseconds on small instances).
    """
    deadline = time.perf_counter() + cfg.time_limit_s
    P, n, nf = len(data.depots), data.n_stops, len(data.facilities)
    copies = (np.asarray([cfg.unload_copies] * nf, dtype=np.int64)
              if cfg.unload_copies is not None else default_copies(data))
    sf_eff = np.asarray(data.stop_facility, dtype=np.int64).copy()
    mixed = bool(np.any(sf_eff >= 0) and np.any(sf_eff < 0))
    if mixed:  # unassigned stops go to their nearest facility (stricter, still valid)
        near = np.argmin(data.duration_s[np.ix_(data.stops, data.facilities)], axis=1)
        sf_eff = np.where(sf_eff < 0, near, sf_eff)
    implicit = implicit_final_unload(data)
    node_fac = np.repeat(np.arange(nf), copies)  # facility of each copy
    n_nodes = P + n + int(copies.sum())
    if not any(vt.count > 0 and can_work(data, vt) for vt in data.vehicle_types):
        return RawSolution((), tuple(range(n)), 0, "NO_VEHICLES", n_nodes)
    kind = np.concatenate([np.zeros(P, np.int8), np.ones(n, np.int8),
                           np.full(len(node_fac), 2, np.int8)])
    role_index = np.concatenate([np.arange(P), np.arange(n), node_fac]).astype(np.int64)
    loc = np.concatenate([data.depots, data.stops,
                          data.facilities[node_fac]]).astype(np.int64)
    service = np.concatenate([np.zeros(P), data.stop_service_s,
                              data.facility_unload_s[node_fac]])
    service_i = _iceil(service)

    dist = data.distance_m[np.ix_(loc, loc)]
    dur = data.duration_s[np.ix_(loc, loc)]
    D = len(data.load_dims)
    dem_i = _iceil(data.stop_demand * LOAD_SCALE) if n else np.zeros((0, D), np.int64)
    t_open = np.concatenate([np.zeros(P), data.stop_open_s, data.facility_open_s[node_fac]])
    t_close = np.concatenate([np.full(P, HORIZON_S), data.stop_close_s,
                              data.facility_close_s[node_fac]])
    lo_all = np.maximum(_iceil(t_open), 0)
    hi_all = np.minimum(_ifloor(t_close), HORIZON_S)
    # a window with no whole second in it (open and close inside the same second, such
    # as a single instant 36000.5): the integer service starts at floor(open), before
    # the real one, and lasts until ceil(open + service), after the real departure, so
    # the integer schedule stays conservative (the real arrival is before open)
    pinch = ((lo_all > hi_all) & (_ifloor(t_open) == _ifloor(t_close)) & (t_open >= 0)
             & (t_open < HORIZON_S))
    pinch[:P] = False
    if pinch.any():
        fl = _ifloor(t_open)
        service_i = np.where(pinch, _iceil(t_open + service) - fl, service_i)
        lo_all = np.where(pinch, fl, lo_all)
        hi_all = np.where(pinch, fl, hi_all)
    brk_types = [vt for vt in data.vehicle_types if break_needed(data, vt)]
    insert = cfg.break_model == "insert" and bool(brk_types)
    if insert:
        # the break is placed after solving, at the first gap reaching its window: visits
        # starting at or after E may be delayed by up to BD, earlier ones are not
        E = int(_iceil(np.array(min(vt.break_earliest_s for vt in brk_types))))
        BD = int(_iceil(np.array(max(vt.break_duration_s for vt in brk_types))))
        late = hi_all >= E
        hi_b = np.where(late, np.maximum(hi_all - BD, np.minimum(hi_all, E - 1)), hi_all)
        hi_b[:P] = HORIZON_S
        if np.any((hi_b < lo_all) & (hi_all >= lo_all)):
            insert = False  # some window only fits with the break modelled exactly
        else:
            hi_all = hi_b

    # --- integer time transits, one matrix per speed factor ---------------------------
    time_mats: dict[float, NDArray[np.int64]] = {}
    final_fac: dict[float, NDArray[np.int64]] = {}  # (P, n) facility of the final unload
    for vt in data.vehicle_types:
        sp = float(vt.speed_factor)
        if sp in time_mats:
            continue
        tm = _iceil(dur / sp) + service_i[:, None]
        if implicit and n:
            final_fac[sp] = final_facilities(data, sp, sf_eff)
            ff = final_fac[sp]
            for p in range(P):
                fl = data.facilities[ff[p]]
                tm[P:P + n, p] = (service_i[P:P + n]
                                  + _iceil(data.duration_s[data.stops, fl] / sp)
                                  + _iceil(data.facility_unload_s[ff[p]])
                                  + _iceil(data.duration_s[fl, data.depots[p]] / sp))
        time_mats[sp] = tm

    # --- vehicle types that cannot work in this model get no vehicles -----------------
    shift_i = [_shift_range(data, vt, insert) for vt in data.vehicle_types]
    usable = [max(hi - bd, 0) >= max(lo, 0) and can_work(data, vt)
              for (lo, hi, bd), vt in zip(shift_i, data.vehicle_types, strict=True)]
    for t, vt in enumerate(data.vehicle_types):
        if vt.count and not usable[t]:
            lo, hi, _ = shift_i[t]
            log.info("vehicle type %r gets no vehicles: no route fits its shift %d-%d s "
                     "(within its depot's hours) and its break (%g s, %s model)", vt.name,
                     lo, hi, vt.break_duration_s, "insert" if insert else "exact")

    # --- greedy construction on the full fleet; it also sizes the model's fleet --------
    counts = [vt.count if usable[t] else 0 for t, vt in enumerate(data.vehicle_types)]
    seqs_by_type: list[list[list[int]]] | None = None
    if cfg.start_routes is not None:
        seqs_by_type = _start_sequences(cfg.start_routes, len(data.vehicle_types), P, n,
                                        node_fac, implicit)
    elif cfg.first_solution == "CONSTRUCT" and n:
        full = [t for t, c in enumerate(counts) for _ in range(min(c, n))]
        seqs = construct(Instance(
            P=P, n=n, vtype=full,
            time=[time_mats[float(vt.speed_factor)] for vt in data.vehicle_types],
            service=service_i, lo=lo_all, hi=hi_all, demand=dem_i,
            caps=_ifloor(np.array([data.vehicle_types[t].capacity for t in full]
                                  ).reshape(len(full), D) * LOAD_SCALE),
            data=data, node_fac=node_fac, sf=sf_eff, implicit=implicit,
            break_insert=insert))
        seqs_by_type = [[] for _ in data.vehicle_types]
        for t, sq in zip(full, seqs, strict=True):
            if sq:
                seqs_by_type[t].append(sq)
        served = sum(len([x for x in sq if x < P + n]) for sq in seqs)
        for t in range(len(data.vehicle_types)):
            used = len(seqs_by_type[t])
            extra = max(2, used // 10) + (used if served < n else 0)
            counts[t] = min(counts[t], used + extra)
        log.debug("construction: %d of %d stops on %s vehicles", served, n,
                  [len(x) for x in seqs_by_type])
    vtype = [t for t, c in enumerate(counts) for _ in range(c)]
    nv = len(vtype)
    if nv == 0:
        return RawSolution((), tuple(range(n)), 0, "NO_VEHICLES", n_nodes)
    starts = [int(data.vehicle_types[t].depot) for t in vtype]
    manager = pywrapcp.RoutingIndexManager(n_nodes, nv, starts, starts)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    # --- transits and arc costs, one matrix per distinct vehicle class ---------------
    time_cb: dict[float, int] = {}
    cost_cb: dict[tuple[float, float], int] = {}  # arc costs by (speed, yuan per km)
    time_eval: list[int] = []
    for v, t in enumerate(vtype):
        vt = data.vehicle_types[t]
        sp = float(vt.speed_factor)
        if sp not in time_cb:
            time_cb[sp] = routing.RegisterTransitMatrix(time_mats[sp].tolist())
        time_eval.append(time_cb[sp])
        key = (sp, float(vt.cost_yuan_per_km))  # the hourly cost is a span cost
        if key not in cost_cb:
            travel = dur / sp
            # the hourly cost is a span cost (below), not an arc cost
            c = cfg.time_weight * travel + cfg.cost_weight * vt.cost_yuan_per_km * dist / 1000.0
            if implicit and n:
                ff = final_fac[sp]
                for p in range(P):
                    fl = data.facilities[ff[p]]
                    dl = data.depots[p]
                    d2 = data.distance_m[data.stops, fl] + data.distance_m[fl, dl]
                    t2 = (data.duration_s[data.stops, fl] + data.duration_s[fl, dl]) / sp
                    c[P:P + n, p] = (cfg.time_weight * t2
                                     + cfg.cost_weight * vt.cost_yuan_per_km * d2 / 1000.0
                                     + cfg.unload_charge)
            ci = np.rint(c * OBJ_SCALE).astype(np.int64)
            # a tiny charge on arcs into an unload copy discourages empty unloads
            ci[:, P + n:] += int(cfg.unload_charge * OBJ_SCALE)
            cost_cb[key] = routing.RegisterTransitMatrix(ci.tolist())
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[key], v)
        routing.SetFixedCostOfVehicle(
            round((cfg.vehicle_weight + cfg.cost_weight * vt.fixed_cost_yuan) * OBJ_SCALE),
            v)

    routing.AddDimensionWithVehicleTransits(time_eval, HORIZON_S, HORIZON_S, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node in range(P, n_nodes):
        idx = manager.NodeToIndex(node)
        if lo_all[node] <= hi_all[node]:  # else the node is never visited (below)
            time_dim.CumulVar(idx).SetRange(int(lo_all[node]), int(max(hi_all[node], -1)))
    for v, t in enumerate(vtype):
        vt = data.vehicle_types[t]
        lo, hi, bd_v = shift_i[t]  # a usable type: the ranges below are not empty
        time_dim.CumulVar(routing.Start(v)).SetRange(max(lo, 0), max(hi, 0))
        time_dim.CumulVar(routing.End(v)).SetRange(max(lo, 0), max(hi - bd_v, 0))
        time_dim.SetSpanUpperBoundForVehicle(
            max(int(_ifloor(np.array(min(vt.max_shift_s, HORIZON_S)))) - bd_v, 0), v)
        hourly = round(cfg.cost_weight * vt.cost_yuan_per_h * OBJ_SCALE / 3600.0)
        if hourly > 0:
            time_dim.SetSpanCostCoefficientForVehicle(hourly, v)
    if cfg.balance_weight > 0:
        time_dim.SetGlobalSpanCostCoefficient(round(cfg.balance_weight * OBJ_SCALE))

    # --- breaks ------------------------------------------------------------------------
    breaks: dict[int, object] = {}
    needs_break = [break_needed(data, vt) for vt in data.vehicle_types]
    if not insert and any(needs_break[t] for t in vtype):
        visit_transit = [int(service_i[manager.IndexToNode(i)]) for i in range(routing.Size())]
        for v, t in enumerate(vtype):
            vt = data.vehicle_types[t]
            if not needs_break[t]:  # no break, or always off the route (break_needed)
                continue
            iv = solver.FixedDurationIntervalVar(
                int(_iceil(np.array(vt.break_earliest_s))),
                int(_ifloor(np.array(vt.break_latest_s))),
                int(_iceil(np.array(vt.break_duration_s))), False, f"break_{v}")
            time_dim.SetBreakIntervalsOfVehicle([iv], v, visit_transit)
            breaks[v] = iv

    # --- loads ---------------------------------------------------------------------------
    caps = np.array([[c for c in data.vehicle_types[t].capacity] for t in vtype])
    caps_i = _ifloor(caps * LOAD_SCALE)
    load_dims = []
    for d in range(D):
        big = int(max(caps_i[:, d].max(), 1))
        q = np.concatenate([np.zeros(P, np.int64), dem_i[:, d],
                            np.full(len(node_fac), -big, np.int64)])
        cb = routing.RegisterUnaryTransitVector(q.tolist())
        routing.AddDimensionWithVehicleCapacity(cb, big, caps_i[:, d].tolist(), True,
                                                f"load{d}")
        dim = routing.GetDimensionOrDie(f"load{d}")
        if not implicit:
            for v in range(nv):
                dim.CumulVar(routing.End(v)).SetValue(0)
        load_dims.append(dim)
        rc = [data.vehicle_types[t].route_capacity for t in vtype]
        total = int(dem_i[:, d].sum()) + 1
        if any(r is not None and r[d] * LOAD_SCALE < total - 1 for r in rc):
            rcap = [min(int(_ifloor(np.array(r[d] * LOAD_SCALE))), total) if r is not None
                    else total for r in rc]
            q2 = np.concatenate([np.zeros(P, np.int64), dem_i[:, d],
                                 np.zeros(len(node_fac), np.int64)])
            cb2 = routing.RegisterUnaryTransitVector(q2.tolist())
            routing.AddDimensionWithVehicleCapacity(cb2, 0, rcap, True, f"day{d}")

    ms = [data.vehicle_types[t].max_stops for t in vtype]
    if any(m is not None and m < n for m in ms):  # only when it can bind
        cnt = np.concatenate([np.zeros(P, np.int64), np.ones(n, np.int64),
                              np.zeros(len(node_fac), np.int64)])
        cb3 = routing.RegisterUnaryTransitVector(cnt.tolist())
        routing.AddDimensionWithVehicleCapacity(
            cb3, 0, [min(m, n) if m is not None else n for m in ms], True, "stops")

    # --- assigned facility: trip tag ----------------------------------------------------
    if n and np.any(sf_eff >= 0):
        g = np.concatenate([np.zeros(P + n, np.int64),
                            np.full(len(node_fac), -(nf + 1), np.int64)])
        cb4 = routing.RegisterUnaryTransitVector(g.tolist())
        routing.AddDimension(cb4, 2 * nf + 2, nf + 1, False, "trip")
        tag = routing.GetDimensionOrDie("trip")
        for node in range(P + n):
            for idx in _indices(manager, routing, node, nv):
                if not routing.IsEnd(idx):
                    tag.SlackVar(idx).SetValue(0)
        for s in range(n):
            f = int(sf_eff[s])
            if f >= 0:
                tag.CumulVar(manager.NodeToIndex(P + s)).SetValue(f + 1)
        for k, fk in enumerate(node_fac):
            tag.CumulVar(manager.NodeToIndex(P + n + k)).SetValue(int(fk) + 1)

    # --- facility daily capacity (only where unassigned loads may exceed it) -------------
    for fi in range(nf):
        capf = float(data.facility_capacity[fi])
        if not math.isfinite(capf):
            continue
        any_dem = float(data.stop_demand[data.stop_facility < 0, 0].sum()) if D else 0.0
        if any_dem <= 0:
            continue  # assigned loads are fixed and pre-checked by the caller
        terms = []
        for kk in np.flatnonzero(node_fac == fi).tolist():
            idx = manager.NodeToIndex(P + n + kk)
            terms.append(routing.ActiveVar(idx) * load_dims[0].CumulVar(idx))
        if terms:
            solver.Add(solver.Sum(terms) <= int(_ifloor(np.array(capf * LOAD_SCALE))))

    # --- access restrictions, optional nodes ---------------------------------------------
    drop_i = round(drop_penalty(data, cfg) * OBJ_SCALE)
    for s in range(n):
        allowed = data.stop_allowed[s]
        idx = manager.NodeToIndex(P + s)
        if allowed is not None:
            # -1 keeps the stop droppable (it is in a disjunction)
            routing.VehicleVar(idx).SetValues(
                [-1] + [v for v, t in enumerate(vtype) if t in allowed])
        routing.AddDisjunction([idx], drop_i)
    for k in range(len(node_fac)):
        routing.AddDisjunction([manager.NodeToIndex(P + n + k)], 0)
    # a depot that no vehicle of the model starts from is an ordinary node for OR-Tools:
    # optional at no charge, and never visited
    for p in sorted(set(range(P)) - set(starts)):
        idx = manager.NodeToIndex(p)
        routing.AddDisjunction([idx], 0)
        routing.ActiveVar(idx).SetValue(0)
    # a window that no integer time fits (beyond the model's horizon): never visited
    for node in np.flatnonzero(lo_all > hi_all).tolist():
        if node >= P:
            routing.ActiveVar(manager.NodeToIndex(node)).SetValue(0)

    # --- search --------------------------------------------------------------------------
    params = pywrapcp.DefaultRoutingSearchParameters()
    fs = cfg.first_solution if cfg.first_solution in FIRST_SOLUTION else "PARALLEL_CHEAPEST_INSERTION"
    params.first_solution_strategy = FIRST_SOLUTION[fs]
    params.local_search_metaheuristic = METAHEURISTIC[cfg.metaheuristic]
    params.guided_local_search_lambda_coefficient = cfg.gls_lambda
    # the time limit is set by _search, from what is left of cfg.time_limit_s
    # completion searches (cumuls, breaks) of each move and of the start; OR-Tools'
    # 100 ms default fails spuriously on a loaded machine
    params.lns_time_limit.FromMilliseconds(max(1, int(cfg.lns_time_limit_s * 1000)))
    if cfg.solution_limit is not None:
        params.solution_limit = int(cfg.solution_limit)
    params.log_search = cfg.log_search
    if cfg.scheduling == "glop":
        params.mixed_integer_scheduling_solver = 1
    elif cfg.scheduling == "off":
        params.disable_scheduling_beware_this_may_degrade_performance = True
    routes_idx: list[list[int]] | None = None
    if seqs_by_type is not None:
        per_vehicle: list[list[int]] = [[] for _ in range(nv)]
        for t in range(len(data.vehicle_types)):
            first = vtype.index(t) if t in vtype else 0
            for k, sq in enumerate(seqs_by_type[t][:counts[t]]):
                per_vehicle[first + k] = sq
        routes_idx = [[manager.NodeToIndex(node) for node in seq] for seq in per_vehicle]
    solution, searched, limit_s = _search(routing, params, routes_idx, deadline,
                                          restore_once=cfg.balance_weight > 0, fs=fs)
    status = _status_name(routing.status())
    stopped_by = ("solution_limit" if cfg.solution_limit is not None
                  and searched < 0.9 * limit_s else "time_limit")
    if solution is None:
        log.info("no solution (%s) for %d stops", status, n)
        return RawSolution((), tuple(range(n)), 0, status, n_nodes, stopped_by)

    routes = []
    visited = np.zeros(n, dtype=bool)
    for v in range(nv):
        idx = routing.Start(v)
        if routing.IsEnd(solution.Value(routing.NextVar(idx))):
            continue
        visits = []
        while True:
            node = manager.IndexToNode(idx)
            k = int(kind[node])
            visits.append(RawVisit(("depot", "stop", "unload")[k], int(role_index[node]),
                                   int(solution.Min(time_dim.CumulVar(idx)))))
            if k == 1:
                visited[role_index[node]] = True
            if routing.IsEnd(idx):
                break
            idx = solution.Value(routing.NextVar(idx))
        brk = gap = None
        flexible = False
        if v in breaks:
            iv = breaks[v]
            bstart = int(solution.StartValue(iv))  # type: ignore[attr-defined]
            bdur = int(_iceil(np.array(data.vehicle_types[vtype[v]].break_duration_s)))
            if visits[0].start_s <= bstart and bstart + bdur <= visits[-1].start_s:
                brk = bstart
                for k in range(len(visits) - 1):
                    if bstart + bdur <= visits[k + 1].start_s:
                        gap = k
                        break
        if implicit and visits[-2].kind == "stop":
            vt = data.vehicle_types[vtype[v]]
            p = int(vt.depot)
            f = int(final_fac[float(vt.speed_factor)][p, visits[-2].index])
            visits.insert(len(visits) - 1, RawVisit("unload", f, -1))
            if gap == len(visits) - 3:
                flexible = True
        t_v = vtype[v]
        routes.append(RawRoute(v, t_v, v - vtype.index(t_v), tuple(visits), brk, gap,
                               flexible, insert and needs_break[t_v]))
    dropped = tuple(int(s) for s in np.flatnonzero(~visited))
    return RawSolution(tuple(routes), dropped, int(solution.ObjectiveValue()), status, n_nodes,
                       stopped_by)


def _search(routing: pywrapcp.RoutingModel,
            params: routing_parameters_pb2.RoutingSearchParameters,
            routes_idx: list[list[int]] | None, deadline: float, *, restore_once: bool,
            fs: str) -> tuple[pywrapcp.Assignment | None, float, float]:
    """Search until ``deadline`` (``time.perf_counter()``), from the start routes
    ``routes_idx`` (routing indices per vehicle) when given, else from OR-Tools'
    first-solution strategy ``fs``. Returns the solution (None when none was found), the
    seconds searched and the search's time limit.

    The start is read into the model and restored before the search, under the same
    deadline. OR-Tools runs both as searches of their own with the closing parameters'
    limits, and with a global span cost (``restore_once``: the balance term) each of them
    keeps improving the cumul variables of the fixed routes until its time limit: with
    the search's parameters, reading, restoring and searching took three times the time
    limit. The model is then closed with a solution limit of one, so each restore stops
    at its first solution, and the search gets the time left with its own parameters.
    Without a global span cost the restores end at once and the model is closed with
    the search's parameters.
    """
    def left() -> float:
        return max(deadline - time.perf_counter(), 0.001)

    limit_s = left()
    params.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
    initial = None
    if routes_idx is not None:
        close = params
        if restore_once:
            close = routing_parameters_pb2.RoutingSearchParameters()
            close.CopyFrom(params)
            close.solution_limit = 1
        routing.CloseModelWithParameters(close)
        read = routing.ReadAssignmentFromRoutes(routes_idx, True)
        initial = read
        if read is not None:
            # a restored (fully propagated) start; searching from the bare routes can fail
            initial = routing.RestoreAssignment(read)
            if initial is None:
                log.debug("restoring the construction failed (%s); searching from it as read",
                          _status_name(routing.status()))
                initial = read
        if initial is None:
            log.info("greedy construction rejected by the model; using %s", fs)
        if restore_once:
            # the search's own parameters (the model sets its search up again): the
            # start is copied out of the restore's solution collector first
            if initial is not None:
                initial = routing.solver().Assignment(initial)
            limit_s = left()
            params.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
    solution = None
    t_search = time.perf_counter()
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, params)
        if solution is None:
            log.info("search from the construction failed (%s); using %s",
                     _status_name(routing.status()), fs)
    if solution is None:  # with what is left of the time, not a second full limit
        limit_s = left()
        params.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
        t_search = time.perf_counter()
        solution = routing.SolveWithParameters(params)
    return solution, time.perf_counter() - t_search, limit_s


def _start_sequences(start: tuple[tuple[int, tuple[tuple[str, int], ...]], ...], n_types: int,
                     P: int, n: int, node_fac: NDArray[np.int64],
                     implicit: bool) -> list[list[list[int]]]:
    """Model node sequences (per type, per route) of a start solution.

    Stops map to their node; each unload takes the next unused copy node of its facility
    (an unload with no copy left is skipped: the search then repairs the route). With
    the implicit final unload, a route's last unload is folded into its return arc.
    """
    free: dict[int, list[int]] = {}
    for k, f in enumerate(node_fac.tolist()):
        free.setdefault(int(f), []).append(P + n + k)
    for nodes in free.values():
        nodes.reverse()
    out: list[list[list[int]]] = [[] for _ in range(n_types)]
    for t, visits in start:
        seq: list[int] = []
        body = list(visits)
        if implicit and body and body[-1][0] == "unload":
            body.pop()
        for kind, idx in body:
            if kind == "stop":
                seq.append(P + int(idx))
            elif kind == "unload" and free.get(int(idx)):
                seq.append(free[int(idx)].pop())
        if seq:
            out[int(t)].append(seq)
    return out


def _indices(manager: pywrapcp.RoutingIndexManager, routing: pywrapcp.RoutingModel,
             node: int, nv: int) -> list[int]:
    """All routing indices of a node (a depot node has a start index per vehicle)."""
    out = []
    idx = manager.NodeToIndex(node)
    if idx >= 0:
        out.append(idx)
    else:
        for v in range(nv):
            if manager.IndexToNode(routing.Start(v)) == node:
                out.append(routing.Start(v))
    return out


def _status_name(code: int) -> str:
    names = {0: "ROUTING_NOT_SOLVED", 1: "ROUTING_SUCCESS", 2: "ROUTING_PARTIAL_SUCCESS",
             3: "ROUTING_FAIL", 4: "ROUTING_FAIL_TIMEOUT", 5: "ROUTING_INVALID",
             6: "ROUTING_INFEASIBLE", 7: "ROUTING_OPTIMAL"}
    return names.get(int(code), str(code))
