r"""Mathematical model of two-echelon capacitated siting, and its compiled array form.

Sets
----
* :math:`I` villages, demand :math:`w_i \ge 0` t/d;
* :math:`J` transfer candidates, :math:`K` incinerator candidates;
* :math:`L_s` the real size options of site :math:`s` (capacity :math:`C_{sl}` t/d,
  annualised fixed cost :math:`F_{sl}` yuan/yr); existing sites :math:`J^E, K^E` are open with
  capacity :math:`\bar C_s` and no fixed cost; excluded sites are dropped;
* arcs :math:`A^c \subseteq I\times J` (collect), :math:`A^d \subseteq I\times K` (direct),
  :math:`A^h \subseteq J\times K` (haul), already filtered by the distance limits (service
  radius for :math:`A^c`, ``policy.direct_radius_km`` for :math:`A^d`, maximum haul for
  :math:`A^h`) and the sharing policy of both echelons, and capped by the scenario
  compiler to the nearest candidates (``network.neighbours_per_village`` collect arcs
  and 8 direct arcs per village, ``network.incinerators_per_station`` haul arcs per
  station; see :mod:`wastenet.siting.build`);
* count targets :math:`T`, each with an echelon, a region :math:`R_t` (the province or one
  prefecture), a sense in ``{=, <=, >=}`` and a value :math:`v_t`.

Variables
---------
* :math:`y_{jl}\in\{0,1\}` open transfer site :math:`j` at size :math:`l` (new sites only);
  :math:`z_{kl}\in\{0,1\}` likewise for incinerators;
* :math:`x_{ij}\in[0,1]` share of village :math:`i` collected to transfer station :math:`j`;
  :math:`d_{ik}\in[0,1]` share delivered directly to incinerator :math:`k` (both binary when
  ``single_source``);
* :math:`h_{jk}\ge 0` t/d hauled from station :math:`j` to incinerator :math:`k`;
* :math:`u_i\in[0,1]` uncovered share, present only when an uncovered penalty :math:`P` is
  given and :math:`i` is not ``must_cover`` (otherwise fixed to 0).

Write :math:`Y_j=\sum_l y_{jl}` (1 for an existing site) and :math:`\mathrm{Cap}_j=
\sum_l C_{jl}y_{jl}` (:math:`\bar C_j` for an existing site); likewise :math:`Z_k`,
:math:`\mathrm{Cap}_k`. Unit arc costs :math:`c_a` are yuan/yr per t/d; :math:`t_s` is the
throughput cost of site :math:`s` in yuan/yr per t/d of inflow.

Objective (yuan/yr)
-------------------
.. math::

    \min \sum_{j,l} F_{jl}y_{jl} + \sum_{k,l}F_{kl}z_{kl}
      + \sum_{(i,j)\in A^c}(c_{ij}+t_j)w_i x_{ij}
      + \sum_{(i,k)\in A^d}(c_{ik}+t_k)w_i d_{ik}
      + \sum_{(j,k)\in A^h}(c_{jk}+t_k)h_{jk} + \sum_i P w_i u_i

Constraints
-----------
1. coverage: :math:`\sum_j x_{ij}+\sum_k d_{ik}+u_i = 1` for every village;
2. one size per site: :math:`Y_j\le 1` (:math:`=1` for a forced site), same for :math:`Z_k`;
3. strong linking: :math:`x_{ij}\le Y_j`, :math:`d_{ik}\le Z_k` (this is what makes the LP
   bound tight); haul linking :math:`h_{jk}\le \min(\max_l C_{jl},\max_l C_{kl})\,Z_k`
   (:math:`\max_l C_{sl}` reads :math:`\bar C_s` for an existing site);
4. transfer capacity: :math:`\sum_i w_i x_{ij}\le \mathrm{Cap}_j`;
5. flow conservation at stations: :math:`\sum_k h_{jk}=\sum_i w_i x_{ij}`;
6. incinerator capacity: :math:`\sum_j h_{jk}+\sum_i w_i d_{ik}\le\mathrm{Cap}_k`;
7. counts of NEW sites: :math:`\sum_{s\in R_t,\,\text{new}}Y_s \;(=,\le,\ge)\; v_t`.

The LP relaxation (all 0/1 variables in [0,1]) is a valid lower bound on the optimum because
every integer-feasible solution is feasible for it; the MIP solver's best bound is valid for
the same reason. :func:`compile_model` turns a :class:`~wastenet.siting.data.SitingData`
into flat numpy arrays for this model (excluded sites removed, arcs to unusable sites
removed, duplicate arcs reduced to the cheapest) without mutating the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wastenet.siting.data import Arcs, Sites, SiteStatus, SitingData

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Echelon:
    """Compiled sites of one echelon.

    Options are the (site, size) pairs a new site may open at; ``opt_*`` arrays are indexed by
    option. ``existing[s]`` marks sites open for free at ``existing_cap[s]``; ``usable[s]``
    is False for excluded sites (and sites that cannot be used, e.g. stations without haul).
    """

    opt_site: IntArray
    opt_size: IntArray
    opt_cap: FloatArray
    opt_fixed: FloatArray
    existing: BoolArray
    existing_cap: FloatArray
    forced: BoolArray
    usable: BoolArray
    max_cap: FloatArray  #: largest capacity the site can have (0 when unusable)
    throughput: FloatArray
    prefecture: tuple[str | None, ...]

    @property
    def n_sites(self) -> int:
        return int(self.existing.shape[0])

    def cheapest_fixed(self) -> FloatArray:
        """Per site, the fixed cost of its cheapest size (``inf`` for a site without
        options: existing or excluded)."""
        out = np.full(self.n_sites, np.inf)
        np.minimum.at(out, self.opt_site, self.opt_fixed)
        return out


@dataclass(frozen=True, eq=False)
class CompiledArcs:
    """Usable arcs: ``src``, ``dst``, ``cost`` = ``unit`` cost + throughput cost of ``dst``."""

    src: IntArray
    dst: IntArray
    cost: FloatArray
    unit: FloatArray

    def subset(self, mask: BoolArray) -> CompiledArcs:
        return CompiledArcs(self.src[mask], self.dst[mask], self.cost[mask], self.unit[mask])

    def __len__(self) -> int:
        return int(self.src.shape[0])


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """Flat arrays of the model above for one :class:`SitingData`."""

    demand: FloatArray
    can_skip: BoolArray  #: village may be left uncovered (penalty given, not must_cover)
    penalty: float
    single_source: bool
    transfer: Echelon
    incinerator: Echelon
    collect: CompiledArcs
    direct: CompiledArcs
    haul: CompiledArcs
    #: (echelon, sense, value, new-site mask, region label) per count target
    counts: tuple[tuple[str, str, int, BoolArray, str], ...]

    def echelon(self, name: str) -> Echelon:
        """``transfer`` or ``incinerator`` by name (as in ``counts``)."""
        return self.transfer if name == "transfer" else self.incinerator


def _echelon(data: SitingData, sites: Sites) -> Echelon:
    n = len(sites)
    status = sites.status
    existing = status == SiteStatus.EXISTING
    excluded = status == SiteStatus.EXCLUDED
    forced = status == SiteStatus.FORCED
    opt_site: list[int] = []
    opt_size: list[int] = []
    max_cap = np.zeros(n)
    for s in range(n):
        if existing[s]:
            max_cap[s] = sites.existing_capacity[s]
            continue
        if excluded[s]:
            continue
        for sl in range(int(sites.n_sizes[s])):
            opt_site.append(s)
            opt_size.append(sl)
            max_cap[s] = max(max_cap[s], sites.size_capacity[s, sl])
    os_ = np.asarray(opt_site, dtype=np.int64)
    ol = np.asarray(opt_size, dtype=np.int64)
    pref: list[str | None] = []
    for s in range(n):
        c = int(sites.county[s])
        pref.append(data.county_prefecture[c] if 0 <= c < len(data.county_prefecture) else None)
    return Echelon(
        opt_site=os_,
        opt_size=ol,
        opt_cap=sites.size_capacity[os_, ol] if os_.size else np.zeros(0),
        opt_fixed=sites.size_fixed_cost[os_, ol] if os_.size else np.zeros(0),
        existing=existing,
        existing_cap=np.where(existing, sites.existing_capacity, 0.0),
        forced=forced,
        usable=~excluded,
        max_cap=max_cap,
        throughput=np.asarray(sites.throughput_cost, dtype=np.float64),
        prefecture=tuple(pref),
    )


def _arcs(arcs: Arcs, keep_dst: BoolArray, keep_src: BoolArray | None,
          throughput: FloatArray) -> CompiledArcs:
    if len(arcs) == 0:
        z = np.zeros(0, dtype=np.int64)
        return CompiledArcs(z, z, np.zeros(0), np.zeros(0))
    mask = keep_dst[arcs.dst]
    if keep_src is not None:
        mask &= keep_src[arcs.src]
    src, dst, unit = arcs.src[mask], arcs.dst[mask], arcs.unit_cost[mask]
    order = np.lexsort((unit, dst, src))
    src, dst, unit = src[order], dst[order], unit[order]
    first = np.ones(src.shape[0], dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    src, dst, unit = src[first], dst[first], unit[first]
    return CompiledArcs(src, dst, unit + throughput[dst], unit)


def compile_model(data: SitingData) -> CompiledModel:
    """Compile ``data`` into the arrays of the model (see the module docstring)."""
    tr = _echelon(data, data.transfer)
    inc = _echelon(data, data.incinerator)
    inc_ok = inc.usable & (inc.max_cap > 0)
    haul = _arcs(data.haul, inc_ok, tr.usable, inc.throughput)
    has_haul = np.zeros(tr.n_sites, dtype=bool)
    has_haul[haul.src] = True
    tr_ok = tr.usable & has_haul & (tr.max_cap > 0)
    haul = haul.subset(tr_ok[haul.src])
    collect = _arcs(data.collect, tr_ok, None, tr.throughput)
    direct = _arcs(data.direct, inc_ok, None, inc.throughput)
    penalty = data.uncovered_penalty
    can_skip = (np.zeros(data.n_villages, dtype=bool) if penalty is None
                else ~data.must_cover)
    counts = []
    for t in data.counts:
        ech = tr if t.echelon == "transfer" else inc
        in_region = np.array(
            [t.prefecture is None or p == t.prefecture for p in ech.prefecture], dtype=bool
        ).reshape(-1)
        label = f"prefecture {t.prefecture}" if t.prefecture is not None else "province"
        counts.append((t.echelon, t.sense, int(t.value), in_region & ~ech.existing, label))
    return CompiledModel(
        demand=np.asarray(data.demand, dtype=np.float64),
        can_skip=can_skip,
        penalty=float(penalty or 0.0),
        single_source=data.single_source,
        transfer=tr,
        incinerator=inc,
        collect=collect,
        direct=direct,
        haul=haul,
        counts=tuple(counts),
    )
