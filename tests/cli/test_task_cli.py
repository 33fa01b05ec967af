"""``crm task list|done`` and ``crm log call``."""

from __future__ import annotations

import pytest

from crm_tui.data.models import Interaction, Lead, Task
from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk


def test_list_overdue_first_and_due_filter(desk: Desk, crm: Crm) -> None:
    # the seeded first-call tasks were due at NOW + 1h, long before the real clock; a fresh lead's is not
    fresh = crm("lead", "add", "--name", "Ольга", "--phone", "+7 903 777-00-11", "--json").json()["task"][
        "id"
    ]
    seeded = [
        t.id for t in Task.select().where((Task.id != fresh) & Task.done_at.is_null()).order_by(Task.id)
    ]
    rows = crm("task", "list", "--json").json()
    assert [r["id"] for r in rows] == [*seeded, fresh]
    assert [r["id"] for r in crm("task", "list", "--due", "--json").json()] == seeded
    text = crm("task", "list").out.splitlines()
    assert text[0].split() == ["ID", "DUE", "WHEN", "TASK", "ABOUT", "ASSIGNEE"]
    assert "OVERDUE" in text[1] and "Call Иван Смирнов" in text[1] and "lead: Иван Смирнов" in text[1]
    assert "in 59 min" in text[-1] or "in 1 h" in text[-1]


def test_list_mine_assignee_and_pages(desk: Desk, crm: Crm) -> None:
    anna = [
        t.id
        for t in Task.select()
        .where((Task.assignee == desk.manager_id) & Task.done_at.is_null())
        .order_by(Task.due_at, Task.id)
    ]
    assert [r["id"] for r in crm("task", "list", "--assignee", "anna", "--json").json()] == anna
    assert [r["id"] for r in crm("task", "list", "--mine", "--user", "anna", "--json").json()] == anna
    assert crm("task", "list", "--mine").out.strip() == "no open tasks"  # admin has none
    first = crm("task", "list", "--limit", "1")
    assert first.out.splitlines()[-1] == f"more: crm task list --after {anna[0]} --limit 1"
    rest = crm("task", "list", "--limit", "1", "--after", str(anna[0]), "--json").json()
    assert [r["id"] for r in rest] == anna[1:]


def test_done_and_its_refusals(desk: Desk, crm: Crm, counts: Counts) -> None:
    task_id = Task.select().order_by(Task.id).first().id
    run = crm("task", "done", str(task_id))
    assert run.out.strip() == f"task #{task_id} Call Иван Смирнов: done"
    assert Task.get_by_id(task_id).done_at is not None
    before = counts()
    assert crm("task", "done", str(task_id)).error == f"Task #{task_id} is already done"
    assert crm("task", "done", "999").error == "No task #999"
    assert counts() == before
    assert task_id not in [r["id"] for r in crm("task", "list", "--json").json()]


def test_log_a_call_on_a_contact_and_deal(desk: Desk, crm: Crm) -> None:
    run = crm(
        "log", "call", "--contact", str(desk.contact_id), "--deal", str(desk.deal_id), "--duration", "185",
        "--summary", "Обсудили КП, клиент ждёт счёт", "--outcome", "выставить счёт", "--user", "anna",
    )  # fmt: skip
    assert run.code == 0, run.err
    call = Interaction.get(Interaction.kind == "call_out")
    assert (
        run.out.strip()
        == f"call #{call.id} logged: outgoing, 3:05, contact #{desk.contact_id}, deal #{desk.deal_id}"
    )
    assert (call.duration, call.summary, call.outcome, call.by_id) == (
        185,
        "Обсудили КП, клиент ждёт счёт",
        "выставить счёт",
        desk.manager_id,
    )


def test_log_an_incoming_call_from_a_lead_as_json(desk: Desk, crm: Crm) -> None:
    data = crm(
        "log", "call", "--lead", str(desk.new_lead_id), "--duration", "60", "--direction", "in", "--json"
    ).json()
    assert (data["kind"], data["lead_id"], data["duration"]) == ("call_in", desk.new_lead_id, 60)
    assert Interaction.get_by_id(data["id"]).lead_id == desk.new_lead_id
    assert Lead.get_by_id(desk.new_lead_id).status == "in_work"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contact", "1", "--summary", "x"], "A call needs its duration in seconds"),
        (["--contact", "1", "--duration", "-1"], "Call duration must be between 0 and 86400 seconds"),
        (
            ["--contact", "1", "--duration", "60", "--direction", "up"],
            "--direction must be 'in' or 'out', not 'up'",
        ),
        (["--contact", "999", "--duration", "60"], "No contact #999"),
        (["--deal", "999", "--duration", "60"], "No deal #999"),
        (["--duration", "60"], "An interaction needs a lead, a contact or a deal"),
    ],
)
def test_log_call_refusals_write_nothing(
    desk: Desk, crm: Crm, counts: Counts, args: list[str], message: str
) -> None:
    before = counts()
    assert crm("log", "call", *args).error == message
    assert counts() == before


