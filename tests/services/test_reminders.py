"""The reminder schedule, driven by an injected clock, and the desktop path over a real (private) D-Bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from crm_tui.data.db import database
from crm_tui.notify import DesktopNotifier, RecordingNotifier, probe_session_bus
from crm_tui.services import leads, reminders, tasks
from tests.desk_fixtures import NOW, Desk, any_backend_desk, private_session_bus

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.delenv(reminders.ENV_EVERY, raising=False)
    with any_backend_desk(request.param, tmp_path) as d:
        yield d


def check(at, notifier=None, token="proc-a", **kw):  # type: ignore[no-untyped-def]
    with database.connection_context():
        return reminders.send_due(notifier or RecordingNotifier(), now=at, token=token, **kw)


def test_new_lead_call_task_reminds_at_due_then_every_hour_until_done(desk: Desk) -> None:
    with database.connection_context():
        lead = leads.register(leads.NewLead("Иван Смирнов", "+7 916 123-45-67"), by=desk.admin_id, now=NOW)
        task = tasks.open_for(lead_id=lead.id)[0]
    assert check(NOW + 59 * MIN) == []
    first = check(NOW + HOUR)
    assert [(s.task_id, s.slot, s.title) for s in first] == [(task.id, 0, "Task due: Call Иван Смирнов")]
    assert "lead: Иван Смирнов" in first[0].body
    assert check(NOW + HOUR + 30 * MIN) == []  # not again before the next hour
    again = check(NOW + 2 * HOUR + MIN)
    assert [(s.slot, s.overdue) for s in again] == [(1, True)]
    assert again[0].title.startswith("Overdue (1 h): Call Иван")
    with database.connection_context():
        tasks.complete(task.id, by=desk.admin_id, now=NOW + 2 * HOUR + 5 * MIN)
    assert check(NOW + 5 * HOUR) == []


def test_reminders_are_worded_in_the_desks_language(desk: Desk) -> None:
    """The app and ``crm remind`` (``CRM_LANG``) send them in Russian when asked: the first-call task the
    rules named "Call <name>", its lead, the overdue time and the assignee all in Russian."""
    with database.connection_context():
        lead = leads.register(leads.NewLead("Иван Смирнов", "+7 916 123-45-67"), by=desk.admin_id, now=NOW)
        tasks.create("Отправить КП", NOW + HOUR, lead_id=lead.id, by=desk.admin_id, now=NOW)
    sent = check(NOW + 2 * HOUR + MIN, lang="ru")
    titles = sorted(s.title for s in sent)
    assert titles == ["Просрочено (1 ч): Отправить КП", "Просрочено (1 ч): Позвонить: Иван Смирнов"]
    assert all(s.body.startswith("лид: Иван Смирнов · срок ") for s in sent)
    assert all(s.body.endswith(" · для admin") for s in sent)


def test_interval_from_the_desk_setting_and_the_environment(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.connection_context():
        t = tasks.create("Send the proposal", NOW, by=desk.admin_id, now=NOW)
        reminders.set_interval("15m")
    assert [s.slot for s in check(NOW)] == [0]
    assert [s.slot for s in check(NOW + 16 * MIN)] == [1]
    monkeypatch.setenv(reminders.ENV_EVERY, "2h")  # the environment wins over the setting
    assert check(NOW + 40 * MIN) == []  # the due moment was reminded already
    assert [s.slot for s in check(NOW + 2 * HOUR)] == [1]
    assert check(NOW + 3 * HOUR) == []
    with database.connection_context():
        owed = [d["owed_at"] for d in reminders.deliveries(t.id)]
    assert owed == [NOW, NOW + 15 * MIN, NOW + 2 * HOUR]


def test_a_missed_hour_is_sent_once_not_as_a_burst(desk: Desk) -> None:
    with database.connection_context():
        tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
    sent = check(NOW + 5 * HOUR + MIN)  # nothing ran for five hours
    assert [s.slot for s in sent] == [5]
    assert check(NOW + 5 * HOUR + 2 * MIN) == []


def test_two_processes_checking_at_once_send_it_once(desk: Desk) -> None:
    with database.connection_context():
        tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
    a = check(NOW, token="proc-a")
    b = check(NOW, token="proc-b")
    assert len(a) + len(b) == 1


def test_a_claim_whose_process_died_is_sent_by_the_next_check_once(desk: Desk) -> None:
    with database.connection_context():
        t = tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
        claims = reminders.claim_due(NOW, token="died")  # claimed, then the process died before sending
    assert len(claims) == 1
    assert check(NOW + MIN, token="alive") == []  # the lease has not run out: it may still be sending
    taken = check(NOW + reminders.LEASE + MIN, token="alive")
    assert [(s.task_id, s.slot) for s in taken] == [(t.id, 0)]
    with database.connection_context():
        assert reminders.mark_delivered(claims[0], "desktop", now=NOW + 3 * MIN) is False  # too late
        history = reminders.deliveries(t.id)
    assert [(d["slot"], d["attempts"], d["channel"]) for d in history] == [(0, 2, "desktop")]
    assert check(NOW + 10 * MIN, token="alive") == []


def test_a_stale_claim_for_a_task_done_meanwhile_is_dropped(desk: Desk) -> None:
    with database.connection_context():
        t = tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
        reminders.claim_due(NOW, token="died")
        tasks.complete(t.id, by=desk.admin_id, now=NOW + MIN)
    assert check(NOW + reminders.LEASE + MIN) == []
    with database.connection_context():
        assert reminders.deliveries(t.id)[0]["dropped_at"] is not None


def test_snooze_starts_reminders_again_from_the_new_time(desk: Desk) -> None:
    with database.connection_context():
        t = tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
    assert len(check(NOW)) == 1
    with database.connection_context():
        tasks.reschedule(t.id, NOW + 15 * MIN, by=desk.admin_id, now=NOW + MIN)
    assert check(NOW + 14 * MIN) == []
    assert [s.slot for s in check(NOW + 15 * MIN)] == [0]


def test_only_my_and_unassigned_tasks_unless_everyone(desk: Desk) -> None:
    with database.connection_context():
        tasks.create("Mine", NOW, by=desk.admin_id, now=NOW)
        tasks.create("Anna's", NOW, by=desk.admin_id, now=NOW, assignee_id=desk.anna_id)
    assert [s.title for s in check(NOW, assignee_id=desk.admin_id)] == ["Task due: Mine"]
    assert [s.title for s in check(NOW)] == ["Task due: Anna's"]


def test_bad_interval_is_refused() -> None:
    from crm_tui.services.errors import InvalidInput

    assert reminders.parse_interval("90") == timedelta(minutes=90)
    assert reminders.parse_interval("1h") == HOUR
    with pytest.raises(InvalidInput):
        reminders.parse_interval("soon")
    with pytest.raises(InvalidInput):
        reminders.parse_interval("10s")


# --- the desktop: a real D-Bus session with a notification server listening -------------------------


def test_reminder_arrives_on_the_desktop_over_dbus(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.connection_context():
        leads.register(leads.NewLead("Ольга Иванова", "+7 903 555-12-34"), by=desk.admin_id, now=NOW)
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        assert probe_session_bus() is None
        sent = check(NOW + HOUR, DesktopNotifier())
        received = bus.received()
    assert [s.channel for s in sent] == ["desktop"]
    assert received == [{"app": "crm-tui", "summary": "Task due: Call Ольга Иванова", "body": sent[0].body}]
    assert "lead: Ольга Иванова" in received[0]["body"]


def test_bus_without_a_notification_server_falls_back(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.connection_context():
        tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
    with private_session_bus(tmp_path, with_server=False) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        notifier = DesktopNotifier()
        sent = check(NOW, notifier)
    assert [s.channel for s in sent] == ["app"]
    assert notifier.unavailable == "no desktop notification service on the D-Bus session bus"


def test_no_bus_at_all_falls_back_without_raising(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with database.connection_context():
        tasks.create("Call back", NOW, by=desk.admin_id, now=NOW)
    notifier = DesktopNotifier()
    sent = check(NOW, notifier)
    assert [s.channel for s in sent] == ["app"]
    assert notifier.unavailable is not None and "DBUS_SESSION_BUS_ADDRESS" in notifier.unavailable


def test_a_dead_bus_address_falls_back(desk: Desk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'nobody-listens'}")
    notifier = DesktopNotifier()
    assert notifier.notify("t", "b") is False
    assert notifier.unavailable is not None and "cannot be reached" in notifier.unavailable


def test_what_one_check_claims_reaches_the_desktop_as_one_notification(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.connection_context():
        for i in range(1, 8):
            tasks.create(f"Call client {i}", NOW - i * HOUR, by=desk.admin_id, now=NOW - 8 * HOUR)
        tasks.create("Send the act", NOW, by=desk.admin_id, now=NOW - HOUR)
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        sent = check(NOW, DesktopNotifier())
        (received,) = bus.received()
    assert len(sent) == 8 and {s.channel for s in sent} == {"desktop"}  # each marked as delivered
    assert received["summary"] == "1 task due now · 7 overdue tasks"
    assert received["body"].splitlines() == [
        "Overdue (7 h): Call client 7",
        "Overdue (6 h): Call client 6",
        "Overdue (5 h): Call client 5",
        "Overdue (4 h): Call client 4",
        "Overdue (3 h): Call client 3",
        "and 3 more",
    ]
    with database.connection_context():
        assert all(d["channel"] == "desktop" for s in sent for d in reminders.deliveries(s.task_id))


def test_one_desktop_notification_in_russian(desk: Desk) -> None:
    with database.connection_context():
        for i in range(1, 6):
            tasks.create(f"Позвонить клиенту {i}", NOW - i * HOUR, by=desk.admin_id, now=NOW - 8 * HOUR)
    desktop = RecordingNotifier()
    check(NOW, desktop, lang="ru")
    ((summary, body),) = desktop.sent
    assert summary == "5 просроченных задач"
    assert body.splitlines()[0] == "Просрочено (5 ч): Позвонить клиенту 5"
