"""Tests of :mod:`wastenet.siting.ragged`."""

from __future__ import annotations

import numpy as np
import pytest

from wastenet.siting.ragged import expand


def test_expand_by_hand() -> None:
    """Three items owning 2, 0 and 3 entries from 10, 0 and 5: by hand."""
    owner, index = expand(np.array([10, 0, 5]), np.array([2, 0, 3]))
    assert owner.tolist() == [0, 0, 2, 2, 2]
    assert index.tolist() == [10, 11, 5, 6, 7]


def test_expand_matches_a_loop() -> None:
    """On seeded random runs (zeros included) the result equals the plain loop."""
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 5, size=200)
    starts = rng.integers(0, 1000, size=200)
    owner, index = expand(starts, counts)
    want_o = [t for t, c in enumerate(counts.tolist()) for _ in range(c)]
    want_i = [s + k for s, c in zip(starts.tolist(), counts.tolist(), strict=True)
              for k in range(c)]
    assert owner.tolist() == want_o and index.tolist() == want_i
    assert owner.dtype == np.int64 and index.dtype == np.int64


def test_expand_of_nothing() -> None:
    """No items, or items that own nothing: empty arrays."""
    for starts, counts in (([], []), ([3, 4], [0, 0])):
        owner, index = expand(np.array(starts, dtype=np.int64),
                              np.array(counts, dtype=np.int64))
        assert owner.size == 0 and index.size == 0


@pytest.mark.parametrize(("starts", "counts", "needle"), [
    ([0, 1], [1], "differ in shape"),
    ([0, 1], [1, -1], "counts must be >= 0, got -1"),
])
def test_expand_refuses_bad_input(starts: list[int], counts: list[int], needle: str) -> None:
    """Mismatched shapes and negative counts are refused with the offending value."""
    with pytest.raises(ValueError, match=needle):
        expand(np.array(starts), np.array(counts))
