"""Solver defects found by the routing fuzz audit, on tiny hand-checkable instances.

Each test failed before its fix; every plan the solver returns is verified by the
independent checker. Locations are given by their travel-time matrix (seconds; the
distance is ten metres a second), so that matrices need not be metric.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from routing_helpers import checked

from wastenet.errors import InfeasibleError, NoSolutionError, WastenetError
from wastenet.routing.data import RoutePlan, RoutingData, VehicleType
from wastenet.routing.ortools_adapter import RawRoute, RawVisit
from wastenet.routing.solve import RouteParams, _decode, precheck, solve

H = 3600.0


def line(k: int, step: float = 100.0) -> np.ndarray:
    """Travel times between ``k`` points on a line, ``step`` seconds apart."""
    x = np.arange(k) * step
    return np.abs(x[:, None] - x[None, :])


def mk(dur: np.ndarray | list, P: int = 1, n: int = 1, vts: tuple | None = None,
       **kw: object) -> RoutingData:
    """Locations: ``P`` depots, ``n`` stops (1 t each), then the facilities."""
    dur = np.asarray(dur, dtype=float)
    L = len(dur)
    nf = L - P - n
    a: dict[str, object] = dict(
        ids=tuple(f"L{i}" for i in range(L)), names=tuple(f"L{i}" for i in range(L)),
        lon=np.full(L, np.nan), lat=np.full(L, np.nan), distance_m=dur * 10.0,
        duration_s=dur, load_dims=("t",), depots=np.arange(P), depot_open_s=np.zeros(P),
        depot_close_s=np.full(P, 86_400.0), stops=np.arange(P, P + n),
        stop_demand=np.ones((n, 1)), stop_service_s=np.zeros(n), stop_open_s=np.zeros(n),
        stop_close_s=np.full(n, 86_400.0), stop_allowed=(None,) * n,
        stop_facility=np.full(n, -1), facilities=np.arange(P + n, L),
        facility_unload_s=np.zeros(nf), facility_open_s=np.zeros(nf),
        facility_close_s=np.full(nf, 86_400.0), facility_capacity=np.full(nf, np.inf),
        vehicle_types=vts or (VehicleType("truck", 1, 0, (10.0,)),))
    a.update(kw)
    return RoutingData(**a)  # type: ignore[arg-type]



def seq(plan: RoutePlan, r: int = 0) -> list[tuple[str, int]]:
    return [(v.kind, v.index) for v in plan.routes[r].visits]


# --- 1. a depot without vehicles is not a stop -----------------------------------------


@pytest.mark.parametrize("idle_type", [False, True])
def test_depot_without_vehicles_is_never_visited(idle_type: bool) -> None:
    """Depot D0 at 0 s, stops at 200 and 300 s, the facility at 400 s and depot D1, the
    only one with a truck, at 500 s. D0 has no vehicle in the model (no type at all, or
    a type of count 0): it used to be a mandatory node, so the truck drove to it mid-route
    (D1 D0 S0 S1 F D1), which the checker refuses. The plan is D1 S1 S0 F D1."""
    x = np.array([0.0, 500.0, 200.0, 300.0, 400.0])
    vts: tuple[VehicleType, ...] = (VehicleType("truck", 1, 1, (10.0,)),)
    if idle_type:
        vts = (VehicleType("spare", 0, 0, (10.0,)), *vts)
    data = mk(np.abs(x[:, None] - x[None, :]), P=2, n=2, vts=vts)
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5))
    assert seq(plan) == [("depot", 1), ("stop", 1), ("stop", 0), ("unload", 0), ("depot", 1)]


# --- 2. a window of one instant at a fractional second -----------------------------------


def test_single_instant_window_at_a_fractional_second() -> None:
    """Stop A must be served exactly at 10:00:00.5 (service 10.3 s), B within
    [10:01:40, 10:02:00] 100 s further on. No whole second lies in A's window: OR-Tools
    used to fail ("CP Solver fail"). The earliest real schedule starts A at 36000.5 and
    reaches B at 36110.8."""
    data = mk(line(4), n=2, stop_service_s=np.array([10.3, 0.0]),
              stop_open_s=np.array([36_000.5, 36_100.0]),
              stop_close_s=np.array([36_000.5, 36_120.0]))
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5))
    visits = plan.routes[0].visits
    assert seq(plan) == [("depot", 0), ("stop", 0), ("stop", 1), ("unload", 0), ("depot", 0)]
    assert visits[1].start_s == pytest.approx(36_000.5)
    assert visits[2].start_s == pytest.approx(36_110.8)


def test_single_instant_facility_window_at_a_fractional_second() -> None:
    """The only facility takes loads at 08:00:00.25 only: the truck unloads then."""
    data = mk(line(3), facility_open_s=np.array([28_800.25]),
              facility_close_s=np.array([28_800.25]))
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5))
    assert plan.routes[0].visits[2].start_s == pytest.approx(28_800.25)


# --- 3. a stop left out under a solution limit is not proven infeasible -------------------


def test_solution_limit_leftover_is_no_solution_error() -> None:
    """Stop A is near (100 s), B far (1000 s) with the window [1000, 1050] s. The greedy
    start leaves B out, and a solution limit of 1 stops the search there: that proves
    nothing (D B A F D serves both), so the error is NoSolutionError naming B and the
    solution limit, not InfeasibleError; a larger limit finds the plan."""
    dur = [[0, 100, 1000, 100], [100, 0, 1000, 100], [1000, 1000, 0, 1000],
           [100, 100, 1000, 0]]
    data = mk(dur, n=2, stop_open_s=np.array([0.0, 1000.0]),
              stop_close_s=np.array([86_400.0, 1050.0]))
    with pytest.raises(NoSolutionError) as exc:
        solve(data, RouteParams(time_limit_s=10.0, solution_limit=1))
    assert not isinstance(exc.value, InfeasibleError)
    assert isinstance(exc.value, WastenetError)  # the CLI, API and province catch it
    text = str(exc.value)
    assert "solution_limit=1" in text and "stop L2" in text and "not prove" in text
    plan = checked(data, RouteParams(time_limit_s=10.0, solution_limit=50))
    assert seq(plan) == [("depot", 0), ("stop", 1), ("stop", 0), ("unload", 0), ("depot", 0)]
    partial = solve(data, RouteParams(time_limit_s=10.0, solution_limit=1,
                                      allow_unserved=True))
    assert partial.unserved == (1,)


def test_precheck_refusal_stays_infeasible_error() -> None:
    """A window closing before any truck can arrive is proven: InfeasibleError, also
    with a solution limit."""
    data = mk(line(3), stop_close_s=np.array([50.0]))
    with pytest.raises(InfeasibleError, match="window closes"):
        solve(data, RouteParams(time_limit_s=1.0, solution_limit=1))


# --- 4. a vehicle type that cannot work does not sink the instance ------------------------

SHUTTLE = VehicleType("shuttle", 1, 0, (10.0,), shift_start_s=6 * H,
                      shift_end_s=6 * H + 1200, break_duration_s=1800,
                      break_earliest_s=12 * H, break_latest_s=13 * H)
DAY = VehicleType("day", 1, 0, (10.0,), shift_start_s=8 * H, shift_end_s=18 * H)
#: 20:00-20:50 with a 2 h break starting 19:00-19:30: the break fits neither before the
#: route (it would end at 21:00 at the earliest), nor after it (no route is back by
#: 19:30), nor on it (it would start before leaving)
LATE = VehicleType("late", 1, 0, (10.0,), shift_start_s=20 * H, shift_end_s=20 * H + 3000,
                   break_duration_s=7200, break_earliest_s=19 * H,
                   break_latest_s=19.5 * H)


@pytest.mark.parametrize("break_model", ["insert", "exact"])
def test_break_after_the_shift_needs_no_room(break_model: str) -> None:
    """A 20-minute shuttle shift at 06:00 with a 30-minute break at 12:00-13:00: it is
    back long before 13:00, so the break is taken after the route, and the shuttle
    serves the stop (100 s away, 60 s of service). The insert model used to shorten the
    shift by the break and refuse the instance ("vehicle type 'shuttle' cannot work")."""
    data = mk(line(3), stop_service_s=np.array([60.0]), vts=(SHUTTLE,))
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5,
                                     break_model=break_model))
    assert plan.routes[0].vehicle_type == 0 and plan.routes[0].break_start_s is None
    assert plan.routes[0].visits[-1].arrival_s <= 6 * H + 1200


@pytest.mark.parametrize("break_model", ["insert", "exact"])
def test_type_that_cannot_work_is_skipped(break_model: str) -> None:
    """No route of the late type can keep its break: it gets no vehicles and the day
    type serves the stop; the whole instance used to be refused ("vehicle type 'late'
    cannot work")."""
    data = mk(line(3), vts=(LATE, DAY))
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5,
                                     break_model=break_model))
    assert [r.vehicle_type for r in plan.routes] == [1]
    with pytest.raises(InfeasibleError, match="late cannot take its break of 120 min"):
        solve(replace(data, vehicle_types=(LATE,)), RouteParams(time_limit_s=1.0))


