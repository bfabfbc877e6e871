"""Exact re-optimisation of the incinerator echelon and the count reallocation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import siting_helpers as _h

from wastenet.siting.checker import check
from wastenet.siting.data import CountTarget, SiteStatus, SitingData
from wastenet.siting.echelon import (
    _closed,
    _merge,
    _pick,
    _shift_sets,
    _table,
    county_groups,
    fixed_cost_targets,
    group_search,
    reallocate_counts,
    reoptimise_incinerators,
)
from wastenet.siting.model import compile_model
from wastenet.siting.result import SitingResult
from wastenet.siting.solve import (
    SiteParams,
    SiteProgress,
    hint_from_result,
    result_from_assignment,
    solve,
)

Site, Spec, brute_force, build = _h.Site, _h.Spec, _h.brute_force, _h.build
far_from_target = _h.far_from_target

EXACT = SiteParams(time_limit_s=30, method="exact")


def _two_counties(i1_status: int = SiteStatus.FREE) -> SitingData:
    """County 0 has 20 t/d (two villages), county 1 has 10 t/d; no sharing (arcs stay in
    their county); exactly 3 incinerators in the province.

    County 0 can burn its 20 t/d in one plant of size 20 (120) or two of size 10 (50 + 50);
    county 1 in one plant of size 10 (50) or two (100). With 3 plants in all the optimum is
    two in county 0 and one in county 1: 100 + 50, plus collection 30, haul 30 and the two
    stations 2, i.e. 212. With site 1 excluded, county 0 has one plant (120) and county 1
    must open two (50 + 50): 282.
    """
    spec = Spec(
        demand=[10.0, 10.0, 10.0], village_county=[0, 0, 1],
        transfer=[Site(0, [(30.0, 1.0)]), Site(1, [(30.0, 1.0)])],
        incinerator=[Site(0, [(10.0, 50.0), (20.0, 120.0)]), Site(0, [(10.0, 50.0)],
                                                                  status=i1_status),
                     Site(1, [(10.0, 50.0), (20.0, 120.0)]), Site(1, [(10.0, 50.0)])],
        collect=[(0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0)],
        haul=[(0, 0, 1.0), (0, 1, 1.0), (1, 2, 1.0), (1, 3, 1.0)],
        counts=(CountTarget("incinerator", 3, "eq"),),
    )
    return build(spec)


def _poor_incumbent() -> tuple[SitingData, SitingResult]:
    """The instance above and a feasible but poor solution of it (one plant of size 20 in
    county 0, two plants in county 1: 282), found by solving with site 1 excluded."""
    data = _two_counties()
    poor = solve(_two_counties(SiteStatus.EXCLUDED), EXACT)
    assert poor.total_cost == pytest.approx(282.0)
    assert check(data, poor).ok
    return data, poor


def test_instance_optimum_by_brute_force() -> None:
    """The hand-computed optimum of the two-county instance is 212."""
    assert brute_force(_two_counties()) == pytest.approx(212.0)


def test_reoptimise_all_incinerators_reaches_the_optimum() -> None:
    """Re-optimising every incinerator site for the fixed stations finds the optimum (the
    stations are those of every solution here), and the checker accepts it."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    res = reoptimise_incinerators(data, model, poor)
    rep = check(data, res)
    assert rep.ok, rep.violations
    assert res.total_cost == pytest.approx(212.0)
    assert res.total_cost == pytest.approx(rep.total_cost, rel=1e-9)
    assert int(np.sum(res.incinerator_size >= 0)) == 3


