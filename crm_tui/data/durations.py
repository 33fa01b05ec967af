"""Whole seconds between two stored times, as SQL: the one expression the reports and their indexes share.

SQLite and PostgreSQL each get their twin. The report indexes (migration 7) are built on exactly these
expressions, so a report that orders by ``seconds_between("l.first_call_at", "l.created_at")`` reads the
index in order instead of sorting: the planners match an indexed expression by its structure, whatever
the table alias.
"""

from __future__ import annotations

from peewee import Database, DatabaseProxy

from crm_tui.data.db import is_sqlite


def seconds_between(later: str, earlier: str, db: Database | DatabaseProxy | None = None) -> str:
    """Whole seconds from ``earlier`` to ``later`` (rounded half away from zero); NULL if either is NULL."""
    if is_sqlite(db):
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"


def first_call_seconds(db: Database | DatabaseProxy | None = None, alias: str = "") -> str:
    """A lead's first-call delay: ``first_call_at - created_at`` in whole seconds."""
    return seconds_between(f"{alias}first_call_at", f"{alias}created_at", db)


def stay_seconds(db: Database | DatabaseProxy | None = None, alias: str = "") -> str:
    """A stage-history row's stay: ``left_at - at`` in whole seconds."""
    return seconds_between(f"{alias}left_at", f"{alias}at", db)
