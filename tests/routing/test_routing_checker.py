"""The independent checker rejects hand-broken plans, one test per rule."""

from __future__ import annotations

from dataclasses import replace

import pytest
import routing_helpers as _h

from wastenet.routing.checker import check
from wastenet.routing.data import RoutePlan, RoutingData

make_data, truck, build_route, make_plan = _h.make_data, _h.truck, _h.build_route, _h.make_plan

A = [("depot", 0), ("stop", 0), ("unload", 0), ("stop", 1), ("unload", 0), ("depot", 0)]
B = [("depot", 0), ("stop", 2), ("unload", 1), ("depot", 0)]
MORNING = 28_800.0


def base_data(vt_kw: dict | None = None, stop1: dict | None = None,
              fac0: dict | None = None, stop0: dict | None = None) -> RoutingData:
    kw = {"count": 2, "max_stops": 5, "route_capacity": (20.0,), "break_duration_s": 3600,
          "break_earliest_s": 39_600, "break_latest_s": 43_200, **(vt_kw or {})}
    vt = truck(**kw)
    mini = truck(name="mini", count=1)
    stops = [{"xy": (1000, 0), "q": 6, "service": 60, "facility": 0, **(stop0 or {})},
             {"xy": (2000, 0), "q": 6, "service": 60, "facility": 0, **(stop1 or {})},
             {"xy": (0, 1000), "q": 3, "service": 60, "allowed": frozenset({0})}]
    facs = [{"xy": (1500, 500), "unload": 300, "cap": 100.0, **(fac0 or {})},
            {"xy": (-1000, 0), "unload": 300}]
    return make_data((0, 0), stops, facs, [vt, mini])


def plan_of(data: RoutingData, a: list = A, b: list = B, leave_a: float = MORNING,
            vtype_b: int = 0, break_a: int | None = None) -> RoutePlan:
    ra = build_route(data, 0, 0, a, leave_a, break_a)
    rb = build_route(data, vtype_b, 1 if vtype_b == 0 else 0, b, MORNING)
    return make_plan([ra, rb])


def violations(data: RoutingData, plan: RoutePlan) -> str:
    rep = check(data, plan)
    assert not rep.ok
    return "\n".join(rep.violations)


def test_valid_plan_passes_and_totals_recomputed() -> None:
    """The hand-built baseline is valid and its totals are recomputed exactly."""
    data = base_data()
    plan = plan_of(data)
    rep = check(data, plan)
    assert rep.ok, rep.violations
    # A: 1000 + 1000 + 1000 + 1000 + 2000 m; B: 1000 + 2000 + 1000 m
    assert rep.distance_m == pytest.approx(10_000.0)
    assert rep.travel_s == pytest.approx(1000.0)
    assert rep.vehicles == 2


def test_capacity_between_unloads() -> None:
    """12 t on board a 10 t truck, reported in plain numbers (no numpy reprs)."""
    data = base_data()
    a = [("depot", 0), ("stop", 0), ("stop", 1), ("unload", 0), ("depot", 0)]
    text = violations(data, plan_of(data, a=a))
    assert "load 12 t above capacity 10 t" in text
    assert "np." not in text


def test_messages_have_plain_numbers() -> None:
    """Reported totals and loads that disagree with the recomputed ones are written as
    plain numbers, never numpy reprs."""
    data = base_data()
    plan = plan_of(data)
    r0 = plan.routes[0]
    bad = replace(plan, routes=(replace(r0, distance_m=1.5, load_total=(99.0,)),
                                *plan.routes[1:]))
    text = violations(data, bad)
    assert "reported distance_m=1.5, recomputed 6000" in text
    assert "reported load_total 99 t, recomputed 12 t" in text
    assert "np." not in text and "float64" not in text


def test_max_stops() -> None:
    """Two stops on a route capped at one."""
    data = base_data({"max_stops": 1})
    assert "max_stops" in violations(data, plan_of(data))


def test_route_capacity() -> None:
    """12 t collected by a truck allowed 10 t a day."""
    data = base_data({"route_capacity": (10.0,)})
    assert "route capacity" in violations(data, plan_of(data))


def test_stop_window() -> None:
    """Service after the stop's window closed."""
    data = base_data(stop1={"window": (0.0, 100.0)})
    assert "time window" in violations(data, plan_of(data))


def test_facility_hours() -> None:
    """Unloading after the station closed."""
    data = base_data(fac0={"window": (0.0, 1000.0)})
    assert "facility hours" in violations(data, plan_of(data))


def test_shift_start() -> None:
    """Leaving before the shift starts."""
    data = base_data({"shift_start_s": 30_000.0})
    assert "before the shift" in violations(data, plan_of(data))


def test_shift_end_and_max_shift() -> None:
    """Back after the shift end, and longer than the maximum shift."""
    data = base_data({"shift_end_s": 29_000.0, "max_shift_s": 500.0})
    text = violations(data, plan_of(data))
    assert "after the shift end" in text
    assert "max_shift" in text


def test_break_missing() -> None:
    """A route under way over lunch without a break."""
    data = base_data()
    # leaves 11:50 (before 11:00 + 1 h), back after 12:00
    assert "no break" in violations(data, plan_of(data, leave_a=42_600.0))


def test_break_taken_is_valid() -> None:
    """The same route with its break after the first stop passes."""
    data = base_data()
    plan = plan_of(data, leave_a=40_000.0, break_a=1)
    assert plan.routes[0].break_start_s == pytest.approx(40_160.0)
    rep = check(data, plan)
    assert rep.ok, rep.violations


