"""Reminders while the app runs: on time by the app's clock, as toasts + bell + header count, or on the
desktop over a real (private) D-Bus session."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crm_tui.app import make_app
from crm_tui.data.db import database
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
        titles = [t for t, _ in toasts(app)]
        assert titles == ["Reminders", "Task due: Call Иван Смирнов"]
        assert toasts(app)[0][1].startswith("No desktop notifications here (no D-Bus session bus")
        assert bells == [1] and app.sub_title == "1 reminder"

        clock.at = NOW + 2 * HOUR + timedelta(minutes=1)  # an hour overdue: reminded again, said once
        await check(app, pilot)
        titles = [t for t, _ in toasts(app)]
        assert titles[-1] == "Overdue (1 h): Call Иван Смирнов" and titles.count("Reminders") == 1
        assert bells == [1, 1] and app.sub_title == "1 overdue · 2 reminders"

        await check(app, pilot)  # same moment again: nothing new
        assert len(toasts(app)) == 3
    with database.connection_context():
        (task_id,) = [t.id for t in tasks.open_for(lead_id=desk.lead_id)]  # type: ignore[attr-defined]
        assert [(d["slot"], d["channel"]) for d in reminders.deliveries(task_id)] == [(0, "app"), (1, "app")]


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
            assert [t for t, _ in toasts(app)] == ["Task due: Call Иван Смирнов"]
            assert bells == []  # the desktop took it: no bell
        received = bus.received()
    assert [r["summary"] for r in received] == ["Task due: Call Иван Смирнов"]
    assert "lead: Иван Смирнов" in received[0]["body"]


async def test_reminders_speak_the_app_language(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    clock = Clock(NOW + HOUR)
    app = make_app(desk.url, clock=clock, lang="ru")
    monkeypatch.setattr(app, "bell", lambda: None)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await check(app, pilot)
        assert toasts(app)[0][0] == "Напоминания"
        assert toasts(app)[0][1].startswith("Уведомлений рабочего стола здесь нет")
        clock.at = NOW + 2 * HOUR + timedelta(minutes=1)
        await check(app, pilot)
        assert app.sub_title == "просрочено: 1 · напоминаний: 2"
