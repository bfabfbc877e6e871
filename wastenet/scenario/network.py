"""The built network: villages, candidate sites and sparse neighbour lists.

``build_network(scenario) -> Network`` is the one step from a scenario to data: it
generates (or loads) the villages, lays out the transfer and incinerator candidates and
computes the sparse nearest-neighbour lists that every later model uses. No
province-scale step ever builds a dense villages x sites matrix.

Candidates
----------
* Transfer stations: one per township seat (optional), plus exactly
  ``extra_per_county`` candidates in every county that has villages, plus user sites and
  existing stations. Extras are first chosen among the county's villages by
  farthest-point sampling (each new candidate is the village farthest from all
  candidates so far, so they spread over the county). A county with fewer villages than
  ``extra_per_county`` (urban districts) gets the surplus at seeded points inside its
  polygon near its villages and township seats (:func:`_surplus_points`: Mitchell's
  best-candidate among Gaussian draws around those anchors, seeded by ``(data.seed,
  adcode)``), named ``TX<adcode>-P<nn>``.
* Incinerators: each county seat (the county's interior point) and, for small
  decentralised plants, each township seat (both optional), plus user sites and
  existing plants. Township plants get the small sizes, county seats the large ones.
* User sites and existing facilities must lie at most 2 km outside the province; a
  site's ``county``, when given, must contain the point or lie within 2 km of it (the
  village loader's rule, :data:`wastenet.data.loader.SNAP_DISTANCE_M`), else the error
  names the site's id, its ``county`` field and value; when absent it is the county the
  point lies in (or nearest to).

Neighbour lists are sparse, nearest first, and already obey the sharing policy
(``policy.sharing``, :func:`sharing_matrix`): each source is searched only among the
candidates of the counties its own county may use, so a list holds the nearest
*allowed* candidates within the limit, however many nearer ones other counties have.
Village -> station within ``policy.service_radius_km``, at most
``network.neighbours_per_village``; village -> incinerator within
``policy.direct_radius_km``, at most :data:`DIRECT_NEIGHBOURS` = 8; station ->
incinerator within ``policy.max_transfer_haul_km``, at most
``network.incinerators_per_station``. (The search runs one k-d tree per distinct set of
allowed counties: one for ``free``, one per county for ``none`` and ``adjacent``, one
per prefecture for ``prefecture``.) They hold great-circle distances times the
circuity factor (road estimate), unless a user distance matrix is given, which then
replaces the estimate on every listed pair (it must cover them); with a matrix the
station lists hold twice as many (the nearest allowed by the estimate), pairs whose
matrix distance exceeds the limit are then dropped and the rows sorted again by it, so
that the siting model keeps the ``k`` nearest by road among them; a matrix that lacks
some of the listed places is refused, naming ``data.distance_matrix_file``, the number
of distinct places missing and a few of them. The candidates are still found by the
estimate, so a pair that the estimate puts beyond the limit (or beyond the nearest ones
listed) stays out even when its matrix distance is within the limit. The matrix is kept
on the network (:attr:`Network.distance_matrix`) so that county-day routing
(:func:`wastenet.routing.build.build_routing_data`) takes its distances and travel
times from it too. The lists are built for the scenario's policy and limits
(:attr:`Network.neighbour_key`); :func:`refresh_neighbours` rebuilds them when a network
is given another scenario (``dataclasses.replace(network, scenario=...)``), which
:func:`wastenet.siting.build.build_siting_data` does.

Matrix plausibility
-------------------
The matrix's distances are in metres and a road is never shorter than the straight line
between its ends, so on the listed pairs the matrix is compared with the great-circle
distance between the places' coordinates (:func:`check_matrix_plausible`). When the
median ratio road / great-circle (over pairs at least 1 km apart) is below
:data:`MATRIX_MIN_MEDIAN_RATIO` (0.5) the matrix is refused, naming
``data.distance_matrix_file``: its distances cannot be road distances in metres between
these places (a matrix in kilometres gives 0.001; the hint then says so). Otherwise each
pair shorter than the great-circle distance by more than 5 % and 200 m is counted and,
if there are any, a warning (logger ``wastenet.network``, and :attr:`Network.warnings`)
gives their number and the worst one: wrong units on part of the file, or ids that name
other places. The travel times are checked against the distances when the matrix is
read (:func:`wastenet.geo.matrix.implausible_durations`: implied speeds of 1 to 200
km/h), so a matrix refused there never reaches this check.

Ids
---
Villages, transfer and incinerator candidates and the county-day routing depots share
one id namespace: the distance matrix's ids and the ids of the siting and routing
outputs. A depot is ``D<adcode>`` and, when the matrix lacks that id, the incinerator
candidate ``I<adcode>`` (the county seat's) stands for it
(:func:`wastenet.routing.build.apply_matrix`). So an id used by two places (a village and
a candidate site, a transfer and an incinerator candidate), ``D<adcode>`` used by any
place of a county of the scenario, or ``I<adcode>`` used by a village, a transfer
candidate or an incinerator candidate other than the generated county-seat one (a user
site of that id, with ``county_seats = false``, would lend the depot its distances from
wherever it is) is refused with a :class:`ValidationError` naming the id and both places.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.data.generator import GeneratorParams, Seats, Villages, generate
from wastenet.errors import ValidationError
from wastenet.geo.distance import PointIndex, haversine_m
from wastenet.geo.matrix import DistanceMatrix
from wastenet.scenario.schema import ExistingSpec, Scenario, SiteSpec

log = logging.getLogger("wastenet.network")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: incinerator candidates listed per village for direct delivery (its nearest allowed
#: ones within ``policy.direct_radius_km``); a fixed cap, not a scenario setting
DIRECT_NEIGHBOURS = 8

#: a user matrix whose median road / great-circle ratio over the listed pairs (at least
#: :data:`MATRIX_MIN_PAIR_M` apart) is below this is refused: roads are not shorter than
#: the straight line, so it cannot hold road distances in metres between these places
MATRIX_MIN_MEDIAN_RATIO = 0.5

#: pairs closer than this (great circle) do not enter the median ratio: snapping places
#: to roads dominates their distances
MATRIX_MIN_PAIR_M = 1_000.0

#: a pair whose matrix distance is shorter than the great-circle one by more than this
#: share and by more than :data:`MATRIX_SHORT_SLACK_M` is implausible (warned about)
MATRIX_SHORT_TOLERANCE = 0.05
MATRIX_SHORT_SLACK_M = 200.0


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites of one echelon. ``kind``: seat, extra, county_seat, user, existing."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    county: tuple[str, ...]
    lon: FloatArray
    lat: FloatArray
    kind: tuple[str, ...]
    existing_capacity: FloatArray  #: t/d, > 0 only for existing facilities
    excluded: NDArray[np.bool_]
    forced: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class Neighbours:
    """Sparse k-nearest lists: row ``r`` of ``idx``/``dist_m`` lists up to ``k`` targets,
    nearest first; missing entries have ``idx = -1`` and ``dist_m = inf``."""

    idx: IntArray
    dist_m: FloatArray


@dataclass(frozen=True, eq=False)
class Network:
    """Everything the models need about the province's rural waste network."""

    scenario: Scenario
    villages: Villages
    seats: Seats
    transfer: Candidates
    incinerator: Candidates
    village_to_transfer: Neighbours
    village_to_incinerator: Neighbours
    transfer_to_incinerator: Neighbours
    counties: tuple[str, ...]  #: adcodes of the counties that have villages
    synthetic: bool
    seed: int | None
    warnings: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)
    #: the user's road distance/time matrix (``data.distance_matrix_file``), if any; the
    #: county-day routing compiler takes its distances and travel times from it
    distance_matrix: DistanceMatrix | None = None
    #: the settings the neighbour lists were built for (:func:`neighbour_key`)
    neighbour_key: tuple[object, ...] = ()

    @functools.cached_property
    def village_digest(self) -> str:
        """:func:`villages_digest` of the villages (ids and positions): what a siting
        summary records as ``village_set_sha256``, so that a route plan can tell a siting
        output made for other villages (computed once per network, about 8 ms for the
        province's 11,500 villages)."""
        v = self.villages
        return villages_digest(v.ids, v.lon, v.lat)

    def summary(self) -> dict[str, object]:
        v = self.villages
        return {
            "scenario": self.scenario.name,
            "counties": len(self.counties),
            "villages": len(v),
            "population": int(v.population.sum()),
            "waste_t_per_day": round(float(v.waste_t_per_day.sum()), 3),
            "tourism_villages": int(v.tourism.sum()),
            "demonstration_villages": int(v.demonstration.sum()),
            "township_seats": len(self.seats.codes),
            "transfer_candidates": len(self.transfer),
            "incinerator_candidates": len(self.incinerator),
            "existing_transfer_stations": int((self.transfer.existing_capacity > 0).sum()),
            "existing_incinerators": int((self.incinerator.existing_capacity > 0).sum()),
            "greenfield": bool(not (self.transfer.existing_capacity > 0).any()
                               and not (self.incinerator.existing_capacity > 0).any()),
            "circuity_factor": self.scenario.network.circuity_factor,
            "sharing": self.scenario.policy.sharing,
            "synthetic": self.synthetic,
            "seed": self.seed,
        }


