"""Snapshots of the deal kanban and the contact card on a fixed seeded desk, fixed clock, fixed size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from crm_tui.app import make_app
from crm_tui.screens.contact_card import ContactCardScreen
from tests.desk_fixtures import NOW
from tests.screens.test_deal_kanban import seed_board, settle


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def test_kanban_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    board = seed_board(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot.app, pilot)

    app = make_app(board.url, clock=lambda: NOW)
    assert snap_compare(app, run_before=run_before, terminal_size=(200, 40))


def test_kanban_snapshot_narrow(tmp_path: Path, snap_compare: Any) -> None:
    board = seed_board(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.press("2", "l", "l", "l", "l", "l")
        await settle(pilot.app, pilot)

    app = make_app(board.url, clock=lambda: NOW)
    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


def test_contact_card_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    board = seed_board(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(ContactCardScreen(board.contact_id))
        await settle(pilot.app, pilot)

    app = make_app(board.url, clock=lambda: NOW)
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))
