"""Version 19: merged records point at the record they were merged into, and a person's data requests
are recorded.

``contact.merged_into`` and ``company.merged_into`` hold the id of the record a merge moved everything to
(the merged one is archived, its row kept so old links still lead somewhere). ``personal_data_request``
records each export and erasure of a person's data: who, when, why, and how many rows were touched.
"""

from __future__ import annotations

from peewee import Database, IntegerField

from crm_tui.data.migrations import add_column
from crm_tui.data.privacy_models import PRIVACY_MODELS


def apply(db: Database) -> None:
    add_column(db, "contact", "merged_into", IntegerField(null=True))
    add_column(db, "company", "merged_into", IntegerField(null=True))
    db.create_tables(PRIVACY_MODELS, safe=True)
