"""Province-wide route planning (:mod:`wastenet.province`, ``wastenet plan-province``).

A two-county scenario (Faku 210124 and its neighbour Kangping 210123, about 60
synthetic villages, ``sharing = "none"``; the data settings of ``test_pipeline``'s
small Faku scenario) is sited once under a work limit. Every routing run uses a
``solution_limit``, so plans are reproducible and can be compared across executors.
"""

from __future__ import annotations

import csv
import json
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from wastenet import province
from wastenet.cli import main
from wastenet.commands import plan_province as cmd
from wastenet.commands.site import write_outputs
from wastenet.errors import ValidationError
from wastenet.pipeline import run_route_plan, run_siting
from wastenet.province import (
    SUM_FIELDS,
    CountyDay,
    CountyOutcome,
    assigned_counties,
    county_siting,
    local_executor,
    make_units,
    plan_province,
    province_summary,
)
from wastenet.routing.exports import FILE_NAMES
from wastenet.scenario.schema import Scenario

FAKU, KANGPING = "210124", "210123"
DATE = "2026-12-01"
TWO: dict[str, Any] = {
    "name": "faku-kangping",
    "data": {"counties": [FAKU, KANGPING], "villages_total": 2000, "seed": 11},
    "candidates": {"transfer": {"extra_per_county": 4}},
    "policy": {"sharing": "none"},
    "fleet": {"narrow_lane_fraction": 0.0},
    "solver": {"time_limit_s": 30, "routing_time_limit_s": 30, "method": "decomposition"},
}
ROUTE: dict[str, Any] = {"seed": 0, "solution_limit": 20, "time_limit_s": 30.0}
#: Faku, an adcode that is no county, Kangping
UNIT_COUNTIES = [FAKU, "999999", KANGPING]


def _site(spec: dict[str, Any]) -> tuple[Scenario, dict[str, Any]]:
    sc = Scenario.model_validate(spec)
    return sc, run_siting(sc, time_limit_s=None, seed=3, max_iterations=5)


@pytest.fixture(scope="module")
def sited() -> tuple[Scenario, dict[str, Any]]:
    """The two-county scenario and its siting output (decomposition, work-limited)."""
    return _site(TWO)


@pytest.fixture(scope="module")
def units(sited) -> list[CountyDay]:
    """Faku, an unknown adcode and Kangping on DATE, with a solution limit."""
    sc, siting = sited
    return make_units(sc, siting, UNIT_COUNTIES, DATE, **ROUTE)


@pytest.fixture(scope="module")
def sequential(units) -> list[CountyOutcome]:
    """The units planned in this process, one after the other (the reference)."""
    return plan_province(units)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A one-worker, one-thread Dask LocalCluster in its own process, and a client."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def cli_inputs(sited, tmp_path_factory) -> tuple[Path, Path]:
    """The scenario as a JSON file and its siting output folder (as `wastenet site`)."""
    base = tmp_path_factory.mktemp("province-in")
    scenario = base / "two.json"
    scenario.write_text(json.dumps(TWO), encoding="utf-8")
    write_outputs(base / "site", sited[1])
    return scenario, base / "site"


@pytest.fixture(scope="module")
def cut_siting(sited, tmp_path_factory) -> Path:
    """The siting output folder with Kangping's assignment rows cut to the first one:
    Kangping fails when it is planned (its other villages have no facility), Faku does
    not."""
    siting = sited[1]
    rows = [a for a in siting["assignments"] if a["county"] != KANGPING]
    first = next(a for a in siting["assignments"] if a["county"] == KANGPING)
    out = tmp_path_factory.mktemp("province-cut") / "site"
    write_outputs(out, {**siting, "assignments": [*rows, first]})
    return out


def _stable(o: CountyOutcome) -> dict[str, Any]:
    """An outcome without its wall times (the plan's and the unit's ``elapsed_s``)."""
    d = asdict(o)
    d.pop("elapsed_s")
    if d["plan"] is not None:
        d["plan"] = {k: v for k, v in d["plan"].items() if k != "elapsed_s"}
    if "json" in d["exports"]:
        d["exports"]["json"] = {k: v for k, v in json.loads(d["exports"]["json"]).items()
                                if k != "elapsed_s"}
    return d


