"""Upgrading a database written by an older version: every row kept, the schema at the latest version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from peewee import Database

from crm_tui.data import migrations
from crm_tui.data.db import connect_url, database, open_database
from crm_tui.data.models import Company, Contact, Deal, Lead, SchemaVersion, Task
from crm_tui.services import deals, leads, pipelines, search

OLD_ROWS = """
INSERT INTO "user" (id, login, name, role, active, created_at)
    VALUES (1, 'admin', 'Administrator', 'admin', 1, '2025-01-10 08:00:00'),
           (2, 'olga', 'Ольга Иванова', 'manager', 1, '2025-01-10 08:05:00');
INSERT INTO pipeline (id, name, is_default) VALUES (1, 'Sales', 1);
INSERT INTO stage (id, pipeline_id, position, name, name_ru, probability, kind, stale_days) VALUES
    (1, 1, 0, 'Lead registered', 'Первичное обращение', 5, 'open', 2),
    (2, 1, 1, 'Need discovery', 'Выяснение потребности', 10, 'open', 7),
    (3, 1, 2, 'Proposal preparation', 'Подготовка предложения', 30, 'open', 7),
    (4, 1, 3, 'Proposal negotiation', 'Согласование предложения', 50, 'open', 14),
    (5, 1, 4, 'Service delivery', 'Оказание услуги', 80, 'open', 30),
    (6, 1, 5, 'Acts closed & feedback', 'Закрытие актов и получение отзывов', 95, 'open', 14),
    (7, 1, 6, 'Won', 'Успешно', 100, 'won', 0),
    (8, 1, 7, 'Lost', 'Провалено', 0, 'lost', 0);
INSERT INTO company (id, name, owner_id, created_at) VALUES (1, 'ООО Старт', 2, '2025-01-11 09:00:00');
INSERT INTO contact (id, name, company_id, owner_id, tags, created_at)
    VALUES (1, 'Сергей Волков', 1, 2, 'vip', '2025-01-11 09:00:00');
INSERT INTO contact_channel (contact_id, kind, value, label, position) VALUES
    (1, 'phone', '+79265550011', '', 0), (1, 'email', 'volkov@start.ru', '', 0);
INSERT INTO lead (id, name, phone, email, company_name, comment, status, owner_id, utm_source, utm_medium,
                  utm_campaign, utm_term, utm_content, referrer, landing_page, created_at, repeat_count)
    VALUES (1, 'Наталья Орлова', '+79031112233', 'orlova@mail.ru', 'ИП Орлова', 'нужен сайт', 'new', 2,
            'yandex', 'cpc', 'зима', 'создание сайта', '', '', '', '2025-01-12 10:00:00', 0);
INSERT INTO deal (id, title, contact_id, company_id, pipeline_id, stage_id, amount, currency, owner_id,
                  stage_entered_at, created_at)
    VALUES (1, 'Сайт для ООО Старт', 1, 1, 1, 3, 25000000, 'RUB', 2, '2025-01-13 10:00:00',
            '2025-01-11 09:00:00');
INSERT INTO task (id, title, due_at, assignee_id, lead_id, kind, reminded_slot, next_remind_at, created_at)
    VALUES (1, 'Call Наталья Орлова', '2025-01-12 11:00:00', 2, 1, 'first_call', -1, '2025-01-12 11:00:00',
            '2025-01-12 10:00:00');
