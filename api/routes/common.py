"""Helpers shared by the route modules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request, Response

from api.db.models import RunRow
from api.db.store import as_utc, utc_iso
from api.deps import Principal
from api.schemas import ErrorOut, Progress, RunOut

PROGRESS_KEYS = ("fraction", "incumbent", "lower_bound", "elapsed_s", "message")

#: Scope key set (True) by :class:`api.app.HeadAsGetMiddleware` on a HEAD request it
#: passes on as a GET: the answer's body will not be sent.
HEAD_SCOPE_KEY = "wastenet.head"


def is_head(request: Request) -> bool:
    """Whether ``request`` is a HEAD answered as a GET (:data:`HEAD_SCOPE_KEY`): an
    endpoint may then skip producing its body, provided that it sends the headers the
    GET would (``Content-Length`` included)."""
    return bool(request.scope.get(HEAD_SCOPE_KEY))


def shown(value: str, limit: int = 40) -> str:
    """``repr`` of a client-supplied value for a message, cut to ``limit`` characters
    (marked ``...``): a message never repeats an unbounded input."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


#: ``Vary`` of an answer that depends on the caller's key (401 without one): a cache must
#: not hand one caller's answer to another, whichever header carries the key.
VARY_KEY = "Authorization, X-API-Key"
#: ``Cache-Control`` of the bundled data answered to a key: the caller's browser may keep
#: it but must revalidate it (``If-None-Match``, answered 304) before each use, so that an
#: upgrade of the data is seen at once; shared caches may not keep it.
REVALIDATE_PRIVATE = "private, no-cache"
#: The OpenAPI ``responses`` entry of the 304 of :func:`cached_answer`.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: If-None-Match named the ETag (no body)"}}


def etag_of(body: bytes) -> str:
    """A strong ``ETag`` for ``body``: a hash of its content."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (or is ``*``): the weak
    comparison RFC 9110 §13.1.2 prescribes for it, so ``W/"x"`` matches ``"x"``."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in (t.strip().removeprefix("W/") for t in header.split(","))


def cached_answer(request: Request, body: bytes, etag: str, media_type: str, *,
                  cache_control: str = REVALIDATE_PRIVATE, vary: str = VARY_KEY) -> Response:
    """``body`` with its ``ETag``, ``Cache-Control`` and ``Vary``; a 304 with the same
    headers and no body when the request's ``If-None-Match`` names the ETag."""
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": vary}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error codes."""
    text = {400: "Bad request", 401: "Missing or invalid API key", 403: "Forbidden for this key",
            404: "Not found", 409: "Conflict with the resource's state",
            413: "Body too large", 415: "Unsupported content type",
            422: "Invalid input (located)", 503: "Not available"}
    return {c: {"model": ErrorOut, "description": text.get(c, "Error")} for c in codes}


def is_json_type(media_type: str) -> bool:
    """Whether a media type (lower case, without parameters) is JSON, as FastAPI reads
    it: ``application/json`` or ``application/<anything>+json``."""
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def unsupported_type(media_type: str, accepted: str) -> HTTPException:
    """The 415 of a body of another type than ``accepted`` (the same words everywhere)."""
    return HTTPException(415, f"Content-Type {media_type!r} is not accepted: send {accepted}")


async def json_body_only(request: Request) -> None:
    """Dependency of the endpoints whose body is JSON only: a body sent with another
    ``Content-Type`` is a 415 naming it (FastAPI would hand the model the raw bytes and
    answer a misleading "not a dictionary" 422). A body without ``Content-Type`` is a
    415 as well: FastAPI leaves such a body unread on purpose (a page on another site can
    send it without a CORS preflight), and this service keeps that guard. An empty body
    is no body, whatever its declared type."""
    ctype = request.headers.get("content-type")
    if not await request.body():  # the body FastAPI read already
        return
    if not ctype:
        raise HTTPException(415, "the body has no Content-Type: send application/json")
    base = ctype.split(";")[0].strip().lower()
    if is_json_type(base):
        return
    raise unsupported_type(base, "application/json")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def progress_of(run: RunRow, now: datetime | None = None) -> Progress:
    """The run's progress, limited to the documented keys.

    While the run is running, ``elapsed_s`` is the time since it started, up to ``now``
    (default: this moment), so that it advances between the worker's reports (never below
    the last one reported), and ``fraction`` is the larger of the one reported and the
    share of the run's time limit used (at most 0.99), so that it advances through a long
    solver step that reports nothing. Once the run has finished, ``elapsed_s`` is the
    larger of its ``solve_seconds`` and the last one reported (a run stopped between
    reports, a cancelled one, ran longer than its last report says; for a run ended by a
    worker death, ``solve_seconds`` is the time it is known to have run, see
    :meth:`api.db.store.Store.worker_died`)."""
    out = {k: v for k, v in (run.progress or {}).items() if k in PROGRESS_KEYS}
    reported = _number(out.get("elapsed_s"))
    started = as_utc(run.started_at)
    if run.status == "running" and started is not None:
        since = ((now or datetime.now(UTC)) - started).total_seconds()
        if reported is not None:
            since = max(since, reported)
        out["elapsed_s"] = elapsed = round(max(since, 0.0), 3)
        limit = _number((run.params or {}).get("time_limit_s"))
        if limit is not None and limit > 0:
            by_time = round(min(0.99, elapsed / limit), 4)
            fraction = _number(out.get("fraction"))
            out["fraction"] = by_time if fraction is None else max(fraction, by_time)
    elif run.status in ("succeeded", "failed", "cancelled"):
        solve = _number(run.solve_seconds)
        if solve is not None and (reported is None or solve > reported):
            out["elapsed_s"] = round(solve, 3)
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


def why_not_succeeded(run: RunRow) -> str:
    """Why run ``run``, which has not succeeded, has no output: ``it is <status>`` and,
    for a failed run, the stored reason (``last_error``)."""
    why = f"it is {run.status}"
    if run.status == "failed" and run.last_error:
        why += f": {run.last_error}"
    return why


def may_read_run(principal: Principal, run: RunRow) -> bool:
    """Whether ``principal`` may read run ``run`` (:func:`check_run_access`)."""
    try:
        check_run_access(principal, run)
    except HTTPException:
        return False
    return True


def not_a_succeeded_siting_run(run: RunRow, principal: Principal | None = None
                               ) -> HTTPException | None:
    """The 409 for ``run`` where a succeeded siting run is needed (to compare it, to plan
    routes from it), saying why it is none: its kind when it is no siting run, else
    :func:`why_not_succeeded` (its status and, for a failed run, the stored reason), as
    the result and the downloads say. A ``principal`` that may not read the run (a
    county key, see :func:`check_run_access`) is told its status, not its stored
    failure reason. None when ``run`` is a succeeded siting run."""
    if run.kind != "siting":
        return HTTPException(409, f"run {run.id} is not a succeeded siting run: it is a "
                             f"{run.kind} run")
    if run.status == "succeeded":
        return None
    why = (why_not_succeeded(run) if principal is None or may_read_run(principal, run)
           else f"it is {run.status}")
    return HTTPException(409, f"run {run.id} is not a succeeded siting run: {why}")


def check_run_access(principal: Principal, run: RunRow) -> None:
    """Engineers and admins see every run; a county key only route-plan runs of its
    counties."""
    if principal.role in ("admin", "engineer"):
        return
    if run.kind == "route_plan" and run.county is not None and principal.may_county(run.county):
        return
    raise HTTPException(403, "this key may only see route-plan runs of its own counties")
