"""``wastenet solve``: option and output checks before the solve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wastenet.cli import main

TINY_CAP = "2 3\n8 100\n11 50\n5\n50 100\n5\n50 150\n6\n240 60\n"


@pytest.fixture
def cap(tmp_path: Path) -> Path:
    p = tmp_path / "cap.txt"
    p.write_text(TINY_CAP, encoding="utf-8")
    return p


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the benchmark solve fail loudly: the checks under test must come first."""
    import wastenet.formats.facility

    def boom(*_a: object, **_k: object) -> dict[str, Any]:
        raise AssertionError("the solve started before the options were checked")

    monkeypatch.setattr(wastenet.formats.facility, "solve_benchmark_file", boom)


@pytest.mark.parametrize(("option", "value"), [("--time-limit", "1e30"),
                                               ("--time-limit", "inf"),
                                               ("--seed", "-5")])
def test_solve_rejects_bad_limits_and_seeds(cap: Path, tmp_path: Path, no_solve: None,
                                            capsys: pytest.CaptureFixture[str], option: str,
                                            value: str) -> None:
    """A time limit beyond a day (1e30 gave OverflowError) or a negative seed is a usage
    error (exit 2) naming the option and value."""
    args = ["solve", str(cap), "--format", "pmed", "--out", str(tmp_path / "x.json"),
            "--time-limit", "5", option, value]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option.lstrip("-") in err and value in err


@pytest.mark.parametrize("fmt", ["orlib-cap", "wcvrptw"])
def test_solve_refuses_a_folder_as_out(cap: Path, tmp_path: Path, no_solve: None,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """--out naming an existing folder is refused (exit 2, naming out) before the solve,
    with no stray ``.tmp`` file."""
    import wastenet.formats.routing_bench

    def boom(*_a: object, **_k: object) -> dict[str, Any]:
        raise AssertionError("the solve started before the options were checked")

    monkeypatch.setattr(wastenet.formats.routing_bench, "solve_routing_file", boom)
    out = tmp_path / "outdir"
    out.mkdir()
    rc = main(["solve", str(cap), "--format", fmt, "--time-limit", "5", "--out", str(out)])
    assert rc == 2
    assert "out=" in capsys.readouterr().err
    assert not (tmp_path / "outdir.tmp").exists()
