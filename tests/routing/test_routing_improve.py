"""The neighbourhood search (ruin and recreate) of :mod:`wastenet.routing.improve`.

Tiny instances on a plane (see ``routing_helpers``); every plan is verified by the
independent checker.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest
from routing_helpers import make_data, truck

from wastenet.routing.checker import check
from wastenet.routing.data import Route
from wastenet.routing.improve import applicable, improve, neighbourhood
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


def _routes_of(sizes: list[int]) -> tuple[list[Route], np.ndarray]:
    """Stand-in routes of ``sizes`` stops (only their visits' kinds are read), stops
    numbered route after route, and the stop -> route index."""
    routes, route_of, t = [], [], 0
    for k, m in enumerate(sizes):
        visits = tuple(SimpleNamespace(kind="stop", index=t + i) for i in range(m))
        routes.append(cast(Route, SimpleNamespace(visits=visits)))
        route_of += [k] * m
        t += m
    return routes, np.array(route_of, dtype=np.int64)


@pytest.mark.parametrize(("sizes", "least", "want"), [
    ([44, 44, 44], 2, [0, 1]),  # long routes: a second route although 88 > 60 stops
    ([44, 44, 44], 1, [0]),  # one route only (the rule before: no stop changes vehicle)
    ([20, 20, 20, 20], 2, [0, 1, 2]),  # short routes: up to 60 stops
    ([70, 5], 1, [0]),  # the first route is taken whatever its size
])
def test_neighbourhood_takes_at_least_two_routes(sizes: list[int], least: int,
                                                 want: list[int]) -> None:
    """Routes are taken nearest first up to 60 stops and 8 routes, but the first
    ``least`` whatever their size: with 44-stop routes ``improve`` (``least=2``) still
    gets two routes, so its ruined stops can move to another vehicle."""
    routes, route_of = _routes_of(sizes)
    order = list(range(len(route_of)))
    assert neighbourhood(routes, route_of, order, 60, 8, least=least) == want


def test_neighbourhood_respects_max_routes_and_unserved() -> None:
    """Unserved stops (route -1) are skipped, and ``max_routes`` = 1 caps ``least``."""
    routes, route_of = _routes_of([10, 10])
    route_of = np.concatenate([[-1], route_of])
    order = list(range(len(route_of)))
    assert neighbourhood(routes, route_of, order, 60, 1, least=2) == [0]
    assert neighbourhood(routes, route_of, order[::-1], 60, 8, least=2) == [1, 0]
