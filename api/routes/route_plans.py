"""Route plans: request a county-day plan from a siting run; download published plans."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.concurrency import run_in_threadpool

from api.db.store import IdempotencyConflict, Store
from api.deps import AnyPrincipal, JobsDep, Principal, SettingsDep, StoreDep
from api.routes.common import (
    check_run_access,
    errors,
    is_head,
    json_body_only,
    not_a_succeeded_siting_run,
    shown,
    why_not_succeeded,
)
from api.routes.counties import county_or_404
from api.routes.scenarios import request_hash
from api.scenario_input import revalidate_stored
from api.schemas import ADCODE_PATTERN, IsoDate, RoutePlanCreate, RunAccepted

router = APIRouter(prefix="/v1", tags=["route plans"])

MEDIA = {
    "json": ("application/json", "plan.json"),
    "csv": ("text/csv; charset=utf-8", "routes.csv"),
    "geojson": ("application/geo+json", "routes.geojson"),
    "gpx": ("application/gpx+xml", "routes.gpx"),
    "html": ("text/html; charset=utf-8", "sheets.html"),
}


def _check_county(principal: Principal, county: str) -> None:
    if not principal.may_county(county):
        raise HTTPException(403, f"this key may not access plans of county {county}")


@router.post("/runs/{run_id}/route-plans", status_code=202, response_model=RunAccepted,
             responses=errors(401, 403, 404, 409, 413, 415, 422),
             summary="Plan one county-day from a siting run and publish it")
def create_route_plan(run_id: str, body: Annotated[RoutePlanCreate, Body()],
                      response: Response, principal: AnyPrincipal,
                      _json: Annotated[None, Depends(json_body_only)], store: StoreDep,
                      settings: SettingsDep, jobs: JobsDep,
                      idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                      ) -> RunAccepted:
    """Queues a ``route_plan`` run for ``county`` on ``date`` from the network sited by
    run ``run_id``; when it succeeds its plan becomes the county-day's published plan,
    unless a plan of a later request for that county-day is published already. With
    ``solution_limit`` (and a fixed ``seed``) a plan can be reproduced, provided that the
    search stops on that limit before the time limit. The body is JSON (415 otherwise).
    The siting run's scenario is validated again by the current schema: one stored
    before the schema refused some of its values is a 422 located at ``["scenario",
    <field>]`` naming the field and value, not a run that fails. A run that is not a
    succeeded siting run is a 409 saying why: its kind, or its status and, for a failed
    run, the reason it failed (told to a key that may read that run)."""
    _check_county(principal, body.county)
    run = store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    conflict = not_a_succeeded_siting_run(run, principal)
    if conflict is not None:
        raise conflict
    county_or_404(body.county, status=422, loc=["body", "county"])
    if body.time_limit_s is not None and body.time_limit_s > settings.max_time_limit_s:
        raise HTTPException(422, [{"loc": ["body", "time_limit_s"], "type": "less_than_equal",
                                   "msg": f"time_limit_s={body.time_limit_s:g} exceeds this "
                                   f"server's cap of {settings.max_time_limit_s:g} s"}])
    res = store.get_result(run_id)
    if res is None:
        raise HTTPException(409, f"run {run_id} has no stored result")
    if not any(str(a.get("county")) == body.county for a in res.assignments or []):
        raise HTTPException(422, [{"loc": ["body", "county"], "type": "value_error",
                                   "msg": f"county {body.county} has no villages in the "
                                   f"network sited by run {run_id}"}])
    scenario = store.get_scenario(run.scenario_id)
    if scenario is not None:  # stored before the schema refused some value: 422, no run
        revalidate_stored(scenario.body, scenario.id)
    solver = scenario.body.get("solver", {}) if scenario is not None else {}
    limit = body.time_limit_s or float(solver.get("routing_time_limit_s", 30.0))
    params: dict[str, Any] = {
        "time_limit_s": min(limit, settings.max_time_limit_s),
        "seed": body.seed if body.seed is not None else int(solver.get("seed", 0))}
    request = body.model_dump(mode="json")
    if body.solution_limit is not None:
        params["solution_limit"] = body.solution_limit
    else:  # a request without it fingerprints as it did before the field existed
        del request["solution_limit"]
    idem = None
    if idempotency_key:
        idem = (idempotency_key, principal.key_id, request_hash({"run": run_id, **request}))
    try:
        new, _ = store.create_run(kind="route_plan", scenario_id=run.scenario_id,
                                  params=params, owner_key_id=principal.key_id,
                                  parent_run_id=run_id, county=body.county,
                                  plan_date=body.date.isoformat(), idempotency=idem)
    except IdempotencyConflict as exc:  # the key names a run made from another request
        raise HTTPException(409, str(exc)) from None
    if jobs is not None:
        jobs.wake()
    response.headers["Location"] = f"/v1/runs/{new.id}"
    return RunAccepted(id=new.id, status=new.status)  # type: ignore[arg-type]


_DOWNLOAD_CONTENT: dict[str, Any] = {
    "application/json": {"schema": {"type": "object"}, "example": {
        "format": "wastenet.route-plan", "version": 1, "name": "faku:210124:2026-12-01",
        "synthetic": True, "crs": "wgs84", "vehicles": 3, "distance_m": 287400.0,
        "routes": [{"vehicle_type_name": "compactor-8t", "label": "compactor-8t-1",
                    "n_stops": 21, "visits": []}]}},
    "text/csv": {"schema": {"type": "string"}, "example":
                 "vehicle,vehicle_type,vehicle_no,seq,kind,id,name,lon,lat,arrival,...\n"},
    "application/geo+json": {"schema": {"type": "object"}, "example": {
        "type": "FeatureCollection", "features": []}},
    "application/gpx+xml": {"schema": {"type": "string"}, "example":
                            '<gpx version="1.1" creator="wastenet">...</gpx>'},
    "text/html": {"schema": {"type": "string"}, "example":
                  "<!DOCTYPE html><html lang=\"zh-CN\">... one page per vehicle ...</html>"},
}


#: The 200 answer's description: what ``Content-Disposition`` each format is sent with.
DOWNLOAD_DESCRIPTION = (
    "The plan in the requested format, with a file name in Content-Disposition: sent as "
    "an attachment (a download), except ``html``, the printable driver sheet, which is "
    "sent inline so that a browser shows it, ready to print.")


#: What ``run`` selects (the rule of :meth:`api.db.store.Store.get_route_plan`).
RUN_RULE = (
    "a route-plan run's id: the plan that run made; a siting run's id: the plan of the "
    "newest request made from it (the route-plan run created last, among those that "
    "succeeded), the rule the published plan follows, whatever order the plans finished "
    "in. Without it: the county-day's published plan")


#: The driver sheet's ``Content-Security-Policy``: the sheet is sent inline and carries
#: names users supplied, so the browser may run no script and load nothing at all; its
#: one need is its inline ``<style>`` (screen and ``@media print`` rules, ``@page``; the
#: fonts are the system's, by name), so it displays and prints as before.
SHEET_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'self'")
#: The other downloads are attachments, never shown as a page: nothing may run or load
#: should a browser show one anyway.
ATTACHMENT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"


def _download(county: str, day: str, format: str, body: bytes,
              length: int | None = None) -> Response:
    """The download answer: media type, file name, ``nosniff`` (every format) and the
    Content-Security-Policy of its format and, for a HEAD answered without the body, the
    ``length`` of the body the GET sends."""
    media, fname = MEDIA[format]
    disposition = "inline" if format == "html" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{county}-{day}-{fname}"',
               "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": SHEET_CSP if format == "html" else ATTACHMENT_CSP}
    if format == "html":
        headers["Referrer-Policy"] = "no-referrer"
    if length is not None:
        headers["Content-Length"] = str(length)
    return Response(content=body, media_type=media, headers=headers)


def _no_plan(store: Store, principal: Principal, county: str, day: str,
             run: str | None) -> HTTPException:
    """Why the download of ``county`` on ``day`` (with ``?run=run``) finds no plan: 404
    when there is none to wait for, 409 naming the status (and a failure's reason) of
    the run whose plan is missing. A run the caller may not read (see
    :func:`~api.routes.common.check_run_access`) is not described beyond "no plan"."""
    if run is None:
        return HTTPException(404, f"no plan published for county {county} on {day}")
    row = store.get_run(run)
    if row is None:
        return HTTPException(404, f"no run {shown(run, 64)} (query parameter run)")
    none = HTTPException(404, f"no plan from run {run} for county {county} on {day}")
    try:
        check_run_access(principal, row)
    except HTTPException:
        return none
    target, whose = row, f"run {run}"
    if row.kind == "route_plan":
        if (row.county, row.plan_date) != (county, day):
            return HTTPException(404, f"run {run} plans county {row.county} on "
                                 f"{row.plan_date}, not county {county} on {day}")
    elif row.kind == "siting":
        if row.status == "succeeded":
            req = store.newest_route_plan_request(run, county, day)
            if req is None:
                return HTTPException(404, f"no plan of county {county} on {day} was "
                                     f"requested from run {run}")
            target = req
            whose = (f"the newest plan request of county {county} on {day} from run "
                     f"{run}, run {req.id},")
    else:
        return HTTPException(404, f"run {run} is a {row.kind} run: it makes no plan")
    if target.status == "succeeded":  # a plan since (or stored without one): none to serve
        return none
    return HTTPException(409, f"{whose} has no plan: {why_not_succeeded(target)}")


@router.get("/route-plans/{county}/{date}",
            responses={200: {"description": DOWNLOAD_DESCRIPTION, "content": _DOWNLOAD_CONTENT},
                       **errors(401, 403, 404, 409, 422)},
            response_class=Response)
async def get_route_plan(county: Annotated[str, Path(examples=["210124"],
                                                      pattern=ADCODE_PATTERN)],
                   date: Annotated[IsoDate, Path(examples=["2026-12-01"],
                                                 description="the day, YYYY-MM-DD")],
                   request: Request, principal: AnyPrincipal, store: StoreDep,
                   format: Annotated[Literal["json", "csv", "geojson", "gpx", "html"],
                                     Query()] = "json",
                   run: Annotated[str | None, Query(min_length=1, max_length=64,
                                                    description=RUN_RULE)] = None) -> Response:
    """The county-day's published plan, or the plan selected by run ``run``: with a
    route-plan run's id, the plan that run made; with a siting run's id, the plan of the
    newest request made from it (the route-plan run created last, at the same moment the
    greater id, among those that succeeded), as the published plan is the newest
    request's: not the plan that finished last. An empty ``run`` is a 422 (leave it out
    for the published plan). Without a plan: 404 for an unknown run (``no run``) or a
    run that made or was asked for no plan of this county-day, 409 for a run that has no
    plan yet or never will, naming its status (queued, running, failed, cancelled) and,
    for a failed run, the reason it failed; with a siting run's id, that is the newest
    request made from it for the county-day. ``html`` is the printable driver sheet,
    one page per vehicle, sent with a Content-Security-Policy that lets it load and run
    nothing; every format is sent with ``X-Content-Type-Options: nosniff``. HEAD answers
    as GET does, without the body (as every GET endpoint), and without fetching the
    file: its length comes from the database. A plan stored without its JSON export
    (before the exports had their own table) is sent as the JSON text it is stored as,
    whose length, too, the database computes for HEAD."""
    county_or_404(county)
    _check_county(principal, county)
    day = date.isoformat()
    if is_head(request):
        plan_id, size = await run_in_threadpool(store.route_plan_export_size, county, day,
                                                format, run)
        if plan_id is None:
            raise await run_in_threadpool(_no_plan, store, principal, county, day, run)
        if size is None and format == "json":  # stored without its JSON export
            size = await run_in_threadpool(store.stored_plan_size, plan_id)
        if size is None:
            raise HTTPException(404, f"the plan has no {format} export")
        return _download(county, day, format, b"", length=size)
    plan_id, content = await run_in_threadpool(store.find_route_plan_export, county, day,
                                               format, run)
    if plan_id is None:
        raise await run_in_threadpool(_no_plan, store, principal, county, day, run)
    if content is None and format == "json":  # stored without its JSON export
        content = await run_in_threadpool(store.stored_plan_text, plan_id)
    if content is None:
        raise HTTPException(404, f"the plan has no {format} export")
    return _download(county, day, format, content.encode("utf-8"))