def villages_digest(ids: Sequence[object], lon: FloatArray, lat: FloatArray) -> str:
    """A fingerprint of a set of villages: the SHA-256 (hex) of one line
    ``id<TAB>lon<TAB>lat`` (degrees to 6 decimals) per village, sorted by id."""
    lines = sorted(f"{vid}\t{float(x):.6f}\t{float(y):.6f}\n" for vid, x, y in
                   zip(ids, np.asarray(lon).tolist(), np.asarray(lat).tolist(), strict=True))
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogatepass")).hexdigest()


def _farthest_point(lon: FloatArray, lat: FloatArray, start_lon: FloatArray,
                    start_lat: FloatArray, k: int) -> list[int]:
    """Indices of ``k`` points chosen greedily farthest from the start set and each other."""
    n = len(lon)
    if n == 0 or k <= 0:
        return []
    if len(start_lon):
        d = np.min(haversine_m(lon[:, None], lat[:, None], start_lon[None, :],
                               start_lat[None, :]), axis=1)
    else:
        d = np.full(n, np.inf)
    chosen: list[int] = []
    for _ in range(min(k, n)):
        j = int(np.argmax(d))  # ties -> lowest index: deterministic
        if not np.isfinite(d[j]) and chosen:
            break
        chosen.append(j)
        d = np.minimum(d, haversine_m(lon, lat, lon[j], lat[j]))
        d[j] = -1.0
    return chosen


_SURPLUS_SALT = 0x5E7A  # separates this stream from the village generator's per-county one


