"""SitingData, Sites, Arcs and CountTarget refuse invalid values when built, with a
ValidationError naming the field and the value, instead of letting a solver return a
NaN cost, crash with an IndexError / KeyError, or claim an optimum the checker rejects.
Valid edge cases (an arc exactly at its limit, zero demand, a finite or no penalty) stay
accepted.

Test arcs of :mod:`siting_helpers` are ``1000 (1 + cost)`` m long, so the base instance
below has a 2 km collect arc, a 3 km direct arc and a 2 km haul arc.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from siting_helpers import Site, Spec, build

from wastenet.errors import ValidationError
from wastenet.siting.checker import check
from wastenet.siting.data import Arcs, CountTarget, Sites, SiteStatus, SitingData
from wastenet.siting.solve import SiteParams, solve

ROOT = Path(__file__).resolve().parents[2]
#: the tolerance of the distance limits: the checker's default ``tol``, which
#: :data:`wastenet.siting.data.ARC_LIMIT_TOL` mirrors (see the test below)
ARC_LIMIT_TOL = 1e-6


def _spec(**kw: object) -> Spec:
    """Two villages (county 0 and 1) with 2 and 3 t/d, one transfer station T0 (county 0),
    one incinerator I0 (county 1); collect V0->T0 (2 km), direct V1->I0 (3 km), haul
    T0->I0 (2 km). ``kw`` overrides Spec fields."""
    base: dict[str, object] = dict(
        demand=[2.0, 3.0], village_county=[0, 1],
        transfer=[Site(0, [(10.0, 5.0)])], incinerator=[Site(1, [(10.0, 30.0)])],
        collect=[(0, 0, 1.0)], direct=[(1, 0, 2.0)], haul=[(0, 0, 1.0)])
    base.update(kw)
    return Spec(**base)  # type: ignore[arg-type]


def _base() -> SitingData:
    """The instance of :func:`_spec` as SitingData."""
    return build(_spec())


def _arcs_with_distance(dist: float) -> Arcs:
    """One arc 0 -> 0 of length ``dist`` m and unit cost 1."""
    return Arcs(np.array([0]), np.array([0]), np.array([dist]), np.array([1.0]))


def _transfer(**kw: Any) -> Sites:
    """The base transfer sites with fields ``kw`` replaced (validated again)."""
    return replace(_base().transfer, **kw)


# (case id, how to build the invalid data, regular expression the field must match,
#  text the message must contain besides the field)
REFUSED: list[tuple[str, Callable[[], object], str, str]] = [
    # arcs longer than the data's own distance limits
    ("haul beyond max_haul_m", lambda: replace(_base(), max_haul_m=1500.0),
     r"^haul\.distance_m\[T0->I0\]$", "max_haul_m=1500"),
    ("collect beyond service_radius_m", lambda: replace(_base(), service_radius_m=1500.0),
     r"^collect\.distance_m\[V0->T0\]$", "service_radius_m=1500"),
    ("direct beyond direct_radius_m", lambda: replace(_base(), direct_radius_m=2500.0),
     r"^direct\.distance_m\[V1->I0\]$", "direct_radius_m=2500"),
    ("haul just beyond the tolerance",
     lambda: replace(_base(), max_haul_m=2000.0 - 2000.0 * 10 * ARC_LIMIT_TOL),
     r"^haul\.distance_m\[T0->I0\]$", "max_haul_m"),
    # invalid arc lengths
    ("arc length NaN", lambda: _arcs_with_distance(math.nan), r"distance_m", "nan"),
    ("arc length negative", lambda: _arcs_with_distance(-1.0), r"distance_m", "-1.0"),
    ("arc length inf", lambda: _arcs_with_distance(math.inf), r"distance_m", "inf"),
    # site costs and sizes
    ("throughput_cost NaN", lambda: build(_spec(transfer=[Site(0, [(10.0, 5.0)],
                                                               throughput=math.nan)])),
     r"^throughput_cost\[T0\]$", "nan"),
    ("throughput_cost inf", lambda: build(_spec(incinerator=[Site(1, [(10.0, 30.0)],
                                                                  throughput=math.inf)])),
     r"^throughput_cost\[I0\]$", "inf"),
    ("n_sizes beyond the size columns", lambda: _transfer(n_sizes=np.array([3])),
     r"^n_sizes\[T0\]$", "3"),
    ("n_sizes negative", lambda: _transfer(n_sizes=np.array([-1]),
                                           status=np.array([SiteStatus.EXCLUDED])),
     r"^n_sizes\[T0\]$", "-1"),
    ("size_names shorter than n_sizes", lambda: _transfer(size_names=((),)),
     r"^size_names\[T0\]$", "0"),
    ("existing capacity inf", lambda: build(_spec(transfer=[
        Site(0, [], SiteStatus.EXISTING, existing=math.inf)])),
     r"^existing_capacity\[T0\]$", "inf"),
    # uncovered penalty
    ("uncovered_penalty inf", lambda: replace(_base(), uncovered_penalty=math.inf),
     r"^uncovered_penalty$", "inf"),
    ("uncovered_penalty NaN", lambda: replace(_base(), uncovered_penalty=math.nan),
     r"^uncovered_penalty$", "nan"),
    ("uncovered_penalty negative", lambda: replace(_base(), uncovered_penalty=-1.0),
     r"^uncovered_penalty$", "-1.0"),
    # count targets
    ("CountTarget sense 'xx'", lambda: CountTarget("transfer", 1, "xx"),  # type: ignore[arg-type]
     r"^counts\.transfer\.sense$", "'xx'"),
    ("CountTarget echelon 'foo'", lambda: CountTarget("foo", 1, "eq"),  # type: ignore[arg-type]
     r"^counts\.echelon$", "'foo'"),
    ("CountTarget value 1.5", lambda: CountTarget("transfer", 1.5, "eq"),  # type: ignore[arg-type]
     r"^counts\.transfer\.value$", "1.5"),
    ("CountTarget value -1", lambda: CountTarget("incinerator", -1, "le"),
     r"^counts\.incinerator\.value$", "-1"),
    ("CountTarget value True", lambda: CountTarget("transfer", True, "eq"),
     r"^counts\.transfer\.value$", "True"),
    ("CountTarget value NaN", lambda: CountTarget("transfer", math.nan, "eq"),  # type: ignore[arg-type]
     r"^counts\.transfer\.value$", "nan"),
    # county indices
    ("village_county beyond county_codes", lambda: build(_spec(village_county=[0, 3])),
     r"^village_county\[V1\]$", "3"),
    ("village_county below -1", lambda: build(_spec(village_county=[-2, 1])),
     r"^village_county\[V0\]$", "-2"),
    ("transfer county beyond county_codes",
     lambda: build(_spec(transfer=[Site(7, [(10.0, 5.0)])])),
     r"^transfer\.county\[T0\]$", "7"),
    ("incinerator county below -1",
     lambda: build(_spec(incinerator=[Site(-5, [(10.0, 30.0)])])),
     r"^incinerator\.county\[I0\]$", "-5"),
]


@pytest.mark.parametrize(("make", "field", "text"), [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_invalid_data_is_refused_naming_the_field(make: Callable[[], object], field: str,
                                                  text: str) -> None:
    """Each invalid value raises a ValidationError when the data are built; its field
    names the offending field (and site, village or arc) and the message shows the
    value (and, for an arc, the limit it exceeds)."""
    with pytest.raises(ValidationError) as err:
        make()
    assert re.search(field, err.value.field), (err.value.field, str(err.value))
    assert text in str(err.value), str(err.value)


def test_arc_limit_tolerance_is_the_checkers() -> None:
    """The data refuse an arc beyond a limit by the rule of the checker, at the checker's
    default tolerance, so data and checker agree on every arc."""
    from wastenet.siting import data

    assert check.__kwdefaults__ is not None
    assert data.ARC_LIMIT_TOL == check.__kwdefaults__["tol"] == ARC_LIMIT_TOL


@pytest.mark.parametrize("limits", [
    {"service_radius_m": 2000.0, "direct_radius_m": 3000.0, "max_haul_m": 2000.0},
    {"service_radius_m": 2000.0 * (1 - ARC_LIMIT_TOL / 2),
     "direct_radius_m": 3000.0 * (1 - ARC_LIMIT_TOL / 2),
     "max_haul_m": 2000.0 * (1 - ARC_LIMIT_TOL / 2)},
    {"service_radius_m": None, "direct_radius_m": None, "max_haul_m": None},
    {"service_radius_m": math.inf, "direct_radius_m": 1e9, "max_haul_m": 1e9},
], ids=["exactly at the limits", "a rounding hair over the limits", "no limits",
        "far limits"])
def test_arcs_at_or_within_their_limit_are_accepted_and_pass_the_checker(
        limits: dict[str, Any]) -> None:
    """Arcs exactly at their limit, or over it by less than the checker's tolerance
    (rounding of road = line x circuity), are kept; the solved result passes the
    checker, so what the data accept the checker accepts too."""
    data = replace(_base(), **limits)
    assert (len(data.collect), len(data.direct), len(data.haul)) == (1, 1, 1)
    res = solve(data, SiteParams(method="exact", time_limit_s=20))
    assert res.status == "optimal"
    rep = check(data, res)
    assert rep.ok, rep.violations


@pytest.mark.parametrize("penalty", [None, 0.0, 20.0, 1e12])
def test_penalty_none_or_finite_is_accepted(penalty: float | None) -> None:
    """``None`` (full coverage is hard) and any finite penalty >= 0 are accepted."""
    assert replace(_base(), uncovered_penalty=penalty).uncovered_penalty == penalty


def test_zero_demand_villages_and_zero_length_arcs_are_accepted() -> None:
    """A village with zero demand and an arc of length 0 (a village at a site) are valid."""
    data = build(_spec(demand=[0.0, 0.0], collect=[(0, 0, -1.0)]))
    assert data.total_demand == 0.0
    assert data.collect.distance_m.tolist() == [0.0]


def test_county_minus_one_means_none() -> None:
    """County index -1 (no county, as for the benchmarks) is accepted for villages and
    sites."""
    data = build(_spec(village_county=[-1, -1], transfer=[Site(-1, [(10.0, 5.0)])],
                       incinerator=[Site(-1, [(10.0, 30.0)])]))
    assert data.village_county.tolist() == [-1, -1]
    assert data.transfer.county.tolist() == [-1]


@pytest.mark.parametrize("value", [0, 3, np.int64(2), np.int32(1)])
@pytest.mark.parametrize("sense", ["eq", "le", "ge"])
@pytest.mark.parametrize("echelon", ["transfer", "incinerator"])
def test_valid_count_targets_are_accepted(value: int, sense: str, echelon: str) -> None:
    """Every echelon and sense, with an integer value >= 0 (numpy integers too, stored as
    a plain ``int``), and a prefecture code or none, is accepted."""
    t = CountTarget(echelon, value, sense, prefecture="P1")  # type: ignore[arg-type]
    assert type(t.value) is int and t.value == int(value)
    data = replace(_base(), counts=(t, CountTarget(echelon, value, sense)))  # type: ignore[arg-type]
    assert len(data.counts) == 2


def test_counts_must_be_count_targets() -> None:
    """An entry of ``counts`` that is not a CountTarget is refused naming ``counts``."""
    with pytest.raises(ValidationError, match="counts"):
        replace(_base(), counts=(("transfer", 1, "eq", None),))  # type: ignore[arg-type]


def test_n_sizes_zero_for_existing_and_excluded_sites_is_accepted() -> None:
    """Existing and excluded sites may list no sizes (n_sizes 0)."""
    data = build(_spec(transfer=[Site(0, [], SiteStatus.EXISTING, existing=4.0),
                                 Site(0, [], SiteStatus.EXCLUDED)],
                       collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)]))
    assert data.transfer.n_sizes.tolist() == [0, 0]


@pytest.mark.parametrize("scenario", ["faku.toml", "liaoning-2025.toml",
                                      "liaoning-2025-no-sharing.toml"])
def test_bundled_scenarios_build_valid_siting_data(scenario: str) -> None:
    """The scenario compiler never produces an arc beyond its own limits (nor any other
    refused value): the siting data of every bundled scenario are built."""
    from wastenet.scenario.network import build_network
    from wastenet.scenario.schema import load_scenario
    from wastenet.siting.build import build_siting_data

    data = build_siting_data(build_network(load_scenario(ROOT / "scenarios" / scenario)))
    for arcs, limit in ((data.collect, data.service_radius_m),
                        (data.direct, data.direct_radius_m), (data.haul, data.max_haul_m)):
        assert limit is not None and len(arcs) > 0
        assert float(arcs.distance_m.max()) <= limit
