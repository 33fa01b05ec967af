"""Version 7: stored first calls and stage stays, and the indexes that let the reports read them in order.

- ``lead.first_call_at``: the earliest ``call_in``/``call_out`` at or after the lead was created that is
  linked to the lead, or to its contact at or after the conversion. Filled here by one set-based UPDATE
  from the interactions (the same definition the reports used to compute on every run).
- ``stage_history.left_at``: when the deal left the stage, i.e. the ``at`` of the deal's next history row
  in (at, id) order; filled here with ``LEAD()`` over each deal's history. NULL: the deal is still there.
- Indexes whose key holds the delay in whole seconds (an expression: :mod:`crm_tui.data.durations`), so
  the medians and p90 of the sources, managers and velocity reports are read from an index at an offset
  instead of sorting up to a million values, and their counts come from the index alone:

  ============================== ===================================================================
  lead_report_source_term        (utm_source, utm_term, delay, created_at, owner_id, first_call_at,
                                 qualified_at, converted_at): counts and medians per keyword
  lead_report_source_first_call  (utm_source, delay, created_at, owner_id, first_call_at), called
                                 leads only: the median per source
  lead_report_owner              (owner_id, delay, created_at, first_call_at): per manager
  stage_history_report_stay      (to_stage_id, stay, at, left_at, deal_id), completed stays only
  ============================== ===================================================================

The UPDATE ... FROM and ``LEAD()`` run unchanged on SQLite (>= 3.33) and PostgreSQL.
"""

from __future__ import annotations

from peewee import Database, DateTimeField

from crm_tui.data.durations import first_call_seconds, stay_seconds
from crm_tui.data.migrations import add_column

CALLS = "('call_in', 'call_out')"

BACKFILL_FIRST_CALL = f"""
UPDATE lead SET first_call_at = f.first_at
FROM (
    SELECT c.lead_id, MIN(c.at) AS first_at FROM (
        SELECT l.id AS lead_id, i.at AS at FROM lead l
        JOIN interaction i ON i.lead_id = l.id
        WHERE i.kind IN {CALLS} AND i.at >= l.created_at
        UNION ALL
        SELECT l.id, i.at FROM lead l
        JOIN interaction i ON i.contact_id = l.contact_id
        WHERE l.converted_at IS NOT NULL AND i.kind IN {CALLS}
          AND i.at >= l.converted_at AND i.at >= l.created_at
    ) AS c GROUP BY c.lead_id
) AS f
WHERE lead.id = f.lead_id
"""

BACKFILL_LEFT_AT = """
UPDATE stage_history SET left_at = n.next_at
FROM (
    SELECT id, LEAD(at) OVER (PARTITION BY deal_id ORDER BY at, id) AS next_at FROM stage_history
) AS n
WHERE stage_history.id = n.id AND n.next_at IS NOT NULL
"""


def index_statements(db: Database) -> list[str]:
    delay = first_call_seconds(db)
    stay = stay_seconds(db)
    return [
        'CREATE INDEX IF NOT EXISTS "lead_report_source_term" ON "lead" '
        f"(utm_source, utm_term, ({delay}), created_at, owner_id, first_call_at, qualified_at, converted_at)",
        'CREATE INDEX IF NOT EXISTS "lead_report_source_first_call" ON "lead" '
        f"(utm_source, ({delay}), created_at, owner_id, first_call_at) WHERE first_call_at IS NOT NULL",
        'CREATE INDEX IF NOT EXISTS "lead_report_owner" ON "lead" '
        f"(owner_id, ({delay}), created_at, first_call_at)",
        'CREATE INDEX IF NOT EXISTS "stage_history_report_stay" ON "stage_history" '
        f"(to_stage_id, ({stay}), at, left_at, deal_id) WHERE left_at IS NOT NULL",
    ]


def apply(db: Database) -> None:
    add_column(db, "lead", "first_call_at", DateTimeField(null=True))
    add_column(db, "stage_history", "left_at", DateTimeField(null=True))
    db.execute_sql(BACKFILL_FIRST_CALL)
    db.execute_sql(BACKFILL_LEFT_AT)
    for statement in index_statements(db):
        db.execute_sql(statement)