def _surplus_points(poly: object, anchor_lon: FloatArray, anchor_lat: FloatArray,
                    avoid_lon: FloatArray, avoid_lat: FloatArray, n: int,
                    area_km2: float, rng: np.random.Generator,
                    candidates: int = 24) -> tuple[FloatArray, FloatArray]:
    """``n`` points inside ``poly`` near the anchors (villages, seats), spread apart.

    Each point is the best of ``candidates`` draws (Mitchell's best-candidate): draws
    are Gaussian offsets around a random anchor, with a standard deviation of
    ``0.45 * sqrt(area / anchors)`` km clipped to 0.5-5 km, kept only inside ``poly``;
    the draw farthest from the points to avoid (existing candidates) and from the
    points placed so far wins. Deterministic for a given ``rng`` state.
    """
    import shapely

    from wastenet.data.generator import _sample_in

    out_lon: list[float] = []
    out_lat: list[float] = []
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    na = len(anchor_lon)
    lat0 = float(np.mean(anchor_lat)) if na else float(poly.centroid.y)  # type: ignore[attr-defined]
    kx = np.cos(np.radians(lat0))
    sigma_deg = float(np.clip(0.45 * np.sqrt(area_km2 / max(na, 1)), 0.5, 5.0)) / 111.0
    ref_lon = np.asarray(avoid_lon, dtype=np.float64)
    ref_lat = np.asarray(avoid_lat, dtype=np.float64)
    for _ in range(n):
        pts = np.empty((0, 2))
        for _try in range(20):
            if na == 0:
                break
            a = rng.integers(0, na, size=candidates)
            off = rng.normal(0.0, sigma_deg, size=(candidates, 2))
            off[:, 0] /= kx
            xy = np.column_stack([anchor_lon[a] + off[:, 0], anchor_lat[a] + off[:, 1]])
            pts = np.vstack([pts, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
            if len(pts) >= candidates:
                break
        if len(pts) == 0:  # anchors on the border of a sliver: any point of the county
            pts = _sample_in(poly, rng, candidates)
        pts = pts[:candidates]
        if ref_lon.size:
            d = np.min(haversine_m(pts[:, 0:1], pts[:, 1:2], ref_lon[None, :],
                                   ref_lat[None, :]), axis=1)
            j = int(np.argmax(d))
        else:
            j = 0
        out_lon.append(float(pts[j, 0]))
        out_lat.append(float(pts[j, 1]))
        ref_lon = np.append(ref_lon, pts[j, 0])
        ref_lat = np.append(ref_lat, pts[j, 1])
    return np.array(out_lon), np.array(out_lat)


def _user_sites(sites: list[SiteSpec] | list[ExistingSpec], field_name: str,
                kind: str) -> tuple[list[str], list[str], list[str], list[float], list[float],
                                    list[str], list[float]]:
    ids: list[str] = []
    names: list[str] = []
    county: list[str] = []
    lon: list[float] = []
    lat: list[float] = []
    kinds: list[str] = []
    cap: list[float] = []
    if not sites:
        return ids, names, county, lon, lat, kinds, cap
    from wastenet.data.loader import SNAP_DISTANCE_M, distance_to_counties_m

    lo = np.array([s.lon for s in sites])
    la = np.array([s.lat for s in sites])
    idx, dist = liaoning.nearest_counties(lo, la)
    inside = liaoning.locate_points(lo, la)
    counties = liaoning.load_counties()
    cindex = liaoning.county_index()
    for r, s in enumerate(sites):
        if dist[r] > SNAP_DISTANCE_M:
            raise ValidationError(f"{field_name}[{r}].lon/lat", (s.lon, s.lat),
                                  f"site {s.id!r} lies {dist[r] / 1000:.1f} km outside the "
                                  "province")
        code = s.county or counties[int(idx[r])].adcode
        if code not in cindex:
            raise ValidationError(f"{field_name}[{r}].county", code, "unknown county adcode")
        if s.county and inside[r] != cindex[code]:
            d = float(distance_to_counties_m(np.array([cindex[code]]), lo[r:r + 1],
                                             la[r:r + 1])[0])
            if d > SNAP_DISTANCE_M:
                c = counties[cindex[code]]
                raise ValidationError(
                    f"{field_name}[{r}].county", code,
                    f"site {s.id!r} at point ({s.lon:.6f}, {s.lat:.6f}) lies {d / 1000:.1f} "
                    f"km outside county {c.adcode} {c.name} (tolerance "
                    f"{SNAP_DISTANCE_M / 1000:g} km); check lon/lat or the county")
        ids.append(s.id)
        names.append(s.name or s.id)
        county.append(code)
        lon.append(s.lon)
        lat.append(s.lat)
        kinds.append(kind)
        cap.append(float(getattr(s, "remaining_capacity_t_per_day", 0.0)))
    return ids, names, county, lon, lat, kinds, cap


def _assemble(parts: list[tuple[list[str], list[str], list[str], list[float], list[float],
                                list[str], list[float]]],
              exclude: list[str], force: list[str], field_name: str) -> Candidates:
    ids: list[str] = []
    names: list[str] = []
    county: list[str] = []
    lon: list[float] = []
    lat: list[float] = []
    kind: list[str] = []
    cap: list[float] = []
    for p in parts:
        ids += p[0]
        names += p[1]
        county += p[2]
        lon += p[3]
        lat += p[4]
        kind += p[5]
        cap += p[6]
    seen: dict[str, int] = {}
    for r, i in enumerate(ids):
        if i in seen:
            raise ValidationError(f"{field_name}.id", i, "duplicate candidate id")
        seen[i] = r
    excluded = np.zeros(len(ids), dtype=bool)
    forced = np.zeros(len(ids), dtype=bool)
    for name, lst, arr in (("exclude", exclude, excluded), ("force", force, forced)):
        for i in lst:
            if i not in seen:
                raise ValidationError(f"{field_name}.{name}", i, "no candidate has this id")
            arr[seen[i]] = True
    both = np.flatnonzero(excluded & forced)
    if both.size:
        raise ValidationError(f"{field_name}.force", ids[int(both[0])],
                              "a site cannot be both forced and excluded")
    exist = np.array(cap) > 0
    if np.any(exist & excluded):
        r = int(np.flatnonzero(exist & excluded)[0])
        raise ValidationError(f"{field_name}.exclude", ids[r], "an existing facility is open")
    return Candidates(ids=tuple(ids), names=tuple(names), county=tuple(county),
                      lon=np.array(lon, dtype=np.float64), lat=np.array(lat, dtype=np.float64),
                      kind=tuple(kind), existing_capacity=np.array(cap, dtype=np.float64),
                      excluded=excluded, forced=forced)


def _villages(scenario: Scenario) -> tuple[Villages, Seats, list[str],
                                           NDArray[np.int64] | None]:
    """The scenario's villages, township seats (synthetic data only) and warnings, and
    for user villages their 1-based data rows in the input (``None`` when synthetic)."""
    d = scenario.data
    if d.source == "liaoning-synthetic":
        params = GeneratorParams(
            seed=d.seed, villages_total=d.villages_total, rural_population=d.rural_population,
            waste_kg_per_person_per_day=d.waste_kg_per_person_per_day,
            seasonal_factor=d.seasonal_factor, counties=tuple(d.counties),
            tourism_fraction=d.tourism_fraction,
            demonstration_counties=tuple(d.demonstration_counties),
        )
        v, s = generate(params)
        return v, s, [], None
    from wastenet.data import loader

    warnings: list[str]
    if d.villages_file:
        v = loader.load_villages_file(d.villages_file,
                                      waste_kg_per_person_per_day=d.waste_kg_per_person_per_day,
                                      seasonal_factor=d.seasonal_factor)
        warnings = list(v.meta.get("warnings", []))  # type: ignore[call-overload]
    else:
        v, warnings = loader.villages_from_records(
            [x.model_dump() for x in d.villages], source="data.villages",
            waste_kg_per_person_per_day=d.waste_kg_per_person_per_day,
            seasonal_factor=d.seasonal_factor)
    rows = np.arange(1, len(v) + 1, dtype=np.int64)
    if d.counties:
        keep = np.isin(np.array(v.county), np.array(d.counties))
        dropped = int((~keep).sum())
        if dropped:
            msg = (f"{dropped} supplied village(s) lie outside data.counties "
                   f"{list(d.counties)} and are not part of this scenario")
            log.warning(msg)
            warnings.append(msg)
        held = set(np.array(v.county)[keep].tolist())
        idle = [c for c in dict.fromkeys(d.counties) if c not in held]
        if idle and keep.any():
            msg = (f"data.counties {idle} hold(s) none of the supplied villages and add(s) "
                   "nothing to this scenario")
            log.warning(msg)
            warnings.append(msg)
        v = _subset_villages(v, keep)
        rows = rows[keep]
    empty = Seats(codes=(), names=(), county=(), lon=np.zeros(0), lat=np.zeros(0))
    return v, empty, warnings, rows


def _subset_villages(v: Villages, keep: NDArray[np.bool_]) -> Villages:
    idx = np.flatnonzero(keep)
    return Villages(
        ids=tuple(v.ids[i] for i in idx), names=tuple(v.names[i] for i in idx),
        county=tuple(v.county[i] for i in idx), seat=v.seat[idx].copy(), lon=v.lon[idx].copy(),
        lat=v.lat[idx].copy(), population=v.population[idx].copy(),
        waste_t_per_day=v.waste_t_per_day[idx].copy(), tourism=v.tourism[idx].copy(),
        demonstration=v.demonstration[idx].copy(), synthetic=v.synthetic, seed=v.seed,
        meta=dict(v.meta))


def _knn(src_lon: FloatArray, src_lat: FloatArray, src_county: IntArray,
         dst_lon: FloatArray, dst_lat: FloatArray, dst_county: IntArray,
         allowed: NDArray[np.bool_], k: int, max_road_m: float, circuity: float) -> Neighbours:
    """The ``k`` nearest targets of each source within ``max_road_m`` (road estimate)
    among the targets whose county the source's county may use (``allowed[a, b]``,
    county indices): exact, the policy applied before the cut.

    Sources are grouped by their set of allowed targets (one group for ``free``, one per
    county for ``none`` or ``adjacent``, one per prefecture for ``prefecture``); each
    group queries one k-d tree over its allowed targets, vectorised.
    """
    n = len(src_lon)
    idx = np.full((n, k), -1, dtype=np.int64)
    road = np.full((n, k), np.inf)
    if n and k and len(dst_lon):
        counties, inv = np.unique(src_county, return_inverse=True)
        masks = allowed[counties][:, dst_county]  # (source counties, targets)
        sets, set_of_county = np.unique(masks, axis=0, return_inverse=True)
        group = np.asarray(set_of_county, dtype=np.int64).ravel()[inv]
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(sets) + 1))
        limit = max_road_m / circuity
        for g in range(len(sets)):
            rows = order[bounds[g]:bounds[g + 1]]
            targets = np.flatnonzero(sets[g])
            if rows.size == 0 or targets.size == 0:
                continue
            index = PointIndex(dst_lon[targets], dst_lat[targets])
            dist, j = index.query(src_lon[rows], src_lat[rows], k, max_distance_m=limit)
            found = j >= 0
            idx[rows] = np.where(found, targets[np.where(found, j, 0)], -1)
            road[rows] = np.where(found, dist * circuity, np.inf)
    road.setflags(write=False)
    idx.setflags(write=False)
    return Neighbours(idx=idx, dist_m=road)


