"""A new lead by hand: ``ModalScreen[NewLead | None]``. Each bad field says what is wrong, under itself;
the dialog returns only a lead that passes ``leads.validate`` (nothing is saved until then)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from crm_tui.i18n import t
from crm_tui.services import leads
from crm_tui.services.errors import InvalidInput
from crm_tui.widgets.app_bound import AppBound

FIELDS = ("name", "phone", "email", "company", "source", "comment")


class LeadFormDialog(AppBound, ModalScreen[leads.NewLead | None]):
    """``enter`` in the last field or ``ctrl+s`` saves; ``escape`` cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]
    DEFAULT_CSS = """
    LeadFormDialog { align: center middle; }
    LeadFormDialog > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 100%;
                                      border: round $primary; background: $surface; padding: 0 1; }
    LeadFormDialog Label { margin-top: 0; color: $text-muted; }
    LeadFormDialog .field-error { color: $error; height: auto; }
    LeadFormDialog Input { height: 3; }
    LeadFormDialog Horizontal { height: auto; align-horizontal: right; }
    LeadFormDialog Button { margin-left: 1; }
    """

    def __init__(self, lang: str = "en") -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        placeholders = {
            "phone": "+7 916 123-45-67",
            "email": "name@example.com",
            "source": t("form.source.hint", self.lang),
        }
        with VerticalScroll():
            yield Static(f"[b]{t('form.title', self.lang)}[/b]")
            for name in FIELDS:
                yield Label(t(f"form.{name}", self.lang) + (" *" if name in ("name", "phone") else ""))
                yield Input(placeholder=placeholders.get(name, ""), id=f"lead-{name}")
                yield Static("", id=f"lead-{name}-error", classes="field-error")
            with Horizontal():
                yield Button(t("form.save", self.lang), variant="primary", id="lead-save")
                yield Button(t("form.cancel", self.lang), id="lead-cancel")

    def on_mount(self) -> None:
        self.query_one("#lead-name", Input).focus()

    def value(self, name: str) -> str:
        return self.query_one(f"#lead-{name}", Input).value

    def lead(self) -> leads.NewLead:
        return leads.NewLead(
            name=self.value("name"),
            phone=self.value("phone"),
            email=self.value("email") or None,
            company_name=self.value("company"),
            comment=self.value("comment"),
            utm_source=self.value("source").strip(),
        )

    @on(Input.Submitted)
    def next_or_save(self, event: Input.Submitted) -> None:
        if event.input.id == "lead-comment":
            self.action_save()
        else:
            self.focus_next()

    @on(Button.Pressed, "#lead-save")
    def action_save(self) -> None:
        new = self.lead()
        for name in FIELDS:
            self.query_one(f"#lead-{name}-error", Static).update("")
        try:
            leads.validate(new)  # pure checks (phonenumbers, e-mail syntax): no database
        except InvalidInput as error:
            first: str | None = None
            for name, problem in error.fields.items():
                widget_name = "company" if name == "company_name" else name
                if widget_name in FIELDS:
                    self.query_one(f"#lead-{widget_name}-error", Static).update(f"↑ {problem}")
                    first = first or widget_name
            if first:
                self.query_one(f"#lead-{first}", Input).focus()
            return
        self.dismiss(new)

    @on(Button.Pressed, "#lead-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
