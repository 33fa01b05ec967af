"""Loading a desk dump (``crm export all --format json``) into a new, empty desk: on SQLite or PostgreSQL,
so a desk can also move from one to the other.

Every table of the dump is written with its ids, in the order of the foreign keys (a link to a table not
yet written, like a lead's deal, is filled in once that table is). The search index and the stage totals
are rebuilt, PostgreSQL's id sequences moved past the last ids. All in one transaction: a dump that
does not fit leaves the desk as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peewee import Database

from crm_tui.data.db import is_postgres
from crm_tui.services.errors import InvalidInput, RuleViolation
from crm_tui.services.export import DERIVED_PREFIXES, DUMP_FORMAT, DUMP_VERSION

RECORD_TABLES = ("lead", "contact", "company", "deal", "task", "interaction")
BATCH = 1000


@dataclass(frozen=True)
class ImportResult:
    source: str
    schema_version: int
    counts: dict[str, int]


def _bad(message: str, code: str, **params: Any) -> InvalidInput:
    return InvalidInput(message, {"file": code.split(".")[-1]}, code=code, params=params)


def read_dump(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            dump = json.load(f)
    except FileNotFoundError as error:
        raise _bad(f"No file {path}", "import.no_file", path=str(path)) from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _bad(
            f"{path} is not a desk dump (not JSON: {error})", "import.not_dump", path=str(path)
        ) from error
    if (
        not isinstance(dump, dict)
        or dump.get("format") != DUMP_FORMAT
        or not isinstance(dump.get("tables"), dict)
    ):
        raise _bad(
            f"{path} is not a desk dump (crm export all --format json makes one)",
            "import.not_dump",
            path=str(path),
        )
    if int(dump.get("version", 0)) > DUMP_VERSION:
        raise _bad(
            f"{path} is a dump of version {dump['version']}, newer than this crm reads ({DUMP_VERSION})",
            "import.newer_format",
            path=str(path),
        )
    return dump


def _order(db: Database, tables: list[str]) -> tuple[list[str], dict[str, set[str]]]:
    """Tables in foreign-key order, and per table the link columns to fill in afterwards (links to a
    table written later: a cycle like lead.deal_id / deal.lead_id, or a link to the same table)."""
    links = {t: [(fk.column, fk.dest_table) for fk in db.get_foreign_keys(t)] for t in tables}
    order: list[str] = []
    later: dict[str, set[str]] = {t: set() for t in tables}
    pending = sorted(tables)
    while pending:
        ready = [t for t in pending if all(d in order or d not in pending or d == t for _, d in links[t])]
        pick = ready[0] if ready else min(pending, key=lambda t: sum(d in pending for _, d in links[t]))
        for column, dest in links[pick]:
            if dest == pick or (dest in pending and dest != pick and dest not in order):
                later[pick].add(column)
        order.append(pick)
        pending.remove(pick)
    return order, later


def _converters(db: Database, table: str) -> dict[str, str]:
    return {c.name: c.data_type.lower() for c in db.get_columns(table)}


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "boolean" or kind == "bool":
        return bool(value)
    return value


def load(db: Database, dump: dict[str, Any], *, source: str = "") -> ImportResult:
    """Write the dump's tables into the desk ``db``, which holds no records yet."""
    from crm_tui.data import search
    from crm_tui.data.migrations import latest_version

    version = int(dump.get("schema_version") or 0)
    if version > latest_version():
        raise RuleViolation(
            f"The dump has schema version {version}, newer than this crm knows ({latest_version()}): "
            "upgrade crm first",
            code="import.newer_schema",
            params={"version": version, "known": latest_version()},
        )
    present = set(db.get_tables())
    busy = {t: _count(db, t) for t in RECORD_TABLES if t in present}
    if any(busy.values()):
        raise RuleViolation(
            "A dump goes into a new, empty desk; this one has "
            + ", ".join(f"{n} {t}" for t, n in busy.items() if n)
            + " (give another --db)",
            code="import.not_empty",
            params=busy,
        )
    tables = {
        name: body
        for name, body in dump["tables"].items()
        if name != "schema_version" and not name.startswith(DERIVED_PREFIXES)
    }
    unknown = sorted(t for t in tables if t not in present)
    if unknown:
        raise _bad(f"The dump has tables this desk does not: {', '.join(unknown)}", "import.unknown_table")
    order, later = _order(db, list(tables))
    counts: dict[str, int] = {}
    mark = db.param
    with db.atomic():
        for table in reversed(order):  # what the new desk made for itself: the default user, pipeline
            db.execute_sql(f'DELETE FROM "{table}"')
        for table in order:
            columns: list[str] = list(tables[table]["columns"])
            kinds = _converters(db, table)
            missing = [c for c in columns if c not in kinds]
            if missing:
                raise _bad(
                    f"The dump's {table} has columns this desk does not: {', '.join(missing)}",
                    "import.unknown_column",
                    table=table,
                    columns=missing,
                )
            deferred = [i for i, c in enumerate(columns) if c in later[table]]
            sql = (
                f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
            batch: list[list[Any]] = []
            n = 0
            for row in tables[table]["rows"]:
                values = [_value(kinds[c], v) for c, v in zip(columns, row, strict=True)]
                for i in deferred:
                    values[i] = None
                batch.append(values)
                n += 1
                if len(batch) >= BATCH:
                    db.cursor().executemany(sql, batch)
                    batch = []
            if batch:
                db.cursor().executemany(sql, batch)
            counts[table] = n
        for table in order:  # the links to tables written after
            columns = list(tables[table]["columns"])
            for column in later[table]:
                at, key = columns.index(column), columns.index("id")
                pairs = [(r[at], r[key]) for r in tables[table]["rows"] if r[at] is not None]
                if pairs:
                    db.cursor().executemany(
                        f'UPDATE "{table}" SET "{column}" = {mark} WHERE id = {mark}', pairs
                    )
        if "stage_total" in present:
            from crm_tui.data.migrations.m0010_stage_totals import FILL

            db.execute_sql("DELETE FROM stage_total")
            db.execute_sql(FILL)
        if is_postgres(db):
            for table in order:
                if "id" in tables[table]["columns"]:
                    db.execute_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
                    )
        search.rebuild(db)
    return ImportResult(source, version, counts)


def _count(db: Database, table: str) -> int:
    return int(db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
