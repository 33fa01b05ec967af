"""Leads: registration with its first-call task, qualification, disqualification and conversion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import Database

from crm_tui.data.models import Company, Contact, ContactChannel, Deal, Interaction, Lead, StageHistory, Task
from crm_tui.services import interactions, leads, pipelines, users
from crm_tui.services.errors import InvalidInput, NeedsReason, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    """These rules run on SQLite and on PostgreSQL."""
    return any_db


def register(name: str = "Иван Смирнов", phone: str = "8 (916) 123-45-67", **kw: object) -> int:
    admin = users.by_login("admin")
    return leads.register(leads.NewLead(name, phone, **kw), by=admin.id, now=NOW).id  # type: ignore[arg-type]


def test_registration_creates_the_first_call_task_due_in_an_hour_for_the_owner(db: Database) -> None:
    admin = users.by_login("admin")
    anna = users.create("anna", "Анна Петрова", "manager", now=NOW)
    row = leads.register(
        leads.NewLead("Иван Смирнов", "8 (916) 123-45-67", email="Ivan@Example.RU", owner_id=anna.id),
        by=admin.id,
        now=NOW,
    )
    lead = Lead.get_by_id(row.id)
    assert (lead.phone, lead.email, lead.status, lead.owner_id) == (
        "+79161234567",
        "ivan@example.ru",
        "new",
        anna.id,
    )
    (task,) = Task.select().where(Task.lead == row.id)
    assert task.kind == "first_call"
    assert task.title == "Call Иван Смирнов"
    assert task.due_at == NOW + timedelta(hours=1)
    assert task.assignee_id == anna.id and task.created_by_id == admin.id
    assert task.done_at is None


def test_without_an_owner_the_registering_user_gets_the_call(db: Database) -> None:
    lead_id = register()
    (task,) = Task.select().where(Task.lead == lead_id)
    assert task.assignee_id == users.by_login("admin").id


@pytest.mark.parametrize(
    ("name", "phone", "email", "bad_field"),
    [
        ("Иван", "12345", None, "phone"),
        ("Иван", "", None, "phone"),
        ("Иван", "+7 916 123-45-67", "ivan@", "email"),
        ("  ", "+7 916 123-45-67", None, "name"),
    ],
)
def test_a_refused_registration_writes_neither_lead_nor_task(
    db: Database, counts: Counts, name: str, phone: str, email: str | None, bad_field: str
) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        leads.register(leads.NewLead(name, phone, email=email), by=None, now=NOW)
    assert bad_field in caught.value.fields
    assert counts() == before


def test_every_bad_field_is_named_at_once(db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        leads.register(leads.NewLead("", "abc", email="x@"), by=None, now=NOW)
    assert set(caught.value.fields) == {"name", "phone", "email"}


def test_unknown_owner_is_refused_and_nothing_written(db: Database, counts: Counts) -> None:
    before = counts()
    with pytest.raises(NotFound):
        leads.register(leads.NewLead("Иван", "+79161234567", owner_id=999), by=None, now=NOW)
    assert counts() == before


def test_utm_tags_are_kept(db: Database) -> None:
    lead_id = register(
        utm_source="yandex",
        utm_medium="cpc",
        utm_campaign="весна",
        utm_term="crm",
        referrer="https://ya.ru/?q=crm",
    )
    detail = leads.get(lead_id)
    assert (detail.utm_source, detail.utm_medium, detail.utm_campaign, detail.utm_term, detail.referrer) == (
        "yandex",
        "cpc",
        "весна",
        "crm",
        "https://ya.ru/?q=crm",
    )


def test_same_phone_is_flagged_as_a_possible_duplicate(db: Database) -> None:
    first = register()
    second = register("Ваня", "+7 916 123 45 67")
    assert leads.row(second).possible_duplicate
    assert [(h.kind, h.id) for h in leads.get(second).duplicates] == [("lead", first)]
    other = register("Мария", "+7 903 555-12-34")
    assert not leads.row(other).possible_duplicate


def test_list_is_newest_first_and_pages_by_id(db: Database) -> None:
    ids = [register(f"Лид {i}", f"+7 916 000-00-{i:02d}") for i in range(1, 8)]
    first = leads.list_page(limit=3)
    assert [r.id for r in first] == ids[::-1][:3]
    second = leads.list_page(limit=3, after_id=first[-1].id)
    assert [r.id for r in second] == ids[::-1][3:6]
    assert [r.id for r in leads.list_page(limit=3, after_id=second[-1].id)] == [ids[0]]


def test_list_filters_by_status_and_source(desk: Desk) -> None:
    assert [r.id for r in leads.list_page(status="qualified")] == [desk.qualified_lead_id]
    assert [r.id for r in leads.list_page(source="yandex")] == [desk.new_lead_id]
    assert {r.id for r in leads.list_page(status="open")} == {desk.new_lead_id, desk.qualified_lead_id}


def test_qualify_a_new_lead(desk: Desk) -> None:
    row = leads.qualify(desk.new_lead_id, by=desk.manager_id, now=NOW + timedelta(minutes=5))
    assert row.status == "qualified"
    assert Lead.get_by_id(desk.new_lead_id).qualified_at == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("which", ["qualified_lead_id", "converted_lead_id"])
def test_qualify_is_refused_for_a_qualified_or_converted_lead(desk: Desk, counts: Counts, which: str) -> None:
    lead_id = getattr(desk, which)
    status = Lead.get_by_id(lead_id).status
    before = counts()
    with pytest.raises(RuleViolation, match=status):
        leads.qualify(lead_id, by=desk.manager_id, now=NOW)
    assert Lead.get_by_id(lead_id).status == status
    assert counts() == before


def test_qualify_unknown_lead(db: Database) -> None:
    with pytest.raises(NotFound, match="No lead #404"):
        leads.qualify(404, by=None, now=NOW)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_disqualify_needs_a_reason(desk: Desk, counts: Counts, reason: str | None) -> None:
    before = counts()
    with pytest.raises(NeedsReason):
        leads.disqualify(desk.new_lead_id, reason, by=desk.manager_id, now=NOW)
    assert Lead.get_by_id(desk.new_lead_id).status == "new"
    assert counts() == before


def test_disqualify_closes_the_lead_and_its_tasks(desk: Desk) -> None:
    later = NOW + timedelta(minutes=20)
    row = leads.disqualify(desk.new_lead_id, " нет бюджета ", by=desk.manager_id, now=later)
    assert row.status == "disqualified"
    lead = Lead.get_by_id(desk.new_lead_id)
    assert (lead.disqualify_reason, lead.closed_at) == ("нет бюджета", later)
    assert [t.done_at for t in Task.select().where(Task.lead == desk.new_lead_id)] == [later]
    note = Interaction.get(Interaction.lead == desk.new_lead_id)
    assert (note.summary, note.outcome) == ("нет бюджета", "disqualified")


def test_disqualify_is_refused_for_a_converted_or_disqualified_lead(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation, match="already converted"):
        leads.disqualify(desk.converted_lead_id, "дубль", by=desk.manager_id, now=NOW)
    assert counts() == before
    leads.disqualify(desk.new_lead_id, "дубль", by=desk.manager_id, now=NOW)
    with pytest.raises(RuleViolation, match="already disqualified"):
        leads.disqualify(desk.new_lead_id, "ещё раз", by=desk.manager_id, now=NOW)
    assert Lead.get_by_id(desk.new_lead_id).disqualify_reason == "дубль"


def test_convert_creates_contact_company_and_deal_at_need_discovery(desk: Desk) -> None:
    later = NOW + timedelta(hours=2)
    interactions.log("call_out", by=desk.manager_id, now=later, lead_id=desk.qualified_lead_id, duration=60)
    result = leads.convert(desk.qualified_lead_id, by=desk.manager_id, now=later)
    assert not result.linked_existing_contact
    contact = Contact.get_by_id(result.contact_id)
    assert contact.name == "Maria Ivanova"
    assert [
        (c.kind, c.value) for c in ContactChannel.select().where(ContactChannel.contact == contact.id)
    ] == [("phone", "+79035551234")]
    deal = Deal.get_by_id(result.deal_id)
    discovery = pipelines.resolve_stage(pipelines.default_pipeline_id(), "Need discovery")
    assert discovery.position == 1  # the open stage after "Lead registered"
    assert (deal.stage_id, deal.contact_id, deal.lead_id) == (
        discovery.id,
        contact.id,
        desk.qualified_lead_id,
    )
    assert [
        (h.from_stage_id, h.to_stage_id) for h in StageHistory.select().where(StageHistory.deal == deal.id)
    ] == [(None, discovery.id)]
    lead = Lead.get_by_id(desk.qualified_lead_id)
    assert (lead.status, lead.contact_id, lead.deal_id, lead.converted_at) == (
        "converted",
        contact.id,
        deal.id,
        later,
    )
    kinds = [i.kind for i in Interaction.select().where(Interaction.lead == lead.id).order_by(Interaction.id)]
    assert kinds == ["call_out", "conversion"]
    # the earlier call now shows on the new contact's timeline too
    assert [r.kind for r in interactions.timeline(contact_id=contact.id)] == ["conversion", "call_out"]
    # the call fulfilled the first-call task
    assert Task.get(Task.lead == lead.id).done_at == later


def test_convert_closes_the_open_call_tasks_and_hands_the_others_to_the_contact(desk: Desk) -> None:
    from crm_tui.services import tasks

    later = NOW + timedelta(minutes=10)
    follow_up = tasks.create(
        "Send the price list",
        NOW + timedelta(days=1),
        by=desk.manager_id,
        now=NOW,
        lead_id=desk.qualified_lead_id,
    )
    result = leads.convert(desk.qualified_lead_id, by=desk.manager_id, now=later)
    first_call = Task.get((Task.lead == desk.qualified_lead_id) & (Task.kind == "first_call"))
    assert first_call.done_at == later  # no reminder nags about a lead that became a deal
    kept = Task.get_by_id(follow_up.id)
    assert (kept.done_at, kept.contact_id) == (None, result.contact_id)


def test_convert_with_a_company_name_creates_the_company_once(desk: Desk) -> None:
    first = Company.get_by_id(desk.company_id)
    assert first.name == "АО Вектор"
    lead_id = register("Ольга Сидорова", "+7 495 765-43-21", company_name="АО Вектор")
    result = leads.convert(lead_id, by=desk.manager_id, now=NOW, qualify_first=True)
    assert result.company_id == desk.company_id
    assert Company.select().where(Company.name == "АО Вектор").count() == 1


@pytest.mark.parametrize(
    ("phone", "email"), [("8 495 200 30 40", None), ("+7 903 000-11-22", "PETR@vector.ru")]
)
def test_convert_links_an_existing_contact_with_the_same_phone_or_email(
    desk: Desk, phone: str, email: str | None
) -> None:
    contacts_before = Contact.select().count()
    lead_id = register("Пётр", phone, email=email)
    result = leads.convert(lead_id, by=desk.manager_id, now=NOW, qualify_first=True)
    assert result.linked_existing_contact
    assert result.contact_id == desk.contact_id
    assert Contact.select().count() == contacts_before
    assert Deal.get_by_id(result.deal_id).contact_id == desk.contact_id


def test_convert_refuses_a_new_lead_unless_asked_to_qualify_first(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation, match="not qualified yet"):
        leads.convert(desk.new_lead_id, by=desk.manager_id, now=NOW)
    assert counts() == before
    assert Lead.get_by_id(desk.new_lead_id).status == "new"
    result = leads.convert(desk.new_lead_id, by=desk.manager_id, now=NOW, qualify_first=True)
    assert Lead.get_by_id(desk.new_lead_id).status == "converted"
    assert result.company_id is not None and Company.get_by_id(result.company_id).name == "ООО Ромашка"


def test_convert_refuses_a_converted_or_disqualified_lead(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation, match="converted"):
        leads.convert(desk.converted_lead_id, by=desk.manager_id, now=NOW, qualify_first=True)
    assert counts() == before
    leads.disqualify(desk.qualified_lead_id, "не целевой", by=desk.manager_id, now=NOW)
    before = counts()
    with pytest.raises(RuleViolation, match="disqualified"):
        leads.convert(desk.qualified_lead_id, by=desk.manager_id, now=NOW)
    assert counts() == before


def test_a_failing_conversion_writes_nothing(desk: Desk, counts: Counts) -> None:
    """If the pipeline has no open stage the conversion fails half-way: no contact is left behind."""
    pid = pipelines.default_pipeline_id()
    from crm_tui.data.models import Stage

    Stage.update(kind="lost").where((Stage.pipeline == pid) & (Stage.kind == "open")).execute()
    before = counts()
    with pytest.raises(RuleViolation, match="no open stage"):
        leads.convert(desk.qualified_lead_id, by=desk.manager_id, now=NOW)
    assert counts() == before
    assert Lead.get_by_id(desk.qualified_lead_id).status == "qualified"


def test_the_source_filter_offers_each_source_once_in_order(db: Database) -> None:
    assert leads.sources() == []
    for i, source in enumerate(["yandex", "google", "", "yandex", "vk", "google", "yandex"]):
        register(f"Lead {i}", f"+7 916 400-00-{i:02d}", utm_source=source)
    assert leads.sources() == ["google", "vk", "yandex"]


def test_a_lead_saved_from_a_stale_copy_keeps_a_first_call_logged_meanwhile(db: Database) -> None:
    lead_id = register()
    stale = Lead.get_by_id(lead_id)  # read by a rule in one transaction...
    interactions.log("call_out", lead_id=lead_id, duration=60, by=None, now=NOW)  # ...a call lands meanwhile
    stale.status = "in_work"
    stale.save()  # ...and the rule saves the lead
    saved = Lead.get_by_id(lead_id)
    assert (saved.status, saved.first_call_at) == ("in_work", NOW)


# --- corrections, requalification, history, the first-call rules ----------------------------------------


def test_edit_corrects_fields_reindexes_and_records_the_change_as_a_coded_event(desk: Desk) -> None:
    from crm_tui.services import search

    later = NOW + timedelta(minutes=5)
    edited = leads.edit(
        desk.new_lead_id,
        leads.LeadEdit(name="Иван Петров", phone="+7 916 765-43-21", email="", utm_source="google"),
        by=desk.manager_id,
        now=later,
    )
    row = edited.lead
    assert (row.name, row.phone, row.email, row.utm_source) == ("Иван Петров", "+79167654321", None, "google")
    assert set(edited.changes) == {"name", "phone", "email", "utm_source"}
    assert [h.id for h in search.search("петров", kinds=["lead"])] == [desk.new_lead_id]
    assert search.search("смирнов", kinds=["lead"]) == []
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    assert task.title == "Call Иван Петров"
    (event,) = leads.history(desk.new_lead_id)
    assert (event.kind, event.code, event.at, event.subject, event.summary) == (
        "event",
        "lead.edited",
        later,
        "",
        "",
    )
    assert event.params["changes"] == {
        "name": {"from": "Иван Смирнов", "to": "Иван Петров"},
        "phone": {"from": "+79161234567", "to": "+79167654321"},
        "email": {"from": "ivan@example.ru", "to": None},
        "utm_source": {"from": "yandex", "to": "google"},
    }


def test_edit_to_the_same_values_writes_nothing(desk: Desk, counts: Counts) -> None:
    before = counts()
    leads.edit(
        desk.new_lead_id,
        leads.LeadEdit(name="Иван Смирнов", phone="8 916 123-45-67"),
        by=desk.manager_id,
        now=NOW,
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (leads.LeadEdit(phone="12345"), "phone.invalid"),
        (leads.LeadEdit(email="not-an-email"), "email.invalid"),
        (leads.LeadEdit(name="  "), "text.required"),
        (leads.LeadEdit(owner_id=999), "user.not_found"),
    ],
)
def test_a_bad_edit_is_refused_with_its_code_and_writes_nothing(
    desk: Desk, counts: Counts, edit: leads.LeadEdit, code: str
) -> None:
    before = counts()
    with pytest.raises((InvalidInput, NotFound)) as refused:
        leads.edit(desk.new_lead_id, edit, by=desk.manager_id, now=NOW)
    assert refused.value.code == code
    assert counts() == before
    with pytest.raises(NotFound) as missing:
        leads.edit(999, leads.LeadEdit(name="X"), by=desk.manager_id, now=NOW)
    assert missing.value.code == "lead.not_found"


def test_a_new_owner_takes_the_leads_open_tasks(desk: Desk) -> None:
    leads.edit(desk.new_lead_id, leads.LeadEdit(owner_id=desk.admin_id), by=desk.admin_id, now=NOW)
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    assert task.assignee_id == desk.admin_id


def test_requalify_brings_a_disqualified_lead_back_with_its_tasks(desk: Desk, counts: Counts) -> None:
    later = NOW + timedelta(minutes=3)
    leads.disqualify(desk.new_lead_id, "нет бюджета", by=desk.manager_id, now=NOW)
    assert Task.select().where((Task.lead == desk.new_lead_id) & Task.done_at.is_null()).count() == 0
    row = leads.requalify(desk.new_lead_id, by=desk.manager_id, now=later)
    lead = Lead.get_by_id(desk.new_lead_id)
    assert (row.status, lead.disqualify_reason, lead.closed_at) == ("in_work", None, None)
    (task,) = Task.select().where((Task.lead == desk.new_lead_id) & Task.done_at.is_null())
    assert (task.kind, task.due_at) == ("first_call", NOW + timedelta(hours=1))  # the one it had
    events = [(e.code, e.params.get("reason")) for e in leads.history(desk.new_lead_id)]
    assert events == [("lead.requalified", "нет бюджета"), ("lead.disqualified", "нет бюджета")]
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        leads.requalify(desk.new_lead_id, by=desk.manager_id, now=later)
    assert refused.value.code == "lead.not_disqualified"
    assert counts() == before


def test_requalify_makes_a_new_first_call_task_when_the_old_one_was_done(desk: Desk, db: Database) -> None:
    from crm_tui.services import settings

    settings.put("first_call.delay", "20m")
    interactions.log("call_out", by=desk.manager_id, now=NOW, lead_id=desk.new_lead_id, duration=30)
    leads.disqualify(desk.new_lead_id, "не целевой", by=desk.manager_id, now=NOW)
    later = NOW + timedelta(days=2)
    leads.requalify(desk.new_lead_id, by=desk.manager_id, now=later)
    (task,) = Task.select().where((Task.lead == desk.new_lead_id) & Task.done_at.is_null())
    assert (task.kind, task.title, task.due_at, task.assignee_id) == (
        "first_call",
        "Call Иван Смирнов",
        later + timedelta(minutes=20),
        desk.manager_id,
    )


def test_the_first_call_delay_is_the_desk_setting(db: Database) -> None:
    from crm_tui.services import settings

    settings.put("first_call.delay", "15m")
    lead_id = register()
    assert Task.get(Task.lead == lead_id).due_at == NOW + timedelta(minutes=15)


def test_a_hand_logged_call_closes_the_first_call_task(desk: Desk) -> None:
    at = NOW + timedelta(minutes=40)
    interactions.log(
        "call_out",
        by=desk.manager_id,
        now=at + timedelta(hours=2),
        at=at,
        lead_id=desk.new_lead_id,
        duration=90,
        outcome="reached",
    )
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    assert task.done_at == at + timedelta(hours=2)
    assert Lead.get_by_id(desk.new_lead_id).first_call_at == at  # the report's "called within the hour"


@pytest.mark.parametrize("outcome", ["no answer", "busy", "Call back later", "не ответил", "занято"])
def test_an_unanswered_call_keeps_the_first_call_task_open_and_moves_it(desk: Desk, outcome: str) -> None:
    at = NOW + timedelta(minutes=50)
    interactions.log(
        "call_out", by=desk.manager_id, now=at, lead_id=desk.new_lead_id, duration=0, outcome=outcome
    )
    task = Task.get((Task.lead == desk.new_lead_id) & (Task.kind == "first_call"))
    assert (task.done_at, task.due_at, task.next_remind_at) == (
        None,
        at + timedelta(minutes=30),
        at + timedelta(minutes=30),
    )


def test_a_call_logged_in_the_future_is_refused(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        interactions.check_at(NOW + timedelta(minutes=1), NOW)
    assert refused.value.code == "at.future"
    assert counts() == before
