"""Immutable problem data of the daily collection routing model.

This is the contract between builders (the scenario compiler, the ``wcvrptw`` and
``vrplib`` readers) and the solver, the checker and the exports. No solver logic here.

Units: metres, seconds (time of day is seconds from midnight), loads in the units named
by ``load_dims`` (for example ``("t",)`` or ``("t", "m3")`` or ``("yd3",)``), yuan.

Locations
---------
Every place is a row of the location table (``ids``, ``names``, ``lon``, ``lat``) and of
the ``distance_m`` and ``duration_s`` matrices (travel at speed factor 1). Three roles
index into that table: depots (where vehicles start and end), stops (collection points,
the villages) and facilities (where vehicles unload: transfer stations or incinerators).
A location may play only one role.

Rules the solver and the checker share
--------------------------------------
* Every stop is visited exactly once, by a vehicle type it allows (``stop_allowed``).
* Load accumulates per dimension; it may never exceed the vehicle's ``capacity``
  between unloads. An unload empties the vehicle.
* The load of a stop with ``stop_facility[s] >= 0`` must be unloaded at exactly that
  facility: every trip (the visits between two unloads) carries only stops of one
  assigned facility, and ends there. ``-1`` means any facility. The exception is a
  trip that collected nothing (stops of zero load in every dimension, such as
  inspections): with nothing to unload it may return to the depot directly, even when
  its stops are assigned; if it does end at an unload, that is its assigned facility.
* A vehicle that collected anything unloads before it returns to its depot.
* ``route_capacity``: total load collected in the day; ``max_stops``: stops in the day.
* Service at a stop or unload starts inside its window; waiting is allowed.
* Shift: leave the depot at or after ``shift_start_s`` and its opening
  (``depot_open_s``), be back by ``shift_end_s`` and the depot's closing
  (``depot_close_s``); the time from leaving to returning is at most ``max_shift_s``.
* Break: when ``break_duration_s > 0`` the driver takes one break of
  ``break_duration_s`` that starts inside ``[break_earliest_s, break_latest_s]``. It is
  off the route (``Route.break_start_s`` is None) only when it fits entirely before
  leaving or after returning: the route leaves at or after ``break_earliest_s +
  break_duration_s``, or returns by ``break_latest_s``. Otherwise it is taken on the
  route, between two visits (while driving or waiting, never during a service).
* Daily tonnes unloaded at facility ``f`` (first load dimension) stay within
  ``facility_capacity[f]`` (``inf`` when unlimited).

Validation
----------
:class:`VehicleType` and :class:`RoutingData` validate every field when built and raise
:class:`~wastenet.errors.ValidationError` naming the field (with the vehicle type, stop,
depot or facility) and the value; nothing is clipped, truncated or reinterpreted:

* counts and indices (``count``, ``depot``, ``max_stops``, ``depots``, ``stops``,
  ``facilities``, ``stop_facility``, the entries of ``stop_allowed``) are integers (not
  bools, not fractional floats); ``count`` and ``max_stops`` are >= 0;
* times (windows, shifts, breaks, service and unload times, ``max_shift_s``, the entries
  of ``duration_s`` and the travel times ``duration_s / speed_factor``) are finite, >= 0
  (seconds from midnight) and at most :data:`MAX_TIME_S`; every window closes at or after
  it opens; ``speed_factor`` is finite and > 0;
* loads (``capacity`` > 0, ``route_capacity`` >= 0 with one entry per dimension or
  ``None`` for no daily limit, ``stop_demand`` >= 0 of shape ``(n_stops, D)`` and its
  total per dimension) are finite and at most :data:`MAX_LOAD`; ``facility_capacity`` is
  >= 0 and at most :data:`MAX_LOAD`, or ``inf`` (unlimited), never NaN;
* costs are finite, >= 0 and at most :data:`MAX_COST_YUAN`; location ids and the
  ``load_dims`` names are unique; ``names``, ``lon``, ``lat``, ``x`` and ``y`` have one
  entry per location; ``lon`` and ``lat`` are WGS-84 degrees or NaN (no coordinates: the
  benchmarks), ``x`` and ``y`` finite or NaN; an empty ``stop_allowed`` set is kept (the
  solver's pre-check reports the stop);
* ``load_dims`` may be empty (every stop then has zero load: inspection rounds) only
  without unload facilities: the facility capacity is defined on the first dimension,
  and the solver's pre-check and unload sizing need one.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from wastenet.bounds import MAX_VEHICLE_COST_YUAN
from wastenet.errors import ValidationError
from wastenet.frozen import FrozenData, frozen_array

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The largest load value (a vehicle's ``capacity`` or ``route_capacity``, a finite
#: ``facility_capacity``, the total ``stop_demand`` of a dimension), in data load units.
#: The OR-Tools adapter works in int64 integers of ``LOAD_SCALE`` (1000) per load unit
#: (:mod:`wastenet.routing.ortools_adapter`; not imported here, it imports this module):
#: 1e12 units are 1e15 integers, a factor of ~9000 below the int64 limit (9.2e18) for
#: the sums it forms (the day's total demand, load on board plus a demand). A capacity
#: of inf or 1e16 wrapped to a negative int64 and aborted the process inside OR-Tools.
MAX_LOAD = 1e12
#: The largest time value in seconds: times of day (windows, shifts, breaks), durations
#: (service, unload, ``max_shift_s``) and travel times (``duration_s / speed_factor``).
#: The adapter rounds times to whole seconds in int64 and multiplies travel times by
#: ``OBJ_SCALE`` (36 000) in the objective: 1e12 s gives 3.6e16, well inside int64. (It
#: is far above a day on purpose: the CVRPLIB readers set the horizon to the length of
#: the star solution, over 1e6 s on the larger X instances.)
MAX_TIME_S = 1e12
#: The largest vehicle cost: ``fixed_cost_yuan`` (yuan per vehicle used),
#: ``cost_yuan_per_km`` and ``cost_yuan_per_h``. The adapter charges costs in int64
#: objective units, ``OBJ_SCALE`` (36 000) per yuan at cost weight 1: 1e9 yuan is 3.6e13
#: units, a factor of 2.5e5 below the int64 limit (9.2e18), room for the sums over a
#: plan. A fixed cost of 2.6e14 yuan did not fit one int64 (an OverflowError inside
#: OR-Tools), and 2.5e14 overflowed the objective once two vehicles were used. A cost
#: weight above 1 multiplies these; the solver refuses a product of weights and
#: costs, travel times or distances that its objective cannot hold when it starts
#: (:func:`wastenet.routing.ortools_adapter.check_objective_range`).
MAX_COST_YUAN = MAX_VEHICLE_COST_YUAN


def _is_real(x: object) -> bool:
    """A finite real number (Python or numpy), not a bool."""
    return (isinstance(x, numbers.Real) and not isinstance(x, bool)
            and math.isfinite(float(x)))


def _integer(field_name: str, value: object, rule: str, *, low: int = 0) -> int:
    """``value`` as an ``int`` when it is an integer >= ``low`` (not a bool, not a
    float), else :class:`ValidationError` naming ``field_name``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or int(value) < low):
        raise ValidationError(field_name, value, rule)
    return int(value)


