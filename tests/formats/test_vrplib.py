"""Tests of the CVRPLIB / Solomon readers and the VRPLIB .sol writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from format_samples import CVRPLIB

from wastenet.errors import DataFormatError
from wastenet.formats.vrplib import (
    format_vrplib_sol,
    read_solomon,
    read_vrplib,
    read_vrplib_sol_cost,
    write_vrplib_sol,
)
from wastenet.routing.data import Route, RoutePlan, RoutingData, Visit

TINY_VRP = """NAME : tiny
COMMENT : hand made
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 0 2.5
4 -1 -1
DEMAND_SECTION
1 0
2 6
3 5
4 4
DEPOT_SECTION
1
-1
EOF
"""


def tiny(tmp_path: Path) -> RoutingData:
    p = tmp_path / "tiny.vrp"
    p.write_text(TINY_VRP)
    return read_vrplib(p)


def _visit(kind: str, index: int, location: int) -> Visit:
    return Visit(kind, index, location, 0.0, 0.0, 0.0, (0.0,))


def _route(data: RoutingData, seq: list[tuple[str, int]]) -> Route:
    loc = {"depot": data.depots, "stop": data.stops, "unload": data.facilities}
    visits = tuple(_visit(k, i, int(loc[k][i])) for k, i in seq)
    return Route(0, 0, visits, None, 0.0, 0.0, 0.0, (0.0,), 0.0, 0.0)


def _plan(routes: list[Route]) -> RoutePlan:
    return RoutePlan(tuple(routes), (), len(routes), 0.0, 0.0, 0.0, 0.0, 0.0, "ok", "test", 0,
                     0.0)


def test_euc2d_is_rounded_to_nearest_integer(tmp_path: Path) -> None:
    """EUC_2D distances follow TSPLIB nint: 5, 2.5 -> 3, sqrt(2) -> 1."""
    d = tiny(tmp_path)
    assert d.distance_m[0, 1] == 5.0
    assert d.distance_m[0, 2] == 3.0  # 2.5 rounds half up
    assert d.distance_m[0, 3] == 1.0
    assert d.distance_m[1, 2] == 3.0  # sqrt(9 + 2.25) = 3.35
    assert np.array_equal(d.duration_s, d.distance_m)
    exact = read_vrplib(tmp_path / "tiny.vrp", rounding="exact")
    assert exact.distance_m[1, 2] == pytest.approx(np.hypot(3, 1.5))


def test_depot_copy_is_the_unload_facility(tmp_path: Path) -> None:
    """The unload facility is a separate copy of the depot, at distance 0 from it."""
    d = tiny(tmp_path)
    f = int(d.facilities[0])
    assert f == 4 and d.ids[f] == "1#unload"
    assert d.distance_m[0, f] == 0.0 and d.distance_m[f, 0] == 0.0
    assert np.array_equal(d.distance_m[f, :4], d.distance_m[0, :4])
    assert np.array_equal(d.distance_m[:4, f], d.distance_m[:4, 0])
    vt = d.vehicle_types[0]
    assert vt.capacity == (10.0,) and vt.route_capacity is None  # trips may chain
    assert vt.count == 3 and d.stop_demand.ravel().tolist() == [6, 5, 4]
    # horizon: the star solution 2*(5 + 3 + 1) + n + 1
    assert d.depot_close_s[0] == 22.0 and np.all(d.stop_close_s <= 22.0)
    one = read_vrplib(tmp_path / "tiny.vrp", single_trip=True)
    assert one.vehicle_types[0].route_capacity == (10.0,)


def test_distance_limit_forces_single_trip() -> None:
    """CMT6 has DISTANCE 200 and service 10: one trip per vehicle, max_shift 200."""
    d = read_vrplib(CVRPLIB / "CMT6.vrp", rounding="exact")
    vt = d.vehicle_types[0]
    assert vt.route_capacity == (160.0,) and vt.max_shift_s == 200.0
    assert np.all(d.stop_service_s == 10.0)
    with pytest.raises(ValueError):
        read_vrplib(CVRPLIB / "CMT6.vrp", single_trip=False)


def test_sol_writer_splits_trips_and_recomputes_cost(tmp_path: Path) -> None:
    """Each trip between unloads becomes one VRPLIB route; Cost = sum of trip lengths."""
    d = tiny(tmp_path)
    plan = _plan([
        _route(d, [("depot", 0), ("stop", 0), ("unload", 0), ("stop", 1), ("stop", 2),
                   ("unload", 0), ("depot", 0)]),
    ])
    text = format_vrplib_sol(d, plan)
    # trip 1: 0-2-0 = 5 + 5; trip 2: 0-3-4-0 = 3 + nint(sqrt(1+12.25)=3.64)=4 + 1
    assert text == "Route #1: 1\nRoute #2: 2 3\nCost 18\n"
    out = write_vrplib_sol(d, plan, tmp_path / "tiny.sol")
    assert read_vrplib_sol_cost(out) == 18.0


def test_real_instances_parse_and_bks_costs() -> None:
    """Every copied CVRPLIB .vrp parses; E-n13-k4's .sol cost is 247."""
    for vrp in sorted(CVRPLIB.glob("*.vrp")):
        d = read_vrplib(vrp)
        assert d.n_stops == len(d.ids) - 2
    assert read_vrplib_sol_cost(CVRPLIB / "E-n13-k4.sol") == 247.0
    x = read_vrplib(CVRPLIB / "X-n101-k25.vrp")
    assert x.distance_m[0, 1] == round(np.hypot(365 - 146, 689 - 180))


