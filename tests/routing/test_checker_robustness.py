"""The routing checker closes audit holes: breaks after the return, non-finite times,
non-integer vehicles, malformed plans (a report, never an exception), ``unserved``."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import routing_helpers as _h

from wastenet.routing.checker import check
from wastenet.routing.data import RoutePlan, RoutingData

make_data, truck, build_route, make_plan = _h.make_data, _h.truck, _h.build_route, _h.make_plan

A = [("depot", 0), ("stop", 0), ("unload", 0), ("stop", 1), ("unload", 0), ("depot", 0)]
B = [("depot", 0), ("stop", 2), ("unload", 1), ("depot", 0)]
MORNING = 28_800.0


def base_data(**vt_kw: object) -> RoutingData:
    """The tiny instance of test_routing_checker: stops 0, 1 (6 t, station 0) and 2 (3 t,
    trucks only); a 1 h break in [11:00, 12:00]; two trucks and one mini."""
    kw = {"count": 2, "max_stops": 5, "route_capacity": (20.0,), "break_duration_s": 3600,
          "break_earliest_s": 39_600, "break_latest_s": 43_200, **vt_kw}
    stops = [{"xy": (1000, 0), "q": 6, "service": 60, "facility": 0},
             {"xy": (2000, 0), "q": 6, "service": 60, "facility": 0},
             {"xy": (0, 1000), "q": 3, "service": 60, "allowed": frozenset({0})}]
    facs = [{"xy": (1500, 500), "unload": 300, "cap": 100.0},
            {"xy": (-1000, 0), "unload": 300}]
    return make_data((0, 0), stops, facs, [truck(**kw), truck(name="mini", count=1)])


def plan_of(data: RoutingData, leave_a: float = MORNING, break_a: int | None = None
            ) -> RoutePlan:
    return make_plan([build_route(data, 0, 0, A, leave_a, break_a),
                      build_route(data, 0, 1, B, MORNING)])


def with_visit(plan: RoutePlan, r: int, i: int, **kw: object) -> RoutePlan:
    route = plan.routes[r]
    vs = list(route.visits)
    vs[i] = replace(vs[i], **kw)  # type: ignore[arg-type]
    return _h.with_route(plan, r, replace(route, visits=tuple(vs)))


def with_route_fields(plan: RoutePlan, r: int, **kw: object) -> RoutePlan:
    return _h.with_route(plan, r, replace(plan.routes[r], **kw))  # type: ignore[arg-type]


def violations(data: RoutingData, plan: RoutePlan) -> str:
    rep = check(data, plan)
    assert not rep.ok
    return "\n".join(rep.violations)


def _break_after_return(data: RoutingData) -> RoutePlan:
    """Route A leaving at 11:40 back at 12:02 without a break, but claiming one at 11:58
    whose hour ends after the return: the final depot's start is moved past it."""
    r = build_route(data, 0, 0, A, 42_000.0)
    vs = list(r.visits)
    ret = vs[-1].arrival_s
    vs[-1] = replace(vs[-1], start_s=ret + 3600.0, departure_s=ret + 3600.0)
    cheat = replace(r, visits=tuple(vs), break_start_s=vs[-2].departure_s)
    return make_plan([cheat, build_route(data, 0, 1, B, MORNING)])


@pytest.mark.parametrize("vt_kw", [{}, {"shift_end_s": 43_400.0}, {"max_shift_s": 2000.0}],
                         ids=["plain", "shift_end", "max_shift"])
def test_break_must_end_before_the_return(vt_kw: dict) -> None:
    """A break in the last gap must fit before the arrival at the depot (the return), and
    the final depot's start and departure equal that arrival; a break 'taken' after the
    vehicle is back would dodge the shift end, max_shift and the hourly cost. A genuine
    break in the last gap (as the solver's decoder places it) still passes."""
    data = base_data(**vt_kw)
    text = violations(data, _break_after_return(data))
    assert "overlaps a service or lies outside the route" in text
    assert "must equal the return (arrival)" in text
    if not vt_kw:
        honest = plan_of(data, leave_a=42_000.0, break_a=4)  # break after the last unload
        assert honest.routes[0].break_start_s is not None
        rep = check(data, honest)
        assert rep.ok, rep.violations