def _number(field_name: str, value: object, rule: str, *, low: float = 0.0,
            high: float = math.inf, low_open: bool = False) -> float:
    """``value`` as a ``float`` when it is a finite real in ``[low, high]`` (``(low,
    high]`` with ``low_open``), else :class:`ValidationError` naming ``field_name``."""
    if not _is_real(value):
        raise ValidationError(field_name, value, rule)
    v = float(value)  # type: ignore[arg-type]
    if v < low or (low_open and v == low) or v > high:
        raise ValidationError(field_name, value, rule)
    return v


def _time(field_name: str, value: object) -> float:
    return _number(field_name, value,
                   f"must be a finite number of seconds in [0, {MAX_TIME_S:g}]",
                   high=MAX_TIME_S)


def _loads(field_name: str, value: object, *, positive: bool) -> tuple[float, ...]:
    """A tuple of load values, one per dimension: finite, > 0 (``positive``) or >= 0,
    at most :data:`MAX_LOAD`."""
    sign = "> 0" if positive else ">= 0"
    rule = (f"every dimension must be a finite number {sign} and at most {MAX_LOAD:g} "
            "(the solver's integer load scaling)")
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValidationError(field_name, value, "must be a tuple, one value per load "
                                                 "dimension")
    vals = tuple(value)
    if not all(_is_real(c) and (c > 0 if positive else c >= 0) and c <= MAX_LOAD
               for c in vals):
        raise ValidationError(field_name, vals, rule)
    return tuple(float(c) for c in vals)


