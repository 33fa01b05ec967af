"""The catalogue screen (from the command palette) and a deal's lines with the catalogue picker, driven by
the keys a person presses; what the screen shows and what the database then holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal, Product
from crm_tui.screens.catalogue import CatalogueScreen
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.deal_lines import DealLinesScreen
from crm_tui.screens.dialogs.product_form import ProductFormDialog, ProductPickDialog
from crm_tui.services import deal_lines, products
from tests.desk_fixtures import NOW
from tests.screens.test_deal_form import until
from tests.screens.test_deal_kanban import Board, seed_board, settle, toasts


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    made = seed_board(tmp_path)
    open_database(made.url)
    with database.connection_context():
        products.add("Лицензия CRM (год)", "12 000", unit="шт", sku="LIC-1", category="Лицензии")
        products.add("Обучение менеджеров", "45 000", unit="день", vat="none")
        products.add("Настройка воронки продаж", "90 000", unit="проект")
    return made


def names(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_catalogue_from_the_palette_searches_as_you_type_and_adds(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Catalogue")
        await pilot.pause(0.3)  # the palette's search runs in a worker as you type
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await settle(app, pilot)
        assert names(app) == ["Лицензия CRM (год)", "Настройка воронки продаж", "Обучение менеджеров"]
        await pilot.press(*"обуч")
        await until(pilot, lambda: names(app) == ["Обучение менеджеров"])
        await pilot.press("ctrl+a", "ctrl+k")  # clear the search
        await pilot.press(*"lic-1")
        await until(pilot, lambda: names(app) == ["Лицензия CRM (год)"])
        await pilot.press("enter", "n")
        await until(pilot, lambda: isinstance(app.screen, ProductFormDialog))
        await pilot.press(*"Аудит отдела продаж", "enter", *"180 000,50", "enter", "ctrl+a", "ctrl+k")
        await pilot.press(*"проект", "enter", *"10", "enter", *"Услуги", "enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await settle(app, pilot)
        assert "Saved: Аудит отдела продаж" in toasts(app)
    open_database(board.url)
    with database.connection_context():
        made = Product.get(Product.name == "Аудит отдела продаж")
        assert (made.price, made.unit, made.vat_rate, made.category) == (18_000_050, "проект", 10, "Услуги")


async def test_catalogue_refuses_a_bad_price_beside_the_field_and_archives(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await app.push_screen(CatalogueScreen())
        await settle(app, pilot)
        header = [str(c.label) for c in app.screen.query_one(DataTable).columns.values()]
        assert header == ["Артикул", "Товар / услуга", "Категория", "Ед.", "Цена", "НДС"]
        assert "без НДС" in str(app.screen.query_one(DataTable).get_row_at(2)[5])
        await pilot.press("enter", "n")
        await until(pilot, lambda: isinstance(app.screen, ProductFormDialog))
        await pilot.press(*"Книга", "enter", *"дорого", "ctrl+s")
        await until(pilot, lambda: "дорого" in str(app.screen.query_one(".form-error").render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        app.screen.query_one(DataTable).focus()
        await pilot.press("a")
        await settle(app, pilot)
        assert "В архиве: Лицензия CRM (год)" in toasts(app)
        assert names(app) == ["Настройка воронки продаж", "Обучение менеджеров"]
    open_database(board.url)
    with database.connection_context():
        assert Product.select().count() == 3


async def test_deal_lines_from_the_card_with_the_picker_and_the_amount_following(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await app.push_screen(ContactCardScreen(board.contact_id))
        await settle(app, pilot)
        await pilot.press("i")
        await until(pilot, lambda: app.screen.__class__.__name__ == "DealPickDialog")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DealLinesScreen))
        # the card's worker waits on this screen until it closes: wait for what the user sees instead
        await until(pilot, lambda: str(app.screen.query_one("#lines-total", Static).render()))
        deal_id = app.screen.deal_id
        assert "No lines yet" in str(app.screen.query_one("#lines-total", Static).render())
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProductPickDialog))
        await pilot.press(*"лиценз")
        await until(pilot, lambda: app.screen.query_one("#picker-list").option_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DealLinesScreen) and app.screen.rows)
        await pilot.press("plus", "plus")
        await until(pilot, lambda: app.screen.rows and app.screen.rows[0].quantity == "3")
        assert "Total 36 000 ₽, VAT included 6 491.80 ₽" in str(app.screen.query_one("#lines-total").render())
        await pilot.press("percent_sign")
        await until(pilot, lambda: app.screen.__class__.__name__ == "DiscountForm")
        await pilot.press("ctrl+a", "ctrl+k", *"10", "enter")
        await until(
            pilot, lambda: isinstance(app.screen, DealLinesScreen) and app.screen.rows[0].discount == "10"
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ContactCardScreen))
        await settle(app, pilot)
        assert "32 400 ₽" in str(app.screen.query_one("#card-deals", Static).render())
    open_database(board.url)
    with database.connection_context():
        assert Deal.get_by_id(deal_id).amount == 3_240_000
        assert [r.text for r in deal_lines.lines(deal_id)] == ["Лицензия CRM (год)"]
