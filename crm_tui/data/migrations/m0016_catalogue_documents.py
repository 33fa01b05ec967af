"""Version 16: the catalogue's VAT rate, category, SKU and archiving; a deal's lines; documents.

``product`` gains ``vat_rate`` (22, 10, 0; NULL is "no VAT": the rate is data, it changed in 2026),
``category``, ``sku`` and ``archived_at``. ``deal_line`` and ``document`` are created (see
``crm_tui/data/doc_models.py``). A deal's amount is written by the services when its lines change, so
the stage totals' triggers on ``deal`` (migrations 10 and 11) keep the kanban's headers right.
"""

from __future__ import annotations

from peewee import CharField, Database, DateTimeField, IntegerField

from crm_tui.data.doc_models import DOC_MODELS
from crm_tui.data.migrations import add_column


def apply(db: Database) -> None:
    had_rate = any(c.name == "vat_rate" for c in db.get_columns("product"))
    add_column(db, "product", "vat_rate", IntegerField(null=True, default=22))
    if not had_rate:  # the products a desk had were sold at the standard rate: NULL would say "no VAT"
        db.execute_sql("UPDATE product SET vat_rate = 22")
    add_column(db, "product", "category", CharField(max_length=100, null=True))
    add_column(db, "product", "sku", CharField(max_length=64, null=True))
    add_column(db, "product", "archived_at", DateTimeField(null=True))
    db.create_tables(DOC_MODELS, safe=True)
