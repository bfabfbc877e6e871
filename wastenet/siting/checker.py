"""Independent checker of a :class:`~wastenet.siting.result.SitingResult`.

It shares no code with the solver: it reads the :class:`~wastenet.siting.data.SitingData`
and the result directly, recomputes the cost from scratch and checks every rule of the
model (see :mod:`wastenet.siting.model` for the formulation):

* sizes: a size slot is real (``< n_sizes``), excluded sites stay closed, forced and
  existing sites are open, ``-2`` only for existing sites;
* coverage: shares of each village sum to 1 (minus the uncovered share, allowed only with an
  uncovered penalty and not for ``must_cover`` villages); one row per village, fraction 1,
  under single sourcing; flows go along existing arcs to open facilities; a village is
  listed in ``uncovered`` (and charged the penalty) exactly when its missing share exceeds
  :data:`~wastenet.siting.data.SHARE_TOL`, the rule the solver applies;
* arc lengths: every arc used (a flow row, a haul row) is no longer than the limit the
  data record for its kind (``service_radius_m`` for collect, ``direct_radius_m`` for
  direct, ``max_haul_m`` for haul; ``None``: no limit);
* capacities of the opened size (or the existing capacity) on both echelons;
* flow conservation at transfer stations (inflow = haul outflow), haul along existing arcs
  between open facilities, haul flows non-negative;
* count targets on NEW opened facilities, per province or prefecture;
* the reported cost breakdown and total equal the recomputed ones, and
  ``lower_bound <= total_cost``;
* well-formedness: size slots, village, facility and ``uncovered`` indices are integers in
  range, the flow (and the haul) arrays are 1-D of one length, every flow fraction, haul
  flow, cost entry and the total are finite numbers, and ``lower_bound`` is a number
  (``-inf``: no bound known, never NaN). A malformed result gives violations, never an
  exception: a malformed row is reported and left out of the sums.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from wastenet.bounds import is_finite_real, is_integral
from wastenet.siting.data import SHARE_TOL, Arcs, Sites, SiteStatus, SitingData
from wastenet.siting.result import SitingResult


@dataclass
class CheckReport:
    """Outcome of :func:`check`. ``cost`` is the recomputed breakdown (yuan/yr)."""

    violations: list[str] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    total_cost: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations


def _arc_table(arcs: Arcs) -> dict[tuple[int, int], tuple[float, float]]:
    table: dict[tuple[int, int], tuple[float, float]] = {}
    for s, t, dist, c in zip(arcs.src.tolist(), arcs.dst.tolist(), arcs.distance_m.tolist(),
                             arcs.unit_cost.tolist(), strict=True):
        if (s, t) not in table or c < table[(s, t)][1]:
            table[(s, t)] = (dist, c)
    return table


def _rows(cols: dict[str, object], what: str, out: list[str]) -> list[tuple]:
    """The rows of parallel result arrays, or none (reported) when they are not all 1-D
    of one length."""
    try:
        arrs = {name: np.asarray(a) for name, a in cols.items()}
    except (TypeError, ValueError) as exc:
        out.append(f"{what} arrays are malformed: {exc}")
        return []
    if any(a.ndim != 1 for a in arrs.values()) or len({a.shape for a in arrs.values()}) > 1:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in arrs.items())
        out.append(f"{what} arrays must be 1-D of one length: {shapes}")
        return []
    return list(zip(*(a.tolist() for a in arrs.values()), strict=True))


def _too_long(dist: float, limit: float | None, tol: float) -> bool:
    """Is an arc of ``dist`` m longer than ``limit`` m (``None``: no limit)?"""
    return limit is not None and dist > limit * (1 + tol) + tol


def _open_capacity(sites: Sites, sizes: np.ndarray, echelon: str,
                   out: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (is_open, capacity, fixed cost); append size-rule violations to ``out``."""
    n = len(sites)
    is_open = np.zeros(n, dtype=bool)
    cap = np.zeros(n)
    fixed = 0.0
    if sizes.shape != (n,):
        out.append(f"{echelon}_size has shape {sizes.shape}, expected ({n},)")
        return is_open, cap, fixed
    slots = sizes.tolist()
    for s in range(n):
        st = int(sites.status[s])
        sid = sites.ids[s]
        if not is_integral(slots[s]):
            out.append(f"{echelon} {sid} has size slot {slots[s]!r}, not an integer")
            continue
        v = int(slots[s])
        if st == SiteStatus.EXISTING:
            if v != -2:
                out.append(f"{echelon} {sid} is existing but its size is {v}, expected -2")
            is_open[s] = True
            cap[s] = float(sites.existing_capacity[s])
            continue
        if v == -2:
            out.append(f"{echelon} {sid} is not existing but has size -2")
            continue
        if v == -1:
            if st == SiteStatus.FORCED:
                out.append(f"{echelon} {sid} is forced but closed")
            continue
        if v < 0 or v >= int(sites.n_sizes[s]):
            out.append(f"{echelon} {sid} has size slot {v}, not one of its "
                       f"{int(sites.n_sizes[s])} sizes")
            continue
        if st == SiteStatus.EXCLUDED:
            out.append(f"{echelon} {sid} is excluded but opened")
        is_open[s] = True
        cap[s] = float(sites.size_capacity[s, v])
        fixed += float(sites.size_fixed_cost[s, v])
    return is_open, cap, fixed


