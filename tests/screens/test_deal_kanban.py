"""The deal kanban (mode 2) driven by keys: what the board shows and what the database then holds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal, Interaction, Stage, StageHistory
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.screens.deal_kanban import DealKanbanScreen
from crm_tui.services import deals, interactions, leads, pipelines, tasks, users
from crm_tui.widgets.deal_card import card_text
from crm_tui.widgets.stage_column import StageColumn
from tests.desk_fixtures import NOW

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Board:
    """A small desk for the kanban and the card, seeded through the services at :data:`NOW`."""

    url: str
    admin_id: int
    anna_id: int
    contact_id: int  # Пётр Сидоров, АО Вектор: deals, tasks and a history
    vector_deal: int  # "АО Вектор" at Lead registered (the first open stage), 150 000 ₽
    audit_deal: int  # "Вектор: аудит" at Proposal preparation, 25 days there (stale: > 7)
    unsigned_deal: int  # "Ромашка: внедрение" at Acts closed & feedback, acts NOT signed
    signed_deal: int  # "Гамма: поддержка" at Acts closed & feedback, acts signed


def seed_board(tmp_path: Path) -> Board:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    db = open_database(url)
    with db.connection_context():
        admin = users.ensure_default(NOW)
        anna = users.create("anna", "Анна Петрова", "manager", now=NOW - 60 * DAY)
        pipelines.ensure_default()
        petr = leads.register(
            leads.NewLead(
                "Пётр Сидоров", "+7 495 200-30-40", email="petr@vector.ru", company_name="АО Вектор"
            ),
            by=anna.id,
            now=NOW - 30 * DAY,
        )
        conv = leads.convert(petr.id, by=anna.id, now=NOW - 29 * DAY, qualify_first=True)
        # a converted lead's deal opens at Need discovery; the board keeps its two at the first stage
        deals.move(conv.deal_id, "Lead registered", by=anna.id, now=NOW - 29 * DAY)
        deals.update_amount(conv.deal_id, 15_000_000, by=anna.id, now=NOW - 29 * DAY)
        audit = deals.create(
            "Вектор: аудит",
            contact_id=conv.contact_id,
            amount=42_000_000,
            by=anna.id,
            now=NOW - 25 * DAY,
            stage="Proposal preparation",
        )
        ivan = leads.register(
            leads.NewLead("Иван Смирнов", "+7 916 123-45-67", company_name="ООО Ромашка"),
            by=admin.id,
            now=NOW - 50 * DAY,
        )
        ivan_conv = leads.convert(ivan.id, by=admin.id, now=NOW - 49 * DAY, qualify_first=True)
        deals.move(ivan_conv.deal_id, "Lead registered", by=admin.id, now=NOW - 49 * DAY)
        unsigned = deals.create(
            "Ромашка: внедрение",
            contact_id=ivan_conv.contact_id,
            amount=99_000_000,
            by=admin.id,
            now=NOW - 3 * DAY,
            stage="Acts closed & feedback",
        )
        gamma = deals.create(
            "Гамма: поддержка",
            contact_id=ivan_conv.contact_id,
            amount=1_200_000,
            currency="USD",
            by=anna.id,
            now=NOW - 2 * DAY,
            stage="Acts closed & feedback",
        )
        deals.sign_acts(gamma.id, by=anna.id, now=NOW - DAY)
        for i in range(3):
            deals.create(
                f"Лид {i + 1}", contact_id=None, amount=(i + 1) * 1_000_000, by=admin.id, now=NOW - i * DAY
            )
        cid = conv.contact_id
        interactions.log(
            "call_out",
            contact_id=cid,
            duration=330,
            outcome="reached",
            summary="Discussed the audit scope",
            by=anna.id,
            now=NOW - 28 * DAY,
        )
        interactions.log("email_out", contact_id=cid, subject="Proposal v1", by=anna.id, now=NOW - 27 * DAY)
        interactions.log(
            "meeting",
            contact_id=cid,
            subject="Meeting at the office",
            summary="Agreed terms",
            by=anna.id,
            now=NOW - 10 * DAY,
        )
        interactions.log(
            "call_in", contact_id=cid, duration=75, outcome="call back later", by=anna.id, now=NOW - 2 * DAY
        )
        tasks.create("Send the revised proposal", NOW + DAY, contact_id=cid, by=anna.id, now=NOW - DAY)
        tasks.create(
            "Call about the invoice",
            NOW - 3 * 3600 * timedelta(seconds=1),
            contact_id=cid,
            by=anna.id,
            now=NOW - 2 * DAY,
        )
    db.close()
    return Board(url, admin.id, anna.id, cid, conv.deal_id, audit.id, unsigned.id, gamma.id)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return seed_board(tmp_path)


async def settle(app: App[None], pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def until_dialog(app: App[None], pilot) -> None:  # type: ignore[no-untyped-def]
    """The move waits on the dialog (its worker is not complete): wait for the dialog to show instead."""
    for _ in range(50):
        if isinstance(app.screen, ModalScreen):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("no dialog")


def add_deals(board: Board, stage: str, titles: Iterable[str]) -> None:
    """Deals of 100 (minor units) at ``stage``, created in order: the last one is on top of the column."""
    db = open_database(board.url)
    with db.connection_context():
        for title in titles:
            deals.create(title, contact_id=None, amount=100, by=board.admin_id, now=NOW, stage=stage)
    db.close()


def column(app: App[None], name: str) -> StageColumn:
    return next(c for c in app.screen.query(StageColumn) if c.stage.name == name)


def header(app: App[None], name: str) -> str:
    return str(column(app, name).query_one(".stage-header", Static).render())


def card(app: App[None], name: str, index: int) -> str:
    """The card at ``index`` of a stage, as its three lines read."""
    return card_text(column(app, name).cards.cards[index])


def titles(app: App[None], name: str) -> list[str]:
    return [d.title for d in column(app, name).deals]


def toasts(app: App[None]) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def toast_titles(app: App[None]) -> str:
    return "\n".join(str(n.title) for n in app._notifications)


def summary(app: App[None]) -> str:
    return str(app.screen.query_one("#board-summary", Static).render())


def footer_labels(app: App[None]) -> list[str]:
    return [key.description for key in app.screen.query(FooterKey)]


def stage_of(url: str, deal_id: int) -> str:
    open_database(url)
    with database.connection_context():
        return str(Stage.get_by_id(Deal.get_by_id(deal_id).stage_id).name)


def counts(url: str) -> tuple[int, int]:
    open_database(url)
    with database.connection_context():
        return StageHistory.select().count(), Interaction.select().count()


async def open_board(app: App[None], pilot) -> None:  # type: ignore[no-untyped-def]
    await app.push_screen(DealKanbanScreen())
    await settle(app, pilot)


async def focus_deal(app: App[None], pilot, stage: str, title: str) -> None:  # type: ignore[no-untyped-def]
    """Walk there with the keys a person would press: columns with l/h, cards with j."""
    screen = app.screen
    assert isinstance(screen, DealKanbanScreen)
    names = [c.stage.name for c in screen.columns()]
    current = screen.current_column()
    assert current is not None
    steps = names.index(stage) - names.index(current.stage.name)
    await pilot.press(*(["l"] * steps if steps > 0 else ["h"] * -steps))
    for _ in range(len(column(app, stage).deals)):
        chosen = screen.current_column()
        if chosen is not None and chosen.selected() and chosen.selected().title == title:  # type: ignore[union-attr]
            return
        await pilot.press("j")
    raise AssertionError(f"{title} not reachable in {stage}")


async def test_board_shows_stages_counts_totals_and_cards(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        names = [c.stage.name for c in app.screen.query(StageColumn)]
        assert names == [s[0] for s in pipelines.DEFAULT_STAGES]
        assert header(app, "Lead registered").splitlines() == ["Lead registered", "5 · 210 000 ₽"]
        assert "1 · 420 000 ₽" in header(app, "Proposal preparation")
        assert "2 · 990 000 ₽ + 12 000 $" in header(app, "Acts closed & feedback")
        assert titles(app, "Acts closed & feedback") == ["Гамма: поддержка", "Ромашка: внедрение"]
        text = card(app, "Proposal preparation", 0)
        assert "Вектор: аудит" in text and "АО Вектор" in text and "@anna" in text
        assert "⚠ 25 d" in text  # 25 days in a stage that allows 7: stale
        fresh = card(app, "Acts closed & feedback", 0)
        assert "2 d" in fresh and "⚠" not in fresh


async def test_brackets_move_a_deal_through_the_rules(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert titles(app, "Proposal negotiation") == ["Вектор: аудит"]
        assert "Вектор: аудит" not in titles(app, "Proposal preparation")
        assert "1 · 420 000 ₽" in header(app, "Proposal negotiation")
        assert "0 · 0 ₽" in header(app, "Proposal preparation")
        assert summary(app).startswith("Вектор: аудит → Proposal negotiation · ")
        await pilot.press("shift+right")  # the cursor followed the card: it moves on again
        await settle(app, pilot)
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert titles(app, "Proposal negotiation") == ["Вектор: аудит"]
    assert stage_of(board.url, board.audit_deal) == "Proposal negotiation"


async def test_won_without_signed_acts_is_refused_with_the_reason(board: Board) -> None:
    before = counts(board.url)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Acts closed & feedback", "Ромашка: внедрение")
        await pilot.press("right_square_bracket")
        await until_dialog(app, pilot)
        assert "Acts not signed" in str(app.screen.query_one("Label").render()) or any(
            "Acts not signed" in str(w.render()) for w in app.screen.query("Label")
        )
        question = app.screen.query_one(".question")
        assert question.region.height > 1  # the long question wraps inside the dialog, nothing is cut
        assert question.region.right <= app.screen.query_one("QuestionDialog > Vertical").region.right
        await pilot.press("n")  # not signed yet
        await settle(app, pilot)
        assert "Acts not signed" in toasts(app)
        assert "Ромашка: внедрение" in titles(app, "Acts closed & feedback")
        assert titles(app, "Won") == []
    assert stage_of(board.url, board.unsigned_deal) == "Acts closed & feedback"
    assert counts(board.url) == before


async def test_won_after_signing_the_acts_from_the_question(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Acts closed & feedback", "Ромашка: внедрение")
        await pilot.press("right_square_bracket")
        await until_dialog(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert titles(app, "Won") == ["Ромашка: внедрение"]
        assert "1 · 990 000 ₽" in header(app, "Won")
    assert stage_of(board.url, board.unsigned_deal) == "Won"


async def test_signed_deal_wins_with_one_key(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Acts closed & feedback", "Гамма: поддержка")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert titles(app, "Won") == ["Гамма: поддержка"]
    assert stage_of(board.url, board.signed_deal) == "Won"


async def test_lost_asks_a_reason_and_escape_changes_nothing(board: Board) -> None:
    before = counts(board.url)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("x")
        await until_dialog(app, pilot)
        await pilot.press("enter")  # an empty reason is refused inline
        await pilot.pause()
        assert "A reason is required" in str(app.screen.query_one(".form-error", Static).render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert titles(app, "Proposal preparation") == ["Вектор: аудит"]
    assert stage_of(board.url, board.audit_deal) == "Proposal preparation"
    assert counts(board.url) == before


async def test_lost_with_a_reason(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("x")
        await until_dialog(app, pilot)
        await pilot.press(*"Выбрали конкурента", "enter")
        await settle(app, pilot)
        assert titles(app, "Lost") == ["Вектор: аудит"]
    open_database(board.url)
    with database.connection_context():
        assert Deal.get_by_id(board.audit_deal).lost_reason == "Выбрали конкурента"


async def test_first_stage_cannot_go_back(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Lead registered", "Лид 1")
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert toasts(app).count("is the first stage") == 1  # said once, by the board


async def test_enter_opens_the_deals_contact_card(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert app.screen.contact_id == board.contact_id


async def test_a_long_column_loads_more_as_the_cursor_goes_down(tmp_path: Path) -> None:
    board = seed_board(tmp_path)
    add_deals(board, "Need discovery", [f"Bulk {i:03d}" for i in range(120)])
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_board(app, pilot)
        need = column(app, "Need discovery")
        assert len(need.deals) == 15 and need.count == 120
        await focus_deal(app, pilot, "Need discovery", "Bulk 119")
        await pilot.press(*["down"] * 40)
        await settle(app, pilot)
        assert len(need.deals) >= 45
        await pilot.press("end")
        await settle(app, pilot)
        await pilot.press("end")
        await settle(app, pilot)
        assert len(need.deals) == 120
        assert len({d.id for d in need.deals}) == 120


async def test_coming_back_to_the_board_refills_the_same_columns(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Acts closed & feedback", "Ромашка: внедрение")
        before = list(app.screen.query(StageColumn))
        drawn = column(app, "Lead registered").cards.cards[0]
        db = open_database(board.url)
        with db.connection_context():  # another desk adds a deal meanwhile
            deals.create(
                "Новая сделка",
                contact_id=None,
                amount=500_000,
                by=board.admin_id,
                now=NOW,
                stage="Need discovery",
            )
        await pilot.press("enter")  # the contact card, then back
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        app.pop_screen()
        await settle(app, pilot)
        assert list(app.screen.query(StageColumn)) == before  # refilled in place, not mounted again
        assert titles(app, "Need discovery") == ["Новая сделка"]
        assert "1 · 5 000 ₽" in header(app, "Need discovery")
        assert column(app, "Lead registered").cards.cards[0] is drawn  # unchanged: not made again
        screen = app.screen
        assert isinstance(screen, DealKanbanScreen)
        current = screen.current_column()
        assert current is not None and current.stage.name == "Acts closed & feedback"
        assert current.selected() is not None and current.selected().title == "Ромашка: внедрение"  # type: ignore[union-attr]


async def test_the_board_in_russian(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        assert header(app, "Lead registered").splitlines() == ["Первичное обращение", "5 · 210 000 ₽"]
        assert header(app, "Won").splitlines()[0] == "Успешно"
        audit = card(app, "Proposal preparation", 0)
        assert "⚠ 25 дн" in audit
        assert summary(app).startswith("Открытых сделок: 8 · ")
        labels = footer_labels(app)
        assert "Вперёд ▶" in labels and "◀ Назад" in labels and "Провал…" in labels
        assert not {"Move ▶", "◀ Move", "Lost…", "Reload"} & set(labels)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert summary(app).startswith("Вектор: аудит → Согласование предложения · ")


async def test_a_refused_move_says_why_in_russian(board: Board) -> None:
    before = counts(board.url)
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Lead registered", "Лид 1")
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert "«Первичное обращение» — первый этап" in toasts(app)
        assert "Нельзя" in toast_titles(app)
        assert "is the first stage" not in toasts(app)
        await focus_deal(app, pilot, "Acts closed & feedback", "Ромашка: внедрение")
        await pilot.press("right_square_bracket")
        await until_dialog(app, pilot)
        question = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "Акты не подписаны" in question and "«Ромашка: внедрение»" in question
        await pilot.press("n")  # not signed yet
        await settle(app, pilot)
        assert "Акты не подписаны: сделка успешна" in toasts(app)
        assert "Ромашка: внедрение" in titles(app, "Acts closed & feedback")
    assert stage_of(board.url, board.unsigned_deal) == "Acts closed & feedback"
    assert counts(board.url) == before


async def test_lost_asks_its_reason_in_russian(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Proposal preparation", "Вектор: аудит")
        await pilot.press("x")
        await until_dialog(app, pilot)
        title = str(app.screen.query_one(".form-title", Static).render())
        assert title == "Почему сделка «Вектор: аудит» провалена?"
        await pilot.press("escape")
        await settle(app, pilot)
        await focus_deal(app, pilot, "Lead registered", "Лид 1")
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
    assert stage_of(board.url, board.audit_deal) == "Proposal preparation"


async def test_a_list_shows_its_scroll_bar_only_while_the_stage_has_more_than_fit(tmp_path: Path) -> None:
    """Four cards of three lines fill a 12-line list: no bar. A fifth brings the bar; taking it away
    removes it. The bar is the list's last column, so the cards keep their width either way."""
    board = seed_board(tmp_path)
    add_deals(board, "Need discovery", [f"Fit {i}" for i in range(4)])
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 19), notifications=True) as pilot:
        await open_board(app, pilot)
        need = column(app, "Need discovery").cards
        assert need.size.height == 12 and need.in_view == 4
        assert not need.has_scroll_bar
        width = need.size.width
        await focus_deal(app, pilot, "Lead registered", "Лид 1")
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert titles(app, "Need discovery")[0] == "Лид 1"
        assert need.has_scroll_bar and need.size.width == width
        thumb = need.get_component_rich_style("deal-list--thumb", partial=True).bgcolor
        bar = [list(need.render_line(y))[-1].style for y in range(12)]
        assert thumb is not None and sum(1 for style in bar if style and style.bgcolor == thumb) == 10
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert not need.has_scroll_bar


