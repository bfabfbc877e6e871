"""Compile a built :class:`~wastenet.scenario.network.Network` into :class:`SitingData`.

Arcs (all sparse, vectorised) are the network's neighbour lists, which already hold only
the candidates the sharing policy allows (:mod:`wastenet.scenario.network`: the policy
is applied before the nearest-``k`` cut, so a site is never short of allowed arcs because
nearer candidates of other counties filled its list):

* collect ``i -> j``: the nearest transfer candidates of village ``i`` within
  ``policy.service_radius_km`` whose county the sharing policy allows from ``i``'s
  county, at most ``network.neighbours_per_village`` of them; unit cost
  ``collection_haul_yuan_per_t_km x road_km x 365`` (yuan/yr per t/d);
* direct ``i -> k``: the nearest incinerator candidates of village ``i`` within
  ``policy.direct_radius_km`` that the policy allows, at most 8 of them (a fixed cap,
  :data:`~wastenet.scenario.network.DIRECT_NEIGHBOURS`: a village with more allowed
  plants in reach does not see the farther ones); same unit cost;
* haul ``j -> k``: the nearest allowed incinerator candidates of station ``j`` within
  ``policy.max_transfer_haul_km``, at most ``network.incinerators_per_station``; unit
  cost ``transfer_haul_yuan_per_t_km x road_km x 365``.

A network whose lists were built for other settings than its scenario's (another
sharing policy, limit or list length, given with ``dataclasses.replace``) has them
rebuilt first (:func:`wastenet.scenario.network.refresh_neighbours`), so the arcs are
always those of the scenario compiled.

Road distances are the network's (the estimate, or the user distance matrix, already
filtered by the three limits in :func:`wastenet.scenario.network.build_network`; with a
matrix the ``k`` nearest by road are kept among the network's longer lists). The
limits are recorded in :attr:`SitingData.service_radius_m`,
:attr:`~SitingData.direct_radius_m` and :attr:`~SitingData.max_haul_m` for the checker.

Fixed costs are annualised with the capital recovery factor; throughput costs are the
variable cost per tonne x 365.

A scenario may lack candidates of one kind (no transfer candidates: direct delivery
only). Before the data go to a solver, :func:`check_coverage` names, in the scenario's
own settings, why a village that must be covered cannot be: no incinerator may open at
all, no station within ``policy.service_radius_km``, stations whose haul to every
incinerator exceeds ``policy.max_transfer_haul_km``, the sharing policy, or exclusions.
Before that, :func:`~wastenet.scenario.network.check_count_prefectures` refuses a count
target whose prefecture matches no county, or holds no candidate of its echelon: it would
count no site.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.errors import InfeasibleError
from wastenet.scenario.network import (
    DIRECT_NEIGHBOURS,
    Candidates,
    Neighbours,
    Network,
    check_count_prefectures,
    neighbour_lists,
    override_with_matrix,
    refresh_neighbours,
    sharing_matrix,
)
from wastenet.scenario.schema import SizeSpec, annualised_fixed_cost
from wastenet.siting.data import Arcs, CountTarget, Sites, SiteStatus, SitingData

DAYS = 365.0


def _sizes_table(per_site: list[list[SizeSpec]], rate: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                            tuple[tuple[str, ...], ...]]:
    width = max((len(s) for s in per_site), default=1) or 1
    cap = np.zeros((len(per_site), width))
    fix = np.zeros((len(per_site), width))
    n = np.zeros(len(per_site), dtype=np.int64)
    names = []
    for r, sizes in enumerate(per_site):
        n[r] = len(sizes)
        names.append(tuple(s.name or f"{s.capacity_t_per_day:g}t" for s in sizes))
        for c, s in enumerate(sizes):
            cap[r, c] = s.capacity_t_per_day
            fix[r, c] = annualised_fixed_cost(s, rate)
    return cap, fix, n, tuple(names)


def _sites(c: Candidates, sizes: list[list[SizeSpec]], rate: float,
           throughput_yuan_per_t: float) -> Sites:
    cidx = liaoning.county_index()
    status = np.full(len(c), SiteStatus.FREE, dtype=np.int64)
    status[c.forced] = SiteStatus.FORCED
    status[c.excluded] = SiteStatus.EXCLUDED
    status[c.existing_capacity > 0] = SiteStatus.EXISTING
    cap, fix, n, names = _sizes_table(sizes, rate)
    return Sites(
        ids=c.ids, names=c.names, county=np.array([cidx[x] for x in c.county], dtype=np.int64),
        lon=c.lon, lat=c.lat, size_capacity=cap, size_fixed_cost=fix, n_sizes=n,
        size_names=names, status=status, existing_capacity=c.existing_capacity,
        throughput_cost=np.full(len(c), throughput_yuan_per_t * DAYS),
    )


def _arcs(nb: Neighbours, src_county: NDArray[np.int64], dst_county: NDArray[np.int64],
          allowed: NDArray[np.bool_], keep: int, yuan_per_t_km: float) -> Arcs:
    idx = nb.idx
    if len(dst_county) == 0 or idx.size == 0:  # no candidate of the target kind: no arcs
        z = np.zeros(0, dtype=np.int64)
        return Arcs(src=z, dst=z, distance_m=np.zeros(0), unit_cost=np.zeros(0))
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    ok = valid & allowed[src_county[:, None], dst_county[safe]]
    # keep the first `keep` allowed entries of each row (rows are sorted nearest first)
    rank = np.cumsum(ok, axis=1)
    ok &= rank <= keep
    rows, cols = np.nonzero(ok)
    dst = idx[rows, cols]
    dist = nb.dist_m[rows, cols]
    return Arcs(src=rows, dst=dst, distance_m=dist,
                unit_cost=yuan_per_t_km * dist / 1000.0 * DAYS)


def build_siting_data(network: Network) -> SitingData:
    """The siting problem of a network under its scenario's policy and costs."""
    network = refresh_neighbours(network)
    sc = network.scenario
    counties = liaoning.load_counties()
    cidx = liaoning.county_index()
    rate = sc.costs.discount_rate
    tc, ic = sc.candidates.transfer, sc.candidates.incinerator

    transfer = _sites(network.transfer, [list(tc.sizes)] * len(network.transfer), rate,
                      tc.opex_yuan_per_t)
    inc_sizes: list[list[SizeSpec]] = []
    for kind in network.incinerator.kind:
        if kind == "county_seat":
            inc_sizes.append(list(ic.county_seat_sizes))
        elif kind == "township":
            inc_sizes.append(list(ic.township_sizes))
        else:
            both = list(ic.township_sizes) + list(ic.county_seat_sizes)
            inc_sizes.append(sorted(both, key=lambda s: s.capacity_t_per_day))
    incinerator = _sites(network.incinerator, inc_sizes, rate, ic.processing_yuan_per_t)

    v = network.villages
    v_county = np.array([cidx[c] for c in v.county], dtype=np.int64)
    allowed = sharing_matrix(sc.policy.sharing)
    haul_cost = sc.costs.collection_haul_yuan_per_t_km
    collect = _arcs(network.village_to_transfer, v_county, transfer.county, allowed,
                    sc.network.neighbours_per_village, haul_cost)
    direct = _arcs(network.village_to_incinerator, v_county, incinerator.county, allowed,
                   DIRECT_NEIGHBOURS, haul_cost)
    haul = _arcs(network.transfer_to_incinerator, transfer.county, incinerator.county, allowed,
                 sc.network.incinerators_per_station, sc.costs.transfer_haul_yuan_per_t_km)

    must = np.zeros(len(v), dtype=bool)
    if sc.policy.must_cover_tourism:
        must |= v.tourism
    if sc.policy.must_cover_demonstration:
        must |= v.demonstration
    penalty = sc.policy.uncovered_penalty_yuan_per_t
    data = SitingData(
        demand=v.waste_t_per_day, village_ids=v.ids, village_names=v.names,
        village_county=v_county, village_lon=v.lon, village_lat=v.lat, must_cover=must,
        county_codes=tuple(c.adcode for c in counties),
        county_names=tuple(c.name for c in counties),
        county_prefecture=tuple(c.prefecture_adcode for c in counties),
        transfer=transfer, incinerator=incinerator, collect=collect, direct=direct, haul=haul,
        single_source=True,
        counts=tuple(CountTarget(echelon=t.echelon, value=t.value, sense=t.sense,
                                 prefecture=t.prefecture) for t in sc.policy.counts),
        uncovered_penalty=None if penalty is None else penalty * DAYS,
        name=sc.name, synthetic=network.synthetic, seed=network.seed,
        meta={"sharing": sc.policy.sharing, "greenfield": network.meta.get("greenfield")},
        service_radius_m=sc.policy.service_radius_km * 1000.0,
        direct_radius_m=sc.policy.direct_radius_km * 1000.0,
        max_haul_m=sc.policy.max_transfer_haul_km * 1000.0,
    )
    check_count_prefectures(sc, network.transfer, network.incinerator)
    check_coverage(network, data)
    return data