def check(data: SitingData, result: SitingResult, *, tol: float = 1e-6) -> CheckReport:
    """Verify ``result`` against ``data``; see the module docstring for the rules."""
    v: list[str] = []
    n = data.n_villages
    w = np.asarray(data.demand, dtype=float)
    tr_open, tr_cap, tr_fixed = _open_capacity(data.transfer, np.asarray(result.transfer_size),
                                               "transfer", v)
    in_open, in_cap, in_fixed = _open_capacity(data.incinerator,
                                               np.asarray(result.incinerator_size),
                                               "incinerator", v)
    collect = _arc_table(data.collect)
    direct = _arc_table(data.direct)
    haul = _arc_table(data.haul)
    share = np.zeros(n)
    rows = np.zeros(n, dtype=int)
    tr_in = np.zeros(len(data.transfer))
    in_in = np.zeros(len(data.incinerator))
    collect_cost = 0.0
    direct_cost = 0.0
    tr_tp = 0.0
    in_tp = 0.0
    seen: set[tuple[int, int, bool]] = set()
    flows = _rows({"flow_village": result.flow_village, "flow_facility": result.flow_facility,
                   "flow_direct": result.flow_direct, "flow_fraction": result.flow_fraction},
                  "flow", v)
    for i, f, is_direct, frac in flows:
        if not is_integral(i) or not 0 <= i < n:
            v.append(f"flow row names village index {i!r}, not an integer in [0,{n})")
            continue
        vid = data.village_ids[i]
        if not is_integral(f):
            v.append(f"village {vid}: flow row names facility index {f!r}, not an integer")
            continue
        if not (isinstance(is_direct, numbers.Real) and is_direct in (0, 1)):
            v.append(f"village {vid}: flow_direct {is_direct!r} is not a boolean")
            continue
        if not is_finite_real(frac):
            v.append(f"village {vid}: flow fraction {frac!r} is not a finite number")
            continue
        if not (frac > 0 and frac <= 1 + tol):
            v.append(f"village {vid}: flow fraction {frac} outside (0,1]")
        key = (i, f, bool(is_direct))
        if key in seen:
            v.append(f"village {vid}: duplicate flow row to facility index {f}")
        seen.add(key)
        share[i] += frac
        rows[i] += 1
        t = w[i] * frac
        if is_direct:
            if not 0 <= f < len(data.incinerator):
                v.append(f"village {vid}: direct flow to incinerator index {f} out of range")
                continue
            fid = data.incinerator.ids[f]
            if (i, f) not in direct:
                v.append(f"village {vid}: no direct arc to incinerator {fid}")
                continue
            if not in_open[f]:
                v.append(f"village {vid}: delivers to closed incinerator {fid}")
            dist = direct[(i, f)][0]
            if _too_long(dist, data.direct_radius_m, tol):
                v.append(f"village {vid}: direct arc to incinerator {fid} is "
                         f"{dist / 1000:.6g} km, beyond the direct-delivery radius "
                         f"{float(data.direct_radius_m or 0) / 1000:.6g} km")
            direct_cost += direct[(i, f)][1] * t
            in_in[f] += t
            in_tp += float(data.incinerator.throughput_cost[f]) * t
        else:
            if not 0 <= f < len(data.transfer):
                v.append(f"village {vid}: flow to transfer index {f} out of range")
                continue
            fid = data.transfer.ids[f]
            if (i, f) not in collect:
                v.append(f"village {vid}: no collect arc to transfer station {fid}")
                continue
            if not tr_open[f]:
                v.append(f"village {vid}: assigned to closed transfer station {fid}")
            dist = collect[(i, f)][0]
            if _too_long(dist, data.service_radius_m, tol):
                v.append(f"village {vid}: collect arc to transfer station {fid} is "
                         f"{dist / 1000:.6g} km, beyond the service radius "
                         f"{float(data.service_radius_m or 0) / 1000:.6g} km")
            collect_cost += collect[(i, f)][1] * t
            tr_in[f] += t
            tr_tp += float(data.transfer.throughput_cost[f]) * t
    listed = np.asarray(result.uncovered).ravel().tolist()
    for i in listed:
        if not is_integral(i) or not 0 <= i < n:
            v.append(f"uncovered lists {i!r}, not a village index in [0,{n})")
    uncovered = {int(i) for i in listed if is_integral(i)}
    uncovered_t = 0.0
    for i in range(n):
        vid = data.village_ids[i]
        missing = 1.0 - share[i]
        if missing < -tol:
            v.append(f"village {vid}: shares sum to {share[i]:.9g} > 1")
        if data.single_source and rows[i] > 1:
            v.append(f"village {vid}: served by {rows[i]} facilities under single sourcing")
        if data.single_source and rows[i] == 1 and abs(share[i] - 1.0) > tol:
            v.append(f"village {vid}: single-source fraction {share[i]:.9g} is not 1")
        hard_miss = missing > tol and (data.uncovered_penalty is None
                                       or bool(data.must_cover[i]))
        if hard_miss and data.uncovered_penalty is None:
            v.append(f"village {vid}: only {share[i]:.9g} of its demand is covered")
        elif hard_miss:
            v.append(f"village {vid} must be covered but {missing:.9g} of it is not")
        # listing and pricing follow the one shared rule SHARE_TOL (as the solver)
        if missing > SHARE_TOL:
            if not hard_miss and i not in uncovered:
                v.append(f"village {vid}: partly uncovered but not listed in uncovered")
            uncovered_t += w[i] * missing
        elif i in uncovered:
            v.append(f"village {vid}: listed as uncovered but fully covered")
    # haul
    tr_out = np.zeros(len(data.transfer))
    haul_cost = 0.0
    hauls = _rows({"haul_transfer": result.haul_transfer,
                   "haul_incinerator": result.haul_incinerator,
                   "haul_t_per_day": result.haul_t_per_day}, "haul", v)
    for j, k, t in hauls:
        if not (is_integral(j) and is_integral(k) and 0 <= j < len(data.transfer)
                and 0 <= k < len(data.incinerator)):
            v.append(f"haul row ({j!r},{k!r}) out of range or not integer indices")
            continue
        jid, kid = data.transfer.ids[j], data.incinerator.ids[k]
        if not is_finite_real(t):
            v.append(f"haul {jid}->{kid}: haul_t_per_day {t!r} is not a finite number")
            continue
        if t < -tol:
            v.append(f"haul {jid}->{kid}: negative flow {t}")
        if (j, k) not in haul:
            v.append(f"haul {jid}->{kid}: no haul arc")
            continue
        if t > tol and not (tr_open[j] and in_open[k]):
            v.append(f"haul {jid}->{kid}: carries {t:.6g} t/d between facilities not both open")
        if _too_long(haul[(j, k)][0], data.max_haul_m, tol):
            v.append(f"haul {jid}->{kid}: the arc is {haul[(j, k)][0] / 1000:.6g} km, beyond "
                     f"the maximum haul {float(data.max_haul_m or 0) / 1000:.6g} km")
        tr_out[j] += t
        in_in[k] += t
        haul_cost += haul[(j, k)][1] * t
        in_tp += float(data.incinerator.throughput_cost[k]) * t
    scale = max(1.0, float(w.sum()))
    for j in range(len(data.transfer)):
        jid = data.transfer.ids[j]
        if abs(tr_in[j] - tr_out[j]) > tol * scale:
            v.append(f"transfer {jid}: inflow {tr_in[j]:.6g} t/d != haul outflow "
                     f"{tr_out[j]:.6g} t/d")
        if tr_in[j] > tr_cap[j] * (1 + tol) + tol:
            v.append(f"transfer {jid}: inflow {tr_in[j]:.6g} t/d exceeds capacity "
                     f"{tr_cap[j]:.6g} t/d")
    for k in range(len(data.incinerator)):
        if in_in[k] > in_cap[k] * (1 + tol) + tol:
            v.append(f"incinerator {data.incinerator.ids[k]}: inflow {in_in[k]:.6g} t/d "
                     f"exceeds capacity {in_cap[k]:.6g} t/d")
    # counts
    for target in data.counts:
        sites = data.transfer if target.echelon == "transfer" else data.incinerator
        is_open = tr_open if target.echelon == "transfer" else in_open
        cnt = 0
        for s in range(len(sites)):
            if not is_open[s] or int(sites.status[s]) == SiteStatus.EXISTING:
                continue
            if target.prefecture is not None:
                c = int(sites.county[s])
                if not (0 <= c < len(data.county_prefecture)
                        and data.county_prefecture[c] == target.prefecture):
                    continue
            cnt += 1
        ok = {"eq": cnt == target.value, "le": cnt <= target.value,
              "ge": cnt >= target.value}[target.sense]
        if not ok:
            where = f"prefecture {target.prefecture}" if target.prefecture else "province"
            v.append(f"count target {target.echelon} {target.sense} {target.value} in {where}:"
                     f" {cnt} new facilities opened")
    penalty = float(data.uncovered_penalty or 0.0) * uncovered_t
    cost = {
        "transfer_fixed": tr_fixed,
        "incinerator_fixed": in_fixed,
        "collection": collect_cost,
        "direct": direct_cost,
        "haul": haul_cost,
        "transfer_throughput": tr_tp,
        "incinerator_throughput": in_tp,
        "uncovered_penalty": penalty,
    }
    total = float(sum(cost.values()))
    rel = tol * max(1.0, abs(total))
    rep_total = result.total_cost
    total_ok = is_finite_real(rep_total)
    if not total_ok:
        v.append(f"total_cost {rep_total!r} is not a finite number")
    elif abs(rep_total - total) > rel:
        v.append(f"total_cost {rep_total:.10g} differs from recomputed {total:.10g}")
    breakdown = result.cost
    if not isinstance(breakdown, Mapping):
        v.append(f"cost {breakdown!r} is not a mapping of cost entries")
        breakdown = {}
    bad = [name for name, val in breakdown.items() if not is_finite_real(val)]
    for name in bad:
        v.append(f"cost[{name}] {breakdown[name]!r} is not a finite number")
    reported = defaultdict(float, breakdown)
    for cname, val in cost.items():
        if cname not in bad and abs(reported[cname] - val) > rel:
            v.append(f"cost[{cname}] {reported[cname]:.10g} differs from recomputed {val:.10g}")
    if total_ok and not bad and abs(sum(breakdown.values()) - rep_total) > rel:
        v.append("cost breakdown does not sum to total_cost")
    lb = result.lower_bound
    if not isinstance(lb, numbers.Real) or math.isnan(lb) or lb == math.inf:
        v.append(f"lower_bound {lb!r} is not a number below +inf (-inf: no bound known)")
    elif total_ok and not lb <= rep_total + rel:
        v.append(f"lower_bound {lb:.10g} exceeds total_cost {rep_total:.10g}")
    return CheckReport(violations=v, cost=cost, total_cost=total)