def test_reoptimise_one_county_keeps_its_count() -> None:
    """Freeing only county 0's sites keeps one plant there (the incumbent's number), so no
    cheaper solution exists in that neighbourhood and the incumbent comes back."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    free = data.incinerator.county == 0
    res = reoptimise_incinerators(data, model, poor, free=free)
    assert res.total_cost == pytest.approx(poor.total_cost)
    assert check(data, res).ok


def test_count_shift_needs_balancing() -> None:
    """A shift of +1 on county 0 alone opens a fourth plant there (two of size 10: cheaper
    than the incumbent, but it breaks the province count, which the checker reports); a
    shift of -1 leaves county 0 without a plant, which has no solution: the incumbent
    comes back."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    free = data.incinerator.county == 0
    more = reoptimise_incinerators(data, model, poor, free=free, count_shift=1)
    assert int(np.sum(more.incinerator_size >= 0)) == 4
    assert more.total_cost == pytest.approx(262.0)
    assert not check(data, more).ok
    assert reoptimise_incinerators(data, model, poor, free=free, count_shift=-1) is poor


def test_reallocate_counts_moves_an_incinerator_between_counties() -> None:
    """The dynamic program moves one plant from county 1 to county 0: 282 -> 212."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    res = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=5, node_limit=2000)
    rep = check(data, res)
    assert rep.ok, rep.violations
    assert res.total_cost == pytest.approx(212.0)
    counties = data.incinerator.county[res.incinerator_size >= 0]
    assert sorted(counties.tolist()) == [0, 0, 1]


def test_reallocate_counts_is_deterministic() -> None:
    """Under a round limit (node-limited sub-MIPs) two runs give identical results."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    a = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=3, node_limit=2000)
    b = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=3, node_limit=2000)
    assert a.total_cost == b.total_cost
    assert np.array_equal(a.incinerator_size, b.incinerator_size)
    assert np.array_equal(a.haul_t_per_day, b.haul_t_per_day)


