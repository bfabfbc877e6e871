"""Scenarios without candidates of one kind, and infeasibility reasons that name the
scenario setting that blocks coverage (:func:`wastenet.siting.build.check_coverage`)."""

from __future__ import annotations

from typing import Any

import pytest

from wastenet.errors import InfeasibleError
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario
from wastenet.siting.build import build_siting_data
from wastenet.siting.solve import SiteParams, solve


def _faku(**kw: Any) -> Scenario:
    """Faku County alone with ~36 villages (a 2000-village province), other settings
    overridden by ``kw`` (top-level sections)."""
    base: dict[str, Any] = {"name": "t", "data": {"counties": ["210124"],
                                                  "villages_total": 2000}}
    base.update(kw)
    return Scenario.model_validate(base)


NO_INCINERATORS = {"incinerator": {"county_seats": False, "township_seats": False}}
NO_STATIONS = {"transfer": {"township_seats": False, "extra_per_county": 0}}


def test_no_incinerator_candidates_is_infeasible_with_its_reason() -> None:
    """With county and township incinerators both off there is no candidate: the siting
    data are refused with an InfeasibleError naming both settings (no IndexError)."""
    net = build_network(_faku(candidates=NO_INCINERATORS))
    assert len(net.incinerator) == 0
    with pytest.raises(InfeasibleError) as err:
        build_siting_data(net)
    assert err.value.summary == "no incinerator may open"
    text = str(err.value)
    assert "candidates.incinerator.county_seats=false" in text
    assert "candidates.incinerator.township_seats=false" in text


def test_every_incinerator_excluded_names_the_exclusion() -> None:
    """Excluding every incinerator candidate is reported as such, not as a service-radius
    problem."""
    ids = build_network(_faku()).incinerator.ids
    sc = _faku(candidates={"incinerator": {"exclude": list(ids)}})
    with pytest.raises(InfeasibleError) as err:
        build_siting_data(build_network(sc))
    assert "candidates.incinerator.exclude" in str(err.value)
    assert "service_radius" not in str(err.value)


def test_no_transfer_candidates_lists_villages_beyond_direct_reach() -> None:
    """Without transfer candidates only direct delivery is left: the villages beyond
    policy.direct_radius_km are listed with both settings named."""
    sc = _faku(candidates=NO_STATIONS,
               policy={"direct_radius_km": 2.0, "sharing": "none"})
    net = build_network(sc)
    assert len(net.transfer) == 0
    with pytest.raises(InfeasibleError) as err:
        build_siting_data(net)
    text = str(err.value)
    assert "cannot be covered" in text and "policy.direct_radius_km=2" in text
    assert "candidates.transfer.township_seats=false" in text
    assert "candidates.transfer.extra_per_county=0" in text


def test_no_transfer_candidates_solves_by_direct_delivery() -> None:
    """Without transfer candidates but with a wide direct radius the scenario solves:
    every village is delivered directly to an incinerator."""
    sc = _faku(candidates=NO_STATIONS, policy={"direct_radius_km": 60.0})
    data = build_siting_data(build_network(sc))
    assert len(data.transfer) == 0 and len(data.collect) == 0 and len(data.haul) == 0
    res = solve(data, SiteParams(time_limit_s=10.0, seed=0, max_iterations=200))
    assert len(res.uncovered) == 0
    assert bool(res.flow_direct.all()) and len(res.flow_village) >= data.n_villages


def test_haul_limit_is_named_when_stations_cannot_reach_a_plant() -> None:
    """With township incinerators off and a 1 km haul limit, stations lie within the
    service radius but none reaches the county-seat plant: the reason names
    max_transfer_haul_km, not the service radius."""
    sc = _faku(candidates={"incinerator": {"township_seats": False}},
               policy={"max_transfer_haul_km": 1.0})
    with pytest.raises(InfeasibleError) as err:
        build_siting_data(build_network(sc))
    text = str(err.value)
    assert "policy.max_transfer_haul_km=1" in text
    assert "transfer stations lie within policy.service_radius_km=20" in text
    assert "no usable transfer station within the service radius" not in text


def test_service_radius_is_named_when_no_station_is_near() -> None:
    """With a tiny service and direct radius, villages far from every candidate are
    reported with policy.service_radius_km."""
    sc = _faku(policy={"service_radius_km": 0.05, "direct_radius_km": 0.05})
    with pytest.raises(InfeasibleError, match=r"no transfer candidate lies within "
                       r"policy\.service_radius_km=0\.05"):
        build_siting_data(build_network(sc))


def test_uncovered_penalty_lets_villages_go_uncovered() -> None:
    """With an uncovered penalty and no must-cover villages nothing is refused: the
    coverage check only concerns villages that must be covered."""
    sc = _faku(candidates=NO_INCINERATORS,
               policy={"uncovered_penalty_yuan_per_t": 1000.0, "must_cover_tourism": False,
                       "must_cover_demonstration": False})
    data = build_siting_data(build_network(sc))
    assert len(data.incinerator) == 0 and len(data.direct) == 0
