"""User-supplied villages: CSV, GeoJSON and inline records, validated row by row.

Every input goes through :func:`villages_from_records`, which turns a sequence of
records (mappings) into a :class:`~wastenet.data.generator.Villages` table with
``synthetic=False`` and ``seed=None``. The file readers only translate their format into
records:

* **CSV** (UTF-8, with or without a byte-order mark): a header row naming the columns
  ``id, name, lon, lat, population, tonnes_per_day, county, tourism, demonstration``
  (case and surrounding blanks ignored). ``id``, ``lon``, ``lat`` and at least one of
  ``population`` / ``tonnes_per_day`` are required columns; the others are optional.
* **GeoJSON**: a ``FeatureCollection`` of ``Point`` features; ``lon``/``lat`` come from
  the geometry (WGS-84), the other fields from ``properties`` (``id`` may also be the
  feature's own ``id``).

Record fields and rules
-----------------------
For data row ``r`` (1-based; CSV messages also give the file line):

* ``id``: required, non-blank, unique (a duplicate names both rows).
* ``name``: optional; defaults to the id.
* Neither may hold a control character (tab and newline among them), a surrogate,
  U+FFFE or U+FFFF, the characters the scenario schema refuses in a name
  (:mod:`wastenet.scenario.names`): they would reach every route export. Surrounding
  blanks are removed first, as for every text field.
* ``lon``, ``lat``: required finite numbers, ``-180 <= lon <= 180``,
  ``-90 <= lat <= 90``. When the pair read the other way round lies in Liaoning, the
  error carries the hint "lon and lat look swapped".
* ``population`` (people, a whole number, ``0 < P <= 10,000,000``) and/or
  ``tonnes_per_day`` (> 0; alone, implying at most 10 million people at rate ``q``; with
  a population, at most :data:`MAX_KG_PER_PERSON_PER_DAY` = 100 kg per person per day,
  about 100 times the highest rural survey value of 1.1 kg and room for a tourist
  village's visitors); at least one is required. Daily waste ``w_r`` in tonnes, with
  rate ``q`` (kg/person/day) and seasonal factor ``s``::

      population given only:   w_r = P_r * q * s / 1000
      tonnes_per_day T_r given: w_r = T_r * s,   P_r = max(1, round(1000 T_r / q))
                                (P_r is kept as given when both are present)

  ``T_r`` is read as the off-peak daily amount, so the seasonal factor scales it exactly
  like population-derived waste. ``meta["tonnes_given_index"]`` lists (0-based) the rows
  whose waste came from ``tonnes_per_day``.
* ``county``: optional 6-digit adcode; it must be one of the 100 bundled county-level
  divisions. When absent the county is the one whose simplified polygon contains the
  point (vectorised point-in-polygon; a point exactly on a county border counts as
  inside, in the bordering county of lowest adcode). A point outside every polygon but at most
  :data:`SNAP_DISTANCE_M` (2 km) from the provincial border snaps to the nearest county
  with a warning; farther out is an error. When the county is given, the point must lie
  inside it or within 2 km of its border (the polygons are simplified to about 300 m).
* ``tourism``, ``demonstration``: optional booleans (``true/false``, ``1/0``,
  ``yes/no``, blank = false).

Nothing is dropped silently: a bad row raises :class:`~wastenet.errors.ValidationError`
naming the row and the field, and an empty input is an error. Rows are parsed in order
(the first bad field stops the load); the geographic checks then run vectorised over all
rows and report the lowest bad row. Warnings (snapped points, unknown columns, skipped
blank CSV lines) are logged on ``wastenet.data.loader``, returned by
:func:`villages_from_records` and stored in ``meta["warnings"]``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wastenet.data import liaoning
from wastenet.data.generator import Villages
from wastenet.errors import DataFormatError, ValidationError
from wastenet.geo.distance import distance_to_geometries_m
from wastenet.scenario.names import bad_text_message

log = logging.getLogger("wastenet.data.loader")

SNAP_DISTANCE_M = 2_000.0
"""A point at most this far outside the provincial border (or its given county) is kept."""

MAX_VILLAGE_POPULATION = 10_000_000
"""Upper bound on one village's population (given or derived): larger is a data error."""

MAX_KG_PER_PERSON_PER_DAY = 100.0
"""Upper bound on ``tonnes_per_day`` per person when both it and ``population`` are
given: about 100 times the highest rural survey rate (1.1 kg/person/day), so larger is a
data error (tonnes for kilograms, or a misplaced decimal point)."""

