"""Settings in the app: the theme picked is the theme of the next start; the settings screen (ctrl+p ->
Settings) shows and edits the desk's settings and the stages' numbers, refusing bad values beside the
field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Label

from crm_tui import prefs
from crm_tui.app import make_app
from crm_tui.data.db import database
from crm_tui.data.models import Setting, Stage
from tests.desk_fixtures import NOW, Desk, open_desk


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = open_desk(tmp_path)
    database.close()
    return d


async def settle(app: Any, pilot: Any) -> None:
    """The reads and writes done and drawn; the worker of an open form waits for the form, not for us."""
    for _ in range(3):
        busy = [w for w in app.workers if w.group != "settings-edit" and not w.is_finished]
        if busy:
            await app.workers.wait_for_complete(busy)
        await pilot.pause()


def rows(app: Any, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def shown_errors(app: Any) -> list[str]:
    return [
        str(label.render())
        for label in app.screen.query(".field-error.-shown, .form-error.-shown").results(Label)
    ]


async def open_settings(app: Any, pilot: Any, query: str = "settings") -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "SettingsScreen"


async def test_the_theme_picked_is_the_theme_of_the_next_start(desk: Desk) -> None:
    first = make_app(desk.url, clock=lambda: NOW, poll_seconds=0)
    async with first.run_test(size=(100, 30)) as pilot:
        await settle(first, pilot)
        assert first.theme == "textual-dark"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme")
        await settle(first, pilot)
        await pilot.press("enter")  # Textual's "Theme" command: the list of themes
        await settle(first, pilot)
        await pilot.press(*"nord")
        await settle(first, pilot)
        await pilot.press("enter")
        await settle(first, pilot)
        assert first.theme == "nord"
    assert tomllib.loads(prefs.path().read_text()) == {"theme": "nord"}

    second = make_app(desk.url, clock=lambda: NOW, poll_seconds=0)
    async with second.run_test(size=(100, 30)) as pilot:
        await settle(second, pilot)
        assert second.theme == "nord"
        assert second.current_theme.name == "nord"


async def test_an_unknown_theme_in_the_file_leaves_the_default(desk: Desk) -> None:
    prefs.path().parent.mkdir(parents=True)
    prefs.path().write_text('theme = "no-such-theme"\n')
    app = make_app(desk.url, clock=lambda: NOW, poll_seconds=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.theme == "textual-dark"
    assert prefs.path().read_text() == 'theme = "no-such-theme"\n'


async def test_the_settings_screen_shows_and_edits_desk_settings_and_stages(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW, poll_seconds=0)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await open_settings(app, pilot)
        assert rows(app, "desk-settings")[2] == [
            "reminders.every",
            "1h",
            "1h",
            "how often an overdue task is reminded again",
        ]
        assert rows(app, "stage-settings")[1] == ["2", "Need discovery", "10%", "7 d"]
        assert rows(app, "personal-settings")[0][:2] == ["theme", "not set"]

        await pilot.press("down", "down", "e")  # reminders.every
        await settle(app, pilot)
        await pilot.press("ctrl+u", *"soon", "enter")
        await settle(app, pilot)
        assert shown_errors(app) == ["Not an interval: 'soon' (use 30m, 1h, 90s)"]
        with database.connection_context():
            assert Setting.select().count() == 0
        await pilot.press("ctrl+u", *"90", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "SettingsScreen"
        assert rows(app, "desk-settings")[2][:3] == ["reminders.every", "90m", "1h"]
        with database.connection_context():
            assert [(s.key, s.value) for s in Setting.select()] == [("reminders.every", "90m")]

        await pilot.press("r")  # back to the default
        await settle(app, pilot)
        assert rows(app, "desk-settings")[2][:2] == ["reminders.every", "1h"]
        with database.connection_context():
            assert Setting.select().count() == 0

        await pilot.press("tab", "down", "enter")  # stage 2
        await settle(app, pilot)
        await pilot.press("ctrl+u", *"101", "tab", "ctrl+u", "0", "ctrl+s")
        await settle(app, pilot)
        assert shown_errors(app) == [
            "probability: between 0 and 100 %, not 101",
            "stale days: at least 1, not 0",
        ]
        with database.connection_context():
            assert Stage.get(Stage.position == 1).probability == 10
        await pilot.press("ctrl+u", *"15", "tab", "ctrl+u", "5", "enter")
        await settle(app, pilot)
        assert rows(app, "stage-settings")[1] == ["2", "Need discovery", "15%", "5 d"]
        with database.connection_context():
            stage = Stage.get(Stage.position == 1)
            assert (stage.probability, stale_days := stage.stale_days) == (15, 5), stale_days

        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadInboxScreen"


async def test_the_settings_screen_in_russian(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW, poll_seconds=0, lang="ru")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await open_settings(app, pilot, "настройки")
        assert rows(app, "desk-settings")[3] == ["currency.default", "RUB", "RUB", "валюта новой сделки"]
        assert rows(app, "stage-settings")[1] == ["2", "Выяснение потребности", "10%", "7 дн."]
        await pilot.press("down", "down", "down", "enter")  # currency.default
        await settle(app, pilot)
        await pilot.press("ctrl+u", *"рубли", "enter")
        await settle(app, pilot)
        assert shown_errors(app) == ["Это не код валюты: «рубли» (три латинские буквы, например RUB)"]
        await pilot.press("escape")
        await settle(app, pilot)
        with database.connection_context():
            assert Setting.select().count() == 0
        await pilot.press("tab", "tab", "down", "e")  # lang, in the personal file
        await settle(app, pilot)
        await pilot.press(*"ru", "enter")
        await settle(app, pilot)
        assert rows(app, "personal-settings")[1][:2] == ["lang", "ru"]
    assert tomllib.loads(prefs.path().read_text()) == {"lang": "ru"}


def test_every_key_of_the_settings_screen_has_russian_text() -> None:
    from textual.binding import Binding

    from crm_tui.i18n import STRINGS
    from crm_tui.screens.settings import SettingsScreen

    ids = [b.id for b in SettingsScreen.BINDINGS if isinstance(b, Binding)]
    assert ids and all(i in STRINGS["ru"] and f"{i}.tip" in STRINGS["ru"] for i in ids)
