"""The stored durations the reports read: a lead's first call and when a deal left each stage.

``lead.first_call_at`` and ``stage_history.left_at`` are kept by the services that log calls and move
deals. Every test compares them with the definition computed from scratch in SQL (the interactions and
the history themselves), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data.db import database
from crm_tui.data.models import Lead, StageHistory
from crm_tui.services import contacts, deals, interactions, leads, scripts
from crm_tui.services.errors import RuleViolation
from tests.desk_fixtures import Desk, any_backend_desk

NOW = datetime(2026, 3, 2, 9, 0, 0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_phones = count(2000)

# The first call as the reports define it, from the interactions alone (what migration 7 backfills).
FIRST_CALL_DEFINITION = """
SELECT l.id, (
    SELECT MIN(c.at) FROM (
        SELECT i.at FROM interaction i
        WHERE i.lead_id = l.id AND i.kind IN ('call_in', 'call_out') AND i.at >= l.created_at
        UNION ALL
        SELECT i.at FROM interaction i
        WHERE l.converted_at IS NOT NULL AND i.contact_id = l.contact_id
          AND i.kind IN ('call_in', 'call_out') AND i.at >= l.converted_at AND i.at >= l.created_at
    ) AS c
) FROM lead l ORDER BY l.id
"""

SCRIPT = """\
name: tiny
title: Tiny script
offer: [lead:new]
start: hello
nodes:
  hello:
    say: "Hello, {first_name}!"
    answers:
      - {text: "Interested", goto: ask}
      - {text: "Busy", goto: later}
  ask:
    say: Shall we meet?
    answers:
      - {text: "Yes", goto: met}
outcomes:
  met:
    label: Meeting booked
    stage: Won
  later:
    label: Call back later
"""

LEFT_AT_DEFINITION = """
SELECT id, LEAD(at) OVER (PARTITION BY deal_id ORDER BY at, id) FROM stage_history ORDER BY id
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    with any_backend_desk(request.param, tmp_path) as opened:
        yield opened
        if not opened.db.is_closed():
            opened.db.close()


@pytest.fixture
def db(desk: Desk) -> Database:
    return desk.db