def _float_array(name: str, value: object) -> FloatArray:
    """A read-only float64 copy of ``value``; :class:`ValidationError` naming ``name``
    when it does not hold numbers."""
    try:
        return frozen_array(value, np.float64)
    except (TypeError, ValueError):
        raise ValidationError(name, _short(value), "must be an array of numbers") from None


def _index_array(name: str, value: object, labels: Sequence[str]) -> IntArray:
    """A read-only int64 copy of the 1-D integer array ``value`` (floats only when
    whole; no bools); :class:`ValidationError` naming ``name`` and the entry."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValidationError(name, arr.shape, "must be a 1-D array of integer indices")
    if arr.size and (arr.dtype == np.bool_ or arr.dtype.kind not in "iuf"):
        raise ValidationError(name, _short(value), "must hold integer indices")
    if arr.dtype.kind == "f":
        _check(name, arr, labels, np.isfinite(arr) & (arr == np.round(arr))
               & (np.abs(arr) <= 2.0**53), "must be an integer index (not fractional)")
    return frozen_array(arr, np.int64)


def _check(name: str, arr: NDArray[np.generic], labels: Sequence[str],
           ok: NDArray[np.bool_], rule: str) -> None:
    """Raise :class:`ValidationError` naming ``name[label]`` of the first entry of
    ``arr`` where ``ok`` is False."""
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        label = labels[i] if i < len(labels) else i
        more = f" ({bad.size} entries are not)" if bad.size > 1 else ""
        raise ValidationError(f"{name}[{label}]", arr[i].item(), rule + more)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class VehicleType:
    """A class of vehicles based at one depot."""

    name: str
    count: int
    depot: int  #: index into ``RoutingData.depots``
    capacity: tuple[float, ...]  #: per load dimension, between unloads
    fixed_cost_yuan: float = 0.0
    cost_yuan_per_km: float = 0.0
    cost_yuan_per_h: float = 0.0
    speed_factor: float = 1.0  #: travel time = duration_s / speed_factor
    shift_start_s: float = 0.0
    shift_end_s: float = 86_400.0
    max_shift_s: float = 86_400.0
    max_stops: int | None = None
    route_capacity: tuple[float, ...] | None = None  #: per dimension, per day
    break_duration_s: float = 0.0
    break_earliest_s: float = 0.0
    break_latest_s: float = 0.0

    def __post_init__(self) -> None:
        tag = f"vehicle_types[{self.name}]"
        put = object.__setattr__
        put(self, "count", _integer(f"{tag}.count", self.count,
                                    "must be an integer >= 0 (a number of vehicles)"))
        put(self, "depot", _integer(f"{tag}.depot", self.depot,
                                    "must be an integer index into depots"))
        put(self, "capacity", _loads(f"{tag}.capacity", self.capacity, positive=True))
        if self.route_capacity is not None:
            rc = _loads(f"{tag}.route_capacity", self.route_capacity, positive=False)
            if len(rc) != len(self.capacity):
                raise ValidationError(f"{tag}.route_capacity", rc,
                                      f"needs one entry per load dimension, as capacity "
                                      f"{self.capacity} (None: no daily limit)")
            put(self, "route_capacity", rc)
        if self.max_stops is not None:
            put(self, "max_stops", _integer(f"{tag}.max_stops", self.max_stops,
                                            "must be an integer >= 0 or None (no limit)"))
        for nm in ("fixed_cost_yuan", "cost_yuan_per_km", "cost_yuan_per_h"):
            put(self, nm, _number(f"{tag}.{nm}", getattr(self, nm),
                                  f"must be a finite number of yuan in [0, {MAX_COST_YUAN:g}] "
                                  "(the solver's integer objective scaling)",
                                  high=MAX_COST_YUAN))
        put(self, "speed_factor", _number(f"{tag}.speed_factor", self.speed_factor,
                                          "must be a finite number > 0", low_open=True))
        for nm in ("shift_start_s", "shift_end_s", "max_shift_s", "break_duration_s",
                   "break_earliest_s", "break_latest_s"):
            put(self, nm, _time(f"{tag}.{nm}", getattr(self, nm)))
        if self.shift_end_s < self.shift_start_s:
            raise ValidationError(f"{tag}.shift_end_s", self.shift_end_s,
                                  "ends before shift_start_s")
        if self.break_latest_s < self.break_earliest_s:
            raise ValidationError(f"{tag}.break", (
                self.break_duration_s, self.break_earliest_s, self.break_latest_s),
                "needs duration >= 0 and earliest <= latest")


@dataclass(frozen=True, eq=False)
class RoutingData(FrozenData):
    """A complete, validated routing problem for one day (one county or benchmark)."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    lon: FloatArray  #: WGS-84, or NaN where unknown (benchmarks use x/y instead)
    lat: FloatArray
    distance_m: FloatArray  #: (L, L)
    duration_s: FloatArray  #: (L, L), at speed factor 1
    load_dims: tuple[str, ...]
    depots: IntArray  #: location index of each depot
    depot_open_s: FloatArray
    depot_close_s: FloatArray
    stops: IntArray  #: location index of each stop
    stop_demand: FloatArray  #: (n_stops, D) load per visit
    stop_service_s: FloatArray
    stop_open_s: FloatArray  #: earliest service start
    stop_close_s: FloatArray  #: latest service start
    stop_allowed: tuple[frozenset[int] | None, ...]  #: allowed vehicle type indices, None = all
    stop_facility: IntArray  #: index into ``facilities`` that must receive the load; -1 any
    facilities: IntArray  #: location index of each unload facility
    facility_unload_s: FloatArray
    facility_open_s: FloatArray
    facility_close_s: FloatArray
    facility_capacity: FloatArray  #: per day, first load dimension; inf = unlimited
    vehicle_types: tuple[VehicleType, ...]
    x: FloatArray | None = None  #: optional planar coordinates (benchmarks), metres or feet
    y: FloatArray | None = None
    name: str = "routing"
    synthetic: bool = False
    seed: int | None = None
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = object.__setattr__
        L = len(self.ids)
        if len(set(self.ids)) != L:
            dup = next(i for i, k in Counter(self.ids).items() if k > 1)
            raise ValidationError("ids", dup, "location ids must be unique (each names one "
                                              "row of the location table)")
        if len(self.names) != L:
            raise ValidationError("names", len(self.names),
                                  f"needs one name per location ({L})")
        for nm in ("lon", "lat", "x", "y"):
            if nm in ("x", "y") and getattr(self, nm) is None:
                continue
            xy = _float_array(nm, getattr(self, nm))
            if xy.shape != (L,):
                raise ValidationError(nm, xy.shape, f"needs one value per location ({L},)")
            lim = {"lon": 180.0, "lat": 90.0}.get(nm, math.inf)
            _check(nm, xy, self.ids, np.isnan(xy) | (np.isfinite(xy) & (np.abs(xy) <= lim)),
                   f"must be WGS-84 degrees in [-{lim:g}, {lim:g}] or NaN (unknown)"
                   if nm in ("lon", "lat") else "must be finite or NaN (unknown)")
            put(self, nm, xy)
        for nm in ("depot_open_s", "depot_close_s", "stop_service_s", "stop_open_s",
                   "stop_close_s", "facility_unload_s", "facility_open_s",
                   "facility_close_s", "facility_capacity"):
            put(self, nm, _float_array(nm, getattr(self, nm)))
        for nm in ("depots", "stops", "facilities"):
            put(self, nm, _index_array(nm, getattr(self, nm), ()))
        for nm in ("distance_m", "duration_s"):
            mat = _float_array(nm, getattr(self, nm))
            if mat.shape != (L, L):
                raise ValidationError(nm, mat.shape, f"must be ({L}, {L})")
            high = MAX_TIME_S if nm == "duration_s" else math.inf
            cells = np.argwhere(~(np.isfinite(mat) & (mat >= 0) & (mat <= high)))
            if cells.size:
                i, j = (int(k) for k in cells[0])
                rule = ("entries must be finite and >= 0" if nm == "distance_m" else
                        f"entries must be finite seconds in [0, {MAX_TIME_S:g}]")
                raise ValidationError(f"{nm}[{self.ids[i]}->{self.ids[j]}]",
                                      float(mat[i, j]), f"{rule} ({len(cells)} entries are "
                                                        "not)")
            put(self, nm, mat)
        roles = np.concatenate([self.depots, self.stops, self.facilities])
        if roles.size and (roles.min() < 0 or roles.max() >= L):
            raise ValidationError("locations", "out of range", f"role indices must be < {L}")
        if len(np.unique(roles)) != roles.size:
            raise ValidationError("locations", "shared", "a location may play only one role")
        n, nf, P = len(self.stops), len(self.facilities), len(self.depots)
        stop_ids = [self.ids[i] for i in self.stops]
        fac_ids = [self.ids[i] for i in self.facilities]
        depot_ids = [self.ids[i] for i in self.depots]
        D = len(self.load_dims)
        if (not all(isinstance(d, str) and d for d in self.load_dims)
                or len(set(self.load_dims)) != D):
            raise ValidationError("load_dims", self.load_dims,
                                  "must be distinct, non-empty names (the load units)")
        dem = _float_array("stop_demand", self.stop_demand)
        if dem.shape != (n, D):
            raise ValidationError("stop_demand", dem.shape,
                                  f"must have shape ({n}, {D}): one row per stop, one "
                                  f"column per load dimension {self.load_dims}")
        put(self, "stop_demand", dem)
        cells = np.argwhere(~(np.isfinite(dem) & (dem >= 0)))
        if cells.size:
            s = int(cells[0][0])
            raise ValidationError(f"stop_demand[{stop_ids[s]}]", tuple(dem[s]),
                                  f"must be finite and >= 0 in every dimension {self.load_dims}")
        if n and D and float(dem.sum(axis=0).max()) > MAX_LOAD:
            d = int(np.argmax(dem.sum(axis=0)))
            raise ValidationError(f"stop_demand[:, {self.load_dims[d]}]",
                                  float(dem[:, d].sum()),
                                  f"the day's total load must be at most {MAX_LOAD:g} (the "
                                  "solver's integer load scaling)")
        if D == 0 and nf:
            raise ValidationError("load_dims", self.load_dims,
                                  "needs at least one load dimension when there are unload "
                                  "facilities (their daily capacity is on the first "
                                  "dimension); leave the facilities out for rounds with "
                                  "nothing to collect")
        put(self, "stop_facility", _index_array("stop_facility", self.stop_facility, stop_ids))
        for nm, k, who in (("stop_service_s", n, stop_ids), ("stop_open_s", n, stop_ids),
                           ("stop_close_s", n, stop_ids), ("stop_facility", n, stop_ids),
                           ("facility_unload_s", nf, fac_ids),
                           ("facility_open_s", nf, fac_ids),
                           ("facility_close_s", nf, fac_ids),
                           ("facility_capacity", nf, fac_ids),
                           ("depot_open_s", P, depot_ids), ("depot_close_s", P, depot_ids)):
            arr = getattr(self, nm)
            if arr.shape != (k,):
                raise ValidationError(nm, arr.shape, f"must be ({k},): one per "
                                                     f"{nm.split('_')[0]}")
            if nm.endswith("_s"):
                _check(nm, arr, who, np.isfinite(arr) & (arr >= 0) & (arr <= MAX_TIME_S),
                       f"must be a finite number of seconds in [0, {MAX_TIME_S:g}]")
        for nm, who, opn, cls in (
                ("depot", depot_ids, self.depot_open_s, self.depot_close_s),
                ("facility", fac_ids, self.facility_open_s, self.facility_close_s)):
            bad = np.flatnonzero(cls < opn)
            if bad.size:
                i = int(bad[0])
                raise ValidationError(f"{nm}_close_s[{who[i]}]", float(cls[i]),
                                      f"earlier than {nm}_open_s ({float(opn[i]):g})")
        bad = np.flatnonzero(self.stop_close_s < self.stop_open_s)
        if bad.size:
            s = int(bad[0])
            raise ValidationError(f"stop[{stop_ids[s]}].close_s",
                                  float(self.stop_close_s[s]), "earlier than open_s")
        cap = self.facility_capacity
        _check("facility_capacity", cap, fac_ids,
               (cap == np.inf) | ((cap >= 0) & (cap <= MAX_LOAD)),
               f"must be a number of load units in [0, {MAX_LOAD:g}] (the solver's integer "
               "load scaling), or inf (no limit)")
        if nf == 0 and np.any(dem > 0):
            raise ValidationError("facilities", 0, "loads are collected but no unload facility")
        _check("stop_facility", self.stop_facility, stop_ids,
               (self.stop_facility >= -1) & (self.stop_facility < nf),
               f"must be -1 (any facility) or a facility index < {nf}")
        if len(self.stop_allowed) != n:
            raise ValidationError("stop_allowed", len(self.stop_allowed), f"need {n} entries")
        nt = len(self.vehicle_types)
        allowed_out: list[frozenset[int] | None] = []
        for s, allowed in enumerate(self.stop_allowed):
            if allowed is None:
                allowed_out.append(None)
                continue
            where = f"stop_allowed[{stop_ids[s]}]"
            if not isinstance(allowed, set | frozenset | list | tuple):
                raise ValidationError(where, allowed, "must be a set of vehicle type indices "
                                                      "or None (every type)")
            if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool)
                       for t in allowed):
                raise ValidationError(where, tuple(allowed),
                                      "vehicle type indices must be integers")
            ts = frozenset(int(t) for t in allowed)
            if any(t < 0 or t >= nt for t in ts):
                raise ValidationError(where, sorted(ts), "unknown vehicle type index")
            allowed_out.append(ts)
        put(self, "stop_allowed", tuple(allowed_out))
        longest = float(self.duration_s.max()) if L else 0.0
        for v in self.vehicle_types:
            if not isinstance(v, VehicleType):
                raise ValidationError("vehicle_types", v, "each entry must be a VehicleType")
            if len(v.capacity) != D:
                raise ValidationError(f"vehicle_types[{v.name}].capacity", v.capacity,
                                      f"needs {D} dimensions {self.load_dims}")
            if not 0 <= v.depot < P:
                raise ValidationError(f"vehicle_types[{v.name}].depot", v.depot, "unknown depot")
            if longest / v.speed_factor > MAX_TIME_S:
                raise ValidationError(f"vehicle_types[{v.name}].speed_factor", v.speed_factor,
                                      f"makes the longest travel time {longest:g} s / "
                                      f"{v.speed_factor:g} exceed {MAX_TIME_S:g} s")

    @property
    def n_stops(self) -> int:
        return len(self.stops)


