"""Request and response models of the HTTP API (they shape the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RunKind = Literal["siting", "route_plan", "sleep"]


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


class ScenarioPage(BaseModel):
    items: list[ScenarioBrief]
    total: int
    limit: int
    offset: int


class RunCreate(_In):
    """Optional body of ``POST /v1/scenarios/{id}/runs``."""

    time_limit_s: float | None = Field(
        None, gt=0, description="wall-clock limit; default the scenario's solver.time_limit_s")
    seed: int | None = Field(None, ge=0, le=2**31 - 1,
                             description="default the scenario's solver.seed")
    model_config = ConfigDict(json_schema_extra={"examples": [{"time_limit_s": 60, "seed": 1}]})


class RunAccepted(BaseModel):
    id: str
    status: RunStatus
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"id": "8e1f0c2d3b4a59687766554433221100", "status": "queued"}]})


class Progress(BaseModel):
    fraction: float | None = Field(None, description="0..1 of the work or time budget done")
    incumbent: float | None = Field(None, description="best cost found so far")
    lower_bound: float | None = None
    elapsed_s: float | None = None
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


class ResultOut(BaseModel):
    run_id: str
    schema_version: int
    summary: dict[str, Any] = Field(description="the same object as summary.json")
    facilities: dict[str, Any] = Field(description="GeoJSON FeatureCollection")
    assignments: list[dict[str, Any]] = Field(description="one page of village assignments")
    assignments_total: int
    limit: int
    offset: int


class RoutePlanCreate(_In):
    county: str = Field(pattern=r"^\d{6}$", examples=["210124"])
    date: dt.date = Field(examples=["2026-12-01"])
    time_limit_s: float | None = Field(None, gt=0)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
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


class CountyList(BaseModel):
    items: list[CountyOut]
    total: int


class Health(BaseModel):
    status: str
    checks: dict[str, Any] = Field(default_factory=dict)
