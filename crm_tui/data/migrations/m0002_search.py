"""Version 2: the full-text search index over leads, contacts, companies and deals.

It was filled from the rows here; migration 12 fills it now (it reads columns that step adds, and every
upgrade runs to the latest version), so an older file's index is built once, the way the desk indexes
today.
"""

from peewee import Database

from crm_tui.data import search


def apply(db: Database) -> None:
    search.create_index(db)