def _moment(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def stored_first_calls() -> list[tuple[int, datetime | None]]:
    return [
        (r.id, _moment(r.first_call_at)) for r in Lead.select(Lead.id, Lead.first_call_at).order_by(Lead.id)
    ]


def defined_first_calls() -> list[tuple[int, datetime | None]]:
    return [(int(r[0]), _moment(r[1])) for r in database.execute_sql(FIRST_CALL_DEFINITION).fetchall()]


def stored_left_at() -> list[tuple[int, datetime | None]]:
    query = StageHistory.select(StageHistory.id, StageHistory.left_at).order_by(StageHistory.id)
    return [(r.id, _moment(r.left_at)) for r in query]


def defined_left_at() -> list[tuple[int, datetime | None]]:
    return [(int(r[0]), _moment(r[1])) for r in database.execute_sql(LEFT_AT_DEFINITION).fetchall()]


def first_call(lead_id: int) -> datetime | None:
    return _moment(Lead.get_by_id(lead_id).first_call_at)


def new_lead(at: datetime, name: str = "Клиент", phone: str | None = None) -> int:
    number = phone or f"+7 916 777-{next(_phones):04d}"
    return leads.register(leads.NewLead(name, number), by=None, now=at).id


def call(
    at: datetime, *, lead_id: int | None = None, contact_id: int | None = None, kind: str = "call_out"
) -> None:
    interactions.log(kind, by=None, now=at, at=at, lead_id=lead_id, contact_id=contact_id, duration=30)


def test_only_the_earliest_call_at_or_after_creation_counts_even_logged_out_of_order(db: Database) -> None:
    created = NOW
    lead_id = new_lead(created)
    assert first_call(lead_id) is None
    interactions.log("note", by=None, now=created + HOUR, lead_id=lead_id, summary="не звонили")
    interactions.log("email_out", by=None, now=created + HOUR, lead_id=lead_id, subject="КП")
    assert first_call(lead_id) is None  # only calls count
    call(created + 3 * HOUR, lead_id=lead_id)
    assert first_call(lead_id) == created + 3 * HOUR
    call(created + 5 * HOUR, lead_id=lead_id)  # later: no change
    assert first_call(lead_id) == created + 3 * HOUR
    call(
        created + 40 * timedelta(minutes=1), lead_id=lead_id, kind="call_in"
    )  # logged late, happened earlier
    assert first_call(lead_id) == created + 40 * timedelta(minutes=1)
    call(created - HOUR, lead_id=lead_id)  # before the lead existed: not its first call
    assert first_call(lead_id) == created + 40 * timedelta(minutes=1)
    assert stored_first_calls() == defined_first_calls()


def test_calls_to_the_contact_count_from_the_conversion_on(db: Database) -> None:
    lead_id = new_lead(NOW, "Ольга Смирнова")
    converted = leads.convert(lead_id, by=None, now=NOW + DAY, qualify_first=True)
    assert first_call(lead_id) is None
    call(NOW + 2 * DAY, contact_id=converted.contact_id)
    assert first_call(lead_id) == NOW + 2 * DAY
    call(NOW + 12 * HOUR, contact_id=converted.contact_id)  # before the conversion: not the lead's call
    assert first_call(lead_id) == NOW + 2 * DAY
    call(NOW + 30 * HOUR, lead_id=lead_id)  # on the lead (its contact is filled in): counts
    assert first_call(lead_id) == NOW + 30 * HOUR
    assert stored_first_calls() == defined_first_calls()


def test_a_lead_linked_to_a_contact_takes_the_contact_calls_after_its_conversion(db: Database) -> None:
    contact_id = contacts.create(
        contacts.ContactEdit("Пётр Орлов", phones=("+7 916 111-22-33",)), by=None, now=NOW
    )
    call(NOW + HOUR, contact_id=contact_id)  # before the lead: never its first call
    call(NOW + 10 * DAY, contact_id=contact_id)  # already on the contact, dated after the conversion
    lead_id = new_lead(NOW + DAY, "Пётр Орлов", "+7 916 111-22-33")
    result = leads.convert(lead_id, by=None, now=NOW + 2 * DAY, qualify_first=True)
    assert result.contact_id == contact_id and result.linked_existing_contact
    assert first_call(lead_id) == NOW + 10 * DAY
    other = new_lead(NOW + 3 * DAY, "Пётр Орлов", "+7 916 111-22-33")  # a repeat request, not converted
    call(NOW + 4 * DAY, contact_id=contact_id)
    assert first_call(other) is None
    assert first_call(lead_id) == NOW + 4 * DAY
    assert stored_first_calls() == defined_first_calls()


def test_converting_a_repeat_lead_shares_its_calls_with_the_leads_of_its_contact(db: Database) -> None:
    first = new_lead(NOW, "Мария Белова", "+7 916 222-33-44")
    contact_id = leads.convert(first, by=None, now=NOW + HOUR, qualify_first=True).contact_id
    again = new_lead(NOW + DAY, "Мария Белова", "+7 916 222-33-44")  # she asks again later
    call(NOW + 2 * DAY, lead_id=again)
    assert (first_call(first), first_call(again)) == (None, NOW + 2 * DAY)
    result = leads.convert(again, by=None, now=NOW + 3 * DAY, qualify_first=True)
    assert result.contact_id == contact_id
    # the call is now linked to the contact too, after the first lead's conversion: its first call
    assert (first_call(first), first_call(again)) == (NOW + 2 * DAY, NOW + 2 * DAY)
    assert stored_first_calls() == defined_first_calls()


def test_a_scripted_call_is_a_first_call_and_a_refused_one_is_not(desk: Desk) -> None:
    scripts.import_text(SCRIPT, by=desk.admin_id, now=NOW)
    lead_id = new_lead(NOW)
    run = scripts.start_call("tiny", lead_id=lead_id, now=NOW + HOUR)
    run.choose(2)  # "Busy": call back later
    scripts.save_call(run, by=desk.admin_id, now=NOW + 2 * HOUR, lead_id=lead_id)
    assert first_call(lead_id) == NOW + 2 * HOUR

    other = new_lead(NOW)
    deal_id = leads.convert(other, by=None, now=NOW + HOUR, qualify_first=True).deal_id
    run = scripts.start_call("tiny", lead_id=other, deal_id=deal_id, now=NOW + 3 * HOUR)
    run.choose(1)
    run.choose(1)  # "met": the deal goes to Won, which its unsigned acts forbid
    with pytest.raises(RuleViolation):  # so nothing of the call is saved
        scripts.save_call(run, by=desk.admin_id, now=NOW + 4 * HOUR, lead_id=other, deal_id=deal_id)
    assert first_call(other) is None
    assert stored_first_calls() == defined_first_calls()


def test_each_stay_ends_at_the_next_move_even_one_recorded_out_of_order(db: Database) -> None:
    deal_id = deals.create("Сайт для ООО Ромашка", contact_id=None, by=None, now=NOW).id
    deals.move(deal_id, "2", by=None, now=NOW + DAY)
    deals.move(deal_id, "3", by=None, now=NOW + 3 * DAY)
    history = stored_left_at()
    assert [at for _, at in history] == [NOW + DAY, NOW + 3 * DAY, None]
    deals.move(deal_id, "4", by=None, now=NOW + 2 * DAY)  # recorded late: lands between the two moves
    deals.move(deal_id, "5", by=None, now=NOW + 3 * DAY)  # the same moment as a move before it: after it
    deals.move(deal_id, "1", by=None, now=NOW - DAY)  # before everything
    assert [at for _, at in stored_left_at()] == [
        NOW + DAY,
        NOW + 2 * DAY,
        NOW + 3 * DAY,
        NOW + 3 * DAY,
        None,
        NOW,
    ]
    assert stored_left_at() == defined_left_at()
    other = deals.create("Аудит для АО Вектор", contact_id=None, by=None, now=NOW).id  # its own history
    deals.move(other, "2", by=None, now=NOW + HOUR)
    assert stored_left_at() == defined_left_at()
