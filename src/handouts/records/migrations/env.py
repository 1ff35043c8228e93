"""Alembic's environment for the print record: always run from handouts.records.store,
which passes the open connection (no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

from handouts.records.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  # SQLite alters a table by copying it: batch mode does that for us.
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
