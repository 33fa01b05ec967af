"""Migration 11: a desk upgraded from version 10 gets ``deal.archived_at``, stage totals that count only
unarchived deals, and triggers that move a deal out of its stage's total when archived and back when
restored (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_tui.data import migrations
from crm_tui.data.db import connect_url, database, is_sqlite


def _upgrade_from_10(url: str) -> None:
    old = connect_url(url)
    database.initialize(old)
    with old.connection_context():
        migrations.upgrade(old, target=10)
        old.execute_sql("INSERT INTO pipeline (id, name, is_default) VALUES (1, 'Sales', true)")
        for stage_id, kind in ((1, "open"), (2, "open"), (3, "lost")):
            old.execute_sql(
                "INSERT INTO stage (id, pipeline_id, position, name, name_ru, probability, kind, stale_days) "
                f"VALUES ({stage_id}, 1, {stage_id - 1}, 'S{stage_id}', '', 10, '{kind}', 7)"
            )
        for deal_id, stage_id, amount in ((1, 1, 100), (2, 1, 250), (3, 2, 1000)):
            old.execute_sql(
                "INSERT INTO deal (id, title, pipeline_id, stage_id, amount, currency, stage_entered_at, "
                f"created_at) VALUES ({deal_id}, 'D{deal_id}', 1, {stage_id}, {amount}, 'RUB', "
                "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
            )
        # archived by hand before the step: version 10's triggers still count it
        old.execute_sql("UPDATE deal SET archived_at = '2026-01-02 10:00:00' WHERE id = 2")
        totals = "SELECT stage_id, deals, amount FROM stage_total WHERE deals <> 0 ORDER BY stage_id"
        assert [tuple(r) for r in old.execute_sql(totals).fetchall()] == [(1, 2, 350), (2, 1, 1000)]
        assert migrations.upgrade(old) == [m.version for m in migrations.all_migrations() if m.version >= 11]
        assert [tuple(r) for r in old.execute_sql(totals).fetchall()] == [(1, 1, 100), (2, 1, 1000)]
        # archiving, restoring, a move of an archived deal and a delete keep the totals right
        old.execute_sql("UPDATE deal SET archived_at = '2026-01-03 10:00:00' WHERE id = 3")
        old.execute_sql("UPDATE deal SET stage_id = 2, amount = 300 WHERE id = 2")  # archived: no change
        assert [tuple(r) for r in old.execute_sql(totals).fetchall()] == [(1, 1, 100)]
        old.execute_sql("UPDATE deal SET archived_at = NULL WHERE id = 2")
        old.execute_sql("DELETE FROM deal WHERE id = 1")
        old.execute_sql("DELETE FROM deal WHERE id = 3")  # archived: its stage's total does not move
        assert [tuple(r) for r in old.execute_sql(totals).fetchall()] == [(2, 1, 300)]
        indexes = {i.name for i in old.get_indexes("deal")}
        assert {"deal_live_stage_currency_amount", "deal_archived"} <= indexes
        assert "deal_stage_id_currency_amount" not in indexes
        if is_sqlite(old):
            plan = old.execute_sql(
                "EXPLAIN QUERY PLAN SELECT stage_id, currency, COUNT(*), SUM(amount) FROM deal "
                "WHERE archived_at IS NULL GROUP BY stage_id, currency"
            ).fetchall()
            assert "COVERING INDEX deal_live_stage_currency_amount" in " ".join(str(r[-1]) for r in plan)
    old.close()


def test_an_older_sqlite_desk_counts_only_unarchived_deals_after_step_11(tmp_path: Path) -> None:
    _upgrade_from_10(f"sqlite:///{tmp_path / 'crm.db'}")


@pytest.mark.postgres
def test_an_older_postgresql_desk_counts_only_unarchived_deals_after_step_11(pg_url: str) -> None:
    _upgrade_from_10(pg_url)
