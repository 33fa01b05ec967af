"""Ask for a reason (disqualifying a lead, losing a deal): ``ModalScreen[str | None]``; empty is refused."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from crm_tui.services.views import SearchHit
from crm_tui.widgets.app_bound import AppBound


class ReasonDialog(AppBound, ModalScreen[str | None]):
    """``enter`` with a reason dismisses with it; ``escape`` cancels (``None``)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]
    DEFAULT_CSS = """
    ReasonDialog { align: center middle; }
    ReasonDialog > Vertical { width: 70; max-width: 100%; height: auto; border: round $warning;
                              background: $surface; padding: 0 1; }
    ReasonDialog #reason-error { color: $error; height: auto; }
    ReasonDialog Horizontal { height: auto; align-horizontal: right; }
    ReasonDialog Button { margin-left: 1; }
    """

    def __init__(self, question: str, *, suggestion: str = "") -> None:
        super().__init__()
        self.question = question
        self.suggestion = suggestion

    @classmethod
    def disqualify(cls, t: Callable[[str], str], name: str, duplicate: SearchHit | None) -> ReasonDialog:
        """Why a lead is closed; with a duplicate found, "Duplicate of lead #12 Иван…" is offered."""
        suggestion = ""
        if duplicate is not None:
            kind = t(f"search.kind.{duplicate.kind}").lower()
            suggestion = t("reason.duplicate-of").format(kind=kind, id=duplicate.id, label=duplicate.label)
        return cls(t("reason.disqualify-why").format(name=name), suggestion=suggestion)

    def compose(self) -> ComposeResult:
        t = self.crm.t
        with Vertical():
            yield Label(self.question, id="reason-question")
            yield Input(self.suggestion, placeholder=t("reason.placeholder"), id="reason")
            yield Static("", id="reason-error")
            with Horizontal():
                yield Button(t("confirm.yes"), variant="warning", id="reason-ok")
                yield Button(t("form.cancel"), id="reason-cancel")

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reason-ok")
    def submit(self) -> None:
        text = self.query_one("#reason", Input).value.strip()
        if not text:
            self.query_one("#reason-error", Static).update(self.crm.t("reason.required"))
            return
        self.dismiss(text)

    @on(Button.Pressed, "#reason-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
