"""The weekly planner's exact repair (CP-SAT) of facility groups over capacity, and the
validation of the frequencies.

The heuristic of :func:`plan_week` can miss a week that fits a facility's capacity; with
``capacity=`` a group whose heaviest day exceeds it is solved exactly, and groups that
fit keep the heuristic's week."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.routing.build import build_routing_data
from wastenet.routing.frequency import group_day_loads, plan_week
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario

#: six villages, one facility: the heuristic's heaviest day is 8.24 t for every seed,
#: the optimum (all 7^6 weeks tried) is 8.08 t
SIX_FREQ = [6, 6, 6, 2, 2, 3]
SIX_WASTE = np.array([1.43, 1.19, 2.20, 0.90, 0.61, 1.14])


def _max_day(plan, n: int) -> float:
    return float(group_day_loads(plan, [0] * n)[0].max())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_six_villages_fit_a_capacity_the_heuristic_misses(seed: int) -> None:
    """With an 8.1 t/d facility the heuristic's week (8.24 t) does not fit, though one
    does: the exact repair finds the optimum 8.08 t and proves it (the bound is in whole
    kilograms, so equal within 1 kg per stop)."""
    assert _max_day(plan_week(SIX_FREQ, SIX_WASTE, seed=seed), 6) == pytest.approx(8.24)
    plan = plan_week(SIX_FREQ, SIX_WASTE, seed=seed, capacity=[8.1])
    top = _max_day(plan, 6)
    assert top <= 8.1
    assert top == pytest.approx(8.08, abs=1e-9)
    (rep,) = plan.repairs
    assert rep.fits and not rep.proven_infeasible and rep.optimal
    assert rep.heuristic_max == pytest.approx(8.24) and rep.max_day == pytest.approx(top)
    assert rep.lower_bound == pytest.approx(top, abs=6e-3)
    # the week is still a valid one: every stop keeps its frequency and the week's waste
    assert sorted(len(d) for d in plan.visit_days) == sorted(SIX_FREQ)
    assert sum(float(x[:, 0].sum()) for x in plan.day_loads) == pytest.approx(
        7 * SIX_WASTE.sum())


def test_proven_infeasible_week_is_reported() -> None:
    """A capacity below the optimum (8.0 t < 8.08 t) is proven out of reach: the repair
    still lowers the heaviest day to the optimum and reports the proof; a capacity below
    the mean day (7.47 t) is out of reach without a search."""
    plan = plan_week(SIX_FREQ, SIX_WASTE, seed=0, capacity={0: 8.0})
    (rep,) = plan.repairs
    assert rep.proven_infeasible and not rep.fits
    assert rep.lower_bound == pytest.approx(8.08, abs=6e-3) and rep.lower_bound > 8.0
    assert _max_day(plan, 6) == pytest.approx(8.08)
    (mean,) = plan_week(SIX_FREQ, SIX_WASTE, seed=0, capacity=[7.0]).repairs
    assert mean.proven_infeasible and mean.method == "mean"
    assert mean.lower_bound == pytest.approx(7.47)


def _lumpy_case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    freq = rng.choice([1, 2, 3, 6], size=16)
    return freq, rng.lognormal(0.0, 1.0, size=16)


@pytest.mark.slow
def test_exact_repair_is_deterministic() -> None:
    """The same data and seed give the same week twice, also when CP-SAT stops at its
    (deterministic-time) limit without proving the optimum."""
    freq, waste = _lumpy_case()
    cap = float(waste.sum()) * 1.001
    a = plan_week(freq, waste, seed=5, capacity=[cap])
    b = plan_week(freq, waste, seed=5, capacity=[cap])
    assert a.repairs and a.repairs == b.repairs
    assert a.offsets == b.offsets and a.visit_days == b.visit_days
    assert all(np.array_equal(x, y) for x, y in zip(a.day_loads, b.day_loads, strict=True))


def test_groups_that_fit_keep_the_heuristic_week() -> None:
    """A seeded random week with three facilities whose capacities all fit is the
    heuristic's week to the byte; when one facility is over capacity only its stops may
    move."""
    rng = np.random.default_rng(7)
    n = 90
    freq = rng.choice([7, 6, 3, 2, 1], size=n)
    waste = rng.lognormal(-1.0, 1.0, size=n)
    group = rng.integers(0, 3, size=n)
    base = plan_week(freq, waste, seed=13, group=group)
    top = group_day_loads(base, group, 3).max(axis=1)
    same = plan_week(freq, waste, seed=13, group=group, capacity=list(top + 1e-6))
    assert same.repairs == ()
    assert same.offsets == base.offsets and same.visit_days == base.visit_days
    assert all(np.array_equal(x, y) for x, y in zip(same.day_stops, base.day_stops,
                                                    strict=True))
    assert all(x.tobytes() == y.tobytes() for x, y in zip(same.day_loads, base.day_loads,
                                                          strict=True))
    tight = plan_week(freq, waste, seed=13, group=group,
                      capacity={1: float(top[1]) - 1e-3, 0: float(top[0]) + 1.0})
    assert [r.group for r in tight.repairs] == [1]
    others = group != 1
    assert np.array_equal(np.array(tight.offsets)[others], np.array(base.offsets)[others])


@pytest.mark.parametrize("bad", [2.5, 3.9, float("nan"), float("inf"), "3", True, None,
                                 np.float64(2.5), np.bool_(True)],
                         ids=["2.5", "3.9", "nan", "inf", "str-3", "True", "None",
                              "np.float64-2.5", "np.bool_-True"])
def test_bad_frequency_values_rejected(bad: object) -> None:
    """A frequency that is not an integral number (fractional, NaN, infinite, a string,
    a bool, None) is a ValidationError naming its index, never truncated or coerced."""
    with pytest.raises(ValidationError, match=r"frequency\[1\]"):
        plan_week([2, bad], np.ones(2))  # type: ignore[list-item]


def _station_network():
    """Seven user villages in Faku visited once a week, 0.2 t/day each, all unloading at
    S1 (1.4 t a day on average)."""
    vil = [{"id": f"v{k}", "lon": 123.20 + 0.01 * k, "lat": 42.40, "population": 400,
            "county": "210124"} for k in range(7)]
    sc = Scenario.model_validate({
        "name": "one-station", "data": {"source": "user", "counties": ["210124"],
                                        "villages": vil},
        "candidates": {"transfer": {"extra_per_county": 0, "sites": [
            {"id": "S1", "lon": 123.25, "lat": 42.38}]}},
        "fleet": {"narrow_lane_fraction": 0.0, "frequency_per_week": 1,
                  "tourism_frequency_per_week": 1,
                  "vehicles": [{"name": "truck", "count": 4, "capacity_t": 20.0}]}})
    net = build_network(sc)
    assert np.allclose(net.villages.waste_t_per_day, [0.2] * 7)
    return net


def test_build_warning_says_the_week_is_proven_infeasible(
        caplog: pytest.LogCaptureFixture) -> None:
    """build_routing_data passes the facility capacities to the planner: a facility
    below its mean daily load (1.3 t < 1.4 t) is logged as proven infeasible, with the
    proven lower bound."""
    fac = [{"id": "S1", "name": "站1", "lon": 123.25, "lat": 42.38,
            "capacity_t_per_day": 1.3}]
    rows = [{"village_id": f"v{k}", "facility_id": "S1"} for k in range(7)]
    with caplog.at_level(logging.WARNING, logger="wastenet.routing.build"):
        build_routing_data(_station_network(), rows, fac, "210124", "2026-12-01")
    text = " ".join(r.getMessage() for r in caplog.records
                    if r.name == "wastenet.routing.build")
    assert "S1: proven that no choice of visit days fits its 1.3 t" in text
    assert "at least 1.4 t on some day" in text
