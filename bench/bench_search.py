"""Search on a big desk: what ``crm search`` and the app's ``/`` pay per query, against a floor measured in
the same run (the bare FTS5 query on a raw ``sqlite3`` connection, no labels).

    .venv/bin/crm demo --leads 1000000 --db /tmp/crm-bench-1m.db     # several minutes, once
    .venv/bin/python bench/bench_search.py --db /tmp/crm-bench-1m.db [--runs 50]

Each query runs ``--runs`` times through ``services.search.search(text, limit=20)`` (the index query, the
rows' labels: names, phones, companies, amounts) and through the floor; medians and p95 in ms, and the
ratio of the medians. The queries cover what search finds since schema version 12: ``ё`` typed as
``е``, a lead's comment, UTM keyword and campaign, a contact's tag, a company's INN.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

from crm_tui.data import search as index
from crm_tui.data.db import database, open_database
from crm_tui.services import search


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def _floor(raw: sqlite3.Connection, text: str) -> None:
    """The bare index query for ``text`` (every term at least three characters)."""
    expr = " AND ".join(
        "(" + " OR ".join('"' + a + '"' for a in alts) + ")" for alts in index.query_terms(text)
    )
    raw.execute(
        f"SELECT rowid FROM {index.TABLE} WHERE {index.TABLE} MATCH ? ORDER BY rowid DESC LIMIT 20", (expr,)
    ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/crm-bench-1m.db")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    path = Path(args.db)
    db = open_database(str(path))  # upgrades an older desk first (migration 12 rebuilds the index)
    raw = sqlite3.connect(path)
    with db.connection_context():
        inn = database.execute_sql(
            "SELECT inn FROM company WHERE length(inn) = 10 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        queries = {
            "Cyrillic name (иван)": "иван",
            "ё typed as е (федоров)": "федоров",
            "е typed as ё (семёнов)": "семёнов",
            "lead comment (телефонией)": "телефонией",
            "UTM keyword (crm для отдела)": "crm для отдела",
            "UTM campaign (crm_search_spb)": "crm_search_spb",
            "contact tag (партнер)": "партнер",
            "company INN, 7 digits": (inn[0][:7] if inn else "7707083"),
            "phone fragment (916 123)": "916 123",
            "e-mail fragment (gmail.com)": "gmail.com",
            "nothing found (щщщщ)": "щщщщ",
        }
        print(f"desk: {path} ({database.execute_sql('SELECT count(*) FROM lead').fetchone()[0]:,} leads)")
        print(f"{'query':<32} {'search ms':>10} {'p95':>6} {'floor ms':>9} {'p95':>6} {'ratio':>6} hits")
        for label, text in queries.items():
            ours: list[float] = []
            floor: list[float] = []
            hits = 0
            for _ in range(args.runs):
                start = time.perf_counter()
                hits = len(search.search(text, limit=20))
                ours.append(time.perf_counter() - start)
                start = time.perf_counter()
                _floor(raw, text)
                floor.append(time.perf_counter() - start)
            (om, op), (fm, fp) = _ms(ours), _ms(floor)
            print(f"{label:<32} {om:>10.2f} {op:>6.2f} {fm:>9.2f} {fp:>6.2f} {om / fm:>6.1f} {hits}")
    raw.close()


if __name__ == "__main__":
    main()
