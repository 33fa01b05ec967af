"""The catalogue and a deal's lines: products with prices as typed and VAT as data, lines whose sum is
the deal's amount (the kanban's stage totals following), refusals that write nothing.

Every rule here reads and writes, so each test runs on SQLite and on PostgreSQL (``any_db``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import Database, fn

from crm_tui.data.models import Deal, StageTotal
from crm_tui.services import deal_lines, deals, products, settings
from crm_tui.services.errors import CrmError
from tests.conftest import NOW, Counts, Desk

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def db(any_db: Database) -> Database:
    return any_db


def stage_totals_match() -> bool:
    kept = {(r.stage_id, r.currency): (r.deals, r.amount) for r in StageTotal.select() if r.deals or r.amount}
    grouped = {
        (stage, currency): (int(n), int(total))
        for stage, currency, n, total in Deal.select(
            Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)
        )
        .where(Deal.archived_at.is_null())
        .group_by(Deal.stage, Deal.currency)
        .tuples()
    }
    return kept == grouped


def test_product_as_typed_with_vat_category_and_sku(desk: Desk) -> None:
    p = products.add("Лицензия CRM (год)", "12 000,50", unit="шт", category="Лицензии", sku="LIC-1")
    assert (p.price, p.vat_rate, p.currency, p.category, p.sku) == (1_200_050, 22, "RUB", "Лицензии", "LIC-1")
    free = products.add("Обучение", "45000", unit="день", vat="без НДС")
    assert free.vat_rate is None
    settings.put("vat.default", "10")
    assert products.add("Книга", "990", vat="").vat_rate == 10
    edited = products.edit(p.id, price="13 000", vat="0", sku="")
    assert (edited.price, edited.vat_rate, edited.sku) == (1_300_000, 0, None)


def test_search_any_case_cyrillic_and_archive(desk: Desk) -> None:
    lic = products.add("Лицензия CRM", "12000", sku="LIC-1")
    products.add("Обучение менеджеров", "45000")
    assert [r.id for r in products.search("лицензия")] == [lic.id]
    assert [r.id for r in products.search("lic-1")] == [lic.id]
    assert [r.name for r in products.search("ОБУЧ менедж")] == ["Обучение менеджеров"]
    products.archive(lic.id, now=NOW)
    assert [r.name for r in products.search("")] == ["Обучение менеджеров"]
    assert [r.id for r in products.search("", archived=True)] == [lic.id]
    products.restore(lic.id)
    assert len(products.search("")) == 2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": "X", "price": "abc"}, "amount.invalid"),
        ({"name": "X", "price": "-5"}, "amount.negative"),
        ({"name": "X", "price": "100", "vat": "18"}, "vat.invalid"),
        ({"name": "", "price": "100"}, "text.required"),
        ({"name": "X", "price": "100", "sku": "LIC-1"}, "product.sku_taken"),
    ],
)
def test_product_refusals_write_nothing(desk: Desk, counts: Counts, kwargs: dict, code: str) -> None:
    products.add("Лицензия", "1", sku="LIC-1")
    kwargs = dict(kwargs)
    before = counts()
    with pytest.raises(CrmError) as refused:
        products.add(kwargs.pop("name"), kwargs.pop("price"), **kwargs)
    assert refused.value.code == code
    assert counts() == before


def test_deal_amount_follows_its_lines_and_the_stage_totals_too(desk: Desk) -> None:
    lic = products.add("Лицензия CRM", "12 000", unit="шт")
    line = deal_lines.add(
        desk.deal_id, product_id=lic.id, quantity="3", discount="10", by=desk.admin_id, now=NOW
    )
    assert (line.text, line.unit, line.price, line.vat_rate, line.total) == (
        "Лицензия CRM",
        "шт",
        1_200_000,
        22,
        3_240_000,
    )
    assert line.vat == 584_262  # 32 400 x 22 / 122, to the kopeck
    assert deals.row(desk.deal_id).amount == 3_240_000
    assert stage_totals_match()
    free = deal_lines.add(
        desk.deal_id, text="Внедрение", price="90 000,50", vat="none", by=desk.admin_id, now=LATER
    )
    assert deals.row(desk.deal_id).amount == 3_240_000 + 9_000_050
    deal_lines.edit(free.id, quantity="1,5", by=desk.admin_id, now=LATER)
    assert deals.row(desk.deal_id).amount == 3_240_000 + 13_500_075
    assert stage_totals_match()
    deal_lines.remove(line.id, by=desk.admin_id, now=LATER)
    rows = deal_lines.lines(desk.deal_id)
    assert [(r.position, r.text) for r in rows] == [(1, "Внедрение")]
    assert deals.row(desk.deal_id).amount == 13_500_075
    assert stage_totals_match()
    said = [e.changes.get("amount") for e in deals.events(desk.deal_id) if e.kind == "edited"]
    assert said[0] == [3_240_000 + 13_500_075, 13_500_075]  # newest first, in the deal's history


def test_a_catalogue_change_leaves_the_lines_as_agreed(desk: Desk) -> None:
    lic = products.add("Лицензия", "12 000")
    deal_lines.add(desk.deal_id, product_id=lic.id, by=desk.admin_id, now=NOW)
    products.edit(lic.id, price="15 000", vat="10")
    (line,) = deal_lines.lines(desk.deal_id)
    assert (line.price, line.vat_rate) == (1_200_000, 22)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"product_id": 999}, "product.not_found"),
        ({"text": "Внедрение"}, "line.price_required"),
        ({"text": "X", "price": "abc"}, "amount.invalid"),
        ({"product": True, "quantity": "-1"}, "quantity.invalid"),
        ({"product": True, "quantity": "0"}, "quantity.invalid"),
        ({"product": True, "discount": "101"}, "discount.invalid"),
        ({"product": True, "vat": "18"}, "vat.invalid"),
    ],
)
def test_line_refusals_write_nothing(desk: Desk, counts: Counts, kwargs: dict, code: str) -> None:
    lic = products.add("Лицензия", "12 000")
    kwargs = dict(kwargs)
    if kwargs.pop("product", False):
        kwargs["product_id"] = lic.id
    before = counts()
    with pytest.raises(CrmError) as refused:
        deal_lines.add(desk.deal_id, by=desk.admin_id, now=NOW, **kwargs)
    assert refused.value.code == code
    assert counts() == before
    assert deals.row(desk.deal_id).amount == 15_000_000


def test_no_line_change_on_a_closed_unknown_or_archived_deal(desk: Desk, counts: Counts) -> None:
    lic = products.add("Лицензия", "12 000")
    line = deal_lines.add(desk.deal_id, product_id=lic.id, by=desk.admin_id, now=NOW)
    deals.lose(desk.deal_id, "дорого", by=desk.admin_id, now=LATER)
    before = counts()
    for change in (
        lambda: deal_lines.add(desk.deal_id, product_id=lic.id, by=desk.admin_id, now=LATER),
        lambda: deal_lines.edit(line.id, quantity="2", by=desk.admin_id, now=LATER),
        lambda: deal_lines.remove(line.id, by=desk.admin_id, now=LATER),
    ):
        with pytest.raises(CrmError) as refused:
            change()
        assert refused.value.code == "deal.closed"
    with pytest.raises(CrmError) as refused:
        deal_lines.add(9999, product_id=lic.id, by=desk.admin_id, now=LATER)
    assert refused.value.code == "deal.not_found"
    assert counts() == before
    archived = products.add("Старый", "1")
    products.archive(archived.id, now=NOW)
    other = deals.add("Ещё", contact_id=desk.contact_id, amount="1", by=desk.admin_id, now=NOW)
    with pytest.raises(CrmError) as refused:
        deal_lines.add(other.id, product_id=archived.id, by=desk.admin_id, now=LATER)
    assert refused.value.code == "product.archived"