@pytest.mark.parametrize("workers", [1, 2])
def test_reallocation_table_by_hand(workers: int) -> None:
    """The table of the first round from the 282 incumbent, by hand: county 0 at shift +1
    opens two plants of size 10 (262, so -20), at -1 has no plant (impossible, so no
    entry); county 1 at -1 keeps one plant of size 10 (232, so -50); nothing is cheaper at
    shift 0. County 1 has no free site for +1, so :func:`_shift_sets` leaves it out. The
    same table with one or two sub-MIPs at a time; the dynamic program picks +1 / -1."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    counties = np.array([0, 1])
    sets = _shift_sets(data, model, poor, counties, (-1, 0, 1), None)
    assert sets == [(0, -1, 1), (0, -1)]
    table = _table(data, model, poor, counties, sets, deadline=float("inf"), seed=0,
                   backend="SCIP", sub_time_s=5.0, nodes=2000, tick=lambda _c: None,
                   workers=workers)
    assert sorted(table[0]) == [0, 1] and sorted(table[1]) == [-1, 0]
    assert table[0][0] == (0.0, poor) and table[1][0] == (0.0, poor)
    assert table[0][1][0] == pytest.approx(-20.0)
    assert table[1][-1][0] == pytest.approx(-50.0)
    gain, picks = _pick(table)
    assert gain == pytest.approx(-70.0) and picks == [1, -1]


@pytest.mark.parametrize("workers", [1, 2])
def test_reallocation_table_keeps_cheaper_county_layouts(workers: int) -> None:
    """From the optimum with county 1's plant enlarged to size 20 (282 instead of 212),
    shift 0 of county 1 is -70 in the table, with that county's cheaper layout (212, the
    checker agrees); a deadline already past computes nothing."""
    data = _two_counties()
    model = compile_model(data)
    best = solve(data, EXACT)
    assert best.total_cost == pytest.approx(212.0)
    site = int(np.flatnonzero((data.incinerator.county == 1) & (best.incinerator_size >= 0))[0])
    assert best.incinerator_size[site] == 0  # the size-10 option
    isize = best.incinerator_size.copy()
    isize[site] = 1
    keep = -np.ones(data.n_villages, dtype=np.int64)  # every village where it is
    worse = result_from_assignment(data, model, best, best.transfer_size, isize, keep,
                                   np.zeros(data.n_villages, bool),
                                   hint_from_result(model, best).h)
    assert worse.total_cost == pytest.approx(282.0) and check(data, worse).ok
    counties = np.array([0, 1])
    sets: list[tuple[int, ...]] = [(0,), (0,)]
    table = _table(data, model, worse, counties, sets, deadline=float("inf"), seed=0,
                   backend="SCIP", sub_time_s=5.0, nodes=2000, tick=lambda _c: None,
                   workers=workers)
    assert table[0][0] == (0.0, worse)
    delta, cheaper = table[1][0]
    assert delta == pytest.approx(-70.0) and cheaper.total_cost == pytest.approx(212.0)
    assert check(data, cheaper).ok
    late = _table(data, model, worse, counties, sets, deadline=0.0, seed=0, backend="SCIP",
                  sub_time_s=5.0, nodes=2000, tick=lambda _c: None, workers=workers)
    assert late == [{}, {}]
    assert _pick(late) == (np.inf, [])


def test_reallocate_counts_same_result_with_threads() -> None:
    """Two sub-MIPs at a time give exactly the result of one at a time (round limit)."""
    data, poor = _poor_incumbent()
    model = compile_model(data)
    a = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=3, node_limit=2000, workers=1)
    b = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=3, node_limit=2000, workers=2)
    assert a.total_cost == b.total_cost == pytest.approx(212.0)
    assert np.array_equal(a.incinerator_size, b.incinerator_size)
    assert np.array_equal(a.haul_t_per_day, b.haul_t_per_day)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_reoptimise_keeps_optimal_solutions_optimal(seed: int) -> None:
    """On random tiny instances with a count target, re-optimising an optimal solution
    (every site free, then each county alone) returns a checked solution of the same cost:
    never cheaper than the optimum, never worse than the incumbent."""
    spec = _h.random_spec(seed, n=4, m=3, q=3,
                          counts=(CountTarget("incinerator", 2, "eq"),))
    data = build(spec)
    opt = brute_force(data)
    if not np.isfinite(opt):
        pytest.skip("this random instance is infeasible")
    best = solve(data, EXACT)
    model = compile_model(data)
    for free in [None, *[data.incinerator.county == c for c in range(3)]]:
        res = reoptimise_incinerators(data, model, best, free=free)
        rep = check(data, res)
        assert rep.ok, rep.violations
        assert res.total_cost == pytest.approx(opt, rel=1e-6)


def test_decomposition_uses_the_reallocation() -> None:
    """The scalable path on the two-county instance ends at the optimum and says in its
    log that the incinerators were re-optimised."""
    data = _two_counties()
    res = solve(data, replace(EXACT, method="decomposition"))
    assert check(data, res).ok
    assert res.total_cost == pytest.approx(212.0)
    assert any("incinerator re-optimisation" in line for line in res.log)


def _shared_plant(c_status: int = SiteStatus.FREE) -> SitingData:
    """Counties 0 and 1 have 10 t/d each and share (county 1's station may haul to county
    0's plant A); county 2 has no villages but a cheap plant C. Exactly 2 plants.

    Plant A costs 50 at size 10 or 70 at size 20, plant B (county 1) 50 at size 10, plant
    C 5. The optimum opens A at size 20 for both counties and C: 75, plus collection 20,
    haul 20 and stations 2, i.e. 117. With C excluded it is A and B at size 10: 142.
    """
    spec = Spec(
        demand=[10.0, 10.0], village_county=[0, 1],
        transfer=[Site(0, [(30.0, 1.0)]), Site(1, [(30.0, 1.0)])],
        incinerator=[Site(0, [(10.0, 50.0), (20.0, 70.0)]), Site(1, [(10.0, 50.0)]),
                     Site(2, [(10.0, 5.0)], status=c_status)],
        collect=[(0, 0, 1.0), (1, 1, 1.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (1, 1, 1.0)],
        counts=(CountTarget("incinerator", 2, "eq"),),
    )
    return build(spec)


@pytest.mark.parametrize("workers", [1, 2])
def test_group_search_merges_plants_across_a_border(workers: int) -> None:
    """Re-optimising the three counties together replaces the two small plants by one
    shared plant and opens the cheap one elsewhere: 142 -> 117 (the brute-force optimum).
    One county at a time cannot: closing B alone leaves county 1 without room. The same
    with one or two groups at a time."""
    data = _shared_plant()
    assert brute_force(data) == pytest.approx(117.0)
    poor = solve(_shared_plant(SiteStatus.EXCLUDED), EXACT)
    assert poor.total_cost == pytest.approx(142.0)
    model = compile_model(data)
    alone = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=3, node_limit=2000,
                              workers=workers)
    assert alone.total_cost == pytest.approx(142.0)
    res = group_search(data, model, poor, deadline=float("inf"), max_rounds=10,
                       workers=workers)
    rep = check(data, res)
    assert rep.ok, rep.violations
    assert res.total_cost == pytest.approx(117.0)


def test_reoptimise_when_every_village_goes_direct() -> None:
    """No station is open and nothing is hauled (both villages go directly to plant 0,
    size 10 for 20): the re-optimisation handles the empty haul and keeps the optimum,
    20 + direct 10 = 30 (it used to fail adding float loads to an empty int array)."""
    spec = Spec(demand=[5.0, 5.0], village_county=[0, 0],
                transfer=[Site(0, [(10.0, 100.0)])],
                incinerator=[Site(0, [(10.0, 20.0)]), Site(0, [(10.0, 30.0)])],
                collect=[(0, 0, 1.0), (1, 0, 1.0)],
                direct=[(i, k, 1.0) for i in (0, 1) for k in (0, 1)], haul=[(0, 0, 1.0)],
                counts=(CountTarget("incinerator", 1, "eq"),))
    data = build(spec)
    best = solve(data, EXACT)
    assert best.total_cost == pytest.approx(30.0) and best.haul_t_per_day.size == 0
    model = compile_model(data)
    res = reoptimise_incinerators(data, model, best)
    assert res.total_cost == pytest.approx(30.0) and check(data, res).ok


def test_closed_counties() -> None:
    """No arc crosses a border in the two-county instances; the shared plant's does."""
    assert _closed(_two_counties(), compile_model(_two_counties()))
    assert _closed(far_from_target(), compile_model(far_from_target()))
    assert not _closed(_shared_plant(), compile_model(_shared_plant()))


def test_fixed_cost_targets_by_hand() -> None:
    """Two-county instance: county 0 (20 t/d) pays 120 with one plant, 100 with two;
    county 1 (10 t/d) 50 with one, 100 with two; 3 plants are cheapest as (2, 1). The
    second instance: 4 plants are cheapest as (1, 3) (120 against 230 and 250)."""
    data = _two_counties()
    got = fixed_cost_targets(data, compile_model(data), np.array([0, 1]), np.array([1, 2]))
    assert got.tolist() == [2, 1]
    data = far_from_target()
    got = fixed_cost_targets(data, compile_model(data), np.array([0, 1]), np.array([3, 1]))
    assert got.tolist() == [1, 3]


@pytest.mark.parametrize("guide", [False, True])
def test_reallocation_guided_by_fixed_costs(guide: bool) -> None:
    """From (3, 1) at 250 + 122, one round of +-1 shifts reaches (2, 2) (230 + 122); with
    the guide, the shifts -2 / +2 are tried too and one round reaches the optimum (1, 3),
    120 + 122 = 242 (brute force agrees). The chosen candidates are joined (closed
    counties) and the checker accepts the result."""
    data = far_from_target()
    assert brute_force(data) == pytest.approx(242.0)
    poor = solve(far_from_target(poor=True), EXACT)
    assert poor.total_cost == pytest.approx(372.0)
    model = compile_model(data)
    res = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=1, node_limit=2000,
                            guide=guide)
    rep = check(data, res)
    assert rep.ok, rep.violations
    assert res.total_cost == pytest.approx(242.0 if guide else 352.0)
    assert "joined" in res.log[-1]


