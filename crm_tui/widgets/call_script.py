"""The call-script pane: docks beside a card and walks the operator through a call.

Start it from any screen with ``await CallScriptPane.start(screen, lead_id=..., contact_id=...,
deal_id=..., task_id=...)``; it picks the script for where the record stands, fills in the client's name
and company, and when the call ends posts :class:`CallScriptPane.Ended` (the host screen may reload).

Keys while the pane has focus: ``1``-``9`` the client's answer, ``0`` "no suitable answer" (type what
was said), ``backspace`` one step back, ``ctrl+e`` end the call at any point. At the end the operator
types notes and presses Enter: the call is saved with its duration, path, outcome and follow-up.

A call in progress is never lost: ``q`` / ``ctrl+q`` ask first (:meth:`CallScriptPane.before_quit`), and
quitting anyway saves it as "interrupted", its call task kept open for the next try.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from crm_tui.services import scripts, users
from crm_tui.services.errors import CrmError
from crm_tui.services.scripts import CallRun, CallSaved
from crm_tui.widgets.app_bound import AppBound

if TYPE_CHECKING:
    from crm_tui.app import CrmApp


def _ensure_and_offer(
    *, lead_id: int | None, contact_id: int | None, deal_id: int | None, lang: str, now: Any
) -> list[scripts.ScriptInfo]:
    scripts.ensure_defaults(now=now)
    return scripts.offer_for(lead_id=lead_id, contact_id=contact_id, deal_id=deal_id, lang=lang)


def _start(
    name: str, *, lead_id: int | None, contact_id: int | None, deal_id: int | None, user_id: int, now: Any
) -> CallRun:
    operator = users.get(user_id).name
    return scripts.start_call(
        name, lead_id=lead_id, contact_id=contact_id, deal_id=deal_id, operator=operator, now=now
    )


class CallScriptPane(AppBound, Vertical, can_focus=True):
    """One call in progress: the operator line, numbered answers, a timer; saves the call at the end."""

    DEFAULT_CSS = """
    CallScriptPane {
        dock: right;
        width: 58;
        height: 1fr;
        border-left: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    CallScriptPane.-fill {
        dock: none;
        width: 1fr;
        border-left: none;
    }
    CallScriptPane:focus-within {
        border-left: thick $primary;
    }
    CallScriptPane #call-head {
        text-style: bold;
        height: auto;
    }
    CallScriptPane #call-timer {
        color: $text-muted;
        height: 1;
    }
    CallScriptPane #call-line {
        margin: 1 0;
        padding: 0 1;
        background: $boost;
        height: auto;
    }
    CallScriptPane #call-choices {
        height: auto;
    }
    CallScriptPane #call-ending {
        height: auto;
        margin-top: 1;
        color: $success;
    }
    CallScriptPane #call-said, CallScriptPane #call-notes {
        display: none;
    }
    CallScriptPane.-no-answer #call-said {
        display: block;
    }
    CallScriptPane.-ending #call-notes {
        display: block;
    }
    CallScriptPane #call-help {
        color: $text-muted;
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS = [
        *[
            Binding(str(n), f"choose({n})", f"Answer {n}", show=False, id=f"call.answer-{n}")
            for n in range(1, 10)
        ],
        Binding(
            "0", "no_answer", "No suitable answer", id="call.no-answer", tooltip="Type what the client said"
        ),
        Binding("backspace", "back", "Step back", id="call.back", tooltip="Back to the previous line"),
        Binding("ctrl+e", "end", "End call", id="call.end", tooltip="End the call now and save it"),
    ]

    running: ClassVar[weakref.WeakSet[CallScriptPane]] = weakref.WeakSet()
    """Panes with a call in progress, in any screen of any app (one app in practice)."""

    mode: reactive[str] = reactive("script", init=False)
    """``script`` (answers by number), ``no-answer`` (typing what was said) or ``ending`` (notes)."""

    @dataclass
    class Ended(Message):
        """The call was saved (``saved``) or dropped (``None``)."""

        pane: CallScriptPane
        saved: CallSaved | None

    def __init__(
        self,
        run: CallRun,
        *,
        lead_id: int | None = None,
        contact_id: int | None = None,
        deal_id: int | None = None,
        task_id: int | None = None,
    ) -> None:
        super().__init__(id="call-script")
        self.run = run
        self.lead_id = lead_id
        self.contact_id = contact_id
        self.deal_id = deal_id
        self.task_id = task_id
        self.saving = False
        self.retry_after: Any = None
        """The desk's retry delay (``first_call.retry``), read when the call starts."""

    @classmethod
    async def start(
        cls,
        screen: Screen[Any],
        *,
        lead_id: int | None = None,
        contact_id: int | None = None,
        deal_id: int | None = None,
        task_id: int | None = None,
        script: str | None = None,
        into: Container | None = None,
        fill: bool = False,
    ) -> CallScriptPane | None:
        """Open the pane on ``screen`` (or inside ``into``) with the script offered for the record.

        ``fill``: take the whole of ``into`` (a host that keeps a column for the pane) instead of docking.
        """
        app = cast("CrmApp", screen.app)
        running = screen.query(CallScriptPane)
        if running:
            app.notify(app.t("call.in-progress"), severity="warning")
            running.first().focus()
            return None
        try:
            if script is None:
                offered = await app.run_db(
                    _ensure_and_offer,
                    lead_id=lead_id,
                    contact_id=contact_id,
                    deal_id=deal_id,
                    lang=app.lang,
                    now=app.now(),
                )
                if not offered:
                    app.notify(app.t("call.no-script"), severity="warning")
                    return None
                script = offered[0].name
            run = await app.run_db(
                _start,
                script,
                lead_id=lead_id,
                contact_id=contact_id,
                deal_id=deal_id,
                user_id=app.user_id,
                now=app.now(),
            )
        except CrmError as error:
            app.notify(error.message, title=error.title, severity="error")
            return None
        from crm_tui.services import interactions

        pane = cls(run, lead_id=lead_id, contact_id=contact_id, deal_id=deal_id, task_id=task_id)
        try:
            pane.retry_after = await app.run_db(interactions.retry_delay)
        except CrmError:
            pane.retry_after = None
        pane.set_class(fill, "-fill")
        await (into or screen).mount(pane)
        pane.focus()
        return pane

    def compose(self) -> ComposeResult:
        yield Label(self.run.script.title, id="call-head")
        yield Label("", id="call-timer")
        yield Static("", id="call-line")
        yield Static("", id="call-choices")
        yield Static("", id="call-ending")
        yield Input(placeholder=self.crm.t("call.said.hint"), id="call-said")
        yield Input(placeholder=self.crm.t("call.notes.hint"), id="call-notes")
        yield Static(self.crm.t("call.help"), id="call-help")

    def on_mount(self) -> None:
        self.owner = self.crm
        CallScriptPane.running.add(self)
        self.refresh_call()
        self.set_interval(1.0, self.tick)

    def on_unmount(self) -> None:
        CallScriptPane.running.discard(self)

    @classmethod
    def live(cls, app: Any) -> list[CallScriptPane]:
        """The calls in progress in ``app`` (not yet saved)."""
        return [p for p in list(cls.running) if getattr(p, "owner", None) is app and not p.saving]

    @classmethod
    async def before_quit(cls, app: CrmApp) -> None:
        """Quitting with a call in progress: ask; "yes" saves each call (as interrupted, unless it reached
        its outcome) and then quits; "no" goes back to the call. A call that cannot be saved keeps the
        app open."""
        from crm_tui.screens.dialogs.note import QuestionDialog

        if getattr(app, "asking_quit", False):
            return
        panes = cls.live(app)
        if not panes:
            app.exit()
            return
        name = panes[0].run.values.get("name") or panes[0].run.script.title
        app.asking_quit = True  # type: ignore[attr-defined]
        try:
            leave = await app.push_screen_wait(
                QuestionDialog(
                    app.t("quit.call-title"),
                    app.t("quit.call-question").format(name=name),
                    yes=app.t("quit.save-and-quit"),
                    no=app.t("quit.back-to-call"),
                )
            )
        finally:
            app.asking_quit = False  # type: ignore[attr-defined]
        if not leave:
            if panes[0].screen is app.screen:
                panes[0].focus()
            return
        for pane in panes:
            if not await pane.save(interrupted=not pane.run.finished):
                return
        app.exit()

    # --- what the pane shows ---------------------------------------------------------------------------

    def tick(self) -> None:
        seconds = self.run.duration(self.crm.now())
        minutes, secs = divmod(seconds, 60)
        values = self.run.values
        who = " · ".join(v for v in (values.get("name"), values.get("company")) if v)
        self.query_one("#call-timer", Label).update(f"⏱ {minutes:02d}:{secs:02d}  {who}")

    def refresh_call(self) -> None:
        self.tick()
        self.query_one("#call-line", Static).update(Content(self.run.line))
        choices = [f"{n}. {text}" for n, text in enumerate(self.run.choices(), 1)]
        choices.append(f"0. {self.crm.t('call.no-answer')}")
        notes = len(self.run.no_answer_notes)
        if notes:
            choices.append(self.crm.t("call.noted").format(count=notes))
        self.query_one("#call-choices", Static).update(Content("\n".join(choices)))
        outcome = self.run.outcome_view()
        ending = self.query_one("#call-ending", Static)
        if self.mode == "ending":
            say = self.crm.t
            label = outcome.label if outcome else say("call.ended-early")
            lines = [say("call.outcome").format(outcome=label)]
            if outcome and outcome.task_title:
                task = scripts.fill(outcome.task_title, self.run.values)
                lines.append(say("call.follow-up").format(task=task))
            if outcome and outcome.stage and self.deal_id is not None:
                lines.append(say("call.deal-moves").format(stage=outcome.stage))
            if outcome and outcome.retry:
                lines.append(say("call.retry").format(delay=self.retry_delay()))
            lines.append(say("call.ending-help"))
            ending.update(Content("\n".join(lines)))
        else:
            ending.update("")

    def watch_mode(self, mode: str) -> None:
        self.set_class(mode == "no-answer", "-no-answer")
        self.set_class(mode == "ending", "-ending")
        self.refresh_call()
        if mode == "no-answer":
            self.query_one("#call-said", Input).focus()
        elif mode == "ending":
            self.query_one("#call-notes", Input).focus()
        else:
            self.focus()

    # --- keys ------------------------------------------------------------------------------------------

    def action_choose(self, number: int) -> None:
        if self.mode != "script":
            return
        if not self.run.choose(number):
            self.app.bell()
            return
        if self.run.finished:
            self.mode = "ending"
        else:
            self.refresh_call()

    def action_back(self) -> None:
        if self.mode == "script" and not self.run.back():
            self.app.bell()
        self.refresh_call()

    def action_no_answer(self) -> None:
        if self.mode == "script":
            self.mode = "no-answer"

    async def action_end(self) -> None:
        if self.mode == "ending":
            await self.save()
        else:
            self.mode = "ending"

    def leave_input(self) -> None:
        if self.mode == "script":
            return
        if self.mode == "ending" and self.run.finished:
            self.run.back()  # the last answer led to the outcome: step back from it
        said = self.query_one("#call-said", Input)
        said.value = ""
        self.mode = "script"

    @on(Input.Submitted, "#call-said")
    def said(self, event: Input.Submitted) -> None:
        event.stop()
        self.run.no_answer(event.value)
        event.input.value = ""
        self.mode = "script"

    @on(Input.Submitted, "#call-notes")
    async def notes_done(self, event: Input.Submitted) -> None:
        event.stop()
        await self.save()

    def on_key(self, event: Any) -> None:
        # Escape inside the inputs leaves them (back to the script) instead of doing nothing.
        if event.key == "escape" and self.mode != "script":
            event.stop()
            self.leave_input()

    # --- saving ----------------------------------------------------------------------------------------

    def retry_delay(self) -> str:
        from crm_tui.i18n_format import span
        from crm_tui.services import clock

        now = self.crm.now()
        if self.retry_after is None:
            return ""
        return span(clock.age(now - self.retry_after, now), self.crm.lang)

    async def save(self, *, interrupted: bool = False) -> bool:
        """Save the call (``interrupted``: cut short by quitting); ``False`` if it was refused."""
        if self.saving:
            return False
        self.saving = True
        notes = self.query_one("#call-notes", Input).value
        try:
            saved = await self.crm.run_db(
                scripts.save_call,
                self.run,
                by=self.crm.user_id,
                now=self.crm.now(),
                notes=notes,
                lead_id=self.lead_id,
                contact_id=self.contact_id,
                deal_id=self.deal_id,
                task_id=self.task_id,
                interrupted=interrupted,
            )
        except CrmError as error:
            self.saving = False
            self.notify(error.message, title=error.title, severity="error")
            return False
        minutes, seconds = divmod(saved.interaction.duration or 0, 60)
        extra = self.crm.t("call.saved-task").format(task=saved.task.title) if saved.task else ""
        extra += self.crm.t("call.saved-stage").format(stage=saved.stage) if saved.stage else ""
        outcome = saved.outcome_label
        if outcome == scripts.ENDED_EARLY:  # the service's word for a call that reached no outcome
            outcome = self.crm.t("call.ended-early")
        elif outcome == scripts.INTERRUPTED:
            outcome = self.crm.t("call.interrupted")
        self.notify(f"{outcome}, {minutes}:{seconds:02d}{extra}", title=self.crm.t("call.saved"))
        host = self.screen
        await self.remove()
        host.post_message(self.Ended(self, saved))
        return True