def _plan(plan: dict[str, Any] | None) -> dict[str, Any]:
    assert plan is not None
    return {k: v for k, v in plan.items() if k != "elapsed_s"}


def _cli(scenario: Path, siting: Path, out: Path, *extra: str) -> int:
    return main(["plan-province", str(scenario), "--siting", str(siting), "--date", DATE,
                 "--out", str(out), "--seed", "0", "--solution-limit", "20",
                 "--time-limit", "30", *extra])


# ---------------------------------------------------------------------------------------
# the library
# ---------------------------------------------------------------------------------------

def test_units_plan_both_counties_with_checked_kpis(sequential) -> None:
    """Both real counties are planned; the KPIs are those of the plan dict, the
    independent checker accepts each plan, and every plan-routes export is there."""
    assert [o.county for o in sequential] == UNIT_COUNTIES
    assert [o.status for o in sequential] == ["ok", "failed", "ok"]
    for o in (sequential[0], sequential[2]):
        plan = o.plan
        assert plan is not None and plan["date"] == DATE and o.date == DATE
        assert o.check_ok is True and o.violations == ()
        assert set(o.exports) == set(FILE_NAMES)
        assert o.vehicles == plan["vehicles"] == len(plan["routes"]) > 0
        visits = [v for r in plan["routes"] for v in r["visits"] if v["kind"] == "stop"]
        assert o.stops == len(visits) == plan["data"]["n_stops"]
        assert o.distance_m == plan["distance_m"] and o.cost_yuan == plan["cost_yuan"]
        assert o.duration_s == plan["duration_s"] and o.tonne_km == plan["tonne_km"]
        assert o.tonnes == pytest.approx(sum(r["load_total"][0] for r in plan["routes"]))
        assert o.tonnes > 0
    assert sequential[0].county_name == "法库县" and sequential[2].county_name == "康平县"


def test_failed_unit_names_the_county_and_the_others_succeed(sequential) -> None:
    """An unknown adcode gives status "failed" with a domain message naming it, no plan
    and blank KPI cells, while the units around it are planned."""
    bad = sequential[1]
    assert bad.status == "failed" and bad.error_type == "ValidationError"
    assert bad.message is not None and "999999" in bad.message
    assert "unknown county" in bad.message
    assert bad.plan is None and bad.exports == {} and bad.check_ok is None
    assert bad.row()["vehicles"] is None and bad.row()["distance_km"] is None
    assert sequential[0].status == sequential[2].status == "ok"


def test_summary_totals_are_the_sums_of_the_rows(sequential) -> None:
    """province_summary: one row per outcome in order, totals equal the sums of the
    rows' numeric columns (failed rows left out), counts by status, failures listed."""
    s = province_summary(sequential)
    assert [r["county"] for r in s["counties"]] == UNIT_COUNTIES
    ok_rows = [s["counties"][0], s["counties"][2]]
    for k in SUM_FIELDS:
        assert s["totals"][k] == pytest.approx(sum(r[k] for r in ok_rows), abs=1e-9), k
    assert s["totals"]["vehicles"] == sequential[0].vehicles + sequential[2].vehicles
    assert s["totals"]["counties"] == 3 and s["totals"]["counties_ok"] == 2
    assert s["totals"]["counties_failed"] == 1 and s["totals"]["counties_idle"] == 0
    assert s["totals"]["plans_rejected_by_checker"] == 0
    assert [f["county"] for f in s["failed"]] == ["999999"]
    assert s["dates"] == [DATE]


def test_checker_rejection_is_reported(monkeypatch, units) -> None:
    """A plan whose reported distance is off is still returned, but the independent
    checker's verdict says so (check_ok False, the violation named) and it is counted."""
    import wastenet.pipeline

    real = wastenet.pipeline.run_route_plan

    def tampered(*args: Any, **kw: Any) -> dict[str, Any]:
        res = real(*args, **kw)
        res["plan"]["distance_m"] += 1000.0
        return res

    monkeypatch.setattr(wastenet.pipeline, "run_route_plan", tampered)
    o = plan_province(units[2:])[0]
    assert o.status == "ok" and o.check_ok is False
    assert any("plan: reported distance_m" in v for v in o.violations)
    assert province_summary([o])["totals"]["plans_rejected_by_checker"] == 1


