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

Neighbour lists are sparse and nearest first: village -> station within
``policy.service_radius_km`` (twice ``network.neighbours_per_village`` of them, so that
the sharing policy can still keep that many), village -> incinerator within
``policy.direct_radius_km`` (at most :data:`DIRECT_NEIGHBOURS` = 8) and station ->
incinerator within ``policy.max_transfer_haul_km`` (twice
``network.incinerators_per_station``). They hold great-circle distances times the
circuity factor (road estimate), unless a user distance matrix is given, which then
replaces the estimate on every listed pair (it must cover them); pairs whose matrix
distance exceeds the limit are then dropped and the rows sorted again by it; a matrix
that lacks some of the listed places is refused, naming ``data.distance_matrix_file``,
the number of distinct places missing and a few of them. The
candidates are still found by the estimate, so a pair that the estimate puts beyond
the limit (or beyond the nearest ones listed) stays out even when its matrix distance
is within the limit. The matrix is kept on the network
(:attr:`Network.distance_matrix`) so that county-day routing
(:func:`wastenet.routing.build.build_routing_data`) takes its distances and travel
times from it too.
"""

from __future__ import annotations

import logging
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

#: incinerator candidates listed per village for direct delivery (its nearest ones within
#: ``policy.direct_radius_km``); a fixed cap, not a scenario setting
DIRECT_NEIGHBOURS = 8


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


def _villages(scenario: Scenario) -> tuple[Villages, Seats, list[str]]:
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
        return v, s, []
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
    if d.counties:
        keep = np.isin(np.array(v.county), np.array(d.counties))
        dropped = int((~keep).sum())
        if dropped:
            msg = (f"{dropped} supplied village(s) lie outside data.counties "
                   f"{list(d.counties)} and are not part of this scenario")
            log.warning(msg)
            warnings.append(msg)
        v = _subset_villages(v, keep)
    empty = Seats(codes=(), names=(), county=(), lon=np.zeros(0), lat=np.zeros(0))
    return v, empty, warnings


def _subset_villages(v: Villages, keep: NDArray[np.bool_]) -> Villages:
    idx = np.flatnonzero(keep)
    return Villages(
        ids=tuple(v.ids[i] for i in idx), names=tuple(v.names[i] for i in idx),
        county=tuple(v.county[i] for i in idx), seat=v.seat[idx].copy(), lon=v.lon[idx].copy(),
        lat=v.lat[idx].copy(), population=v.population[idx].copy(),
        waste_t_per_day=v.waste_t_per_day[idx].copy(), tourism=v.tourism[idx].copy(),
        demonstration=v.demonstration[idx].copy(), synthetic=v.synthetic, seed=v.seed,
        meta=dict(v.meta))


def _knn(points_lon: FloatArray, points_lat: FloatArray, index: PointIndex, k: int,
         max_road_m: float, circuity: float) -> Neighbours:
    dist, idx = index.query(points_lon, points_lat, k, max_distance_m=max_road_m / circuity)
    road = dist * circuity
    road[idx < 0] = np.inf
    road.setflags(write=False)
    idx.setflags(write=False)
    return Neighbours(idx=idx, dist_m=road)


def build_network(scenario: Scenario) -> Network:
    """Build the network of a scenario. Pure: the same scenario gives the same network."""
    v, seats, warnings = _villages(scenario)
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
    _check_count_prefectures(scenario, in_scope, transfer, incinerator)

    net = scenario.network
    circ = net.circuity_factor
    pol = scenario.policy
    # Ask for twice the kept list so that the sharing policy can still keep k allowed.
    t_index = PointIndex(transfer.lon, transfer.lat)
    i_index = PointIndex(incinerator.lon, incinerator.lat)
    v2t = _knn(v.lon, v.lat, t_index, 2 * net.neighbours_per_village,
               pol.service_radius_km * 1000.0, circ)
    v2i = _knn(v.lon, v.lat, i_index, DIRECT_NEIGHBOURS, pol.direct_radius_km * 1000.0,
               circ)
    t2i = _knn(transfer.lon, transfer.lat, i_index, 2 * net.incinerators_per_station,
               pol.max_transfer_haul_km * 1000.0, circ)

    m: DistanceMatrix | None = None
    if scenario.data.distance_matrix_file:
        from wastenet.geo.matrix import load_matrix

        m = load_matrix(scenario.data.distance_matrix_file)
        _check_matrix_covers(m, scenario.data.distance_matrix_file,
                             ((v.ids, transfer.ids, v2t), (v.ids, incinerator.ids, v2i),
                              (transfer.ids, incinerator.ids, t2i)))
        v2t = _override(m, v.ids, transfer.ids, v2t, pol.service_radius_km * 1000.0)
        v2i = _override(m, v.ids, incinerator.ids, v2i, pol.direct_radius_km * 1000.0)
        t2i = _override(m, transfer.ids, incinerator.ids, t2i,
                        pol.max_transfer_haul_km * 1000.0)

    return Network(
        scenario=scenario, villages=v, seats=seats, transfer=transfer, incinerator=incinerator,
        village_to_transfer=v2t, village_to_incinerator=v2i, transfer_to_incinerator=t2i,
        counties=tuple(in_scope), synthetic=v.synthetic, seed=v.seed,
        warnings=tuple(warnings),
        meta={"greenfield": not (transfer.existing_capacity > 0).any()
              and not (incinerator.existing_capacity > 0).any()},
        distance_matrix=m,
    )


def _no_villages_hint(scenario: Scenario) -> str | None:
    """Why a synthetic selection of rural counties has no villages: its counties' shares
    of a small ``data.villages_total`` round to 0."""
    d = scenario.data
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


def _check_count_prefectures(scenario: Scenario, in_scope: list[str], transfer: Candidates,
                             incinerator: Candidates) -> None:
    """Each ``policy.counts[r].prefecture`` must be a prefecture adcode (not a county's)
    that holds candidates of the target's echelon in this network; otherwise the target
    would count no site (silently doing nothing, or failing with a misleading reason)."""
    counties = liaoning.load_counties()
    cidx = liaoning.county_index()
    prefectures = {p.adcode: p.name for p in liaoning.load_prefectures()}
    for r, t in enumerate(scenario.policy.counts):
        code = t.prefecture
        if code is None:
            continue
        field_name = f"policy.counts[{r}].prefecture"
        if code not in prefectures:
            if code in cidx:
                c = counties[cidx[code]]
                raise ValidationError(field_name, code,
                                      f"is a county adcode ({c.name}), not a prefecture",
                                      hint=f"its prefecture is {c.prefecture_adcode} "
                                      f"({c.prefecture_name})")
            raise ValidationError(field_name, code, "unknown prefecture adcode")
        cand = transfer if t.echelon == "transfer" else incinerator
        held = {counties[cidx[c]].prefecture_adcode for c in cand.county}
        if code not in held:
            scope = sorted({counties[cidx[c]].prefecture_adcode for c in in_scope} | held)
            raise ValidationError(
                field_name, code,
                f"no {t.echelon} candidate of this scenario lies in prefecture "
                f"{prefectures[code]}: the count target has no site to count",
                hint=f"the scenario's prefectures are {', '.join(scope)}")


def _override(matrix: DistanceMatrix, src_ids: tuple[str, ...], dst_ids: tuple[str, ...],
              nb: Neighbours, max_road_m: float) -> Neighbours:
    """Replace estimated distances by the user matrix for the neighbour pairs listed.

    Pairs whose matrix (road) distance exceeds ``max_road_m`` are dropped, and each row is
    sorted again nearest first by the matrix distance (ties keep the estimate's order), so
    the lists keep the invariant of :class:`Neighbours`. Pairs are only ever removed: a
    pair that the estimate put beyond ``max_road_m`` (or beyond the ``k`` nearest) is not
    in the list, so it stays out even if the matrix puts it within reach.
    """
    rows, cols = np.nonzero(nb.idx >= 0)
    if rows.size == 0:
        return nb
    src = [src_ids[r] for r in rows]
    dst = [dst_ids[int(nb.idx[r, c])] for r, c in zip(rows, cols, strict=True)]
    dist, _dur = matrix.lookup(src, dst)
    out = nb.dist_m.copy()
    out[rows, cols] = dist
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
