"""The reported gap: (cost - bound) / cost, with rounding noise reported as 0."""

from __future__ import annotations

import numpy as np
import pytest

from wastenet.siting.result import GAP_NOISE, SitingResult


def _result(cost: float, bound: float) -> SitingResult:
    """A result with no facilities whose only figures are ``cost`` and ``bound``."""
    i = np.zeros(0, dtype=np.int64)
    f = np.zeros(0)
    return SitingResult(i, i, i, i, np.zeros(0, dtype=bool), f, i, i, f, i, {"x": cost},
                        cost, bound, "optimal", "test", 0, 0.0)


@pytest.mark.parametrize(("cost", "bound", "gap"), [
    (14_196_413.0, 14_196_413.0 - 2.4e-9, 0.0),   # float noise of an optimal run
    (14_196_413.0, 14_196_413.0, 0.0),
    (100.0, 101.0, 0.0),                           # a bound above the cost: no gap
    (100.0, 99.0, 0.01),
    (1e9, 1e9 * (1 - 1e-9), 1e-9),                 # a tiny gap is still a gap
    (0.0, 0.0, 0.0),
])
def test_gap(cost: float, bound: float, gap: float) -> None:
    """The gap is (cost - bound) / cost when at least GAP_NOISE, otherwise 0; never
    negative."""
    got = _result(cost, bound).gap
    assert got == pytest.approx(gap, rel=1e-6, abs=0.0)
    assert got == 0.0 or got >= GAP_NOISE
