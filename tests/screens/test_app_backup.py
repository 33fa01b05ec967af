"""The app takes the desk's daily backup in a thread after it has started, and only once a day."""

from __future__ import annotations

from pathlib import Path

import pytest

import crm_tui.app as app_module
from crm_tui.app import make_app
from crm_tui.data.db import database
from tests.conftest import NOW, Desk


def backups(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def integrity(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as raw:
        return str(raw.execute("PRAGMA integrity_check").fetchone()[0])


async def test_the_app_backs_the_desk_up_once_a_day(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "DAILY_BACKUP_AFTER", 0.01)
    database.close()
    folder = desk.db_path.parent / "backups"
    assert backups(folder) == []
    app = make_app(desk.db_url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        taken = backups(folder)
        assert len(taken) == 1 and taken[0].startswith("crm-2026-03-02T0900")
        assert integrity(folder / taken[0]) == "ok"
        app.daily_backup()  # again the same day: the newest is fresh, nothing taken
        await app.workers.wait_for_complete()
        assert backups(folder) == taken
