"""Full-text search index over leads, contacts, companies and deals.

One row per record, keyed ``rowid = id * 4 + kind``, holding the record's searchable text folded to
lower case in Python (so Cyrillic folds too: SQLite's own ``lower()`` and ``LIKE`` fold ASCII only) and
its phone digits. Any fragment of three or more characters is found through a trigram index:

- SQLite: an FTS5 table with the ``trigram`` tokenizer (substring ``MATCH``, newest first by rowid);
- PostgreSQL: a plain table with a ``pg_trgm`` GIN index, queried with ``LIKE '%...%'``.

Phone-like queries ("916 123", "123-45", "8 916 ...") are reduced to digits; a leading trunk ``8`` is
also tried as ``7`` so national Russian input finds the E.164 number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from peewee import Database

from crm_tui.data.db import database, is_sqlite

KINDS = {"deal": 0, "lead": 1, "contact": 2, "company": 3}
KIND_NAMES = {code: name for name, code in KINDS.items()}
TABLE = "search_index"

_PHONE_QUERY = re.compile(r"^[\d\s()+\-.]+$")
_TOKEN = re.compile(r"\S+")


def fold(text: str | None) -> str:
    """Case-fold for the index: ``"Иван"`` and ``"иван"`` index the same."""
    return (text or "").casefold()


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def make_body(*parts: str | None, phones: Iterable[str] = ()) -> str:
    words = [fold(p) for p in parts if p]
    words.extend(phone_digits(p) for p in phones if p)
    return " ".join(w for w in words if w)


def rowid_of(kind: str, record_id: int) -> int:
    return record_id * 4 + KINDS[kind]


def create_index(db: Database) -> None:
    if is_sqlite(db):
        db.execute_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(body, tokenize='trigram')")
    else:
        db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        db.execute_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (rowid BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {TABLE}_trgm ON {TABLE} USING gin (body gin_trgm_ops)")


def upsert(kind: str, record_id: int, body: str, db: Database | None = None) -> None:
    """Index (or re-index) one record. Call inside the transaction that wrote the record."""
    target = db or database
    rowid = rowid_of(kind, record_id)
    target.execute_sql(f"DELETE FROM {TABLE} WHERE rowid = {_p(target)}", (rowid,))
    target.execute_sql(
        f"INSERT INTO {TABLE} (rowid, body) VALUES ({_p(target)}, {_p(target)})", (rowid, body)
    )


def upsert_many(rows: Iterable[tuple[str, int, str]], db: Database | None = None) -> None:
    """Bulk-index fresh records (no prior entry); used by the demo loader and rebuilds.

    Rows go in ascending rowid order: FTS5 flushes its in-memory batch whenever a rowid is lower than
    the previous one in the transaction, and mixed kinds in one batch made the bulk load 2x slower.
    """
    target = db or database
    params = sorted((rowid_of(kind, rid), body) for kind, rid, body in rows)
    sql = f"INSERT INTO {TABLE} (rowid, body) VALUES ({_p(target)}, {_p(target)})"
    cursor = target.cursor()
    cursor.executemany(sql, params)


def remove(kind: str, record_id: int, db: Database | None = None) -> None:
    target = db or database
    target.execute_sql(f"DELETE FROM {TABLE} WHERE rowid = {_p(target)}", (rowid_of(kind, record_id),))


def rebuild(db: Database | None = None) -> int:
    """Re-create every entry from the records (one pass per kind, in batches). Returns the count."""
    target = db or database
    target.execute_sql(f"DELETE FROM {TABLE}")
    total = 0
    for kind, sql in _source_sql(target).items():
        cursor = target.execute_sql(sql)
        while True:
            batch = cursor.fetchmany(20000)
            if not batch:
                break
            upsert_many(
                ((kind, row[0], make_body(*row[1:-1], phones=(row[-1] or "").split())) for row in batch),
                target,
            )
            total += len(batch)
    return total


# Each row: id, text parts..., space-separated phones (last).
_SOURCE_SQL = {
    "lead": "SELECT id, name, company_name, email, phone FROM lead",
    "contact": (
        "SELECT c.id, c.name, co.name, "
        "(SELECT " + "{agg}" + " FROM contact_channel ch WHERE ch.contact_id = c.id AND ch.kind = 'email'), "
        "(SELECT " + "{agg}" + " FROM contact_channel ch WHERE ch.contact_id = c.id AND ch.kind = 'phone') "
        "FROM contact c LEFT JOIN company co ON co.id = c.company_id"
    ),
    "company": "SELECT id, name, '' FROM company",
    "deal": (
        "SELECT d.id, d.title, co.name, '' FROM deal d LEFT JOIN company co ON co.id = d.company_id "
        "WHERE d.archived_at IS NULL"  # an archived deal is out of the search (deals.archive)
    ),
}


def _p(db: Database) -> str:
    return "?" if is_sqlite(db) else "%s"


def _agg_sql(db: Database) -> str:
    return "group_concat(ch.value, ' ')" if is_sqlite(db) else "string_agg(ch.value, ' ')"


def _source_sql(db: Database) -> dict[str, str]:
    return {kind: sql.replace("{agg}", _agg_sql(db)) for kind, sql in _SOURCE_SQL.items()}


def query_terms(text: str) -> list[list[str]]:
    """Split what the user typed into AND-ed terms, each a list of OR-ed alternatives."""
    text = text.strip()
    if not text:
        return []
    if _PHONE_QUERY.match(text) and sum(ch.isdigit() for ch in text) >= 3:
        digits = phone_digits(text)
        alternatives = [digits]
        if digits.startswith("8") and len(digits) > 3:
            alternatives.append("7" + digits[1:])
        return [alternatives]
    return [[fold(token)] for token in _TOKEN.findall(text)]


def search_ids(text: str, *, kinds: Iterable[str] | None = None, limit: int = 20) -> list[tuple[str, int]]:
    """Records whose text contains every term of ``text``, newest first: ``[(kind, id), ...]``."""
    terms = query_terms(text)
    if not terms:
        return []
    kind_codes = sorted(KINDS[k] for k in kinds) if kinds else None
    db = database
    if is_sqlite(db):
        sql, params = _sqlite_query(terms, kind_codes, limit)
    else:
        sql, params = _pg_query(terms, kind_codes, limit)
    rows = db.execute_sql(sql, params).fetchall()
    return [(KIND_NAMES[rowid % 4], rowid // 4) for (rowid,) in rows]


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sqlite_query(
    terms: list[list[str]], kind_codes: list[int] | None, limit: int
) -> tuple[str, list[object]]:
    where: list[str] = []
    params: list[object] = []
    long_terms = [alts for alts in terms if all(len(a) >= 3 for a in alts)]
    short_terms = [alts for alts in terms if alts not in long_terms]
    if long_terms:
        expr = " AND ".join(
            "(" + " OR ".join('"' + a.replace('"', '""') + '"' for a in alts) + ")" for alts in long_terms
        )
        where.append(f"{TABLE} MATCH ?")
        params.append(expr)
    for alts in short_terms:
        where.append("(" + " OR ".join("body LIKE ? ESCAPE '\\'" for _ in alts) + ")")
        params.extend(f"%{_like_escape(a)}%" for a in alts)
    if kind_codes is not None:
        where.append(f"(rowid % 4) IN ({', '.join('?' for _ in kind_codes)})")
        params.extend(kind_codes)
    sql = f"SELECT rowid FROM {TABLE} WHERE {' AND '.join(where)} ORDER BY rowid DESC LIMIT ?"
    params.append(limit)
    return sql, params


def _pg_query(terms: list[list[str]], kind_codes: list[int] | None, limit: int) -> tuple[str, list[object]]:
    where: list[str] = []
    params: list[object] = []
    for alts in terms:
        where.append("(" + " OR ".join("body LIKE %s" for _ in alts) + ")")
        params.extend(f"%{_like_escape(a)}%" for a in alts)
    if kind_codes is not None:
        # psycopg2 reads every % as a placeholder: the modulo operator is written %%
        where.append(f"(rowid %% 4) IN ({', '.join('%s' for _ in kind_codes)})")
        params.extend(kind_codes)
    sql = f"SELECT rowid FROM {TABLE} WHERE {' AND '.join(where)} ORDER BY rowid DESC LIMIT %s"
    params.append(limit)
    return sql, params
