"""County bound (:mod:`wastenet.siting.countybound`): the dynamic program by hand, the
bound on a hand-checked instance, and validity against brute-forced optima."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pytest
import siting_helpers as H

from wastenet.siting.countybound import (
    _allocate,
    _next_jobs,
    applies,
    county_bound,
    station_floor,
    station_items,
)
from wastenet.siting.data import CountTarget, SiteStatus
from wastenet.siting.model import compile_model
from wastenet.siting.solve import SiteParams, solve

EXACT = SiteParams(time_limit_s=30, method="exact")
Sense = Literal["eq", "le", "ge"]


def _target(sense: str, value: int) -> tuple[str, str, int, np.ndarray, str]:
    return ("incinerator", sense, value, np.ones(1, bool), "province")


def test_allocation_by_hand() -> None:
    """County A costs 5 / 3 with 1 / 2 plants (none impossible), county B 4 / 1 / 0 with
    1 / 2 / 3. Exactly 3 plants: (1, 2) = 6 beats (2, 1) = 7; at most 3: still 6; at
    least 4: (1, 3) = 5; exactly 6: impossible."""
    tables = [np.array([np.inf, 5.0, 3.0]), np.array([np.inf, 4.0, 1.0, 0.0])]
    assert _allocate(tables, _target("eq", 3)) == (6.0, [1, 2])
    assert _allocate(tables, _target("le", 3)) == (6.0, [1, 2])
    assert _allocate(tables, _target("ge", 4)) == (3.0, [2, 3])
    assert _allocate(tables, _target("eq", 6)) == (np.inf, [])
    assert _allocate(tables, None)[0] == 3.0


def test_next_county_mips_by_hand() -> None:
    """Picks (1, 2): county 7's pick is solved already, so the round solves county 9 at 2
    only; nothing above ``exact_max``, nothing known impossible (inf)."""
    tables = {7: np.array([np.inf, 5.0, 3.0]), 9: np.array([-1.0, 4.0, 1.0, np.inf])}
    assert _next_jobs([7, 9], [1, 2], tables, {(7, 1)}, None) == [(9, 2)]
    assert _next_jobs([7, 9], [1, 2], tables, {(7, 1)}, 1) == []
    assert _next_jobs([7, 9], [1, 2], tables, set(), None) == [(7, 1), (9, 2)]
    assert _next_jobs([7, 9], [0, 3], tables, set(), None) == []


def test_county_bound_proves_the_hand_optimum() -> None:
    """The two closed counties of ``far_from_target`` (4 plants, optimum 242): stations 2,
    county 0 with one plant 60 + flows 60, county 1 with three 60 + 60; the bound is 242,
    reached with the MIPs at the picks alone, and the LP alone (no county MIPs) is lower."""
    data = H.far_from_target()
    model = compile_model(data)
    assert applies(data, model)
    assert H.brute_force(data) == pytest.approx(242.0)
    cb = county_bound(data, model)
    assert cb.status == "ok" and cb.transfer == pytest.approx(2.0)
    assert cb.value == pytest.approx(242.0, rel=1e-6) and cb.value <= 242.0
    assert cb.table[0][1] == pytest.approx(120.0, rel=1e-6)
    assert cb.table[1][3] == pytest.approx(120.0, rel=1e-6)
    # the first round's picks (1 and 3 plants) are where the program stays: two MIPs,
    # not one per county and number
    assert cb.n_exact == 2
    lp_only = county_bound(data, model, exact_max=-1)
    assert lp_only.n_exact == 0 and lp_only.value <= cb.value


def test_county_bound_picks_guide_the_decomposition() -> None:
    """The county bound reports its allocation, (1, 3) on ``far_from_target``."""
    data = H.far_from_target()
    cb = county_bound(data, compile_model(data))
    assert dict(zip(cb.counties.tolist(), cb.picks.tolist(), strict=True)) == {0: 1, 1: 3}


def test_county_bound_needs_closed_counties_and_one_plant_count() -> None:
    """Not used with a plant shared across a border, nor without a plant count."""
    data = H.far_from_target()
    model = compile_model(data)
    assert not applies(data, replace(model, counts=()))
    shared = H.build(H.random_spec(3, n=4, m=3, q=3,
                                   counts=(CountTarget("incinerator", 1, "eq"),)))
    smodel = compile_model(shared)
    crosses = bool((shared.village_county[smodel.collect.src]
                    != shared.transfer.county[smodel.collect.dst]).any())
    assert crosses and not applies(shared, smodel)
    one = H.build(replace(H.tiny_county(), counts=(CountTarget("incinerator", 1, "eq"),)))
    assert not applies(one, compile_model(one))  # a single county: one LP of everything


def _closed_spec(seed: int, sense: Sense) -> H.Spec:
    """A random tiny instance of two closed counties (every arc inside its county, each
    county with two villages, a station and two plant sites) and a plant count of 2."""
    rng = np.random.default_rng(seed)
    county = [0, 0, 1, 1]
    demand = [float(x) for x in rng.integers(1, 6, 4)]
    tr = [H.Site(c, [(6.0, float(rng.integers(5, 20))), (14.0, float(rng.integers(15, 30)))])
          for c in (0, 1)]
    inc = [H.Site(c, [(6.0, float(rng.integers(20, 50))), (14.0, float(rng.integers(40, 80)))],
                  throughput=float(rng.integers(0, 3))) for c in (0, 0, 1, 1)]
    collect = [(i, county[i], float(rng.integers(1, 6))) for i in range(4)]
    direct = [(i, k, float(rng.integers(3, 12))) for i in range(4) for k in range(4)
              if county[i] == inc[k].county and rng.random() < 0.4]
    haul = [(j, k, float(rng.integers(1, 8))) for j in (0, 1) for k in range(4)
            if inc[k].county == j]
    return H.Spec(demand=demand, village_county=county, transfer=tr, incinerator=inc,
                  collect=collect, direct=direct, haul=haul,
                  counts=(CountTarget("incinerator", 2 + (sense == "ge"), sense),))


@pytest.mark.parametrize("sense", ["eq", "le", "ge"])
@pytest.mark.parametrize("seed", list(range(40, 52)))
def test_county_bound_never_exceeds_the_optimum(seed: int, sense: Sense) -> None:
    """On random closed instances the county bound is at most the brute-forced optimum
    (and through the decomposition, the reported bound too)."""
    data = H.build(_closed_spec(seed, sense))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    assert applies(data, model)
    cb = county_bound(data, model)
    assert cb.value <= opt * (1 + 1e-6), (cb.value, opt)
    res = solve(data, replace(EXACT, method="decomposition", time_limit_s=10))
    assert res.lower_bound <= opt * (1 + 1e-6)
    assert any(line.startswith("county bound") for line in res.log), res.log


def test_decomposition_reports_the_county_bound() -> None:
    """The scalable path uses the county bound on closed counties with a plant count and
    proves the hand optimum of ``far_from_target``."""
    data = H.far_from_target()
    res = solve(data, replace(EXACT, method="decomposition"))
    line = next(x for x in res.log if x.startswith("county bound"))
    assert line.startswith("county bound 242"), line
    assert res.total_cost == pytest.approx(242.0) and res.status == "optimal"


def test_county_bound_is_deterministic_under_a_node_limit() -> None:
    """With a node limit instead of time limits, two runs give the same table."""
    data = H.far_from_target()
    model = compile_model(data)
    a = county_bound(data, model, node_limit=50, workers=2)
    b = county_bound(data, model, node_limit=50, workers=1)
    assert a.value == b.value
    assert all(np.array_equal(x, y) for x, y in zip(a.table, b.table, strict=True))


def _busy_station_spec() -> H.Spec:
    """County 0: villages 0 and 1 (4 t/d each) next to station T0 (collection 1) and far
    from T1 (50); county 1: village 2 (0.1 t/d) and T2. Stations 5 t/d at 1 or 10 t/d at
    20; exactly three; one 30 t/d plant per county at 50, exactly two; hauls 1.

    Optimum: T0 at 10 t/d, T1 and T2 small: 20 + 1 + 1 + 100 + collection 8.1 + haul
    8.1 = 138.2. The split bound's stations (3 at 5 t/d hold the 8.1 t/d) and paths
    through any station give 3 + 100 + 16.2 = 119.2; with every station of county 0 open
    its two villages still need a large T0 (or 400 more to collect): 138.2."""
    small_big = [(5.0, 1.0), (10.0, 20.0)]
    return H.Spec(
        demand=[4.0, 4.0, 0.1], village_county=[0, 0, 1],
        transfer=[H.Site(0, small_big), H.Site(0, small_big), H.Site(1, small_big)],
        incinerator=[H.Site(0, [(30.0, 50.0)]), H.Site(1, [(30.0, 50.0)])],
        collect=[(0, 0, 1.0), (1, 0, 1.0), (0, 1, 50.0), (1, 1, 50.0), (2, 2, 1.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0)], county_prefecture=("P1", "P1"),
        counts=(CountTarget("transfer", 3, "eq"), CountTarget("incinerator", 2, "eq")))


def test_station_items_prove_a_busy_station() -> None:
    """The county bound stops at 119.2 on the instance above; the all-open county MIPs
    raise it to the optimum, 138.2, over the station floor of three small stations."""
    data = H.build(_busy_station_spec())
    assert H.brute_force(data) == pytest.approx(138.2)
    model = compile_model(data)
    cb = county_bound(data, model)
    assert cb.value == pytest.approx(119.2)
    assert station_floor(model) == pytest.approx(3.0)
    out = station_items(data, model, cb, deadline=float("inf"))
    assert out.value == pytest.approx(138.2) and out.transfer == pytest.approx(3.0)
    assert out.value <= 138.2 * (1 + 1e-6)


@pytest.mark.parametrize("sense", ["eq", "le", "ge"])
def test_station_floor_by_hand(sense: Sense) -> None:
    """Three stations at 1 each: exactly or at least three cost 3, at most three 0; a
    forced site counts even under "le"; a target on part of the sites gives no floor."""
    spec = _busy_station_spec()
    spec.counts = (CountTarget("transfer", 3, sense), CountTarget("incinerator", 2, "eq"))
    model = compile_model(H.build(spec))
    assert station_floor(model) == pytest.approx(0.0 if sense == "le" else 3.0)
    spec.transfer[1] = H.Site(0, [(5.0, 1.0), (10.0, 20.0)], status=SiteStatus.FORCED)
    assert station_floor(compile_model(H.build(spec))) == pytest.approx(
        1.0 if sense == "le" else 3.0)
    spec.counts = (CountTarget("transfer", 1, "eq", prefecture="P1"),
                   CountTarget("incinerator", 2, "eq"))
    spec.county_prefecture = ("P1", "P2")
    assert np.isnan(station_floor(compile_model(H.build(spec))))


def _closed_station_spec(seed: int) -> H.Spec:
    """A random tiny instance of two closed counties, each with two villages, two
    stations (two sizes) and two plant sites; exactly three stations and two plants."""
    rng = np.random.default_rng(seed)
    county = [0, 0, 1, 1]
    demand = [float(x) for x in rng.integers(1, 6, 4)]
    tr = [H.Site(c, [(float(rng.integers(3, 7)), float(rng.integers(2, 10))),
                     (14.0, float(rng.integers(15, 30)))]) for c in (0, 0, 1, 1)]
    inc = [H.Site(c, [(6.0, float(rng.integers(20, 50))), (14.0, float(rng.integers(40, 80)))])
           for c in (0, 0, 1, 1)]
    collect = [(i, j, float(rng.integers(1, 9))) for i in range(4) for j in range(4)
               if county[i] == tr[j].county]
    haul = [(j, k, float(rng.integers(1, 8))) for j in range(4) for k in range(4)
            if inc[k].county == tr[j].county]
    return H.Spec(demand=demand, village_county=county, transfer=tr, incinerator=inc,
                  collect=collect, haul=haul, county_prefecture=("P1", "P1"),
                  counts=(CountTarget("transfer", 3, "eq"), CountTarget("incinerator", 2, "eq")))


@pytest.mark.parametrize("seed", list(range(60, 70)))
def test_station_items_never_exceed_the_optimum(seed: int) -> None:
    """On random closed instances with a station count, the bound raised by the all-open
    county MIPs is at most the brute-forced optimum, and never below the county bound."""
    data = H.build(_closed_station_spec(seed))
    opt = H.brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("infeasible draw")
    model = compile_model(data)
    cb = county_bound(data, model)
    out = station_items(data, model, cb, deadline=float("inf"))
    assert cb.value <= out.value <= opt * (1 + 1e-6), (cb.value, out.value, opt)


def test_decomposition_raises_the_county_bound_with_station_items() -> None:
    """A work-limited run of the scalable path raises the county bound on the busy-station
    instance with the all-open county MIPs and proves the optimum, 138.2."""
    data = H.build(_busy_station_spec())
    res = solve(data, SiteParams(time_limit_s=None, method="decomposition",
                                 max_iterations=5))
    assert any(line.startswith("county bound 119.2") for line in res.log), res.log
    items = next(line for line in res.log if line.startswith("station items "))
    assert float(items.split()[2]) == pytest.approx(138.2), items
    assert res.lower_bound == pytest.approx(138.2)
    assert res.total_cost == pytest.approx(138.2)


@pytest.mark.parametrize(("backend", "expected"), [("auto", "SCIPY"), ("SCIP", "SCIP"),
                                                   ("HIGHS", "HIGHS")])
def test_county_reoptimisation_uses_scipy_highs_unless_a_backend_is_given(
        monkeypatch: pytest.MonkeyPatch, backend: str, expected: str) -> None:
    """On closed counties under a time limit, the decomposition re-solves each county's
    both echelons with scipy's HiGHS when the backend is ``auto`` (measured better than
    SCIP there: ``relax.REGION_BACKEND``), and with the backend the caller names
    otherwise; the result is the same optimum either way."""
    import wastenet.siting.relax as relax

    seen = H.spy_backends(monkeypatch, relax, "reoptimise_counties")
    data = H.build(_closed_spec(41, "eq"))
    res = solve(data, replace(EXACT, method="decomposition", time_limit_s=10,
                              backend=backend))  # type: ignore[arg-type]
    assert seen and set(seen) == {expected}
    assert res.total_cost == pytest.approx(H.brute_force(data))
