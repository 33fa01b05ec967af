"""The desk in Russian (``lang="ru"``), driven by keys: the contact card, the task queue, the reports, a form.

English stays the default (the other screen tests); here every title, label and message the screen itself
writes is Russian. Errors of the services stay English by design and are not asserted here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, OptionList, Static

from crm_tui.app import CrmApp, make_app
from crm_tui.data.db import database
from crm_tui.data.models import Interaction, Task
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.dialogs.log_call import LogCallDialog
from crm_tui.screens.dialogs.task_dialogs import NewTaskDialog
from crm_tui.screens.reports import ReportsScreen
from crm_tui.services import leads, tasks
from crm_tui.widgets.timeline import Timeline
from tests.desk_fixtures import NOW, Desk, open_desk
from tests.screens.test_deal_kanban import Board, seed_board

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return seed_board(tmp_path)


@pytest.fixture
def queue_desk(tmp_path: Path) -> Desk:
    """One overdue task (the first call of a new lead), one today, one upcoming, one done today."""
    d = open_desk(tmp_path)
    with database.connection_context():
        new = leads.NewLead("Иван Смирнов", "+7 916 123-45-67")
        lead = leads.register(new, by=d.admin_id, now=NOW - 2 * HOUR)
        assert tasks.open_for(lead_id=lead.id)
        tasks.create("Отправить КП", NOW + 3 * HOUR, by=d.admin_id, now=NOW)
        tasks.create("Квартальная встреча", NOW + timedelta(days=3), by=d.admin_id, now=NOW)
        finished = tasks.create("Утренняя проверка", NOW - HOUR, by=d.admin_id, now=NOW - 2 * HOUR)
        tasks.complete(finished.id, by=d.admin_id, now=NOW - timedelta(minutes=30))
    database.close()
    return d


def russian_app(url: str) -> CrmApp:
    database.close()
    return make_app(url, clock=lambda: NOW, poll_seconds=0, lang="ru")


async def settle(app: App[Any], pilot: Any) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def text(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer(app: App[Any]) -> str:
    """What the footer shows: each key with its label."""
    return " | ".join(str(key.render()) for key in app.screen.query("FooterKey"))


def events(app: App[Any]) -> list[str]:
    timeline = app.screen.query_one(Timeline)
    return [timeline.event_text(i) for i in range(len(timeline.rows))]


def rows(model: Any, **where: Any) -> list[Any]:
    with database.connection_context():
        query = model.select()
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(query)


async def open_card(app: CrmApp, pilot: Any, contact_id: int) -> None:
    await app.push_screen(ContactCardScreen(contact_id))
    await settle(app, pilot)


async def test_contact_card_in_russian(board: Board) -> None:
    app = russian_app(board.url)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        assert text(app, "#deals-title") == "Сделки"
        assert text(app, "#tasks-title") == "Открытые задачи"
        assert text(app, "#history-title").startswith("История · событий: ")
        header = text(app, "#card-header")
        assert "День рождения" in header and "Ответственный" in header and "Теги" in header
        assert "Анна Петрова (@anna)" in header
        deals_shown = text(app, "#card-deals")
        assert "Подготовка предложения" in deals_shown and "Proposal preparation" not in deals_shown
        assert "  420 000 ₽ · Подготовка предложения" in deals_shown.splitlines()
        assert "через" in text(app, "#card-tasks") or "назад" in text(app, "#card-tasks")
        shown = events(app)
        assert "☎ входящий" in shown[0] and "1:15" in shown[0]
        assert any("◉ встреча" in e for e in shown) and any("☎ исходящий" in e for e in shown)
        conversion = next(e for e in shown if "★ лид" in e)  # the rules wrote it in English
        assert "Лид #1 конвертирован" in conversion
        assert "открыта на этапе «Выяснение потребности»" in conversion
        assert any("дозвонились" in e for e in shown)  # the call was logged as "reached"
        keys = footer(app)
        for label in ("Записать звонок", "Заметка", "Задача", "Изменить", "Позвонить", "Назад"):
            assert label in keys

        await pilot.press("a")
        await settle(app, pilot)
        assert "Новая заметка" in str(app.screen.query_one(".form-title", Static).render())
        await pilot.press(*"Просил счёт на двоих", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        top = events(app)[0]
        assert "✎ заметка" in top and "Просил счёт на двоих" in top
        assert " пн 02 мар 2026 " in f" {top}"  # the weekday and the month in Russian
    assert rows(Interaction, contact=board.contact_id, kind="note", summary="Просил счёт на двоих")


async def test_log_call_form_refuses_bad_input_in_russian(board: Board) -> None:
    app = russian_app(board.url)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        before = len(rows(Interaction, contact=board.contact_id))
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, LogCallDialog)
        labels = [str(label.render()) for label in app.screen.query(".field-label").results(Static)]
        assert labels[:3] == [
            "Вид: звонок, письмо, встреча или заметка",
            "Направление (исх / вх)",
            "Длительность (5:30, 5 мин, 90 с)",
        ]
        assert app.screen.query_one("#f-direction", Input).value == "исх"
        await pilot.press(*"abc", "enter", "enter", "enter")
        await settle(app, pilot)
        assert "Не похоже на длительность: 'abc'" in text(app, ".form-error")
        assert text(app, "#error-duration") == "длительность: пример: 5:30, 5 мин или 90 с"
        assert len(rows(Interaction, contact=board.contact_id)) == before
        await pilot.press(*["backspace"] * 3, *"4 мин", "enter", *"дозвонились", "enter")
        await pilot.press(*"Договорились", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        top = events(app)[0]
        assert "☎ исходящий" in top and "4:00" in top and "дозвонились" in top


async def test_new_task_dialog_refuses_an_empty_title_in_russian(queue_desk: Desk) -> None:
    app = russian_app(queue_desk.url)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, NewTaskDialog)
        assert text(app, ".dialog-title") == "Новая задача"
        await pilot.press("enter", "enter")  # no title; save from the due field
        await settle(app, pilot)
        assert text(app, ".dialog-error") == "Укажите, что сделать"
        assert isinstance(app.screen, NewTaskDialog)
        await pilot.press("escape")
        await settle(app, pilot)
    assert len(rows(Task)) == 4


async def test_task_queue_in_russian(queue_desk: Desk) -> None:
    app = russian_app(queue_desk.url)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4", "m")  # an admin opens on everyone's tasks: m for mine
        await settle(app, pilot)
        summary = text(app, "#queue-summary")
        assert summary == "Мои задачи · просрочено 1 · сегодня 1 · предстоящие 1 · выполнено сегодня 1"
        queue = app.screen.query_one("#queue", OptionList)
        shown = [str(queue.get_option_at_index(i).prompt) for i in range(queue.option_count)]
        titles = [line for line in shown if " · " in line and line.split(" · ")[-1].isdigit()]
        assert titles == ["Просрочено · 1", "Сегодня · 1", "Предстоящие · 1", "Выполнено сегодня · 1"]
        assert "1 ч назад" in shown[1] and "пн 02 мар 08:00" in shown[1]
        assert any("через 3 ч" in line for line in shown)
        keys = footer(app)
        for label in ("Выполнено", "Отложить", "Переназначить", "Новая задача", "Мои/все", "Позвонить"):
            assert label in keys
        assert "Команды" in keys and "palette" not in keys
        await pilot.press("space")
        await settle(app, pilot)
        assert text(app, "#queue-summary").startswith("Мои задачи · просрочено 0 · ")
        assert any("Выполнено: " in str(toast.render()) for toast in app.screen.query("Toast"))
        await pilot.press("m")
        await settle(app, pilot)
        assert text(app, "#queue-summary").startswith("Задачи всех · ")


async def test_reports_in_russian(board: Board) -> None:
    app = russian_app(board.url)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("5")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        assert text(app, "#report-bar").startswith("Воронка продаж · последние 30 дней (")
        assert text(app, "#report-table-title").startswith("Сделки по этапам   (t: следующая таблица, 1/3)")
        table = screen.query_one("#report-table", DataTable)
        headers = [str(c.label) for c in table.columns.values()]
        assert headers == ["#", "этап", "тип", "сделок сейчас", "сумма", "дошли", "в следующий %"]
        assert str(table.get_row_at(0)[2]) == "в работе"
        assert str(table.get_row_at(0)[1]) == "Первичное обращение"  # the stage's Russian name
        assert text(app, "#report-summary").startswith("Лиды ")
        assert "Воронка продаж" in footer(app) and "Экспорт CSV" in footer(app)

        await pilot.press("t")
        await settle(app, pilot)
        assert text(app, "#report-table-title").startswith("Лид → контакт → успешная сделка")
        steps = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert steps == ["лиды", "контакты (конвертированы)", "успешные сделки"]

        for key, title in (
            ("s", "Источники"),
            ("v", "Скорость сделок"),
            ("o", "Прогноз"),
            ("m", "Менеджеры"),
            ("p", "Парето 80/20"),
        ):
            await pilot.press(key)
            await settle(app, pilot)
            assert text(app, "#report-bar").startswith(f"{title} · последние 30 дней")
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await settle(app, pilot)
        assert text(app, "#report-bar") == "Парето 80/20 · за всё время"
        assert " из " in text(app, "#report-summary") and "клиентов" in text(app, "#report-summary")
