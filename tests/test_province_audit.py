"""Audit fixes of ``wastenet plan-province`` (:mod:`wastenet.commands.plan_province`,
:mod:`wastenet.province`): county codes from the siting output never name paths outside
``--out``, province.csv text cells are formula-guarded, a run that dies leaves no
province summary, checker-rejected plans are neither written nor counted as planned,
``--scheduler``, counties without villages and output paths are checked before any
county is planned, a Dask scheduler without workers is not waited for forever, and
every row says what stopped its search.

The solver is replaced: :func:`wastenet.province.plan_unit` by a stub and the executor by
``None`` (the units run here, one after the other), except in the one test that needs a
real plan (the two-county scenario of ``tests/test_province.py``, work-limited).
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wastenet import province
from wastenet.cli import main
from wastenet.commands import plan_province as cmd
from wastenet.errors import ValidationError
from wastenet.province import CountyDay, CountyOutcome, make_units, plan_province
from wastenet.routing.exports import FILE_NAMES
from wastenet.scenario.schema import Scenario

FAKU, KANGPING = "210124", "210123"
DATE = "2026-12-01"
SCENARIO: dict[str, Any] = {
    "name": "faku-kangping-stub",
    "data": {"counties": [FAKU, KANGPING], "villages_total": 2000, "seed": 11},
}
FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [123.2, 42.4]},
           "properties": {"id": "S1", "name": "站1", "capacity_t_per_day": 10.0}}
HEADER = "village_id,village_name,county,facility_id,t_per_day"

Stub = Callable[[CountyDay], CountyOutcome]


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def make_siting(base: Path, counties: tuple[str, ...] = (KANGPING, FAKU)) -> Path:
    """A hand-made siting folder: station S1 and one village per ``counties`` cell."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "summary.json").write_text("{}", encoding="utf-8")
    (base / "facilities.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [FEATURE]}), encoding="utf-8")
    rows = [f"21000000{k:04d},村{k},{_csv_cell(c)},S1,0.8" for k, c in enumerate(counties)]
    (base / "assignments.csv").write_text("\n".join([HEADER, *rows]) + "\n",
                                          encoding="utf-8-sig")
    return base


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    """The two-county scenario as a JSON file."""
    p = tmp_path / "sc.json"
    p.write_text(json.dumps(SCENARIO), encoding="utf-8")
    return p


def ok_outcome(unit: CountyDay, **kw: Any) -> CountyOutcome:
    """A planned county-day as a worker would send it back (exports name the day)."""
    values: dict[str, Any] = {
        "county": unit.county, "date": unit.date, "status": "ok",
        "plan": {"status": "ROUTING_SUCCESS", "date": unit.date},
        "exports": {k: f"{unit.county} {unit.date}\n" for k in FILE_NAMES},
        "stops": 2, "vehicles": 1, "distance_m": 1000.0, "duration_s": 3600.0,
        "tonnes": 1.5, "tonne_km": 2.0, "cost_yuan": 100.0, "check_ok": True,
        "solver_status": "ROUTING_SUCCESS", "stopped_by": "search_end"}
    values.update(kw)
    return CountyOutcome(**{k: v for k, v in values.items()
                            if k in CountyOutcome.__dataclass_fields__})


@pytest.fixture()
def stub(monkeypatch: pytest.MonkeyPatch) -> dict[str, Stub]:
    """Replace the worker (``plan_unit``) by stubs, by county (default: a plan), and the
    executor by ``None``; returns the dict of stubs to fill in."""
    stubs: dict[str, Stub] = {}

    def fake(unit: CountyDay) -> CountyOutcome:
        return stubs.get(unit.county, ok_outcome)(unit)

    @contextlib.contextmanager
    def no_pool(_scheduler: str, _workers: int | None, _n: int) -> Iterator[None]:
        yield None

    monkeypatch.setattr(province, "plan_unit", fake)
    monkeypatch.setattr(cmd, "open_executor", no_pool)
    return stubs


@pytest.fixture()
def no_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any county is planned (the worker raises)."""
    def fail(unit: CountyDay) -> CountyOutcome:
        raise AssertionError(f"county {unit.county} planned although the input is bad")

    monkeypatch.setattr(province, "plan_unit", fail)


def run_cli(scenario: Path, siting: Path, out: Path, *extra: str) -> int:
    return main(["plan-province", str(scenario), "--siting", str(siting), "--date", DATE,
                 "--out", str(out), "--seed", "0", "--solution-limit", "20", *extra])


def read_rows(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "province.csv").read_bytes().decode("utf-8-sig")
    return {r["county"]: r for r in csv.DictReader(text.splitlines())}


# ---------------------------------------------------------------------------------------
# 1. county codes from the siting output; the formula guard
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["absolute", "relative", "formula"])
def test_siting_county_cell_that_is_no_adcode_is_refused_up_front(
        kind: str, scenario: Path, tmp_path: Path, stub: dict[str, Stub],
        capsys: pytest.CaptureFixture[str]) -> None:
    """A ``county`` cell of assignments.csv that is a path (absolute or ``../``) or a
    formula is refused before anything is planned, with an error naming
    ``assignments.csv:county`` and the value: the exports of a folder outside --out
    are never deleted, and no output is written."""
    victim = tmp_path / "victim"
    victim.mkdir()
    for name in ("plan.json", "routes.csv"):
        (victim / name).write_text("precious", encoding="utf-8")
    out = tmp_path / "out"
    value = {"absolute": str(victim), "relative": "../victim",
             "formula": '=HYPERLINK("http://x","y")'}[kind]
    planned: list[str] = []

    def failed(unit: CountyDay) -> CountyOutcome:
        planned.append(unit.county)
        return CountyOutcome(county=unit.county, date=unit.date, status="failed",
                             message="unknown county")

    stub[value] = failed
    site = make_siting(tmp_path / "site", (value, FAKU))
    rc = run_cli(scenario, site, out)
    err = capsys.readouterr().err
    assert rc == 2 and "assignments.csv:county=" in err and repr(value) in err
    assert "Traceback" not in err and planned == []
    assert sorted(p.name for p in victim.iterdir()) == ["plan.json", "routes.csv"]
    assert not out.exists()


def test_assigned_counties_names_the_row_and_unit_refuses_a_path() -> None:
    """assigned_counties refuses a county cell that is no Liaoning adcode (naming the
    source, row and value), and a work unit refuses a county that is not six digits."""
    siting = {"assignments": [{"village_id": "V1", "county": FAKU, "facility_id": "S1"},
                              {"village_id": "V2", "county": "../x", "facility_id": "S1"}]}
    with pytest.raises(ValidationError) as exc:
        province.assigned_counties(siting, source="site/assignments.csv")
    assert exc.value.field == "site/assignments.csv:county" and exc.value.value == "../x"
    assert exc.value.row == 2
    sc = Scenario.model_validate(SCENARIO)
    with pytest.raises(ValidationError) as exc:
        CountyDay(scenario=sc, siting={}, county="/tmp/x", date=DATE)
    assert exc.value.field == "county" and exc.value.value == "/tmp/x"


def test_siting_county_the_scenario_has_no_villages_in_is_refused_up_front(
        scenario: Path, tmp_path: Path, no_plan: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --counties, the counties are those of the siting output: one the
    scenario has no villages in (a siting of another scenario) is refused before
    anything is planned, naming ``assignments.csv:county`` and the adcode (exit 2, no
    output); it used to fail at run time, after the other counties were planned."""
    site = make_siting(tmp_path / "site", (KANGPING, "211224", FAKU))
    out = tmp_path / "out"
    rc = run_cli(scenario, site, out)
    err = capsys.readouterr().err
    assert rc == 2 and f"{site / 'assignments.csv'}:county='211224'" in err
    assert "has no villages in this county" in err and "Traceback" not in err
    assert not out.exists()


def test_province_csv_text_cells_are_formula_guarded() -> None:
    """Text cells of province.csv (county, name, message...) that start like a formula
    get the guard's apostrophe; numbers are written as they are."""
    o = CountyOutcome(county='=HYPERLINK("http://x","y")', date=DATE, status="failed",
                      county_name="@SUM(1)", message="-2+3 went wrong")
    text = cmd.province_csv(province.province_summary([o]))
    row = next(csv.DictReader(text.splitlines()))
    assert row["county"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert row["county_name"] == "'@SUM(1)" and row["message"] == "'-2+3 went wrong"


# ---------------------------------------------------------------------------------------
# 2. a run that dies
# ---------------------------------------------------------------------------------------

def test_run_that_dies_leaves_no_province_summary(
        scenario: Path, tmp_path: Path, stub: dict[str, Stub]) -> None:
    """When a run dies after planning a county, the province.csv/.json of the earlier
    run are gone (they would pass for this run); a run that ends writes them whole and
    leaves no temporary file."""
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"
    assert run_cli(scenario, site, out) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [FAKU, KANGPING, "province.csv", "province.json"])

    def dies(_unit: CountyDay) -> CountyOutcome:
        raise RuntimeError("worker killed")

    stub[FAKU] = dies
    with pytest.raises(RuntimeError):
        run_cli(scenario, site, out)
    assert not (out / "province.csv").exists() and not (out / "province.json").exists()


# ---------------------------------------------------------------------------------------
# 3. plans the checker rejects
# ---------------------------------------------------------------------------------------

def test_rejected_plan_is_not_written_nor_counted_as_planned(
        scenario: Path, tmp_path: Path, stub: dict[str, Stub],
        capsys: pytest.CaptureFixture[str]) -> None:
    """A plan the route-plan checker rejects gets status "rejected" with its first
    violations as the message, blank KPIs, no part in the totals, a count in the
    printed summary and province.json, exit code 1; its exports are not written, and an
    earlier run's exports of that county are removed."""
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"
    (out / FAKU).mkdir(parents=True)
    (out / FAKU / "plan.json").write_text("an earlier day", encoding="utf-8")
    violations = tuple(f"route {k}: load over capacity" for k in range(5))
    stub[FAKU] = lambda u: ok_outcome(u, check_ok=False, violations=violations)
    assert run_cli(scenario, site, out) == 1
    assert not any((out / FAKU / name).exists() for name in FILE_NAMES.values())
    rows = read_rows(out)
    bad = rows[FAKU]
    assert bad["status"] == "rejected" and bad["check_ok"] == "false"
    assert "route 0: load over capacity; route 1" in bad["message"]
    assert "route 3" not in bad["message"] and "and 2 more" in bad["message"]
    assert bad["vehicles"] == "" and bad["distance_km"] == ""
    assert rows["total"]["vehicles"] == rows[KANGPING]["vehicles"] == "1"
    assert "rejected 1" in rows["total"]["status"] and "ok 1" in rows["total"]["status"]
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["totals"]["counties_ok"] == 1 and doc["totals"]["counties_rejected"] == 1
    assert doc["rejected"][0]["violations"] == list(violations)
    assert "1 of 2 counties planned (0 idle, 0 failed, 1 rejected)" in \
        capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# 4. and 6. the scheduler
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", ["foo", "Local", "tls://127.0.0.1:8799",
                                     "tcp://127.0.0.1", "tcp://127.0.0.1:99999"])
