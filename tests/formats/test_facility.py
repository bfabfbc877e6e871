"""Readers of the classic facility-location benchmarks and the ``wastenet solve`` path."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from format_samples import TINY_CAP, write

from wastenet.cli import main
from wastenet.errors import DataFormatError, InfeasibleError, ValidationError
from wastenet.formats.facility import (
    BenchmarkSolution,
    check_and_cost,
    read_facility_file,
    read_holmberg,
    read_orlib_cap,
    read_pmed,
    solve_benchmark_file,
)

REPO = Path(__file__).resolve().parents[2]

# Two sites (A: capacity 8, fixed 100; B: capacity 11, fixed 50), three customers with
# demands 5, 5, 6. Costs of serving a customer's WHOLE demand: c0: A 50, B 100;
# c1: A 50, B 150; c2: A 240, B 60. Total demand 16 needs both sites (fixed 150).
# Multi-source optimum: A takes c1 (5) and 3/5 of c0, B takes 2/5 of c0 and c2:
#   150 + 50 + (0.6*50 + 0.4*100) + 60 = 330.
# Single-source optimum: A={c1}, B={c0,c2} (load 11): 150 + 50 + 100 + 60 = 360.
TINY_HOLMBERG = "2 3\n8 100\n11 50\n5 5 6\n50 50 240\n100 150 60\n"
# Graph: 1-2 listed with 5 then 2 (last counts), 2-3 1, 3-4 1, 4-1 listed 100 then as 1-4
# with 10 (last counts, reversed direction is the same undirected edge).
# Shortest paths: d12=2 d13=3 d14=4 d23=1 d24=2 d34=1. p=1: vertex 2 or 3, cost 5.
TINY_PMED = "4 6 1\n1 2 5\n2 3 1\n3 4 1\n1 2 2\n4 1 100\n1 4 10\n"


def dense_unit_cost(data) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.full((data.n_villages, len(data.incinerator)), np.nan)
    out[data.direct.src, data.direct.dst] = data.direct.unit_cost
    return out


# ---------------------------------------------------------------------- orlib-cap


def test_orlib_cap_parses_tiny_file(tmp_path: Path) -> None:
    """Demands, capacities, fixed costs are read and unit cost = whole-demand cost / demand."""
    data = read_orlib_cap(write(tmp_path, "tiny.txt", TINY_CAP))
    assert data.n_villages == 3 and len(data.incinerator) == 2 and len(data.transfer) == 0
    assert data.demand.tolist() == [5.0, 5.0, 6.0]
    assert data.incinerator.size_capacity[:, 0].tolist() == [8.0, 11.0]
    assert data.incinerator.size_fixed_cost[:, 0].tolist() == [100.0, 50.0]
    assert not data.single_source
    assert len(data.collect) == 0 and len(data.haul) == 0 and len(data.direct) == 6
    np.testing.assert_allclose(dense_unit_cost(data), [[10, 20], [10, 30], [40, 10]])
    assert data.counts == ()


def test_orlib_cap_costs_may_span_lines(tmp_path: Path) -> None:
    """A customer's costs wrapped over several lines (as in the real files) parse the same."""
    wrapped = "2 3\n8 100\n11 50\n5\n50\n100\n5\n50 150\n6\n240\n60\n"
    a = read_orlib_cap(write(tmp_path, "a.txt", TINY_CAP))
    b = read_orlib_cap(write(tmp_path, "b.txt", wrapped))
    np.testing.assert_array_equal(dense_unit_cost(a), dense_unit_cost(b))


def test_orlib_capacity_word_needs_substitution(tmp_path: Path) -> None:
    """capa/b/c style 'capacity' placeholders fail without --capacity, naming the line."""
    text = "2 3\ncapacity 100\ncapacity 50\n5\n50 100\n5\n50 150\n6\n240 60\n"
    path = write(tmp_path, "capx.txt", text)
    with pytest.raises(DataFormatError) as err:
        read_orlib_cap(path)
    assert err.value.line == 2 and "--capacity" in str(err.value) and "capx.txt:2" in str(err.value)
    data = read_orlib_cap(path, capacity=9)
    assert data.incinerator.size_capacity[:, 0].tolist() == [9.0, 9.0]
    assert data.name == "capx_9"