"""


def make_version_1_file(path: Path) -> None:
    """A database as version 1 of the desk left it: the core tables, its rows, no search index."""
    old = connect_url(f"sqlite:///{path}")
    database.initialize(old)  # the models (schema_version too) go through the proxy, as open_database does
    with old.connection_context():
        assert migrations.upgrade(old, target=1) == [1]
    old.close()
    raw = sqlite3.connect(path)
    raw.executescript(OLD_ROWS)
    raw.commit()
    raw.close()


def test_a_version_1_file_is_upgraded_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_version_1_file(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'search_index'").fetchone() == (0,)
    raw.close()

    db = open_database(str(path))
    with db.connection_context():
        assert migrations.current_version(db) == migrations.latest_version()
        assert [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)] == [
            m.version for m in migrations.all_migrations()
        ]
        lead = Lead.get_by_id(1)
        assert (lead.name, lead.phone, lead.utm_term, lead.owner_id) == (
            "Наталья Орлова",
            "+79031112233",
            "создание сайта",
            2,
        )
        assert Contact.get_by_id(1).name == "Сергей Волков"
        assert Company.get_by_id(1).name == "ООО Старт"
        deal = deals.row(1)
        assert (deal.stage_name, deal.amount, deal.money) == ("Proposal preparation", 25000000, "250 000 ₽")
        assert Task.get_by_id(1).title == "Call Наталья Орлова"
        assert (Lead.select().count(), Contact.select().count(), Deal.select().count()) == (1, 1, 1)

        # version 2 built the search index from the old rows
        assert [(h.kind, h.id) for h in search.search("орлова")] == [("lead", 1)]
        assert [(h.kind, h.id) for h in search.search("111-22")] == [("lead", 1)]
        assert [(h.kind, h.id) for h in search.search("8 926 555")] == [("contact", 1)]
        assert [(h.kind, h.id) for h in search.search("volkov@start")] == [("contact", 1)]
        assert {(h.kind, h.id) for h in search.search("старт")} == {
            ("company", 1),
            ("contact", 1),
            ("deal", 1),
        }

        # and the rules work on the old data
        assert pipelines.ensure_default() == 1
        leads.qualify(1, by=2, now=lead.created_at)
        result = leads.convert(1, by=2, now=lead.created_at)
        assert not result.linked_existing_contact
    db.close()


def test_opening_an_up_to_date_file_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    open_database(str(path)).close()
    db = open_database(str(path), migrate=False)
    with db.connection_context():
        assert migrations.upgrade(db) == []
        assert migrations.current_version(db) == migrations.latest_version()
    db.close()
    assert database.obj is db


def test_an_empty_file_gets_every_migration_in_order(tmp_path: Path) -> None:
    db = connect_url(f"sqlite:///{tmp_path / 'new.db'}")
    database.initialize(db)
    with db.connection_context():
        applied = migrations.upgrade(db)
    db.close()
    assert applied == sorted(applied) == [m.version for m in migrations.all_migrations()]
    assert applied[:2] == [1, 2]


def test_a_step_numbered_below_the_file_version_is_still_applied(tmp_path: Path) -> None:
    """A file upgraded before step 3 (web forms) existed, but past it, still gets the step."""
    path = tmp_path / "crm.db"
    open_database(str(path)).close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE intake_form")
    raw.execute("DELETE FROM schema_version WHERE version = 3")
    raw.commit()
    raw.close()

    db = open_database(str(path))
    with db.connection_context():
        assert db.table_exists("intake_form")
        assert 3 in migrations.applied_versions(db)
        assert migrations.upgrade(db) == []
    db.close()


def _desk_at_version_6(url: str) -> Database:
    """A desk written through the services at schema version 6, then without the columns step 7 adds:
    a file from before first calls and stays were stored, with calls and moves logged out of order."""
    from datetime import datetime, timedelta

    from crm_tui.services import contacts, interactions, users

    db = connect_url(url)
    database.initialize(db)
    now = datetime(2026, 3, 2, 9, 0)
    hour, day = timedelta(hours=1), timedelta(days=1)
    with db.connection_context():
        assert migrations.upgrade(db, target=6) == [1, 2, 3, 4, 5, 6]
        users.ensure_default(now)
        pipelines.ensure_default()

        def call(at: datetime, **link: int) -> None:
            interactions.log("call_out", by=None, now=at, at=at, duration=60, **link)  # type: ignore[arg-type]

        lead = leads.register(leads.NewLead("Иван Петров", "+7 916 100-00-01"), by=None, now=now).id
        call(now + 3 * hour, lead_id=lead)
        call(now + hour, lead_id=lead)  # logged late: the first call
        call(now - hour, lead_id=lead)  # before the lead: not counted
        never = leads.register(leads.NewLead("Анна Котова", "+7 916 100-00-02"), by=None, now=now).id
        interactions.log("note", by=None, now=now + hour, lead_id=never, summary="без звонка")
        converted = leads.register(leads.NewLead("Олег Сидоров", "+7 916 100-00-03"), by=None, now=now).id
        result = leads.convert(converted, by=None, now=now + day, qualify_first=True)
        call(now + 2 * hour, contact_id=result.contact_id)  # on the contact before the conversion
        call(now + 2 * day, contact_id=result.contact_id)  # after it: the first call
        petr = contacts.ContactEdit("Пётр Орлов", phones=("+7 916 100-00-09",))
        contact = contacts.create(petr, by=None, now=now)
        call(now + hour, contact_id=contact)
        deals.move(result.deal_id, "3", by=None, now=now + 3 * day)
        deals.move(result.deal_id, "2", by=None, now=now + 2 * day)  # recorded late
        deals.move(result.deal_id, "4", by=None, now=now + 3 * day)  # same moment as an earlier move
        deals.create("Аудит", contact_id=None, by=None, now=now)
        db.execute_sql("ALTER TABLE lead DROP COLUMN first_call_at")
        db.execute_sql("ALTER TABLE stage_history DROP COLUMN left_at")
    return db


def _step_7_upgrades_and_backfills(url: str) -> None:
    from datetime import datetime, timedelta

    from crm_tui.data.models import StageHistory

    db = _desk_at_version_6(url)
    now = datetime(2026, 3, 2, 9, 0)
    hour, day = timedelta(hours=1), timedelta(days=1)
    with db.connection_context():
        assert not any(c.name == "first_call_at" for c in db.get_columns("lead"))
        assert migrations.upgrade(db) == [m.version for m in migrations.all_migrations() if m.version >= 7]
        assert migrations.current_version(db) == migrations.latest_version()
        first = {lead.id: lead.first_call_at for lead in Lead.select().order_by(Lead.id)}
        assert first == {1: now + hour, 2: None, 3: now + 2 * day}
        history = StageHistory.select().order_by(StageHistory.id)
        assert [(h.deal_id, h.at, h.left_at) for h in history] == [
            (1, now + day, now + 2 * day),
            (1, now + 3 * day, now + 3 * day),
            (1, now + 2 * day, now + 3 * day),
            (1, now + 3 * day, None),
            (2, now, None),
        ]
        names = {i.name for i in db.get_indexes("lead")} | {i.name for i in db.get_indexes("stage_history")}
        assert {
            "lead_report_source_term",
            "lead_report_source_first_call",
            "lead_report_owner",
            "stage_history_report_stay",
            "stage_history_deal_id_to_stage_id",  # step 8
        } <= names
        from crm_tui.data.models import Deal, StageTotal

        totals = {(t.stage_id, t.currency): (t.deals, t.amount) for t in StageTotal.select()}  # step 10
        stages = sorted((d.stage_id, d.currency) for d in Deal.select())
        assert len(stages) == 2 and sorted(totals) == stages
        assert all(deals == 1 and amount == 0 for deals, amount in totals.values())
        assert migrations.upgrade(db) == []
    db.close()


def test_step_7_backfills_first_calls_and_stays_of_an_older_file(tmp_path: Path) -> None:
    _step_7_upgrades_and_backfills(f"sqlite:///{tmp_path / 'crm.db'}")


@pytest.mark.postgres
def test_step_7_backfills_first_calls_and_stays_on_postgresql(pg_url: str) -> None:
    _step_7_upgrades_and_backfills(pg_url)


def test_step_16_gives_the_catalogue_its_columns_and_keeps_every_product(tmp_path: Path) -> None:
    """A desk from before the catalogue: its products keep their prices and take the 22 % rate."""
    from crm_tui.data.db import open_database
    from crm_tui.data.models import Product
    from crm_tui.services import products

    url = str(tmp_path / "old.db")
    db = open_database(url)
    with db.connection_context():
        for column in ("vat_rate", "category", "sku", "archived_at"):
            db.execute_sql(f"ALTER TABLE product DROP COLUMN {column}")
        db.execute_sql("DROP TABLE document")
        db.execute_sql("DROP TABLE deal_line")
        db.execute_sql("DELETE FROM schema_version WHERE version = 16")
        db.execute_sql(
            "INSERT INTO product (name, unit, price, currency, active)"
            " VALUES ('Лицензия', 'шт', 1200000, 'RUB', 1)"
        )
        assert migrations.upgrade(db) == [16]
        (kept,) = products.search("лиценз")
        assert (kept.price, kept.vat_rate, kept.sku, kept.archived_at) == (1_200_000, 22, None, None)
        assert Product.select().count() == 1
        assert db.table_exists("deal_line") and db.table_exists("document")
