"""Acceptance tests of the routing solver on tiny hand-checkable instances.

Every plan the solver returns is verified by the independent checker.
"""

from __future__ import annotations

import numpy as np
import pytest
from routing_helpers import make_data, truck

from wastenet.errors import InfeasibleError, NoSolutionError, ValidationError
from wastenet.routing.checker import check
from wastenet.routing.data import RoutePlan, RoutingData
from wastenet.routing.solve import RouteParams, partition, precheck, solve

FAST = RouteParams(time_limit_s=1.0)


def solve_checked(data: RoutingData, params: RouteParams = FAST) -> RoutePlan:
    plan = solve(data, params)
    rep = check(data, plan)
    assert rep.ok, rep.violations
    assert not plan.unserved
    assert rep.vehicles == plan.vehicles
    return plan


def kinds(plan: RoutePlan, r: int = 0) -> list[str]:
    return [v.kind for v in plan.routes[r].visits]


def test_forced_unload_mid_route() -> None:
    """Two loads of 6 t and a 10 t truck: it must unload between the stops and at the end."""
    data = make_data((0, 0), [{"xy": (2000, 0), "q": 6}, {"xy": (0, 2000), "q": 6}],
                     [{"xy": (1000, 0), "unload": 300}], [truck()])
    plan = solve_checked(data)
    assert plan.vehicles == 1
    assert kinds(plan) == ["depot", "stop", "unload", "stop", "unload", "depot"]
    loads = [v.load_after[0] for v in plan.routes[0].visits]
    assert max(loads) == pytest.approx(6.0)
    # optimum by hand (Manhattan): D-S1-F-S0-F-D = 2000 + 3000 + 1000 + 1000 + 1000
    assert plan.distance_m == pytest.approx(8000)


def test_forced_unload_second_dimension() -> None:
    """Volume, not weight, forces the second trip (capacity per dimension)."""
    data = make_data((0, 0), [{"xy": (2000, 0), "q": (1, 6)}, {"xy": (0, 2000), "q": (1, 6)}],
                     [{"xy": (1000, 0)}], [truck(capacity=(10.0, 10.0))],
                     load_dims=("t", "m3"))
    plan = solve_checked(data)
    assert kinds(plan).count("unload") == 2


def test_two_unload_sites_assigned_stations() -> None:
    """Each stop's load goes to its assigned station, even the farther one."""
    data = make_data((0, 0),
                     [{"xy": (-4000, 0), "q": 1, "facility": 0},
                      {"xy": (4000, 0), "q": 1, "facility": 1}],
                     [{"xy": (5000, 0)}, {"xy": (-5000, 0)}], [truck(capacity=(100.0,))])
    plan = solve_checked(data)
    vs = plan.routes[0].visits
    for i, v in enumerate(vs):
        if v.kind == "unload":
            prev = vs[i - 1]
            assert prev.kind == "stop"
            assert data.stop_facility[prev.index] == v.index
    assert [v.kind for v in vs].count("unload") == 2


def test_unassigned_stops_use_nearest_site() -> None:
    """Without assignments the truck unloads once, at the site on its way."""
    data = make_data((0, 0), [{"xy": (-4000, 0), "q": 1}, {"xy": (4000, 0), "q": 1}],
                     [{"xy": (5000, 0)}, {"xy": (-5000, 0)}], [truck(capacity=(100.0,))])
    plan = solve_checked(data)
    assert kinds(plan).count("unload") == 1
    assert plan.distance_m == pytest.approx(4000 + 8000 + 1000 + 5000)


def test_break_inside_window() -> None:
    """A route from 10:00 to past 13:00 takes its hour of break starting 11:00–12:00."""
    vt = truck(break_duration_s=3600, break_earliest_s=39_600, break_latest_s=43_200)
    data = make_data((0, 0),
                     [{"xy": (1000, 0), "q": 1, "window": (36_000, 36_600)},
                      {"xy": (0, 1000), "q": 1, "window": (46_800, 47_400)}],
                     [{"xy": (500, 500)}], [vt])
    plan = solve_checked(data)
    r = plan.routes[0]
    assert r.break_start_s is not None
    assert 39_600 <= r.break_start_s <= 43_200
    for v in r.visits:  # never during a service
        assert not (v.start_s < r.break_start_s < v.departure_s)


