"""The deal form driven by keys: ``e`` and ``n`` on the kanban, ``d`` and ``o`` in the contact card; what
the board shows and what the database then holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Label, Static
from typer.testing import CliRunner

from crm_tui.app import make_app
from crm_tui.cli import app as cli
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.dialogs.deal_form import DealFormDialog, DealPickDialog
from crm_tui.services import deals
from crm_tui.widgets.timeline import Timeline
from tests.desk_fixtures import NOW
from tests.screens.test_deal_kanban import (
    Board,
    column,
    counts,
    focus_deal,
    header,
    open_board,
    seed_board,
    settle,
    summary,
    titles,
    toasts,
    until_dialog,
)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return seed_board(tmp_path)


def deal(url: str, deal_id: int) -> Deal:
    open_database(url)
    with database.connection_context():
        return Deal.get_by_id(deal_id)


def field_error(app: App[None], field: str) -> str:
    return str(app.screen.query_one(f"#error-{field}", Label).render())


async def until(pilot, ready) -> None:  # type: ignore[no-untyped-def]
    """The form's worker waits on the dialog while it is open: wait for what the user would see."""
    for _ in range(200):
        if ready():
            return
        await pilot.pause(0.02)
    raise AssertionError("never shown")


async def retype(pilot, *text: str) -> None:  # type: ignore[no-untyped-def]
    """Clear the focused field and type ``text`` as a person would."""
    await pilot.press("ctrl+u", *text)


async def test_e_on_a_card_edits_the_amount_and_the_header_sums_it(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("e")
        await until_dialog(app, pilot)
        assert isinstance(app.screen, DealFormDialog)
        assert app.screen.query_one("#f-amount", Input).value == "420 000"
        await pilot.press("tab")
        await retype(pilot, *"1 250 000,50")
        await pilot.press("tab", "tab")
        await retype(pilot, *"2027-01-31")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, DealFormDialog)
        assert "1 · 1 250 000.50 ₽" in header(app, "Proposal preparation")
        assert summary(app).startswith("Saved: Вектор: аудит, 1 250 000.50 ₽")
    saved = deal(board.url, board.audit_deal)
    assert (saved.amount, str(saved.expected_close)) == (125_000_050, "2027-01-31")


async def test_a_bad_amount_is_refused_beside_its_field_and_nothing_is_written(board: Board) -> None:
    before = counts(board.url)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("e")
        await until_dialog(app, pilot)
        await pilot.press("tab")
        await retype(pilot, *"abc")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: field_error(app, "amount"))
        assert isinstance(app.screen, DealFormDialog)
        assert field_error(app, "amount") == "Amount: not an amount: type 150000, 150 000 or 150 000,50"
        assert app.screen.focused is app.screen.query_one("#f-amount", Input)
        await pilot.press("escape")
        await settle(app, pilot)
        assert "1 · 420 000 ₽" in header(app, "Proposal preparation")
    assert deal(board.url, board.audit_deal).amount == 42_000_000
    assert counts(board.url) == before


async def test_the_form_speaks_russian(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("e")
        await until_dialog(app, pilot)
        await pilot.press("tab")
        await retype(pilot, *"-5")
        await pilot.press("tab", "tab", "tab")
        await retype(pilot, *"nobody")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: field_error(app, "amount"))
        assert field_error(app, "amount") == "Сумма: сумма не может быть отрицательной"
        await pilot.press("ctrl+u", *"5", "ctrl+s")
        await until(pilot, lambda: field_error(app, "owner"))
        assert field_error(app, "owner") == "Ответственный (логин): нет пользователя с логином nobody"
        await pilot.press("escape")
        await settle(app, pilot)
    assert deal(board.url, board.audit_deal).amount == 42_000_000