async def test_wide_characters_never_push_a_card_over_the_scroll_bar(tmp_path: Path) -> None:
    board = seed_board(tmp_path)
    five = ("Один", "Два", "Три", "Четыре", "客户关系管理系统实施项目🚀🚀🚀")  # five: a scroll bar
    add_deals(board, "Need discovery", five)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 19), notifications=True) as pilot:
        await open_board(app, pilot)
        cards = column(app, "Need discovery").cards
        assert cards.has_scroll_bar
        line = cards.render_line(0)
        assert line.cell_length == cards.size.width and "客户" in line.text
        bar = {
            cards.get_component_rich_style(f"deal-list--{part}", partial=True).bgcolor
            for part in ("thumb", "track")
        }
        assert list(line)[-1].style.bgcolor in bar  # the last column is still the scroll bar


async def test_mouse_picks_scrolls_and_opens_cards(tmp_path: Path) -> None:
    """A click highlights a card (and makes its stage the one the keys act on), the wheel scrolls a long
    stage by whole cards, and a double click opens the deal's contact card."""
    board = seed_board(tmp_path)
    add_deals(board, "Need discovery", [f"Wheel {i}" for i in range(10)])
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(200, 19), notifications=True) as pilot:
        await open_board(app, pilot)
        screen = app.screen
        assert isinstance(screen, DealKanbanScreen)
        need = column(app, "Need discovery")
        assert need.cards.in_view == 4 and need.cards.top == 0
        await pilot.click(need.cards, offset=(3, 4))  # below the list's top border: the second card
        await settle(app, pilot)
        assert screen.current_column() is need
        assert need.selected() == need.deals[1]
        for _ in range(2):
            need.cards.post_message(events.MouseScrollDown(need.cards, 3, 3, 0, 1, 0, False, False, False))
        await settle(app, pilot)
        assert need.cards.top == 2
        assert card_text(need.cards.cards[2]).splitlines()[0] in need.cards.render_line(0).text
        assert need.selected() == need.deals[2]  # the cursor stays on a card in view
        bar_x = need.cards.region.width - 2  # the list's last content column (inside its border)
        await pilot.click(need.cards, offset=(bar_x, 7))
        await settle(app, pilot)
        assert need.selected() == need.deals[2]  # a click on the scroll bar picks no card
        acts = column(app, "Acts closed & feedback")
        await pilot.double_click(acts.cards, offset=(3, 1))
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        assert board.contact_id != 0


