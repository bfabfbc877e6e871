"""Fewer vehicles on days of long routes (the Kim, Kim & Sahoo 2006 instances).

On 804, 1351 and 2100 stops the engine used one or two vehicles more than Kim et al.:
parts of 250 stops held one to three of those long routes each, and route elimination
searched the whole instance from the remaining routes, leaving 30 to 190 stops out at
every attempt. Now a day whose vehicles may each serve more than half a part is solved
whole (:func:`wastenet.routing.solve.part_size`), large instances eliminate routes
through an ejection pool on neighbourhoods of the plan
(:func:`wastenet.routing.improve.eliminate`).

Tiny instances on a plane (see ``routing_helpers``: 10 m/s, Manhattan distances); every
plan is verified by the independent checker.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pytest
from routing_helpers import make_data, truck

import wastenet.routing.solve as solve_mod
from wastenet.routing.checker import check
from wastenet.routing.data import Route, RoutingData
from wastenet.routing.improve import eliminate
from wastenet.routing.ortools_adapter import AdapterConfig, solve_raw
from wastenet.routing.solve import (
    PART_S_PER_STOP,
    RouteParams,
    _decode,
    _plan,
    budget_shares,
    fleet_lower_bound,
    part_size,
    partition,
    solve,
)


def _one_route_per_stop(data: RoutingData) -> list[Route]:
    """A deliberately bad incumbent: each stop on a route of its own (out and back
    through the first facility)."""
    start = tuple((0, (("stop", s), ("unload", 0))) for s in range(data.n_stops))
    raw = solve_raw(data, AdapterConfig(time_limit_s=5.0, solution_limit=1,
                                        start_routes=start))
    routes = [r for r in (_decode(data, x) for x in raw.routes) if r is not None]
    assert len(routes) == data.n_stops and not raw.dropped
    return routes


def _ok(data: RoutingData, routes: list[Route], params: RouteParams) -> None:
    """The routes serve every stop once and pass the checker."""
    plan = _plan(data, tuple(routes), (), params, time.perf_counter(), "TEST")
    rep = check(data, plan)
    assert rep.ok, rep.violations
    served = sorted(v.index for r in routes for v in r.visits if v.kind == "stop")
    assert served == list(range(data.n_stops))


def test_pool_elimination_reaches_the_bound() -> None:
    """Six 2 t stops on a square-ish ring, a daily route capacity of 6 t: the bound is
    ``⌈12/6⌉ = 2`` vehicles. From one route per stop, the ejection-pool elimination
    empties four routes one after the other and returns two, every stop served."""
    xy = ((1000, 0), (1000, 1000), (0, 1000), (-1000, 0), (-1000, -1000), (0, -1000))
    data = make_data((0, 0), [{"xy": p, "q": 2.0, "service": 60.0} for p in xy],
                     [{"xy": (100, 0)}],
                     [truck(count=6, capacity=(10.0,), route_capacity=(6.0,))])
    assert fleet_lower_bound(data) == 2
    routes = _one_route_per_stop(data)
    params = RouteParams(time_limit_s=20.0)
    new = eliminate(data, params, routes, time.perf_counter() + 15.0, slice_s=0.2)
    assert len(new) == 2
    assert sorted(r.vehicle for r in new) == [0, 1]  # renumbered
    _ok(data, new, params)


def test_pool_elimination_keeps_its_deadline_and_the_incumbent() -> None:
    """Two stops 20 km apart, each open for one minute at 01:00: no truck serves both
    (2,000 s between them), though the fleet bound is 1. Elimination tries each route,
    fails, keeps both routes and returns within a second of its deadline."""
    stops = [{"xy": (10000, 0), "q": 1.0, "window": (3600.0, 3660.0)},
             {"xy": (-10000, 0), "q": 1.0, "window": (3600.0, 3660.0)}]
    data = make_data((0, 0), stops, [{"xy": (0, 100)}], [truck(count=2)])
    assert fleet_lower_bound(data) == 1
    routes = _one_route_per_stop(data)
    params = RouteParams(time_limit_s=5.0)
    t = time.perf_counter()
    new = eliminate(data, params, routes, t + 2.0)
    assert time.perf_counter() - t <= 2.0 + 1.0
    assert len(new) == 2
    _ok(data, new, params)


def _long_days(monkeypatch: pytest.MonkeyPatch, vehicle_weight: float = 200_000.0,
               time_limit_s: float = 4.0) -> tuple[RoutingData, RouteParams]:
    """Twelve 1 t stops along a line, a daily route capacity of 6 t (bound: 2 vehicles,
    so one vehicle may serve 6 stops), decomposed above 4 stops into parts of the default
    size, made 4 stops here (``DEFAULT_PART_SIZE``, 250 in the engine)."""
    monkeypatch.setattr(solve_mod, "DEFAULT_PART_SIZE", 4)
    stops = [{"xy": (500 * (i + 1), 0), "q": 1.0, "service": 30.0} for i in range(12)]
    data = make_data((0, 0), stops, [{"xy": (0, 100)}],
                     [truck(count=12, capacity=(10.0,), route_capacity=(6.0,))])
    return data, RouteParams(time_limit_s=time_limit_s, decompose_above=4,
                             vehicle_weight=vehicle_weight)


def test_long_days_are_solved_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 6 stops a vehicle (12 stops over the bound of 2) and parts of 4, a part would
    hold less than one vehicle's day: the part size is raised and the day is solved
    whole, on the 2 vehicles of the bound. Without a charge per vehicle, or with a part
    size set in the parameters, the parts stay (3 parts of 4)."""
    data, params = _long_days(monkeypatch)
    assert fleet_lower_bound(data) == 2
    assert part_size(data, params) >= data.n_stops
    assert len(partition(data, params)) == 1
    plan = solve(data, params)
    assert "parts" not in plan.meta and not plan.status.startswith("DECOMPOSED")
    assert plan.vehicles == 2 and not plan.unserved
    assert check(data, plan).ok
    free, params0 = _long_days(monkeypatch, vehicle_weight=0.0)
    assert part_size(free, params0) == 4
    assert len(partition(free, params0)) == 3
    fixed = replace(params, part_size=4)
    assert part_size(data, fixed) == 4
    assert len(partition(data, fixed)) == 3