@pytest.mark.parametrize(("targets", "cost"), [({0: 1, 1: 3}, 242.0), ({0: 3, 1: 1}, 352.0)])
def test_reallocation_guided_by_given_targets(targets: dict[int, int], cost: float) -> None:
    """Given targets (the county bound's allocation) replace the fixed-cost guide: towards
    (1, 3) one round from (3, 1) reaches the optimum 242; towards (3, 1), where it stands,
    only the +-1 shifts are tried and the round ends at (2, 2), 352."""
    data = far_from_target()
    poor = solve(far_from_target(poor=True), EXACT)
    res = reallocate_counts(data, compile_model(data), poor, deadline=float("inf"),
                            max_rounds=1, node_limit=2000, targets=targets)
    assert check(data, res).ok
    assert res.total_cost == pytest.approx(cost)


def test_closed_counties_run_on_after_a_small_round() -> None:
    """Unguided, round 1 gains 20 of 372 (5 %), round 2 the other 110: with min_gain 50 %
    the rounds still run on for closed counties (their later rounds are cheap), to 242."""
    data = far_from_target()
    poor = solve(far_from_target(poor=True), EXACT)
    model = compile_model(data)
    res = reallocate_counts(data, model, poor, deadline=float("inf"), max_rounds=5, node_limit=2000,
                            guide=False, min_gain=0.5)
    assert res.total_cost == pytest.approx(242.0)
    assert sum("count reallocation round" in line for line in res.log) == 2


