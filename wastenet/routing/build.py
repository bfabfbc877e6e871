"""Compile one county-day routing problem from a network and a siting result.

Places
------
* depot: the county seat (the county's interior point); the county's whole fleet
  (``scenario.fleet.vehicles``) is based there;
* stops: the county's villages due on that date by the weekly planner
  :func:`wastenet.routing.frequency.plan_week` (evenly spaced days; a heuristic balances
  the load each facility receives over the week, and a facility whose heaviest day then
  exceeds its daily capacity is re-solved exactly with CP-SAT, so that a week that fits
  is found whenever one exists within the search's deterministic limit), with load per
  visit = daily waste x days since the previous visit, in tonnes and m3
  (``density_t_per_m3``);
* facilities: the transfer stations and incinerators that the siting result assigned
  the county's villages to; each village must unload at its assigned facility
  (``stop_facility``), and the facility's daily capacity is its opened capacity, a hard
  limit (facility-days of the week that still exceed it are logged, saying whether it is
  proven that no week fits or giving the proven lower bound of the facility's heaviest
  day, and the solver's pre-check refuses such a day naming the facility, day, load and
  capacity).

Distances are great-circle x circuity (dense: a county has at most a few hundred
villages); travel time uses the scenario's collection-truck speed (per vehicle type the
``speed_factor`` scales it). When the scenario supplies a road distance and time matrix
(``data.distance_matrix_file``, kept on :attr:`Network.distance_matrix`), its distances
and travel times replace the estimate on every arc whose two ends it covers. Places are
looked up by id: the villages' ids, the facilities' ids, and for the depot
``D<adcode>`` or else ``I<adcode>`` (the county-seat incinerator candidate, which sits at
the same point). ``meta["distances"]`` says which source was used: ``"matrix"`` (every
arc), ``"matrix+estimate"`` (some places not covered; logged as a warning) or
``"estimate"``. Narrow-lane villages (a seeded ``narrow_lane_fraction``) may only be
served by vehicle types with ``narrow_lane_ok``.

Seeds
-----
The weekly planner of a county is seeded by :func:`routing_seed`,
``(data.seed + adcode) mod (MAX_SEED + 1)`` (:data:`wastenet.bounds.MAX_SEED` =
2^31 - 1), so that every ``data.seed`` the schema accepts (up to 2^32 - 1) gives a
valid planner seed; for the seeds whose sum stays within the range (every seed below
about 2.1 billion) it is the plain sum used before. The narrow-lane draw is seeded by
``(data.seed, adcode, 7)``. Both are deterministic.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wastenet.bounds import MAX_SEED
from wastenet.data import liaoning
from wastenet.errors import ValidationError
from wastenet.geo.distance import pairwise_haversine_m
from wastenet.geo.matrix import DistanceMatrix
from wastenet.routing.data import RoutingData, VehicleType
from wastenet.routing.frequency import WeekPlan, group_day_loads, plan_week
from wastenet.routing.text import WEEKDAYS, num
from wastenet.scenario.network import Network
from wastenet.scenario.schema import hhmm_to_s

log = logging.getLogger("wastenet.routing.build")


def apply_matrix(matrix: DistanceMatrix, ids: Sequence[str], dist: NDArray[np.float64],
                 dur: NDArray[np.float64], depot_aliases: Sequence[str] = ()
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Replace ``dist``/``dur`` (places ``ids``) by the matrix on every arc it covers.

    ``depot_aliases``: other ids to try, in order, for place 0 when the matrix lacks
    ``ids[0]``. Returns the new arrays and the number of places covered.
    """
    pos = matrix.positions(ids)
    for alias in depot_aliases:
        if pos[0] >= 0:
            break
        pos[0] = matrix.positions([alias])[0]
    rows = np.flatnonzero(pos >= 0)
    dist = np.array(dist, dtype=np.float64, copy=True)
    dur = np.array(dur, dtype=np.float64, copy=True)
    if rows.size:
        sel = np.ix_(rows, rows)
        msel = np.ix_(pos[rows], pos[rows])
        dist[sel] = matrix.distance_m[msel]
        dur[sel] = matrix.duration_s[msel]
    return dist, dur, int(rows.size)


