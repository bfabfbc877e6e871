"""Initial schema: scenarios, runs, results, route plans, API keys, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_format", sa.String(8), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("owner_key_id", sa.String(32), nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scenario_id", sa.String(32), sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("parent_run_id", sa.String(32), nullable=True),
        sa.Column("county", sa.String(12), nullable=True),
        sa.Column("plan_date", sa.String(10), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("owner_key_id", sa.String(32), nullable=True),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("solve_seconds", sa.Float(), nullable=True),
        _ts("created_at"),
        _ts("started_at", True),
        _ts("finished_at", True),
    )
    op.create_index("ix_runs_status_created", "runs", ["status", "created_at"])
    op.create_index("ix_runs_scenario", "runs", ["scenario_id"])
    op.create_table(
        "results",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("facilities", sa.JSON(), nullable=False),
        sa.Column("assignments", sa.JSON(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "route_plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False,
                  unique=True),
        sa.Column("siting_run_id", sa.String(32), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("plan_date", sa.String(10), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("exports", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_route_plans_county_date", "route_plans", ["county", "plan_date"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("counties", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", True),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("principal", sa.String(32), primary_key=True),
        sa.Column("scenario_id", sa.String(32), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        _ts("created_at"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_route_plans_county_date", table_name="route_plans")
    op.drop_table("route_plans")
    op.drop_table("results")
    op.drop_index("ix_runs_scenario", table_name="runs")
    op.drop_index("ix_runs_status_created", table_name="runs")
    op.drop_table("runs")
    op.drop_table("scenarios")
