"""``crm contact ...`` and ``crm company ...``: output, one-line refusals writing nothing, the card's twin."""

from __future__ import annotations

import shlex

import pytest

from crm_tui.data.models import Company, Contact, ContactChannel
from crm_tui.services import interactions, tasks
from tests.cli.conftest import Crm
from tests.conftest import NOW, Counts, Desk


def test_add_a_contact_with_everything(crm: Crm, desk: Desk) -> None:
    run = crm(
        "contact", "add", "--name", "Ольга Ёлкина", "--phone", "8 926 111-22-33",
        "--phone", "+7 495 111-22-33", "--email", "olga@luch.ru", "--company", "ООО Луч",
        "--birthday", "1985-04-12", "--tag", "vip", "--tag", "опт", "--owner", "anna",
    )  # fmt: skip
    assert run.code == 0, run.err
    contact = Contact.get(Contact.name == "Ольга Ёлкина")
    company = Company.get(Company.name == "ООО Луч")
    assert run.out.splitlines() == [
        f"contact #{contact.id} Ольга Ёлкина added",
        f"company #{company.id} ООО Луч",
    ]
    assert contact.tags == "vip,опт" and contact.owner_id == desk.manager_id
    assert [c.value for c in ContactChannel.select().where(ContactChannel.contact == contact.id)] == [
        "+79261112233",
        "+74951112233",
        "olga@luch.ru",
    ]
    data = crm("contact", "show", str(contact.id), "--json").json()
    assert (data["name"], data["company_id"], data["birthday"]) == ("Ольга Ёлкина", company.id, "1985-04-12")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Никто"], "A contact needs a phone or an e-mail"),
        (["--name", "X", "--phone", "12345"], "Not a valid phone number: '12345'"),
        (["--name", "X", "--email", "ivan@"], "Not a valid e-mail: 'ivan@'"),
        (["--name", "X", "--email", "x@y.ru", "--birthday", "2027-13-45"], "Not a date: '2027-13-45'"),
        (["--name", "X", "--email", "x@y.ru", "--owner", "nobody"], "No user with login 'nobody'"),
        (["--name", "X", "--email", "x@y.ru", "--company", "9999"], "No company #9999"),
        (["--name", "X", "--phone", "8 495 200-30-40"], "Contact #1 Пётр Сидоров already has the phone"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    crm: Crm, desk: Desk, counts: Counts, args: list[str], message: str
) -> None:
    before = counts()
    run = crm("contact", "add", *args)
    assert run.error.startswith(message), run.error
    assert counts() == before


def test_a_duplicate_says_how_to_force_it_and_force_marks_it(crm: Crm, desk: Desk) -> None:
    refused = crm("contact", "add", "--name", "Пётр", "--email", "PETR@vector.ru")
    assert f"Contact #{desk.contact_id} Пётр Сидоров already has the e-mail petr@vector.ru" in refused.error
    assert "--force" in refused.error
    run = crm("contact", "add", "--name", "Пётр", "--email", "petr@vector.ru", "--force", "--json")
    assert run.code == 0, run.err
    assert run.json()["duplicate_of"] == desk.contact_id
    listed = crm("contact", "list").out
    assert "Пётр (dup?)" in listed


def test_list_pages_like_leads_and_keeps_its_filters(crm: Crm, desk: Desk) -> None:
    for i in range(3):
        crm("contact", "add", "--name", f"Клиент {i}", "--phone", f"+7 926 200-00-0{i}", "--tag", "опт")
    run = crm("contact", "list", "--tag", "опт", "--limit", "2")
    lines = run.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "COMPANY", "PHONE", "E-MAIL", "TAGS", "OWNER", "SINCE"]
    assert "Клиент 2" in lines[1] and "Клиент 1" in lines[2]
    hint = lines[-1]
    assert hint.startswith("more: crm contact list --tag 'опт' --after ")
    rest = crm(*shlex.split(hint.removeprefix("more: crm ")))
    assert "Клиент 0" in rest.out and "more:" not in rest.out
    assert [r["name"] for r in crm("contact", "list", "--company", "АО Вектор", "--json").json()] == [
        "Пётр Сидоров"
    ]
    assert crm("contact", "list", "--owner", "anna", "--json").json()[0]["owner_login"] == "anna"
    assert crm("contact", "list", "--company", "Нет Такой").error == "No company named 'Нет Такой'"


