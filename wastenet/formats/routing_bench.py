"""Solve one routing benchmark file: ``wastenet solve FILE --format wcvrptw|vrplib``.

Reads the file (:mod:`wastenet.formats.wcvrptw` or :mod:`wastenet.formats.vrplib`),
solves it with :func:`wastenet.routing.solve.solve`, verifies the plan with the
independent checker :func:`wastenet.routing.checker.check`, and writes ``plan.json``::

    {"vehicles": N, "travel_time_s": T,
     "routes": [{"visits": [{"id": 0, "start_s": 14400.0, "kind": "depot"}, ...],
                 "lunch_start_s": 39600.0 | null}, ...], ...}

``id`` is the place id of the file (an int when the file's id is an integer), visits
start and end at the depot and include every unload visit (``kind`` ``"unload"``; for
CVRPLIB instances the unload is the depot copy and carries the depot's id). ``start_s``
is the service start in seconds from midnight. Further keys: ``instance``, ``format``,
``distance_m``, ``cost``, ``cvrp_routes`` and ``rounding`` (VRPLIB: the ``.sol`` cost,
the sum of trip lengths, the number of trips, and the distance convention), ``status``,
``elapsed_s``, ``seed`` and ``checker`` (``ok`` and ``violations``).

Objectives: Kim instances use the solver defaults (fewest vehicles first through a large
per-vehicle weight, then least travel time). CVRPLIB instances minimise distance only
(``vehicle_weight = 0``): travel time equals distance there.

Distances of ``.vrp`` files follow the instance's convention
(:func:`wastenet.formats.vrplib.read_vrplib` with ``rounding="auto"``): unrounded for
files with ``DISTANCE`` or ``SERVICE_TIME`` (CMT, whose published costs are unrounded),
TSPLIB-rounded otherwise (X, A, B, E, F, M, P); ``rounding`` in ``out`` says which.

For vrplib and solomon the standard VRPLIB ``.sol`` text is written beside ``out`` with
the same stem (``plan.json`` -> ``plan.sol``), so an ``out`` ending in ``.sol`` is refused
before anything is read: the JSON would overwrite the ``.sol``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from wastenet.errors import ValidationError
from wastenet.routing.data import RoutePlan, RoutingData

log = logging.getLogger("wastenet.formats.routing_bench")

FORMATS = ("wcvrptw", "vrplib", "solomon")


def read_routing_file(path: str | os.PathLike[str], fmt: str) -> RoutingData:
    """Read a routing benchmark file of format ``wcvrptw``, ``vrplib`` or ``solomon``."""
    if fmt == "wcvrptw":
        from wastenet.formats.wcvrptw import read_wcvrptw

        return read_wcvrptw(path)
    if fmt == "vrplib":
        from wastenet.formats.vrplib import read_vrplib

        return read_vrplib(path)
    if fmt == "solomon":
        from wastenet.formats.vrplib import read_solomon

        return read_solomon(path)
    raise ValidationError("format", fmt, f"expected one of {', '.join(FORMATS)}")


def _file_id(data: RoutingData, loc: int) -> int | str:
    raw = data.ids[loc].split("#", 1)[0]  # the vrplib depot copy is "<depot>#unload"
    try:
        return int(raw)
    except ValueError:
        return raw


def _num(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 3)


def plan_to_json(data: RoutingData, plan: RoutePlan) -> dict[str, Any]:
    """The plan in the benchmark ``plan.json`` schema (see the module docstring)."""
    routes = []
    for r in plan.routes:
        routes.append({
            "vehicle_type": r.vehicle_type,
            "vehicle": r.vehicle,
            "visits": [{"id": _file_id(data, v.location), "kind": v.kind,
                        "start_s": _num(v.start_s)} for v in r.visits],
            "lunch_start_s": _num(r.break_start_s),
            "travel_time_s": _num(r.travel_s),
            "distance_m": _num(r.distance_m),
            "load": list(r.load_total),
        })
    return {
        "instance": data.name,
        "vehicles": int(plan.vehicles),
        "travel_time_s": _num(plan.travel_s),
        "distance_m": _num(plan.distance_m),
        "unserved": [_file_id(data, int(data.stops[s])) for s in plan.unserved],
        "routes": routes,
    }


def solve_routing_file(path: str | os.PathLike[str], fmt: str, *, time_limit_s: float,
                       out: str | os.PathLike[str], seed: int = 0) -> dict[str, Any]:
    """Read, solve, check and write ``out`` (plus ``.sol`` for vrplib/solomon).

    Returns the JSON document that was written. An ``out`` that names a folder, an
    ``out`` ending in ``.sol`` for vrplib/solomon (the ``.sol`` beside it would be the
    same file), and an OSError while writing become a
    :class:`~wastenet.errors.ValidationError` naming ``out``.
    """
    from wastenet.routing.checker import check
    from wastenet.routing.solve import RouteParams, solve

    # found now, not after the solve; "dir/" would otherwise be written as a file "dir"
    if str(out).endswith(("/", os.sep)) or Path(out).is_dir():
        raise ValidationError("out", str(out), "is a folder, not a file")
    if fmt in ("vrplib", "solomon") and Path(out).suffix.lower() == ".sol":
        raise ValidationError("out", str(out), f"ends in .sol, but the {fmt} solution "
                              "is written beside out as <stem>.sol and the JSON would "
                              "overwrite it; name out e.g. plan.json")
    data = read_routing_file(path, fmt)
    if fmt == "wcvrptw":
        params = RouteParams(time_limit_s=time_limit_s, seed=seed)
    else:
        params = RouteParams(time_limit_s=time_limit_s, seed=seed, vehicle_weight=0.0)
    plan = solve(data, params)
    report = check(data, plan)
    if not report.ok:
        log.warning("%s: checker found %d violation(s): %s", data.name,
                    len(report.violations), "; ".join(map(str, report.violations[:5])))
    doc = plan_to_json(data, plan)
    doc.update({
        "format": fmt,
        "status": plan.status,
        "solver": plan.solver,
        "seed": seed,
        "time_limit_s": time_limit_s,
        "elapsed_s": round(plan.elapsed_s, 3),
        "checker": {"ok": bool(report.ok), "violations": [str(v) for v in report.violations]},
    })
    out_p = Path(out)
    try:
        out_p.parent.mkdir(parents=True, exist_ok=True)
        if fmt in ("vrplib", "solomon"):
            from wastenet.formats.vrplib import plan_trips, trips_cost, write_vrplib_sol

            trips = plan_trips(data, plan)
            doc["cost"] = trips_cost(data, trips)
            doc["cvrp_routes"] = len(trips)  # VRPLIB routes = trips (vehicles may chain)
            doc["rounding"] = data.meta.get("rounding")
            sol = write_vrplib_sol(data, plan, out_p.with_suffix(".sol"))
            doc["sol"] = str(sol)
        out_p.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    except OSError as exc:
        raise ValidationError("out", str(out_p),
                              f"cannot write the output ({exc.strerror or exc})") from exc
    log.info("%s: %d vehicles, travel %.1f s, checker %s -> %s", data.name, plan.vehicles,
             plan.travel_s, "ok" if report.ok else "FAILED", out_p)
    return doc