def test_malformed_scheduler_is_refused_before_connecting(
        address: str, scenario: Path, tmp_path: Path, no_plan: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A --scheduler that is neither 'local' nor tcp://HOST:PORT is refused at once
    (exit 2, naming scheduler and the value), without connecting, hanging or leaving
    an output folder."""
    site = make_siting(tmp_path / "site")
    t0 = time.perf_counter()
    rc = run_cli(scenario, site, tmp_path / "out", "--scheduler", address)
    err = capsys.readouterr().err
    assert rc == 2 and f"scheduler={address!r}" in err
    assert "must be 'local' or a Dask scheduler address tcp://HOST:PORT" in err
    assert "Traceback" not in err and time.perf_counter() - t0 < 10
    assert not (tmp_path / "out").exists()


def test_client_that_fails_to_connect_is_closed_promptly(
        scenario: Path, tmp_path: Path, no_plan: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A Dask client that raises a TypeError (as for a TLS address without settings)
    while connecting is an error naming scheduler, and the half-built client is
    closed with a short timeout (not left to hang in its finaliser)."""
    distributed = pytest.importorskip("distributed")
    made: list[Any] = []

    class BrokenClient:
        def __init__(self, address: str, **_kw: Any) -> None:
            self.status = "connecting"
            self.closed_with: float | None = None
            made.append(self)
            raise TypeError("TLS expects a `ssl_context` argument")

        def close(self, timeout: float | None = None) -> None:
            self.closed_with = timeout
            self.status = "closed"

    monkeypatch.setattr(distributed, "Client", BrokenClient)
    site = make_siting(tmp_path / "site")
    rc = run_cli(scenario, site, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:8799")
    err = capsys.readouterr().err
    assert rc == 2 and "scheduler='tcp://127.0.0.1:8799'" in err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert len(made) == 1 and made[0].status == "closed"
    assert made[0].closed_with is not None and made[0].closed_with <= 2


@pytest.mark.timeout(40)
def test_scheduler_without_workers_is_an_error_after_a_bounded_wait(
        scenario: Path, tmp_path: Path, no_plan: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A reachable Dask scheduler with no worker is waited for DASK_WORKER_WAIT_S, then
    refused (exit 2, naming scheduler), instead of waiting forever."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(cmd, "DASK_WORKER_WAIT_S", 1.0, raising=False)
    site = make_siting(tmp_path / "site")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        t0 = time.perf_counter()
        rc = run_cli(scenario, site, tmp_path / "out", "--scheduler", address)
        waited = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2 and f"scheduler={address!r}" in err
    assert "no Dask worker joined the scheduler within 1 s" in err
    assert waited < 20 and "Traceback" not in err


# ---------------------------------------------------------------------------------------
# 5. output paths
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["county_file", "province_folder", "export_folder"])
def test_unwritable_output_paths_are_refused_before_planning(
        where: str, scenario: Path, tmp_path: Path, stub: dict[str, Stub],
        capsys: pytest.CaptureFixture[str]) -> None:
    """OUT/<adcode> that is a file, OUT/province.csv that is a folder, or an export name
    in a county folder that is a folder: one error naming out and the path before any
    county is planned (it used to be a traceback after the work)."""
    planned: list[str] = []

    def record(unit: CountyDay) -> CountyOutcome:
        planned.append(unit.county)
        return ok_outcome(unit)

    stub[FAKU] = stub[KANGPING] = record
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"
    out.mkdir()
    if where == "county_file":
        bad = out / FAKU
        bad.write_text("x", encoding="utf-8")
    elif where == "province_folder":
        bad = out / "province.csv"
        bad.mkdir()
    else:
        bad = out / FAKU / "plan.json"
        bad.mkdir(parents=True)
    try:
        rc = run_cli(scenario, site, out)
    except OSError as exc:  # what it used to be
        pytest.fail(f"{type(exc).__name__} after planning {planned}: {exc}")
    err = capsys.readouterr().err
    assert rc == 2 and f"out={str(bad)!r}" in err and "Traceback" not in err
    assert planned == []


def test_county_that_cannot_be_written_fails_alone(
        scenario: Path, tmp_path: Path, stub: dict[str, Stub],
        capsys: pytest.CaptureFixture[str]) -> None:
    """When a county's folder becomes unwritable during the run, that county fails
    (named, with the reason) and the others are written, with province.csv and exit
    code 1."""
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"

    def blocked(unit: CountyDay) -> CountyOutcome:
        (out / unit.county).write_text("in the way", encoding="utf-8")
        return ok_outcome(unit)

    stub[FAKU] = blocked
    assert run_cli(scenario, site, out) == 1
    assert "Traceback" not in capsys.readouterr().err
    rows = read_rows(out)
    assert rows[FAKU]["status"] == "failed" and "cannot write" in rows[FAKU]["message"]
    assert rows[KANGPING]["status"] == "ok"
    assert (out / KANGPING / "plan.json").read_text(encoding="utf-8") == \
        f"{KANGPING} {DATE}\n"


# ---------------------------------------------------------------------------------------
# 7. what stopped the search
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "elapsed", "meta", "expected"), [
    ("ROUTING_PARTIAL_SUCCESS", 0.09, {"time_limit_s": 0.05, "solution_limit": 5000},
     "time_limit"),
    ("ROUTING_PARTIAL_SUCCESS", 0.14, {"time_limit_s": 30.0, "solution_limit": 20},
     "solution_limit"),
    ("ROUTING_SUCCESS", 0.9, {"time_limit_s": 30.0, "solution_limit": 20}, "search_end"),
    ("ROUTING_PARTIAL_SUCCESS", 2.0, {"time_limit_s": 30.0, "solution_limit": None},
     "time_limit"),
    ("DECOMPOSED:ROUTING_PARTIAL_SUCCESS", 15.0,
     {"time_limit_s": 30.0, "solution_limit": 20, "parts": 2}, "time_limit"),
    ("DECOMPOSED:ROUTING_PARTIAL_SUCCESS", 2.0,
     {"time_limit_s": 30.0, "solution_limit": 20, "parts": 2}, "solution_limit"),
    ("EMPTY", 0.0, {"time_limit_s": 30.0, "solution_limit": 20}, ""),
])
def test_stopped_by_reads_the_plan(status: str, elapsed: float, meta: dict[str, Any],
                                   expected: str) -> None:
    """stopped_by: the clock decides between the limits (a search that used its time
    budget, or a decomposed part's share of it, was stopped by the time limit)."""
    assert province.stopped_by({"status": status, "elapsed_s": elapsed,
                                "meta": meta}) == expected


