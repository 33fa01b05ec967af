"""Likely duplicates (a phone, an e-mail, a name in the same company) and merging two contacts or two
companies into one, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from peewee import Database

from crm_tui.data.models import Contact, ContactChannel, Deal, Interaction, Lead, Task
from crm_tui.services import companies, contacts, dupes, search, tasks
from crm_tui.services.errors import CrmError
from tests.conftest import NOW, Counts, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def add(name: str, *, phones: tuple[str, ...] = (), emails: tuple[str, ...] = (), **kw: object) -> int:
    edit = contacts.ContactEdit(name, phones=phones, emails=emails, **kw)  # type: ignore[arg-type]
    return contacts.create(edit, by=None, now=NOW, force=True)


def group_ids(kind: str = "contact") -> list[list[int]]:
    return [[m.id for m in g.members] for g in dupes.groups(kind)]


def refused(call: object, code: str, counts: Counts) -> CrmError:
    before = counts()
    with pytest.raises(CrmError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code, caught.value.message
    assert counts() == before
    return caught.value


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Пётр Сидоров", "Сидоров Петр"),
        ("Иванов И.", "Иван Иванов"),
        ("Иванов И.И.", "Иван Ильич Иванов"),
        ("ольга ЁЛКИНА", "Ольга Елкина"),
    ],
)
def test_names_alike_despite_yo_initials_case_and_word_order(a: str, b: str) -> None:
    assert dupes.name_similarity(a, b) >= dupes.NAME_THRESHOLD


def test_different_people_are_not_alike() -> None:
    assert dupes.name_similarity("Иван Иванов", "Пётр Сидоров") < dupes.NAME_THRESHOLD
    assert dupes.name_similarity("Иванов И.", "Иванов Пётр") < dupes.NAME_THRESHOLD
    assert dupes.company_key("ООО «Луч»") == dupes.company_key("Луч, ООО") == "луч"


def test_groups_by_phone_email_and_name_within_a_company(desk: Desk) -> None:
    same_phone = add("Пётр С.", phones=("8 495 200-30-40",))
    same_mail = add("П. Сидоров", emails=("PETR@vector.ru",))
    a = add("Ольга Ёлкина", phones=("+7 926 111-22-33",), company_name="ООО Луч")
    b = add("Елкина Ольга", phones=("+7 926 999-88-77",), company_name="ООО Луч")
    add("Ольга Ёлкина", phones=("+7 926 555-55-55",), company_name="АО Другое")  # another company
    add("Семён Ким", phones=("+7 926 444-44-44",), company_name="ООО Луч")
    found = dupes.groups("contact")
    by_ids = {tuple(m.id for m in g.members): g for g in found}
    assert set(by_ids) == {(desk.contact_id, same_phone, same_mail), (a, b)}
    petr = by_ids[(desk.contact_id, same_phone, same_mail)]
    assert "phone:+74952003040" in petr.reasons and "email:petr@vector.ru" in petr.reasons
    assert by_ids[(a, b)].reasons == ["name:100"] and by_ids[(a, b)].score == 90
    assert found[0].score >= found[-1].score
    assert [m.id for m, _, _ in dupes.of_contact(a)] == [b]


def test_archived_contacts_are_not_duplicates(desk: Desk) -> None:
    other = add("Пётр Сидоров", phones=("+7 495 200-30-40",))
    contacts.archive(other, by=None, now=NOW)
    assert group_ids() == []


def test_companies_by_inn_and_name_without_legal_form(desk: Desk) -> None:
    a = companies.create(companies.CompanyEdit("ООО «Луч»", inn="7707083893"), by=None, now=NOW)
    b = companies.create(companies.CompanyEdit("Луч, ООО"), by=None, now=NOW)
    c = companies.create(companies.CompanyEdit("Сбер", inn="7707083893"), by=None, now=NOW, force=True)
    groups = dupes.groups("company")
    assert [[m.id for m in g.members] for g in groups] == [[a, b, c]]
    assert "inn:7707083893" in groups[0].reasons


def test_leads_sharing_a_phone(desk: Desk) -> None:
    again = Lead.get_by_id(desk.new_lead_id)
    copy = Lead.create(
        name="Иван С.", phone=again.phone, created_at=NOW - timedelta(days=90), status="new", utm_source=""
    )
    assert group_ids("lead") == [sorted([desk.new_lead_id, copy.id])]


def test_unknown_kind_is_refused(desk: Desk) -> None:
    with pytest.raises(CrmError) as caught:
        dupes.groups("deal")
    assert caught.value.code == "dupes.kind"


def test_merge_moves_everything_and_archives_the_other(desk: Desk) -> None:
    other = add(
        "Сидоров Пётр Ильич",
        phones=("+7 495 200-30-40", "+7 916 000-11-22"),
        emails=("p.sidorov@mail.ru",),
        tags=("vip",),
        birthday=date(1980, 5, 1),
        company_name="ООО Другое",
    )
    task = tasks.create("Позвонить", NOW + timedelta(days=1), contact_id=other, by=None, now=NOW)
    Interaction.create(kind="note", at=NOW, contact=other, summary="любит чай")
    deal = Deal.create(
        title="Вторая сделка",
        contact=other,
        pipeline=Deal.get_by_id(desk.deal_id).pipeline_id,
        stage=Deal.get_by_id(desk.deal_id).stage_id,
        amount=500_00,
        stage_entered_at=NOW,
        created_at=NOW,
    )
    result = dupes.merge_contacts(desk.contact_id, other, by=desk.admin_id, now=NOW)
    assert result.moved["deals"] == 1 and result.moved["tasks"] == 1 and result.moved["interactions"] >= 1
    assert {c.field: c.taken for c in result.conflicts} == {"name": "keep", "company": "keep"}
    assert result.filled == ["birthday"]
    card = contacts.card(desk.contact_id)
    assert card.name == "Пётр Сидоров" and card.company_name == "АО Вектор"
    assert card.phones == ["+74952003040", "+79160001122"]
    assert card.emails == ["petr@vector.ru", "p.sidorov@mail.ru"]
    assert card.tags == ["vip"] and card.birthday == date(1980, 5, 1)
    assert Deal.get_by_id(deal.id).contact_id == desk.contact_id
    assert Task.get_by_id(task.id).contact_id == desk.contact_id
    gone = Contact.get_by_id(other)
    assert gone.archived_at == NOW and gone.merged_into == desk.contact_id
    assert ContactChannel.select().where(ContactChannel.contact == other).count() == 0
    event = Interaction.get((Interaction.contact == desk.contact_id) & (Interaction.kind == "merge"))
    data = json.loads(event.data)
    assert data["code"] == "contact.merged" and data["other"] == other and data["moved"]["deals"] == 1
    assert [(h.kind, h.id) for h in search.search("p.sidorov")] == [("contact", desk.contact_id)]
    assert [h.id for h in search.search("Ильич")] == []


def test_take_a_field_from_the_other(desk: Desk) -> None:
    other = add("Пётр Ильич Сидоров", phones=("+7 916 000-11-22",))
    result = dupes.merge_contacts(desk.contact_id, other, take=("name",), by=None, now=NOW)
    assert [(c.field, c.keep, c.other, c.taken) for c in result.conflicts] == [
        ("name", "Пётр Сидоров", "Пётр Ильич Сидоров", "other")
    ]
    assert contacts.card(desk.contact_id).name == "Пётр Ильич Сидоров"
    assert [h.id for h in search.search("Ильич")] == [desk.contact_id]


def test_dry_run_writes_nothing(desk: Desk, counts: Counts) -> None:
    other = add("Пётр Ильич Сидоров", phones=("+7 916 000-11-22",))
    before = counts()
    result = dupes.merge_contacts(desk.contact_id, other, by=None, now=NOW, dry_run=True)
    assert result.dry_run and result.added_phones == ["+79160001122"]
    assert counts() == before
    assert Contact.get_by_id(other).archived_at is None


def test_merge_refusals(desk: Desk, counts: Counts) -> None:
    other = add("Пётр Ильич Сидоров", phones=("+7 916 000-11-22",))
    archived = add("Пётр", phones=("+7 916 000-33-44",))
    contacts.archive(archived, by=None, now=NOW)
    refused(lambda: dupes.merge_contacts(other, other, by=None, now=NOW), "contact.merge_self", counts)
    refused(lambda: dupes.merge_contacts(other, 9999, by=None, now=NOW), "contact.not_found", counts)
    refused(lambda: dupes.merge_contacts(other, archived, by=None, now=NOW), "contact.archived", counts)
    refused(lambda: dupes.merge_contacts(archived, other, by=None, now=NOW), "contact.archived", counts)
    error = refused(
        lambda: dupes.merge_contacts(desk.contact_id, other, take=("salary",), by=None, now=NOW),
        "merge.field_unknown",
        counts,
    )
    assert "salary" in error.message


def test_merge_companies(desk: Desk) -> None:
    other = companies.create(
        companies.CompanyEdit("Вектор, АО", inn="7707083893", website="vector.ru"), by=None, now=NOW
    )
    person = add("Анна Белова", phones=("+7 916 777-00-00",), company_id=other)
    result = dupes.merge_companies(desk.company_id, other, by=None, now=NOW)
    assert result.moved == {"contacts": 1, "deals": 0}
    assert set(result.filled) == {"inn", "website"}
    assert {c.field for c in result.conflicts} == {"name"}
    assert contacts.card(person).company_name == "АО Вектор"
    assert [h.id for h in search.search("7707083893")] == [desk.company_id]
    assert dupes.groups("company") == []
