r"""Scalable path: Lagrangian and LP bounds, greedy construction, restricted MIP, local search.

Algorithm
---------
1. **Path bound** (instant, weak):
   :math:`\sum_i w_i \min(P, \min_{\text{paths } i\to j\to k \text{ or } i\to k} c)` plus
   the cheapest size of every forced site and every negative fixed cost -- valid because it
   only drops capacities and non-negative fixed costs (throughput costs are path costs).
2. **Greedy construction** (:func:`wastenet.siting.heuristics.construct`): a first
   incumbent, used as the upper bound of the subgradient steps.
3. **Lagrangian bound** (:mod:`wastenet.siting.lagrange`, 30% of the time limit (3% when
   step 4c or 4d follows) or ``max_iterations`` iterations): valid for any multipliers by
   weak duality; the frequencies with which sites open in the subproblems guide a second
   construction.
4. **LP relaxation** (only up to ``LP_MAX_ARCS`` arcs; its pywraplp build alone takes
   minutes at province size): the LP optimum is a valid bound (every integer solution is
   LP-feasible); only an LP solved to optimality is used, lowered by a ``1e-9`` relative
   margin for the simplex tolerances. Its values guide a third construction and a
   **restricted MIP** over the sites the LP opens (:math:`Y_s > 10^{-6}`), every existing
   and forced site, the facility of each village's cheapest arc and an incinerator for
   every kept station (without an LP: the sites the Lagrangian subproblems open, when the
   reduced model has at most ``LP_MAX_ARCS`` arcs). The restricted MIP's own bound is *not*
   a bound of the full problem and is never used. When step 7 applies and the model has
   more than ``RESTRICTED_MAX_ARCS`` arcs, the restricted MIP is skipped and its time goes
   to step 7.
   **4b. Split bound** (:mod:`wastenet.siting.splitbound`): station fixed costs bounded
   apart, plants and flows by an LP that follows each village to its plant with the
   facility-location linking :math:`a_{ik}\le Z_k`, plus the fixed-cost cover cuts of
   :mod:`wastenet.siting.cuts` (each county pays at least the cheapest whole modules that
   can process its waste where the arcs let it go). Like the LP, only up to
   ``LP_MAX_ARCS`` arcs. Measured without sharing: 844 M yuan/yr against the LP's 792 M;
   under adjacent sharing (not run) the same arc budget gives only 786 M.
   **4c. Split Lagrangian** (above ``LP_MAX_ARCS``, in place of 4 and 4b): the same split,
   its plant part as a Lagrangian over every village-to-plant path, solved by subgradient
   steps (:func:`wastenet.siting.splitbound.split_lagrangian`); measured under adjacent
   sharing: 808 M yuan/yr after 150 s, against 786 M from step 3.
   **4d. County bound** (:mod:`wastenet.siting.countybound`, in place of 4b and 4c when
   no arc crosses a county border and there is one plant count): the split bound with
   whole plants, county by county, joined by a dynamic program over the plant count,
   county MIPs solved where the program picks; measured without sharing: 854.7 M yuan/yr
   in 90 s, against 844 M from 4b in 78 s. Without a time limit the program's items are
   then raised by county MIPs with every station open, which bound a county at any
   number of stations (:func:`wastenet.siting.countybound.station_items`).
5. The full MIP is solved only if nothing above produced a solution (mid-size models).
6. **Local search** (:mod:`wastenet.siting.heuristics`): village shifts with exact haul and
   resizing, incinerator downsizing with exact haul, and swap/add/drop interchange for
   uncapacitated one-echelon problems (p-median, UFL).
7. **Incinerator re-optimisation** (:mod:`wastenet.siting.echelon`, single-source models
   with incinerator count targets): with the stations and their villages fixed, each
   county's incinerators are re-sited and re-sized exactly by a small MIP, and a dynamic
   program moves incinerators between counties (:func:`reallocate_counts`; without
   sharing it also tries the numbers of plants the county bound's allocation gives (or,
   without it, those that minimise the plant fixed costs), joins the independent
   counties' solutions at once and re-solves only the counties that moved);
   without sharing (and with the county bound), after one reallocation round new
   plants and then new stations move between counties in balanced shifts, each county's
   both echelons re-solved at its shifted numbers, where the county bound's program
   gives a county more or fewer plants, its table shows a county furthest above its
   bound, or a county has many sites (:func:`wastenet.siting.region.move_sites`), and
   each county's stations and plants are re-solved together at their numbers of new
   sites, by scipy's HiGHS unless a backend is given (``REGION_BACKEND``)
   (:func:`wastenet.siting.region.reoptimise_counties`); then groups of nearby counties
   are re-optimised together (:func:`group_search`), so that one plant can replace
   several across county borders. With sharing, where flows cross the county borders,
   passes that re-solve the stations and plants of a region with its border flows frozen
   (:func:`wastenet.siting.openregion.reoptimise_open`, the same HiGHS) run while they
   gain: the first pass takes each county alone, the later ones each county with its two
   nearest (a longer limit per region, ``OPEN_WIDE_SUB_S``), and one such wider pass
   always follows the first; the group search then gets the time that is left. Each
   solves ``threads`` sub-MIPs at a time.

The reported bound is the best valid bound of steps 1, 3, 4, 4b, 4c, 4d (or the full MIP's
best bound in step 5); ``gap = (UB - LB) / UB``. A solution is always returned unless no
step found one within the limits (then :class:`NoSolutionError`, which does not claim
infeasibility).

The solutions of steps 2-5 (constructions, restricted and full MIP solutions) are
candidates; the incumbent that step 6 starts from is the cheapest one the independent
checker (:func:`wastenet.siting.checker.check`) passes, checked once the bound steps are
done, and the result of steps 6-7 is checked once before it is returned (else that
checked incumbent is): a solution that breaks a count target, a capacity or coverage can
neither be returned nor be called optimal at a cost below the bound. One check per
accepted incumbent, never inside a search loop (well under a second at province size).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from wastenet.errors import InfeasibleError, NoSolutionError
from wastenet.siting.checker import check
from wastenet.siting.countybound import applies as county_applies
from wastenet.siting.countybound import county_bound, station_items
from wastenet.siting.data import SitingData
from wastenet.siting.echelon import _closed, county_groups, group_search, reallocate_counts
from wastenet.siting.heuristics import construct, downsize, improve, interchange
from wastenet.siting.lagrange import lagrangian_bound
from wastenet.siting.mip import MipOptions, MipSolution, solve_mip
from wastenet.siting.model import CompiledModel
from wastenet.siting.openregion import reoptimise_open
from wastenet.siting.region import move_sites, reoptimise_counties
from wastenet.siting.result import SitingResult
from wastenet.siting.splitbound import split_bound, split_lagrangian

log = logging.getLogger("wastenet.siting.relax")

#: the LP relaxation and the restricted MIP are tried only up to this many arcs. The
#: province without sharing has 150,866 (146,584 before its neighbour lists kept every
#: allowed arc, 633caba); its LP takes about 25 s and guides a start 61 M yuan/yr better
#: (after downsizing) than the Lagrangian's. With adjacent sharing it has 249,134, where
#: the LP is far too slow.
LP_MAX_ARCS = 160_000
#: with step 7 ahead, the restricted MIP runs only up to this many arcs
RESTRICTED_MAX_ARCS = 60_000
#: subgradient iterations under a time limit (the deadline usually ends them first), and
#: the non-improving steps before the step size halves (measured on the province:
#: 2,000 iterations at patience 50 reach 785.4 M against 783.8 M at patience 20)
LAGRANGE_MAX_ITER = 20_000
LAGRANGE_PATIENCE = 50
#: with sharing, the count reallocation of step 7 stops after a round that gains less
#: than this share and leaves the time to the group search (measured on liaoning-2025 at
#: ee3c062: round 1 gains 1.0 %, round 2 0.09 % in about 80 s, while the group search
#: gained 1.0 % in the time it had at 37b5d59); without sharing the rounds after the
#: first only re-solve the counties that moved and run on
REALLOC_MIN_GAIN = 0.02
#: the split bound keeps at most this many village-to-plant path arcs, and may use this
#: share of the time limit (measured on liaoning-2025-no-sharing: 91 k arcs, 65 s)
SPLIT_MAX_ARCS = 100_000
SPLIT_SHARE = 0.2
#: share of the time limit for the county bound (step 4d). Measured on
#: liaoning-2025-no-sharing (600 s, 2 threads): with 120 s it reached 853.6 M, but step 7
#: then had time for three reallocation rounds (905.9 M); with the split bound failing
#: after 9 s, five rounds reached 890.5 M. 60 s gave 848.4 M with the MIPs at 0-4 plants
#: for every county, 90 s 850.4 M; with the MIPs where the allocation picks, 90 s give
#: 854.7 M and the rounds end at 91 s with 855.1 M (retries with longer limits add 0.2 M
#: in 30 s more). The time comes out of step 3, which this step makes redundant (below)
COUNTY_SHARE = 0.17
#: step 4d, then, only without a time limit: the county bound raised by county MIPs with
#: every station open (:func:`wastenet.siting.countybound.station_items`). Measured on
#: liaoning-2025-no-sharing, 2 threads: at 1,200 s, 180 s of them raised 857.96 M to
#: 859.18 M, but the run ended at 876.9 M / 2.02 % against 874.6 M / 858.0 M / 1.90 %
#: without them; at 600 s, 200 s gave +2.6 M, more than the run can take from step 7
#: step 3 (the first Lagrangian) ends at this share of the time limit when a stronger
#: bound step follows: the split Lagrangian above ``LP_MAX_ARCS`` (step 4c) or the county
#: bound (step 4d). Measured at b850c65 (600 s): on liaoning-2025 step 3 gave 785.7 M in
#: 59 s against 807.8 M from step 4c, and its guided construction 1,092.9 M against the
#: greedy 1,095.7 M; on liaoning-2025-no-sharing 784.3 M in 51 s against 848.3 M from 4d,
#: and a construction no better than the greedy one. Its bound stays as a fallback.
LAGRANGE_SHARE_SHORT = 0.03
#: time limit of each county's MIP in the re-optimisation of both echelons (step 7,
#: closed counties); measured on liaoning-2025-no-sharing at 10 s: 37 of 71 counties
#: proven optimal at their numbers of sites, the median county in 4.6 s
COUNTY_SUB_S = 10.0
#: MIP backend of the re-optimisations of both echelons at fixed numbers of sites (step
#: 7: each closed county, or each county with its border flows frozen under sharing) when
#: ``backend`` is ``"auto"``: scipy's HiGHS, also under a time limit (elsewhere ``auto``
#: means SCIP there, which takes the incumbent as a start). Measured at 9c50796, 2
#: threads, from one 600 s result each:
#:
#: - liaoning-2025-no-sharing (883.06 M yuan/yr, its re-optimisation had gained nothing),
#:   10 s per county, id order: in 55 s SCIP gained 0.94 M (14 counties improved), HiGHS
#:   1.57 M (14); in 110 s SCIP 1.38 M (28), HiGHS 2.68 M (33). On county 84 (561
#:   villages) in 30 s SCIP kept the start (gap 1.7 %), HiGHS found 0.66 M less (0.08 %);
#: - liaoning-2025 (837.35 M, after three SCIP passes), one pass at 2 s per county: SCIP
#:   gained 0.002 M (1 county), HiGHS 1.58 M (10 counties), both in 44-45 s.
#:
#: Not used for the moves between counties: a whole no-sharing run with
#: ``backend="SCIPY"`` ended at 892.5 M against 883.1 and 884.0 M with SCIP, its plant
#: and station moves gaining 11.7 M where SCIP's gained 47.1 and 26.4 M (their shifted
#: sub-problems start from the incumbent's values); nor for the group search, where 60 s
#: from the 837.35 M result gained 0.023 M with either.
REGION_BACKEND = "SCIPY"
#: closed counties (step 7): the count reallocation runs ``REALLOC_ROUNDS_CLOSED`` rounds
#: under a time limit and ends at this share of it at the latest; then rounds of plant
#: moves and station moves alternate, while a pair of them gains, up to the next share,
#: and the county re-optimisation takes the rest (to 97 %). Measured on
#: liaoning-2025-no-sharing (600 s): reallocation round 1 took the incumbent from
#: 1,156.0 M to 915-922 M in about 150 s, round 2 to 909.1 M in 76 s. After round 1, two
#: plant-move rounds, one station-move round and the county re-optimisation gained
#: 35.9 M (916.4 -> 880.5 M); plant, station, plant moves and the re-optimisation
#: 38.5 M (921.8 -> 883.3 M: -21.2, -14.7, -1.6, -1.0 M)
REALLOC_SHARE_CLOSED = 0.6
REALLOC_ROUNDS_CLOSED = 1
STATIONS_SHARE = 0.88
#: plant moves (step 7, closed counties): counties tried with a plant more and with one
#: fewer in each round; stations: counties tried with one more, and with one fewer
PLANT_MOVES = 6
STATION_UP = 6
STATION_DOWN = 12
#: with sharing (counties not closed, step 7): after the count reallocation, passes of the
#: open-region re-optimisation (border flows frozen) while they gain: the first over each
#: county alone, at most ``OPEN_SUB_S`` per county under a time limit (measured on
#: liaoning-2025 from the 600 s result at 0b68bcd, 835.0 M, 2 threads: a pass at 10 s per
#: county gained 6.9 M in 130 s, at 2 s 4.4 M in 51 s); the later ones over each county
#: with its ``OPEN_WIDE_SIZE - 1`` nearest (:func:`wastenet.siting.echelon.county_groups`,
#: a new seeded order each pass), at most ``OPEN_WIDE_SUB_S`` per region. Measured from
#: the eighteenth session's 600 s result (835.54 M, where the passes of single counties at
#: 2 s and the group search had stopped gaining; HiGHS, 2 threads, one pass each): single
#: counties at 2 s gained 0.32 M in 37 s, at 10 s 2.99 M in 104 s; pairs at 10 s 3.27 M in
#: 101 s, at 20 s 4.12 M in 167 s; triples at 10 s 3.95 M in 106 s. Whole 600 s runs on
#: one machine (seed 0): 834.80 M with the former schedule (single-county passes at 2 s
#: alternating with 60 s segments of the group search, which gained 0.004-0.20 M each),
#: 833.44 M with this one (the wider pass gained 2.89 M in the 227 s it had), 834.21 M
#: with 5 s per wider region (its run shared the machine with a test run at low priority).
#: The group search gets whatever time is left.
OPEN_SUB_S = 2.0
OPEN_WIDE_SIZE = 3
OPEN_WIDE_SUB_S = 10.0
#: long steps report their progress at most this often (seconds)
PROGRESS_EVERY_S = 1.0
#: share of the time left that the restricted MIP may use
RESTRICTED_SHARE = 0.35
#: with incinerator count targets, local search ends at this share of the time limit and
#: the incinerator re-optimisation (step 7) runs until 97 % of it
LOCAL_SHARE = 0.7

Report = Callable[[float, float | None, float | None, str], None]


def path_bound(model: CompiledModel) -> float:
    """The path bound of step 1 in the module docstring (valid, weak, instant)."""
    n = model.demand.shape[0]
    inf = np.inf
    min_haul = np.full(model.transfer.n_sites, inf)
    np.minimum.at(min_haul, model.haul.src, model.haul.cost)
    best = np.full(n, inf)
    np.minimum.at(best, model.collect.src, model.collect.cost + min_haul[model.collect.dst])
    np.minimum.at(best, model.direct.src, model.direct.cost)
    best = np.where(model.can_skip, np.minimum(best, model.penalty), best)
    best = np.where(np.isfinite(best), best, 0.0)
    bound = float(np.dot(model.demand, best))
    for ech in (model.transfer, model.incinerator):
        cheapest = np.full(ech.n_sites, inf)
        np.minimum.at(cheapest, ech.opt_site, ech.opt_fixed)
        has = np.isfinite(cheapest)
        # any site may open: count negative fixed costs; forced sites pay their cheapest size
        bound += float(np.minimum(cheapest[has], 0.0).sum())
        forced = has & ech.forced & ech.usable
        bound += float(np.maximum(cheapest[forced], 0.0).sum())
    return bound


def reduce_by_lp(model: CompiledModel, lp: MipSolution) -> tuple[np.ndarray, ...]:
    """Masks (tr options, inc options, collect, direct, haul) of the reduced model."""
    return reduce_by_values(model, lp.y, lp.z)


def reduce_by_values(model: CompiledModel, y: np.ndarray, z: np.ndarray,
                     threshold: float = 1e-6) -> tuple[np.ndarray, ...]:
    """Reduced-model masks from per-option open values (LP values or Lagrangian shares)."""
    tr, inc = model.transfer, model.incinerator
    tr_open = np.zeros(tr.n_sites)
    np.add.at(tr_open, tr.opt_site, y)
    in_open = np.zeros(inc.n_sites)
    np.add.at(in_open, inc.opt_site, z)
    keep_t = (tr_open > threshold) | tr.existing | tr.forced
    keep_i = (in_open > threshold) | inc.existing | inc.forced
    # each village's cheapest arc
    n = model.demand.shape[0]
    best_c = np.full(n, np.inf)
    np.minimum.at(best_c, model.collect.src, model.collect.cost)
    best_d = np.full(n, np.inf)
    np.minimum.at(best_d, model.direct.src, model.direct.cost)
    # villages without an arc to a kept site keep the site of their cheapest arc
    served = np.zeros(n, dtype=bool)
    served[model.collect.src[keep_t[model.collect.dst]]] = True
    served[model.direct.src[keep_i[model.direct.dst]]] = True
    hit_c = (model.collect.cost <= best_c[model.collect.src]) & ~served[model.collect.src]
    hit_d = (model.direct.cost <= best_d[model.direct.src]) & ~served[model.direct.src]
    keep_t[model.collect.dst[hit_c]] = True
    keep_i[model.direct.dst[hit_d]] = True
    # each kept station keeps its cheapest haul arc's incinerator
    best_h = np.full(tr.n_sites, np.inf)
    np.minimum.at(best_h, model.haul.src, model.haul.cost)
    hauled = np.zeros(tr.n_sites, dtype=bool)
    hauled[model.haul.src[keep_i[model.haul.dst]]] = True
    hit_h = (model.haul.cost <= best_h[model.haul.src]) & keep_t[model.haul.src] \
        & ~hauled[model.haul.src]
    keep_i[model.haul.dst[hit_h]] = True
    return (
        keep_t[tr.opt_site],
        keep_i[inc.opt_site],
        keep_t[model.collect.dst],
        keep_i[model.direct.dst],
        keep_t[model.haul.src] & keep_i[model.haul.dst],
    )


def solve_decomposition(data: SitingData, model: CompiledModel, params: object,
                        report: Report, t0: float) -> SitingResult:
    """Run the scalable path; ``params`` is a :class:`~wastenet.siting.solve.SiteParams`."""
    from wastenet.siting.solve import SiteParams, diagnose, to_result

    assert isinstance(params, SiteParams)
    limit = params.time_limit_s

    def left() -> float | None:
        return None if limit is None else max(1.0, limit - (time.perf_counter() - t0))

    lines: list[str] = []
    # every solution of steps 2-5 is a candidate; the incumbent is the cheapest one the
    # independent checker accepts (``accept``, after the bound steps, so that no check
    # takes time from them)
    pool: list[tuple[str, SitingResult]] = []

    def offer(cur: SitingResult | None, cand: SitingResult | None, what: str
              ) -> SitingResult | None:
        """``cand`` joins the candidates; returns the cheaper of ``cur`` and ``cand``, not
        yet checked (for progress reports and subgradient step sizes only)."""
        if cand is None:
            return cur
        pool.append((what, cand))
        return cand if cur is None or cand.total_cost < cur.total_cost else cur

    def accept() -> SitingResult | None:
        """The cheapest candidate the checker accepts (the first offered on a tie), or
        None. Candidates are checked cheapest first until one passes: one check when it
        does (well under a second at province size). A rejected one (a heuristic's bug)
        must neither be returned nor be called optimal at a cost below the optimum."""
        ranked = sorted(pool, key=lambda p: p[1].total_cost)
        pool.clear()
        for what, cand in ranked:
            rep = check(data, cand)
            if rep.ok:
                return cand
            log.warning("%s rejected by the checker: %s", what,
                        "; ".join(rep.violations[:3]))
            lines.append(f"{what} rejected by the checker: {rep.violations[0]}")
        return None

    lb = path_bound(model)
    lines.append(f"path bound {lb:.10g}")
    greedy = construct(data, model)
    lines.append("greedy construction: " + (f"{greedy.total_cost:.10g}" if greedy is not None
                                            else "failed"))
    best = offer(None, greedy, "greedy construction")
    report(0.02, None if best is None else best.total_cost, lb, "Lagrangian relaxation")
    ub = best.total_cost if best is not None else max(abs(lb) * 2.0, 1.0)
    small = len(model.collect) + len(model.direct) + len(model.haul) <= LP_MAX_ARCS
    # when step 4c or 4d gives the bound, this one is short
    county = county_applies(data, model)
    lag_share = 0.3 if small and not county else LAGRANGE_SHARE_SHORT
    lag_end = None if limit is None else t0 + lag_share * limit
    last = [time.perf_counter()]

    def ticker(first: float, span: float, start: float, stop: float | None
               ) -> Callable[[float | None, float | None, str], None]:
        """Progress from inside a long step (minutes on the province), at most every
        ``PROGRESS_EVERY_S``: the fraction moves from ``first`` by ``span`` as the clock
        goes from ``start`` to ``stop`` (half-way when there is no time limit)."""
        def tick(inc: float | None, bound: float | None, message: str) -> None:
            now = time.perf_counter()
            if now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            done = 0.5 if stop is None else min(1.0, (now - start) / max(stop - start, 1e-9))
            report(first + span * done, inc, bound, message)
        return tick

    lag_tick = ticker(0.02, 0.28, t0, lag_end)
    inc_cost = None if best is None else best.total_cost

    def lag_progress(it: int, bound: float) -> None:
        if np.isfinite(bound):
            lag_tick(inc_cost, max(lb, bound), f"Lagrangian relaxation (iteration {it})")

    # under a time limit the deadline ends the subgradient steps, not an iteration count
    lag = lagrangian_bound(model, upper_bound=ub, max_iter=params.max_iterations or (
        600 if limit is None else LAGRANGE_MAX_ITER), patience=LAGRANGE_PATIENCE,
        deadline=lag_end, on_iteration=lag_progress)
    if np.isfinite(lag.bound):
        lb = max(lb, lag.bound)
    lines.append(f"Lagrangian bound {lag.bound:.10g} after {lag.iterations} iterations "
                 f"in {lag.wall_s:.1f}s")
    lag_sol = construct(data, model, lag.y_freq, lag.z_freq)
    lines.append("Lagrangian-guided construction: " + (
        f"{lag_sol.total_cost:.10g}" if lag_sol is not None else "failed"))
    best = offer(best, lag_sol, "Lagrangian-guided construction")
    report(0.3, None if best is None else best.total_cost, lb, "LP relaxation")
    masks = None
    if small:
        lp_limit = None if limit is None else 0.2 * limit
        lp = solve_mip(model, MipOptions(backend="HIGHS", relax=True, time_limit_s=lp_limit,
                                         threads=params.threads, seed=params.seed))
        if lp.status == "infeasible":
            raise diagnose(data, model, params)
        if lp.status == "optimal":
            lb = max(lb, lp.objective - 1e-9 * abs(lp.objective))
            lines.append(f"LP bound {lp.objective:.10g} in {lp.wall_s:.1f}s")
            masks = reduce_by_lp(model, lp)
            cons = construct(data, model, lp.y, lp.z)
            lines.append("LP-guided construction: " + (
                f"{cons.total_cost:.10g}" if cons is not None else "failed"))
            best = offer(best, cons, "LP-guided construction")
        else:
            lines.append(f"LP not solved in its limit ({lp.status})")
    else:
        lines.append(f"LP skipped (more than {LP_MAX_ARCS} arcs)")
    # step 4d: closed counties (no sharing) with one plant count: the county bound
    # (whole plants county by county); otherwise 4b, the split bound with the county cover
    # cuts (like the LP, only up to LP_MAX_ARCS: under adjacent sharing, at an affordable
    # size its truncated plant lists leave it no better than the Lagrangian), or 4c above
    county_picks: dict[int, int] | None = None
    county_table: dict[int, np.ndarray] | None = None
    # the two parts of a split or county bound, for the gap anatomy (wastenet.siting.anatomy);
    # kept in the result only if they add up to the bound it reports
    parts: dict[str, float] | None = None
    if county:
        start = time.perf_counter()
        end = None if limit is None else start + COUNTY_SHARE * limit
        c_tick = ticker(0.3, 0.3, start, end)
        inc_now = None if best is None else best.total_cost
        cb = county_bound(data, model, deadline=end, workers=params.threads,
                          node_limit=None if params.max_iterations is None else 2000,
                          tick=lambda done, total: c_tick(
                              inc_now, lb, f"county bound ({done}/{total} programs)"))
        lines.append("county bound " + (
            f"{cb.value:.10g} (stations {cb.transfer:.10g}, {cb.counties.size} counties, "
            f"{cb.n_exact} county MIPs)" if np.isfinite(cb.value) else "not used")
            + f": {cb.status}, {cb.wall_s:.1f}s")
        with_items = np.isfinite(cb.value) and limit is None
        if with_items:
            s_start = time.perf_counter()
            raised = station_items(
                data, model, cb, workers=params.threads, sub_time_s=COUNTY_SUB_S,
                deadline=float("inf"), node_limit=None if params.max_iterations is None else 2000,
                tick=lambda done, total: c_tick(
                    inc_now, lb, f"county bound: station items ({done}/{total} MIPs)"))
            lines.append(f"station items {raised.value:.10g} (stations {raised.transfer:.10g})"
                         f" in {time.perf_counter() - s_start:.1f}s")
            cb = raised
        if np.isfinite(cb.value):
            if not with_items:
                parts = {"transfer": cb.transfer, "plants": cb.plants}
            lb = max(lb, cb.value)
        if cb.picks.size:
            county_picks = dict(zip(cb.counties.tolist(), cb.picks.tolist(), strict=True))
        if np.isfinite(cb.value):
            county_table = cb.by_county()
    elif small:
        split = split_bound(model, groups=data.village_county, max_arcs=SPLIT_MAX_ARCS,
                            time_limit_s=None if limit is None else SPLIT_SHARE * limit)
        lines.append("split bound " + (
            f"{split.value:.10g} ({split.n_arcs} path arcs, {split.n_cuts} cover cuts)"
            if np.isfinite(split.value) else "not used") + f": {split.status}, "
            f"{split.wall_s:.1f}s")
        if np.isfinite(split.value):
            parts = {"transfer": split.transfer, "plants": split.plants}
            lb = max(lb, split.value)
    else:
        # step 4c: the same split, its plant part by subgradient steps over every path
        start = time.perf_counter()
        end = None if limit is None else start + SPLIT_SHARE * limit
        split_tick = ticker(0.3, 0.3, start, end)
        inc_now = None if best is None else best.total_cost
        split = split_lagrangian(
            model, groups=data.village_county,
            upper_bound=inc_now if inc_now is not None else ub, deadline=end,
            max_iter=params.max_iterations or (600 if limit is None else LAGRANGE_MAX_ITER),
            patience=LAGRANGE_PATIENCE,
            on_iteration=lambda it, bound: split_tick(
                inc_now, max(lb, bound), f"split Lagrangian (iteration {it})"))
        lines.append("split Lagrangian bound " + (
            f"{split.value:.10g} (stations {split.transfer:.10g}, {split.n_arcs} paths, "
            f"{split.status})" if np.isfinite(split.value) else f"not used: {split.status}")
            + f", {split.wall_s:.1f}s")
        if np.isfinite(split.value):
            parts = {"transfer": split.transfer, "plants": split.plants}
            lb = max(lb, split.value)
    if masks is None and lag.iterations > 0:
        lag_masks = reduce_by_values(model, lag.y_freq, lag.z_freq, threshold=0.2)
        kept_arcs = int(lag_masks[2].sum() + lag_masks[3].sum() + lag_masks[4].sum())
        if kept_arcs <= LP_MAX_ARCS:
            masks = lag_masks
            lines.append(f"restricted to the sites the Lagrangian opens ({kept_arcs} arcs)")
        else:
            lines.append(f"restricted MIP skipped ({kept_arcs} arcs)")
    report(0.6, None if best is None else best.total_cost, lb, "restricted MIP")
    # the model build is not counted by the solver's own limit: keep a margin for it.
    # One solver thread: on this path ``threads`` is the number of sub-MIPs solved at a
    # time (steps 4d and 7), not the threads of one SCIP search
    opts = MipOptions(backend=params.mip_backend, time_limit_s=None if limit is None
                      else RESTRICTED_SHARE * (left() or 1.0),
                      threads=1, mip_gap=params.mip_gap, seed=params.seed,
                      node_limit=params.max_iterations)
    # with step 7 ahead, a province-size restricted MIP is not worth its time: measured on
    # liaoning-2025-no-sharing it found no solution in 200 s
    moves = any(c[0] == "incinerator" for c in model.counts) and model.single_source
    if masks is not None and moves and len(model.collect) + len(model.direct) \
            + len(model.haul) > RESTRICTED_MAX_ARCS:
        lines.append("restricted MIP skipped (the incinerator re-optimisation follows)")
        masks = None
    if masks is not None:
        cand = solve_mip(model, opts, keep_tr_opt=masks[0], keep_inc_opt=masks[1],
                         keep_collect=masks[2], keep_direct=masks[3], keep_haul=masks[4])
        lines.append(f"restricted MIP: {cand.status}, {cand.objective:.10g}, "
                     f"{cand.wall_s:.1f}s")
        if cand.status in ("optimal", "feasible"):
            r = to_result(data, model, cand, lower_bound=lb, status="feasible",
                          solver="decomposition", seed=params.seed, elapsed_s=0.0)
            best = offer(best, r, "restricted MIP solution")
    best = accept()
    if best is None and small:
        full = solve_mip(model, replace(opts, time_limit_s=left()))
        lines.append(f"full MIP: {full.status}, {full.objective:.10g}")
        if full.status == "infeasible":
            raise diagnose(data, model, params)
        if full.status in ("optimal", "feasible"):
            lb = max(lb, full.bound)
            offer(None, to_result(data, model, full, lower_bound=lb, status="feasible",
                                  solver="decomposition", seed=params.seed, elapsed_s=0.0),
                  "full MIP solution")
            best = accept()
    if best is None:
        raise NoSolutionError(
            "no feasible siting was found within the limits "
            f"(time_limit_s={params.time_limit_s}, max_iterations={params.max_iterations}); "
            "infeasibility is not proven: raise the limits")
    report(0.65, best.total_cost, lb, "local search")
    res = replace(best, lower_bound=float(min(lb, best.total_cost)), solver="decomposition",
                  seed=params.seed, log=tuple(lines))
    checked = res  # passed the checker (accept): the fallback should a later step fail it
    # with incinerator counts, the last share of the time goes to the exact
    # re-optimisation of the incinerator echelon (step 7)
    ls_end = None if limit is None else t0 + (LOCAL_SHARE if moves else 1.0) * limit
    res = improve(data, model, res, max_rounds=params.max_iterations or 50, deadline=ls_end)
    res = downsize(data, model, res, max_moves=params.max_iterations or 1000,
                   deadline=None if limit is None or ls_end is None
                   else min(ls_end, t0 + 0.95 * limit))
    res = interchange(data, model, res, max_passes=params.max_iterations or 200,
                      deadline=ls_end)
    if moves:
        closed = _closed(data, model)
        report(0.9, res.total_cost, lb, "re-optimising the incinerators")
        end = float("inf") if limit is None else t0 + 0.97 * limit
        step_tick = ticker(0.9, 0.09, time.perf_counter(), None if limit is None else end)

        def step_progress(message: str) -> Callable[[float], None]:
            return lambda cost: step_tick(cost, lb, message)

        # closed counties: the reallocation leaves time to the plant and station moves
        # and the county re-optimisation (the moves need the county bound's table)
        table = county_table if closed else None
        realloc_end = end if limit is None or table is None else min(
            end, t0 + REALLOC_SHARE_CLOSED * limit)
        nodes = None if params.max_iterations is None else 2000
        region_backend = REGION_BACKEND if params.backend == "auto" else params.backend
        rounds = params.max_iterations
        if rounds is None and table is not None and limit is not None:
            rounds = REALLOC_ROUNDS_CLOSED
        res = reallocate_counts(data, model, res, seed=params.seed, deadline=realloc_end,
                                max_rounds=rounds, node_limit=nodes,
                                min_gain=REALLOC_MIN_GAIN,
                                workers=params.threads, backend=params.mip_backend,
                                targets=county_picks,
                                tick=step_progress("re-optimising the incinerators: "
                                                   "count reallocation"))
        res = replace(res, log=(*res.log, f"count reallocation: {res.total_cost:.10g}"))
        if table is not None:
            moves_end = end if limit is None else min(end, t0 + STATIONS_SHARE * limit)
            while True:
                before = res.total_cost
                for echelon, what in (("incinerator", "plant"), ("transfer", "station")):
                    plants = echelon == "incinerator"
                    res = move_sites(
                        data, model, res, table, echelon=echelon,
                        picks=county_picks if plants else None, seed=params.seed,
                        sub_time_s=COUNTY_SUB_S, deadline=moves_end,
                        backend=params.mip_backend, workers=params.threads,
                        node_limit=nodes, max_rounds=1,
                        n_up=PLANT_MOVES if plants else STATION_UP,
                        n_down=PLANT_MOVES if plants else STATION_DOWN,
                        tick=step_progress(f"moving {what}s between counties"))
                    res = replace(res, log=(*res.log, f"{what} moves: {res.total_cost:.10g}"))
                if res.total_cost >= before or time.perf_counter() >= moves_end:
                    break
        if closed:
            res = reoptimise_counties(
                data, model, res, deadline=end, seed=params.seed, sub_time_s=COUNTY_SUB_S,
                backend=region_backend, workers=params.threads, node_limit=nodes,
                tick=step_progress("re-optimising both echelons county by county"))
            res = replace(res, log=(*res.log, f"county re-optimisation (both echelons): "
                                              f"{res.total_cost:.10g}"))
        # with sharing the counties are not closed: passes of the open-region
        # re-optimisation (border flows frozen), each county alone and then wider regions,
        # while they gain; the group search gets the time that is left
        sharing = not closed and model.single_source
        segment = 0
        while sharing:
            before = res.total_cost
            # the first pass takes each county alone, the later ones wider regions (each
            # in another seeded order)
            wide = segment > 0
            res = reoptimise_open(
                data, model, res, deadline=end, seed=params.seed,
                regions=county_groups(data, OPEN_WIDE_SIZE, params.seed + segment)
                if wide else None,
                sub_time_s=COUNTY_SUB_S if limit is None
                else OPEN_WIDE_SUB_S if wide else OPEN_SUB_S,
                backend=region_backend, workers=params.threads, node_limit=nodes,
                tick=step_progress("re-optimising both echelons, groups of nearby counties"
                                   if wide else
                                   "re-optimising both echelons county by county"))
            res = replace(res, log=(*res.log, f"open-region re-optimisation (both "
                                              f"echelons{', wider regions' if wide else ''}"
                                              f"): {res.total_cost:.10g}"))
            # a pass over wider regions follows the first even when that gained nothing
            if time.perf_counter() >= end or (res.total_cost >= before and wide):
                break
            segment += 1
        if time.perf_counter() < end:
            res = group_search(data, model, res, seed=params.seed, deadline=end,
                               max_rounds=params.max_iterations, workers=params.threads,
                               backend=params.mip_backend,
                               tick=step_progress("re-optimising the incinerators: "
                                                  "group search"))
            res = replace(res, log=(*res.log, f"incinerator re-optimisation (group search):"
                                              f" {res.total_cost:.10g}"))
    if res is not checked:
        # the local search and step 7 keep counts and coverage by design; one check of
        # their final result (not of each move) makes sure before it is returned
        rep = check(data, res)
        if not rep.ok:
            log.warning("the improved solution is rejected by the checker: %s",
                        "; ".join(rep.violations[:3]))
            res = replace(checked, log=(*res.log, f"improved solution {res.total_cost:.10g} "
                                                  f"rejected by the checker "
                                                  f"({rep.violations[0]}); the checked "
                                                  f"incumbent {checked.total_cost:.10g} "
                                                  "kept"))
    if res.total_cost <= lb * (1 + 1e-9):
        res = replace(res, status="optimal")
    if parts is not None and parts["transfer"] + parts["plants"] \
            >= res.lower_bound * (1 - 1e-12):
        res = replace(res, meta={**res.meta, "bound_parts": parts})
    res = replace(res, elapsed_s=time.perf_counter() - t0)
    report(1.0, res.total_cost, res.lower_bound, f"done: gap {res.gap:.4%}")
    return res


__all__ = ["InfeasibleError", "NoSolutionError", "path_bound", "solve_decomposition"]
