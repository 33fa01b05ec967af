"""``crm lead add|list|show|qualify|disqualify|convert``: output, errors, and what the database holds."""

from __future__ import annotations

import shlex
from datetime import timedelta

import pytest

from crm_tui.data.models import Contact, Deal, Lead, Task
from tests.cli.conftest import Crm
from tests.conftest import Counts, Desk


def test_add_prints_the_lead_and_its_first_call_task(crm: Crm) -> None:
    run = crm(
        "lead", "add", "--name", "Иван Смирнов", "--phone", "8 (916) 123-45-67", "--email", "Ivan@Mail.ru"
    )
    assert run.code == 0, run.err
    lead = Lead.get()
    task = Task.get()
    assert run.out.splitlines() == [
        f"lead #{lead.id} registered: Иван Смирнов, +7 916 123-45-67",
        f"task #{task.id}: Call Иван Смирнов, due {_local(task.due_at)} @admin",
    ]
    assert (lead.phone, lead.email, lead.status) == ("+79161234567", "ivan@mail.ru", "new")
    assert (task.lead_id, task.kind, task.due_at - lead.created_at) == (
        lead.id,
        "first_call",
        timedelta(hours=1),
    )


def _local(moment: object) -> str:
    from crm_tui.services import clock

    return clock.to_local(moment).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def test_add_json_has_the_ids_and_utm(crm: Crm) -> None:
    crm("user", "add", "anna", "--name", "Анна Петрова")
    run = crm(
        "lead", "add", "--name", "Ольга", "--phone", "+7 903 555-12-34", "--company", "ООО Ромашка",
        "--source", "yandex", "--medium", "cpc", "--campaign", "весна", "--keyword", "crm для продаж",
        "--referrer", "https://ya.ru", "--owner", "anna", "--json",
    )  # fmt: skip
    assert run.code == 0, run.err
    data = run.json()
    assert set(data) == {"lead", "task"}
    assert data["lead"]["id"] == Lead.get().id and data["task"]["id"] == Task.get().id
    assert data["lead"]["owner_login"] == "anna" and data["task"]["assignee_login"] == "anna"
    lead = Lead.get()
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_term, lead.referrer) == (
        "yandex",
        "cpc",
        "весна",
        "crm для продаж",
        "https://ya.ru",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Иван", "--phone", "12345"], "Not a valid phone number: '12345'"),
        (["--name", "Иван", "--phone", "телефон"], "Not a phone number: 'телефон'"),
        (["--name", "Иван"], "Phone is required"),
        (["--name", "Иван", "--phone", "+79161234567", "--email", "ivan@"], "Not a valid e-mail: 'ivan@'"),
        (["--phone", "+79161234567"], "Name is required"),
        (["--name", "Иван", "--phone", "+79161234567", "--owner", "nobody"], "No user with login 'nobody'"),
    ],
)
def test_add_refusals_write_nothing(crm: Crm, counts: Counts, args: list[str], message: str) -> None:
    before = counts()
    run = crm("lead", "add", *args)
    assert run.error.startswith(message)
    assert counts() == before
    assert Lead.select().count() == 0 and Task.select().count() == 0


def test_add_warns_of_a_possible_duplicate(desk: Desk, crm: Crm) -> None:
    run = crm("lead", "add", "--name", "Ваня", "--phone", "+7 916 123 45 67")
    assert run.code == 0
    new_id = Lead.select().order_by(Lead.id.desc()).get().id
    assert f"possible duplicate: see crm lead show {new_id}" in run.out


def test_list_newest_first_with_the_next_page_hint(crm: Crm) -> None:
    for i in range(1, 6):
        assert crm("lead", "add", "--name", f"Лид {i}", "--phone", f"+7 916 000-00-{i:02d}").code == 0
    run = crm("lead", "list", "--limit", "2")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split() == ["ID", "REGISTERED", "NAME", "PHONE", "COMPANY", "SOURCE", "STATUS", "OWNER"]
    assert [line.split()[0] for line in lines[1:3]] == ["5", "4"]
    assert "+7 916 000-00-05" in lines[1]
    assert lines[3] == "more: crm lead list --after 4 --limit 2"
    page2 = crm("lead", "list", "--limit", "2", "--after", "4", "--json").json()
    assert [r["id"] for r in page2] == [3, 2]
    last = crm("lead", "list", "--limit", "2", "--after", "2")
    assert [line.split()[0] for line in last.out.splitlines()[1:]] == ["1"]
    assert "more:" not in last.out


def test_list_defaults_to_fifty(crm: Crm) -> None:
    from crm_tui.data.models import utcnow
    from crm_tui.services import leads

    crm("init")
    for i in range(55):
        leads.register(
            leads.NewLead(f"Лид {i}", f"+7 916 100-{i // 100:02d}-{i % 100:02d}"), by=None, now=utcnow()
        )
    rows = crm("lead", "list", "--json").json()
    assert len(rows) == 50
    assert "more: crm lead list --after 6 --limit 50" in crm("lead", "list").out


