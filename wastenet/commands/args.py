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
import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from wastenet.bounds import MAX_SEED, MAX_TIME_LIMIT_S
from wastenet.errors import ValidationError

log = logging.getLogger("wastenet.commands.args")

#: the prefix of the file :func:`probe_writable` creates (and removes at once)
PROBE_PREFIX = ".wastenet-probe-"


def positive_int(option: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an integer >= 1 (and <= ``maximum`` when given); errors
    name ``option`` and the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not an integer") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option}: {value} must be >= 1")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{option}: {value} must be in [1, {maximum}]")
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


def probe_writable(folder: Path, option: str, text: str, what: str = "the folder") -> None:
    """Check that a file can be created in ``folder`` by creating one (and removing it):
    :func:`os.access` answers yes for root even where the file system refuses
    (``/sys/kernel``, a read-only mount). A :class:`ValidationError` names ``option``
    and ``text``."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=PROBE_PREFIX)
    except OSError as exc:
        raise ValidationError(option, text, f"{what} is not writable (creating a file in it "
                              f"failed: {exc.strerror or exc})") from exc
    os.close(fd)
    try:
        os.unlink(name)
    except OSError as exc:  # pragma: no cover - a folder that takes files but not removals
        log.warning("%s: could not remove the probe file (%s)", name, exc.strerror or exc)


def missing_folders(text: str) -> list[Path]:
    """The folders of the path ``text`` that do not exist yet, the path itself first and
    its missing parents after it: what :func:`output_dir` would create, and what
    :func:`remove_empty_folders` may take away again."""
    out: list[Path] = []
    path = Path(text)
    while text and not os.path.lexists(path) and path != path.parent:
        out.append(path)
        path = path.parent
    return out


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (innermost first, as :func:`missing_folders` lists them) while
    they are empty folders: a command that created its output folder and then wrote
    nothing into it leaves no empty folder behind. A folder that holds anything is kept
    (and so are its parents)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
        log.debug("%s: removed the empty output folder", folder)


def _blank(text: str) -> bool:
    """An empty or whitespace-only path, or one whose last part is only whitespace (a
    name no one means to type, and hard to see or remove afterwards)."""
    return text.strip() == "" or (Path(text).name != "" and Path(text).name.strip() == "")


def output_dir(text: str, option: str = "out") -> Path:
    """Create the output folder ``text`` (and its parents) now, before any solving, and
    check that files can be created in it (:func:`probe_writable`); an empty or blank
    path (:func:`_blank`), a path that is a file, or one that cannot be created or
    written raises :class:`ValidationError` naming ``option`` and the path."""
    if _blank(text):
        raise ValidationError(option, text, "is empty or blank: give a folder ('.' for the "
                              "current one)")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValidationError(option, text, "exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(option, text, f"cannot create the folder ({exc.strerror})") from exc
    probe_writable(path, option, text)
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
    ``option`` and the path; so does an empty or blank name (:func:`_blank`)."""
    path = Path(text)
    if _blank(text):
        raise ValidationError(option, text, "is empty or blank: give a file name")
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
    probe_writable(parent, option, text, f"its folder {str(parent)!r}")
    return path
