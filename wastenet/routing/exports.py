"""Exports of a solved route plan: CSV, GeoJSON, GPX, printable driver sheets and JSON.

Every function here is pure: it reads a :class:`~wastenet.routing.data.RoutingData` and a
:class:`~wastenet.routing.data.RoutePlan` and returns ``str`` or ``bytes``; only
:func:`write_all` touches the file system. Names (Chinese village and station names)
are carried from ``data.names`` as they are, with one exception that holds for every
format alike (CSV, GeoJSON, GPX, HTML and plan.json, and :func:`plan_to_dict`): every
character XML 1.0 forbids (C0 control characters other than tab, newline and carriage
return, lone surrogates, U+FFFE, U+FFFF) is replaced by U+FFFD in every text written
(names, ids, labels, vehicle type names, load dimensions, the plan's name and meta),
by :func:`xml_text`. So the XML files always parse, every file encodes as UTF-8 (a lone
surrogate cannot be: it crashed the CSV and JSON exports), and a name reads the same in
all five files. The scenario schema and the village loaders refuse such names and ids;
library users who build the data directly can bypass them, and then a warning on
``wastenet.routing.exports`` names each text replaced (field and value).

Definitions used by all formats
-------------------------------
* A route is the visit sequence ``v_0 .. v_{n-1}`` with ``v_0`` and ``v_{n-1}`` at the
  depot. Its *marks* are the positions whose kind is ``depot`` or ``unload``.
* A *leg* is the slice ``v_a .. v_b`` between two consecutive marks ``a < b``: it starts
  at the depot or an unload, passes the stops strictly between, and ends at the next mark.
* A *trip* is a leg that ends in an unload, or that collects at least one stop (a trip
  of stops with nothing to unload may return to the depot directly, see
  :mod:`wastenet.routing.data`). Trips are numbered from 1 in visit order. The other
  legs (in practice the empty drive from the last unload back to the depot) are the
  *return* leg: it has no trip number and is not counted as a trip in any format (the
  ``trip`` column of the CSV, ``trip`` of plan.json, the GeoJSON ``trip`` features and
  the GPX route description all agree).
* The *unload facility* of a stop visit is the facility of the first unload visit after
  it; that of an unload visit is its own facility.
* The amount unloaded at ``v_j`` is ``load_after(v_{j-1})``.
* Times are seconds from midnight, shown as ``HH:MM:SS`` (hours may exceed 23 when a
  plan runs past midnight), rounded to the nearest second.
* A vehicle's *label* is ``"<type name>-<1-based vehicle number>"``; when two vehicle
  types share a name, their labels carry the 1-based type number as well,
  ``"<type name>#<type number>-<vehicle number>"``, so that labels stay unique
  (:func:`vehicle_label`).
* *Unserved* stops (``plan.unserved``, e.g. solved with ``allow_unserved=True``) are
  listed in every export: ``unserved``/``unserved_stops`` in plan.json, rows of kind
  ``unserved`` in the CSV, ``Point`` features of ``feature_type="unserved"`` in the
  GeoJSON and a "未收运 / not collected" page in the driver sheets. GPX has no place for
  a point outside a route and leaves them out.

Coordinates
-----------
``crs="wgs84"`` (default) exports ``data.lon/lat`` as they are; ``crs="gcj02"`` converts
every exported coordinate with :func:`wastenet.geo.gcj02.wgs84_to_gcj02` for Chinese map
apps. Every exported coordinate (CSV, GeoJSON, GPX and plan.json alike) is rounded to
:data:`COORD_DECIMALS` = 6 decimals of a degree (about 0.1 m, as RFC 7946 §11.2
suggests), so that all formats give the same numbers. The CSV states its datum in the
``crs`` column, GeoJSON in its ``crs_name`` member, GPX in its metadata description and
plan.json in ``crs``. GeoJSON (RFC 7946 §4) and GPX 1.1 define their coordinates as
WGS-84: GCJ-02 files depart from both standards on purpose, because the user asked for
the datum Chinese map apps display, and are only correct in such apps. Unknown
coordinates (NaN, e.g. benchmark instances with planar x/y) are written as empty CSV
cells, JSON ``null``, GeoJSON ``null`` geometries, and are left out of GPX.
"""

from __future__ import annotations

import contextvars
import csv
import html
import io
import itertools
import json
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wastenet.atomicio import write_atomic
from wastenet.errors import ValidationError
from wastenet.formats.spreadsheet import safe_text
from wastenet.geo.gcj02 import wgs84_to_gcj02
from wastenet.routing.data import (
    FloatArray,
    Route,
    RoutePlan,
    RoutingData,
    VehicleType,
    Visit,
)
from wastenet.routing.text import hm

log = logging.getLogger("wastenet.routing.exports")

CRS_CHOICES = ("wgs84", "gcj02")
VISIT_KINDS = ("depot", "stop", "unload")
PLAN_FORMAT = "wastenet.route-plan"
PLAN_FORMAT_VERSION = 1
GPX_NS = "http://www.topografix.com/GPX/1/1"
#: decimals of every exported coordinate (degrees; 6 decimals are about 0.1 m, RFC 7946
#: §11.2), the same in every format
COORD_DECIMALS = 6

#: file name of each export written by :func:`write_all`, by key
FILE_NAMES = {
    "csv": "routes.csv",
    "geojson": "routes.geojson",
    "gpx": "routes.gpx",
    "html": "sheets.html",
    "json": "plan.json",
}


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------

def hms(seconds: float) -> str:
    """``HH:MM:SS`` of a time of day in seconds (nearest second; '' when not finite)."""
    if not math.isfinite(seconds):
        return ""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    h, rem = divmod(abs(total), 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}"


def _check_crs(crs: str) -> str:
    if crs not in CRS_CHOICES:
        raise ValidationError("crs", crs, f"must be one of {', '.join(CRS_CHOICES)}")
    return crs


def _round_coords(values: FloatArray) -> FloatArray:
    # Python's round() is correctly rounded (np.round multiplies and divides, which can
    # leave a value such as 122.82800000000002 that prints with 17 digits)
    return np.array([round(float(x), COORD_DECIMALS) if math.isfinite(x) else math.nan
                     for x in values], dtype=np.float64)


def export_coords(data: RoutingData, crs: str = "wgs84") -> tuple[FloatArray, FloatArray]:
    """``(lon, lat)`` of every location in the export coordinate system ``crs``, rounded
    to :data:`COORD_DECIMALS` decimals (NaN where unknown)."""
    _check_crs(crs)
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(data.lon, data.lat)
    else:
        lon, lat = data.lon, data.lat
    return _round_coords(lon), _round_coords(lat)


