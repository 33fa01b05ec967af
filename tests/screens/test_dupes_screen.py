"""``d`` on the contact list: the focused contact's likely duplicates, and merging one into it after a
question; in English and Russian."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Label, OptionList

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Contact, ContactChannel
from crm_tui.screens.contacts import ContactListScreen
from crm_tui.screens.dialogs.dupes import DupesDialog
from crm_tui.screens.dialogs.note import QuestionDialog
from crm_tui.services import contacts, pipelines, users
from tests.desk_fixtures import NOW
from tests.screens.test_deal_kanban import settle, until_dialog


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def two(tmp_path: Path) -> tuple[str, int, int, int]:
    """A desk with Пётр Сидоров, his twin with the same phone (the newest, focused first) and a stranger."""
    url = f"sqlite:///{tmp_path / 'dupes.db'}"
    db = open_database(url)
    with db.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
        keep = contacts.create(
            contacts.ContactEdit("Иван Ким", phones=("+7 926 444-44-44",)), by=None, now=NOW
        )
        petr = contacts.create(
            contacts.ContactEdit("Пётр Сидоров", phones=("+7 495 200-30-40",), emails=("petr@vector.ru",)),
            by=None,
            now=NOW,
        )
        twin = contacts.create(
            contacts.ContactEdit("Сидоров П.", phones=("8 495 200-30-40", "+7 916 000-11-22")),
            by=None,
            now=NOW,
            force=True,
        )
    db.close()
    return url, keep, petr, twin


def toasts(app: App[None]) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def test_d_shows_the_duplicates_and_merges_one_after_asking(two: tuple[str, int, int, int]) -> None:
    url, _, petr, twin = two
    app = make_app(url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactListScreen)
        await pilot.press("down")  # from the twin (newest) to Пётр Сидоров
        await pilot.press("d")
        await until_dialog(app, pilot)
        assert isinstance(app.screen, DupesDialog)
        assert "Likely duplicates of Пётр Сидоров" in str(app.screen.query_one(".form-title", Label).render())
        options = app.screen.query_one("#dupes-list", OptionList)
        assert options.option_count == 1
        assert str(options.get_option_at_index(0).prompt).startswith(f"#{twin} Сидоров П. · +7 495 200-30-40")
        await pilot.press("enter")
        await until_dialog(app, pilot)
        assert isinstance(app.screen, QuestionDialog)
        await pilot.press("n")  # not yet: nothing merged
        await settle(app, pilot)
        with database.connection_context():
            assert Contact.get_by_id(twin).archived_at is None
        await pilot.press("d")
        await until_dialog(app, pilot)
        await pilot.press("enter")
        await until_dialog(app, pilot)
        assert f"Merge #{twin} Сидоров П. into #{petr} Пётр Сидоров?" in str(
            app.screen.query_one(".question", Label).render()
        )
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactListScreen)
        assert f"Merged #{twin} into Пётр Сидоров (#{petr})" in toasts(app)
        with database.connection_context():
            assert Contact.get_by_id(twin).merged_into == petr
            phones = (
                ContactChannel.select(ContactChannel.value)
                .where(ContactChannel.contact == petr, ContactChannel.kind == "phone")
                .order_by(ContactChannel.position)
            )
            assert [c.value for c in phones] == ["+74952003040", "+79160001122"]
        await pilot.press("d")
        await settle(app, pilot)
        assert "No likely duplicates of" in toasts(app)


async def test_in_russian(two: tuple[str, int, int, int]) -> None:
    url, keep, _, _ = two
    app = make_app(url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("down", "d")
        await until_dialog(app, pilot)
        assert "Возможные дубли: Пётр Сидоров" in str(app.screen.query_one(".form-title", Label).render())
        await pilot.press("enter")
        await until_dialog(app, pilot)
        assert "уйдёт в архив" in str(app.screen.query_one(".question", Label).render())
        await pilot.press("escape", "escape")
        await settle(app, pilot)
        await pilot.press("down", "d")  # Иван Ким: no duplicates
        await settle(app, pilot)
        assert "У контакта Иван Ким дублей не нашлось" in toasts(app)
        with database.connection_context():
            assert Contact.select().where(Contact.archived_at.is_null(False)).count() == 0
        assert keep
