"""Results store: SQLAlchemy 2 schema, Alembic migrations, and the queries the GUI/CLI/reports use."""
