"""Audit of ``wastenet solve FILE --format ... --time-limit S --out OUT.json``: a wrong
format or a malformed file ends in exit code 2 and a message naming the file and line,
never a traceback; ``--out`` must name a file the command can keep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from format_samples import KIM_102, SITING, TINY_CAP, VRP

from wastenet.cli import main
from wastenet.commands.args import output_file
from wastenet.errors import ValidationError


def solve(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``wastenet solve ARGS --time-limit 2``; return the exit code and stderr."""
    rc = main(["solve", *args, "--time-limit", "2"])
    return rc, capsys.readouterr().err


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make both benchmark solvers fail loudly: the checks under test must come first."""
    import wastenet.formats.facility
    import wastenet.formats.routing_bench

    def boom(*_a: object, **_k: object) -> dict[str, Any]:
        raise AssertionError("the solve started before the options were checked")

    monkeypatch.setattr(wastenet.formats.facility, "solve_benchmark_file", boom)
    monkeypatch.setattr(wastenet.formats.routing_bench, "solve_routing_file", boom)


@pytest.mark.parametrize(("old", "new", "line"), [
    ("DIMENSION : 3", "DIMENSION : abc", 3),
    ("CAPACITY : 10", "CAPACITY : abc", 5),
    ("CAPACITY : 10", "CAPACITY : -100", 5),
    ("CAPACITY : 10", "CAPACITY : 10\nDISTANCE : abc", 6),
    ("CAPACITY : 10", "CAPACITY : 10\nSERVICE_TIME : -10", 6),
    ("2 3 4", "2 x 44", 8),
    ("2 3 4", "2 96 44 99", 8),
    ("2 3 4", "2 inf 4", 8),
    ("2 6", "2 abc", 12),
    ("2 6", "2 -6", 12),
    ("EOF\n", "EOF\njunk\n", 18),
])
def test_malformed_vrplib_is_exit_2_naming_the_line(tmp_path: Path, old: str, new: str,
                                                    line: int,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The audit's vrplib repros: exit 2, ``FILE:LINE:`` in the message, no output."""
    src = tmp_path / "bad.vrp"
    src.write_text(VRP.replace(old, new, 1), encoding="utf-8")
    out = tmp_path / "x.json"
    rc, err = solve(capsys, str(src), "--format", "vrplib", "--out", str(out))
    assert rc == 2 and f"{src}:{line}: " in err, err
    assert not out.exists()


def test_lunch_longer_than_the_shift_is_exit_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``sed '4s/^3600/39601/' 102_stop.txt``: exit 2 naming line 4 (was ``Exception: CP
    Solver fail``)."""
    lines = KIM_102.read_bytes().split(b"\n")
    lines[3] = b"39601" + lines[3][4:]
    src = tmp_path / "w.txt"
    src.write_bytes(b"\n".join(lines))
    rc, err = solve(capsys, str(src), "--format", "wcvrptw", "--out", str(tmp_path / "x.json"))
    assert rc == 2 and f"{src}:4: lunch duration" in err, err


@pytest.mark.parametrize(("path", "fmt", "hint"), [
    (SITING / "orlib-cap" / "cap101.txt", "holmberg", "is this an orlib-cap file?"),
    (SITING / "sscflp-holmberg" / "p1", "orlib-cap", "is this a holmberg file?"),
])
def test_wrong_facility_format_is_named(tmp_path: Path, path: Path, fmt: str, hint: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """cap101 as holmberg (was solved to 89362.96) and p1 as orlib-cap (was "infeasible:
    total demand exceeds ...") are format errors with a hint naming the right format."""
    out = tmp_path / "x.json"
    rc, err = solve(capsys, str(path), "--format", fmt, "--out", str(out))
    assert rc == 2 and f"{path}:" in err and hint in err, err
    assert "infeasible" not in err and not out.exists()


@pytest.mark.parametrize(("fmt", "text", "needles"), [
    ("pmed", "4 2 1\n1 2 1\n3 4 1\n", ("2 connected components", "p=1")),
    ("holmberg", "2 3\n10 1\n10 1\n6 7 7\n1 1 1\n1 1 1\n", ("customers", "sites")),
])
def test_infeasible_benchmarks_speak_benchmark_terms(tmp_path: Path, fmt: str, text: str,
                                                     needles: tuple[str, ...],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Infeasibility is explained with customers, sites, p and components, not with
    villages, incinerators or count targets."""
    src = tmp_path / "inst.txt"
    src.write_text(text, encoding="utf-8")
    rc, err = solve(capsys, str(src), "--format", fmt, "--out", str(tmp_path / "x.json"))
    assert rc == 2 and "infeasible" in err and all(n in err for n in needles), err
    assert not any(w in err for w in ("village", "incinerator", "count target", "province"))


@pytest.mark.parametrize("fmt", ["pmed", "vrplib"])
def test_out_with_a_trailing_slash_is_a_folder(tmp_path: Path, fmt: str, no_solve: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``--out DIR/`` (not existing yet) is refused as a folder, naming out; no file
    ``DIR`` is written."""
    src = tmp_path / "in.txt"
    src.write_text(TINY_CAP, encoding="utf-8")
    rc, err = solve(capsys, str(src), "--format", fmt, "--out", f"{tmp_path / 'res'}/")
    assert rc == 2 and "out=" in err and "is a folder, not a file" in err, err
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("text", ["res/", "res/sub/", "res//"])
def test_output_file_refuses_a_trailing_separator(tmp_path: Path, text: str) -> None:
    """``output_file`` itself refuses a path ending in a separator, creating nothing."""
    with pytest.raises(ValidationError, match="is a folder, not a file") as err:
        output_file(f"{tmp_path}/{text}")
    assert err.value.field == "out" and not (tmp_path / "res").exists()


@pytest.mark.parametrize("name", ["plan.sol", "PLAN.SOL"])
def test_out_ending_in_sol_is_refused_for_vrplib(tmp_path: Path, name: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON would overwrite the .sol written beside it: refused before reading."""
    import wastenet.formats.routing_bench

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("the file was read before --out was checked")

    monkeypatch.setattr(wastenet.formats.routing_bench, "read_routing_file", boom)
    src = tmp_path / "tri.vrp"
    src.write_text(VRP, encoding="utf-8")
    rc, err = solve(capsys, str(src), "--format", "vrplib", "--out", str(tmp_path / name))
    assert rc == 2 and "out=" in err and ".sol" in err, err
    assert not (tmp_path / name).exists()


def test_vrplib_json_and_sol_both_kept(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """With ``--out plan.json`` both plan.json and plan.sol exist after the solve."""
    src = tmp_path / "tri.vrp"
    src.write_text(VRP, encoding="utf-8")
    rc, _ = solve(capsys, str(src), "--format", "vrplib", "--out", str(tmp_path / "plan.json"))
    assert rc == 0
    assert (tmp_path / "plan.sol").read_text().startswith("Route #1")
    assert (tmp_path / "plan.json").read_text().startswith("{")


def test_zero_lower_bound_is_written_as_0(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``printf '1 0 1\\n'`` as pmed: ``lower_bound`` 0.0, not -0.0, in OUT and on screen."""
    src = tmp_path / "pm1.txt"
    src.write_text("1 0 1\n", encoding="utf-8")
    out = tmp_path / "x.json"
    assert main(["solve", str(src), "--format", "pmed", "--time-limit", "2", "--out",
                 str(out)]) == 0
    assert "-0.0" not in out.read_text() and "-0.0" not in capsys.readouterr().out
