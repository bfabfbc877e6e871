"""Seeded, deterministic generator of Liaoning's rural villages (synthetic data).

No public source gives village locations or populations, so they are synthesised and
every dataset carries ``synthetic=True`` and its seed.

Allocation (documented formula, tested per county)
--------------------------------------------------
Only the counties with rural towns or townships receive villages (71 of 100). With
``r_c = n_zhen_c + n_xiang_c`` and ``A_c`` the county area in km2, the weight of county
``c`` is

    w_c = r_c * sqrt(A_c)

and the ``N`` villages (default 11,500) are split by the largest-remainder method:
``V_c = floor(N w_c / W) + [c among the N - sum floor(.) largest remainders]`` with
``W = sum_c w_c`` (ties broken by adcode). ``N`` may be any total from 1 up: below
about 2,629 the smallest rural counties' shares round to 0, and such a county simply
has no villages (nor township seats) in the generated data, exactly as the formula says.
The rural population ``P`` (default 11 million, at least one person per village and at
most :data:`MAX_RURAL_POPULATION`) is split the same way in proportion to ``V_c``, so
every county has the provincial mean village size and at least one person per village;
within a county, village sizes follow a seeded log-normal spread (sigma 0.35)
normalised to the county total and rounded by largest remainder with a floor of one
person (:func:`largest_remainder_min1`: a village whose share rounds to 0 gets 1 and the
rest is split again among the others, which changes nothing when no share rounds to 0),
so all totals are exact and every village has ``>= 1`` person and ``> 0`` t/day.

Placement
---------
Each rural town or township of a county (from the township list) gets one synthetic
seat, a point inside the county polygon placed by Mitchell's best-candidate sampling
(spread out, deterministic). Villages are assigned round-robin to the seats and
scattered around their seat with a Gaussian offset of standard deviation
``0.45 * sqrt(A_c / r_c)`` km; points falling outside the county are redrawn.

Randomness: each county draws from its own generator seeded by ``(seed, adcode)``, so a
county's villages do not depend on which other counties are generated.

Daily waste per village = population x rate (default 0.5 kg/person/day, the median
of Chinese rural surveys; range 0.2-1.1) x seasonal factor (1.0 outside the peak).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.errors import ValidationError

_ETHNIC = ("满族", "蒙古族", "朝鲜族", "锡伯族", "回族")

MAX_RURAL_POPULATION = 100_000_000
"""Upper bound on the generator's rural population: more than twice the whole
population of Liaoning (42.6 million, 2020 census), so larger is a data error."""


@dataclass(frozen=True)
class GeneratorParams:
    """Parameters of the village generator (all defaults are documented above)."""

    seed: int = 2025
    villages_total: int = 11_500
    rural_population: int = 11_000_000
    waste_kg_per_person_per_day: float = 0.5
    seasonal_factor: float = 1.0
    counties: tuple[str, ...] = ()  #: restrict the output to these adcodes (empty: all)
    tourism_fraction: float = 0.0  #: share of villages flagged as key tourism villages
    demonstration_counties: tuple[str, ...] = ()  #: all their villages are demo-belt villages
    spread_factor: float = 0.45

    def __post_init__(self) -> None:
        if self.villages_total < 1:
            raise ValidationError("villages_total", self.villages_total, "must be >= 1")
        if self.rural_population < self.villages_total:
            raise ValidationError("rural_population", self.rural_population,
                                  "must be at least one person per village")
        if self.rural_population > MAX_RURAL_POPULATION:
            raise ValidationError("rural_population", self.rural_population,
                                  f"implausibly large (more than {MAX_RURAL_POPULATION:,}, "
                                  "over twice Liaoning's whole population)")
        if not self.waste_kg_per_person_per_day > 0:
            raise ValidationError("waste_kg_per_person_per_day",
                                  self.waste_kg_per_person_per_day, "must be > 0")
        if not self.seasonal_factor > 0:
            raise ValidationError("seasonal_factor", self.seasonal_factor, "must be > 0")
        if not 0.0 <= self.tourism_fraction <= 1.0:
            raise ValidationError("tourism_fraction", self.tourism_fraction,
                                  "must lie in [0, 1]")
        known = liaoning.county_index()
        for name in ("counties", "demonstration_counties"):
            for code in getattr(self, name):
                if code not in known:
                    raise ValidationError(name, code, "unknown county adcode")


@dataclass(frozen=True, eq=False)
class Seats:
    """Synthetic township seats (one per rural town or township)."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    county: tuple[str, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Villages:
    """A village table. Arrays are read-only; ``county`` holds adcodes."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    county: tuple[str, ...]
    seat: NDArray[np.int64]  #: index into the seats table, -1 for user villages
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    population: NDArray[np.int64]
    waste_t_per_day: NDArray[np.float64]
    tourism: NDArray[np.bool_]
    demonstration: NDArray[np.bool_]
    synthetic: bool
    seed: int | None
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("seat", "lon", "lat", "population", "waste_t_per_day", "tourism",
                     "demonstration"):
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return len(self.ids)


def largest_remainder(weights: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (Hamilton method).

    Ties in the remainders go to the lower index, so the result is deterministic.
    """
    w = np.asarray(weights, dtype=np.float64)
    if total < 0 or w.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValidationError("weights", w.tolist()[:5], "need non-negative weights, sum > 0")
    quota = w * (total / w.sum())
    base = np.floor(quota).astype(np.int64)
    rest = int(total - base.sum())
    order = np.lexsort((np.arange(w.size), -(quota - base)))
    base[order[:rest]] += 1
    return base