def test_orlib_capacity_option_overrides_numbers(tmp_path: Path) -> None:
    """--capacity replaces numeric capacities too; it must be positive."""
    path = write(tmp_path, "tiny.txt", TINY_CAP)
    assert read_orlib_cap(path, capacity=20).incinerator.size_capacity[:, 0].tolist() == [20, 20]
    with pytest.raises(ValidationError, match="capacity"):
        read_orlib_cap(path, capacity=0)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("2 3\n8 100\n11 5O\n5\n50 100\n5\n50 150\n6\n240 60\n", 3, "fixed cost of site 2"),
        ("2 3\n8 100\n11 50\n5\n50 100\n5\n50 x\n6\n240 60\n", 7, "customer 2 to site 2"),
        ("2 3\n8 100\n11 50\n5\n50 100\n-5\n50 150\n6\n240 60\n", 6, "demand of customer 2"),
        ("2 3\n8 100\n11 50\n5\n50 100\n5\n50 150\n6\n240\n", 9, "end of file"),
        ("2 3\n8 100\n11 50\n5\n50 100\n5\n50 150\n6\n240 60\n7\n", 10, "extra data"),
        ("2 three\n", 1, "number of customers"),
        ("2 3\n8 100\n11 50\n0\n50 100\n5\n50 150\n6\n240 60\n", 4, "must be > 0"),
        ("2 3\n8 100\n11 50\n5\n50 inf\n5\n50 150\n6\n240 60\n", 5, "finite"),
    ],
)
def test_orlib_malformed_lines_are_named(tmp_path: Path, text: str, line: int,
                                         needle: str) -> None:
    """Every malformed token raises DataFormatError with the path and the 1-based line."""
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataFormatError) as err:
        read_orlib_cap(path)
    assert err.value.line == line
    assert needle in str(err.value)
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    """A missing file is reported as a DataFormatError naming the path."""
    with pytest.raises(DataFormatError, match="not found"):
        read_orlib_cap(tmp_path / "nope.txt")


# ---------------------------------------------------------------------- pmed


def test_pmed_shortest_paths_last_duplicate_wins(tmp_path: Path) -> None:
    """All-pairs shortest paths; a repeated edge (in either direction) takes its last cost."""
    data = read_pmed(write(tmp_path, "pm.txt", TINY_PMED))
    expected = np.array([[0, 2, 3, 4], [2, 0, 1, 2], [3, 1, 0, 1], [4, 2, 1, 0]], dtype=float)
    np.testing.assert_array_equal(dense_unit_cost(data), expected)
    dist = np.full((4, 4), np.nan)
    dist[data.direct.src, data.direct.dst] = data.direct.distance_m
    np.testing.assert_array_equal(dist, expected)
    assert data.demand.tolist() == [1.0] * 4
    assert data.incinerator.size_fixed_cost[:, 0].tolist() == [0.0] * 4
    assert np.all(data.incinerator.size_capacity[:, 0] >= data.total_demand)
    (target,) = data.counts
    assert (target.echelon, target.value, target.sense) == ("incinerator", 1, "eq")


def test_pmed_disconnected_pairs_get_no_arc(tmp_path: Path) -> None:
    """Vertices in different components are not linked by an arc (no infinite costs)."""
    data = read_pmed(write(tmp_path, "pm.txt", "4 2 2\n1 2 3\n3 4 7\n"))
    pairs = set(zip(data.direct.src.tolist(), data.direct.dst.tolist(), strict=True))
    assert pairs == {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3)}
    assert np.all(np.isfinite(data.direct.unit_cost))


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("4 2 1\n1 2 5\n2 9 1\n", 3, "edge 2"),
        ("4 2 1\n1 2 5\n2 3 -1\n", 3, "must be >= 0"),
        ("4 3 1\n1 2 5\n2 3 1\n", 3, "end of file"),
        ("4 2 5\n1 2 5\n2 3 1\n", 1, "more medians"),
        ("4 1 1\n1 2.5 5\n", 2, "endpoints"),
    ],
)
def test_pmed_malformed(tmp_path: Path, text: str, line: int, needle: str) -> None:
    """Bad endpoints, costs, truncation and p > n name their line."""
    with pytest.raises(DataFormatError) as err:
        read_pmed(write(tmp_path, "bad.txt", text))
    assert err.value.line == line and needle in str(err.value)


# ---------------------------------------------------------------------- holmberg


