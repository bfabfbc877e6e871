"""plan-routes and plan-province refuse bad input before any work, with one clear error
(malformed siting folders, seeds, time limits, output paths, dates), and ``--week``
never leaves an earlier run's plan in a day folder. The solver is replaced by a stub
(``run_route_plan``) wherever a plan is needed: these tests are about the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import wastenet.pipeline
from wastenet.cli import main
from wastenet.errors import InfeasibleError, ValidationError
from wastenet.routing.exports import FILE_NAMES

SCENARIO: dict[str, Any] = {
    "name": "faku-stub",
    "data": {"counties": ["210124"], "villages_total": 2000, "seed": 11},
}
FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [123.2, 42.4]},
           "properties": {"id": "S1", "name": "站1", "capacity_t_per_day": 10.0}}
ASSIGN_HEADER = "village_id,village_name,county,facility_id,t_per_day"
ASSIGN_ROW = "210124101001,大孤家子1村,210124,S1,0.8"


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    """A small Faku scenario file."""
    p = tmp_path / "sc.json"
    p.write_text(json.dumps(SCENARIO), encoding="utf-8")
    return p


def make_siting(base: Path, *, summary: str = "{}", facilities: object = None,
                assignments: str | None = None) -> Path:
    """A hand-made siting folder: one station S1 and one village assigned to it."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "summary.json").write_text(summary, encoding="utf-8")
    fc = facilities if facilities is not None else {"type": "FeatureCollection",
                                                    "features": [FEATURE]}
    (base / "facilities.geojson").write_text(json.dumps(fc), encoding="utf-8")
    text = assignments if assignments is not None else f"{ASSIGN_HEADER}\n{ASSIGN_ROW}\n"
    (base / "assignments.csv").write_text(text, encoding="utf-8-sig")
    return base


