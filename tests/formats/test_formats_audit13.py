"""Audit of the benchmark readers: every malformed field is a DataFormatError naming the
file and the line; wrong facility formats are told apart by their line layout; CMT
distances are unrounded; line numbers survive form feeds and Unicode line breaks;
infeasibility is reported in benchmark terms."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from format_samples import CVRPLIB, KIM_102, SITING, TINY_CAP, VRP, write

from wastenet.errors import DataFormatError, InfeasibleError
from wastenet.formats.facility import (
    read_holmberg,
    read_orlib_cap,
    read_pmed,
    solve_benchmark_file,
)
from wastenet.formats.routing_bench import solve_routing_file
from wastenet.formats.vrplib import read_solomon, read_vrplib, read_vrplib_sol_cost
from wastenet.formats.wcvrptw import parse_wcvrptw, read_wcvrptw

CAP_FILES = sorted((SITING / "orlib-cap").glob("cap*.txt"))
HOLMBERG_FILES = sorted(p for p in (SITING / "sscflp-holmberg").iterdir() if p.name != "os")


SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  2         50

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       1000          0
    1      3         4         10         10        500         5
    2      0         5         20          0        900         5
"""

KIM = (
    "100.0\t// vehicle capacity\r\n200.0\t// yardage per day\r\n10\t// stops\r\n"
    "3600\t// lunch\r\n30\t// MPH\r\nStop_ID\tX\tY\tE\tL\tS\tLoad\tType\r\n"
    "0 0 0 0800 1700 0 9999 0\r\n"
    "9 4400 0 0000 2400 300 9999 2\r\n"
    "5 2200 0 0000 2400 60 40 1\r\n"
)


def raises_at(call: Callable[[], object], path: Path, line: int, needle: str) -> None:
    """``call()`` raises DataFormatError at ``path:line`` whose text holds ``needle``."""
    with pytest.raises(DataFormatError) as err:
        call()
    assert err.value.line == line, str(err.value)
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert needle in str(err.value)


# --------------------------------------------------------------------------------------
# item 1 and 5: the vrplib reader checks every field and names its line
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("DIMENSION : 3", "DIMENSION : abc", 3, "DIMENSION: expected an integer, found 'abc'"),
        ("DIMENSION : 3", "DIMENSION : 1", 3, "DIMENSION=1: must be >= 2"),
        ("DIMENSION : 3", "DIMENSION : 1000000000", 6,
         "NODE_COORD_SECTION has 3 rows, DIMENSION=1000000000: no row for node 4"),
        ("CAPACITY : 10", "CAPACITY : abc", 5, "CAPACITY: expected a number"),
        ("CAPACITY : 10", "CAPACITY : -100", 5, "CAPACITY=-100: must be > 0"),
        ("CAPACITY : 10", "CAPACITY : nan", 5, "not a finite number"),
        ("CAPACITY : 10", "CAPACITY : 10\nDISTANCE : abc", 6, "DISTANCE: expected a number"),
        ("CAPACITY : 10", "CAPACITY : 10\nDISTANCE : 0", 6, "DISTANCE=0: must be > 0"),
        ("CAPACITY : 10", "CAPACITY : 10\nSERVICE_TIME : -10", 6, "SERVICE_TIME=-10: must be"),
        ("CAPACITY : 10", "CAPACITY : 10\nSERVICE_TIME : inf", 6, "not a finite number"),
        ("2 3 4", "2 x 44", 8, "x of node 2: expected a number, found 'x'"),
        ("2 3 4", "2 96 44 99", 8, "expected 3 fields (node x y), got 4"),
        ("2 3 4", "2 inf 4", 8, "x of node 2=inf: not a finite number"),
        ("2 3 4", "3 3 4", 9, "node 3 given twice (first on line 8)"),
        ("2 3 4", "9 3 4", 8, "node 9 > DIMENSION 3"),
        ("2 6\n", "2 abc\n", 12, "demand of node 2: expected a number"),
        ("2 6\n", "2 -6\n", 12, "demand of node 2=-6: must be >= 0"),
        ("2 6\n", "2 60\n", 12, "demand 60 exceeds capacity 10"),
        ("3 5\n", "", 10, "DEMAND_SECTION has 2 rows, DIMENSION=3: no row for node 3"),
        ("DEPOT_SECTION\n1\n", "DEPOT_SECTION\n2\n", 15, "only a single depot at node 1"),
        ("EOF\n", "EOF\n\njunk\n", 19, "text after EOF (line 17)"),
        ("EUC_2D", "GEO", 4, "EDGE_WEIGHT_TYPE='GEO'"),
        ("TYPE : CVRP", "TYPE : TSP", 2, "only CVRP"),
        ("NAME : tri", "NAME : tri\nNAME : again", 2, "NAME given twice (first on line 1)"),
        ("DEPOT_SECTION", "TIME_WINDOW_SECTION\n1 0 5\nDEPOT_SECTION", 14,
         "TIME_WINDOW_SECTION is not supported"),
        ("NAME : tri", "NAME : tri\n12 13", 2, "expected 'KEY : VALUE' or a *_SECTION"),
    ],
)
def test_vrplib_bad_field_names_its_line(tmp_path: Path, old: str, new: str, line: int,
                                         needle: str) -> None:
    """Each malformed field (formerly a ValueError traceback, an engine message without
    the file, or silently accepted) is a DataFormatError naming the file and line."""
    assert old in VRP
    path = write(tmp_path, "bad.vrp", VRP.replace(old, new, 1))
    raises_at(lambda: read_vrplib(path), path, line, needle)


