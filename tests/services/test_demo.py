"""The demo desk: what a person opening it sees must be there, consistent, and the same for a seed."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from peewee import Database, fn

from crm_tui.data.db import database, open_database
from crm_tui.data.models import (
    Company,
    Contact,
    ContactChannel,
    Deal,
    Interaction,
    Lead,
    Product,
    Stage,
    StageHistory,
    Task,
    User,
)
from crm_tui.services import deals, demo, leads, pipelines, search
from crm_tui.services.validation import normalize_email, normalize_phone
from tests.conftest import NOW
from tests.services import test_report_durations as durations

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@pytest.fixture
def summary(db: Database) -> demo.DemoSummary:
    return demo.generate(leads=300, now=NOW, seed=7)


def table_count(table: str) -> int:
    return int(database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def test_counts_are_as_reported(summary: demo.DemoSummary) -> None:
    assert summary.leads == Lead.select().count() == 300
    assert summary.contacts == Contact.select().count()
    assert summary.companies == Company.select().count()
    assert summary.deals == Deal.select().count() == summary.contacts
    assert summary.stage_moves == StageHistory.select().count()
    assert summary.interactions == Interaction.select().count()
    assert summary.tasks == Task.select().count()
    assert summary.products == Product.select().count() == len(demo.DEMO_PRODUCTS)
    assert summary.search_entries == table_count("search_index")
    assert summary.search_entries == summary.leads + summary.contacts + summary.companies + summary.deals
    # about a quarter of the leads became clients, with one or two interactions each and then some
    assert 50 <= summary.contacts <= 110
    assert summary.contacts <= summary.interactions <= 4 * summary.contacts


def test_the_desk_has_a_head_managers_and_operators(summary: demo.DemoSummary) -> None:
    roles = Counter(role for (role,) in User.select(User.role).tuples())
    assert roles["admin"] == 1 and roles["head"] == 1
    assert 3 <= roles["manager"] <= 5 and roles["operator"] == 2
    names = [name for (name,) in User.select(User.name).tuples()]
    assert any(CYRILLIC.search(n) for n in names) and any(n.isascii() and " " in n for n in names)


def test_leads_look_like_a_real_inbox(summary: demo.DemoSummary) -> None:
    rows = list(Lead.select())
    assert {r.status for r in rows} == {"new", "in_work", "qualified", "converted", "disqualified"}
    russian = sum(1 for r in rows if CYRILLIC.search(r.name))
    assert russian > len(rows) / 2 and russian < len(rows)  # mostly Russian, some English
    for r in rows:
        assert normalize_phone(r.phone) == r.phone and r.phone.startswith("+79")
        if r.email:
            assert normalize_email(r.email) == r.email
        if r.status == "disqualified":
            assert r.disqualify_reason and r.closed_at is not None
    assert {"yandex", "google", "direct", "vk", "referral"} <= {r.utm_source for r in rows}
    assert {"cpc", "organic"} <= {r.utm_medium for r in rows}
    assert "crm для отдела продаж" in {r.utm_term for r in rows}
    assert any(r.company_name.startswith("ООО «") for r in rows)
    assert any(r.company_name.startswith("ИП ") for r in rows)
    assert any(r.landing_page and r.referrer for r in rows)
    # spread over the year before now, ids in time order
    created = [r.created_at for r in sorted(rows, key=lambda r: r.id)]
    assert created == sorted(created)
    assert created[-1] <= NOW and (NOW - created[0]).days > 300
    # what the inbox flags as possible duplicates
    page = leads.list_page(limit=300)
    assert sum(r.possible_duplicate for r in page) >= 3


def test_converted_leads_have_a_contact_a_company_and_a_deal(summary: demo.DemoSummary) -> None:
    converted = list(Lead.select().where(Lead.status == "converted"))
    assert len(converted) == summary.contacts
    for lead in converted:
        assert lead.contact_id and lead.deal_id and lead.qualified_at <= lead.converted_at
        deal = Deal.get_by_id(lead.deal_id)
        assert deal.lead_id == lead.id and deal.contact_id == lead.contact_id
        phones = [c.value for c in ContactChannel.select().where(ContactChannel.contact == lead.contact_id)]
        assert lead.phone in phones
    several = (
        ContactChannel.select(ContactChannel.contact)
        .where(ContactChannel.kind == "phone")
        .group_by(ContactChannel.contact)
        .having(fn.COUNT(ContactChannel.id) > 1)
        .count()
    )
    assert several > 0
    phones = ContactChannel.select(ContactChannel.value).where(ContactChannel.kind == "phone")
    for (value,) in phones.tuples():
        assert normalize_phone(value) == value


def test_deals_stand_at_every_stage_with_their_history(summary: demo.DemoSummary) -> None:
    columns = deals.stage_columns()
    assert [c.stage.name for c in columns] == [s[0] for s in pipelines.DEFAULT_STAGES]
    assert all(c.count > 0 for c in columns), [(c.stage.name, c.count) for c in columns]
    assert all(c.totals.get("RUB", 0) > 0 for c in columns)
    kinds = {s.id: s.kind for s in Stage.select()}
    first = pipelines.first_open_stage(pipelines.default_pipeline_id()).id
    for deal in Deal.select():
        assert deal.amount > 0 and deal.amount % 100 == 0  # whole roubles, in kopecks
        moves = list(StageHistory.select().where(StageHistory.deal == deal.id).order_by(StageHistory.at))
        assert moves[0].from_stage_id is None and moves[0].to_stage_id == first
        assert moves[-1].to_stage_id == deal.stage_id and moves[-1].at == deal.stage_entered_at
        for before, after in zip(moves, moves[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id and after.at >= before.at
        if kinds[deal.stage_id] == "won":
            assert deal.acts_signed_at is not None and deal.acts_signed_at <= deal.won_at <= NOW
        elif kinds[deal.stage_id] == "lost":
            assert deal.lost_reason and deal.lost_at is not None
        else:
            assert deal.won_at is None and deal.lost_at is None
    stale = [
        r
        for c in columns
        if c.stage.kind == "open"
        for r in deals.list_page(stage_id=c.stage.id, limit=500)
        if (NOW - r.stage_entered_at).days > c.stage.stale_days
    ]
    assert stale, "some open deals sit past their stage's stale days"


def test_interactions_and_tasks(summary: demo.DemoSummary) -> None:
    kinds = Counter(k for (k,) in Interaction.select(Interaction.kind).tuples())
    assert {"call_out", "conversion", "note"} <= set(kinds)
    assert {"email_out", "meeting", "call_in"} & set(kinds)
    for call in Interaction.select().where(Interaction.kind.in_(("call_in", "call_out"))):
        assert call.duration is not None and call.outcome and call.at <= NOW
    open_tasks = list(Task.select().where(Task.done_at.is_null()))
    assert any(t.due_at < NOW for t in open_tasks), "some tasks are overdue"
    assert any(t.due_at > NOW for t in open_tasks), "some tasks are due later"
    assert Task.select().where(Task.done_at.is_null(False)).exists()
    new_leads = {i for (i,) in Lead.select(Lead.id).where(Lead.status == "new").tuples()}
    first_calls = {t.lead_id for t in open_tasks if t.kind == "first_call"}
    assert new_leads and new_leads <= first_calls


def test_first_calls_and_stays_are_stored_as_the_interactions_and_history_define_them(
    summary: demo.DemoSummary,
) -> None:
    first_calls = durations.stored_first_calls()
    assert first_calls == durations.defined_first_calls()
    assert sum(1 for _, at in first_calls if at is not None) > 50
    stays = durations.stored_left_at()
    assert stays == durations.defined_left_at()
    assert sum(1 for _, at in stays if at is not None) > 50


def test_found_by_cyrillic_name_phone_fragment_and_email(summary: demo.DemoSummary) -> None:
    newest = Lead.select().where(Lead.name.contains("ов")).order_by(Lead.id.desc()).first()
    surname = newest.name.split()[-1].lower()[:5]
    assert ("lead", newest.id) in [(h.kind, h.id) for h in search.search(surname, kinds=["lead"])]
    latest = Lead.select().order_by(Lead.id.desc()).first()
    fragment = f"{latest.phone[2:5]} {latest.phone[5:8]}"  # "916 123" as people type it
    assert ("lead", latest.id) in [(h.kind, h.id) for h in search.search(fragment, kinds=["lead"])]
    with_mail = Lead.select().where(Lead.email.is_null(False)).order_by(Lead.id.desc()).first()
    assert with_mail.id in [h.id for h in search.search(with_mail.email, kinds=["lead"])]
    contact = Contact.select().order_by(Contact.id.desc()).first()
    assert contact.id in [h.id for h in search.search(contact.name, kinds=["contact"], limit=50)]


def test_the_rules_work_on_demo_records(summary: demo.DemoSummary) -> None:
    lead = Lead.select().where(Lead.status == "qualified").order_by(Lead.id.desc()).first()
    result = leads.convert(lead.id, by=1, now=NOW)
    assert Deal.get_by_id(result.deal_id).lead_id == lead.id
    moved = deals.step(result.deal_id, +1, by=1, now=NOW)
    assert moved.stage_position == 2  # from "Need discovery", where a converted lead's deal opens


def test_foreign_keys_hold_and_settings_are_restored(summary: demo.DemoSummary) -> None:
    assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL, as the desk runs


def dump(path: Path, seed: int) -> list[tuple[object, ...]]:
    db = open_database(str(path))
    with db.connection_context():
        demo.generate(leads=120, now=NOW, seed=seed)
        rows: list[tuple[object, ...]] = []
        for table in ("lead", "contact", "contact_channel", "deal", "stage_history", "interaction", "task"):
            rows.extend(db.execute_sql(f'SELECT * FROM "{table}" ORDER BY id').fetchall())
        rows.extend(db.execute_sql("SELECT rowid, body FROM search_index ORDER BY rowid").fetchall())
    db.close()
    return rows


def test_same_seed_same_desk(tmp_path: Path) -> None:
    first = dump(tmp_path / "a.db", seed=7)
    assert first == dump(tmp_path / "b.db", seed=7)
    assert first != dump(tmp_path / "c.db", seed=8)


def test_appends_to_a_desk_that_has_data(db: Database) -> None:
    demo.generate(leads=200, now=NOW, seed=1)
    before_max = Lead.select(fn.MAX(Lead.id)).scalar()
    second = demo.generate(leads=200, now=datetime(2026, 3, 9, 9, 0), seed=2)
    assert second.users == 0 and second.products == 0
    assert Lead.select().count() == 400
    assert Lead.select(fn.MIN(Lead.id)).where(Lead.id > before_max).scalar() == before_max + 1
    assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    newest = Lead.select().order_by(Lead.id.desc()).first()
    assert newest.id in [h.id for h in search.search(newest.phone[-7:], kinds=["lead"])]


def test_a_big_load_merges_the_search_index_once(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    small_big_load(monkeypatch)
    steps: list[tuple[int, int]] = []
    summary = demo.generate(leads=400, now=NOW, progress=lambda done, total: steps.append((done, total)))
    assert steps[0] == (0, 400) and steps[-1] == (400, 400) and len(steps) > 5
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert summary.search_entries == table_count("search_index")
    automerge = database.execute_sql("SELECT v FROM search_index_config WHERE k = 'automerge'").fetchone()
    assert automerge is not None and int(automerge[0]) == 4  # back to FTS5's default
    newest = Lead.select().order_by(Lead.id.desc()).first()
    assert newest.id in [h.id for h in search.search(newest.name, kinds=["lead"])]
    created = [c for (c,) in Lead.select(Lead.created_at).order_by(Lead.id).tuples()]
    assert created == sorted(created)


def small_big_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make 400 leads a "big" load: generated by a forked process, several chunks and transactions."""
    monkeypatch.setattr(demo, "BIG_LOAD", 100)
    monkeypatch.setattr(demo, "CHUNK", 70)
    monkeypatch.setattr(demo, "TX_LEADS", 150)


