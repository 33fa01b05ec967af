"""The deal form (``e`` on a kanban card or in the contact card, ``n`` on the kanban) and the deal picker.

The form saves through ``deals.edit`` / ``deals.add``, the rules the CLI uses: the amount as people type
it (``150 000,50``), a currency, an expected close date, the owner's login and the contact's number. A
refusal is shown beside its field in the desk's language (from the error's code) and nothing is written.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import deals, money
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.views import DealRow, StageView
from crm_tui.widgets.app_bound import AppBound

FIELD_OF_CODE = {
    "title.required": "title",
    "amount.invalid": "amount",
    "amount.negative": "amount",
    "amount.too_large": "amount",
    "currency.invalid": "currency",
    "date.invalid": "expected_close",
    "owner.unknown": "owner",
    "contact.not_found": "contact",
    "contact.invalid": "contact",
}
"""Which field a refusal is about, by its code; any other refusal is said at the bottom of the form."""


def refusal_text(error: CrmError, t: Any) -> str:
    """A rule's refusal in the desk's language, from its code and parameters (else as the rule said it)."""
    key = f"deal-error.{error.code}"
    text = t(key)
    if text == key:
        return error.message
    params = dict(error.params)
    if "max" in params:
        params["max"] = money.format_money(int(params["max"]), "")
    if "kind" in params:
        params["kind"] = t(f"kanban.kind.{params['kind']}")
    try:
        return str(text.format(**params))
    except (KeyError, IndexError):
        return error.message


class DealFormDialog(FormDialog[DealRow | None]):
    """A deal's title, amount, currency, expected close, owner and contact. With ``deal`` it edits that
    deal; without, it adds one at ``stage``. Returns the saved deal, ``None`` when cancelled."""

    DEFAULT_CSS = """
    DealFormDialog Input {
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    DealFormDialog Input:focus {
        border: none;
        background: $accent 30%;
    }
    """
    """Six fields on one line each: the whole form fits an 80x24 terminal."""

    FIELDS = (
        ("title", "deal-form.name", "deal-form.name.hint"),
        ("amount", "deal-form.amount", "deal-form.amount.hint"),
        ("currency", "deal-form.currency", "deal-form.currency.hint"),
        ("expected_close", "deal-form.close", "deal-form.close.hint"),
        ("owner", "deal-form.owner", "deal-form.owner.hint"),
        ("contact", "deal-form.contact", "deal-form.contact.hint"),
    )

    def __init__(self, deal: DealRow | None = None, *, stage: StageView | None = None) -> None:
        super().__init__()
        self.deal = deal
        self.stage = stage

    def title_text(self) -> str:
        if self.deal is not None:
            return f"{self.crm.t('deal-form.title').format(deal=self.deal.id)}  {self.deal.title}"
        if self.stage is None:
            return self.crm.t("kanban.new")
        return self.crm.t("deal-form.new").format(stage=self.stage.title(self.crm.lang))

    def initial(self, field: str) -> str:
        deal = self.deal
        if deal is None:
            return ""
        values = {
            "title": deal.title,
            "amount": money.amount_text(deal.amount),
            "currency": deal.currency,
            "expected_close": deal.expected_close.isoformat() if deal.expected_close else "",
            "owner": deal.owner_login or "",
            "contact": str(deal.contact_id) if deal.contact_id else "",
        }
        return values.get(field, "")

    def field_name(self, field: str) -> str:
        label = next((key for name, key, _hint in self.FIELDS if name == field), "")
        return self.crm.t(label) if label else field

    def contact_id(self) -> int | None:
        text = self.value("contact").strip().lstrip("#")
        if not text:
            return None
        if not text.isdigit():
            raise InvalidInput(
                f"Not a contact number: {text!r}",
                {"contact": "not a number"},
                code="contact.invalid",
                params={"value": text},
            )
        return int(text)

    async def submit(self) -> DealRow | None:
        who = {"by": self.crm.user_id, "now": self.crm.now()}
        amount = self.value("amount").strip() or "0"
        if self.deal is None:
            return await self.crm.run_db(
                deals.add,
                self.value("title"),
                contact_id=self.contact_id(),
                amount=amount,
                currency=self.value("currency").strip() or None,
                expected_close=self.value("expected_close"),
                owner=self.value("owner").strip() or None,
                stage=self.stage.id if self.stage is not None else None,
                **who,
            )
        return await self.crm.run_db(
            deals.edit,
            self.deal.id,
            title=self.value("title"),
            amount=amount,
            currency=self.value("currency").strip() or None,
            expected_close=self.value("expected_close"),
            owner=self.value("owner").strip() or None,
            contact_id=self.contact_id(),
            **who,
        )

    def show_errors(self, error: CrmError) -> None:
        """The refusal beside its field, in the desk's language; a rule about the whole deal at the bottom."""
        self.clear_errors()
        text = refusal_text(error, self.crm.t)
        field = FIELD_OF_CODE.get(error.code)
        if field is None and isinstance(error, InvalidInput) and error.fields:
            field = next(iter(error.fields))
        if field is not None and self.query(f"#error-{field}"):
            label = self.query_one(f"#error-{field}", Label)
            label.update(f"{self.field_name(field)}: {text}")
            label.add_class("-shown")
            self.query_one(f"#f-{field}", Input).focus()
            return
        bottom = self.query_one(".form-error", Label)
        bottom.update(text)
        bottom.add_class("-shown")


class DealPickDialog(AppBound, ModalScreen[int | None]):
    """Pick one of a contact's deals (``enter``), or ``escape``. Returns the deal's id."""

    DEFAULT_CSS = """
    DealPickDialog {
        align: center middle;
    }
    DealPickDialog > Vertical {
        width: 72;
        max-width: 95%;
        height: auto;
        max-height: 80%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DealPickDialog .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    DealPickDialog OptionList {
        height: auto;
        max-height: 16;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changes")]

    def __init__(self, title: str, choices: list[DealRow]) -> None:
        super().__init__()
        self.given_title = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        lang = self.crm.lang
        with Vertical():
            yield Label(self.given_title, classes="form-title")
            yield OptionList(
                *[
                    Option(f"{d.title} · {d.money} · {d.stage_title(lang)}", id=str(d.id))
                    for d in self.choices
                ],
                id="deal-choices",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#deal-choices")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
