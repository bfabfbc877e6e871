"""``wastenet compare`` on ``wastenet site`` folders: it warns when the two runs solve
different problems or when the solvers' bounds do not settle the saving, reports the
certified interval of the saving, says "costs more" rather than "saves -", refuses
non-finite numbers, and stops quietly on a closed pipe. Also what ``wastenet site``
writes for it: unambiguous seeds, named prefectures, and the siting folder's names read
back without control characters.

Two tiny user-data runs (8 villages in two counties, about a second each) are solved
once for the module: without sharing (A) and with sharing between adjacent counties (B,
solver seed 7)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wastenet.cli import main

VILLAGES = [
    ("210124106012", "柏家沟12村", 123.37592, 42.591951, 0.519, "210124"),
    ("210124106004", "柏家沟4村", 123.345118, 42.570725, 0.5715, "210124"),
    ("210124106006", "柏家沟6村", 123.303484, 42.532623, 0.2145, "210124"),
    ("210124112004", "包家屯4村", 123.312373, 42.519079, 0.5665, "210124"),
    ("210123102002", "张强2村", 123.171231, 42.548042, 0.999, "210123"),
    ("210123102010", "张强10村", 123.236963, 42.566375, 0.5385, "210123"),
    ("210123102004", "张强4村", 123.214511, 42.581161, 0.724, "210123"),
    ("210123208009", "沙金台蒙古族9村", 123.267923, 42.603076, 0.607, "210123"),
]


def tiny_scenario(sharing: str) -> dict[str, Any]:
    """Eight villages of Faku (210124) and Kangping (210123), three transfer sites and
    two incinerator sites besides the county seats."""
    return {
        "schema_version": 1, "name": "tiny-two-counties",
        "data": {"source": "user", "villages": [
            {"id": i, "name": n, "lon": lon, "lat": lat, "tonnes_per_day": t, "county": c}
            for i, n, lon, lat, t, c in VILLAGES]},
        "candidates": {
            "transfer": {"township_seats": False, "extra_per_county": 0, "sites": [
                {"id": "S1", "name": "站1", "lon": 123.2985, "lat": 42.6102, "county": "210123"},
                {"id": "S2", "name": "站2", "lon": 123.3794, "lat": 42.5658, "county": "210124"},
                {"id": "S3", "name": "站3", "lon": 123.2218, "lat": 42.5148,
                 "county": "210124"}]},
            "incinerator": {"county_seats": True, "township_seats": False, "sites": [
                {"id": "K1", "name": "厂K1", "lon": 123.2, "lat": 42.58, "county": "210123"},
                {"id": "K2", "name": "厂K2", "lon": 123.33, "lat": 42.55,
                 "county": "210124"}]}},
        "policy": {"sharing": sharing, "service_radius_km": 20.0, "direct_radius_km": 10.0},
        "solver": {"time_limit_s": 30, "seed": 0},
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The folders of the two tiny runs: ``none`` (A) and ``adjacent`` (B, --seed 7)."""
    root = tmp_path_factory.mktemp("site14")
    out = {}
    for sharing, extra in (("none", []), ("adjacent", ["--seed", "7"])):
        path = root / f"{sharing}.json"
        path.write_text(json.dumps(tiny_scenario(sharing), ensure_ascii=False),
                        encoding="utf-8")
        out[sharing] = root / f"out_{sharing}"
        assert main(["site", str(path), "--out", str(out[sharing]), "--no-progress",
                     *extra]) == 0
    return out


