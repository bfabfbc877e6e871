"""The trip exchange (relocate and SWAP*) of :mod:`wastenet.routing.exchange`.

Tiny instances on a plane (see ``routing_helpers``: Manhattan metres at 10 m/s); every
result is verified by the independent checker.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from routing_helpers import build_route, make_data, make_plan, truck

from wastenet.routing.checker import check
from wastenet.routing.exchange import exchange, multi_trip
from wastenet.routing.solve import RouteParams, _score, solve

PARAMS = RouteParams(time_limit_s=5.0, vehicle_weight=0.0)

#: east pair, west pair; one facility 100 m north of the depot
EW = [{"xy": (5000, 0)}, {"xy": (5000, 200)}, {"xy": (-5000, 0)}, {"xy": (-5000, 200)}]


def _east_west(q: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)):
    stops = [dict(s, q=x) for s, x in zip(EW, q, strict=True)]
    return make_data((0, 0), stops, [{"xy": (0, 100)}], [truck(capacity=(2.0,))])


def _crossed(data):
    """One truck, two trips that each cross from east to west: S0, S2 | S1, S3."""
    seq = [("depot", 0), ("stop", 0), ("stop", 2), ("unload", 0), ("stop", 1), ("stop", 3),
           ("unload", 0), ("depot", 0)]
    return build_route(data, 0, 0, seq, 0.0)


def _run(data, routes):
    out = exchange(data, PARAMS, routes, time.perf_counter() + 10.0)
    rep = check(data, make_plan(out))
    assert rep.ok, rep.violations
    return out


def test_swap_untangles_two_crossed_trips() -> None:
    """Trips {east 1, west 1} and {east 2, west 2} cost 40,400 m (4,040 s): 5,000 out,
    10,000 across, 5,100 to the facility, twice, and 100 home. Swapping a west and an
    east stop gives one trip per side: 5,000 + 200 + 5,100 out and back east, 5,100 + 200
    + 5,100 west, 100 home = 20,800 m, 2,080 s, the optimum."""
    data = _east_west()
    r = _crossed(data)
    assert r.travel_s == pytest.approx(4040.0)
    out = _run(data, [r])
    assert len(out) == 1
    assert out[0].travel_s == pytest.approx(2080.0)
    trips = [[v.index for v in out[0].visits[1:4] if v.kind == "stop"],
             [v.index for v in out[0].visits[4:-1] if v.kind == "stop"]]
    assert sorted(map(sorted, trips)) == [[0, 1], [2, 3]]


def test_no_move_breaks_the_capacity_between_unloads() -> None:
    """With loads 1, 1.5 east and 1, 0.5 west (trips {1, 1} and {1.5, 0.5}, capacity 2)
    every swap or relocation between the trips would load one of them above 2 t, so
    the crossed route is returned as it was."""
    data = _east_west((1.0, 1.5, 1.0, 0.5))
    r = _crossed(data)
    out = _run(data, [r])
    assert [(v.kind, v.index) for v in out[0].visits] == [(v.kind, v.index) for v in r.visits]


def test_relocation_between_vehicles_respects_the_daily_cap() -> None:
    """Two trucks with a 2 t daily cap, each full: relocating a stop from one to the other
    would break the cap, so only swaps are possible, and the result keeps the cap."""
    data = make_data((0, 0), [dict(s, q=1.0) for s in EW], [{"xy": (0, 100)}],
                     [truck(count=2, capacity=(1.0,), route_capacity=(2.0,))])
    a = build_route(data, 0, 0, [("depot", 0), ("stop", 0), ("unload", 0), ("stop", 2),
                                 ("unload", 0), ("depot", 0)], 0.0)
    b = build_route(data, 0, 1, [("depot", 0), ("stop", 1), ("unload", 0), ("stop", 3),
                                 ("unload", 0), ("depot", 0)], 0.0)
    out = _run(data, [a, b])
    assert len(out) == 2
    assert all(r.load_total[0] <= 2.0 + 1e-9 for r in out)
    assert sum(r.travel_s for r in out) <= a.travel_s + b.travel_s + 1e-6


def test_assigned_facility_and_access_rules_are_kept() -> None:
    """Stops assigned to one of two facilities and stops that allow the small truck only:
    from a first plan (one solution), the exchange output passes every checker rule, never
    scores worse, and serves every stop once."""
    rng = np.random.default_rng(5)
    stops = []
    for i in range(30):
        s: dict = {"xy": tuple(rng.uniform(-6000, 6000, 2)), "q": float(rng.integers(1, 4)),
                   "service": 120.0, "facility": i % 2}
        if i % 7 == 0:
            s["allowed"] = frozenset({1})
        stops.append(s)
    data = make_data((0, 0), stops, [{"xy": (3000, 3000), "unload": 300},
                                     {"xy": (-3000, -2000), "unload": 300}],
                     [truck(count=4, capacity=(8.0,), route_capacity=(30.0,)),
                      truck(name="small", count=4, capacity=(4.0,), speed_factor=0.8,
                            break_duration_s=1800, break_earliest_s=39_600,
                            break_latest_s=43_200, shift_start_s=28_800)])
    first = solve(data, RouteParams(time_limit_s=5.0, vehicle_weight=0.0, solution_limit=1))
    assert multi_trip(list(first.routes))
    out = _run(data, list(first.routes))
    served = sorted(v.index for r in out for v in r.visits if v.kind == "stop")
    assert served == list(range(30))
    assert _score(PARAMS, out) <= _score(PARAMS, list(first.routes)) + 1e-6


def test_same_input_same_output() -> None:
    """The exchange is deterministic: the same routes give the same result twice."""
    data = _east_west()
    r = _crossed(data)
    a = _run(data, [r])
    b = _run(data, [r])
    assert [[(v.kind, v.index) for v in x.visits] for x in a] == \
        [[(v.kind, v.index) for v in x.visits] for x in b]


@pytest.mark.parametrize(("seq", "want"), [
    ([("depot", 0), ("stop", 0), ("stop", 1), ("unload", 0), ("depot", 0)], False),
    ([("depot", 0), ("unload", 0), ("stop", 0), ("unload", 0), ("depot", 0)], False),
    ([("depot", 0), ("stop", 0), ("unload", 0), ("stop", 1), ("unload", 0), ("depot", 0)],
     True),
])
def test_multi_trip(seq: list[tuple[str, int]], want: bool) -> None:
    """A plan is multi-trip when some route unloads between two of its stops; an unload
    before the first stop does not count."""
    data = _east_west()
    assert multi_trip([build_route(data, 0, 0, seq, 0.0)]) is want


def test_two_opt_star_swaps_the_tails_of_two_trips() -> None:
    """Trips {east 1, west 1} and {west 2, east 2}: cutting both after their first stop
    and swapping the tails gives {east 1, east 2} and {west 2, west 1}. The two 10,000 m
    crossings are replaced by two 200 m hops: 19,600 m, 1,960 s gained (2-opt*)."""
    from wastenet.routing.exchange import _Search

    data = _east_west()
    seq = [("depot", 0), ("stop", 0), ("stop", 2), ("unload", 0), ("stop", 3), ("stop", 1),
           ("unload", 0), ("depot", 0)]
    r = build_route(data, 0, 0, seq, 0.0)
    search = _Search(data, PARAMS, [r])
    assert search.trips is not None and len(search.trips) == 2
    A, B = search.trips
    move = search.best_tails(A, B, search.cost(0))
    assert move is not None
    gain, kind, i, j, _, _ = move
    assert (kind, i, j) == ("tails", 1, 1)
    assert gain == pytest.approx(1960.0)
    out = _run(data, [r])
    assert out[0].travel_s == pytest.approx(r.travel_s - 1960.0)


def test_improve_untangles_and_keeps_to_the_limit() -> None:
    """``solve._improve`` on the crossed multi-trip route: the neighbourhood search and
    the trip exchange at its end reach the 2,080 s optimum, pass the checker and end
    within the time limit (2 s from ``t0``)."""
    from wastenet.routing.solve import _improve

    data = _east_west()
    r = _crossed(data)
    params = RouteParams(time_limit_s=2.0, vehicle_weight=0.0)
    t0 = time.perf_counter()
    out = _improve(data, params, [r], t0)
    assert time.perf_counter() - t0 < 2.5
    assert check(data, make_plan(out)).ok
    assert sum(x.travel_s for x in out) == pytest.approx(2080.0)


def test_improve_returns_at_once_when_not_applicable() -> None:
    """With a finite facility capacity and stops free to choose their facility, neither
    search can work on parts of the plan: ``_improve`` returns the routes unchanged at
    once."""
    from wastenet.routing.solve import _improve

    stops = [dict(s, q=1.0) for s in EW]
    data = make_data((0, 0), stops, [{"xy": (0, 100), "cap": 10.0}], [truck(capacity=(2.0,))])
    r = _crossed(data)
    t0 = time.perf_counter()
    out = _improve(data, RouteParams(time_limit_s=5.0, vehicle_weight=0.0), [r], t0)
    assert out == [r]
    assert time.perf_counter() - t0 < 0.5
