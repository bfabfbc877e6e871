"""``wastenet compare``: malformed summary.json files are clean errors naming the folder,
the field and the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wastenet.cli import main

GOOD = {"scenario": "a", "sharing": "none", "total_cost_yuan_per_year": 100.0,
        "gap": 0.0, "cost_breakdown_yuan_per_year": {"haul": 10.0},
        "kpis": {"tonne_km_per_day": 5.0, "cost_by_county": {}}}


def _folder(root: Path, name: str, content: bytes) -> Path:
    d = root / name
    d.mkdir()
    (d / "summary.json").write_bytes(content)
    return d


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"[1,2]", ["holds an array"]),
        (b'{"scenario":"x"}', ["no total_cost_yuan_per_year"]),
        (b'{"total_cost_yuan_per_year": null}', ["total_cost_yuan_per_year=None", "null"]),
        (b'{"total_cost_yuan_per_year": "12"}', ["total_cost_yuan_per_year='12'", "string"]),
        (b'{"total_cost_yuan_per_year": NaN}', ["total_cost_yuan_per_year=nan"]),
        (b'{"total_cost_yuan_per_year": 1, "gap": true}', ["gap=True"]),
        (b'{"total_cost_yuan_per_year": 1, "kpis": [1]}', ["kpis=", "an array"]),
        (b'{"total_cost_yuan_per_year": 1, "cost_breakdown_yuan_per_year": {"haul": null}}',
         ["cost_breakdown_yuan_per_year.haul=None"]),
        ('{"scenario": "法库"}'.encode("gbk"), ["not UTF-8"]),
    ],
)
def test_compare_refuses_malformed_summaries(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             content: bytes, needles: list[str]) -> None:
    """Each malformed summary.json is exit code 2 with a message naming the folder and
    the offending field and value (no TypeError, KeyError or UnicodeDecodeError)."""
    good = _folder(tmp_path, "good", json.dumps(GOOD).encode())
    bad = _folder(tmp_path, "bad", content)
    assert main(["compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    for needle in needles:
        assert needle in err


def test_compare_accepts_a_valid_pair(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Two valid summaries compare: B saves 10 yuan/yr over A."""
    a = _folder(tmp_path, "a", json.dumps(GOOD).encode())
    b = _folder(tmp_path, "b", json.dumps({**GOOD, "total_cost_yuan_per_year": 90}).encode())
    assert main(["compare", str(a), str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["saving_yuan_per_year"] == 10.0


def _with_counties(cost: float, by_county: dict[str, tuple[float, float]],
                   villages: int = 3) -> bytes:
    """A summary whose county table gives ``(t_per_day, cost)`` per county code."""
    table = {code: {"name": f"C{code}", "t_per_day": t, "cost_yuan_per_year": c,
                    "cost_per_tonne_yuan": c / (t * 365) if t else None}
             for code, (t, c) in by_county.items()}
    return json.dumps({**GOOD, "total_cost_yuan_per_year": cost,
                       "kpis": {"villages": villages, "cost_by_county": table,
                                "cost_by_prefecture": {}}}).encode()


def test_compare_reports_each_countys_change(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Sharing moves cost between counties: the county table gives A, B and B - A for
    every county served in either run (0 where one run does not serve it), largest
    change first in the text output."""
    a = _folder(tmp_path, "a", _with_counties(100.0, {"1": (1.0, 60.0), "2": (1.0, 40.0),
                                                      "3": (0.0, 0.0)}))
    b = _folder(tmp_path, "b", _with_counties(90.0, {"1": (1.0, 35.0), "2": (1.0, 55.0)}))
    assert main(["compare", str(a), str(b), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["same_village_count"] is True
    assert set(res["by_county"]) == {"1", "2"}
    assert res["by_county"]["1"]["diff"] == -25.0 and res["by_county"]["2"]["diff"] == 15.0
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert out.index("1 C1") < out.index("2 C2")
    assert "-25" in out and "+15" in out and "warning" not in out


def test_compare_warns_when_the_runs_plan_different_areas(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A one-county run against a two-county run is flagged: its 'saving' compares
    different problems."""
    a = _folder(tmp_path, "a", _with_counties(100.0, {"1": (1.0, 100.0)}, villages=3))
    b = _folder(tmp_path, "b", _with_counties(190.0, {"1": (1.0, 90.0), "2": (1.0, 100.0)},
                                              villages=6))
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().err
    assert "warning: A has 3 villages and B 6" in out


def test_compare_refuses_a_malformed_county_table(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A county row whose cost is not a number is an error naming the row and value."""
    good = _folder(tmp_path, "good", _with_counties(100.0, {"1": (1.0, 100.0)}))
    doc = json.loads(_with_counties(100.0, {"1": (1.0, 100.0)}))
    doc["kpis"]["cost_by_county"]["1"]["cost_yuan_per_year"] = "lots"
    bad = _folder(tmp_path, "bad", json.dumps(doc).encode())
    assert main(["compare", str(good), str(bad)]) == 2
    assert "kpis.cost_by_county.1.cost_yuan_per_year='lots'" in capsys.readouterr().err


def test_county_table_aligns_chinese_names(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Chinese county names take two terminal columns per character: the county rows'
    number columns line up (the same display width before the first number) however
    long the name, and a name too long for the column is cut on a character."""
    import unicodedata

    names = {"210124": "法库县", "210181": "新民市", "211481": "兴城市", "1": "X",
             "2": "喀喇沁左翼蒙古族自治县喀喇沁左翼"}
    table = {code: {"name": nm, "t_per_day": 1.0, "cost_yuan_per_year": 10.0 * (i + 1),
                    "cost_per_tonne_yuan": 1.0} for i, (code, nm) in enumerate(names.items())}
    summary = {**GOOD, "kpis": {"villages": 3, "cost_by_county": table,
                                "cost_by_prefecture": {}}}
    a = _folder(tmp_path, "a", json.dumps(summary).encode())
    b = _folder(tmp_path, "b", json.dumps({**summary, "total_cost_yuan_per_year": 90.0}
                                          ).encode())
    assert main(["compare", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith("county ")))
    rows = lines[start + 1:start + 1 + len(names)]

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)

    assert len(rows) == len(names)
    # right-aligned fixed number columns: equal widths mean the names' column is 24
    # columns wide in every row, the too-long name included
    assert len({width(row) for row in rows}) == 1, rows


def test_compare_warns_across_summary_schema_versions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A version-1 summary (penalty inside the county costs) against a current one is
    flagged, in the JSON and in the text; two summaries of one version are not."""
    from wastenet.pipeline import SUMMARY_SCHEMA_VERSION

    now = {**GOOD, "schema_version": SUMMARY_SCHEMA_VERSION}
    a = _folder(tmp_path, "a", json.dumps({**GOOD, "schema_version": 1}).encode())
    b = _folder(tmp_path, "b", json.dumps(now).encode())
    c = _folder(tmp_path, "c", json.dumps(now).encode())
    assert main(["compare", str(a), str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["same_schema_version"] is False
    assert main(["compare", str(a), str(b)]) == 0
    assert "different schema versions" in capsys.readouterr().err
    assert main(["compare", str(b), str(c)]) == 0
    assert "schema versions" not in capsys.readouterr().err
