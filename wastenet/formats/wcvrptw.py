"""Reader of the waste-collection VRPTW instances of Kim, Kim & Sahoo (2006).

Kim, B.-I., Kim, S., Sahoo, S. (2006). Waste collection vehicle routing problem with time
windows. Computers & Operations Research 33(12):3624-3642.

File layout
-----------
* Five header lines, each starting with a number (the rest of the line is a comment):
  vehicle capacity ``C`` (yd3, between unloads), daily yardage per vehicle ``R`` (yd3),
  maximum regular stops per vehicle per day, lunch duration (s), speed (mph).
* One header row naming the columns.
* One row per place: id, x (ft), y (ft), earliest and latest service start (HHMM),
  service time (s), load (yd3), type (0 depot, 1 stop, 2 landfill).

Fields are separated by tabs or runs of spaces; rows may carry trailing empty fields and
CRLF endings, so every row is split on whitespace. Lines end at ``"\\n"`` only (a form
feed or another Unicode line break inside a row is whitespace), so error line numbers
match what an editor shows. ``HHMM`` is read as
``HH*3600 + MM*60`` seconds even when ``MM >= 60`` (``1675`` is 17:15, ``300`` is 03:00,
``0775`` is 08:15): the files use that convention.

Model built from a file
-----------------------
* Locations: every row, in file order; ``ids`` are the file ids (strings).
* Travel: Manhattan distance ``d_ij = |x_i - x_j| + |y_i - y_j|`` (feet);
  ``duration_s[i, j] = d_ij / v`` with ``v = mph * 5280 / 3600`` ft/s;
  ``distance_m[i, j] = 0.3048 * d_ij``.
* Depots (type 0): window ``[open, close]`` of the row; vehicles leave at or after
  ``open`` and are back by ``close`` (the shift of their vehicle type).
* Stops (type 1): demand ``(load,)`` in ``("yd3",)``, service and window of the row,
  ``stop_facility = -1`` (any landfill).
* Facilities (type 2, landfills): unload time = service of the row, window of the row,
  unlimited daily capacity.
* One vehicle type per depot with ``count = n_stops`` (in practice unbounded: the
  objective minimises vehicles first), ``capacity = (C,)``, ``route_capacity = (R,)``,
  ``max_stops`` from the header and a break of the lunch duration starting in
  ``[11:00, 12:00]``. A lunch longer than every depot's window (no vehicle could take
  it) is refused, naming header line 4.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from wastenet.errors import DataFormatError
from wastenet.routing.data import RoutingData, VehicleType

log = logging.getLogger("wastenet.formats.wcvrptw")

FEET_TO_M = 0.3048
LUNCH_EARLIEST_S = 11 * 3600.0
LUNCH_LATEST_S = 12 * 3600.0
_HEADER_FIELDS = (
    "vehicle capacity (yd3)",
    "daily yardage per vehicle (yd3)",
    "max stops per vehicle per day",
    "lunch duration (s)",
    "speed (mph)",
)


def hhmm_to_s(token: str) -> float:
    """``HHMM`` as seconds from midnight, ``HH*3600 + MM*60`` even when ``MM >= 60``.

    Raises :class:`ValueError` for anything that is not a non-negative whole number.
    """
    value = float(token)
    if not np.isfinite(value) or value < 0 or value != int(value):
        raise ValueError(f"HHMM must be a non-negative whole number, got {token!r}")
    v = int(value)
    return float((v // 100) * 3600 + (v % 100) * 60)


def manhattan_ft(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise Manhattan distances ``|x_i - x_j| + |y_i - y_j|`` (vectorised)."""
    return np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])


