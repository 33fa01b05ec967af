"""``m`` on the contact card: compose from a template, read it, send it; the e-mail appears in the history."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.mail_models import OutboxMessage
from crm_tui.data.models import Interaction
from tests.desk_fixtures import NOW
from tests.mail_servers import SmtpServer, point_desk_at
from tests.screens.test_contact_card import events, form_error, open_card, rows, text
from tests.screens.test_deal_kanban import Board, seed_board, settle


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path, smtp: SmtpServer) -> Board:
    seeded = seed_board(tmp_path)
    db = open_database(seeded.url)
    with db.connection_context():
        point_desk_at(smtp.port)
    db.close()
    return seeded


async def test_m_composes_in_russian_shows_the_text_and_sends(board: Board, smtp: SmtpServer) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("ctrl+a", "ctrl+k", *"proposal", "enter", "enter")
        await settle(app, pilot)
        preview = text(app, "#mail-preview")
        assert "To: petr@vector.ru" in preview and "Коммерческое предложение" in preview
        assert "Пётр Сидоров, добрый день!" in preview
        assert smtp.received == []  # shown, not sent yet
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "✉" in events(app)[0] or "Коммерческое предложение" in events(app)[0]
    got = message_from_bytes(smtp.received[0].content, policy=default)
    assert got["To"] == "petr@vector.ru"
    with database.connection_context():
        assert rows(Interaction, contact=board.contact_id, kind="email_out")


async def test_a_refusal_stays_in_the_dialog_and_the_message_in_the_outbox(
    board: Board, smtp: SmtpServer
) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("ctrl+a", "ctrl+k", *"nonesuch", "enter", "enter")
        await settle(app, pilot)
        assert "No template 'nonesuch'" in form_error(app)
        await pilot.press(*"refuse@example.org", "shift+tab", "ctrl+a", "ctrl+k", *"act", "enter", "enter")
        await settle(app, pilot)
        assert "refuse@example.org" in str(app.screen.query_one("#mail-preview", Static).render())
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "Не отправлено" in form_error(app) and "550" in form_error(app)
    assert rows(OutboxMessage, recipient="refuse@example.org")
    assert not rows(Interaction, kind="email_out", subject="Акт выполненных работ")
