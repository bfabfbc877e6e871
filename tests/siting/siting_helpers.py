"""Helpers for the siting tests: a compact instance builder and a brute-force optimum."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

from wastenet.siting.data import Arcs, CountTarget, Sites, SiteStatus, SitingData


@dataclass
class Site:
    """A test site: county index, sizes [(capacity, fixed)], status, existing capacity."""

    county: int
    sizes: list[tuple[float, float]]
    status: int = SiteStatus.FREE
    existing: float = 0.0
    throughput: float = 0.0


@dataclass
class Spec:
    """A tiny siting instance in plain Python lists."""

    demand: list[float]
    village_county: list[int]
    transfer: list[Site]
    incinerator: list[Site]
    collect: list[tuple[int, int, float]] = field(default_factory=list)
    direct: list[tuple[int, int, float]] = field(default_factory=list)
    haul: list[tuple[int, int, float]] = field(default_factory=list)
    county_prefecture: Sequence[str] = ("P1", "P1", "P2")
    must_cover: list[bool] | None = None
    single_source: bool = True
    counts: tuple[CountTarget, ...] = ()
    penalty: float | None = None


def _sites(prefix: str, sites: list[Site]) -> Sites:
    if not sites:
        return Sites.empty()
    width = max(1, max(len(s.sizes) for s in sites))
    cap = np.zeros((len(sites), width))
    fix = np.zeros((len(sites), width))
    for r, s in enumerate(sites):
        for c, (a, b) in enumerate(s.sizes):
            cap[r, c], fix[r, c] = a, b
    return Sites(
        ids=tuple(f"{prefix}{r}" for r in range(len(sites))),
        names=tuple(f"{prefix}-name-{r}" for r in range(len(sites))),
        county=np.array([s.county for s in sites]),
        lon=np.full(len(sites), np.nan),
        lat=np.full(len(sites), np.nan),
        size_capacity=cap,
        size_fixed_cost=fix,
        n_sizes=np.array([len(s.sizes) for s in sites]),
        size_names=tuple(tuple(f"s{c}" for c in range(len(s.sizes))) for s in sites),
        status=np.array([int(s.status) for s in sites]),
        existing_capacity=np.array([s.existing for s in sites]),
        throughput_cost=np.array([s.throughput for s in sites]),
    )


def _arcs(rows: list[tuple[int, int, float]]) -> Arcs:
    if not rows:
        return Arcs.empty()
    a = np.array(rows, dtype=float)
    return Arcs(a[:, 0].astype(int), a[:, 1].astype(int), 1000.0 * (1 + a[:, 2]), a[:, 2])


def build(spec: Spec) -> SitingData:
    """Turn a :class:`Spec` into validated :class:`SitingData` (distance = 1000(1+cost) m)."""
    n = len(spec.demand)
    n_c = len(spec.county_prefecture)
    return SitingData(
        demand=np.array(spec.demand, dtype=float),
        village_ids=tuple(f"V{i}" for i in range(n)),
        village_names=tuple(f"village-{i}" for i in range(n)),
        village_county=np.array(spec.village_county),
        village_lon=np.full(n, np.nan),
        village_lat=np.full(n, np.nan),
        must_cover=np.array(spec.must_cover if spec.must_cover is not None else [False] * n),
        county_codes=tuple(f"C{c}" for c in range(n_c)),
        county_names=tuple(f"county-{c}" for c in range(n_c)),
        county_prefecture=tuple(spec.county_prefecture),
        transfer=_sites("T", spec.transfer),
        incinerator=_sites("I", spec.incinerator),
        collect=_arcs(spec.collect),
        direct=_arcs(spec.direct),
        haul=_arcs(spec.haul),
        single_source=spec.single_source,
        counts=spec.counts,
        uncovered_penalty=spec.penalty,
        name="test",
    )


def _options(sites: Sites) -> list[list[tuple[int, float, float]]]:
    """Per site, the (size slot, capacity, fixed cost) choices incl. closed (-1)."""
    out = []
    for s in range(len(sites)):
        st = int(sites.status[s])
        if st == SiteStatus.EXISTING:
            out.append([(-2, float(sites.existing_capacity[s]), 0.0)])
            continue
        opts = [] if st == SiteStatus.FORCED else [(-1, 0.0, 0.0)]
        if st != SiteStatus.EXCLUDED:
            opts += [(sl, float(sites.size_capacity[s, sl]), float(sites.size_fixed_cost[s, sl]))
                     for sl in range(int(sites.n_sizes[s]))]
        out.append(opts)
    return out


def _count_ok(data: SitingData, sites: Sites, echelon: str, sizes: Sequence[int]) -> bool:
    for t in data.counts:
        if t.echelon != echelon:
            continue
        cnt = sum(1 for s, v in enumerate(sizes) if v >= 0 and (
            t.prefecture is None or data.county_prefecture[int(sites.county[s])] == t.prefecture))
        if not {"eq": cnt == t.value, "le": cnt <= t.value, "ge": cnt >= t.value}[t.sense]:
            return False
    return True


def brute_force(data: SitingData) -> float:
    """Optimum of a tiny single-source instance by enumeration (inf when infeasible).

    Enumerates every size choice of every site and every assignment of every village (to a
    collect arc, a direct arc, or uncovered when allowed); haul flows of each combination
    are an LP solved with scipy (independent of the solver under test).
    """
    assert data.single_source
    n, m, q = data.n_villages, len(data.transfer), len(data.incinerator)
    w = data.demand
    tp_t, tp_i = data.transfer.throughput_cost, data.incinerator.throughput_cost
    choices: list[list[tuple[str, int, float]]] = []
    for i in range(n):
        ch: list[tuple[str, int, float]] = []
        for s, d, c in zip(data.collect.src, data.collect.dst, data.collect.unit_cost,
                           strict=True):
            if s == i:
                ch.append(("t", int(d), float(c)))
        for s, d, c in zip(data.direct.src, data.direct.dst, data.direct.unit_cost,
                           strict=True):
            if s == i:
                ch.append(("i", int(d), float(c)))
        if data.uncovered_penalty is not None and not data.must_cover[i]:
            ch.append(("u", -1, float(data.uncovered_penalty)))
        choices.append(ch)
    best = float("inf")
    t_opts = [o for o in itertools.product(*_options(data.transfer))
              if _count_ok(data, data.transfer, "transfer", [x[0] for x in o])]
    i_opts = [o for o in itertools.product(*_options(data.incinerator))
              if _count_ok(data, data.incinerator, "incinerator", [x[0] for x in o])]
    cache: dict[tuple[object, ...], float | None] = {}
    for assign in itertools.product(*choices):
        tin = np.zeros(m)
        din = np.zeros(q)
        var = 0.0
        for i, (kind, f, c) in enumerate(assign):
            if kind == "t":
                tin[f] += w[i]
                var += (c + tp_t[f]) * w[i]
            elif kind == "i":
                din[f] += w[i]
                var += (c + tp_i[f]) * w[i]
            else:
                var += c * w[i]
        if var >= best:
            continue
        for tsz in t_opts:
            if any(tin[j] > 0 and (tsz[j][0] == -1 or tin[j] > tsz[j][1] + 1e-9)
                   for j in range(m)):
                continue
            fixed_t = sum(o[2] for o in tsz)
            for isz in i_opts:
                if any(din[k] > 0 and isz[k][0] == -1 for k in range(q)):
                    continue
                cost = var + fixed_t + sum(o[2] for o in isz)
                if cost >= best:
                    continue
                key = (tuple(tin), tuple(din), tuple(o[1] if o[0] != -1 else 0.0 for o in isz))
                if key not in cache:
                    cache[key] = _haul(data, tin, din, list(isz))
                cost_h = cache[key]
                if cost_h is not None:
                    best = min(best, cost + cost_h)
    return best


def _haul(data: SitingData, tin: np.ndarray, din: np.ndarray,
          isz: list[tuple[int, float, float]]) -> float | None:
    q = len(data.incinerator)
    room = np.array([o[1] if o[0] != -1 else 0.0 for o in isz]) - din
    if np.any(room < -1e-9):
        return None
    arcs = [(int(s), int(d), float(c) + float(data.incinerator.throughput_cost[d]))
            for s, d, c in zip(data.haul.src, data.haul.dst, data.haul.unit_cost, strict=True)
            if tin[s] > 0]
    stations = [j for j in range(len(tin)) if tin[j] > 0]
    if not stations:
        return 0.0
    if not arcs:
        return None
    a_eq = np.zeros((len(stations), len(arcs)))
    a_ub = np.zeros((q, len(arcs)))
    for c, (s, d, _) in enumerate(arcs):
        if s in stations:
            a_eq[stations.index(s), c] = 1.0
        a_ub[d, c] = 1.0
    res = linprog([a[2] for a in arcs], A_ub=a_ub, b_ub=np.maximum(room, 0), A_eq=a_eq,
                  b_eq=tin[stations], bounds=(0, None), method="highs")
    return float(res.fun) if res.status == 0 else None


def random_spec(seed: int, *, n: int = 3, m: int = 3, q: int = 2, direct: bool = True,
                penalty: float | None = None, counts: tuple[CountTarget, ...] = (),
                statuses: tuple[int, ...] = ()) -> Spec:
    """A seeded random tiny instance (brute-forceable)."""
    rng = np.random.default_rng(seed)
    county = [int(c) for c in rng.integers(0, 3, n)]
    demand = [float(x) for x in rng.integers(1, 6, n)]
    tr = [Site(int(rng.integers(0, 3)), [(6.0, float(rng.integers(10, 30))),
                                         (14.0, float(rng.integers(25, 50)))],
               throughput=float(rng.integers(0, 3))) for _ in range(m)]
    inc = [Site(int(rng.integers(0, 3)), [(10.0, float(rng.integers(30, 60))),
                                          (30.0, float(rng.integers(50, 90)))],
                throughput=float(rng.integers(0, 3))) for _ in range(q)]
    for s, st in enumerate(statuses):
        if st == SiteStatus.EXISTING:
            tr[s].status, tr[s].existing = st, 8.0
        else:
            tr[s].status = st
    collect = [(i, j, float(rng.integers(1, 10))) for i in range(n) for j in range(m)
               if rng.random() < 0.75]
    dire = [(i, k, float(rng.integers(5, 20))) for i in range(n) for k in range(q)
            if direct and rng.random() < 0.3]
    haul = [(j, k, float(rng.integers(1, 6))) for j in range(m) for k in range(q)
            if rng.random() < 0.8 or k == j % q]
    return Spec(demand, county, tr, inc, collect, dire, haul, counts=counts, penalty=penalty)


def tiny_county() -> Spec:
    """One village of 1 t/d collected (cost 1) to an existing 10 t/d station that hauls
    (cost 1) to the only plant site: 10 t/d for a fixed cost of 100."""
    return Spec(demand=[1.0], village_county=[0],
                transfer=[Site(0, [(10.0, 5.0)], status=SiteStatus.EXISTING, existing=10.0)],
                incinerator=[Site(0, [(10.0, 100.0)])],
                collect=[(0, 0, 1.0)], haul=[(0, 0, 1.0)])


def far_from_target(poor: bool = False) -> SitingData:
    """Two closed counties of 30 t/d (three villages of 10 each, one station), exactly 4
    plants. County 0 has a plant of size 30 for 60 and three of size 10 for 50 each;
    county 1 one of size 30 for 100 and three of size 10 for 20 each. Plant fixed costs
    by number of plants: county 0 60 / 110 / 150 for 1 / 2 / 3, county 1 100 / 120 / 60;
    so 4 plants cost 250 as (3, 1), 230 as (2, 2) and 120 as (1, 3). Flows cost the same
    everywhere (collection 60, haul 60, stations 2). ``poor`` excludes county 0's big plant
    and two small ones of county 1, which forces (3, 1)."""
    off = SiteStatus.EXCLUDED if poor else SiteStatus.FREE
    spec = Spec(
        demand=[10.0] * 6, village_county=[0, 0, 0, 1, 1, 1],
        transfer=[Site(0, [(30.0, 1.0)]), Site(1, [(30.0, 1.0)])],
        incinerator=[Site(0, [(30.0, 60.0)], status=off), Site(0, [(10.0, 50.0)]),
                     Site(0, [(10.0, 50.0)]), Site(0, [(10.0, 50.0)]),
                     Site(1, [(30.0, 100.0)]), Site(1, [(10.0, 20.0)]),
                     Site(1, [(10.0, 20.0)], status=off), Site(1, [(10.0, 20.0)], status=off)],
        collect=[(i, i // 3, 1.0) for i in range(6)],
        haul=[(j, k, 1.0) for j in (0, 1) for k in range(4 * j, 4 * j + 4)],
        counts=(CountTarget("incinerator", 4, "eq"),),
    )
    return build(spec)


def spy_time_limits(monkeypatch: Any, module: Any) -> list[float | None]:
    """Record the time limit of every MIP that ``module`` solves through its
    ``solve_mip`` (the MIPs still run); returns the list it appends to."""
    seen: list[float | None] = []
    real = module.solve_mip

    def spy(sub: Any, opts: Any, **kw: Any) -> Any:
        seen.append(opts.time_limit_s)
        return real(sub, opts, **kw)

    monkeypatch.setattr(module, "solve_mip", spy)
    return seen


def spy_backends(monkeypatch: Any, module: Any, name: str) -> list[str]:
    """Record the ``backend`` keyword of every call of ``module.name`` (the calls still
    run); returns the list it appends to."""
    seen: list[str] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(kwargs["backend"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


def checker_instance(*, penalty: float | None = None, must: bool = False,
                     small_i0: bool = False) -> SitingData:
    """The checker tests' instance: v0 (4 t/d, county 0), v1 (5 t/d, county 1); T0 free
    6/20 t/d, T1 free 6, T2 excluded, T3 forced (county 2), T4 existing 3 t/d; I0 50 t/d
    (5 t/d with ``small_i0``), I1 3 t/d with a direct arc from v0; at most 3 new
    stations. ``penalty`` prices an uncovered tonne, ``must`` makes v1 a must-cover."""
    i0 = (5.0, 100.0) if small_i0 else (50.0, 100.0)
    return build(Spec(
        demand=[4.0, 5.0], village_county=[0, 1],
        transfer=[Site(0, [(6.0, 10.0), (20.0, 25.0)]), Site(1, [(6.0, 10.0)]),
                  Site(1, [(6.0, 1.0)], SiteStatus.EXCLUDED),
                  Site(2, [(6.0, 10.0)], SiteStatus.FORCED),
                  Site(0, [], SiteStatus.EXISTING, existing=3.0)],
        incinerator=[Site(0, [i0]), Site(0, [(3.0, 5.0)])],
        collect=[(0, 0, 1.0), (1, 1, 1.0), (1, 0, 2.0), (0, 2, 1.0), (0, 3, 5.0), (0, 4, 3.0)],
        direct=[(0, 1, 9.0)],
        haul=[(0, 0, 1.0), (1, 0, 1.0), (2, 0, 1.0), (3, 0, 1.0), (4, 0, 1.0)],
        counts=(CountTarget("transfer", 3, "le"),),
        penalty=penalty,
        must_cover=[False, must],
    ))
