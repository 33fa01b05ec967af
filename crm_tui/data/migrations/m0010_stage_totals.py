"""Version 10: ``stage_total``, each stage's deals and amounts per currency, kept by triggers on ``deal``.

The kanban's headers grouped every deal of the desk on each opening: 25-30 ms on a desk of 265,000 deals,
most of them won or lost. The totals now live in a small table that the database itself keeps: a trigger
adds a deal where it is inserted, takes it out where it is deleted, and moves it when its stage, currency
or amount changes. Every writer (the app, the CLI, the demo generator, a hand-written UPDATE) keeps them
right, in the same transaction as the change.

The triggers are twins: SQLite's three triggers with UPSERT (>= 3.24), PostgreSQL's one PL/pgSQL function.
On PostgreSQL a move touches the two stages' rows in a fixed order (stage, then currency), so two moves
in opposite directions wait for each other instead of deadlocking. The table is filled from the deals
once, here.
"""

from __future__ import annotations

from peewee import Database

from crm_tui.data.db import is_sqlite
from crm_tui.data.models import StageTotal

ADD = """
INSERT INTO stage_total (stage_id, currency, deals, amount)
VALUES ({row}.stage_id, {row}.currency, 1, {row}.amount)
ON CONFLICT (stage_id, currency) DO UPDATE
SET deals = stage_total.deals + 1, amount = stage_total.amount + excluded.amount;
"""
TAKE = """
UPDATE stage_total SET deals = deals - 1, amount = amount - {row}.amount
WHERE stage_id = {row}.stage_id AND currency = {row}.currency;
"""

SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS deal_stage_total_insert AFTER INSERT ON deal
    BEGIN {ADD.format(row="NEW")} END""",
    f"""CREATE TRIGGER IF NOT EXISTS deal_stage_total_delete AFTER DELETE ON deal
    BEGIN {TAKE.format(row="OLD")} END""",
    f"""CREATE TRIGGER IF NOT EXISTS deal_stage_total_update
    AFTER UPDATE OF stage_id, currency, amount ON deal
    WHEN OLD.stage_id IS NOT NEW.stage_id OR OLD.currency IS NOT NEW.currency
      OR OLD.amount IS NOT NEW.amount
    BEGIN {TAKE.format(row="OLD")} {ADD.format(row="NEW")} END""",
]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION deal_stage_total() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.stage_id = NEW.stage_id AND OLD.currency = NEW.currency
           AND OLD.amount = NEW.amount THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE'
           OR (TG_OP = 'UPDATE' AND (OLD.stage_id, OLD.currency) < (NEW.stage_id, NEW.currency)) THEN
            {TAKE.format(row="OLD")}
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {ADD.format(row="NEW")}
        END IF;
        IF TG_OP = 'UPDATE' AND (OLD.stage_id, OLD.currency) >= (NEW.stage_id, NEW.currency) THEN
            {TAKE.format(row="OLD")}
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS deal_stage_total ON deal",
    """CREATE TRIGGER deal_stage_total AFTER INSERT OR DELETE OR UPDATE OF stage_id, currency, amount ON deal
    FOR EACH ROW EXECUTE FUNCTION deal_stage_total()""",
]

FILL = """
INSERT INTO stage_total (stage_id, currency, deals, amount)
SELECT stage_id, currency, COUNT(*), COALESCE(SUM(amount), 0) FROM deal GROUP BY stage_id, currency
"""


def apply(db: Database) -> None:
    db.create_tables([StageTotal], safe=True)
    if not is_sqlite(db):
        # Another process may write deals meanwhile: its rows would miss both the triggers (not yet
        # committed) and the fill (not in this snapshot). Deal writes wait for this step instead.
        # (SQLite's writer lock, taken by the migration's transaction, already does this.)
        db.execute_sql("LOCK TABLE deal IN SHARE MODE")
    for statement in SQLITE if is_sqlite(db) else POSTGRES:
        db.execute_sql(statement)
    db.execute_sql("DELETE FROM stage_total")
    db.execute_sql(FILL)