def test_no_break_for_morning_route() -> None:
    """A route back before 11:00 needs no break on the route."""
    vt = truck(break_duration_s=3600, break_earliest_s=39_600, break_latest_s=43_200)
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 1, "window": (28_800, 29_000)}],
                     [{"xy": (500, 500)}], [vt])
    plan = solve_checked(data)
    assert plan.routes[0].break_start_s is None
    assert plan.routes[0].visits[-1].arrival_s <= 39_600


def test_infeasible_window_reported_with_stop() -> None:
    """A stop whose window closes before any truck can arrive is named, no crash."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 1, "window": (0, 50), "id": "V7"},
                              {"xy": (2000, 0), "q": 1}],
                     [{"xy": (500, 0)}], [truck()])
    with pytest.raises(InfeasibleError) as exc:
        solve(data, FAST)
    assert "V7" in str(exc.value)
    assert "window" in str(exc.value)
    assert len(exc.value.reasons) == 1


def test_infeasible_demand_and_no_vehicle_named() -> None:
    """Demand above every allowed capacity and a stop with no allowed vehicle."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 25, "id": "BIG"},
                              {"xy": (2000, 0), "q": 1, "allowed": frozenset({1}), "id": "LANE"}],
                     [{"xy": (500, 0)}],
                     [truck(), truck(name="mini", count=0, capacity=(2.0,))])
    reasons = precheck(data)
    text = " ".join(reasons)
    assert "BIG" in text and "capacity" in text
    assert "LANE" in text and "no allowed vehicle" in text
    with pytest.raises(InfeasibleError):
        solve(data, FAST)


def test_jointly_infeasible_is_reported_not_crashing() -> None:
    """Two stops each reachable alone but not both by the single truck: the search
    leaves one out, which is a NoSolutionError naming it (a search proves nothing; only
    the pre-checks, which find nothing here, raise InfeasibleError)."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 1, "window": (100, 110), "id": "A"},
                              {"xy": (-1000, 0), "q": 1, "window": (100, 110), "id": "B"}],
                     [{"xy": (0, 500)}], [truck()])
    assert precheck(data) == []
    with pytest.raises(NoSolutionError) as exc:
        solve(data, FAST)
    assert "A" in str(exc.value) or "B" in str(exc.value)
    plan = solve(data, RouteParams(time_limit_s=1.0, allow_unserved=True))
    assert len(plan.unserved) == 1


def test_facility_over_capacity_reported() -> None:
    """Assigned loads above a station's daily capacity are reported naming it."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 4, "facility": 0},
                              {"xy": (2000, 0), "q": 4, "facility": 0}],
                     [{"xy": (500, 0), "cap": 5.0, "id": "ST1"}], [truck()])
    with pytest.raises(InfeasibleError) as exc:
        solve(data, FAST)
    assert "ST1" in str(exc.value)


def test_facility_daily_capacity_respected() -> None:
    """The near station takes at most 5 t a day; the rest goes to the far one."""
    stops = [{"xy": (1000 * (i + 1), 0), "q": 4} for i in range(3)]
    data = make_data((0, 0), stops, [{"xy": (0, 500), "cap": 5.0}, {"xy": (0, 9000)}],
                     [truck(count=2, capacity=(4.0,))])
    plan = solve_checked(data, RouteParams(time_limit_s=2.0))
    near = sum(v.kind == "unload" and v.index == 0 for r in plan.routes for v in r.visits)
    assert near <= 1