@dataclass(frozen=True)
class Visit:
    """One visit of a route, in order.

    ``kind`` is ``"depot"`` (first and last visit), ``"stop"`` or ``"unload"``.
    ``index`` is the depot, stop or facility index of that role; ``location`` the row of
    the location table. Times are seconds from midnight; ``load_after`` per dimension.
    """

    kind: str
    index: int
    location: int
    arrival_s: float
    start_s: float
    departure_s: float
    load_after: tuple[float, ...]


@dataclass(frozen=True)
class Route:
    vehicle_type: int
    vehicle: int  #: 0-based number of the vehicle within its type
    visits: tuple[Visit, ...]
    break_start_s: float | None
    distance_m: float
    duration_s: float  #: from leaving the depot to returning, breaks and waits included
    travel_s: float
    load_total: tuple[float, ...]
    tonne_km: float
    cost_yuan: float


@dataclass(frozen=True)
class RoutePlan:
    """A solved day: routes plus totals. ``unserved`` lists stop indices not visited."""

    routes: tuple[Route, ...]
    unserved: tuple[int, ...]
    vehicles: int
    distance_m: float
    travel_s: float
    duration_s: float
    tonne_km: float
    cost_yuan: float
    status: str
    solver: str
    seed: int
    elapsed_s: float
    name: str = "routing"
    synthetic: bool = False
    meta: dict[str, object] = field(default_factory=dict)
