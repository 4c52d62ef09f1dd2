"""Alembic environment: runs on the connection Firstline hands over (``core.database.migrate``)."""

from alembic import context

import admin_api.tokens  # noqa: F401  (registers the tables on Base.metadata)
import core.queues  # noqa: F401
import handoff.models  # noqa: F401
import knowledge_base.models  # noqa: F401
from core.database import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `firstline` (core.database.migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
