"""``/v1/runs``: the list of runs, status and progress, cancellation, results,
comparison."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from api.db.models import RUN_KINDS, RUN_STATUSES
from api.db.store import utc_iso
from api.deps import AnyPrincipal, Engineer, JobsDep, StoreDep
from api.routes.common import (
    check_run_access,
    errors,
    not_a_succeeded_siting_run,
    progress_of,
    run_out,
    why_not_succeeded,
)
from api.schemas import ResultOut, RunBrief, RunOut, RunPage, RunSummaryBrief
from wastenet.bounds import is_finite_number

router = APIRouter(prefix="/v1", tags=["runs"])


def _get_run(store: StoreDep, run_id: str) -> Any:
    run = store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    return run


def _one_of(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """422 naming the query parameter and its value when ``value`` is not allowed."""
    if value is not None and value not in allowed:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise HTTPException(422, [{"loc": ["query", field], "type": "enum",
                                   "msg": f"{field}={shown!r} is not one of: "
                                   f"{', '.join(allowed)}"}])


def _number(value: Any) -> float | None:
    """A finite number read from a stored summary, else None (never a validation error)."""
    if is_finite_number(value):
        return float(value)
    return None


@router.get("/runs", response_model=RunPage, responses=errors(401, 403, 422))
async def list_runs(
        principal: AnyPrincipal, store: StoreDep,
        scenario_id: Annotated[str | None, Query(max_length=64,
                                                 description="only runs of this scenario")] = None,
        status: Annotated[str | None, Query(
            description=f"only runs in this status: {', '.join(RUN_STATUSES)}",
            json_schema_extra={"enum": list(RUN_STATUSES)})] = None,
        kind: Annotated[str | None, Query(
            description=f"only runs of this kind: {', '.join(RUN_KINDS)}",
            json_schema_extra={"enum": list(RUN_KINDS)})] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        before: Annotated[str | None, Query(
            max_length=64, description="keyset paging: only the runs listed after this run "
            "(the previous page's next_before); pages then neither repeat nor skip runs "
            "while new runs are created")] = None) -> RunPage:
    """Runs, newest first, one page at a time, optionally of one scenario, status or kind.
    A succeeded siting run carries its total cost and gap. A county key lists only the
    route-plan runs of its own counties (the runs it may read one by one). To walk every
    run, follow ``next_before`` (``offset`` pages shift when runs are created)."""
    _one_of("status", status, RUN_STATUSES)
    _one_of("kind", kind, RUN_KINDS)
    counties = None if principal.role in ("admin", "engineer") else principal.counties

    def work() -> RunPage:
        anchor = None
        if before is not None:
            anchor = store.get_run(before)
            if anchor is None:
                shown = before if len(before) <= 40 else before[:40] + "..."
                raise HTTPException(422, [{"loc": ["query", "before"], "type": "value_error",
                                           "msg": f"before={shown!r} is not a run id"}])
        rows, total = store.list_runs(scenario_id=scenario_id, status=status, kind=kind,
                                      counties=counties, limit=limit, offset=offset,
                                      before=anchor)
        names = store.scenario_names([r.scenario_id for r in rows])
        heads = store.result_headlines([r.id for r in rows
                                        if r.kind == "siting" and r.status == "succeeded"])
        items = []
        for r in rows:
            head = heads.get(r.id)
            summary = None if head is None else RunSummaryBrief(
                total_cost_yuan_per_year=_number(head.get("total_cost_yuan_per_year")),
                gap=_number(head.get("gap")))
            items.append(RunBrief(
                id=r.id, kind=r.kind, scenario_id=r.scenario_id,  # type: ignore[arg-type]
                scenario_name=names.get(r.scenario_id), status=r.status,  # type: ignore[arg-type]
                county=r.county, date=r.plan_date, created_at=utc_iso(r.created_at) or "",
                finished_at=utc_iso(r.finished_at), progress=progress_of(r), summary=summary))
        return RunPage(items=items, total=total, limit=limit, offset=offset,
                       next_before=rows[-1].id if len(rows) == limit else None)

    return await run_in_threadpool(work)


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
    if run.status in ("succeeded", "failed"):  # it finished since it was read above
        raise HTTPException(409, f"run {run_id} has already finished ({run.status})")
    if jobs is not None:
        jobs.wake()
    return run_out(run)


@router.get("/runs/{run_id}/result", response_model=ResultOut,
            responses=errors(401, 403, 404, 409, 422))
def get_result(run_id: str, principal: Engineer, store: StoreDep,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> ResultOut:
    """The summary (as in ``summary.json``), the facilities (GeoJSON) and one page of the
    village assignments of a succeeded siting run. 409 for any other run, naming its
    status and, for a failed run, the reason it failed."""
    run = _get_run(store, run_id)
    if run.kind != "siting":
        raise HTTPException(409, f"run {run_id} is a {run.kind} run; its output is under "
                            "/v1/route-plans")
    if run.status != "succeeded":
        raise HTTPException(409, f"run {run_id} has no result: {why_not_succeeded(run)}")
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
    for example what sharing between counties saves. 409 for any other run, naming its
    kind, or its status and, for a failed run, the reason it failed; 409 as well, naming
    the problem, for a stored result the comparison cannot use."""
    summaries = []
    for rid in (run_a, run_b):
        run = _get_run(store, rid)
        conflict = not_a_succeeded_siting_run(run)
        if conflict is not None:
            raise conflict
        res = store.get_result(rid)
        if res is None:
            raise HTTPException(409, f"run {rid} has no stored result")
        problem = _uncomparable(res.summary)
        if problem is not None:
            raise HTTPException(409, f"run {rid}'s result cannot be compared: {problem}")
        summaries.append(res.summary)
    try:
        pipeline = importlib.import_module("wastenet.pipeline")
    except ImportError as exc:  # pragma: no cover - library incomplete
        raise HTTPException(503, "comparison is not available in this build") from exc
    try:
        out = pipeline.compare(summaries[0], summaries[1])
    except KeyError as exc:
        field = exc.args[0] if exc.args else "expected field"
        raise HTTPException(409, f"the results of runs {run_a} and {run_b} cannot be "
                            f"compared: a summary has no {field}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise HTTPException(409, f"the results of runs {run_a} and {run_b} cannot be "
                            "compared: a summary holds a value of the wrong type "
                            f"({exc})") from exc
    from api.db.store import json_safe

    return {"run_a": run_a, "run_b": run_b, **json_safe(out)}  # type: ignore[dict-item]


def _uncomparable(summary: Any) -> str | None:
    """What makes a stored siting summary unusable by the comparison, in words (the field
    and its value), or None: it must be an object with a numeric total cost, and its
    ``kpis`` and ``cost_breakdown_yuan_per_year``, where present, objects."""
    if not isinstance(summary, dict):
        return "its summary is not an object"
    if "total_cost_yuan_per_year" not in summary:
        return "its summary has no total_cost_yuan_per_year"
    cost = summary["total_cost_yuan_per_year"]
    if not is_finite_number(cost):
        return f"its total_cost_yuan_per_year is not a number ({_value(cost)})"
    for key in ("kpis", "cost_breakdown_yuan_per_year"):
        value = summary.get(key)
        if value is not None and not isinstance(value, dict):
            return f"its {key} is not an object ({_value(value)})"
    return None


def _value(value: Any) -> str:
    """A stored value for a message: ``repr`` of a scalar, cut to 40 characters; the
    type of anything else."""
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        return text if len(text) <= 40 else text[:40] + "..."
    return f"a {type(value).__name__}"
