"""CVRPLIB readers (VRPLIB ``.vrp`` and Solomon/Gehring-Homberger ``.txt``) and the
VRPLIB ``.sol`` writer.

Parsing is delegated to the ``vrplib`` package (PyPI); distances are computed here.

Mapping a CVRP onto :class:`RoutingData`
----------------------------------------
Sets: depot ``0``, customers ``i = 1..n`` with demand ``q_i``, capacity ``Q``, distances
``c_ij``. A CVRP route is ``0 -> i_1 -> ... -> i_k -> 0`` with ``sum q <= Q``; the
objective is ``min sum c_ij`` over all routes, with an unlimited fleet.

``RoutingData`` forbids one location in two roles, and its vehicles must unload at a
facility before returning to their depot. So the reader adds an *unload facility that
is a copy of the depot*: a separate location with ``c = 0`` to the depot and the depot's
distances to everyone else. A CVRP route then reads ``depot -> stops -> unload copy ->
depot`` at the same cost.

Two equivalent ways to map the unlimited CVRP fleet:

* ``single_trip=True``: one vehicle does one CVRP route. Its capacity is ``(Q,)`` and
  its ``route_capacity`` (load collected per day) is also ``(Q,)``, so an unload in
  mid-route cannot let it collect more than ``Q`` in the day and reloading buys nothing.
  The fleet is ``n`` vehicles. This is required when routes have a length limit
  (``DISTANCE``, the CMT instances), which then becomes ``max_shift_s``.
* ``single_trip=False`` (default when there is no route-length limit): capacity ``(Q,)``
  between unloads and no daily cap, so one vehicle may chain several trips, each
  ``depot -> stops -> unload copy`` and then on from the copy, which *is* the depot.
  Every trip is a CVRP route with load ``<= Q``; the distance of a plan is the sum of
  its trips, so both models have the same solutions and the same optimum. Vehicle counts
  differ: the CVRP count is the number of trips.

The ``.sol`` writer emits one VRPLIB route per trip (the visits between two unloads),
so its ``Cost`` is the CVRP cost under either mapping. The fleet is ``n`` vehicles
(unbounded in practice), fixed cost 0.

Time is only used where the format has it: ``duration_s = c_ij`` (one distance unit per
second), service times and the ``DISTANCE`` route-length limit of the CMT instances map
to ``stop_service_s`` and ``max_shift_s``. Without a limit the horizon is
``H = sum_i (c_0i + c_i0 + s_i) + n + 1``: the length of the star solution (one customer
per trip), an upper bound on the optimum, so an optimal plan fits in the day even on a
single vehicle.

Distances: ``EUC_2D`` is rounded to the nearest integer (TSPLIB ``nint``) unless
``rounding="exact"`` (the CMT instances' published costs are unrounded);
``EXPLICIT`` matrices are taken as given. Solomon instances use unrounded Euclidean
distances, travel time = distance, ``VEHICLE NUMBER`` vehicles, and the depot's due date
as the shift end.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from wastenet.errors import DataFormatError
from wastenet.routing.data import RoutePlan, RoutingData, VehicleType

log = logging.getLogger("wastenet.formats.vrplib")


def _euclid(xy: np.ndarray) -> np.ndarray:
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def _nint(a: np.ndarray) -> np.ndarray:
    return np.floor(a + 0.5)


def _with_depot_copy(c: np.ndarray) -> np.ndarray:
    """Append a copy of node 0 (the depot) as the last row/column, at distance 0."""
    n1 = c.shape[0]
    out = np.zeros((n1 + 1, n1 + 1))
    out[:n1, :n1] = c
    out[n1, :n1] = c[0, :]
    out[:n1, n1] = c[:, 0]
    out[n1, 0] = out[0, n1] = 0.0
    return out


def _build(*, source: str, name: str, node_ids: list[str], dist: np.ndarray,
           demand: np.ndarray, capacity: float, service: np.ndarray, open_s: np.ndarray,
           close_s: np.ndarray, depot_open: float, depot_close: float | None,
           max_route: float | None, n_vehicles: int | None, xy: np.ndarray | None,
           single_trip: bool, meta: dict[str, object]) -> RoutingData:
    """Common builder: node 0 is the depot, nodes 1..n the customers."""
    n = dist.shape[0] - 1
    if n < 1:
        raise DataFormatError(source, "no customers")
    if np.any(demand[1:] > capacity):
        i = int(np.flatnonzero(demand[1:] > capacity)[0]) + 1
        raise DataFormatError(source, f"customer {node_ids[i]}: demand {demand[i]} exceeds "
                                      f"capacity {capacity}")
    horizon = float(np.sum(dist[0, 1:] + dist[1:, 0] + service[1:]) + n + 1)
    end = horizon if depot_close is None else float(depot_close)
    close_s = np.minimum(close_s, end)  # CVRP customers: open until the horizon
    full = _with_depot_copy(dist)
    ids = [*node_ids, f"{node_ids[0]}#unload"]
    vt = VehicleType(
        name="vehicle",
        count=int(n_vehicles) if n_vehicles is not None else n,
        depot=0,
        capacity=(float(capacity),),
        route_capacity=(float(capacity),) if single_trip else None,
        shift_start_s=float(depot_open),
        shift_end_s=max(end, float(depot_open)),
        max_shift_s=float(max_route) if max_route is not None else max(end - depot_open, 0.0),
    )
    x = y = None
    if xy is not None:
        x = np.append(xy[:, 0], xy[0, 0]).astype(np.float64)
        y = np.append(xy[:, 1], xy[0, 1]).astype(np.float64)
    return RoutingData(
        ids=tuple(ids),
        names=tuple(ids),
        lon=np.full(n + 2, np.nan),
        lat=np.full(n + 2, np.nan),
        distance_m=full,
        duration_s=full,
        load_dims=("demand",),
        depots=np.array([0]),
        depot_open_s=np.array([depot_open], dtype=np.float64),
        depot_close_s=np.array([end]),
        stops=np.arange(1, n + 1),
        stop_demand=demand[1:].astype(np.float64).reshape(n, 1),
        stop_service_s=service[1:].astype(np.float64),
        stop_open_s=open_s[1:].astype(np.float64),
        stop_close_s=close_s[1:].astype(np.float64),
        stop_allowed=(None,) * n,
        stop_facility=np.full(n, -1, dtype=np.int64),
        facilities=np.array([n + 1]),
        facility_unload_s=np.zeros(1),
        facility_open_s=np.array([depot_open], dtype=np.float64),
        facility_close_s=np.array([end]),
        facility_capacity=np.array([np.inf]),
        vehicle_types=(vt,),
        x=x,
        y=y,
        name=name,
        meta={**meta, "source": source, "capacity": float(capacity), "depot_copy": n + 1,
              "single_trip": single_trip},
    )


def read_vrplib(path: str | os.PathLike[str], *, rounding: str = "nint",
                single_trip: bool | None = None) -> RoutingData:
    """Read a CVRPLIB ``.vrp`` (TYPE CVRP, depot = node 1) into :class:`RoutingData`.

    ``rounding``: ``"nint"`` (TSPLIB nearest integer for ``EUC_2D``) or ``"exact"``.
    ``single_trip``: one CVRP route per vehicle (see the module docstring); ``None``
    means only when the file limits the route length (``DISTANCE``).
    """
    import vrplib  # bench extra; only needed for this format

    if rounding not in ("nint", "exact"):
        raise ValueError(f"rounding={rounding!r}: expected 'nint' or 'exact'")
    src = str(path)
    if not Path(src).is_file():
        raise DataFormatError(src, "no such file")
    try:
        inst = vrplib.read_instance(src, compute_edge_weights=False)
    except Exception as exc:  # vrplib raises ValueError/RuntimeError/IndexError freely
        raise DataFormatError(src, f"not a VRPLIB instance: {exc}") from exc
    for key in ("dimension", "capacity", "demand"):
        if key not in inst:
            raise DataFormatError(src, f"missing {key.upper()}")
    typ = str(inst.get("type", "CVRP")).strip()
    if typ not in ("CVRP", "ACVRP"):
        raise DataFormatError(src, f"TYPE={typ}: only CVRP is supported")
    dim = int(inst["dimension"])
    depots = np.atleast_1d(np.asarray(inst.get("depot", [0])))
    if depots.size != 1 or int(depots[0]) != 0:
        raise DataFormatError(src, f"DEPOT_SECTION={(depots + 1).tolist()}: only a single "
                                   "depot at node 1 is supported")
    ewt = str(inst.get("edge_weight_type", "")).strip()
    xy = np.asarray(inst["node_coord"], dtype=np.float64) if "node_coord" in inst else None
    if ewt == "EUC_2D":
        if xy is None or xy.shape != (dim, 2):
            raise DataFormatError(src, f"NODE_COORD_SECTION needs {dim} rows of x y")
        d = _euclid(xy)
        dist = _nint(d) if rounding == "nint" else d
    elif ewt == "EXPLICIT":
        try:
            inst_w = vrplib.read_instance(src, compute_edge_weights=True)
        except Exception as exc:
            raise DataFormatError(src, f"EDGE_WEIGHT_SECTION: {exc}") from exc
        dist = np.asarray(inst_w["edge_weight"], dtype=np.float64)
    else:
        raise DataFormatError(src, f"EDGE_WEIGHT_TYPE={ewt!r}: only EUC_2D and EXPLICIT")
    if dist.shape != (dim, dim):
        raise DataFormatError(src, f"distance matrix shape {dist.shape}, DIMENSION={dim}")
    demand = np.asarray(inst["demand"], dtype=np.float64).reshape(-1)
    if demand.shape != (dim,):
        raise DataFormatError(src, f"DEMAND_SECTION has {demand.size} rows, DIMENSION={dim}")
    service_val = float(inst.get("service_time", 0.0))
    service = np.full(dim, service_val)
    service[0] = 0.0
    max_route = float(inst["distance"]) if "distance" in inst else None
    name = str(inst.get("name", Path(src).stem)).strip()
    if single_trip is None:
        single_trip = max_route is not None
    elif max_route is not None and not single_trip:
        raise ValueError("single_trip=False cannot keep the DISTANCE limit of each route")
    return _build(source=src, name=name, node_ids=[str(i) for i in range(1, dim + 1)],
                  dist=dist, demand=demand, capacity=float(inst["capacity"]),
                  service=service, open_s=np.zeros(dim), close_s=np.full(dim, np.inf),
                  depot_open=0.0, depot_close=None, max_route=max_route, n_vehicles=None,
                  xy=xy, single_trip=single_trip, meta={"format": "vrplib", "edge_weight_type": ewt,
                               "rounding": rounding if ewt == "EUC_2D" else "explicit"})


def read_solomon(path: str | os.PathLike[str]) -> RoutingData:
    """Read a Solomon / Gehring-Homberger VRPTW ``.txt`` into :class:`RoutingData`."""
    import vrplib

    src = str(path)
    if not Path(src).is_file():
        raise DataFormatError(src, "no such file")
    try:
        inst = vrplib.read_instance(src, instance_format="solomon", compute_edge_weights=False)
    except Exception as exc:
        raise DataFormatError(src, f"not a Solomon instance: {exc}") from exc
    xy = np.asarray(inst["node_coord"], dtype=np.float64)
    dim = xy.shape[0]
    tw = np.asarray(inst["time_window"], dtype=np.float64)
    dist = _euclid(xy)
    data = _build(source=src, name=str(inst["name"]).strip(),
                  node_ids=[str(i) for i in range(dim)], dist=dist,
                  demand=np.asarray(inst["demand"], dtype=np.float64),
                  capacity=float(inst["capacity"]),
                  service=np.asarray(inst["service_time"], dtype=np.float64),
                  open_s=tw[:, 0], close_s=tw[:, 1], depot_open=float(tw[0, 0]),
                  depot_close=float(tw[0, 1]), max_route=None,
                  n_vehicles=int(inst["vehicles"]), xy=xy, single_trip=True,
                  meta={"format": "solomon", "edge_weight_type": "EUC_2D",
                        "rounding": "exact"})
    return data


def plan_trips(data: RoutingData, plan: RoutePlan) -> list[list[int]]:
    """The CVRP routes of a plan: stop indices of each trip (visits between unloads)."""
    trips: list[list[int]] = []
    for route in plan.routes:
        cur: list[int] = []
        for v in route.visits:
            if v.kind == "stop":
                cur.append(int(v.index))
            elif cur:  # an unload or the final depot closes the trip
                trips.append(cur)
                cur = []
        if cur:
            trips.append(cur)
    return trips


def trips_cost(data: RoutingData, trips: list[list[int]]) -> float:
    """``sum over trips of c(depot, s_1) + ... + c(s_k, depot)`` from the matrix."""
    depot = int(data.depots[0])
    total = 0.0
    for t in trips:
        locs = np.array([depot, *(int(data.stops[s]) for s in t), depot])
        total += float(data.distance_m[locs[:-1], locs[1:]].sum())
    return total


def format_vrplib_sol(data: RoutingData, plan: RoutePlan) -> str:
    """VRPLIB solution text: ``Route #k: c1 c2 ...`` lines and ``Cost X``.

    Customers are numbered as in CVRPLIB solutions: ``1..n`` in file order after the
    depot (node ``i + 1`` of a ``.vrp``, customer ``i`` of a Solomon file).
    """
    trips = plan_trips(data, plan)
    lines = [f"Route #{k}: " + " ".join(str(s + 1) for s in t)
             for k, t in enumerate(trips, start=1)]
    cost = trips_cost(data, trips)
    if math.isclose(cost, round(cost), abs_tol=1e-6):
        lines.append(f"Cost {round(cost)}")
    else:
        lines.append(f"Cost {cost:.2f}")
    return "\n".join(lines) + "\n"


def write_vrplib_sol(data: RoutingData, plan: RoutePlan,
                     path: str | os.PathLike[str]) -> Path:
    """Write :func:`format_vrplib_sol` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(format_vrplib_sol(data, plan), encoding="utf-8")
    return out


def read_vrplib_sol_cost(path: str | os.PathLike[str]) -> float:
    """The ``Cost`` of a VRPLIB ``.sol`` file (best-known value of a CVRPLIB instance)."""
    src = str(path)
    try:
        text = Path(src).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFormatError(src, f"cannot read: {exc.strerror}") from exc
    for ln, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if tokens and tokens[0].lower() == "cost":
            try:
                return float(tokens[1])
            except (IndexError, ValueError):
                raise DataFormatError(src, f"bad Cost line: {line!r}", line=ln) from None
    raise DataFormatError(src, "no Cost line")