def test_facility_hours_explicit_final_unload() -> None:
    """A station closing at 08:00 forces the truck to unload in the morning."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 2, "window": (25_000, 26_000)}],
                     [{"xy": (0, 1000), "window": (0, 28_800)}], [truck()])
    plan = solve_checked(data)
    u = [v for v in plan.routes[0].visits if v.kind == "unload"]
    assert len(u) == 1 and u[0].start_s <= 28_800


def test_heterogeneous_fleet_and_access() -> None:
    """A narrow-lane stop gets the small truck; a heavy stop needs the big one."""
    small = truck(name="small", capacity=(5.0,))
    big = truck(name="big", capacity=(20.0,))
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 3, "allowed": frozenset({0})},
                              {"xy": (0, 1000), "q": 15}],
                     [{"xy": (500, 500)}], [small, big])
    plan = solve_checked(data)
    served = {v.index: r.vehicle_type for r in plan.routes for v in r.visits
              if v.kind == "stop"}
    assert served == {0: 0, 1: 1}


def test_fewest_vehicles_first() -> None:
    """Three trucks available, one suffices: one is used."""
    stops = [{"xy": (1000 * (i % 3), 1000 * (i // 3)), "q": 1} for i in range(1, 6)]
    data = make_data((0, 0), stops, [{"xy": (3000, 0)}], [truck(count=3)])
    plan = solve_checked(data)
    assert plan.vehicles == 1


def test_route_caps_force_second_vehicle() -> None:
    """max_stops = 2 over four stops needs two trucks; so does a route cap of 8 t."""
    stops = [{"xy": (1000 * (i + 1), 0), "q": 4} for i in range(4)]
    fac = [{"xy": (0, 500)}]
    plan = solve_checked(make_data((0, 0), stops, fac, [truck(count=3, max_stops=2)]))
    assert plan.vehicles == 2
    plan = solve_checked(make_data((0, 0), stops, fac,
                                   [truck(count=3, route_capacity=(8.0,))]))
    assert plan.vehicles == 2


def test_shift_limit_forces_second_vehicle() -> None:
    """Stops 2 h apart with a 3 h maximum shift need two trucks."""
    stops = [{"xy": (36_000, 0), "q": 1}, {"xy": (-36_000, 0), "q": 1}]
    data = make_data((0, 0), stops, [{"xy": (0, 100)}], [truck(count=2, max_shift_s=3 * 3600 + 600)])
    plan = solve_checked(data)
    assert plan.vehicles == 2
    for r in plan.routes:
        assert r.duration_s <= 3 * 3600 + 600


def random_instance(n: int, seed: int) -> RoutingData:
    rng = np.random.default_rng(seed)
    stops = [{"xy": tuple(rng.uniform(-5000, 5000, 2)), "q": float(rng.integers(1, 5)),
              "service": 60.0} for _ in range(n)]
    return make_data((0, 0), stops, [{"xy": (4000, 4000), "unload": 600},
                                     {"xy": (-4000, -3000), "unload": 600}],
                     [truck(count=6, capacity=(12.0,), route_capacity=(30.0,),
                            break_duration_s=1800, break_earliest_s=39_600,
                            break_latest_s=43_200, shift_start_s=36_000)])


def test_determinism_same_seed_and_solution_limit() -> None:
    """Same data, seed and solution limit: identical plans."""
    data = random_instance(15, 3)
    params = RouteParams(time_limit_s=30.0, solution_limit=30, seed=5)
    a = solve_checked(data, params)
    b = solve_checked(data, params)
    assert a.routes == b.routes
    assert a.travel_s == b.travel_s


def test_decomposition_by_sector() -> None:
    """Above the threshold the stops are split into sectors; the merged plan is valid."""
    data = random_instance(30, 1)
    params = RouteParams(time_limit_s=3.0, decompose_above=10, part_size=10)
    parts = partition(data, params)
    assert sorted(np.concatenate(parts).tolist()) == list(range(30))
    assert len(parts) == 3
    plan = solve_checked(data, params)
    assert plan.meta["parts"] == 3


def test_decomposition_by_catchment() -> None:
    """With assigned stations the parts follow the catchments."""
    rng = np.random.default_rng(2)
    stops = [{"xy": tuple(rng.uniform(-3000, 3000, 2)), "q": 1.0, "facility": i % 2}
             for i in range(12)]
    data = make_data((0, 0), stops, [{"xy": (3000, 0)}, {"xy": (-3000, 0)}],
                     [truck(count=4)])
    params = RouteParams(time_limit_s=2.0, decompose_above=6, part_size=6)
    parts = partition(data, params)
    assert len(parts) == 2
    for p in parts:
        assert len(set(data.stop_facility[p].tolist())) == 1
    solve_checked(data, params)


def test_random_instance_checked() -> None:
    """A mixed instance (breaks, two sites, route caps) is solved validly."""
    data = random_instance(20, 7)
    plan = solve_checked(data, RouteParams(time_limit_s=2.0))
    assert plan.vehicles >= 2  # 50+ t of waste, 30 t route cap


def test_zero_load_stops_without_facilities() -> None:
    """Visits that collect nothing (inspections) need no unload site at all."""
    stops = [{"xy": (1000, 0), "q": 0.0, "service": 60}, {"xy": (0, 1000), "q": 0.0}]
    data = make_data((0, 0), stops, [], [truck()])
    plan = solve_checked(data)
    assert kinds(plan) == ["depot", "stop", "stop", "depot"]


def test_empty_day() -> None:
    """A day without stops gives an empty, valid plan."""
    data = make_data((0, 0), [], [{"xy": (1000, 0)}], [truck()])
    plan = solve_checked(data)
    assert plan.vehicles == 0 and plan.routes == ()


def test_determinism_with_decomposition() -> None:
    """Decomposed solves are reproducible under a solution limit too."""
    data = random_instance(24, 11)
    params = RouteParams(time_limit_s=60.0, solution_limit=10, seed=1, decompose_above=10,
                         part_size=8)
    a = solve_checked(data, params)
    b = solve_checked(data, params)
    assert a.routes == b.routes


def test_exact_break_model_agrees_with_checker() -> None:
    """The exact OR-Tools break intervals (the fallback) also give valid plans."""
    data = random_instance(12, 5)
    plan = solve_checked(data, RouteParams(time_limit_s=2.0, break_model="exact"))
    assert plan.vehicles >= 1


@pytest.mark.parametrize("kw", [{"seed": -5}, {"seed": 2**31}, {"seed": 1.5},
                                {"time_limit_s": float("inf")},
                                {"time_limit_s": float("nan")}, {"time_limit_s": 0}])
def test_route_params_refuse_bad_seed_and_time_limit(kw: dict) -> None:
    """A negative or too large seed, or a time limit that is not a finite positive number,
    is refused when the parameters are made, naming the field (not a numpy ValueError
    after the whole solve)."""
    field = next(iter(kw))
    with pytest.raises(ValidationError, match=field):
        RouteParams(**kw)


def test_stop_above_every_allowed_vehicle_named_plainly() -> None:
    """A narrow-lane stop whose accumulated load (2.8605 t) exceeds the only vehicles
    allowed there (2 t tricycles) is named with its load and the largest allowed
    capacity, in plain numbers (no numpy reprs), saying loads cannot be split."""
    tri = truck(name="tricycle-2t", capacity=(2.0, 6.0))
    big = truck(name="compactor-8t", capacity=(8.0, 20.0))
    data = make_data((0, 0), [{"xy": (1000, 0), "q": (2.8605, 7.15125), "id": "V9",
                               "allowed": frozenset({0})},
                              {"xy": (2000, 0), "q": (1.0, 2.5)}],
                     [{"xy": (500, 0)}], [tri, big], load_dims=("t", "m3"))
    reasons = precheck(data)
    assert len(reasons) == 1
    text = reasons[0]
    assert text.startswith("stop V9")
    assert "load 2.861 t, 7.151 m3 exceeds the capacity of every vehicle type allowed" \
        in text
    assert "largest: tricycle-2t, 2 t, 6 m3" in text and "cannot be split" in text
    assert "only tricycle-2t may serve it" in text
    assert "np." not in text and "float64" not in text


def test_vehicle_type_error_shows_plain_numbers() -> None:
    """A vehicle type built from numpy values (as a benchmark reader may) reports a bad
    capacity as plain numbers, not numpy reprs."""
    with pytest.raises(ValidationError) as exc:
        truck(capacity=(np.float64(-2.5), np.float64(6.0)))
    assert "capacity=(-2.5, 6.0)" in str(exc.value) and "np." not in str(exc.value)


def test_decomposition_shares_facility_capacity() -> None:
    """Decomposed parts share a station's daily capacity instead of each filling it.

    Eight unassigned stops of 0.4 t around the depot, cut into two parts of four; the
    near station takes 2 t a day, the far one any load. Each part alone would unload its
    1.6 t at the near station (3.2 t in all)."""
    stops = [{"xy": (1000.0 * np.cos(a), 1000.0 * np.sin(a)), "q": 0.4}
             for a in np.linspace(0.0, 6.0, 8)]
    data = make_data((0, 0), stops, [{"xy": (0, 300), "cap": 2.0}, {"xy": (0, 8000)}],
                     [truck(count=4)])
    params = RouteParams(time_limit_s=5.0, solution_limit=20, decompose_above=4, part_size=4)
    assert len(partition(data, params)) == 2
    plan = solve_checked(data, params)
    assert plan.meta["parts"] == 2


def test_decomposition_reserves_capacity_for_assigned_stops() -> None:
    """A part solved first leaves room at a station for the stops assigned to it in the
    parts still to come: the four unassigned stops (first part) go to the far station,
    since the near one (3 t a day) must take the 2 t assigned to it in the second part."""
    stops = ([{"xy": (1000, 200 * i), "q": 0.5} for i in range(4)]
             + [{"xy": (-1000, 200 * i), "q": 0.5, "facility": 0} for i in range(4)])
    data = make_data((0, 0), stops, [{"xy": (0, 300), "cap": 3.0}, {"xy": (0, -9000)}],
                     [truck(count=4)])
    params = RouteParams(time_limit_s=5.0, solution_limit=20, decompose_above=4, part_size=4)
    assert [p.tolist() for p in partition(data, params)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    solve_checked(data, params)


def test_free_loads_above_all_facility_capacities_reported() -> None:
    """Unassigned loads that no facility has room for are reported up front, naming the
    facility and both amounts, also when the instance would be decomposed."""
    stops = [{"xy": (1000.0 * np.cos(a), 1000.0 * np.sin(a)), "q": 0.4}
             for a in np.linspace(0.0, 6.0, 8)]
    data = make_data((0, 0), stops, [{"xy": (0, 300), "cap": 2.0, "id": "L9"}],
                     [truck(count=4)])
    with pytest.raises(InfeasibleError) as exc:
        solve(data, RouteParams(time_limit_s=2.0, decompose_above=4, part_size=4))
    text = str(exc.value)
    assert "bring 3.2 t" in text and "L9 2 t" in text and "room for 2 t" in text


@pytest.mark.parametrize("limit", [{"solution_limit": 50}, {"time_limit_s": 2.0}])
def test_hourly_cost_charged_on_the_whole_duration(limit: dict) -> None:
    """The search pays the hourly cost on the route's whole duration, waits included.

    Stop A must be served before 1,000 s and stop B after 20,000 s, 10 s apart. One truck
    serving both travels 220 s but waits about 5.5 h (about 335 yuan at 60 yuan/h); two
    trucks travel 420 s and wait not at all (7 yuan). Charging hours on travel alone picks
    the single truck; the reported cost (the objective with ``cost_weight=1``) is lowest
    with two.
    """
    data = make_data(
        (0, 0), [{"xy": (1000, 0), "q": 1, "window": (0, 1000)},
                 {"xy": (1000, 100), "q": 1, "window": (20_000, 21_000)}],
        [{"xy": (0, 0)}], [truck(count=2, cost_yuan_per_h=60.0)])
    params = RouteParams(vehicle_weight=0.0, time_weight=0.0, cost_weight=1.0,
                         **{"time_limit_s": 5.0, **limit})
    plan = solve_checked(data, params)
    assert plan.vehicles == 2
    assert plan.cost_yuan == pytest.approx(60.0 * 420 / 3600)