def test_show_is_the_cards_twin_with_the_whole_history(crm: Crm, desk: Desk) -> None:
    for minute in range(60):  # more than a page of the card's history
        interactions.log(
            "note", contact_id=desk.contact_id, summary=f"заметка {minute}", by=desk.admin_id, now=NOW
        )
    interactions.log(
        "call_out", contact_id=desk.contact_id, deal_id=desk.deal_id, duration=185, summary="Обсудили КП",
        outcome="выставить счёт", by=desk.manager_id, now=NOW.replace(hour=10),
    )  # fmt: skip
    data = crm("contact", "show", str(desk.contact_id), "--json").json()
    assert data["company_name"] == "АО Вектор"
    assert [(d["id"], d["stage_name"], d["amount"]) for d in data["deals"]] == [
        (desk.deal_id, "Need discovery", 15_000_000)
    ]
    assert data["origin"]["lead_id"] == desk.converted_lead_id
    history = data["history"]
    assert len(history) == 62  # the conversion, 60 notes, the call
    call = history[0]
    assert {k: call[k] for k in ("kind", "by", "duration", "summary", "outcome", "deal")} == {
        "kind": "call_out",
        "by": "anna",
        "duration": 185,
        "summary": "Обсудили КП",
        "outcome": "выставить счёт",
        "deal": desk.deal_id,
    }
    assert call["at"] == "2026-03-02T10:00:00"
    assert history[-1]["kind"] == "conversion"
    text = crm("contact", "show", str(desk.contact_id)).out
    assert "Пётр Сидоров" in text and "#1 АО Вектор" in text.replace(f"#{desk.company_id}", "#1")
    assert f"came from: lead #{desk.converted_lead_id}" in text
    assert "Need discovery  150 000 ₽" in text
    assert "history (62, newest first):" in text and "call_out  3:05  Обсудили КП" in text


def test_show_says_where_the_client_came_from(crm: Crm, desk: Desk) -> None:
    crm(
        "lead", "add", "--name", "Мария Котова", "--phone", "+7 903 555-00-11", "--source", "yandex",
        "--medium", "cpc", "--campaign", "crm_search_msk", "--keyword", "crm для отдела продаж",
    )  # fmt: skip
    converted = crm("lead", "convert", str(desk.new_lead_id + 3), "--qualify", "--json").json()
    text = crm("contact", "show", str(converted["contact_id"])).out
    assert "  source: yandex / cpc" in text
    assert "  keyword: crm для отдела продаж" in text
    assert "  campaign: crm_search_msk" in text


def test_edit_replaces_or_adds_one_value(crm: Crm, desk: Desk) -> None:
    cid = str(desk.contact_id)
    run = crm("contact", "edit", cid, "--add-phone", "+7 926 555-44-33", "--add-tag", "vip", "--json")
    assert run.code == 0, run.err
    assert run.json()["phones"] == ["+74952003040", "+79265554433"]
    run = crm(
        "contact", "edit", cid, "--phone", "+7 903 100-20-30", "--remove-email", "petr@vector.ru",
        "--add-email", "p@vector.ru", "--company", "", "--birthday", "02.01.1980", "--json",
    )  # fmt: skip
    data = run.json()
    assert (data["phones"], data["emails"], data["company_id"]) == (["+79031002030"], ["p@vector.ru"], None)
    assert data["birthday"] == "1980-01-02" and data["tags"] == ["vip"]


def test_edit_refusals_write_nothing(crm: Crm, desk: Desk, counts: Counts) -> None:
    before = counts()
    cid = str(desk.contact_id)
    assert crm("contact", "edit", cid, "--birthday", "2027-13-45").error.startswith("Not a date")
    assert crm("contact", "edit", cid, "--remove-phone", "+7 999 000-00-00").error.startswith(
        "The contact has no phone"
    )
    assert crm("contact", "edit", "999", "--name", "X").error == "No contact #999"
    assert counts() == before


