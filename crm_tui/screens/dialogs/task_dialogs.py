"""Dialogs of the task queue: snooze, reassign, new task. Each returns a typed result or ``None``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.services import clock, tasks
from crm_tui.services.errors import InvalidInput
from crm_tui.services.views import UserView
from crm_tui.widgets.app_bound import AppBound

DIALOG_CSS = """
TaskDialog {
    align: center middle;
}
TaskDialog > Vertical {
    width: 64;
    height: auto;
    max-height: 80%;
    border: thick $accent;
    background: $surface;
    padding: 1 2;
}
TaskDialog .dialog-title {
    text-style: bold;
    margin-bottom: 1;
}
TaskDialog .dialog-error {
    color: $error;
    height: auto;
}
TaskDialog OptionList {
    height: auto;
    max-height: 12;
    margin-bottom: 1;
}
"""

SNOOZE_CHOICES = (
    ("15m", "snooze.15m", "+15m"),
    ("1h", "snooze.1h", "+1h"),
    ("tomorrow", "snooze.tomorrow", "tomorrow 9:00"),
)
"""(option id, i18n key of its label, the due time as ``tasks.parse_due`` reads it)."""


def parse_local_due(text: str, now_utc: datetime) -> datetime:
    """A due time typed by a person (local) -> naive UTC; raises InvalidInput."""
    return clock.to_utc(tasks.parse_due(text, clock.to_local(now_utc)))


class TaskDialog(AppBound, ModalScreen[object]):
    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changes")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        self.query_one(".dialog-error", Label).update(message)


class SnoozeDialog(TaskDialog):
    """Snooze: 15 min / 1 h / tomorrow 9:00 / a typed time. Returns the new due time (naive UTC)."""

    def __init__(self, title: str, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.task_title = title
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.crm.t("snooze.title").format(title=self.task_title), classes="dialog-title")
            choices = [Option(self.crm.t(label_key), id=key) for key, label_key, _ in SNOOZE_CHOICES]
            yield OptionList(*choices, id="snooze-choices")
            yield Input(placeholder=self.crm.t("snooze.when.hint"), id="snooze-when")
            yield Label("", classes="dialog-error")

    @on(OptionList.OptionSelected, "#snooze-choices")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        text = next(when for key, _label, when in SNOOZE_CHOICES if key == event.option.id)
        self.dismiss(parse_local_due(text, self.now()))

    @on(Input.Submitted, "#snooze-when")
    def typed(self, event: Input.Submitted) -> None:
        try:
            due = parse_local_due(event.value, self.now())
        except InvalidInput as error:
            self.show_error(error.message)
            return
        self.dismiss(due)


class ReassignDialog(TaskDialog):
    """Pick the new assignee. Returns a user id."""

    def __init__(self, title: str, people: list[UserView], current: str | None) -> None:
        super().__init__()
        self.task_title = title
        self.people = people
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.crm.t("reassign.title").format(title=self.task_title), classes="dialog-title")
            now = self.crm.t("reassign.current")
            options = [
                Option(f"{u.name} (@{u.login}){now if u.login == self.current else ''}", id=str(u.id))
                for u in self.people
            ]
            yield OptionList(*options, id="people")
            yield Label("", classes="dialog-error")

    @on(OptionList.OptionSelected, "#people")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))


@dataclass(frozen=True)
class NewTask:
    title: str
    due_at: datetime


class NewTaskDialog(TaskDialog):
    """Title and due time (``+30m``, ``tomorrow 9:00``, ISO). Returns a :class:`NewTask`."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.crm.t("new-task.title"), classes="dialog-title")
            yield Input(placeholder=self.crm.t("new-task.what.hint"), id="new-title")
            yield Input(value="+1h", placeholder=self.crm.t("new-task.due.hint"), id="new-due")
            yield Label("", classes="dialog-error")

    @on(Input.Submitted, "#new-title")
    def next_field(self) -> None:
        self.query_one("#new-due", Input).focus()

    @on(Input.Submitted, "#new-due")
    def submit(self) -> None:
        title = self.query_one("#new-title", Input).value.strip()
        if not title:
            self.show_error(self.crm.t("task-form.title-required"))
            self.query_one("#new-title", Input).focus()
            return
        try:
            due = parse_local_due(self.query_one("#new-due", Input).value, self.now())
        except InvalidInput as error:
            self.show_error(error.message)
            return
        self.dismiss(NewTask(title, due))
