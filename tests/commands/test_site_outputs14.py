"""``wastenet site``: the three output files are written as one set, the output folder
is checked by creating a file in it (not by ``os.access``), an empty ``--out`` is
refused, a folder the command created is removed when nothing was written into it, and
``--threads`` has the scenario schema's bound. The solve is stubbed out: what is tested
is the writing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from wastenet.cli import build_parser, main
from wastenet.commands.args import output_dir
from wastenet.commands.site import write_outputs
from wastenet.errors import InfeasibleError, ValidationError

OLD = {"summary.json": b'{"scenario": "old"}\n', "assignments.csv": b"old,csv\n",
       "facilities.geojson": b'{"type": "FeatureCollection", "features": []}'}


@pytest.fixture
def scenario(tmp_path: Path) -> str:
    """A tiny user-data scenario file (it is only loaded: the solve is stubbed)."""
    doc = {"name": "tiny", "data": {"source": "user", "villages": [
        {"id": "V1", "name": "村1", "lon": 123.3, "lat": 42.5, "tonnes_per_day": 0.5,
         "county": "210124"}]}}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any siting solve fail loudly: the checks under test must come first."""
    import wastenet.pipeline

    def boom(*_a: object, **_k: object) -> dict[str, Any]:
        raise AssertionError("the solve started before the output folder was checked")

    monkeypatch.setattr(wastenet.pipeline, "run_siting", boom)


def _result(name: str = "new") -> dict[str, Any]:
    """A small siting result as :func:`wastenet.pipeline.run_siting` returns it."""
    return {"summary": {"scenario": name, "synthetic": False, "data_seed": None,
                        "seed": 0, "solver_seed": 0, "total_cost_yuan_per_year": 1.0,
                        "gap": 0.0, "transfer_stations_opened": 0, "incinerators_opened": 1},
            "facilities": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [123.3, 42.5]},
                 "properties": {"id": "K1", "name": "厂", "kind": "incinerator"}}]},
            "assignments": [{"village_id": "V1", "village_name": "村1", "county": "210124",
                             "facility_id": "K1", "facility_name": "厂",
                             "facility_kind": "incinerator", "distance_m": 10.0,
                             "t_per_day": 0.5, "fraction": 1.0}]}


def _old_run(folder: Path, *skip: str) -> None:
    """``folder`` holding an earlier run's files (except ``skip``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in OLD.items():
        if name not in skip:
            (folder / name).write_bytes(data)


def _listing(folder: Path) -> dict[str, bytes | None]:
    """Every entry of ``folder``: a file's bytes, None for a folder."""
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}


def test_a_folder_in_place_of_an_output_changes_nothing(tmp_path: Path) -> None:
    """The audit's mixed folder: an earlier run's summary.json and assignments.csv, and a
    folder named facilities.geojson. Writing a new run fails naming out and the file,
    and leaves both earlier files as they were (no new summary.json beside the old
    assignments.csv) and no temporary file."""
    out = tmp_path / "out"
    _old_run(out, "facilities.geojson")
    (out / "facilities.geojson").mkdir()
    before = _listing(out)
    with pytest.raises(ValidationError) as err:
        write_outputs(out, _result())
    assert err.value.field == "out" and "facilities.geojson" in str(err.value)
    assert _listing(out) == before


