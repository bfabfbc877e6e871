"""Key performance indicators of a siting result, as a JSON-able dict.

Cost allocation to counties (for cost per tonne and the sharing table): every tonne carries
the county of its village. A transfer station's county mix is its inflow by county; its haul
flows carry that mix in proportion. Each facility's fixed cost and throughput cost, and each
arc's transport cost, are split among counties in proportion to the tonnes per day each
county sends through it. A facility with no inflow charges its fixed cost to its own county.
Cost that belongs to no county (a facility or village without one) is
``unallocated_cost_yuan_per_year``.

The uncovered-village penalty (``result.cost["uncovered_penalty"]``: a modelling cost
that steers the solver, not money anyone spends) is allocated to no county or prefecture
and is left out of every cost per tonne; it is reported on its own as
``uncovered_penalty_yuan_per_year`` = P x sum_i w_i u_i (P in yuan/yr per t/d, w_i the
village's t/d, u_i the share of it left uncovered, 0 within ``SHARE_TOL`` of full cover:
the solver's ``uncovered_penalty`` cost line). The three lines add up to the total cost
(up to float rounding)::

    sum(cost_by_county[c]["cost_yuan_per_year"]) + unallocated_cost_yuan_per_year
        + uncovered_penalty_yuan_per_year == total_cost

and ``cost_by_prefecture`` sums ``cost_by_county``. A region's cost per tonne =
its allocated yuan/yr / (its covered t/d x 365); the top-level ``cost_per_tonne_yuan`` =
(total cost - uncovered penalty) yuan/yr / (covered t/d x 365), i.e. the allocated plus
unallocated cost per tonne collected.

``existing_facilities_used`` counts the existing facilities that receive waste (inflow
> 0 t/d); an existing facility the result leaves empty is not counted.

Distances
---------
Every village flow ``r`` (village ``i`` sends the fraction ``f_r > 0`` of its demand to one
facility) has a distance ``d_r`` in metres: the ``distance_m`` of the arc it uses, a
collection arc village -> transfer station, or, for a *direct delivery*, a direct arc
village -> incinerator (when several arcs join the same pair, the one of lowest unit
cost). Station -> plant hauls are not collection distances.

``mean_collection_distance_m`` is a mean **per village, not per tonne**, and it
**includes direct deliveries**::

    mean_collection_distance_m = (1 / |S|) sum_{i in S} (sum_{r of i} f_r d_r) / (sum_{r of i} f_r)

with ``S`` the villages that send any share (``sum f_r > 0``). Each village first gets the
fraction-weighted mean distance of its own flows (its one flow with single sourcing; for
a village split between facilities, the mean weighted by the fractions; for a partly
covered village, the mean over the part that is served), then every village in ``S``
counts once, whatever its tonnes: a village of 0.05 t/day weighs as much as one of
5 t/day. It is the mean distance from a village to
the first facility its waste goes to, a station or (direct delivery) a plant. Villages
that send nothing are left out; with none served it is None. (A tonne-weighted mean can be
computed from the assignment rows: ``sum(t_per_day x distance_m) / sum(t_per_day)``.)

``max_collection_distance_m`` is the longest ``d_r`` over all village flows, collection and
direct alike, however small the flow's fraction (None when there is no flow).

``tonne_km_per_day`` = (sum over village flows of ``w_i f_r d_r`` + sum over hauls of
``t_h d_h``) / 1000: collection, direct delivery and station -> plant haul together, in
t x km per day.

Facility counts and capacities
------------------------------
``transfer_stations_opened`` and ``incinerators_opened`` count the **new** facilities only
(a module size opened at a candidate); existing facilities are in
``existing_facilities_used`` (if they receive waste) and in neither count.

``transfer_capacity_opened_t_per_day`` (and ``incinerator_capacity_opened_t_per_day``) is
the sum of the nameplate capacities (t/day) of the modules opened at **new** transfer
stations (incinerators): existing facilities are not included, whether used or not, and
the figure is installed capacity, not inflow or utilisation. It is not rounded.

The siting summary (:func:`wastenet.pipeline.summarise`, ``summary.json``) has a second
transfer capacity at its top level, ``transfer_capacity_t_per_day`` (and
``incinerator_capacity_t_per_day``): the sum of ``capacity_t_per_day`` over its facility
rows of that kind, which list every open facility, so it is the new modules' capacity
**plus the remaining capacity of every existing facility** of that kind (existing
facilities are always open; one that receives no waste counts too), rounded to 0.001
t/day. The two figures are equal when there are no existing facilities of the kind (up to
that rounding) and otherwise differ by the existing facilities' remaining capacity.
"""

from __future__ import annotations

import numpy as np

from wastenet.siting.data import SHARE_TOL, Arcs, SitingData, missing_share
from wastenet.siting.result import SitingResult


