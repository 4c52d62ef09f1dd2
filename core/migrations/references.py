"""Adding a nullable reference to an existing table in a migration, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_reference(table: str, column: str, target: str) -> None:
    """A plain ADD COLUMN … ON DELETE SET NULL: on SQLite a batch copy would drop and recreate
    tables that others reference with ON DELETE CASCADE, and SQLite cannot add a constraint
    afterwards."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"REFERENCES {target} (id) ON DELETE SET NULL"
        )
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(
        f"fk_{table}_{column}", table, target, [column], ["id"], ondelete="SET NULL"
    )


def drop_reference(table: str, column: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(f"fk_{table}_{column}", table, type_="foreignkey")
    op.drop_column(table, column)