@pytest.fixture()
def no_solve(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if a county-day is planned; returns the dates asked for."""
    asked: list[str] = []

    def fail(_sc: object, _siting: object, _county: str, date: str, **_kw: object) -> None:
        asked.append(date)
        raise AssertionError("planned although the input is bad")

    monkeypatch.setattr(wastenet.pipeline, "run_route_plan", fail)
    monkeypatch.setattr(wastenet.pipeline, "route_plan_data", fail)
    return asked


BROKEN = {
    "summary_not_json": ({"summary": "{not json"}, "summary.json", "not valid JSON"),
    "no_village_id_column": ({"assignments": "village,facility_id\nV1,S1\n"},
                             "assignments.csv:village_id", "is missing"),
    "no_features": ({"facilities": {"type": "FeatureCollection"}},
                    "facilities.geojson:features", "not a GeoJSON FeatureCollection"),
    "facility_not_in_geojson": (
        {"assignments": f"{ASSIGN_HEADER}\n{ASSIGN_ROW.replace(',S1,', ',S9,')}\n"},
        "assignments.csv:facility_id='S9'", "not in"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_plan_routes_malformed_siting_is_one_clear_error(
        case: str, scenario: Path, tmp_path: Path, no_solve: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed siting folder (invalid summary.json, assignments.csv without the
    village_id column, facilities.geojson without features, a facility missing from the
    GeoJSON) exits with 2 and a message naming the file and the field, no traceback."""
    parts, where, what = BROKEN[case]
    site = make_siting(tmp_path / "site", **parts)  # type: ignore[arg-type]
    rc = main(["plan-routes", str(scenario), "--siting", str(site), "--county", "210124",
               "--date", "2026-12-01", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert where in err and what in err and str(site) in err
    assert "Traceback" not in err and no_solve == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_plan_province_malformed_siting_is_one_error_for_the_run(
        case: str, scenario: Path, tmp_path: Path, no_solve: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """plan-province reports a malformed siting folder once, for the whole run, before
    any county is planned (no per-county failures, no province.csv)."""
    parts, where, what = BROKEN[case]
    site = make_siting(tmp_path / "site", **parts)  # type: ignore[arg-type]
    out = tmp_path / "out"
    rc = main(["plan-province", str(scenario), "--siting", str(site), "--date",
               "2026-12-01", "--out", str(out), "--counties", "210124,210123"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count(where) == 1 and what in err
    assert "Traceback" not in err and no_solve == []
    assert not (out / "province.csv").exists()


@pytest.mark.parametrize("command", ["plan-routes", "plan-province"])
@pytest.mark.parametrize(("option", "value"), [("--seed", "-5"), ("--seed", "x"),
                                               ("--time-limit", "inf"),
                                               ("--time-limit", "-1")])
def test_bad_seed_and_time_limit_refused_by_argparse(
        command: str, option: str, value: str, scenario: Path, tmp_path: Path,
        no_solve: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A negative or non-integer seed and an infinite or negative time limit are
    refused while the arguments are read (exit 2, naming the option), before any
    solving."""
    site = make_siting(tmp_path / "site")
    extra = ["--county", "210124"] if command == "plan-routes" else []
    with pytest.raises(SystemExit) as exc:
        main([command, str(scenario), "--siting", str(site), *extra, "--date",
              "2026-12-01", "--out", str(tmp_path / "out"), f"{option}={value}"])
    assert exc.value.code == 2
    assert option.lstrip("-") in capsys.readouterr().err
    assert no_solve == []


@pytest.mark.parametrize("command", ["plan-routes", "plan-province"])
def test_out_naming_a_file_refused_before_work(
        command: str, scenario: Path, tmp_path: Path, no_solve: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming an existing file is a ValidationError naming out, before any
    county-day is planned (it used to be a FileExistsError after solving)."""
    site = make_siting(tmp_path / "site")
    target = tmp_path / "a-file.txt"
    target.write_text("keep me", encoding="utf-8")
    extra = ["--county", "210124"] if command == "plan-routes" else []
    rc = main([command, str(scenario), "--siting", str(site), *extra, "--date",
               "2026-12-01", "--out", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "out=" in err and "not a folder" in err
    assert target.read_text(encoding="utf-8") == "keep me" and no_solve == []


@pytest.mark.parametrize("command", ["plan-routes", "plan-province"])
@pytest.mark.parametrize("bad", ["scenario", "siting"])
def test_bad_input_leaves_no_output_folder(
        command: str, bad: str, scenario: Path, tmp_path: Path, no_solve: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario or siting folder that does not load is refused before --out is
    created: no empty output folder is left behind."""
    site = make_siting(tmp_path / "site")
    if bad == "scenario":
        scenario.write_text("{not json", encoding="utf-8")
    else:
        (site / "summary.json").write_text("{not json", encoding="utf-8")
    out = tmp_path / "new" / "out"
    extra = ["--county", "210124"] if command == "plan-routes" else []
    rc = main([command, str(scenario), "--siting", str(site), *extra, "--date",
               "2026-12-01", "--out", str(out)])
    assert rc == 2 and "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and no_solve == []


def test_week_past_the_last_date_names_date(
        scenario: Path, tmp_path: Path, no_solve: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """--week from 9999-12-30 would run past 9999-12-31: a ValidationError naming date
    (it used to be an OverflowError)."""
    site = make_siting(tmp_path / "site")
    rc = main(["plan-routes", str(scenario), "--siting", str(site), "--county", "210124",
               "--date", "9999-12-30", "--week", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "date='9999-12-30'" in err and "Traceback" not in err
    assert no_solve == []


def test_week_run_leaves_no_stale_day_folders(
        scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second --week run into the same folder leaves no plan of the first run: the
    day it finds nothing to collect on is emptied, and when it fails on the fourth day,
    days four to seven hold nothing; files that are not exports are kept."""
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"
    run_no = [1]

    def stub(_sc: object, _siting: object, _county: str, date: str,
             **_kw: object) -> dict[str, Any]:
        if run_no[0] == 2 and date == "2026-12-01":
            raise ValidationError("date", date, "no village is due that day")
        if run_no[0] == 2 and date == "2026-12-03":
            raise InfeasibleError("facility S1 over capacity", ["S1"])
        return {"plan": {"vehicles": 1, "distance_m": 1000.0},
                "exports": {k: f"run {run_no[0]} {date}\n" for k in FILE_NAMES}}

    monkeypatch.setattr(wastenet.pipeline, "run_route_plan", stub)
    # the hand-made siting covers one village: no week is planned for it (the stub
    # stands for the days)
    monkeypatch.setattr(wastenet.pipeline, "route_plan_week", lambda *_a, **_k: None)
    args = ["plan-routes", str(scenario), "--siting", str(site), "--county", "210124",
            "--date", "2026-11-30", "--week", "--out", str(out)]
    assert main(args) == 0
    days = ["2026-11-30"] + [f"2026-12-0{d}" for d in range(1, 7)]
    assert all((out / d / "plan.json").is_file() for d in days)
    (out / "2026-12-05" / "notes.txt").write_text("mine", encoding="utf-8")
    run_no[0] = 2
    assert main(args) == 2
    assert (out / days[0] / "plan.json").read_text(encoding="utf-8") == \
        "run 2 2026-11-30\n"
    assert (out / days[2] / "plan.json").read_text(encoding="utf-8") == \
        "run 2 2026-12-02\n"
    for d in (days[1], *days[3:]):  # nothing to collect, the failing day, the days after
        assert not any((out / d / name).exists() for name in FILE_NAMES.values()), d
    assert (out / "2026-12-05" / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("elapsed", "solution_limit", "warned"), [
    (9.8, None, True),    # ran its whole 10 s: the clock stopped it
    (2.0, 5, False),      # stopped early by the solution limit: repeatable
])
def test_a_day_stopped_by_the_clock_is_warned_about(
        scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, elapsed: float, solution_limit: int | None,
        warned: bool) -> None:
    """A plan whose search the time limit stopped depends on the machine's speed: the
    CLI says so and points to --solution-limit, which it passes on to the solver; a
    plan stopped by the solution limit gets no warning."""
    site = make_siting(tmp_path / "site")
    seen: dict[str, object] = {}

    def stub(_sc: object, _siting: object, _county: str, _date: str,
             **kw: object) -> dict[str, Any]:
        seen.update(kw)
        meta = {"time_limit_s": 10.0, "solution_limit": kw.get("solution_limit")}
        return {"plan": {"status": "ROUTING_PARTIAL_SUCCESS", "elapsed_s": elapsed,
                         "meta": meta, "vehicles": 1, "distance_m": 1000.0},
                "exports": {k: "x\n" for k in FILE_NAMES}}

    monkeypatch.setattr(wastenet.pipeline, "run_route_plan", stub)
    args = ["plan-routes", str(scenario), "--siting", str(site), "--county", "210124",
            "--date", "2026-11-30", "--out", str(tmp_path / "out"), "--time-limit", "10"]
    if solution_limit is not None:
        args += ["--solution-limit", str(solution_limit)]
    with caplog.at_level("WARNING", logger="wastenet.plan_routes"):
        assert main(args) == 0
    assert seen["solution_limit"] == solution_limit
    assert any("stopped on the time limit" in r.getMessage() for r in caplog.records) \
        is warned