def test_archive_and_restore(crm: Crm, desk: Desk) -> None:
    cid = str(desk.contact_id)
    # the conversion closed the lead's call task: the contact gets a task of its own to keep
    tasks.create(
        "Отправить КП", NOW.replace(day=NOW.day + 1), contact_id=desk.contact_id, by=desk.manager_id, now=NOW
    )
    run = crm("contact", "archive", cid)
    assert run.out.splitlines() == [
        f"contact #{cid} Пётр Сидоров archived (crm contact restore {cid} brings it back)",
        "kept as they are: 1 open deal(s), 1 open task(s)",
    ]
    assert "Пётр Сидоров" not in crm("contact", "list").out
    assert "Пётр Сидоров" in crm("contact", "list", "--archived").out
    assert crm("search", "сидоров", "--kind", "contact").out.strip() == "nothing found"
    assert crm("contact", "archive", cid).error == f"Contact #{cid} Пётр Сидоров is already archived"
    assert crm("contact", "edit", cid, "--name", "X").error.startswith(
        f"Contact #{cid} Пётр Сидоров is archived"
    )
    assert crm("contact", "restore", cid).out.startswith(f"contact #{cid} Пётр Сидоров restored")
    assert "Пётр Сидоров" in crm("search", "сидоров", "--kind", "contact").out


# --- companies ------------------------------------------------------------------------------------------


def test_company_add_show_list_edit(crm: Crm, desk: Desk) -> None:
    run = crm(
        "company", "add", "--name", "ПАО Сбербанк", "--inn", "7707083893", "--kpp", "773601001", "--phone",
        "8 800 555-55-50", "--email", "info@sberbank.ru", "--address", "Москва, ул. Вавилова, 19",
        "--website", "sberbank.ru",
    )  # fmt: skip
    company = Company.get(Company.name == "ПАО Сбербанк")
    assert run.out.strip() == f"company #{company.id} ПАО Сбербанк, INN 7707083893 added"
    crm(
        "contact", "add", "--name", "Герман Греф", "--email", "gref@sberbank.ru", "--company", str(company.id)
    )
    shown = crm("company", "show", str(company.id)).out
    assert "INN       7707083893" in shown and "website   https://sberbank.ru" in shown
    assert "Герман Греф" in shown and "deals: none" in shown
    listed = crm("company", "list", "--json").json()
    assert listed[0]["id"] == company.id and listed[0]["contacts"] == 1
    edited = crm("company", "edit", str(company.id), "--name", "ПАО Сбер", "--address", "", "--json").json()
    assert edited["company"]["name"] == "ПАО Сбер" and edited["company"]["address"] == ""
    assert "ПАО Сбер" in crm("search", "7707083").out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X", "--inn", "7707083894"], "INN 7707083894 has a wrong check digit"),
        (["--name", "X", "--inn", "123"], "INN must be 10 digits (a company) or 12 (a sole trader)"),
        (
            ["--name", "X", "--inn", "500100732259", "--kpp", "773601001"],
            "A sole trader (12-digit INN) has no KPP",
        ),
        (["--name", "X", "--website", "not a site"], "Not a website address"),
        (["--name", "X", "--owner", "nobody"], "No user with login 'nobody'"),
        (["--inn", "7707083893"], "Name is required"),
    ],
)
def test_company_refusals(crm: Crm, desk: Desk, counts: Counts, args: list[str], message: str) -> None:
    before = counts()
    assert crm("company", "add", *args).error.startswith(message)
    assert counts() == before


def test_company_with_a_known_inn_is_refused_unless_forced(crm: Crm, desk: Desk, counts: Counts) -> None:
    crm("company", "add", "--name", "ПАО Сбербанк", "--inn", "7707083893")
    before = counts()
    error = crm("company", "add", "--name", "Сбер", "--inn", "7707083893").error
    assert "already has INN 7707083893" in error and "--force" in error
    assert counts() == before
    assert crm("company", "add", "--name", "Сбер", "--inn", "7707083893", "--force").code == 0


def test_company_archive_restore(crm: Crm, desk: Desk) -> None:
    cid = str(desk.company_id)
    assert "archived" in crm("company", "archive", cid).out
    assert "АО Вектор" not in crm("company", "list").out
    assert "АО Вектор" in crm("company", "list", "--archived").out
    assert "Пётр Сидоров" in crm("contact", "list", "--company", cid).out  # a filter still finds it
    assert crm("contact", "add", "--name", "X", "--email", "x@y.ru", "--company", cid).error.startswith(
        f"Company #{cid} АО Вектор is archived"
    )
    assert "restored" in crm("company", "restore", cid).out
