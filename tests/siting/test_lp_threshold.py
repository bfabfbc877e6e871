"""The scalable path's LP step covers the bundled province without sharing: its LP (about
25 s) guides a start 61 M yuan/yr better than the Lagrangian's, and the arc count rose above
the old threshold when the neighbour lists began to keep every allowed arc."""

from __future__ import annotations

from pathlib import Path

from wastenet.scenario.network import build_network
from wastenet.scenario.schema import load_scenario
from wastenet.siting import relax
from wastenet.siting.build import build_siting_data
from wastenet.siting.model import compile_model

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _arcs(name: str) -> int:
    """Collect + direct + haul arcs of a bundled scenario's compiled model."""
    model = compile_model(build_siting_data(build_network(load_scenario(SCENARIOS / name))))
    return len(model.collect) + len(model.direct) + len(model.haul)


def test_the_lp_runs_without_sharing_and_not_with_adjacent_sharing() -> None:
    """No sharing (150,866 arcs) is within LP_MAX_ARCS; adjacent sharing (249,134 arcs),
    whose LP is far too slow for the province budget, is not."""
    assert _arcs("liaoning-2025-no-sharing.toml") <= relax.LP_MAX_ARCS
    assert _arcs("liaoning-2025.toml") > relax.LP_MAX_ARCS
