"""``wastenet site``: option checks and output checks before the solve, write errors,
and the CSV-injection guard of assignments.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from wastenet.cli import main
from wastenet.commands.site import assignments_csv, write_outputs
from wastenet.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]
FAKU = str(REPO / "scenarios" / "faku.json")


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any siting solve fail loudly: the checks under test must come first."""
    import wastenet.pipeline

    def boom(*_a: object, **_k: object) -> dict[str, Any]:
        raise AssertionError("the solve started before the options were checked")

    monkeypatch.setattr(wastenet.pipeline, "run_siting", boom)


@pytest.mark.parametrize(("option", "value"), [("--time-limit", "inf"),
                                               ("--time-limit", "1e30"),
                                               ("--time-limit", "0"),
                                               ("--seed", "-5"),
                                               ("--seed", "2147483648")])
def test_site_rejects_bad_limits_and_seeds(tmp_path: Path, no_solve: None,
                                           capsys: pytest.CaptureFixture[str], option: str,
                                           value: str) -> None:
    """--time-limit beyond a day or not finite, and a seed outside [0, 2**31 - 1], are
    usage errors (exit 2) naming the option and value, before any solve."""
    with pytest.raises(SystemExit) as exc:
        main(["site", FAKU, "--out", str(tmp_path / "o"), option, value, "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option.lstrip("-") in err and value in err


@pytest.mark.parametrize("sub", ["afile", "afile/sub"])
def test_site_refuses_an_unusable_out_before_solving(tmp_path: Path, no_solve: None,
                                                     capsys: pytest.CaptureFixture[str],
                                                     sub: str) -> None:
    """--out naming a file, or a folder under a file, is refused (exit 2, naming out)
    before the solve starts."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = str(tmp_path / sub)
    assert main(["site", FAKU, "--out", out, "--no-progress", "--time-limit", "5"]) == 2
    err = capsys.readouterr().err
    assert "out=" in err and out in err


def _result() -> dict[str, Any]:
    return {"summary": {"scenario": "t", "synthetic": True, "data_seed": 1, "seed": 0},
            "facilities": {"type": "FeatureCollection", "features": []},
            "assignments": [{"village_id": "=1+2", "village_name": "@SUM(A1)",
                             "county": "210124", "facility_id": "-F1",
                             "facility_name": "+cmd", "facility_kind": "transfer",
                             "distance_m": -1.5, "t_per_day": 0.5, "fraction": 1.0}]}


def test_write_error_names_out(tmp_path: Path) -> None:
    """An OSError while writing the outputs (here a folder in the way of summary.json)
    becomes a ValidationError naming out and the file."""
    (tmp_path / "summary.json").mkdir()
    with pytest.raises(ValidationError) as err:
        write_outputs(tmp_path, _result())
    assert err.value.field == "out" and "summary.json" in str(err.value)


def test_assignments_csv_guards_text_cells() -> None:
    """Ids and names that start like a formula get a leading apostrophe; numeric
    columns are left alone."""
    text = assignments_csv(_result()["assignments"], synthetic=True, data_seed=1,
                           solver_seed=0)
    row = next(csv.DictReader(text.splitlines()))
    assert row["village_id"] == "'=1+2" and row["village_name"] == "'@SUM(A1)"
    assert row["facility_id"] == "'-F1" and row["facility_name"] == "'+cmd"
    assert row["county"] == "210124" and row["distance_m"] == "-1.5"


def test_site_writes_into_a_checked_out_folder(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With a usable --out the (stubbed) result is written there; a nested folder is
    created before the solve."""
    import wastenet.pipeline

    out = tmp_path / "a" / "b"
    seen: list[bool] = []

    def fake(*_a: object, **_k: object) -> dict[str, Any]:
        seen.append(out.is_dir())
        r = _result()
        r["summary"].update(total_cost_yuan_per_year=1.0, gap=0.0,
                            transfer_stations_opened=0, incinerators_opened=0)
        return r

    monkeypatch.setattr(wastenet.pipeline, "run_siting", fake)
    assert main(["site", FAKU, "--out", str(out), "--no-progress", "--seed", "7"]) == 0
    assert seen == [True]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["scenario"] == "t"
