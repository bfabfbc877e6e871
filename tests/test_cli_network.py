"""Tests of ``wastenet network``."""

from __future__ import annotations

import json
from pathlib import Path

from wastenet.cli import main

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_network_json_faku(capsys) -> None:
    """--json prints the required keys for Faku."""
    assert main(["network", str(SCEN / "faku.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("counties", "villages", "population", "waste_t_per_day",
                "transfer_candidates", "incinerator_candidates", "synthetic"):
        assert key in out
    assert out["counties"] == 1 and out["synthetic"] is True


def test_network_json_province(capsys) -> None:
    """The province scenario reports 71 counties and 11,500 +- 1 % villages."""
    assert main(["network", str(SCEN / "liaoning-2025.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counties"] == 71
    assert abs(out["villages"] - 11_500) <= 115
    assert out["transfer_candidates"] >= 1880 and out["incinerator_candidates"] >= 126


def test_network_geojson(tmp_path) -> None:
    """--geojson writes villages and candidates as points."""
    out = tmp_path / "n.geojson"
    assert main(["network", str(SCEN / "faku.toml"), "--geojson", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    layers = {f["properties"]["layer"] for f in doc["features"]}
    assert layers == {"village", "transfer_candidate", "incinerator_candidate"}


def test_missing_file_is_clean_error(capsys) -> None:
    """A missing scenario exits 2 with a message naming it."""
    assert main(["network", "nope.toml"]) == 2
    assert "nope.toml" in capsys.readouterr().err
