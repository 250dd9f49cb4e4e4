"""Results store: SQLAlchemy 2 schema, Alembic migrations, and the queries the GUI/CLI/reports use."""

from app.store.connect import StoreOpenError, StoreURLError
from app.store.records import RunDetail, RunSummary, SweepSummary
from app.store.store import Store, StoreError

__all__ = ["RunDetail", "RunSummary", "Store", "StoreError", "StoreOpenError", "StoreURLError", "SweepSummary"]