def test_holmberg_layout_is_site_major(tmp_path: Path) -> None:
    """After the demands come m blocks of n costs: block k = cost of each customer at site k."""
    data = read_holmberg(write(tmp_path, "p0", TINY_HOLMBERG))
    assert data.single_source
    assert data.demand.tolist() == [5.0, 5.0, 6.0]
    assert data.incinerator.size_capacity[:, 0].tolist() == [8.0, 11.0]
    assert data.incinerator.size_fixed_cost[:, 0].tolist() == [100.0, 50.0]
    np.testing.assert_allclose(dense_unit_cost(data), [[10, 20], [10, 30], [40, 10]])


def test_holmberg_nul_padding(tmp_path: Path) -> None:
    """Trailing NUL padding (and block slack after it) ends the data; a NUL inside does not."""
    padded = TINY_HOLMBERG.encode() + b"\x00" * 40 + b"39. 12.\r\n"
    data = read_holmberg(write(tmp_path, "p1", padded))
    assert data.demand.tolist() == [5.0, 5.0, 6.0]
    cut = TINY_HOLMBERG.encode().replace(b"50 50 240", b"50 \x00\x00 240")
    with pytest.raises(DataFormatError) as err:
        read_holmberg(write(tmp_path, "p2", cut))
    assert err.value.line == 5 and "NUL" in str(err.value)


def test_holmberg_truncated(tmp_path: Path) -> None:
    """A missing assignment cost is reported with the last line."""
    with pytest.raises(DataFormatError) as err:
        read_holmberg(write(tmp_path, "p3", TINY_HOLMBERG.rstrip("\n")[:-3]))
    assert err.value.line == 6 and "site 2" in str(err.value)


def test_wrong_format_name(tmp_path: Path) -> None:
    """An unknown format name is a ValidationError naming the field and listing formats."""
    path = write(tmp_path, "tiny.txt", TINY_CAP)
    with pytest.raises(ValidationError, match="orlib-cap"):
        read_facility_file(path, "orlib")
    with pytest.raises(ValidationError, match="capacity"):
        read_facility_file(path, "pmed", capacity=5)


# ---------------------------------------------------------------------- costing


def brute_force_single_source(data) -> float:  # type: ignore[no-untyped-def]
    """Enumerate every customer -> site assignment (tiny instances only)."""
    n, m = data.n_villages, len(data.incinerator)
    u = dense_unit_cost(data)
    cap = data.incinerator.size_capacity[:, 0]
    fixed = data.incinerator.size_fixed_cost[:, 0]
    best = np.inf
    for assign in itertools.product(range(m), repeat=n):
        a = np.array(assign)
        load = np.bincount(a, weights=data.demand, minlength=m)
        if np.any(load > cap):
            continue
        cost = fixed[np.unique(a)].sum() + sum(u[i, a[i]] * data.demand[i] for i in range(n))
        best = min(best, cost)
    return float(best)


def test_check_and_cost_in_benchmark_terms(tmp_path: Path) -> None:
    """The checker prices flows as fixed + whole-demand cost x fraction and rejects breaches."""
    data = read_orlib_cap(write(tmp_path, "tiny.txt", TINY_CAP))
    sol = BenchmarkSolution((0, 1), ((0, 0, 0.6), (0, 1, 0.4), (1, 0, 1.0), (2, 1, 1.0)))
    assert check_and_cost(data, sol) == pytest.approx(330.0, rel=1e-12)
    over = BenchmarkSolution((0, 1), ((0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0)))  # A carries 10 > 8
    with pytest.raises(ValidationError, match="capacity"):
        check_and_cost(data, over)
    closed = BenchmarkSolution((1,), ((0, 0, 1.0), (1, 1, 1.0), (2, 1, 1.0)))
    with pytest.raises(ValidationError, match="not open"):
        check_and_cost(data, closed)
    short = BenchmarkSolution((0, 1), ((0, 0, 0.5), (1, 0, 1.0), (2, 1, 1.0)))
    with pytest.raises(ValidationError, match="sum to 1"):
        check_and_cost(data, short)
    hol = read_holmberg(write(tmp_path, "p0", TINY_HOLMBERG))
    with pytest.raises(ValidationError, match="single-source"):
        check_and_cost(hol, sol)
    assert brute_force_single_source(hol) == 360.0


# ---------------------------------------------------------------------- solve round trip


