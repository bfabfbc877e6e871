"""Audit 15 of the routing solver: a decomposed solve keeps its time limit.

Instances above ``RouteParams.decompose_above`` stops are cut into parts solved one
after the other (:func:`wastenet.routing.solve._solve_parts`). Each part used to get at
least 0.5 s, so with a short limit the first parts took all of it; every part after the
deadline still built its OR-Tools model, constructed a start and searched for 10 ms, and
the stops those parts left out were re-inserted by one more model of the whole instance:
a 1,000-stop day with a 0.5 s limit took 1.6-1.8 s. Now each part gets a fair share of what
is left, and no part model is built and no search started once the limit is spent: the
stops of the parts that got no time are left out (NoSolutionError naming the time limit,
or listed as unserved with ``allow_unserved``).

The first tests run the solver's clock by hand (``time`` in :mod:`wastenet.routing.solve`
and :mod:`wastenet.routing.improve` is replaced by a fake whose ``perf_counter`` a spy on
the adapter advances), so they do not depend on the machine's speed; the last one reads
the wall clock with a generous margin.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import pytest
from routing_helpers import make_data, truck

import wastenet.routing.improve as improve_mod
import wastenet.routing.solve as solve_mod
from wastenet.errors import NoSolutionError
from wastenet.routing.checker import check
from wastenet.routing.data import RoutePlan, RoutingData
from wastenet.routing.ortools_adapter import AdapterConfig, RawSolution
from wastenet.routing.solve import RouteParams, partition, solve

#: the overrun of the time limit the wall-clock test allows: the model build and the
#: decoding around the last search (a loaded machine gets the rest)
OVERRUN_S = 1.0


def field_of(n: int, seed: int = 3, trucks: int = 80) -> RoutingData:
    """``n`` stops of 1-4 t (60 s service) spread over 16 km x 16 km, two stations, one
    type of 20 t truck (``trucks`` of them), no break: every stop is easy to serve."""
    rng = np.random.default_rng(seed)
    stops = [{"xy": tuple(rng.uniform(-8000, 8000, 2)), "q": float(rng.integers(1, 5)),
              "service": 60.0} for _ in range(n)]
    return make_data((0, 0), stops, [{"xy": (4000, 4000), "unload": 600},
                                     {"xy": (-4000, -3000), "unload": 600}],
                     [truck(count=trucks, capacity=(20.0,))])


def split(limit: float, *, allow_unserved: bool = True) -> RouteParams:
    """Parameters that cut :func:`field_of`'s 400 stops into five parts of 80."""
    return RouteParams(time_limit_s=limit, allow_unserved=allow_unserved,
                       decompose_above=100, part_size=80)


@dataclass
class Call:
    """One adapter call as the solver's clock saw it."""

    start: float  #: solver clock when the call started
    stops: int
    time_limit_s: float
    name: str


@dataclass
class Clock:
    """The solver's clock, run by hand: it stands still except when a spy on the adapter
    moves it on (so a search seems to take the time it was given, or more, whatever the
    machine's speed); ``first`` is its first reading, the ``t0`` of :func:`solve`."""

    now: float = field(default_factory=time.perf_counter)
    first: float | None = None
    calls: list[Call] = field(default_factory=list)

    def perf_counter(self) -> float:
        if self.first is None:
            self.first = self.now
        return self.now


#: the real searches behind the hand-run clock take at most this long (they only need to
#: give the solver routes to merge; the clock, not their length, is what is tested)
REAL_SEARCH_S = 0.1


def hand_clock(monkeypatch: pytest.MonkeyPatch,
               advance: Callable[[int, AdapterConfig], float]) -> Clock:
    """Run the solver on a hand-run :class:`Clock`: after each adapter call (``k``-th,
    with its config ``cfg``) the clock moves on by ``advance(k, cfg)`` seconds. The
    real adapter runs, for at most :data:`REAL_SEARCH_S`."""
    clock = Clock()
    fake = SimpleNamespace(perf_counter=clock.perf_counter)
    monkeypatch.setattr(solve_mod, "time", fake)
    monkeypatch.setattr(improve_mod, "time", fake)
    real = solve_mod.solve_raw

    def spy(data: RoutingData, cfg: AdapterConfig) -> RawSolution:
        k = len(clock.calls)
        clock.calls.append(Call(clock.perf_counter(), data.n_stops, cfg.time_limit_s,
                                data.name))
        raw = real(data, replace(cfg, time_limit_s=min(cfg.time_limit_s, REAL_SEARCH_S)))
        clock.now += advance(k, cfg)
        return raw

    monkeypatch.setattr(solve_mod, "solve_raw", spy)
    return clock


def part_calls(clock: Clock) -> list[Call]:
    """The adapter calls on the parts (``name#k``; not the neighbourhood search's)."""
    return [c for c in clock.calls if "#" in c.name and not c.name.endswith("#lns")]