def test_a_forked_generator_makes_the_same_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_big_load(monkeypatch)
    assert demo._can_fork()

    def rows(path: Path) -> list[tuple[object, ...]]:
        db = open_database(str(path))
        with db.connection_context():
            demo.generate(leads=400, now=NOW)
            found: list[tuple[object, ...]] = []
            for table in ("lead", "contact", "deal", "stage_history", "interaction", "task"):
                found.extend(db.execute_sql(f'SELECT * FROM "{table}" ORDER BY id').fetchall())
            found.extend(db.execute_sql("SELECT rowid, body FROM search_index ORDER BY rowid").fetchall())
        db.close()
        return found

    forked = rows(tmp_path / "forked.db")
    monkeypatch.setattr(demo, "_can_fork", lambda: False)
    assert forked == rows(tmp_path / "here.db")


def test_another_writer_during_a_big_load_is_respected(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lead registered between two of the demo's transactions keeps its id; the demo numbers around it."""
    small_big_load(monkeypatch)
    real_next_ids = demo._next_ids
    calls: list[int] = []

    def next_ids_after_a_foreign_write(target: Database) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 2:  # as if another process committed a lead just before this transaction
            leads.register(leads.NewLead("Чужой Лид", "+7 916 555-44-33"), by=1, now=NOW)
        return real_next_ids(target)

    monkeypatch.setattr(demo, "_next_ids", next_ids_after_a_foreign_write)
    summary = demo.generate(leads=400, now=NOW)
    assert summary.leads == 400 and Lead.select().count() == 401
    assert Lead.get(Lead.name == "Чужой Лид").phone == "+79165554433"
    assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    assert table_count("search_index") == summary.search_entries + 1
    for deal in Deal.select(Deal.id, Deal.lead, Deal.contact):
        lead = Lead.get_by_id(deal.lead_id)
        assert lead.deal_id == deal.id and lead.contact_id == deal.contact_id


def test_refuses_a_negative_count(db: Database) -> None:
    from crm_tui.services.errors import InvalidInput

    with pytest.raises(InvalidInput):
        demo.generate(leads=-1, now=NOW)
    assert Lead.select().count() == 0


@pytest.mark.postgres
def test_demo_on_postgresql_keeps_the_sequences_ahead() -> None:
    """PostgreSQL: the demo numbers its rows itself; the desk's next lead, contact and deal still fit."""
    import os
    import uuid

    pg_url = os.environ.get("CRM_TEST_PG_URL", "")
    if not pg_url:
        pytest.skip("CRM_TEST_PG_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    import psycopg2
    from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

    name = f"crm_demo_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_url)
    admin.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        db = open_database(f"{pg_url.rpartition('/')[0]}/{name}")
        with db.connection_context():
            summary = demo.generate(leads=300, now=NOW)
            assert Lead.select().count() == summary.leads == 300
            assert table_count("search_index") == summary.search_entries
            assert all(c.count > 0 for c in deals.stage_columns())
            new = leads.register(leads.NewLead("Тест Тестов", "+7 916 000-11-22"), by=1, now=NOW)
            assert new.id == 301
            qualified = Lead.select().where(Lead.status == "qualified").first()
            converted = leads.convert(qualified.id, by=1, now=NOW)
            assert converted.contact_id == summary.contacts + 1 and converted.deal_id == summary.deals + 1
            assert search.search("тестов", kinds=["lead"])[0].id == new.id
        db.close()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
