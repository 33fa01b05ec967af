"""Version 1: the core tables of the desk."""

from peewee import Database

from crm_tui.data.models import CORE_MODELS


def apply(db: Database) -> None:
    db.create_tables(CORE_MODELS, safe=True)
