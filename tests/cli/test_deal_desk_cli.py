"""``crm deal add|edit|show|reopen|archive|restore``: amounts as people type them, refusals that write
nothing, and the money entered reaching the forecast."""

from __future__ import annotations

import pytest

from crm_tui.data.models import Task
from crm_tui.services import tasks
from tests.cli.conftest import Crm
from tests.conftest import NOW, Counts, Desk


def test_add_reads_amounts_as_people_type_them_and_opens_at_need_discovery(desk: Desk, crm: Crm) -> None:
    run = crm(
        "deal", "add", "--title", "CRM для отдела продаж", "--contact", str(desk.contact_id),
        "--amount", "150 000,50", "--expected-close", "2027-01-31", "--owner", "anna",
    )  # fmt: skip
    assert run.code == 0, run.err
    first, second = run.out.splitlines()
    assert first.endswith("CRM для отдела продаж: 2 Need discovery, 150 000.50 ₽")
    assert second == f"  owner anna, contact #{desk.contact_id} Пётр Сидоров, expected close 2027-01-31"
    for typed, minor in (("150000", 15_000_000), ("150\u00a0000", 15_000_000), ("150000.50", 15_000_050)):
        data = crm("deal", "add", "--title", "x", "--amount", typed, "--currency", "usd", "--json").json()
        assert (data["amount"], data["currency"], data["stage_name"]) == (minor, "USD", "Need discovery")


def test_amounts_entered_reach_the_forecast(desk: Desk, crm: Crm) -> None:
    made = crm("deal", "add", "--title", "Внедрение", "--amount", "1 200 000", "--owner", "anna",
               "--expected-close", "2027-01-31", "--json").json()  # fmt: skip
    crm("deal", "edit", str(desk.deal_id), "--amount", "300 000", "--expected-close", "2027-02-15")
    crm("deal", "move", str(desk.deal_id), "3")
    forecast = crm("report", "forecast", "--json").json()
    assert forecast["amount"] == 120_000_000 + 30_000_000
    months = {line["key"]: line["amount"] for line in forecast["by_month"]}
    assert months == {"2027-01": 120_000_000, "2027-02": 30_000_000}
    # the new deal at Need discovery 10 %, the converted lead's deal moved on to Proposal preparation 30 %
    assert forecast["weighted"] == 12_000_000 + 9_000_000
    crm("deal", "archive", str(made["id"]))
    assert crm("report", "forecast", "--json").json()["amount"] == 30_000_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--amount", "abc"), "Not an amount: 'abc' (type 150000, 150 000 or 150 000,50)"),
        (("--amount", "-5"), "An amount cannot be negative: -5"),
        (("--amount", "100000000000"), "Amount too large: 100000000000 (at most 10 000 000 000)"),
        (("--owner", "nobody"), "No user with login 'nobody'"),
        (("--stage", "42"), "No stage number 42; the pipeline has 8 stages"),
        (("--contact", "999"), "No contact #999"),
        (("--company", "999"), "No company #999"),
        (("--expected-close", "2027-13-45"), "Not a date: '2027-13-45' (write it as 2027-01-31)"),
    ],
)
def test_add_refusals_are_one_line_and_write_nothing(
    desk: Desk, crm: Crm, counts: Counts, args: tuple[str, ...], message: str
) -> None:
    before = counts()
    assert crm("deal", "add", "--title", "Сделка", *args).error == message
    assert counts() == before


def test_edit_of_a_closed_deal_and_reopen_refusals_write_nothing(
    desk: Desk, crm: Crm, counts: Counts
) -> None:
    deal = str(desk.deal_id)
    before = counts()
    assert crm("deal", "reopen", deal, "--reason", "x").error == (
        f"Deal #{deal} is open; only a won or lost deal is reopened"
    )
    assert counts() == before
    task = tasks.create("Отправить КП", NOW, deal_id=desk.deal_id, by=desk.manager_id, now=NOW)
    lost = crm("deal", "lose", deal, "--reason", "дорого")
    assert lost.out.splitlines()[1] == f"closed task #{task.id}: Отправить КП"
    assert Task.get_by_id(task.id).done_at is not None
    before = counts()
    assert crm("deal", "edit", deal, "--amount", "1").error == (
        f"Deal #{deal} is lost: its amount, currency and expected close stay as it closed; "
        f"reopen it first (crm deal reopen {deal} --reason ...)"
    )
    assert crm("deal", "reopen", deal).error == "Reopening a deal needs a reason"
    assert counts() == before
    run = crm("deal", "reopen", deal, "--reason", "клиент вернулся")
    assert run.out.strip() == f"deal #{deal} АО Вектор reopened: 8 Lost -> 2 Need discovery"


def test_show_gives_the_history_newest_first_with_stable_keys(desk: Desk, crm: Crm) -> None:
    deal = str(desk.deal_id)
    crm("deal", "edit", deal, "--amount", "200 000", "--owner", "admin", "--user", "anna")
    crm("deal", "move", deal, "3", "--user", "anna")
    data = crm("deal", "show", deal, "--json").json()
    kinds = [event["kind"] for event in data["history"]]
    assert kinds[:2] == ["stage", "edited"] and kinds[-1] == "created"
    moved, edited = data["history"][:2]
    assert (moved["from"], moved["to"], moved["by"]) == ("Need discovery", "Proposal preparation", "anna")
    assert edited["changes"] == {"amount": [15_000_000, 20_000_000], "owner": ["anna", "admin"]}
    assert set(edited) >= {"kind", "at", "by", "from", "to", "changes", "reason", "text"}
    lines = crm("deal", "show", deal).out.splitlines()
    start = lines.index("history (newest first):")
    assert lines[start + 1].endswith("anna  Need discovery → Proposal preparation")
    assert lines[start + 2].endswith("anna  changed amount 150 000 ₽ → 200 000 ₽, owner anna → admin")


def test_show_speaks_russian_when_asked(desk: Desk, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    crm("deal", "edit", str(desk.deal_id), "--amount", "200 000")
    monkeypatch.setenv("CRM_LANG", "ru")
    lines = crm("deal", "show", str(desk.deal_id)).out.splitlines()
    assert any(line.endswith("изменено: сумма 150 000 ₽ → 200 000 ₽") for line in lines)
    assert any(line.endswith("создана на этапе «Выяснение потребности»") for line in lines)


def test_archive_and_restore(desk: Desk, crm: Crm, counts: Counts) -> None:
    deal = str(desk.deal_id)
    assert crm("deal", "archive", deal).out.strip() == (
        f"deal #{deal} АО Вектор archived (`crm deal restore {deal}` undoes it)"
    )
    assert crm("deal", "list").out.strip() == "no deals"
    assert crm("deal", "show", deal, "--json").json()["deal"]["archived_at"] is not None
    before = counts()
    assert (
        crm("deal", "archive", deal).error
        == f"Deal #{deal} is archived; restore it first (crm deal restore {deal})"
    )
    assert counts() == before
    assert crm("deal", "restore", deal).out.strip() == f"deal #{deal} АО Вектор restored at 2 Need discovery"
    assert [r["id"] for r in crm("deal", "list", "--json").json()] == [desk.deal_id]