def test_vrplib_negative_edge_weight_names_its_line(tmp_path: Path) -> None:
    """A negative EDGE_WEIGHT_SECTION entry is refused by the reader, naming its line."""
    text = ("NAME : e\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
            "EDGE_WEIGHT_FORMAT : LOWER_ROW\nCAPACITY : 10\nEDGE_WEIGHT_SECTION\n1\n2 -3\n"
            "DEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n")
    path = write(tmp_path, "neg.vrp", text)
    raises_at(lambda: read_vrplib(path), path, 9, "EDGE_WEIGHT_SECTION entry=-3: must be >= 0")


@pytest.mark.parametrize(
    ("fmt", "rows"),
    [
        ("FULL_MATRIX", "0 1 2\n1 0 3\n2 3 0"),
        ("LOWER_ROW", "1\n2 3"),
        ("UPPER_ROW", "1 2\n3"),
        ("LOWER_DIAG_ROW", "0\n1 0\n2 3 0"),
        ("UPPER_DIAG_ROW", "0 1 2\n0 3\n0"),
        ("LOWER_ROW", "1 2 3"),  # the values are a stream, wrapped freely
    ],
)
def test_vrplib_explicit_matrix_formats(tmp_path: Path, fmt: str, rows: str) -> None:
    """Every TSPLIB matrix layout of an EXPLICIT file gives the same symmetric matrix."""
    text = (f"NAME : e\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT : {fmt}\nCAPACITY : 10\nEDGE_WEIGHT_SECTION\n{rows}\n"
            "DEMAND_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n")
    d = read_vrplib(write(tmp_path, "e.vrp", text))
    np.testing.assert_array_equal(d.distance_m[:3, :3], [[0, 1, 2], [1, 0, 3], [2, 3, 0]])


@pytest.mark.parametrize(("rows", "line", "needle"), [
    ("1\n2", 9, "holds 2 numbers; LOWER_ROW with DIMENSION 3 needs 3"),
    ("1\n2 3 4", 9, "'4' is one number more than LOWER_ROW"),
])
def test_vrplib_edge_weight_count_is_checked(tmp_path: Path, rows: str, line: int,
                                             needle: str) -> None:
    """Too few or too many EDGE_WEIGHT_SECTION entries for the format name a line."""
    text = ("NAME : e\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT : LOWER_ROW\nCAPACITY : 10\nEDGE_WEIGHT_SECTION\n{rows}\n"
            "DEMAND_SECTION\n1 0\n2 1\n3 1\nEOF\n")
    path = write(tmp_path, "e.vrp", text)
    raises_at(lambda: read_vrplib(path), path, line, needle)


