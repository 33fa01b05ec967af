"""Contacts by hand: a phone or an e-mail required, duplicates refused (or forced and marked), edits of one
value at a time, archive and restore; companies with a checked INN. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from peewee import Database

from crm_tui.data.models import Company, Contact, Interaction
from crm_tui.services import companies, contacts, leads, search
from crm_tui.services.errors import CrmError, InvalidInput, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def found(text: str) -> list[tuple[str, int]]:
    return [(h.kind, h.id) for h in search.search(text)]


def add(name: str, *, phones: tuple[str, ...] = (), emails: tuple[str, ...] = (), **kw: object) -> int:
    edit = contacts.ContactEdit(name, phones=phones, emails=emails, **kw)  # type: ignore[arg-type]
    return contacts.create(edit, by=None, now=NOW)


def refused(call: object, code: str, counts: Counts) -> CrmError:
    before = counts()
    with pytest.raises(CrmError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code, caught.value.message
    assert counts() == before
    return caught.value


def test_a_contact_by_hand_with_its_company_tags_and_birthday(desk: Desk) -> None:
    contact_id = contacts.create(
        contacts.ContactEdit(
            "Ольга Ёлкина",
            company_name="ООО Луч",
            phones=("8 (926) 111-22-33", "+7 495 111-22-33"),
            emails=("Olga@Luch.RU",),
            birthday="12.04.1985",
            tags=("vip", "опт"),
            owner_id=desk.manager_id,
        ),
        by=desk.admin_id,
        now=NOW,
    )
    card = contacts.card(contact_id)
    assert (card.name, card.company_name, card.owner_login) == ("Ольга Ёлкина", "ООО Луч", "anna")
    assert card.phones == ["+79261112233", "+74951112233"]
    assert card.emails == ["olga@luch.ru"]
    assert card.birthday == date(1985, 4, 12)
    assert card.tags == ["vip", "опт"]
    assert card.origin is None and card.duplicate_of is None
    assert ("contact", contact_id) in found("елкина")
    assert ("company", card.company_id) in found("луч")


def test_naming_an_existing_company_in_any_case_links_it(desk: Desk) -> None:
    contact_id = add("Иван Орлов", phones=("+7 926 000-00-01",), company_name="АО Вектор")
    assert contacts.card(contact_id).company_id == desk.company_id
    by_id = add("Анна Орлова", phones=("+7 926 000-00-02",), company_id=desk.company_id)
    assert contacts.card(by_id).company_id == desk.company_id


@pytest.mark.parametrize(
    ("edit", "code", "field"),
    [
        (contacts.ContactEdit("Никто"), "contact.channel_required", "phone"),
        (contacts.ContactEdit("Кто-то", phones=("12345",)), "phone.invalid", "phone"),
        (contacts.ContactEdit("Кто-то", emails=("ivan@",)), "email.invalid", "email"),
        (
            contacts.ContactEdit("Кто-то", emails=("a@b.ru",), birthday="2027-13-45"),
            "date.invalid",
            "birthday",
        ),
        (contacts.ContactEdit("", emails=("a@b.ru",)), "text.required", "name"),
        (contacts.ContactEdit("Кто-то", emails=("a@b.ru",), owner_id=999), "user.not_found", None),
        (contacts.ContactEdit("Кто-то", emails=("a@b.ru",), company_id=999), "company.not_found", None),
    ],
)
def test_refusals_write_nothing(
    desk: Desk, counts: Counts, edit: contacts.ContactEdit, code: str, field: str | None
) -> None:
    error = refused(lambda: contacts.create(edit, by=desk.admin_id, now=NOW), code, counts)
    if field is not None:
        assert isinstance(error, InvalidInput) and field in error.fields


def test_a_birthday_in_the_future_is_refused(desk: Desk, counts: Counts) -> None:
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    edit = contacts.ContactEdit("Кто-то", emails=("a@b.ru",), birthday=tomorrow)
    refused(lambda: contacts.create(edit, by=None, now=NOW), "birthday.future", counts)


def test_every_bad_field_is_named_at_once(desk: Desk) -> None:
    with pytest.raises(InvalidInput) as caught:
        contacts.create(
            contacts.ContactEdit("", phones=("12",), emails=("x@",), birthday="31.02.1990"), by=None, now=NOW
        )
    assert set(caught.value.fields) == {"name", "phone", "email", "birthday"}
    assert caught.value.params["fields"]["birthday"] == "date.invalid"


def test_the_same_phone_or_email_is_refused_naming_the_contact(desk: Desk, counts: Counts) -> None:
    same_phone = contacts.ContactEdit("Пётр Другой", phones=("8 495 200-30-40",))
    error = refused(lambda: contacts.create(same_phone, by=None, now=NOW), "contact.duplicate", counts)
    assert f"#{desk.contact_id} Пётр Сидоров" in error.message and "+7 495 200-30-40" in error.message
    assert error.params["id"] == desk.contact_id
    same_email = contacts.ContactEdit("Пётр Другой", emails=("PETR@vector.ru",))
    refused(lambda: contacts.create(same_email, by=None, now=NOW), "contact.duplicate", counts)


def test_forced_it_is_added_and_marked_a_possible_duplicate(desk: Desk) -> None:
    edit = contacts.ContactEdit("Пётр Сидоров", phones=("+7 495 200-30-40",))
    contact_id = contacts.create(edit, by=None, now=NOW, force=True)
    card = contacts.card(contact_id)
    assert (card.duplicate_of, card.duplicate_of_name) == (desk.contact_id, "Пётр Сидоров")
    assert contacts.list_page(limit=1)[0].duplicate_of == desk.contact_id


def test_edit_one_value_at_a_time(desk: Desk) -> None:
    card = contacts.change(
        desk.contact_id,
        contacts.ContactChange(
            add_phones=("+7 926 555-44-33",),
            remove_emails=("petr@vector.ru",),
            add_emails=("p.sidorov@vector.ru",),
            add_tags=("партнёр",),
            birthday="1980-01-02",
        ),
        by=desk.manager_id,
        now=NOW,
    )
    assert card.phones == ["+74952003040", "+79265554433"]
    assert card.emails == ["p.sidorov@vector.ru"]
    assert card.tags == ["партнёр"] and card.birthday == date(1980, 1, 2)
    assert card.company_name == "АО Вектор"  # kept
    card = contacts.change(
        desk.contact_id, contacts.ContactChange(phones=("+7 903 100-20-30",), company=""), by=None, now=NOW
    )
    assert card.phones == ["+79031002030"] and card.company_id is None
    assert ("contact", desk.contact_id) in found("903 100")
    assert ("contact", desk.contact_id) not in found("495 200")
    assert ("contact", desk.contact_id) in found("партнер")


def test_removing_a_value_the_contact_lacks_is_refused(desk: Desk, counts: Counts) -> None:
    change = contacts.ContactChange(remove_phones=("+7 999 000-00-00",))
    refused(
        lambda: contacts.change(desk.contact_id, change, by=None, now=NOW), "contact.no_such_phone", counts
    )
    no_channel = contacts.ContactChange(
        remove_phones=("+7 495 200-30-40",), remove_emails=("petr@vector.ru",)
    )
    refused(
        lambda: contacts.change(desk.contact_id, no_channel, by=None, now=NOW),
        "contact.channel_required",
        counts,
    )


def test_an_edit_adding_another_contacts_phone_is_refused(desk: Desk, counts: Counts) -> None:
    other = add("Олег", phones=("+7 926 100-00-01",))
    change = contacts.ContactChange(add_phones=("+7 495 200-30-40",))
    refused(lambda: contacts.change(other, change, by=None, now=NOW), "contact.duplicate", counts)
    assert contacts.change(other, change, by=None, now=NOW, force=True).duplicate_of == desk.contact_id


def test_archive_leaves_lists_and_search_keeps_the_history_and_restores(desk: Desk, counts: Counts) -> None:
    history = len(contacts.history(desk.contact_id))
    card = contacts.archive(desk.contact_id, by=desk.manager_id, now=NOW)
    assert card.archived_at == NOW
    assert desk.contact_id not in [r.id for r in contacts.list_page()]
    assert [r.id for r in contacts.list_page(archived=True)] == [desk.contact_id]
    assert ("contact", desk.contact_id) not in found("сидоров")
    assert ("lead", desk.converted_lead_id) in found("сидоров")  # the lead it came from is not archived
    items = contacts.history(desk.contact_id)
    assert len(items) == history + 1 and items[0].subject == "Contact archived" and items[0].by == "anna"
    assert Contact.select().count() >= 1 and card.deals  # nothing deleted
    refused(lambda: contacts.archive(desk.contact_id, by=None, now=NOW), "contact.already_archived", counts)
    edit = contacts.ContactChange(name="X")
    refused(lambda: contacts.change(desk.contact_id, edit, by=None, now=NOW), "contact.archived", counts)
    contacts.restore(desk.contact_id, by=None, now=NOW)
    assert ("contact", desk.contact_id) in found("сидоров")
    assert desk.contact_id in [r.id for r in contacts.list_page()]
    refused(lambda: contacts.restore(desk.contact_id, by=None, now=NOW), "contact.not_archived", counts)


def test_a_lead_converted_into_an_archived_contact_brings_it_back(desk: Desk) -> None:
    contacts.archive(desk.contact_id, by=None, now=NOW)
    again = leads.register(leads.NewLead("Пётр С.", "+7 495 200-30-40"), by=None, now=NOW)
    result = leads.convert(again.id, by=None, now=NOW, qualify_first=True)
    assert result.contact_id == desk.contact_id and result.linked_existing_contact
    card = contacts.card(desk.contact_id)
    assert card.archived_at is None
    assert card.origin is not None and card.origin.lead_id == desk.converted_lead_id
    assert card.later_leads == [again.id]


def test_the_card_says_where_the_client_came_from(db: Database) -> None:
    lead = leads.register(
        leads.NewLead(
            "Мария Котова",
            "+7 903 555-00-11",
            utm_source="yandex",
            utm_medium="cpc",
            utm_campaign="crm_search_msk",
            utm_term="crm для отдела продаж",
            landing_page="https://crm-desk.ru/crm",
        ),
        by=None,
        now=NOW,
    )
    result = leads.convert(lead.id, by=None, now=NOW, qualify_first=True)
    origin = contacts.card(result.contact_id).origin
    assert origin is not None
    assert (origin.lead_id, origin.source, origin.medium) == (lead.id, "yandex", "cpc")
    assert (origin.campaign, origin.keyword) == ("crm_search_msk", "crm для отдела продаж")
    assert origin.landing_page == "https://crm-desk.ru/crm"


def test_list_filters_and_keyset_pages(desk: Desk) -> None:
    ids = [
        add(f"Клиент {i}", phones=(f"+7 926 200-00-{i:02d}",), tags=("опт",) if i % 2 else ())
        for i in range(5)
    ]
    assert [r.id for r in contacts.list_page(tag="опт")] == [ids[3], ids[1]]
    assert [r.id for r in contacts.list_page(tag="ОПТ")] == [ids[3], ids[1]]
    first = contacts.list_page(limit=2)
    assert [r.id for r in first] == [ids[4], ids[3]]
    assert [r.id for r in contacts.list_page(after_id=first[-1].id, limit=2)] == [ids[2], ids[1]]
    assert [r.id for r in contacts.list_page(company_id=desk.company_id)] == [desk.contact_id]
    assert [r.id for r in contacts.list_page(owner_id=desk.manager_id)] == [desk.contact_id]


# --- companies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inn", ["7707083893", "500100732259", "7830002293", "7736 207 543"])
def test_real_inns_pass_their_check_digits(inn: str) -> None:
    assert companies.normalize_inn(inn) == inn.replace(" ", "")


@pytest.mark.parametrize(
    ("inn", "code"),
    [
        ("7707083894", "inn.checksum"),
        ("500100732250", "inn.checksum"),
        ("500100732269", "inn.checksum"),
        ("77070838", "inn.invalid"),
        ("77070838931", "inn.invalid"),
        ("77O7083893", "inn.invalid"),
    ],
)
def test_wrong_inns_are_refused(inn: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        companies.normalize_inn(inn)
    assert caught.value.code == code and "inn" in caught.value.fields


def test_a_company_with_its_requisites(desk: Desk) -> None:
    company_id = companies.create(
        companies.CompanyEdit(
            "ПАО Сбербанк",
            inn="7707083893",
            kpp="773601001",
            phone="8 800 555-55-50",
            email="Info@Sberbank.ru",
            address="Москва, ул. Вавилова, 19",
            website="sberbank.ru",
        ),
        by=desk.admin_id,
        now=NOW,
    )
    row = companies.row(company_id)
    assert (row.inn, row.kpp, row.phone, row.email) == (
        "7707083893",
        "773601001",
        "+78005555550",
        "info@sberbank.ru",
    )
    assert row.website == "https://sberbank.ru" and row.owner_login == "admin"
    assert found("7707083") == [("company", company_id)]
    assert ("company", company_id) in found("вавилова")


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (companies.CompanyEdit("X", inn="7707083894"), "inn.checksum"),
        (companies.CompanyEdit("X", inn="500100732259", kpp="773601001"), "kpp.sole_trader"),
        (companies.CompanyEdit("X", inn="7707083893", kpp="77360"), "kpp.invalid"),
        (companies.CompanyEdit("X", website="not a site"), "website.invalid"),
        (companies.CompanyEdit("X", phone="123"), "phone.invalid"),
        (companies.CompanyEdit(""), "text.required"),
    ],
)
def test_company_refusals_write_nothing(
    desk: Desk, counts: Counts, edit: companies.CompanyEdit, code: str
) -> None:
    refused(lambda: companies.create(edit, by=None, now=NOW), code, counts)


def test_the_same_inn_is_refused_unless_a_branch_or_forced(desk: Desk, counts: Counts) -> None:
    first = companies.create(
        companies.CompanyEdit("ПАО Сбербанк", inn="7707083893", kpp="773601001"), by=None, now=NOW
    )
    same = companies.CompanyEdit("Сбер", inn="7707083893")
    error = refused(lambda: companies.create(same, by=None, now=NOW), "company.duplicate", counts)
    assert f"#{first} ПАО Сбербанк" in error.message
    branch = companies.create(
        companies.CompanyEdit("Сбербанк, филиал", inn="7707083893", kpp="784243001"), by=None, now=NOW
    )
    assert branch != first
    assert companies.create(same, by=None, now=NOW, force=True) > branch


def test_renaming_a_company_is_found_on_its_contacts_and_deals(desk: Desk) -> None:
    companies.change(desk.company_id, companies.CompanyChange(name="АО Горизонт"), by=None, now=NOW)
    assert set(found("горизонт")) == {
        ("company", desk.company_id),
        ("contact", desk.contact_id),
        ("deal", desk.deal_id),
    }
    card = companies.card(desk.company_id)
    assert [c.id for c in card.contacts] == [desk.contact_id]
    assert [d.id for d in card.deals] == [desk.deal_id]


def test_an_archived_company_is_not_found_nor_given_to_a_contact(desk: Desk, counts: Counts) -> None:
    companies.archive(desk.company_id, by=None, now=NOW)
    assert ("company", desk.company_id) not in found("вектор")
    assert desk.company_id not in [r.id for r in companies.list_page()]
    assert Company.get_by_id(desk.company_id).name == "АО Вектор"
    edit = contacts.ContactEdit("Новый", phones=("+7 926 300-00-01",), company_name="АО Вектор")
    refused(lambda: contacts.create(edit, by=None, now=NOW), "company.archived", counts)
    assert contacts.card(desk.contact_id).company_archived
    # its contacts are still edited as before (the app's form names the company it has)
    edit = contacts.ContactEdit("Пётр Сидоров", company_name="АО Вектор", phones=("+7 495 200-30-40",))
    assert contacts.update(desk.contact_id, edit, by=None, now=NOW).company_id == desk.company_id
    change = contacts.ContactChange(add_tags=("vip",))
    assert contacts.change(desk.contact_id, change, by=None, now=NOW).company_id == desk.company_id
    companies.restore(desk.company_id, by=None, now=NOW)
    assert ("company", desk.company_id) in found("вектор")


def test_unknown_records(desk: Desk) -> None:
    with pytest.raises(NotFound) as caught:
        contacts.card(9999)
    assert caught.value.code == "contact.not_found"
    with pytest.raises(NotFound) as caught:
        companies.card(9999)
    assert caught.value.code == "company.not_found"
    with pytest.raises(RuleViolation):
        companies.restore(desk.company_id, by=None, now=NOW)
    assert Interaction.select().where(Interaction.contact == 9999).count() == 0