def _any_per_row(rows: NDArray[np.int64], flag: NDArray[np.bool_], n: int) -> NDArray[np.bool_]:
    """``out[r]``: some entry with row ``rows[e] == r`` has ``flag[e]``."""
    out = np.zeros(n, dtype=bool)
    out[rows[flag]] = True
    return out


def _no_candidates_text(sc_kind: str, settings: dict[str, object]) -> str:
    shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                      for k, v in settings.items())
    return f"the scenario has no {sc_kind} candidates ({shown}, no sites, no existing ones)"


def _lists_of_any_county(network: Network) -> tuple[Neighbours, Neighbours, Neighbours]:
    """The network's neighbour lists as if every county could use every other's sites
    (``free``), for naming the sharing policy as the cause of a coverage gap. With a
    user matrix, the pairs it covers take its distance, the others keep the estimate."""
    sc = network.scenario
    v2t, v2i, t2i, _ = neighbour_lists(sc, network.villages, network.transfer,
                                       network.incinerator, None, sharing="free")
    m = network.distance_matrix
    if m is None:
        return v2t, v2i, t2i
    pol = sc.policy
    v, tr, inc = network.villages, network.transfer, network.incinerator
    return (override_with_matrix(m, v.ids, tr.ids, v2t, pol.service_radius_km * 1000.0),
            override_with_matrix(m, v.ids, inc.ids, v2i, pol.direct_radius_km * 1000.0),
            override_with_matrix(m, tr.ids, inc.ids, t2i,
                                  pol.max_transfer_haul_km * 1000.0))


