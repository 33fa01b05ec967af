"""Forms of the contact card and the kanban: the shared form base, a note, a reason and a yes/no question.

A form saves through its service before it closes: a refusal (``InvalidInput.fields``) is shown beside
the field it is about and nothing is written until the whole form is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from crm_tui.services import interactions
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.views import InteractionRow, SearchHit
from crm_tui.widgets.app_bound import AppBound

T = TypeVar("T")
R = TypeVar("R")

FORM_CSS = """
FormDialog, QuestionDialog {
    align: center middle;
}
FormDialog > VerticalScroll, QuestionDialog > Vertical {
    width: 72;
    max-width: 95%;
    height: auto;
    max-height: 95%;
    border: thick $accent;
    background: $surface;
    padding: 0 1;
}
FormDialog .form-title, QuestionDialog .form-title {
    text-style: bold;
    margin-bottom: 1;
}
QuestionDialog .question, QuestionDialog .form-title {
    width: 100%;  /* a long question wraps inside the dialog instead of being cut */
}
FormDialog .field-label {
    color: $text-muted;
    height: 1;
}
FormDialog Input {
    margin: 0;
}
FormDialog .field-error, FormDialog .form-error {
    color: $error;
    height: auto;
}
FormDialog .field-error, FormDialog .form-error {
    display: none;
}
FormDialog .field-error.-shown, FormDialog .form-error.-shown {
    display: block;
}
FormDialog .form-hint, QuestionDialog .form-hint {
    color: $text-muted;
    height: 1;
}
QuestionDialog Horizontal {
    height: auto;
    align-horizontal: right;
}
QuestionDialog Button {
    margin-left: 1;
}
"""


class FormDialog(AppBound, ModalScreen[R]):
    """A form of labelled inputs; ``enter`` goes to the next field and saves on the last one."""

    DEFAULT_CSS = FORM_CSS
    AUTO_FOCUS = "Input"  # the first field, not the scrolling body around the fields
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without saving"),
        Binding("ctrl+s", "save", "Save", id="form.save", tooltip="Save the form"),
    ]
    TITLE_KEY = ""
    """The i18n key of the form's title."""
    FIELDS: tuple[tuple[str, str, str], ...] = ()
    """(field, i18n key of its label, i18n key of its placeholder)."""

    def initial(self, field: str) -> str:
        return ""

    def title_text(self) -> str:
        return self.crm.t(self.TITLE_KEY) if self.TITLE_KEY else ""

    def compose(self) -> ComposeResult:
        with VerticalScroll():  # a long form on a short terminal scrolls to the focused field
            yield Label(self.title_text(), classes="form-title")
            yield from self.compose_fields()
            yield Label("", classes="form-error")
            yield Label(self.crm.t("dialog.form-hint"), classes="form-hint")

    def compose_fields(self) -> ComposeResult:
        for field, label_key, placeholder_key in self.FIELDS:
            yield Label(self.crm.t(label_key), classes="field-label")
            yield Input(self.initial(field), placeholder=self.crm.t(placeholder_key), id=f"f-{field}")
            yield Label("", id=f"error-{field}", classes="field-error")

    def field_name(self, field: str) -> str:
        """How a field is named in its error (``phone: …``): i18n key ``field.<field>``, else the field."""
        key = f"field.{field}"
        name = self.crm.t(key)
        return field if name == key else name

    def value(self, field: str) -> str:
        return self.query_one(f"#f-{field}", Input).value

    def clear_errors(self) -> None:
        for label in self.query(".field-error, .form-error").results(Label):
            label.update("")
            label.remove_class("-shown")

    def show_errors(self, error: CrmError) -> None:
        """Each field's message beside it; the whole message at the bottom; focus the first bad field."""
        self.clear_errors()
        fields = error.fields if isinstance(error, InvalidInput) else {}
        first: Input | None = None
        for field, problem in fields.items():
            found = self.query(f"#error-{field}")
            if found:
                found.first(Label).update(f"{self.field_name(field)}: {problem}")
                found.first(Label).add_class("-shown")
                first = first or self.query_one(f"#f-{field}", Input)
        self.query_one(".form-error", Label).update(error.message)
        self.query_one(".form-error", Label).add_class("-shown")
        if first is not None:
            first.focus()

    @on(Input.Submitted)
    async def next_or_save(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            await self.action_save()

    async def action_save(self) -> None:
        try:
            result = await self.submit()
        except CrmError as error:
            self.show_errors(error)
            return
        self.dismiss(result)

    async def submit(self) -> R:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteDialog(FormDialog[InteractionRow | None]):
    """A note on the contact (and its deal); returns the saved timeline row."""

    TITLE_KEY = "note.title"
    FIELDS = (("summary", "note.summary", "note.summary.hint"),)

    def __init__(self, contact_id: int, deal_id: int | None = None) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.deal_id = deal_id

    async def submit(self) -> InteractionRow | None:
        return await self.crm.run_db(
            interactions.log,
            "note",
            contact_id=self.contact_id,
            deal_id=self.deal_id,
            summary=self.value("summary"),
            by=self.crm.user_id,
            now=self.crm.now(),
        )


class ReasonForm(FormDialog[str | None]):
    """Asks why (a lead disqualified, a deal lost); returns the reason, ``None`` when cancelled. An empty
    reason is refused beside the field."""

    FIELDS = (("reason", "reason-form.reason", "reason-form.reason.hint"),)

    def __init__(self, title: str, *, suggestion: str = "") -> None:
        super().__init__()
        self.given_title = title
        self.suggestion = suggestion

    @classmethod
    def disqualify(cls, t: Callable[[str], str], name: str, duplicate: SearchHit | None) -> ReasonForm:
        """Why a lead is closed; with a duplicate found, "Duplicate of lead #12 Иван…" is offered."""
        suggestion = ""
        if duplicate is not None:
            kind = t(f"search.kind.{duplicate.kind}").lower()
            suggestion = t("reason.duplicate-of").format(kind=kind, id=duplicate.id, label=duplicate.label)
        return cls(t("reason.disqualify-why").format(name=name), suggestion=suggestion)

    def title_text(self) -> str:
        return self.given_title

    def initial(self, field: str) -> str:
        return self.suggestion

    async def submit(self) -> str | None:
        reason = self.value("reason").strip()
        if not reason:
            raise InvalidInput(self.crm.t("reason.required"), {"reason": self.crm.t("dialog.required")})
        return reason


class QuestionDialog(AppBound, ModalScreen[bool]):
    """A yes/no question: ``y``/``enter`` yes, ``n``/``escape`` no."""

    DEFAULT_CSS = FORM_CSS
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="question.yes"),
        Binding("n,escape", "answer(False)", "No", id="question.no"),
    ]

    def __init__(self, title: str, question: str, yes: str | None = None, no: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        yes = self.yes if self.yes is not None else self.crm.t("confirm.yes")
        no = self.no if self.no is not None else self.crm.t("confirm.no")
        with Vertical():
            yield Label(self.title_text, classes="form-title")
            yield Label(self.question, classes="question")
            with Horizontal():
                yield Button(f"{yes} (y)", variant="primary", id="yes")
                yield Button(f"{no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
