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


def test_build_names_every_unassigned_village_count() -> None:
    """Villages without a facility: the error counts them and names the first ones, not
    only one village."""
    net = _net(7)
    ids = net.villages.ids
    fac = [{"id": "S1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 500}]
    assign = [{"village_id": vid, "facility_id": "S1"} for vid in ids[7:]]
    with pytest.raises(ValidationError) as exc:
        build_routing_data(net, assign, fac, "210124", "2026-12-01")
    msg = str(exc.value)
    assert f"7 of the {len(ids)} villages" in msg
    assert all(vid in msg for vid in ids[:5]) and ids[5] not in msg and "..." in msg


def test_build_refuses_a_village_split_between_two_facilities() -> None:
    """A village listed under two facilities is an error naming it and both facilities
    (it used to count toward whichever row came last); a repeated identical row is fine."""
    net = _net(7)
    ids = net.villages.ids
    fac = [{"id": "S1", "lon": 123.16, "lat": 42.40, "capacity_t_per_day": 500},
           {"id": "S2", "lon": 123.30, "lat": 42.30, "capacity_t_per_day": 500}]
    assign = [{"village_id": vid, "facility_id": "S1"} for vid in ids]
    ok = build_routing_data(net, [*assign, assign[3]], fac, "210124", "2026-12-01")
    assert ok.n_stops == len(ids)
    split = [*assign, {"village_id": ids[3], "facility_id": "S2"}]
    with pytest.raises(ValidationError) as exc:
        build_routing_data(net, split, fac, "210124", "2026-12-01")
    assert exc.value.field == f"assignments[{len(ids)}].village_id"
    assert ids[3] in str(exc.value) and "S1 and S2" in str(exc.value)


# -- a user road distance/time matrix -------------------------------------------------

_TINY_IDS = ("a", "b", "c", "d", "S1", "I210124")  # no D210124: the depot uses I210124


def _tiny_matrix(ids: tuple[str, ...] = _TINY_IDS):
    """An asymmetric matrix whose values are far from any great-circle estimate, with
    travel times that are not proportional to the distances."""
    from wastenet.geo.matrix import DistanceMatrix

    n = len(ids)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dist = 50_000.0 + 1_370.0 * i + 710.0 * j
    dur = 1_800.0 + 110.0 * i + 50.0 * j  # 82..99 km/h: plausible road speeds
    np.fill_diagonal(dist, 0.0)
    np.fill_diagonal(dur, 0.0)
    return DistanceMatrix(ids=ids, distance_m=dist, duration_s=dur)


def _tiny_network(tmp_path, matrix_name: str = "m.csv"):
    """Four user villages in Faku, one user station S1, the county seat incinerator, a
    one-type fleet (speed factor 1) and the tiny matrix as a CSV file."""
    from wastenet.geo.matrix import save_matrix

    path = tmp_path / matrix_name
    save_matrix(_tiny_matrix(), path)
    vil = [{"id": k, "lon": lon, "lat": lat, "population": 400, "county": "210124"}
           for k, lon, lat in (("a", 123.20, 42.40), ("b", 123.30, 42.45),
                               ("c", 123.35, 42.35), ("d", 123.25, 42.30))]
    sc = Scenario.model_validate({
        "name": "tiny", "data": {"source": "user", "counties": ["210124"], "villages": vil,
                                 "distance_matrix_file": str(path)},
        "candidates": {"transfer": {"extra_per_county": 0, "sites": [
            {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}]}},
        "fleet": {"narrow_lane_fraction": 0.0, "vehicles": [
            {"name": "truck", "count": 2, "capacity_t": 5.0}]}})
    return build_network(sc)


_TINY_FAC = [{"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38,
              "capacity_t_per_day": 100}]
_TINY_ASSIGN = [{"village_id": k, "facility_id": "S1"} for k in "abcd"]


def test_routing_uses_the_user_matrix(tmp_path) -> None:
    """With a user matrix (CSV) covering the routing places, the county-day problem's
    distances and travel times are the matrix's (the depot found as I<adcode>), and the
    solved plan's distance and travel time are sums of matrix entries along its routes."""
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    net = _tiny_network(tmp_path)
    assert net.distance_matrix is not None
    d = build_routing_data(net, _TINY_ASSIGN, _TINY_FAC, "210124", "2026-12-01")
    assert d.meta["distances"] == "matrix"
    m = _tiny_matrix()
    pos = [m.ids.index("I210124" if k == "D210124" else k) for k in d.ids]
    assert np.array_equal(d.distance_m, m.distance_m[np.ix_(pos, pos)])
    assert np.array_equal(d.duration_s, m.duration_s[np.ix_(pos, pos)])

    plan = solve(d, RouteParams(time_limit_s=2.0, seed=1))
    assert not plan.unserved and check(d, plan).ok
    legs = [(pos[a.location], pos[b.location]) for r in plan.routes
            for a, b in zip(r.visits[:-1], r.visits[1:], strict=True)]
    assert plan.distance_m == pytest.approx(sum(m.distance_m[x, y] for x, y in legs))
    assert plan.travel_s == pytest.approx(sum(m.duration_s[x, y] for x, y in legs))


def test_routing_matrix_partial_coverage_falls_back_per_arc(tmp_path) -> None:
    """A matrix lacking a place keeps the estimate on that place's arcs only, and says so
    in meta; without a matrix every arc is the estimate."""
    import dataclasses

    net = _tiny_network(tmp_path)
    plain = build_routing_data(dataclasses.replace(net, distance_matrix=None), _TINY_ASSIGN,
                               _TINY_FAC, "210124", "2026-12-01")
    assert plain.meta["distances"] == "estimate"
    partial = dataclasses.replace(net, distance_matrix=_tiny_matrix(
        ("a", "b", "c", "S1", "I210124")))
    d = build_routing_data(partial, _TINY_ASSIGN, _TINY_FAC, "210124", "2026-12-01")
    assert d.meta["distances"] == "matrix+estimate"
    k = d.ids.index("d")
    assert np.array_equal(d.distance_m[k], plain.distance_m[k])
    assert np.array_equal(d.duration_s[:, k], plain.duration_s[:, k])
    others = [x for x in range(len(d.ids)) if x != k]
    assert not np.allclose(d.distance_m[np.ix_(others, others)],
                           plain.distance_m[np.ix_(others, others)])


# -- visit days balanced per facility; hard facility capacity ----------------------------

def _two_station_network():
    """Eight user villages in Faku visited once a week: v0..v6 (0.2 t/day each, 1.4 t a
    visit) unload at S1, v7 (2 t/day, 14 t a visit) at S2."""
    vil = [{"id": f"v{k}", "lon": 123.20 + 0.01 * k, "lat": 42.40,
            "population": 400 if k < 7 else 4000, "county": "210124"} for k in range(8)]
    sc = Scenario.model_validate({
        "name": "two-stations", "data": {"source": "user", "counties": ["210124"],
                                         "villages": vil},
        "candidates": {"transfer": {"extra_per_county": 0, "sites": [
            {"id": "S1", "lon": 123.25, "lat": 42.38},
            {"id": "S2", "lon": 123.30, "lat": 42.42}]}},
        "fleet": {"narrow_lane_fraction": 0.0, "frequency_per_week": 1,
                  "tourism_frequency_per_week": 1,
                  "vehicles": [{"name": "truck", "count": 4, "capacity_t": 20.0}]}})
    net = build_network(sc)
    assert np.allclose(net.villages.waste_t_per_day, [0.2] * 7 + [2.0])
    return net


_TWO_ASSIGN = [{"village_id": f"v{k}", "facility_id": "S1" if k < 7 else "S2"}
               for k in range(8)]
_WEEK = [f"2026-11-{30:02d}"] + [f"2026-12-{d:02d}" for d in range(1, 7)]


def _two_fac(cap_s1: float) -> list[dict]:
    return [{"id": "S1", "name": "站1", "lon": 123.25, "lat": 42.38,
             "capacity_t_per_day": cap_s1},
            {"id": "S2", "name": "站2", "lon": 123.30, "lat": 42.42,
             "capacity_t_per_day": 20.0}]


def test_build_balances_the_load_of_each_facility() -> None:
    """Every day of the week fits every facility's capacity: S1 (1.5 t/day) gets one of
    its villages (1.4 t) a day. Balancing the county total instead would keep S1's
    villages off S2's 14 t day and give S1 2.8 t on another day."""
    from wastenet.routing.solve import precheck

    net = _two_station_network()
    s1_loads = []
    for date in _WEEK:
        d = build_routing_data(net, _TWO_ASSIGN, _two_fac(1.5), "210124", date)
        assert precheck(d) == [], date
        fac_ids = [d.ids[loc] for loc in d.facilities]
        s1 = d.stop_facility == fac_ids.index("S1")
        s1_loads.append(float(d.stop_demand[s1, 0].sum()))
    assert s1_loads == pytest.approx([1.4] * 7)


def test_build_over_capacity_error_names_facility_day_tonnes_capacity() -> None:
    """When even the balanced week brings a facility more than its daily capacity, the
    day is refused (no clipping) with an error naming the facility, the date and
    weekday, the tonnes and the capacity, in plain numbers."""
    from wastenet.errors import InfeasibleError
    from wastenet.routing.solve import RouteParams, solve

    net = _two_station_network()
    d = build_routing_data(net, _TWO_ASSIGN, _two_fac(1.3), "210124", "2026-12-01")
    with pytest.raises(InfeasibleError) as exc:
        solve(d, RouteParams(time_limit_s=1.0))
    text = str(exc.value)
    assert "facility S1 (站1) on 2026-12-01 (Tuesday): assigned stops bring 1.4 t, " \
        "daily capacity 1.3 t" in text
    assert "np." not in text


def test_build_rejects_malformed_assignments_and_unknown_facility() -> None:
    """A row without village_id or facility_id, or a facility that is not among the
    facilities, is a ValidationError naming the field and value (no KeyError)."""
    net = _two_station_network()
    fac = _two_fac(10.0)
    with pytest.raises(ValidationError, match=r"assignments\[0\]\.village_id"):
        build_routing_data(net, [{"facility_id": "S1"}], fac, "210124", "2026-12-01")
    with pytest.raises(ValidationError, match=r"assignments\[2\]\.facility_id"):
        rows = [dict(r) for r in _TWO_ASSIGN]
        del rows[2]["facility_id"]
        build_routing_data(net, rows, fac, "210124", "2026-12-01")
    rows = [dict(r) for r in _TWO_ASSIGN]
    rows[7]["facility_id"] = "S9"
    with pytest.raises(ValidationError, match=r"facility_id='S9'.*village v7"):
        build_routing_data(net, rows, fac, "210124", "2026-12-01")
