"""Result of a siting solve: open facilities, sizes, flows, cost and a certified bound."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: a relative gap below this is rounding in the two sums (the cost breakdown and the
#: solver's bound), not a gap: an optimal Faku run reported 1.67e-16, which ``compare``
#: then showed as a change of 9.8e15 %; it is reported as 0
GAP_NOISE = 1e-12


@dataclass(frozen=True, eq=False)
class SitingResult:
    """What a siting solver returns. Indices refer to the :class:`SitingData` solved.

    * ``transfer_size[j]``: the size slot opened at transfer candidate ``j``; ``-1`` closed;
      ``-2`` an existing facility (open, existing capacity).
    * ``incinerator_size[k]``: likewise.
    * Village flows, one row per (village, facility) pair with a positive share:
      ``flow_village[r]`` sends the fraction ``flow_fraction[r]`` of its demand to
      ``flow_facility[r]``, a transfer candidate when ``flow_direct[r]`` is False, an
      incinerator otherwise. With single sourcing every covered village has one row,
      fraction 1.
    * Haul flows: ``haul_transfer[r] -> haul_incinerator[r]`` carrying ``haul_t_per_day[r]``.
    * ``uncovered``: villages whose served share falls short of 1 by more than
      :data:`wastenet.siting.data.SHARE_TOL` (feasible only with an uncovered penalty).
    * ``cost``: breakdown in yuan/yr; ``total_cost`` is its sum (the upper bound).
    * ``lower_bound``: a valid lower bound on the optimum of the data solved;
      ``gap = (total_cost - lower_bound) / total_cost``, 0 when below
      :data:`GAP_NOISE`.
    """

    transfer_size: IntArray
    incinerator_size: IntArray
    flow_village: IntArray
    flow_facility: IntArray
    flow_direct: NDArray[np.bool_]
    flow_fraction: FloatArray
    haul_transfer: IntArray
    haul_incinerator: IntArray
    haul_t_per_day: FloatArray
    uncovered: IntArray
    cost: dict[str, float]
    total_cost: float
    lower_bound: float
    status: str  #: "optimal", "feasible"
    solver: str  #: which path produced it, e.g. "mip-highs", "lagrangian"
    seed: int
    elapsed_s: float
    iterations: int = 0
    log: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        if self.total_cost <= 0:
            return 0.0
        gap = (self.total_cost - self.lower_bound) / self.total_cost
        return gap if gap >= GAP_NOISE else 0.0
