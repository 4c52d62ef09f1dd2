"""Business hours and SLA targets set by leads; when customers were told the line is closed/open;
the queue a ticket joined (its place, the agents on duty), for honest wait estimates; a ticket's
latest reopening and agent reply, so a reopened ticket waits for an answer again.

Revision ID: 0005_business_hours
Revises: 0004_admin_api
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0005_business_hours"
down_revision = "0004_admin_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("closed_notice_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("open_notice_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("queue_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("agents_on_duty", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reopened_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("responded_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE tickets SET responded_at = first_response_at")


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("responded_at")
        batch.drop_column("reopened_at")
        batch.drop_column("agents_on_duty")
        batch.drop_column("queue_position")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("open_notice_at")
        batch.drop_column("closed_notice_at")
    op.drop_table("support_settings")
