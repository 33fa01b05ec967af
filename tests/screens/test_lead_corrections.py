"""A lead corrected (``e``), a change undone (``ctrl+z``), the queue's cursor after ``n``, and quitting during
a live scripted call: keys a person presses, then what the screen and the database hold."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from crm_tui.app import make_app
from crm_tui.data.db import database
from crm_tui.data.models import Interaction, Lead, Task
from crm_tui.notify import RecordingNotifier
from crm_tui.screens.dialogs.lead_form import LeadFormDialog
from crm_tui.screens.dialogs.note import QuestionDialog, ReasonForm
from crm_tui.screens.lead_detail import LeadDetailScreen
from crm_tui.services import leads, tasks
from crm_tui.widgets.call_script import CallScriptPane
from tests.desk_fixtures import NOW, Desk, open_desk

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = open_desk(tmp_path)
    with database.connection_context():
        new = leads.NewLead("Иван Смирнов", "+7 916 123-45-67", company_name="ООО Ромашка")
        d.lead_id = leads.register(new, by=d.admin_id, now=NOW - 2 * HOUR).id  # type: ignore[attr-defined]
        tasks.create("Send the proposal", NOW + 3 * HOUR, by=d.admin_id, now=NOW)
    database.close()
    return d


def app_for(desk: Desk, lang: str = "en"):  # type: ignore[no-untyped-def]
    app = make_app(desk.url, clock=lambda: NOW, lang=lang)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    return app


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def until(app, pilot, screen_type) -> None:  # type: ignore[no-untyped-def]
    """A key whose action waits on a dialog (its worker is not complete until the dialog closes): wait for
    the dialog, not for the workers."""
    for _ in range(200):
        if isinstance(app.screen, screen_type):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"no {screen_type.__name__}")


def toasts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.message for n in app._notifications]


def lead(desk: Desk) -> Lead:
    with database.connection_context():
        return Lead.get_by_id(desk.lead_id)  # type: ignore[attr-defined]


def first_call(desk: Desk) -> Task:
    with database.connection_context():
        return Task.get(Task.kind == "first_call")


def highlighted(app) -> str:  # type: ignore[no-untyped-def]
    queue = app.screen.query_one("#queue", OptionList)
    return str(queue.get_option_at_index(queue.highlighted).prompt)


async def test_e_on_the_lead_detail_opens_the_form_filled_in_and_saves_the_correction(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await app.open_lead(desk.lead_id)  # type: ignore[attr-defined]
        await settle(app, pilot)
        await pilot.press("e")
        await until(app, pilot, LeadFormDialog)
        assert app.screen.query_one("#lead-name", Input).value == "Иван Смирнов"
        assert app.screen.query_one("#lead-phone", Input).value == "+7 916 123-45-67"
        assert app.screen.query_one("#lead-company", Input).value == "ООО Ромашка"
        phone = app.screen.query_one("#lead-phone", Input)
        phone.value = ""
        phone.focus()
        await pilot.press(*"8 903 555-12-34", "ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert "Saved: Иван Смирнов" in toasts(app)
        header = str(app.screen.query_one("#lead-header", Static).render())
        history = str(app.screen.query_one("#lead-history", Static).render())
        assert "+7 903 555-12-34" in header and "Edited: phone" in history
    assert lead(desk).phone == "+79035551234"


async def test_a_bad_phone_in_the_edit_form_is_refused_beside_it_and_nothing_is_saved(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await app.open_lead(desk.lead_id)  # type: ignore[attr-defined]
        await settle(app, pilot)
        await pilot.press("e")
        await until(app, pilot, LeadFormDialog)
        app.screen.query_one("#lead-phone", Input).value = "12345"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LeadFormDialog)
        assert "not a valid number" in str(app.screen.query_one("#lead-phone-error", Static).render())
        await pilot.press("escape")
        await settle(app, pilot)
    assert lead(desk).phone == "+79161234567"


async def test_ctrl_z_undoes_a_task_done_in_the_queue(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        assert "Call Иван Смирнов" in highlighted(app)  # overdue: on top
        await pilot.press("space")
        await settle(app, pilot)
        assert first_call(desk).done_at == NOW
        assert any("Done: Call Иван Смирнов" in t and "ctrl+z" in t for t in toasts(app))
        await pilot.press("ctrl+z")
        await settle(app, pilot)
        assert "Undone: Done: Call Иван Смирнов" in toasts(app)
        assert "Call Иван Смирнов" in highlighted(app)  # back in the queue, under the cursor
        await pilot.press("ctrl+z")  # once only
        await settle(app, pilot)
        assert "Nothing to undo" in toasts(app)
    assert first_call(desk).done_at is None


async def test_ctrl_z_undoes_a_disqualification_from_the_lead_detail(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await app.open_lead(desk.lead_id)  # type: ignore[attr-defined]
        await settle(app, pilot)
        await pilot.press("x")
        await until(app, pilot, ReasonForm)
        await pilot.press(*"нет бюджета", "enter")
        await settle(app, pilot)
        assert lead(desk).status == "disqualified"
        assert first_call(desk).done_at is not None
        await pilot.press("ctrl+z")
        await settle(app, pilot)
        header = str(app.screen.query_one("#lead-header", Static).render())
        assert "in work" in header and "нет бюджета" not in header
        history = str(app.screen.query_one("#lead-history", Static).render())
        assert "Back to work (was disqualified: нет бюджета)" in history
    back = lead(desk)
    assert (back.status, back.disqualify_reason) == ("in_work", None)
    assert first_call(desk).done_at is None  # the task the disqualification closed is open again


async def test_after_n_the_cursor_is_on_the_new_task(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        assert "Call Иван Смирнов" in highlighted(app)
        await pilot.press("n", *"Prepare the contract", "enter")
        await pilot.press("ctrl+a", "ctrl+k", *"+2h", "enter")
        await settle(app, pilot)
        assert "Prepare the contract" in highlighted(app)
        await pilot.press("space")  # closes the new task, not the one the cursor was on before
        await settle(app, pilot)
    with database.connection_context():
        assert Task.get(Task.title == "Prepare the contract").done_at == NOW
    assert first_call(desk).done_at is None


async def test_q_during_a_live_call_asks_and_saves_the_call_as_interrupted(desk: Desk) -> None:
    app = app_for(desk)
    async with app.run_test(size=(150, 40), notifications=True) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        assert app.screen.query(CallScriptPane)
        await pilot.press("1", "q")  # the client answered; then q
        await until(app, pilot, QuestionDialog)
        await pilot.press("n")  # back to the call: nothing lost, nothing saved yet
        await settle(app, pilot)
        assert app.screen.query(CallScriptPane) and app.is_running
        with database.connection_context():
            assert not Interaction.select().where(Interaction.kind == "call_out").exists()
        await pilot.press("ctrl+q")
        await until(app, pilot, QuestionDialog)
        await pilot.press("y")
        for _ in range(100):  # the call is saved, then the app closes
            if not app.is_running:
                break
            await pilot.pause(0.02)
        assert not app.is_running
    with database.connection_context():
        call = Interaction.get(Interaction.kind == "call_out")
    assert call.outcome == "interrupted"
    task = first_call(desk)
    assert task.done_at is None and task.due_at == NOW + timedelta(minutes=30)  # the lead stays alive
