"""The database connection: one proxy, opened from a URL (SQLite file by default, PostgreSQL later)."""

from __future__ import annotations

import os
from pathlib import Path

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from platformdirs import user_data_path
from playhouse.db_url import connect

database = DatabaseProxy()

# WAL lets the app read while the CLI or the intake server writes; FULL keeps every acknowledged
# commit through a power loss; the busy timeout makes two processes on one file wait, not fail.
SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "cache_size": -64000,
    "busy_timeout": 10000,
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
        return connect(
            url, pragmas=SQLITE_PRAGMAS, timeout=10, check_same_thread=False, lock_type=SQLITE_LOCK_TYPE
        )
    return connect(url)


def open_database(path_or_url: str | None = None, *, migrate: bool = True) -> Database:
    """Bind the models to the database at ``path_or_url`` and bring its schema up to date."""
    url = resolve_url(path_or_url)
    db = connect_url(url)
    database.initialize(db)
    if migrate:
        from crm_tui.data import migrations

        with db.connection_context():
            migrations.upgrade(db)
    return db
