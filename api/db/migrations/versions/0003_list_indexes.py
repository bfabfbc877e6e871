"""Indexes for the newest-first run list and the oldest-first scenario list, so that a page
of ``GET /v1/runs`` or ``GET /v1/scenarios`` reads the index in order instead of sorting
the whole table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_created", "runs", ["created_at", "id"])
    op.create_index("ix_scenarios_created", "scenarios", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_scenarios_created", table_name="scenarios")
    op.drop_index("ix_runs_created", table_name="runs")
