"""``crm task add``, ``crm task snooze`` and ``crm remind`` from the shell."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Task
from crm_tui.services import clock
from tests.desk_fixtures import private_session_bus

runner = CliRunner()
NOW_UTC = clock.utcnow()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("CRM_DB", raising=False)
    monkeypatch.delenv("CRM_USER", raising=False)
    monkeypatch.delenv("CRM_REMIND_EVERY", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return str(tmp_path / "crm.db")


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def tasks_in(db: str) -> list[Task]:
    open_database(db)
    with database.connection_context():
        return list(Task.select().order_by(Task.id))


def test_add_a_task_in_thirty_minutes_and_snooze_it(db: str) -> None:
    code, out, _ = crm("task", "add", "--title", "Позвонить Ивану", "--due", "+30m", "--db", db, "--json")
    assert code == 0, out
    row = json.loads(out)
    assert row["title"] == "Позвонить Ивану" and row["assignee_login"] == "admin"
    (task,) = tasks_in(db)
    assert timedelta(minutes=29) < task.due_at - task.created_at <= timedelta(minutes=30, seconds=1)
    code, out, _ = crm("task", "snooze", str(task.id), "tomorrow 9:00", "--db", db)
    assert code == 0 and f"#{task.id}  Позвонить Ивану  due" in out
    (task,) = tasks_in(db)
    local = clock.to_local(task.due_at)
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() == (clock.to_local(task.created_at) + timedelta(days=1)).date()


def test_add_refuses_a_bad_time_and_a_missing_lead_and_writes_nothing(db: str) -> None:
    code, _, err = crm("task", "add", "--title", "X", "--due", "someday", "--db", db)
    assert code == 1 and err.startswith("error: Not a due time: 'someday'")
    code, _, err = crm("task", "add", "--title", "X", "--due", "+1h", "--lead", "42", "--db", db)
    assert code == 1 and err.strip() == "error: No lead #42"
    code, _, err = crm("task", "add", "--title", "X", "--due", "+1h", "--assignee", "nobody", "--db", db)
    assert code == 1 and "No user with login 'nobody'" in err
    assert tasks_in(db) == []


def test_remind_sends_once_and_prints_what_it_sent(db: str) -> None:
    crm("task", "add", "--title", "Call Иван", "--due", "2020-01-01 10:00", "--db", db)
    crm("task", "add", "--title", "Later", "--due", "+2h", "--db", db)
    code, out, err = crm("remind", "--db", db, "--json")
    assert code == 0
    sent = json.loads(out)
    assert [(s["title"].split(": ", 1)[1], s["channel"], s["overdue"]) for s in sent] == [
        ("Call Иван", "print", True)
    ]
    assert "no desktop notifications" in err
    code, out, _ = crm("remind", "--db", db)
    assert code == 0 and out.strip() == "no reminders due"


def test_remind_reaches_the_desktop_over_dbus(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm("task", "add", "--title", "Send the proposal", "--due", "2020-01-01 10:00", "--db", db)
    with private_session_bus(tmp_path) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        code, out, err = crm("remind", "--db", db)
        received = bus.received()
    assert code == 0 and err == ""
    assert out.startswith("[desktop] #1 Overdue (")
    assert [r["summary"].split(": ", 1)[1] for r in received] == ["Send the proposal"]


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("none", "no desktop notification service on the D-Bus session bus"),
        ("silent", "the desktop notification service did not answer within 3 s"),
    ],
)
def test_remind_prints_when_the_desktop_cannot_take_it_and_says_why_once(
    db: str, mode: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for title in ("Call Иван", "Call Ольга", "Send the act"):
        crm("task", "add", "--title", title, "--due", "2020-01-01 10:00", "--db", db)
    with private_session_bus(tmp_path, with_server=mode != "none", mode=mode) as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        code, out, err = crm("remind", "--db", db)
        received = bus.received()
    assert code == 0 and received == []
    assert err == f"note: no desktop notifications: {why}\n"  # one line, no traceback
    lines = out.splitlines()
    assert [line.split(": ", 1)[1].split(" - ")[0] for line in lines] == [
        "Call Иван",
        "Call Ольга",
        "Send the act",
    ]
    assert all(line.startswith("[print] #") for line in lines)


def test_remind_every_is_checked_and_saved(db: str) -> None:
    code, _, err = crm("remind", "--every", "soon", "--db", db)
    assert code == 1 and "Not an interval" in err
    code, _, _ = crm("remind", "--every", "30m", "--db", db)
    assert code == 0


def test_two_processes_racing_send_each_reminder_exactly_once(db: str) -> None:
    import os
    import subprocess
    import sys

    from crm_tui.services import tasks as task_rules
    from crm_tui.services import users

    open_database(db)
    with database.connection_context():
        admin = users.ensure_default(NOW_UTC)
        for i in range(60):
            task_rules.create(f"Call #{i}", NOW_UTC - timedelta(minutes=5), by=admin.id, now=NOW_UTC)
    database.close()
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    command = [sys.executable, "-m", "crm_tui", "remind", "--all", "--json", "--no-desktop", "--db", db]
    racers = [subprocess.Popen(command, stdout=subprocess.PIPE, env=env) for _ in range(2)]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in racers]
    assert all(p.returncode == 0 for p in racers)
    sent = sorted(item["task_id"] for out in outputs for item in out)
    assert sent == list(range(1, 61))  # each once, whichever process won it
