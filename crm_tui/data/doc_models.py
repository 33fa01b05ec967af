"""A deal's lines and the documents made from them (migration 16).

``deal_line``: what is sold in a deal, one row a line (a catalogue product or free text), in the order
people put them. ``document``: a proposal, an invoice or an act, numbered per kind; each version keeps a
snapshot (JSON) of the lines, the totals, the desk's requisites and the client as they were when it was
made, so a later change of the lines never alters an issued document.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from crm_tui.data.models import BaseModel, Deal, Product, User


class DealLine(BaseModel):
    deal = ForeignKeyField(Deal, on_delete="CASCADE", backref="lines")
    position = IntegerField()
    product = ForeignKeyField(Product, null=True, on_delete="SET NULL")
    text = CharField(max_length=500)
    quantity = DecimalField(max_digits=15, decimal_places=3, auto_round=True)
    unit = CharField(max_length=32)
    price = BigIntegerField()  # minor units per unit, VAT included
    discount = DecimalField(max_digits=5, decimal_places=2, default=0, auto_round=True)  # percent
    vat_rate = IntegerField(null=True)  # 22, 10, 0; NULL is "no VAT"
    created_at = DateTimeField()

    class Meta:
        table_name = "deal_line"
        indexes = ((("deal", "position"), False),)


class Document(BaseModel):
    deal = ForeignKeyField(Deal, on_delete="CASCADE", backref="documents")
    kind = CharField(max_length=16)  # proposal, invoice, act
    number = IntegerField()  # per kind; a revision keeps the number and takes the next version
    version = IntegerField(default=1)
    lang = CharField(max_length=2)
    issued_at = DateTimeField()
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    total = BigIntegerField()  # minor units
    currency = CharField(max_length=3)
    snapshot = TextField()  # JSON: the lines, totals, requisites and client as issued
    sent_at = DateTimeField(null=True)

    class Meta:
        table_name = "document"
        indexes = (
            (("kind", "number", "version"), True),
            (("deal", "kind"), False),
        )


DOC_MODELS: list[type[BaseModel]] = [DealLine, Document]