def neighbour_key(scenario: Scenario) -> tuple[object, ...]:
    """The settings that determine the neighbour lists: the sharing policy, the three
    limits, the two list lengths, the circuity factor and the matrix file."""
    pol, net = scenario.policy, scenario.network
    return (pol.sharing, pol.service_radius_km, pol.direct_radius_km,
            pol.max_transfer_haul_km, net.neighbours_per_village,
            net.incinerators_per_station, net.circuity_factor,
            scenario.data.distance_matrix_file)


def neighbour_lists(scenario: Scenario, villages: Villages, transfer: Candidates,
                    incinerator: Candidates, matrix: DistanceMatrix | None,
                    sharing: SharingPolicy | None = None
                    ) -> tuple[Neighbours, Neighbours, Neighbours, list[str]]:
    """The three neighbour lists (village -> station, village -> incinerator, station ->
    incinerator) of the scenario's policy (or ``sharing``), limits and list lengths,
    with the user ``matrix`` applied (see the module docstring); and the matrix
    plausibility warnings."""
    net = scenario.network
    circ = net.circuity_factor
    pol = scenario.policy
    cidx = liaoning.county_index()
    v_c = np.array([cidx[c] for c in villages.county], dtype=np.int64)
    t_c = np.array([cidx[c] for c in transfer.county], dtype=np.int64)
    i_c = np.array([cidx[c] for c in incinerator.county], dtype=np.int64)
    allowed = sharing_matrix(sharing or pol.sharing)
    # With a matrix the station lists hold twice as many, so that the k nearest by road
    # can be kept among the 2k nearest by the estimate.
    widen = 2 if matrix is not None else 1
    service, direct, haul = (pol.service_radius_km * 1000.0, pol.direct_radius_km * 1000.0,
                             pol.max_transfer_haul_km * 1000.0)
    v2t = _knn(villages.lon, villages.lat, v_c, transfer.lon, transfer.lat, t_c, allowed,
               widen * net.neighbours_per_village, service, circ)
    v2i = _knn(villages.lon, villages.lat, v_c, incinerator.lon, incinerator.lat, i_c,
               allowed, DIRECT_NEIGHBOURS, direct, circ)
    t2i = _knn(transfer.lon, transfer.lat, t_c, incinerator.lon, incinerator.lat, i_c,
               allowed, widen * net.incinerators_per_station, haul, circ)
    warnings: list[str] = []
    if matrix is not None:
        path = scenario.data.distance_matrix_file or "data.distance_matrix_file"
        lists = ((villages.ids, transfer.ids, v2t), (villages.ids, incinerator.ids, v2i),
                 (transfer.ids, incinerator.ids, t2i))
        _check_matrix_covers(matrix, path, lists)
        warnings += check_matrix_plausible(matrix, path, lists, circ)
        v2t = override_with_matrix(matrix, villages.ids, transfer.ids, v2t, service)
        v2i = override_with_matrix(matrix, villages.ids, incinerator.ids, v2i, direct)
        t2i = override_with_matrix(matrix, transfer.ids, incinerator.ids, t2i, haul)
    return v2t, v2i, t2i, warnings


