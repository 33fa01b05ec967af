"""A person's data on request: the export holds everything about them, the erasure leaves no trace of
them and keeps every figure; both are recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from peewee import Database

from crm_tui.data.models import Contact, Deal, Interaction, Lead, Task
from crm_tui.data.privacy_models import PersonalDataRequest
from crm_tui.services import contacts, dupes, intake, interactions, search
from crm_tui.services.errors import CrmError
from tests.conftest import NOW, Counts, Desk

TRACES = ("Пётр", "Петр", "Сидоров", "200-30-40", "74952003040", "petr@vector", "p.sidorov", "утро")


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def person(desk: Desk) -> int:
    """The desk's converted contact with a merged twin, a birthday, tags, a note, a task and a repeat
    request from a web form (with where it came from)."""
    twin = contacts.create(
        contacts.ContactEdit("Сидоров П.", phones=("+7 916 000-11-22",), emails=("p.sidorov@mail.ru",)),
        by=None,
        now=NOW,
    )
    dupes.merge_contacts(desk.contact_id, twin, by=None, now=NOW)
    contacts.change(
        desk.contact_id, contacts.ContactChange(birthday="1980-05-01", tags=("vip",)), by=None, now=NOW
    )
    interactions.log(
        "note", contact_id=desk.contact_id, summary="Пётр просил звонить утром", by=desk.manager_id, now=NOW
    )
    Task.create(
        title="Перезвонить Петру Сидорову",
        due_at=NOW + timedelta(days=1),
        next_remind_at=NOW + timedelta(days=1),
        contact=desk.contact_id,
        created_at=NOW,
    )
    form = intake.add_form("Landing", by=desk.admin_id, now=NOW)
    intake.capture(
        form.key,
        {
            "name": "Пётр Сидоров",
            "phone": "+7 495 200-30-40",
            "email": "petr@vector.ru",
            "comment": "перезвоните утром",
            "landing_page": "https://crm.example/?who=petr@vector.ru",
        },
        now=NOW + timedelta(hours=1),
    )
    return desk.contact_id


def test_export_holds_everything_about_the_person(desk: Desk) -> None:
    contact_id = person(desk)
    data = personal_export(contact_id, desk)
    assert [c["id"] for c in data["contacts"]][0] == contact_id
    assert data["contacts"][0]["phones"] == ["+74952003040", "+79160001122"]
    assert data["contacts"][0]["birthday"] == "1980-05-01"
    assert data["contacts"][0]["company"]["name"] == "АО Вектор"
    lead = next(lead for lead in data["leads"] if lead["id"] == desk.converted_lead_id)
    assert lead["phone"] == "+74952003040" and "utm_source" in lead
    assert [d["id"] for d in data["deals"]] == [desk.deal_id]
    assert data["deals"][0]["amount"] == 15_000_000
    assert any("утром" in i["summary"] for i in data["interactions"])
    assert any(t["title"] == "Перезвонить Петру Сидорову" for t in data["tasks"])
    repeats = [s for s in data["intake_submissions"] if s["kind"] == "repeat_request"]
    assert repeats and "перезвоните утром" in repeats[0]["summary"]
    assert repeats[0]["data"]["landing_page"].startswith("https://crm.example/")
    json.dumps(data)  # JSON-ready as it is
    assert [(r.kind, r.contact_id) for r in PersonalDataRequest.select()] == [("export", contact_id)]


def personal_export(contact_id: int, desk: Desk) -> dict[str, object]:
    from crm_tui.services import personal_data

    return personal_data.export(contact_id, by=desk.admin_id, now=NOW)


def test_erase_leaves_no_trace_and_keeps_the_figures(desk: Desk) -> None:
    from crm_tui.services import personal_data

    contact_id = person(desk)
    deal = Deal.get_by_id(desk.deal_id)
    before = (deal.amount, deal.stage_id, deal.created_at, Lead.get_by_id(desk.converted_lead_id).status)
    result = personal_data.erase(contact_id, "письмо от 01.12.2026", by=desk.admin_id, now=NOW)
    assert result["touched"]["contact"] == 2 and result["touched"]["lead"] >= 1
    for text in ("Сидоров", "200-30-40", "petr@vector", "p.sidorov", "916 000-11"):
        assert search.search(text) == [], text
    card = contacts.card(contact_id)
    assert card.name == personal_data.ERASED and card.phones == [] and card.emails == []
    assert card.birthday is None and card.tags == []
    dumped = json.dumps(personal_data.export(contact_id, by=None, now=NOW), ensure_ascii=False)
    for text in TRACES:
        assert text not in dumped, text
    deal = Deal.get_by_id(desk.deal_id)
    assert (
        deal.amount,
        deal.stage_id,
        deal.created_at,
        Lead.get_by_id(desk.converted_lead_id).status,
    ) == before
    assert Interaction.select().where(Interaction.summary.contains("утр")).count() == 0
    record = PersonalDataRequest.get(PersonalDataRequest.kind == "erase")
    assert (record.contact_id, record.by_id, record.at, record.reason) == (
        contact_id,
        desk.admin_id,
        NOW,
        "письмо от 01.12.2026",
    )
    for text in TRACES:
        assert text not in record.touched
    assert Contact.get_by_id(contact_id).archived_at == NOW
    assert date(1980, 5, 1) not in [c.birthday for c in Contact.select()]
    assert search.search("Иван Смирнов")  # the other people are untouched


def test_erase_refusals_write_nothing(desk: Desk, counts: Counts) -> None:
    from crm_tui.services import personal_data

    before = counts()
    for call, code in (
        (lambda: personal_data.erase(desk.contact_id, "  ", by=None, now=NOW), "erase.reason_required"),
        (lambda: personal_data.erase(9999, "request", by=None, now=NOW), "contact.not_found"),
        (lambda: personal_data.export(9999, by=None, now=NOW), "contact.not_found"),
    ):
        with pytest.raises(CrmError) as caught:
            call()
        assert caught.value.code == code
    assert counts() == before