def routing_seed(data_seed: int | None, county: str) -> int:
    """The weekly planner's seed for ``county``: ``(data_seed + adcode) mod (MAX_SEED + 1)``
    (``data_seed`` None counts as 0), always a valid seed in ``[0, MAX_SEED]``."""
    return ((data_seed or 0) + int(county)) % (MAX_SEED + 1)


def _capacity(fac: Mapping[str, object]) -> float:
    """A facility's daily capacity in tonnes (unlimited when not given or 0)."""
    cap = fac.get("capacity_t_per_day")
    return float(cap or np.inf)  # type: ignore[arg-type]


def _warn_over_capacity(week: WeekPlan, group: NDArray[np.int64], fac_ids: Sequence[str],
                        caps: Sequence[float], county: str) -> None:
    """Log the facility-days of the week whose balanced load still exceeds the facility's
    daily capacity (the plan of such a day is refused by the solver's pre-check)."""
    loads = group_day_loads(week, group, len(fac_ids))
    repairs = {r.group: r for r in week.repairs}
    over, why = [], []
    for g, (f, cap) in enumerate(zip(fac_ids, caps, strict=True)):
        days = [d for d in range(len(WEEKDAYS)) if loads[g, d] > cap + 1e-9]
        over += [f"{f} on {WEEKDAYS[d]} {num(loads[g, d])} t > {num(cap)} t" for d in days]
        rep = repairs.get(g)
        if not days or rep is None:
            continue
        if rep.proven_infeasible:
            why.append(f"{f}: proven that no choice of visit days fits its {num(cap)} t "
                       f"(every week brings it at least {num(rep.lower_bound)} t on some "
                       "day)")
        else:
            why.append(f"{f}: no week within its {num(cap)} t was found by the exact "
                       f"search within its limit (proven lower bound of its heaviest day "
                       f"{num(rep.lower_bound)} t)")
    if over:
        log.warning("county %s: with its collection frequencies, %d facility-day(s) of the "
                    "week exceed the daily capacity even when balanced: %s%s", county,
                    len(over),
                    "; ".join(over), "".join(f". {x}" for x in why))


@dataclass(frozen=True, eq=False)
class CountyWeek:
    """A county's week, the part of its routing problem that does not depend on the
    date (:func:`plan_county_week`): its villages (``in_county``, indices into the
    network's villages) with their assigned facility ids (``facility_of``), the facilities
    (``facility_info`` by id, ``capacity_of`` in t/day), the collection frequencies
    (``frequency``), the week plan and the narrow-lane draw. :func:`build_day` turns it
    into one day's :class:`RoutingData`; a week of days shares one :class:`CountyWeek`."""

    county: str
    in_county: NDArray[np.int64]
    facility_of: tuple[str, ...]
    facility_info: Mapping[str, Mapping[str, object]]
    capacity_of: Mapping[str, float]
    frequency: NDArray[np.int64]
    week: WeekPlan
    narrow: NDArray[np.bool_]


def build_routing_data(network: Network, assignments: Sequence[Mapping[str, object]],
                       facilities: Sequence[Mapping[str, object]], county: str,
                       date: str) -> RoutingData:
    """The routing problem of ``county`` on ``date`` (YYYY-MM-DD):
    :func:`build_day` of :func:`plan_county_week` (the date is checked first).

    ``assignments``: rows with ``village_id`` and ``facility_id``; ``facilities``: the
    opened facilities with ``id``, ``capacity_t_per_day`` (as in a siting result).
    """
    _parse_date(date)
    return build_day(network, plan_county_week(network, assignments, facilities, county),
                     date)


def _parse_date(date: str) -> dt.date:
    try:
        return dt.date.fromisoformat(date)
    except ValueError as exc:
        raise ValidationError("date", date, "must be YYYY-MM-DD") from exc