def test_results_follow_the_units_not_the_completion_order(monkeypatch, units) -> None:
    """With units finishing in reverse order on a thread pool, plan_province still
    returns them in the units' order, and reports progress in completion order."""
    done: list[str] = []
    lock = threading.Lock()

    def fake(unit: CountyDay) -> CountyOutcome:
        time.sleep(0.15 * (len(units) - units.index(unit)))  # the first finishes last
        with lock:
            done.append(unit.county)
        return CountyOutcome(county=unit.county, date=unit.date, status="idle")

    monkeypatch.setattr(province, "plan_unit", fake)
    seen: list[str] = []
    with ThreadPoolExecutor(max_workers=len(units)) as ex:
        out = plan_province(units, executor=ex, progress=lambda o: seen.append(o.county))
    assert done == UNIT_COUNTIES[::-1]  # the test really reversed the completion order
    assert seen == done
    assert [o.county for o in out] == UNIT_COUNTIES


def test_process_pool_gives_the_same_outcomes(units, sequential) -> None:
    """A 2-process pool gives exactly the sequential outcomes (plans, exports, KPIs and
    the failure), in the units' order."""
    seen: list[str] = []
    with local_executor(2) as pool:
        out = plan_province(units, executor=pool, progress=lambda o: seen.append(o.county))
    assert sorted(seen) == sorted(UNIT_COUNTIES)
    assert [o.county for o in out] == UNIT_COUNTIES
    assert [_stable(o) for o in out] == [_stable(o) for o in sequential]


def test_dask_executor_gives_the_same_outcomes(dask_client, units, sequential) -> None:
    """A Dask cluster's executor (Client.get_executor(), a plain concurrent.futures
    Executor) gives exactly the sequential outcomes, in the units' order."""
    out = plan_province(units, executor=dask_client.get_executor())
    assert [o.county for o in out] == UNIT_COUNTIES
    assert [_stable(o) for o in out] == [_stable(o) for o in sequential]


def test_county_siting_is_restricted_without_changing_the_plan(sited, sequential) -> None:
    """A unit carries only its county's assignment rows and the facilities they name,
    and the plan from that part equals the plan from the whole siting output."""
    sc, siting = sited
    assert assigned_counties(siting) == sorted([FAKU, KANGPING])
    part = county_siting(siting, KANGPING)
    rows = [a for a in siting["assignments"] if a["county"] == KANGPING]
    assert part["assignments"] == rows and 0 < len(rows) < len(siting["assignments"])
    ids = [f["properties"]["id"] for f in part["facilities"]["features"]]
    assert sorted(ids) == sorted({a["facility_id"] for a in rows})
    whole = run_route_plan(sc, siting, KANGPING, DATE, **ROUTE)
    assert _plan(whole["plan"]) == _plan(sequential[2].plan)


def test_idle_and_infeasible_county_days() -> None:
    """With weekly collection in a tiny scenario, a county with no village due is
    "idle" (not a failure, zero KPIs), and an infeasible county-day is "failed" with
    the solver's reasons under a message naming the county."""
    sc, siting = _site({**TWO, "name": "tiny", "data": {**TWO["data"], "villages_total": 150},
                        "fleet": {"narrow_lane_fraction": 0.0, "frequency_per_week": 1,
                                  "tourism_frequency_per_week": 1}})
    idle = plan_province(make_units(sc, siting, [FAKU, KANGPING], "2026-12-05", **ROUTE))
    assert [o.status for o in idle] == ["idle", "idle"]
    assert all(o.plan is None and o.row()["vehicles"] == 0 for o in idle)
    assert province_summary(idle)["totals"]["counties_idle"] == 2
    bad = plan_province(make_units(sc, siting, [FAKU], "2026-12-01", **ROUTE))[0]
    assert bad.status == "failed" and bad.error_type == "InfeasibleError"
    assert bad.message is not None and f"county {FAKU}" in bad.message