def refresh_neighbours(network: Network) -> Network:
    """``network`` itself when its neighbour lists were built for its scenario's
    settings (:func:`neighbour_key`), else a copy with the lists rebuilt for them (a
    network given another scenario, e.g. another sharing policy, with
    ``dataclasses.replace``)."""
    sc = network.scenario
    key = neighbour_key(sc)
    if network.neighbour_key == key:
        return network
    m = network.distance_matrix
    if sc.data.distance_matrix_file and (
            m is None or network.neighbour_key[-1:] != (sc.data.distance_matrix_file,)):
        from wastenet.geo.matrix import load_matrix

        m = load_matrix(sc.data.distance_matrix_file)
    elif not sc.data.distance_matrix_file:
        m = None
    v2t, v2i, t2i, _ = neighbour_lists(sc, network.villages, network.transfer,
                                       network.incinerator, m)
    return dataclasses.replace(network, village_to_transfer=v2t, village_to_incinerator=v2i,
                               transfer_to_incinerator=t2i, distance_matrix=m,
                               neighbour_key=key)


def build_network(scenario: Scenario) -> Network:
    """Build the network of a scenario. Pure: the same scenario gives the same network."""
    v, seats, warnings, village_rows = _villages(scenario)
    if len(v) == 0:
        raise ValidationError("data.counties", scenario.data.counties,
                              "the selection contains no rural villages",
                              hint=_no_villages_hint(scenario))
    counties_all = liaoning.load_counties()
    cidx = liaoning.county_index()
    in_scope = sorted(set(v.county))
    cand = scenario.candidates

    # Transfer candidates.
    t_parts = []
    if cand.transfer.township_seats and len(seats.codes):
        t_parts.append(([f"T{c}" for c in seats.codes], [f"{n}转运站" for n in seats.names],
                        list(seats.county), seats.lon.tolist(), seats.lat.tolist(),
                        ["seat"] * len(seats.codes), [0.0] * len(seats.codes)))
    if cand.transfer.extra_per_county > 0:
        polys = liaoning.county_polygons()
        vc = np.array(v.county)
        ids: list[str] = []
        names: list[str] = []
        county: list[str] = []
        lon: list[float] = []
        lat: list[float] = []
        for code in in_scope:
            rows = np.flatnonzero(vc == code)
            mask = np.array(seats.county) == code if len(seats.codes) else np.zeros(0, bool)
            chosen = _farthest_point(v.lon[rows], v.lat[rows], seats.lon[mask],
                                     seats.lat[mask], cand.transfer.extra_per_county)
            for j in chosen:
                r = int(rows[j])
                ids.append(f"TX{v.ids[r]}")
                names.append(f"{v.names[r]}转运站")
                county.append(code)
                lon.append(float(v.lon[r]))
                lat.append(float(v.lat[r]))
            surplus = cand.transfer.extra_per_county - len(chosen)
            if surplus > 0:  # fewer villages than extras: seeded points in the county
                ci = cidx[code]
                rng = np.random.default_rng([int(scenario.data.seed), int(code),
                                             _SURPLUS_SALT])
                sel = np.array([rows[j] for j in chosen], dtype=np.int64)
                plon, plat = _surplus_points(
                    polys[ci], np.concatenate([v.lon[rows], seats.lon[mask]]),
                    np.concatenate([v.lat[rows], seats.lat[mask]]),
                    np.concatenate([seats.lon[mask], v.lon[sel]]),
                    np.concatenate([seats.lat[mask], v.lat[sel]]),
                    surplus, counties_all[ci].area_km2, rng)
                for k in range(surplus):
                    ids.append(f"TX{code}-P{k + 1:02d}")
                    names.append(f"{counties_all[ci].name}补充转运站{k + 1}")
                    county.append(code)
                    lon.append(float(plon[k]))
                    lat.append(float(plat[k]))
        t_parts.append((ids, names, county, lon, lat, ["extra"] * len(ids), [0.0] * len(ids)))
    t_parts.append(_user_sites(cand.transfer.sites, "candidates.transfer.sites", "user"))
    t_parts.append(_user_sites(cand.transfer.existing, "candidates.transfer.existing",
                               "existing"))
    transfer = _assemble(t_parts, cand.transfer.exclude, cand.transfer.force,
                         "candidates.transfer")

    # Incinerator candidates.
    i_parts = []
    if cand.incinerator.county_seats:
        cs = [counties_all[cidx[c]] for c in in_scope]
        i_parts.append(([f"I{c.adcode}" for c in cs], [f"{c.name}焚烧厂" for c in cs],
                        [c.adcode for c in cs], [c.lon for c in cs], [c.lat for c in cs],
                        ["county_seat"] * len(cs), [0.0] * len(cs)))
    if cand.incinerator.township_seats and len(seats.codes):
        i_parts.append(([f"IT{c}" for c in seats.codes],
                        [f"{n}小型焚烧站" for n in seats.names], list(seats.county),
                        seats.lon.tolist(), seats.lat.tolist(),
                        ["township"] * len(seats.codes), [0.0] * len(seats.codes)))
    i_parts.append(_user_sites(cand.incinerator.sites, "candidates.incinerator.sites", "user"))
    i_parts.append(_user_sites(cand.incinerator.existing, "candidates.incinerator.existing",
                               "existing"))
    incinerator = _assemble(i_parts, cand.incinerator.exclude, cand.incinerator.force,
                            "candidates.incinerator")
    if len(transfer) == 0 and len(incinerator) == 0:
        raise ValidationError("candidates", 0, "the scenario produces no candidate sites")
    check_count_prefectures(scenario, transfer, incinerator)

    _check_ids(scenario, v, village_rows, transfer, incinerator, in_scope)

    m: DistanceMatrix | None = None
    if scenario.data.distance_matrix_file:
        from wastenet.geo.matrix import load_matrix

        m = load_matrix(scenario.data.distance_matrix_file)
    v2t, v2i, t2i, matrix_warnings = neighbour_lists(scenario, v, transfer, incinerator, m)
    warnings += matrix_warnings

    return Network(
        scenario=scenario, villages=v, seats=seats, transfer=transfer, incinerator=incinerator,
        village_to_transfer=v2t, village_to_incinerator=v2i, transfer_to_incinerator=t2i,
        counties=tuple(in_scope), synthetic=v.synthetic, seed=v.seed,
        warnings=tuple(warnings),
        meta={"greenfield": not (transfer.existing_capacity > 0).any()
              and not (incinerator.existing_capacity > 0).any()},
        distance_matrix=m, neighbour_key=neighbour_key(scenario),
    )


