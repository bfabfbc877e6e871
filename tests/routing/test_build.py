"""Tests of the county-day routing compiler (frequencies, loads, assigned stations).

Visit-day spacing itself is tested with the planner in test_routing_frequency.py."""

from __future__ import annotations

import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.routing.build import build_routing_data
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario


def _net(freq: int):
    sc = Scenario.model_validate({
        "name": "t", "data": {"counties": ["210124"], "villages_total": 2000},
        "fleet": {"frequency_per_week": freq, "tourism_frequency_per_week": freq,
                  "narrow_lane_fraction": 0.0}})
    return build_network(sc)


def test_build_assigns_stations_and_loads() -> None:
    """Each stop unloads at its assigned facility; daily loads equal daily waste."""
    net = _net(7)
    v = net.villages
    fac = [{"id": "S1", "name": "站1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 50},
           {"id": "S2", "name": "站2", "lon": 123.30, "lat": 42.30, "capacity_t_per_day": 50}]
    assign = [{"village_id": vid, "facility_id": "S1" if k % 2 else "S2"}
              for k, vid in enumerate(v.ids)]
    d = build_routing_data(net, assign, fac, "210124", "2026-12-01")
    assert d.n_stops == len(v)
    assert np.allclose(d.stop_demand[:, 0], v.waste_t_per_day)
    for s in range(d.n_stops):
        want = "S1" if s % 2 else "S2"
        assert d.ids[d.facilities[d.stop_facility[s]]] == want
    assert d.facility_capacity.tolist() == [50.0, 50.0]


def test_build_weekly_frequency_scales_load() -> None:
    """With 3 visits a week a village is due on 3 days and carries 2 or 3 days of waste."""
    net = _net(3)
    v = net.villages
    fac = [{"id": "S1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 500}]
    assign = [{"village_id": vid, "facility_id": "S1"} for vid in v.ids]
    total_visits = 0
    total_load = 0.0
    for day in range(7):
        d = build_routing_data(net, assign, fac, "210124", f"2026-11-{30 + day:02d}"
                               if day == 0 else f"2026-12-{day:02d}")
        total_visits += d.n_stops
        total_load += float(d.stop_demand[:, 0].sum())
    assert total_visits == 3 * len(v)
    assert total_load == pytest.approx(7 * float(v.waste_t_per_day.sum()))


def test_build_rejects_bad_inputs() -> None:
    """Unknown county, malformed date and unassigned villages are named errors."""
    net = _net(7)
    fac = [{"id": "S1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 50}]
    with pytest.raises(ValidationError, match="county"):
        build_routing_data(net, [], fac, "999999", "2026-12-01")
    with pytest.raises(ValidationError, match="date"):
        build_routing_data(net, [], fac, "210124", "2026-13-01")
    with pytest.raises(ValidationError, match="assignments"):
        build_routing_data(net, [], fac, "210124", "2026-12-01")
