"""Version 11: a deal entered by mistake can be archived (``deal.archived_at``) and leaves the totals.

An archived deal keeps its row and its history, but leaves the board, the lists, the search and the
reports. The kanban's headers come from ``stage_total`` (migration 10), kept by triggers: they are
replaced here by twins that count a deal only while ``archived_at`` is NULL, and archiving or restoring
a deal takes it out of its stage's total or puts it back, in the same transaction. The totals are filled
again from the unarchived deals.

The (stage, currency, amount) index that lets the counts and sums be read without the deal rows becomes
a partial index over the unarchived deals (every query that counts deals asks for them; ``archived_at``
is in it too, or SQLite reads each row to test it), and a small partial index finds the archived ones
(the reports leave their stage history out).

On PostgreSQL a move still touches the two stages' rows in a fixed order (stage, then currency), so two
moves in opposite directions wait for each other instead of deadlocking.
"""

from __future__ import annotations

from peewee import Database, DateTimeField

from crm_tui.data.db import is_sqlite
from crm_tui.data.migrations import add_column

ADD = """
INSERT INTO stage_total (stage_id, currency, deals, amount)
SELECT {row}.stage_id, {row}.currency, 1, {row}.amount WHERE {row}.archived_at IS NULL
ON CONFLICT (stage_id, currency) DO UPDATE
SET deals = stage_total.deals + 1, amount = stage_total.amount + excluded.amount;
"""
TAKE = """
UPDATE stage_total SET deals = deals - 1, amount = amount - {row}.amount
WHERE stage_id = {row}.stage_id AND currency = {row}.currency AND {row}.archived_at IS NULL;
"""

SQLITE = [
    "DROP TRIGGER IF EXISTS deal_stage_total_insert",
    "DROP TRIGGER IF EXISTS deal_stage_total_delete",
    "DROP TRIGGER IF EXISTS deal_stage_total_update",
    f"""CREATE TRIGGER deal_stage_total_insert AFTER INSERT ON deal
    BEGIN {ADD.format(row="NEW")} END""",
    f"""CREATE TRIGGER deal_stage_total_delete AFTER DELETE ON deal
    BEGIN {TAKE.format(row="OLD")} END""",
    f"""CREATE TRIGGER deal_stage_total_update
    AFTER UPDATE OF stage_id, currency, amount, archived_at ON deal
    WHEN OLD.stage_id IS NOT NEW.stage_id OR OLD.currency IS NOT NEW.currency
      OR OLD.amount IS NOT NEW.amount OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL)
    BEGIN {TAKE.format(row="OLD")} {ADD.format(row="NEW")} END""",
]

PG_ADD = """
INSERT INTO stage_total (stage_id, currency, deals, amount) VALUES (NEW.stage_id, NEW.currency, 1, NEW.amount)
ON CONFLICT (stage_id, currency) DO UPDATE
SET deals = stage_total.deals + 1, amount = stage_total.amount + excluded.amount;
"""
PG_TAKE = """
UPDATE stage_total SET deals = deals - 1, amount = amount - OLD.amount
WHERE stage_id = OLD.stage_id AND currency = OLD.currency;
"""

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION deal_stage_total() RETURNS trigger AS $$
    DECLARE
        old_in boolean := false;
        new_in boolean := false;
        take_first boolean := true;
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            old_in := OLD.archived_at IS NULL;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            new_in := NEW.archived_at IS NULL;
        END IF;
        IF TG_OP = 'UPDATE' THEN
            IF old_in = new_in AND (NOT old_in OR (OLD.stage_id = NEW.stage_id
                AND OLD.currency = NEW.currency AND OLD.amount = NEW.amount)) THEN
                RETURN NULL;
            END IF;
            take_first := (OLD.stage_id, OLD.currency) < (NEW.stage_id, NEW.currency);
        END IF;
        IF old_in AND (take_first OR NOT new_in) THEN
            {PG_TAKE}
        END IF;
        IF new_in THEN
            {PG_ADD}
        END IF;
        IF old_in AND new_in AND NOT take_first THEN
            {PG_TAKE}
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS deal_stage_total ON deal",
    """CREATE TRIGGER deal_stage_total
    AFTER INSERT OR DELETE OR UPDATE OF stage_id, currency, amount, archived_at ON deal
    FOR EACH ROW EXECUTE FUNCTION deal_stage_total()""",
]

INDEXES = [
    'DROP INDEX IF EXISTS "deal_stage_id_currency_amount"',
    'CREATE INDEX IF NOT EXISTS "deal_live_stage_currency_amount" ON "deal" '
    '("stage_id", "currency", "amount", "archived_at") WHERE archived_at IS NULL',
    'CREATE INDEX IF NOT EXISTS "deal_archived" ON "deal" ("id") WHERE archived_at IS NOT NULL',
]

FILL = """
INSERT INTO stage_total (stage_id, currency, deals, amount)
SELECT stage_id, currency, COUNT(*), COALESCE(SUM(amount), 0) FROM deal WHERE archived_at IS NULL
GROUP BY stage_id, currency
"""


def apply(db: Database) -> None:
    if not is_sqlite(db):
        # Deal writes wait for this step: a row written meanwhile would miss both the new triggers and
        # the fill. (SQLite's writer lock, taken by the migration's transaction, already does this.)
        db.execute_sql("LOCK TABLE deal IN SHARE ROW EXCLUSIVE MODE")
    add_column(db, "deal", "archived_at", DateTimeField(null=True))
    for statement in (SQLITE if is_sqlite(db) else POSTGRES) + INDEXES:
        db.execute_sql(statement)
    db.execute_sql("DELETE FROM stage_total")
    db.execute_sql(FILL)