def test_county_day_rejects_bad_settings(sited) -> None:
    """A unit with a malformed date, an unknown crs or a zero solution limit is refused
    when it is made, with an error naming the field and value."""
    sc, siting = sited
    for kw, field in (({"date": "2026-13-01"}, "date"), ({"crs": "bd09"}, "crs"),
                      ({"solution_limit": 0}, "solution_limit"),
                      ({"time_limit_s": 0.0}, "time_limit_s")):
        args: dict[str, Any] = {"scenario": sc, "siting": siting, "county": FAKU,
                                "date": DATE, **kw}
        with pytest.raises(ValidationError) as exc:
            CountyDay(**args)
        assert exc.value.field == field and exc.value.value == kw[next(iter(kw))]


# ---------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------

def _read_province_csv(out: Path) -> list[dict[str, str]]:
    raw = (out / "province.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def test_cli_local_pool_writes_exports_and_province_files(cli_inputs, sequential,
                                                          tmp_path, capsys) -> None:
    """`plan-province --scheduler local --workers 2` (default counties: those of the
    siting output) writes every export per county, province.json and a province.csv
    whose total row is the sum of the county rows; the plans equal the library's."""
    scenario, siting = cli_inputs
    out = tmp_path / "out"
    assert _cli(scenario, siting, out, "--scheduler", "local", "--workers", "2") == 0
    for county in (FAKU, KANGPING):
        for name in FILE_NAMES.values():
            assert (out / county / name).stat().st_size > 0, (county, name)
    plan = json.loads((out / FAKU / "plan.json").read_text(encoding="utf-8"))
    assert _plan(plan) == _plan(sequential[0].plan)
    rows = _read_province_csv(out)
    assert [r["county"] for r in rows] == [KANGPING, FAKU, "total"]
    assert {r["status"] for r in rows[:-1]} == {"ok"}
    for k in SUM_FIELDS:
        assert float(rows[-1][k]) == pytest.approx(sum(float(r[k]) for r in rows[:-1]),
                                                   abs=1e-6), k
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["date"] == DATE and doc["totals"]["counties_ok"] == 2
    assert str(doc["totals"]["vehicles"]) == rows[-1]["vehicles"]
    assert "2 of 2 counties planned" in capsys.readouterr().out


def test_cli_failed_county_exits_1_after_writing_the_rest(cli_inputs, cut_siting, tmp_path,
                                                          caplog) -> None:
    """A county that fails when it is planned (here: most of its villages have no
    facility in the siting output) does not stop the others: they are still written,
    province.csv holds the failure, the log names it, and the exit code is 1."""
    scenario, _siting = cli_inputs
    out = tmp_path / "out"
    assert _cli(scenario, cut_siting, out, "--counties", f"{FAKU},{KANGPING}",
                "--workers", "2") == 1
    assert (out / FAKU / "plan.json").is_file() and not (out / KANGPING).exists()
    rows = {r["county"]: r for r in _read_province_csv(out)}
    bad = rows[KANGPING]
    assert bad["status"] == "failed" and f"county {KANGPING}" in bad["message"]
    assert "have no assigned facility" in bad["message"] and bad["vehicles"] == ""
    assert rows["total"]["vehicles"] == rows[FAKU]["vehicles"]
    logged = [r for r in caplog.records if r.name == "wastenet.province"]
    assert any(KANGPING in r.getMessage() and r.levelname == "ERROR" for r in logged)
    assert any("have no assigned facility" in r.getMessage() for r in logged)


def test_cli_refuses_counties_without_villages_up_front(cli_inputs, tmp_path, capsys
                                                        ) -> None:
    """Counties of Liaoning the scenario has no villages in are refused before anything
    is planned or written: exit code 2, one error naming every such adcode (they used to
    fail one by one at run time, with exit code 1 after the others were planned)."""
    scenario, siting = cli_inputs
    out = tmp_path / "out"
    assert _cli(scenario, siting, out, "--counties", f"{FAKU},211224,211282") == 2
    err = capsys.readouterr().err
    assert "wastenet: error: counties='211224,211282'" in err
    assert "has no villages in these 2 counties" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("user_file", [False, True])