_KIND_TEXT = {
    ("transfer", "seat"): ("the transfer candidate of township seat {name}",
                           "candidates.transfer.township_seats"),
    ("transfer", "extra"): ("the extra transfer candidate {name}",
                            "candidates.transfer.extra_per_county"),
    ("incinerator", "county_seat"): ("the county-seat incinerator candidate {name}",
                                     "candidates.incinerator.county_seats"),
    ("incinerator", "township"): ("the township incinerator candidate {name}",
                                  "candidates.incinerator.township_seats"),
}


def _candidate_place(echelon: str, c: Candidates, r: int) -> tuple[str, str, bool]:
    """(description, field, given by the user) of candidate ``r`` of an echelon."""
    kind = c.kind[r]
    if kind in ("user", "existing"):
        part = "sites" if kind == "user" else "existing"
        nth = sum(1 for k in c.kind[:r] if k == kind)
        field_name = f"candidates.{echelon}.{part}[{nth}].id"
        what = "site" if kind == "user" else "existing facility"
        return f"{echelon} {what} {field_name}", field_name, True
    text, field_name = _KIND_TEXT[(echelon, kind)]
    return f"{text.format(name=c.names[r])} ({field_name})", field_name, False


def _check_ids(scenario: Scenario, v: Villages, rows: NDArray[np.int64] | None,
               transfer: Candidates, incinerator: Candidates, in_scope: list[str]) -> None:
    """Refuse an id shared by two places of the one id namespace (villages, candidates,
    routing depots; see the module docstring), naming the id and both places."""
    counties = liaoning.load_counties()
    cidx = liaoning.county_index()
    src = str(v.meta.get("source", "data.villages"))

    def village(r: int) -> tuple[str, str, bool]:
        if rows is None:
            return f"synthetic village {v.ids[r]!r}", "data", False
        if src == "data.villages":
            field_name = f"data.villages[{int(rows[r]) - 1}].id"
            return f"village {field_name}", field_name, True
        return f"village in row {int(rows[r])} of {src}", "data.villages_file", True

    first: dict[str, tuple[str, int]] = {}
    clash: tuple[str, tuple[str, int], tuple[str, int]] | None = None
    for group, ids in (("village", v.ids), ("transfer", transfer.ids),
                       ("incinerator", incinerator.ids)):
        for r, i in enumerate(ids):
            before = first.setdefault(i, (group, r))
            if before != (group, r):
                clash = (i, before, (group, r))
                break
        if clash is not None:
            break

    def place(p: tuple[str, int]) -> tuple[str, str, bool]:
        group, r = p
        if group == "village":
            return village(r)
        return _candidate_place(group, transfer if group == "transfer" else incinerator, r)

    why = ("villages, candidate sites and routing depots share one id namespace (the "
           "distance matrix's ids and the ids of the siting and routing outputs): give "
           "them distinct ids")
    if clash is not None:
        i, a, b = clash
        (da, fa, ua), (db, fb, ub) = place(a), place(b)
        field_name = fb if ub or not ua else fa
        raise ValidationError(field_name, i, f"id {i!r} names two places: {da} and {db}; "
                              f"{why}")
    for code in in_scope:
        c = counties[cidx[code]]
        depot = f"the routing depot of county {code} {c.name}"
        for reserved, groups, text in (
                (f"D{code}", ("village", "transfer", "incinerator"), depot),
                (f"I{code}", ("village", "transfer"),
                 f"{depot} (I{code} is its id when the distance matrix lacks D{code}: the "
                 "county-seat incinerator candidate's)")):
            hit = first.get(reserved)
            if hit is not None and reserved[0] == "I" and hit[0] == "incinerator" \
                    and incinerator.kind[hit[1]] != "county_seat":
                groups = (*groups, "incinerator")  # not the seat's: no stand-in depot
            if hit is not None and hit[0] in groups:
                d, f, _ = place(hit)
                raise ValidationError(f, reserved, f"id {reserved!r} names two places: {d} "
                                      f"and {text}; {why}")


