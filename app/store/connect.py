"""Opening a database: SQLAlchemy engine with SQLite pragmas, and migrations to the head revision.

SQLite runs in WAL mode with foreign keys on and a busy timeout (30 s, or the URL's `timeout` query
parameter in seconds: `sqlite:///runs.db?timeout=5`), so the GUI can read while a sweep writes, and a killed writer never corrupts the file (an uncommitted transaction is simply rolled back).
`synchronous=FULL` keeps a committed run on disk across a power loss; runs are written once per trial,
so the fsync is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10  # a server that does not answer is reported, not waited on for minutes


class StoreURLError(ValueError):
    """A store URL that is not a database URL SQLAlchemy can use (the user's input is wrong)."""


class StoreOpenError(RuntimeError):
    """A well-formed store URL whose database cannot be reached, opened or migrated."""


def open_engine(url: str) -> sa.Engine:
    """`create_engine` then `upgrade`, failing with a one-line StoreURLError or StoreOpenError that
    names the URL (password hidden)."""
    try:
        engine = create_engine(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # also NoSuchModuleError: unknown dialect/driver
        raise StoreURLError(f"store URL {shown_url(url)}: {_first_line(exc)}; expected e.g. "
                            "sqlite:////path/to/runs.db or postgresql+psycopg://user@host/db") from None
    except OSError as exc:
        raise StoreOpenError(f"cannot open the store {shown_url(url)}: {exc.strerror or exc}") from None
    try:
        upgrade(engine)
    except (sa.exc.SQLAlchemyError, OSError, CommandError) as exc:
        engine.dispose()
        reason = _first_line(getattr(exc, "orig", None) or exc)
        raise StoreOpenError(f"cannot open the store {shown_url(url)}: {reason}") from None
    return engine


def shown_url(url: str) -> str:
    """The URL for messages: password masked; one that does not parse is not echoed (it may hold one)."""
    try:
        return repr(sa.make_url(url).render_as_string(hide_password=True))
    except (sa.exc.ArgumentError, ValueError):
        return "(as given)"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def create_engine(url: str) -> sa.Engine:
    """An engine for any SQLAlchemy URL; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # (not for a URI filename)
    timeout_ms = _busy_timeout_ms(parsed)
    engine = sa.create_engine(parsed.difference_update_query(["timeout"]),
                              connect_args={"check_same_thread": False, "timeout": timeout_ms / 1000})
    sa.event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, timeout_ms))
    return engine


def _busy_timeout_ms(url: sa.URL) -> int:
    """How long a write waits for a lock another connection holds: the URL's `timeout` (s) or 30 s."""
    raw = url.query.get("timeout")
    if raw is None:
        return BUSY_TIMEOUT_MS
    try:
        seconds = float(raw if isinstance(raw, str) else raw[-1])
    except ValueError:
        raise ValueError(f"store URL: timeout: {raw!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"store URL: timeout: {seconds:g} s is negative")
    return int(seconds * 1000)


def _sqlite_pragmas(dbapi_conn: Any, timeout_ms: int) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Apply every pending migration in one transaction (a no-op at head)."""
    if current_revision(engine) == head_revision():
        return
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
