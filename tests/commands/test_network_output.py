"""Tests of ``wastenet network --geojson``: the output path is checked before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from wastenet.cli import main

FAKU = Path(__file__).resolve().parents[2] / "scenarios" / "faku.toml"


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building the network fail loudly, to prove the check runs first."""
    import wastenet.commands.network as cmd

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("the network was built before the output path was checked")

    monkeypatch.setattr(cmd, "build_network", boom)


def test_geojson_folder_is_refused_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """--geojson naming a folder exits with code 2 and an error naming the option and
    the path, before the network is built."""
    _no_build(monkeypatch)
    assert main(["network", str(FAKU), "--geojson", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "geojson=" in err and str(tmp_path) in err and "is a folder" in err


def test_geojson_under_a_file_is_refused_first(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """--geojson inside a path whose folder is a file exits with code 2 and a named
    error, before the network is built (no FileExistsError traceback)."""
    _no_build(monkeypatch)
    blocker = tmp_path / "afile"
    blocker.write_text("", encoding="utf-8")
    assert main(["network", str(FAKU), "--geojson", str(blocker / "x.geojson")]) == 2
    err = capsys.readouterr().err
    assert "geojson=" in err and "is a file" in err
