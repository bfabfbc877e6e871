"""The Kim benchmark's citation of the published results (``benchmarks/routing_kim.py``):
Kim et al.'s Table 3 is read whole, its distances become travel seconds at the file's
speed, a published vehicle count below the instance's own floor is flagged and not taken
as their best, and the report compares each wastenet run with that best. No instance is
solved here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def kim(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    """The benchmark script as a module."""
    return load_benchmark("routing_kim")


def test_table3_is_whole(kim: ModuleType) -> None:
    """The bundled Table 3 has both algorithms for each of the ten published instances,
    including the six the benchmark runs."""
    rows = kim.load_published()
    assert len(rows) == 20
    by = {(r["instance"], r["algorithm"]) for r in rows}
    names = {r["instance"] for r in rows}
    assert len(names) == 10
    assert all((n, a) in by for n in names for a in (1, 2))
    assert {f"{i}_stop" for i in kim.INSTANCES} <= names
    row = next(r for r in rows if r["instance"] == "804_stop" and r["algorithm"] == 2)
    assert (row["vehicles"], row["td_mile"]) == (5, 769.5)


@pytest.mark.parametrize("body, needle", [
    ("instance,algorithm,vehicles,sm_mile,nh,td_mile,rtd_s,ct_s\n"
     "102_stop,1,two,1,1,1,1,1\n", "line 2"),
    ("instance,algorithm,vehicles,sm_mile,nh,td_mile,rtd_s,ct_s\n"
     "102_stop,1,2,1,1,1,1,1\n102_stop,3,2,1,1,1,1,1\n", "line 3"),
    ("instance,algorithm,vehicles\n102_stop,1,2\n", "line 2"),
])
def test_malformed_table_names_the_line(kim: ModuleType, tmp_path: Path, body: str,
                                        needle: str) -> None:
    """A bad value, an unknown algorithm or a missing column is refused with the line."""
    path = tmp_path / "t.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=needle):
        kim.load_published(path)


def test_floor_of_102_is_three(kim: ModuleType) -> None:
    """102_stop carries 897 yd3 at 400 yd3 per vehicle and day: at least 3 vehicles, at
    40 mph."""
    facts = kim.instance_facts("102_stop")
    assert facts["demand_yd3"] == pytest.approx(897.0)
    assert facts["vehicle_floor"] == 3
    assert facts["speed_mph"] == 40.0


def test_compare_flags_below_floor_and_picks_best(kim: ModuleType) -> None:
    """A published row below the floor is flagged and skipped; the best row is the fewest
    vehicles, then the least distance; miles become seconds at 3,600 / mph."""
    published = [
        {"instance": "a_stop", "algorithm": 1, "vehicles": 2, "td_mile": 10.0},
        {"instance": "a_stop", "algorithm": 2, "vehicles": 3, "td_mile": 20.0},
        {"instance": "b_stop", "algorithm": 1, "vehicles": 4, "td_mile": 30.0},
        {"instance": "b_stop", "algorithm": 2, "vehicles": 4, "td_mile": 25.0},
        {"instance": "c_stop", "algorithm": 1, "vehicles": 1, "td_mile": 5.0},
    ]
    facts = {"a_stop": {"vehicle_floor": 3, "speed_mph": 40.0},
             "b_stop": {"vehicle_floor": 1, "speed_mph": 36.0}}
    rows = [
        {"instance": "a_stop", "solver": "wastenet", "time_limit_s": 30.0, "vehicles": 3,
         "travel_s": 900.0, "checker_ok": True},
        {"instance": "b_stop", "solver": "wastenet", "time_limit_s": 30.0, "vehicles": 5,
         "travel_s": 3000.0, "checker_ok": True},
        {"instance": "b_stop", "solver": "pyvrp", "time_limit_s": 30.0, "vehicles": 4,
         "travel_s": 2000.0, "checker_ok": True},
    ]
    cmp = kim.compare_published(rows, published, facts)
    kim_rows = {(k["instance"], k["algorithm"]): k for k in cmp["kim"]}
    assert set(kim_rows) == {("a_stop", 1), ("a_stop", 2), ("b_stop", 1), ("b_stop", 2)}
    assert kim_rows[("a_stop", 1)]["below_floor"] is True
    assert kim_rows[("a_stop", 2)]["travel_s"] == pytest.approx(20.0 * 90.0)
    assert kim_rows[("b_stop", 2)]["travel_s"] == pytest.approx(25.0 * 100.0)
    versus = {v["instance"]: v for v in cmp["versus"]}
    assert set(versus) == {"a_stop", "b_stop"}
    assert versus["a_stop"]["kim_algorithm"] == 2
    assert versus["a_stop"]["vehicle_diff"] == 0
    assert versus["a_stop"]["travel_ratio"] == pytest.approx(900.0 / 1800.0)
    assert versus["b_stop"]["kim_algorithm"] == 2
    assert versus["b_stop"]["vehicle_diff"] == 1
    assert versus["b_stop"]["travel_ratio"] == pytest.approx(3000.0 / 2500.0)


def test_render_cites_table3_and_names_more_vehicles(kim: ModuleType,
                                                     tmp_path: Path) -> None:
    """Re-rendering a run cites Kim et al.'s Table 3 for the measured instances, flags
    102's two-vehicle row, and says where wastenet uses more vehicles than published."""
    out = tmp_path / "kim"
    rows = [
        {"instance": "102_stop", "solver": "wastenet", "time_limit_s": 30.0,
         "vehicles": 3, "travel_s": 13000.0, "checker_ok": True},
        {"instance": "804_stop", "solver": "wastenet", "time_limit_s": 30.0,
         "vehicles": 6, "travel_s": 70000.0, "checker_ok": True},
    ]
    meta = {"date": "d", "machine": "m", "engine": "e", "loadavg_start": [0, 0, 0],
            "seed": 0}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows,
                                                    "size": []}), encoding="utf-8")
    assert kim.main(["--render", "--out", str(out)]) == 0
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "Table 3" in md and "not reproduced" not in md
    assert "| 804_stop | 2 | 5 | 769.5 | 69,255.0 |" in md
    assert "| 1351_stop |" not in md
    assert "102_stop, A = 1: 2 vehicles cannot carry the file's 897 yd3" in md
    assert "| 804_stop | 30 | 6 | 70,000.0 | 2 | 5 | 69,255.0 | +1 | 1.011 |" in md
    assert "more vehicles than Kim et al. published** on 804_stop " in md
