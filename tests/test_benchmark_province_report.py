"""The province benchmark's report logic (``benchmarks/siting_province.py``): which run is
the median, when a run meets issue 3's targets, and the engine/peer ratios. The benchmark
itself is not run here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sp(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    """The benchmark script as a module."""
    return load_benchmark("siting_province")


def _run(run: int, gap: float, **kw: Any) -> dict[str, Any]:
    return {"run": run, "gap": gap, "wall_s": 583.0, "peak_rss_mib": 700.0,
            "checker_ok": True, **kw}


@pytest.mark.parametrize(("gaps", "want"), [
    ([0.03], 1),
    ([0.025, 0.023, 0.026], 1),          # median 2.5 %: run 1
    ([0.02, 0.04, 0.01, 0.03], 1),       # even count: the lower of the middle two (2 %)
])
def test_median_run_is_the_median_gap(sp: ModuleType, gaps: list[float], want: int) -> None:
    """The report's main table shows the run with the median gap; for an even count the
    lower of the two middle ones."""
    runs = [_run(i + 1, g) for i, g in enumerate(gaps)]
    assert sp.median_run(runs)["run"] == want


@pytest.mark.parametrize(("change", "ok"), [
    ({}, True),
    ({"gap": 0.01}, True),
    ({"gap": 0.0101}, False),
    ({"wall_s": 630.0}, True),
    ({"wall_s": 631.0}, False),
    ({"peak_rss_mib": 4096.0}, True),
    ({"peak_rss_mib": 4097.0}, False),
    ({"checker_ok": False}, False),
])
def test_meets_checks_every_target(sp: ModuleType, change: dict[str, Any], ok: bool) -> None:
    """A run meets the targets only with gap <= 1 %, wall <= 630 s (600 s and 5 % for the
    process), peak RSS <= 4 GiB and the checker's approval."""
    assert sp.meets({**_run(1, 0.009), **change}) is ok


def test_peer_table_gives_ratios_or_dashes(sp: ModuleType) -> None:
    """With a peer solution and bound the ratios are engine/peer; a peer without either
    (or one that crashed) gets '-' for both, never a division by zero or 'nan'."""
    results = {name: {"total_cost_yuan_per_year": 800.0, "lower_bound_yuan_per_year": 780.0}
               for name in sp.SCENARIOS}
    peers = {sp.SCENARIOS[0]: {"status": "feasible", "objective": 1000.0, "bound": 650.0,
                               "wall_s": 600.0, "peak_rss_mib": 5000.0, "checker_ok": True},
             sp.SCENARIOS[1]: {"status": "crashed (exit code -9)", "objective": None,
                               "bound": 0.0, "wall_s": 12.0, "peak_rss_mib": None,
                               "checker_ok": None}}
    rows = [line for line in sp.peer_lines(results, peers)
            if line.startswith(("| liaoning-2025 ", "| liaoning-2025-no-sharing "))]
    assert len(rows) == 2
    first = [c.strip() for c in rows[0].split("|")]
    assert first[-3:-1] == ["0.8000", "1.2000"] and "checker ok: True" in first[4]
    second = [c.strip() for c in rows[1].split("|")]
    assert second[-3:-1] == ["-", "-"] and second[8] == "-" and "nan" not in rows[1]


def test_report_only_takes_the_recorded_settings(sp: ModuleType, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--report-only describes the runs it re-reads: their time limit, seed and threads
    replace this invocation's flags, and each difference is noted."""
    import argparse
    import json

    out = tmp_path / "prov"
    Path(f"{out}.{sp.SCENARIOS[0]}.json").write_text(json.dumps(
        {"settings": {"time_limit_s": 600.0, "seed": 0, "threads": 2}}), encoding="utf-8")
    args = argparse.Namespace(out=str(out), time_limit=60.0, seed=7, threads=1)
    sp.recorded_settings(args)
    assert (args.time_limit, args.seed, args.threads) == (600.0, 0, 2)
    assert "the recorded runs used seed=0, not 7" in capsys.readouterr().err


def test_only_needs_the_same_settings_and_names_both_engines(sp: ModuleType) -> None:
    """--only re-runs one scenario and reads the other back: that is refused when the
    recorded runs used another time limit, seed or thread count, and the header names
    each scenario's engine when they differ (one engine when they agree)."""
    import argparse

    rec = {"settings": {"time_limit_s": 600.0, "seed": 0, "threads": 2}}
    same = argparse.Namespace(time_limit=600.0, seed=0, threads=2)
    assert sp.settings_mismatch("x", rec, same) is None
    other = argparse.Namespace(time_limit=600.0, seed=1, threads=2)
    msg = sp.settings_mismatch("liaoning-2025-no-sharing", rec, other)
    assert msg is not None and "liaoning-2025-no-sharing" in msg and "'seed': 0" in msg
    assert sp.settings_mismatch("x", {}, same) is not None
    a, b = sp.SCENARIOS
    assert sp.engines_phrase({a: "abc1234", b: "abc1234"}) == "engine abc1234"
    assert sp.engines_phrase({a: "new5678", b: "abc1234"}) == (
        f"engines new5678 (`{a}`), abc1234 (`{b}`)")
