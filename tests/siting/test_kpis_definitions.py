"""The distance and capacity KPIs match their documented definitions (wastenet.siting.kpis).

One hand-made result (not solved, so that every case is present at once): villages of
very different tonnes, a village split between two stations, a direct delivery to a
plant, an uncovered and a partly covered village, and an unused existing station and
plant. Distances are ``1000 (1 + cost)`` m (``siting_helpers.build``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.data import SiteStatus, SitingData
from wastenet.siting.kpis import kpis
from wastenet.siting.result import SitingResult

#: village -> (facility, direct, fraction, distance m); V4 sends nothing, V5 half its waste
FLOWS = [(0, 0, False, 1.0, 2000.0), (1, 0, False, 1.0, 1500.0),
         (2, 0, False, 0.5, 3000.0), (2, 1, False, 0.5, 5000.0),
         (3, 0, True, 1.0, 6000.0), (5, 1, False, 0.5, 2000.0)]
DEMAND = [8.0, 0.5, 2.0, 4.0, 1.0, 2.0]


def _case() -> tuple[SitingData, SitingResult]:
    data = H.build(H.Spec(
        demand=DEMAND, village_county=[0, 0, 1, 1, 0, 1],
        transfer=[H.Site(0, [(10.0, 25.0), (30.0, 60.0)]),
                  H.Site(1, [(10.0, 25.0), (30.0, 60.0)]),
                  H.Site(0, [], status=SiteStatus.EXISTING, existing=7.0)],
        incinerator=[H.Site(0, [(50.0, 100.0)]),
                     H.Site(1, [], status=SiteStatus.EXISTING, existing=40.0)],
        collect=[(0, 0, 1.0), (1, 0, 0.5), (2, 0, 2.0), (2, 1, 4.0), (5, 1, 1.0),
                 (4, 2, 9.0)],
        direct=[(3, 0, 5.0)], haul=[(0, 0, 1.0), (1, 0, 3.0), (2, 1, 1.0)],
        single_source=False, penalty=1000.0))
    t0_in = 8.0 + 0.5 + 1.0
    t1_in = 1.0 + 1.0
    result = SitingResult(
        transfer_size=np.array([0, 1, -2]), incinerator_size=np.array([0, -2]),
        flow_village=np.array([f[0] for f in FLOWS]),
        flow_facility=np.array([f[1] for f in FLOWS]),
        flow_direct=np.array([f[2] for f in FLOWS]),
        flow_fraction=np.array([f[3] for f in FLOWS]),
        haul_transfer=np.array([0, 1]), haul_incinerator=np.array([0, 0]),
        haul_t_per_day=np.array([t0_in, t1_in]), uncovered=np.array([4, 5]),
        cost={"fixed": 1000.0}, total_cost=1000.0, lower_bound=900.0, status="feasible",
        solver="hand", seed=0, elapsed_s=0.0)
    return data, result


def test_mean_collection_distance_is_per_village_and_includes_direct_deliveries() -> None:
    """mean_collection_distance_m: each served village's share-weighted mean distance
    (the split V2: 4 km; the half-covered V5: 2 km over its served half), then the plain
    mean over the served villages with the direct delivery V3 (6 km) included and the
    unserved V4 left out: (2 + 1.5 + 4 + 6 + 2) / 5 = 3.1 km. Neither the tonne-weighted
    mean nor the mean without direct deliveries."""
    data, result = _case()
    k = kpis(data, result)
    assert k["mean_collection_distance_m"] == pytest.approx(3100.0)
    tonnes = [DEMAND[v] * f for v, _, _, f, _ in FLOWS]
    weighted = sum(t * d for t, (*_, d) in zip(tonnes, FLOWS, strict=True)) / sum(tonnes)
    assert weighted == pytest.approx(50_750.0 / 15.5)
    assert k["mean_collection_distance_m"] != pytest.approx(weighted)
    assert k["mean_collection_distance_m"] != pytest.approx((2000 + 1500 + 4000 + 2000) / 4)


def test_max_distance_and_tonne_km_include_direct_deliveries() -> None:
    """max_collection_distance_m is the direct delivery's 6 km; tonne_km_per_day adds
    collection and direct (50.75) and the hauls (9.5 x 2 + 2 x 4 = 27)."""
    data, result = _case()
    k = kpis(data, result)
    assert k["max_collection_distance_m"] == pytest.approx(6000.0)
    assert k["tonne_km_per_day"] == pytest.approx(50.75 + 27.0)


def test_capacity_opened_is_new_modules_only_and_summary_adds_existing() -> None:
    """The KPI capacities count the new modules only (stations 10 + 30, plant 50); the
    summary's top-level capacities add every existing facility's remaining capacity,
    used or not (station 7, plant 40), and the new-facility counts leave them out."""
    from wastenet.pipeline import facility_rows, summarise

    data, result = _case()
    k = kpis(data, result)
    assert k["transfer_capacity_opened_t_per_day"] == pytest.approx(40.0)
    assert k["incinerator_capacity_opened_t_per_day"] == pytest.approx(50.0)
    assert k["transfer_stations_opened"] == 2 and k["incinerators_opened"] == 1
    assert k["existing_facilities_used"] == 0
    network: Any = SimpleNamespace(
        scenario=SimpleNamespace(name="kpi-definitions", policy=SimpleNamespace(sharing="free")),
        seed=None, synthetic=False, meta={})
    summary = summarise(network, data, result, facility_rows(data, result))
    assert summary["transfer_capacity_t_per_day"] == pytest.approx(40.0 + 7.0)
    assert summary["incinerator_capacity_t_per_day"] == pytest.approx(50.0 + 40.0)
    assert summary["transfer_stations_opened"] == 2 and summary["incinerators_opened"] == 1
    assert summary["kpis"]["transfer_capacity_opened_t_per_day"] == pytest.approx(40.0)
