"""An index on ``inbox_updates(chat_key, status, id)``: claiming a lane's oldest pending update
read every pending row of the inbox without it (a burst of 1,000 updates made each claim a scan
of 1,000 rows). The outbox had its twin from the start (``ix_outbox_messages_chat``).

Revision ID: 0010_inbox_lane_index
Revises: 0009_flood_buckets
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010_inbox_lane_index"
down_revision = "0009_flood_buckets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbox_updates_lane", "inbox_updates", ["chat_key", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_updates_lane", table_name="inbox_updates")
