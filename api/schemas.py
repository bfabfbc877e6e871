"""Request and response models of the HTTP API (they shape the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.db.models import RUN_KINDS

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: A run's kind as the API shows it. ``sleep`` (the tests' internal kind) validates, so
#: that such runs can be read, but the OpenAPI document lists the public kinds only.
RunKind = Annotated[Literal["siting", "route_plan", "sleep"],
                    WithJsonSchema({"type": "string", "enum": list(RUN_KINDS)})]


def _not_a_bool(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number is expected (pydantic's lax mode would
    take them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
    return value


#: A number field that refuses booleans (see :func:`_not_a_bool`).
NoBool = BeforeValidator(_not_a_bool)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: Any) -> Any:
    """Accept a date only as ``YYYY-MM-DD`` text (or a ``date``): pydantic's lax mode
    would read a number, or a string of digits, as a Unix timestamp."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value  # pydantic then checks that the day exists
    raise PydanticCustomError("date_format", "use YYYY-MM-DD, for example 2026-12-01")


#: A calendar day written ``YYYY-MM-DD``, in a body or a path (no timestamps).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]

#: A county adcode as written: six ASCII digits (``\d`` would take full-width digits too).
ADCODE_PATTERN = r"^[0-9]{6}$"

#: Upper bound of a route plan's ``solution_limit``.
MAX_SOLUTION_LIMIT = 100_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where: ['body', 'data', 'villages', 0, 'lon']")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every 4xx answer: a message, or a list of located problems (422)."""

    detail: str | list[ErrorItem]


class ScenarioCreated(BaseModel):
    id: str
    name: str
    created_at: str
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"id": "3f2c9d0e8b7a4c1d9e0f1a2b3c4d5e6f", "name": "faku",
                      "created_at": "2026-11-28T21:00:00+00:00"}]})


class ScenarioBrief(BaseModel):
    id: str
    name: str
    source_format: Literal["json", "toml"]
    created_at: str


class ScenarioOut(ScenarioBrief):
    scenario: dict[str, Any] = Field(description="the validated scenario (JSON form)")
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "3f2c9d0e8b7a4c1d9e0f1a2b3c4d5e6f", "name": "faku", "source_format": "toml",
        "created_at": "2026-11-28T21:00:00+00:00",
        "scenario": {"schema_version": 1, "name": "faku", "data": {"counties": ["210124"]},
                     "solver": {"time_limit_s": 60.0}}}]})


class ScenarioPage(BaseModel):
    items: list[ScenarioBrief]
    total: int
    limit: int
    offset: int
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": "3f2c9d0e8b7a4c1d9e0f1a2b3c4d5e6f", "name": "faku",
                   "source_format": "toml", "created_at": "2026-11-28T21:00:00+00:00"}],
        "total": 1, "limit": 50, "offset": 0}]})


class RunCreate(_In):
    """Optional body of ``POST /v1/scenarios/{id}/runs``."""

    time_limit_s: Annotated[float | None, NoBool] = Field(
        None, gt=0, description="wall-clock limit; default the scenario's solver.time_limit_s")
    seed: Annotated[int | None, NoBool] = Field(
        None, ge=0, le=2**31 - 1, description="default the scenario's solver.seed")
    model_config = ConfigDict(json_schema_extra={"examples": [{"time_limit_s": 60, "seed": 1}]})


class RunAccepted(BaseModel):
    id: str
    status: RunStatus
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"id": "8e1f0c2d3b4a59687766554433221100", "status": "queued"}]})


class Progress(BaseModel):
    fraction: float | None = Field(
        None, description="0..1 done: while the run runs, the fraction of its work (as the "
        "solver last reported it) or of its time budget (elapsed_s / time_limit_s, at most "
        "0.99), whichever is further; 1 once it has succeeded")
    incumbent: float | None = Field(None, description="best cost found so far")
    lower_bound: float | None = None
    elapsed_s: float | None = Field(
        None, description="seconds since the run started: while it runs, up to the moment "
        "of reading; once it has finished, its solve time (solve_seconds) or its last "
        "progress report's, whichever is larger. A run ended by a worker death (failed on "
        "its last attempt, or cancelled as requested) counts up to the moment its service "
        "instance saw the worker die or, when another instance took it back after its lease "
        "ran out, up to its last lease renewal, the last moment it was known to run (the "
        "time it was declared dead may come much later, for example at a restart)")
    message: str | None = None


class RunOut(BaseModel):
    id: str
    kind: RunKind
    scenario_id: str
    parent_run_id: str | None = None
    county: str | None = None
    date: str | None = None
    status: RunStatus
    attempts: int
    last_error: str | None = None
    progress: Progress
    params: dict[str, Any]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    solve_seconds: float | None = None
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8e1f0c2d3b4a59687766554433221100", "kind": "siting",
        "scenario_id": "3f2c9d0e8b7a4c1d9e0f1a2b3c4d5e6f", "parent_run_id": None,
        "county": None, "date": None, "status": "running", "attempts": 2,
        "last_error": "worker process 4242 died (exit code -9); attempt 1 of 2, re-queued",
        "progress": {"fraction": 0.4, "incumbent": 14732143.7, "lower_bound": 13869626.7,
                     "elapsed_s": 12.5, "message": "Lagrangian relaxation"},
        "params": {"time_limit_s": 30.0, "seed": 0},
        "created_at": "2026-11-28T21:00:00+00:00", "started_at": "2026-11-28T21:00:05+00:00",
        "finished_at": None, "solve_seconds": None}]})


