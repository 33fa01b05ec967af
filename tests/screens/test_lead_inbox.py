"""The lead inbox (mode 1), driven by keys: what it shows and what the database then holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from crm_tui.app import CrmApp, make_app
from crm_tui.data.db import database, open_database
from crm_tui.data.models import Lead
from crm_tui.services import leads, pipelines, users
from tests.conftest import NOW, Desk


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def app_for(url: str) -> CrmApp:
    if database.obj is not None:
        database.close()
    return make_app(url, clock=lambda: NOW, poll_seconds=0)


async def settle(app: CrmApp, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def names(app: CrmApp) -> list[str]:
    return [row.name for row in app.screen.table.rows_held]  # type: ignore[attr-defined]


def cell(app: CrmApp, row: int, column: int) -> str:
    return str(app.screen.table.get_row_at(row)[column])  # type: ignore[attr-defined]


def lead(lead_id: int) -> Lead:
    with database.connection_context():
        return Lead.get_by_id(lead_id)


def lead_count() -> int:
    with database.connection_context():
        return int(Lead.select().count())


async def test_inbox_lists_newest_first_with_phone_age_status_and_owner(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert names(app) == ["Пётр Сидоров", "Maria Ivanova", "Иван Смирнов"]
        assert cell(app, 2, 2) == "+7 916 123-45-67"
        assert cell(app, 2, 3) == "now"
        assert cell(app, 2, 4) == "new"
        assert cell(app, 2, 5) == "yandex / crm для отдела продаж"
        assert cell(app, 2, 6) == "anna"
        assert cell(app, 0, 4) == "converted"


async def test_inbox_comes_up_with_the_list_focused_while_its_first_page_loads(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from crm_tui.screens import lead_inbox

    page_may_come = threading.Event()
    real_fetch = lead_inbox.fetch_leads

    def slow_fetch(*args: Any) -> Any:
        page_may_come.wait(10)  # a slow disk or a remote database
        return real_fetch(*args)

    monkeypatch.setattr(lead_inbox, "fetch_leads", slow_fetch)
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        assert app.focused is app.screen.table  # type: ignore[attr-defined]
        page_may_come.set()
        await settle(app, pilot)
        await pilot.press("down", "down", "enter")  # no click or tab needed first
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"
        assert "Иван Смирнов" in str(app.screen.query_one("#lead-header", Static).render())


async def test_empty_desk_says_how_to_start(tmp_path: Path) -> None:
    app = app_for(str(tmp_path / "fresh" / "crm.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = str(app.screen.query_one("#inbox-empty", Static).render())
        assert "Press  n  to add the first lead" in text and "crm demo" in text
        assert app.screen.has_class("-empty")
    assert (tmp_path / "fresh" / "crm.db").exists()


async def test_new_lead_form_refuses_a_bad_phone_inline_then_saves(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        before = lead_count()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Ольга Кузнецова", "enter", *"12", "ctrl+s")
        await pilot.pause()
        error = str(app.screen.query_one("#lead-phone-error", Static).render())
        assert "not a" in error
        assert lead_count() == before  # nothing saved while the form is invalid
        phone = app.screen.query_one("#lead-phone", Input)
        assert phone.has_focus
        phone.value = ""
        await pilot.press(*"+7 999 111 22 33", "ctrl+s")
        await settle(app, pilot)
        assert names(app)[0] == "Ольга Кузнецова"
        assert "●" in cell(app, 0, 0)  # marked new
    assert lead_count() == before + 1
    with database.connection_context():
        saved = Lead.get(Lead.name == "Ольга Кузнецова")
    assert saved.phone == "+79991112233" and saved.status == "new"


async def test_disqualify_asks_the_reason_and_escape_changes_nothing(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down")  # Иван Смирнов, the oldest
        await settle(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert lead(desk.new_lead_id).status == "new"
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # an empty reason is refused in the dialog
        await pilot.pause()
        assert "reason is required" in str(app.screen.query_one(".form-error", Static).render())
        await pilot.press(*"no budget", "enter")
        await settle(app, pilot)
        assert cell(app, 2, 4) == "disqualified"
    closed = lead(desk.new_lead_id)
    assert closed.status == "disqualified" and closed.disqualify_reason == "no budget"


async def test_convert_opens_the_new_contact_card(desk: Desk) -> None:
    from crm_tui.screens.contact_card import ContactCardScreen

    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("down")  # Maria Ivanova, qualified
        await pilot.press("c")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactCardScreen)
        converted = lead(desk.qualified_lead_id)
        assert converted.status == "converted" and app.screen.contact_id == converted.contact_id


async def test_convert_of_a_closed_lead_is_refused(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("c")  # Пётр Сидоров is converted already
        await settle(app, pilot)
        assert any("only a qualified lead" in n.message for n in app._notifications)
        assert len(app._notifications) == 1  # said once: no second toast for a failed worker
        assert type(app.screen).__name__ == "LeadInboxScreen"


async def test_duplicate_is_flagged_and_one_key_away(desk: Desk) -> None:
    with database.connection_context():
        twin = leads.register(leads.NewLead("Ваня", "+7 916 123 45 67"), by=desk.admin_id, now=NOW)
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        assert names(app)[0] == "Ваня" and "⚠" in cell(app, 0, 0)
        await pilot.press("d")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"
        assert app.screen.lead_id == desk.new_lead_id  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.press("home", "x")
        for _ in range(50):  # the dialog opens once the match is looked up (a worker awaits the dialog)
            if type(app.screen).__name__ == "ReasonForm":
                break
            await pilot.pause()
        reason = app.screen.query_one("#f-reason", Input)
        assert reason.value.startswith(f"Duplicate of lead #{desk.new_lead_id}")
        await pilot.press("enter")
        await settle(app, pilot)
    assert lead(twin.id).status == "disqualified"


async def test_leads_from_another_process_appear_marked_new(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        other = open_database(desk.db_url, migrate=False)  # as the CLI would: its own connection
        with other.connection_context():
            leads.register(leads.NewLead("С сайта", "+7 901 000 00 01", utm_source="site"), by=None, now=NOW)
        app.poll_leads()  # what the 2-second timer does
        await settle(app, pilot)
        assert names(app)[0] == "С сайта" and "●" in cell(app, 0, 0)
        assert len(names(app)) == 4


async def test_pages_through_the_database_and_filters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    db = open_database(url)
    with db.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
        for i in range(130):
            new = leads.NewLead(f"Lead {i:03d}", f"+7 916 200-{i // 100:02d}-{i % 100:02d}")
            row = leads.register(new, by=1, now=NOW)
            if i % 10 == 0:
                leads.take(row.id, by=1, now=NOW)
    app = app_for(url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        assert table.row_count == 50  # one page, never the whole table
        for _ in range(6):
            await pilot.press("pagedown")
            await settle(app, pilot)
        assert table.row_count == 130 and table.exhausted
        await pilot.press("end")
        await settle(app, pilot)
        assert table.current().name == "Lead 000"
        await pilot.press("s", "s", "s")  # all -> open -> new -> in work
        await settle(app, pilot)
        assert [r.status for r in table.rows_held] == ["in_work"] * 13
        assert "in work" in str(app.screen.query_one("#inbox-summary", Static).render())


async def test_paging_slides_a_window_of_pages_down_and_back_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    db = open_database(url)
    with db.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
        for i in range(400):
            phone = f"+7 916 300-{i // 100:02d}-{i % 100:02d}"
            leads.register(leads.NewLead(f"Lead {i:03d}", phone), by=1, now=NOW)
    app = app_for(url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        seen: list[int] = []
        for _ in range(14):
            await pilot.press("pagedown")
            await settle(app, pilot)
            seen.append(int(table.current().name.split()[1]))
            assert table.row_count <= 200  # a window of four pages, never the whole table
        before_the_end = [n for n in seen if n > 0]
        assert before_the_end == sorted(set(before_the_end), reverse=True)  # always onward, never back
        assert seen[-1] == 0 and table.first_page_index > 0
        window = (table.first_page_index, table.current().name)
        await settle(app, pilot)
        await settle(app, pilot)
        assert (table.first_page_index, table.current().name) == window  # it does not wander by itself
        for _ in range(14):
            await pilot.press("pageup")
            await settle(app, pilot)
        assert table.current().name == "Lead 399" and table.first_page_index == 0


async def test_an_80_column_terminal_keeps_every_column_in_view(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        widths = [column.get_render_width(table) for column in table.columns.values()]
        assert sum(widths) + 1 <= 80  # and the scrollbar
        assert cell(app, 2, 1) == "Иван Смирнов" and cell(app, 2, 6) == "anna"
        assert cell(app, 2, 5) == "yandex …"  # the source gives up characters, with a mark
        await pilot.resize_terminal(120, 40)
        await settle(app, pilot)
        assert cell(app, 2, 5) == "yandex / crm для отдела продаж"


async def test_what_is_done_in_a_lead_detail_shows_on_its_row_back_in_the_inbox(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "enter")  # Иван Смирнов, new
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"
        await pilot.press("t")  # take it into work there
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadInboxScreen"
        assert (cell(app, 2, 1), cell(app, 2, 4)) == ("Иван Смирнов", "in work")
        assert app.screen.table.current().name == "Иван Смирнов"  # type: ignore[attr-defined]
    assert lead(desk.new_lead_id).status == "in_work"


async def test_disqualifying_a_duplicate_in_russian(desk: Desk) -> None:
    with database.connection_context():
        twin = leads.register(leads.NewLead("Ваня", "+7 916 123 45 67"), by=desk.admin_id, now=NOW)
    if database.obj is not None:
        database.close()
    app = make_app(desk.db_url, clock=lambda: NOW, poll_seconds=0, lang="ru")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("home", "x")
        for _ in range(50):
            if type(app.screen).__name__ == "ReasonForm":
                break
            await pilot.pause()
        question = str(app.screen.query_one(".form-title", Static).render())
        assert question == "Почему лид «Ваня» закрывается?"
        reason = app.screen.query_one("#f-reason", Input)
        assert reason.value.startswith(f"Дубль: лид #{desk.new_lead_id} Иван Смирнов")
        await pilot.press("ctrl+a", "ctrl+k", "enter")  # an empty reason is refused, in Russian
        await pilot.pause()
        assert str(app.screen.query_one(".form-error", Static).render()) == "Нужна причина"
        await pilot.press(*"дубль", "enter")
        await settle(app, pilot)
    assert (lead(twin.id).status, lead(twin.id).disqualify_reason) == ("disqualified", "дубль")


async def test_the_lead_detail_in_russian(desk: Desk) -> None:
    if database.obj is not None:
        database.close()
    app = make_app(desk.db_url, clock=lambda: NOW, poll_seconds=0, lang="ru")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert cell(app, 2, 3) == "сейчас"  # the age column
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        header = str(app.screen.query_one("#lead-header", Static).render())
        assert "Компания ООО Ромашка" in header and "Ответственный Анна Петрова (@anna)" in header
        assert "Поступил 02 мар 2026" in header and "(сейчас)" in header
        assert "Company" not in header and "Registered" not in header