def check_matrix_plausible(matrix: DistanceMatrix, path: str,
                           lists: tuple[tuple[tuple[str, ...], tuple[str, ...], Neighbours],
                                        ...], circuity: float) -> list[str]:
    """Compare the user matrix with the great-circle distances on the listed pairs
    (``lists`` as for :func:`_check_matrix_covers`, holding road estimates =
    great-circle x ``circuity``).

    Refuse the matrix (:class:`ValidationError` naming ``data.distance_matrix_file``)
    when the median ratio matrix / great-circle over the pairs at least
    :data:`MATRIX_MIN_PAIR_M` apart is below :data:`MATRIX_MIN_MEDIAN_RATIO`; otherwise
    return a warning (also logged) when some pairs are shorter than the great-circle
    distance by more than :data:`MATRIX_SHORT_TOLERANCE` and :data:`MATRIX_SHORT_SLACK_M`.
    """
    road_parts, gc_parts, src_parts, dst_parts = [], [], [], []
    for src_ids, dst_ids, nb in lists:
        r, c = np.nonzero(nb.idx >= 0)
        if r.size == 0:
            continue
        ur, r_inv = np.unique(r, return_inverse=True)
        uj, j_inv = np.unique(nb.idx[r, c], return_inverse=True)
        rs = matrix.positions([src_ids[x] for x in ur.tolist()])[r_inv]
        cs = matrix.positions([dst_ids[x] for x in uj.tolist()])[j_inv]
        road_parts.append(matrix.distance_m[rs, cs])
        gc_parts.append(nb.dist_m[r, c] / circuity)
        src_parts.append(rs)
        dst_parts.append(cs)
    if not road_parts:
        return []
    road = np.concatenate(road_parts)
    gc = np.concatenate(gc_parts)
    far = gc >= MATRIX_MIN_PAIR_M
    if far.any():
        ratio = float(np.median(road[far] / gc[far]))
        if ratio < MATRIX_MIN_MEDIAN_RATIO:
            unit = 0.0003 <= ratio <= 0.003
            hint = ("the distances look like kilometres: distance_m must be in metres "
                    "(multiply by 1000)" if unit else
                    "check that distance_m is in metres and that the ids name these "
                    "places (villages and candidate sites)")
            raise ValidationError(
                "data.distance_matrix_file", path,
                f"the matrix's distances cannot be road distances in metres between the "
                f"places: over the {int(far.sum())} listed pairs at least "
                f"{MATRIX_MIN_PAIR_M / 1000:g} km apart, the median ratio of matrix "
                f"distance to great-circle distance is {ratio:.3g} (a road is never "
                f"shorter than the straight line; below {MATRIX_MIN_MEDIAN_RATIO:g} is "
                "refused)", hint=hint)
    short = road < gc * (1.0 - MATRIX_SHORT_TOLERANCE) - MATRIX_SHORT_SLACK_M
    if not short.any():
        return []
    k = int(np.argmax(np.where(short, gc - road, -np.inf)))
    a, b = matrix.ids[int(np.concatenate(src_parts)[k])], \
        matrix.ids[int(np.concatenate(dst_parts)[k])]
    msg = (f"data.distance_matrix_file {path}: {int(short.sum())} of the {road.size} "
           f"listed pairs ({100.0 * short.sum() / road.size:.2g} %) have a road distance "
           f"shorter than the great-circle distance between their coordinates by more "
           f"than {100 * MATRIX_SHORT_TOLERANCE:g} % and {MATRIX_SHORT_SLACK_M:g} m "
           f"(worst: {a} -> {b}, {road[k]:.0f} m in the matrix, {gc[k]:.0f} m in a "
           "straight line); check that distance_m is in metres and that the ids name "
           "these places")
    log.warning("%s", msg)
    return [msg]


def _no_villages_hint(scenario: Scenario) -> str | None:
    """Why a selection has no villages: with user villages, none lies in the selected
    counties; with synthetic ones, the rural counties' shares of a small
    ``data.villages_total`` round to 0."""
    d = scenario.data
    if d.source == "user" and d.counties:
        return ("none of the supplied villages lies in data.counties (their counties are "
                "taken from the villages' county field or their coordinates)")
    if d.source != "liaoning-synthetic" or not d.counties:
        return None
    cidx = liaoning.county_index()
    counties = liaoning.load_counties()
    if not any(counties[cidx[c]].n_rural > 0 for c in d.counties if c in cidx):
        return None
    return (f"data.villages_total={d.villages_total} is split over the province's rural "
            "counties by largest remainder and gives the selected ones none; raise it")


