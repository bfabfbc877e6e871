"""Tests of the shared CLI argument types and output checks (``wastenet.commands.args``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from wastenet.commands.args import (
    MAX_SEED,
    output_dir,
    output_file,
    positive_int,
    seed,
    time_limit,
)
from wastenet.errors import ValidationError


@pytest.mark.parametrize("text", ["-1", "2147483648", "1.5", "x", ""])
def test_seed_rejects(text: str) -> None:
    """A seed outside [0, 2**31 - 1] or not an integer is refused, naming the option."""
    with pytest.raises(argparse.ArgumentTypeError, match="seed"):
        seed()(text)


@pytest.mark.parametrize("text,value", [("0", 0), ("7", 7), (str(MAX_SEED), MAX_SEED)])
def test_seed_accepts(text: str, value: int) -> None:
    """Seeds at both ends of the range are kept as they are."""
    assert seed()(text) == value


@pytest.mark.parametrize("text", ["0", "-3", "inf", "nan", "1e30", "86400.5", "abc"])
def test_time_limit_rejects(text: str) -> None:
    """Zero, negative, infinite, NaN, over-a-day and non-numbers are refused with the
    option and the value in the message."""
    with pytest.raises(argparse.ArgumentTypeError, match=r"time-limit: .*" + text[:3]):
        time_limit()(text)


def test_time_limit_accepts() -> None:
    """A day exactly and a fraction of a second are valid."""
    assert time_limit()("86400") == 86400.0
    assert time_limit()("0.25") == 0.25


@pytest.mark.parametrize("text", ["0", "-1", "two"])
def test_positive_int_rejects(text: str) -> None:
    """Zero, negatives and non-integers are refused, naming the option."""
    with pytest.raises(argparse.ArgumentTypeError, match="workers"):
        positive_int("workers")(text)


def test_output_dir_creates(tmp_path: Path) -> None:
    """A missing folder is created with its parents, and an existing one is kept."""
    target = tmp_path / "a" / "b"
    assert output_dir(str(target)) == target and target.is_dir()
    assert output_dir(str(target)) == target


def test_output_dir_rejects_file(tmp_path: Path) -> None:
    """A path that is a file, or under a file, is refused before any work."""
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ValidationError, match=r"out=.*afile.*not a folder"):
        output_dir(str(f))
    with pytest.raises(ValidationError, match=r"out=.*cannot create"):
        output_dir(str(f / "sub"))


def test_output_file(tmp_path: Path) -> None:
    """An output file may be new (its folder is created); a folder or a path under a
    file is refused."""
    target = tmp_path / "new" / "x.json"
    assert output_file(str(target)) == target and target.parent.is_dir()
    with pytest.raises(ValidationError, match="is a folder"):
        output_file(str(tmp_path))
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ValidationError, match="is a file"):
        output_file(str(f / "x.json"))
