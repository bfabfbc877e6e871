"""Tests of the WGS-84 <-> GCJ-02 conversion."""

from __future__ import annotations

import numpy as np
import pytest

from wastenet.geo.gcj02 import gcj02_to_wgs84, in_china, wgs84_to_gcj02

# Published reference pair (Tian'anmen area), as reproduced by the widely used
# coordtransform implementations: WGS-84 (116.404, 39.915) -> GCJ-02.
REF_WGS = (116.404, 39.915)
REF_GCJ = (116.41024449916938, 39.91640428150164)
# The same libraries' one-step inverse of (116.404, 39.915) read as GCJ-02.
REF_ONE_STEP_INV = (116.39775550083061, 39.91359571849836)

M_PER_DEG = 111_320.0


def test_forward_matches_reference_pair() -> None:
    """The forward transform reproduces the published reference pair to 1e-9 degrees."""
    lon, lat = wgs84_to_gcj02(*REF_WGS)
    assert float(lon) == pytest.approx(REF_GCJ[0], abs=1e-9)
    assert float(lat) == pytest.approx(REF_GCJ[1], abs=1e-9)


def test_one_step_inverse_matches_reference() -> None:
    """With one iteration the inverse equals the classic one-step approximation."""
    lon, lat = gcj02_to_wgs84(*REF_WGS, iterations=1)
    assert float(lon) == pytest.approx(REF_ONE_STEP_INV[0], abs=1e-9)
    assert float(lat) == pytest.approx(REF_ONE_STEP_INV[1], abs=1e-9)


def test_offset_magnitude_in_liaoning() -> None:
    """In Liaoning the GCJ-02 shift is a few hundred metres, east and north."""
    lon = np.array([123.43, 122.83, 120.45, 124.38])
    lat = np.array([41.80, 42.00, 41.58, 40.13])
    glon, glat = wgs84_to_gcj02(lon, lat)
    dx = (glon - lon) * M_PER_DEG * np.cos(np.radians(lat))
    dy = (glat - lat) * M_PER_DEG
    dist = np.hypot(dx, dy)
    assert np.all(dist > 100.0) and np.all(dist < 1000.0)
    assert np.all(dx > 0) and np.all(dy > 0)


def test_round_trip_error_below_one_metre() -> None:
    """wgs -> gcj -> wgs returns within 1 m (in fact < 1 mm) over a grid covering China."""
    lon, lat = np.meshgrid(np.linspace(73.0, 135.0, 40), np.linspace(18.5, 53.5, 40))
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    err = np.hypot((back_lon - lon) * M_PER_DEG * np.cos(np.radians(lat)),
                   (back_lat - lat) * M_PER_DEG)
    assert err.max() < 1e-3


def test_outside_china_and_nan_unchanged() -> None:
    """Points outside China and NaN points pass through unchanged, in both directions."""
    lon = np.array([2.35, -74.0, 139.7, np.nan, 123.4])
    lat = np.array([48.85, 40.7, 35.7, 41.0, np.nan])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    assert in_china(lon, lat).tolist() == [False, False, False, False, False]


def test_vectorised_shape_and_inputs_not_mutated() -> None:
    """Arrays keep their shape, agree with scalar calls, and the inputs are not modified."""
    lon = np.array([[123.0, 121.5], [120.0, 124.5]])
    lat = np.array([[41.0, 40.5], [42.0, 41.5]])
    lon0, lat0 = lon.copy(), lat.copy()
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon.shape == (2, 2) and glat.shape == (2, 2)
    np.testing.assert_array_equal(lon, lon0)
    np.testing.assert_array_equal(lat, lat0)
    s_lon, s_lat = wgs84_to_gcj02(121.5, 40.5)
    assert float(s_lon) == glon[0, 1] and float(s_lat) == glat[0, 1]
