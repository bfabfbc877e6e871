"""Route elimination (fewest vehicles) and start solutions handed to the adapter.

Tiny instances on a plane (see ``routing_helpers``); every plan is verified by the
independent checker.
"""

from __future__ import annotations

import time

import pytest
from routing_helpers import make_data, truck

from wastenet.errors import ValidationError
from wastenet.routing.checker import check
from wastenet.routing.ortools_adapter import AdapterConfig, solve_raw
from wastenet.routing.solve import (
    RouteParams,
    _decode,
    _plan,
    _reduce_fleet,
    fleet_lower_bound,
    solve,
)


def _four_stops(count: int = 4, cap: float = 10.0):
    """Four 2 t stops on a square around the depot, one facility at the depot's side."""
    stops = [{"xy": xy, "q": 2.0, "service": 60.0}
             for xy in ((1000, 0), (0, 1000), (-1000, 0), (0, -1000))]
    return make_data((0, 0), stops, [{"xy": (100, 0)}], [truck(count=count, capacity=(cap,))])


def test_fleet_lower_bound_by_route_capacity_and_stop_cap() -> None:
    """8 t in all over a 3 t daily route cap needs 3 vehicles; a 1-stop cap needs 4."""
    d = _four_stops()
    assert fleet_lower_bound(d) == 1
    capped = make_data((0, 0), [{"xy": (1000 * i, 0), "q": 2.0} for i in range(1, 5)],
                       [{"xy": (0, 0)}], [truck(count=4, route_capacity=(3.0,))])
    assert fleet_lower_bound(capped) == 3
    one = make_data((0, 0), [{"xy": (1000 * i, 0), "q": 2.0} for i in range(1, 5)],
                    [{"xy": (0, 0)}], [truck(count=4, max_stops=1)])
    assert fleet_lower_bound(one) == 4


def test_start_routes_are_taken_as_given() -> None:
    """With a start solution and a solution limit of 1, the adapter returns that solution:
    four single-stop routes stay four routes."""
    d = _four_stops()
    start = tuple((0, (("stop", s), ("unload", 0))) for s in range(4))
    raw = solve_raw(d, AdapterConfig(time_limit_s=5.0, solution_limit=1, start_routes=start))
    assert not raw.dropped
    assert len(raw.routes) == 4
    assert sorted(v.index for r in raw.routes for v in r.visits if v.kind == "stop") == [0, 1,
                                                                                          2, 3]


def test_route_elimination_reaches_one_vehicle() -> None:
    """From a deliberately bad incumbent (one vehicle per stop), route elimination finds
    the one-vehicle plan (8 t fits a 10 t truck) and the checker accepts it."""
    d = _four_stops()
    start = tuple((0, (("stop", s), ("unload", 0))) for s in range(4))
    raw = solve_raw(d, AdapterConfig(time_limit_s=5.0, solution_limit=1, start_routes=start))
    routes = [r for r in (_decode(d, x) for x in raw.routes) if r is not None]
    assert len(routes) == 4
    params = RouteParams(time_limit_s=3.0)
    t0 = time.perf_counter()
    routes2 = _reduce_fleet(d, params, routes, t0 + 3.0)
    assert len(routes2) == 1
    plan = _plan(d, tuple(routes2), (), params, t0, "TEST")
    rep = check(d, plan)
    assert rep.ok, rep.violations
    assert plan.vehicles == 1 and not plan.unserved


def test_route_elimination_keeps_incumbent_at_the_bound() -> None:
    """With a 2-stop cap per vehicle the bound is 2 vehicles: the solver's plan uses 2
    and route elimination never drops a stop to go lower."""
    stops = [{"xy": xy, "q": 1.0} for xy in ((1000, 0), (0, 1000), (-1000, 0), (0, -1000))]
    d = make_data((0, 0), stops, [{"xy": (0, 0)}], [truck(count=4, max_stops=2)])
    plan = solve(d, RouteParams(time_limit_s=2.0))
    assert check(d, plan).ok
    assert plan.vehicles == 2 and not plan.unserved


def test_route_elimination_at_the_bound_leaves_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the fleet bound there is nothing to eliminate: ``_reduce_fleet`` returns the
    routes at once, without a polishing search, so its time goes to the neighbourhood
    search; above the bound with nothing left to try it still polishes."""
    import wastenet.routing.solve as solve_mod

    stops = [{"xy": xy, "q": 1.0} for xy in ((1000, 0), (0, 1000), (-1000, 0), (0, -1000))]
    d = make_data((0, 0), stops, [{"xy": (0, 0)}], [truck(count=4, max_stops=2)])
    plan = solve(d, RouteParams(time_limit_s=2.0, solution_limit=1))
    assert plan.vehicles == fleet_lower_bound(d) == 2
    calls: list[float] = []
    real = solve_mod.resolve_from

    def counting(*args: object, **kw: object) -> object:
        calls.append(time.perf_counter())
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(solve_mod, "resolve_from", counting)
    t0 = time.perf_counter()
    routes = _reduce_fleet(d, RouteParams(time_limit_s=5.0), list(plan.routes), t0 + 5.0)
    assert routes == list(plan.routes) and calls == []
    assert time.perf_counter() - t0 < 1.0
    # something to eliminate (four one-stop routes, bound 1): the searches are counted
    loose = make_data((0, 0), stops, [{"xy": (0, 0)}], [truck(count=4, max_stops=4)])
    start = tuple((0, (("stop", s), ("unload", 0))) for s in range(4))
    raw = solve_raw(loose, AdapterConfig(time_limit_s=5.0, solution_limit=1,
                                         start_routes=start))
    four = [r for r in (_decode(loose, x) for x in raw.routes) if r is not None]
    _reduce_fleet(loose, RouteParams(time_limit_s=3.0), four, time.perf_counter() + 3.0)
    assert calls


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5])
def test_reduce_share_out_of_range_rejected(share: float) -> None:
    """``reduce_share`` outside [0, 1) is a ValidationError naming the field."""
    with pytest.raises(ValidationError, match="reduce_share"):
        RouteParams(reduce_share=share)


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5])
def test_lns_share_out_of_range_rejected(share: float) -> None:
    """``lns_share`` outside [0, 1) is a ValidationError naming the field."""
    with pytest.raises(ValidationError, match="lns_share"):
        RouteParams(lns_share=share)
