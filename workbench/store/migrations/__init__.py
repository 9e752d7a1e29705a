"""Alembic migrations of the label store, run by Store on open (workbench.store.migrate)."""
