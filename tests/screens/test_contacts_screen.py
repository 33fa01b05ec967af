"""Contacts and companies in the app, driven by keys: ``n`` on the contact list, the card's company view,
where the client came from, archiving after a question; what the screen says and what the database holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Label, OptionList, Static

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Company, Contact, ContactChannel
from crm_tui.screens.company import CompanyScreen
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.contacts import ContactListScreen
from crm_tui.screens.dialogs.company_form import CompanyFormDialog
from crm_tui.screens.dialogs.contact_form import ContactFormDialog
from crm_tui.screens.dialogs.note import QuestionDialog
from crm_tui.services import leads, pipelines, users
from tests.desk_fixtures import NOW
from tests.screens.test_deal_kanban import Board, seed_board, settle, until_dialog


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return seed_board(tmp_path)


@pytest.fixture
def empty_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db = open_database(url)
    with db.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
    db.close()
    return url


def text(app: App[None], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def toasts(app: App[None]) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def contacts_named(url: str, name: str) -> list[Contact]:
    with database.connection_context():
        return list(Contact.select().where(Contact.name == name))


async def type_into(app: App[None], pilot, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one(f"#f-{field}", Input).value = value
    await pilot.pause()


async def test_an_empty_list_says_press_n_and_n_adds_a_contact(empty_url: str) -> None:
    app = make_app(empty_url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactListScreen)
        assert "Press  n  to add one" in text(app, "#contacts-empty")
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactFormDialog)
        assert "New contact" in str(app.screen.query_one(".form-title", Label).render())
        await pilot.press(*"Семён Ёжиков", "enter")
        await pilot.press(*"ООО Ёлка", "enter")
        await pilot.press(*"8 916 123-45-67", "enter", "enter")
        await pilot.press(*"12.04.1985", "enter", *"vip, опт", "enter", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactListScreen)
        assert [row.name for row in app.screen.table.rows_held] == ["Семён Ёжиков"]
        assert "Added: Семён Ёжиков" in toasts(app)
        assert not app.screen.has_class("-empty")
    with database.connection_context():
        contact = Contact.get(Contact.name == "Семён Ёжиков")
        assert (str(contact.birthday), contact.tags) == ("1985-04-12", "vip,опт")
        assert Company.get_by_id(contact.company_id).name == "ООО Ёлка"
        assert [c.value for c in ContactChannel.select().where(ContactChannel.contact == contact.id)] == [
            "+79161234567"
        ]


async def test_bad_fields_are_said_beside_themselves_and_nothing_is_saved(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await type_into(app, pilot, "name", "Кто-то")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "a phone or an e-mail is needed" in text(app, "#error-phone")
        await type_into(app, pilot, "phone", "12345")
        await type_into(app, pilot, "birthday", "2027-13-45")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactFormDialog)
        assert text(app, "#error-phone") == "phone: not a valid phone number"
        assert text(app, "#error-birthday") == "birthday: not a date (YYYY-MM-DD or DD.MM.YYYY)"
        assert app.screen.focused is app.screen.query_one("#f-phone", Input)
        await pilot.press("escape")
        await settle(app, pilot)
    assert contacts_named(board.url, "Кто-то") == []


async def test_a_duplicate_is_asked_about_and_saved_marked_when_confirmed(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await type_into(app, pilot, "name", "Пётр Второй")
        await type_into(app, pilot, "phone", "8 495 200-30-40")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, QuestionDialog)
        assert "№1 Пётр Сидоров уже есть +7 495 200-30-40" in str(
            app.screen.query_one(".question", Label).render()
        )
        await pilot.press("n")  # not now: the form stays, nothing saved
        await settle(app, pilot)
        assert isinstance(app.screen, ContactFormDialog)
        assert "уже есть у контакта №1 Пётр Сидоров" in text(app, "#error-phone")
        assert contacts_named(board.url, "Пётр Второй") == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactListScreen)
        assert app.screen.table.rows_held[0].name == "Пётр Второй"
    (added,) = contacts_named(board.url, "Пётр Второй")
    assert added.duplicate_of == board.contact_id


async def test_the_card_shows_where_the_client_came_from_and_opens_its_company(board: Board) -> None:
    db = open_database(board.url)
    with db.connection_context():
        lead = leads.register(
            leads.NewLead(
                "Мария Котова", "+7 903 555-00-11", company_name="ООО Луч", utm_source="yandex",
                utm_medium="cpc", utm_campaign="crm_search_msk", utm_term="crm для отдела продаж",
                landing_page="https://crm-desk.ru/crm",
            ),
            by=board.admin_id, now=NOW,
        )  # fmt: skip
        contact_id = leads.convert(lead.id, by=board.admin_id, now=NOW, qualify_first=True).contact_id
    db.close()
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await app.open_contact(contact_id)
        await settle(app, pilot)
        origin = text(app, "#card-origin")
        assert f"Lead #{lead.id}" in origin and "source yandex / cpc" in origin
        assert "keyword crm для отдела продаж" in origin and "campaign crm_search_msk" in origin
        assert "page https://crm-desk.ru/crm" in origin
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, CompanyScreen)
        assert "ООО Луч" in text(app, "#company-header")
        contacts_list = app.screen.query_one("#company-contacts", OptionList)
        assert "Мария Котова" in str(contacts_list.get_option_at_index(0).prompt)
        assert "Need discovery" in text(app, "#company-deals")
        await pilot.press("enter")  # the highlighted contact's card
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen) and app.screen.contact_id == contact_id


async def test_the_company_is_edited_with_its_inn_checked(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 45), notifications=True) as pilot:
        await app.open_contact(board.contact_id)
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, CompanyFormDialog)
        await type_into(app, pilot, "inn", "7707083894")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert text(app, "#error-inn") == "INN: wrong check digit: a typo?"
        await type_into(app, pilot, "inn", "7707083893")
        await type_into(app, pilot, "kpp", "773601001")
        await type_into(app, pilot, "website", "vector.ru")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, CompanyScreen)
        header = text(app, "#company-header")
        assert "INN 7707083893" in header and "KPP 773601001" in header and "https://vector.ru" in header
    with database.connection_context():
        company = Company.select().where(Company.name == "АО Вектор").get()
        assert (company.inn, company.kpp, company.website) == ("7707083893", "773601001", "https://vector.ru")


async def test_archive_from_the_card_after_a_question(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await app.open_contact(board.contact_id)
        await settle(app, pilot)
        await pilot.press("x")
        await until_dialog(app, pilot)  # the archiving waits on the question
        assert isinstance(app.screen, QuestionDialog)
        await pilot.press("n")
        await settle(app, pilot)
        with database.connection_context():
            assert Contact.get_by_id(board.contact_id).archived_at is None
        await pilot.press("x")
        await until_dialog(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert "ARCHIVED" in text(app, "#card-header")
        assert "Archived: Пётр Сидоров" in toasts(app)
        await pilot.press("e")  # an archived contact is restored before it is edited
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
    with database.connection_context():
        assert Contact.get_by_id(board.contact_id).archived_at == NOW
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(app, pilot)
        assert "Пётр Сидоров" not in [row.name for row in app.screen.table.rows_held]  # type: ignore[attr-defined]


def test_the_history_says_archived_and_restored_in_russian() -> None:
    from crm_tui.i18n_words import event_words

    assert event_words("Contact archived", "ru", {}, "note") == "Контакт отправлен в архив"
    assert event_words("Contact restored", "ru", {}, "note") == "Контакт возвращён из архива"
    assert event_words("Contact archived by mistake?", "ru", {}, "note") == "Contact archived by mistake?"
