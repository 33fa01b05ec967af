"""Two connections on one SQLite file: a transaction that reads and then writes waits for the other
writer instead of failing with "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

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