def test_merge_joins_county_candidates() -> None:
    """Joining the two counties' candidates of the guided shifts gives the same solution
    as solving (1, 3) directly: cost 242, one plant in county 0, three in county 1."""
    data = far_from_target()
    model = compile_model(data)
    poor = solve(far_from_target(poor=True), EXACT)
    ic = data.incinerator.county
    a = reoptimise_incinerators(data, model, poor, free=ic == 0, count_shift=-2)
    b = reoptimise_incinerators(data, model, poor, free=ic == 1, count_shift=2)
    joined = _merge(data, model, poor, [(ic == 0, a), (ic == 1, b)])
    assert check(data, joined).ok
    assert joined.total_cost == pytest.approx(242.0)
    assert np.bincount(ic[joined.incinerator_size >= 0], minlength=2).tolist() == [1, 3]


def test_county_groups_are_seeded_and_near() -> None:
    """Each group starts with its own county followed by the nearest ones; the order of
    the groups depends only on the seed."""
    data = _two_counties()
    lon = np.array([120.0, 120.1, 125.0, 125.1])
    data = replace(data, incinerator=replace(data.incinerator, lon=lon,
                                             lat=np.full(4, 41.0)))
    groups = county_groups(data, 2, seed=1)
    assert sorted(g[0] for g in groups) == [0, 1]
    assert all(sorted(g.tolist()) == [0, 1] for g in groups)
    again = county_groups(data, 2, seed=1)
    assert [g.tolist() for g in groups] == [g.tolist() for g in again]


def test_decomposition_reports_progress_inside_long_steps(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The scalable path reports from inside the Lagrangian steps and step 7 (not only
    between steps): fractions never go back, every reported bound is valid (at most the
    final cost, which is optimal here) and the bounds never decrease."""
    import wastenet.siting.relax as relax

    monkeypatch.setattr(relax, "PROGRESS_EVERY_S", 0.0)
    seen: list[SiteProgress] = []
    data = _two_counties()
    res = solve(data, replace(EXACT, method="decomposition"), progress=seen.append)
    msgs = [p.message for p in seen]
    assert any(m.startswith("Lagrangian relaxation (iteration") for m in msgs), msgs
    assert any(m.startswith("re-optimising the incinerators: ") for m in msgs), msgs
    fracs = [p.fraction for p in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    lbs = [p.lower_bound for p in seen if p.lower_bound is not None]
    assert lbs == sorted(lbs)
    assert max(lbs) <= res.total_cost * (1 + 1e-9)
    assert res.total_cost == pytest.approx(212.0)
