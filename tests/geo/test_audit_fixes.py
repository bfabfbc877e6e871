"""Regression tests of the distance-matrix audit fixes: missing-id messages count
distinct ids, and a one-place matrix survives a CSV round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.geo.matrix import DistanceMatrix, load_matrix, save_matrix


def test_missing_ids_counted_once() -> None:
    """An id missing several times is counted and listed once: 2 distinct ids missing
    out of 5 lookups, each shown once."""
    m = DistanceMatrix(ids=("a", "b"), distance_m=np.array([[0, 1.0], [2.0, 0]]),
                       duration_s=np.array([[0, 1.0], [1.0, 0]]))
    with pytest.raises(ValidationError) as exc:
        m.indices(["x", "x", "a", "y", "x"], "from_ids")
    msg = str(exc.value)
    assert exc.value.field == "from_ids" and exc.value.value == "x"
    assert "2 distinct id(s) missing" in msg and "['x', 'y']" in msg


def test_one_place_csv_round_trip(tmp_path: Path) -> None:
    """save_matrix then load_matrix gives back a one-place matrix exactly: the CSV holds
    the zero self-pair, as there is no pair of distinct ids."""
    m = DistanceMatrix(ids=("x",), distance_m=np.zeros((1, 1)),
                       duration_s=np.zeros((1, 1)))
    path = tmp_path / "one.csv"
    save_matrix(m, path)
    r = load_matrix(path)
    assert r.ids == ("x",)
    assert np.array_equal(r.distance_m, m.distance_m)
    assert np.array_equal(r.duration_s, m.duration_s)
    assert path.read_text(encoding="utf-8").splitlines()[1:] == ["x,x,0.0,0.0"]