def plan_county_week(network: Network, assignments: Sequence[Mapping[str, object]],
                     facilities: Sequence[Mapping[str, object]], county: str) -> CountyWeek:
    """Check a county's assignments and plan its week (:class:`CountyWeek`); the
    arguments are those of :func:`build_routing_data`."""
    fleet = network.scenario.fleet
    if county not in liaoning.county_index():
        raise ValidationError("county", county, "unknown county adcode")
    v = network.villages
    in_county = np.flatnonzero(np.array(v.county) == county)
    if in_county.size == 0:
        raise ValidationError("county", county, "has no villages in this scenario")
    assigned: dict[str, str] = {}
    for k, a in enumerate(assignments):
        vid, fid = a.get("village_id"), a.get("facility_id")
        if vid in (None, "") or fid in (None, ""):
            key = "village_id" if vid in (None, "") else "facility_id"
            raise ValidationError(f"assignments[{k}].{key}", a.get(key),
                                  "is missing (every row needs village_id and facility_id)")
        before = assigned.setdefault(str(vid), str(fid))
        if before != str(fid):
            raise ValidationError(
                f"assignments[{k}].village_id", str(vid),
                f"is assigned to two facilities ({before} and {fid}): a village's trucks "
                "unload at one facility, so routing needs one facility per village")
    fac_info = {str(f["id"]): f for f in facilities if f.get("id") not in (None, "")}
    missing = [v.ids[i] for i in in_county if v.ids[i] not in assigned]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValidationError(
            "assignments", missing[0],
            f"{len(missing)} of the {in_county.size} villages of county {county} have no "
            f"assigned facility ({shown}); a county is routed only when every village has "
            "one (did the siting leave them uncovered, or is the file cut short?)")
    fac_all = [assigned[v.ids[i]] for i in in_county]
    unknown = next((f for f in fac_all if f not in fac_info), None)
    if unknown is not None:
        vid = v.ids[int(in_county[fac_all.index(unknown)])]
        raise ValidationError("assignments.facility_id", unknown,
                              f"village {vid} is assigned to a facility that is not among "
                              "the siting output's facilities")
    week_fac = sorted(set(fac_all))
    group_of = {f: g for g, f in enumerate(week_fac)}
    group = np.array([group_of[f] for f in fac_all], dtype=np.int64)
    freq = np.where(v.tourism[in_county], fleet.tourism_frequency_per_week,
                    fleet.frequency_per_week)
    cap_of = {f: _capacity(fac_info[f]) for f in week_fac}
    week_caps = [cap_of[f] for f in week_fac]
    week = plan_week(freq, v.waste_t_per_day[in_county],
                     seed=routing_seed(network.seed, county), group=group,
                     capacity=week_caps, name=f"county {county}")
    _warn_over_capacity(week, group, week_fac, week_caps, county)
    rng = np.random.default_rng([network.seed or 0, int(county), 7])
    narrow_all = rng.random(in_county.size) < fleet.narrow_lane_fraction
    return CountyWeek(county=county, in_county=in_county, facility_of=tuple(fac_all),
                      facility_info=fac_info, capacity_of=cap_of,
                      frequency=np.asarray(freq, dtype=np.int64), week=week,
                      narrow=narrow_all)