def _lookup(arcs: Arcs, src: np.ndarray, dst: np.ndarray, n_dst: int) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Distance and unit cost of the cheapest arc for each (src, dst) pair (NaN if none)."""
    key = arcs.src * max(1, n_dst) + arcs.dst
    order = np.lexsort((arcs.unit_cost, key))
    key_s = key[order]
    first = np.ones(key_s.shape[0], dtype=bool)
    first[1:] = key_s[1:] != key_s[:-1]
    key_u, idx = key_s[first], order[first]
    q = src * max(1, n_dst) + dst
    pos = np.searchsorted(key_u, q)
    pos = np.minimum(pos, max(0, key_u.shape[0] - 1))
    found = key_u.shape[0] > 0
    hit = (key_u[pos] == q) if found else np.zeros(q.shape[0], dtype=bool)
    dist = np.where(hit, arcs.distance_m[idx[pos]] if found else np.nan, np.nan)
    cost = np.where(hit, arcs.unit_cost[idx[pos]] if found else np.nan, np.nan)
    return dist, cost


def kpis(data: SitingData, result: SitingResult) -> dict[str, object]:
    """KPIs of ``result``: coverage, distances, tonne-km, cost per tonne, shared facilities.

    ``uncovered_village_ids`` lists the villages not fully covered (only possible when the
    scenario gives an uncovered penalty); the collection distances are None when no
    village is served. ``mean_collection_distance_m`` is a mean over the served villages,
    each counted once (not weighted by tonnes), of the distance from the village to the
    facility it delivers to, transfer station or, for a direct delivery, incinerator.
    ``transfer_capacity_opened_t_per_day`` and ``incinerator_capacity_opened_t_per_day``
    are the capacities of the newly opened modules only, without existing facilities
    (unlike the summary's top-level ``transfer_capacity_t_per_day``). The costs by county
    and prefecture, ``unallocated_cost_yuan_per_year`` and
    ``uncovered_penalty_yuan_per_year`` add up to the total cost; the costs per tonne leave
    the penalty out. The module docstring defines each figure."""
    n = data.n_villages
    w = np.asarray(data.demand, dtype=float)
    n_c = len(data.county_codes)
    m, q = len(data.transfer), len(data.incinerator)
    fv, ff = result.flow_village, result.flow_facility
    fd, fr = result.flow_direct.astype(bool), result.flow_fraction
    t = w[fv] * fr
    dist = np.zeros(fv.shape[0])
    unit = np.zeros(fv.shape[0])
    col = ~fd
    dist[col], unit[col] = _lookup(data.collect, fv[col], ff[col], m)
    dist[fd], unit[fd] = _lookup(data.direct, fv[fd], ff[fd], q)
    hd, hu = _lookup(data.haul, result.haul_transfer, result.haul_incinerator, q)
    share = np.bincount(fv, weights=fr, minlength=n)
    covered = share >= 1 - SHARE_TOL
    vdist = np.bincount(fv, weights=fr * dist, minlength=n)
    served = share > 0
    # county of each flow, as a column index (n_c = "no county")
    vc = np.asarray(data.village_county)
    vcol = np.where((vc >= 0) & (vc < n_c), vc, n_c)
    fcol = vcol[fv]
    width = n_c + 1
    # tonnes per (station, county) and per (incinerator, county)
    tr_mix = np.zeros((m, width))
    np.add.at(tr_mix, (ff[col], fcol[col]), t[col])
    in_mix = np.zeros((q, width))
    np.add.at(in_mix, (ff[fd], fcol[fd]), t[fd])
    tr_in = tr_mix.sum(axis=1)
    frac = np.divide(tr_mix, tr_in[:, None], out=np.zeros_like(tr_mix),
                     where=tr_in[:, None] > 0)
    haul_mix = frac[result.haul_transfer] * result.haul_t_per_day[:, None]
    np.add.at(in_mix, result.haul_incinerator, haul_mix)
    alloc = np.zeros(width)
    np.add.at(alloc, fcol, t * unit)  # collection + direct transport
    alloc += (haul_mix * hu[:, None]).sum(axis=0)
    alloc += (tr_mix * data.transfer.throughput_cost[:, None]).sum(axis=0)
    alloc += (in_mix * data.incinerator.throughput_cost[:, None]).sum(axis=0)
    # the uncovered penalty is not allocated (module docstring): its own line
    missing = missing_share(share)
    penalty_yuan_per_year = float(data.uncovered_penalty or 0.0) * float(np.dot(w, missing))
    shared: list[dict[str, object]] = []
    for kind, sites, sizes, mix in (("transfer", data.transfer, result.transfer_size, tr_mix),
                                    ("incinerator", data.incinerator, result.incinerator_size,
                                     in_mix)):
        for s in np.flatnonzero(sizes != -1).tolist():
            fixed = float(sites.size_fixed_cost[s, sizes[s]]) if sizes[s] >= 0 else 0.0
            tot = float(mix[s].sum())
            if tot > 0:
                alloc += fixed * mix[s] / tot
            else:
                c = int(sites.county[s])
                alloc[c if 0 <= c < n_c else n_c] += fixed
            users = np.flatnonzero(mix[s, :n_c] > 1e-12)
            if users.size > 1:
                shared.append({
                    "kind": kind,
                    "id": sites.ids[s],
                    "name": sites.names[s],
                    "county": (data.county_codes[int(sites.county[s])]
                               if 0 <= int(sites.county[s]) < n_c else None),
                    "t_per_day": tot,
                    "fixed_cost_yuan_per_year": fixed,
                    "county_shares": {data.county_codes[c]: float(mix[s, c] / tot)
                                      for c in users.tolist()},
                    "county_fixed_cost_yuan_per_year": {
                        data.county_codes[c]: float(fixed * mix[s, c] / tot)
                        for c in users.tolist()},
                })
    tonnes = np.bincount(vcol, weights=w * np.minimum(share, 1.0), minlength=width)
    per_county = {}
    for c in range(n_c):
        per_county[data.county_codes[c]] = {
            "name": data.county_names[c],
            "t_per_day": float(tonnes[c]),
            "cost_yuan_per_year": float(alloc[c]),
            "cost_per_tonne_yuan": float(alloc[c] / (tonnes[c] * 365)) if tonnes[c] > 0
            else None,
        }
    per_pref: dict[str, dict[str, float | None]] = {}
    for c in range(n_c):
        p = data.county_prefecture[c]
        e = per_pref.setdefault(p, {"t_per_day": 0.0, "cost_yuan_per_year": 0.0})
        e["t_per_day"] = float(e["t_per_day"] or 0.0) + float(tonnes[c])
        e["cost_yuan_per_year"] = float(e["cost_yuan_per_year"] or 0.0) + float(alloc[c])
    for e in per_pref.values():
        tp = float(e["t_per_day"] or 0.0)
        e["cost_per_tonne_yuan"] = float(e["cost_yuan_per_year"] or 0.0) / (tp * 365) \
            if tp > 0 else None
    total_t = float(np.dot(w, np.minimum(share, 1.0)))
    # inflow of each facility (t/d): collected villages; direct villages plus hauls
    tr_inflow_t_per_day = tr_in
    inc_inflow_t_per_day = (np.bincount(ff[fd], weights=t[fd], minlength=q)
                            + np.bincount(result.haul_incinerator,
                                          weights=result.haul_t_per_day, minlength=q))
    existing_used = int(np.sum((result.transfer_size == -2) & (tr_inflow_t_per_day > 0))
                        + np.sum((result.incinerator_size == -2) & (inc_inflow_t_per_day > 0)))
    tkm = float(np.dot(t, np.nan_to_num(dist)) + np.dot(result.haul_t_per_day,
                                                         np.nan_to_num(hd))) / 1000.0
    return {
        "villages": n,
        "villages_covered": int(covered.sum()),
        "villages_uncovered": int(n - covered.sum()),
        "t_per_day_covered": total_t,
        "uncovered_village_ids": [data.village_ids[i] for i in np.flatnonzero(~covered)],
        "mean_collection_distance_m": float((vdist[served] / share[served]).mean())
        if served.any() else None,
        "max_collection_distance_m": float(np.nanmax(dist))
        if dist.size and not np.all(np.isnan(dist)) else None,
        "tonne_km_per_day": tkm,
        "cost_per_tonne_yuan": float((result.total_cost - penalty_yuan_per_year)
                                     / (total_t * 365)) if total_t > 0 else None,
        "transfer_stations_opened": int(np.sum(result.transfer_size >= 0)),
        "incinerators_opened": int(np.sum(result.incinerator_size >= 0)),
        "existing_facilities_used": existing_used,
        "transfer_capacity_opened_t_per_day": float(sum(
            data.transfer.size_capacity[s, result.transfer_size[s]]
            for s in np.flatnonzero(result.transfer_size >= 0).tolist())),
        "incinerator_capacity_opened_t_per_day": float(sum(
            data.incinerator.size_capacity[s, result.incinerator_size[s]]
            for s in np.flatnonzero(result.incinerator_size >= 0).tolist())),
        "cost_by_county": per_county,
        "cost_by_prefecture": per_pref,
        "unallocated_cost_yuan_per_year": float(alloc[n_c]),
        "uncovered_penalty_yuan_per_year": penalty_yuan_per_year,
        "shared_facilities": shared,
    }