def test_known_bks_routes_cost_matches(tmp_path: Path) -> None:
    """The best-known E-n13-k4 routes, written back by our writer, cost 247."""
    d = read_vrplib(CVRPLIB / "E-n13-k4.vrp")
    seq = [("depot", 0)]
    for trip in ([1], [8, 5, 3], [9, 12, 10, 6], [11, 4, 7, 2]):
        seq += [("stop", c - 1) for c in trip] + [("unload", 0)]
    plan = _plan([_route(d, [*seq, ("depot", 0)])])
    assert format_vrplib_sol(d, plan).endswith("Cost 247\n")


def test_solomon_reader() -> None:
    """C101 keeps its fleet of 25, capacity 200, windows, service and horizon."""
    d = read_solomon(CVRPLIB / "C101.txt")
    assert d.n_stops == 100 and d.vehicle_types[0].count == 25
    assert d.vehicle_types[0].capacity == (200.0,)
    assert d.depot_close_s.tolist() == [1236.0]
    assert d.stop_open_s[0] == 912 and d.stop_close_s[0] == 967
    assert d.stop_service_s[0] == 90
    assert d.distance_m[0, 1] == pytest.approx(np.hypot(5, 18))


def test_bad_files(tmp_path: Path) -> None:
    """Malformed or unsupported files raise DataFormatError naming the file."""
    p = tmp_path / "bad.vrp"
    p.write_text(TINY_VRP.replace("TYPE : CVRP", "TYPE : TSP"))
    with pytest.raises(DataFormatError, match="only CVRP"):
        read_vrplib(p)
    p.write_text(TINY_VRP.replace("EUC_2D", "GEO"))
    with pytest.raises(DataFormatError, match="EDGE_WEIGHT_TYPE"):
        read_vrplib(p)
    p.write_text(TINY_VRP.replace("2 6\n", "2 60\n"))
    with pytest.raises(DataFormatError, match="exceeds capacity"):
        read_vrplib(p)
    p.write_text("this is not\na vrplib file\n")
    with pytest.raises(DataFormatError, match=r"bad\.vrp"):
        read_vrplib(p)
    with pytest.raises(DataFormatError, match="no such file"):
        read_vrplib(tmp_path / "missing.vrp")


@pytest.mark.parametrize(("old", "new", "line", "needle"), [
    # the vrplib package drops the node numbers and keeps the file order
    ("2 3 4\n3 0 2.5\n", "3 0 2.5\n2 3 4\n", 9, "node 3 on row 2: the rows must be nodes"),
    # the package would stop reading at any line holding "EOF"
    ("COMMENT : hand made", "COMMENT : GEOFFRION", 2, "'EOF' inside a line"),
    # the package needs every KEY : VALUE before the first section
    ("DEPOT_SECTION", "SERVICE_TIME : 3\nDEPOT_SECTION", 17, "line after a data section"),
    ("DEPOT_SECTION\n1\n", "DEPOT_SECTION\nx\n", 18, "expected a node number or -1"),
])
def test_vrplib_package_limits_are_named(tmp_path: Path, old: str, new: str, line: int,
                                         needle: str) -> None:
    """What the vrplib package would misread or refuse without a line is named here."""
    p = tmp_path / "bad.vrp"
    p.write_text(TINY_VRP.replace(old, new, 1))
    with pytest.raises(DataFormatError, match=needle) as err:
        read_vrplib(p)
    assert err.value.line == line


def test_solomon_decimal_is_refused_not_misread(tmp_path: Path) -> None:
    """The package reads Solomon data as integers (a decimal would become -1): refused,
    naming the line."""
    lines = (CVRPLIB / "C101.txt").read_text().split("\n")
    assert lines[10].split()[0] == "1"
    lines[10] = lines[10].replace("45", "45.5", 1)
    p = tmp_path / "c.txt"
    p.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"XCOORD\. of customer 1: expected an integer") as err:
        read_solomon(p)
    assert err.value.line == 11