@pytest.mark.parametrize(
    ("name", "text", "fmt", "optimum"),
    [("tiny.txt", TINY_CAP, "orlib-cap", 330.0), ("p0", TINY_HOLMBERG, "holmberg", 360.0),
     ("pm.txt", TINY_PMED, "pmed", 5.0)],
)
def test_solve_benchmark_file_round_trip(tmp_path: Path, name: str, text: str, fmt: str,
                                         optimum: float) -> None:
    """OUT.json has the schema, the known optimum, a valid bound and consistent flows."""
    out = tmp_path / "out" / "sol.json"
    doc = solve_benchmark_file(write(tmp_path, name, text), fmt, time_limit_s=20, out=out)
    on_disk = json.loads(out.read_text(encoding="utf-8"))
    assert on_disk == doc
    assert {"cost", "lower_bound", "open", "flows"} <= set(on_disk)
    assert on_disk["cost"] == pytest.approx(optimum, rel=1e-9)
    assert on_disk["lower_bound"] <= optimum * (1 + 1e-6)
    data = read_facility_file(tmp_path / name, fmt)
    shares = np.zeros(data.n_villages)
    for i, k, f in on_disk["flows"]:
        assert isinstance(i, int) and isinstance(k, int) and k in on_disk["open"]
        shares[i] += f
    np.testing.assert_allclose(shares, 1.0, atol=1e-12)
    sol = BenchmarkSolution(tuple(on_disk["open"]),
                            tuple((i, k, f) for i, k, f in on_disk["flows"]))
    assert check_and_cost(data, sol) == pytest.approx(on_disk["cost"], rel=1e-12)


def test_multi_source_split_is_reported(tmp_path: Path) -> None:
    """The orlib tiny optimum splits customer 0 as 0.6 / 0.4 between the sites."""
    doc = solve_benchmark_file(write(tmp_path, "tiny.txt", TINY_CAP), "orlib-cap",
                               time_limit_s=20, out=tmp_path / "o.json")
    split = sorted((k, round(f, 9)) for i, k, f in doc["flows"] if i == 0)
    assert split == [(0, 0.6), (1, 0.4)]
    assert doc["open"] == [0, 1]


def test_cli_solve_writes_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`wastenet solve` writes OUT.json; a missing capacity is exit code 2 naming the line."""
    path = write(tmp_path, "p0", TINY_HOLMBERG)
    out = tmp_path / "o.json"
    rc = main(["solve", str(path), "--format", "holmberg", "--time-limit", "20",
               "--out", str(out), "--seed", "3"])
    assert rc == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["cost"] == pytest.approx(360.0) and doc["seed"] == 3
    capx = write(tmp_path, "capx.txt", TINY_CAP.replace("8 100", "capacity 100"))
    rc = main(["solve", str(capx), "--format", "orlib-cap", "--time-limit", "5",
               "--out", str(tmp_path / "x.json")])
    assert rc == 2
    assert f"{capx}:2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(path), "--format", "nope", "--time-limit", "5", "--out", "x"])
    assert exc.value.code == 2


def test_real_cap41_reaches_its_optimum(tmp_path: Path) -> None:
    """The repository's copy of OR-Library cap41 solves to its published optimum."""
    path = REPO / "benchmarks" / "data" / "siting" / "orlib-cap" / "cap41.txt"
    doc = solve_benchmark_file(path, "orlib-cap", time_limit_s=60, out=tmp_path / "c.json")
    assert doc["cost"] == pytest.approx(1040444.375, rel=1e-6)
    assert doc["lower_bound"] <= 1040444.375 * (1 + 1e-6)


# ---------------------------------------------------------------------- absurd headers


@pytest.mark.parametrize(
    ("reader", "text", "line", "needle"),
    [
        (read_orlib_cap, "1 1000000000000\n5 5\n", 2, "calls for 2000000000002 numbers"),
        (read_orlib_cap, "1000000000 3\n", 1, "capacity of site 1"),
        (read_holmberg, "2 1000000000000\n8 100\n11 50\n", 3, "demand of customer 1"),
        (read_pmed, "4 1000000000000 1\n1 2 3\n", 2, "edge endpoint i of edge 2"),
    ],
)
def test_header_counts_are_checked_against_the_file(tmp_path: Path, reader, text: str,
                                                    line: int, needle: str) -> None:
    """A header whose counts call for more numbers than the file holds is refused before
    anything is allocated (no MemoryError), naming the header's line and the first
    missing number at the end of the file."""
    with pytest.raises(DataFormatError) as err:
        reader(write(tmp_path, "h.txt", text))
    assert err.value.line == line and needle in str(err.value)
    assert "the header on line 1" in str(err.value)


