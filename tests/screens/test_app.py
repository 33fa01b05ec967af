"""The shell: mode keys, help, search, the palette, the contact list and the Russian UI."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from crm_tui.app import CrmApp, make_app
from crm_tui.data.db import database
from tests.conftest import NOW, Desk


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def app_for(url: str, lang: str | None = None) -> CrmApp:
    database.close()
    return make_app(url, clock=lambda: NOW, poll_seconds=0, lang=lang)


async def settle(app: CrmApp, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_contacts(app: CrmApp, pilot: Any) -> list[str]:
    """Press ``3``; the names the contact list shows."""
    await pilot.press("3")
    await settle(app, pilot)
    return [row.name for row in app.screen.table.rows_held]  # type: ignore[attr-defined]


async def test_mode_keys_switch_areas_and_keep_each_stack(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        seen = []
        for key in "23451":
            await pilot.press(key)
            await settle(app, pilot)
            seen.append(type(app.screen).__name__)
        assert seen[0] == "DealKanbanScreen" and seen[1] == "ContactListScreen"
        assert seen[2] == "TaskQueueScreen" and seen[4] == "LeadInboxScreen"
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"
        await pilot.press("2", "1")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"  # still there after a trip to the kanban


async def test_help_lists_the_keys_of_the_current_screen(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        described = {d for _k, d, _t in app.screen.rows}  # type: ignore[attr-defined]
        assert {"New lead", "Disqualify", "Leads", "Search", "Quit"} <= described
        await pilot.press("1")  # a dialog keeps the keys
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "LeadInboxScreen"


async def test_search_finds_as_you_type_and_opens_the_record(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"вектор")
        await settle(app, pilot)
        kinds = [h.kind for h in app.screen.hits]  # type: ignore[attr-defined]
        assert "contact" in kinds and "company" in kinds
        await pilot.press("slash")
        await pilot.press("escape", "slash", *"916 123")
        await settle(app, pilot)
        assert [(h.kind, h.id) for h in app.screen.hits] == [("lead", desk.new_lead_id)]  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"


async def test_palette_searches_records_and_opens_the_lead(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"Сидоров")
        await settle(app, pilot)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LeadDetailScreen"  # the newest record first: the lead
        assert app.screen.lead_id == desk.converted_lead_id  # type: ignore[attr-defined]


async def test_contact_list_opens_the_card(desk: Desk) -> None:
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert await open_contacts(app, pilot) == ["Пётр Сидоров"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ContactCardScreen"


async def test_russian_ui(desk: Desk) -> None:
    app = app_for(desk.db_url, lang="ru")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.t("mode.leads") == "Лиды"
        descriptions = {b.binding.description for b in app.active_bindings.values()}
        assert {"Новый лид", "Лиды", "Поиск"} <= descriptions


async def test_the_contact_list_shows_a_contact_converted_meanwhile(desk: Desk) -> None:
    from crm_tui.services import leads

    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        await pilot.press("1")
        await settle(app, pilot)
        with database.connection_context():  # another process converts Maria meanwhile
            leads.convert(desk.qualified_lead_id, by=1, now=NOW)
        await pilot.press("3")
        await settle(app, pilot)
        assert [r.name for r in table.rows_held] == ["Maria Ivanova", "Пётр Сидоров"]
        await pilot.press("1", "3")  # nothing changed: the same rows, the cursor where it was
        await settle(app, pilot)
        assert [r.name for r in table.rows_held] == ["Maria Ivanova", "Пётр Сидоров"]


async def test_the_palette_in_russian_lists_commands_and_records_in_russian(desk: Desk) -> None:
    from textual.command import CommandList

    app = app_for(desk.db_url, lang="ru")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"канбан")
        await settle(app, pilot)
        await pilot.pause(0.3)
        shown = [str(option.prompt) for option in app.screen.query_one(CommandList).options]
        assert any("Сделки: канбан сделок" in line for line in shown)
        await pilot.press(*["backspace"] * 6, *"Сидоров")
        await settle(app, pilot)
        await pilot.pause(0.3)
        shown = [str(option.prompt) for option in app.screen.query_one(CommandList).options]
        assert any(line.startswith("Лид: Пётр Сидоров") for line in shown)


async def test_the_app_leaves_the_garbage_collector_as_it_found_it(desk: Desk) -> None:
    import gc

    before = gc.get_threshold()
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause(1.2)
        assert gc.get_freeze_count() > 0  # what start-up built is out of the collector's way meanwhile
        assert not gc.isenabled()  # the app collects when idle instead
    assert (gc.get_freeze_count(), gc.get_threshold(), gc.isenabled()) == (0, before, True)


async def test_garbage_is_collected_while_the_app_is_left_alone(desk: Desk) -> None:
    """Cycles of objects left behind (as a closed screen's widgets are) are collected once no key has
    come for a moment, not in the middle of the keys."""
    import gc
    import weakref

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None
            self.payload = [[i] for i in range(2_000)]  # enough objects to be worth a collection

    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause(1.2)
        assert not gc.isenabled()
        await pilot.press("down")
        first, second = Node(), Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        await pilot.pause(0.2)
        assert gone() is not None  # a key came a moment ago: nothing collected in the way of the next
        await pilot.pause(1.5)
        assert gone() is None


async def test_a_modes_first_opening_reads_once_and_draws_whole(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ``3`` reads the contact list's first page once, before the screen is made, and the
    screen comes up with its rows and the keys of the focused list; the first ``2`` reads the board once
    (Textual resumes a new mode's screen twice, and neither resume reads it again)."""
    from crm_tui.screens import deal_kanban
    from crm_tui.services import contacts, deals

    calls: list[str] = []

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(contacts, "list_page", spy("contacts", contacts.list_page))
    monkeypatch.setattr(deals, "stage_columns", spy("board", deals.stage_columns))
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert await open_contacts(app, pilot) == ["Пётр Сидоров"]
        assert "Open" in [key.description for key in app.screen.query("FooterKey")]  # type: ignore[attr-defined]
        assert calls == ["contacts"]
        await pilot.press("2")
        await settle(app, pilot)
        assert isinstance(app.screen, deal_kanban.DealKanbanScreen)
        assert app.screen.columns() and calls == ["contacts", "board"]
        await pilot.press("1", "2")  # back after another screen: the board is read again
        await settle(app, pilot)
        assert calls == ["contacts", "board", "board"]


async def test_a_failed_read_ahead_leaves_the_screen_to_read_for_itself(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ``3`` reads contacts ahead; if that read fails (a lost connection, a locked file), the
    app stays up and the list reads its first page itself."""
    from crm_tui import app as app_module

    def broken() -> list[Any]:
        raise OSError("disk I/O error")

    monkeypatch.setitem(app_module.READ_FIRST, "contacts", broken)
    app = app_for(desk.db_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert await open_contacts(app, pilot) == ["Пётр Сидоров"]
        assert app.is_running and type(app.screen).__name__ == "ContactListScreen"