def test_break_outside_window() -> None:
    """A break starting 10:00 is outside [11:00, 12:00]."""
    data = base_data()
    plan = plan_of(data, leave_a=35_000.0, break_a=1)
    r = plan.routes[0]
    broken = replace(plan, routes=(replace(r, break_start_s=36_000.0), plan.routes[1]))
    assert "outside its window" in violations(data, broken)


def test_break_overlapping_service() -> None:
    """A break starting in the middle of an unload."""
    data = base_data()
    plan = plan_of(data, leave_a=40_000.0, break_a=1)
    r = plan.routes[0]
    u = r.visits[2]
    assert u.kind == "unload"
    bad = replace(r, break_start_s=u.start_s + 100.0)
    assert "overlaps a service" in violations(data, replace(plan, routes=(bad, plan.routes[1])))


def test_stop_visited_twice() -> None:
    """Stop 0 appears in both routes."""
    data = base_data()
    b = [("depot", 0), ("stop", 2), ("stop", 0), ("unload", 1), ("depot", 0)]
    assert "visited 2 times" in violations(data, plan_of(data, b=b))


def test_stop_not_visited() -> None:
    """Dropping route B leaves stop 2 unvisited."""
    data = base_data()
    plan = plan_of(data)
    broken = make_plan([plan.routes[0]])
    assert "not visited" in violations(data, broken)


def test_assigned_facility() -> None:
    """Stop 0 is assigned to station 0 but its trip ends at station 1."""
    data = base_data()
    a = [("depot", 0), ("stop", 0), ("unload", 1), ("stop", 1), ("unload", 0), ("depot", 0)]
    assert "assigned to facility" in violations(data, plan_of(data, a=a))


def test_loaded_trip_ends_at_its_assigned_facility() -> None:
    """Route A's last trip holds stop 1 (6 t, assigned to station 0) and goes home
    without unloading: besides the load on board, the skipped station is named."""
    data = base_data()
    a = [("depot", 0), ("stop", 0), ("unload", 0), ("stop", 1), ("depot", 0)]
    text = violations(data, plan_of(data, a=a))
    assert "must unload" in text
    assert "stop S1 is assigned to facility 0, but its trip returns to the depot" in text
    assert "stop S0" not in text


def test_empty_trip_may_skip_its_assigned_facility() -> None:
    """A trip that collected nothing (stop 0 with zero load, assigned to station 0) may
    return to the depot without unloading (the exception in the data rules)."""
    data = base_data(stop0={"q": 0.0})
    a = [("depot", 0), ("stop", 1), ("unload", 0), ("stop", 0), ("depot", 0)]
    rep = check(data, plan_of(data, a=a))
    assert rep.ok, rep.violations


def test_empty_trip_unloading_elsewhere() -> None:
    """A zero-load stop assigned to station 0 in a trip that ends at station 1 breaks
    the assigned-facility rule all the same."""
    data = base_data(stop0={"q": 0.0})
    a = [("depot", 0), ("stop", 1), ("unload", 0), ("stop", 0), ("unload", 1), ("depot", 0)]
    assert "assigned to facility 0, unloaded at 1" in violations(data, plan_of(data, a=a))


def test_unload_before_return() -> None:
    """Route B returns to the depot with its load."""
    data = base_data()
    b = [("depot", 0), ("stop", 2), ("depot", 0)]
    assert "must unload" in violations(data, plan_of(data, b=b))


def test_facility_daily_capacity() -> None:
    """Station 0 receives 12 t against a 5 t daily capacity."""
    data = base_data(fac0={"cap": 5.0})
    assert "daily capacity" in violations(data, plan_of(data))


def test_access_restriction() -> None:
    """The mini truck serves a stop that allows only type 0."""
    data = base_data()
    assert "access restriction" in violations(data, plan_of(data, vtype_b=1))


def test_reported_totals_must_match() -> None:
    """A plan that misreports its distance is rejected."""
    data = base_data()
    plan = plan_of(data)
    assert "reported distance_m" in violations(data, replace(plan,
                                                            distance_m=plan.distance_m + 5))
    r = plan.routes[0]
    bad = replace(r, travel_s=r.travel_s - 10)
    assert "reported travel_s" in violations(data, replace(plan, routes=(bad, plan.routes[1])))


def test_reported_loads_must_match() -> None:
    """A visit reporting the wrong load on board is rejected."""
    data = base_data()
    plan = plan_of(data)
    r = plan.routes[0]
    vs = list(r.visits)
    vs[1] = replace(vs[1], load_after=(1.0,))
    bad = replace(r, visits=tuple(vs))
    assert "load_after" in violations(data, replace(plan, routes=(bad, plan.routes[1])))


def test_travel_time_respected() -> None:
    """Arriving at the next stop faster than the matrix allows is rejected."""
    data = base_data()
    plan = plan_of(data)
    r = plan.routes[0]
    vs = list(r.visits)
    v = vs[3]
    vs[3] = replace(v, arrival_s=v.arrival_s - 50, start_s=v.start_s - 50,
                    departure_s=v.departure_s - 50)
    bad = replace(r, visits=tuple(vs))
    assert "earlier than departure" in violations(data, replace(plan,
                                                               routes=(bad, plan.routes[1])))


def test_vehicle_must_exist_once() -> None:
    """Vehicle numbers beyond the fleet, or used twice, are rejected."""
    data = base_data()
    plan = plan_of(data)
    r0, r1 = plan.routes
    assert "only 2 vehicles" in violations(data, make_plan([r0, replace(r1, vehicle=5)]))
    assert "more than one route" in violations(data, make_plan([r0, replace(r1, vehicle=0)]))
