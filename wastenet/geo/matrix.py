"""User-supplied road distance and travel-time matrices (replacing the estimate).

A matrix covers a set of places named by id (village ids, site ids, depot ids):
``distance_m[a, b]`` is the road distance in metres from place ``a`` to place ``b`` and
``duration_s[a, b]`` the travel time in seconds. The matrix may be asymmetric (one-way
roads); its diagonal is 0. All values are finite and ``>= 0``.

Travel times are checked against the distances (:func:`implausible_durations`): the
speed an arc implies, ``distance_m / duration_s``, must be at most
:data:`MAX_SPEED_KMH` (200 km/h, well above any legal road speed; up to
:data:`DURATION_ROUNDING_S` = 1 s faster is allowed, since routing services round to
whole or tenth seconds, so a zero time is accepted on arcs up to 55.6 m and refused on
longer ones) and, on arcs of at least :data:`MIN_ARC_M` (1 km, the distance check's
:data:`wastenet.scenario.network.MATRIX_MIN_PAIR_M`; on shorter ones snapping and turn
penalties dominate), at least :data:`MIN_SPEED_KMH` (1 km/h). Travel times given in
minutes, hours or milliseconds but labelled as seconds imply speeds 60 or 3,600 times too
high or 1,000 times too low and are refused: the error (:class:`ValidationError` on
``duration_s``; :class:`DataFormatError` naming the file, and the line for CSV, when read
by :func:`load_matrix`) names the value, the pair, the implied speed and how many arcs
are implausible, with a hint at the unit when the median speed points to one. (The
distances are checked against the places' coordinates when a network is built:
:func:`wastenet.scenario.network.check_matrix_plausible`.)

Two file formats are read by :func:`load_matrix` (and written by :func:`save_matrix`):

* ``.npz`` (numpy archive, no pickles): arrays ``ids`` (strings or integers, shape
  ``(n,)``), ``distance_m`` and ``duration_s`` (shape ``(n, n)``);
* ``.csv`` long format, UTF-8 with or without a byte-order mark: header
  ``from_id,to_id,distance_m,duration_s`` (any column order), one line per ordered pair
  ``(a, b)`` with ``a != b``. Every ordered pair of distinct ids appearing in the file
  must be present exactly once (missing pairs are an error that names them); a
  self-pair ``(a, a)`` may be given and must then be 0; otherwise the diagonal is 0.
  A one-place matrix is the single line ``a,a,0,0`` (:func:`save_matrix` writes it so),
  since it has no pair of distinct ids.

Ids are kept in file order (npz) or, for CSV, in order of first appearance in
``from_id``, followed by ids that appear only in ``to_id``. Lookups are
vectorised through an id -> position dictionary built once per matrix.

Size: the CSV reader parses about 0.5 million pairs (700 places) in roughly 3 s on a
loaded 2-core machine; the ``.npz`` form of the same matrix loads in about 0.2 s, so
prefer ``.npz`` for large matrices. The matrix is dense: ``n`` places take
``2 x n x n x 8`` bytes (two float64 arrays). For the whole province, ~11,500 villages
plus ~3,000 transfer-station and ~1,000 incinerator candidates (n = 15,500, 240.25
million pairs), that is 1.922 GB (1.79 GiB) per array and 3.844 GB (3.58 GiB) for
distances and durations together, before any copy (see :class:`DistanceMatrix`).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from wastenet.errors import DataFormatError, ValidationError

log = logging.getLogger("wastenet.geo.matrix")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CSV_COLUMNS = ("from_id", "to_id", "distance_m", "duration_s")

#: plausible travel speeds implied by ``distance_m / duration_s``, km/h: a faster arc is
#: refused (beyond :data:`DURATION_ROUNDING_S`), and so is a slower one of at least
#: :data:`MIN_ARC_M`
MIN_SPEED_KMH = 1.0
MAX_SPEED_KMH = 200.0

#: the lower speed bound applies to arcs at least this long, m (as the distance check's
#: median ignores pairs closer than 1 km): on shorter ones snapping the places to the
#: roads, turn penalties and waits dominate the time
MIN_ARC_M = 1_000.0

#: travel times may be this much shorter than :data:`MAX_SPEED_KMH` allows, s: routing
#: services round them to whole or tenth seconds (so a zero time on a few metres is
#: accepted; on more than 200 km/h x 1 s = 55.6 m it is refused)
DURATION_ROUNDING_S = 1.0

#: elements checked at a time (bounds the temporaries of the check on a large matrix)
_CHUNK = 1 << 22
#: at most about this many arcs enter the median speed of the hint
_SAMPLE = 1 << 20


def _frozen(a: object) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def implausible_durations(distance_m: FloatArray, duration_s: FloatArray
                          ) -> NDArray[np.bool_]:
    """Element-wise: the arcs whose travel time is implausible for their distance (both
    arrays of the same shape, finite and ``>= 0``): a speed above :data:`MAX_SPEED_KMH`
    by more than :data:`DURATION_ROUNDING_S` (a zero time on a positive distance beyond
    55.6 m among them), or below :data:`MIN_SPEED_KMH` on an arc of at least
    :data:`MIN_ARC_M`. Arcs of zero distance are never implausible."""
    fast = duration_s < distance_m / (MAX_SPEED_KMH / 3.6) - DURATION_ROUNDING_S
    slow = (distance_m >= MIN_ARC_M) & (duration_s > distance_m / (MIN_SPEED_KMH / 3.6))
    out: NDArray[np.bool_] = fast | slow
    return out


def _duration_fault(dist: float, dur: float, pair: str) -> str:
    """Why the travel time ``dur`` (s) of the arc ``pair`` over ``dist`` (m) is
    implausible."""
    if dur == 0:
        return (f"the travel time {pair} is 0 on a positive distance of {dist:.6g} m (a "
                f"road takes time: at most {MAX_SPEED_KMH:g} km/h, with "
                f"{DURATION_ROUNDING_S:g} s of rounding, is accepted)")
    return (f"the travel time {pair}, {dur:.6g} s for {dist:.6g} m, implies "
            f"{dist / dur * 3.6:.4g} km/h (plausible: {MIN_SPEED_KMH:g} to "
            f"{MAX_SPEED_KMH:g} km/h; the lower bound on arcs of {MIN_ARC_M:g} m or more, "
            f"{DURATION_ROUNDING_S:g} s of rounding allowed)")


def _units_hint(distance_m: FloatArray, duration_s: FloatArray) -> str:
    """A hint at the unit of the travel times, from the median speed they imply over
    the arcs of at least :data:`MIN_ARC_M` (all positive arcs when there are none; at
    most about :data:`_SAMPLE` of them, evenly spread)."""
    d, t = distance_m.ravel(), duration_s.ravel()
    step = max(1, d.size // _SAMPLE)
    d, t = d[::step], t[::step]
    keep = (d >= MIN_ARC_M) & (t > 0)
    if not keep.any():
        keep = (d > 0) & (t > 0)
    check = ("check that duration_s holds travel times in seconds and distance_m road "
             "distances in metres, and that the ids name the right places")
    if not keep.any():
        return f"no arc with a positive distance has a positive travel time: {check}"
    v = float(np.median(d[keep] / t[keep])) * 3.6
    median = f"the median implied speed is {v:.4g} km/h"
    for factor, unit in ((60, "minutes"), (3600, "hours")):
        if v > MAX_SPEED_KMH and MIN_SPEED_KMH <= v / factor <= MAX_SPEED_KMH:
            return (f"the durations look like {unit} ({median}): duration_s must be in "
                    f"seconds (multiply by {factor:,})")
    if v < MIN_SPEED_KMH and MIN_SPEED_KMH <= v * 1000 <= MAX_SPEED_KMH:
        return (f"the durations look like milliseconds, or the distances like kilometres "
                f"({median}): duration_s must be in seconds and distance_m in metres")
    return f"{median}; {check}"


@dataclass(frozen=True, eq=False)
class DistanceMatrix:
    """Road distances (m) and travel times (s) between ``ids``; arrays are read-only copies.

    The constructor checks the ids (non-empty, distinct), the shapes ``(n, n)``, the
    values (finite, ``>= 0``, zero diagonal) and the travel times against the distances
    (:func:`implausible_durations`; see the module docstring), raising
    :class:`ValidationError` naming the field, the value and the pair.

    Memory: both arrays are dense float64, ``n x n x 8`` bytes each, and the constructor
    copies them (so the caller's arrays and the matrix's are both held while it runs).
    For the province's ~11,500 villages plus ~3,000 transfer-station and ~1,000
    incinerator candidates, n = 15,500 (240.25 million pairs): 1.922 GB (1.79 GiB) for
    ``distance_m`` and as much for ``duration_s``, 3.844 GB (3.58 GiB) together, about
    7.7 GB at the peak of the copy. The network never builds such a matrix (its
    neighbour lists are sparse); a user matrix of that size should be given as
    ``.npz`` (its CSV would hold 240 million lines). The checks run on blocks of rows,
    so they add only tens of MB.
    """

    ids: tuple[str, ...]
    distance_m: FloatArray
    duration_s: FloatArray
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        n = len(ids)
        if n == 0:
            raise ValidationError("ids", [], "a distance matrix needs at least one id")
        index: dict[str, int] = {}
        for k, i in enumerate(ids):
            if i == "":
                raise ValidationError("ids", i, f"id at position {k} is empty")
            if i in index:
                raise ValidationError("ids", i, f"duplicate id at positions {index[i]} and {k}")
            index[i] = k
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)
        for name in ("distance_m", "duration_s"):
            a = _frozen(getattr(self, name))
            if a.shape != (n, n):
                raise ValidationError(name, a.shape, f"shape must be ({n}, {n}) to match ids")
            bad = np.argwhere(~np.isfinite(a) | (a < 0))
            if bad.size:
                r, c = (int(x) for x in bad[0])
                raise ValidationError(name, float(a[r, c]),
                                      f"must be finite and >= 0; from {ids[r]!r} to {ids[c]!r} "
                                      f"({len(bad)} bad entries)")
            diag = np.flatnonzero(np.diagonal(a) != 0)
            if diag.size:
                r = int(diag[0])
                raise ValidationError(name, float(a[r, r]),
                                      f"diagonal must be 0; from {ids[r]!r} to itself")
            object.__setattr__(self, name, a)
        self._check_durations()

    def _check_durations(self) -> None:
        """Refuse travel times that are implausible for their distances
        (:func:`implausible_durations`), naming ``duration_s``, the first such value (in
        row order), its pair, and how many there are; checked on blocks of rows."""
        dist, dur, n = self.distance_m, self.duration_s, len(self.ids)
        step = max(1, _CHUNK // n)
        first: tuple[int, int] | None = None
        count = arcs = 0
        for r0 in range(0, n, step):
            d, t = dist[r0:r0 + step], dur[r0:r0 + step]
            arcs += int(np.count_nonzero(d > 0))
            bad = np.flatnonzero(implausible_durations(d, t))
            if bad.size:
                count += int(bad.size)
                if first is None:
                    r, c = divmod(int(bad[0]), n)
                    first = (r0 + r, c)
        if first is None:
            return
        r, c = first
        pair = f"from {self.ids[r]!r} to {self.ids[c]!r}"
        raise ValidationError(
            "duration_s", float(dur[r, c]),
            f"{_duration_fault(float(dist[r, c]), float(dur[r, c]), pair)}; {count} of the "
            f"{arcs} arcs with a positive distance are implausible",
            hint=_units_hint(dist, dur))

    def __len__(self) -> int:
        return len(self.ids)

    def __reduce__(self) -> tuple[type[DistanceMatrix], tuple[object, ...]]:
        """Pickle through the constructor, so copies in worker processes stay read-only."""
        return (DistanceMatrix, (self.ids, self.distance_m, self.duration_s))

    def indices(self, ids: Sequence[object], field_name: str = "ids") -> IntArray:
        """Positions of ``ids`` in the matrix; :class:`ValidationError` names a missing id."""
        idx = self._index
        try:
            return np.fromiter((idx[str(i)] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as exc:
            missing = list(dict.fromkeys(str(i) for i in ids if str(i) not in idx))
            raise ValidationError(
                field_name, exc.args[0],
                f"id not in the distance matrix ({len(missing)} distinct id(s) missing, e.g. "
                f"{missing[:5]})",
            ) from None

    def positions(self, ids: Sequence[object]) -> IntArray:
        """Positions of ``ids`` in the matrix, ``-1`` for an id the matrix does not cover."""
        idx = self._index
        return np.fromiter((idx.get(str(i), -1) for i in ids), dtype=np.int64, count=len(ids))

    def lookup(self, from_ids: Sequence[object],
               to_ids: Sequence[object]) -> tuple[FloatArray, FloatArray]:
        """Element-wise distance (m) and duration (s) of the arcs ``from_ids[k] -> to_ids[k]``.

        Both sequences have the same length ``K``; the results have shape ``(K,)``.
        """
        if len(from_ids) != len(to_ids):
            raise ValidationError("to_ids", len(to_ids),
                                  f"must have the same length as from_ids ({len(from_ids)})")
        rows = self.indices(from_ids, "from_ids")
        cols = self.indices(to_ids, "to_ids")
        return self.distance_m[rows, cols], self.duration_s[rows, cols]

    def block(self, from_ids: Sequence[object],
              to_ids: Sequence[object]) -> tuple[FloatArray, FloatArray]:
        """Dense sub-matrices ``(len(from_ids), len(to_ids))`` of distance and duration."""
        rows = self.indices(from_ids, "from_ids")
        cols = self.indices(to_ids, "to_ids")
        sel = np.ix_(rows, cols)
        return self.distance_m[sel], self.duration_s[sel]


# --------------------------------------------------------------------------- reading


def load_matrix(path: str | os.PathLike[str]) -> DistanceMatrix:
    """Read a distance/time matrix from ``.npz`` or long-format ``.csv`` (see module doc).

    Raises :class:`DataFormatError` (with the line number for CSV) for malformed files,
    bad values, implausible travel times (:func:`implausible_durations`) and missing or
    duplicate pairs.

    Memory: the matrix is dense, two float64 arrays of ``n x n``: for the province's
    ~15,500 places (~11,500 villages, ~3,000 station and ~1,000 incinerator candidates)
    3.844 GB (1.922 GB each; see :class:`DistanceMatrix`). A CSV needs more while it is
    read (its lines, parsed columns and an ``n x n`` mask of the pairs given).
    """
    pth = Path(path)
    suffix = pth.suffix.lower()
    if suffix == ".npz":
        return _load_npz(pth)
    if suffix == ".csv":
        return _load_csv(pth)
    raise DataFormatError(str(pth), "unknown matrix file type: use .npz or .csv")


def _load_npz(pth: Path) -> DistanceMatrix:
    name = str(pth)
    try:
        with np.load(pth, allow_pickle=False) as z:
            missing = [k for k in ("ids", "distance_m", "duration_s") if k not in z.files]
            if missing:
                raise DataFormatError(name, f"missing array(s) {missing}; found {z.files}")
            ids = z["ids"]
            dist = np.asarray(z["distance_m"])
            dur = np.asarray(z["duration_s"])
    except OSError as exc:
        raise DataFormatError(name, f"cannot read file: {exc}") from None
    except ValueError as exc:  # pickled object arrays, corrupt archives
        raise DataFormatError(name, f"not a plain numpy archive (save ids as a string "
                              f"array, not objects): {exc}") from None
    if ids.ndim != 1 or ids.dtype.kind not in "UiuS":
        raise DataFormatError(name, f"'ids' must be a 1-d array of strings or integers, got "
                              f"dtype {ids.dtype} shape {ids.shape}")
    id_list = [i.decode() if isinstance(i, bytes) else str(i) for i in ids.tolist()]
    for arr_name, arr in (("distance_m", dist), ("duration_s", dur)):
        if arr.dtype.kind not in "fiu":
            raise DataFormatError(name, f"'{arr_name}' must be numeric, got dtype {arr.dtype}")
    try:
        return DistanceMatrix(ids=tuple(id_list), distance_m=dist, duration_s=dur)
    except ValidationError as exc:
        raise DataFormatError(name, str(exc)) from None


def _load_csv(pth: Path) -> DistanceMatrix:
    name = str(pth)
    try:
        text = pth.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataFormatError(name, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(name, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)  # leading blank lines
        if header is None:
            raise DataFormatError(name, "empty file (no header row)", line=1)
        cols = [h.strip().lower() for h in header]
        missing = [c for c in CSV_COLUMNS if c not in cols]
        if missing:
            raise DataFormatError(name, f"missing column(s) {missing}; the header has {cols}",
                                  line=reader.line_num)
        rows = [row for row in reader if row]  # fast path: no per-row bookkeeping
    except csv.Error as exc:
        raise DataFormatError(name, f"malformed CSV: {exc}", line=reader.line_num) from None
    if not rows:
        raise DataFormatError(name, "no data rows")
    lines = _LineNumbers(text)
    pos = [cols.index(c) for c in CSV_COLUMNS]
    width = max(pos) + 1
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    short = np.flatnonzero(lengths < width)
    if short.size:
        k = int(short[0])
        raise DataFormatError(name, f"the row has {lengths[k]} fields, expected {len(cols)}",
                              line=lines[k])
    # One list comprehension per column: far faster than zip(*rows) on long files.
    src = [row[pos[0]].strip() for row in rows]
    dst = [row[pos[1]].strip() for row in rows]
    dist_s = [row[pos[2]] for row in rows]
    dur_s = [row[pos[3]] for row in rows]
    for col, vals in (("from_id", src), ("to_id", dst)):
        if "" in vals:
            raise DataFormatError(name, f"{col} is empty", line=lines[vals.index("")])
    dist = _parse_values(name, "distance_m", dist_s, lines)
    dur = _parse_values(name, "duration_s", dur_s, lines)

    index = dict.fromkeys(src)
    index.update(dict.fromkeys(dst))
    ids = tuple(index)
    pos_of = {i: k for k, i in enumerate(ids)}
    n = len(ids)
    r = np.fromiter(map(pos_of.__getitem__, src), dtype=np.int64, count=len(src))
    c = np.fromiter(map(pos_of.__getitem__, dst), dtype=np.int64, count=len(dst))
    key = r * n + c

    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if dup.size:
        a, b = int(order[dup[0]]), int(order[dup[0] + 1])
        raise DataFormatError(name, f"pair ({src[b]!r}, {dst[b]!r}) given twice (lines "
                              f"{lines[a]} and {lines[b]})", line=lines[b])
    self_pair = np.flatnonzero((r == c) & ((dist != 0) | (dur != 0)))
    if self_pair.size:
        k = int(self_pair[0])
        raise DataFormatError(name, f"distance and duration from {src[k]!r} to itself must be 0",
                              line=lines[k])
    slow_or_fast = np.flatnonzero(implausible_durations(dist, dur))
    if slow_or_fast.size:
        k = int(slow_or_fast[0])
        fault = _duration_fault(float(dist[k]), float(dur[k]), f"from {src[k]!r} to {dst[k]!r}")
        raise DataFormatError(name, f"duration_s={dur_s[k].strip()!r}: {fault}; "
                              f"{slow_or_fast.size} of the {int(np.count_nonzero(dist > 0))} "
                              f"lines with a positive distance are implausible (hint: "
                              f"{_units_hint(dist, dur)})", line=lines[k])

    distance = np.zeros((n, n), dtype=np.float64)
    duration = np.zeros((n, n), dtype=np.float64)
    given = np.zeros((n, n), dtype=bool)
    distance[r, c] = dist
    duration[r, c] = dur
    given[r, c] = True
    np.fill_diagonal(given, True)
    absent = np.argwhere(~given)
    if absent.size:
        shown = [f"({ids[a]!r}, {ids[b]!r})" for a, b in absent[:10].tolist()]
        more = f" and {len(absent) - len(shown)} more" if len(absent) > len(shown) else ""
        raise DataFormatError(name, f"{len(absent)} missing pair(s) of the {n} ids: "
                              f"{', '.join(shown)}{more}")
    log.debug("read %d x %d matrix from %s", n, n, name)
    return DistanceMatrix(ids=ids, distance_m=distance, duration_s=duration)


class _LineNumbers:
    """File line of the k-th data row, computed by a second parse only when a message needs it.

    Data rows are the non-empty CSV records after the header (the same rule as the fast
    path in :func:`_load_csv`); a quoted field spanning lines counts by its last line.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[int] | None = None

    def __getitem__(self, k: int) -> int:
        if self._lines is None:
            reader = csv.reader(io.StringIO(self._text, newline=""))
            out: list[int] = []
            header_seen = False
            for row in reader:
                if not header_seen:
                    header_seen = any(h.strip() for h in row)
                elif row:
                    out.append(reader.line_num)
            self._lines = out
        return self._lines[k]


