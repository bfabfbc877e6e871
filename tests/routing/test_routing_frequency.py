"""Weekly frequency planning: spacing, loads, balance, determinism, day sub-problems."""

from __future__ import annotations

import numpy as np
import pytest
import routing_helpers as _h

from wastenet.errors import ValidationError
from wastenet.routing.checker import check
from wastenet.routing.frequency import day_data, gaps, group_day_loads, pattern, plan_week
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
    """Fourteen weekly stops spread two per day; seven thrice-weekly stops three per day.
    A mixed week reaches the smallest possible largest day load (10 t; found by trying
    all 7^8 assignments), with visit counts as even as that allows (spread 2)."""
    wp = plan_week([1] * 14, np.ones(14))
    assert [len(s) for s in wp.day_stops] == [2] * 7
    wp = plan_week([3] * 7, np.ones(7))
    assert [len(s) for s in wp.day_stops] == [3] * 7
    mixed = plan_week([7, 6, 3, 3, 2, 2, 1, 1, 1], np.ones(9), seed=4)
    counts = [len(s) for s in mixed.day_stops]
    assert max(float(x[:, 0].sum()) for x in mixed.day_loads) == pytest.approx(10.0)
    assert max(counts) - min(counts) <= 2
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


# -- balance per facility ----------------------------------------------------------------

#: facility A (group 0, 1.5 t/day) serves seven weekly villages of 1 t a visit; facility
#: B (group 1, 10 t/day) one weekly village of 7 t a visit
HAND_FREQ = [1] * 8
HAND_WASTE = np.array([1.0 / 7.0] * 7 + [1.0])
HAND_GROUP = [0] * 7 + [1]
HAND_CAP = np.array([1.5, 10.0])


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_per_facility_balance_removes_county_balance_overflow(seed: int) -> None:
    """On the hand instance, balancing the county total keeps A's villages off B's 7 t
    day, so one of A's days gets two villages (2 t > 1.5 t); balancing each facility
    gives A one village (1 t) every day and no facility-day exceeds its capacity."""
    county = plan_week(HAND_FREQ, HAND_WASTE, seed=seed)
    over = group_day_loads(county, HAND_GROUP, 2) > HAND_CAP[:, None] + 1e-9
    assert over[0].any()  # the county-total balance overflows facility A
    per_facility = plan_week(HAND_FREQ, HAND_WASTE, seed=seed, group=HAND_GROUP)
    loads = group_day_loads(per_facility, HAND_GROUP, 2)
    np.testing.assert_allclose(loads[0], np.ones(7))
    assert np.all(loads <= HAND_CAP[:, None] + 1e-9)
    # the week's waste is still all collected, each village on its one weekly day
    assert loads.sum() == pytest.approx(7 * HAND_WASTE.sum())
    assert all(len(d) == 1 for d in per_facility.visit_days)


def test_per_facility_balance_smallest_largest_day() -> None:
    """Two facilities with thrice- and twice-weekly villages: each facility's largest
    day is the smallest possible (checked against every assignment of its villages),
    the visits stay evenly spaced and the plan is the same for the same seed."""
    import itertools

    freq = [3, 3, 2, 2, 2, 3, 2, 1]
    waste = np.array([0.5, 0.3, 0.4, 0.2, 0.6, 0.7, 0.1, 0.3])
    group = [0, 0, 0, 0, 1, 1, 1, 1]
    wp = plan_week(freq, waste, seed=2, group=group)
    assert wp.visit_days == plan_week(freq, waste, seed=2, group=group).visit_days
    loads = group_day_loads(wp, group, 2)
    for s, days in enumerate(wp.visit_days):
        assert days == pattern(freq[s], wp.offsets[s])
    for g in (0, 1):
        members = [s for s in range(8) if group[s] == g]
        best = np.inf
        for offs in itertools.product(range(7), repeat=len(members)):
            day = np.zeros(7)
            for s, o in zip(members, offs, strict=True):
                days = pattern(freq[s], o)
                for d, gg in zip(days, gaps(days), strict=True):
                    day[d] += waste[s] * gg
            best = min(best, float(day.max()))
        assert loads[g].max() == pytest.approx(best)


def test_plan_week_rejects_negative_seed() -> None:
    """A negative seed is a named error, not a numpy ValueError."""
    with pytest.raises(ValidationError, match="seed"):
        plan_week([1, 2], np.ones(2), seed=-5)