def test_short_limits_hold_the_parts_of_long_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same long days with limits too short for a whole first plan: the raised part
    size is held to the main search's share over ``PART_S_PER_STOP`` (3 ms a stop). At
    0.085 s that share is 0.0255 s, 8 stops: two parts; at 0.02 s it is 2 stops, below
    the default part size, which stays (three parts of 4)."""
    data, params = _long_days(monkeypatch)
    mid = replace(params, time_limit_s=0.085)
    assert budget_shares(mid)[0] == pytest.approx(0.3)
    assert PART_S_PER_STOP == 0.003
    assert part_size(data, mid) == 8
    assert len(partition(data, mid)) == 2
    short = replace(params, time_limit_s=0.02)
    assert part_size(data, short) == 4
    assert len(partition(data, short)) == 3


def test_short_days_keep_their_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """One stop a vehicle (a stop cap of 1: the bound is 12 vehicles): parts of the
    default size (4 here) hold four vehicles' days, and the part size stays."""
    monkeypatch.setattr(solve_mod, "DEFAULT_PART_SIZE", 4)
    stops = [{"xy": (500 * (i + 1), 0), "q": 1.0} for i in range(12)]
    data = make_data((0, 0), stops, [{"xy": (0, 100)}], [truck(count=12, max_stops=1)])
    params = RouteParams(time_limit_s=4.0, decompose_above=4)
    assert fleet_lower_bound(data) == 12
    assert part_size(data, params) == 4
    assert len(partition(data, params)) == 3


def test_joined_parts_lose_a_route_in_the_pool(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """Two parts of four 1 t stops (no daily caps: the fleet bound of 1 says nothing, so
    the parts stay), each solved on its own with one truck of 10 t: the joined plan has
    two routes of 4 t. With the pool elimination switched on for every size
    (``POOL_ABOVE = 0``), it empties one of them into the other: one vehicle."""
    monkeypatch.setattr(solve_mod, "POOL_ABOVE", 0)
    stops = [{"xy": xy, "q": 1.0, "service": 30.0}
             for xy in ((1000, 200), (1200, 600), (800, 900), (600, 1100),
                        (-1000, -200), (-1200, -600), (-800, -900), (-600, -1100))]
    data = make_data((0, 0), stops, [{"xy": (0, 100)}], [truck(count=2, capacity=(10.0,))])
    params = RouteParams(time_limit_s=8.0, decompose_above=4, part_size=4)
    assert len(partition(data, params)) == 2
    with caplog.at_level(logging.INFO, logger="wastenet.routing.improve"):
        plan = solve(data, params)
    assert plan.meta["parts"] == 2
    assert "route elimination (pool): 2 -> 1 vehicles" in caplog.text
    assert plan.vehicles == 1 and not plan.unserved
    assert check(data, plan).ok
