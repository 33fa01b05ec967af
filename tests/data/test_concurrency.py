"""Two connections on one SQLite file: a transaction that reads and then writes waits for the other
writer instead of failing with "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from crm_tui.data.db import connect_url, resolve_url


def test_read_then_write_waits_for_a_writer_that_committed_meanwhile(tmp_path: Path) -> None:
    url = resolve_url(str(tmp_path / "crm.db"))
    first, second = connect_url(url), connect_url(url)
    first.execute_sql("CREATE TABLE note (body TEXT)")
    first.close()
    read_done = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        read_done.wait(5)
        try:
            with second.atomic():
                second.execute_sql("INSERT INTO note VALUES ('from the other process')")
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            second.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with first.atomic():
        (count,) = first.execute_sql("SELECT count(*) FROM note").fetchone()
        read_done.set()
        thread.join(0.3)  # the other writer commits here when this transaction did not lock first
        first.execute_sql("INSERT INTO note VALUES (?)", (f"after reading {count} notes",))
    thread.join(15)
    rows = sorted(body for (body,) in first.execute_sql("SELECT body FROM note").fetchall())
    first.close()
    assert errors == []
    assert rows == ["after reading 0 notes", "from the other process"]


@pytest.mark.postgres
def test_opposite_moves_on_postgresql_keep_stage_totals_without_deadlocks(pg_url: str) -> None:
    """Two connections move deals between the same two stages in opposite directions, 150 times each.
    The stage totals' trigger updates the two stages' rows in a fixed order, so neither transaction
    deadlocks the other, and the totals still match the deals."""
    from datetime import datetime

    from crm_tui.data.db import open_database
    from crm_tui.services import deals, pipelines, users

    now = datetime(2026, 11, 27, 10, 0)
    desk = open_database(pg_url)
    with desk.connection_context():
        admin = users.ensure_default(now).id
        pipelines.ensure_default()
        first, second = (s.id for s in pipelines.stages(pipelines.default_pipeline_id())[:2])
        made = [deals.create(f"D{i}", contact_id=None, amount=10, by=admin, now=now).id for i in range(2)]
        deals.move(made[1], second, by=admin, now=now)
    desk.close()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def mover(deal_id: int, there: int, back: int) -> None:
        conn = connect_url(pg_url)
        try:
            start.wait(5)
            for i in range(150):
                with conn.atomic():
                    conn.execute_sql(
                        "UPDATE deal SET stage_id = %s WHERE id = %s",
                        (there if i % 2 == 0 else back, deal_id),
                    )
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            conn.close()

    threads = [
        threading.Thread(target=mover, args=(made[0], second, first)),
        threading.Thread(target=mover, args=(made[1], first, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    check = connect_url(pg_url)
    kept = dict(check.execute_sql("SELECT stage_id, deals FROM stage_total WHERE deals <> 0").fetchall())
    grouped = dict(check.execute_sql("SELECT stage_id, COUNT(*) FROM deal GROUP BY stage_id").fetchall())
    check.close()
    assert kept == grouped == {first: 1, second: 1}
