"""``/v1/runs``: status and progress, cancellation, results, comparison."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import AnyPrincipal, Engineer, JobsDep, StoreDep
from api.routes.common import check_run_access, errors, run_out
from api.schemas import ResultOut, RunOut

router = APIRouter(prefix="/v1", tags=["runs"])


def _get_run(store: StoreDep, run_id: str) -> Any:
    run = store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    return run


@router.get("/runs/{run_id}", response_model=RunOut, responses=errors(401, 403, 404, 422))
async def get_run(run_id: str, principal: AnyPrincipal, store: StoreDep) -> RunOut:
    """Status (queued, running, succeeded, failed, cancelled), attempts, last error and
    progress (fraction done, incumbent cost, lower bound, elapsed seconds)."""
    run = await run_in_threadpool(store.get_run, run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    check_run_access(principal, run)
    return run_out(run)


@router.delete("/runs/{run_id}", status_code=202, response_model=RunOut,
               responses=errors(401, 403, 404, 409, 422))
def cancel_run(run_id: str, principal: AnyPrincipal, store: StoreDep, jobs: JobsDep) -> RunOut:
    """Cancel: a queued run at once, a running one as soon as the job manager stops its
    worker (poll ``GET /v1/runs/{id}``). 409 when the run has already finished."""
    run = _get_run(store, run_id)
    check_run_access(principal, run)
    if run.status in ("succeeded", "failed", "cancelled"):
        raise HTTPException(409, f"run {run_id} has already finished ({run.status})")
    run = store.request_cancel(run_id) or run
    if jobs is not None:
        jobs.wake()
    return run_out(run)


@router.get("/runs/{run_id}/result", response_model=ResultOut,
            responses=errors(401, 403, 404, 409, 422))
def get_result(run_id: str, principal: Engineer, store: StoreDep,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> ResultOut:
    """The summary (as in ``summary.json``), the facilities (GeoJSON) and one page of the
    village assignments of a succeeded siting run."""
    run = _get_run(store, run_id)
    if run.kind != "siting":
        raise HTTPException(409, f"run {run_id} is a {run.kind} run; its output is under "
                            "/v1/route-plans")
    if run.status != "succeeded":
        raise HTTPException(409, f"run {run_id} has no result: it is {run.status}")
    res = store.get_result(run_id)
    if res is None:
        raise HTTPException(409, f"run {run_id} has no stored result")
    rows = res.assignments or []
    return ResultOut(run_id=run_id, schema_version=res.schema_version, summary=res.summary,
                     facilities=res.facilities, assignments=rows[offset:offset + limit],
                     assignments_total=len(rows), limit=limit, offset=offset)


COMPARE_EXAMPLE = {
    "run_a": "8e1f0c2d3b4a59687766554433221100", "run_b": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "a": {"scenario": "liaoning-2025-no-sharing", "sharing": "none"},
    "b": {"scenario": "liaoning-2025", "sharing": "adjacent"},
    "saving_yuan_per_year": 51200000.0, "saving_fraction": 0.061,
    "metrics": {"cost.collection": {"a": 340694.59, "b": 320100.0, "diff": -20594.59,
                                    "relative": -0.0604}},
}


@router.get("/runs/{run_a}/compare/{run_b}", response_model=dict[str, Any],
            responses={200: {"description": "Differences b - a of cost and KPIs",
                             "content": {"application/json": {"example": COMPARE_EXAMPLE}}},
                       **errors(401, 403, 404, 409, 422, 503)})
def compare_runs(run_a: str, run_b: str, principal: Engineer, store: StoreDep) -> dict[str, Any]:
    """Cost and KPI differences between two succeeded siting runs (b relative to a):
    for example what sharing between counties saves."""
    summaries = []
    for rid in (run_a, run_b):
        run = _get_run(store, rid)
        if run.kind != "siting" or run.status != "succeeded":
            raise HTTPException(409, f"run {rid} is not a succeeded siting run")
        res = store.get_result(rid)
        if res is None:
            raise HTTPException(409, f"run {rid} has no stored result")
        summaries.append(res.summary)
    try:
        pipeline = importlib.import_module("wastenet.pipeline")
    except ImportError as exc:  # pragma: no cover - library incomplete
        raise HTTPException(503, "comparison is not available in this build") from exc
    try:
        out = pipeline.compare(summaries[0], summaries[1])
    except (KeyError, TypeError, ValueError) as exc:
        raise HTTPException(409, f"the two results cannot be compared: {exc!r}") from exc
    from api.db.store import json_safe

    return {"run_a": run_a, "run_b": run_b, **json_safe(out)}  # type: ignore[dict-item]
