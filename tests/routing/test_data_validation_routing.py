"""RoutingData and VehicleType refuse invalid values when built (fuzz audit, /tmp/h10).

Project rule: problem data is validated when built; a
:class:`~wastenet.errors.ValidationError` names the field and the value; nothing is
clipped or truncated silently. Before these checks, each refused value below was
accepted and later aborted the process inside OR-Tools (a capacity of inf or >= 1e16:
int64 overflow, SIGABRT), raised a non-domain exception in the solver (IndexError,
TypeError, ValueError, an OR-Tools "CP Solver fail") or gave a wrong answer (a NaN or
negative time, a fractional index truncated). One case per refused value, then the
edge cases that stay accepted (NaN coordinates, ``inf`` facility capacity, ``-1``
stop facility, zero load dimensions without facilities, ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from routing_helpers import make_data, truck

from wastenet.errors import ValidationError
from wastenet.routing.data import RoutingData, VehicleType

NAN, INF = math.nan, math.inf
#: the bounds of :mod:`wastenet.routing.data` (``MAX_LOAD``, ``MAX_TIME_S``), written out
#: so that the cases are built without them (test_bounds_... checks they agree)
MAX_LOAD = 1e12
MAX_TIME_S = 1e12


def _base(**over: Any) -> RoutingData:
    """Depot D, stops S0 and S1 (1 t and 2 t), facility F0 (20 t/day), one truck of
    10 t; NaN lon/lat and planar x/y, as the benchmarks have. ``over`` replaces fields."""
    data = make_data((0, 0), [{"xy": (1000, 0), "q": 1.0, "id": "S0"},
                              {"xy": (0, 1000), "q": 2.0, "id": "S1"}],
                     [{"xy": (500, 500), "cap": 20.0, "id": "F0"}], [truck()])
    return dataclasses.replace(data, **over) if over else data


def _stops(first: float, second: float = 0.0) -> np.ndarray:
    return np.array([first, second])


#: (case id, overrides of the base data, field the message must name)
DATA_CASES: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    # --- time windows and durations: finite, >= 0 ----------------------------------
    ("stop_close_inf", lambda: {"stop_close_s": _stops(INF, 86_400.0)}, "stop_close_s[S0]"),
    ("stop_close_nan", lambda: {"stop_close_s": _stops(86_400.0, NAN)}, "stop_close_s[S1]"),
    ("stop_open_nan", lambda: {"stop_open_s": _stops(NAN)}, "stop_open_s[S0]"),
    ("stop_open_negative", lambda: {"stop_open_s": _stops(-1.0)}, "stop_open_s[S0]"),
    ("stop_close_too_big", lambda: {"stop_close_s": _stops(2 * MAX_TIME_S, 86_400.0)},
     "stop_close_s[S0]"),
    ("service_negative", lambda: {"stop_service_s": _stops(-100.0, 60.0)},
     "stop_service_s[S0]"),
    ("service_nan", lambda: {"stop_service_s": _stops(NAN)}, "stop_service_s[S0]"),
    ("unload_negative", lambda: {"facility_unload_s": np.array([-1.0])},
     "facility_unload_s[F0]"),
    ("unload_inf", lambda: {"facility_unload_s": np.array([INF])}, "facility_unload_s[F0]"),
    ("depot_open_nan", lambda: {"depot_open_s": np.array([NAN])}, "depot_open_s[D]"),
    ("depot_close_inf", lambda: {"depot_close_s": np.array([INF])}, "depot_close_s[D]"),
    ("depot_close_before_open", lambda: {"depot_open_s": np.array([40_000.0]),
                                         "depot_close_s": np.array([30_000.0])},
     "depot_close_s[D]"),
    ("facility_open_nan", lambda: {"facility_open_s": np.array([NAN])}, "facility_open_s[F0]"),
    ("facility_close_nan", lambda: {"facility_close_s": np.array([NAN])},
     "facility_close_s[F0]"),
    ("facility_close_before_open", lambda: {"facility_open_s": np.array([40_000.0]),
                                            "facility_close_s": np.array([30_000.0])},
     "facility_close_s[F0]"),
    ("duration_inf", lambda: {"duration_s": _matrix_with(_base().duration_s, INF)},
     "duration_s[D->S0]"),
    ("duration_too_big", lambda: {"duration_s": _matrix_with(_base().duration_s,
                                                             2 * MAX_TIME_S)},
     "duration_s[D->S0]"),
    ("distance_nan", lambda: {"distance_m": _matrix_with(_base().distance_m, NAN)},
     "distance_m[D->S0]"),
    # --- loads and capacities --------------------------------------------------------
    ("facility_capacity_nan", lambda: {"facility_capacity": np.array([NAN])},
     "facility_capacity[F0]"),
    ("facility_capacity_negative", lambda: {"facility_capacity": np.array([-1.0])},
     "facility_capacity[F0]"),
    ("facility_capacity_minus_inf", lambda: {"facility_capacity": np.array([-INF])},
     "facility_capacity[F0]"),
    ("facility_capacity_too_big", lambda: {"facility_capacity": np.array([1e16])},
     "facility_capacity[F0]"),
    ("demand_2x2_for_one_dim", lambda: {"stop_demand": np.array([[1.0, 2.0], [2.0, 3.0]])},
     "stop_demand"),
    ("demand_flat", lambda: {"stop_demand": np.array([1.0, 2.0])}, "stop_demand"),
    ("demand_text", lambda: {"stop_demand": np.array([["a"], ["b"]])}, "stop_demand"),
    ("demand_nan", lambda: {"stop_demand": np.array([[NAN], [1.0]])}, "stop_demand[S0]"),
    ("demand_total_too_big", lambda: {"stop_demand": np.array([[0.6], [0.6]]) * MAX_LOAD,
                                      "vehicle_types": (truck(capacity=(MAX_LOAD,)),),
                                      "facility_capacity": np.array([INF])},
     "stop_demand"),
    ("no_load_dims_with_facility", lambda: {
        "load_dims": (), "stop_demand": np.zeros((2, 0)),
        "vehicle_types": (truck(capacity=()),)}, "load_dims"),
    ("load_dims_duplicate", lambda: {
        "load_dims": ("t", "t"), "stop_demand": np.ones((2, 2)),
        "vehicle_types": (truck(capacity=(10.0, 10.0)),)}, "load_dims"),
    ("load_dims_not_text", lambda: {"load_dims": (1,)}, "load_dims"),
    ("vehicle_dims_mismatch", lambda: {"vehicle_types": (truck(capacity=(10.0, 10.0)),)},
     "vehicle_types[truck].capacity"),
    # --- indices -----------------------------------------------------------------------
    ("stop_allowed_text", lambda: {"stop_allowed": (frozenset({"a"}), None)},
     "stop_allowed[S0]"),
    ("stop_allowed_float", lambda: {"stop_allowed": (None, frozenset({0.0}))},
     "stop_allowed[S1]"),
    ("stop_allowed_bool", lambda: {"stop_allowed": (frozenset({True}), None)},
     "stop_allowed[S0]"),
    ("stop_allowed_string", lambda: {"stop_allowed": ("0", None)}, "stop_allowed[S0]"),
    ("stop_allowed_unknown", lambda: {"stop_allowed": (frozenset({1}), None)},
     "stop_allowed[S0]"),
    ("stop_facility_fraction", lambda: {"stop_facility": np.array([0.5, -1.0])},
     "stop_facility[S0]"),
    ("stop_facility_below_minus_one", lambda: {"stop_facility": np.array([-2, 0])},
     "stop_facility[S0]"),
    ("stop_facility_out_of_range", lambda: {"stop_facility": np.array([0, 1])},
     "stop_facility[S1]"),
    ("stops_fraction", lambda: {"stops": np.array([1.5, 2.0])}, "stops"),
    ("depots_bool", lambda: {"depots": np.array([False])}, "depots"),
    ("facilities_nan", lambda: {"facilities": np.array([NAN])}, "facilities"),
    ("vehicle_depot_unknown", lambda: {"vehicle_types": (truck(depot=1),)},
     "vehicle_types[truck].depot"),
    ("speed_factor_overflows_travel", lambda: {"vehicle_types": (truck(speed_factor=1e-12),)},
     "vehicle_types[truck].speed_factor"),
    # --- location table ----------------------------------------------------------------
    ("ids_duplicate", lambda: {"ids": ("D", "S0", "S0", "F0")}, "ids"),
    ("names_short", lambda: {"names": ("D", "S0", "S1")}, "names"),
    ("lon_short", lambda: {"lon": np.full(3, NAN)}, "lon"),
    ("lat_long", lambda: {"lat": np.full(5, NAN)}, "lat"),
    ("x_short", lambda: {"x": np.zeros(3)}, "x"),
    ("y_long", lambda: {"y": np.zeros(5)}, "y"),
    ("lon_inf", lambda: {"lon": np.array([INF, NAN, NAN, NAN])}, "lon[D]"),
    ("lat_out_of_range", lambda: {"lat": np.array([NAN, 91.0, NAN, NAN])}, "lat[S0]"),
    ("x_inf", lambda: {"x": np.array([0.0, 0.0, -INF, 0.0])}, "x[S1]"),
]


def _matrix_with(mat: np.ndarray, value: float) -> np.ndarray:
    """``mat`` with its D -> S0 entry set to ``value``."""
    out = np.array(mat)
    out[0, 1] = value
    return out


def _names_field(exc: pytest.ExceptionInfo[ValidationError], field: str) -> None:
    """The error names ``field`` both as its ``field`` and in its message."""
    assert exc.value.field.startswith(field), (exc.value.field, field)
    assert field in str(exc.value)


@pytest.mark.parametrize(("over", "field"), [pytest.param(o, f, id=i) for i, o, f in DATA_CASES])
def test_routing_data_refuses(over: Callable[[], dict[str, Any]], field: str) -> None:
    """Each invalid RoutingData value is a ValidationError naming the field (and the
    stop, depot, facility or arc)."""
    kw = over()
    with pytest.raises(ValidationError) as exc:
        _base(**kw)
    _names_field(exc, field)


#: (case id, VehicleType keywords over the base truck, field the message must name)
VEHICLE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("capacity_inf", {"capacity": (INF,)}, "capacity"),
    ("capacity_1e16", {"capacity": (1e16,)}, "capacity"),
    ("capacity_above_max", {"capacity": (MAX_LOAD * 1.5,)}, "capacity"),
    ("capacity_nan", {"capacity": (NAN,)}, "capacity"),
    ("capacity_zero", {"capacity": (0.0,)}, "capacity"),
    ("capacity_scalar", {"capacity": 10.0}, "capacity"),
    ("capacity_text", {"capacity": ("10",)}, "capacity"),
    ("count_fraction", {"count": 1.5}, "count"),
    ("count_nan", {"count": NAN}, "count"),
    ("count_negative", {"count": -1}, "count"),
    ("count_bool", {"count": True}, "count"),
    ("depot_fraction", {"depot": 0.5}, "depot"),
    ("depot_bool", {"depot": False}, "depot"),
    ("depot_negative", {"depot": -1}, "depot"),
    ("fixed_cost_nan", {"fixed_cost_yuan": NAN}, "fixed_cost_yuan"),
    ("fixed_cost_negative", {"fixed_cost_yuan": -1.0}, "fixed_cost_yuan"),
    ("fixed_cost_inf", {"fixed_cost_yuan": INF}, "fixed_cost_yuan"),
    ("cost_per_km_negative", {"cost_yuan_per_km": -0.5}, "cost_yuan_per_km"),
    ("cost_per_km_nan", {"cost_yuan_per_km": NAN}, "cost_yuan_per_km"),
    ("cost_per_h_negative", {"cost_yuan_per_h": -60.0}, "cost_yuan_per_h"),
    ("cost_per_h_inf", {"cost_yuan_per_h": INF}, "cost_yuan_per_h"),
    ("speed_inf", {"speed_factor": INF}, "speed_factor"),
    ("speed_nan", {"speed_factor": NAN}, "speed_factor"),
    ("speed_zero", {"speed_factor": 0.0}, "speed_factor"),
    ("speed_negative", {"speed_factor": -1.0}, "speed_factor"),
    ("shift_start_nan", {"shift_start_s": NAN}, "shift_start_s"),
    ("shift_start_negative", {"shift_start_s": -60.0}, "shift_start_s"),
    ("shift_end_inf", {"shift_end_s": INF}, "shift_end_s"),
    ("shift_end_before_start", {"shift_start_s": 40_000.0, "shift_end_s": 30_000.0},
     "shift_end_s"),
    ("max_shift_negative", {"max_shift_s": -1.0}, "max_shift_s"),
    ("max_shift_nan", {"max_shift_s": NAN}, "max_shift_s"),
    ("max_shift_inf", {"max_shift_s": INF}, "max_shift_s"),
    ("max_stops_negative", {"max_stops": -1}, "max_stops"),
    ("max_stops_fraction", {"max_stops": 1.5}, "max_stops"),
    ("max_stops_bool", {"max_stops": True}, "max_stops"),
    ("route_capacity_two_dims_for_one", {"route_capacity": (5.0, 5.0)}, "route_capacity"),
    ("route_capacity_negative", {"route_capacity": (-1.0,)}, "route_capacity"),
    ("route_capacity_nan", {"route_capacity": (NAN,)}, "route_capacity"),
    ("route_capacity_inf", {"route_capacity": (INF,)}, "route_capacity"),
    ("route_capacity_1e16", {"route_capacity": (1e16,)}, "route_capacity"),
    ("break_duration_nan", {"break_duration_s": NAN, "break_latest_s": 10.0},
     "break_duration_s"),
    ("break_duration_negative", {"break_duration_s": -1.0}, "break_duration_s"),
    ("break_earliest_nan", {"break_earliest_s": NAN}, "break_earliest_s"),
    ("break_latest_inf", {"break_latest_s": INF}, "break_latest_s"),
    ("break_latest_before_earliest", {"break_duration_s": 600.0, "break_earliest_s": 40_000.0,
                                      "break_latest_s": 30_000.0}, "break"),
]


@pytest.mark.parametrize(("kw", "field"),
                         [pytest.param(k, f, id=i) for i, k, f in VEHICLE_CASES])
def test_vehicle_type_refuses(kw: dict[str, Any], field: str) -> None:
    """Each invalid VehicleType value is a ValidationError naming
    ``vehicle_types[<name>].<field>``."""
    with pytest.raises(ValidationError) as exc:
        truck(**kw)
    _names_field(exc, f"vehicle_types[truck].{field}")


def test_huge_capacity_message_says_why() -> None:
    """The capacity that used to abort the process inside OR-Tools is refused with the
    bound and the reason (integer load scaling)."""
    with pytest.raises(ValidationError) as exc:
        truck(capacity=(INF,))
    assert "capacity=(inf,)" in str(exc.value)
    assert f"{MAX_LOAD:g}" in str(exc.value) and "scaling" in str(exc.value)


def test_bounds_fit_the_adapter_integer_scaling() -> None:
    """The bounds are the module's, and leave the OR-Tools adapter's int64 arithmetic a
    wide margin (a factor of 1000 and 100) after its LOAD_SCALE and OBJ_SCALE."""
    from wastenet.routing import data as routing_data
    from wastenet.routing.ortools_adapter import LOAD_SCALE, OBJ_SCALE

    assert (routing_data.MAX_LOAD, routing_data.MAX_TIME_S) == (MAX_LOAD, MAX_TIME_S)
    assert MAX_LOAD * LOAD_SCALE * 1000 < 2**63
    assert MAX_TIME_S * OBJ_SCALE * 100 < 2**63


# --- accepted edge cases -------------------------------------------------------------


def test_base_with_nan_coordinates_is_accepted() -> None:
    """NaN lon/lat (places without coordinates, as in the benchmarks and the helpers)
    and NaN planar coordinates stay accepted."""
    data = _base(x=np.array([0.0, NAN, 0.0, 0.0]))
    assert data.x is not None
    assert np.isnan(data.lon).all() and np.isnan(data.x[1])


@pytest.mark.parametrize("cap", [INF, 0.0, 5.0, MAX_LOAD], ids=["inf", "zero", "five", "max"])
def test_facility_capacity_accepted(cap: float) -> None:
    """``inf`` is the documented "no limit" (the adapter skips non-finite capacities);
    0 is a facility that takes nothing that day (the decomposition's spare capacity can
    reach 0); finite values up to MAX_LOAD."""
    data = _base(facility_capacity=np.array([cap]))
    assert data.facility_capacity[0] == cap


def test_stop_facility_minus_one_and_whole_floats_accepted() -> None:
    """-1 means "any facility"; whole floats (a column of a float table) are integers."""
    data = _base(stop_facility=np.array([0.0, -1.0]))
    assert data.stop_facility.dtype == np.int64
    assert data.stop_facility.tolist() == [0, -1]


def test_stop_allowed_normalised() -> None:
    """A set of numpy integers is stored as a frozenset of ints; an empty set (no type
    may serve the stop: the solver's pre-check explains it) is kept."""
    data = _base(vehicle_types=(truck(), truck(name="mini")),
                 stop_allowed=({np.int64(1)}, frozenset()))
    assert data.stop_allowed == (frozenset({1}), frozenset())
    assert all(type(t) is int for t in data.stop_allowed[0])


@pytest.mark.parametrize("kw", [
    {"count": 0}, {"count": np.int64(3)}, {"max_stops": 0}, {"max_stops": None},
    {"route_capacity": None}, {"route_capacity": (0.0,)}, {"route_capacity": (MAX_LOAD,)},
    {"capacity": (MAX_LOAD,)}, {"capacity": (np.float64(2.5),)}, {"max_shift_s": 0.0},
    {"speed_factor": 0.5}, {"fixed_cost_yuan": 0.0, "cost_yuan_per_km": 3.5},
    {"break_duration_s": 0.0, "break_earliest_s": 0.0, "break_latest_s": 0.0},
    {"break_duration_s": 1800.0, "break_earliest_s": 39_600, "break_latest_s": 43_200},
    {"shift_start_s": 0, "shift_end_s": MAX_TIME_S, "max_shift_s": MAX_TIME_S},
], ids=["count0", "count_np", "max_stops0", "max_stops_none", "route_cap_none",
        "route_cap0", "route_cap_max", "cap_max", "cap_np", "max_shift0", "slow",
        "costs", "no_break", "break", "long_horizon"])
def test_vehicle_type_edge_values_accepted(kw: dict[str, Any]) -> None:
    """Boundary values a builder may produce stay accepted; numpy numbers are stored as
    plain Python numbers."""
    vt = truck(**kw)
    assert type(vt.count) is int and type(vt.depot) is int
    assert all(type(c) is float for c in vt.capacity)
    assert isinstance(vt, VehicleType)


def test_windows_beyond_a_day_accepted() -> None:
    """Times past midnight (the CVRPLIB readers' horizon, over 1e6 s on X instances)
    stay accepted up to MAX_TIME_S."""
    data = _base(stop_close_s=np.array([2e6, MAX_TIME_S]),
                 depot_close_s=np.array([2e6]), facility_close_s=np.array([2e6]))
    assert data.stop_close_s.max() == MAX_TIME_S


def test_no_load_dimension_without_facilities_accepted_and_solved() -> None:
    """Zero load dimensions stay supported when there is no unload facility (an
    inspection round: nothing is collected); the solver and the checker handle it."""
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    data = make_data((0, 0), [{"xy": (1000, 0), "q": ()}, {"xy": (0, 1000), "q": ()}], [],
                     [truck(capacity=())], load_dims=())
    plan = solve(data, RouteParams(time_limit_s=1.0, solution_limit=5))
    assert not plan.unserved and check(data, plan).ok


def test_capacity_at_the_bound_solves() -> None:
    """A capacity, a daily route capacity and a facility capacity of MAX_LOAD go through
    the OR-Tools model (no int64 overflow, no abort) and the plan checks. (Loads of 1e4
    and 2e4: the adapter sizes its unload copies with an absolute 1e-9 tolerance on
    demand / capacity, which drops every copy below that ratio, a separate issue.)"""
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    data = _base(vehicle_types=(truck(capacity=(MAX_LOAD,), route_capacity=(MAX_LOAD,)),),
                 facility_capacity=np.array([MAX_LOAD]), stop_demand=np.array([[1e4], [2e4]]))
    plan = solve(data, RouteParams(time_limit_s=1.0, solution_limit=5))
    assert not plan.unserved and check(data, plan).ok


def test_replace_and_pickle_keep_validated_values() -> None:
    """Normalised values survive ``dataclasses.replace`` and pickling (both go through
    the constructor)."""
    import pickle

    data = _base(stop_facility=np.array([0.0, -1.0]), stop_allowed=({0}, None))
    again = pickle.loads(pickle.dumps(data))
    assert again.stop_facility.tolist() == [0, -1] and again.stop_allowed[0] == frozenset({0})
    with pytest.raises(ValidationError, match="stop_service_s"):
        dataclasses.replace(again, stop_service_s=np.array([NAN, 0.0]))
