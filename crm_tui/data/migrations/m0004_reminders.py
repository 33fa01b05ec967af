"""Version 4: reminder deliveries (claimed before sending, marked after), so none is lost or doubled."""

from peewee import Database

from crm_tui.data.reminder_models import REMINDER_MODELS


def apply(db: Database) -> None:
    db.create_tables(REMINDER_MODELS, safe=True)
