"""Audit 14 of ``wastenet plan-province`` (:mod:`wastenet.commands.plan_province`,
:mod:`wastenet.province`, :mod:`wastenet.routing.frequency`):

1. a row's ``stopped_by`` is what the solver recorded in the plan (``meta.stopped_by``),
   not a guess from the plan's wall time (the guess is kept for plans without it);
2. each county is submitted to the executor as soon as its routing data is compiled
   (:func:`wastenet.province.compile_units`), so that the workers plan the first
   counties while the parent compiles the others; the outcomes are unchanged and the
   network is still built once;
3. the weekly planner's log lines ("week planned", the capacity repairs) name their
   county.

A tiny user-data scenario (three villages in Faku 210124, two in Kangping 210123, one
station S1, daily collection) keeps every real plan under a second; the routing runs
under a solution limit, so its plans are reproducible.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import asdict
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest

import wastenet.pipeline
from wastenet.cli import main
from wastenet.commands import plan_province as cmd
from wastenet.commands.site import write_outputs
from wastenet.province import (
    CountyOutcome,
    make_units,
    plan_province,
    province_summary,
    stopped_by,
)
from wastenet.scenario.schema import Scenario

P = ParamSpec("P")
T = TypeVar("T")

FAKU, KANGPING = "210124", "210123"
DATE = "2026-12-01"
ROUTE: dict[str, Any] = {"seed": 0, "solution_limit": 5, "time_limit_s": 30.0}
VILLAGES = [("fa", FAKU, 123.20, 42.40), ("fb", FAKU, 123.31, 42.44),
            ("fc", FAKU, 123.26, 42.31), ("ka", KANGPING, 123.30, 42.75),
            ("kb", KANGPING, 123.41, 42.79)]
STATION = {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}
SPEC: dict[str, Any] = {
    "name": "audit14-two-counties",
    "data": {"source": "user", "counties": [FAKU, KANGPING],
             "villages": [{"id": k, "lon": lon, "lat": lat, "population": 300,
                           "county": c} for k, c, lon, lat in VILLAGES]},
    "candidates": {"transfer": {"extra_per_county": 0, "sites": [STATION]}},
    "fleet": {"narrow_lane_fraction": 0.0,
              "vehicles": [{"name": "truck", "count": 2, "capacity_t": 5.0}]},
}


def siting(capacity_t: float = 100.0) -> dict[str, Any]:
    """A siting output: every village assigned to S1 of ``capacity_t`` t a day."""
    feature = {"type": "Feature",
               "geometry": {"type": "Point", "coordinates": [STATION["lon"], STATION["lat"]]},
               "properties": {"id": "S1", "name": "站1", "capacity_t_per_day": capacity_t}}
    return {"summary": {"synthetic": False},
            "facilities": {"type": "FeatureCollection", "features": [feature]},
            "assignments": [{"village_id": k, "village_name": k, "county": c,
                             "facility_id": "S1", "t_per_day": 0.15}
                            for k, c, _lon, _lat in VILLAGES]}


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """The scenario as a JSON file and its siting output folder."""
    scenario = tmp_path / "sc.json"
    scenario.write_text(json.dumps(SPEC), encoding="utf-8")
    write_outputs(tmp_path / "site", siting())
    return scenario, tmp_path / "site"


def run_cli(inputs: tuple[Path, Path], out: Path) -> int:
    scenario, site = inputs
    return main(["plan-province", str(scenario), "--siting", str(site), "--date", DATE,
                 "--out", str(out), "--seed", "0", "--solution-limit", "5",
                 "--time-limit", "30"])


def read_rows(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "province.csv").read_bytes().decode("utf-8-sig")
    return {r["county"]: r for r in csv.DictReader(text.splitlines())}


def stable(o: CountyOutcome) -> dict[str, Any]:
    """An outcome without its wall times (the unit's, the plan's and plan.json's)."""
    d = asdict(o)
    d.pop("elapsed_s")
    d["plan"] = {k: v for k, v in (d["plan"] or {}).items() if k != "elapsed_s"}
    d["exports"] = {k: "\n".join(line for line in v.splitlines() if '"elapsed_s"' not in line)
                    for k, v in d["exports"].items()}
    return d


class InlineExecutor(Executor):
    """An executor that runs each call as it is submitted, here, and notes the
    submission (the county of the unit) in ``events``."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.events = events

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.events.append(("submit", str(getattr(args[0], "county", "?"))))
        fut: Future[T] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to the caller, as a pool would
            fut.set_exception(exc)
        return fut



# ---------------------------------------------------------------------------------------
# 1. stopped_by: the solver's record, not the clock
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("plan", "recorded", "guessed"), [
    # the reproduced case: Faku 210124 (210 stops) decomposed into 3 parts, each part's
    # search ended on its solution limit of 20, 0.17 s in all of a 0.4 s time limit
    ({"status": "DECOMPOSED:ROUTING_PARTIAL_SUCCESS", "elapsed_s": 0.17,
      "meta": {"time_limit_s": 0.4, "solution_limit": 20, "parts": 3}},
     "solution_limit", "time_limit"),
    # a search the clock ended after 0.92 of its budget (the guess needs 0.95)
    ({"status": "ROUTING_PARTIAL_SUCCESS", "elapsed_s": 27.6,
      "meta": {"time_limit_s": 30.0, "solution_limit": 20}},
     "time_limit", "solution_limit"),
])
def test_stopped_by_is_the_recorded_value(plan: dict[str, Any], recorded: str,
                                          guessed: str) -> None:
    """A plan whose meta records what stopped its search gets that value, also where
    the clock guesses the other limit; a plan without a record (or with an empty or
    unknown one) is still judged by the clock."""
    with_record = {**plan, "meta": {**plan["meta"], "stopped_by": recorded}}
    assert stopped_by(with_record) == recorded
    assert stopped_by(plan) == guessed
    for odd in ("", "because"):
        assert stopped_by({**plan, "meta": {**plan["meta"], "stopped_by": odd}}) == guessed
    assert stopped_by({**with_record, "status": "EMPTY"}) == ""


def test_cli_rows_say_what_the_solver_recorded(
        inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """province.csv / .json carry the recorded ``stopped_by`` of each real plan: Faku's
    search ended on its solution limit although the plan's wall time reached the time
    limit (no warning: its plan is reproducible); Kangping's was ended by the clock
    although its wall time stayed under the guess's threshold (it is named in the
    warning about plans that may differ between runs)."""
    real = wastenet.pipeline.run_route_plan
    record = {FAKU: ("solution_limit", 1.0), KANGPING: ("time_limit", 0.5)}

    def recording(scenario: Scenario, siting: Any, county: str, date: str,
                  **kw: Any) -> dict[str, Any]:
        res = real(scenario, siting, county, date, **kw)
        plan = res["plan"]
        what, share = record[county]
        plan["meta"]["stopped_by"] = what
        plan["elapsed_s"] = share * plan["meta"]["time_limit_s"]
        return res

    @contextlib.contextmanager
    def here(_scheduler: str, _workers: int | None, _n: int) -> Iterator[None]:
        yield None

    monkeypatch.setattr(wastenet.pipeline, "run_route_plan", recording)
    monkeypatch.setattr(cmd, "open_executor", here)
    out = tmp_path / "out"
    assert run_cli(inputs, out) == 0
    rows = read_rows(out)
    assert rows[FAKU]["status"] == rows[KANGPING]["status"] == "ok"
    assert rows[FAKU]["stopped_by"] == "solution_limit"
    assert rows[KANGPING]["stopped_by"] == "time_limit"
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["totals"]["stopped_by_time_limit"] == 1
    warned = [r.getMessage() for r in caplog.records
              if r.name == "wastenet.province" and r.levelno == logging.WARNING]
    assert any("1 of 2 counties stopped on the time limit" in m and KANGPING in m
               and FAKU not in m for m in warned), warned


# ---------------------------------------------------------------------------------------
# 2. compilation overlaps planning
# ---------------------------------------------------------------------------------------

def test_cli_submits_each_county_as_soon_as_it_is_compiled(
        inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        builds: list[str]) -> None:
    """plan-province submits each county as soon as its data is compiled (it used to
    compile every county first, leaving the workers idle), the county with more
    villages (Faku: 3, Kangping: 2) first; it builds the network once, and writes the
    same rows, in the counties' order, as planning the units compiled all at once."""
    events: list[tuple[str, str]] = []
    real = wastenet.pipeline.route_plan_data

    def compiling(scenario: Scenario, siting: Any, county: str, date: str,
                  **kw: Any) -> Any:
        events.append(("compile", county))
        return real(scenario, siting, county, date, **kw)

    @contextlib.contextmanager
    def inline(_scheduler: str, _workers: int | None, _n: int) -> Iterator[Executor]:
        yield InlineExecutor(events)

    monkeypatch.setattr(wastenet.pipeline, "route_plan_data", compiling)
    monkeypatch.setattr(cmd, "open_executor", inline)
    out = tmp_path / "out"
    assert run_cli(inputs, out) == 0
    assert events == [("compile", FAKU), ("submit", FAKU),
                      ("compile", KANGPING), ("submit", KANGPING)]
    assert builds == [SPEC["name"]]
    sc = Scenario.model_validate(SPEC)
    # the rows in the siting's counties' order (sorted): Kangping 210123 first
    reference = plan_province(make_units(sc, siting(), [KANGPING, FAKU], DATE, **ROUTE))
    assert all(o.status == "ok" and o.check_ok for o in reference)
    expected = cmd.province_csv(province_summary(reference))
    assert (out / "province.csv").read_bytes().decode("utf-8-sig") == expected


