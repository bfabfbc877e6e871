"""End-to-end tests of the work units and the site/compare/plan-routes commands on a
small Faku scenario (about 40 synthetic villages)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from wastenet.cli import main
from wastenet.pipeline import compare, run_siting
from wastenet.scenario.schema import Scenario

SMALL: dict[str, Any] = {
    "name": "faku-small",
    "data": {"counties": ["210124"], "villages_total": 2000, "seed": 11},
    "candidates": {"transfer": {"extra_per_county": 4}},
    "policy": {"sharing": "none"},
    "fleet": {"narrow_lane_fraction": 0.0},
    "solver": {"time_limit_s": 30, "routing_time_limit_s": 5},
}


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory) -> Path:
    """The small Faku scenario written as JSON."""
    p = tmp_path_factory.mktemp("sc") / "faku-small.json"
    p.write_text(json.dumps(SMALL), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def siting_dir(small_scenario, tmp_path_factory) -> Path:
    """`wastenet site` output of the small scenario."""
    out = tmp_path_factory.mktemp("site")
    assert main(["site", str(small_scenario), "--out", str(out), "--no-progress",
                 "--time-limit", "30"]) == 0
    return out


def test_site_writes_summary_geojson_and_csv(siting_dir) -> None:
    """summary.json has the documented keys, the CSV has a BOM and one row per village."""
    s = json.loads((siting_dir / "summary.json").read_text(encoding="utf-8"))
    for key in ("total_cost_yuan_per_year", "lower_bound_yuan_per_year", "gap",
                "transfer_stations_opened", "incinerators_opened", "kpis", "synthetic"):
        assert key in s
    assert s["synthetic"] is True
    assert s["lower_bound_yuan_per_year"] <= s["total_cost_yuan_per_year"] * (1 + 1e-9)
    raw = (siting_dir / "assignments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len({r["village_id"] for r in rows}) == s["villages"]
    # provenance on every row: synthetic data, generated with the scenario's seed 11
    assert {(r["synthetic"], r["data_seed"]) for r in rows} == {("true", "11")}
    assert {r["solver_seed"] for r in rows} == {str(s["seed"])}
    fc = json.loads((siting_dir / "facilities.geojson").read_text(encoding="utf-8"))
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("transfer") == s["transfer_stations_opened"]
    assert kinds.count("incinerator") == s["incinerators_opened"]
    # every assignment points at an opened facility
    opened = {f["properties"]["id"] for f in fc["features"]}
    assert {r["facility_id"] for r in rows} <= opened


def test_siting_deterministic_under_iteration_limit() -> None:
    """Same scenario, seed and work limit give the same summary cost and facilities."""
    sc = Scenario.model_validate(SMALL)
    a = run_siting(sc, time_limit_s=None, seed=3, max_iterations=200)
    b = run_siting(sc, time_limit_s=None, seed=3, max_iterations=200)
    assert a["summary"]["total_cost_yuan_per_year"] == b["summary"]["total_cost_yuan_per_year"]
    assert a["facilities"] == b["facilities"]


@pytest.mark.slow
def test_siting_with_two_threads_on_the_scalable_path() -> None:
    """On the scalable path with a plant count (so step 7 runs its sub-MIPs in threads),
    two threads give a valid siting (both plants, a bound below the cost) and, under a work
    limit, exactly the one-thread result, every time. (With SCIP the restricted MIP ended
    at 13.97 M or 14.01 M yuan/yr from run to run; work-limited runs now use HiGHS.)"""
    sc = Scenario.model_validate({
        **SMALL, "solver": {**SMALL["solver"], "method": "decomposition"},
        "policy": {"sharing": "none",
                   "counts": [{"echelon": "incinerator", "value": 2, "sense": "eq"}]}})
    runs = [run_siting(sc, time_limit_s=None, seed=3, max_iterations=50, threads=t)
            for t in (1, 2, 1, 2)]
    for r in runs:
        assert r["summary"]["incinerators_opened"] == 2
        assert r["summary"]["solver"] == "decomposition"
        assert r["summary"]["lower_bound_yuan_per_year"] <= \
            r["summary"]["total_cost_yuan_per_year"] * (1 + 1e-9)
    for r in runs[1:]:
        for key in ("total_cost_yuan_per_year", "lower_bound_yuan_per_year"):
            assert r["summary"][key] == runs[0]["summary"][key], key
        assert r["facilities"] == runs[0]["facilities"]


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_site_rejects_bad_threads(small_scenario, tmp_path, capsys, bad: str) -> None:
    """``--threads`` must be a positive integer; the error names the option and value."""
    with pytest.raises(SystemExit) as exc:
        main(["site", str(small_scenario), "--out", str(tmp_path), "--threads", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "threads" in err and bad in err


def test_compare_reports_saving() -> None:
    """compare() gives b - a differences and the saving of b over a."""
    a = {"scenario": "x", "sharing": "none", "total_cost_yuan_per_year": 100.0,
         "kpis": {"tonne_km_per_day": 50.0}}
    b = {"scenario": "y", "sharing": "adjacent", "total_cost_yuan_per_year": 90.0,
         "kpis": {"tonne_km_per_day": 40.0}}
    r = compare(a, b)
    assert r["saving_yuan_per_year"] == 10.0 and r["saving_fraction"] == pytest.approx(0.1)
    assert r["metrics"]["tonne_km_per_day"]["diff"] == -10.0


def test_compare_cli(siting_dir, capsys) -> None:
    """`wastenet compare` of a folder with itself shows a zero saving."""
    assert main(["compare", str(siting_dir), str(siting_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["saving_yuan_per_year"] == 0.0


def test_compare_cli_bad_folder(tmp_path, capsys) -> None:
    """A folder without summary.json is a clean error naming it."""
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_plan_routes_writes_all_exports(small_scenario, siting_dir, tmp_path) -> None:
    """plan-routes plans a Faku day from the siting output and writes every export;
    the independent checker accepts the plan."""
    out = tmp_path / "routes"
    assert main(["plan-routes", str(small_scenario), "--siting", str(siting_dir),
                 "--county", "210124", "--date", "2026-12-01", "--out", str(out),
                 "--time-limit", "5"]) == 0
    for name in ("routes.csv", "routes.geojson", "routes.gpx", "sheets.html", "plan.json"):
        assert (out / name).stat().st_size > 0, name
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["synthetic"] is True
    raw = (out / "routes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert rows and {(r["synthetic"], r["data_seed"]) for r in rows} == {("true", "11")}
    visited = [v["id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "stop"]
    assert len(visited) == len(set(visited)) > 0


# -- route plans: malformed siting outputs and bad settings, refused up front -------------

_FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [123.2, 42.4]},
            "properties": {"id": "S1", "capacity_t_per_day": 10.0}}
_GOOD_SITING: dict[str, Any] = {
    "summary": {}, "facilities": {"type": "FeatureCollection", "features": [_FEATURE]},
    "assignments": [{"village_id": "V1", "facility_id": "S1"}]}


@pytest.fixture()
def no_network(monkeypatch) -> None:
    """Building the network fails the test: the error must come before any work."""
    import wastenet.pipeline

    def fail(*_a: object, **_k: object) -> None:
        raise AssertionError("the network was built before the input was checked")

    monkeypatch.setattr(wastenet.pipeline, "build_network", fail)


@pytest.mark.parametrize(("siting", "field", "value"), [
    ({**_GOOD_SITING, "facilities": {"type": "FeatureCollection"}},
     "siting.facilities.features", None),
    ({**_GOOD_SITING, "assignments": [{"facility_id": "S1"}]},
     "siting.assignments.village_id", None),
    ({**_GOOD_SITING, "assignments": [{"village_id": "V1", "facility_id": "S9"}]},
     "siting.assignments.facility_id", "S9"),
    ({**_GOOD_SITING, "facilities": {"features": [
        {**_FEATURE, "geometry": {"coordinates": ["x", 42.4]}}]}},
     "siting.facilities.features[0].geometry.coordinates", ["x", 42.4]),
    ({**_GOOD_SITING, "facilities": {"features": [
        {**_FEATURE, "properties": {"id": "S1", "capacity_t_per_day": "lots"}}]}},
     "siting.facilities.features[0].properties.capacity_t_per_day", "lots"),
    ({**_GOOD_SITING, "summary": [1]}, "siting.summary", "list"),
])
def test_route_plan_refuses_malformed_siting(no_network, siting, field, value) -> None:
    """A siting output without facility features, an assignment row without village_id,
    a row naming a facility that is not among the facilities, bad coordinates or
    capacity: a ValidationError naming the field and value (the API sends this dict),
    before the network is built."""
    from wastenet.errors import ValidationError
    from wastenet.pipeline import run_route_plan

    sc = Scenario.model_validate(SMALL)
    with pytest.raises(ValidationError) as exc:
        run_route_plan(sc, siting, "210124", "2026-12-01")
    assert (exc.value.field, exc.value.value) == (field, value)


@pytest.mark.parametrize(("kw", "field"), [({"seed": -5}, "seed"),
                                           ({"time_limit_s": float("inf")}, "time_limit_s"),
                                           ({"crs": "bd09"}, "crs")])
def test_run_route_plan_refuses_bad_settings_up_front(no_network, kw, field) -> None:
    """A negative seed, an infinite time limit or an unknown crs is a ValidationError
    naming it before any work (it used to fail after the whole solve)."""
    from wastenet.errors import ValidationError
    from wastenet.pipeline import run_route_plan

    sc = Scenario.model_validate(SMALL)
    with pytest.raises(ValidationError) as exc:
        run_route_plan(sc, _GOOD_SITING, "210124", "2026-12-01", **kw)
    assert exc.value.field == field
