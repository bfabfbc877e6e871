"""Tests of user-supplied distance/time matrices (npz and long-format CSV)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from wastenet.errors import DataFormatError, ValidationError
from wastenet.geo.matrix import DistanceMatrix, load_matrix, save_matrix

IDS = ("depot", "V1", "V2")
# Asymmetric on purpose (a one-way road from V1 to V2 is shorter than back).
DIST = np.array([[0.0, 1000.5, 2500.0],
                 [1100.0, 0.0, 700.25],
                 [2400.0, 900.0, 0.0]])
DUR = np.array([[0.0, 90.0, 200.0],
                [95.0, 0.0, 60.0],
                [210.0, 75.5, 0.0]])

CSV_LINES = [
    "from_id,to_id,distance_m,duration_s",
    "depot,V1,1000.5,90",
    "depot,V2,2500,200",
    "V1,depot,1100,95",
    "V1,V2,700.25,60",
    "V2,depot,2400,210",
    "V2,V1,900,75.5",
]


def _matrix() -> DistanceMatrix:
    return DistanceMatrix(ids=IDS, distance_m=DIST, duration_s=DUR)


def _write(tmp_path: Path, lines: list[str], bom: bool = False, name: str = "m.csv") -> Path:
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode())
    return p


def test_lookup_pairs_and_block() -> None:
    """lookup returns element-wise arcs; block returns the (from x to) sub-matrices."""
    m = _matrix()
    d, t = m.lookup(["V1", "V2", "depot"], ["V2", "V1", "V2"])
    assert d.tolist() == [700.25, 900.0, 2500.0] and t.tolist() == [60.0, 75.5, 200.0]
    d, t = m.block(["V2", "depot"], ["V1", "V2", "depot"])
    assert d.tolist() == [[900.0, 0.0, 2400.0], [1000.5, 2500.0, 0.0]]
    assert t.tolist() == [[75.5, 0.0, 210.0], [90.0, 200.0, 0.0]]
    assert m.indices(["V2", "depot"]).tolist() == [2, 0]


def test_lookup_names_missing_id() -> None:
    """An unknown id raises ValidationError naming the argument and the id."""
    m = _matrix()
    with pytest.raises(ValidationError) as exc:
        m.block(["V1"], ["V1", "V9"])
    assert exc.value.field == "to_ids" and exc.value.value == "V9" and "V9" in str(exc.value)
    with pytest.raises(ValidationError, match="from_ids"):
        m.lookup(["nowhere"], ["V1"])
    with pytest.raises(ValidationError, match="same length"):
        m.lookup(["V1", "V2"], ["V1"])


def test_arrays_are_read_only_copies() -> None:
    """The matrix copies its inputs, freezes them, and stays frozen through pickling."""
    src = DIST.copy()
    m = DistanceMatrix(ids=IDS, distance_m=src, duration_s=DUR)
    src[0, 1] = 5.0
    assert m.distance_m[0, 1] == 1000.5
    assert not m.distance_m.flags.writeable and not m.duration_s.flags.writeable
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.ids == IDS and not m2.distance_m.flags.writeable
    assert np.array_equal(m2.duration_s, DUR)


@pytest.mark.parametrize(("kwargs", "field", "fragment"), [
    pytest.param({"ids": ("a", "a", "b")}, "ids", "duplicate", id="duplicate-id"),
    pytest.param({"ids": ("a", "b")}, "distance_m", "shape", id="shape"),
    pytest.param({"distance_m": np.where(np.eye(3) > 0, 0.0, -1.0)}, "distance_m", ">= 0",
                 id="negative"),
    pytest.param({"duration_s": np.full((3, 3), np.nan)}, "duration_s", "finite", id="nan"),
    pytest.param({"distance_m": DIST + np.eye(3)}, "distance_m", "diagonal", id="diagonal"),
])
def test_constructor_validation(kwargs: dict[str, object], field: str, fragment: str) -> None:
    """Bad ids, shapes and values are rejected naming the field."""
    args: dict[str, object] = {"ids": IDS, "distance_m": DIST, "duration_s": DUR}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=fragment) as exc:
        DistanceMatrix(**args)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_npz_round_trip(tmp_path: Path) -> None:
    """save_matrix/load_matrix through .npz reproduce ids and values exactly."""
    p = tmp_path / "m.npz"
    save_matrix(_matrix(), p)
    m = load_matrix(p)
    assert m.ids == IDS
    assert np.array_equal(m.distance_m, DIST) and np.array_equal(m.duration_s, DUR)


def test_npz_integer_ids(tmp_path: Path) -> None:
    """Integer ids in an npz are read as strings."""
    p = tmp_path / "m.npz"
    np.savez(p, ids=np.array([7, 8]), distance_m=np.array([[0, 5], [6, 0]]),
             duration_s=np.array([[0, 1], [2, 0]]))
    m = load_matrix(p)
    assert m.ids == ("7", "8") and m.lookup(["8"], ["7"])[0].tolist() == [6.0]


@pytest.mark.parametrize(("arrays", "fragment"), [
    pytest.param({"ids": np.array(["a", "b"]), "distance_m": np.zeros((2, 2))},
                 "duration_s", id="missing-array"),
    pytest.param({"ids": np.array(["a", "b"], dtype=object), "distance_m": np.zeros((2, 2)),
                  "duration_s": np.zeros((2, 2))}, "string array", id="object-ids"),
    pytest.param({"ids": np.array(["a", "b"]), "distance_m": np.zeros((2, 3)),
                  "duration_s": np.zeros((2, 2))}, "shape", id="bad-shape"),
    pytest.param({"ids": np.array(["a", "b"]), "distance_m": np.array([[0, -1], [1, 0]]),
                  "duration_s": np.zeros((2, 2))}, ">= 0", id="negative"),
])
def test_npz_errors(tmp_path: Path, arrays: dict[str, np.ndarray], fragment: str) -> None:
    """Malformed npz archives raise DataFormatError naming the problem."""
    p = tmp_path / "m.npz"
    np.savez(p, **arrays)  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match=fragment):
        load_matrix(p)


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "bom"])
def test_csv_reads_long_format(tmp_path: Path, bom: bool) -> None:
    """The long CSV gives the expected matrix, ids in order of first appearance."""
    m = load_matrix(_write(tmp_path, CSV_LINES, bom=bom))
    assert m.ids == IDS
    assert np.array_equal(m.distance_m, DIST) and np.array_equal(m.duration_s, DUR)


def test_csv_column_order_and_explicit_zero_diagonal(tmp_path: Path) -> None:
    """Columns may be reordered, and a self-pair given as 0 is accepted."""
    lines = ["duration_s,distance_m,to_id,from_id", "5,50,b,a", "6,60,a,b", "0,0,a,a"]
    m = load_matrix(_write(tmp_path, lines))
    assert m.ids == ("a", "b")  # first appearance in from_id, then in to_id
    d, t = m.block(["a", "b"], ["a", "b"])
    assert d.tolist() == [[0.0, 50.0], [60.0, 0.0]] and t.tolist() == [[0.0, 5.0], [6.0, 0.0]]


def test_csv_round_trip(tmp_path: Path) -> None:
    """save_matrix/load_matrix through CSV reproduce ids and values exactly."""
    rng = np.random.default_rng(7)
    n = 6
    dist = rng.uniform(100, 10_000, (n, n))
    np.fill_diagonal(dist, 0)
    dur = dist / rng.uniform(5, 15, (n, n))
    src = DistanceMatrix(ids=tuple(f"p{i}" for i in range(n)), distance_m=dist, duration_s=dur)
    p = tmp_path / "m.csv"
    save_matrix(src, p)
    m = load_matrix(p)
    assert m.ids == src.ids
    assert np.array_equal(m.distance_m, src.distance_m)
    assert np.array_equal(m.duration_s, src.duration_s)


@pytest.mark.parametrize(("edit", "fragment", "line"), [
    pytest.param((4, "V1,V2,-3,60"), "distance_m='-3'", 5, id="negative-distance"),
    pytest.param((1, "depot,V1,1000.5,nan"), "duration_s='nan'", 2, id="nan-duration"),
    pytest.param((2, "depot,V2,,200"), "distance_m=''", 3, id="empty-value"),
    pytest.param((5, "V2,depot,2.4km,210"), "not a number", 6, id="non-numeric"),
    pytest.param((5, "V1,V2,700.25,60"), "given twice", 6, id="duplicate-pair"),
    pytest.param((7, "depot,depot,5,0"), "to itself", 8, id="nonzero-self-pair"),
    pytest.param((5, ",V1,5,5"), "from_id is empty", 6, id="empty-id"),
    pytest.param((5, "V2,depot"), "fields", 6, id="short-row"),
    pytest.param((0, "from,to,distance_m,duration_s"), "missing column", 1, id="bad-header"),
])
def test_csv_errors_name_line(tmp_path: Path, edit: tuple[int, str], fragment: str,
                              line: int) -> None:
    """Bad values and rows are rejected with the file line number."""
    lines = list(CSV_LINES)
    k, text = edit  # replace line index k, or append when k is past the end
    if k < len(lines):
        lines[k] = text
    else:
        lines.append(text)
    with pytest.raises(DataFormatError, match=fragment) as exc:
        load_matrix(_write(tmp_path, lines))
    assert exc.value.line == line
    assert f"m.csv:{line}:" in str(exc.value)


def test_csv_missing_pairs_are_named(tmp_path: Path) -> None:
    """Leaving out pairs is an error that names them and counts them."""
    lines = [CSV_LINES[0], *CSV_LINES[1:4]]  # depot->V1, depot->V2, V1->depot only
    with pytest.raises(DataFormatError) as exc:
        load_matrix(_write(tmp_path, lines))
    msg = str(exc.value)
    assert "3 missing pair(s)" in msg
    assert "('V1', 'V2')" in msg and "('V2', 'depot')" in msg and "('V2', 'V1')" in msg


def test_csv_empty_and_unknown_type(tmp_path: Path) -> None:
    """Empty files, header-only files and unknown extensions are DataFormatErrors."""
    with pytest.raises(DataFormatError, match="empty file"):
        load_matrix(_write(tmp_path, []))
    with pytest.raises(DataFormatError, match="no data rows"):
        load_matrix(_write(tmp_path, [CSV_LINES[0]]))
    with pytest.raises(DataFormatError, match="file type"):
        load_matrix(tmp_path / "m.xlsx")
    with pytest.raises(DataFormatError, match="cannot read"):
        load_matrix(tmp_path / "absent.csv")


def test_csv_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    """Blank lines are skipped but still counted in the reported line number."""
    lines = [CSV_LINES[0], "", *CSV_LINES[1:3], "", "", "V1,depot,oops,95", *CSV_LINES[4:]]
    with pytest.raises(DataFormatError, match="oops") as exc:
        load_matrix(_write(tmp_path, lines))
    assert exc.value.line == 7
    lines[6] = CSV_LINES[3]
    m = load_matrix(_write(tmp_path, lines))
    assert np.array_equal(m.distance_m, DIST)
