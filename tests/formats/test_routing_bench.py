"""Tests of ``solve_routing_file`` and the benchmark ``plan.json`` schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.formats.routing_bench import plan_to_json, read_routing_file, solve_routing_file
from wastenet.formats.vrplib import read_vrplib_sol_cost
from wastenet.formats.wcvrptw import read_wcvrptw
from wastenet.routing.data import Route, RoutePlan, Visit

KIM_HEADER = (
    "100.0\t// vehicle capacity\r\n200.0\t// yardage per day\r\n10\t// stops\r\n"
    "3600\t// lunch\r\n30\t// MPH\r\nStop_ID\tX\tY\tE\tL\tS\tLoad\tType\r\n"
)
# 30 mph = 44 ft/s. Depot 0 at the origin, landfill 9 at (4400, 0): 100 s away.
# Stops 5 and 6 must be served late morning/noon, so the route spans noon: lunch.
KIM_ROWS = (
    "0 0 0 0800 1700 0 9999 0\r\n"
    "9 4400 0 0000 2400 300 9999 2\r\n"
    "5 2200 0 1100 1130 60 40 1\r\n"
    "6 2200 2200 1200 1300 60 30 1\r\n"
)

TINY_VRP = """NAME : square
TYPE : CVRP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 10 0
3 10 10
4 -10 0
5 -10 -10
DEMAND_SECTION
1 0
2 5
3 5
4 5
5 5
DEPOT_SECTION
1
-1
EOF
"""


def test_kim_plan_json_schema(tmp_path: Path) -> None:
    """plan.json has vehicles, travel time and depot-to-depot visits with the landfill."""
    src = tmp_path / "tiny_kim.txt"
    src.write_text(KIM_HEADER + KIM_ROWS)
    out = tmp_path / "plan.json"
    doc = solve_routing_file(src, "wcvrptw", time_limit_s=1.0, out=out, seed=0)
    disk = json.loads(out.read_text(encoding="utf-8"))
    assert disk == doc
    assert doc["checker"]["ok"], doc["checker"]["violations"]
    assert doc["vehicles"] == 1 and len(doc["routes"]) == 1
    route = doc["routes"][0]
    ids = [v["id"] for v in route["visits"]]
    assert ids[0] == 0 and ids[-1] == 0
    assert sorted(i for i in ids if i in (5, 6)) == [5, 6]
    assert ids[-2] == 9  # unload at the landfill before going home
    assert all(isinstance(v["start_s"], float) for v in route["visits"])
    starts = {v["id"]: v["start_s"] for v in route["visits"] if v["kind"] == "stop"}
    assert 11 * 3600 <= starts[5] <= 11.5 * 3600 and 12 * 3600 <= starts[6] <= 13 * 3600
    assert route["lunch_start_s"] is not None
    assert 11 * 3600 <= route["lunch_start_s"] <= 12 * 3600
    # depot -> 5 -> 6 -> landfill -> depot is 50 + 50 + (2200+2200)/44 + 100 s at least
    assert doc["travel_time_s"] >= 300.0 - 1e-6


def test_vrplib_writes_sol_beside_json(tmp_path: Path) -> None:
    """A 4-customer CVRP: two trips of 2 customers, cost 20+nint(14.1)+... = optimum."""
    src = tmp_path / "square.vrp"
    src.write_text(TINY_VRP)
    out = tmp_path / "sol.json"
    doc = solve_routing_file(src, "vrplib", time_limit_s=1.0, out=out)
    sol = tmp_path / "sol.sol"
    assert sol.is_file() and doc["sol"] == str(sol)
    # optimum: 0-2-3-0 = 10 + 10 + 14 = 34, and 0-4-5-0 = 10 + 10 + 14 = 34
    assert read_vrplib_sol_cost(sol) == 68.0 == doc["cost"]
    assert doc["cvrp_routes"] == 2
    routes = [line for line in sol.read_text().splitlines() if line.startswith("Route #")]
    served = sorted(int(c) for line in routes for c in line.split(":")[1].split())
    assert served == [1, 2, 3, 4]
    assert doc["checker"]["ok"]


def test_plan_to_json_from_hand_built_plan(tmp_path: Path) -> None:
    """Ids are the file ids, lunch null when absent, times rounded to milliseconds."""
    src = tmp_path / "tiny_kim.txt"
    src.write_text(KIM_HEADER + KIM_ROWS)
    data = read_wcvrptw(src)
    v = [Visit("depot", 0, 0, 0.0, 30000.0, 30000.0, (0.0,)),
         Visit("stop", 0, 2, 30050.0, 39600.0, 39660.0, (40.0,)),
         Visit("unload", 0, 1, 39710.0, 39710.0, 40010.0, (0.0,)),
         Visit("depot", 0, 0, 40110.0, 40110.1234, 40110.0, (0.0,))]
    r = Route(0, 0, tuple(v), None, 1.0, 10110.0, 200.0, (40.0,), 0.0, 0.0)
    plan = RoutePlan((r,), (1,), 1, 1.0, 200.0, 10110.0, 0.0, 0.0, "ok", "hand", 0, 0.0)
    doc = plan_to_json(data, plan)
    assert [x["id"] for x in doc["routes"][0]["visits"]] == [0, 5, 9, 0]
    assert doc["routes"][0]["visits"][-1]["start_s"] == 40110.123
    assert doc["routes"][0]["lunch_start_s"] is None
    assert doc["unserved"] == [6] and doc["vehicles"] == 1 and doc["travel_time_s"] == 200.0


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    """An unknown format raises a ValidationError naming the field."""
    with pytest.raises(ValidationError, match="format"):
        read_routing_file(tmp_path / "x.txt", "tsplib")


def test_read_routing_file_dispatch(tmp_path: Path) -> None:
    """The dispatcher reads each format into RoutingData."""
    src = tmp_path / "square.vrp"
    src.write_text(TINY_VRP)
    d = read_routing_file(src, "vrplib")
    assert d.n_stops == 4 and np.isclose(d.distance_m[1, 2], 10.0)


def test_write_error_names_out(tmp_path: Path) -> None:
    """An OSError while writing (here: the output's folder is a file) becomes a
    ValidationError naming out, raised by the solve function itself."""
    src = tmp_path / "square.vrp"
    src.write_text(TINY_VRP)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(ValidationError) as exc:
        solve_routing_file(src, "vrplib", time_limit_s=1.0, out=blocker / "sol.json")
    assert exc.value.field == "out" and "cannot write the output" in str(exc.value)


def test_cli_prints_a_readable_summary(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``wastenet solve`` on a routing file ends with one plain line (vehicles, travel
    hours, the CVRP cost, the checker's verdict), not a Python dict."""
    from wastenet.cli import main

    src = tmp_path / "square.vrp"
    src.write_text(TINY_VRP)
    out = tmp_path / "sol.json"
    rc = main(["solve", str(src), "--format", "vrplib", "--time-limit", "1", "--out",
               str(out)])
    assert rc == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "{" not in line and "'" not in line
    assert line.startswith("square: ") and line.endswith(f"-> {out}")
    assert "cost 68, checker ok" in line and " vehicles, travel " in line
