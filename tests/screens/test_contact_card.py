"""The contact card driven by keys: header, deals, tasks and history on screen; what l/a/t/e save."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.app import App
from textual.events import MouseScrollDown
from textual.widgets import Input, Static

from crm_tui.app import make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Contact, ContactChannel, Interaction, Task
from crm_tui.screens.contact_card import ContactCardScreen
from crm_tui.services import interactions
from crm_tui.widgets.timeline import Timeline
from tests.desk_fixtures import NOW
from tests.screens.test_deal_kanban import Board, seed_board, settle


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return seed_board(tmp_path)


def text(app: App[None], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def events(app: App[None]) -> list[str]:
    timeline = app.screen.query_one(Timeline)
    return [timeline.event_text(i) for i in range(len(timeline.rows))]


def form_error(app: App[None]) -> str:
    return str(app.screen.query_one(".form-error", Static).render())


async def open_card(app: App[None], pilot, contact_id: int) -> None:  # type: ignore[no-untyped-def]
    await app.push_screen(ContactCardScreen(contact_id))
    await settle(app, pilot)


def rows(model, **where):  # type: ignore[no-untyped-def]
    with database.connection_context():
        query = model.select()
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(query)


async def test_card_shows_header_deals_tasks_and_history(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        header = text(app, "#card-header")
        assert "Пётр Сидоров" in header and "АО Вектор" in header
        assert "+7 495 200-30-40" in header and "petr@vector.ru" in header
        assert "Анна Петрова (@anna)" in header
        deals = text(app, "#card-deals")
        assert "Вектор: аудит" in deals and "Proposal preparation" in deals and "420 000 ₽" in deals
        assert "АО Вектор" in deals and "Lead registered" in deals
        tasks = text(app, "#card-tasks")
        assert tasks.index("Call about the invoice") < tasks.index("Send the revised proposal")
        shown = events(app)
        assert "☎ in" in shown[0] and "1:15" in shown[0] and "call back later" in shown[0]
        assert "Анна Петрова" in shown[0]
        assert any("◉ meeting" in e and "Agreed terms" in e for e in shown)
        assert any("☎ out" in e and "5:30" in e and "reached" in e for e in shown)
        assert any("→ stage" in e or "★ lead" in e for e in shown)
        assert app.screen.query_one("#call-pane").display is False


async def test_log_a_call_validates_inline_then_saves(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        before = len(rows(Interaction, contact=board.contact_id))
        await pilot.press("l")
        await settle(app, pilot)
        await pilot.press(*"abc", "enter", "enter", "enter")  # a bad duration, then save from the last field
        await settle(app, pilot)
        assert "Not a duration" in form_error(app)
        assert "duration" in text(app, "#error-duration")
        shown = app.screen.query_one("#error-duration")
        assert shown.display and shown.region.height == 1  # on screen, under its field
        assert not app.screen.query_one("#error-outcome").display  # a field with no problem says nothing
        assert len(rows(Interaction, contact=board.contact_id)) == before
        await pilot.press(*["backspace"] * 3, *"4:05", "enter", *"reached", "enter")
        await pilot.press(*"Договорились о встрече", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        top = events(app)[0]
        assert "☎ out" in top and "4:05" in top and "reached" in top and "Договорились о встрече" in top
    saved = rows(Interaction, contact=board.contact_id, kind="call_out")
    newest = max(saved, key=lambda r: r.id)
    assert (newest.duration, newest.outcome, newest.summary) == (245, "reached", "Договорились о встрече")
    assert newest.deal.title == "Вектор: аудит"  # the call is in the open deal's history too


async def test_note_needs_text_and_appears_at_once(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "A note needs some text" in form_error(app)
        await pilot.press(*"Просил счёт на двоих", "enter")
        await settle(app, pilot)
        assert "✎ note" in events(app)[0] and "Просил счёт на двоих" in events(app)[0]
    assert rows(Interaction, contact=board.contact_id, kind="note", summary="Просил счёт на двоих")


async def test_task_from_the_card(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press(*"Отправить договор", "enter", "ctrl+a", "ctrl+k", *"someday", "enter")
        await settle(app, pilot)
        assert "Not a due time" in form_error(app)
        assert not rows(Task, title="Отправить договор")
        await pilot.press("ctrl+a", "ctrl+k", *"+2h", "enter")
        await settle(app, pilot)
        assert "Отправить договор" in text(app, "#card-tasks")
    saved = rows(Task, title="Отправить договор")
    assert len(saved) == 1 and saved[0].contact_id == board.contact_id
    assert saved[0].due_at == NOW + timedelta(hours=2)


async def test_edit_the_header(board: Board) -> None:
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press("enter", "enter")  # keep the name and the company
        await pilot.press("end", *", not-a-phone", "enter", "enter", *"1980-02-30", "enter", *"vip", "enter")
        await pilot.press("enter")  # keep the owner: the last field saves
        await settle(app, pilot)
        assert "phone" in text(app, "#error-phone")
        assert not any("phone" in n.message for n in app._notifications)  # said beside the field only
        with database.connection_context():
            assert Contact.get_by_id(board.contact_id).tags == ""
        app.screen.query_one("#f-phone", Input).value = "+7 495 200-30-40, 8 916 765-43-21"
        app.screen.query_one("#f-birthday", Input).value = "1980-02-28"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        header = text(app, "#card-header")
        assert "+7 916 765-43-21" in header and "28 Feb 1980" in header and "vip" in header
    with database.connection_context():
        contact = Contact.get_by_id(board.contact_id)
        assert contact.tags == "vip" and str(contact.birthday) == "1980-02-28"
        phones = [
            c.value
            for c in ContactChannel.select().where(ContactChannel.contact == board.contact_id)
            if c.kind == "phone"
        ]
        assert phones == ["+74952003040", "+79167654321"]


async def test_long_history_loads_as_you_scroll(board: Board) -> None:
    db = open_database(board.url)
    with db.connection_context():
        for i in range(130):
            interactions.log(
                "note",
                contact_id=board.contact_id,
                summary=f"old note {i:03d}",
                by=board.anna_id,
                now=NOW - timedelta(days=100, minutes=i),
            )
    db.close()
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        timeline = app.screen.query_one(Timeline)
        assert len(timeline.rows) == 50
        await pilot.press("end")
        await settle(app, pilot)
        await pilot.press("end")
        await settle(app, pilot)
        await pilot.press("end")
        await settle(app, pilot)
        total = len(rows(Interaction, contact=board.contact_id))
        assert len(timeline.rows) == total and timeline.exhausted
        assert "old note 129" in timeline.event_text(total - 1)
        ats = [(r.at, r.id) for r in timeline.rows]
        assert ats == sorted(ats, reverse=True)


async def test_history_by_mouse_and_page_keys(board: Board) -> None:
    db = open_database(board.url)
    with db.connection_context():
        for i in range(130):
            interactions.log(
                "note",
                contact_id=board.contact_id,
                summary=f"old note {i:03d}",
                by=board.anna_id,
                now=NOW - timedelta(days=100, minutes=i),
            )
        long_note = " ".join(["Обсудили условия поставки и сроки оплаты."] * 6)
        interactions.log(
            "note",
            contact_id=board.contact_id,
            summary=long_note,
            by=board.anna_id,
            now=NOW - timedelta(minutes=1),
        )
    db.close()
    app = make_app(board.url, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_card(app, pilot, board.contact_id)
        timeline = app.screen.query_one(Timeline)
        assert timeline.has_focus and timeline.cursor == 0
        assert long_note in events(app)[0] and timeline.row_lines(0)[1] >= 4  # wrapped, none of it cut
        drawn = [timeline.render_line(y).text for y in range(timeline.row_lines(0)[1])]
        assert sum("Обсудили условия" in line for line in drawn) >= 3
        assert all(len(line) == timeline.scrollable_content_region.width for line in drawn)
        top = timeline.content_region.y - timeline.region.y  # the border above the first line
        start, _ = timeline.row_lines(3)
        await pilot.click("#timeline", offset=(10, top + start))
        await settle(app, pilot)
        assert timeline.cursor == 3
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert timeline.cursor is not None and timeline.cursor > 3
        start, count = timeline.row_lines(timeline.cursor)  # the cursor's event is on screen
        assert timeline.scroll_y <= start
        assert start + count <= timeline.scroll_y + timeline.scrollable_content_region.height
        await pilot.press("home")
        await settle(app, pilot)
        assert timeline.cursor == 0 and timeline.scroll_y == 0
        for _ in range(40):  # the mouse wheel down to the end of the first page loads the next one
            await pilot._post_mouse_events([MouseScrollDown], "#timeline", offset=(10, top + 2))
        await settle(app, pilot)
        assert len(timeline.rows) == 100 and timeline.scroll_y > 0
        assert "100+" in text(app, "#history-title")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press(*"Перезвонить в пятницу", "enter")
        await settle(app, pilot)
        assert "Перезвонить в пятницу" in events(app)[0]
        assert timeline.cursor == 0 and timeline.scroll_y == 0
