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
