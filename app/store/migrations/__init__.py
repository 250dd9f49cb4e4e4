"""Alembic migrations of the store, applied programmatically by `app.store.migrate.upgrade`."""