def test_site_checks_the_output_names_before_solving(
        tmp_path: Path, scenario: str, no_solve: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same folder given to the command is refused before the solve starts (exit 2,
    naming out and facilities.geojson): no waiting for a run that cannot be written."""
    out = tmp_path / "out"
    _old_run(out, "facilities.geojson")
    (out / "facilities.geojson").mkdir()
    before = _listing(out)
    assert main(["site", scenario, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "out=" in err and "facilities.geojson" in err and "folder" in err
    assert _listing(out) == before


def test_a_failed_write_leaves_the_earlier_set(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills up while the third file is written leaves the earlier run's
    three files unchanged, and no temporary file."""
    from wastenet import atomicio

    out = tmp_path / "out"
    _old_run(out)
    before = _listing(out)
    real = atomicio.write_atomic

    def full(path: str | os.PathLike[str], data: str | bytes, *a: Any, **k: Any) -> None:
        if "assignments.csv" in os.fspath(path):
            raise OSError(28, "No space left on device")
        real(path, data, *a, **k)

    monkeypatch.setattr(atomicio, "write_atomic", full)
    with pytest.raises(ValidationError, match=r"assignments\.csv.*No space left"):
        write_outputs(out, _result())
    assert _listing(out) == before


def test_a_failed_rename_puts_the_earlier_files_back(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """When a rename fails after summary.json was renamed into place, summary.json is
    put back: the folder holds the earlier set, whole, and no temporary file."""
    out = tmp_path / "out"
    _old_run(out)
    before = _listing(out)
    real = os.replace

    def flaky(src: Any, dst: Any) -> None:
        if os.fspath(dst).endswith(os.sep + "facilities.geojson"):
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(ValidationError, match=r"facilities\.geojson"):
        write_outputs(out, _result())
    assert _listing(out) == before


def test_a_successful_write_replaces_the_whole_set(tmp_path: Path) -> None:
    """Over an earlier run the three files are the new run's, with nothing else left."""
    out = tmp_path / "out"
    _old_run(out)
    write_outputs(out, _result("new"))
    assert sorted(_listing(out)) == ["assignments.csv", "facilities.geojson", "summary.json"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["scenario"] == "new"
    assert (out / "assignments.csv").read_bytes().startswith(b"\xef\xbb\xbfvillage_id,")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder no file can be created in, although ``os.access`` may say otherwise:
    for root (whom ``os.access`` always answers yes) /sys/kernel, else a read-only
    folder."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys/kernel")
    if not folder.is_dir():
        pytest.skip("running as root without /sys/kernel: no folder root cannot write")
    try:
        (folder / ".wastenet-test").touch()
    except OSError:
        return folder
    (folder / ".wastenet-test").unlink()
    pytest.skip("root can write into /sys/kernel here")


def test_site_probes_the_folder_rather_than_trusting_os_access(
        tmp_path: Path, scenario: str, no_solve: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``os.access`` answers yes for root even in /sys/kernel (here it answers yes for
    everyone): the command creates a file in --out to find out, and refuses the folder
    before the solve (exit 2, naming out and the folder)."""
    folder = _unwritable_folder(tmp_path)
    monkeypatch.setattr(os, "access", lambda *_a, **_k: True)
    try:
        assert main(["site", scenario, "--out", str(folder), "--no-progress"]) == 2
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o755)
    err = capsys.readouterr().err
    assert f"out={str(folder)!r}" in err and "not writable" in err


def test_empty_out_is_refused(tmp_path: Path, scenario: str, no_solve: None,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """``--out ""`` does not mean the current folder: it is refused (exit 2, naming the
    option and the empty value) and nothing is written anywhere."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["site", scenario, "--out", "", "--no-progress"]) == 2
    assert "out='': is empty" in capsys.readouterr().err
    assert list(cwd.iterdir()) == []
    with pytest.raises(ValidationError, match="out='': is empty"):
        output_dir("")


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_solve_leaves_no_folder_it_created(
        tmp_path: Path, scenario: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], existing: bool) -> None:
    """An infeasible scenario fails the command; the output folder (and the parent) it
    created for the run are removed again, as it wrote nothing there; a folder that
    existed before is kept."""
    import wastenet.pipeline

    def infeasible(*_a: object, **_k: object) -> dict[str, Any]:
        raise InfeasibleError("count targets cannot be met")

    monkeypatch.setattr(wastenet.pipeline, "run_siting", infeasible)
    out = tmp_path / "new" / "sub"
    if existing:
        out.mkdir(parents=True)
    assert main(["site", scenario, "--out", str(out), "--no-progress"]) == 2
    assert "count targets" in capsys.readouterr().err
    assert out.is_dir() == existing
    assert (tmp_path / "new").exists() == existing


def test_threads_have_the_schema_bound(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """--threads accepts what a scenario's solver.threads may say (1 to 64) and refuses
    more, naming the option and the bound."""
    from wastenet.scenario.schema import SolverSpec

    base = ["site", "s.toml", "--out", str(tmp_path / "o")]
    assert build_parser().parse_args([*base, "--threads", "64"]).threads == 64
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*base, "--threads", "65"])
    assert exc.value.code == 2
    assert "threads: 65 must be in [1, 64]" in capsys.readouterr().err
    with pytest.raises(ValueError):
        SolverSpec(threads=65)
