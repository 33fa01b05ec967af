"""Snapshots of the inbox, the lead detail, the contact list and the empty desk (fixed clock and desk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from crm_tui.app import make_app
from crm_tui.data.db import database
from tests.conftest import NOW, Desk


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


async def settle(pilot: Any) -> None:
    """Wait for the loads and for the focus to land (the footer shows the focused widget's keys)."""
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.focused is not None:
            break
    for _ in range(5):  # the footer rebuilds its keys for the new focus a few messages later
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)


def app_for(url: str) -> Any:
    if database.obj is not None:
        database.close()
    return make_app(url, clock=lambda: NOW, poll_seconds=0)


@pytest.mark.parametrize(
    "keys", [[], ["enter"], ["3"], ["question_mark"]], ids=["inbox", "lead", "contacts", "help"]
)
def test_screens(desk: Desk, snap_compare: Any, keys: list[str]) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(app_for(desk.db_url), run_before=run_before, terminal_size=(120, 40))


def test_empty_desk(tmp_path: Path, snap_compare: Any) -> None:
    assert snap_compare(app_for(str(tmp_path / "crm.db")), run_before=settle, terminal_size=(120, 40))