# --- reopen, reassign, logging by kind and late ------------------------------------------------------


def test_reopen_and_reassign(desk: Desk, crm: Crm, counts: Counts) -> None:
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    crm("task", "done", str(task.id))
    assert crm("task", "reopen", str(task.id)).out.startswith(
        f"task #{task.id} Call Иван Смирнов: open again"
    )
    assert Task.get_by_id(task.id).done_at is None
    before = counts()
    assert crm("task", "reopen", str(task.id)).error == (
        f"Task #{task.id} is open; only a done task can be reopened"
    )
    assert crm("task", "reopen", "999").error == "No task #999"
    assert crm("task", "reassign", str(task.id), "nobody").error == "No user with login 'nobody'"
    assert counts() == before
    run = crm("task", "reassign", str(task.id), "admin", "--json")
    assert run.json()["assignee_login"] == "admin" and Task.get_by_id(task.id).assignee_id == desk.admin_id


def test_a_call_logged_late_closes_the_first_call_task(desk: Desk, crm: Crm) -> None:
    run = crm(
        "log",
        "call",
        "--lead",
        str(desk.new_lead_id),
        "--duration",
        "95",
        "--at",
        "-10m",
        "--summary",
        "Договорились о встрече",
    )
    assert run.code == 0, run.err
    call = Interaction.get(Interaction.kind == "call_out")
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    assert run.out.splitlines() == [
        f"call #{call.id} logged: outgoing, 1:35, lead #{desk.new_lead_id}",
        f"task #{task.id} Call Иван Смирнов: done",
    ]
    assert task.done_at is not None and task.done_at - call.at >= __import__("datetime").timedelta(minutes=9)


def test_a_call_with_no_answer_keeps_the_first_call_task(desk: Desk, crm: Crm) -> None:
    run = crm(
        "log", "call", "--lead", str(desk.new_lead_id), "--duration", "0", "--outcome", "занято", "--json"
    )
    data = run.json()
    (task,) = data["tasks"]
    assert task["done_at"] is None and task["kind"] == "first_call"
    call = Interaction.get_by_id(data["id"])
    assert Task.get_by_id(task["id"]).due_at == call.at + __import__("datetime").timedelta(minutes=30)


@pytest.mark.parametrize(
    ("kind", "args", "stored"),
    [
        ("email", ("--subject", "КП", "--summary", "Отправили КП"), "email_out"),
        ("email", ("--direction", "in", "--summary", "Ответ клиента"), "email_in"),
        ("meeting", ("--duration", "3600", "--summary", "Встреча в офисе"), "meeting"),
        ("note", ("--summary", "Перезвонит в пятницу"), "note"),
    ],
)
def test_log_email_meeting_and_note(
    desk: Desk, crm: Crm, kind: str, args: tuple[str, ...], stored: str
) -> None:
    run = crm("log", kind, "--contact", str(desk.contact_id), *args, "--json")
    assert run.code == 0, run.err
    item = Interaction.get_by_id(run.json()["id"])
    assert (item.kind, item.contact_id) == (stored, desk.contact_id)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "2027-13-45"), "Not a time: '2027-13-45'"),
        (("--at", "+1h"), "is in the future"),
        (("--lead", "999"), "No lead #999"),
        (("--deal", "999"), "No deal #999"),
    ],
)
def test_log_refusals_write_nothing(
    desk: Desk, crm: Crm, counts: Counts, args: tuple[str, ...], message: str
) -> None:
    before = counts()
    target = () if any(a in args for a in ("--lead", "--deal")) else ("--contact", str(desk.contact_id))
    assert message in crm("log", "meeting", *target, *args, "--summary", "x").error
    assert message in crm("log", "call", *target, *args, "--duration", "5").error
    assert crm("log", "note", "--contact", "999", "--summary", "x").error == "No contact #999"
    assert counts() == before
