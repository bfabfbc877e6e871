"""Compile a built :class:`~wastenet.scenario.network.Network` into :class:`SitingData`.

Arcs (all sparse, vectorised):

* collect ``i -> j``: the nearest transfer candidates of village ``i`` within the
  service radius whose county the sharing policy allows from ``i``'s county, at most
  ``network.neighbours_per_village`` of them; unit cost
  ``collection_haul_yuan_per_t_km x road_km x 365`` (yuan/yr per t/d);
* direct ``i -> k``: incinerator candidates within the direct-delivery radius, allowed
  by the policy; same unit cost;
* haul ``j -> k``: the nearest allowed incinerator candidates of station ``j`` within
  the maximum haul, at most ``network.incinerators_per_station``; unit cost
  ``transfer_haul_yuan_per_t_km x road_km x 365``.

Fixed costs are annualised with the capital recovery factor; throughput costs are the
variable cost per tonne x 365.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.scenario.network import Candidates, Neighbours, Network, sharing_matrix
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
                   8, haul_cost)
    haul = _arcs(network.transfer_to_incinerator, transfer.county, incinerator.county, allowed,
                 sc.network.incinerators_per_station, sc.costs.transfer_haul_yuan_per_t_km)

    must = np.zeros(len(v), dtype=bool)
    if sc.policy.must_cover_tourism:
        must |= v.tourism
    if sc.policy.must_cover_demonstration:
        must |= v.demonstration
    penalty = sc.policy.uncovered_penalty_yuan_per_t
    return SitingData(
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
    )
