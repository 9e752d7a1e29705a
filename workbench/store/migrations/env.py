"""Alembic environment: runs on the connection handed over by workbench.store.migrate (no alembic.ini)."""

from alembic import context

from workbench.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