#: characters XML 1.0 does not allow in a document (§2.2 ``Char``): C0 controls other than
#: tab, newline and carriage return, surrogates (lone ones, in a Python str), U+FFFE, U+FFFF
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD (the replacement
    character), so that it can go into an XML or HTML document that always parses."""
    return _XML_FORBIDDEN.sub("\ufffd", text)


def _esc(text: str) -> str:
    """HTML-escaped :func:`xml_text` (for element text and quoted attribute values)."""
    return html.escape(xml_text(text))


def _clean(obj: Any) -> Any:
    """``obj`` (JSON-compatible: dicts, lists, scalars) with :func:`xml_text` applied to
    every string in it, keys included; other values as they are."""
    if isinstance(obj, str):
        return xml_text(obj)
    if isinstance(obj, Mapping):
        return {_clean(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _texts(prefix: str, obj: Any) -> list[tuple[str, str]]:
    """``(field, text)`` of every string in the free-form ``obj`` (a meta dict), keys
    included, with its dotted field name under ``prefix``."""
    if isinstance(obj, str):
        return [(prefix, obj)]
    out: list[tuple[str, str]] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if isinstance(k, str):
                out.append((f"{prefix} key", k))
            out.extend(_texts(f"{prefix}.{k}", v))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            out.extend(_texts(f"{prefix}[{i}]", v))
    return out


def forbidden_texts(data: RoutingData, plan: RoutePlan) -> list[tuple[str, str]]:
    """``(field, text)`` of every text of ``data`` and ``plan`` that the exports write
    and that holds a character :func:`xml_text` replaces: ids, names, vehicle type
    names, load dimensions, the names and meta of the data and the plan, the plan's
    status and solver. Empty for data that went through the scenario schema."""
    fields: list[tuple[str, str]] = [
        ("plan.name", plan.name), ("plan.status", plan.status), ("plan.solver", plan.solver),
        ("data.name", data.name)]
    fields += [(f"data.ids[{i}]", x) for i, x in enumerate(data.ids)]
    fields += [(f"data.names[{i}]", x) for i, x in enumerate(data.names)]
    fields += [(f"data.vehicle_types[{t}].name", vt.name)
               for t, vt in enumerate(data.vehicle_types)]
    fields += [(f"data.load_dims[{k}]", x) for k, x in enumerate(data.load_dims)]
    fields += _texts("plan.meta", plan.meta) + _texts("data.meta", data.meta)
    return [(f, x) for f, x in fields if isinstance(x, str) and _XML_FORBIDDEN.search(x)]


#: set while :func:`render_all` runs the single exports, which then do not warn again
_WARNED: contextvars.ContextVar[bool] = contextvars.ContextVar("wastenet_exports_warned",
                                                               default=False)


def _warn_forbidden(data: RoutingData, plan: RoutePlan, what: str) -> None:
    """Log one warning naming the texts (field and value) that the exports ``what``
    write with U+FFFD in place of characters XML 1.0 forbids (:func:`forbidden_texts`)."""
    if _WARNED.get():
        return
    found = forbidden_texts(data, plan)
    if found:
        shown = "; ".join(f"{f}={x!r}" for f, x in found[:5])
        more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
        log.warning("%s: %d text(s) hold characters XML 1.0 forbids (control characters, "
                    "lone surrogates, U+FFFE, U+FFFF), written with U+FFFD in their place: "
                    "%s%s", what, len(found), shown, more)


def _num(x: float) -> float | None:
    """A JSON-safe float: NaN and infinities become ``None``."""
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(obj: Any) -> Any:
    """Recursively turn ``obj`` into JSON-compatible values (used for free-form meta)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _num(float(obj))
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def vehicle_type_labels(data: RoutingData) -> tuple[str, ...]:
    """The label prefix of each vehicle type: its name, or ``"<name>#<1-based type
    number>"`` when another type has the same name. Should that still leave two equal
    prefixes (a type named like another's fallback, ``"垃圾车#2"``), every type gets the
    ``#<number>`` form, which is unique: the text after the last ``#`` is the type
    number."""
    names = [vt.name for vt in data.vehicle_types]
    seen = Counter(names)
    prefixes = [n if seen[n] == 1 else f"{n}#{t + 1}" for t, n in enumerate(names)]
    if len(set(prefixes)) < len(prefixes):
        prefixes = [f"{n}#{t + 1}" for t, n in enumerate(names)]
    return tuple(prefixes)


def vehicle_label(data: RoutingData, route: Route) -> str:
    """Human label of the vehicle driving ``route``: ``"<type name>-<1-based number>"``,
    with the type's prefix from :func:`vehicle_type_labels` (``"<type name>#<type
    number>"`` when type names repeat). Labels of different vehicles always differ: the
    text after the last ``-`` is the vehicle number, the text before it is unique per
    type."""
    return f"{vehicle_type_labels(data)[route.vehicle_type]}-{route.vehicle + 1}"


def _place_name(data: RoutingData, loc: int) -> str:
    return data.names[loc] or data.ids[loc]