FIELDS = ("id", "name", "lon", "lat", "population", "tonnes_per_day", "county", "tourism",
          "demonstration")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})
_ADCODE = re.compile(r"^\d{6}(?:\.0*)?$")
_SWAP_HINT = "lon and lat look swapped"

# --------------------------------------------------------------------------- helpers


def _where(source: str, lines: Sequence[int] | None, k: int) -> str:
    if lines is not None:
        return f" [{source}, line {lines[k]}]"
    return f" [{source}]"


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _swapped_in_liaoning(lon: float, lat: float) -> bool:
    """Whether ``(lat, lon)`` read as ``(lon, lat)`` falls inside a Liaoning county."""
    if not (-180.0 <= lat <= 180.0 and -90.0 <= lon <= 90.0):
        return False
    return bool(liaoning.locate_points(np.array([lat]), np.array([lon]))[0] >= 0)


def distance_to_counties_m(idx: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distance in metres from each point to the polygon of county ``idx`` (an index into
    :func:`wastenet.data.liaoning.load_counties`; 0 inside). The given-county rule (a point
    must lie within :data:`SNAP_DISTANCE_M` of its county) compares it with that bound.

    Measured in metres in a local projection centred on each point
    (:func:`wastenet.geo.distance.distance_to_geometries_m`), as
    :func:`wastenet.data.liaoning.nearest_counties` does: within a few metres of the
    haversine distance to the county's nearest border point.
    """
    if idx.size == 0:
        return np.empty(0, dtype=np.float64)
    polys = np.array(liaoning.county_polygons(), dtype=object)[idx]
    return distance_to_geometries_m(polys, lon, lat)


class _RowParser:
    """Field parsers for one input; they raise ValidationError naming row and field."""

    def __init__(self, source: str, lines: Sequence[int] | None) -> None:
        self.source = source
        self.lines = lines

    def error(self, k: int, field: str, value: object, message: str,
              hint: str | None = None) -> ValidationError:
        return ValidationError(field, value, message + _where(self.source, self.lines, k),
                               row=k + 1, hint=hint)

    def number(self, k: int, rec: Mapping[str, object], field: str,
               required: bool) -> float | None:
        v = rec.get(field)
        if _is_blank(v):
            if required:
                raise self.error(k, field, v, "missing (required)")
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float, str, np.integer, np.floating)):
            raise self.error(k, field, v, "not a number")
        try:
            x = float(v.strip() if isinstance(v, str) else v)
        except (ValueError, OverflowError):
            raise self.error(k, field, v, "not a number") from None
        if not math.isfinite(x):
            raise self.error(k, field, v, "must be a finite number (NaN/inf given)")
        return x

    def text(self, v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    def printable(self, k: int, field: str, text: str) -> str:
        """``text`` (an id or a name, surrounding blanks already removed) when it holds
        no character the scenario schema refuses in a name
        (:func:`wastenet.scenario.names.bad_char`: control characters, surrogates, U+FFFE,
        U+FFFF); else the error naming the row (and file line) and the field."""
        why = bad_text_message(text)
        if why is not None:
            raise self.error(k, field, text, why)
        return text

    def flag(self, k: int, rec: Mapping[str, object], field: str) -> bool:
        v = rec.get(field)
        if v is None:
            return False
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str):
            s = v.strip().lower()
            if s in _TRUE:
                return True
            if s in _FALSE:
                return False
        raise self.error(k, field, v, "not a boolean (use true/false, 1/0 or yes/no)")

    def county(self, k: int, rec: Mapping[str, object]) -> str | None:
        v = rec.get("county")
        if _is_blank(v):
            return None
        if isinstance(v, bool):
            raise self.error(k, "county", v, "not a county adcode")
        code = self.text(v)
        if not _ADCODE.match(code):
            raise self.error(k, "county", v, "not a 6-digit county adcode")
        code = code[:6]
        if code not in liaoning.county_index():
            raise self.error(k, "county", v,
                             "unknown county adcode (not one of Liaoning's 100 county-level "
                             "divisions)")
        return code


# --------------------------------------------------------------------------- core


def villages_from_records(
    records: Sequence[Mapping[str, object]],
    *,
    source: str = "villages",
    waste_kg_per_person_per_day: float = 0.5,
    seasonal_factor: float = 1.0,
) -> tuple[Villages, list[str]]:
    """Validate user records and build a village table; also return the warnings.

    ``source`` names the input in messages (a file name, or ``data.villages``). See the
    module docstring for the fields, the waste formula and the geographic rules.
    Raises :class:`ValidationError` naming the (1-based) row and the field.
    """
    return _build(records, source=source, lines=None,
                  waste_kg_per_person_per_day=waste_kg_per_person_per_day,
                  seasonal_factor=seasonal_factor, pre_warnings=())


def _check_rates(rate: float, seasonal: float) -> None:
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise ValidationError("waste_kg_per_person_per_day", rate, "must be a finite number > 0")
    if not (isinstance(seasonal, (int, float)) and math.isfinite(seasonal) and seasonal > 0):
        raise ValidationError("seasonal_factor", seasonal, "must be a finite number > 0")


def _build(
    records: Sequence[Mapping[str, object]],
    *,
    source: str,
    lines: Sequence[int] | None,
    waste_kg_per_person_per_day: float,
    seasonal_factor: float,
    pre_warnings: Sequence[str],
) -> tuple[Villages, list[str]]:
    rate = waste_kg_per_person_per_day
    _check_rates(rate, seasonal_factor)
    n = len(records)
    if n == 0:
        raise ValidationError(source, [], "no villages given (the input has no data rows)")
    p = _RowParser(source, lines)
    warnings = list(pre_warnings)

    ids: list[str] = []
    names: list[str] = []
    given_county: list[str | None] = []
    lon = np.empty(n, dtype=np.float64)
    lat = np.empty(n, dtype=np.float64)
    population = np.empty(n, dtype=np.int64)
    waste = np.empty(n, dtype=np.float64)
    tourism = np.zeros(n, dtype=bool)
    demonstration = np.zeros(n, dtype=bool)
    tonnes_rows: list[int] = []
    seen: dict[str, int] = {}
    unknown: set[str] = set()

    for k, raw in enumerate(records):
        if not isinstance(raw, Mapping):
            raise p.error(k, "row", type(raw).__name__, "each village must be a mapping of fields")
        rec = {str(key).strip().lower(): v for key, v in raw.items() if key is not None}
        unknown.update(key for key in rec if key not in FIELDS)

        v_id = rec.get("id")
        if _is_blank(v_id):
            raise p.error(k, "id", v_id, "missing village id (required)")
        vid = p.printable(k, "id", p.text(v_id))
        if vid in seen:
            raise p.error(k, "id", vid, f"duplicate id: rows {seen[vid] + 1} and {k + 1}")
        seen[vid] = k

        x = p.number(k, rec, "lon", required=True)
        y = p.number(k, rec, "lat", required=True)
        assert x is not None and y is not None
        if not -180.0 <= x <= 180.0:
            raise p.error(k, "lon", rec.get("lon"), "longitude must lie in [-180, 180]",
                          _SWAP_HINT if _swapped_in_liaoning(x, y) else None)
        if not -90.0 <= y <= 90.0:
            raise p.error(k, "lat", rec.get("lat"), "latitude must lie in [-90, 90]",
                          _SWAP_HINT if _swapped_in_liaoning(x, y) else None)

        pop = p.number(k, rec, "population", required=False)
        tonnes = p.number(k, rec, "tonnes_per_day", required=False)
        if pop is None and tonnes is None:
            raise p.error(k, "population", None,
                          "missing: give population or tonnes_per_day (both are blank)")
        if pop is not None:
            if pop <= 0:
                raise p.error(k, "population", rec.get("population"), "must be > 0")
            if not float(pop).is_integer():
                raise p.error(k, "population", rec.get("population"),
                              "must be a whole number of people")
            if pop > MAX_VILLAGE_POPULATION:
                raise p.error(k, "population", rec.get("population"),
                              f"implausibly large (more than {MAX_VILLAGE_POPULATION:,})")
        if tonnes is not None:
            if tonnes <= 0:
                raise p.error(k, "tonnes_per_day", rec.get("tonnes_per_day"), "must be > 0")
            if pop is None and tonnes * 1000 / rate > MAX_VILLAGE_POPULATION:
                raise p.error(k, "tonnes_per_day", rec.get("tonnes_per_day"),
                              f"implausibly large: implies more than "
                              f"{MAX_VILLAGE_POPULATION:,} people at {rate} kg/person/day")
            if pop is not None and tonnes * 1000 / pop > MAX_KG_PER_PERSON_PER_DAY:
                raise p.error(k, "tonnes_per_day", rec.get("tonnes_per_day"),
                              f"implausibly large for population {int(pop):,}: "
                              f"{tonnes * 1000 / pop:.4g} kg per person per day (at most "
                              f"{MAX_KG_PER_PERSON_PER_DAY:g}; check the unit: tonnes per day)")

        if tonnes is not None:
            waste[k] = tonnes * seasonal_factor
            population[k] = int(pop) if pop is not None else max(1, round(tonnes * 1000 / rate))
            tonnes_rows.append(k)
        else:
            assert pop is not None
            population[k] = int(pop)
            waste[k] = pop * rate * seasonal_factor / 1000.0

        name = rec.get("name")
        ids.append(vid)
        names.append(vid if _is_blank(name) else p.printable(k, "name", p.text(name)))
        lon[k] = x
        lat[k] = y
        given_county.append(p.county(k, rec))
        tourism[k] = p.flag(k, rec, "tourism")
        demonstration[k] = p.flag(k, rec, "demonstration")

    if unknown:
        warnings.append(f"{source}: ignored unknown field(s) {sorted(unknown)}; "
                        f"known fields are {list(FIELDS)}")

    county_idx, geo_warnings = _assign_counties(p, ids, lon, lat, given_county)
    warnings.extend(geo_warnings)
    for w in warnings:
        log.warning("%s", w)

    counties = liaoning.load_counties()
    villages = Villages(
        ids=tuple(ids), names=tuple(names),
        county=tuple(counties[int(i)].adcode for i in county_idx),
        seat=np.full(n, -1, dtype=np.int64), lon=lon, lat=lat, population=population,
        waste_t_per_day=waste, tourism=tourism, demonstration=demonstration,
        synthetic=False, seed=None,
        meta={"source": source, "waste_kg_per_person_per_day": float(rate),
              "seasonal_factor": float(seasonal_factor), "tonnes_given_index": tonnes_rows,
              "warnings": list(warnings)},
    )
    return villages, warnings


def _assign_counties(p: _RowParser, ids: Sequence[str], lon: np.ndarray, lat: np.ndarray,
                     given: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """County index per row (vectorised), snapping warnings; raises on the lowest bad row."""
    counties = liaoning.load_counties()
    cindex = liaoning.county_index()
    inside = liaoning.locate_points(lon, lat)
    given_idx = np.array([cindex[c] if c is not None else -1 for c in given], dtype=np.int64)
    has_given = given_idx >= 0
    out = np.where(has_given, given_idx, inside)
    dist_out = np.zeros(len(lon))  # distance outside the provincial outline (0 inside)
    errors: dict[int, ValidationError] = {}

    # Given county: the point must be inside it or within SNAP_DISTANCE_M of its border.
    check = np.flatnonzero(has_given & (inside != given_idx))
    d_given = distance_to_counties_m(given_idx[check], lon[check], lat[check])
    for k, d in zip(check.tolist(), d_given.tolist(), strict=True):
        if d > SNAP_DISTANCE_M:
            c = counties[int(given_idx[k])]
            hint = _SWAP_HINT if _swapped_in_liaoning(lon[k], lat[k]) else None
            errors[k] = p.error(
                k, "county", c.adcode,
                f"the point ({lon[k]:.6f}, {lat[k]:.6f}) lies {d / 1000:.1f} km outside "
                f"county {c.adcode} {c.name} (tolerance {SNAP_DISTANCE_M / 1000:g} km); "
                "check lon/lat or the county", hint)

    # Points outside every polygon: snap within SNAP_DISTANCE_M, else error.
    outside = np.flatnonzero(inside < 0)
    if outside.size:
        near, dist = liaoning.nearest_counties(lon[outside], lat[outside])
        dist_out[outside] = dist
        far = outside[(dist > SNAP_DISTANCE_M) & ~has_given[outside]]
        snap = outside[(dist <= SNAP_DISTANCE_M) & ~has_given[outside]]
        out[snap] = near[np.isin(outside, snap)]
        for k in far.tolist():
            hint = _SWAP_HINT if _swapped_in_liaoning(lon[k], lat[k]) else None
            errors[k] = p.error(
                k, "lon/lat", (float(lon[k]), float(lat[k])),
                f"the point lies {dist_out[k] / 1000:.1f} km outside Liaoning's border "
                f"(points up to {SNAP_DISTANCE_M / 1000:g} km outside are snapped)", hint)

    if errors:
        raise errors[min(errors)]

    warnings = []
    for k in outside.tolist():
        c = counties[int(out[k])]
        verb = "kept in its given county" if has_given[k] else "snapped to the nearest county"
        warnings.append(
            f"row {k + 1}{_where(p.source, p.lines, k)}: village {ids[k]!r} at "
            f"point ({lon[k]:.6f}, {lat[k]:.6f}) lies {dist_out[k]:.0f} m outside the "
            f"simplified provincial border; {verb} {c.adcode} {c.name}")
    return out, warnings


# --------------------------------------------------------------------------- files


def load_villages_file(
    path: str | os.PathLike[str],
    *,
    waste_kg_per_person_per_day: float = 0.5,
    seasonal_factor: float = 1.0,
) -> Villages:
    """Read villages from a CSV (``.csv``) or GeoJSON (``.geojson``/``.json``) file.

    Warnings are logged and kept in ``meta["warnings"]``. Raises
    :class:`DataFormatError` when the file cannot be read as its format and
    :class:`ValidationError` (row and field named) for a bad row.
    """
    pth = Path(path)
    suffix = pth.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise DataFormatError(str(pth), "unknown village file type: use .csv, .geojson or .json")
    try:
        data = pth.read_bytes()
    except OSError as exc:
        raise DataFormatError(str(pth), f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(str(pth),
                              f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if suffix == ".csv":
        records, lines, pre = _csv_records(text, pth.name)
    else:
        records, lines, pre = _geojson_records(text, pth.name), None, []
    villages, _ = _build(records, source=pth.name, lines=lines,
                         waste_kg_per_person_per_day=waste_kg_per_person_per_day,
                         seasonal_factor=seasonal_factor, pre_warnings=pre)
    villages.meta["path"] = str(pth)
    return villages


def _csv_records(text: str, name: str) -> tuple[list[dict[str, Any]], list[int], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)  # leading blank lines
        if header is None:
            raise DataFormatError(name, "empty file (no header row)", line=1)
        cols = [h.strip().lower() for h in header]
        dup = sorted({c for c in cols if cols.count(c) > 1 and c})
        if dup:
            raise DataFormatError(name, f"duplicate column(s) {dup} in the header",
                                  line=reader.line_num)
        missing = [c for c in ("id", "lon", "lat") if c not in cols]
        if missing or not ({"population", "tonnes_per_day"} & set(cols)):
            need = missing + ([] if {"population", "tonnes_per_day"} & set(cols)
                              else ["population or tonnes_per_day"])
            raise DataFormatError(name, f"missing column(s) {need}; the header has {cols} "
                                  "(the file must be comma-separated)",
                                  line=reader.line_num)
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        blank: list[int] = []
        for row in reader:
            if not row:
                continue  # an empty line is not a record
            if all(cell.strip() == "" for cell in row):
                blank.append(reader.line_num)
                continue
            if len(row) > len(cols) and any(c.strip() for c in row[len(cols):]):
                raise DataFormatError(name, f"the row has {len(row)} fields but the header has "
                                      f"{len(cols)}", line=reader.line_num)
            rec: dict[str, Any] = dict.fromkeys(cols)
            rec.update({c: v for c, v in zip(cols, row, strict=False) if c})
            records.append(rec)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataFormatError(name, f"malformed CSV: {exc}", line=reader.line_num) from None
    pre = []
    if blank:
        pre.append(f"{name}: skipped {len(blank)} line(s) with only empty fields: "
                   f"{blank[:10]}{' ...' if len(blank) > 10 else ''}")
    return records, lines, pre


def _geojson_records(text: str, name: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(name, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise DataFormatError(name, "invalid JSON: arrays or objects nested too "
                              "deeply") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise DataFormatError(name, "expected a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise DataFormatError(name, "FeatureCollection has no 'features' list")
    records: list[dict[str, Any]] = []
    for k, feat in enumerate(features):
        where = f" [{name}, feature {k}]"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise ValidationError("type", feat.get("type") if isinstance(feat, dict) else feat,
                                  "expected a GeoJSON Feature" + where, row=k + 1)
        geom = feat.get("geometry")
        gtype = geom.get("type") if isinstance(geom, dict) else None
        if gtype != "Point":
            raise ValidationError("geometry", gtype, "expected a Point geometry" + where,
                                  row=k + 1)
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if not isinstance(coords, list) or len(coords) < 2:
            raise ValidationError("geometry.coordinates", coords,
                                  "expected [lon, lat]" + where, row=k + 1)
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            raise ValidationError("properties", props, "expected an object" + where, row=k + 1)
        rec: dict[str, Any] = {str(key).strip().lower(): v for key, v in props.items()}
        if _is_blank(rec.get("id")) and not _is_blank(feat.get("id")):
            rec["id"] = feat["id"]
        rec["lon"], rec["lat"] = coords[0], coords[1]
        records.append(rec)
    return records
