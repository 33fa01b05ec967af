"""Document rendering speed: a 50-line proposal as a PDF against a one-line one, in the same run.

    .venv/bin/python bench/bench_documents.py [--lines 50] [--runs 5]

Builds a desk in a temporary folder (one product, two deals: one with a single line, one with
``--lines`` lines), makes a proposal of each and renders both with ``documents.render(id, "pdf")``
(the template, then fpdf2 with the DejaVu font). The floor is the one-line proposal: the fixed cost
of a document (template loading, font embedding, the page). Prints the median of ``--runs`` runs each,
and the ratio of the 50-line document to the floor, with the pages and bytes of each.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 3, 2, 9, 0)


def timed(doc_id: int, runs: int) -> tuple[float, bytes]:
    from crm_tui.services import documents

    documents.render(doc_id, "pdf")  # warm: imports, font files in the page cache
    times = []
    data = b""
    for _ in range(runs):
        started = time.perf_counter()
        data = documents.render(doc_id, "pdf")
        times.append(time.perf_counter() - started)
    return statistics.median(times), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from pypdf import PdfReader

    from crm_tui.data.db import open_database
    from crm_tui.services import deal_lines, deals, documents, pipelines, products, users

    with tempfile.TemporaryDirectory() as folder:
        db = open_database(str(Path(folder) / "bench.db"))
        with db.connection_context():
            users.ensure_default(NOW)
            pipelines.ensure_default()
            product = products.add("Лицензия CRM на 1 пользователя (год)", "12 000", unit="шт")
            small = deals.add("Одна строка", amount="1", by=None, now=NOW)
            deal_lines.add(small.id, product_id=product.id, by=None, now=NOW)
            big = deals.add("Много строк", amount="1", by=None, now=NOW)
            for n in range(args.lines):
                deal_lines.add(
                    big.id,
                    text=f"Работа {n + 1}: настройка воронки продаж и обучение менеджеров",
                    price=f"{1000 + n * 37},50",
                    quantity=str(1 + n % 4),
                    discount=str(n % 3 * 5),
                    vat="22" if n % 2 else "none",
                    by=None,
                    now=NOW,
                )
            one = documents.new(small.id, "proposal", by=None, now=NOW)
            many = documents.new(big.id, "proposal", by=None, now=NOW)
            floor, floor_pdf = timed(one.id, args.runs)
            full, full_pdf = timed(many.id, args.runs)
        db.close()
    pages = [len(PdfReader(io.BytesIO(data)).pages) for data in (floor_pdf, full_pdf)]
    print(f"{'document':<24}{'median s':>10}{'pages':>7}{'bytes':>9}")
    print(f"{'1-line proposal (floor)':<24}{floor:>10.3f}{pages[0]:>7}{len(floor_pdf):>9}")
    print(f"{f'{args.lines}-line proposal':<24}{full:>10.3f}{pages[1]:>7}{len(full_pdf):>9}")
    print(f"ratio {args.lines}-line / floor: {full / floor:.2f}")


if __name__ == "__main__":
    main()
