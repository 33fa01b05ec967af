"""Tasks (complete, reschedule, reassign, lists), reminders and logged interactions."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from peewee import Database

from crm_tui.data.db import database
from crm_tui.data.models import Interaction, Lead, Task
from crm_tui.services import interactions, tasks
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.views import Reminder
from tests.conftest import NOW, Counts, Desk

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def db(any_db: Database) -> Database:
    """These rules run on SQLite and on PostgreSQL."""
    return any_db


def first_call(desk: Desk) -> int:
    return Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call")).id


def remind(at: datetime) -> list[tuple[int, int]]:
    return [(r.task_id, r.slot) for r in tasks.due_reminders(at)]


# --- reminders -------------------------------------------------------------------------------------


def test_nothing_is_due_before_the_first_call_time(desk: Desk) -> None:
    assert remind(NOW + 59 * MIN) == []


def test_due_tasks_are_reminded_once_at_their_due_time(desk: Desk) -> None:
    due = remind(NOW + HOUR)
    # the two open seeded leads each have a first-call task due at NOW + 1h (the converted one's was
    # closed by its conversion)
    assert sorted(slot for _, slot in due) == [0, 0]
    assert first_call(desk) in [task_id for task_id, _ in due]
    assert remind(NOW + HOUR) == []
    assert remind(NOW + HOUR + 30 * MIN) == []
    task = Task.get_by_id(first_call(desk))
    assert (task.reminded_slot, task.reminded_at) == (0, NOW + HOUR + 0 * MIN)


def test_an_overdue_task_is_reminded_again_every_hour(desk: Desk) -> None:
    for t in Task.select().where(Task.done_at.is_null()):  # keep the seeded tasks out of the way
        tasks.complete(t.id, by=desk.manager_id, now=NOW)
    other = tasks.create("Перезвонить", NOW + HOUR, by=desk.manager_id, now=NOW)
    assert remind(NOW + HOUR) == [(other.id, 0)]
    assert remind(NOW + 2 * HOUR - MIN) == []
    assert remind(NOW + 2 * HOUR) == [(other.id, 1)]
    assert remind(NOW + 2 * HOUR + 10 * MIN) == []
    assert remind(NOW + 3 * HOUR + 5 * MIN) == [(other.id, 2)]


def test_a_missed_hour_sends_only_the_latest_slot(desk: Desk) -> None:
    for t in Task.select().where(Task.done_at.is_null()):
        tasks.complete(t.id, by=desk.manager_id, now=NOW)
    task = tasks.create("Позвонить", NOW + HOUR, by=desk.manager_id, now=NOW)
    assert remind(NOW + 5 * HOUR + MIN) == [(task.id, 4)]
    assert remind(NOW + 5 * HOUR + 2 * MIN) == []


def test_a_done_task_is_not_reminded(desk: Desk) -> None:
    task_id = first_call(desk)
    tasks.complete(task_id, by=desk.manager_id, now=NOW + 10 * MIN)
    assert task_id not in [task for task, _ in remind(NOW + 3 * HOUR)]


def test_reminders_carry_what_the_person_needs(desk: Desk) -> None:
    reminders: list[Reminder] = tasks.due_reminders(NOW + HOUR)
    mine = next(r for r in reminders if r.task_id == first_call(desk))
    assert (mine.title, mine.linked_label, mine.assignee_login, mine.overdue) == (
        "Call Иван Смирнов",
        "lead: Иван Смирнов",
        "anna",
        False,
    )


def test_two_racing_checks_never_send_the_same_slot_twice(desk: Desk) -> None:
    for i in range(30):
        tasks.create(f"Задача {i}", NOW + HOUR, by=desk.manager_id, now=NOW)
    expected = Task.select().where(Task.done_at.is_null()).count()
    database.close()
    barrier = threading.Barrier(2)
    results: list[list[Reminder]] = [[], []]
    errors: list[BaseException] = []

    def check(i: int) -> None:
        try:
            with database.connection_context():
                barrier.wait()
                results[i] = tasks.due_reminders(NOW + HOUR)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=check, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sent = [(r.task_id, r.slot) for r in results[0] + results[1]]
    assert len(sent) == expected
    assert len(set(sent)) == len(sent)


def test_snooze_resets_the_reminders(desk: Desk) -> None:
    task_id = first_call(desk)
    assert (task_id, 0) in remind(NOW + HOUR)
    assert (task_id, 1) in remind(NOW + 2 * HOUR)
    tasks.reschedule(task_id, NOW + 4 * HOUR, by=desk.manager_id, now=NOW + 2 * HOUR)
    task = Task.get_by_id(task_id)
    assert (task.reminded_slot, task.next_remind_at) == (-1, NOW + 4 * HOUR)
    assert task_id not in [t for t, _ in remind(NOW + 3 * HOUR)]
    assert (task_id, 0) in remind(NOW + 4 * HOUR)


def test_without_claim_nothing_is_marked(desk: Desk) -> None:
    peek = tasks.due_reminders(NOW + HOUR, claim=False)
    assert len(peek) == 2
    assert len(tasks.due_reminders(NOW + HOUR)) == 2


# --- complete, reschedule, reassign, lists -------------------------------------------------------


def test_complete_a_task_once(desk: Desk, counts: Counts) -> None:
    task_id = first_call(desk)
    row = tasks.complete(task_id, by=desk.manager_id, now=NOW + 5 * MIN)
    assert row.done_at == NOW + 5 * MIN
    before = counts()
    with pytest.raises(RuleViolation, match="already done"):
        tasks.complete(task_id, by=desk.manager_id, now=NOW + 6 * MIN)
    assert Task.get_by_id(task_id).done_at == NOW + 5 * MIN
    assert counts() == before


def test_complete_unknown_task(desk: Desk) -> None:
    with pytest.raises(NotFound, match="No task #999"):
        tasks.complete(999, by=desk.manager_id, now=NOW)


def test_a_done_task_cannot_be_rescheduled(desk: Desk) -> None:
    task_id = first_call(desk)
    tasks.complete(task_id, by=desk.manager_id, now=NOW)
    with pytest.raises(RuleViolation, match="is done"):
        tasks.reschedule(task_id, NOW + HOUR, by=desk.manager_id, now=NOW)
    assert Task.get_by_id(task_id).due_at == NOW + HOUR


def test_reassign(desk: Desk) -> None:
    task_id = first_call(desk)
    assert tasks.reassign(task_id, desk.admin_id, by=desk.manager_id, now=NOW).assignee_login == "admin"
    with pytest.raises(NotFound, match="No user #999"):
        tasks.reassign(task_id, 999, by=desk.manager_id, now=NOW)
    assert Task.get_by_id(task_id).assignee_id == desk.admin_id


def test_create_refuses_unknown_links_and_writes_nothing(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(NotFound, match="No deal #77"):
        tasks.create("X", NOW, by=desk.manager_id, now=NOW, deal_id=77)
    with pytest.raises(InvalidInput):
        tasks.create("  ", NOW, by=desk.manager_id, now=NOW)
    assert counts() == before


def test_open_tasks_soonest_first_with_due_filter_assignee_and_keyset(desk: Desk) -> None:
    for t in Task.select().where(Task.done_at.is_null()):
        tasks.complete(t.id, by=desk.manager_id, now=NOW)
    late = tasks.create("Позже", NOW + 3 * HOUR, by=desk.manager_id, now=NOW)
    overdue = tasks.create("Просрочено", NOW - HOUR, by=desk.admin_id, now=NOW)
    soon = tasks.create("Скоро", NOW + HOUR, by=desk.manager_id, now=NOW)
    assert [r.id for r in tasks.list_open()] == [overdue.id, soon.id, late.id]
    assert [r.id for r in tasks.list_open(due_before=NOW)] == [overdue.id]
    assert [r.id for r in tasks.list_open(assignee_id=desk.manager_id)] == [soon.id, late.id]
    page = tasks.list_open(limit=2)
    assert [r.id for r in tasks.list_open(after=(page[-1].due_at, page[-1].id))] == [late.id]


def test_parse_due_understands_people(desk: Desk) -> None:
    local_now = datetime(2026, 3, 2, 12, 0)
    assert tasks.parse_due("+30m", local_now) == local_now + 30 * MIN
    assert tasks.parse_due("завтра 9:00", local_now) == datetime(2026, 3, 3, 9, 0)
    assert tasks.parse_due("2026-03-05 10:30", local_now) == datetime(2026, 3, 5, 10, 30)
    with pytest.raises(InvalidInput):
        tasks.parse_due("когда-нибудь", local_now)


# --- interactions ------------------------------------------------------------------------------------


def test_log_a_call_with_its_duration_on_the_contact_and_deal(desk: Desk) -> None:
    row = interactions.log(
        "call_out",
        by=desk.manager_id,
        now=NOW + HOUR,
        contact_id=desk.contact_id,
        deal_id=desk.deal_id,
        duration=185,
        summary="Обсудили КП",
        outcome="отправить КП",
    )
    assert (row.kind, row.duration, row.summary, row.outcome, row.by_name) == (
        "call_out",
        185,
        "Обсудили КП",
        "отправить КП",
        "Анна Петрова",
    )
    assert interactions.timeline(contact_id=desk.contact_id)[0].id == row.id
    assert interactions.timeline(deal_id=desk.deal_id)[0].id == row.id


def test_a_call_to_a_new_lead_takes_it_into_work(desk: Desk) -> None:
    interactions.log("call_out", by=desk.manager_id, now=NOW, lead_id=desk.new_lead_id, duration=40)
    assert Lead.get_by_id(desk.new_lead_id).status == "in_work"


def test_a_call_on_a_deal_lands_on_its_contact(desk: Desk) -> None:
    row = interactions.log("call_in", by=desk.manager_id, now=NOW, deal_id=desk.deal_id, duration=10)
    assert row.contact_id == desk.contact_id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"contact_id": 1}, "duration"),
        ({"contact_id": 1, "duration": -5}, "duration"),
        ({"contact_id": 1, "duration": 100_000}, "duration"),
        ({"duration": 60}, "contact"),
    ],
)
def test_bad_calls_are_refused(desk: Desk, counts: Counts, kwargs: dict[str, int], field: str) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        interactions.log("call_out", by=desk.manager_id, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert field in caught.value.fields
    assert counts() == before


def test_a_call_about_an_unknown_record_writes_nothing(desk: Desk, counts: Counts) -> None:
    before = counts()
    for kwargs in ({"contact_id": 999}, {"deal_id": 999}, {"lead_id": 999}):
        with pytest.raises(NotFound):
            interactions.log("call_out", by=desk.manager_id, now=NOW, duration=30, **kwargs)  # type: ignore[arg-type]
    assert counts() == before
    assert Interaction.select().where(Interaction.kind == "call_out").count() == 0


@pytest.mark.parametrize("link", ["lead", "contact", "deal"])
def test_open_tasks_of_one_record_are_read_from_its_own_index(desk: Desk, link: str) -> None:
    """A card's open tasks must not walk every open task of the desk (60-100 ms at a million leads)."""
    from crm_tui.data.db import is_sqlite

    if not is_sqlite():
        pytest.skip("the query plan checked is SQLite's")
    query = tasks._query().where(Task.done_at.is_null() & (getattr(Task, link) == 1)).order_by(Task.due_at)
    sql, params = query.sql()
    plan = " ".join(str(row[-1]) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert f"task_{link}_id_done_at_due_at" in plan


def test_reopen_undoes_done_and_is_refused_on_an_open_task(desk: Desk, counts: Counts) -> None:
    task_id = first_call(desk)
    tasks.complete(task_id, by=desk.manager_id, now=NOW + 10 * MIN)
    row = tasks.reopen(task_id, by=desk.manager_id, now=NOW + 11 * MIN)
    assert row.done_at is None
    assert (task_id, 0) in remind(NOW + HOUR)  # its reminders resume
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        tasks.reopen(task_id, by=desk.manager_id, now=NOW + 12 * MIN)
    assert refused.value.code == "task.open"
    assert counts() == before


def test_a_reopened_overdue_task_is_reminded_at_its_next_interval_not_at_once(desk: Desk) -> None:
    task_id = first_call(desk)
    tasks.complete(task_id, by=desk.manager_id, now=NOW + 10 * MIN)
    tasks.reopen(task_id, by=desk.manager_id, now=NOW + 3 * HOUR + 10 * MIN)
    assert Task.get_by_id(task_id).next_remind_at == NOW + 4 * HOUR