def test_time_limited_county_is_recorded_and_warned_about(
        scenario: Path, tmp_path: Path, stub: dict[str, Stub],
        caplog: pytest.LogCaptureFixture) -> None:
    """Each province row says what stopped the search; a county the time limit stopped
    although --solution-limit was set is named in a warning (its plan may differ
    between runs)."""
    site = make_siting(tmp_path / "site")
    out = tmp_path / "out"
    stub[FAKU] = lambda u: ok_outcome(u, stopped_by="time_limit",
                                      solver_status="ROUTING_PARTIAL_SUCCESS")
    assert run_cli(scenario, site, out) == 0
    rows = read_rows(out)
    assert rows[FAKU]["stopped_by"] == "time_limit"
    assert rows[FAKU]["solver_status"] == "ROUTING_PARTIAL_SUCCESS"
    assert rows[KANGPING]["stopped_by"] == "search_end"
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert [r["stopped_by"] for r in doc["counties"]] == ["search_end", "time_limit"]
    assert doc["totals"]["stopped_by_time_limit"] == 1
    warned = [r.getMessage() for r in caplog.records
              if r.name == "wastenet.province" and r.levelname == "WARNING"]
    assert any("1 of 2 counties stopped on the time limit" in m and FAKU in m
               and "--solution-limit 20" in m for m in warned)


