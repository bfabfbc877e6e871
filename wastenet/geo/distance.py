"""Vectorised great-circle distances, road estimates and nearest-neighbour search.

Great-circle distances use the haversine formula on a sphere of radius
:data:`EARTH_RADIUS_M` (the IUGG mean radius); on Liaoning's scale they agree with
geopy's WGS-84 geodesic within 0.5 % (tested). Road distance is estimated as
``circuity x great-circle`` (default circuity 1.3: assumption, in the middle of the
1.2-1.4 range reported for rural road networks). Travel time is road distance / speed.

Nearest-neighbour search uses :class:`scipy.spatial.cKDTree` on geocentric (ECEF,
spherical) coordinates: the chord length there is a monotone function of the great-circle
distance, so k-nearest queries are exact, with no projection distortion anywhere.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8

FloatArray = NDArray[np.float64]


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> FloatArray:
    """Great-circle distance in metres, broadcasting over numpy arrays (degrees in)."""
    lo1, la1, lo2, la2 = (np.radians(np.asarray(a, dtype=np.float64))
                          for a in (lon1, lat1, lon2, lat2))
    dlat = la2 - la1
    dlon = lo2 - lo1
    a = np.sin(dlat / 2.0) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pairwise_haversine_m(lon_a: ArrayLike, lat_a: ArrayLike,
                         lon_b: ArrayLike, lat_b: ArrayLike) -> FloatArray:
    """Dense ``(len(a), len(b))`` matrix of great-circle distances (for small sets only)."""
    la = np.asarray(lon_a, dtype=np.float64)[:, None]
    pa = np.asarray(lat_a, dtype=np.float64)[:, None]
    lb = np.asarray(lon_b, dtype=np.float64)[None, :]
    pb = np.asarray(lat_b, dtype=np.float64)[None, :]
    return haversine_m(la, pa, lb, pb)


def to_ecef(lon: ArrayLike, lat: ArrayLike) -> FloatArray:
    """Geocentric coordinates (metres, spherical earth) of shape ``(n, 3)``."""
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    la = np.radians(np.asarray(lat, dtype=np.float64))
    c = np.cos(la)
    return EARTH_RADIUS_M * np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def chord_to_arc_m(chord: ArrayLike) -> FloatArray:
    """Convert an ECEF chord length to the great-circle arc length (metres)."""
    c = np.asarray(chord, dtype=np.float64)
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(c / (2.0 * EARTH_RADIUS_M), 0.0, 1.0))


def arc_to_chord_m(arc: float) -> float:
    return float(2.0 * EARTH_RADIUS_M * np.sin(min(arc, np.pi * EARTH_RADIUS_M) / (2.0 * EARTH_RADIUS_M)))


class PointIndex:
    """A k-d tree over points given in lon/lat degrees. Immutable after construction."""

    def __init__(self, lon: ArrayLike, lat: ArrayLike) -> None:
        self._xyz = to_ecef(lon, lat)
        self._tree = cKDTree(self._xyz) if len(self._xyz) else None
        self.n = len(self._xyz)

    def query(self, lon: ArrayLike, lat: ArrayLike, k: int,
              max_distance_m: float = np.inf) -> tuple[FloatArray, NDArray[np.int64]]:
        """The ``k`` nearest points of each query point within ``max_distance_m`` (great
        circle). Returns ``(dist_m, idx)`` of shape ``(n_query, k)``; missing neighbours
        have distance ``inf`` and index ``-1``."""
        q = to_ecef(lon, lat)
        nq = len(q)
        k_eff = min(k, self.n)
        if self._tree is None or k_eff == 0 or nq == 0:
            return np.full((nq, k), np.inf), np.full((nq, k), -1, dtype=np.int64)
        ub = arc_to_chord_m(max_distance_m) * (1 + 1e-12) if np.isfinite(max_distance_m) else np.inf
        chord, idx = self._tree.query(q, k=k_eff, distance_upper_bound=ub)
        chord = np.asarray(chord, dtype=np.float64).reshape(nq, k_eff)
        idx = np.asarray(idx, dtype=np.int64).reshape(nq, k_eff)
        missing = idx >= self.n
        idx[missing] = -1
        dist = np.where(missing, np.inf, chord_to_arc_m(np.where(missing, 0.0, chord)))
        if k_eff < k:
            pad = k - k_eff
            dist = np.hstack([dist, np.full((nq, pad), np.inf)])
            idx = np.hstack([idx, np.full((nq, pad), -1, dtype=np.int64)])
        return dist, idx


def road_distance_m(great_circle_m: ArrayLike, circuity: float) -> FloatArray:
    """Road distance estimate: circuity x great-circle distance."""
    return np.asarray(great_circle_m, dtype=np.float64) * float(circuity)


def travel_time_s(road_m: ArrayLike, speed_km_per_h: float) -> FloatArray:
    """Travel time in seconds at a constant speed."""
    return np.asarray(road_m, dtype=np.float64) / (float(speed_km_per_h) / 3.6)
