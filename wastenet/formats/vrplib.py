"""CVRPLIB readers (VRPLIB ``.vrp`` and Solomon/Gehring-Homberger ``.txt``) and the
VRPLIB ``.sol`` writer.

Reading
-------
Parsing is delegated to the ``vrplib`` package (PyPI): :func:`vrplib.parse.parse_vrplib` and
:func:`vrplib.parse.parse_solomon` turn the text into specifications and arrays; distances are
computed here. This module reads the text only to hand the package clean input and to
say *where* a problem is, so that every malformed file gives a
:class:`~wastenet.errors.DataFormatError` naming the file and, where there is one, the
1-based line (never a traceback, never a silently misread value). It checks itself:

* the text: UTF-8 (a byte-order mark is dropped; an invalid byte is reported with its
  line); line breaks other than ``"\\n"`` (``\\r``, form feeds, Unicode breaks) become
  spaces, so the package's lines are the file's lines and line numbers do not shift;
  only whitespace after ``EOF``, and no ``EOF`` inside another line (the package stops
  at any line holding it).
* before parsing, what the package would crash on without a line or misread silently.
  ``.vrp``: every line before the first ``*_SECTION`` header is ``KEY : VALUE`` and
  every line after it a header or a data row; no key or section twice; only the
  ``NODE_COORD``, ``DEMAND``, ``DEPOT``, ``EDGE_WEIGHT`` and (ignored) ``DISPLAY_DATA``
  sections; rows of exactly ``node x y``, ``node demand`` and one integer per
  ``DEPOT_SECTION`` row. Solomon: the header lines, the fleet line and the customer
  rows, seven integers each (the package reads them as integers and turns anything else
  into -1), numbered 0, 1, 2, ... in order.
* after parsing, the values (their line found by locating the keyword or the section
  row in the text): ``DIMENSION`` an integer >= 2; ``CAPACITY`` and ``DISTANCE`` finite
  and > 0; ``SERVICE_TIME`` finite and >= 0; the rows of ``NODE_COORD_SECTION`` and
  ``DEMAND_SECTION`` numbered 1..``DIMENSION`` in file order (the package drops the
  number and keeps the order); coordinates finite; demands finite and >= 0;
  ``EDGE_WEIGHT_SECTION`` entries finite, >= 0 and as many as the
  ``EDGE_WEIGHT_FORMAT`` needs; a single depot, node 1; no demand above the capacity.
  Solomon: fleet >= 1, capacity > 0, demand, times and service >= 0, due date not
  before the ready time.

Nothing of size ``DIMENSION`` is allocated before the data are known to have that size,
so a huge ``DIMENSION`` is a format error, not a MemoryError. The package reads the
``EDGE_WEIGHT_SECTION`` layouts ``LOWER_ROW`` and ``FULL_MATRIX`` (rows of equal
length); ``UPPER_ROW``, ``LOWER_DIAG_ROW`` and ``UPPER_DIAG_ROW`` are handed to it as
the ``LOWER_ROW`` stream of the same numbers, which is then placed here.

Mapping a CVRP onto :class:`RoutingData`
----------------------------------------
Sets: depot ``0``, customers ``i = 1..n`` with demand ``q_i``, capacity ``Q``, distances
``c_ij``. A CVRP route is ``0 -> i_1 -> ... -> i_k -> 0`` with ``sum q <= Q``; the
objective is ``min sum c_ij`` over all routes, with an unlimited fleet.

``RoutingData`` forbids one location in two roles, and its vehicles must unload at a
facility before returning to their depot. So the reader adds an *unload facility that
is a copy of the depot*: a separate location with ``c = 0`` to the depot and the depot's
distances to everyone else. A CVRP route then reads ``depot -> stops -> unload copy ->
depot`` at the same cost.

Two equivalent ways to map the unlimited CVRP fleet:

* ``single_trip=True``: one vehicle does one CVRP route. Its capacity is ``(Q,)`` and
  its ``route_capacity`` (load collected per day) is also ``(Q,)``, so an unload in
  mid-route cannot let it collect more than ``Q`` in the day and reloading buys nothing.
  The fleet is ``n`` vehicles. This is required when routes have a length limit
  (``DISTANCE``, the CMT instances), which then becomes ``max_shift_s``.
* ``single_trip=False`` (default when there is no route-length limit): capacity ``(Q,)``
  between unloads and no daily cap, so one vehicle may chain several trips, each
  ``depot -> stops -> unload copy`` and then on from the copy, which *is* the depot.
  Every trip is a CVRP route with load ``<= Q``; the distance of a plan is the sum of
  its trips, so both models have the same solutions and the same optimum. Vehicle counts
  differ: the CVRP count is the number of trips.

The ``.sol`` writer emits one VRPLIB route per trip (the visits between two unloads),
so its ``Cost`` is the CVRP cost under either mapping. The fleet is ``n`` vehicles
(unbounded in practice), fixed cost 0.

Time is only used where the format has it: ``duration_s = c_ij`` (one distance unit per
second), service times and the ``DISTANCE`` route-length limit of the CMT instances map
to ``stop_service_s`` and ``max_shift_s``. Without a limit the horizon is
``H = sum_i (c_0i + c_i0 + s_i) + n + 1``: the length of the star solution (one customer
per trip), an upper bound on the optimum, so an optimal plan fits in the day even on a
single vehicle.

Distances: ``EXPLICIT`` matrices are taken as given. ``EUC_2D`` follows the instance's
convention (``rounding="auto"``, the default): unrounded when the file has a ``DISTANCE``
or ``SERVICE_TIME`` (the CMT instances, whose published costs, e.g. CMT6's 555.43, are
unrounded; their route-length limit is then checked on true distances too), else rounded
to the nearest integer (TSPLIB ``nint``, as CVRPLIB scores the X, A, B, E, F, M and P
sets). ``rounding="nint"`` or ``"exact"`` forces one; ``meta["rounding"]`` records the
choice. Solomon instances use unrounded Euclidean distances, travel time = distance,
``VEHICLE NUMBER`` vehicles, and the depot's due date as the shift end.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wastenet.errors import DataFormatError
from wastenet.routing.data import RoutePlan, RoutingData, VehicleType

log = logging.getLogger("wastenet.formats.vrplib")


def _euclid(xy: np.ndarray) -> np.ndarray:
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def _nint(a: np.ndarray) -> np.ndarray:
    return np.floor(a + 0.5)


def _with_depot_copy(c: np.ndarray) -> np.ndarray:
    """Append a copy of node 0 (the depot) as the last row/column, at distance 0."""
    n1 = c.shape[0]
    out = np.zeros((n1 + 1, n1 + 1))
    out[:n1, :n1] = c
    out[n1, :n1] = c[0, :]
    out[:n1, n1] = c[:, 0]
    out[n1, 0] = out[0, n1] = 0.0
    return out


def _build(*, source: str, name: str, node_ids: list[str], dist: np.ndarray,
           demand: np.ndarray, capacity: float, demand_lines: np.ndarray,
           service: np.ndarray, open_s: np.ndarray, close_s: np.ndarray, depot_open: float,
           depot_close: float | None, max_route: float | None, n_vehicles: int | None,
           xy: np.ndarray | None, single_trip: bool,
           meta: dict[str, object]) -> RoutingData:
    """Common builder: node 0 is the depot, nodes 1..n the customers (values checked by
    the readers; ``demand_lines`` is the line of each node's demand)."""
    n = dist.shape[0] - 1
    if n < 1:
        raise DataFormatError(source, "no customers")
    if np.any(demand[1:] > capacity):
        i = int(np.flatnonzero(demand[1:] > capacity)[0]) + 1
        raise DataFormatError(source, f"customer {node_ids[i]}: demand {demand[i]:g} exceeds "
                                      f"capacity {capacity:g}",
                              line=int(demand_lines[i]))
    horizon = float(np.sum(dist[0, 1:] + dist[1:, 0] + service[1:]) + n + 1)
    end = horizon if depot_close is None else float(depot_close)
    close_s = np.minimum(close_s, end)  # CVRP customers: open until the horizon
    full = _with_depot_copy(dist)
    ids = [*node_ids, f"{node_ids[0]}#unload"]
    vt = VehicleType(
        name="vehicle",
        count=int(n_vehicles) if n_vehicles is not None else n,
        depot=0,
        capacity=(float(capacity),),
        route_capacity=(float(capacity),) if single_trip else None,
        shift_start_s=float(depot_open),
        shift_end_s=max(end, float(depot_open)),
        max_shift_s=float(max_route) if max_route is not None else max(end - depot_open, 0.0),
    )
    x = y = None
    if xy is not None:
        x = np.append(xy[:, 0], xy[0, 0]).astype(np.float64)
        y = np.append(xy[:, 1], xy[0, 1]).astype(np.float64)
    return RoutingData(
        ids=tuple(ids),
        names=tuple(ids),
        lon=np.full(n + 2, np.nan),
        lat=np.full(n + 2, np.nan),
        distance_m=full,
        duration_s=full,
        load_dims=("demand",),
        depots=np.array([0]),
        depot_open_s=np.array([depot_open], dtype=np.float64),
        depot_close_s=np.array([end]),
        stops=np.arange(1, n + 1),
        stop_demand=demand[1:].astype(np.float64).reshape(n, 1),
        stop_service_s=service[1:].astype(np.float64),
        stop_open_s=open_s[1:].astype(np.float64),
        stop_close_s=close_s[1:].astype(np.float64),
        stop_allowed=(None,) * n,
        stop_facility=np.full(n, -1, dtype=np.int64),
        facilities=np.array([n + 1]),
        facility_unload_s=np.zeros(1),
        facility_open_s=np.array([depot_open], dtype=np.float64),
        facility_close_s=np.array([end]),
        facility_capacity=np.array([np.inf]),
        vehicle_types=(vt,),
        x=x,
        y=y,
        name=name,
        meta={**meta, "source": source, "capacity": float(capacity), "depot_copy": n + 1,
              "single_trip": single_trip},
    )


#: line breaks that ``str.splitlines`` (and so the package) honours besides ``"\n"``
_OTHER_BREAKS = dict.fromkeys(map(ord, "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), " ")


def _read_text(src: str) -> str:
    """The file's text for the package: UTF-8, a leading byte-order mark dropped, line
    breaks other than ``"\\n"`` as spaces (so the package's lines are the file's lines).
    An unreadable file or invalid UTF-8 raises :class:`DataFormatError` (the latter
    naming the line)."""
    p = Path(src)
    if not p.is_file():
        raise DataFormatError(src, "no such file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataFormatError(src, f"cannot read: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8-sig").translate(_OTHER_BREAKS)
    except UnicodeDecodeError as exc:  # exc.object: the bytes after the byte-order mark
        line = bytes(exc.object).count(b"\n", 0, exc.start) + 1
        raise DataFormatError(src, f"not UTF-8 text ({exc.reason} at byte "
                                   f"0x{bytes(exc.object)[exc.start]:02x})", line=line) from None


def _reads_as(kind: type, tok: str) -> bool:
    """Whether ``kind(tok)`` (``int`` or ``float``) accepts ``tok``."""
    try:
        kind(tok)
    except ValueError:
        return False
    return True


def _number(src: str, value: object, raw: str, what: str, line: int, *,
            minimum: float | None = None, positive: bool = False) -> float:
    """A number the package read (``value``; a ``str`` when it could not), checked;
    ``raw`` is its text in the file, for the message."""
    if not isinstance(value, int | float):
        raise DataFormatError(src, f"{what}: expected a number, found {raw!r}", line=line)
    v = float(value)
    if not math.isfinite(v):
        raise DataFormatError(src, f"{what}={raw}: not a finite number", line=line)
    if minimum is not None and v < minimum:
        raise DataFormatError(src, f"{what}={raw}: must be >= {minimum:g}", line=line)
    if positive and not v > 0:
        raise DataFormatError(src, f"{what}={raw}: must be > 0", line=line)
    return v


#: ``(line, label, text in the file)`` of each value of a section, in file order
_Cells = list[tuple[int, str, str]]


def _values(src: str, data: object, cells: _Cells, *,
            minimum: float | None = None) -> np.ndarray:
    """The values the package read for ``cells`` (``data``; ``None`` when it failed) as
    a flat float array; the first that is not a number, not finite or below
    ``minimum`` raises :class:`DataFormatError` at its line."""
    vals = None
    with contextlib.suppress(ValueError, TypeError):  # the package keeps such tokens as str
        vals = None if data is None else np.asarray(data, dtype=np.float64).ravel()
    if vals is None or vals.size != len(cells):
        cell = next((c for c in cells if not _reads_as(float, c[2])), None)
        if cell is None:  # not expected: numbers float() reads but the package does not
            raise DataFormatError(src, f"{cells[0][1]}: the vrplib package cannot read "
                                       "these numbers", line=cells[0][0])
        raise DataFormatError(src, f"{cell[1]}: expected a number, found {cell[2]!r}",
                              line=cell[0])
    bad = ~np.isfinite(vals)
    if minimum is not None:
        bad |= vals < minimum
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        ln, label, tok = cells[k]
        _number(src, float(vals[k]), tok, label, ln, minimum=minimum)  # raises
    return vals


#: rows ``(line, fields)`` of one data section
_Rows = list[tuple[int, list[str]]]
#: data sections of a CVRP file (package names); DISPLAY_DATA is ignored
_SECTIONS = ("node_coord", "demand", "depot", "edge_weight", "display_data")
#: the fields of each row of a node section, checked before parsing
_ROW_FIELDS = {"node_coord": ("node x y", 3), "demand": ("node demand", 2),
               "depot": ("a depot node or -1", 1)}


@dataclass(frozen=True)
class _Layout:
    """Where the package finds each part of a VRPLIB text: the line and text of each
    specification (lower-case key, as the package names it) and the header line and
    rows of each data section (``node_coord``, ...)."""

    lines: list[str]
    specs: dict[str, tuple[int, str]]
    sections: dict[str, tuple[int, _Rows]]

    def without(self, name: str) -> str:
        """The text with section ``name`` blanked out (lines keep their numbers)."""
        lines = list(self.lines)
        header, rows = self.sections.get(name, (0, []))
        for ln in (header, *(r for r, _ in rows)) if header else ():
            lines[ln - 1] = ""
        return "\n".join(lines)


def _vrplib_layout(src: str, text: str) -> _Layout:
    """Locate the specifications and sections of a VRPLIB text as the package groups
    them (blank lines and lines starting with ``#`` skipped; a line holding ``_SECTION``
    opens a section, one holding ``:`` is a specification), refusing with its line what
    the package would refuse without one or misread silently (see the module
    docstring)."""
    lines = text.split("\n")
    specs: dict[str, tuple[int, str]] = {}
    sections: dict[str, tuple[int, _Rows]] = {}
    rows: _Rows | None = None
    for ln, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if "EOF" in s:  # the package stops at the first line holding "EOF"
            if s != "EOF":
                raise DataFormatError(src, f"'EOF' inside a line (the file would end here): "
                                           f"{s[:40]!r}", line=ln)
            junk = next((i for i in range(ln, len(lines)) if lines[i].strip()), None)
            if junk is not None:
                raise DataFormatError(src, f"text after EOF (line {ln}): "
                                           f"{lines[junk].strip()[:40]!r}", line=junk + 1)
            break
        if "_SECTION" in s:
            name = s.strip(" :").removesuffix("_SECTION").lower()
            title = f"{name.upper()}_SECTION"
            if name not in _SECTIONS:
                raise DataFormatError(src, f"{s[:40]} is not supported (CVRP files have "
                                           + ", ".join(f"{k.upper()}_SECTION" for k in _SECTIONS)
                                           + ")", line=ln)
            if name in sections:
                raise DataFormatError(src, f"{title} given twice (first on line "
                                           f"{sections[name][0]})", line=ln)
            if name in specs:
                raise DataFormatError(src, f"{title}: {name.upper()} is also a specification "
                                           f"(line {specs[name][0]})", line=ln)
            rows = []
            sections[name] = (ln, rows)
        elif ":" in s:
            if rows is not None:
                raise DataFormatError(src, f"'KEY : VALUE' line after a data section "
                                           f"(specifications come first): {s[:40]!r}", line=ln)
            key, value = (x.strip() for x in re.split(r"\s*:\s*", s, maxsplit=1))
            if key.lower() in specs:
                raise DataFormatError(src, f"{key.upper()} given twice (first on line "
                                           f"{specs[key.lower()][0]})", line=ln)
            specs[key.lower()] = (ln, value)
        elif rows is None:
            raise DataFormatError(src, f"expected 'KEY : VALUE' or a *_SECTION header, "
                                       f"found {s[:40]!r}", line=ln)
        else:
            rows.append((ln, s.split()))
    for name, (fields, k) in _ROW_FIELDS.items():  # ragged rows make the package crash
        for ln, words in sections.get(name, (0, []))[1]:
            if len(words) != k:
                raise DataFormatError(src, f"{name.upper()}_SECTION: expected {k} field"
                                           f"{'s' * (k > 1)} ({fields}), got {len(words)}",
                                      line=ln)
            if name == "depot" and not _reads_as(int, words[0]):
                raise DataFormatError(src, f"DEPOT_SECTION: expected a node number or -1, "
                                           f"found {words[0]!r}", line=ln)
    return _Layout(lines, specs, sections)


def _node_values(src: str, lay: _Layout, inst: dict[str, Any], name: str,
                 fields: tuple[str, ...], dim: int, *,
                 minimum: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The package's array of a node section as ``(dim, len(fields))`` floats, and the
    line of each node's row. The package drops the node numbers and keeps the file
    order, so the rows must be nodes 1..``dim`` in order."""
    header, rows = lay.sections[name]
    sec = f"{name.upper()}_SECTION"
    first: dict[int, int] = {}  # node -> line
    for ln, words in rows:
        if not _reads_as(int, words[0]):
            raise DataFormatError(src, f"{sec}: node number: expected an integer, found "
                                       f"{words[0]!r}", line=ln)
        node = int(words[0])
        if not 1 <= node <= dim:
            raise DataFormatError(src, f"{sec}: node {node} " + (
                f"> DIMENSION {dim}" if node > dim else "< 1"), line=ln)
        if node in first:
            raise DataFormatError(src, f"{sec}: node {node} given twice (first on line "
                                       f"{first[node]})", line=ln)
        first[node] = ln
    if len(rows) < dim:  # distinct nodes in 1..dim: some are missing
        missing = next(i for i in range(1, len(rows) + 2) if i not in first)
        raise DataFormatError(src, f"{sec} has {len(rows)} rows, DIMENSION={dim}: no row "
                                   f"for node {missing}", line=header)
    for k, (ln, words) in enumerate(rows, start=1):
        if int(words[0]) != k:
            raise DataFormatError(src, f"{sec}: node {words[0]} on row {k}: the rows must "
                                       f"be nodes 1..{dim} in order", line=ln)
    cells = [(ln, f"{sec}: {f} of node {k}", words[j])
             for k, (ln, words) in enumerate(rows, start=1)
             for j, f in enumerate(fields, start=1)]
    vals = _values(src, inst[name], cells, minimum=minimum)
    return vals.reshape(dim, len(fields)), np.array([ln for ln, _ in rows])


#: EDGE_WEIGHT_FORMAT -> number of entries for a DIMENSION
_EDGE_COUNTS = {"FULL_MATRIX": lambda n: n * n, "LOWER_ROW": lambda n: n * (n - 1) // 2,
                "UPPER_ROW": lambda n: n * (n - 1) // 2,
                "LOWER_DIAG_ROW": lambda n: n * (n + 1) // 2,
                "UPPER_DIAG_ROW": lambda n: n * (n + 1) // 2}


def _edge_weights(src: str, lay: _Layout, inst: dict[str, Any], dim: int) -> np.ndarray:
    """The ``dim x dim`` matrix of the ``EDGE_WEIGHT_SECTION`` (finite, >= 0), read by
    the package once its size is checked against ``DIMENSION``."""
    from vrplib.parse import parse_vrplib

    ewt_line = lay.specs["edge_weight_type"][0]
    if "edge_weight_format" not in inst:
        raise DataFormatError(src, "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_FORMAT",
                              line=ewt_line)
    fmt_line, fmt = lay.specs["edge_weight_format"]
    fmt = fmt.upper()
    if fmt not in _EDGE_COUNTS:
        raise DataFormatError(src, f"EDGE_WEIGHT_FORMAT={fmt}: only " + ", ".join(_EDGE_COUNTS),
                              line=fmt_line)
    if "edge_weight" not in lay.sections:
        raise DataFormatError(src, "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_SECTION",
                              line=ewt_line)
    header, rows = lay.sections["edge_weight"]
    cells = [(ln, "EDGE_WEIGHT_SECTION entry", tok) for ln, words in rows for tok in words]
    need = _EDGE_COUNTS[fmt](dim)  # checked before anything of size dim is built
    if len(cells) < need:
        raise DataFormatError(src, f"EDGE_WEIGHT_SECTION holds {len(cells)} numbers; "
                                   f"{fmt} with DIMENSION {dim} needs {need}",
                              line=cells[-1][0] if cells else header)
    if len(cells) > need:
        raise DataFormatError(src, f"EDGE_WEIGHT_SECTION: {cells[need][2]!r} is one number "
                                   f"more than {fmt} with DIMENSION {dim} needs ({need})",
                              line=cells[need][0])
    if fmt == "FULL_MATRIX":  # the package reads it as a table: rows of equal length
        ln, words = next((r for r in rows if len(r[1]) != len(rows[0][1])), rows[0])
        if len(words) != len(rows[0][1]):
            raise DataFormatError(src, f"EDGE_WEIGHT_SECTION: FULL_MATRIX row of {len(words)} "
                                       f"numbers after rows of {len(rows[0][1])}", line=ln)
    # the package reads LOWER_ROW and FULL_MATRIX; the other triangles as the same stream
    as_fmt = "FULL_MATRIX" if fmt == "FULL_MATRIX" else "LOWER_ROW"
    section = "\n".join(["EDGE_WEIGHT_TYPE : EXPLICIT", f"EDGE_WEIGHT_FORMAT : {as_fmt}",
                         "EDGE_WEIGHT_SECTION", *(lay.lines[ln - 1] for ln, _ in rows)])
    try:
        matrix = np.asarray(parse_vrplib(section, compute_edge_weights=False)
                            ["edge_weight"])
    except (ValueError, TypeError):  # LOWER_ROW: a token that is not a number
        matrix = None
    stream = matrix if matrix is None or fmt == "FULL_MATRIX" else \
        matrix[np.tril_indices(matrix.shape[0], -1)]
    vals = _values(src, stream, cells, minimum=0.0)
    if fmt == "FULL_MATRIX":
        return vals.reshape(dim, dim)
    if fmt == "LOWER_ROW":
        return np.asarray(matrix, dtype=np.float64)
    idx = {"UPPER_ROW": np.triu_indices(dim, 1), "LOWER_DIAG_ROW": np.tril_indices(dim),
           "UPPER_DIAG_ROW": np.triu_indices(dim)}[fmt]
    dist = np.zeros((dim, dim))
    dist[idx] = vals
    dist[idx[1], idx[0]] = vals
    return dist


def read_vrplib(path: str | os.PathLike[str], *, rounding: str = "auto",
                single_trip: bool | None = None) -> RoutingData:
    """Read a CVRPLIB ``.vrp`` (TYPE CVRP, depot = node 1) into :class:`RoutingData`.

    ``rounding`` of ``EUC_2D`` distances: ``"nint"`` (TSPLIB nearest integer),
    ``"exact"``, or ``"auto"`` (default): exact when the file has ``DISTANCE`` or
    ``SERVICE_TIME`` (CMT), else nint (see the module docstring). ``single_trip``: one
    CVRP route per vehicle (see the module docstring); ``None`` means only when the file
    limits the route length (``DISTANCE``).

    The ``vrplib`` package parses the file; every malformed field raises
    :class:`DataFormatError` naming the file and the line (see the module docstring).
    """
    from vrplib.parse import parse_vrplib  # only needed for this format

    if rounding not in ("auto", "nint", "exact"):
        raise ValueError(f"rounding={rounding!r}: expected 'auto', 'nint' or 'exact'")
    src = str(path)
    lay = _vrplib_layout(src, _read_text(src))
    if not lay.specs and not lay.sections:
        raise DataFormatError(src, "not a VRPLIB instance: no 'KEY : VALUE' line and no "
                                   "data section")
    try:  # the EDGE_WEIGHT_SECTION is read once DIMENSION is known (_edge_weights)
        inst = parse_vrplib(lay.without("edge_weight"), compute_edge_weights=False)
    except (ValueError, RuntimeError, TypeError, IndexError) as exc:  # not expected here
        raise DataFormatError(src, f"not a VRPLIB instance (vrplib: {exc})") from exc
    for key in ("dimension", "capacity"):
        if key not in inst:
            raise DataFormatError(src, f"missing {key.upper()}")
    if "demand" not in lay.sections:
        raise DataFormatError(src, "missing DEMAND_SECTION")
    if "type" in inst and str(inst["type"]).upper() not in ("CVRP", "ACVRP"):
        raise DataFormatError(src, f"TYPE={inst['type']}: only CVRP is supported",
                              line=lay.specs["type"][0])
    dim_line, dim_raw = lay.specs["dimension"]
    dim = inst["dimension"]
    if isinstance(dim, float) and dim.is_integer():
        dim = int(dim)
    if not isinstance(dim, int):
        raise DataFormatError(src, f"DIMENSION: expected an integer, found {dim_raw!r}",
                              line=dim_line)
    if dim < 2:
        raise DataFormatError(src, f"DIMENSION={dim_raw}: must be >= 2", line=dim_line)

    def spec(key: str, **check: Any) -> float:
        return _number(src, inst[key], lay.specs[key][1], key.upper(), lay.specs[key][0],
                       **check)

    capacity = spec("capacity", positive=True)
    max_route = spec("distance", positive=True) if "distance" in inst else None
    service_val = spec("service_time", minimum=0.0) if "service_time" in inst else 0.0
    if "edge_weight_type" not in inst:
        raise DataFormatError(src, "missing EDGE_WEIGHT_TYPE (EUC_2D or EXPLICIT)")
    ewt = str(inst["edge_weight_type"]).upper()
    if ewt not in ("EUC_2D", "EXPLICIT"):
        raise DataFormatError(src, f"EDGE_WEIGHT_TYPE={ewt!r}: only EUC_2D and EXPLICIT",
                              line=lay.specs["edge_weight_type"][0])
    xy = None
    if "node_coord" in lay.sections:
        xy, _ = _node_values(src, lay, inst, "node_coord", ("x", "y"), dim)
    mode = rounding if rounding != "auto" else (
        "exact" if ("distance" in inst or "service_time" in inst) else "nint")
    if ewt == "EUC_2D":
        if xy is None:
            raise DataFormatError(src, f"EDGE_WEIGHT_TYPE EUC_2D needs a NODE_COORD_SECTION "
                                       f"of {dim} rows 'node x y'",
                                  line=lay.specs["edge_weight_type"][0])
        d = _euclid(xy)
        dist = _nint(d) if mode == "nint" else d
    else:
        dist = _edge_weights(src, lay, inst, dim)
    dem, dem_lines = _node_values(src, lay, inst, "demand", ("demand",), dim, minimum=0.0)
    _check_depot(src, lay, inst)
    service = np.full(dim, service_val)
    service[0] = 0.0
    name = lay.specs.get("name", (0, ""))[1] or Path(src).stem
    if single_trip is None:
        single_trip = max_route is not None
    elif max_route is not None and not single_trip:
        raise ValueError("single_trip=False cannot keep the DISTANCE limit of each route")
    return _build(source=src, name=name, node_ids=[str(i) for i in range(1, dim + 1)],
                  dist=dist, demand=dem[:, 0], capacity=capacity, demand_lines=dem_lines,
                  service=service, open_s=np.zeros(dim), close_s=np.full(dim, np.inf),
                  depot_open=0.0, depot_close=None, max_route=max_route, n_vehicles=None,
                  xy=xy, single_trip=single_trip, meta={
                      "format": "vrplib", "edge_weight_type": ewt,
                      "rounding": mode if ewt == "EUC_2D" else "explicit"})


def _check_depot(src: str, lay: _Layout, inst: dict[str, Any]) -> None:
    """``DEPOT_SECTION`` (the package drops the ``-1``s): node 1 alone (absent: node 1)."""
    if "depot" not in lay.sections:
        return
    header, rows = lay.sections["depot"]
    where = [ln for ln, words in rows if int(words[0]) != -1]
    depots = np.atleast_1d(np.asarray(inst["depot"])).astype(np.int64) + 1
    if depots.size == 0:
        raise DataFormatError(src, "DEPOT_SECTION names no depot", line=header)
    k = 0 if depots[0] != 1 else 1
    if k < depots.size:
        raise DataFormatError(src, f"DEPOT_SECTION: depot {depots[k]}: only a single depot "
                                   "at node 1 is supported", line=where[k])


#: the columns of a Solomon customer row
_SOLOMON_FIELDS = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE",
                   "SERVICE TIME")
#: what the package looks for on the lines after the name (index among non-blank lines)
_SOLOMON_HEADS = (
    (1, ("VEHICLE",), "the line 'VEHICLE'"),
    (2, ("NUMBER", "CAPACITY"), "the line 'NUMBER CAPACITY'"),
    (4, ("CUSTOMER",), "the line 'CUSTOMER'"),
    (5, ("CUST", "NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY", "DUE", "DATE", "SERVICE",
         "TIME"), "the column header row 'CUST NO. XCOORD. ...'"),
)


def _integer_field(src: str, tok: str, what: str, line: int) -> None:
    """Refuse ``tok`` unless it is an integer (the package reads Solomon data as ints)."""
    if not _reads_as(int, tok):
        kind = "an integer" if _reads_as(float, tok) else "a number"
        raise DataFormatError(src, f"{what}: expected {kind}, found {tok!r}", line=line)


def _solomon_layout(src: str, text: str) -> list[tuple[int, list[str]]]:
    """The lines the package reads (not blank, not starting with ``#``) as ``(line,
    fields)``, after refusing with its line what the package would refuse without one or
    misread: the header lines, the fleet line ``NUMBER CAPACITY`` and the customer rows,
    seven integers each, numbered 0, 1, 2, ..."""
    lines = [(ln, s) for ln, raw in enumerate(text.split("\n"), start=1)
             if (s := raw.strip()) and not s.startswith("#")]
    for i, heads, what in _SOLOMON_HEADS:
        if i >= len(lines):
            raise DataFormatError(src, f"not a Solomon instance: the file ends before {what}",
                                  line=lines[-1][0] if lines else 1)
        if not all(w in lines[i][1] for w in heads):
            raise DataFormatError(src, f"not a Solomon instance: expected {what}, found "
                                       f"{lines[i][1][:40]!r}", line=lines[i][0])
    rows = [(ln, s.split()) for ln, s in lines]
    ln, words = rows[3]
    if len(words) != 2:
        raise DataFormatError(src, f"expected 2 fields (NUMBER CAPACITY), got {len(words)}",
                              line=ln)
    for tok, what in zip(words, ("VEHICLE NUMBER", "CAPACITY"), strict=True):
        _integer_field(src, tok, what, ln)
    if len(rows) < 8:
        raise DataFormatError(src, "needs the depot row and at least one customer row",
                              line=rows[-1][0])
    for r, (ln, words) in enumerate(rows[6:]):
        if len(words) != len(_SOLOMON_FIELDS):
            raise DataFormatError(src, f"expected {len(_SOLOMON_FIELDS)} fields "
                                       f"({' '.join(_SOLOMON_FIELDS)}), got {len(words)}",
                                  line=ln)
        _integer_field(src, words[0], "CUST NO.", ln)
        if int(words[0]) != r:
            raise DataFormatError(src, f"CUST NO.={words[0]}: expected {r} (the depot is 0, "
                                       "the customers follow in order)", line=ln)
        for tok, field in zip(words[1:], _SOLOMON_FIELDS[1:], strict=True):
            _integer_field(src, tok, f"{field} of customer {r}", ln)
    return rows


def read_solomon(path: str | os.PathLike[str]) -> RoutingData:
    """Read a Solomon / Gehring-Homberger VRPTW ``.txt`` into :class:`RoutingData`.

    Layout (blank lines ignored): the instance name; ``VEHICLE``; ``NUMBER CAPACITY``;
    the fleet size and the capacity; ``CUSTOMER``; the column header row; then one row
    ``CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE SERVICE TIME`` of integers per
    place, the depot (number 0) first and the customers numbered 1, 2, ... in order. The
    ``vrplib`` package parses the file; every malformed field raises
    :class:`DataFormatError` naming the file and the line.
    """
    from vrplib.parse import parse_solomon

    src = str(path)
    text = _read_text(src)
    rows = _solomon_layout(src, text)
    try:
        inst = parse_solomon(text, compute_edge_weights=False)
    except (ValueError, RuntimeError, TypeError, IndexError) as exc:  # not expected here
        raise DataFormatError(src, f"not a Solomon instance (vrplib: {exc})") from exc
    ln, (n_tok, cap_tok) = rows[3]
    if int(inst["vehicles"]) < 1:
        raise DataFormatError(src, f"VEHICLE NUMBER={n_tok}: must be >= 1", line=ln)
    capacity = _number(src, inst["capacity"], cap_tok, "CAPACITY", ln, positive=True)
    table = rows[6:]
    cells = [(ln, f"{_SOLOMON_FIELDS[j]} of customer {r}", words[j])
             for r, (ln, words) in enumerate(table) for j in range(3, 7)]
    _values(src, np.column_stack([inst["demand"], inst["time_window"], inst["service_time"]]),
            cells, minimum=0.0)
    tw = np.asarray(inst["time_window"], dtype=np.float64)
    late = np.flatnonzero(tw[:, 1] < tw[:, 0])
    if late.size:
        r = int(late[0])
        ln, words = table[r]
        raise DataFormatError(src, f"customer {r}: DUE DATE {words[5]} before READY TIME "
                                   f"{words[4]}", line=ln)
    xy = np.asarray(inst["node_coord"], dtype=np.float64)
    dim = xy.shape[0]
    return _build(source=src, name=str(inst["name"]).strip(),
                  node_ids=[str(i) for i in range(dim)], dist=_euclid(xy),
                  demand=np.asarray(inst["demand"], dtype=np.float64), capacity=capacity,
                  demand_lines=np.array([ln for ln, _ in table]),
                  service=np.asarray(inst["service_time"], dtype=np.float64),
                  open_s=tw[:, 0], close_s=tw[:, 1], depot_open=float(tw[0, 0]),
                  depot_close=float(tw[0, 1]), max_route=None,
                  n_vehicles=int(inst["vehicles"]), xy=xy, single_trip=True,
                  meta={"format": "solomon", "edge_weight_type": "EUC_2D",
                        "rounding": "exact"})


def plan_trips(data: RoutingData, plan: RoutePlan) -> list[list[int]]:
    """The CVRP routes of a plan: stop indices of each trip (visits between unloads)."""
    trips: list[list[int]] = []
    for route in plan.routes:
        cur: list[int] = []
        for v in route.visits:
            if v.kind == "stop":
                cur.append(int(v.index))
            elif cur:  # an unload or the final depot closes the trip
                trips.append(cur)
                cur = []
        if cur:
            trips.append(cur)
    return trips


def trips_cost(data: RoutingData, trips: list[list[int]]) -> float:
    """``sum over trips of c(depot, s_1) + ... + c(s_k, depot)`` from the matrix."""
    depot = int(data.depots[0])
    total = 0.0
    for t in trips:
        locs = np.array([depot, *(int(data.stops[s]) for s in t), depot])
        total += float(data.distance_m[locs[:-1], locs[1:]].sum())
    return total


def format_vrplib_sol(data: RoutingData, plan: RoutePlan) -> str:
    """VRPLIB solution text: ``Route #k: c1 c2 ...`` lines and ``Cost X``.

    Customers are numbered as in CVRPLIB solutions: ``1..n`` in file order after the
    depot (node ``i + 1`` of a ``.vrp``, customer ``i`` of a Solomon file).
    """
    trips = plan_trips(data, plan)
    lines = [f"Route #{k}: " + " ".join(str(s + 1) for s in t)
             for k, t in enumerate(trips, start=1)]
    cost = trips_cost(data, trips)
    if math.isclose(cost, round(cost), abs_tol=1e-6):
        lines.append(f"Cost {round(cost)}")
    else:
        lines.append(f"Cost {cost:.2f}")
    return "\n".join(lines) + "\n"


def write_vrplib_sol(data: RoutingData, plan: RoutePlan,
                     path: str | os.PathLike[str]) -> Path:
    """Write :func:`format_vrplib_sol` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(format_vrplib_sol(data, plan), encoding="utf-8")
    return out


def read_vrplib_sol_cost(path: str | os.PathLike[str]) -> float:
    """The ``Cost`` of a VRPLIB ``.sol`` file (best-known value of a CVRPLIB instance)."""
    src = str(path)
    try:
        text = Path(src).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFormatError(src, f"cannot read: {exc.strerror}") from exc
    for ln, line in enumerate(text.split("\n"), start=1):
        tokens = line.split()
        if tokens and tokens[0].lower() == "cost":
            try:
                return float(tokens[1])
            except (IndexError, ValueError):
                raise DataFormatError(src, f"bad Cost line: {line!r}", line=ln) from None
    raise DataFormatError(src, "no Cost line")