def test_real_plan_cut_short_by_the_clock_says_time_limit() -> None:
    """A real county-day with a solution limit the time limit cuts short (0.05 s for
    5,000 solutions) is recorded as stopped by the time limit, with the solver's
    status; the same day under a small solution limit is not."""
    from wastenet.pipeline import run_siting

    spec = {**SCENARIO, "candidates": {"transfer": {"extra_per_county": 4}},
            "policy": {"sharing": "none"}, "fleet": {"narrow_lane_fraction": 0.0},
            "solver": {"time_limit_s": 30, "routing_time_limit_s": 30,
                       "method": "decomposition"}}
    sc = Scenario.model_validate(spec)
    siting = run_siting(sc, time_limit_s=None, seed=3, max_iterations=5)
    cut, full = (plan_province(make_units(sc, siting, [KANGPING], DATE, seed=0,
                                          time_limit_s=tl, solution_limit=sl))[0]
                 for tl, sl in ((0.05, 5000), (30.0, 20)))
    assert cut.status == "ok" and cut.stopped_by == "time_limit"
    assert cut.solver_status == (cut.plan or {}).get("status") != ""
    assert full.status == "ok" and full.stopped_by in ("solution_limit", "search_end")
    assert cut.row()["stopped_by"] == "time_limit"
