"""Audit 15 of ``wastenet plan-province``: an existing county output folder
``OUT/<adcode>`` is checked for writability by creating a file in it
(:func:`wastenet.commands.args.probe_writable`, as ``wastenet site`` does), not by
``os.access``, which answers yes for root even where the file system refuses; so an
unwritable folder is refused (exit 2, naming ``out`` and the folder) before any county
is planned, instead of failing the county after its plan.

The worker (:func:`wastenet.province.plan_unit`) is a stub that records the counties
planned, and the executor is ``None``: what is tested is the check before the planning.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wastenet import province
from wastenet.cli import main
from wastenet.commands import plan_province as cmd
from wastenet.commands.args import PROBE_PREFIX
from wastenet.commands.site import write_outputs
from wastenet.errors import ValidationError
from wastenet.province import CountyDay, CountyOutcome
from wastenet.routing.exports import FILE_NAMES

FAKU, KANGPING = "210124", "210123"
DATE = "2026-12-01"
VILLAGES = [("fa", FAKU, 123.20, 42.40), ("fb", FAKU, 123.31, 42.44),
            ("ka", KANGPING, 123.30, 42.75), ("kb", KANGPING, 123.41, 42.79)]
STATION = {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}
SPEC: dict[str, Any] = {
    "name": "fixes15-two-counties",
    "data": {"source": "user", "counties": [FAKU, KANGPING],
             "villages": [{"id": k, "lon": lon, "lat": lat, "population": 300,
                           "county": c} for k, c, lon, lat in VILLAGES]},
    "candidates": {"transfer": {"extra_per_county": 0, "sites": [STATION]}},
    "fleet": {"narrow_lane_fraction": 0.0,
              "vehicles": [{"name": "truck", "count": 2, "capacity_t": 5.0}]},
}


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """The two-county scenario as a JSON file and a siting output folder assigning every
    village to S1."""
    scenario = tmp_path / "sc.json"
    scenario.write_text(json.dumps(SPEC), encoding="utf-8")
    feature = {"type": "Feature",
               "geometry": {"type": "Point", "coordinates": [STATION["lon"], STATION["lat"]]},
               "properties": {"id": "S1", "name": "站1", "capacity_t_per_day": 100.0}}
    write_outputs(tmp_path / "site", {
        "summary": {"synthetic": False},
        "facilities": {"type": "FeatureCollection", "features": [feature]},
        "assignments": [{"village_id": k, "village_name": k, "county": c,
                         "facility_id": "S1", "t_per_day": 0.15}
                        for k, c, _lon, _lat in VILLAGES]})
    return scenario, tmp_path / "site"


@pytest.fixture()
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the worker by a stub that records the county and returns a plan, and the
    executor by ``None``; returns the list of counties planned."""
    counties: list[str] = []

    def fake(unit: CountyDay) -> CountyOutcome:
        counties.append(unit.county)
        return CountyOutcome(
            county=unit.county, date=unit.date, status="ok",
            plan={"status": "ROUTING_SUCCESS", "date": unit.date},
            exports={k: f"{unit.county} {unit.date}\n" for k in FILE_NAMES},
            stops=2, vehicles=1, distance_m=1000.0, duration_s=3600.0, tonnes=0.3,
            tonne_km=1.0, cost_yuan=100.0, check_ok=True, solver_status="ROUTING_SUCCESS",
            stopped_by="search_end")

    @contextlib.contextmanager
    def no_pool(_scheduler: str, _workers: int | None, _n: int) -> Iterator[None]:
        yield None

    monkeypatch.setattr(province, "plan_unit", fake)
    monkeypatch.setattr(cmd, "open_executor", no_pool)
    return counties


def _unwritable_county_folder(out: Path, county: str) -> Path:
    """``out/county`` as a folder no file can be created in although ``os.access`` may
    say otherwise: for root (whom ``os.access`` always answers yes) a link to
    /sys/kernel, else a read-only folder."""
    folder = out / county
    if os.geteuid() != 0:
        folder.mkdir(parents=True)
        folder.chmod(0o555)
        return folder
    target = Path("/sys/kernel")
    if not target.is_dir():
        pytest.skip("running as root without /sys/kernel: no folder root cannot write")
    try:
        (target / ".wastenet-test").touch()
    except OSError:
        out.mkdir(parents=True, exist_ok=True)
        folder.symlink_to(target, target_is_directory=True)
        return folder
    (target / ".wastenet-test").unlink()
    pytest.skip("root can write into /sys/kernel here")


def _restore(folder: Path, tmp_path: Path) -> None:
    """Make a read-only test folder removable again."""
    if not folder.is_symlink() and folder.is_relative_to(tmp_path):
        folder.chmod(0o755)


def test_unwritable_county_folder_is_refused_before_planning(
        inputs: tuple[Path, Path], tmp_path: Path, planned: list[str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing OUT/<adcode> no file can be created in, while ``os.access`` says it
    is writable (as it does for root): exit 2 naming out and the folder, before any
    county is planned (it used to plan every county and then fail this one's write)."""
    scenario, site = inputs
    out = tmp_path / "out"
    folder = _unwritable_county_folder(out, FAKU)
    monkeypatch.setattr(os, "access", lambda *_a, **_k: True)
    try:
        rc = main(["plan-province", str(scenario), "--siting", str(site), "--date", DATE,
                   "--out", str(out), "--seed", "0", "--solution-limit", "5"])
    finally:
        _restore(folder, tmp_path)
    err = capsys.readouterr().err
    assert planned == []
    assert rc == 2, err
    assert f"out={str(folder)!r}" in err and "not writable" in err and FAKU in err
    assert "Traceback" not in err
    assert not (out / "province.csv").exists() and not (out / "province.json").exists()


def test_check_out_paths_creates_a_file_rather_than_asking_os_access(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check_out_paths refuses an unwritable county folder that ``os.access`` calls
    writable (ValidationError naming out and the folder), and passes a writable one
    without leaving its probe file behind."""
    out = tmp_path / "out"
    folder = _unwritable_county_folder(out, FAKU)
    (out / KANGPING).mkdir()
    monkeypatch.setattr(os, "access", lambda *_a, **_k: True)
    try:
        with pytest.raises(ValidationError) as exc:
            cmd.check_out_paths(out, [KANGPING, FAKU])
    finally:
        _restore(folder, tmp_path)
    assert exc.value.field == "out" and exc.value.value == str(folder)
    assert "not writable" in str(exc.value) and f"county {FAKU}" in str(exc.value)
    cmd.check_out_paths(out, [KANGPING])
    assert not [p for p in (out / KANGPING).iterdir() if p.name.startswith(PROBE_PREFIX)]
