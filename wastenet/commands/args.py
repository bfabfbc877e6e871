"""Argument types and output checks shared by the subcommands.

Every check runs before any solving, so that a bad value costs the user no waiting, and
every message names the option and the value (the argparse types raise
:class:`argparse.ArgumentTypeError`, which argparse reports with exit code 2; the output
checks raise :class:`wastenet.errors.ValidationError`, which :func:`wastenet.cli.main`
maps to exit code 2).

The limits are :mod:`wastenet.bounds`' (the scenario schema's): seeds in
``[0, 2**31 - 1]`` and time limits in ``(0, 86400]`` seconds.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from wastenet.bounds import MAX_SEED, MAX_TIME_LIMIT_S
from wastenet.errors import ValidationError


def positive_int(option: str) -> Callable[[str], int]:
    """An argparse ``type`` for an integer >= 1; errors name ``option`` and the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not an integer") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option}: {value} must be >= 1")
        return value
    return parse


def seed(option: str = "seed") -> Callable[[str], int]:
    """An argparse ``type`` for a solver seed, an integer in ``[0, MAX_SEED]``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not an integer") from None
        if not 0 <= value <= MAX_SEED:
            raise argparse.ArgumentTypeError(f"{option}: {value} must be in [0, {MAX_SEED}]")
        return value
    return parse


def time_limit(option: str = "time-limit") -> Callable[[str], float]:
    """An argparse ``type`` for a time limit: a finite number of seconds in
    ``(0, MAX_TIME_LIMIT_S]``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not a number") from None
        if not (math.isfinite(value) and 0 < value <= MAX_TIME_LIMIT_S):
            raise argparse.ArgumentTypeError(
                f"{option}: {text!r} must be a number of seconds in (0, {MAX_TIME_LIMIT_S:g}]")
        return value
    return parse


def output_dir(text: str, option: str = "out") -> Path:
    """Create the output folder ``text`` (and its parents) now, before any solving;
    a path that is a file, or that cannot be created, raises :class:`ValidationError`
    naming ``option`` and the path."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValidationError(option, text, "exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(option, text, f"cannot create the folder ({exc.strerror})") from exc
    if not os.access(path, os.W_OK):
        raise ValidationError(option, text, "the folder is not writable")
    return path


def names_a_folder(text: str) -> bool:
    """True when ``text`` is an existing folder or ends in a path separator (``out/``:
    :class:`~pathlib.Path` would drop the slash and write a file ``out``)."""
    seps = tuple(s for s in (os.sep, os.altsep, "/") if s)
    return text.endswith(seps) or Path(text).is_dir()


def output_file(text: str, option: str = "out") -> Path:
    """Check that the output file ``text`` can be written: not a folder (an existing one,
    or a path ending in a separator, see :func:`names_a_folder`), and its folder exists
    or can be created (it is created now). Raises :class:`ValidationError` naming
    ``option`` and the path."""
    path = Path(text)
    if names_a_folder(text):
        raise ValidationError(option, text, "is a folder, not a file")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ValidationError(option, text, f"its folder {str(parent)!r} is a file")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(option, text,
                              f"cannot create its folder ({exc.strerror})") from exc
    if not os.access(parent, os.W_OK):
        raise ValidationError(option, text, f"its folder {str(parent)!r} is not writable")
    return path
