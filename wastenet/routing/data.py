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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from wastenet.errors import ValidationError
from wastenet.frozen import FrozenData, frozen_array

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


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
        if self.count < 0:
            raise ValidationError(f"vehicle_types[{self.name}].count", self.count,
                                  "must be >= 0")
        if any(not (c > 0) for c in self.capacity):
            raise ValidationError(f"vehicle_types[{self.name}].capacity", self.capacity,
                                  "every dimension must be > 0")
        if not self.speed_factor > 0:
            raise ValidationError(f"vehicle_types[{self.name}].speed_factor",
                                  self.speed_factor, "must be > 0")
        if self.shift_end_s < self.shift_start_s:
            raise ValidationError(f"vehicle_types[{self.name}].shift_end_s",
                                  self.shift_end_s, "ends before shift_start_s")
        if self.break_duration_s < 0 or self.break_latest_s < self.break_earliest_s:
            raise ValidationError(f"vehicle_types[{self.name}].break", (
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
        L = len(self.ids)
        f64 = np.float64
        for nm in ("lon", "lat", "depot_open_s", "depot_close_s", "stop_service_s",
                   "stop_open_s", "stop_close_s", "facility_unload_s", "facility_open_s",
                   "facility_close_s", "facility_capacity"):
            object.__setattr__(self, nm, frozen_array(getattr(self, nm), f64))
        for nm in ("depots", "stops", "stop_facility", "facilities"):
            object.__setattr__(self, nm, frozen_array(getattr(self, nm), np.int64))
        for nm in ("distance_m", "duration_s"):
            arr = frozen_array(getattr(self, nm), f64)
            if arr.shape != (L, L):
                raise ValidationError(nm, arr.shape, f"must be ({L}, {L})")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValidationError(nm, "negative or not finite", "entries must be >= 0")
            object.__setattr__(self, nm, arr)
        for nm in ("x", "y"):
            if getattr(self, nm) is not None:
                object.__setattr__(self, nm, frozen_array(getattr(self, nm), f64))
        D = len(self.load_dims)
        dem = frozen_array(self.stop_demand, f64).reshape(len(self.stops), D)
        dem.setflags(write=False)
        object.__setattr__(self, "stop_demand", dem)
        if np.any(dem < 0) or not np.all(np.isfinite(dem)):
            raise ValidationError("stop_demand", "negative or not finite", "must be >= 0")
        n = len(self.stops)
        for nm in ("stop_service_s", "stop_open_s", "stop_close_s", "stop_facility"):
            if getattr(self, nm).shape != (n,):
                raise ValidationError(nm, getattr(self, nm).shape, f"must be ({n},)")
        if len(self.stop_allowed) != n:
            raise ValidationError("stop_allowed", len(self.stop_allowed), f"need {n} entries")
        nf = len(self.facilities)
        for nm in ("facility_unload_s", "facility_open_s", "facility_close_s",
                   "facility_capacity"):
            if getattr(self, nm).shape != (nf,):
                raise ValidationError(nm, getattr(self, nm).shape, f"must be ({nf},)")
        for nm in ("depot_open_s", "depot_close_s"):
            if getattr(self, nm).shape != (len(self.depots),):
                raise ValidationError(nm, getattr(self, nm).shape, "one per depot")
        roles = np.concatenate([self.depots, self.stops, self.facilities])
        if roles.size and (roles.min() < 0 or roles.max() >= L):
            raise ValidationError("locations", "out of range", f"role indices must be < {L}")
        if len(np.unique(roles)) != roles.size:
            raise ValidationError("locations", "shared", "a location may play only one role")
        if nf == 0 and np.any(dem > 0):
            raise ValidationError("facilities", 0, "loads are collected but no unload facility")
        bad = np.flatnonzero(self.stop_close_s < self.stop_open_s)
        if bad.size:
            s = int(bad[0])
            raise ValidationError(f"stop[{self.ids[self.stops[s]]}].close_s",
                                  float(self.stop_close_s[s]), "earlier than open_s")
        if np.any((self.stop_facility < -1) | (self.stop_facility >= nf)):
            raise ValidationError("stop_facility", "out of range", f"must be -1 or < {nf}")
        for v in self.vehicle_types:
            if len(v.capacity) != D:
                raise ValidationError(f"vehicle_types[{v.name}].capacity", v.capacity,
                                      f"needs {D} dimensions {self.load_dims}")
            if not 0 <= v.depot < len(self.depots):
                raise ValidationError(f"vehicle_types[{v.name}].depot", v.depot, "unknown depot")
        for s, allowed in enumerate(self.stop_allowed):
            if allowed is not None and any(t < 0 or t >= len(self.vehicle_types)
                                           for t in allowed):
                raise ValidationError(f"stop_allowed[{self.ids[self.stops[s]]}]",
                                      sorted(allowed), "unknown vehicle type index")

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
