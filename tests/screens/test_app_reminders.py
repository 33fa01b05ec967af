"""Reminders while the app runs: on time by the app's clock, as toasts + bell + header count, or on the
desktop over a real (private) D-Bus session."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crm_tui.app import make_app
from crm_tui.data.db import database
from crm_tui.notify import DesktopNotifier
from crm_tui.services import leads, reminders, tasks
from tests.desk_fixtures import NOW, Desk, open_desk, private_session_bus

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.delenv("CRM_REMIND_EVERY", raising=False)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = open_desk(tmp_path)
    with database.connection_context():
        lead = leads.register(leads.NewLead("Иван Смирнов", "+7 916 123-45-67"), by=d.admin_id, now=NOW)
        d.lead_id = lead.id  # type: ignore[attr-defined]
    database.close()
    return d


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def toasts(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(n.title, n.message) for n in app._notifications]


async def check(app, pilot) -> None:  # type: ignore[no-untyped-def]
    app.reminder_loop.check()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_no_bus_reminders_show_in_the_app_with_bell_and_count(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    clock = Clock(NOW + 30 * timedelta(minutes=1))
    app = make_app(desk.url, clock=clock)
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert toasts(app) == [] and bells == []  # the first-call task is due in 30 minutes

        clock.at = NOW + HOUR
        await check(app, pilot)
        ((title, body),) = toasts(app)  # one toast, which also says once why not on the desktop
        assert title == "Task due: Call Иван Смирнов · press 4"
        assert body.startswith("lead: Иван Смирнов · due ")
        assert body.endswith("\nNot on the desktop: no D-Bus session bus.")
        assert bells == [1] and app.sub_title == ""  # due, not overdue yet

        clock.at = NOW + 2 * HOUR + timedelta(minutes=1)  # an hour overdue: reminded again, said once
        await check(app, pilot)
        title, body = toasts(app)[-1]
        assert title == "Overdue (1 h): Call Иван Смирнов · press 4" and "desktop" not in body
        assert bells == [1, 1] and app.sub_title == "1 overdue · mine"

        await check(app, pilot)  # same moment again: nothing new
        assert len(toasts(app)) == 2
    with database.connection_context():
        (task_id,) = [t.id for t in tasks.open_for(lead_id=desk.lead_id)]  # type: ignore[attr-defined]
        assert [(d["slot"], d["channel"]) for d in reminders.deliveries(task_id)] == [(0, "app"), (1, "app")]


def add_tasks(desk: Desk, titles: list[str], due: datetime, assignee_id: int | None = None) -> None:
    with database.connection_context():
        for title in titles:
            tasks.create(title, due, by=desk.admin_id, now=NOW, assignee_id=assignee_id or desk.admin_id)
    database.close()


async def test_several_reminders_at_once_make_one_toast_with_the_count_and_the_first_titles(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    add_tasks(desk, ["Send the proposal to Ромашка", "Sign the act"], NOW - 3 * HOUR)
    add_tasks(desk, ["Call back Ольга Иванова about the second invoice"], NOW + HOUR)
    app = make_app(desk.url, clock=Clock(NOW + HOUR))
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        ((title, body),) = toasts(app)
        assert title == "2 tasks due now · 2 overdue tasks · press 4"
        first, rest = body.split("\n")
        assert first == "Send the proposal to Ромашка, Sign the act, +2"
        assert rest == "Not on the desktop: no D-Bus session bus."
        assert bells == [1]  # one bell for the lot
        assert app.sub_title == "2 overdue · mine"
        assert app.reminder_loop.shown == 4 and app.reminder_loop.toasts == 1

        await pilot.press("4")  # on the task queue the toast does not send you there
        await pilot.pause()
        add_tasks(desk, ["Call Пётр", "Call Мария Константиновна Сидоренко-Белова"], NOW)
        await check(app, pilot)
        title, body = toasts(app)[-1]
        assert (title, body) == ("2 overdue tasks", "Call Пётр, Call Мария Константиновна…")


async def test_the_header_counts_whose_tasks_the_queue_shows(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    add_tasks(desk, ["Mine, late"], NOW - 3 * HOUR)
    add_tasks(desk, ["Anna's, late", "Anna's, later"], NOW - 2 * HOUR, assignee_id=desk.anna_id)
    app = make_app(desk.url, clock=Clock(NOW + HOUR), user="anna")
    monkeypatch.setattr(app, "bell", lambda: None)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sub_title == "2 overdue · mine"
        assert app.screen.query_one("HeaderTitle").render().plain.endswith("2 overdue · mine")
        await pilot.press("4")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sub_title == "2 overdue · mine"  # a manager's queue opens on her own tasks
        await pilot.press("m")
        await pilot.pause()
        assert app.sub_title == "3 overdue · all"  # hers and the admin's
        await pilot.press("1")
        await pilot.pause()
        assert app.screen.query_one("HeaderTitle").render().plain.endswith("3 overdue · all")


async def test_a_head_of_sales_sees_everyones_count_once_the_queue_shows_everyones(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    add_tasks(desk, ["Anna's, late"], NOW - 2 * HOUR, assignee_id=desk.anna_id)
    app = make_app(desk.url, clock=Clock(NOW + 3 * HOUR))  # admin: the queue opens on everyone's
    monkeypatch.setattr(app, "bell", lambda: None)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sub_title == "1 overdue · mine"
        await pilot.press("4")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sub_title == "2 overdue · all"
        await pilot.press("m")
        await pilot.pause()
        assert app.sub_title == "1 overdue · mine"


async def test_reminder_reaches_the_desktop_from_the_app(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        app = make_app(desk.url, clock=Clock(NOW + HOUR))
        bells: list[int] = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert [t for t, _ in toasts(app)] == ["Task due: Call Иван Смирнов · press 4"]
            assert bells == []  # the desktop took it: no bell
        received = bus.received()
    assert [r["summary"] for r in received] == ["Task due: Call Иван Смирнов"]
    assert "lead: Иван Смирнов" in received[0]["body"]


async def test_a_desktop_that_never_answers_still_leaves_the_toast_and_the_bell(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus(tmp_path, mode="silent") as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        app = make_app(desk.url, clock=Clock(NOW + HOUR))
        app.notifier = DesktopNotifier(timeout=0.5)  # type: ignore[attr-defined]
        bells: list[int] = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            ((title, body),) = toasts(app)
            assert title == "Task due: Call Иван Смирнов · press 4"
            assert body.endswith("\nNot on the desktop: the notification service failed.")
            assert bells == [1]
        assert bus.received() == []


async def test_reminders_speak_the_app_language(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    add_tasks(desk, [f"Позвонить клиенту №{i}" for i in range(1, 5)], NOW - 3 * HOUR)
    clock = Clock(NOW + HOUR)
    app = make_app(desk.url, clock=clock, lang="ru")
    monkeypatch.setattr(app, "bell", lambda: None)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        ((title, body),) = toasts(app)
        assert title == "Пора: 1 задача · 4 просроченные задачи · нажмите 4"
        assert body == (
            "Позвонить клиенту №1, Позвонить клиенту №2, ещё 3\nНа рабочий стол не выводятся: нет шины D-Bus."
        )
        assert app.sub_title == "просрочено: 4 · мои"
        clock.at = NOW + 3 * HOUR + timedelta(minutes=1)  # all five an hour (or more) overdue again
        await check(app, pilot)
        title, body = toasts(app)[-1]
        assert title == "5 просроченных задач · нажмите 4"
        assert body == "Позвонить клиенту №1, Позвонить клиенту №2, ещё 3"
        assert app.sub_title == "просрочено: 5 · мои"
