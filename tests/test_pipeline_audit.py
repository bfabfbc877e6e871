"""Audit fixes of the siting work units on a small two-county user scenario (Faku and
Kangping, with a forced station in a third county and an existing station that receives
nothing): the uncovered penalty is its own cost line, compare's county table adds up to
the total change, only existing facilities that receive waste count as used, and a
``wastenet site`` folder whose ids start like formulas reads back with the same ids."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from wastenet.commands.plan_routes import load_siting_dir
from wastenet.commands.site import write_outputs
from wastenet.pipeline import compare, run_siting
from wastenet.scenario.schema import Scenario

#: the forced station F_F lies in this county (Diaobingshan) and receives nothing
FORCED_COUNTY = "211281"


def _scenario(sharing: str) -> Scenario:
    villages = [("A1", "法库一村", 123.25, 42.55, 3.0), ("A2", "法库二村", 123.30, 42.55, 2.0),
                ("B1", "康平一村", 123.25, 42.60, 4.0), ("B2", "康平二村", 123.20, 42.575, 1.0),
                ("A3", "远村", 122.95, 42.40, 0.5)]
    return Scenario.model_validate({
        "name": f"audit-{sharing}",
        "data": {"source": "user", "villages": [
            {"id": i, "name": n, "lon": lo, "lat": la, "tonnes_per_day": t}
            for i, n, lo, la, t in villages]},
        "candidates": {
            "transfer": {"township_seats": False, "extra_per_county": 0,
                         "sites": [{"id": "T_F", "name": "法库站", "lon": 123.27, "lat": 42.56},
                                   {"id": "T_K", "name": "康平站", "lon": 123.22, "lat": 42.59},
                                   {"id": "F_F", "name": "强制站", "lon": 123.55, "lat": 42.45}],
                         "existing": [{"id": "E_K", "name": "既有站", "lon": 123.0,
                                       "lat": 42.65, "remaining_capacity_t_per_day": 5}],
                         "force": ["F_F"]},
            "incinerator": {"county_seats": False, "township_seats": False,
                            "sites": [{"id": "I_F", "name": "法库焚烧", "lon": 123.28,
                                       "lat": 42.53}]}},
        "policy": {"sharing": sharing, "uncovered_penalty_yuan_per_t": 1000.0},
        "solver": {"time_limit_s": 20},
    })


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Any]]:
    """run_siting of the scenario without sharing and with adjacent sharing."""
    return {s: run_siting(_scenario(s), seed=0) for s in ("none", "adjacent")}


def test_summary_penalty_is_its_own_line(runs: dict[str, dict[str, Any]]) -> None:
    """Without sharing Kangping's villages stay uncovered: Kangping receives nothing and
    is allocated no cost, the penalty is uncovered_penalty_yuan_per_year (= the cost
    breakdown's line), the cost per tonne leaves it out, and county costs + unallocated
    + penalty = total cost."""
    s = runs["none"]["summary"]
    k = s["kpis"]
    pen = s["cost_breakdown_yuan_per_year"]["uncovered_penalty"]
    assert pen > 0
    assert k["uncovered_penalty_yuan_per_year"] == pytest.approx(pen, abs=0.01)
    assert k["cost_by_county"]["210123"]["t_per_day"] == 0.0
    assert k["cost_by_county"]["210123"]["cost_yuan_per_year"] == pytest.approx(0.0)
    total = s["total_cost_yuan_per_year"]
    assert k["cost_per_tonne_yuan"] == pytest.approx(
        (total - pen) / (k["t_per_day_covered"] * 365), rel=1e-6)
    counties = sum(r["cost_yuan_per_year"] for r in k["cost_by_county"].values())
    assert counties + k["unallocated_cost_yuan_per_year"] + \
        k["uncovered_penalty_yuan_per_year"] == pytest.approx(total, abs=0.02)


def test_existing_station_without_inflow_is_not_used(runs: dict[str, dict[str, Any]]) -> None:
    """The existing station E_K receives 0 t/d in both runs: neither the summary nor the
    KPIs count it as an existing facility used."""
    for run in runs.values():
        rows = [f["properties"] for f in run["facilities"]["features"]]
        ek = next(p for p in rows if p["id"] == "E_K")
        assert ek["existing"] and ek["inflow_t_per_day"] == 0.0
        assert run["summary"]["existing_facilities_used"] == 0
        assert run["summary"]["kpis"]["existing_facilities_used"] == 0


def test_compare_county_diffs_add_up_to_the_total_change(
        runs: dict[str, dict[str, Any]]) -> None:
    """compare(none, adjacent): the county with only the forced station's fixed cost (no
    waste in either run) is listed, and the county diffs plus the diffs of the
    unallocated and uncovered-penalty lines equal the change of the total cost; the
    same for the prefectures."""
    a, b = runs["none"]["summary"], runs["adjacent"]["summary"]
    c = compare(a, b)
    assert FORCED_COUNTY in c["by_county"]
    assert c["by_county"][FORCED_COUNTY]["a"] > 0
    others = sum(c["metrics"][k]["diff"] for k in ("unallocated_cost_yuan_per_year",
                                                   "uncovered_penalty_yuan_per_year"))
    change = -c["saving_yuan_per_year"]
    for table in ("by_county", "by_prefecture"):
        assert sum(r["diff"] for r in c[table].values()) + others == pytest.approx(
            change, abs=0.02)


def test_compare_keeps_a_region_with_cost_and_no_waste() -> None:
    """A county that receives nothing in A but is allocated a cost (a forced facility's
    fixed cost), and is missing from B, is listed with its cost in A and 0 in B; a county
    with neither waste nor cost in both runs is not."""
    def summary(total: float, table: dict[str, tuple[float, float]]) -> dict[str, Any]:
        return {"total_cost_yuan_per_year": total, "kpis": {
            "villages": 2, "unallocated_cost_yuan_per_year": 0.0,
            "uncovered_penalty_yuan_per_year": 0.0,
            "cost_by_county": {code: {"name": code, "t_per_day": t, "cost_yuan_per_year": c}
                               for code, (t, c) in table.items()},
            "cost_by_prefecture": {}}}

    a = summary(130.0, {"1": (1.0, 100.0), "2": (0.0, 30.0), "3": (0.0, 0.0)})
    b = summary(90.0, {"1": (1.0, 90.0), "3": (0.0, 0.0)})
    c = compare(a, b)
    assert set(c["by_county"]) == {"1", "2"}
    assert c["by_county"]["2"]["a"] == 30.0 and c["by_county"]["2"]["diff"] == -30.0
    assert sum(r["diff"] for r in c["by_county"].values()) == -c["saving_yuan_per_year"]


def test_site_folder_with_formula_like_ids_reads_back(tmp_path: Path) -> None:
    """Ids starting with '-', '=', '@' or an apostrophe are guarded in assignments.csv
    (so a spreadsheet runs none of them) and load_siting_dir gives back the original
    ids, which match facilities.geojson."""
    sc = Scenario.model_validate({
        "name": "ids",
        "data": {"source": "user", "villages": [
            {"id": "-V1", "name": "=一村", "lon": 123.25, "lat": 42.55, "tonnes_per_day": 3.0},
            {"id": "'V2", "name": "'二村", "lon": 123.30, "lat": 42.55, "tonnes_per_day": 2.0},
            {"id": "@V3", "name": "三村", "lon": 123.28, "lat": 42.55,
             "tonnes_per_day": 1.0}]},
        "candidates": {
            "transfer": {"township_seats": False, "extra_per_county": 0,
                         "sites": [{"id": "-T1", "name": "+站", "lon": 123.27, "lat": 42.56}],
                         "force": ["-T1"]},
            "incinerator": {"county_seats": False, "township_seats": False,
                            "sites": [{"id": "=I1", "name": "焚烧", "lon": 123.35,
                                       "lat": 42.45}]}},
        "policy": {"sharing": "none", "direct_radius_km": 0.0},
        "solver": {"time_limit_s": 10},
    })
    result = run_siting(sc, seed=0)
    write_outputs(tmp_path, result)
    written = list(csv.DictReader(
        (tmp_path / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert {r["facility_id"] for r in written} == {"'-T1"}
    assert {r["village_id"] for r in written} == {"'-V1", "''V2", "'@V3"}
    doc = load_siting_dir(str(tmp_path))
    keys = ("village_id", "village_name", "county", "facility_id", "facility_name")
    assert [{k: r[k] for k in keys} for r in doc["assignments"]] == \
        [{k: str(r[k]) for k in keys} for r in result["assignments"]]
    assert {r["village_id"] for r in doc["assignments"]} == {"-V1", "'V2", "@V3"}
    ids = {f["properties"]["id"] for f in doc["facilities"]["features"]}
    assert {r["facility_id"] for r in doc["assignments"]} <= ids