def test_type_outside_its_depot_hours_is_skipped() -> None:
    """A 05:00-05:30 type at a depot opening at 06:00 cannot leave at all; the day type
    serves the stop (with either break model)."""
    early = VehicleType("early", 1, 0, (10.0,), shift_start_s=5 * H, shift_end_s=5.5 * H)
    data = mk(line(3), vts=(early, DAY), depot_open_s=np.array([6 * H]))
    for model in ("insert", "exact"):
        plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=5,
                                         break_model=model))
        assert [r.vehicle_type for r in plan.routes] == [1]


def test_no_type_can_work_is_still_infeasible() -> None:
    """With the early type alone, nothing can be served: InfeasibleError (pre-check)."""
    early = VehicleType("early", 1, 0, (10.0,), shift_start_s=5 * H, shift_end_s=5.5 * H)
    data = mk(line(3), vts=(early,), depot_open_s=np.array([6 * H]))
    with pytest.raises(InfeasibleError, match="early cannot work: its shift 05:00-05:30 "
                                              "and its depot's hours 06:00-24:00"):
        solve(data, RouteParams(time_limit_s=1.0, solution_limit=5))


# --- 5. an empty unload used as a shortcut is kept ----------------------------------------

#: depot -> stop is 1000 s, but depot -> F -> stop is 100 + 100 s (not metric)
SHORTCUT = [[0.0, 1000.0, 100.0], [1000.0, 0.0, 100.0], [100.0, 100.0, 0.0]]