async def test_n_adds_a_deal_at_the_focused_stage(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("n")
        await until_dialog(app, pilot)
        assert "New deal at Proposal preparation" in str(app.screen.query_one(".form-title", Label).render())
        await pilot.press(*"Лицензии на 10 мест", "enter")
        await pilot.press(*"300 000", "enter")
        await pilot.press("enter", "enter", "enter")  # currency (the desk's), no date, the owner is me
        await pilot.press(*str(board.contact_id), "enter")  # the last field: enter saves
        await settle(app, pilot)
        assert titles(app, "Proposal preparation") == ["Лицензии на 10 мест", "Вектор: аудит"]
        assert "2 · 720 000 ₽" in header(app, "Proposal preparation")
        assert column(app, "Proposal preparation").selected().title == "Лицензии на 10 мест"  # type: ignore[union-attr]
    open_database(board.url)
    with database.connection_context():
        made = deals.list_page(limit=1)[0]
    assert (made.title, made.amount, made.contact_id, made.owner_login) == (
        "Лицензии на 10 мест",
        30_000_000,
        board.contact_id,
        "admin",
    )


async def test_amounts_entered_through_the_cli_show_in_the_kanban_header(board: Board) -> None:
    path = board.url.removeprefix("sqlite:///")
    runner = CliRunner()

    def forecast() -> dict[str, int]:
        result = runner.invoke(cli, ["report", "forecast", "--json", "--db", path])
        return {k: v for k, v in json.loads(result.stdout).items() if k in ("deals", "amount")}

    before = forecast()
    for amount in ("150 000", "150\u00a0000,50"):
        result = runner.invoke(
            cli, ["deal", "add", "--title", f"Сделка {amount}", "--amount", amount, "--db", path]
        )
        assert result.exit_code == 0, result.stderr
    assert forecast() == {"deals": before["deals"] + 2, "amount": before["amount"] + 30_000_050}
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        assert "2 · 300 000.50 ₽" in header(app, "Need discovery")


async def test_o_in_the_contact_card_reopens_a_lost_deal_with_a_reason(board: Board) -> None:
    open_database(board.url)
    with database.connection_context():
        deals.lose(board.audit_deal, "дорого", by=board.anna_id, now=NOW)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await app.push_screen(ContactCardScreen(board.contact_id))
        await settle(app, pilot)
        await pilot.press("o")
        await until_dialog(app, pilot)
        assert "Reopen “Вектор: аудит” (Lost)?" in str(app.screen.query_one(".question", Label).render())
        await pilot.press("y")
        await until_dialog(app, pilot)
        await pilot.press("enter")  # no reason: refused beside the field, the form stays
        await until(pilot, lambda: str(app.screen.query_one(".form-error", Label).render()))
        await pilot.press(*"клиент вернулся", "enter")
        await settle(app, pilot)
        assert "Reopened: Вектор: аудит → Proposal preparation" in toasts(app)
        assert "Proposal preparation" in str(app.screen.query_one("#card-deals", Static).render())
    reopened = deal(board.url, board.audit_deal)
    assert (reopened.lost_at, reopened.lost_reason) == (None, None)


async def test_d_in_the_contact_card_picks_a_deal_and_edits_it(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await app.push_screen(ContactCardScreen(board.contact_id))
        await settle(app, pilot)
        await pilot.press("d")
        await until_dialog(app, pilot)
        assert isinstance(app.screen, DealPickDialog)
        await pilot.press("down", "enter")  # the list: Вектор: аудит, АО Вектор
        await until_dialog(app, pilot)
        assert isinstance(app.screen, DealFormDialog)
        assert app.screen.query_one("#f-title", Input).value == "АО Вектор"
        await pilot.press("tab")
        await retype(pilot, *"175 000")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "175 000 ₽" in str(app.screen.query_one("#card-deals", Static).render())
        timeline = app.screen.query_one(Timeline)
        assert "changed amount 150 000 ₽ → 175 000 ₽" in timeline.event_text(0)
    assert deal(board.url, board.vector_deal).amount == 17_500_000
