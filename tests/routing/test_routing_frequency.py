"""Weekly frequency planning: spacing, loads, balance, determinism, day sub-problems."""

from __future__ import annotations

import numpy as np
import pytest
import routing_helpers as _h

from wastenet.errors import ValidationError
from wastenet.routing.checker import check
from wastenet.routing.frequency import day_data, gaps, pattern, plan_week
from wastenet.routing.solve import RouteParams, solve


@pytest.mark.parametrize(("k", "expected_gaps"), [(7, [1] * 7), (6, [1, 1, 1, 1, 1, 2]),
                                                   (3, [2, 2, 3]), (2, [3, 4]), (1, [7])])
def test_patterns_evenly_spaced(k: int, expected_gaps: list[int]) -> None:
    """Every offset of every frequency has k days whose cyclic gaps are as even as can be."""
    for o in range(7):
        days = pattern(k, o)
        assert len(days) == k == len(set(days))
        assert sorted(gaps(days)) == expected_gaps
        assert sum(gaps(days)) == 7


def test_load_is_waste_times_days_since_previous_visit() -> None:
    """A twice-weekly stop producing 0.5 t/day carries 1.5 t and 2 t."""
    wp = plan_week([2], np.array([0.5]))
    days = wp.visit_days[0]
    loads = {d: float(wp.day_loads[d][0, 0]) for d in days}
    assert sorted(loads.values()) == [1.5, 2.0]
    for d in range(7):
        assert (d in days) == (0 in wp.day_stops[d].tolist())
    # the week's collected load equals the week's waste
    assert sum(loads.values()) == pytest.approx(0.5 * 7)


def test_daily_workload_balanced() -> None:
    """Fourteen weekly stops spread two per day; seven thrice-weekly stops three per day."""
    wp = plan_week([1] * 14, np.ones(14))
    assert [len(s) for s in wp.day_stops] == [2] * 7
    wp = plan_week([3] * 7, np.ones(7))
    assert [len(s) for s in wp.day_stops] == [3] * 7
    mixed = plan_week([7, 6, 3, 3, 2, 2, 1, 1, 1], np.ones(9), seed=4)
    counts = [len(s) for s in mixed.day_stops]
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == 7 + 6 + 3 + 3 + 2 + 2 + 1 + 1 + 1


def test_deterministic_per_seed() -> None:
    """The same seed gives the same week."""
    rng = np.random.default_rng(0)
    freq = rng.choice([7, 6, 3, 2, 1], size=40)
    waste = rng.uniform(0.1, 2.0, size=40)
    a, b = plan_week(freq, waste, seed=3), plan_week(freq, waste, seed=3)
    assert a.visit_days == b.visit_days
    assert all(np.array_equal(x, y) for x, y in zip(a.day_loads, b.day_loads, strict=True))


def test_bad_frequency_rejected() -> None:
    """A frequency outside {7, 6, 3, 2, 1} names the stop."""
    with pytest.raises(ValidationError, match=r"frequency\[1\]"):
        plan_week([7, 4], np.ones(2))


def test_day_data_solvable_and_checked() -> None:
    """Each day's sub-problem carries the accumulated loads and is solved validly."""
    stops = [{"xy": (1000.0 * (i + 1), 500.0 * (i % 3)), "q": 1.0, "id": f"V{i}"}
             for i in range(6)]
    week = _h.make_data((0, 0), stops, [{"xy": (0, 3000)}], [_h.truck(count=2)])
    wp = plan_week([7, 3, 3, 2, 1, 1], week.stop_demand)
    for d in range(7):
        sub = day_data(week, wp, d)
        assert sub.n_stops == len(wp.day_stops[d])
        assert [sub.ids[i] for i in sub.stops] == [f"V{s}" for s in wp.day_stops[d]]
        np.testing.assert_allclose(sub.stop_demand, wp.day_loads[d])
        if d in (0, 3):
            plan = solve(sub, RouteParams(time_limit_s=0.5))
            rep = check(sub, plan)
            assert rep.ok, rep.violations
