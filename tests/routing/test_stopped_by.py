"""A route plan records what stopped its searches (``meta["stopped_by"]``), which
plan-province reports instead of guessing it from the plan's wall time."""

from __future__ import annotations

import numpy as np
import pytest
from routing_helpers import make_data, truck

from wastenet.province import stopped_by
from wastenet.routing.data import RoutingData
from wastenet.routing.exports import plan_to_dict
from wastenet.routing.solve import RouteParams, first_limit, solve


def ring(n: int = 12) -> RoutingData:
    """``n`` stops of 1 t on a 4 km ring around the depot, one station, two trucks."""
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    stops = [{"xy": (4000 * np.cos(a), 4000 * np.sin(a)), "q": 1.0} for a in ang]
    return make_data((0, 0), stops, [{"xy": (500, 0)}], [truck(count=2)])


@pytest.mark.parametrize(("seen", "want"), [
    (["solution_limit", "solution_limit"], "solution_limit"),
    (["solution_limit", "time_limit"], "time_limit"),
    (["time_limit", "solution_limit"], "time_limit"),
    (["search_end"], "search_end"),
    (["", ""], ""),
    ([], ""),
])
def test_first_limit(seen: list[str], want: str) -> None:
    """Any search stopped by the clock makes the plan clock-dependent; otherwise the
    solution limit; otherwise a search that ended by itself; "" when none ran."""
    assert first_limit(seen) == want


@pytest.mark.parametrize("decompose", [False, True])
def test_a_solution_limited_plan_records_it(decompose: bool) -> None:
    """With a solution limit of 5 and a 60 s time limit the searches end on the solution
    limit, whole or split into parts: the plan says so and province reads it, although
    the plan's wall time is not compared with anything."""
    extra = {"decompose_above": 6, "part_size": 6} if decompose else {}
    plan = solve(ring(), RouteParams(time_limit_s=60.0, solution_limit=5, seed=1,
                                     **extra))  # type: ignore[arg-type]
    assert plan.meta["stopped_by"] == "solution_limit"
    assert ("parts" in plan.meta) is decompose
    doc = plan_to_dict(ring(), plan)
    assert stopped_by(doc) == "solution_limit"
    # the record wins over the clock: even a wall time at the time limit
    assert stopped_by({**doc, "elapsed_s": 60.0}) == "solution_limit"


def test_a_time_limited_plan_records_it() -> None:
    """Without a solution limit every search runs to its share of the time limit."""
    plan = solve(ring(), RouteParams(time_limit_s=0.5, seed=1))
    assert plan.meta["stopped_by"] == "time_limit"
    assert stopped_by(plan_to_dict(ring(), plan)) == "time_limit"


def test_an_empty_day_records_nothing() -> None:
    """A day without stops runs no search: no record, and province says ""."""
    data = make_data((0, 0), [], [{"xy": (500, 0)}], [truck()])
    plan = solve(data, RouteParams(time_limit_s=1.0))
    assert "stopped_by" not in plan.meta
    assert stopped_by(plan_to_dict(data, plan)) == ""
