"""The scenario's network is built once per run, not once per county-day.

``plan-province`` builds it once in the parent and ships each county's compiled routing
data in its work unit (:func:`wastenet.province.make_units`), so that no worker builds
it or reads the scenario's road matrix; ``plan-routes --week`` builds it once for the
seven days. The plans stay those of :func:`wastenet.pipeline.run_route_plan` building
the network for itself (the old per-county-day path).

The scenario is tiny and fast: six user villages (four in Faku 210124, two in Kangping
210123), one user station S1 and a road matrix file (CSV) covering every place, with
values far from the great-circle estimate, so a plan shows whether it was used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import wastenet.pipeline
import wastenet.routing.build
import wastenet.scenario.network as network_module
from wastenet.cli import main
from wastenet.commands.plan_routes import write_exports
from wastenet.errors import ValidationError
from wastenet.province import local_executor, make_units, plan_province
from wastenet.routing.exports import FILE_NAMES
from wastenet.scenario.schema import Scenario

FAKU, KANGPING = "210124", "210123"
DATE = "2026-12-01"
#: a work limit, so that plans are reproducible (and the time limit a safety net)
ROUTE: dict[str, Any] = {"seed": 0, "solution_limit": 5, "time_limit_s": 30.0}
VILLAGES = [("a", FAKU, 123.20, 42.40), ("b", FAKU, 123.30, 42.45),
            ("c", FAKU, 123.35, 42.35), ("d", FAKU, 123.25, 42.30),
            ("e", KANGPING, 123.30, 42.75), ("f", KANGPING, 123.40, 42.78)]
MATRIX_IDS = (*(v[0] for v in VILLAGES), "S1", f"I{FAKU}", f"I{KANGPING}")
STATION = {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}


def _matrix_file(path: Path) -> Path:
    """An asymmetric road matrix over MATRIX_IDS, as a CSV file."""
    from wastenet.geo.matrix import DistanceMatrix, save_matrix

    n = len(MATRIX_IDS)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dist = 50_000.0 + 1_370.0 * i + 710.0 * j
    dur = 1_800.0 + 110.0 * i + 50.0 * j  # 82..99 km/h: plausible road speeds
    np.fill_diagonal(dist, 0.0)
    np.fill_diagonal(dur, 0.0)
    save_matrix(DistanceMatrix(ids=MATRIX_IDS, distance_m=dist, duration_s=dur), path)
    return path


def _spec(matrix: Path, frequency: int = 7) -> dict[str, Any]:
    return {
        "name": "tiny-two-counties",
        "data": {"source": "user", "counties": [FAKU, KANGPING],
                 "villages": [{"id": k, "lon": lon, "lat": lat, "population": 400,
                               "county": c} for k, c, lon, lat in VILLAGES],
                 "distance_matrix_file": str(matrix)},
        "candidates": {"transfer": {"extra_per_county": 0, "sites": [STATION]}},
        "fleet": {"narrow_lane_fraction": 0.0, "frequency_per_week": frequency,
                  "vehicles": [{"name": "truck", "count": 2, "capacity_t": 5.0}]}}


SITING: dict[str, Any] = {
    "summary": {},
    "facilities": {"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [STATION["lon"], STATION["lat"]]},
         "properties": {"id": "S1", "name": "站1", "capacity_t_per_day": 100.0}}]},
    "assignments": [{"village_id": k, "village_name": k, "county": c, "facility_id": "S1"}
                    for k, c, _lon, _lat in VILLAGES],
}



def _without_elapsed(text: str) -> str:
    """An export's text without the wall-time lines (plan.json's ``elapsed_s``)."""
    return "\n".join(line for line in text.splitlines() if '"elapsed_s"' not in line)


def test_province_units_build_the_network_once_and_workers_never(
        tmp_path: Path, builds: list[str]) -> None:
    """make_units builds the scenario's network once for all its counties, and planning
    the units builds it no more (it used to be built in every unit); the plans are those
    of run_route_plan building the network for itself."""
    sc = Scenario.model_validate(_spec(_matrix_file(tmp_path / "m.csv")))
    units = make_units(sc, SITING, [FAKU, KANGPING], DATE, **ROUTE)
    made = len(builds)
    outcomes = plan_province(units)
    assert len(builds) == made, "the network was built while planning the units"
    assert made == 1  # once, for both counties
    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert all(o.check_ok for o in outcomes)
    for o in outcomes:
        alone = wastenet.pipeline.run_route_plan(sc, SITING, o.county, DATE, **ROUTE)
        assert o.plan is not None
        legs = sum(len(r["visits"]) - 1 for r in o.plan["routes"])
        assert o.plan["distance_m"] >= 50_000.0 * legs > 0  # the matrix's, every leg
        assert {k: _without_elapsed(v) for k, v in o.exports.items()} == \
            {k: _without_elapsed(v) for k, v in alone["exports"].items()}


def test_worker_reads_no_scenario_file(tmp_path: Path) -> None:
    """A unit carries its county's data, road distances included: planned in another
    process after the scenario's matrix file is gone, it gives the plan made with the
    file there (a worker used to load the whole matrix, and here it would fail)."""
    matrix = _matrix_file(tmp_path / "m.csv")
    sc = Scenario.model_validate(_spec(matrix))
    before = wastenet.pipeline.run_route_plan(sc, SITING, KANGPING, DATE, **ROUTE)
    units = make_units(sc, SITING, [KANGPING], DATE, **ROUTE)
    matrix.unlink()
    with local_executor(1) as pool:
        outcome = plan_province(units, executor=pool)[0]
    assert outcome.status == "ok", outcome.message
    assert {k: _without_elapsed(v) for k, v in outcome.exports.items()} == \
        {k: _without_elapsed(v) for k, v in before["exports"].items()}


def test_route_plan_data_takes_the_network(tmp_path: Path, builds: list[str]) -> None:
    """route_plan_data with the scenario's network builds nothing and gives the data it
    builds without; a network of another scenario is refused (a programming error)."""
    sc = Scenario.model_validate(_spec(_matrix_file(tmp_path / "m.csv")))
    net = network_module.build_network(sc)
    builds.clear()
    given = wastenet.pipeline.route_plan_data(sc, SITING, FAKU, DATE, network=net)
    assert builds == []
    built = wastenet.pipeline.route_plan_data(sc, SITING, FAKU, DATE)
    assert builds == [sc.name]
    assert given.ids == built.ids and given.meta == built.meta
    assert np.array_equal(given.distance_m, built.distance_m)
    assert np.array_equal(given.stop_demand, built.stop_demand)
    other = sc.model_copy(update={"name": "another"})
    with pytest.raises(ValueError, match="another"):
        wastenet.pipeline.route_plan_data(other, SITING, FAKU, DATE, network=net)


def test_plan_routes_week_builds_the_network_once(
        tmp_path: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan-routes --week`` builds the network once for its seven days and plans the
    county's visit days once (it used to do both every day), and every day's exports are
    those of run_route_plan building the network for itself; days with nothing to
    collect (a visit a week) stay empty. ``--solution-limit`` makes the plans
    repeatable."""
    matrix = _matrix_file(tmp_path / "m.csv")
    scenario = tmp_path / "sc.json"
    scenario.write_text(json.dumps(_spec(matrix, frequency=1)), encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    (site / "summary.json").write_text("{}", encoding="utf-8")
    (site / "facilities.geojson").write_text(json.dumps(SITING["facilities"]),
                                             encoding="utf-8")
    rows = [",".join(a[k] for k in ("village_id", "village_name", "county", "facility_id"))
            for a in SITING["assignments"]]
    (site / "assignments.csv").write_text(
        "\n".join(["village_id,village_name,county,facility_id", *rows]) + "\n",
        encoding="utf-8-sig")
    real: Callable[..., dict[str, Any]] = wastenet.pipeline.run_route_plan
    weeks: list[int] = []
    planner = wastenet.routing.build.plan_week

    def counted(*args: Any, **kwargs: Any) -> Any:
        weeks.append(1)
        return planner(*args, **kwargs)

    monkeypatch.setattr(wastenet.routing.build, "plan_week", counted)
    out = tmp_path / "out"
    # a work limit, for plans that are reproducible between the two paths
    assert main(["plan-routes", str(scenario), "--siting", str(site), "--county", FAKU,
                 "--date", "2026-11-30", "--week", "--out", str(out), "--seed", "0",
                 "--time-limit", "30", "--solution-limit", "5"]) == 0
    assert builds == ["tiny-two-counties"]
    assert len(weeks) == 1
    sc = Scenario.model_validate(_spec(matrix, frequency=1))
    planned = 0
    for k in range(7):
        day = f"2026-{11 if k == 0 else 12}-{30 if k == 0 else k:02d}"
        try:
            alone = real(sc, SITING, FAKU, day, seed=0, time_limit_s=30.0, solution_limit=5)
        except ValidationError as exc:
            assert exc.field == "date"  # nothing due that day
            assert not any((out / day / name).exists() for name in FILE_NAMES.values())
            continue
        planned += 1
        ref = tmp_path / "ref" / day
        write_exports(ref, alone["exports"])
        for name in FILE_NAMES.values():
            got = (out / day / name).read_bytes().decode("utf-8")
            want = (ref / name).read_bytes().decode("utf-8")
            assert _without_elapsed(got) == _without_elapsed(want), (day, name)
    assert 0 < planned < 7
