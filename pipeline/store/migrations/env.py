"""Alembic environment: runs on the connection handed over by pipeline.store.migrate."""

from alembic import context

from pipeline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through pipeline.store.migrate(engine).")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