def assert_only_unserved(data: RoutingData, plan: RoutePlan) -> None:
    """The routes serve each stop at most once, ``plan.unserved`` lists exactly the
    others, and the checker finds nothing else wrong (it counts every unserved stop as
    not visited)."""
    served = [v.index for r in plan.routes for v in r.visits if v.kind == "stop"]
    assert len(served) == len(set(served))
    assert sorted([*served, *plan.unserved]) == list(range(data.n_stops))
    rep = check(data, plan)
    assert all(v.endswith("not visited (every stop exactly once)")
               for v in rep.violations), rep.violations
    assert len(rep.violations) == len(plan.unserved)


def test_no_part_starts_after_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first part's search overruns to past the deadline (a loaded machine): no
    other part builds a model or searches, nor does a re-insertion on the whole
    instance. Before, the four later parts and the re-insertion each still ran (with a
    10 ms search). Their stops are not silently lost: the plan lists every stop no route
    serves as unserved (the checker agrees), and records that the time limit ended it."""
    limit = 1.0
    clock = hand_clock(monkeypatch, lambda k, cfg: limit + 0.5 if k == 0 else 0.0)
    data = field_of(400)
    params = split(limit)
    assert len(partition(data, params)) == 5
    plan = solve(data, params)
    assert clock.first is not None
    deadline = clock.first + limit
    late = [c for c in clock.calls if c.start >= deadline]
    assert late == [], f"searches started after the deadline: {late}"
    assert len(clock.calls) == 1
    assert len(plan.unserved) >= 400 - 80  # the four parts that got no time at least
    assert_only_unserved(data, plan)
    assert plan.meta["stopped_by"] == "time_limit"
    assert plan.meta["parts"] == 5


def test_parts_without_time_raise_naming_the_time_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``allow_unserved`` the stops of the parts that got no time (four parts of
    80, at least) raise NoSolutionError naming the time limit (a longer one may serve
    them), as any stop a search leaves out at its time limit. Before, those parts' 10 ms
    searches after the deadline placed most of them."""
    hand_clock(monkeypatch, lambda k, cfg: 2.0 if k == 0 else 0.0)
    with pytest.raises(NoSolutionError) as exc:
        solve(field_of(400), split(1.0, allow_unserved=False))
    text = str(exc.value)
    assert "time limit (time_limit_s=1)" in text and "not prove" in text
    left = re.search(r"(\d+) stop\(s\) were left unserved", text)
    assert left is not None and int(left.group(1)) >= 4 * 80, text[:200]


def test_each_part_gets_a_fair_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each search seems to take exactly the time it was given. With a 1 s limit and
    five equal parts, each part gets a fifth of it and starts before the deadline.
    Before, the first two parts got 0.5 s each (a floor above their share) and the
    last three a 10 ms search after the deadline."""
    clock = hand_clock(monkeypatch, lambda k, cfg: cfg.time_limit_s)
    limit = 1.0
    solve(field_of(400), split(limit))
    assert clock.first is not None
    deadline = clock.first + limit
    parts = part_calls(clock)
    assert len(parts) == 5
    assert all(c.start < deadline for c in clock.calls), clock.calls
    shares = [c.time_limit_s for c in parts]
    assert shares == pytest.approx([limit / 5] * 5, abs=0.02), shares


@pytest.mark.parametrize(("limit", "want"), [(10.0, 0.6), (5.0, 0.5)])
def test_ample_time_keeps_the_main_share(monkeypatch: pytest.MonkeyPatch, limit: float,
                                         want: float) -> None:
    """With time to spare the shares are as before: each part gets its share of the
    main search (a 10 s limit: 30 % of it, 0.6 s for each of five parts), or 0.5 s when
    that is more and the time left allows it (a 5 s limit: 0.3 s shares, raised to
    0.5 s)."""
    clock = hand_clock(monkeypatch, lambda k, cfg: cfg.time_limit_s)
    solve(field_of(400), split(limit))
    shares = [c.time_limit_s for c in part_calls(clock)]
    assert shares == pytest.approx([want] * 5, abs=0.02), shares


def test_decomposed_solution_limit_is_reproducible() -> None:
    """Under a solution limit with ample time the decomposed plan is the same on every
    run (the deadline checks never fire), valid and complete."""
    data = field_of(200, seed=5)
    params = RouteParams(time_limit_s=120.0, solution_limit=10, seed=1,
                         decompose_above=50, part_size=40)
    a = solve(data, params)
    b = solve(data, params)
    assert a.routes == b.routes
    assert not a.unserved and check(data, a).ok
    assert a.meta["parts"] == 5 and a.meta["stopped_by"] == "solution_limit"


def test_short_limit_on_a_large_day_keeps_the_wall_clock() -> None:
    """1,000 stops in four parts of 250 (the default part size) with a 0.5 s limit: the
    call ends within the limit plus the allowed overrun (it took 1.6-1.8 s, the parts after
    the deadline and a re-insertion model of the whole day included)."""
    data = field_of(1000, trucks=200)
    params = RouteParams(time_limit_s=0.5, allow_unserved=True)
    t = time.perf_counter()
    plan = solve(data, params)
    took = time.perf_counter() - t
    assert took <= params.time_limit_s + OVERRUN_S, took
    assert plan.meta["parts"] == 4
    assert_only_unserved(data, plan)
