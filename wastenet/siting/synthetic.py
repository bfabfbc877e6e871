"""Seeded generator of province-like synthetic :class:`SitingData` for tests and benchmarks.

Villages, candidate stations and incinerator sites are scattered over a Liaoning-sized box
(about 550 km x 450 km), split into counties (nearest county seat) and prefectures (groups
of counties). Arcs join each village to its ``k_collect`` nearest transfer candidates within
``radius_km`` (and to incinerators within ``direct_km`` for direct delivery), and each
candidate station to its ``k_haul`` nearest incinerator sites, subject to the sharing
policy (``none``: same county; ``prefecture``: same prefecture; ``free``: no limit).
Road distance = 1.3 x straight-line distance. All figures are synthetic assumptions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.spatial import cKDTree

from wastenet.errors import ValidationError
from wastenet.siting.data import Arcs, CountTarget, Sites, SiteStatus, SitingData

Policy = Literal["none", "prefecture", "free"]

_LON0, _LAT0 = 119.0, 39.0
_KM_PER_DEG_LAT = 111.0
_KM_PER_DEG_LON = 85.0


def _sites(prefix: str, xy: np.ndarray, county: np.ndarray, caps: np.ndarray,
           fixed: np.ndarray, throughput: float) -> Sites:
    m = xy.shape[0]
    return Sites(
        ids=tuple(f"{prefix}{s}" for s in range(m)),
        names=tuple(f"{prefix}-{s}" for s in range(m)),
        county=county,
        lon=_LON0 + xy[:, 0] / _KM_PER_DEG_LON,
        lat=_LAT0 + xy[:, 1] / _KM_PER_DEG_LAT,
        size_capacity=np.tile(caps, (m, 1)),
        size_fixed_cost=fixed,
        n_sizes=np.full(m, caps.shape[0]),
        size_names=tuple(tuple(f"{c:g}t/d" for c in caps) for _ in range(m)),
        status=np.full(m, SiteStatus.FREE),
        existing_capacity=np.zeros(m),
        throughput_cost=np.full(m, throughput),
    )


def _nearest_arcs(src_xy: np.ndarray, dst_xy: np.ndarray, k: int, radius_km: float,
                  src_region: np.ndarray, dst_region: np.ndarray | None,
                  yuan_per_tkm: float) -> Arcs:
    if src_xy.shape[0] == 0 or dst_xy.shape[0] == 0 or k <= 0:
        return Arcs.empty()
    tree = cKDTree(dst_xy)
    kk = min(dst_xy.shape[0], k if dst_region is None else 4 * k)
    dist, idx = tree.query(src_xy, k=kk, distance_upper_bound=radius_km / 1.3)
    dist = np.atleast_2d(dist).reshape(src_xy.shape[0], kk)
    idx = np.atleast_2d(idx).reshape(src_xy.shape[0], kk)
    ok = np.isfinite(dist)
    safe = np.where(ok, idx, 0)
    if dst_region is not None:
        ok &= dst_region[safe] == src_region[:, None]
    rank = np.cumsum(ok, axis=1)
    ok &= rank <= k
    src = np.repeat(np.arange(src_xy.shape[0]), kk).reshape(-1, kk)[ok]
    dst = safe[ok]
    road_m = dist[ok] * 1.3 * 1000.0
    return Arcs(src, dst, road_m, yuan_per_tkm * road_m / 1000.0 * 365.0)


def synthetic_province(
    n_villages: int = 11_500,
    n_transfer: int = 2_000,
    n_incinerator: int = 900,
    n_counties: int = 100,
    n_prefectures: int = 14,
    *,
    seed: int = 0,
    policy: Policy = "free",
    k_collect: int = 30,
    k_haul: int = 20,
    radius_km: float = 40.0,
    direct_km: float = 8.0,
    haul_km: float = 150.0,
    transfer_target: int | None = 1_880,
    incinerator_target: int | None = 126,
    width_km: float = 550.0,
    height_km: float = 450.0,
) -> SitingData:
    """Return a seeded synthetic province; the defaults mimic the Liaoning problem size."""
    if policy not in ("none", "prefecture", "free"):
        raise ValidationError("policy", policy, "must be 'none', 'prefecture' or 'free'")
    rng = np.random.default_rng(seed)
    size = np.array([width_km, height_km])
    seats = rng.random((n_counties, 2)) * size
    county_pref = np.arange(n_counties) % n_prefectures
    # villages clustered around county seats
    vc = rng.integers(0, n_counties, n_villages)
    vxy = np.clip(seats[vc] + rng.normal(0, 18.0, (n_villages, 2)), 0, size)
    county_of = cKDTree(seats)
    v_county = county_of.query(vxy)[1].astype(np.int64)
    demand = np.round(rng.gamma(3.0, 0.5, n_villages), 3) + 0.1
    # transfer candidates near villages, incinerator candidates spread out
    txy = np.clip(vxy[rng.integers(0, n_villages, n_transfer)]
                  + rng.normal(0, 3.0, (n_transfer, 2)), 0, size)
    ixy = np.clip(seats[rng.integers(0, n_counties, n_incinerator)]
                  + rng.normal(0, 25.0, (n_incinerator, 2)), 0, size)
    # one candidate of each echelon at every county seat, so every policy stays feasible
    nt0, ni0 = min(n_counties, n_transfer), min(n_counties, n_incinerator)
    txy[:nt0] = np.clip(seats[:nt0] + rng.normal(0, 0.3, (nt0, 2)), 0, size)
    ixy[:ni0] = np.clip(seats[:ni0] + rng.normal(0, 0.3, (ni0, 2)), 0, size)
    t_county = county_of.query(txy)[1].astype(np.int64)
    i_county = county_of.query(ixy)[1].astype(np.int64)
    tcaps = np.array([10.0, 20.0, 40.0])
    # annualised: 0.4m yuan per 20 t/d station, CRF(20y, 5%) ~ 0.08, plus operating
    tfix = 0.08 * 0.4e6 * (tcaps / 20.0) ** 0.7 + 20_000.0
    tfixed = np.outer(1.0 + 0.2 * rng.random(n_transfer), tfix)
    icaps = np.array([30.0, 100.0, 300.0, 600.0])
    # 0.5m yuan per t/d, CRF(25y, 5%) ~ 0.071, with economies of scale
    ifix = 0.071 * 0.5e6 * icaps * (icaps / 100.0) ** -0.15 + 200_000.0
    ifixed = np.outer(1.0 + 0.2 * rng.random(n_incinerator), ifix)

    def region(counties: np.ndarray) -> np.ndarray | None:
        if policy == "none":
            return counties
        if policy == "prefecture":
            return county_pref[counties]
        return None

    def src_region(counties: np.ndarray) -> np.ndarray:
        r = region(counties)
        return counties if r is None else r

    collect = _nearest_arcs(vxy, txy, k_collect, radius_km, src_region(v_county),
                            region(t_county), 0.9)
    lonely = np.setdiff1d(np.arange(n_villages), collect.src)
    if lonely.size:  # villages beyond the radius: an arc to the nearest same-county station
        src, dst, dist = [], [], []
        for i in lonely.tolist():
            same = np.flatnonzero(t_county == v_county[i])
            if same.size == 0:
                continue
            dd = np.hypot(*(txy[same] - vxy[i]).T) * 1.3 * 1000.0
            src.append(i)
            dst.append(int(same[np.argmin(dd)]))
            dist.append(float(dd.min()))
        d_m = np.concatenate([collect.distance_m, dist])
        collect = Arcs(np.concatenate([collect.src, src]), np.concatenate([collect.dst, dst]),
                       d_m, 0.9 * d_m / 1000.0 * 365.0)
    direct = _nearest_arcs(vxy, ixy, 3, direct_km, src_region(v_county), region(i_county), 0.9)
    haul = _nearest_arcs(txy, ixy, k_haul, haul_km, src_region(t_county), region(i_county),
                         0.35)
    counts: list[CountTarget] = []
    if transfer_target is not None:
        counts.append(CountTarget("transfer", transfer_target, "eq"))
    if incinerator_target is not None:
        counts.append(CountTarget("incinerator", incinerator_target, "eq"))
    codes = tuple(f"C{c:03d}" for c in range(n_counties))
    return SitingData(
        demand=demand,
        village_ids=tuple(f"V{i}" for i in range(n_villages)),
        village_names=tuple(f"village-{i}" for i in range(n_villages)),
        village_county=v_county,
        village_lon=_LON0 + vxy[:, 0] / _KM_PER_DEG_LON,
        village_lat=_LAT0 + vxy[:, 1] / _KM_PER_DEG_LAT,
        must_cover=np.zeros(n_villages, dtype=bool),
        county_codes=codes,
        county_names=tuple(f"county-{c}" for c in range(n_counties)),
        county_prefecture=tuple(f"P{p:02d}" for p in county_pref),
        transfer=_sites("T", txy, t_county, tcaps, tfixed, 15.0 * 365),
        incinerator=_sites("I", ixy, i_county, icaps, ifixed, 60.0 * 365),
        collect=collect,
        direct=direct,
        haul=haul,
        single_source=True,
        counts=tuple(counts),
        uncovered_penalty=None,
        name=f"synthetic-{n_villages}-{policy}-s{seed}",
        synthetic=True,
        seed=seed,
    )