@pytest.mark.parametrize("fmt", ["FULL_MATRIX", "LOWER_ROW", "UPPER_DIAG_ROW"])
def test_vrplib_huge_dimension_is_a_format_error(tmp_path: Path, fmt: str) -> None:
    """A DIMENSION far beyond the file's data is refused before any matrix of that size
    is built (no MemoryError)."""
    text = ("NAME : e\nTYPE : CVRP\nDIMENSION : 1000000000\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT : {fmt}\nCAPACITY : 10\nEDGE_WEIGHT_SECTION\n1\n2 3\n"
            "DEMAND_SECTION\n1 0\n2 1\n3 1\nEOF\n")
    path = write(tmp_path, "huge.vrp", text)
    raises_at(lambda: read_vrplib(path), path, 9, "holds 3 numbers")


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("  2         50", "  2         abc", 5, "CAPACITY: expected a number"),
        ("  2         50", "  2         -5", 5, "CAPACITY=-5: must be > 0"),
        ("    1      3         4         10", "    1      x         4         10", 11,
         "XCOORD. of customer 1: expected a number, found 'x'"),
        ("10         10        500", "-10         10        500", 11,
         "DEMAND of customer 1=-10: must be >= 0"),
        ("10        500         5", "10        500         5   7", 11, "expected 7 fields"),
        ("10        500", "600        500", 11, "DUE DATE 500 before READY TIME 600"),
        ("    2      0", "    5      0", 12, "CUST NO.=5: expected 2"),
        # the package looks for the word CUSTOMER in the line (so "CUSTOMERS ARE" passes)
        ("CUSTOMER\n", "CLIENTS\n", 7, "expected the line 'CUSTOMER'"),
    ],
)
def test_solomon_bad_field_names_its_line(tmp_path: Path, old: str, new: str, line: int,
                                          needle: str) -> None:
    """The Solomon reader checks every field too and names the line."""
    assert old in SOLOMON
    path = write(tmp_path, "bad.txt", SOLOMON.replace(old, new, 1))
    raises_at(lambda: read_solomon(path), path, line, needle)


def test_solomon_tiny_file_reads() -> None:
    """The reference Solomon file still reads as before (fleet, windows, service)."""
    d = read_solomon(CVRPLIB / "C101.txt")
    assert d.name == "C101" and d.vehicle_types[0].count == 25 and d.n_stops == 100


