"""Shared fixtures. Paths are resolved from the repository, never from ../shared."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (scenarios/, benchmarks/ live there)."""
    return ROOT



def _load_benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """A loader of the benchmark script ``benchmarks/<name>.py`` as a module (the scripts
    are not a package). The module is registered in ``sys.modules`` first, so that its
    dataclasses can resolve their annotations."""
    return _load_benchmark


@pytest.fixture()
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the network builds (by scenario name) wherever they are called from."""
    import wastenet.pipeline
    import wastenet.scenario.network as network_module

    real = network_module.build_network
    calls: list[str] = []

    def counted(scenario: object) -> object:
        calls.append(getattr(scenario, "name", "?"))
        return real(scenario)  # type: ignore[arg-type]

    monkeypatch.setattr(network_module, "build_network", counted)
    monkeypatch.setattr(wastenet.pipeline, "build_network", counted)
    return calls