def build_day(network: Network, cw: CountyWeek, date: str) -> RoutingData:
    """The routing problem of the county of ``cw`` on ``date`` (YYYY-MM-DD), ``cw``
    planned by :func:`plan_county_week` on the same ``network``."""
    sc = network.scenario
    fleet = sc.fleet
    v = network.villages
    county, in_county, fac_info, cap_of = cw.county, cw.in_county, cw.facility_info, \
        cw.capacity_of
    weekday = _parse_date(date).weekday()
    due = cw.week.day_stops[weekday]  # indices into in_county, with loads of the days since
    stops = [int(i) for i in in_county[due]]
    loads = cw.week.day_loads[weekday][:, 0].tolist()
    fac_of = [cw.facility_of[int(k)] for k in due]
    narrow = cw.narrow[due]
    if not stops:
        raise ValidationError("date", date, f"no village of county {county} is due that day")

    fac_ids = sorted(set(fac_of))
    fac_index = {f: k for k, f in enumerate(fac_ids)}
    c = liaoning.get_county(county)
    lon = np.concatenate([[c.lon], v.lon[stops],
                          [float(fac_info[f]["lon"]) for f in fac_ids]])  # type: ignore[arg-type]
    lat = np.concatenate([[c.lat], v.lat[stops],
                          [float(fac_info[f]["lat"]) for f in fac_ids]])  # type: ignore[arg-type]
    dist = pairwise_haversine_m(lon, lat, lon, lat) * sc.network.circuity_factor
    dur = dist / (sc.network.truck_speed_km_per_h / 3.6)
    n = len(stops)
    loc_ids = (f"D{county}", *(v.ids[i] for i in stops), *fac_ids)
    source = "estimate"
    if network.distance_matrix is not None:
        dist, dur, covered = apply_matrix(network.distance_matrix, loc_ids, dist, dur,
                                          depot_aliases=(f"I{county}",))
        if covered == len(loc_ids):
            source = "matrix"
        elif covered:
            source = "matrix+estimate"
        if covered < len(loc_ids):
            log.warning("%s %s: the distance matrix covers %d of %d routing places; "
                        "the other arcs use the great-circle estimate", county, date,
                        covered, len(loc_ids))
    loc_names = (f"{c.name}环卫车队", *(v.names[i] for i in stops),
                 *(str(fac_info[f].get("name", f)) for f in fac_ids))
    t = np.array(loads)
    demand = np.column_stack([t, t / fleet.density_t_per_m3])
    small = frozenset(k for k, vt in enumerate(fleet.vehicles) if vt.narrow_lane_ok)
    allowed = tuple(small if nl else None for nl in narrow)
    if any(a is not None and not a for a in allowed):
        raise ValidationError("fleet.vehicles", "narrow_lane_ok",
                              "narrow-lane villages exist but no vehicle type may serve them")
    vtypes = []
    for vs in fleet.vehicles:
        cap_m3 = vs.capacity_m3 if vs.capacity_m3 is not None else vs.capacity_t / \
            fleet.density_t_per_m3
        route_cap = None
        if vs.route_capacity_t is not None:
            route_cap = (vs.route_capacity_t, vs.route_capacity_t / fleet.density_t_per_m3)
        vtypes.append(VehicleType(
            name=vs.name, count=vs.count, depot=0, capacity=(vs.capacity_t, cap_m3),
            fixed_cost_yuan=vs.fixed_cost_yuan, cost_yuan_per_km=vs.cost_yuan_per_km,
            cost_yuan_per_h=vs.cost_yuan_per_h, speed_factor=vs.speed_factor,
            shift_start_s=hhmm_to_s(vs.shift_start), shift_end_s=hhmm_to_s(vs.shift_end),
            max_shift_s=vs.max_shift_h * 3600.0, max_stops=vs.max_stops,
            route_capacity=route_cap, break_duration_s=vs.break_minutes * 60.0,
            break_earliest_s=hhmm_to_s(vs.break_earliest),
            break_latest_s=hhmm_to_s(vs.break_latest)))
    open_s, close_s = hhmm_to_s(fleet.station_open), hhmm_to_s(fleet.station_close)
    day_start = min(vt.shift_start_s for vt in vtypes)
    day_end = max(vt.shift_end_s for vt in vtypes)
    return RoutingData(
        ids=loc_ids, names=loc_names, lon=lon, lat=lat, distance_m=dist, duration_s=dur,
        load_dims=("t", "m3"), depots=np.array([0]), depot_open_s=np.array([day_start]),
        depot_close_s=np.array([day_end]), stops=np.arange(1, n + 1), stop_demand=demand,
        stop_service_s=np.full(n, fleet.service_minutes_per_stop * 60.0),
        stop_open_s=np.full(n, day_start), stop_close_s=np.full(n, day_end),
        stop_allowed=allowed,
        stop_facility=np.array([fac_index[f] for f in fac_of]),
        facilities=np.arange(n + 1, n + 1 + len(fac_ids)),
        facility_unload_s=np.full(len(fac_ids), fleet.unload_minutes * 60.0),
        facility_open_s=np.full(len(fac_ids), open_s),
        facility_close_s=np.full(len(fac_ids), close_s),
        facility_capacity=np.array([cap_of[f] for f in fac_ids]),
        vehicle_types=tuple(vtypes), name=f"{sc.name}:{county}:{date}",
        synthetic=network.synthetic, seed=network.seed,
        meta={"county": county, "county_name": c.name, "date": date, "weekday": weekday,
              "distances": source,
              "frequencies_per_week": sorted({int(x) for x in cw.frequency[due]})},
    )
