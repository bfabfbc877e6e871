"""WGS-84 <-> GCJ-02 coordinate conversion (the datum of Chinese web maps).

Chinese map apps (Amap/Gaode, Tencent, and Baidu before its own BD-09 shift) display
coordinates in GCJ-02, an obfuscated datum that differs from WGS-84 by a smooth,
position-dependent offset of a few hundred metres. The forward transform is the
published algorithm; it is not invertible in closed form, so the inverse is computed by
fixed-point iteration.

Forward transform
-----------------
With the Krasovsky 1940 ellipsoid (semi-major axis ``a = 6 378 245 m``, squared
eccentricity ``e² = 0.006 693 421 622 965 943 23``) and ``x = λ - 105``, ``y = φ - 35``
(degrees)::

    T_φ(x, y) = -100 + 2x + 3y + 0.2y² + 0.1xy + 0.2√|x|
                + ⅔ (20 sin 6πx + 20 sin 2πx)
                + ⅔ (20 sin πy + 40 sin(πy/3))
                + ⅔ (160 sin(πy/12) + 320 sin(πy/30))
    T_λ(x, y) =  300 + x + 2y + 0.1x² + 0.1xy + 0.1√|x|
                + ⅔ (20 sin 6πx + 20 sin 2πx)
                + ⅔ (20 sin πx + 40 sin(πx/3))
                + ⅔ (150 sin(πx/12) + 300 sin(πx/30))

    W   = 1 - e² sin² φ
    Δφ  = 180 T_φ / (π a (1 - e²) / W^{3/2})        (degrees; T is in metres)
    Δλ  = 180 T_λ / (π a cos φ / W^{1/2})
    GCJ(λ, φ) = (λ + Δλ, φ + Δφ)

Points outside the rough bounding box of China (``72.004 <= λ <= 137.8347``,
``0.8293 <= φ <= 55.8271``) and NaN coordinates are returned unchanged.

Inverse
-------
``wgs = g - (GCJ(w_k) - w_k)`` iterated from ``w_0 = g``: the offset varies slowly
(its Jacobian is about 1e-5), so every step shrinks the error by about five orders of
magnitude and a few iterations reach far below a millimetre.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_A = 6_378_245.0  #: Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  #: Krasovsky 1940 squared first eccentricity
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where ``(lon, lat)`` lies in the box where GCJ-02 applies (False for NaN)."""
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    return (lo >= _LON_MIN) & (lo <= _LON_MAX) & (la >= _LAT_MIN) & (la <= _LAT_MAX)


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 in degrees ``(dlon, dlat)`` at WGS-84 ``(lon, lat)``."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    sqrt_ax = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    t_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_ax
             + common
             + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
             + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0)
    t_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_ax
             + common
             + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
             + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * pi
    w = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_w = np.sqrt(w)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (w * sqrt_w) * pi)
    dlon = (t_lon * 180.0) / (_A / sqrt_w * np.cos(rad_lat) * pi)
    return dlon, dlat


def _as_pair(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lo = np.array(lon, dtype=np.float64, copy=True)
    la = np.array(lat, dtype=np.float64, copy=True)
    if lo.shape != la.shape:
        lo, la = np.broadcast_arrays(lo, la)
        lo, la = lo.copy(), la.copy()
    return lo, la


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 ``(lon, lat)`` degrees to GCJ-02; vectorised, inputs not modified.

    Returns new float64 arrays of the broadcast shape (0-d arrays for scalars). Points
    outside China and NaN points are returned unchanged.
    """
    lo, la = _as_pair(lon, lat)
    inside = in_china(lo, la)
    if np.any(inside):
        dlon, dlat = _offset(lo[inside], la[inside])
        lo[inside] += dlon
        la[inside] += dlat
    return lo, la


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, iterations: int = 6
) -> tuple[FloatArray, FloatArray]:
    """Approximate inverse of :func:`wgs84_to_gcj02` by fixed-point iteration.

    ``w_{k+1} = g - (GCJ(w_k) - w_k)``, ``w_0 = g``. Six iterations leave a round-trip
    error far below 1 mm inside China. Points outside China are returned unchanged.
    """
    g_lon, g_lat = _as_pair(lon, lat)
    inside = in_china(g_lon, g_lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    if np.any(inside):
        gl, gb = g_lon[inside], g_lat[inside]
        wl, wb = gl.copy(), gb.copy()
        for _ in range(max(1, iterations)):
            dlon, dlat = _offset(wl, wb)
            wl = gl - dlon
            wb = gb - dlat
        w_lon[inside] = wl
        w_lat[inside] = wb
    return w_lon, w_lat
