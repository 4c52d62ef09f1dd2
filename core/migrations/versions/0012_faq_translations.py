"""An FAQ entry in several languages: ``faq_entries.translations`` (JSON: each other language's
question, phrasings and answer). Today's entries carry over unchanged: their question, phrasings,
answer and language stay the main language's, and they have no translations.

Revision ID: 0012_faq_translations
Revises: 0011_teams
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_faq_translations"
down_revision = "0011_teams"
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN, never a batch copy (on SQLite that recreates the table, and dropping
# ``faq_entries`` deletes its versions through ON DELETE CASCADE).
def upgrade() -> None:
    op.add_column(
        "faq_entries",
        sa.Column("translations", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    op.drop_column("faq_entries", "translations")