async def test_the_wheel_loads_more_and_a_smaller_terminal_keeps_the_cursor_in_view(tmp_path: Path) -> None:
    board = seed_board(tmp_path)
    add_deals(board, "Need discovery", [f"Wheel {i:02d}" for i in range(60)])
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_board(app, pilot)
        need = column(app, "Need discovery")
        assert len(need.deals) == 15
        for _ in range(8):  # the last cards in view come within reach of the end of what is loaded
            need.cards.post_message(events.MouseScrollDown(need.cards, 3, 3, 0, 1, 0, False, False, False))
        await settle(app, pilot)
        assert len(need.deals) == 45
        await focus_deal(app, pilot, "Need discovery", "Wheel 59")
        await pilot.press(*["down"] * 9)
        cards = need.cards
        assert cards.highlighted == 9 and cards.top <= 9 < cards.top + cards.in_view
        await pilot.resize_terminal(120, 20)
        await settle(app, pilot)
        assert cards.in_view < 9 and cards.top <= 9 < cards.top + cards.in_view


def deal_columns(connection: sqlite3.Connection) -> list[str]:
    return [row[1] for row in connection.execute("PRAGMA table_info(deal)")]


async def test_a_page_asked_for_before_a_reload_is_dropped_not_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``r`` while the next page of a stage is on its way: the page would continue the old cards, and
    appended to the fresh ones it would skip the deals between. It is dropped."""
    import threading

    board = seed_board(tmp_path)
    add_deals(board, "Need discovery", [f"Page {i:02d}" for i in range(60)])
    release = threading.Event()
    real = deals.list_page

    def slow_next_pages(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("after_id") is not None:
            release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(deals, "list_page", slow_next_pages)
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_board(app, pilot)
        await focus_deal(app, pilot, "Need discovery", "Page 59")
        need = column(app, "Need discovery")
        await pilot.press("end")  # near the end of the 15 loaded: the next page is asked for, and held
        await pilot.pause(0.1)
        assert need.loading_more
        other = sqlite3.connect(board.url.removeprefix("sqlite:///"))  # another desk adds a deal meanwhile
        with other:
            columns = ", ".join(c for c in deal_columns(other) if c != "id")
            chosen = columns.replace("title", "'Page 60'", 1)
            other.execute(f"INSERT INTO deal ({columns}) SELECT {chosen} FROM deal WHERE title = 'Page 59'")
        other.close()
        await pilot.press("r")  # the column is refilled with it on top
        await pilot.pause(0.1)
        release.set()
        await settle(app, pilot)
        numbers = [int(d.title[-2:]) for d in need.deals]
        assert numbers[:15] == list(range(60, 45, -1))
        assert all(a - b == 1 for a, b in zip(numbers, numbers[1:], strict=False))  # no deal skipped