class RunSummaryBrief(BaseModel):
    """Headline figures of a succeeded siting run, from its stored summary."""

    total_cost_yuan_per_year: float | None = None
    gap: float | None = Field(None, description="relative gap to the lower bound (0.05 = 5 %)")


class RunBrief(BaseModel):
    """One run in a list: what it is, where it stands, and its headline figures."""

    id: str
    kind: RunKind
    scenario_id: str
    scenario_name: str | None = Field(None, description="the name of the run's scenario")
    status: RunStatus
    county: str | None = Field(None, description="route-plan runs: the county planned")
    date: str | None = Field(None, description="route-plan runs: the day planned")
    created_at: str
    finished_at: str | None = None
    progress: Progress
    summary: RunSummaryBrief | None = Field(
        None, description="succeeded siting runs: total cost and gap (else null)")


class RunPage(BaseModel):
    items: list[RunBrief]
    total: int
    limit: int
    offset: int
    next_before: str | None = Field(
        None, description="pass as ?before= for the next page (keyset paging); null when "
        "this page is the last")
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"id": "8e1f0c2d3b4a59687766554433221100", "kind": "siting",
                   "scenario_id": "3f2c9d0e8b7a4c1d9e0f1a2b3c4d5e6f", "scenario_name": "faku",
                   "status": "succeeded", "county": None, "date": None,
                   "created_at": "2026-11-28T21:00:00+00:00",
                   "finished_at": "2026-11-28T21:00:41+00:00",
                   "progress": {"fraction": 1.0, "incumbent": 14732143.7,
                                "lower_bound": 13869626.7, "elapsed_s": 35.2,
                                "message": "done"},
                   "summary": {"total_cost_yuan_per_year": 14732143.7, "gap": 0.0585}}],
        "total": 1, "limit": 50, "offset": 0}]})


class ResultOut(BaseModel):
    run_id: str
    schema_version: int
    summary: dict[str, Any] = Field(description="the same object as summary.json")
    facilities: dict[str, Any] = Field(description="GeoJSON FeatureCollection")
    assignments: list[dict[str, Any]] = Field(description="one page of village assignments")
    assignments_total: int
    limit: int
    offset: int
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "run_id": "8e1f0c2d3b4a59687766554433221100", "schema_version": 1,
        "summary": {"scenario": "faku", "sharing": "none", "status": "feasible",
                    "total_cost_yuan_per_year": 14732143.7,
                    "lower_bound_yuan_per_year": 13869626.7, "gap": 0.0585,
                    "transfer_stations_opened": 12, "incinerators_opened": 3,
                    "synthetic": True, "seed": 0, "data_seed": 2025},
        "facilities": {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [123.3, 42.5]},
            "properties": {"id": "T210124107", "kind": "transfer"}}]},
        "assignments": [{"village_id": "210124101001", "county": "210124",
                         "facility_id": "IT210124101", "facility_kind": "incinerator",
                         "distance_m": 2573.5, "t_per_day": 0.813, "fraction": 1.0}],
        "assignments_total": 210, "limit": 1, "offset": 0}]})


class RoutePlanCreate(_In):
    county: str = Field(pattern=ADCODE_PATTERN, examples=["210124"])
    date: IsoDate = Field(examples=["2026-12-01"], description="the day planned, YYYY-MM-DD")
    time_limit_s: Annotated[float | None, NoBool] = Field(None, gt=0)
    seed: Annotated[int | None, NoBool] = Field(None, ge=0, le=2**31 - 1)
    solution_limit: Annotated[int | None, NoBool] = Field(
        None, ge=1, le=MAX_SOLUTION_LIMIT,
        description="stop the routing search after this many improving solutions (default: "
        "none, the search stops on the time limit). The same request (seed included) "
        "then gives the same plan, but only when the search stopped on this limit before "
        "the time limit: a search cut short by the clock is not reproducible")
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"county": "210124", "date": "2026-12-01"}]})


class CountyOut(BaseModel):
    adcode: str
    name: str
    type: str
    prefecture_adcode: str
    prefecture_name: str
    lon: float
    lat: float
    area_km2: float
    n_zhen: int
    n_xiang: int
    n_jiedao: int
    neighbours: list[str]
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "adcode": "210124", "name": "法库县", "type": "county", "prefecture_adcode": "210100",
        "prefecture_name": "沈阳市", "lon": 123.163417, "lat": 42.395851, "area_km2": 2281.8,
        "n_zhen": 12, "n_xiang": 5, "n_jiedao": 2,
        "neighbours": ["210113", "210123", "210181", "210922"]}]})


class CountyList(BaseModel):
    items: list[CountyOut]
    total: int
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"adcode": "210124", "name": "法库县", "type": "county",
                   "prefecture_adcode": "210100", "prefecture_name": "沈阳市",
                   "lon": 123.163417, "lat": 42.395851, "area_km2": 2281.8, "n_zhen": 12,
                   "n_xiang": 5, "n_jiedao": 2, "neighbours": ["210123", "210181"]}],
        "total": 100}]})


class Health(BaseModel):
    status: str
    checks: dict[str, Any] = Field(default_factory=dict)
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "ready", "checks": {"database": True, "workers": True, "workers_alive": 1}}]})
