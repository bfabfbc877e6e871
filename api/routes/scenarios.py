"""``/v1/scenarios``: submit (JSON or TOML), list and read scenarios; queue runs."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.db.store import IdempotencyConflict, utc_iso
from api.deps import Engineer, JobsDep, SettingsDep, StoreDep
from api.routes.common import errors, is_json_type, json_body_only, unsupported_type
from api.scenario_input import TOML_TYPES, revalidate_stored, validate_scenario
from api.schemas import (
    RunAccepted,
    RunCreate,
    ScenarioBrief,
    ScenarioCreated,
    ScenarioOut,
    ScenarioPage,
)

router = APIRouter(prefix="/v1", tags=["scenarios"])

#: The scenario body's accepted types, as the 415 names them.
SCENARIO_TYPES = "application/json or application/toml"

FAKU_TOML_EXAMPLE = """name = "faku"
[data]
counties = ["210124"]
[solver]
time_limit_s = 60
"""


def _scenario_schema() -> dict[str, Any]:
    from wastenet.scenario.schema import Scenario

    return Scenario.model_json_schema(ref_template="#/components/schemas/{model}")


def scenario_request_body() -> dict[str, Any]:
    """The OpenAPI request body of ``POST /v1/scenarios`` (JSON schema or TOML text)."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Scenario"},
                "examples": {"faku": {"summary": "Faku County alone",
                                      "value": {"name": "faku",
                                                "data": {"counties": ["210124"]},
                                                "solver": {"time_limit_s": 60}}}},
            },
            "application/toml": {
                "schema": {"type": "string"},
                "examples": {"faku": {"summary": "Faku County alone",
                                      "value": FAKU_TOML_EXAMPLE}},
            },
        },
    }


@router.post(
    "/scenarios", status_code=201, response_model=ScenarioCreated,
    responses=errors(401, 403, 413, 415, 422),
    openapi_extra={"requestBody": scenario_request_body()},
    summary="Submit a scenario (JSON, or TOML with Content-Type: application/toml)",
)
async def create_scenario(request: Request, response: Response, principal: Engineer,
                          store: StoreDep, settings: SettingsDep) -> ScenarioCreated:
    """The body is a scenario as JSON (``Content-Type: application/json``, or any
    ``application/...+json`` type) or as TOML (``application/toml``; ``text/toml`` and
    ``application/x-toml`` are read as TOML too). Another Content-Type, or none, is a 415
    naming the accepted types: a body without a type is never read as JSON (a page on
    another site could send it without a CORS preflight, the guard FastAPI keeps for its
    JSON bodies)."""
    ctype = request.headers.get("content-type", "")
    base = ctype.split(";")[0].strip().lower()
    if not base:
        raise HTTPException(415, f"the body has no Content-Type: send {SCENARIO_TYPES}")
    if base not in TOML_TYPES and not is_json_type(base):
        raise unsupported_type(base, SCENARIO_TYPES)
    raw = await request.body()

    def work() -> ScenarioCreated:
        scenario, fmt, text = validate_scenario(raw, ctype, settings)
        row = store.create_scenario(name=scenario.name, source_format=fmt,
                                    body=scenario.model_dump(mode="json"), raw_text=text,
                                    owner_key_id=principal.key_id)
        return ScenarioCreated(id=row.id, name=row.name, created_at=utc_iso(row.created_at) or "")

    out = await run_in_threadpool(work)
    response.headers["Location"] = f"/v1/scenarios/{out.id}"
    return out


@router.get("/scenarios", response_model=ScenarioPage, responses=errors(401, 403, 422))
async def list_scenarios(principal: Engineer, store: StoreDep,
                         limit: Annotated[int, Query(ge=1, le=500)] = 50,
                         offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> ScenarioPage:
    """Scenarios, oldest first, one page at a time."""
    rows, total = await run_in_threadpool(
        lambda: store.list_scenarios(limit=limit, offset=offset))
    items = [ScenarioBrief(id=r.id, name=r.name, source_format=r.source_format,  # type: ignore[arg-type]
                           created_at=utc_iso(r.created_at) or "") for r in rows]
    return ScenarioPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/scenarios/{scenario_id}", response_model=ScenarioOut,
            responses=errors(401, 403, 404, 422))
def get_scenario(scenario_id: str, principal: Engineer, store: StoreDep) -> ScenarioOut:
    row = store.get_scenario(scenario_id)
    if row is None:
        raise HTTPException(404, f"no scenario with id {scenario_id!r}")
    return ScenarioOut(id=row.id, name=row.name, source_format=row.source_format,  # type: ignore[arg-type]
                       created_at=utc_iso(row.created_at) or "", scenario=row.body)


def request_hash(payload: dict[str, Any]) -> str:
    """Fingerprint of a run request, to detect an Idempotency-Key reused differently."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@router.post("/scenarios/{scenario_id}/runs", status_code=202, response_model=RunAccepted,
             responses=errors(401, 403, 404, 409, 413, 415, 422),
             summary="Queue a siting run of the scenario")
def create_run(scenario_id: str, response: Response, principal: Engineer,
               _json: Annotated[None, Depends(json_body_only)], store: StoreDep,
               settings: SettingsDep, jobs: JobsDep,
               body: Annotated[RunCreate | None, Body()] = None,
               idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
               ) -> RunAccepted:
    """Returns 202 with the run id. The same ``Idempotency-Key`` (per API key) returns the
    run it created before instead of queuing another. The optional body is JSON (415
    otherwise). The stored scenario is validated again by the current schema: one stored
    before the schema refused some of its values is a 422 located at ``["scenario",
    <field>]`` naming the field and value (submit it again, corrected), not a run that
    fails."""
    body = body or RunCreate.model_validate({})
    row = store.get_scenario(scenario_id)
    if row is None:
        raise HTTPException(404, f"no scenario with id {scenario_id!r}")
    if body.time_limit_s is not None and body.time_limit_s > settings.max_time_limit_s:
        raise HTTPException(422, [{"loc": ["body", "time_limit_s"], "type": "less_than_equal",
                                   "msg": f"time_limit_s={body.time_limit_s:g} exceeds this "
                                   f"server's cap of {settings.max_time_limit_s:g} s"}])
    revalidate_stored(row.body, scenario_id)
    solver = row.body.get("solver", {})
    limit = body.time_limit_s or float(solver.get("time_limit_s", settings.run_time_limit_s))
    params = {"time_limit_s": min(limit, settings.max_time_limit_s),
              "seed": body.seed if body.seed is not None else int(solver.get("seed", 0))}
    idem = None
    if idempotency_key:
        idem = (idempotency_key, principal.key_id, request_hash({"scenario": scenario_id, **body.model_dump()}))
    try:
        run, _created = store.create_run(kind="siting", scenario_id=scenario_id,
                                         params=params, owner_key_id=principal.key_id,
                                         idempotency=idem)
    except IdempotencyConflict as exc:  # the key names a run made from another request
        raise HTTPException(409, str(exc)) from None
    if jobs is not None:
        jobs.wake()
    response.headers["Location"] = f"/v1/runs/{run.id}"
    return RunAccepted(id=run.id, status=run.status)  # type: ignore[arg-type]
