"""Version 12: contacts and companies of their own, and search that finds them.

- ``company``: INN, KPP, phone, e-mail, address, website (INN indexed: a company is looked up by it), and
  ``archived_at``; ``contact``: ``archived_at`` and ``duplicate_of`` (added although another contact had
  the same phone or e-mail).
- The search index is built again from the rows: ``ё`` is indexed as ``е``, leads are found by their
  comment, UTM keyword and campaign, contacts by their tags, companies by their INN, phone, e-mail,
  website and address, and archived records are left out (see ``data/search.py``).
"""

from peewee import CharField, Database, DateTimeField, IntegerField

from crm_tui.data import search
from crm_tui.data.migrations import add_column
from crm_tui.data.models import EMPTY


def apply(db: Database) -> None:
    for name, field in (
        ("inn", CharField(max_length=12, default="", constraints=EMPTY)),
        ("kpp", CharField(max_length=9, default="", constraints=EMPTY)),
        ("phone", CharField(max_length=32, default="", constraints=EMPTY)),
        ("email", CharField(max_length=320, default="", constraints=EMPTY)),
        ("address", CharField(max_length=500, default="", constraints=EMPTY)),
        ("website", CharField(max_length=300, default="", constraints=EMPTY)),
        ("archived_at", DateTimeField(null=True)),
    ):
        add_column(db, "company", name, field)
    add_column(db, "contact", "archived_at", DateTimeField(null=True))
    add_column(db, "contact", "duplicate_of", IntegerField(null=True))
    db.execute_sql("CREATE INDEX IF NOT EXISTS company_inn ON company (inn)")
    search.rebuild(db)
