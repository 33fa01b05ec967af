"""A scripted call from the task queue: keys 1-9, 0, backspace, ctrl+e; what the pane shows, what is saved."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from crm_tui.app import make_app
from crm_tui.data.db import database
from crm_tui.data.models import Interaction, Lead, Task
from crm_tui.notify import RecordingNotifier
from crm_tui.services import leads, scripts
from crm_tui.widgets.call_script import CallScriptPane
from tests.desk_fixtures import NOW, Desk, open_desk


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = open_desk(tmp_path)
    with database.connection_context():
        new = leads.NewLead("Иван Смирнов", "+7 916 123-45-67", company_name="ООО Ромашка")
        d.lead_id = leads.register(new, by=d.admin_id, now=NOW).id  # type: ignore[attr-defined]
    database.close()
    return d


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Static).render())


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_call(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("4")
    await settle(app, pilot)
    await pilot.press("k")
    await settle(app, pilot)
    await pilot.pause()


async def test_a_full_scripted_call_is_saved_with_path_outcome_notes_and_follow_up(desk: Desk) -> None:
    clock = Clock(NOW + timedelta(minutes=20))
    app = make_app(desk.url, clock=clock)
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(150, 40), notifications=True) as pilot:
        await open_call(app, pilot)
        assert app.screen.query(CallScriptPane)
        assert text(app, "#call-head") == "First call to a new web lead"
        assert text(app, "#call-line").startswith("Good afternoon, Иван! This is Administrator.")
        assert text(app, "#call-choices").splitlines()[:4] == [
            "1. Yes, go ahead",
            "2. Not now, I'm busy",
            "3. I didn't leave any request",
            "0. No suitable answer",
        ]
        assert "Иван Смирнов · ООО Ромашка" in str(app.screen.query_one("#call-timer").render())

        await pilot.press("1")  # yes -> need
        assert text(app, "#call-line") == "What made you contact us? What task would you like to solve?"
        await pilot.press("0", *"Asks about prices in euros", "enter")  # the script has no answer for it
        await pilot.pause()
        assert "(1 noted without an answer)" in text(app, "#call-choices")
        await pilot.press("2")  # just comparing prices -> price
        assert text(app, "#call-line").startswith("The price depends on the scope.")
        await pilot.press("backspace")  # the operator misheard: back to need
        assert text(app, "#call-line").startswith("What made you contact us?")
        await pilot.press("1", "1")  # a concrete task -> timing; soon, decides alone -> meeting
        assert text(app, "#call-line").startswith("Let's meet for thirty minutes")
        clock.at += timedelta(seconds=125)
        await pilot.press("1")  # a time is agreed -> outcome
        await pilot.pause()
        ending = text(app, "#call-ending")
        assert "Outcome: Meeting booked" in ending and "Follow-up task: Meeting with Иван Смирнов" in ending
        await pilot.press(*"Wants a demo on Tuesday", "enter")
        await settle(app, pilot)
        assert not app.screen.query(CallScriptPane)
        saved = [n.message for n in app._notifications if n.title == "Call saved"]
        assert saved == ["Meeting booked, 2:05; task: Meeting with Иван Смирнов"]

    with database.connection_context():
        call = Interaction.get(Interaction.kind == "call_out")
        follow_up = Task.get(Task.title == "Meeting with Иван Смирнов")
        first_call = Task.get(Task.kind == "first_call")
        lead = Lead.get_by_id(desk.lead_id)  # type: ignore[attr-defined]
        stats = scripts.stats("first-call-en")
    assert (call.lead_id, call.duration, call.outcome, call.summary) == (
        lead.id, 125, "Meeting booked", "Wants a demo on Tuesday"
    )
    assert json.loads(call.data) == {
        "script": "first-call-en",
        "path": [
            {"node": "hello", "answer": 1},
            {"node": "need", "answer": 1},
            {"node": "timing", "answer": 1},
            {"node": "meeting", "answer": 1},
        ],
        "outcome": "meeting_booked",
        "no_answer_notes": [{"node": "need", "said": "Asks about prices in euros"}],
    }
    assert follow_up.lead_id == lead.id and follow_up.due_at == clock.at + timedelta(days=1)
    assert first_call.done_at == clock.at  # the call the task asked for was made
    assert lead.status == "in_work"
    need = next(n for n in stats.nodes if n.node == "need")
    assert (stats.calls, stats.successes, need.no_answer, need.no_answer_said) == (
        1, 1, 1, ["Asks about prices in euros"]
    )


async def test_ctrl_e_ends_the_call_early_and_saves_it(desk: Desk) -> None:
    app = make_app(desk.url, clock=Clock(NOW))
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(150, 40), notifications=True) as pilot:
        await open_call(app, pilot)
        await pilot.press("1", "ctrl+e")
        await pilot.pause()
        assert "Outcome: ended early" in text(app, "#call-ending")
        await pilot.press("escape")  # back to the script: nothing saved yet
        await pilot.pause()
        assert app.screen.query(CallScriptPane) and text(app, "#call-ending") == ""
        with database.connection_context():
            assert Interaction.select().where(Interaction.kind == "call_out").count() == 0
        await pilot.press("ctrl+e", *"No answer, busy line", "enter")
        await settle(app, pilot)
        assert not app.screen.query(CallScriptPane)
    with database.connection_context():
        call = Interaction.get(Interaction.kind == "call_out")
    assert (call.outcome, call.summary, call.duration) == ("ended early", "No answer, busy line", 0)
    assert json.loads(call.data)["path"] == [{"node": "hello", "answer": 1}, {"node": "need", "answer": None}]


async def test_script_stats_on_screen_after_a_call(desk: Desk) -> None:
    app = make_app(desk.url, clock=Clock(NOW))
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(150, 50)) as pilot:
        await open_call(app, pilot)
        await pilot.press("2", "1", *"Tomorrow after lunch", "enter")  # busy -> call back later
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        listing = app.screen.query_one("#scripts")
        listing.highlighted = listing.get_option_index("first-call-en")
        await settle(app, pilot)
        await pilot.pause()
        shown = text(app, "#stats")
    assert "Calls 1 · successful 0 (0%) · ended early 0" in shown
    assert "  Call back later                       1" in shown
    assert "  callback                  1 ·   0% ·    0" in shown
    assert "  Administrator                     1 ·      0 ·   0%" in shown


async def test_k_on_a_lead_and_on_a_contact_card_starts_the_offered_script(desk: Desk) -> None:
    pytest.importorskip("crm_tui.screens.lead_detail")
    pytest.importorskip("crm_tui.screens.contact_card")
    with database.connection_context():
        from crm_tui.services import contacts, deals

        olga = contacts.ContactEdit(name="Ольга Иванова", phones=("+7 903 700-00-02",))
        contact = contacts.create(olga, by=desk.admin_id, now=NOW)
        deal = deals.create("Website", contact_id=contact, by=desk.admin_id, now=NOW)
        deals.move(deal.id, "Proposal negotiation", by=desk.admin_id, now=NOW)
    database.close()
    app = make_app(desk.url, clock=Clock(NOW), lang="ru")
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        await app.open_lead(desk.lead_id)  # type: ignore[attr-defined]
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        assert text(app, "#call-head") == "Первый звонок по заявке с сайта"
        assert text(app, "#call-line").startswith("Добрый день, Иван!")
        await pilot.press("2", "1", "enter")  # busy -> named a time -> call back later; saved
        await settle(app, pilot)
        assert not app.screen.query(CallScriptPane)
        await app.open_contact(contact)
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        assert text(app, "#call-head") == "Звонок по коммерческому предложению"
        assert text(app, "#call-line").startswith("Ольга, добрый день!")
    with database.connection_context():
        call = Interaction.get(Interaction.kind == "call_out")
        first_call = Task.get(Task.kind == "first_call")
    assert call.outcome == "Перезвонить позже" and first_call.done_at == NOW


async def test_k_in_the_lead_inbox_calls_the_highlighted_lead_and_closes_its_call_task(desk: Desk) -> None:
    pytest.importorskip("crm_tui.screens.lead_inbox")
    app = make_app(desk.url, clock=Clock(NOW))
    app.notifier = RecordingNotifier()  # type: ignore[attr-defined]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        await pilot.press("1")
        await settle(app, pilot)
        await pilot.press("k")
        await settle(app, pilot)
        assert text(app, "#call-line").startswith("Good afternoon, Иван!")
        await pilot.press("3", "2", *"Wrong number", "enter")  # no request -> not interested
        await settle(app, pilot)
        assert not app.screen.query(CallScriptPane)
    with database.connection_context():
        call = Interaction.get(Interaction.kind == "call_out")
        first_call = Task.get(Task.kind == "first_call")
        lead = Lead.get_by_id(desk.lead_id)  # type: ignore[attr-defined]
    assert (call.outcome, call.summary, call.lead_id) == ("Not interested", "Wrong number", lead.id)
    assert first_call.done_at == NOW and lead.status == "in_work"
