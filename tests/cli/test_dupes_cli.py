"""``crm dupes``, ``crm contact merge``, ``crm company merge``, ``crm contact export-personal`` and
``crm contact erase``: output, JSON, and one-line refusals that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_tui.data.models import Contact
from crm_tui.services import companies, contacts
from tests.cli.conftest import Crm
from tests.conftest import NOW, Counts, Desk


def twin(name: str = "Сидоров П.", phone: str = "+7 495 200-30-40") -> int:
    edit = contacts.ContactEdit(name, phones=(phone, "+7 916 000-11-22"), emails=("p.sidorov@mail.ru",))
    return contacts.create(edit, by=None, now=NOW, force=True)


def test_dupes_lists_groups_with_their_score_and_why(crm: Crm, desk: Desk) -> None:
    other = twin()
    run = crm("dupes")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("group 1  score 9") and "phone:+74952003040" in lines[0]
    assert lines[1].startswith(f"  contact #{desk.contact_id} Пётр Сидоров  АО Вектор  +7 495 200-30-40")
    assert lines[2].startswith(f"  contact #{other} Сидоров П.")
    assert lines[-1] == f"1 group(s); merge with: crm contact merge {desk.contact_id} {other}"
    data = crm("dupes", "--json").json()
    assert [[m["id"] for m in g["members"]] for g in data] == [[desk.contact_id, other]]
    assert data[0]["kind"] == "contact" and data[0]["score"] >= 90
    assert crm("dupes", "--kind", "company").out.strip() == "no likely duplicates"


def test_dupes_refuses_an_unknown_kind(crm: Crm, desk: Desk) -> None:
    run = crm("dupes", "--kind", "deal")
    assert run.error == "Unknown kind 'deal': contact, company or lead"


def test_contact_merge_dry_run_then_for_real(crm: Crm, desk: Desk, counts: Counts) -> None:
    other = twin()
    before = counts()
    run = crm("contact", "merge", str(desk.contact_id), str(other), "--dry-run")
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        f"would merge contact #{other} Сидоров П. into #{desk.contact_id} Пётр Сидоров",
        "moved: 0 deals, 0 interactions, 0 tasks, 0 leads",
        "added: +7 916 000-11-22, p.sidorov@mail.ru",
        "conflict name: Пётр Сидоров kept, Сидоров П. dropped (--take name keeps Сидоров П.)",
        "nothing changed (--dry-run)",
    ]
    assert counts() == before
    data = crm("contact", "merge", str(desk.contact_id), str(other), "--json").json()
    assert data["moved"]["deals"] == 0 and data["added_phones"] == ["+79160001122"]
    assert data["conflicts"] == [
        {"field": "name", "keep": "Пётр Сидоров", "other": "Сидоров П.", "taken": "keep"}
    ]
    assert Contact.get_by_id(other).merged_into == desk.contact_id
    shown = crm("contact", "show", str(desk.contact_id), "--json").json()
    assert shown["phones"] == ["+74952003040", "+79160001122"]
    assert any(h["kind"] == "merge" for h in shown["history"])


def test_merge_takes_a_field_from_the_other(crm: Crm, desk: Desk) -> None:
    other = twin("Пётр Ильич Сидоров")
    run = crm("contact", "merge", str(desk.contact_id), str(other), "--take", "name")
    assert run.code == 0, run.err
    assert "conflict name: Пётр Ильич Сидоров kept, Пётр Сидоров dropped" in run.out.splitlines()
    assert Contact.get_by_id(desk.contact_id).name == "Пётр Ильич Сидоров"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "1"], "Cannot merge contact #1 into itself"),
        (["1", "999"], "No contact #999"),
        (["999", "1"], "No contact #999"),
        (
            ["1", "{other}", "--take", "salary"],
            "Cannot take 'salary': a contact merge takes name, company, birthday, owner",
        ),
        (["{archived}", "1"], "Contact #{archived} Пётр is archived; restore it to merge it"),
    ],
)  # fmt: skip
def test_merge_refusals_write_nothing(
    crm: Crm, desk: Desk, counts: Counts, args: list[str], message: str
) -> None:
    assert desk.contact_id == 1
    other = twin()
    archived = twin("Пётр", "+7 916 555-00-00")
    contacts.archive(archived, by=None, now=NOW)
    before = counts()
    fill = {"other": other, "archived": archived}
    run = crm("contact", "merge", *[a.format(**fill) for a in args])
    assert run.error == message.format(**fill)
    assert counts() == before


def test_company_merge(crm: Crm, desk: Desk) -> None:
    other = companies.create(companies.CompanyEdit("Вектор, АО", inn="7707083893"), by=None, now=NOW)
    assert [[m["id"] for m in g["members"]] for g in crm("dupes", "--kind", "company", "--json").json()] == [
        [desk.company_id, other]
    ]
    run = crm("company", "merge", str(desk.company_id), str(other))
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == f"merged company #{other} Вектор, АО into #{desk.company_id} АО Вектор"
    assert f"filled from #{other}: inn" in run.out
    assert crm("company", "merge", str(desk.company_id), str(other)).error.startswith(
        f"Company #{other} Вектор, АО is archived (merged into #{desk.company_id})"
    )


def funnel(crm: Crm) -> object:
    run = crm("report", "funnel", "--from", "2000-01-01", "--to", "2100-01-01", "--json")
    assert run.code == 0, run.err
    return run.json()


def test_export_then_erase_leaves_no_trace_and_keeps_the_report(crm: Crm, desk: Desk, tmp_path: Path) -> None:
    crm("contact", "merge", str(desk.contact_id), str(twin()))
    out = tmp_path / "petr.json"
    run = crm("contact", "export-personal", str(desk.contact_id), "-o", str(out))
    assert run.code == 0, run.err
    assert run.out.startswith(f"contact #{desk.contact_id}: 1 leads, 1 deals,")
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["contacts"][0]["emails"] == ["petr@vector.ru", "p.sidorov@mail.ru"]
    report = funnel(crm)
    run = crm("contact", "erase", str(desk.contact_id), "--reason", "письмо от 01.12.2026", "--yes")
    assert run.code == 0, run.err
    assert run.out.splitlines()[0].startswith(f"contact #{desk.contact_id} erased (request #")
    assert funnel(crm) == report
    traces = ("Пётр", "Сидоров", "200-30-40", "74952003040", "petr@vector", "p.sidorov")
    shown = (
        crm("contact", "show", str(desk.contact_id)).out
        + crm("contact", "show", str(desk.contact_id), "--json").out
    )
    shown += crm("lead", "show", str(desk.converted_lead_id)).out
    shown += crm("lead", "show", str(desk.converted_lead_id), "--json").out
    shown += crm("contact", "export-personal", str(desk.contact_id)).out
    for text in ("Сидоров", "200 30 40", "petr@", "sidorov", "916 000"):
        shown += crm("search", text).out
    for text in traces:
        assert text not in shown, text


def test_erase_asks_and_refuses_without_a_reason(crm: Crm, desk: Desk, counts: Counts) -> None:
    before = counts()
    run = crm("contact", "erase", str(desk.contact_id))
    assert run.error == "An erasure needs a reason (--reason: the request's date and channel, say)"
    assert crm("contact", "erase", str(desk.contact_id), "--reason", "x").error == (
        "not erased: answer y, or pass --yes"
    )
    assert crm("contact", "erase", "999", "--reason", "x", "--yes").error == "No contact #999"
    assert crm("contact", "export-personal", "999").error == "No contact #999"
    assert counts() == before
