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
    assert deals.row(converted.deal_id).stage_position == 1  # Need discovery, where a conversion opens it

    for _ in range(4):
        deals.step(converted.deal_id, 1, by=admin, now=NOW)
    deals.sign_acts(converted.deal_id, by=admin, now=NOW)
    assert deals.win(converted.deal_id, by=admin, now=NOW).stage_kind == "won"
    assert len(deals.history(converted.deal_id)) == 6

    columns = {c.stage.name: c.count for c in deals.stage_columns()}
    assert columns["Won"] == 1 and columns["Need discovery"] == 1


def test_reminder_slots_are_claimed_once(db: Database) -> None:
    leads.register(leads.NewLead(name="Мария", phone="+79031234567"), by=_admin(), now=NOW)
    due = NOW + timedelta(hours=1)
    assert [r.slot for r in tasks.due_reminders(due)] == [0]
    assert tasks.due_reminders(due + timedelta(minutes=30)) == []
    assert [r.slot for r in tasks.due_reminders(due + timedelta(hours=1, minutes=1))] == [1]


def test_stage_totals_follow_every_change_of_a_deal(db: Database) -> None:
    """``stage_total`` (kept by the database's triggers) matches the deals grouped by stage and currency
    after creating, moving, re-pricing, winning, losing and deleting deals, through the rules and through
    plain SQL, in two currencies."""
    from peewee import fn

    from crm_tui.data.models import Deal, Stage, StageTotal

    def grouped() -> dict[tuple[int, str], tuple[int, int]]:
        rows = Deal.select(Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)).group_by(
            Deal.stage, Deal.currency
        )
        return {(stage, currency): (count, int(total)) for stage, currency, count, total in rows.tuples()}

    def kept() -> dict[tuple[int, str], tuple[int, int]]:
        rows = StageTotal.select(StageTotal.stage, StageTotal.currency, StageTotal.deals, StageTotal.amount)
        return {(stage, currency): (count, total) for stage, currency, count, total in rows.tuples() if count}

    def columns() -> dict[str, tuple[int, dict[str, int]]]:
        return {c.stage.name: (c.count, c.totals) for c in deals.stage_columns()}

    admin = _admin()
    made = [
        deals.create(
            f"Сделка {i}",
            contact_id=None,
            amount=100_000 * (i + 1),
            by=admin,
            now=NOW,
            currency="USD" if i % 3 == 0 else "RUB",
        )
        for i in range(6)
    ]
    assert kept() == grouped() and sum(count for count, _ in kept().values()) == 6
    deals.step(made[0].id, 1, by=admin, now=NOW)
    deals.step(made[1].id, 1, by=admin, now=NOW)
    deals.step(made[1].id, 1, by=admin, now=NOW)
    deals.step(made[1].id, -1, by=admin, now=NOW)
    deals.update_amount(made[2].id, 7_000_000, by=admin, now=NOW)
    deals.lose(made[3].id, "Бюджет урезали", by=admin, now=NOW)
    assert kept() == grouped()
    first = Stage.get_by_id(made[4].stage_id)
    Deal.update(currency="EUR", amount=Deal.amount + 5).where(Deal.id == made[4].id).execute()
    Deal.update(stage=Deal.stage).where(Deal.id == made[5].id).execute()  # nothing changes
    Deal.delete().where(Deal.id == made[0].id).execute()
    assert kept() == grouped()
    shown = columns()
    assert shown[first.name][1]["EUR"] == 500_005
    assert sum(count for count, _ in shown.values()) == 5
    assert shown["Lost"] == (1, {"USD": 400_000})