@pytest.mark.parametrize(("visit", "fields", "value"), [
    (1, {"arrival_s"}, math.nan),
    (2, {"arrival_s"}, math.nan),
    (0, {"arrival_s"}, math.nan),
    (1, {"start_s"}, math.nan),
    (2, {"departure_s"}, math.inf),
    (5, {"start_s", "departure_s"}, math.nan),
    (3, {"arrival_s", "start_s"}, -math.inf),
], ids=["stop-arrival", "unload-arrival", "depot-arrival", "stop-start",
        "unload-departure-inf", "final-depot", "stop-minus-inf"])
def test_times_must_be_finite(visit: int, fields: set[str], value: float) -> None:
    """A non-finite time is reported naming the visit and the field. A NaN arrival, or a
    NaN final-depot start or departure, used to pass silently (NaN switches off every
    comparison it takes part in); a bad start or departure elsewhere was caught only
    indirectly, by the service-duration rule."""
    data = base_data()
    plan = with_visit(plan_of(data), 0, visit, **dict.fromkeys(fields, value))
    text = violations(data, plan)
    for name in fields:
        assert f"vehicle truck#0 visit {visit}: {name}={value!r} is not a finite number" in text


def test_nan_arrival_cannot_hide_travel_time() -> None:
    """Stop 0 (100 s from the depot) closes 50 s after leaving: starting service there at
    the close with a NaN arrival is rejected (the audit's r03 case)."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 1, "window": (28_800.0, 28_850.0)}],
                     [{"xy": (0, 1000)}], [truck()])
    r = build_route(data, 0, 0, [("depot", 0), ("stop", 0), ("unload", 0), ("depot", 0)],
                    MORNING)
    plan = make_plan([r])
    assert "time window" in violations(data, plan)
    cheat = with_visit(plan, 0, 1, arrival_s=math.nan, start_s=28_850.0, departure_s=28_850.0)
    assert "visit 1: arrival_s=nan is not a finite number" in violations(data, cheat)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_break_start_must_be_finite(value: float) -> None:
    """A NaN or infinite break start is reported as such (it used to show only as a break
    outside its window), naming the field."""
    data = base_data()
    plan = with_route_fields(plan_of(data), 0, break_start_s=value)
    assert f"break_start_s={value!r} is not a finite number" in violations(data, plan)


@pytest.mark.parametrize(("number", "count"), [(0.5, 1), (1.0, 2), (np.float64(1.0), 2),
                                               ("1", 2)],
                         ids=["half", "float-one", "numpy-float", "string"])
def test_vehicle_number_must_be_an_integer(number: object, count: int) -> None:
    """Vehicle numbers are integers: ``0.5`` let a one-truck type run two routes (#0 and
    #0.5), ``1.0`` passed as vehicle #1, a string crashed. numpy integers are fine."""
    data = base_data(count=count)
    r0 = build_route(data, 0, 0, A, MORNING)
    r1 = build_route(data, 0, 0, B, MORNING)
    text = violations(data, make_plan([r0, replace(r1, vehicle=number)]))  # type: ignore[arg-type]
    assert "is not an integer vehicle number" in text
    ok = check(base_data(), make_plan([r0, replace(r1, vehicle=np.int64(1))]))  # type: ignore[arg-type]
    assert ok.ok, ok.violations


def _two_dim() -> tuple[RoutingData, RoutePlan]:
    data = make_data((0, 0), [{"xy": (1000, 0), "q": (1, 1)}], [{"xy": (0, 1000)}],
                     [truck(capacity=(10.0, 10.0))], load_dims=("t", "m3"))
    r = build_route(data, 0, 0, [("depot", 0), ("stop", 0), ("unload", 0), ("depot", 0)],
                    MORNING)
    return data, make_plan([r])


MALFORMED = {
    "vehicle-type-half": (lambda p: with_route_fields(p, 0, vehicle_type=0.5),
                          "route 0: vehicle_type=0.5 is not a vehicle type index"),
    "vehicle-type-str": (lambda p: with_route_fields(p, 0, vehicle_type="0"),
                         "route 0: vehicle_type='0' is not a vehicle type index"),
    "stop-index-float": (lambda p: with_visit(p, 0, 1, index=1.0),
                         "visit 1: stop index 1.0 is not an integer"),
    "unload-index-none": (lambda p: with_visit(p, 0, 2, index=None),
                          "visit 2: unload index None is not an integer"),
    "load-after-text": (lambda p: with_visit(p, 0, 1, load_after=("x",)),
                        "reported load_after ('x',) is not 1 finite number(s)"),
    "load-after-none": (lambda p: with_visit(p, 0, 1, load_after=None),
                        "reported load_after None is not 1 finite number(s)"),
    "visits-none": (lambda p: with_route_fields(p, 0, visits=None),
                    "vehicle truck#0: visits None is not a sequence of visits"),
    "visit-none": (lambda p: with_route_fields(p, 0, visits=(*p.routes[0].visits[:2], None,
                                                              *p.routes[0].visits[3:])),
                   "vehicle truck#0 visit 2: None is not a Visit"),
    "route-none": (lambda p: replace(p, routes=(p.routes[0], None)),
                   "route 1: None is not a Route"),
    "time-text": (lambda p: with_visit(p, 0, 1, start_s="28900"),
                  "visit 1: start_s='28900' is not a finite number"),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_plan_gives_a_report(case: str) -> None:
    """A structurally malformed route is reported (and its detailed checks skipped) instead
    of crashing the checker with a TypeError, IndexError or ValueError."""
    mutate, expected = MALFORMED[case]
    data = base_data()
    assert expected in violations(data, mutate(plan_of(data)))


def test_malformed_load_total_in_two_dimensions() -> None:
    """Three load_total entries for two load dimensions: a report, not a broadcast error."""
    data, plan = _two_dim()
    bad = with_route_fields(plan, 0, load_total=(1.0, 1.0, 1.0))
    assert "reported load_total (1.0, 1.0, 1.0) is not 2 finite number(s)" in violations(
        data, bad)


@pytest.mark.parametrize(("load_total", "two_dims"), [
    ((12.0, 12.0), False), ((), False), ((12.0001,), False), ((1.0,), True)],
    ids=["two-for-one", "empty", "off-by-1e-4", "one-for-two"])
def test_load_total_exact_length_and_tight_tolerance(load_total: tuple, two_dims: bool
                                                     ) -> None:
    """load_total holds exactly one entry per load dimension (no broadcasting of ``(12,
    12)``, ``()`` or ``(1,)``) and matches the recomputed total within the load_after
    tolerance, not numpy's relative default (12.0001 for 12 is wrong)."""
    if two_dims:
        data, plan = _two_dim()
    else:
        data = base_data()
        plan = plan_of(data)
    text = violations(data, with_route_fields(plan, 0, load_total=load_total))
    assert "reported load_total" in text


@pytest.mark.parametrize(("unserved", "drop_b", "expected"), [
    ((0,), False, "plan: stop S0 is listed as unserved but visited"),
    ((7,), False, "plan: unserved entry 7 is not a stop index in [0, 3)"),
    ((0.5,), False, "plan: unserved entry 0.5 is not a stop index"),
    ((), True, "plan: stop S2 is not visited but not listed in unserved"),
], ids=["served-listed", "out-of-range", "non-integer", "unvisited-unlisted"])
def test_unserved_lists_exactly_the_unvisited_stops(unserved: tuple, drop_b: bool,
                                                    expected: str) -> None:
    """``plan.unserved`` agrees with the routes: a served stop listed as unserved or an
    entry that is not a stop index (both used to pass), or an unvisited stop left out of
    the list (so far only reported as not visited) are violations."""
    data = base_data()
    plan = plan_of(data)
    if drop_b:
        plan = make_plan([plan.routes[0]])
    assert expected in violations(data, replace(plan, unserved=unserved))


def test_unserved_numpy_indices() -> None:
    """numpy integers in ``unserved`` are stop indices too: a served stop listed as
    np.int64 is caught, and an unvisited stop listed so gives only 'not visited'."""
    data = base_data()
    plan = plan_of(data)
    text = violations(data, replace(plan, unserved=(np.int64(1),)))  # type: ignore[arg-type]
    assert "plan: stop S1 is listed as unserved but visited" in text
    partial = make_plan([plan.routes[0]])
    text = violations(data, replace(partial, unserved=(np.int64(2),)))
    assert "stop S2: not visited" in text and "unserved" not in text
