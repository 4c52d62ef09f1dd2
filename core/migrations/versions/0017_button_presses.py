"""Button presses indexed by what was pressed: the self-calibration reads customers' "None of
these" every 30 s from a table that only grows (``ix_conversation_messages_presses``, partial:
button presses only).

Revision ID: 0017_button_presses
Revises: 0016_team_topics
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_button_presses"
down_revision = "0016_team_topics"
branch_labels = None
depends_on = None

BUTTONS = sa.text("kind = 'button'")


def upgrade() -> None:
    op.create_index(
        "ix_conversation_messages_presses",
        "conversation_messages",
        ["text", "id"],
        sqlite_where=BUTTONS,
        postgresql_where=BUTTONS,
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_messages_presses", "conversation_messages")