def _summary(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return doc


def _folder(root: Path, name: str, summary: dict[str, Any] | str) -> Path:
    """A folder holding ``summary`` as summary.json (a string is written as it is)."""
    d = root / name
    d.mkdir()
    text = summary if isinstance(summary, str) else json.dumps(summary, ensure_ascii=False)
    (d / "summary.json").write_text(text, encoding="utf-8")
    return d


def _compare(capsys: pytest.CaptureFixture[str], a: Path, b: Path,
             *extra: str) -> tuple[int, str, str]:
    code = main(["compare", str(a), str(b), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# -- D2: the same problem? ---------------------------------------------------------------

def test_a_sharing_comparison_of_one_problem_has_no_warning(
        runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The intended use, one scenario solved without and with sharing (both optimal):
    no warning on stderr or in the JSON, every same-problem check true, and the
    certified interval of the saving is the saving itself."""
    code, out, err = _compare(capsys, runs["none"], runs["adjacent"], "--json")
    assert code == 0 and err == ""
    res = json.loads(out)
    assert res["warnings"] == []
    assert all(res[k] is True for k in ("same_scenario", "same_data", "same_waste",
                                        "same_village_count", "same_village_set"))
    saving = res["saving_yuan_per_year"]
    assert saving > 0
    lo, hi = res["saving_interval_yuan_per_year"]
    assert lo == pytest.approx(saving, abs=0.02) and hi == pytest.approx(saving, abs=0.02)
    code, out, err = _compare(capsys, runs["none"], runs["adjacent"])
    assert code == 0 and err == ""
    assert out.splitlines()[1] == f"B saves {saving:,.0f} yuan/yr over A " \
        f"({100 * res['saving_fraction']:.2f} %)"
    assert "certified by the solvers' bounds" in out.splitlines()[2]


@pytest.mark.parametrize(("change", "needle"), [
    ({"scenario": "other-area"}, "A is scenario 'tiny-two-counties' and B is 'other-area'"),
    ({"data_seed": 2025, "synthetic": True}, "B's from data seed 2025"),
    ({"waste_t_per_day": 4.024}, "t/day of waste and B for 4.024 t/day"),
    ({"village_set_sha256": "0" * 64}, "plan different villages (village_set_sha256"),
])
def test_compare_warns_when_the_runs_solve_different_problems(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        change: dict[str, Any], needle: str) -> None:
    """Runs of the same village count that differ in scenario name, data seed, total
    waste or village set are flagged on stderr and in the JSON ``warnings``."""
    base = _summary(runs["none"])
    other = _folder(tmp_path, "b", {**_summary(runs["adjacent"]), **change})
    a = _folder(tmp_path, "a", base)
    code, out, err = _compare(capsys, a, other, "--json")
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert any(needle in w for w in warnings), warnings
    assert needle in err and err.startswith("warning: ")
    code, out, err = _compare(capsys, a, other)
    assert code == 0 and needle in err and needle not in out


def test_compare_says_what_it_could_not_compare(runs: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A summary without the village fingerprint (an older Wastenet's) is compared by
    village count and total waste only, and the warning says so."""
    old = {k: v for k, v in _summary(runs["none"]).items() if k != "village_set_sha256"}
    a = _folder(tmp_path, "a", old)
    code, out, _ = _compare(capsys, a, runs["adjacent"], "--json")
    res = json.loads(out)
    assert code == 0 and res["same_village_set"] is None
    assert any("village_set_sha256" in w and "village count and total waste" in w
               for w in res["warnings"])


# -- D3: gaps and the certified interval -------------------------------------------------

AUDIT_A = {"scenario": "faku", "sharing": "none", "total_cost_yuan_per_year": 14204022.11,
           "lower_bound_yuan_per_year": 13971282.64, "gap": 0.016385462368920595,
           "kpis": {"villages": 210}, "data_seed": 2025, "waste_t_per_day": 100.435}
AUDIT_B = {**AUDIT_A, "total_cost_yuan_per_year": 26397638.23,
           "lower_bound_yuan_per_year": 3896214.61, "gap": 0.852402908974471}


def test_compare_reports_the_certified_interval_and_loose_gaps(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The audit's pair (gaps 1.6 % and 85 %): the saving's interval is
    [LB_A - UB_B, UB_A - LB_B]; B's gap over 5 % and the interval holding 0 are warned
    about; the headline says B costs more, never "saves -"."""
    a, b = _folder(tmp_path, "a", AUDIT_A), _folder(tmp_path, "b", AUDIT_B)
    code, out, err = _compare(capsys, a, b, "--json")
    res = json.loads(out)
    assert res["saving_interval_yuan_per_year"] == pytest.approx(
        [13971282.64 - 26397638.23, 14204022.11 - 3896214.61])
    assert any("B's optimality gap is 85.24 %" in w for w in res["warnings"])
    assert any("contains 0" in w for w in res["warnings"])
    assert not any("A's optimality gap" in w for w in res["warnings"])
    code, out, err = _compare(capsys, a, b)
    assert code == 0
    assert "B costs 12,193,616 yuan/yr more than A (85.85 %)" in out
    assert "the extra cost lies in [-10,307,808, 12,426,356] yuan/yr" in out
    assert "saves -" not in out
    assert "B's optimality gap is 85.24 %" in err and "contains 0" in err


def test_b_costing_more_is_said_so(runs: dict[str, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Sharing (A) against no sharing (B): "B costs ... more", with the certified range
    of the extra cost; no negative saving in the text."""
    res = json.loads(_compare(capsys, runs["adjacent"], runs["none"], "--json")[1])
    extra = -res["saving_yuan_per_year"]
    assert extra > 0
    code, out, err = _compare(capsys, runs["adjacent"], runs["none"])
    assert code == 0
    assert out.splitlines()[1].startswith(f"B costs {extra:,.0f} yuan/yr more than A")
    assert "saves" not in out and err == ""


def test_a_missing_lower_bound_is_warned_about(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Without a lower bound the saving has no certified interval, and the warning
    says so."""
    a = _folder(tmp_path, "a", {k: v for k, v in AUDIT_A.items()
                                if k != "lower_bound_yuan_per_year"})
    b = _folder(tmp_path, "b", {**AUDIT_A, "total_cost_yuan_per_year": 14000000.0,
                                "lower_bound_yuan_per_year": 13990000.0})
    res = json.loads(_compare(capsys, a, b, "--json")[1])
    assert res["saving_interval_yuan_per_year"] is None
    assert any("not certified" in w for w in res["warnings"])


# -- D6: no NaN or Infinity ------------------------------------------------------------

@pytest.mark.parametrize(("path", "value", "field", "shown"), [
    (("kpis", "mean_collection_distance_m"), "Infinity", "kpis.mean_collection_distance_m",
     "inf"),
    (("kpis", "tonne_km_per_day"), "NaN", "kpis.tonne_km_per_day", "nan"),
    (("lower_bound_yuan_per_year",), "-Infinity", "lower_bound_yuan_per_year", "-inf"),
    (("waste_t_per_day",), "NaN", "waste_t_per_day", "nan"),
    (("scenario",), "NaN", "scenario", "nan"),
    (("kpis", "cost_by_county", "210124", "cost_per_tonne_yuan"), "NaN",
     "kpis.cost_by_county.210124.cost_per_tonne_yuan", "nan"),
    (("kpis", "cost_by_prefecture", "210100", "name"), "5",
     "kpis.cost_by_prefecture.210100.name", "5"),
])
def test_compare_refuses_non_finite_numbers(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        path: tuple[str, ...], value: str, field: str, shown: str) -> None:
    """A non-finite number (or a non-text name) in any field compare reads is exit 2,
    naming the file, the field and the value; no JSON with NaN or Infinity is printed."""
    doc = _summary(runs["adjacent"])
    sub = doc
    for key in path[:-1]:
        sub = sub[key]
    sub[path[-1]] = "@@VALUE@@"
    text = json.dumps(doc, ensure_ascii=False).replace('"@@VALUE@@"', value)
    bad = _folder(tmp_path, "bad", text)
    code, out, err = _compare(capsys, runs["none"], bad, "--json")
    assert code == 2 and out == ""
    assert str(bad / "summary.json") in err and f"{field}={shown}" in err.replace("'", "")


# -- D9: a closed pipe, prefecture names ---------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_compare_stops_quietly_on_a_closed_pipe(runs: dict[str, Path],
                                                extra: list[str]) -> None:
    """``compare a b | head``: the reader goes away before the report is written; the
    command ends without a traceback (exit status 141, 128 + SIGPIPE)."""
    proc = subprocess.Popen([sys.executable, "-m", "wastenet.cli", "compare",
                             str(runs["none"]), str(runs["adjacent"]), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # nobody reads the report
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141


def test_prefecture_rows_are_named(runs: dict[str, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """summary.json names each prefecture as it names each county, and compare shows
    the name (both tiny counties are in Shenyang, 210100)."""
    row = _summary(runs["none"])["kpis"]["cost_by_prefecture"]["210100"]
    assert row["name"] == "沈阳市"
    res = json.loads(_compare(capsys, runs["none"], runs["adjacent"], "--json")[1])
    assert res["by_prefecture"]["210100"]["name"] == "沈阳市"
    assert "210100 沈阳市" in _compare(capsys, runs["none"], runs["adjacent"])[1]


# -- D8: which seed is which ---------------------------------------------------------

def test_seeds_are_named_alike_in_every_file(runs: dict[str, Path]) -> None:
    """The run with --seed 7 on user data: summary.json, facilities.geojson and
    assignments.csv all say solver_seed 7 and data_seed none (the GeoJSON's old "seed",
    which held the data seed, is gone; summary.json keeps "seed", the solver seed, for
    its readers)."""
    folder = runs["adjacent"]
    s = _summary(folder)
    assert (s["solver_seed"], s["seed"], s["data_seed"]) == (7, 7, None)
    props = json.loads((folder / "facilities.geojson").read_text(encoding="utf-8"))[
        "properties"]
    assert props == {"synthetic": False, "data_seed": None, "solver_seed": 7}
    with (folder / "assignments.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {(r["data_seed"], r["solver_seed"]) for r in rows} == {("", "7")}


def test_geojson_provenance_keeps_the_two_seeds_apart() -> None:
    """Synthetic data: the data seed and the solver seed are two keys, never one
    ``seed``."""
    from wastenet.pipeline import facilities_geojson

    fc = facilities_geojson([], synthetic=True, data_seed=2025, solver_seed=3)
    assert fc["properties"] == {"synthetic": True, "data_seed": 2025, "solver_seed": 3}


# -- names read back from a siting folder ------------------------------------------------

def _siting(fac_id: str = "K1", fac_name: str = "厂", village_id: str = "V1",
            village_name: str = "村1") -> dict[str, Any]:
    return {"summary": {"scenario": "t", "synthetic": False, "data_seed": None,
                        "seed": 0, "solver_seed": 0},
            "facilities": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [123.3, 42.5]},
                 "properties": {"id": fac_id, "name": fac_name, "kind": "incinerator"}}]},
            "assignments": [{"village_id": village_id, "village_name": village_name,
                             "county": "210124", "facility_id": fac_id,
                             "facility_name": fac_name, "facility_kind": "incinerator",
                             "distance_m": 10.0, "t_per_day": 0.5, "fraction": 1.0}]}


@pytest.mark.parametrize(("kw", "field", "value"), [
    ({"fac_name": "厂\x1bK"}, "facilities.geojson:features[0].properties.name", "厂\x1bK"),
    ({"fac_id": "K\x851", "fac_name": "厂"}, "facilities.geojson:features[0].properties.id",
     "K\x851"),
    ({"village_name": "村\n1"}, "assignments.csv:village_name", "村\n1"),
    ({"village_id": "V\t1"}, "assignments.csv:village_id", "V\t1"),
])
def test_names_read_back_hold_no_control_characters(tmp_path: Path, kw: dict[str, str],
                                                    field: str, value: str) -> None:
    """A siting folder whose ids or names hold control characters (which no scenario
    accepts) is refused when read back for routing, naming the file, the field and the
    value."""
    from wastenet.commands.plan_routes import load_siting_dir
    from wastenet.commands.site import write_outputs
    from wastenet.errors import ValidationError

    write_outputs(tmp_path, _siting(**kw))
    with pytest.raises(ValidationError, match="control characters") as err:
        load_siting_dir(str(tmp_path))
    assert err.value.field.endswith(field) and str(tmp_path) in err.value.field
    assert err.value.value == value


def test_check_siting_refuses_control_characters_in_a_result() -> None:
    """The same check on a siting result given as a dict (the service's), naming the
    part and the row."""
    from wastenet.errors import ValidationError
    from wastenet.pipeline import check_siting

    check_siting(_siting())
    with pytest.raises(ValidationError, match="control characters") as err:
        check_siting(_siting(village_name="a\x00b"))
    assert err.value.field == "siting.assignments.village_name" and err.value.row == 1
