"""Shared fixtures. Paths are resolved from the repository, never from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (scenarios/, benchmarks/ live there)."""
    return ROOT
