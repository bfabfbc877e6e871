r"""Where a gap lives: an incumbent's cost set against the two parts of a split bound.

Why
---
A gap of 3 % says how far apart the incumbent and the bound are, not which side to work
on. The split bound (:mod:`wastenet.siting.splitbound`) and the county bound
(:mod:`wastenet.siting.countybound`) are sums :math:`B_T + B_P` of a bound on the
station fixed cost and a bound on everything else; this module splits
:math:`UB - (B_T + B_P)` into three parts that are each non-negative for those bounds.

Decomposition
-------------
Write the incumbent's cost as :math:`\mathrm{TF}+\mathrm{IF}+\mathrm{FLOW}` (station fixed
costs, plant fixed costs, everything else: collection, direct delivery, haul, throughput
and the uncovered penalty). Decompose its flow into village-to-plant paths as in the split
bound's validity argument: :math:`a_{ik}` is the share of village :math:`i` processed at
plant :math:`k`, a station splitting its villages' waste in proportion to its hauls. With
:math:`p_{ik}` the cheapest path cost (:func:`wastenet.siting.splitbound.path_costs`) let

.. math::

    \mathrm{REL} = \sum_{i,k} w_i\,p_{ik}\,a_{ik} + \sum_i P\,w_i\,u_i ,

where :math:`u_i = 1 - \sum_k a_{ik}` is the share of village :math:`i` left uncovered
(:func:`uncovered_share`; the penalty is charged on that share only, as the incumbent's
cost charges it, not on the whole demand of a partly covered village).

Then :math:`UB - B_T - B_P` is the sum of

* ``station_fixed`` :math:`=\mathrm{TF}-B_T` -- station sizes and counts above the
  station bound;
* ``station_paths`` :math:`=\mathrm{FLOW}-\mathrm{REL}` -- what the villages pay for
  going through the stations actually open rather than through the best station for
  their plant (each path costs at least :math:`p_{ik}`);
* ``plants`` :math:`=\mathrm{IF}+\mathrm{REL}-B_P` -- the plant part: the incumbent's
  plants and village-to-plant shares against the relaxation :math:`B_P` optimises over.

For the split and county bounds all three are :math:`\ge 0` (up to rounding): the
incumbent's sizes are feasible for the station program of :math:`B_T`, every path costs
at least its cheapest, and the incumbent's :math:`(a, z)` is feasible for the plant
program of :math:`B_P`. The first two are gap that no plant-side bound can close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wastenet.errors import ValidationError
from wastenet.siting.data import missing_share
from wastenet.siting.model import CompiledModel
from wastenet.siting.ragged import expand
from wastenet.siting.result import SitingResult
from wastenet.siting.splitbound import path_costs

FloatArray = NDArray[np.float64]

#: the cost keys of a result that are fixed costs (everything else is flow cost)
FIXED_KEYS = ("transfer_fixed", "incinerator_fixed")


@dataclass(frozen=True)
class GapAnatomy:
    """Parts of ``upper - (transfer_bound + plant_bound)``, in yuan/yr (module docstring).
    ``relaxed_flow`` is :math:`\\mathrm{REL}`."""

    upper: float
    transfer_bound: float
    plant_bound: float
    station_fixed: float
    station_paths: float
    plants: float
    relaxed_flow: float

    @property
    def total(self) -> float:
        """``station_fixed + station_paths + plants`` = ``upper - transfer_bound -
        plant_bound``."""
        return self.station_fixed + self.station_paths + self.plants

    def as_dict(self) -> dict[str, float]:
        """The parts as a JSON-ready dict (yuan/yr)."""
        return {"upper": self.upper, "transfer_bound": self.transfer_bound,
                "plant_bound": self.plant_bound, "station_fixed": self.station_fixed,
                "station_paths": self.station_paths, "plants": self.plants,
                "relaxed_flow": self.relaxed_flow}


def plant_shares(model: CompiledModel, res: SitingResult
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    """The incumbent's village-to-plant shares ``(village, plant, share)``: direct rows
    as they are, station rows split in proportion to the station's hauls. A station with
    inflow and no haul raises :class:`ValidationError` (the result is not feasible)."""
    n_tr = model.transfer.n_sites
    out_t = np.bincount(res.haul_transfer, weights=res.haul_t_per_day, minlength=n_tr)
    direct = res.flow_direct
    via = np.flatnonzero(~direct)
    lacking = np.unique(res.flow_facility[via][out_t[res.flow_facility[via]] <= 0])
    if lacking.size:
        raise ValidationError("haul_t_per_day", int(lacking[0]),
                              "a station that receives villages hauls nothing")
    # every (village row through station j) x (haul row out of j)
    order = np.argsort(res.haul_transfer, kind="stable")
    h_src = res.haul_transfer[order]
    start = np.searchsorted(h_src, np.arange(n_tr))
    stop = np.searchsorted(h_src, np.arange(n_tr), side="right")
    st = res.flow_facility[via]
    owner, idx = expand(start[st], (stop - start)[st])
    rep, h = via[owner], order[idx]
    share_h = res.haul_t_per_day[h] / out_t[res.haul_transfer[h]]
    vil = np.concatenate([res.flow_village[direct], res.flow_village[rep]])
    pl = np.concatenate([res.flow_facility[direct], res.haul_incinerator[h]])
    share = np.concatenate([res.flow_fraction[direct], res.flow_fraction[rep] * share_h])
    return vil.astype(np.int64), pl.astype(np.int64), share


def uncovered_share(res: SitingResult, n_villages: int) -> FloatArray:
    """:math:`u_i`: the share of each village's demand that ``res`` leaves uncovered,
    ``1 - (sum of its flow fractions)`` clipped to [0, 1], and 0 within
    :data:`~wastenet.siting.data.SHARE_TOL` of full cover (as the solver prices the
    penalty)."""
    return missing_share(np.bincount(res.flow_village, weights=res.flow_fraction,
                                     minlength=n_villages))


def gap_anatomy(model: CompiledModel, res: SitingResult, *, transfer_bound: float,
                plant_bound: float) -> GapAnatomy:
    """Split ``res.total_cost - transfer_bound - plant_bound`` (module docstring);
    ``model`` is the compiled model of the data ``res`` solves."""
    for name, value in (("transfer_bound", transfer_bound), ("plant_bound", plant_bound)):
        if not np.isfinite(value):
            raise ValidationError(name, value, "must be finite")
    vil, pl, share = plant_shares(model, res)
    pv, pp, pc, _ = path_costs(model)
    q = model.incinerator.n_sites
    keys = pv * q + pp  # one per (village, plant): path_costs keeps the cheapest
    korder = np.argsort(keys, kind="stable")
    want = vil * q + pl
    pos = np.searchsorted(keys[korder], want)
    found = (pos < keys.size) & (keys[korder][np.minimum(pos, keys.size - 1)] == want)
    if not np.all(found):
        bad = int(np.flatnonzero(~found)[0])
        raise ValidationError("flow_facility", int(pl[bad]),
                              f"village {int(vil[bad])} reaches this plant by no arc path")
    cost = pc[korder][pos]
    w = model.demand
    relaxed = float(np.sum(w[vil] * share * cost)) + float(
        model.penalty * np.dot(w, uncovered_share(res, w.shape[0])))
    tf = float(res.cost.get("transfer_fixed", 0.0))
    inc_f = float(res.cost.get("incinerator_fixed", 0.0))
    flow = float(sum(v for k, v in res.cost.items() if k not in FIXED_KEYS))
    return GapAnatomy(upper=float(res.total_cost), transfer_bound=float(transfer_bound),
                      plant_bound=float(plant_bound), station_fixed=tf - transfer_bound,
                      station_paths=flow - relaxed, plants=inc_f + relaxed - plant_bound,
                      relaxed_flow=relaxed)


__all__ = ["FIXED_KEYS", "GapAnatomy", "gap_anatomy", "plant_shares", "uncovered_share"]
