"""Run leases: the service instance that claimed a running run, and when it last renewed
its claim, so that several instances can share one database (a run is taken back only when
its instance has stopped renewing, or by that same instance after a restart).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("instance_id", sa.String(64), nullable=True))
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 has it): a batch copy of ``runs``
    # would be blocked by the foreign keys of route_plans pointing at it.
    op.drop_column("runs", "heartbeat_at")
    op.drop_column("runs", "instance_id")
