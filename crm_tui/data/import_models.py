"""Imports from files: each import is a batch, and each record it created or updated is an item of it,
so that ``crm import revert BATCH`` can take the batch back out."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui.data.models import BaseModel, User


class ImportBatch(BaseModel):
    """One run of ``crm import KIND FILE``: what it read and what it did.

    ``created``/``updated``/``unchanged``/``rejected``/``duplicates`` count the file's rows by verdict;
    ``reverted_at`` is set once ``crm import revert`` took the batch back.
    """

    kind = CharField(max_length=32)
    source = CharField(max_length=2000)
    file_format = CharField(max_length=8)
    options = TextField(default="")  # JSON: --update, --skip-errors, --owner, --map
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()
    rows = IntegerField(default=0)
    created = IntegerField(default=0)
    updated = IntegerField(default=0)
    unchanged = IntegerField(default=0)
    rejected = IntegerField(default=0)
    duplicates = IntegerField(default=0)
    reverted_at = DateTimeField(null=True)


class ImportItem(BaseModel):
    """A record a batch created or updated: ``table_name`` and ``record_id`` name it; ``action`` is
    ``created`` or ``updated``; ``before`` (JSON) holds an updated record's values before the import, and
    ``after`` a digest of the record as the import left it (a revert refuses a record changed since)."""

    batch = ForeignKeyField(ImportBatch, on_delete="CASCADE", backref="items")
    table_name = CharField(max_length=32)
    record_id = IntegerField()
    action = CharField(max_length=8)
    before = TextField(null=True)
    after = CharField(max_length=64, default="")

    class Meta:
        indexes = ((("batch", "table_name", "record_id"), False),)


IMPORT_MODELS: list[type[BaseModel]] = [ImportBatch, ImportItem]
