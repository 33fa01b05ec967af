"""Version 5: call scripts, the calls made with them and the path each call took."""

from peewee import Database

from crm_tui.data.script_models import SCRIPT_MODELS


def apply(db: Database) -> None:
    db.create_tables(SCRIPT_MODELS, safe=True)