def largest_remainder_min1(weights: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Like :func:`largest_remainder`, but every entry gets at least 1 (``total`` must be
    at least the number of weights).

    Entries whose share rounds to 0 are set to 1 and the remaining total is split again
    among the others by :func:`largest_remainder`, until no entry is 0. When the plain
    split has no 0, the result is the plain split.
    """
    w = np.asarray(weights, dtype=np.float64)
    if total < w.size:
        raise ValidationError("total", total, f"must be at least {w.size}, one per entry")
    fixed = np.zeros(w.size, dtype=bool)
    while True:
        free = ~fixed
        out = fixed.astype(np.int64)
        out[free] = largest_remainder(w[free], total - int(fixed.sum()))
        zero = free & (out == 0)
        if not zero.any():
            return out
        fixed |= zero


def allocation_weights(counties: tuple[liaoning.County, ...]) -> NDArray[np.float64]:
    """``w_c = (n_zhen + n_xiang) * sqrt(area_km2)``; zero for purely urban counties."""
    r = np.array([c.n_rural for c in counties], dtype=np.float64)
    a = np.array([c.area_km2 for c in counties], dtype=np.float64)
    return r * np.sqrt(a)


def allocate_villages(total: int) -> dict[str, int]:
    """Villages per county adcode by the documented formula: the counties that receive
    at least one (all 71 rural counties from about 2,629 villages up; a rural county whose
    share of a smaller total rounds to 0 is left out, as it has no villages)."""
    counties = liaoning.load_counties()
    counts = largest_remainder(allocation_weights(counties), total)
    return {c.adcode: int(n) for c, n in zip(counties, counts, strict=True)
            if c.n_rural > 0 and n > 0}


def allocate_population(total_population: int, villages: dict[str, int]) -> dict[str, int]:
    """Rural population per county, proportional to its villages, exact total (a county
    with ``V`` villages gets at least ``V`` people when the total is at least the number of
    villages: ``floor(P V / N) >= V``)."""
    codes = sorted(villages)
    pop = largest_remainder(np.array([villages[c] for c in codes], dtype=np.float64),
                            total_population)
    return dict(zip(codes, (int(p) for p in pop), strict=True))


def township_stem(name: str) -> str:
    stem = name
    for suffix in ("镇", "乡"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for eth in _ETHNIC:
        if stem.endswith(eth) and len(stem) > len(eth):
            stem = stem[: -len(eth)]
            break
    return stem


def _county_rng(seed: int, adcode: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(adcode)])


def _sample_in(poly: shapely.Geometry, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """``n`` uniform points inside ``poly`` by rejection from its bounding box."""
    minx, miny, maxx, maxy = poly.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(64, 4 * (n - len(out)))
        xy = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        keep = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        out = np.vstack([out, xy[keep]])
    return out[:n]


def _place_seats(poly: shapely.Geometry, n: int, anchor: tuple[float, float],
                 rng: np.random.Generator, candidates: int = 24) -> NDArray[np.float64]:
    """Mitchell's best-candidate: each seat is the candidate farthest from those placed."""
    kx = np.cos(np.radians(anchor[1]))
    placed = np.empty((0, 2))
    ref = np.array([anchor])
    for _ in range(n):
        cand = _sample_in(poly, rng, candidates)
        pts = np.vstack([ref, placed]) if len(placed) else ref
        d = np.min(np.hypot((cand[:, None, 0] - pts[None, :, 0]) * kx,
                            cand[:, None, 1] - pts[None, :, 1]), axis=1)
        placed = np.vstack([placed, cand[int(np.argmax(d))]])
    return placed


def generate(params: GeneratorParams | None = None) -> tuple[Villages, Seats]:
    """Generate the villages and township seats of the selected counties.

    Deterministic: the same ``params`` give the same output, bit for bit.
    """
    p = params or GeneratorParams()
    counties = liaoning.load_counties()
    polys = liaoning.county_polygons()
    townships = liaoning.load_townships()
    per_county = allocate_villages(p.villages_total)
    pop_county = allocate_population(p.rural_population, per_county)
    wanted = set(p.counties) if p.counties else set(per_county)
    demo = set(p.demonstration_counties)
    rate_t = p.waste_kg_per_person_per_day * p.seasonal_factor / 1000.0

    v_ids: list[str] = []
    v_names: list[str] = []
    v_county: list[str] = []
    v_seat: list[NDArray[np.int64]] = []
    v_xy: list[NDArray[np.float64]] = []
    v_pop: list[NDArray[np.int64]] = []
    v_tour: list[NDArray[np.bool_]] = []
    s_codes: list[str] = []
    s_names: list[str] = []
    s_county: list[str] = []
    s_xy: list[NDArray[np.float64]] = []

    for ci, county in enumerate(counties):
        if county.adcode not in per_county or county.adcode not in wanted:
            continue  # urban, not selected, or its share of a small total rounds to 0
        rng = _county_rng(p.seed, county.adcode)
        poly = polys[ci]
        towns = [t for t in townships if t.county_adcode == county.adcode
                 and t.type in ("zhen", "xiang")]
        seats_xy = _place_seats(poly, len(towns), (county.lon, county.lat), rng)
        seat_base = len(s_codes)
        s_codes.extend(t.code for t in towns)
        s_names.extend(t.name for t in towns)
        s_county.extend(county.adcode for _ in towns)
        s_xy.append(seats_xy)

        nv = per_county[county.adcode]
        seat_of = np.arange(nv, dtype=np.int64) % len(towns)
        sigma_deg = p.spread_factor * np.sqrt(county.area_km2 / len(towns)) / 111.0
        kx = np.cos(np.radians(county.lat))
        xy = seats_xy[seat_of].copy()
        todo = np.arange(nv)
        for _ in range(50):
            if todo.size == 0:
                break
            off = rng.normal(0.0, sigma_deg, size=(todo.size, 2))
            off[:, 0] /= kx
            cand = seats_xy[seat_of[todo]] + off
            inside = shapely.contains_xy(poly, cand[:, 0], cand[:, 1])
            xy[todo[inside]] = cand[inside]
            todo = todo[~inside]
        if todo.size:  # very rare: fall back to uniform points inside the county
            xy[todo] = _sample_in(poly, rng, todo.size)
        sizes = rng.lognormal(0.0, 0.35, size=nv)
        pop = largest_remainder_min1(sizes, pop_county[county.adcode])
        tour = rng.random(nv) < p.tourism_fraction
        counter = np.zeros(len(towns), dtype=np.int64)
        for k in range(nv):
            s = int(seat_of[k])
            counter[s] += 1
            v_ids.append(f"{towns[s].code}{counter[s]:03d}")
            v_names.append(f"{township_stem(towns[s].name)}{counter[s]}村")
        v_county.extend(county.adcode for _ in range(nv))
        v_seat.append(seat_of + seat_base)
        v_xy.append(xy)
        v_pop.append(pop)
        v_tour.append(tour)

    xy_all = np.vstack(v_xy) if v_xy else np.empty((0, 2))
    pop_all = np.concatenate(v_pop) if v_pop else np.empty(0, dtype=np.int64)
    seats_all = np.vstack(s_xy) if s_xy else np.empty((0, 2))
    villages = Villages(
        ids=tuple(v_ids), names=tuple(v_names), county=tuple(v_county),
        seat=np.concatenate(v_seat) if v_seat else np.empty(0, dtype=np.int64),
        lon=xy_all[:, 0].copy(), lat=xy_all[:, 1].copy(), population=pop_all,
        waste_t_per_day=(pop_all * rate_t).astype(np.float64),
        tourism=np.concatenate(v_tour) if v_tour else np.empty(0, dtype=bool),
        demonstration=np.array([c in demo for c in v_county], dtype=bool),
        synthetic=True, seed=p.seed,
        meta={"generator": "wastenet.data.generator", "villages_total": p.villages_total,
              "rural_population": p.rural_population,
              "waste_kg_per_person_per_day": p.waste_kg_per_person_per_day,
              "seasonal_factor": p.seasonal_factor},
    )
    seats = Seats(codes=tuple(s_codes), names=tuple(s_names), county=tuple(s_county),
                  lon=seats_all[:, 0].copy(), lat=seats_all[:, 1].copy())
    return villages, seats
