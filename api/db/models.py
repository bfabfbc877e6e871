"""SQLAlchemy 2 models of the service's storage.

Tables
------
* ``scenarios``: a validated scenario (its JSON form) and the text it came in.
* ``runs``: a unit of background work. ``kind`` is ``siting`` (a scenario run) or
  ``route_plan`` (a county-day planned from a siting run). ``status`` is one of
  queued, running, succeeded, failed, cancelled. ``attempts`` counts the times a worker
  started it.
* ``results``: the outcome of a siting run, with ``schema_version``.
* ``route_plans``: the plan of a route-plan run; ``published`` marks the plan a county
  sees by default for its date. ``route_plan_exports``: its exports, one row per format.
* ``api_keys``: hashes of API keys (never the secret), a role and counties.
* ``idempotency_keys``: the run created for an ``Idempotency-Key``.

Migrations live in :mod:`api.db.migrations` and must follow any change made here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RESULT_SCHEMA_VERSION = 1
ROUTE_PLAN_SCHEMA_VERSION = 1

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
#: The kinds of run the API offers (the ``kind`` filter's values, the documented kinds).
RUN_KINDS = ("siting", "route_plan")
#: ``sleep`` is internal: the tests queue it through the store to exercise the job manager;
#: it cannot be created, filtered on or seen documented through the API.
INTERNAL_RUN_KINDS = ("sleep",)
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class ScenarioRow(Base):
    __tablename__ = "scenarios"
    __table_args__ = (Index("ix_scenarios_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    source_format: Mapped[str] = mapped_column(String(8))  # json | toml
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    raw_text: Mapped[str] = mapped_column(Text)
    owner_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_status_created", "status", "created_at"),
        Index("ix_runs_scenario", "scenario_id"),
        Index("ix_runs_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # siting | route_plan | sleep (tests)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"))
    parent_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    county: Mapped[str | None] = mapped_column(String(12), nullable=True)
    plan_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the service instance running it (``Settings.instance_id``) and its last lease renewal
    instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
    solve_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ResultRow(Base):
    __tablename__ = "results"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    schema_version: Mapped[int] = mapped_column(Integer, default=RESULT_SCHEMA_VERSION)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    facilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    assignments: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoutePlanRow(Base):
    __tablename__ = "route_plans"
    __table_args__ = (Index("ix_route_plans_county_date", "county", "plan_date"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), unique=True)
    siting_run_id: Mapped[str] = mapped_column(String(32))
    county: Mapped[str] = mapped_column(String(12))
    plan_date: Mapped[str] = mapped_column(String(10))
    schema_version: Mapped[int] = mapped_column(Integer, default=ROUTE_PLAN_SCHEMA_VERSION)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoutePlanExportRow(Base):
    """One export of a route plan (``json``, ``csv``, ``geojson``, ``gpx``, ``html``)."""

    __tablename__ = "route_plan_exports"

    plan_id: Mapped[str] = mapped_column(ForeignKey("route_plans.id"), primary_key=True)
    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    content: Mapped[str] = mapped_column(Text)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public key id
    secret_hash: Mapped[str] = mapped_column(String(128))  # sha256 hex of the secret
    role: Mapped[str] = mapped_column(String(16))  # engineer | county | admin
    counties: Mapped[list[Any]] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    principal: Mapped[str] = mapped_column(String(32), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