def _fmt_amount(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else ""


def _fmt_load(values: Sequence[float], dims: Sequence[str]) -> str:
    return " / ".join(f"{_fmt_amount(v)} {d}" for v, d in zip(values, dims, strict=False))


def _fmt_duration(seconds: float) -> str:
    """``"6 h 45 min"`` (nearest minute; '' when not finite)."""
    if not math.isfinite(seconds):
        return ""
    h, m = divmod(round(seconds / 60.0), 60)
    return f"{h} h {m:02d} min"


def _plan_date(data: RoutingData, plan: RoutePlan) -> str:
    for meta in (plan.meta, data.meta):
        val = meta.get("date")
        if val:
            return str(val)
    return ""


class _RouteView:
    """Derived per-route facts shared by the exports (legs, trips, unload targets,
    unloads)."""

    def __init__(self, data: RoutingData, plan: RoutePlan, r: int) -> None:
        route = plan.routes[r]
        self.route = route
        self.label = vehicle_label(data, route)
        visits = route.visits
        n = len(visits)
        L = len(data.ids)
        for j, v in enumerate(visits):
            if v.kind not in VISIT_KINDS:
                raise ValidationError(f"routes[{r}].visits[{j}].kind", v.kind,
                                      f"must be one of {', '.join(VISIT_KINDS)}")
            if not 0 <= v.location < L:
                raise ValidationError(f"routes[{r}].visits[{j}].location", v.location,
                                      f"must be in [0, {L})")
        marks = sorted({0, n - 1} | {j for j, v in enumerate(visits) if v.kind != "stop"}) \
            if n else []
        #: every leg ``(a, b, trip number or None)``; None marks the return leg
        self.legs: list[tuple[int, int, int | None]] = []
        #: the legs that are trips (see the module docstring), in order: trip k is
        #: ``trips[k - 1]``
        self.trips: list[tuple[int, int]] = []
        for a, b in itertools.pairwise(marks):
            if visits[b].kind == "unload" or any(visits[j].kind == "stop"
                                                 for j in range(a + 1, b)):
                self.trips.append((a, b))
                self.legs.append((a, b, len(self.trips)))
            else:
                self.legs.append((a, b, None))
        self.trip_of: list[int | None] = [None] * n
        for k, (a, b) in enumerate(self.trips, start=1):
            for j in range(a + 1, b + 1):
                if visits[j].kind != "depot":
                    self.trip_of[j] = k
        self.unload_at: list[int | None] = [None] * n  #: visit position of the unload
        nxt: int | None = None
        for j in range(n - 1, -1, -1):
            if visits[j].kind == "unload":
                nxt = j
            if visits[j].kind in ("stop", "unload"):
                self.unload_at[j] = nxt
            if visits[j].kind == "depot":
                nxt = None
        dims = len(data.load_dims)
        self.unloaded: list[tuple[float, ...] | None] = [
            (tuple(visits[j - 1].load_after) if j > 0 else (0.0,) * dims)
            if v.kind == "unload" else None
            for j, v in enumerate(visits)
        ]
        self.break_before: int | None = None  #: position of the visit the break precedes
        if route.break_start_s is not None and n:
            pos = next((j for j in range(1, n) if visits[j].start_s > route.break_start_s),
                       n - 1)
            self.break_before = max(pos, 1) if n > 1 else 0

    def trip_distance_m(self, data: RoutingData, a: int, b: int) -> float:
        locs = np.array([v.location for v in self.route.visits[a:b + 1]], dtype=np.int64)
        if locs.size < 2:
            return 0.0
        return float(data.distance_m[locs[:-1], locs[1:]].sum())


def _views(data: RoutingData, plan: RoutePlan) -> list[_RouteView]:
    return [_RouteView(data, plan, r) for r in range(len(plan.routes))]


def _unserved(data: RoutingData, plan: RoutePlan) -> list[tuple[int, int | None]]:
    """``(stop index, location index or None)`` of every unserved stop, in plan order;
    None when the index is not a stop of ``data`` (nothing is known about it then)."""
    return [(int(s), int(data.stops[s]) if 0 <= s < data.n_stops else None)
            for s in plan.unserved]


def _stop_load(data: RoutingData, s: int) -> tuple[float, ...]:
    """The load of stop ``s`` (NaN in every dimension when ``s`` is not a stop)."""
    if 0 <= s < data.n_stops:
        return tuple(float(x) for x in data.stop_demand[s])
    return (math.nan,) * len(data.load_dims)


def _break_duration(data: RoutingData, route: Route) -> float:
    return float(data.vehicle_types[route.vehicle_type].break_duration_s)


# ---------------------------------------------------------------------------------------
# plan.json
# ---------------------------------------------------------------------------------------

def plan_to_dict(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> dict[str, Any]:
    """The full plan as a JSON-compatible dict (see :func:`plan_from_dict` for the inverse).

    Layout (all times seconds from midnight, distances metres)::

        {format, version, name, status, solver, seed, elapsed_s, synthetic, crs,
         data: {name, synthetic, seed, n_stops, load_dims},
         vehicles, distance_m, travel_s, travel_time_s, duration_s, tonne_km, cost_yuan,
         unserved: [stop index], unserved_stops: [{index, id, name, lon, lat}],
         routes: [{vehicle_type, vehicle_type_name, vehicle, label, break_start_s,
                   lunch_start_s, break_end_s, distance_m, duration_s, travel_s,
                   load_total, tonne_km, cost_yuan, n_stops, n_unloads,
                   visits: [{seq, kind, index, location, id, name, lon, lat,
                             arrival_s, start_s, departure_s, arrival, start, departure,
                             load_after, trip, unload_facility_id}]}],
         meta}

    ``synthetic`` is true when the plan or its data is synthetic; ``seed`` is the solver
    seed and ``data.seed`` the seed the data was generated with. Non-finite floats are
    written as ``null``. Every text goes through :func:`xml_text` (see the module
    docstring), so the dict always encodes as UTF-8 JSON.
    """
    _warn_forbidden(data, plan, "plan.json")
    lon, lat = export_coords(data, crs)
    routes = []
    for view in _views(data, plan):
        route = view.route
        visits = []
        for j, v in enumerate(route.visits):
            ua = view.unload_at[j]
            visits.append({
                "seq": j,
                "kind": v.kind,
                "index": int(v.index),
                "location": int(v.location),
                "id": data.ids[v.location],
                "name": data.names[v.location],
                "lon": _num(lon[v.location]),
                "lat": _num(lat[v.location]),
                "arrival_s": _num(v.arrival_s),
                "start_s": _num(v.start_s),
                "departure_s": _num(v.departure_s),
                "arrival": hms(v.arrival_s),
                "start": hms(v.start_s),
                "departure": hms(v.departure_s),
                "load_after": [_num(x) for x in v.load_after],
                "trip": view.trip_of[j],
                "unload_facility_id": (data.ids[route.visits[ua].location]
                                       if ua is not None else None),
            })
        brk = route.break_start_s
        routes.append({
            "vehicle_type": int(route.vehicle_type),
            "vehicle_type_name": data.vehicle_types[route.vehicle_type].name,
            "vehicle": int(route.vehicle),
            "label": view.label,
            "break_start_s": None if brk is None else _num(brk),
            "lunch_start_s": None if brk is None else _num(brk),
            "break_end_s": None if brk is None else _num(brk + _break_duration(data, route)),
            "distance_m": _num(route.distance_m),
            "duration_s": _num(route.duration_s),
            "travel_s": _num(route.travel_s),
            "load_total": [_num(x) for x in route.load_total],
            "tonne_km": _num(route.tonne_km),
            "cost_yuan": _num(route.cost_yuan),
            "n_stops": sum(1 for v in route.visits if v.kind == "stop"),
            "n_unloads": sum(1 for v in route.visits if v.kind == "unload"),
            "visits": visits,
        })
    unserved_stops = []
    for s, loc in _unserved(data, plan):
        unserved_stops.append({
            "index": s,
            "id": data.ids[loc] if loc is not None else None,
            "name": data.names[loc] if loc is not None else None,
            "lon": _num(lon[loc]) if loc is not None else None,
            "lat": _num(lat[loc]) if loc is not None else None,
        })
    return _clean({
        "format": PLAN_FORMAT,
        "version": PLAN_FORMAT_VERSION,
        "name": plan.name,
        "status": plan.status,
        "solver": plan.solver,
        "seed": int(plan.seed),
        "elapsed_s": _num(plan.elapsed_s),
        "synthetic": bool(plan.synthetic or data.synthetic),
        "crs": crs,
        "date": _plan_date(data, plan) or None,
        "data": {
            "name": data.name,
            "synthetic": bool(data.synthetic),
            "seed": data.seed,
            "n_stops": data.n_stops,
            "load_dims": list(data.load_dims),
        },
        "load_dims": list(data.load_dims),
        "vehicles": int(plan.vehicles),
        "distance_m": _num(plan.distance_m),
        "travel_s": _num(plan.travel_s),
        "travel_time_s": _num(plan.travel_s),
        "duration_s": _num(plan.duration_s),
        "tonne_km": _num(plan.tonne_km),
        "cost_yuan": _num(plan.cost_yuan),
        "unserved": [int(s) for s in plan.unserved],
        "unserved_stops": unserved_stops,
        "routes": routes,
        "meta": _jsonable(plan.meta),
    })


def _field(d: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(d, Mapping):
        raise ValidationError(path or "plan", type(d).__name__, "must be a JSON object")
    if key not in d:
        raise ValidationError(f"{path}.{key}" if path else key, None, "is required")
    return d[key]


def _float(d: Mapping[str, Any], key: str, path: str, *, nullable: bool = False) -> Any:
    val = _field(d, key, path)
    where = f"{path}.{key}" if path else key
    if val is None:
        if nullable:
            return None
        return math.nan
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise ValidationError(where, val, "must be a number")
    return float(val)


def _int(d: Mapping[str, Any], key: str, path: str) -> int:
    val = _field(d, key, path)
    if isinstance(val, bool) or not isinstance(val, int):
        raise ValidationError(f"{path}.{key}" if path else key, val, "must be an integer")
    return val


def _floats(d: Mapping[str, Any], key: str, path: str) -> tuple[float, ...]:
    val = _field(d, key, path)
    where = f"{path}.{key}" if path else key
    if not isinstance(val, list):
        raise ValidationError(where, val, "must be a list of numbers")
    out = []
    for x in val:
        if x is None:
            out.append(math.nan)
        elif isinstance(x, bool) or not isinstance(x, (int, float)):
            raise ValidationError(where, val, "must be a list of numbers")
        else:
            out.append(float(x))
    return tuple(out)


def plan_from_dict(d: Mapping[str, Any]) -> RoutePlan:
    """Rebuild a :class:`RoutePlan` from :func:`plan_to_dict` output (e.g. parsed JSON).

    Only the plan's own fields are read (display fields such as names and coordinates are
    ignored), so ``plan_from_dict(plan_to_dict(data, plan)) == plan`` field by field, with
    three documented exceptions: ``synthetic`` comes back true when the data was
    synthetic, tuples inside ``meta`` come back as lists, and characters XML 1.0 forbids
    in the plan's texts come back as U+FFFD (:func:`xml_text`). ``null`` numbers become
    NaN.
    Raises :class:`ValidationError` naming the first offending field.
    """
    fmt = d.get("format") if isinstance(d, Mapping) else None
    if fmt is not None and fmt != PLAN_FORMAT:
        raise ValidationError("format", fmt, f"expected {PLAN_FORMAT!r}")
    routes = []
    for r, rd in enumerate(_field(d, "routes", "") or []):
        rp = f"routes[{r}]"
        vds = _field(rd, "visits", rp)
        if not isinstance(vds, list):
            raise ValidationError(f"{rp}.visits", vds, "must be a list")
        visits = []
        for j, vd in enumerate(vds):
            vp = f"{rp}.visits[{j}]"
            kind = _field(vd, "kind", vp)
            if kind not in VISIT_KINDS:
                raise ValidationError(f"{vp}.kind", kind,
                                      f"must be one of {', '.join(VISIT_KINDS)}")
            visits.append(Visit(
                kind=kind,
                index=_int(vd, "index", vp),
                location=_int(vd, "location", vp),
                arrival_s=_float(vd, "arrival_s", vp),
                start_s=_float(vd, "start_s", vp),
                departure_s=_float(vd, "departure_s", vp),
                load_after=_floats(vd, "load_after", vp),
            ))
        routes.append(Route(
            vehicle_type=_int(rd, "vehicle_type", rp),
            vehicle=_int(rd, "vehicle", rp),
            visits=tuple(visits),
            break_start_s=_float(rd, "break_start_s", rp, nullable=True),
            distance_m=_float(rd, "distance_m", rp),
            duration_s=_float(rd, "duration_s", rp),
            travel_s=_float(rd, "travel_s", rp),
            load_total=_floats(rd, "load_total", rp),
            tonne_km=_float(rd, "tonne_km", rp),
            cost_yuan=_float(rd, "cost_yuan", rp),
        ))
    unserved = _field(d, "unserved", "")
    if not isinstance(unserved, list) or any(
            isinstance(s, bool) or not isinstance(s, int) for s in unserved):
        raise ValidationError("unserved", unserved, "must be a list of stop indices")
    meta = d.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise ValidationError("meta", meta, "must be a JSON object")
    name = _field(d, "name", "")
    status = _field(d, "status", "")
    solver = _field(d, "solver", "")
    for key, val in (("name", name), ("status", status), ("solver", solver)):
        if not isinstance(val, str):
            raise ValidationError(key, val, "must be a string")
    return RoutePlan(
        routes=tuple(routes),
        unserved=tuple(unserved),
        vehicles=_int(d, "vehicles", ""),
        distance_m=_float(d, "distance_m", ""),
        travel_s=_float(d, "travel_s", ""),
        duration_s=_float(d, "duration_s", ""),
        tonne_km=_float(d, "tonne_km", ""),
        cost_yuan=_float(d, "cost_yuan", ""),
        status=status,
        solver=solver,
        seed=_int(d, "seed", ""),
        elapsed_s=_float(d, "elapsed_s", ""),
        name=name,
        synthetic=bool(d.get("synthetic", False)),
        meta=dict(meta),
    )


def plan_json(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> str:
    """``plan.json`` text: :func:`plan_to_dict` as UTF-8 friendly, strict JSON."""
    return json.dumps(plan_to_dict(data, plan, crs), ensure_ascii=False, indent=1,
                      allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------
# routes.csv
# ---------------------------------------------------------------------------------------

class _CleanWriter:
    """A ``csv.writer`` whose every text cell goes through :func:`xml_text` first."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([xml_text(c) if isinstance(c, str) else c for c in row])


def _csv_float(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ""


def csv_header(data: RoutingData) -> list[str]:
    """Column names of ``routes.csv``."""
    return (["vehicle", "vehicle_type", "vehicle_no", "seq", "kind", "id", "name",
             "lon", "lat", "arrival", "arrival_s", "start", "start_s", "departure",
             "departure_s"]
            + [f"load_after_{d}" for d in data.load_dims]
            + ["trip", "unload_facility_id", "unload_facility_name", "break_before_start",
               "break_before_end", "synthetic", "data_seed", "solver_seed", "crs"])


def routes_csv(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> bytes:
    """``routes.csv``: UTF-8 with BOM (so that Excel shows the Chinese names), one row per
    visit in route order (``kind`` ``depot``, ``stop`` or ``unload``), then one row per
    unserved stop (``kind`` ``unserved``) in plan order. Floats are written in shortest
    round-trip form, coordinates rounded to :data:`COORD_DECIMALS` decimals. The driver's
    break is given on the row of the visit it precedes (``break_before_start/end``).
    ``trip`` is the trip number (empty on the depot rows: the return leg is no trip).

    An ``unserved`` row has the stop's ``id``, ``name`` and coordinates, its load (the
    amount left uncollected) in the ``load_after_*`` columns, and empty vehicle, vehicle
    type and number, ``seq``, times, trip, unload facility and break columns: a program
    that reads visits keeps the rows whose ``kind`` is not ``unserved``.

    Every row carries the provenance: ``synthetic`` (``true`` when the plan or its data
    is synthetic, else ``false``), ``data_seed`` (the seed the data was generated with;
    empty when unknown) and ``solver_seed``; and, last column, ``crs`` (``wgs84`` or
    ``gcj02``), the datum of ``lon``/``lat``. Free-text cells (vehicle labels and types,
    ids, names) go through :func:`wastenet.formats.spreadsheet.safe_text`: one starting
    like a formula (``=``, ``+``, ``-``, ``@``), or with an apostrophe, gets a leading
    apostrophe, so that a spreadsheet never runs it and
    :func:`~wastenet.formats.spreadsheet.unsafe_text` gives the text back; numeric
    columns are written as they are. Every cell, the header's included, goes through
    :func:`xml_text` (see the module docstring)."""
    _warn_forbidden(data, plan, "routes.csv")
    lon, lat = export_coords(data, crs)
    prov = ["true" if (plan.synthetic or data.synthetic) else "false",
            "" if data.seed is None else str(data.seed), str(int(plan.seed)), crs]
    buf = io.StringIO()
    w = _CleanWriter(csv.writer(buf, lineterminator="\r\n"))
    w.writerow(csv_header(data))
    for view in _views(data, plan):
        route = view.route
        vt = data.vehicle_types[route.vehicle_type]
        brk = ["", ""]
        if route.break_start_s is not None:
            brk = [hms(route.break_start_s),
                   hms(route.break_start_s + _break_duration(data, route))]
        for j, v in enumerate(route.visits):
            ua = view.unload_at[j]
            uloc = route.visits[ua].location if ua is not None else None
            trip = view.trip_of[j]
            w.writerow(
                [safe_text(view.label), safe_text(vt.name), route.vehicle + 1, j,
                 safe_text(v.kind), safe_text(data.ids[v.location]),
                 safe_text(data.names[v.location]), _csv_float(lon[v.location]),
                 _csv_float(lat[v.location]),
                 hms(v.arrival_s), _csv_float(v.arrival_s), hms(v.start_s),
                 _csv_float(v.start_s), hms(v.departure_s), _csv_float(v.departure_s)]
                + [_csv_float(x) for x in v.load_after]
                + ["" if trip is None else trip,
                   "" if uloc is None else safe_text(data.ids[uloc]),
                   "" if uloc is None else safe_text(data.names[uloc])]
                + (brk if j == view.break_before else ["", ""])
                + prov)
    for s, loc in _unserved(data, plan):
        place = ["", "", "", ""] if loc is None else [
            safe_text(data.ids[loc]), safe_text(data.names[loc]), _csv_float(lon[loc]),
            _csv_float(lat[loc])]
        w.writerow(
            ["", "", "", "", "unserved", *place, "", "", "", "", "", ""]
            + [_csv_float(x) for x in _stop_load(data, s)]
            + ["", "", "", "", ""]
            + prov)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------
# routes.geojson
# ---------------------------------------------------------------------------------------

def _point(lon: float, lat: float) -> dict[str, Any] | None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


def routes_geojson(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> str:
    """``routes.geojson``: a FeatureCollection with

    * one ``LineString`` per trip (``feature_type="trip"``) through the locations of
      ``v_a .. v_b`` in visit order (straight segments; road geometry is not known here),
      with vehicle, trip number, from/to place, stop count, load carried and distance;
    * one ``LineString`` per return leg (``feature_type="return"``, the drive back to the
      depot that is no trip), with the same properties and ``trip`` null, so that the
      ``trip`` features of a vehicle are exactly its numbered trips;
    * one ``Point`` per stop visit (``feature_type="stop"``) with vehicle, sequence,
      times and load after;
    * one ``Point`` per unserved stop (``feature_type="unserved"``) with the properties
      of a stop point (vehicle, sequence, trip, times, load after and unload facility
      null), its stop ``index`` and its uncollected ``load`` with ``load_dims``;
    * one ``Point`` per depot and unload facility used (``feature_type`` ``"depot"`` or
      ``"facility"``).

    Coordinates are rounded to :data:`COORD_DECIMALS` decimals. Foreign members
    ``crs_name`` (``wgs84``/``gcj02``; gcj02 departs from RFC 7946, see the module
    docstring) and ``synthetic`` describe the file. Every text goes through
    :func:`xml_text` (see the module docstring).
    """
    _warn_forbidden(data, plan, "routes.geojson")
    lon, lat = export_coords(data, crs)
    features: list[dict[str, Any]] = []
    used: dict[int, str] = {}
    for view in _views(data, plan):
        route = view.route
        visits = route.visits
        vt = data.vehicle_types[route.vehicle_type]
        for a, b, k in view.legs:
            locs = [v.location for v in visits[a:b + 1]]
            coords = [[float(lon[x]), float(lat[x])] for x in locs
                      if math.isfinite(lon[x]) and math.isfinite(lat[x])]
            stops = [v for v in visits[a + 1:b] if v.kind == "stop"]
            carried = visits[b - 1].load_after if b - 1 > a else (0.0,) * len(data.load_dims)
            geom = {"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None
            features.append({
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "feature_type": "trip" if k is not None else "return",
                    "vehicle": view.label,
                    "vehicle_type": vt.name,
                    "trip": k,
                    "from_id": data.ids[visits[a].location],
                    "from_name": data.names[visits[a].location],
                    "to_id": data.ids[visits[b].location],
                    "to_name": data.names[visits[b].location],
                    "to_kind": visits[b].kind,
                    "stops": len(stops),
                    "stop_ids": [data.ids[v.location] for v in stops],
                    "load": [_num(x) for x in carried],
                    "load_dims": list(data.load_dims),
                    "depart_s": _num(visits[a].departure_s),
                    "arrive_s": _num(visits[b].arrival_s),
                    "depart": hms(visits[a].departure_s),
                    "arrive": hms(visits[b].arrival_s),
                    "distance_m": _num(view.trip_distance_m(data, a, b)),
                },
            })
        for j, v in enumerate(visits):
            if v.kind != "stop":
                used.setdefault(v.location, "depot" if v.kind == "depot" else "facility")
                continue
            ua = view.unload_at[j]
            features.append({
                "type": "Feature",
                "geometry": _point(lon[v.location], lat[v.location]),
                "properties": {
                    "feature_type": "stop",
                    "vehicle": view.label,
                    "vehicle_type": vt.name,
                    "seq": j,
                    "trip": view.trip_of[j],
                    "id": data.ids[v.location],
                    "name": data.names[v.location],
                    "arrival_s": _num(v.arrival_s),
                    "start_s": _num(v.start_s),
                    "departure_s": _num(v.departure_s),
                    "arrival": hms(v.arrival_s),
                    "start": hms(v.start_s),
                    "departure": hms(v.departure_s),
                    "load_after": [_num(x) for x in v.load_after],
                    "unload_facility_id": (data.ids[visits[ua].location]
                                           if ua is not None else None),
                },
            })
    for s, loc in _unserved(data, plan):
        features.append({
            "type": "Feature",
            "geometry": _point(lon[loc], lat[loc]) if loc is not None else None,
            "properties": {
                "feature_type": "unserved",
                "vehicle": None,
                "vehicle_type": None,
                "seq": None,
                "trip": None,
                "id": data.ids[loc] if loc is not None else None,
                "name": data.names[loc] if loc is not None else None,
                "arrival_s": None,
                "start_s": None,
                "departure_s": None,
                "arrival": None,
                "start": None,
                "departure": None,
                "load_after": None,
                "unload_facility_id": None,
                "index": s,
                "load": [_num(x) for x in _stop_load(data, s)],
                "load_dims": list(data.load_dims),
            },
        })
    for loc, role in used.items():
        features.append({
            "type": "Feature",
            "geometry": _point(lon[loc], lat[loc]),
            "properties": {"feature_type": role, "id": data.ids[loc], "name": data.names[loc]},
        })
    doc = {
        "type": "FeatureCollection",
        "name": plan.name,
        "crs_name": crs,
        "synthetic": bool(plan.synthetic or data.synthetic),
        "features": features,
    }
    return json.dumps(_clean(doc), ensure_ascii=False, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------
# routes.gpx
# ---------------------------------------------------------------------------------------

_KIND_ZH = {"depot": "车场", "stop": "收集", "unload": "卸载"}


def _text(parent: ET.Element, tag: str, text: str) -> None:
    """A child element ``<tag>`` of ``parent`` holding ``text``, with the characters XML
    1.0 forbids replaced (:func:`xml_text`)."""
    ET.SubElement(parent, tag).text = xml_text(text)


def routes_gpx(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> bytes:
    """``routes.gpx`` (GPX 1.1): one ``<rte>`` per vehicle named by its label, one
    ``<rtept>`` per visit (name = place name, ``<type>`` = visit kind, times in
    ``<cmt>``). The route's ``<desc>`` gives its stops, trips (the return leg is no trip)
    and distance, and its break. Visits with unknown coordinates are left out (GPX needs
    lat/lon); so are unserved stops (no route holds them). Coordinates are rounded to
    :data:`COORD_DECIMALS` decimals; the datum is named in the metadata ``<desc>``
    (``crs=wgs84`` or ``crs=gcj02``; gcj02 departs from GPX's WGS-84, see the module
    docstring). Text goes through :func:`xml_text`, so the file always parses.
    No ``<time>`` elements: the plan has times of day, GPX needs absolute instants."""
    _warn_forbidden(data, plan, "routes.gpx")
    lon, lat = export_coords(data, crs)
    root = ET.Element("gpx", {"version": "1.1", "creator": "wastenet", "xmlns": GPX_NS})
    meta = ET.SubElement(root, "metadata")
    _text(meta, "name", plan.name)
    desc = f"crs={crs}" + ("; synthetic data" if (plan.synthetic or data.synthetic) else "")
    date = _plan_date(data, plan)
    if date:
        desc += f"; date={date}"
    _text(meta, "desc", desc)
    skipped = 0
    for number, view in enumerate(_views(data, plan), start=1):
        route = view.route
        rte = ET.SubElement(root, "rte")
        _text(rte, "name", view.label)
        n_stops = sum(1 for v in route.visits if v.kind == "stop")
        rdesc = f"{n_stops} stops, {len(view.trips)} trips, {route.distance_m / 1000:.1f} km"
        if route.break_start_s is not None:
            end = route.break_start_s + _break_duration(data, route)
            rdesc += f", break {hms(route.break_start_s)}-{hms(end)}"
        _text(rte, "desc", rdesc)
        _text(rte, "number", str(number))
        _text(rte, "type", data.vehicle_types[route.vehicle_type].name)
        for j, v in enumerate(route.visits):
            x, y = float(lon[v.location]), float(lat[v.location])
            if not (math.isfinite(x) and math.isfinite(y)):
                skipped += 1
                continue
            pt = ET.SubElement(rte, "rtept", {"lat": repr(y), "lon": repr(x)})
            _text(pt, "name", _place_name(data, v.location))
            _text(pt, "cmt",
                  f"{j}. {_KIND_ZH[v.kind]} 到达 {hms(v.arrival_s)} 开始 {hms(v.start_s)} "
                  f"离开 {hms(v.departure_s)}")
            _text(pt, "desc",
                  f"id={data.ids[v.location]}; load_after="
                  f"{_fmt_load(v.load_after, data.load_dims)}")
            _text(pt, "type", v.kind)
    if skipped:
        log.warning("routes.gpx: %d visits without coordinates left out", skipped)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---------------------------------------------------------------------------------------
# sheets.html
# ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4 portrait; margin: 12mm 11mm 14mm 11mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: #111; font-size: 10.5pt; line-height: 1.35;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
    "Hiragino Sans GB", "WenQuanYi Micro Hei", "SimHei", sans-serif; }
.sheet { break-after: page; page-break-after: always; }
.sheet:last-child { break-after: auto; page-break-after: auto; }
@media screen {
  body { background: #e5e5e5; }
  .sheet, .unserved { background: #fff; width: 210mm; min-height: 297mm;
    margin: 8mm auto; padding: 12mm 11mm; box-shadow: 0 1px 4px rgba(0,0,0,.25); }
  .empty { width: 210mm; margin: 8mm auto; }
}
.head { display: flex; justify-content: space-between; align-items: flex-end;
  border-bottom: 2.5px solid #111; padding-bottom: 4px; margin-bottom: 8px; }
.head h1 { font-size: 19pt; margin: 0; letter-spacing: 1px; }
.head .vehicle { font-size: 22pt; font-weight: 700; }
.head .sub { color: #444; font-size: 9.5pt; }
.synthetic { border: 2px dashed #b00; color: #b00; padding: 3px 8px; margin: 0 0 8px;
  font-weight: 700; }
.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0; margin: 0 0 10px;
  border: 1px solid #999; }
.facts div { padding: 3px 6px; border-right: 1px solid #ccc; border-bottom: 1px solid #ccc; }
.facts dt { font-size: 8.5pt; color: #555; margin: 0; }
.facts dd { margin: 0; font-weight: 700; font-size: 11.5pt; }
table.stops { width: 100%; border-collapse: collapse; }
table.stops thead { display: table-header-group; }
table.stops th { background: #222; color: #fff; font-weight: 600; font-size: 9.5pt;
  padding: 4px 5px; text-align: left; }
table.stops td { border-bottom: 1px solid #bbb; padding: 4px 5px; vertical-align: middle; }
table.stops tr { break-inside: avoid; page-break-inside: avoid; }
table.stops tr.visit:nth-child(even) td { background: #f6f6f6; }
td.seq, td.t, td.load { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
td.t { font-size: 11pt; }
td.name { font-weight: 600; font-size: 11.5pt; }
td.id { color: #666; font-size: 8.5pt; }
td.check { width: 9mm; }
td.check span { display: inline-block; width: 5mm; height: 5mm; border: 1.2px solid #333; }
tr.kind-unload td { background: #dde8f7 !important; border-top: 1.5px solid #335;
  border-bottom: 1.5px solid #335; }
tr.kind-depot td { background: #ececec !important; }
tr.break td { background: #fff2cc !important; font-style: italic; text-align: center;
  border-top: 1px dashed #a80; border-bottom: 1px dashed #a80; }
.tag { display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 9pt;
  border: 1px solid #888; white-space: nowrap; }
.tag-unload { background: #335; color: #fff; border-color: #335; }
.tag-depot { background: #666; color: #fff; border-color: #666; }
.note { font-size: 9pt; color: #333; }
.sign { display: flex; gap: 10mm; margin-top: 10mm; font-size: 10pt; }
.sign div { flex: 1; border-top: 1px solid #333; padding-top: 2px; }
.foot { margin-top: 5mm; font-size: 8pt; color: #777; }
.compact table.stops td { padding: 1.5px 4px; font-size: 9pt; }
.compact td.name, .compact td.t { font-size: 9.5pt; }
.compact .tag { font-size: 8pt; padding: 0 3px; }
.compact td.check span { width: 4mm; height: 4mm; }
.compact .sign { margin-top: 6mm; }
@media print {
  /* one A4 page for a vehicle of up to about 30 stops (about 40 rows with its unloads,
     the depot and the break): small print, tight rows, short head and foot */
  @page { margin: 9mm 9mm 10mm 9mm; }
  body { font-size: 9pt; line-height: 1.2; }
  .head { border-bottom-width: 2px; padding-bottom: 2px; margin-bottom: 4px; }
  .head h1 { font-size: 14pt; }
  .head .vehicle { font-size: 16pt; }
  .head .sub { font-size: 8pt; }
  .synthetic { padding: 1px 6px; margin: 0 0 4px; font-size: 8pt; }
  .facts { margin: 0 0 5px; grid-template-columns: repeat(6, 1fr); }
  .facts div { padding: 1px 4px; }
  .facts dt { font-size: 7pt; }
  .facts dd { font-size: 9pt; }
  table.stops th { font-size: 8pt; padding: 2px 3px; }
  table.stops td, .compact table.stops td { padding: 1px 3px; font-size: 8.5pt; }
  td.name, td.t, .compact td.name, .compact td.t { font-size: 9pt; }
  td.id { font-size: 7pt; }
  .note { font-size: 7.5pt; }
  .tag, .compact .tag { font-size: 7.5pt; padding: 0 3px; }
  td.check { width: 6mm; }
  td.check span, .compact td.check span { width: 3.5mm; height: 3.5mm; }
  .sign, .compact .sign { margin-top: 5mm; font-size: 8.5pt; }
  .foot { margin-top: 2mm; font-size: 7pt; }
}
"""


def _narrower_than_shift(open_s: float, close_s: float, vt: VehicleType) -> bool:
    """Does a stop's window ``[open_s, close_s]`` (service start) restrict a vehicle of
    type ``vt`` more than its own shift does? Only such windows are printed: a window
    that is just the working day tells the driver nothing."""
    # compared in whole minutes, as the sheet shows them
    return (round(open_s / 60.0) > round(vt.shift_start_s / 60.0)
            or round(close_s / 60.0) < round(vt.shift_end_s / 60.0))


def _time_tag(seconds: float) -> str:
    return f'<time datetime="{hms(seconds)}">{hm(seconds)}</time>' \
        if math.isfinite(seconds) else ""


#: sheets with more visit rows than this use the compact table style
COMPACT_ROWS = 24

#: the warning printed on every page of a plan on synthetic data
SYNTHETIC_BANNER = ('<p class="synthetic">示例（合成）数据，仅供测试，不得用于实际作业。'
                    " Synthetic data — not for operations.</p>")

#: title of the page that lists the unserved stops
UNSERVED_TITLE = "未收运 / not collected"


def _banner(data: RoutingData, plan: RoutePlan) -> list[str]:
    """The synthetic-data banner when the plan or its data is synthetic, else nothing."""
    return [SYNTHETIC_BANNER] if (plan.synthetic or data.synthetic) else []


def _unserved_section(data: RoutingData, plan: RoutePlan, date: str, banner: bool) -> str:
    """The "未收运 / not collected" page: every unserved stop with its name, id and load
    (the amount left uncollected), in plan order."""
    esc = _esc
    unserved = _unserved(data, plan)
    parts = [f'<section class="unserved" data-count="{len(unserved)}">',
             f'<div class="head"><div><h1>{esc(UNSERVED_TITLE)}</h1>'
             f'<div class="sub">{esc(plan.name)}'
             f'{" · " + esc(date) if date and date not in plan.name else ""}'
             f" · {len(unserved)} 个收集点未安排收运 stops not collected</div></div></div>"]
    if banner:
        parts.extend(_banner(data, plan))
    parts.append('<table class="stops"><thead><tr><th>序号</th><th>地点</th><th>编号</th>'
                 "<th>待收运量</th></tr></thead><tbody>")
    for k, (s, loc) in enumerate(unserved, start=1):
        name = data.names[loc] if loc is not None else ""
        ident = data.ids[loc] if loc is not None else f"stop {s}"
        parts.append(
            f'<tr class="unserved-stop" data-index="{s}" data-id="{esc(ident)}">'
            f'<td class="seq">{k}</td><td class="name">{esc(name)}</td>'
            f'<td class="id">{esc(ident)}</td>'
            f'<td class="load">{esc(_fmt_load(_stop_load(data, s), data.load_dims))}</td>'
            "</tr>")
    parts.append("</tbody></table>")
    parts.append('<p class="note">这些收集点不在任何路线上，需另行安排。'
                 " These stops are on no route and need other arrangements.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _sheet(data: RoutingData, plan: RoutePlan, view: _RouteView, date: str,
           number: int, total: int) -> str:
    esc = _esc
    route = view.route
    visits = route.visits
    vt = data.vehicle_types[route.vehicle_type]
    dims = data.load_dims
    n = len(visits)
    n_stops = sum(1 for v in visits if v.kind == "stop")
    n_unloads = sum(1 for v in visits if v.kind == "unload")
    depot = _place_name(data, visits[0].location) if n else ""
    out_s = visits[0].departure_s if n else math.nan
    back_s = visits[-1].arrival_s if n else math.nan
    brk = route.break_start_s
    brk_txt = "无"
    if brk is not None:
        brk_txt = f"{hm(brk)}–{hm(brk + _break_duration(data, route))}"
    facts = [
        ("车型 Vehicle type", vt.name), ("车场 Depot", depot),
        ("出车 Leave", hm(out_s)), ("回场 Back", hm(back_s)),
        ("收集点 Stops", str(n_stops)), ("卸载次数 Unloads", str(n_unloads)),
        ("里程 Distance", f"{route.distance_m / 1000:.1f} km"),
        ("午休 Break", brk_txt),
        ("收运量 Collected", _fmt_load(route.load_total, dims)),
        ("工作时长 Shift", _fmt_duration(route.duration_s)),
        ("日期 Date", date or "—"), ("方案 Plan", plan.name),
    ]
    county = str(data.meta.get("county_name") or "")
    where = f"{county} · " if county and county not in plan.name else ""
    klass = "sheet compact" if n > COMPACT_ROWS else "sheet"
    parts = [f'<section class="{klass}" data-vehicle="{esc(view.label)}">']
    parts.append('<div class="head"><div><h1>收运路线单</h1>'
                 f'<div class="sub">{esc(where)}{esc(plan.name)}'
                 f'{" · " + esc(date) if date and date not in plan.name else ""}'
                 f" · 第 {number} / {total} 辆</div></div>"
                 f'<div class="vehicle">{esc(view.label)}</div></div>')
    parts.extend(_banner(data, plan))
    parts.append('<dl class="facts">' + "".join(
        f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts) + "</dl>")
    parts.append('<table class="stops"><thead><tr><th>序号</th><th>到达</th><th>开始</th>'
                 '<th>离开</th><th>地点</th><th>编号</th><th>作业</th>'
                 '<th>作业后载重</th><th>备注</th><th>✓</th></tr></thead><tbody>')
    for j, v in enumerate(visits):
        if view.break_before == j and brk is not None:
            end = brk + _break_duration(data, route)
            parts.append(f'<tr class="break" data-start="{hms(brk)}" data-end="{hms(end)}">'
                         f'<td colspan="10">午休 Break {_time_tag(brk)} – {_time_tag(end)}'
                         "</td></tr>")
        if v.kind == "depot":
            act = "出车" if j == 0 else "回场"
            note = ""
        elif v.kind == "unload":
            act = "卸载"
            unloaded = view.unloaded[j] or ()
            note = f"卸下 {_fmt_load(unloaded, dims)}"
        else:
            act = "收集"
            ua = view.unload_at[j]
            note = f"卸往 {_place_name(data, visits[ua].location)}" if ua is not None else ""
            s = v.index
            if 0 <= s < data.n_stops:
                op, cl = float(data.stop_open_s[s]), float(data.stop_close_s[s])
                if _narrower_than_shift(op, cl, vt):
                    note += f"；时间窗 {hm(op)}–{hm(cl)}"
        tag = f'<span class="tag tag-{v.kind}">{act}</span>'
        parts.append(
            f'<tr class="visit kind-{v.kind}" data-seq="{j}" data-kind="{v.kind}" '
            f'data-id="{esc(data.ids[v.location])}">'
            f'<td class="seq">{j}</td>'
            f'<td class="t arrival">{_time_tag(v.arrival_s) if j > 0 else ""}</td>'
            f'<td class="t start">{_time_tag(v.start_s)}</td>'
            f'<td class="t departure">{_time_tag(v.departure_s) if j < n - 1 else ""}</td>'
            f'<td class="name">{esc(data.names[v.location])}</td>'
            f'<td class="id">{esc(data.ids[v.location])}</td>'
            f"<td>{tag}</td>"
            f'<td class="load">{esc(_fmt_load(v.load_after, dims))}</td>'
            f'<td class="note">{esc(note)}</td>'
            '<td class="check"><span></span></td></tr>')
    parts.append("</tbody></table>")
    parts.append('<div class="sign"><div>司机签字 Driver</div><div>车牌号 Plate</div>'
                 "<div>实际回场时间 Actual return</div></div>")
    parts.append(f'<p class="foot">Wastenet · {esc(plan.solver)} · seed {plan.seed} · '
                 f"{esc(vt.name)} · 时间为计划时间，请以安全为先。</p>")
    parts.append("</section>")
    return "\n".join(parts)


def driver_sheets_html(data: RoutingData, plan: RoutePlan, title: str | None = None) -> str:
    """``sheets.html``: a self-contained printable document, one ``<section class="sheet">``
    per route (CSS ``break-after: page``), listing the visits in order with arrival,
    service start and departure (``<time datetime="HH:MM:SS">HH:MM</time>``), the load
    after each visit, the unloads (amount unloaded, target station of each stop) and the
    break as its own row. After the sheets, a ``<section class="unserved">`` page titled
    "未收运 / not collected" lists the unserved stops (name, id, load), when there are
    any. A plan without routes gives a ``<section class="empty">`` note instead of
    sheets. When the plan or its data is synthetic every page (each sheet, the empty
    note, the unserved page) carries the synthetic-data banner (``class="synthetic"``,
    "合成"). All text is HTML-escaped, with the characters XML 1.0 forbids replaced
    (:func:`xml_text`); no external resources."""
    _warn_forbidden(data, plan, "sheets.html")
    esc = _esc
    date = _plan_date(data, plan)
    doc_title = title or f"收运路线单 · {plan.name}" + (f" · {date}" if date else "")
    views = _views(data, plan)
    sheets = [_sheet(data, plan, view, date, k, len(views))
              for k, view in enumerate(views, start=1)]
    if not sheets:
        sheets = ['<section class="empty">' + "".join(_banner(data, plan))
                  + "<p>本方案没有路线。No routes in this plan.</p></section>"]
    if plan.unserved:
        # with route sheets it is a page of its own and needs its own banner; without,
        # it follows the empty note (and its banner) on the same page
        sheets.append(_unserved_section(data, plan, date, banner=bool(views)))
    body = "\n".join(sheets)
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(doc_title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


# ---------------------------------------------------------------------------------------
# all files
# ---------------------------------------------------------------------------------------

def render_all(data: RoutingData, plan: RoutePlan, crs: str = "wgs84") -> dict[str, bytes]:
    """Every export as bytes, keyed like :data:`FILE_NAMES` (pure; nothing written).
    Texts holding characters XML 1.0 forbids are written with U+FFFD in their place in
    every file alike, with one warning naming them (see the module docstring)."""
    _check_crs(crs)
    _warn_forbidden(data, plan, "route exports")
    token = _WARNED.set(True)
    try:
        return {
            "csv": routes_csv(data, plan, crs),
            "geojson": routes_geojson(data, plan, crs).encode("utf-8"),
            "gpx": routes_gpx(data, plan, crs),
            "html": driver_sheets_html(data, plan).encode("utf-8"),
            "json": plan_json(data, plan, crs).encode("utf-8"),
        }
    finally:
        _WARNED.reset(token)


def write_all(data: RoutingData, plan: RoutePlan, out_dir: str | os.PathLike[str],
              crs: str = "wgs84") -> dict[str, Path]:
    """Write ``routes.csv``, ``routes.geojson``, ``routes.gpx``, ``sheets.html`` and
    ``plan.json`` into ``out_dir`` (created if missing); return their paths by key
    (``csv``, ``geojson``, ``gpx``, ``html``, ``json``). Each file is written to a
    temporary name (``<name>.tmp``) first and renamed, so a reader never sees half a file
    (:func:`wastenet.atomicio.write_atomic`); an OSError propagates as it is, with the
    temporary file removed and the earlier file of that name untouched."""
    blobs = render_all(data, plan, crs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, blob in blobs.items():
        path = out / FILE_NAMES[key]
        write_atomic(path, blob)
        paths[key] = path
    log.info("wrote %d route exports to %s (crs=%s)", len(paths), out, crs)
    return paths
