"""The classic siting benchmark's report logic (``benchmarks/siting_classic.py``): a
render-only run never writes an empty report, and the header names every engine version
its records were measured with. No instance is solved here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sc(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    """The benchmark script as a module."""
    return load_benchmark("siting_classic")


def test_render_only_without_records_writes_nothing(sc: ModuleType, tmp_path: Path) -> None:
    """With no <out>.json and no --merge-from, render-only exits 2 and leaves no file
    (it used to write a report of zero records over the committed one)."""
    out = tmp_path / "classic"
    assert sc.main(["--render-only", "--out", str(out)]) == 2
    assert not list(tmp_path.iterdir())


def test_render_only_keeps_records_meta_and_lists_engines(sc: ModuleType,
                                                          tmp_path: Path) -> None:
    """Re-rendering <out>.json keeps its records and recorded date, and the header lists
    each engine with its number of instances."""
    out = tmp_path / "classic"
    recs = [{"name": name, "group": "orlib", "optimum": 1.0, "capacity": None,
             "time_limit_s": 60.0, "cost": 1.0, "lower_bound": 1.0, "gap_to_opt": 0.0,
             "certified_gap": 0.0, "at_opt": True, "proven": True, "lb_valid": True,
             "time_s": 1.0, "wall_s": 1.5, "status": "optimal", "solver": "lagrangian",
             "extra": {"engine": eng, "load_avg_1min": 1.0}}
            for name, eng in (("cap41", "aaa"), ("cap42", "aaa"), ("cap43", "bbb"))]
    meta = {"date": "2020-01-01 00:00 UTC", "machine": "m", "note": "n", "engine": "x"}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "records": recs}),
                                        encoding="utf-8")
    assert sc.main(["--render-only", "--out", str(out)]) == 0
    doc = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [r["name"] for r in doc["records"]] == ["cap41", "cap42", "cap43"]
    assert doc["meta"]["date"] == "2020-01-01 00:00 UTC"
    assert doc["meta"]["engine"] == "aaa (2 instances); bbb (1 instances)"
    assert "aaa (2 instances); bbb (1 instances)" in out.with_suffix(".md").read_text("utf-8")
