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
    seeded = [t.id for t in Task.select().where(Task.id != fresh).order_by(Task.id)]
    rows = crm("task", "list", "--json").json()
    assert [r["id"] for r in rows] == [*seeded, fresh]
    assert [r["id"] for r in crm("task", "list", "--due", "--json").json()] == seeded
    text = crm("task", "list").out.splitlines()
    assert text[0].split() == ["ID", "DUE", "WHEN", "TASK", "ABOUT", "ASSIGNEE"]
    assert "OVERDUE" in text[1] and "Call Иван Смирнов" in text[1] and "lead: Иван Смирнов" in text[1]
    assert "in 59 min" in text[-1] or "in 1 h" in text[-1]


def test_list_mine_assignee_and_pages(desk: Desk, crm: Crm) -> None:
    anna = [
        t.id for t in Task.select().where(Task.assignee == desk.manager_id).order_by(Task.due_at, Task.id)
    ]
    assert [r["id"] for r in crm("task", "list", "--assignee", "anna", "--json").json()] == anna
    assert [r["id"] for r in crm("task", "list", "--mine", "--user", "anna", "--json").json()] == anna
    assert crm("task", "list", "--mine").out.strip() == "no open tasks"  # admin has none
    first = crm("task", "list", "--limit", "2")
    assert first.out.splitlines()[-1] == f"more: crm task list --after {anna[1]} --limit 2"
    rest = crm("task", "list", "--limit", "2", "--after", str(anna[1]), "--json").json()
    assert [r["id"] for r in rest] == anna[2:]


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
