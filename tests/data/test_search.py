"""Search as people type: Cyrillic in any case, phone fragments, e-mails, companies, several words."""

from __future__ import annotations

import pytest
from peewee import Database

from crm_tui.services import companies, contacts, deals, leads, search
from tests.conftest import NOW, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    """Every search test runs on SQLite (FTS5 trigram) and on PostgreSQL (pg_trgm)."""
    return any_db


def found(text: str, **kw: object) -> list[tuple[str, int]]:
    return [(h.kind, h.id) for h in search.search(text, **kw)]  # type: ignore[arg-type]


def lead(name: str, phone: str, **kw: object) -> int:
    return leads.register(leads.NewLead(name, phone, **kw), by=None, now=NOW).id  # type: ignore[arg-type]


@pytest.mark.parametrize("query", ["иван", "Иван", "ИВАН", "иВаН", "смирнов", "Иван Смирнов"])
def test_cyrillic_is_found_in_any_case(desk: Desk, query: str) -> None:
    assert ("lead", desk.new_lead_id) in found(query)


@pytest.mark.parametrize("query", ["пётр", "ПЁТР", "петр", "ПЕТР", "Петр Сидоров"])
def test_yo_and_ye_are_one_letter_typed_with_yo(desk: Desk, query: str) -> None:
    assert ("contact", desk.contact_id) in found(query)


@pytest.mark.parametrize("query", ["ежиков", "Ежиков", "ёжиков", "ЁЖИКОВ", "семен", "семён"])
def test_yo_and_ye_are_one_letter_both_ways(db: Database, query: str) -> None:
    yo = lead("Семён Ёжиков", "+7 916 400-00-01")
    ye = lead("Семен Ежиков", "+7 916 400-00-02")
    assert {("lead", yo), ("lead", ye)} <= set(found(query))


def test_a_leads_comment_keyword_and_campaign_are_found(db: Database) -> None:
    lead_id = lead(
        "Олег Павлов",
        "+7 916 400-00-03",
        comment="Нужна интеграция с телефонией",
        utm_term="crm для отдела продаж",
        utm_campaign="crm_search_spb",
    )
    other = lead("Олег Петров", "+7 916 400-00-04", comment="Перезвоните после обеда")
    assert found("телефонией") == [("lead", lead_id)]
    assert found("отдела продаж") == [("lead", lead_id)]
    assert found("crm_search_spb") == [("lead", lead_id)]
    assert found("олег интеграция") == [("lead", lead_id)]
    assert found("обеда") == [("lead", other)]


def test_a_contacts_tags_are_found_with_yo_either_way(desk: Desk) -> None:
    contacts.change(desk.contact_id, contacts.ContactChange(add_tags=("партнёр", "vip")), by=None, now=NOW)
    assert found("партнер") == [("contact", desk.contact_id)]
    assert found("партнёр") == [("contact", desk.contact_id)]
    assert found("VIP") == [("contact", desk.contact_id)]


def test_a_companys_inn_is_found_by_any_run_of_its_digits(desk: Desk) -> None:
    company = companies.create(companies.CompanyEdit("ПАО Сбербанк", inn="7707083893"), by=None, now=NOW)
    assert found("7707083893") == [("company", company)]
    assert found("083 893") == [("company", company)]
    (hit,) = search.search("7707083")
    assert hit.detail == "INN 7707083893"


def test_archived_records_are_not_found(desk: Desk) -> None:
    contacts.archive(desk.contact_id, by=None, now=NOW)
    companies.archive(desk.company_id, by=None, now=NOW)
    assert set(found("вектор")) == {("deal", desk.deal_id), ("lead", desk.converted_lead_id)}
    assert ("contact", desk.contact_id) not in found("495 200")


def test_a_rebuild_indexes_what_the_rules_index(desk: Desk) -> None:
    """Migration 12 rebuilds the index: the same entries as the rules wrote, archived records left out."""
    from crm_tui.data import search as index
    from crm_tui.data.db import database

    contacts.change(desk.contact_id, contacts.ContactChange(add_tags=("партнёр",)), by=None, now=NOW)
    companies.create(companies.CompanyEdit("ИП Ёлкин", inn="500100732259"), by=None, now=NOW)
    archived = contacts.create(
        contacts.ContactEdit("Архивный", phones=("+7 916 400-00-05",)), by=None, now=NOW
    )
    contacts.archive(archived, by=None, now=NOW)

    def entries() -> list[tuple[int, str]]:
        rows = database.execute_sql("SELECT rowid, body FROM search_index ORDER BY rowid").fetchall()
        return [(int(r), str(b)) for r, b in rows]

    before = entries()
    assert index.rebuild() == len(before)
    assert entries() == before
    assert found("елкин") != [] and found("архивный") == []


