"""Version 3: web form keys for lead capture from landing pages."""

from peewee import Database

from crm_tui.data.intake_models import INTAKE_MODELS


def apply(db: Database) -> None:
    db.create_tables(INTAKE_MODELS, safe=True)
