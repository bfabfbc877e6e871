"""Plain OR-Tools CVRP peer with guided local search (benchmark only).

The textbook OR-Tools CVRP, written the way its documentation shows it: one routing
model over the depot and the customers, the distance matrix as the arc cost, a capacity
dimension with the customer demands, the default first solution strategy
(``PATH_CHEAPEST_ARC``) and ``GUIDED_LOCAL_SEARCH`` until the time limit.

Formulation: depot ``0``, customers ``1..n``, vehicles ``k in K`` with capacity ``Q``;
``min sum_k sum_(i,j) c_ij x_ijk`` subject to every customer visited once, each route
starting and ending at the depot, and ``sum q_i`` on a route ``<= Q``.

The fleet is ``|K| = ceil(1.15 * ceil(sum q / Q)) + 3`` vehicles (unused ones cost
nothing); CVRPLIB X instances need at least ``ceil(sum q / Q)`` routes.
"""

from __future__ import annotations

import math
import time

import numpy as np

from peers.common import Step, build_plan
from peers.pyvrp_peer import PeerResult
from wastenet.routing.data import RoutingData


def solve_cvrp(data: RoutingData, *, time_limit_s: float, seed: int = 0) -> PeerResult:
    """Solve the CVRP in ``data`` (from ``read_vrplib``) with plain OR-Tools GLS."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    depot = int(data.depots[0])
    nodes = [depot, *(int(s) for s in data.stops)]
    cost = np.rint(data.distance_m[np.ix_(nodes, nodes)]).astype(np.int64)
    demand = [0, *(round(float(q)) for q in data.stop_demand[:, 0])]
    cap = int(data.vehicle_types[0].capacity[0])
    n_veh = math.ceil(1.15 * math.ceil(sum(demand) / cap)) + 3

    manager = pywrapcp.RoutingIndexManager(len(nodes), n_veh, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(cost.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    dem = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(dem, 0, [cap] * n_veh, True, "Capacity")

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    # OR-Tools' routing search has no random seed; ``seed`` is recorded only.
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    elapsed = time.perf_counter() - t0
    routes: list[tuple[int, list[Step], float]] = []
    objective = math.inf
    if sol is not None:
        objective = float(sol.ObjectiveValue())
        for v in range(n_veh):
            idx = routing.Start(v)
            steps: list[Step] = [("depot", 0)]
            idx = sol.Value(routing.NextVar(idx))
            while not routing.IsEnd(idx):
                steps.append(("stop", manager.IndexToNode(idx) - 1))
                idx = sol.Value(routing.NextVar(idx))
            if len(steps) > 1:
                routes.append((0, [*steps, ("unload", 0), ("depot", 0)],
                               float(data.depot_open_s[0])))
    plan = build_plan(data, routes, solver="ortools-gls", seed=seed, elapsed_s=elapsed,
                      status="FEASIBLE" if sol is not None else "NO_SOLUTION")
    return PeerResult(plan, objective, elapsed, sol is not None)
