"""What the desk did on a person's request about their data (152-FZ, GDPR): exports and erasures.

A row says who asked for what, when and why, and what was touched (counts per table), never the data
itself: an erasure's record must not keep what it erased.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui.data.models import BaseModel, User


class PersonalDataRequest(BaseModel):
    kind = CharField(max_length=16)  # "export" | "erase"
    contact_id = IntegerField(index=True)  # the contact's row stays (erased), so the id keeps meaning
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField()
    reason = TextField(default="")
    touched = TextField(default="")  # JSON: rows changed per table, for an erasure


PRIVACY_MODELS: list[type[BaseModel]] = [PersonalDataRequest]
