"""The contact list (mode ``3``): newest first, paged through the database; ``enter`` opens the card,
``n`` adds a contact (archived contacts are not listed)."""

from __future__ import annotations

from functools import partial
from typing import cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header, Static

from crm_tui.i18n_format import span
from crm_tui.services import clock, contacts, dupes
from crm_tui.services.validation import format_phone
from crm_tui.services.views import ContactCard, ContactRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.paged_table import PagedTable

PAGE = 50


def fetch_contacts(owner_id: int | None, after: int | None, limit: int) -> list[ContactRow]:
    return contacts.list_page(after_id=after, owner_id=owner_id, limit=limit)


def first_page() -> list[ContactRow]:
    """Everyone's newest contacts, as the list opens (read before the screen is made)."""
    return fetch_contacts(None, None, PAGE)


class ContactListScreen(AppBound, Screen[None]):
    """Contacts: name, company, phone, e-mail, owner, since. ``n`` adds one; ``/`` searches every field."""

    CSS_PATH = "contacts.tcss"
    BINDINGS = [
        Binding("n", "new_contact", "New", id="contacts.new", tooltip="Add a contact by hand"),
        Binding("enter", "open_contact", "Open", id="contacts.open", tooltip="The contact card"),
        Binding(
            "d",
            "dupes",
            "Duplicates",
            id="contacts.dupes",
            tooltip="Likely duplicates of this contact; merge one into it",
        ),
        Binding("m", "toggle_mine", "Mine/all", id="contacts.mine", tooltip="My contacts or everyone's"),
        Binding("r", "reload", "Reload", id="contacts.reload", tooltip="Load the list again"),
    ]

    mine: reactive[bool] = reactive(False, init=False)
    """Only contacts I own."""

    def __init__(self, first: list[ContactRow] | None = None) -> None:
        """``first``, when given, is the first page (:func:`first_page`), shown with the first layout."""
        super().__init__()
        self.first = first
        self.away = False

    def compose(self) -> ComposeResult:
        t = self.crm.t
        yield Header()
        yield Static("", id="contacts-summary")
        yield PagedTable[ContactRow](
            [
                (t("contacts.col.name"), 24, 12),
                (t("contacts.col.company"), 20, 8),
                (t("contacts.col.phone"), 16),
                (t("contacts.col.email"), 24, 10),
                (t("contacts.col.owner"), 14, 6),
                (t("contacts.col.since"), 6),
            ],
            key_of=lambda row: row.id,
            render=self.render_contact,
            page_size=PAGE,
            id="contacts",
        )
        yield Static(t("contacts.empty"), id="contacts-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        first, self.first = self.first, None
        self.load(first)

    def on_screen_suspend(self) -> None:
        self.away = True

    def on_screen_resume(self) -> None:
        """Back from another screen: contacts may have been added or edited meanwhile (here, by a convert,
        by the CLI). Not on the resumes that come with the screen's own opening (Textual sends two)."""
        if self.away:
            self.away = False
            self.table.refresh_top()

    @property
    def table(self) -> PagedTable[ContactRow]:
        return cast("PagedTable[ContactRow]", self.query_one("#contacts", PagedTable))

    def action_reload(self) -> None:
        self.load()

    def load(self, first: list[ContactRow] | None = None) -> None:
        """The list from its first page, as the filter says; ``first`` is that page when already read."""
        self.table.load(partial(fetch_contacts, self.crm.user_id if self.mine else None), first=first)
        self.show_summary()

    def watch_mine(self) -> None:
        self.action_reload()

    def action_toggle_mine(self) -> None:
        self.mine = not self.mine

    def show_summary(self) -> None:
        t = self.crm.t
        who = t("filter.mine") if self.mine else t("filter.everyone")
        self.query_one("#contacts-summary", Static).update(
            f"{t('contacts.title')} · {who} (m) · / {t('app.search')}"
        )

    def render_contact(self, row: ContactRow) -> list[str | Text]:
        return [
            ("⚠ " if row.duplicate_of else "") + row.name,
            row.company_name or "—",
            format_phone(row.phone) if row.phone else "—",
            row.email or "—",
            row.owner_name or "—",
            span(clock.age(row.created_at, self.crm.now()), self.crm.lang),
        ]

    @on(PagedTable.Loaded, "#contacts")
    def loaded(self, event: PagedTable.Loaded) -> None:
        self.set_class(event.count == 0 and not self.mine, "-empty")

    @on(PagedTable.RowChosen, "#contacts")
    async def chosen(self, event: PagedTable.RowChosen) -> None:
        await self.crm.open_contact(event.row.id)

    def action_new_contact(self) -> None:
        from crm_tui.screens.dialogs.contact_form import ContactFormDialog

        def added(card: ContactCard | None) -> None:
            if card is not None:
                self.notify(self.crm.t("contacts.added").format(name=card.name, id=card.id))
                self.load()

        self.app.push_screen(ContactFormDialog(), added)

    async def action_open_contact(self) -> None:
        row = self.table.current()
        if row is None:
            self.notify("No contact here", severity="warning")
            return
        await self.crm.open_contact(row.id)

    async def action_dupes(self) -> None:
        """The focused contact's likely duplicates; the one chosen is merged into it after a question."""
        from crm_tui.screens.dialogs.dupes import DupesDialog
        from crm_tui.screens.dialogs.note import QuestionDialog

        row = self.table.current()
        if row is None:
            self.notify("No contact here", severity="warning")
            return
        t = self.crm.t
        found = await self.crm.run_db(dupes.of_contact, row.id)
        if not found:
            self.notify(t("dupes.none").format(name=row.name))
            return
        names = {member.id: member.name for member, _, _ in found}

        async def merge(other: int) -> None:
            result = await self.crm.run_rule(dupes.merge_contacts, row.id, other)
            if result is not None:
                self.notify(t("dupes.merged").format(other=other, name=result.keep_name, keep=row.id))
                self.load()

        def answered(other: int, yes: bool | None) -> None:
            if yes:
                self.run_worker(merge(other), exclusive=True, group="dupes")

        def chosen(other: int | None) -> None:
            if other is None:
                return
            question = t("dupes.merge-question").format(
                other=other, other_name=names[other], keep=row.id, keep_name=row.name
            )
            self.app.push_screen(QuestionDialog(t("dupes.merge-title"), question), partial(answered, other))

        self.app.push_screen(DupesDialog(row.name, found), chosen)
