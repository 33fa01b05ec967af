"""Numbered schema migrations. ``schema_version`` records each one applied; upgrading keeps every row.

Each step is ``apply(db)`` in ``mNNNN_<name>.py`` and runs in its own transaction. A step that adds a
column uses :func:`add_column`, which skips a column that a fresh database already has (step 1 creates
tables from the current models).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peewee import Database, Field
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator, migrate

from crm_tui.data.db import is_sqlite
from crm_tui.data.models import SchemaVersion, utcnow


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Database], None]


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("m") or not info.name[1:5].isdigit():
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(info.name[1:5]), info.name[6:], module.apply))
    found.sort(key=lambda m: m.version)
    return found


class SchemaTooNew(Exception):
    """The desk was upgraded by a newer crm: this one refuses to touch it rather than write a schema it
    does not know."""

    code = "schema.too_new"

    def __init__(self, found: int, known: int) -> None:
        self.params = {"found": found, "known": known}
        self.message = f"this desk's schema is version {found}; this crm knows up to {known}: upgrade crm"
        super().__init__(self.message)


def latest_version() -> int:
    return all_migrations()[-1].version


def applied_versions(db: Database) -> set[int]:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return set()
    with db.bind_ctx([SchemaVersion]):
        return {version for (version,) in SchemaVersion.select(SchemaVersion.version).tuples()}


def current_version(db: Database) -> int:
    return max(applied_versions(db), default=0)


def upgrade(db: Database, *, target: int | None = None) -> list[int]:
    """Apply every migration the database has not recorded (up to ``target``); return those applied.

    A step is skipped only when ``schema_version`` records it, not because a higher one is recorded, so a
    file that was upgraded before a lower-numbered step existed still gets that step.

    A desk with nothing to apply is only read: no write lock is taken, so opening a desk that another
    process is writing to never waits. A desk recording a version above the newest known step raises
    :class:`SchemaTooNew` before anything is written.
    """
    steps = all_migrations()
    done = applied_versions(db)
    known = steps[-1].version
    if done and max(done) > known:
        raise SchemaTooNew(max(done), known)
    pending = [
        step for step in steps if step.version not in done and (target is None or step.version <= target)
    ]
    if not pending:
        return []
    db.create_tables([SchemaVersion], safe=True)
    applied: list[int] = []
    for step in pending:
        with db.atomic(), db.bind_ctx([SchemaVersion]):
            # another process opening the desk at the same moment may have applied it while we waited
            if SchemaVersion.select().where(SchemaVersion.version == step.version).exists():
                continue
            step.apply(db)
            SchemaVersion.create(version=step.version, applied_at=utcnow())
        applied.append(step.version)
    return applied


def migrator_for(db: Database) -> SchemaMigrator:
    return SqliteMigrator(db) if is_sqlite(db) else PostgresqlMigrator(db)


def add_column(db: Database, table: str, name: str, field: Field) -> None:
    """Add a column unless the table already has it."""
    if any(column.name == name for column in db.get_columns(table)):
        return
    migrate(migrator_for(db).add_column(table, name, field))
