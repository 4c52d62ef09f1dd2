"""Canned replies of one team: ``canned_replies.team_id`` (None, as every existing reply: shared by
every team). A team's agents see the shared replies and their own.

Revision ID: 0013_team_canned_replies
Revises: 0012_faq_translations
Create Date: 2026-12-07
"""

from core.migrations.references import add_reference, drop_reference

revision = "0013_team_canned_replies"
down_revision = "0012_faq_translations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_reference("canned_replies", "team_id", "teams")


def downgrade() -> None:
    drop_reference("canned_replies", "team_id")