def test_list_filters(desk: Desk, crm: Crm) -> None:
    assert [r["id"] for r in crm("lead", "list", "--status", "qualified", "--json").json()] == [
        desk.qualified_lead_id
    ]
    assert [r["id"] for r in crm("lead", "list", "--source", "yandex", "--json").json()] == [desk.new_lead_id]
    assert crm("lead", "list", "--source", "bing").out.strip() == "no leads"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "hot"], "unknown status 'hot'"),
        (["--limit", "0"], "--limit must be between 1 and 1000"),
        (["--limit", "5000"], "--limit must be between 1 and 1000"),
        (["--owner", "nobody"], "No user with login 'nobody'"),
    ],
)
def test_list_refusals(crm: Crm, args: list[str], message: str) -> None:
    assert crm("lead", "list", *args).error.startswith(message)


def test_show_every_field_utm_and_duplicates(desk: Desk, crm: Crm) -> None:
    dup = crm("lead", "add", "--name", "Ваня", "--phone", "89161234567", "--json").json()["lead"]["id"]
    run = crm("lead", "show", str(desk.new_lead_id))
    assert run.code == 0
    fields = {
        line.split("  ")[0]: line.split("  ", 1)[1].strip() for line in run.out.splitlines() if "  " in line
    }
    assert fields["lead"] == f"#{desk.new_lead_id} Иван Смирнов"
    assert fields["phone"] == "+7 916 123-45-67"
    assert fields["e-mail"] == "ivan@example.ru"
    assert fields["company"] == "ООО Ромашка"
    assert fields["owner"] == "Анна Петрова (anna)"
    assert (fields["utm_source"], fields["utm_medium"], fields["utm_term"]) == (
        "yandex",
        "cpc",
        "crm для отдела продаж",
    )
    assert "possible duplicates:" in run.out
    assert f"  lead #{dup} Ваня" in run.out
    data = crm("lead", "show", str(desk.new_lead_id), "--json").json()
    assert data["id"] == desk.new_lead_id and data["utm_term"] == "crm для отдела продаж"
    assert [(d["kind"], d["id"]) for d in data["duplicates"]] == [("lead", dup)]


def test_show_unknown_lead(crm: Crm) -> None:
    assert crm("lead", "show", "404").error == "No lead #404"


def test_qualify_and_its_refusal(desk: Desk, crm: Crm, counts: Counts) -> None:
    run = crm("lead", "qualify", str(desk.new_lead_id))
    assert run.code == 0
    assert (
        run.out.strip()
        == f"lead #{desk.new_lead_id} Иван Смирнов qualified; next: crm lead convert {desk.new_lead_id}"
    )
    assert Lead.get_by_id(desk.new_lead_id).status == "qualified"
    before = counts()
    assert crm("lead", "qualify", str(desk.converted_lead_id)).error.startswith(
        f"Lead #{desk.converted_lead_id} is converted"
    )
    assert counts() == before


def test_disqualify_needs_a_reason(desk: Desk, crm: Crm, counts: Counts) -> None:
    before = counts()
    assert (
        crm("lead", "disqualify", str(desk.new_lead_id)).error == "A reason is required to disqualify a lead"
    )
    assert crm("lead", "disqualify", str(desk.new_lead_id), "--reason", " ").code == 1
    assert counts() == before and Lead.get_by_id(desk.new_lead_id).status == "new"
    run = crm("lead", "disqualify", str(desk.new_lead_id), "--reason", "нет бюджета", "--json")
    assert run.json()["status"] == "disqualified"
    lead = Lead.get_by_id(desk.new_lead_id)
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "нет бюджета")
    assert crm("lead", "disqualify", "999", "--reason", "x").error == "No lead #999"


def test_convert_prints_the_contact_and_deal(desk: Desk, crm: Crm) -> None:
    run = crm("lead", "convert", str(desk.qualified_lead_id))
    assert run.code == 0, run.err
    lead = Lead.get_by_id(desk.qualified_lead_id)
    assert lead.status == "converted"
    assert run.out.splitlines() == [
        f"lead #{lead.id} converted",
        f"contact #{lead.contact_id} (new contact)",
        f"deal #{lead.deal_id}",
    ]
    assert Deal.get_by_id(lead.deal_id).contact_id == lead.contact_id


def test_convert_says_when_it_linked_an_existing_contact(desk: Desk, crm: Crm) -> None:
    new = crm("lead", "add", "--name", "Пётр", "--phone", "8 495 200-30-40", "--json").json()["lead"]["id"]
    contacts_before = Contact.select().count()
    data = crm("lead", "convert", str(new), "--qualify", "--json").json()
    assert data["linked_existing_contact"] is True
    assert data["contact_id"] == desk.contact_id
    assert Contact.select().count() == contacts_before
    assert Deal.get_by_id(data["deal_id"]).contact_id == desk.contact_id
    text = crm("lead", "add", "--name", "Пётр", "--phone", "+7 495 200 30 40")
    assert text.code == 0
    newer = Lead.select().order_by(Lead.id.desc()).get().id
    out = crm("lead", "convert", str(newer), "--qualify").out
    assert f"contact #{desk.contact_id} (linked to the existing contact)" in out