def read_wcvrptw(path: str | os.PathLike[str], *, name: str | None = None) -> RoutingData:
    """Read a Kim et al. (2006) instance file into :class:`RoutingData`.

    Errors are :class:`DataFormatError` naming the file and the 1-based line.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataFormatError(str(p), f"cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_wcvrptw(text, source=str(p), name=name or p.stem)


def parse_wcvrptw(text: str, *, source: str = "<text>", name: str = "wcvrptw") -> RoutingData:
    """Parse the text of a Kim et al. (2006) instance (see the module docstring)."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start one
    header: list[float] = []
    for k, label in enumerate(_HEADER_FIELDS):
        if k >= len(lines):
            raise DataFormatError(source, f"missing header line: {label}", line=k + 1)
        tokens = lines[k].split()
        if not tokens:
            raise DataFormatError(source, f"empty header line, expected {label}", line=k + 1)
        try:
            value = float(tokens[0])
        except ValueError:
            raise DataFormatError(source, f"{label}: not a number: {tokens[0]!r}",
                                  line=k + 1) from None
        if not np.isfinite(value) or value < 0 or (value == 0 and k != 3):
            raise DataFormatError(source, f"{label}: invalid value {tokens[0]!r}", line=k + 1)
        header.append(value)
    cap, route_cap, max_stops_f, lunch_s, mph = header
    if max_stops_f != int(max_stops_f):
        raise DataFormatError(source, f"max stops must be a whole number: {max_stops_f}", line=3)
    if len(lines) < 6:
        raise DataFormatError(source, "missing the column header row", line=6)

    ids: list[str] = []
    rows: list[tuple[float, ...]] = []
    kinds: list[int] = []
    row_line: list[int] = []
    seen: dict[str, int] = {}
    for ln, line in enumerate(lines[6:], start=7):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 8:
            raise DataFormatError(source, f"expected 8 fields (id x y open close service "
                                          f"load type), got {len(tokens)}", line=ln)
        if len(tokens) > 8:
            raise DataFormatError(source, f"expected 8 fields, got {len(tokens)}: "
                                          f"{' '.join(tokens[8:])!r} left over", line=ln)
        sid = tokens[0]
        if sid in seen:
            raise DataFormatError(source, f"duplicate stop id {sid!r} (first on line "
                                          f"{seen[sid]})", line=ln)
        try:
            xv, yv = float(tokens[1]), float(tokens[2])
        except ValueError:
            raise DataFormatError(source, f"stop {sid}: x/y not numbers: {tokens[1]!r} "
                                          f"{tokens[2]!r}", line=ln) from None
        try:
            t_open, t_close = hhmm_to_s(tokens[3]), hhmm_to_s(tokens[4])
        except ValueError as exc:
            raise DataFormatError(source, f"stop {sid}: time window: {exc}", line=ln) from None
        try:
            service, load = float(tokens[5]), float(tokens[6])
            kind_f = float(tokens[7])
        except ValueError:
            raise DataFormatError(source, f"stop {sid}: service/load/type not numbers: "
                                          f"{' '.join(tokens[5:8])!r}", line=ln) from None
        if not all(np.isfinite(v) for v in (xv, yv, service, load)):
            raise DataFormatError(source, f"stop {sid}: values must be finite", line=ln)
        if service < 0:
            raise DataFormatError(source, f"stop {sid}: service={service} < 0", line=ln)
        if kind_f not in (0.0, 1.0, 2.0):
            raise DataFormatError(source, f"stop {sid}: type={tokens[7]!r}, expected 0 "
                                          f"(depot), 1 (stop) or 2 (landfill)", line=ln)
        kind = int(kind_f)
        if kind == 1 and load < 0:
            raise DataFormatError(source, f"stop {sid}: load={load} < 0", line=ln)
        if kind == 1 and load > cap:
            raise DataFormatError(source, f"stop {sid}: load={load} exceeds the vehicle "
                                          f"capacity {cap}", line=ln)
        if t_close < t_open:
            raise DataFormatError(source, f"stop {sid}: window closes ({tokens[4]}) before "
                                          f"it opens ({tokens[3]})", line=ln)
        seen[sid] = ln
        ids.append(sid)
        rows.append((xv, yv, t_open, t_close, service, load))
        kinds.append(kind)
        row_line.append(ln)

    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    kind_arr = np.array(kinds, dtype=np.int64)
    depots = np.flatnonzero(kind_arr == 0)
    stops = np.flatnonzero(kind_arr == 1)
    facilities = np.flatnonzero(kind_arr == 2)
    if depots.size == 0:
        raise DataFormatError(source, "no depot row (type 0)")
    if facilities.size == 0:
        raise DataFormatError(source, "no landfill row (type 2)")
    window = arr[depots, 3] - arr[depots, 2]
    if lunch_s > window.max():
        d = int(depots[int(np.argmax(window))])
        raise DataFormatError(source, f"{_HEADER_FIELDS[3]}={lunch_s:g}: longer than every "
                                      f"depot's window, so no vehicle can take it (the "
                                      f"longest, depot {ids[d]} on line {row_line[d]}, is "
                                      f"{window.max():g} s)", line=4)

    x, y = arr[:, 0], arr[:, 1]
    feet = manhattan_ft(x, y)
    speed_ft_s = mph * 5280.0 / 3600.0
    n = int(stops.size)
    vtypes = tuple(
        VehicleType(
            name=f"truck@{ids[d]}",
            count=n,
            depot=k,
            capacity=(cap,),
            shift_start_s=float(arr[d, 2]),
            shift_end_s=float(arr[d, 3]),
            max_shift_s=float(arr[d, 3] - arr[d, 2]),
            max_stops=int(max_stops_f),
            route_capacity=(route_cap,),
            break_duration_s=float(lunch_s),
            break_earliest_s=LUNCH_EARLIEST_S if lunch_s > 0 else 0.0,
            break_latest_s=LUNCH_LATEST_S if lunch_s > 0 else 0.0,
        )
        for k, d in enumerate(depots)
    )
    data = RoutingData(
        ids=tuple(ids),
        names=tuple(ids),
        lon=np.full(len(ids), np.nan),
        lat=np.full(len(ids), np.nan),
        distance_m=feet * FEET_TO_M,
        duration_s=feet / speed_ft_s,
        load_dims=("yd3",),
        depots=depots,
        depot_open_s=arr[depots, 2],
        depot_close_s=arr[depots, 3],
        stops=stops,
        stop_demand=arr[stops, 5].reshape(n, 1),
        stop_service_s=arr[stops, 4],
        stop_open_s=arr[stops, 2],
        stop_close_s=arr[stops, 3],
        stop_allowed=(None,) * n,
        stop_facility=np.full(n, -1, dtype=np.int64),
        facilities=facilities,
        facility_unload_s=arr[facilities, 4],
        facility_open_s=arr[facilities, 2],
        facility_close_s=arr[facilities, 3],
        facility_capacity=np.full(facilities.size, np.inf),
        vehicle_types=vtypes,
        x=x,
        y=y,
        name=name,
        synthetic=False,
        meta={
            "format": "wcvrptw",
            "source": source,
            "vehicle_capacity_yd3": cap,
            "route_capacity_yd3": route_cap,
            "max_stops": int(max_stops_f),
            "lunch_s": lunch_s,
            "speed_mph": mph,
            "xy_unit": "ft",
        },
    )
    log.debug("read %s: %d stops, %d landfills, %d depots", source, n, facilities.size,
              depots.size)
    return data
