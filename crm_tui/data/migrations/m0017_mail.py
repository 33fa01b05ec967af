"""Version 17: e-mail - the desk's own templates, the outbox, and the Message-IDs already fetched."""

from peewee import Database

from crm_tui.data.mail_models import MAIL_MODELS


def apply(db: Database) -> None:
    db.create_tables(MAIL_MODELS, safe=True)
