"""The database connection: one proxy, opened from a URL (SQLite file by default, PostgreSQL later)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from peewee import Database, DatabaseProxy, OperationalError, PostgresqlDatabase, SqliteDatabase
from platformdirs import user_data_path
from playhouse.db_url import connect

database = DatabaseProxy()

ENV_BUSY_TIMEOUT = "CRM_BUSY_TIMEOUT_MS"
DEFAULT_BUSY_TIMEOUT_MS = 10_000


def busy_timeout_ms() -> int:
    """How long a writer waits for another process's write lock: ``CRM_BUSY_TIMEOUT_MS`` or 10 s."""
    raw = os.environ.get(ENV_BUSY_TIMEOUT, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_BUSY_TIMEOUT_MS
    except ValueError:
        value = DEFAULT_BUSY_TIMEOUT_MS
    return max(1, value)


# WAL lets the app read while the CLI or the intake server writes; FULL keeps every acknowledged
# commit through a power loss; the busy timeout makes two processes on one file wait, not fail.
SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "cache_size": -64000,
    "busy_timeout": busy_timeout_ms(),
    "temp_store": "memory",
}

# Every transaction takes the write lock when it begins. A deferred one that reads and then writes
# cannot wait for the lock: once another process has committed since its read, SQLite answers
# "database is locked" at once, whatever the busy timeout. Taking the lock first makes it wait.
SQLITE_LOCK_TYPE = "IMMEDIATE"

ENV_DB = "CRM_DB"


def default_db_path() -> Path:
    """The default desk: ``$XDG_DATA_HOME/crm-tui/crm.db`` (``~/.local/share/crm-tui/crm.db``)."""
    return user_data_path("crm-tui", appauthor=False) / "crm.db"


def resolve_url(path_or_url: str | None = None) -> str:
    """Turn ``--db``'s value (a path, a URL or nothing) into a database URL."""
    value = path_or_url or os.environ.get(ENV_DB) or str(default_db_path())
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def is_sqlite(db: Database | DatabaseProxy | None = None) -> bool:
    target = db if db is not None else database
    if isinstance(target, DatabaseProxy):
        target = target.obj
    return isinstance(target, SqliteDatabase)


def is_postgres(db: Database | DatabaseProxy | None = None) -> bool:
    target = db if db is not None else database
    if isinstance(target, DatabaseProxy):
        target = target.obj
    return isinstance(target, PostgresqlDatabase)


def connect_url(url: str) -> Database:
    """Create (not open) a Peewee database for the URL, with the project's SQLite settings."""
    if url.startswith("sqlite"):
        path = url.split("://", 1)[1].lstrip("/")
        if path and path != ":memory:":
            Path("/" + path).parent.mkdir(parents=True, exist_ok=True)
        waits = busy_timeout_ms()
        return connect(
            url,
            pragmas={**SQLITE_PRAGMAS, "busy_timeout": waits},
            timeout=waits / 1000,
            check_same_thread=False,
            lock_type=SQLITE_LOCK_TYPE,
        )
    return connect(url)


def is_busy(error: BaseException) -> bool:
    """Whether a database error means another process held the write lock past the busy timeout."""
    if not isinstance(error, OperationalError | sqlite3.OperationalError):  # raw cursors raise sqlite3's
        return False
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def open_database(path_or_url: str | None = None, *, migrate: bool = True) -> Database:
    """Bind the models to the database at ``path_or_url`` and bring its schema up to date.

    A desk already up to date is only read here: opening never waits for another process's write lock.
    A desk whose schema is newer than this program knows raises ``SchemaTooNew`` (nothing is written).
    """
    url = resolve_url(path_or_url)
    db = connect_url(url)
    database.initialize(db)
    if migrate:
        from crm_tui.data import migrations

        with db.connection_context():
            migrations.upgrade(db)
    return db