def check_coverage(network: Network, data: SitingData) -> None:
    """Raise :class:`InfeasibleError` when a village that must be covered (every village
    when no uncovered penalty is given, else the must-cover ones) has no usable way to an
    incinerator; the reasons name the scenario setting that blocks it."""
    sc = network.scenario
    pol = sc.policy
    n = data.n_villages
    hard = np.ones(n, dtype=bool) if data.uncovered_penalty is None else data.must_cover.copy()
    if not hard.any():
        return
    tc, ic = sc.candidates.transfer, sc.candidates.incinerator
    inc_ok = data.incinerator.status != SiteStatus.EXCLUDED
    tr_use = data.transfer.status != SiteStatus.EXCLUDED
    if not inc_ok.any():
        must = float(data.demand[hard].sum())
        if len(data.incinerator) == 0:
            why = _no_candidates_text("incinerator", {
                "candidates.incinerator.county_seats": ic.county_seats,
                "candidates.incinerator.township_seats": ic.township_seats})
        else:
            why = (f"all {len(data.incinerator)} incinerator candidates are excluded by "
                   "candidates.incinerator.exclude")
        raise InfeasibleError("no incinerator may open", [
            f"{why}, so the {must:.6g} t/d of waste of {int(hard.sum())} village(s) that "
            "must be covered has nowhere to be treated"])
    m = len(data.transfer)
    haul = data.haul
    # stations that may open and haul to an incinerator that may open
    st_ok = _any_per_row(haul.src, tr_use[haul.src] & inc_ok[haul.dst], m)
    reach = _any_per_row(data.collect.src, st_ok[data.collect.dst], n)
    reach |= _any_per_row(data.direct.src, inc_ok[data.direct.dst], n)
    lost = hard & ~reach
    if not lost.any():
        return
    # what each village can see on the transfer side; the network's lists obey the
    # policy, so what lies within reach regardless of it comes from lists of any county
    free_v2t, _free_v2i, free_t2i = _lists_of_any_county(network)
    near_raw: NDArray[np.bool_] = np.asarray((free_v2t.idx >= 0).any(axis=1), dtype=bool)
    near_allowed = _any_per_row(data.collect.src, np.ones(len(data.collect), dtype=bool), n)
    near_usable = _any_per_row(data.collect.src, tr_use[data.collect.dst], n)
    # for stations: any incinerator within the haul limit (before sharing), any usable one
    t2i = free_t2i.idx
    raw_ok = np.asarray(t2i >= 0, dtype=bool)
    st_raw_any: NDArray[np.bool_] = np.asarray(raw_ok.any(axis=1), dtype=bool)
    st_raw_usable: NDArray[np.bool_] = np.asarray(
        (raw_ok & inc_ok[np.where(raw_ok, t2i, 0)]).any(axis=1), dtype=bool)
    use_arc = tr_use[data.collect.dst]
    v_raw_any = _any_per_row(data.collect.src, use_arc & st_raw_any[data.collect.dst], n)
    v_raw_usable = _any_per_row(data.collect.src, use_arc & st_raw_usable[data.collect.dst], n)

    radius = f"policy.service_radius_km={pol.service_radius_km:g}"
    haul_km = f"policy.max_transfer_haul_km={pol.max_transfer_haul_km:g}"
    sharing = f"policy.sharing={pol.sharing!r}"
    causes: dict[str, list[int]] = {}
    for i in np.flatnonzero(lost).tolist():
        if near_usable[i]:
            head = f"transfer stations lie within {radius}, but none of them can haul to "
            if v_raw_usable[i]:
                why = head + f"an incinerator within {haul_km} that {sharing} allows"
            elif v_raw_any[i]:
                why = (head + f"an incinerator within {haul_km}: the ones in reach are "
                       "excluded by candidates.incinerator.exclude")
            else:
                why = head + f"an incinerator within {haul_km}"
        elif near_allowed[i]:
            why = (f"every transfer station within {radius} is excluded by "
                   "candidates.transfer.exclude")
        elif near_raw[i]:
            why = f"the transfer stations within {radius} lie in counties {sharing} does not allow"
        elif m == 0:
            why = _no_candidates_text("transfer", {
                "candidates.transfer.township_seats": tc.township_seats,
                "candidates.transfer.extra_per_county": tc.extra_per_county})
        else:
            why = f"no transfer candidate lies within {radius}"
        why += (", and no incinerator that may open lies within "
                f"policy.direct_radius_km={pol.direct_radius_km:g} under {sharing} for direct delivery")
        causes.setdefault(why, []).append(i)
    reasons = []
    for why, rows in causes.items():
        shown = []
        for i in rows[:5]:
            c = int(data.village_county[i])
            county = data.county_names[c] if 0 <= c < len(data.county_names) else "?"
            shown.append(f"{data.village_ids[i]} ({data.village_names[i]}, {county})")
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        reasons.append(f"{len(rows)} village(s) [{', '.join(shown)}{more}] cannot be covered: "
                       f"{why}")
    raise InfeasibleError(f"{int(lost.sum())} village(s) cannot be covered", reasons)