def _parse_values(name: str, column: str, raw: Sequence[str],
                  lines: _LineNumbers) -> FloatArray:
    """Vectorised float parse; on failure, find the first bad line for the message."""
    try:
        vals = np.asarray(raw, dtype=np.float64)
    except ValueError:
        parsed: list[float] = []
        for k, v in enumerate(raw):
            try:
                parsed.append(float(v))
            except ValueError:
                raise DataFormatError(name, f"{column}={v!r} is not a number",
                                      line=lines[k]) from None
        vals = np.asarray(parsed, dtype=np.float64)  # numpy was stricter than float()
    bad = np.flatnonzero(~np.isfinite(vals) | (vals < 0))
    if bad.size:
        k = int(bad[0])
        raise DataFormatError(name, f"{column}={raw[k].strip()!r} must be finite and >= 0",
                              line=lines[k])
    return vals


# --------------------------------------------------------------------------- writing


def save_matrix(matrix: DistanceMatrix, path: str | os.PathLike[str]) -> None:
    """Write ``matrix`` as ``.npz`` (compressed) or long-format ``.csv`` (off-diagonal pairs;
    for a one-place matrix, its zero self-pair, so that the file names the place).

    CSV values are written with ``repr`` precision, so reading back with
    :func:`load_matrix` gives the same ids and values.
    """
    pth = Path(path)
    suffix = pth.suffix.lower()
    if suffix == ".npz":
        np.savez_compressed(pth, ids=np.array(matrix.ids, dtype=np.str_),
                            distance_m=matrix.distance_m, duration_s=matrix.duration_s)
        return
    if suffix != ".csv":
        raise DataFormatError(str(pth), "unknown matrix file type: use .npz or .csv")
    n = len(matrix)
    with pth.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        if n == 1:
            w.writerow((matrix.ids[0], matrix.ids[0], "0.0", "0.0"))
        for a in range(n):
            for b in range(n):
                if a != b:
                    w.writerow((matrix.ids[a], matrix.ids[b], repr(float(matrix.distance_m[a, b])),
                                repr(float(matrix.duration_s[a, b]))))
