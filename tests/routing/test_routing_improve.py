"""The neighbourhood search (ruin and recreate) of :mod:`wastenet.routing.improve`.

Tiny instances on a plane (see ``routing_helpers``); every plan is verified by the
independent checker.
"""

from __future__ import annotations

import time

import numpy as np
from routing_helpers import make_data, truck

from wastenet.routing.checker import check
from wastenet.routing.improve import applicable, improve
from wastenet.routing.solve import RouteParams, _plan, _score, budget_shares, solve


def _cvrp_like(n: int, seed: int):
    """``n`` stops of 1-3 t around the depot, 10 t trucks, one unload site at the depot's
    side, no windows and no break."""
    rng = np.random.default_rng(seed)
    stops = [{"xy": tuple(rng.uniform(-5000, 5000, 2)), "q": float(rng.integers(1, 4))}
             for _ in range(n)]
    return make_data((0, 0), stops, [{"xy": (50, 0)}], [truck(count=n, capacity=(10.0,))])


def test_improve_never_worsens_and_stays_feasible() -> None:
    """From the first solution found (a solution limit of 1), two seconds of neighbourhood
    search give a plan that the checker accepts, serves every stop, uses no more vehicles
    and scores no worse."""
    data = _cvrp_like(40, 4)
    params = RouteParams(time_limit_s=5.0, vehicle_weight=0.0, solution_limit=1)
    first = solve(data, params)
    assert check(data, first).ok
    free = RouteParams(time_limit_s=2.0, vehicle_weight=0.0, seed=3)
    t0 = time.perf_counter()
    routes = improve(data, free, list(first.routes), t0 + 2.0)
    plan = _plan(data, tuple(routes), (), free, t0, "TEST")
    rep = check(data, plan)
    assert rep.ok, rep.violations
    assert not plan.unserved
    assert plan.vehicles <= first.vehicles
    assert _score(free, list(routes)) <= _score(free, list(first.routes)) + 1e-6
    assert sorted(r.vehicle for r in routes) == list(range(len(routes)))


def test_improve_keeps_breaks_and_two_sites_valid() -> None:
    """On an instance with a break window, two unload sites and a daily route cap, the
    searched plan still passes every rule of the checker."""
    rng = np.random.default_rng(7)
    stops = [{"xy": tuple(rng.uniform(-5000, 5000, 2)), "q": float(rng.integers(1, 5)),
              "service": 60.0} for _ in range(25)]
    data = make_data((0, 0), stops, [{"xy": (4000, 4000), "unload": 600},
                                     {"xy": (-4000, -3000), "unload": 600}],
                     [truck(count=6, capacity=(12.0,), route_capacity=(30.0,),
                            break_duration_s=1800, break_earliest_s=39_600,
                            break_latest_s=43_200, shift_start_s=36_000)])
    plan = solve(data, RouteParams(time_limit_s=3.0))
    rep = check(data, plan)
    assert rep.ok, rep.violations
    assert not plan.unserved


def test_not_applicable_with_shared_finite_capacity() -> None:
    """Unassigned stops and a finite facility capacity: a neighbourhood cannot see the
    other routes' deliveries, so the plan is returned unchanged."""
    d = make_data((0, 0), [{"xy": (1000, 0), "q": 1.0}, {"xy": (0, 1000), "q": 1.0}],
                  [{"xy": (100, 0), "cap": 5.0}], [truck(count=2)])
    assert not applicable(d)
    plan = solve(d, RouteParams(time_limit_s=1.0, lns_share=0.0))
    assert improve(d, RouteParams(), list(plan.routes), time.perf_counter() + 1.0) == list(
        plan.routes)
    assigned = make_data((0, 0), [{"xy": (1000, 0), "q": 1.0, "facility": 0}],
                         [{"xy": (100, 0), "cap": 5.0}], [truck()])
    assert applicable(assigned)


def test_budget_shares() -> None:
    """Shares of the time limit: route elimination only when vehicles are charged, the
    neighbourhood search takes its share of what is left, neither under a solution
    limit."""
    main, red, lns = budget_shares(RouteParams(vehicle_weight=0.0))
    assert (main, red, lns) == (0.5, 0.0, 0.5)
    main, red, lns = budget_shares(RouteParams())
    assert red == 0.4 and abs(lns - 0.3) < 1e-12 and abs(main - 0.3) < 1e-12
    assert budget_shares(RouteParams(solution_limit=5)) == (1.0, 0.0, 0.0)
