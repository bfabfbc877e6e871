"""The siting checker closes audit holes: NaN flows and costs, out-of-range ``uncovered``,
non-integer size slots and ragged flow arrays give violations (never silence or a crash)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.checker import check
from wastenet.siting.data import SitingData
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import SiteParams, solve

Site = H.Site


def _base(small_i0: bool = False) -> SitingData:
    """:func:`siting_helpers.checker_instance`."""
    return H.checker_instance(small_i0=small_i0)


@pytest.fixture(scope="module")
def solved() -> tuple[SitingData, SitingResult]:
    """The base instance and its exact optimum (hauls T0->I0 4 t/d, T1->I0 5 t/d)."""
    data = _base()
    return data, solve(data, SiteParams(method="exact", time_limit_s=30))


def _set(arr: np.ndarray, idx: int, val: object) -> np.ndarray:
    out = np.array(arr, copy=True)
    out[idx] = val
    return out


def _nan_hauls(r: SitingResult) -> SitingResult:
    """Every haul flow NaN, haul cost reported 0 and the total lowered to match."""
    cost = {**r.cost, "haul": 0.0, "incinerator_throughput": 0.0}
    return replace(r, haul_t_per_day=np.full(r.haul_t_per_day.shape, np.nan), cost=cost,
                   total_cost=sum(cost.values()), lower_bound=0.0)


NON_FINITE: list[tuple[str, Callable[[SitingResult], SitingResult], str]] = [
    ("all hauls nan", _nan_hauls, "haul T0->I0: haul_t_per_day nan is not a finite number"),
    ("one haul nan", lambda r: replace(r, haul_t_per_day=_set(r.haul_t_per_day, 1, np.nan)),
     "haul T1->I0: haul_t_per_day nan is not a finite number"),
    ("cost entry nan", lambda r: replace(r, cost={**r.cost, "haul": math.nan}),
     "cost[haul] nan is not a finite number"),
    ("cost entry missing-key nan", lambda r: replace(r, cost={**r.cost, "extra": math.nan}),
     "cost[extra] nan is not a finite number"),
]


@pytest.mark.parametrize("name,breaker,expected", NON_FINITE, ids=[b[0] for b in NON_FINITE])
def test_non_finite_values_are_rejected(solved: tuple[SitingData, SitingResult], name: str,
                                        breaker: Callable[[SitingResult], SitingResult],
                                        expected: str) -> None:
    """A NaN haul flow used to switch off conservation, capacity and the cost check, and a
    NaN cost entry passed every comparison; each is now reported naming the field. A
    ``-inf`` lower bound (no bound known, as the construction heuristic reports) passes."""
    data, res = solved
    rep = check(data, breaker(res))
    assert not rep.ok
    assert any(expected in v for v in rep.violations), rep.violations
    assert check(data, replace(res, lower_bound=-math.inf)).ok


def test_nan_haul_cannot_hide_an_incinerator_overload(
        solved: tuple[SitingData, SitingResult]) -> None:
    """With I0 shrunk to 5 t/d the honest 9 t/d haul overloads it; NaN haul rows (cost
    breakdown adjusted) no longer hide that: the flows are reported and conservation fails
    at both stations."""
    _, res = solved
    small = _base(small_i0=True)
    assert not check(small, res).ok
    rep = check(small, _nan_hauls(res))
    assert not rep.ok
    text = "\n".join(rep.violations)
    assert "is not a finite number" in text
    assert "transfer T0: inflow 4 t/d != haul outflow 0 t/d" in text
    assert "transfer T1: inflow 5 t/d != haul outflow 0 t/d" in text


MALFORMED: list[tuple[str, Callable[[SitingResult], SitingResult], str]] = [
    ("uncovered out of range", lambda r: replace(r, uncovered=np.array([7])),
     "uncovered lists 7, not a village index in [0,2)"),
    ("uncovered negative", lambda r: replace(r, uncovered=np.array([-1])),
     "uncovered lists -1, not a village index in [0,2)"),
    ("size slot 0.9", lambda r: replace(r, transfer_size=np.array(
        [0.9, *r.transfer_size.tolist()[1:]], dtype=object)),
     "transfer T0 has size slot 0.9, not an integer"),
    ("size slot nan", lambda r: replace(r, transfer_size=_set(
        r.transfer_size.astype(float), 1, np.nan)),
     "transfer T1 has size slot nan, not an integer"),
    ("incinerator size float", lambda r: replace(r, incinerator_size=r.incinerator_size
                                                 + np.array([0.5, 0.0])),
     "incinerator I0 has size slot 0.5, not an integer"),
    ("flow arrays ragged", lambda r: replace(r, flow_fraction=r.flow_fraction[:-1]),
     "flow arrays must be 1-D of one length"),
    ("haul arrays ragged", lambda r: replace(r, haul_t_per_day=r.haul_t_per_day[:-1]),
     "haul arrays must be 1-D of one length"),
    ("flow village float", lambda r: replace(
        r, flow_village=r.flow_village + 0.5),  # type: ignore[arg-type]
     "flow row names village index 0.5, not an integer"),
]


@pytest.mark.parametrize("name,breaker,expected", MALFORMED, ids=[b[0] for b in MALFORMED])
def test_malformed_result_gives_violations(solved: tuple[SitingData, SitingResult],
                                           name: str,
                                           breaker: Callable[[SitingResult], SitingResult],
                                           expected: str) -> None:
    """Out-of-range ``uncovered`` entries, non-integer size slots (0.9 used to be
    truncated to slot 0, NaN crashed), ragged flow or haul arrays (a zip ValueError) and
    non-integer village indices are reported as violations."""
    data, res = solved
    rep = check(data, breaker(res))
    assert not rep.ok
    assert any(expected in v for v in rep.violations), rep.violations
