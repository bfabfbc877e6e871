"""Immutable problem data of the two-echelon capacitated siting model.

This module is the contract between whoever *builds* a siting problem (the scenario
compiler in :mod:`wastenet.siting.build`, the benchmark readers in :mod:`wastenet.formats`)
and whoever *solves* it (:mod:`wastenet.siting.solve`). It holds no solver logic.

Units
-----
* demand and capacities: tonnes per day (t/d);
* distances: metres;
* costs: yuan per year. An arc's ``unit_cost`` is the yearly cost of sending one tonne
  per day along it for a whole year (haul yuan/t-km x km x 365 for the scenario model;
  the raw allocation cost for the classic benchmarks).
* ``throughput_cost`` of a facility: yuan per year per t/d of inflow (processing or
  operating cost per tonne x 365).

Index spaces
------------
* villages ``i = 0..n-1`` (demand points);
* transfer candidates ``j = 0..m-1``;
* incinerator candidates ``k = 0..q-1``;
* regions: counties ``c`` (codes in ``county_codes``) and prefectures.

Arcs are sparse: only the pairs allowed by the distance limits and the sharing policy
are present. A village may reach a transfer station (``collect``, within the service
radius) or, skipping transfer, an incinerator (``direct``, within the direct-delivery
radius); a transfer station ships to incinerators (``haul``, within the maximum haul).
The scenario compiler (:mod:`wastenet.siting.build`) also caps the lists: at most
``network.neighbours_per_village`` collect arcs and 8 direct arcs per village (its
nearest allowed candidates) and ``network.incinerators_per_station`` haul arcs per
station. The three limits are recorded in ``service_radius_m``, ``direct_radius_m`` and
``max_haul_m`` (``None``: no limit, as for the benchmarks); :class:`SitingData` refuses an
arc longer than its kind's limit (within :data:`ARC_LIMIT_TOL`, the checker's rule), and
the checker verifies every arc a result uses against them.

Validation
----------
Every class here validates its fields when built and raises
:class:`~wastenet.errors.ValidationError` naming the field (and the village, site or arc)
and the value: no value is clipped or dropped silently. Besides shapes and index ranges:
demands, capacities, costs (fixed, throughput, per arc) and arc lengths are finite (arc
lengths and demands also >= 0, a real size count ``n_sizes`` fits the size table), county
indices are -1 or index ``county_codes``, ``uncovered_penalty`` is ``None`` or a finite
number >= 0, and a :class:`CountTarget` names a known echelon and sense with an integer
value >= 0.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from wastenet.bounds import is_finite_real
from wastenet.errors import ValidationError
from wastenet.frozen import FrozenData, frozen_array

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: A village whose shares sum to at least ``1 - SHARE_TOL`` counts as fully covered: the
#: solver rounds such shares up to 1, does not list the village in ``uncovered`` and
#: charges no uncovered penalty for it; a larger missing share is listed and charged. The
#: checker (:mod:`wastenet.siting.checker`) applies the same rule.
SHARE_TOL = 1e-6

#: An arc is within a distance limit ``L`` (m) when its length is at most
#: ``L * (1 + ARC_LIMIT_TOL) + ARC_LIMIT_TOL``: the rule of the checker
#: (:mod:`wastenet.siting.checker`, at its default ``tol``), so that data accepted here
#: never has an arc the checker calls too long, and a length that rounding put a hair
#: over the limit (road = straight line x circuity) is not refused.
ARC_LIMIT_TOL = 1e-6

#: the echelons and senses a :class:`CountTarget` may name
ECHELONS = ("transfer", "incinerator")
SENSES = ("eq", "le", "ge")


def missing_share(served: np.ndarray) -> np.ndarray:
    """Each village's uncovered share: ``1 - served`` clipped to [0, 1], and 0 within
    :data:`SHARE_TOL` of full cover (the rule of the solver, the checker and the KPIs)."""
    missing = np.clip(1.0 - np.asarray(served, dtype=np.float64), 0.0, 1.0)
    missing[missing <= SHARE_TOL] = 0.0
    return missing


class SiteStatus(IntEnum):
    """What may happen to a candidate site."""

    FREE = 0  #: may open at any of its sizes, or stay closed
    FORCED = 1  #: must open (at one of its sizes)
    EXCLUDED = 2  #: may not open
    EXISTING = 3  #: already built: fixed open, capacity = ``existing_capacity``, no fixed cost


@dataclass(frozen=True, eq=False)
class Sites(FrozenData):
    """Candidate sites of one echelon (transfer stations or incinerators).

    ``size_capacity[s, l]`` and ``size_fixed_cost[s, l]`` list the module sizes ``l`` that
    site ``s`` may be built at (capacity t/d, annualised fixed cost yuan/yr). Unused size
    slots hold capacity 0 and are ignored (``n_sizes[s]`` says how many are real).
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    county: IntArray  #: index into ``SitingData.county_codes``; -1 when not applicable
    lon: FloatArray  #: WGS-84, NaN for abstract benchmark sites
    lat: FloatArray
    size_capacity: FloatArray  #: (n_sites, max_sizes) t/d
    size_fixed_cost: FloatArray  #: (n_sites, max_sizes) yuan/yr
    n_sizes: IntArray
    size_names: tuple[tuple[str, ...], ...]
    status: IntArray  #: SiteStatus values
    existing_capacity: FloatArray  #: t/d, only meaningful for EXISTING
    throughput_cost: FloatArray  #: yuan/yr per t/d of inflow

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("county", "status", "n_sizes"):
            object.__setattr__(self, name, frozen_array(getattr(self, name), np.int64))
        for name in ("lon", "lat", "existing_capacity", "throughput_cost"):
            object.__setattr__(self, name, frozen_array(getattr(self, name), np.float64))
        for name in ("size_capacity", "size_fixed_cost"):
            arr = frozen_array(getattr(self, name), np.float64)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValidationError(name, arr.shape, f"must have shape ({n}, max_sizes)")
            object.__setattr__(self, name, arr)
        if len(set(self.ids)) != n:
            raise ValidationError("ids", "duplicate", "site ids must be unique")
        for name in ("names", "size_names"):
            if len(getattr(self, name)) != n:
                raise ValidationError(name, len(getattr(self, name)), f"must have {n} entries")
        for name in ("county", "lon", "lat", "status", "existing_capacity", "throughput_cost",
                     "n_sizes"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(name, getattr(self, name).shape, f"must have shape ({n},)")
        if np.any(self.size_capacity < 0) or not np.all(np.isfinite(self.size_capacity)):
            raise ValidationError("size_capacity", "negative or not finite", "must be >= 0")
        if not np.all(np.isfinite(self.size_fixed_cost)):
            raise ValidationError("size_fixed_cost", "not finite", "must be finite")
        bad = np.flatnonzero(~np.isfinite(self.throughput_cost))
        if bad.size:
            s = int(bad[0])
            raise ValidationError(f"throughput_cost[{self.ids[s]}]",
                                  float(self.throughput_cost[s]),
                                  "must be a finite number (yuan/yr per t/d of inflow)")
        width = self.size_capacity.shape[1]
        bad = np.flatnonzero((self.n_sizes < 0) | (self.n_sizes > width))
        if bad.size:
            s = int(bad[0])
            raise ValidationError(f"n_sizes[{self.ids[s]}]", int(self.n_sizes[s]),
                                  f"must lie in [0, {width}]: size_capacity and "
                                  f"size_fixed_cost have {width} size column(s)")
        for s in range(n):
            if len(self.size_names[s]) < self.n_sizes[s]:
                raise ValidationError(f"size_names[{self.ids[s]}]", len(self.size_names[s]),
                                      f"must name each of the site's {int(self.n_sizes[s])} "
                                      "sizes")
            st = int(self.status[s])
            if st not in SiteStatus._value2member_map_:
                raise ValidationError(f"status[{self.ids[s]}]", st, "unknown site status")
            if st in (SiteStatus.FREE, SiteStatus.FORCED) and self.n_sizes[s] < 1:
                raise ValidationError(
                    f"sizes[{self.ids[s]}]", 0, "a site that may open needs at least one size"
                )
            cap = float(self.existing_capacity[s])
            if st == SiteStatus.EXISTING and not (np.isfinite(cap) and cap > 0):
                raise ValidationError(
                    f"existing_capacity[{self.ids[s]}]",
                    cap,
                    "an existing facility needs a positive, finite remaining capacity",
                )

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Sites:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls((), (), zi, z, z, np.zeros((0, 1)), np.zeros((0, 1)), zi, (), zi, z, z)


@dataclass(frozen=True, eq=False)
class Arcs(FrozenData):
    """Sparse arcs ``src -> dst`` with their length (m) and yearly unit cost."""

    src: IntArray
    dst: IntArray
    distance_m: FloatArray
    unit_cost: FloatArray  #: yuan/yr per t/d sent along the arc

    def __post_init__(self) -> None:
        for name, dt in (("src", np.int64), ("dst", np.int64), ("distance_m", np.float64),
                         ("unit_cost", np.float64)):
            object.__setattr__(self, name, frozen_array(getattr(self, name), dt))
        n = self.src.shape[0]
        for name in ("dst", "distance_m", "unit_cost"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(f"arcs.{name}", getattr(self, name).shape,
                                      f"must have shape ({n},)")
        if not np.all(np.isfinite(self.unit_cost)):
            raise ValidationError("arcs.unit_cost", "not finite", "must be finite")
        bad = np.flatnonzero(~(np.isfinite(self.distance_m) & (self.distance_m >= 0)))
        if bad.size:
            a = int(bad[0])
            raise ValidationError(
                f"arcs.distance_m[{int(self.src[a])}->{int(self.dst[a])}]",
                float(self.distance_m[a]),
                f"an arc's length must be a finite number >= 0 (m); {bad.size} arc(s) "
                "are not")

    def __len__(self) -> int:
        return int(self.src.shape[0])

    @classmethod
    def empty(cls) -> Arcs:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls(zi, zi, z, z)


@dataclass(frozen=True)
class CountTarget:
    """A bound on the number of NEW facilities opened (existing ones do not count).

    ``echelon`` is ``"transfer"`` or ``"incinerator"``; ``prefecture`` limits the count to
    sites in that prefecture code (``None``: the whole province); ``sense`` is ``"eq"``,
    ``"le"`` or ``"ge"``; ``value`` is an integer >= 0 (a numpy integer is stored as an
    ``int``). Anything else is a :class:`ValidationError` naming the field.
    """

    echelon: Literal["transfer", "incinerator"]
    value: int
    sense: Literal["eq", "le", "ge"] = "eq"
    prefecture: str | None = None

    def __post_init__(self) -> None:
        if self.echelon not in ECHELONS:
            raise ValidationError("counts.echelon", self.echelon,
                                  f"must be one of {', '.join(ECHELONS)}")
        if self.sense not in SENSES:
            raise ValidationError(f"counts.{self.echelon}.sense", self.sense,
                                  f"must be one of {', '.join(SENSES)}")
        v = self.value
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValidationError(f"counts.{self.echelon}.value", v,
                                  "must be an integer >= 0 (a number of facilities)")
        object.__setattr__(self, "value", int(v))
        if self.prefecture is not None and not isinstance(self.prefecture, str):
            raise ValidationError(f"counts.{self.echelon}.prefecture", self.prefecture,
                                  "must be a prefecture code (a string) or None")


@dataclass(frozen=True, eq=False)
class SitingData(FrozenData):
    """A complete, validated siting problem. Build it once; never mutate it.

    ``single_source``: each village is served by exactly one facility (the route model);
    when False its demand may split (the OR-Library ``cap`` benchmarks).

    ``uncovered_penalty``: yuan/yr per t/d left uncovered, a finite number >= 0. ``None``
    (the default) means full coverage is a hard constraint. Villages with ``must_cover`` (key tourism and
    demonstration villages) are always hard, whatever the penalty.

    ``service_radius_m``, ``direct_radius_m``, ``max_haul_m``: the longest road distance
    (m) allowed on a collect, direct and haul arc (the scenario's
    ``policy.service_radius_km``, ``policy.direct_radius_km`` and
    ``policy.max_transfer_haul_km``); ``None``: no limit. The builder already leaves out
    longer arcs, and an arc longer than its limit (beyond :data:`ARC_LIMIT_TOL`) is
    refused here (a :class:`ValidationError` naming e.g. ``haul.distance_m[T0->I0]``);
    the checker verifies the arcs a result uses against them.
    """

    demand: FloatArray  #: (n,) t/d
    village_ids: tuple[str, ...]
    village_names: tuple[str, ...]
    village_county: IntArray  #: (n,) index into county_codes, -1 if none
    village_lon: FloatArray
    village_lat: FloatArray
    must_cover: BoolArray
    county_codes: tuple[str, ...]
    county_names: tuple[str, ...]
    county_prefecture: tuple[str, ...]  #: prefecture code of each county
    transfer: Sites
    incinerator: Sites
    collect: Arcs  #: village -> transfer
    direct: Arcs  #: village -> incinerator
    haul: Arcs  #: transfer -> incinerator
    single_source: bool = True
    counts: tuple[CountTarget, ...] = ()
    uncovered_penalty: float | None = None
    name: str = "siting"
    synthetic: bool = False
    seed: int | None = None
    meta: dict[str, object] = field(default_factory=dict)
    service_radius_m: float | None = None
    direct_radius_m: float | None = None
    max_haul_m: float | None = None

    def __post_init__(self) -> None:
        n = len(self.village_ids)
        for name in ("service_radius_m", "direct_radius_m", "max_haul_m"):
            lim = getattr(self, name)
            if lim is not None and not lim >= 0:
                raise ValidationError(name, lim, "must be a distance >= 0 (m) or None")
        object.__setattr__(self, "demand", frozen_array(self.demand, np.float64))
        object.__setattr__(self, "village_county", frozen_array(self.village_county, np.int64))
        object.__setattr__(self, "village_lon", frozen_array(self.village_lon, np.float64))
        object.__setattr__(self, "village_lat", frozen_array(self.village_lat, np.float64))
        object.__setattr__(self, "must_cover", frozen_array(self.must_cover, np.bool_))
        for name in ("demand", "village_county", "village_lon", "village_lat", "must_cover"):
            if getattr(self, name).shape != (n,):
                raise ValidationError(name, getattr(self, name).shape, f"must have shape ({n},)")
        if len(self.village_names) != n:
            raise ValidationError("village_names", len(self.village_names), f"need {n}")
        bad = np.flatnonzero(~np.isfinite(self.demand) | (self.demand < 0))
        if bad.size:
            i = int(bad[0])
            raise ValidationError(f"demand[{self.village_ids[i]}]", float(self.demand[i]),
                                  "must be a finite number >= 0")
        if not (len(self.county_codes) == len(self.county_names) == len(self.county_prefecture)):
            raise ValidationError("county_codes", len(self.county_codes),
                                  "county_codes, county_names, county_prefecture differ in length")
        n_c = len(self.county_codes)
        county_rule = f"must be -1 (none) or an index into county_codes, [0,{n_c})"
        bad = np.flatnonzero((self.village_county < -1) | (self.village_county >= n_c))
        if bad.size:
            i = int(bad[0])
            raise ValidationError(f"village_county[{self.village_ids[i]}]",
                                  int(self.village_county[i]), county_rule)
        for sites, echelon in ((self.transfer, "transfer"), (self.incinerator, "incinerator")):
            bad = np.flatnonzero((sites.county < -1) | (sites.county >= n_c))
            if bad.size:
                s = int(bad[0])
                raise ValidationError(f"{echelon}.county[{sites.ids[s]}]",
                                      int(sites.county[s]), county_rule)
        m, q = len(self.transfer), len(self.incinerator)
        for arcs, name, ns, nd in ((self.collect, "collect", n, m), (self.direct, "direct", n, q),
                                   (self.haul, "haul", m, q)):
            if len(arcs) and (arcs.src.min() < 0 or arcs.src.max() >= ns
                              or arcs.dst.min() < 0 or arcs.dst.max() >= nd):
                raise ValidationError(f"{name}.src/dst", "out of range",
                                      f"indices must lie in [0,{ns}) x [0,{nd})")
        self._check_arc_limits()
        pen = self.uncovered_penalty
        if pen is not None and (isinstance(pen, bool) or not is_finite_real(pen) or pen < 0):
            raise ValidationError("uncovered_penalty", pen,
                                  "must be a finite number >= 0 (yuan/yr per t/d) or None "
                                  "(full coverage is a hard constraint)")
        for t in self.counts:
            if not isinstance(t, CountTarget):
                raise ValidationError("counts", t, "each entry must be a CountTarget")

    def _check_arc_limits(self) -> None:
        """Refuse an arc longer than the limit recorded for its kind (beyond
        :data:`ARC_LIMIT_TOL`): the solver would use it and the checker reject the result."""
        tr, inc = self.transfer.ids, self.incinerator.ids
        for arcs, kind, limit_name, src_ids, dst_ids in (
                (self.collect, "collect", "service_radius_m", self.village_ids, tr),
                (self.direct, "direct", "direct_radius_m", self.village_ids, inc),
                (self.haul, "haul", "max_haul_m", tr, inc)):
            limit = getattr(self, limit_name)
            if limit is None or not len(arcs):
                continue
            bad = np.flatnonzero(arcs.distance_m > limit * (1 + ARC_LIMIT_TOL) + ARC_LIMIT_TOL)
            if bad.size:
                a = int(bad[0])
                raise ValidationError(
                    f"{kind}.distance_m[{src_ids[int(arcs.src[a])]}->"
                    f"{dst_ids[int(arcs.dst[a])]}]",
                    float(arcs.distance_m[a]),
                    f"the arc is longer than {limit_name}={float(limit):g} m ({bad.size} "
                    f"{kind} arc(s) are); leave arcs beyond the limit out of the data",
                )

    @property
    def n_villages(self) -> int:
        return len(self.village_ids)

    @property
    def total_demand(self) -> float:
        return float(self.demand.sum())
