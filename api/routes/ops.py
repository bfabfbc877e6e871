"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import AnyPrincipal
from api.routes.common import errors
from api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers. Always open."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health,
            responses={503: {"model": Health, "description": "Not ready"}})
def readyz(request: Request) -> Response:
    """Readiness: the database answers and the solver workers are alive. Open."""
    store = request.app.state.store
    jobs = request.app.state.jobs
    db_ok = store.ping()
    workers_ok = jobs is not None and jobs.alive()
    body = Health(status="ready" if db_ok and workers_ok else "not ready",
                  checks={"database": db_ok, "workers": workers_ok,
                          "workers_alive": jobs.workers_alive() if jobs is not None else 0})
    return JSONResponse(body.model_dump(), status_code=200 if db_ok and workers_ok else 503)


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {
                "schema": {"type": "string"},
                "example": '# TYPE wastenet_runs gauge\nwastenet_runs{status="queued"} 0\n'}},
                             "description": "Prometheus text exposition 0.0.4"},
                       **errors(401)})
def metrics(request: Request, principal: AnyPrincipal) -> PlainTextResponse:
    """Runs by status, solve durations, request counts and latencies (any valid key)."""
    store = request.app.state.store
    jobs = request.app.state.jobs
    text = request.app.state.metrics.render(store.count_runs_by_status(),
                                            jobs.workers_alive() if jobs is not None else 0)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
