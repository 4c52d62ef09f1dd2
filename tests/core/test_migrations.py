"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL: a
column, index or constraint added to a model without its migration (or the other way round)
fails here, not at a customer's first start."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

import admin_api.tokens  # noqa: F401  (the models register their tables on Base.metadata)
import core.queues  # noqa: F401
import handoff.models  # noqa: F401
import knowledge_base.models  # noqa: F401
from core.database import Base, create_engine, migrate

# Added on SQLite by a plain ALTER TABLE … ADD COLUMN … REFERENCES (migrations 0003, 0011, 0013), whose
# ON DELETE SQLAlchemy's reflection cannot read: checked with SQLite's own pragma instead.
ALTERED_REFERENCES = {
    ("tickets", "assignee_id"),
    ("conversation_messages", "ticket_id"),
    ("conversation_messages", "agent_id"),
    ("tickets", "team_id"),
    ("agents", "team_id"),
    ("routing_rules", "team_id"),
    ("canned_replies", "team_id"),
}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        difference
        for difference in compare_metadata(context, Base.metadata)
        if not (connection.dialect.name == "sqlite" and _altered_reference(difference))
    ]


def _altered_reference(difference: Any) -> bool:
    if difference[0] not in ("add_fk", "remove_fk"):
        return False
    constraint = difference[1]
    return {(constraint.table.name, column.name) for column in constraint.columns} <= (
        ALTERED_REFERENCES
    )


def _sqlite_on_delete(connection: Connection) -> dict[tuple[str, str], str]:
    return {
        (table, row[3]): row[6]
        for table in {table for table, _ in ALTERED_REFERENCES}
        for row in connection.execute(text(f"PRAGMA foreign_key_list({table})"))
    }


# Tickets and their opening message reference each other; the comparison does not need an order.
@pytest.mark.filterwarnings("ignore:Cannot correctly sort tables:sqlalchemy.exc.SAWarning")
async def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            if connection.dialect.name == "sqlite":
                on_delete = await connection.run_sync(_sqlite_on_delete)
                assert {on_delete[reference] for reference in ALTERED_REFERENCES} == {"SET NULL"}
    finally:
        await engine.dispose()
    assert differences == [], "\n".join(map(str, differences))