def _check_matrix_covers(matrix: DistanceMatrix, path: str,
                         lists: tuple[tuple[tuple[str, ...], tuple[str, ...], Neighbours],
                                      ...]) -> None:
    """Every place of a listed neighbour pair must be in the user's matrix; otherwise a
    :class:`ValidationError` naming ``data.distance_matrix_file``, the number of distinct
    places missing and a few of them."""
    needed: dict[str, None] = {}
    for src_ids, dst_ids, nb in lists:
        rows, cols = np.nonzero(nb.idx >= 0)
        for r in np.unique(rows).tolist():
            needed[src_ids[r]] = None
        for j in np.unique(nb.idx[rows, cols]).tolist():
            needed[dst_ids[j]] = None
    ids = list(needed)
    missing = [ids[k] for k in np.flatnonzero(matrix.positions(ids) < 0).tolist()]
    if missing:
        shown = ", ".join(repr(i) for i in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValidationError(
            "data.distance_matrix_file", path,
            f"the matrix ({len(matrix)} places) lacks {len(missing)} of the {len(ids)} "
            f"places (villages and candidate sites) of the network's neighbour lists: "
            f"{shown}{more}")


def check_count_prefectures(scenario: Scenario, transfer: Candidates,
                            incinerator: Candidates) -> None:
    """Each ``policy.counts[r].prefecture`` must be a prefecture adcode (not a county's)
    that holds candidates of the target's echelon among ``transfer`` / ``incinerator``;
    otherwise the target would count no site (silently met, ``le`` or ``eq 0``, or
    failing with a reason that blames the count). :func:`build_network` checks the
    scenario it builds, and :func:`wastenet.siting.build.build_siting_data` the one a
    network carries when it is compiled (it may have been given another policy, e.g.
    with ``dataclasses.replace(network, scenario=...)``). The :class:`ValidationError`
    names ``policy.counts[r].prefecture``, the target and the value, with the valid
    prefectures as a hint."""
    counties = liaoning.load_counties()
    cidx = liaoning.county_index()
    prefectures = {p.adcode: p.name for p in liaoning.load_prefectures()}
    for r, t in enumerate(scenario.policy.counts):
        code = t.prefecture
        if code is None:
            continue
        field_name = f"policy.counts[{r}].prefecture"
        target = f"count target {t.echelon} {t.sense} {t.value} in prefecture {code!r}"
        cand = transfer if t.echelon == "transfer" else incinerator
        held = sorted({counties[cidx[c]].prefecture_adcode for c in cand.county})
        listed = ", ".join(f"{p} {prefectures[p]}" for p in held)
        hint = (f"the prefectures with {t.echelon} candidates in this scenario are {listed}"
                if held else f"the scenario has no {t.echelon} candidates")
        if code not in prefectures:
            if code in cidx:
                c = counties[cidx[code]]
                raise ValidationError(
                    field_name, code, f"{target}: {code} is a county adcode (the adcode of "
                    f"county {c.name}, not of a prefecture)",
                    hint=f"its prefecture is {c.prefecture_adcode} ({c.prefecture_name})")
            raise ValidationError(field_name, code, f"{target}: unknown prefecture (unknown "
                                  f"code {code!r}): no county lies in it", hint=hint)
        if code not in held:
            raise ValidationError(
                field_name, code,
                f"{target}: no {t.echelon} candidate of this scenario lies in prefecture "
                f"{prefectures[code]}, so the target has no site to count", hint=hint)


def override_with_matrix(matrix: DistanceMatrix, src_ids: tuple[str, ...],
                         dst_ids: tuple[str, ...], nb: Neighbours,
                         max_road_m: float) -> Neighbours:
    """Replace estimated distances by the user matrix for the neighbour pairs listed.

    Pairs whose matrix (road) distance exceeds ``max_road_m`` are dropped, and each row is
    sorted again nearest first by the matrix distance (ties keep the estimate's order), so
    the lists keep the invariant of :class:`Neighbours`. Pairs are only ever removed: a
    pair that the estimate put beyond ``max_road_m`` (or beyond the ``k`` nearest) is not
    in the list, so it stays out even if the matrix puts it within reach. A pair the
    matrix does not hold keeps its estimate (:func:`neighbour_lists` refuses such a
    matrix first, :func:`_check_matrix_covers`; the siting build's lists of any county
    may reach places the matrix need not cover).
    """
    rows, cols = np.nonzero(nb.idx >= 0)
    if rows.size == 0:
        return nb
    ps = matrix.positions(src_ids)[rows]
    pd = matrix.positions(dst_ids)[nb.idx[rows, cols]]
    both = (ps >= 0) & (pd >= 0)
    out = nb.dist_m.copy()
    out[rows[both], cols[both]] = matrix.distance_m[ps[both], pd[both]]
    idx = nb.idx.copy()
    far = ~(out <= max_road_m) & (idx >= 0)
    idx[far] = -1
    out[idx < 0] = np.inf
    order = np.argsort(out, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    out = np.take_along_axis(out, order, axis=1)
    idx.setflags(write=False)
    out.setflags(write=False)
    return Neighbours(idx=idx, dist_m=out)


SharingPolicy = Literal["none", "adjacent", "prefecture", "free"]


def sharing_matrix(policy: SharingPolicy) -> NDArray[np.bool_]:
    """``M[a, b]``: may county ``a`` (index into ``load_counties()``) use a facility in
    county ``b``? ``none``: same county; ``adjacent``: same or bordering; ``prefecture``:
    same prefecture; ``free``: always."""
    counties = liaoning.load_counties()
    n = len(counties)
    if policy == "free":
        return np.ones((n, n), dtype=bool)
    m = np.eye(n, dtype=bool)
    if policy == "adjacent":
        idx = liaoning.county_index()
        for a, bs in liaoning.county_neighbours().items():
            for b in bs:
                m[idx[a], idx[b]] = True
    elif policy == "prefecture":
        pref = np.array([c.prefecture_adcode for c in counties])
        m = pref[:, None] == pref[None, :]
    elif policy != "none":
        raise ValidationError("policy.sharing", policy, "unknown sharing policy")
    return m


def allowed_pairs(src_county: NDArray[np.str_] | list[str], dst_county: NDArray[np.str_] | list[str],
                  policy: SharingPolicy) -> NDArray[np.bool_]:
    """Vectorised sharing test between county adcodes (element-wise)."""
    idx = liaoning.county_index()
    src = np.array([idx[str(c)] for c in np.ravel(src_county)], dtype=np.int64)
    dst = np.array([idx[str(c)] for c in np.ravel(dst_county)], dtype=np.int64)
    m = sharing_matrix(policy)
    return m[src, dst].reshape(np.shape(src_county))
