"""Readers for the classic facility-location benchmarks, and the ``wastenet solve`` path.

Each classic instance becomes a :class:`~wastenet.siting.data.SitingData` of ONE echelon:
the customers are villages, the candidate facilities are incinerator candidates reached by
``direct`` arcs only (no transfer candidates, no haul arcs). The engine's objective on such
data is

.. math::

    \\min \\sum_k f_k y_k + \\sum_{(i,k)} u_{ik} \\, w_i \\, x_{ik}

over site openings :math:`y_k \\in \\{0,1\\}` and demand fractions :math:`x_{ik} \\ge 0` with

* :math:`\\sum_k x_{ik} = 1` for every customer :math:`i` (full coverage),
* :math:`\\sum_i w_i x_{ik} \\le s_k y_k` for every site :math:`k` (capacity),
* :math:`x_{ik} \\in \\{0,1\\}` when ``single_source`` (Holmberg),
* :math:`\\sum_k y_k = p` for p-median (a :class:`CountTarget`).

The arc ``unit_cost`` :math:`u_{ik}` is chosen so that this objective is *exactly* the
benchmark's own objective:

* ``orlib-cap`` (Beasley 1988): the file gives, per customer, demand :math:`w_i` and the
  cost :math:`c_{ik}` of allocating ALL of its demand to site :math:`k`; a fraction
  :math:`x_{ik}` costs :math:`c_{ik} x_{ik}`, so :math:`u_{ik} = c_{ik} / w_i`.
  Multi-source (``single_source=False``).
* ``pmed`` (Beasley 1985): every vertex is a customer with :math:`w_i = 1` and a site with
  zero fixed cost and a capacity equal to the total demand (never binding);
  :math:`u_{ik} = d_{ik}`, the shortest-path distance; exactly :math:`p` sites open.
* ``holmberg`` (Holmberg et al. 1999): :math:`c_{ik}` is the cost of assigning customer
  :math:`i` to site :math:`k`, so again :math:`u_{ik} = c_{ik} / w_i`; single-source.

Readers never trust a file: every malformed token raises
:class:`~wastenet.errors.DataFormatError` naming the path and the 1-based line (lines end
at ``"\\n"`` only; invalid UTF-8 is named with its line too). orlib-cap and Holmberg files
can hold the same number of tokens, so each of those readers also checks its format's
line layout (where a customer's record, or a block, starts a new line) and names the
other format in a hint when the layout does not match.

Infeasible instances are reported in the benchmark's own terms (customers, sites, ``p``,
graph components) by :func:`check_capacity` before the solve, and by
:func:`solve_benchmark_file` restating the engine's proof (which speaks of villages,
incinerators and count targets).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from wastenet.atomicio import write_atomic
from wastenet.bounds import check_seed, check_time_limit
from wastenet.errors import DataFormatError, InfeasibleError, ValidationError
from wastenet.siting.data import Arcs, CountTarget, Sites, SiteStatus, SitingData

log = logging.getLogger("wastenet.formats.facility")

FORMATS: tuple[str, ...] = ("orlib-cap", "pmed", "holmberg")

#: memory budget of ONE dense n x n float64 matrix of the p-median reader (the reader and
#: the one-echelon model hold a few of them at once); 256 MiB allows n <= 5792, far above
#: the OR-Library instances (n <= 900)
PMED_MATRIX_BUDGET_BYTES = 256 * 2**20
PMED_MAX_VERTICES = math.isqrt(PMED_MATRIX_BUDGET_BYTES // 8)

#: tolerance on each customer's fractions summing to one, and on capacities (relative)
_FRACTION_TOL = 1e-6
_CAPACITY_TOL = 1e-6


# --------------------------------------------------------------------------------------
# tokenising with line numbers
# --------------------------------------------------------------------------------------


class _Tokens:
    """Whitespace-separated tokens of a text file, each remembered with its 1-based line.

    Lines are split on ``"\\n"`` only: ``\\r``, form feeds and the other characters that
    :meth:`str.splitlines` would also break on are whitespace inside a line, so line
    numbers match what an editor shows. A UTF-8 byte-order mark is dropped; invalid UTF-8
    is reported with its line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError as exc:
            raise DataFormatError(self.path, "file not found") from exc
        except OSError as exc:
            raise DataFormatError(self.path, f"cannot read file: {exc.strerror}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:  # exc.object: the bytes after the byte-order mark
            data = bytes(exc.object)
            raise DataFormatError(
                self.path, f"not a UTF-8 text file ({exc.reason} at byte "
                f"0x{data[exc.start]:02x})", line=data.count(b"\n", 0, exc.start) + 1) from None
        # Some distributed files end in NUL padding, in a few cases followed by disk-block
        # slack (Holmberg p10, p47, ...): the data end at the first NUL byte. If the
        # instance is incomplete there, the end-of-file error names that line.
        self.nul_line: int | None = None
        cut = text.find("\x00")
        if cut >= 0:
            self.nul_line = text.count("\n", 0, cut) + 1
            rest = text[cut:].replace("\x00", "").strip()
            if rest:
                log.warning("%s:%d: ignoring %d characters after a NUL byte", self.path,
                            self.nul_line, len(rest))
            text = text[:cut]
        toks: list[str] = []
        lines: list[int] = []
        n_lines = 0
        rows = text.split("\n")
        if len(rows) > 1 and rows[-1] == "":
            rows.pop()  # the final newline ends the last line; it does not start one
        for n_lines, line in enumerate(rows, start=1):
            for tok in line.split():
                toks.append(tok)
                lines.append(n_lines)
        self.toks = toks
        self.lines = lines
        self.n_lines = max(n_lines, 1)
        self.pos = 0

    def _eof(self, what: str, more: str = "") -> DataFormatError:
        if self.nul_line is not None:
            return DataFormatError(self.path, f"data end at a NUL byte, expected {what}{more}",
                                   line=self.nul_line)
        return DataFormatError(self.path, f"unexpected end of file, expected {what}{more}",
                               line=self.n_lines)

    def line(self) -> int:
        """Line of the next token (or of the last line at the end of the file)."""
        return self.lines[self.pos] if self.pos < len(self.toks) else self.n_lines

    def starts_line(self, pos: int) -> bool:
        """True when token ``pos`` is the first on its line (or past the end)."""
        return pos == 0 or pos >= len(self.toks) or self.lines[pos] != self.lines[pos - 1]

    def expect_line_start(self, pos: int, what: str, layout: str, other: str) -> None:
        """Refuse a file whose token ``pos`` (the first of ``what``) does not start a line:
        the ``layout`` of this format puts it there, and a file of format ``other`` with
        the same token count would otherwise be read as this one."""
        if not self.starts_line(pos):
            article = "an" if other[0] in "aeiou" else "a"
            raise DataFormatError(
                self.path, f"{what} should start a new line ({layout}), but {self.toks[pos]!r} "
                f"follows {self.toks[pos - 1]!r} on the same line (hint: is this {article} "
                f"{other} file? then use --format {other}; otherwise a number is missing or "
                "extra before it)", line=self.lines[pos])

    def word(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.toks):
            raise self._eof(what)
        tok, line = self.toks[self.pos], self.lines[self.pos]
        self.pos += 1
        return tok, line

    def number(self, what: str, *, minimum: float | None = None,
               strictly_positive: bool = False) -> float:
        tok, line = self.word(what)
        try:
            val = float(tok)
        except ValueError:
            raise DataFormatError(self.path, f"{what}: expected a number, found {tok!r}",
                                  line=line) from None
        if not math.isfinite(val):
            raise DataFormatError(self.path, f"{what}: {tok!r} is not a finite number", line=line)
        if minimum is not None and val < minimum:
            raise DataFormatError(self.path, f"{what}={tok}: must be >= {minimum:g}", line=line)
        if strictly_positive and not val > 0:
            raise DataFormatError(self.path, f"{what}={tok}: must be > 0", line=line)
        return val

    def integer(self, what: str, *, minimum: int = 0) -> int:
        tok, line = self.word(what)
        try:
            val = int(tok)
        except ValueError:
            raise DataFormatError(self.path, f"{what}: expected an integer, found {tok!r}",
                                  line=line) from None
        if val < minimum:
            raise DataFormatError(self.path, f"{what}={val}: must be >= {minimum}", line=line)
        return val

    def numbers(self, count: int, what: Callable[[int], str], *,
                minimum: float | None = None) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """``count`` numbers (vectorised parse; per-token errors on failure)."""
        end = self.pos + count
        if end > len(self.toks):
            self.pos = len(self.toks)
            raise self._eof(what(len(self.toks) - (end - count)))
        chunk = self.toks[self.pos:end]
        try:
            vals = np.array(chunk, dtype=np.float64)
        except ValueError:
            vals = np.empty(count)
            for r in range(count):
                vals[r] = self.number(what(r))  # raises with the line of the bad token
        lines = np.asarray(self.lines[self.pos:end], dtype=np.int64)
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            r = int(bad[0])
            raise DataFormatError(self.path, f"{what(r)}: {chunk[r]!r} is not a finite number",
                                  line=int(lines[r]))
        if minimum is not None:
            bad = np.flatnonzero(vals < minimum)
            if bad.size:
                r = int(bad[0])
                raise DataFormatError(self.path, f"{what(r)}={chunk[r]}: must be >= {minimum:g}",
                                      line=int(lines[r]))
        self.pos = end
        return vals, lines

    def expect_count(self, needed: int, label: Callable[[int], str], header: str,
                     header_line: int) -> None:
        """Refuse, before anything is allocated, a header (on ``header_line``) whose counts
        call for ``needed`` more tokens than the file holds; ``label(r)`` names the
        ``r``-th token after the header (the first one missing is named)."""
        left = len(self.toks) - self.pos
        if needed > left:
            raise self._eof(label(left), f" (the header on line {header_line}, {header}, "
                            f"calls for {needed} numbers after it; the file holds {left})")

    def expect_end(self) -> None:
        if self.pos < len(self.toks):
            raise DataFormatError(
                self.path,
                f"unexpected extra data {self.toks[self.pos]!r} after the end of the instance",
                line=self.lines[self.pos],
            )


# --------------------------------------------------------------------------------------
# SitingData construction
# --------------------------------------------------------------------------------------


def _one_echelon(
    name: str,
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    fixed: NDArray[np.float64],
    unit_cost: NDArray[np.float64],
    distance: NDArray[np.float64],
    *,
    single_source: bool,
    counts: tuple[CountTarget, ...] = (),
    meta: dict[str, object] | None = None,
) -> SitingData:
    """Customers ``i`` x sites ``k`` as villages x incinerator candidates, dense direct arcs.

    ``unit_cost`` and ``distance`` have shape (n, m); non-finite entries are left out.
    """
    n, m = unit_cost.shape
    ok = np.isfinite(unit_cost) & np.isfinite(distance)
    src, dst = np.nonzero(ok)
    sites = Sites(
        ids=tuple(f"site{k}" for k in range(m)),
        names=tuple(f"site {k}" for k in range(m)),
        county=np.full(m, -1),
        lon=np.full(m, np.nan),
        lat=np.full(m, np.nan),
        size_capacity=capacity.reshape(m, 1),
        size_fixed_cost=fixed.reshape(m, 1),
        n_sizes=np.ones(m, dtype=np.int64),
        size_names=tuple(("single",) for _ in range(m)),
        status=np.full(m, int(SiteStatus.FREE)),
        existing_capacity=np.zeros(m),
        throughput_cost=np.zeros(m),
    )
    return SitingData(
        demand=demand,
        village_ids=tuple(f"cust{i}" for i in range(n)),
        village_names=tuple(f"customer {i}" for i in range(n)),
        village_county=np.full(n, -1),
        village_lon=np.full(n, np.nan),
        village_lat=np.full(n, np.nan),
        must_cover=np.zeros(n, dtype=bool),
        county_codes=(),
        county_names=(),
        county_prefecture=(),
        transfer=Sites.empty(),
        incinerator=sites,
        collect=Arcs.empty(),
        direct=Arcs(src, dst, distance[src, dst], unit_cost[src, dst]),
        haul=Arcs.empty(),
        single_source=single_source,
        counts=counts,
        name=name,
        synthetic=False,
        meta=dict(meta or {}),
    )


def _per_customer_costs(path: str, alloc: NDArray[np.float64], demand: NDArray[np.float64],
                        demand_lines: NDArray[np.int64]) -> NDArray[np.float64]:
    """Unit costs ``c_ik / w_i`` from costs of serving a customer's whole demand."""
    bad = np.flatnonzero(~(demand > 0))
    if bad.size:
        i = int(bad[0])
        raise DataFormatError(
            path,
            f"demand of customer {i + 1} is {demand[i]:g}: must be > 0 (the file's costs are "
            "per customer's whole demand, so a zero demand cannot be priced per tonne)",
            line=int(demand_lines[i]),
        )
    unit: NDArray[np.float64] = alloc / demand[:, None]
    return unit


def _alloc_label(i: int) -> Callable[[int], str]:
    def label(k: int) -> str:
        return f"allocation cost of customer {i + 1} to site {k + 1}"

    return label


def _orlib_label(m: int, r: int) -> str:
    """Name of the ``r``-th number after an orlib-cap header with ``m`` sites."""
    if r < 2 * m:
        return ("capacity", "fixed cost")[r % 2] + f" of site {r // 2 + 1}"
    i, j = divmod(r - 2 * m, m + 1)
    return f"demand of customer {i + 1}" if j == 0 else _alloc_label(i)(j - 1)


def _pmed_label(r: int) -> str:
    """Name of the ``r``-th number after a p-median header."""
    return ("edge endpoint i", "edge endpoint j", "edge cost")[r % 3] + f" of edge {r // 3 + 1}"


def _holmberg_label(m: int, n: int, r: int) -> str:
    """Name of the ``r``-th number after a Holmberg header with ``m`` sites, ``n``
    customers."""
    if r < 2 * m:
        return ("capacity", "fixed cost")[r % 2] + f" of site {r // 2 + 1}"
    if r < 2 * m + n:
        return f"demand of customer {r - 2 * m + 1}"
    q = r - 2 * m - n
    return f"assignment cost of customer {q % n + 1} to site {q // n + 1}"


def read_orlib_cap(path: str | os.PathLike[str], *, capacity: float | None = None) -> SitingData:
    """Read an OR-Library capacitated warehouse location file (cap41…cap134, capa/b/c).

    Layout: ``m n``; ``m`` lines ``capacity fixed_cost``; then per customer, starting a new
    line, its demand and the ``m`` costs of allocating all of that demand to each site
    (wrapped over any number of lines). A customer's demand in mid-line is refused: that
    is how a Holmberg file, with the same token count, is told apart (every bundled file
    of either format was checked). ``capacity`` (the CLI's
    ``--capacity``) replaces every site's capacity; it is required when the file's capacity
    field holds the word ``capacity`` (capa, capb, capc).
    """
    tk = _Tokens(path)
    header_line = tk.line()
    m = tk.integer("number of sites m", minimum=1)
    n = tk.integer("number of customers n", minimum=1)
    if capacity is not None and not (math.isfinite(capacity) and capacity > 0):
        raise ValidationError("capacity", capacity, "must be a finite number > 0")
    tk.expect_count(2 * m + n * (1 + m), partial(_orlib_label, m), f"'{m} {n}'",
                    header_line)
    layout = "orlib-cap: each customer's demand, then its costs"
    for i in range(n):  # before any number is parsed, so that a wrong format is named
        tk.expect_line_start(tk.pos + 2 * m + i * (m + 1), f"customer {i + 1}'s demand",
                             layout, "holmberg")
    cap = np.empty(m)
    fixed = np.empty(m)
    for k in range(m):
        tok, line = tk.word(f"capacity of site {k + 1}")
        if tok.lower() == "capacity":
            if capacity is None:
                raise DataFormatError(
                    tk.path,
                    f"the capacity of site {k + 1} is the placeholder word 'capacity': pass "
                    "--capacity N (see optima.txt for the capacities of capa/capb/capc)",
                    line=line,
                )
            cap[k] = capacity
        else:
            try:
                cap[k] = float(tok)
            except ValueError:
                raise DataFormatError(
                    tk.path, f"capacity of site {k + 1}: expected a number, found {tok!r}",
                    line=line) from None
            if not math.isfinite(cap[k]):
                raise DataFormatError(tk.path, f"capacity of site {k + 1}: {tok!r} is not a "
                                      "finite number", line=line)
            if cap[k] < 0:
                raise DataFormatError(tk.path, f"capacity of site {k + 1}={tok}: must be >= 0",
                                      line=line)
            if capacity is not None:
                cap[k] = capacity
        fixed[k] = tk.number(f"fixed cost of site {k + 1}", minimum=0.0)
    demand = np.empty(n)
    demand_lines = np.empty(n, dtype=np.int64)
    alloc = np.empty((n, m))
    for i in range(n):
        demand_lines[i] = tk.line()
        demand[i] = tk.number(f"demand of customer {i + 1}", minimum=0.0)
        alloc[i], _ = tk.numbers(m, _alloc_label(i), minimum=0.0)
    tk.expect_end()
    unit = _per_customer_costs(tk.path, alloc, demand, demand_lines)
    stem = Path(path).stem
    name = f"{stem}_{capacity:g}" if capacity is not None else stem
    return _one_echelon(name, demand, cap, fixed, unit, alloc, single_source=False,
                        meta={"format": "orlib-cap", "source": str(path)})


def read_pmed(path: str | os.PathLike[str]) -> SitingData:
    """Read an OR-Library p-median file: ``n edges p`` then ``edges`` lines ``i j cost``.

    The graph is undirected; where an edge is listed more than once (in either direction)
    the last listing counts. Distances are all-pairs shortest paths (Dijkstra, scipy).
    Pairs that are not connected get no arc; the connected components are counted into
    ``meta["components"]`` (their sizes into ``meta["component_sizes"]``) for
    :func:`check_capacity`, which refuses more components than ``p``.
    """
    tk = _Tokens(path)
    header_line = tk.line()
    n = tk.integer("number of vertices n", minimum=1)
    e = tk.integer("number of edges", minimum=0)
    p = tk.integer("number of medians p", minimum=1)
    if p > n:
        raise DataFormatError(tk.path, f"p={p}: more medians than vertices (n={n})",
                              line=header_line)
    tk.expect_count(3 * e, _pmed_label, f"'{n} {e} {p}'", header_line)
    if n > PMED_MAX_VERTICES:
        raise DataFormatError(
            tk.path, f"n={n} vertices: the all-pairs distance matrix would take "
            f"{8 * n * n / 2**30:.3g} GiB; this reader takes at most {PMED_MAX_VERTICES} "
            f"vertices ({PMED_MATRIX_BUDGET_BYTES // 2**20} MiB per matrix)", line=header_line)
    raw, lines = tk.numbers(3 * e, _pmed_label)
    tk.expect_end()
    ij = raw.reshape(e, 3)
    ends = ij[:, :2]
    bad = np.flatnonzero((ends != np.round(ends)).any(axis=1)
                         | (ends < 1).any(axis=1) | (ends > n).any(axis=1))
    if bad.size:
        r = int(bad[0])
        raise DataFormatError(
            tk.path, f"edge {r + 1}: endpoints {ij[r, 0]:g} {ij[r, 1]:g} must be integers "
            f"in 1..{n}", line=int(lines[3 * r]))
    neg = np.flatnonzero(ij[:, 2] < 0)
    if neg.size:
        r = int(neg[0])
        raise DataFormatError(tk.path, f"edge {r + 1}: cost {ij[r, 2]:g} must be >= 0",
                              line=int(lines[3 * r + 2]))
    a = ends.min(axis=1).astype(np.int64) - 1
    b = ends.max(axis=1).astype(np.int64) - 1
    w = ij[:, 2]
    # last listing wins: keep, for each undirected pair, its final occurrence
    key = a * n + b
    rev_first = np.unique(key[::-1], return_index=True)[1]
    keep = (e - 1) - rev_first
    keep = keep[a[keep] != b[keep]]  # self loops never shorten a path
    a, b, w = a[keep], b[keep], w[keep]
    # csgraph ignores explicit zeros of sparse input; a zero-cost edge is kept as a tiny
    # positive weight and distances are rounded back below when all costs are integers.
    tiny = np.finfo(np.float64).tiny
    graph = coo_matrix((np.maximum(w, tiny), (a, b)), shape=(n, n)).tocsr()
    dist = shortest_path(graph, method="D", directed=False)
    if w.size and np.all(w == np.round(w)):
        dist = np.where(np.isfinite(dist), np.round(dist), dist)
    n_comp, label = connected_components(graph, directed=False)
    if n_comp > 1:
        log.warning("%s: graph is not connected (%d components); unreachable pairs get no "
                    "arc", tk.path, n_comp)
    counts = (CountTarget("incinerator", p, "eq"),)
    return _one_echelon(Path(path).stem, np.ones(n), np.full(n, float(n)), np.zeros(n), dist,
                        dist, single_source=False, counts=counts,
                        meta={"format": "pmed", "source": str(path), "p": p,
                              "components": int(n_comp),
                              "component_sizes": np.bincount(label).tolist()})


def read_holmberg(path: str | os.PathLike[str]) -> SitingData:
    """Read a Holmberg et al. (1999) single-source CFLP file (p1…p71).

    Layout (site-major, checked against p1's optimum 8848): ``m n``; ``m`` pairs
    ``capacity fixed_cost``; ``n`` demands; then for each site ``k`` the ``n`` costs of
    assigning each customer to ``k``. The demand block and each site's cost block start a
    new line; a block starting in mid-line is refused: that is how an orlib-cap file,
    with the same token count, is told apart (every bundled file of either format was
    checked).
    """
    tk = _Tokens(path)
    header_line = tk.line()
    m = tk.integer("number of sites m", minimum=1)
    n = tk.integer("number of customers n", minimum=1)
    tk.expect_count(2 * m + n + m * n, partial(_holmberg_label, m, n), f"'{m} {n}'",
                    header_line)
    # the layout first, before any number is parsed, so that a wrong format is named
    layout = "holmberg: the demands, then one block of costs per site"
    tk.expect_line_start(tk.pos + 2 * m, "the block of customer demands", layout, "orlib-cap")
    for k in range(m):
        tk.expect_line_start(tk.pos + 2 * m + n + k * n, f"the block of costs of site {k + 1}",
                             layout, "orlib-cap")
    head, _ = tk.numbers(2 * m, partial(_holmberg_label, m, n), minimum=0.0)
    cap, fixed = head[0::2].copy(), head[1::2].copy()
    demand, demand_lines = tk.numbers(n, lambda i: _holmberg_label(m, n, 2 * m + i),
                                      minimum=0.0)
    costs, _ = tk.numbers(m * n, lambda r: _holmberg_label(m, n, 2 * m + n + r), minimum=0.0)
    tk.expect_end()
    alloc = costs.reshape(m, n).T.copy()
    unit = _per_customer_costs(tk.path, alloc, demand, demand_lines)
    return _one_echelon(Path(path).stem, demand, cap, fixed, unit, alloc, single_source=True,
                        meta={"format": "holmberg", "source": str(path)})


def read_facility_file(path: str | os.PathLike[str], fmt: str, *,
                       capacity: float | None = None) -> SitingData:
    """Read ``path`` in benchmark format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValidationError("format", fmt, f"unknown facility format; use one of {FORMATS}")
    if capacity is not None and fmt != "orlib-cap":
        raise ValidationError("capacity", capacity, f"--capacity applies to orlib-cap only, "
                              f"not to {fmt}")
    if fmt == "orlib-cap":
        return read_orlib_cap(path, capacity=capacity)
    if fmt == "pmed":
        return read_pmed(path)
    return read_holmberg(path)


# --------------------------------------------------------------------------------------
# solutions in the benchmark's own terms
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkSolution:
    """A classic-benchmark solution: open sites and ``(customer, site, fraction)`` flows."""

    open_sites: tuple[int, ...]
    flows: tuple[tuple[int, int, float], ...]


def _arc_lookup(data: SitingData) -> dict[tuple[int, int], int]:
    return {(int(i), int(k)): r for r, (i, k) in
            enumerate(zip(data.direct.src, data.direct.dst, strict=True))}


def check_and_cost(data: SitingData, sol: BenchmarkSolution) -> float:
    """Verify ``sol`` against ``data`` and return its cost in the benchmark's own terms.

    Cost = sum of fixed costs of the open sites + sum over flows of
    ``unit_cost * demand * fraction`` (= the file's allocation cost times the fraction).
    Checks: flows use existing arcs to open sites; each customer's fractions sum to 1;
    capacities hold; single sourcing where required; the count target holds.
    Raises :class:`ValidationError` naming the violated rule.
    """
    n, m = data.n_villages, len(data.incinerator)
    opened = np.zeros(m, dtype=bool)
    for k in sol.open_sites:
        if not 0 <= k < m:
            raise ValidationError("open", k, f"site id out of range 0..{m - 1}")
        opened[k] = True
    arc = _arc_lookup(data)
    share = np.zeros(n)
    used = np.zeros(m)
    n_rows = np.zeros(n, dtype=np.int64)
    assign = 0.0
    for i, k, frac in sol.flows:
        if not 0 <= i < n:
            raise ValidationError("flows.customer", i, f"out of range 0..{n - 1}")
        if (i, k) not in arc:
            raise ValidationError("flows", [i, k], "no such customer-site arc")
        if not opened[k]:
            raise ValidationError("flows", [i, k], f"site {k} is not open")
        if not (frac > 0 and frac <= 1 + _FRACTION_TOL):
            raise ValidationError("flows.fraction", [i, k, frac], "must lie in (0, 1]")
        r = arc[(i, k)]
        share[i] += frac
        used[k] += frac * data.demand[i]
        n_rows[i] += 1
        assign += float(data.direct.unit_cost[r]) * float(data.demand[i]) * frac
    bad = np.flatnonzero(np.abs(share - 1.0) > _FRACTION_TOL)
    if bad.size:
        i = int(bad[0])
        raise ValidationError(f"flows[customer {i}]", float(share[i]), "fractions must sum to 1")
    if data.single_source and np.any(n_rows > 1):
        i = int(np.flatnonzero(n_rows > 1)[0])
        raise ValidationError(f"flows[customer {i}]", int(n_rows[i]),
                              "single-source instance: one site per customer")
    cap = data.incinerator.size_capacity[:, 0]
    over = np.flatnonzero(used > cap * (1 + _CAPACITY_TOL) + 1e-9)
    if over.size:
        k = int(over[0])
        raise ValidationError(f"capacity[site {k}]", float(used[k]),
                              f"exceeds capacity {cap[k]:g}")
    n_open = int(opened.sum())
    for t in data.counts:
        ok = {"eq": n_open == t.value, "le": n_open <= t.value, "ge": n_open >= t.value}[t.sense]
        if not ok:
            raise ValidationError("open", n_open, f"count target {t.sense} {t.value} violated")
    fixed = float(data.incinerator.size_fixed_cost[opened, 0].sum())
    return fixed + assign


def _solution_from_result(data: SitingData, result: Any) -> BenchmarkSolution:
    """Open sites and normalised flows of a :class:`~wastenet.siting.result.SitingResult`."""
    size = np.asarray(result.incinerator_size)
    open_sites = tuple(int(k) for k in np.flatnonzero(size != -1))
    if len(result.uncovered):
        raise ValidationError("uncovered", [int(i) for i in result.uncovered][:10],
                              "the solver left customers uncovered")
    if len(result.haul_transfer) or np.any(~np.asarray(result.flow_direct, dtype=bool)):
        raise ValidationError("flows", "via transfer", "classic instances have direct arcs only")
    vill = np.asarray(result.flow_village, dtype=np.int64)
    fac = np.asarray(result.flow_facility, dtype=np.int64)
    frac = np.asarray(result.flow_fraction, dtype=np.float64)
    keep = frac > 1e-12
    vill, fac, frac = vill[keep], fac[keep], frac[keep]
    total = np.bincount(vill, weights=frac, minlength=data.n_villages)
    bad = np.flatnonzero(np.abs(total - 1.0) > _FRACTION_TOL)
    if bad.size:
        i = int(bad[0])
        raise ValidationError(f"flows[customer {i}]", float(total[i]), "fractions must sum to 1")
    frac = frac / total[vill]  # remove round-off so that each customer sums to 1 exactly
    order = np.lexsort((fac, vill))
    flows = tuple((int(vill[r]), int(fac[r]), float(frac[r])) for r in order)
    return BenchmarkSolution(open_sites, flows)


def _write_json(out_path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` (compact JSON and a newline, UTF-8) to ``out_path`` through a
    temporary file ``<name>.tmp`` beside it, replaced in one step
    (:func:`wastenet.atomicio.write_atomic`); the folder is created if missing. Any
    OSError becomes a :class:`ValidationError` naming ``out``; the temporary file is
    removed."""
    text = json.dumps(doc, separators=(",", ":")) + "\n"
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out_path, text, "utf-8")
    except OSError as exc:
        raise ValidationError("out", str(out_path),
                              f"cannot write the output ({exc.strerror or exc})") from exc


def check_capacity(data: SitingData) -> None:
    """Raise :class:`InfeasibleError` in the benchmark's own terms (customers and sites,
    0-based ids as in OUT.json) when the capacities cannot hold the demand: the total
    demand above the total capacity, or, single source, a customer whose demand exceeds
    every site's capacity; and, p-median, when the graph has more connected components
    than ``p`` (``meta["components"]`` from :func:`read_pmed`: a customer is served only
    by a site it can reach, so each component needs an open site). (The engine would
    say the same of "villages", "incinerators" and count targets.)"""
    comps, p = data.meta.get("components"), data.meta.get("p")
    if isinstance(comps, int) and isinstance(p, int) and comps > p:
        sizes = data.meta.get("component_sizes")
        sizes = list(sizes) if isinstance(sizes, list) else []
        shown = ", ".join(str(v) for v in sizes[:10]) + (", ..." if len(sizes) > 10 else "")
        raise InfeasibleError("the instance is infeasible", [
            f"the graph has {comps} connected components (of {shown} vertices) but p={p}: "
            "a customer can only be served by a site it can reach, so every component "
            "needs an open site of its own"])
    caps = data.incinerator.size_capacity
    if caps.size == 0:
        return
    best = caps.max(axis=1)
    demand = np.asarray(data.demand, dtype=float)
    total, room = float(demand.sum()), float(best.sum())
    if total > room * (1 + 1e-9):
        raise InfeasibleError("the instance is infeasible", [
            f"the total demand {total:.6g} exceeds the total capacity {room:.6g} of the "
            f"{best.size} sites"])
    if data.single_source:
        big = np.flatnonzero(demand > best.max() * (1 + 1e-9))
        if big.size:
            shown = ", ".join(f"customer {i} (demand {demand[i]:.6g})"
                              for i in big[:5].tolist())
            more = f" and {big.size - 5} more" if big.size > 5 else ""
            raise InfeasibleError("the instance is infeasible", [
                f"{shown}{more}: each customer is served by one site (single source), "
                f"and the largest site capacity is {best.max():.6g}"])


def _infeasible_in_benchmark_terms(data: SitingData, fmt: str) -> InfeasibleError:
    """The engine's proof of infeasibility restated for a classic instance (customers,
    sites, p), after :func:`check_capacity` found no simpler reason."""
    m = len(data.incinerator)
    total = float(np.sum(data.demand))
    room = float(data.incinerator.size_capacity.max(axis=1).sum()) if m else 0.0
    if data.single_source:
        why = (f"the customers cannot each be assigned whole to one site within the site "
               f"capacities (single source: the total demand {total:.6g} fits the total "
               f"capacity {room:.6g} of the {m} sites only with some customer split)")
    elif fmt == "pmed":
        why = (f"no {data.meta.get('p')} sites can be opened so that every customer reaches "
               "an open site")
    else:
        why = (f"the demand of the customers ({total:.6g} in all) cannot be served by the "
               f"{m} sites within their capacities ({room:.6g} in all) and the arcs given")
    return InfeasibleError("the instance is infeasible", [why])


def solve_benchmark_file(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    time_limit_s: float,
    out: str | os.PathLike[str],
    capacity: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Read a classic instance, solve it with the siting engine, write ``out`` (JSON).

    The JSON holds ``cost`` (recomputed in the benchmark's own terms and checked),
    ``lower_bound`` (the engine's certified bound), ``open`` (0-based site ids) and
    ``flows`` (``[customer, site, fraction]``, 0-based, each customer's fractions sum to
    1), plus ``instance``, ``format``, ``capacity``, ``gap``, ``status``, ``solver``,
    ``seed``, ``time_limit_s`` and ``elapsed_s``. Returns the same dictionary.
    An infeasible instance raises :class:`InfeasibleError` in benchmark terms (see
    :func:`check_capacity`); a folder as ``out`` (existing, or ending in a separator) is
    a :class:`ValidationError` raised before the solve.
    """
    check_time_limit(time_limit_s)
    check_seed(seed)
    out_path = Path(out)
    # found now, not after the solve; "dir/" would otherwise be written as a file "dir"
    if str(out).endswith(("/", os.sep)) or out_path.is_dir():
        raise ValidationError("out", str(out), "is a folder, not a file")
    t0 = time.perf_counter()
    data = read_facility_file(path, fmt, capacity=capacity)
    from wastenet.siting.solve import SiteParams, solve  # the engine (imported lazily)

    # the limit covers the whole command: reading (and shortest paths) count against it
    left = float(time_limit_s) - (time.perf_counter() - t0)
    params = SiteParams(time_limit_s=max(min(1.0, float(time_limit_s)), left), seed=int(seed))
    check_capacity(data)
    try:
        result = solve(data, params)
    except InfeasibleError as exc:  # the engine speaks of villages and incinerators
        log.debug("%s: the engine says: %s", data.name, exc)
        raise _infeasible_in_benchmark_terms(data, fmt) from exc
    sol = _solution_from_result(data, result)
    cost = check_and_cost(data, sol)
    if abs(cost - result.total_cost) > 1e-6 * max(1.0, abs(cost)):
        log.warning("%s: engine cost %.6f differs from the recomputed benchmark cost %.6f",
                    data.name, result.total_cost, cost)
    lb = float(result.lower_bound) + 0.0  # + 0.0 turns -0.0 into 0.0
    cost += 0.0
    elapsed = time.perf_counter() - t0
    doc: dict[str, Any] = {
        "instance": data.name,
        "format": fmt,
        "capacity": capacity,
        "cost": cost,
        "lower_bound": lb,
        "gap": max(0.0, (cost - lb) / cost) if cost > 0 else 0.0,
        "status": result.status,
        "solver": result.solver,
        "seed": int(seed),
        "time_limit_s": float(time_limit_s),
        "elapsed_s": elapsed,
        "open": list(sol.open_sites),
        "flows": [[i, k, f] for i, k, f in sol.flows],
    }
    _write_json(out_path, doc)
    log.info("%s: cost %.6f, lower bound %.6f, %d open, %.2f s", data.name, cost, lb,
             len(sol.open_sites), elapsed)
    return doc
