r"""Fixed-cost cover cuts: valid inequalities that strengthen the LP bound of the siting model.

Why
---
The LP relaxation of :mod:`wastenet.siting.model` pays for a facility only in proportion to
the capacity it uses: a county with 1 t/d and no sharing "opens" a tenth of a 10 t/d plant.
In an integer solution the county opens a whole plant. These cuts make the LP pay, per group
of villages (a county), at least the cheapest set of whole modules that can process the
group's waste where the model lets it go.

Cut
---
Let :math:`S` be a set of villages that cannot be left uncovered (:math:`u_i=0`), with
demand :math:`D(S)=\sum_{i\in S}w_i`. Write :math:`J(S)` for the stations reachable from
:math:`S` by collection arcs and

.. math::

    K(S) = \{k : (i,k)\in A^d,\ i\in S\} \cup \{k : (j,k)\in A^h,\ j\in J(S)\}.

By coverage and flow conservation every tonne of :math:`S` is processed at a plant of
:math:`K(S)` (a station's outflow uses only its own haul arcs, all of which end in
:math:`K(S)`), so :math:`\sum_{k\in K(S)}\mathrm{Cap}_k \ge D(S)`, i.e. the new modules
:math:`z` of :math:`K(S)` satisfy :math:`\sum_{k,l} C_{kl} z_{kl}\ge R` with
:math:`R = D(S)-\sum_{k\in K(S)\cap K^E}\bar C_k`. Hence, for every integer solution,

.. math::

    \sum_{k\in K(S)}\sum_l F_{kl}\,z_{kl} \;\ge\; \Phi(S) := \min\Big\{\sum F_{kl}z_{kl} :
    \sum C_{kl}z_{kl}\ge R,\ \sum_l z_{kl}\le 1,\ z\in\{0,1\}\Big\}.

:math:`\Phi` is a small knapsack with one choice per site, solved exactly by the MIP adapter
(its best bound is used, so a time-limited solve stays valid). The same argument for the
villages of :math:`S` without a direct arc gives a cut on the stations of :math:`J(S)`.

The cuts hold for every policy; they are strong when :math:`K(S)` is small, which is the
case of counties under ``sharing = "none"``, and weak (but still valid) under sharing,
where :math:`K(S)` reaches the neighbours' plants that serve other counties too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from wastenet.siting.mip import MipOptions, solve_matrix
from wastenet.siting.model import CompiledModel, Echelon

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class CoverCut:
    """:math:`\\sum_o F_o z_o \\ge` ``rhs`` over the ``options`` (indices into the echelon's
    ``opt_*`` arrays) of one ``echelon``; ``group`` is the village group it came from."""

    echelon: str
    group: int
    options: IntArray
    rhs: float


def min_fixed_cost(ech: Echelon, options: IntArray, need: float) -> float:
    """:math:`\\Phi`: least total fixed cost of whole modules among ``options`` (at most one
    per site) with capacity at least ``need``; ``inf`` when even all of them fall short.
    The MIP's best bound is returned, so the value never exceeds the true minimum."""
    if need <= 0:
        return 0.0
    if options.size == 0:
        return float("inf")
    sites, col_site = np.unique(ech.opt_site[options], return_inverse=True)
    best_cap = np.zeros(sites.size)
    np.maximum.at(best_cap, col_site, ech.opt_cap[options])
    if best_cap.sum() < need * (1 - 1e-12):
        return float("inf")
    n = options.size
    rows = np.concatenate([np.zeros(n, np.int64), 1 + col_site])
    cols = np.concatenate([np.arange(n), np.arange(n)])
    vals = np.concatenate([ech.opt_cap[options], np.ones(n)])
    a = csr_matrix((vals, (rows, cols)), shape=(1 + sites.size, n))
    lo = np.concatenate([[need], np.full(sites.size, -np.inf)])
    hi = np.concatenate([[np.inf], np.ones(sites.size)])
    sol = solve_matrix(ech.opt_fixed[options].astype(float), a, lo, hi, np.zeros(n),
                       np.ones(n), np.ones(n, bool),
                       MipOptions(backend="SCIP", time_limit_s=10.0, mip_gap=0.0))
    if sol.status == "infeasible":
        return float("inf")
    return max(0.0, float(sol.bound)) if np.isfinite(sol.bound) else 0.0


def cover_cuts(model: CompiledModel, groups: IntArray, *, min_gain: float = 0.0
               ) -> list[CoverCut]:
    """One incinerator cut and one station cut per group of villages (``groups[i]`` is the
    group of village ``i``, ``-1`` for none; counties in practice). A cut is kept when its
    right-hand side is positive and finite. See the module docstring for validity."""
    tr, inc = model.transfer, model.incinerator
    w = model.demand
    out: list[CoverCut] = []
    firm = ~model.can_skip
    col, dirc, haul = model.collect, model.direct, model.haul
    has_direct = np.zeros(w.shape[0], bool)
    has_direct[dirc.src] = True
    for g in np.unique(groups[groups >= 0]).tolist():
        in_s = (groups == g) & firm
        demand = float(w[in_s].sum())
        if demand <= 0:
            continue
        # plants: direct arcs of S and haul arcs of the stations S reaches
        j_s = np.zeros(tr.n_sites, bool)
        j_s[col.dst[in_s[col.src]]] = True
        k_s = np.zeros(inc.n_sites, bool)
        k_s[dirc.dst[in_s[dirc.src]]] = True
        k_s[haul.dst[j_s[haul.src]]] = True
        need_k = demand - float(inc.existing_cap[k_s & inc.existing].sum())
        # stations: the villages of S that have no direct arc must pass one of J(S)
        via = in_s & ~has_direct
        need_j = float(w[via].sum())
        j_v = np.zeros(tr.n_sites, bool)
        j_v[col.dst[via[col.src]]] = True
        need_j -= float(tr.existing_cap[j_v & tr.existing].sum())
        for name, ech, mask, need in (("incinerator", inc, k_s, need_k),
                                      ("transfer", tr, j_v, need_j)):
            if need <= 0:
                continue
            opts = np.flatnonzero(mask[ech.opt_site] & ~ech.existing[ech.opt_site])
            phi = min_fixed_cost(ech, opts, need)
            if np.isfinite(phi) and phi > min_gain:
                out.append(CoverCut(name, int(g), opts.astype(np.int64), phi))
    return out


__all__ = ["CoverCut", "cover_cuts", "min_fixed_cost"]