@pytest.mark.parametrize(
    "query", ["123-45", "916 123", "8 916 123", "+7 916", "(916) 123-45-67", "9161234567", "+79161234567"]
)
def test_phone_fragments_find_the_number(desk: Desk, query: str) -> None:
    assert found(query, kinds=["lead"]) == [("lead", desk.new_lead_id)]


def test_a_phone_fragment_finds_the_contact_too(desk: Desk) -> None:
    assert set(found("495 200")) == {("contact", desk.contact_id), ("lead", desk.converted_lead_id)}


@pytest.mark.parametrize("query", ["ivan@example", "example.ru", "IVAN@EXAMPLE.RU"])
def test_email_fragments(desk: Desk, query: str) -> None:
    assert found(query) == [("lead", desk.new_lead_id)]


def test_company_fragments_find_the_company_its_contact_deal_and_lead(desk: Desk) -> None:
    assert set(found("вектор")) == {
        ("company", desk.company_id),
        ("contact", desk.contact_id),
        ("deal", desk.deal_id),
        ("lead", desk.converted_lead_id),
    }
    assert ("lead", desk.new_lead_id) in found("ромашк")


def test_several_words_must_all_match(desk: Desk) -> None:
    other = lead("Иван Петров", "+7 903 111-22-33")
    assert set(found("иван")) >= {("lead", desk.new_lead_id), ("lead", other)}
    assert found("иван петров") == [("lead", other)]
    assert found("петров иван") == [("lead", other)]
    assert found("иван ромашка") == [("lead", desk.new_lead_id)]
    assert found("иван вектор") == []


def test_two_character_words_with_a_neighbour(desk: Desk) -> None:
    assert found("ив см") == [("lead", desk.new_lead_id)]
    assert found("щщ щщ") == []


@pytest.mark.parametrize("query", ["ив", "ma", " 91 ", "8"])
def test_fewer_than_three_characters_find_nothing(desk: Desk, query: str) -> None:
    """As the README says: a search needs three characters (a phone's digits too)."""
    assert found(query) == []
    assert ("lead", desk.new_lead_id) in found("ива")


def test_newest_first_and_limited(db: Database) -> None:
    ids = [lead(f"Анна {i}", f"+7 916 555-00-{i:02d}") for i in range(1, 6)]
    assert found("анна") == [("lead", i) for i in reversed(ids)]
    assert found("анна", limit=2) == [("lead", ids[4]), ("lead", ids[3])]


def test_kinds_filter(desk: Desk) -> None:
    assert found("вектор", kinds=["deal"]) == [("deal", desk.deal_id)]


def test_no_match_and_empty_query(desk: Desk) -> None:
    assert found("несуществующий") == []
    assert found("   ") == []


def test_like_wildcards_are_plain_text(desk: Desk) -> None:
    assert found("%") == []
    assert found("_") == []


def test_editing_a_contact_reindexes_it(desk: Desk) -> None:
    card = contacts.update(
        desk.contact_id,
        contacts.ContactEdit(
            "Павел Кузнецов",
            company_name="ООО Луч",
            phones=("+7 926 765-43-21",),
            emails=("pavel@luch.ru",),
        ),
        by=desk.manager_id,
        now=NOW,
    )
    assert card.name == "Павел Кузнецов"
    assert ("contact", desk.contact_id) in found("кузнецов")
    assert ("contact", desk.contact_id) in found("765-43")
    assert ("contact", desk.contact_id) in found("pavel@luch")
    assert ("contact", desk.contact_id) in found("луч")
    assert ("contact", desk.contact_id) not in found("сидоров")
    assert ("contact", desk.contact_id) not in found("495 200")


def test_a_new_deal_is_searchable_by_title_and_company(desk: Desk) -> None:
    deal = deals.create("Внедрение CRM", contact_id=desk.contact_id, by=desk.manager_id, now=NOW)
    assert found("внедрение") == [("deal", deal.id)]
    assert ("deal", deal.id) in found("crm вектор")


def test_hits_have_labels_with_formatted_phones(desk: Desk) -> None:
    (hit,) = search.search("916 123")
    assert (hit.kind, hit.label) == ("lead", "Иван Смирнов")
    assert hit.detail.startswith("+7 916 123-45-67")
