"""The task queue on screen (mode 4), driven by keys; what it shows and what the database then holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from crm_tui.app import make_app
from crm_tui.data.db import database
from crm_tui.data.models import Task
from crm_tui.notify import RecordingNotifier
from crm_tui.services import leads, tasks
from tests.desk_fixtures import NOW, Desk, open_desk

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = open_desk(tmp_path)
    with database.connection_context():
        new = leads.NewLead("Иван Смирнов", "+7 916 123-45-67")
        lead = leads.register(new, by=d.admin_id, now=NOW - 2 * HOUR)
        assert tasks.open_for(lead_id=lead.id)  # "Call Иван Смирнов", due an hour ago: overdue
        tasks.create("Send the proposal", NOW + 3 * HOUR, by=d.admin_id, now=NOW)
        tasks.create("Quarterly review", NOW + timedelta(days=3), by=d.admin_id, now=NOW)
        finished = tasks.create("Morning check", NOW - HOUR, by=d.admin_id, now=NOW - 2 * HOUR)
        tasks.complete(finished.id, by=d.admin_id, now=NOW - timedelta(minutes=30))
        tasks.create("Anna's call", NOW + HOUR, by=d.admin_id, now=NOW, assignee_id=d.anna_id)
    database.close()
    return d


def summary(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#queue-summary", Static).render())


def lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    queue = app.screen.query_one("#queue", OptionList)
    return [str(queue.get_option_at_index(i).prompt) for i in range(queue.option_count)]


def task(title: str) -> Task:
    with database.connection_context():
        return Task.get(Task.title == title)


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_queue_groups_and_keys(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        assert summary(app).startswith("Everyone's tasks · ")  # an admin opens on everyone's tasks
        await pilot.press("m")
        await settle(app, pilot)
        assert summary(app) == "My tasks · overdue 1 · today 1 · upcoming 1 · done today 1"
        shown = lines(app)
        assert shown[0] == "Overdue · 1"
        assert shown[1].startswith("Call Иван Смирнов") and "lead: Иван Смирнов" in shown[1]
        assert "1 h ago" in shown[1] and "Mon 02 Mar 08:00" in shown[1]
        headings = [s.split(" · ")[0] for s in shown if " · " in s]
        assert headings == ["Overdue", "Today", "Upcoming", "Done today"]

        await pilot.press("space")  # the highlighted (overdue) call is done
        await settle(app, pilot)
        assert task("Call Иван Смирнов").done_at == NOW
        assert summary(app) == "My tasks · overdue 0 · today 1 · upcoming 1 · done today 2"

        await pilot.press("s")  # snooze "Send the proposal" to a typed time
        await pilot.pause()
        await pilot.press("tab", *"+2h", "enter")
        await settle(app, pilot)
        assert task("Send the proposal").due_at == NOW + 2 * HOUR

        await pilot.press("s", "down", "down", "enter")  # snooze: tomorrow 9:00
        await settle(app, pilot)
        assert task("Send the proposal").due_at == NOW.replace(hour=9) + timedelta(days=1)
        assert summary(app) == "My tasks · overdue 0 · today 0 · upcoming 2 · done today 2"

        await pilot.press("r")  # reassign to anna
        await pilot.pause()
        people = app.screen.query_one("#people", OptionList)
        people.highlighted = people.get_option_index(str(desk.anna_id))
        await pilot.press("enter")
        await settle(app, pilot)
        assert task("Send the proposal").assignee_id == desk.anna_id

        await pilot.press("m")  # everyone's tasks: anna's show, with the assignee
        await settle(app, pilot)
        assert summary(app).startswith("Everyone's tasks · overdue 0 · today 1 · upcoming 2")
        assert any(line.startswith("Anna's call") and line.endswith("@anna") for line in lines(app))

        await pilot.press("n", *"Позвонить в банк", "enter", "ctrl+a", "ctrl+k", *"+30m", "enter")
        await settle(app, pilot)
        created = task("Позвонить в банк")
        assert (created.due_at, created.assignee_id) == (NOW + timedelta(minutes=30), desk.admin_id)
        assert any(line.startswith("Позвонить в банк") for line in lines(app))


async def test_a_bad_snooze_time_is_refused_in_place(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("s", "tab", *"someday", "enter")
        await pilot.pause()
        assert "Not a due time: 'someday'" in str(app.screen.query_one(".dialog-error", Static).render())
        await pilot.press("escape")
        await settle(app, pilot)
    assert task("Call Иван Смирнов").due_at == NOW - HOUR


async def test_a_manager_opens_on_their_own_tasks(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW, user="anna")
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        assert summary(app).startswith("My tasks · ")
        assert any(line.startswith("Anna's call") for line in lines(app))
        assert not any(line.startswith("Call Иван Смирнов") for line in lines(app))  # the admin's


async def test_at_80_columns_each_task_keeps_to_one_line(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        queue = app.screen.query_one("#queue", OptionList)
        tasks_shown = [line for line in lines(app) if "@" in line]
        assert tasks_shown and all(len(line) < queue.scrollable_content_region.width for line in tasks_shown)
        assert any(line.startswith("Call Иван Смирнов") for line in tasks_shown)
        await pilot.resize_terminal(160, 40)
        await settle(app, pilot)
        assert any("lead: Иван Смирнов" in line for line in lines(app))  # wider: nothing cut


async def test_enter_opens_the_record_a_task_is_about(desk: Desk) -> None:
    app = make_app(desk.url, clock=lambda: NOW)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4", "m")
        await settle(app, pilot)
        assert app.screen.current().title == "Call Иван Смирнов"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"
        assert "Иван Смирнов" in str(app.screen.query_one("#lead-header", Static).render())


def test_a_queue_line_says_the_rules_first_call_task_in_russian() -> None:
    from crm_tui.screens.tasks import task_line
    from crm_tui.services.views import TaskRow

    row = TaskRow(
        1, "Call Иван Смирнов", NOW, None, "anna", "Анна", 7, None, None, "lead: Иван Смирнов", "first_call"
    )
    line = task_line(row, NOW + timedelta(hours=1), lang="ru", width=120).plain
    assert line.startswith("Позвонить: Иван Смирнов") and "лид: Иван Смирнов" in line
    assert task_line(row, NOW, lang="en", width=120).plain.startswith("Call Иван Смирнов")
