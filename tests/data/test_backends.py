"""The same models and rules on both databases the desk can live on: SQLite (embedded) and PostgreSQL.

PostgreSQL tests talk to a real server named by ``CRM_TEST_PG_URL`` (``.ci/run`` starts one); each test
gets a fresh database on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from peewee import Database

from crm_tui.data import migrations
from crm_tui.services import deals, leads, search, tasks, users
from crm_tui.services.errors import NeedsReason, RuleViolation

NOW = datetime(2026, 11, 27, 10, 0)


@pytest.fixture
def db(any_db: Database) -> Iterator[Database]:
    """Each test here runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    with any_db.connection_context():
        yield any_db


def _admin() -> int:
    return users.by_login("admin").id


def test_schema_is_at_the_latest_version(db: Database) -> None:
    assert migrations.current_version(db) == migrations.latest_version()


def test_search_is_case_insensitive_in_cyrillic_and_finds_phone_fragments(db: Database) -> None:
    lead = leads.register(
        leads.NewLead(name="Иван Петров", phone="8 (916) 123-45-67", company_name="ООО Ромашка"),
        by=_admin(),
        now=NOW,
    )
    leads.register(leads.NewLead(name="Анна Смирнова", phone="+7 903 555 00 11"), by=_admin(), now=NOW)
    for query in ("иван", "ИВАН", "ромаш", "916 123", "123-45", "8 916 123"):
        hits = search.search(query)
        assert [(h.kind, h.id) for h in hits] == [("lead", lead.id)], query
    assert search.search("петров иван")[0].id == lead.id
    assert search.search("нет такого") == []


def test_conversion_links_an_existing_contact_and_deal_rules_hold(db: Database) -> None:
    admin = _admin()
    first = leads.register(
        leads.NewLead(name="Олег", phone="+79161112233", company_name="ИП Олег"), by=admin, now=NOW
    )
    leads.qualify(first.id, by=admin, now=NOW)
    converted = leads.convert(first.id, by=admin, now=NOW)
    again = leads.register(leads.NewLead(name="Олег снова", phone="8 916 111-22-33"), by=admin, now=NOW)
    second = leads.convert(again.id, by=admin, now=NOW, qualify_first=True)
    assert second.linked_existing_contact and second.contact_id == converted.contact_id

    with pytest.raises(RuleViolation, match="Acts not signed"):
        deals.win(converted.deal_id, by=admin, now=NOW)
    with pytest.raises(NeedsReason):
        deals.lose(converted.deal_id, "", by=admin, now=NOW)
    assert deals.row(converted.deal_id).stage_position == 0

    for _ in range(5):
        deals.step(converted.deal_id, 1, by=admin, now=NOW)
    deals.sign_acts(converted.deal_id, by=admin, now=NOW)
    assert deals.win(converted.deal_id, by=admin, now=NOW).stage_kind == "won"
    assert len(deals.history(converted.deal_id)) == 7

    columns = {c.stage.name: c.count for c in deals.stage_columns()}
    assert columns["Won"] == 1 and columns["Lead registered"] == 1


def test_reminder_slots_are_claimed_once(db: Database) -> None:
    leads.register(leads.NewLead(name="Мария", phone="+79031234567"), by=_admin(), now=NOW)
    due = NOW + timedelta(hours=1)
    assert [r.slot for r in tasks.due_reminders(due)] == [0]
    assert tasks.due_reminders(due + timedelta(minutes=30)) == []
    assert [r.slot for r in tasks.due_reminders(due + timedelta(hours=1, minutes=1))] == [1]
