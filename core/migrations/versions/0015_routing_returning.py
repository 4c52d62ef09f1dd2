"""Routing by the customer's earlier tickets: ``routing_rules.returning_days`` (the rule applies
to a customer whose ticket the rule's team resolved within that many days).

Revision ID: 0015_routing_returning
Revises: 0014_customer_choices
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_routing_returning"
down_revision = "0014_customer_choices"
branch_labels = None
depends_on = None


# A plain ADD COLUMN, never a batch copy (on SQLite that recreates the table).
def upgrade() -> None:
    op.add_column("routing_rules", sa.Column("returning_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("routing_rules", "returning_days")