def test_empty_unload_shortcut_is_kept_when_the_window_needs_it() -> None:
    """The stop's window [1000, 1100] s is kept through the facility: D F S F D. The
    decoder used to drop the empty unload and keep its departure time, so the stop was
    reached by the 1000 s arc at 1800 s, after its window."""
    data = mk(SHORTCUT, stop_open_s=np.array([1000.0]), stop_close_s=np.array([1100.0]),
              vts=(VehicleType("truck", 1, 0, (10.0,), cost_yuan_per_h=60.0),))
    plan = checked(data, RouteParams(time_limit_s=2.0, solution_limit=20, cost_weight=1.0))
    assert seq(plan) == [("depot", 0), ("unload", 0), ("stop", 0), ("unload", 0), ("depot", 0)]
    assert plan.routes[0].visits[2].start_s == pytest.approx(1000.0)


def test_window_reachable_only_through_a_facility_passes_the_precheck() -> None:
    """The window [0, 300] s is out of reach by the direct arc (1000 s) but not through
    the facility (200 s): the pre-check used to refuse the instance."""
    data = mk(SHORTCUT, stop_close_s=np.array([300.0]))
    assert precheck(data) == []
    plan = checked(data, RouteParams(time_limit_s=1.0, solution_limit=20))
    assert seq(plan) == [("depot", 0), ("unload", 0), ("stop", 0), ("unload", 0), ("depot", 0)]
    far = replace(data, stop_close_s=np.array([150.0]))  # not even through F: refused
    assert len(precheck(far)) == 1


def test_decoder_never_returns_a_schedule_that_breaks_a_window() -> None:
    """A raw route whose stop cannot be reached within its window decodes to None (the
    caller leaves its stops out), not to a route the checker would refuse."""
    data = mk(line(3), stop_close_s=np.array([50.0]))
    raw = RawRoute(0, 0, 0, (RawVisit("depot", 0, 0), RawVisit("stop", 0, 100),
                             RawVisit("unload", 0, 200), RawVisit("depot", 0, 400)),
                   None, None)
    assert _decode(data, raw) is None


# --- 6. decomposition hands left-out stops back --------------------------------------------


def test_decomposition_reinserts_stops_of_a_part_without_vehicles() -> None:
    """Six stops on a circle of 2 km around the depot, two trucks, parts of two stops:
    each of the first two parts takes a truck, the third finds none. One route serves
    all six, so its stops are inserted into the existing routes instead of failing."""
    k = 6
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    xy = np.vstack([[0.0, 0.0], np.c_[np.cos(ang), np.sin(ang)] * 2000.0, [[0.0, 500.0]]])
    dur = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2)) / 10.0
    data = mk(dur, n=k, x=xy[:, 0], y=xy[:, 1], stop_service_s=np.full(k, 60.0),
              vts=(VehicleType("truck", 2, 0, (10.0,)),))
    for limit in (None, 20):
        plan = checked(data, RouteParams(time_limit_s=3.0, solution_limit=limit,
                                         decompose_above=3, part_size=2))
        assert plan.status.startswith("DECOMPOSED") and plan.meta["parts"] == 3
        assert plan.vehicles <= 2
