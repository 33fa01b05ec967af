"""Deals a desk keeps: entered by hand, edited, reopened, archived; each change in the deal's history.

Every rule here reads and writes, so each test runs on SQLite and on PostgreSQL (``any_db``).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from peewee import Database, fn

from crm_tui.data.db import database
from crm_tui.data.models import Deal, StageTotal, Task
from crm_tui.services import deals, reports, search, settings, tasks, users
from crm_tui.services.errors import CrmError, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def totals() -> dict[tuple[int, str], tuple[int, int]]:
    """The stage totals the triggers keep, next to what grouping the unarchived deals says."""
    kept = {
        (r.stage_id, r.currency): (r.deals, r.amount)
        for r in StageTotal.select()
        if r.deals != 0 or r.amount != 0
    }
    grouped = {
        (stage, currency): (int(n), int(total))
        for stage, currency, n, total in Deal.select(
            Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)
        )
        .where(Deal.archived_at.is_null())
        .group_by(Deal.stage, Deal.currency)
        .tuples()
    }
    assert kept == grouped
    return kept


def test_a_deal_entered_by_hand_opens_at_need_discovery_with_the_desks_currency(desk: Desk) -> None:
    settings.put("currency.default", "usd")
    row = deals.add(
        "CRM для отдела продаж",
        contact_id=desk.contact_id,
        amount="150 000,50",
        expected_close="2027-01-31",
        owner="anna",
        by=desk.admin_id,
        now=NOW,
    )
    assert (row.stage_name, row.amount, row.currency) == ("Need discovery", 15_000_050, "USD")
    assert (row.expected_close, row.owner_login, row.company_id) == (
        date(2027, 1, 31),
        "anna",
        desk.company_id,
    )
    assert deals.add("Без контакта", by=desk.admin_id, now=NOW).owner_login == "admin"
    totals()


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"amount": "abc"}, "amount.invalid"),
        ({"amount": "-1"}, "amount.negative"),
        ({"amount": "99 999 999 999 999"}, "amount.too_large"),
        ({"owner": "nobody"}, "owner.unknown"),
        ({"stage": "Nowhere"}, "stage.unknown"),
        ({"stage": "Won"}, "deal.closed_stage"),
        ({"contact_id": 999}, "contact.not_found"),
        ({"company_id": 999}, "company.not_found"),
        ({"expected_close": "2027-13-45"}, "date.invalid"),
        ({"currency": "рубли"}, "currency.invalid"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_nothing_is_written(
    desk: Desk, counts: Counts, given: dict[str, object], code: str
) -> None:
    before = counts()
    with pytest.raises(CrmError) as refused:
        deals.add("Сделка", by=desk.admin_id, now=NOW, **given)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert counts() == before


def test_an_edit_is_kept_as_a_code_and_its_changes_newest_first(desk: Desk) -> None:
    users.create("boris", "Борис", "manager", now=NOW)
    row = deals.edit(
        desk.deal_id,
        title="Вектор: внедрение",
        amount="200 000",
        expected_close="2027-02-01",
        owner="boris",
        by=desk.manager_id,
        now=LATER,
    )
    assert (row.title, row.amount, row.owner_login) == ("Вектор: внедрение", 20_000_000, "boris")
    edited, *older = deals.events(desk.deal_id)
    assert (edited.kind, edited.by, edited.at) == ("edited", "anna", LATER)
    assert edited.changes == {
        "title": ["АО Вектор", "Вектор: внедрение"],
        "amount": [15_000_000, 20_000_000],
        "expected_close": [None, "2027-02-01"],
        "owner": ["anna", "boris"],
    }
    assert older[-1].kind == "created"
    assert [h.label for h in search.search("внедрение")] == ["Вектор: внедрение"]
    totals()
    # nothing changed: nothing recorded
    deals.edit(desk.deal_id, amount="200000", by=desk.manager_id, now=LATER + timedelta(minutes=1))
    assert len(deals.events(desk.deal_id)) == len(older) + 1


def test_a_closed_deal_keeps_its_amount_until_it_is_reopened(desk: Desk, counts: Counts) -> None:
    deals.lose(desk.deal_id, "выбрали конкурента", by=desk.manager_id, now=NOW)
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        deals.edit(desk.deal_id, amount="1", by=desk.manager_id, now=LATER)
    assert (refused.value.code, refused.value.params["kind"]) == ("deal.closed", "lost")
    assert counts() == before
    assert (
        deals.edit(desk.deal_id, title="АО Вектор (2)", by=desk.manager_id, now=LATER).title
        == "АО Вектор (2)"
    )


def test_reopen_goes_back_to_the_stage_it_closed_from_and_counts_as_open(desk: Desk) -> None:
    deals.move(desk.deal_id, "Proposal negotiation", by=desk.manager_id, now=NOW)
    deals.lose(desk.deal_id, "дорого", by=desk.manager_id, now=NOW + timedelta(minutes=5))
    open_before = reports.forecast(reports.ReportFilter()).deals
    row = deals.reopen(desk.deal_id, "клиент вернулся", by=desk.manager_id, now=LATER)
    assert (row.stage_name, row.stage_kind, row.lost_reason) == ("Proposal negotiation", "open", None)
    deal = Deal.get_by_id(desk.deal_id)
    assert (deal.lost_at, deal.won_at) == (None, None)
    reopened = deals.events(desk.deal_id)[0]
    assert (reopened.kind, reopened.from_stage, reopened.to_stage, reopened.reason) == (
        "reopened",
        "Lost",
        "Proposal negotiation",
        "клиент вернулся",
    )
    assert reports.forecast(reports.ReportFilter()).deals == open_before + 1
    totals()


def test_reopen_is_refused_for_an_open_deal_and_without_a_reason(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        deals.reopen(desk.deal_id, "просто так", by=desk.manager_id, now=NOW)
    assert refused.value.code == "deal.open"
    deals.lose(desk.deal_id, "дорого", by=desk.manager_id, now=NOW)
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        deals.reopen(desk.deal_id, "  ", by=desk.manager_id, now=LATER)
    assert refused.value.code == "reason.required"
    assert counts() == before


def test_a_closing_deal_closes_its_open_tasks(desk: Desk) -> None:
    first = tasks.create(
        "Отправить КП", NOW + timedelta(days=1), deal_id=desk.deal_id, by=desk.manager_id, now=NOW
    )
    other = tasks.create(
        "Позвонить", NOW + timedelta(days=2), contact_id=desk.contact_id, by=desk.manager_id, now=NOW
    )
    deals.lose(desk.deal_id, "нет бюджета", by=desk.manager_id, now=LATER)
    assert Task.get_by_id(first.id).done_at == LATER
    assert Task.get_by_id(other.id).done_at is None  # the contact's own task stays
    lost = deals.events(desk.deal_id)[0]
    assert (lost.kind, lost.to_stage, lost.reason, lost.closed_tasks) == (
        "stage",
        "Lost",
        "нет бюджета",
        [first.id],
    )


def test_an_archived_deal_leaves_the_board_lists_search_and_reports_and_comes_back(desk: Desk) -> None:
    stage = deals.row(desk.deal_id).stage_id
    forecast = reports.forecast(reports.ReportFilter())
    assert forecast.amount == 15_000_000
    deals.archive(desk.deal_id, by=desk.manager_id, now=LATER)
    column = next(c for c in deals.stage_columns() if c.stage.id == stage)
    assert (column.count, column.totals) == (0, {})
    assert deals.list_page() == [] and deals.for_contact(desk.contact_id) == []
    assert search.search("Вектор", kinds=["deal"]) == []
    assert reports.forecast(reports.ReportFilter()).amount == 0
    assert reports.funnel(reports.ReportFilter()).stages[0].count == 0
    assert reports.funnel(reports.ReportFilter()).stages[0].reached == 0
    with pytest.raises(RuleViolation) as refused:
        deals.move(desk.deal_id, "2", by=desk.manager_id, now=LATER)
    assert refused.value.code == "deal.archived"
    totals()
    deals.restore(desk.deal_id, by=desk.manager_id, now=LATER + timedelta(minutes=1))
    column = next(c for c in deals.stage_columns() if c.stage.id == stage)
    assert (column.count, column.totals) == (1, {"RUB": 15_000_000})
    assert [h.id for h in search.search("Вектор", kinds=["deal"])] == [desk.deal_id]
    assert [e.kind for e in deals.events(desk.deal_id)[:2]] == ["restored", "archived"]
    totals()


def test_unknown_deal(desk: Desk) -> None:
    with pytest.raises(NotFound) as refused:
        deals.edit(999, title="x", by=desk.admin_id, now=NOW)
    assert refused.value.code == "deal.not_found"
    assert database.obj is not None