def test_pmed_refuses_a_distance_matrix_beyond_the_budget(tmp_path: Path) -> None:
    """A p-median vertex count whose n x n distance matrix exceeds the memory budget is
    refused on the header line (no MemoryError)."""
    from wastenet.formats.facility import PMED_MAX_VERTICES

    for n in (1_000_000, PMED_MAX_VERTICES + 1):
        with pytest.raises(DataFormatError, match="distance matrix") as err:
            read_pmed(write(tmp_path, "big.txt", f"{n} 1 1\n1 2 3\n"))
        assert err.value.line == 1


def test_solve_benchmark_file_refuses_a_folder_as_out(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder given as ``out`` is refused before the solve, and no stray ``.tmp`` file
    is left beside it."""
    import wastenet.siting.solve

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("the solve started before out was checked")

    monkeypatch.setattr(wastenet.siting.solve, "solve", boom)
    path = write(tmp_path, "cap.txt", TINY_CAP)
    out = tmp_path / "outdir"
    out.mkdir()
    with pytest.raises(ValidationError) as err:
        solve_benchmark_file(path, "orlib-cap", time_limit_s=5, out=out)
    assert err.value.field == "out"
    assert not (tmp_path / "outdir.tmp").exists()


def test_solve_benchmark_file_write_error_names_out(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError while writing ``out`` becomes a ValidationError naming it, and the
    temporary file is removed."""
    import os

    from wastenet.formats import facility

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(facility.os, "replace", fail)
    out = tmp_path / "o.json"
    with pytest.raises(ValidationError, match="No space left") as err:
        solve_benchmark_file(write(tmp_path, "cap.txt", TINY_CAP), "orlib-cap", time_limit_s=5,
                             out=out)
    assert err.value.field == "out" and err.value.value == str(out)
    assert not os.path.exists(str(out) + ".tmp") and not out.exists()


@pytest.mark.parametrize(("kw", "field"), [({"time_limit_s": 1e30}, "time_limit_s"),
                                           ({"time_limit_s": float("inf")}, "time_limit_s"),
                                           ({"time_limit_s": 5, "seed": -5}, "seed")])
def test_solve_benchmark_file_checks_limit_and_seed(tmp_path: Path, kw: dict[str, float],
                                                    field: str) -> None:
    """A time limit beyond a day (1e30, inf) or a negative seed is a ValidationError, not
    an OverflowError in the MIP backend."""
    with pytest.raises(ValidationError) as err:
        solve_benchmark_file(write(tmp_path, "cap.txt", TINY_CAP), "orlib-cap",
                             out=tmp_path / "o.json", **kw)  # type: ignore[arg-type]
    assert err.value.field == field


def test_short_capacity_is_named_in_the_benchmarks_terms(tmp_path: Path) -> None:
    """A total demand above the total capacity (here --capacity 7: 16 > 14), or a
    single-source customer above every site's capacity, is an InfeasibleError in terms
    of customers and sites (0-based), before any solving."""
    with pytest.raises(InfeasibleError, match=r"total demand 16 exceeds the total capacity "
                       r"14 of the 2 sites"):
        solve_benchmark_file(write(tmp_path, "tiny.txt", TINY_CAP), "orlib-cap",
                             time_limit_s=5, out=tmp_path / "a.json", capacity=7)
    heavy = TINY_HOLMBERG.replace("5 5 6\n", "5 5 12\n").replace("8 100\n", "11 100\n")
    with pytest.raises(InfeasibleError, match=r"customer 2 \(demand 12\).*largest site "
                       r"capacity is 11"):
        solve_benchmark_file(write(tmp_path, "p9", heavy), "holmberg", time_limit_s=5,
                             out=tmp_path / "b.json")
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "b.json").exists()


def test_solve_benchmark_file_out_bytes(tmp_path: Path) -> None:
    """OUT.json holds exactly the compact JSON of the returned document and one newline,
    UTF-8, and no temporary file is left beside it."""
    out = tmp_path / "new" / "o.json"
    doc = solve_benchmark_file(write(tmp_path, "tiny.txt", TINY_CAP), "orlib-cap",
                               time_limit_s=20, out=out)
    assert out.read_bytes() == (json.dumps(doc, separators=(",", ":")) + "\n").encode("utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["o.json"]
