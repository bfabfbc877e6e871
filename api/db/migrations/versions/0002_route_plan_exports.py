"""Route-plan exports in their own table, one row per format, so that a download reads
one text column instead of decoding every export of the plan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, exports FROM route_plans")).all()
    # Drop the column before anything references route_plans: SQLite's batch mode copies
    # and drops the table, which foreign keys pointing at it would block.
    with op.batch_alter_table("route_plans") as batch:
        batch.drop_column("exports")
    op.create_table(
        "route_plan_exports",
        sa.Column("plan_id", sa.String(32), sa.ForeignKey("route_plans.id"), primary_key=True),
        sa.Column("format", sa.String(16), primary_key=True),
        sa.Column("content", sa.Text(), nullable=False),
    )
    table = sa.table("route_plan_exports", sa.column("plan_id", sa.String),
                     sa.column("format", sa.String), sa.column("content", sa.Text))
    for plan_id, exports in rows:
        data = json.loads(exports) if isinstance(exports, str) else (exports or {})
        if data:
            op.bulk_insert(table, [{"plan_id": plan_id, "format": k, "content": v}
                                   for k, v in data.items()])


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT plan_id, format, content FROM route_plan_exports")).all()
    op.drop_table("route_plan_exports")  # first: SQLite's batch copy of route_plans needs it gone
    with op.batch_alter_table("route_plans") as batch:
        batch.add_column(sa.Column("exports", sa.JSON(), nullable=True))
    merged: dict[str, dict[str, str]] = {}
    for plan_id, fmt, content in rows:
        merged.setdefault(plan_id, {})[fmt] = content
    for plan_id, exports in merged.items():
        bind.execute(sa.text("UPDATE route_plans SET exports = :e WHERE id = :i"),
                     {"e": json.dumps(exports), "i": plan_id})
