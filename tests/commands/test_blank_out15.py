"""``--out`` must name something: an empty or blank name is refused by every command,
naming the option. ``wastenet solve --out ""`` used to say "is a folder, not a file", and
``--out "   "`` wrote a file named three spaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from wastenet.cli import main
from wastenet.commands.args import output_dir, output_file
from wastenet.errors import ValidationError

CAP41 = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "siting" / "orlib-cap" / "cap41.txt"


@pytest.mark.parametrize("name", ["", "   ", "\t", "sub/  "])
def test_blank_output_file_is_refused(name: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """output_file (``solve --out``) refuses an empty or blank name, or a blank last
    part, saying so; nothing is created."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="is empty or blank: give a file name") as err:
        output_file(name)
    assert err.value.field == "out"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "  ", "runs/ "])
def test_blank_output_folder_is_refused(name: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """output_dir (``site``, ``plan-routes``, ``plan-province --out``) refuses an empty
    or blank name, or a blank last part; no folder is created."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="is empty or blank: give a folder"):
        output_dir(name)
    assert list(tmp_path.iterdir()) == []


def test_solve_with_a_blank_out_exits_2_naming_it(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The command line: ``wastenet solve cap41 --out '   '`` exits with 2 and says the
    name is blank, before solving; no file is written."""
    if not CAP41.exists():
        pytest.skip(f"{CAP41} is not in this checkout")
    monkeypatch.chdir(tmp_path)
    rc = main(["solve", str(CAP41), "--format", "orlib-cap", "--time-limit", "5",
               "--out", "   "])
    assert rc == 2
    assert "is empty or blank" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