def test_convert_refuses_an_unqualified_lead_and_writes_nothing(desk: Desk, crm: Crm, counts: Counts) -> None:
    before = counts()
    assert crm("lead", "convert", str(desk.new_lead_id)).error == (
        f"Lead #{desk.new_lead_id} is not qualified yet; qualify it first"
    )
    assert crm("lead", "convert", str(desk.converted_lead_id)).code == 1
    assert crm("lead", "convert", "999").error == "No lead #999"
    assert counts() == before


def test_the_next_page_hint_keeps_the_filters(crm: Crm) -> None:
    source = "Яндекс Директ"
    for i in range(1, 4):
        crm("lead", "add", "--name", f"Лид {i}", "--phone", f"+7 916 000-00-{i:02d}", "--source", source)
    crm("lead", "add", "--name", "Другой", "--phone", "+7 916 000-00-09", "--source", "google")
    run = crm("lead", "list", "--source", source, "--status", "new", "--limit", "2")
    hint = run.out.splitlines()[-1]
    assert hint == "more: crm lead list --status new --source 'Яндекс Директ' --after 2 --limit 2"
    follow = crm(*shlex.split(hint.removeprefix("more: crm ")), "--json")
    assert [r["id"] for r in follow.json()] == [1]


# --- edit, requalify, history -----------------------------------------------------------------------


def test_edit_prints_what_changed_and_show_has_it_in_the_history(desk: Desk, crm: Crm) -> None:
    lead_id = str(desk.new_lead_id)
    run = crm("lead", "edit", lead_id, "--phone", "+7 916 765 43 21", "--keyword", "crm", "--owner", "admin")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        f"lead #{lead_id} Иван Смирнов edited",
        "  phone: +7 916 123-45-67 -> +7 916 765-43-21",
        f"  owner: {desk.manager_id} -> {desk.admin_id}",
        "  keyword: crm для отдела продаж -> crm",
    ]
    lead = Lead.get_by_id(desk.new_lead_id)
    assert (lead.phone, lead.utm_term, lead.owner_id) == ("+79167654321", "crm", desk.admin_id)
    shown = crm("lead", "show", lead_id).out
    assert "history:" in shown and "Edited: phone, owner, keyword" in shown
    data = crm("lead", "show", lead_id, "--json").json()
    (event,) = data["history"]
    assert (event["kind"], event["code"]) == ("event", "lead.edited")
    assert event["params"]["changes"]["phone"] == {"from": "+79161234567", "to": "+79167654321"}
    assert (
        crm("lead", "edit", lead_id, "--keyword", "crm").out.strip()
        == f"lead #{lead_id} Иван Смирнов: nothing changed"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--phone", "12345"), "Not a valid phone number: '12345'"),
        (("--email", "no-at-sign"), "Not a valid e-mail: 'no-at-sign'"),
        (("--owner", "nobody"), "No user with login 'nobody'"),
    ],
)
def test_a_bad_edit_is_one_error_line_and_writes_nothing(
    desk: Desk, crm: Crm, counts: Counts, args: tuple[str, ...], message: str
) -> None:
    before = counts()
    assert crm("lead", "edit", str(desk.new_lead_id), *args).error.startswith(message)
    assert crm("lead", "edit", "999", "--name", "X").error == "No lead #999"
    assert counts() == before


def test_requalify_brings_the_lead_back_with_a_first_call_task(desk: Desk, crm: Crm, counts: Counts) -> None:
    lead_id = str(desk.new_lead_id)
    crm("lead", "disqualify", lead_id, "--reason", "нет бюджета")
    data = crm("lead", "requalify", lead_id, "--json").json()
    assert (data["lead"]["status"], data["task"]["kind"]) == ("in_work", "first_call")
    assert Lead.get_by_id(desk.new_lead_id).disqualify_reason is None
    history = crm("lead", "show", lead_id, "--json").json()["history"]
    assert [h["code"] for h in history] == ["lead.requalified", "lead.disqualified"]
    before = counts()
    assert crm("lead", "requalify", lead_id).error == (
        f"Lead #{lead_id} is in_work; only a disqualified lead can be requalified"
    )
    assert counts() == before


def test_convert_opens_the_deal_at_need_discovery(desk: Desk, crm: Crm) -> None:
    data = crm("lead", "convert", str(desk.new_lead_id), "--qualify", "--json").json()
    deal = Deal.get_by_id(data["deal_id"])
    assert deal.stage.name == "Need discovery"
    assert not Task.select().where((Task.lead == desk.new_lead_id) & Task.done_at.is_null()).exists()
