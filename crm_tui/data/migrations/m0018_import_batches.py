"""Version 18: imports from files are batches (``import_batch``), with the records each one created or
updated (``import_item``, with an updated record's previous values) so a batch can be reverted."""

from peewee import Database

from crm_tui.data.import_models import IMPORT_MODELS


def apply(db: Database) -> None:
    db.create_tables(IMPORT_MODELS, safe=True)
