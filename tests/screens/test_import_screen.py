"""The import screen, from the command palette: a path typed (tab completes it), the preview of the
mapping and each row's verdict, then ctrl+s imports; a file with a bad row is not imported."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from crm_tui.data.db import database, open_database
from crm_tui.data.import_models import ImportBatch
from crm_tui.data.models import ContactChannel
from crm_tui.screens.import_file import ImportScreen, suggest_path
from tests import import_files as files
from tests.conftest import Desk
from tests.screens.test_app import app_for, settle, steady  # noqa: F401 - the steady app fixture


def cells(screen: ImportScreen) -> list[tuple[str, str, str]]:
    table = screen.query_one("#import-rows", DataTable)
    return [tuple(str(c) for c in table.get_row_at(i))[:3] for i in range(table.row_count)]  # type: ignore[misc]


def text_of(screen: ImportScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_palette_preview_then_import(desk: Desk, tmp_path: Path) -> None:
    files.excel_csv(tmp_path)
    app = app_for(desk.db_url)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"Import contacts")
        await settle(app, pilot)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        await pilot.press(*str(tmp_path / "конт"), "right")  # the suggestion completes the name
        await pilot.press("enter")
        await settle(app, pilot)
        assert cells(screen) == [("2", "new", ""), ("3", "new", ""), ("5", "new", "")]
        assert "Телефон → phone, Моб. телефон → phone" in text_of(screen, "#import-mapping")
        assert "Ignored columns: Должность" in text_of(screen, "#import-mapping")
        assert "Rows 3: new 3" in text_of(screen, "#import-status")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, ImportScreen)
    database.close()
    db = open_database(desk.db_url)
    with db.connection_context():
        assert ContactChannel.select().where(ContactChannel.value == "+79161234567").exists()
        assert ImportBatch.select().count() == 1


async def test_a_file_with_a_bad_row_is_not_imported(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ФИО;Телефон\nХороший;+7 916 100-00-01\nПлохой;12345\n", encoding="utf-8")
    app = app_for(desk.db_url, lang="ru")
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(app, pilot)
        await app.push_screen(ImportScreen())
        await settle(app, pilot)
        screen = app.screen
        await pilot.press(*str(path), "enter")
        await settle(app, pilot)
        assert cells(screen) == [("2", "новая", ""), ("3", "ошибка", "")]
        assert "Сначала исправьте строки с ошибками" in text_of(screen, "#import-status")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        assert "Сначала исправьте" in text_of(screen, "#import-status")
        await pilot.press("shift+tab", "end", "x", "enter")  # back to the path: one that does not exist
        await settle(app, pilot)
        assert "No such file" in text_of(screen, "#import-status")
    database.close()
    db = open_database(desk.db_url)
    with db.connection_context():
        assert not ImportBatch.select().exists()
        assert not ContactChannel.select().where(ContactChannel.value == "+79161000001").exists()


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("x", encoding="utf-8")
    (tmp_path / "exports").mkdir()
    assert suggest_path(str(tmp_path / "con")) == str(tmp_path / "contacts.csv")
    assert suggest_path(str(tmp_path / "ex")) == str(tmp_path / "exports") + "/"
    assert suggest_path(str(tmp_path / "zzz")) is None