def test_streamed_units_give_the_same_outcomes_on_a_process_pool(
        builds: list[str]) -> None:
    """Units streamed from compile_units into a process pool (as on a Dask cluster:
    pickled, no global state) give exactly the outcomes of the units compiled all at
    once and planned here, in the units' order; the network is built once per
    compilation, and never by a worker."""
    from wastenet.province import compile_units, local_executor

    sc = Scenario.model_validate(SPEC)
    reference = plan_province(make_units(sc, siting(), [FAKU, KANGPING], DATE, **ROUTE))
    assert len(builds) == 1
    seen: list[str] = []
    with local_executor(1) as pool:
        out = plan_province(compile_units(sc, siting(), [FAKU, KANGPING], DATE, **ROUTE),
                            executor=pool, progress=lambda o: seen.append(o.county))
    assert len(builds) == 2
    assert sorted(seen) == sorted([FAKU, KANGPING])
    assert [o.county for o in out] == [FAKU, KANGPING]
    assert all(o.status == "ok" and o.check_ok for o in out)
    assert [stable(o) for o in out] == [stable(o) for o in reference]


# ---------------------------------------------------------------------------------------
# 3. the weekly planner's log lines name their county
# ---------------------------------------------------------------------------------------

def test_week_planned_lines_name_their_county(caplog: pytest.LogCaptureFixture) -> None:
    """Compiling two counties logs one "week planned" line per county, each naming its
    county, and the capacity repair of a station too small for its villages names the
    county it was planned for (S1 takes 0.01 t a day)."""
    sc = Scenario.model_validate(SPEC)
    caplog.set_level(logging.INFO, logger="wastenet.routing.frequency")
    make_units(sc, siting(capacity_t=0.01), [FAKU, KANGPING], DATE, **ROUTE)
    lines = [r.getMessage() for r in caplog.records
             if r.name == "wastenet.routing.frequency"]
    planned = [m for m in lines if "week planned" in m]
    assert len(planned) == 2, lines
    assert planned[0].startswith(f"county {FAKU}: week planned: ")
    assert planned[1].startswith(f"county {KANGPING}: week planned: ")
    repairs = [m for m in lines if "week planned" not in m]
    assert len(repairs) == 2, lines
    assert repairs[0].startswith(f"county {FAKU}: facility group 0: ")
    assert repairs[1].startswith(f"county {KANGPING}: facility group 0: ")