def test_vrplib_bom_keeps_the_name(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark before ``NAME`` no longer hides the name."""
    d = read_vrplib(write(tmp_path, "bom.vrp", ("\ufeff" + VRP).encode("utf-8")))
    assert d.name == "tri"


# --------------------------------------------------------------------------------------
# item 4: distances follow the instance's convention
# --------------------------------------------------------------------------------------


def test_cmt_distances_are_exact_and_x_rounded() -> None:
    """CMT6 (DISTANCE, SERVICE_TIME) reads unrounded by default, X-n101-k25 rounded."""
    cmt = read_vrplib(CVRPLIB / "CMT6.vrp")
    assert cmt.meta["rounding"] == "exact"
    assert cmt.distance_m[0, 1] == pytest.approx(np.hypot(37 - 30, 52 - 40))
    assert read_vrplib(CVRPLIB / "CMT6.vrp", rounding="nint").distance_m[0, 1] == 14.0
    x = read_vrplib(CVRPLIB / "X-n101-k25.vrp")
    assert x.meta["rounding"] == "nint"
    assert np.array_equal(x.distance_m, np.round(x.distance_m))


@pytest.mark.parametrize(("extra", "rounding"), [("", "nint"),
                                                 ("SERVICE_TIME : 0\n", "exact"),
                                                 ("DISTANCE : 1000\n", "exact")])
def test_rounding_is_chosen_by_the_file(tmp_path: Path, extra: str, rounding: str) -> None:
    """``rounding="auto"``: exact when the file has DISTANCE or SERVICE_TIME, else nint;
    the solve JSON records the choice and the cost follows it."""
    path = write(tmp_path, "tri.vrp", VRP.replace("CAPACITY : 10\n", "CAPACITY : 10\n" + extra))
    assert read_vrplib(path).meta["rounding"] == rounding
    doc = solve_routing_file(path, "vrplib", time_limit_s=1.0, out=tmp_path / "plan.json")
    assert doc["rounding"] == rounding
    # two single-customer trips: 2 * 5 + 2 * 2.5 (nint 3)
    assert doc["cost"] == pytest.approx(16.0 if rounding == "nint" else 15.0)


# --------------------------------------------------------------------------------------
# item 7 and 10: line numbers with form feeds, Unicode line breaks and bad bytes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("brk", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\r"])
def test_facility_line_numbers_ignore_other_line_breaks(tmp_path: Path, brk: str) -> None:
    """A form feed or Unicode line break inside a line is whitespace: the bad token on
    line 7 is still reported on line 7."""
    text = TINY_CAP.replace("8 100", f"8{brk}100").replace("50 150", "50 x")
    path = write(tmp_path, "ff.txt", text)
    raises_at(lambda: read_orlib_cap(path), path, 7, "customer 2 to site 2")


@pytest.mark.parametrize("brk", ["\x0c", "\x85", "\u2028"])
def test_wcvrptw_line_numbers_ignore_other_line_breaks(tmp_path: Path, brk: str) -> None:
    """The Kim reader counts lines on newlines only."""
    text = KIM.replace("200.0\t//", f"200.0{brk}\t//").replace("5 2200 0", "5 2200 zz")
    path = write(tmp_path, "k.txt", text)
    raises_at(lambda: read_wcvrptw(path), path, 9, "x/y not numbers")


def test_sol_cost_line_numbers_ignore_form_feeds(tmp_path: Path) -> None:
    """A bad Cost line after a form feed is named on its own line."""
    path = write(tmp_path, "x.sol", "Route #1: 1\x0c 2\nCost abc\n")
    raises_at(lambda: read_vrplib_sol_cost(path), path, 2, "bad Cost line")


@pytest.mark.parametrize(("reader", "name", "text"), [
    (read_orlib_cap, "cap.txt", TINY_CAP.encode()),
    (read_vrplib, "tri.vrp", VRP.encode()),
    (read_vrplib, "bom.vrp", b"\xef\xbb\xbf" + VRP.encode()),
])
def test_invalid_utf8_names_its_line(tmp_path: Path, reader: Callable[[Path], object],
                                     name: str, text: bytes) -> None:
    """Invalid UTF-8 is reported with the line of the bad byte (line 5 here)."""
    lines = text.split(b"\n")
    lines[4] = lines[4] + b"\xff"
    path = write(tmp_path, name, b"\n".join(lines))
    raises_at(lambda: reader(path), path, 5, "UTF-8")


def test_nan_capacity_is_not_a_finite_number(tmp_path: Path) -> None:
    """A NaN capacity says "not a finite number", not "must be >= 0"."""
    path = write(tmp_path, "cap.txt", TINY_CAP.replace("8 100", "nan 100"))
    raises_at(lambda: read_orlib_cap(path), path, 2, "'nan' is not a finite number")


# --------------------------------------------------------------------------------------
# item 3: orlib-cap and Holmberg files are told apart by their line layout
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CAP_FILES, ids=lambda p: p.name)
def test_cap_file_reads_as_orlib_cap_only(path: Path) -> None:
    """Every bundled orlib-cap file passes its own layout check and is refused as
    holmberg with a hint naming orlib-cap (parsing only)."""
    read_orlib_cap(path, capacity=8000.0 if path.stem in ("capa", "capb", "capc") else None)
    with pytest.raises(DataFormatError) as err:
        read_holmberg(path)
    assert "should start a new line" in str(err.value)
    assert "hint: is this an orlib-cap file?" in str(err.value) and err.value.line


@pytest.mark.parametrize("path", HOLMBERG_FILES, ids=lambda p: p.name)
def test_holmberg_file_reads_as_holmberg_only(path: Path) -> None:
    """Every bundled Holmberg file passes its own layout check and is refused as
    orlib-cap with a hint naming holmberg (parsing only)."""
    read_holmberg(path)
    with pytest.raises(DataFormatError) as err:
        read_orlib_cap(path)
    assert "customer 2's demand should start a new line" in str(err.value)
    assert "hint: is this a holmberg file?" in str(err.value) and err.value.line


@pytest.mark.parametrize(("reader", "text", "line", "needle"), [
    # 2 sites, 4 customers: an orlib-cap file read as holmberg, and the reverse
    (read_holmberg, "2 4\n8 100\n11 50\n5\n50 100\n5\n50 150\n6\n240 60\n1\n10 10\n", 9,
     "the block of costs of site 2"),
    (read_orlib_cap, "2 4\n8 100\n11 50\n2 2 3 3\n50 50 240 10\n100 150 60 10\n", 4,
     "customer 2's demand"),
    (read_holmberg, "2 3\n8 100\n11 50\n5 5 6 50\n50 240\n100 150 60\n", 4,
     "the block of costs of site 1"),
])
def test_tiny_wrong_layouts_are_named(tmp_path: Path, reader: Callable[[Path], object],
                                      text: str, line: int, needle: str) -> None:
    """Hand-made files with the other format's layout name the line and the block. (With
    ``n = m + 1`` the two layouts can coincide line for line, as in the tiny fixtures of
    test_facility.py; no bundled file is like that.)"""
    path = write(tmp_path, "w.txt", text)
    raises_at(lambda: reader(path), path, line, needle)


def test_cap101_as_holmberg_is_refused_before_the_solve(tmp_path: Path) -> None:
    """The audit's repro (cap101 solved as holmberg to 89362.96) is now a format error."""
    with pytest.raises(DataFormatError, match="orlib-cap"):
        solve_benchmark_file(SITING / "orlib-cap" / "cap101.txt", "holmberg", time_limit_s=5,
                             out=tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


# --------------------------------------------------------------------------------------
# item 6 and 10: infeasibility in benchmark terms; no -0.0
# --------------------------------------------------------------------------------------

ENGINE_WORDS = ("village", "incinerator", "station", "count target", "province")


def test_pmed_components_beyond_p_are_named(tmp_path: Path) -> None:
    """Two components and p=1: infeasible, said with components and p, before solving."""
    path = write(tmp_path, "pm.txt", "4 2 1\n1 2 1\n3 4 1\n")
    assert read_pmed(path).meta["components"] == 2
    with pytest.raises(InfeasibleError) as err:
        solve_benchmark_file(path, "pmed", time_limit_s=5, out=tmp_path / "x.json")
    text = str(err.value)
    assert "2 connected components" in text and "p=1" in text
    assert not any(w in text for w in ENGINE_WORDS), text


def test_holmberg_packing_is_restated(tmp_path: Path) -> None:
    """Single-source packing impossible: restated with customers and sites."""
    path = write(tmp_path, "ho.txt", "2 3\n10 1\n10 1\n6 7 7\n1 1 1\n1 1 1\n")
    with pytest.raises(InfeasibleError) as err:
        solve_benchmark_file(path, "holmberg", time_limit_s=5, out=tmp_path / "x.json")
    text = str(err.value)
    assert "customers" in text and "sites" in text and "single source" in text
    assert not any(w in text for w in ENGINE_WORDS), text


def test_lower_bound_is_never_negative_zero(tmp_path: Path) -> None:
    """A zero bound is written as 0.0, not -0.0."""
    out = tmp_path / "x.json"
    solve_benchmark_file(write(tmp_path, "pm1.txt", "1 0 1\n"), "pmed", time_limit_s=5, out=out)
    text = out.read_text()
    assert "-0.0" not in text and json.loads(text)["lower_bound"] == 0.0


# --------------------------------------------------------------------------------------
# item 2: a lunch longer than the depot shift
# --------------------------------------------------------------------------------------


def test_lunch_longer_than_every_depot_window_names_line_4(tmp_path: Path) -> None:
    """The audit's repro: 102_stop.txt with a 39601 s lunch (the depot is open 39600 s)."""
    lines = KIM_102.read_bytes().split(b"\n")
    assert lines[3].startswith(b"3600")
    lines[3] = b"39601" + lines[3][4:]
    path = write(tmp_path, "w.txt", b"\n".join(lines))
    raises_at(lambda: read_wcvrptw(path), path, 4, "lunch duration (s)=39601: longer than")


def test_a_break_longer_than_the_shift_gets_a_domain_answer() -> None:
    """Data that bypass the reader check (a 9 h + 1 s lunch in a 9 h day) get a domain
    answer from the solver, never ``Exception: CP Solver fail``: here a plan the checker
    accepts (the break may follow a route that is back before the break window closes)."""
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    data = parse_wcvrptw(KIM.replace("\r\n", "\n"))
    vt = dataclasses.replace(data.vehicle_types[0], break_duration_s=9 * 3600 + 1)
    long_break = dataclasses.replace(data, vehicle_types=(vt,))
    plan = solve(long_break, RouteParams(time_limit_s=1, solution_limit=5))
    assert check(long_break, plan).ok