def test_cli_failed_county_removes_an_earlier_runs_exports(cli_inputs, cut_siting, tmp_path,
                                                           caplog, user_file) -> None:
    """Exports an earlier run left for a county that fails now are removed (they would pass
    for this day's plan), with a warning naming them; a file that is not an export stays,
    and so does its folder; the folder goes when nothing else is in it."""
    scenario, _siting = cli_inputs
    out = tmp_path / "out"
    old = out / KANGPING
    old.mkdir(parents=True)
    for name in (FILE_NAMES["json"], FILE_NAMES["csv"]):
        (old / name).write_text("from an earlier day", encoding="utf-8")
    if user_file:
        (old / "notes.txt").write_text("mine", encoding="utf-8")
    assert _cli(scenario, cut_siting, out, "--counties", f"{FAKU},{KANGPING}") == 1
    assert (out / FAKU / "plan.json").is_file()
    if user_file:
        assert sorted(p.name for p in old.iterdir()) == ["notes.txt"]
    else:
        assert not old.exists()
    warned = [r.getMessage() for r in caplog.records
              if r.name == "wastenet.province" and r.levelname == "WARNING"]
    assert any(KANGPING in m and "plan.json" in m and "routes.csv" in m for m in warned)


@pytest.mark.parametrize(("extra", "named"), [
    (["--date", "2026-13-01"], "2026-13-01"),
    (["--counties", f"{FAKU},999999"], "999999"),
    (["--counties", "21O124"], "21O124"),
])
def test_cli_rejects_bad_date_and_unknown_county(cli_inputs, tmp_path, capsys,
                                                 extra: list[str], named: str) -> None:
    """A malformed date or an adcode that is no Liaoning county is a clear error naming
    the value, with exit code 2, before anything is planned or written."""
    scenario, siting = cli_inputs
    out = tmp_path / "out"
    assert _cli(scenario, siting, out, *extra) == 2
    err = capsys.readouterr().err
    assert "wastenet: error:" in err and named in err
    assert not out.exists()


def test_cli_rejects_zero_workers(cli_inputs, tmp_path, capsys) -> None:
    """``--workers`` must be a positive integer (argparse error, exit code 2)."""
    scenario, siting = cli_inputs
    with pytest.raises(SystemExit) as exc:
        _cli(scenario, siting, tmp_path, "--workers", "0")
    assert exc.value.code == 2 and "--workers" in capsys.readouterr().err


def test_cli_without_distributed_says_what_to_install(cli_inputs, tmp_path, capsys,
                                                      monkeypatch) -> None:
    """A Dask address without the 'distributed' package installed is a clear error
    telling what to install (exit code 2)."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    scenario, siting = cli_inputs
    assert _cli(scenario, siting, tmp_path / "out", "--scheduler",
                "tcp://127.0.0.1:8786") == 2
    err = capsys.readouterr().err
    assert "pip install 'wastenet[dask]'" in err and "tcp://127.0.0.1:8786" in err


def test_cli_unreachable_dask_scheduler(cli_inputs, tmp_path, capsys, monkeypatch) -> None:
    """A Dask scheduler that does not answer is a clear error naming the address."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(cmd, "DASK_CONNECT_TIMEOUT_S", 1.0)
    scenario, siting = cli_inputs
    address = "tcp://127.0.0.1:9"
    assert _cli(scenario, siting, tmp_path / "out", "--scheduler", address) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and address in err


def test_cli_on_a_dask_cluster(dask_client, cli_inputs, sequential, tmp_path) -> None:
    """`--scheduler ADDRESS` plans on the Dask cluster and writes the same plan."""
    scenario, siting = cli_inputs
    out = tmp_path / "out"
    address = dask_client.scheduler.address
    assert _cli(scenario, siting, out, "--scheduler", address, "--counties", FAKU) == 0
    plan = json.loads((out / FAKU / "plan.json").read_text(encoding="utf-8"))
    assert _plan(plan) == _plan(sequential[0].plan)
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["scheduler"] == address
