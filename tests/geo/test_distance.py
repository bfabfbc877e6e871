"""Tests of vectorised distances and neighbour search against geopy."""

from __future__ import annotations

import numpy as np
from geopy.distance import geodesic

from wastenet.geo.distance import PointIndex, haversine_m, pairwise_haversine_m, travel_time_s


def test_haversine_agrees_with_geopy_within_half_percent() -> None:
    """Great-circle distances agree with geopy's WGS-84 geodesic within 0.5 %."""
    rng = np.random.default_rng(1)
    lon = rng.uniform(118.8, 125.8, 200)
    lat = rng.uniform(38.7, 43.5, 200)
    d = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    for i in range(len(d)):
        ref = geodesic((lat[i], lon[i]), (lat[i + 1], lon[i + 1])).meters
        assert abs(d[i] - ref) <= 0.005 * ref


def test_pairwise_shape_and_symmetry() -> None:
    """The dense matrix is symmetric with a zero diagonal."""
    lon = np.array([123.0, 123.5, 124.0])
    lat = np.array([41.0, 41.2, 41.9])
    m = pairwise_haversine_m(lon, lat, lon, lat)
    assert m.shape == (3, 3)
    assert np.allclose(m, m.T) and np.allclose(np.diag(m), 0.0)


def test_knn_exact_against_brute_force() -> None:
    """k-d tree neighbours equal a brute-force sort of great-circle distances."""
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(120, 125, 300), rng.uniform(39, 43, 300)
    qlon, qlat = rng.uniform(120, 125, 20), rng.uniform(39, 43, 20)
    dist, idx = PointIndex(lon, lat).query(qlon, qlat, 5)
    brute = pairwise_haversine_m(qlon, qlat, lon, lat)
    order = np.argsort(brute, axis=1)[:, :5]
    assert np.array_equal(idx, order)
    assert np.allclose(dist, np.take_along_axis(brute, order, axis=1), rtol=1e-9)


def test_knn_radius_and_padding() -> None:
    """Neighbours beyond the radius are missing (-1, inf); k larger than n pads."""
    idx_ = PointIndex(np.array([123.0, 124.0]), np.array([41.0, 41.0]))
    dist, idx = idx_.query(np.array([123.0]), np.array([41.0]), 3, max_distance_m=10_000.0)
    assert idx.tolist() == [[0, -1, -1]]
    assert dist[0, 0] == 0.0 and np.isinf(dist[0, 1:]).all()


def test_travel_time() -> None:
    """36 km at 36 km/h takes an hour."""
    assert travel_time_s(36_000.0, 36.0) == 3600.0
