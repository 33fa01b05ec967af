"""Version 2: the full-text search index over leads, contacts, companies and deals, built from the rows."""

from peewee import Database

from crm_tui.data import search


def apply(db: Database) -> None:
    search.create_index(db)
    search.rebuild(db)
