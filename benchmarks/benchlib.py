"""Helpers shared by the benchmark scripts (not part of the library)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def engine_revision(paths: Sequence[str]) -> str:
    """Last commit touching ``paths`` (repository-relative), plus ``+dirty`` when they have
    local edits; ``WASTENET_BENCH_REV`` overrides it when running from a ``git archive``
    snapshot, which has no history."""
    if os.environ.get("WASTENET_BENCH_REV"):
        return os.environ["WASTENET_BENCH_REV"]
    try:
        rev = subprocess.run(["git", "log", "-1", "--format=%h", "--", *paths], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (rev or "uncommitted") + ("+dirty" if dirty else "")
