"""A company: its requisites and channels, its contacts (``enter`` opens a card) and its deals.

Opened with ``c`` on a contact card, or from search. ``e`` edits it, ``x`` archives it (or restores an
archived one) after asking, ``escape`` goes back.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.dialogs.company_form import CompanyFormDialog
from crm_tui.screens.dialogs.note import QuestionDialog
from crm_tui.services import companies
from crm_tui.services.errors import CrmError
from crm_tui.services.validation import format_phone
from crm_tui.services.views import CompanyCard
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter


def header_content(card: CompanyCard, tr: Callable[[str], str]) -> Content:
    row = card.company
    parts: list[str | tuple[str, str]] = [(row.name, "bold"), f"   #{row.id}"]
    if row.archived_at is not None:
        parts += ["   ", (tr("company.archived"), "bold $warning")]
    requisites = [f"{tr('company.inn')} {row.inn or '—'}"]
    if row.kpp:
        requisites.append(f"{tr('company.kpp')} {row.kpp}")
    parts += ["\n", "   ".join(requisites), "\n"]
    parts += [("☎ ", "$success"), format_phone(row.phone) if row.phone else "—"]
    parts += [("   ✉ ", "$accent"), row.email or "—", ("   ⌂ ", "$accent"), row.website or "—", "\n"]
    parts += [(tr("company.address") + " ", "$text-muted"), row.address or "—"]
    owner = f"{row.owner_name} (@{row.owner_login})" if row.owner_login else "—"
    parts += [("   " + tr("card.owner") + " ", "$text-muted"), owner]
    return Content.assemble(*parts)


class CompanyScreen(AppBound, Screen[None]):
    """One company (``self.company_id``)."""

    CSS_PATH = "company.tcss"
    AUTO_FOCUS = "#company-contacts"
    BINDINGS = [
        Binding(
            "e", "edit", "Edit", id="company.edit", tooltip="Edit name, INN, KPP, phone, e-mail, address"
        ),
        Binding("x", "archive", "Archive", id="company.archive", tooltip="Archive or restore the company"),
        Binding("escape", "back", "Back", id="company.back", tooltip="Back to the previous screen"),
    ]

    def __init__(self, company_id: int) -> None:
        super().__init__()
        self.company_id = company_id
        self.card: CompanyCard | None = None

    def compose(self) -> ComposeResult:
        t = self.crm.t
        yield Header()
        yield Static(t("card.loading"), id="company-header")
        with Horizontal(id="company-body"):
            with Vertical(id="company-left"):
                yield Static(t("company.contacts"), classes="section-title", id="company-contacts-title")
                yield OptionList(id="company-contacts")
            with Vertical(id="company-right"):
                yield Static(t("card.deals"), classes="section-title")
                yield Static("", id="company-deals")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(group="company-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            card = await self.crm.run_db(companies.card, self.company_id)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.show(card)

    def show(self, card: CompanyCard) -> None:
        self.card = card
        t = self.crm.t
        lang = self.crm.lang
        self.sub_title = card.company.name
        self.query_one("#company-header", Static).update(header_content(card, t))
        options = self.query_one("#company-contacts", OptionList)
        if card.contacts:
            options.set_options(
                Option(
                    f"{c.name}"
                    + (f"  ·  {format_phone(c.phone)}" if c.phone else "")
                    + (f"  ·  {c.email}" if c.email else "")
                    + (f"  ({t('company.archived')})" if c.archived_at else ""),
                    id=str(c.id),
                )
                for c in card.contacts
            )
            options.highlighted = 0
        else:
            options.set_options([Option(t("company.no-contacts"), disabled=True)])
        if card.deals:
            parts: list[str | tuple[str, str]] = []
            for deal in card.deals:
                style = {"won": "$success", "lost": "$error"}.get(deal.stage_kind, "$primary")
                if parts:
                    parts.append("\n")
                parts += [(deal.title, "bold"), "\n  ", deal.money, " · ", (deal.stage_title(lang), style)]
            self.query_one("#company-deals", Static).update(Content.assemble(*parts))
        else:
            self.query_one("#company-deals", Static).update(Content.styled(t("card.no-deals"), "$text-muted"))

    @on(OptionList.OptionSelected, "#company-contacts")
    async def open_contact(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            await self.crm.open_contact(int(event.option.id))

    def action_edit(self) -> None:
        if self.card is None:
            return
        if self.card.company.archived_at is not None:
            self.notify(self.crm.t("company.restore-first"), severity="warning")
            return

        def saved(card: CompanyCard | None) -> None:
            if card is not None:
                self.show(card)
                self.notify(self.crm.t("card.saved").format(name=card.company.name))

        self.app.push_screen(CompanyFormDialog(self.card.company), saved)

    @work(group="company-action", exclusive=True, exit_on_error=False)
    async def action_archive(self) -> None:
        if self.card is None:
            return
        t = self.crm.t
        row = self.card.company
        restoring = row.archived_at is not None
        key = "company.restore" if restoring else "company.archive"
        question = t(f"{key}-question").format(name=row.name)
        if not await self.app.push_screen_wait(QuestionDialog(t(f"{key}-title"), question)):
            return
        rule = companies.restore if restoring else companies.archive
        if await self.crm.run_rule(rule, self.company_id) is not None:
            self.notify(t(f"{key}-done").format(name=row.name))
            self.load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
