"""Exchange local search between trips: relocate and SWAP* moves, checked exactly.

A *trip* is a maximal run of stops of a route, between the visit it starts from (the
depot or an unload) and the unload that ends it. The neighbourhood search of
:mod:`wastenet.routing.improve` re-solves small neighbourhoods with OR-Tools; on days
whose trips are nearly full (Kim et al.'s 444-stop instance: 3,991.3 yd3 in 20 trips of
at most 200 yd3) few of its moves keep every capacity, and the trips it leaves are
spread out. This module moves single stops between two trips, and swaps two stops of
different trips each into its best position of the other trip (SWAP*, Vidal 2022,
"Hybrid genetic search for the CVRP: Open-source implementation and SWAP*
neighborhood", Computers & Operations Research 140:105643):

* **relocate** ``a`` from trip ``A`` to its cheapest position in trip ``B``;
* **swap*** ``a ∈ A`` with ``b ∈ B``: ``a`` goes to its cheapest position in ``B \\ {b}``
  and ``b`` to its cheapest position in ``A \\ {a}`` (the place the other left, or one
  of its three cheapest positions not next to it);
* **2-opt*** between trips of one vehicle type that end at the same facility: ``A``
  keeps its first stops and takes ``B``'s last ones, and ``B`` the other way round.

Moves are priced on the arc costs of each vehicle type, ``w_time·t/sp + w_cost·(c_km·d
+ c_h·t/sp)`` (``sp`` the speed factor), and the capacities are checked before any
move is tried: the vehicle capacity of each trip (every load dimension), the daily route
capacity and the stop cap of each route, the types a stop allows, and the facility a
stop's load must go to (the unload that ends the trip). An improving move is then
applied only if both routes decode again (the schedules of
:func:`wastenet.routing.solve._decode`: every window, the shift, the depot hours and the
break, with the break placed anew) and the acceptance score
:func:`wastenet.routing.solve._score` of the two routes decreases. So no rule of
:mod:`wastenet.routing.data` is broken by construction, and the plan is never worse.
Finite facility capacities shared by stops without an assigned facility are the
one case the search does not take on (:func:`wastenet.routing.improve.applicable`): it
returns the plan as is, as the neighbourhood search does. A route left without stops
is removed (one vehicle fewer).

Each pass visits the pairs of trips whose stops are close (each trip with its
``near_trips`` nearest trips, by the travel time between their nearest stops) and
applies the best improving move of each pair; passes repeat until one finds no move or
the deadline.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from wastenet.routing.data import Route, RoutingData

if TYPE_CHECKING:
    from wastenet.routing.solve import RouteParams

log = logging.getLogger("wastenet.routing.exchange")

#: moves must gain more than this (in objective units) to be tried
EPS = 1e-6
#: the cheapest insertion positions kept per stop and trip for SWAP*
TOP = 3


@dataclass
class _Trip:
    route: int  #: index into the routes
    first: int  #: position in ``route.visits`` of the first stop
    stops: list[int]  #: stop indices in order
    start_loc: int  #: location the trip starts from
    end_loc: int  #: location of the unload that ends it
    facility: int  #: that unload's facility


def _trips(data: RoutingData, routes: list[Route]) -> list[_Trip] | None:
    """The trips of ``routes``; None when a run of stops does not end at an unload."""
    out = []
    for k, r in enumerate(routes):
        v = r.visits
        i = 1
        while i < len(v) - 1:
            if v[i].kind != "stop":
                i += 1
                continue
            j = i
            while v[j].kind == "stop":
                j += 1
            if v[j].kind != "unload":
                return None
            out.append(_Trip(k, i, [x.index for x in v[i:j]], v[i - 1].location,
                             v[j].location, v[j].index))
            i = j
    return out


def multi_trip(routes: list[Route]) -> bool:
    """Whether some route unloads between two of its stops (makes two trips or more)."""
    for r in routes:
        seen_stop = unloaded = False
        for v in r.visits:
            if v.kind == "stop":
                if unloaded:
                    return True
                seen_stop = True
            elif v.kind == "unload" and seen_stop:
                unloaded = True
    return False


def exchange(data: RoutingData, params: RouteParams, routes: list[Route], deadline: float,
             *, near_trips: int = 6) -> list[Route]:
    """Relocate and SWAP* moves between trips until none improves or ``deadline``
    (``time.perf_counter()``); returns the routes, never scoring worse (module
    docstring)."""
    from wastenet.routing.improve import _renumber, applicable

    if not routes or not applicable(data):
        return routes
    search = _Search(data, params, list(routes))
    if search.trips is None:
        return routes
    moves = passes = 0
    while time.perf_counter() < deadline:
        passes += 1
        found = search.one_pass(near_trips, deadline)
        moves += found
        if not found:
            break
    log.info("trip exchange: %d moves in %d passes", moves, passes)
    kept = [r for r in search.routes if any(v.kind == "stop" for v in r.visits)]
    return _renumber(kept, len(data.vehicle_types))


class _Search:
    def __init__(self, data: RoutingData, params: RouteParams, routes: list[Route]) -> None:
        self.data = data
        self.params = params
        self.routes = routes
        self.trips = _trips(data, routes)
        nt = len(data.vehicle_types)
        self.arc: list[np.ndarray | None] = [None] * nt
        self.demand = np.asarray(data.stop_demand, dtype=float).reshape(data.n_stops, -1)
        self.stop_loc = np.asarray(data.stops, dtype=np.int64)

    def cost(self, t: int) -> np.ndarray:
        """Arc costs of vehicle type ``t`` over all locations (computed once)."""
        c = self.arc[t]
        if c is None:
            vt = self.data.vehicle_types[t]
            p = self.params
            tt = np.asarray(self.data.duration_s, dtype=float) / vt.speed_factor
            c = p.time_weight * tt
            if p.cost_weight > 0:
                km = np.asarray(self.data.distance_m, dtype=float) / 1000.0
                c = c + p.cost_weight * (vt.cost_yuan_per_km * km
                                         + vt.cost_yuan_per_h * tt / 3600.0)
            self.arc[t] = c
        return c

    # -- feasibility of loads and stop rules ------------------------------------------
    def allowed(self, s: int, trip: _Trip) -> bool:
        vt_i = self.routes[trip.route].vehicle_type
        a = self.data.stop_allowed[s]
        if a is not None and vt_i not in a:
            return False
        f = int(self.data.stop_facility[s])
        return f < 0 or f == trip.facility

    def load(self, trip: _Trip) -> np.ndarray:
        return self.demand[trip.stops].sum(axis=0)

    def route_load(self, k: int) -> np.ndarray:
        return np.asarray(self.routes[k].load_total, dtype=float)

    def route_stops(self, k: int) -> int:
        return sum(v.kind == "stop" for v in self.routes[k].visits)

    def fits(self, trip: _Trip, out: int | None, into: int | None) -> bool:
        """Whether ``trip`` keeps its capacities losing stop ``out`` and gaining ``into``."""
        vt = self.data.vehicle_types[self.routes[trip.route].vehicle_type]
        q = self.load(trip)
        delta = np.zeros_like(q)
        if out is not None:
            delta -= self.demand[out]
        if into is not None:
            delta += self.demand[into]
        return not bool(np.any(q + delta > np.asarray(vt.capacity, dtype=float) + 1e-9))

    def route_fits(self, k: int, out: int | None, into: int | None) -> bool:
        """Whether route ``k`` keeps its daily caps losing ``out`` and gaining ``into``."""
        zero = np.zeros(self.demand.shape[1])
        return self._route_shift(k, zero if out is None else self.demand[out],
                                 zero if into is None else self.demand[into],
                                 (into is not None) - (out is not None))

    # -- one pass -----------------------------------------------------------------------
    def pairs(self, near_trips: int) -> list[tuple[int, int]]:
        assert self.trips is not None
        trips = self.trips
        D = np.asarray(self.data.duration_s, dtype=float)
        m = len(trips)
        gap = np.full((m, m), np.inf)
        locs = [self.stop_loc[t.stops] for t in trips]
        for i in range(m):
            for j in range(i + 1, m):
                if len(locs[i]) and len(locs[j]):
                    g = float(np.min(D[np.ix_(locs[i], locs[j])]))
                    gap[i, j] = gap[j, i] = g
        out = set()
        for i in range(m):
            for j in np.argsort(gap[i], kind="stable")[:near_trips].tolist():
                if np.isfinite(gap[i, j]):
                    out.add((min(i, j), max(i, j)))
        return sorted(out)

    def one_pass(self, near_trips: int, deadline: float) -> int:
        found = 0
        for i, j in self.pairs(near_trips):
            if time.perf_counter() >= deadline:
                break
            assert self.trips is not None
            if i >= len(self.trips) or j >= len(self.trips):
                continue
            found += self.improve_pair(i, j)
        return found

    def path(self, trip: _Trip) -> np.ndarray:
        return np.concatenate([[trip.start_loc], self.stop_loc[trip.stops], [trip.end_loc]])

    def insertion(self, s_locs: np.ndarray, trip: _Trip, c: np.ndarray) -> np.ndarray:
        """Insertion costs ``[position, stop]`` of the locations ``s_locs`` into ``trip``
        (position ``p``: between path nodes ``p`` and ``p + 1``)."""
        P = self.path(trip)
        return (c[np.ix_(P[:-1], s_locs)] + c[np.ix_(s_locs, P[1:])].T
                - c[P[:-1], P[1:]][:, None])

    def removal(self, trip: _Trip, c: np.ndarray) -> np.ndarray:
        """Saving of taking each stop out of ``trip``."""
        P = self.path(trip)
        return c[P[:-2], P[1:-1]] + c[P[1:-1], P[2:]] - c[P[:-2], P[2:]]

    def improve_pair(self, i: int, j: int) -> int:
        assert self.trips is not None
        A, B = self.trips[i], self.trips[j]
        ca = self.cost(self.routes[A.route].vehicle_type)
        cb = self.cost(self.routes[B.route].vehicle_type)
        best: tuple[float, str, int, int, int, int] | None = None  # gain, kind, a, b, pa, pb
        for X, Y, cx, cy, flip in ((A, B, ca, cb, False), (B, A, cb, ca, True)):
            if not X.stops:
                continue
            # relocate each stop x of X into Y
            xl = self.stop_loc[X.stops]
            rem = self.removal(X, cx)
            ins = self.insertion(xl, Y, cy)
            pos = np.argmin(ins, axis=0)
            gain = rem - ins[pos, np.arange(len(xl))]
            for a in np.argsort(-gain, kind="stable").tolist():
                if gain[a] <= EPS or (best is not None and gain[a] <= best[0]):
                    break
                s = X.stops[a]
                if not self.allowed(s, Y) or not self.fits(Y, None, s):
                    continue
                if X.route != Y.route and not self.route_fits(Y.route, None, s):
                    continue
                kind = "relocate_back" if flip else "relocate"
                best = (float(gain[a]), kind, a, -1, -1, int(pos[a]))
                break
        if A.stops and B.stops:
            sw = self.best_swap(A, B, ca, cb)
            if sw is not None and (best is None or sw[0] > best[0]):
                best = sw
        tails = self.best_tails(A, B, ca)
        if tails is not None and (best is None or tails[0] > best[0]):
            best = tails
        if best is None:
            return 0
        return int(self.apply(i, j, best))

    def best_swap(self, A: _Trip, B: _Trip, ca: np.ndarray,
                  cb: np.ndarray) -> tuple[float, str, int, int, int, int] | None:
        al, bl = self.stop_loc[A.stops], self.stop_loc[B.stops]
        remA, remB = self.removal(A, ca), self.removal(B, cb)
        insA = self.insertion(bl, A, ca)  # [pos in A, b]
        insB = self.insertion(al, B, cb)  # [pos in B, a]
        PA, PB = self.path(A), self.path(B)
        # b into A in place of a: ca[prev_a, b] + ca[b, next_a] - ca[prev_a, next_a]
        placeA = (ca[np.ix_(PA[:-2], bl)] + ca[np.ix_(bl, PA[2:])].T
                  - ca[PA[:-2], PA[2:]][:, None])  # [a, b]
        placeB = (cb[np.ix_(PB[:-2], al)] + cb[np.ix_(al, PB[2:])].T
                  - cb[PB[:-2], PB[2:]][:, None])  # [b, a]
        na, nb = len(al), len(bl)
        bestA = self._without(insA, placeA, na, nb)  # [a, b]: cost and position of b in A\{a}
        bestB = self._without(insB, placeB, nb, na)  # [b, a]: cost and position of a in B\{b}
        costA, posA = bestA
        costB, posB = bestB
        gain = (remA[:, None] + remB[None, :]) - costA - costB.T  # [a, b]
        order = np.argsort(-gain, axis=None, kind="stable")
        for flat in order[:64].tolist():
            a, b = divmod(flat, nb)
            g = float(gain[a, b])
            if g <= EPS:
                return None
            sa, sb = A.stops[a], B.stops[b]
            if not (self.allowed(sa, B) and self.allowed(sb, A)):
                continue
            if not (self.fits(A, sa, sb) and self.fits(B, sb, sa)):
                continue
            if A.route != B.route and not (self.route_fits(A.route, sa, sb)
                                           and self.route_fits(B.route, sb, sa)):
                continue
            return g, "swap", a, b, int(posA[a, b]), int(posB[b, a])
        return None

    def best_tails(self, A: _Trip, B: _Trip,
                   c: np.ndarray) -> tuple[float, str, int, int, int, int] | None:
        """2-opt*: ``A`` keeps its first ``i`` stops followed by ``B``'s stops from ``j``
        on, ``B`` its first ``j`` followed by ``A``'s from ``i`` on. Only between trips of
        the same vehicle type ending at the same facility (the tails keep their last arc
        and every stop its allowed types and facility)."""
        ra, rb = self.routes[A.route], self.routes[B.route]
        if ra.vehicle_type != rb.vehicle_type or A.facility != B.facility:
            return None
        m, n = len(A.stops), len(B.stops)
        PA, PB = self.path(A), self.path(B)
        # cut (i, j): arcs PA[i] -> PB[j + 1] and PB[j] -> PA[i + 1] replace
        # PA[i] -> PA[i + 1] and PB[j] -> PB[j + 1]
        gain = (c[PA[:-1], PA[1:]][:, None] + c[PB[:-1], PB[1:]][None, :]
                - c[np.ix_(PA[:-1], PB[1:])] - c[np.ix_(PB[:-1], PA[1:])].T)  # [i, j]
        gain[m, n] = -np.inf  # no change
        dA = np.vstack([np.zeros((1, self.demand.shape[1])),
                        np.cumsum(self.demand[A.stops], axis=0)]) if m else \
            np.zeros((1, self.demand.shape[1]))
        dB = np.vstack([np.zeros((1, self.demand.shape[1])),
                        np.cumsum(self.demand[B.stops], axis=0)]) if n else \
            np.zeros((1, self.demand.shape[1]))
        cap = np.asarray(self.data.vehicle_types[ra.vehicle_type].capacity, dtype=float)
        newA = dA[:, None, :] + (dB[-1] - dB)[None, :, :]  # [i, j, dim]
        newB = dB[None, :, :] + (dA[-1] - dA)[:, None, :]
        ok = np.all(newA <= cap + 1e-9, axis=2) & np.all(newB <= cap + 1e-9, axis=2)
        gain = np.where(ok, gain, -np.inf)
        for flat in np.argsort(-gain, axis=None, kind="stable")[:16].tolist():
            i, j = divmod(flat, n + 1)
            g = float(gain[i, j])
            if g <= EPS:
                return None
            if A.route != B.route:
                # loads and stops that change route: A's tail from i, B's tail from j
                outA = self.demand[A.stops[i:]].sum(axis=0)
                outB = self.demand[B.stops[j:]].sum(axis=0)
                if not (self._route_shift(A.route, outA, outB, (n - j) - (m - i))
                        and self._route_shift(B.route, outB, outA, (m - i) - (n - j))):
                    continue
            return g, "tails", i, j, -1, -1
        return None

    def _route_shift(self, k: int, out: np.ndarray, into: np.ndarray, stops: int) -> bool:
        """Whether route ``k`` keeps its daily caps losing load ``out``, gaining ``into``
        and ``stops`` more stops."""
        vt = self.data.vehicle_types[self.routes[k].vehicle_type]
        q = self.route_load(k) - out + into
        if vt.route_capacity is not None and np.any(
                q > np.asarray(vt.route_capacity, dtype=float) + 1e-9):
            return False
        return not (vt.max_stops and self.route_stops(k) + stops > vt.max_stops)

    @staticmethod
    def _without(ins: np.ndarray, place: np.ndarray, nx: int,
                 ny: int) -> tuple[np.ndarray, np.ndarray]:
        """For each removed stop ``x`` (``nx`` of the trip) and inserted stop ``y``: the
        cheapest insertion of ``y`` into the trip without ``x``, and its position.

        ``ins[p, y]``: into the full trip at position ``p``; ``place[x, y]``: into the gap
        ``x`` leaves. Positions ``x`` and ``x + 1`` touch ``x``; the result's position is
        the path position in the trip with ``x`` still in it, ``-1`` for ``x``'s place.
        """
        k = min(TOP, ins.shape[0])
        top = np.argpartition(ins, k - 1, axis=0)[:k] if ins.shape[0] > k else \
            np.argsort(ins, axis=0, kind="stable")
        cost = place.copy()
        pos = np.full((nx, ny), -1, dtype=np.int64)
        for r in range(top.shape[0]):
            p = top[r]  # [y]
            c = ins[p, np.arange(ny)]  # [y]
            xs = np.arange(nx)[:, None]
            ok = (p[None, :] != xs) & (p[None, :] != xs + 1)
            better = ok & (c[None, :] < cost)
            cost = np.where(better, c[None, :], cost)
            pos = np.where(better, p[None, :], pos)
        return cost, pos

    # -- applying a move ------------------------------------------------------------------
    def apply(self, i: int, j: int, move: tuple[float, str, int, int, int, int]) -> bool:
        """Apply ``move`` to trips ``i`` and ``j`` when both routes decode and score
        lower; returns whether it was applied."""
        from wastenet.routing.solve import _score

        assert self.trips is not None
        _, kind, a, b, pa, pb = move
        A, B = self.trips[i], self.trips[j]
        if kind == "relocate_back":
            A, B = B, A
        newA, newB = list(A.stops), list(B.stops)
        if kind in ("relocate", "relocate_back"):
            s = newA.pop(a)
            newB.insert(pb, s)
        elif kind == "tails":
            newA = A.stops[:a] + B.stops[b:]
            newB = B.stops[:b] + A.stops[a:]
        else:
            sa, sb = A.stops[a], B.stops[b]
            # b into A: position pa of A's path (with a still in), or a's place (-1)
            newA = _put(A.stops, a, sb, pa)
            newB = _put(B.stops, b, sa, pb)
        changes: dict[int, dict[int, tuple[int, list[int]]]] = {}
        changes.setdefault(A.route, {})[A.first] = (len(A.stops), newA)
        changes.setdefault(B.route, {})[B.first] = (len(B.stops), newB)
        new_routes = {}
        for k, change in changes.items():
            r = _redecode(self.data, self.routes[k], _sequence(self.routes[k], change))
            if r is None:
                return False
            new_routes[k] = r
        old = [self.routes[k] for k in new_routes]
        new = [r for r in new_routes.values() if any(v.kind == "stop" for v in r.visits)]
        if _score(self.params, new) >= _score(self.params, old) - EPS:
            return False
        for k, r in new_routes.items():
            self.routes[k] = r
        self.trips = _trips(self.data, self.routes)
        return self.trips is not None


def _put(stops: list[int], x: int, y: int, pos: int) -> list[int]:
    """``stops`` without ``stops[x]``, with ``y`` at path position ``pos`` of the trip
    with ``x`` still in it (``-1``: in ``x``'s place)."""
    if pos < 0:
        out = list(stops)
        out[x] = y
        return out
    out = list(stops)
    out.insert(pos, y)  # path position p is between stops[p - 1] and stops[p]
    out.pop(x + 1 if pos <= x else x)
    return out


def _sequence(route: Route, change: dict[int, tuple[int, list[int]]]) -> list[tuple[str, int]]:
    """The visits of ``route`` as (kind, index), the stops of each trip starting at
    position ``first`` (``change[first] = (old length, new stops)``) replaced."""
    v = route.visits
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(v):
        if i in change:
            n, stops = change[i]
            out.extend(("stop", s) for s in stops)
            i += n
            continue
        out.append((v[i].kind, v[i].index))
        i += 1
    # an emptied trip leaves two facility visits in a row (or depot then unload): the
    # decoder drops the empty unload unless the route needs it
    return out


def _redecode(data: RoutingData, route: Route, seq: list[tuple[str, int]]) -> Route | None:
    """The route of vehicle ``route`` driving ``seq`` (depot to depot), decoded with
    the break placed anew (:func:`wastenet.routing.solve._decode`, without its log
    lines), or None when no schedule keeps every rule."""
    from wastenet.routing.ortools_adapter import RawRoute, RawVisit, shift_window
    from wastenet.routing.solve import _decode

    vt = data.vehicle_types[route.vehicle_type]
    leave = int(np.ceil(shift_window(data, vt)[0]))
    visits = tuple(RawVisit(k, ix, leave if n == 0 else 0) for n, (k, ix) in enumerate(seq))
    raw = RawRoute(0, route.vehicle_type, route.vehicle, visits, None, None,
                   break_flexible=False, break_free=vt.break_duration_s > 0)
    return _decode(data, raw, quiet=True)
