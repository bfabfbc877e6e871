"""Helpers shared by the route modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException

from api.db.models import RunRow
from api.db.store import as_utc, utc_iso
from api.deps import Principal
from api.schemas import ErrorOut, Progress, RunOut

PROGRESS_KEYS = ("fraction", "incumbent", "lower_bound", "elapsed_s", "message")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error codes."""
    text = {400: "Bad request", 401: "Missing or invalid API key", 403: "Forbidden for this key",
            404: "Not found", 409: "Conflict with the resource's state",
            413: "Body too large", 415: "Unsupported content type",
            422: "Invalid input (located)", 503: "Not available"}
    return {c: {"model": ErrorOut, "description": text.get(c, "Error")} for c in codes}


def progress_of(run: RunRow, now: datetime | None = None) -> Progress:
    """The run's progress, limited to the documented keys. While the run is running,
    ``elapsed_s`` is the time since it started, up to ``now`` (default: this moment), so
    that it advances between the worker's reports (never below the last one reported);
    once the run has finished it is the last one reported."""
    out = {k: v for k, v in (run.progress or {}).items() if k in PROGRESS_KEYS}
    started = as_utc(run.started_at)
    if run.status == "running" and started is not None:
        since = ((now or datetime.now(UTC)) - started).total_seconds()
        reported = out.get("elapsed_s")
        if isinstance(reported, int | float) and not isinstance(reported, bool):
            since = max(since, float(reported))
        out["elapsed_s"] = round(max(since, 0.0), 3)
    return Progress(**out)


def run_out(run: RunRow) -> RunOut:
    return RunOut(
        id=run.id, kind=run.kind,  # type: ignore[arg-type]
        scenario_id=run.scenario_id, parent_run_id=run.parent_run_id,
        county=run.county, date=run.plan_date, status=run.status,  # type: ignore[arg-type]
        attempts=run.attempts, last_error=run.last_error, progress=progress_of(run),
        params=dict(run.params or {}), created_at=utc_iso(run.created_at) or "",
        started_at=utc_iso(run.started_at), finished_at=utc_iso(run.finished_at),
        solve_seconds=run.solve_seconds,
    )


def check_run_access(principal: Principal, run: RunRow) -> None:
    """Engineers and admins see every run; a county key only route-plan runs of its
    counties."""
    if principal.role in ("admin", "engineer"):
        return
    if run.kind == "route_plan" and run.county is not None and principal.may_county(run.county):
        return
    raise HTTPException(403, "this key may only see route-plan runs of its own counties")
