"""The lead inbox (mode ``1``): newest first, filtered, paged through the database, live.

Triage from the keyboard: ``t`` take, ``c`` qualify and convert (opens the new contact card), ``x``
disqualify with a reason, ``d`` open the possible duplicate, ``enter`` the lead's detail, ``n`` a new
lead. Leads registered by other processes (the CLI, the web form) appear on top, marked ``●``.
"""

from __future__ import annotations

from functools import partial
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header, Static

from crm_tui.i18n import status_name
from crm_tui.i18n_format import span
from crm_tui.messages import LeadsArrived, RecordChanged
from crm_tui.screens.dialogs.lead_form import LeadFormDialog
from crm_tui.screens.dialogs.note import ReasonForm
from crm_tui.services import clock, leads
from crm_tui.services.validation import format_phone
from crm_tui.services.views import LeadRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.paged_table import PagedTable
from crm_tui.widgets.undo import offer

STATUS_FILTERS: tuple[str | None, ...] = (
    None,
    "open",
    "new",
    "in_work",
    "qualified",
    "converted",
    "disqualified",
)
STATUS_STYLES = {
    "new": "bold",
    "in_work": "cyan",
    "qualified": "green",
    "converted": "dim",
    "disqualified": "dim",
}


def fetch_leads(
    status: str | None, source: str | None, owner_id: int | None, after: int | None, limit: int
) -> list[LeadRow]:
    return leads.list_page(status=status, source=source, owner_id=owner_id, after_id=after, limit=limit)


class LeadInboxScreen(AppBound, Screen[None]):
    """Leads newest first: name, phone, age, status, source / keyword, owner; ``⚠`` a possible duplicate."""

    CSS_PATH = "lead_inbox.tcss"
    BINDINGS = [
        Binding("n", "new_lead", "New lead", id="inbox.new", tooltip="Register a lead by hand"),
        Binding(
            "enter", "open_lead", "Open", id="inbox.open", tooltip="The lead's detail, duplicates, history"
        ),
        Binding("t", "take", "Take", id="inbox.take", tooltip="Take the lead into work"),
        Binding("k", "call", "Call", id="inbox.call", tooltip="Call with a script; the pane docks beside"),
        Binding(
            "c",
            "convert",
            "Convert",
            id="inbox.convert",
            tooltip="Qualify and convert into a contact and a deal; opens the contact card",
        ),
        Binding(
            "x", "disqualify", "Disqualify", id="inbox.disqualify", tooltip="Close the lead, with a reason"
        ),
        Binding(
            "d",
            "open_duplicate",
            "Match",
            id="inbox.duplicate",
            tooltip="Open the lead or contact with the same phone or e-mail",
        ),
        Binding("s", "cycle_status", "Status", id="inbox.status", tooltip="Filter by status"),
        Binding("o", "cycle_source", "Source", id="inbox.source", tooltip="Filter by source (utm_source)"),
        Binding("m", "toggle_mine", "Mine/all", id="inbox.mine", tooltip="My leads or everyone's"),
        Binding(
            "f",
            "clear_filters",
            "Clear filters",
            id="inbox.clear",
            show=False,
            tooltip="Show every lead again",
        ),
    ]

    status: reactive[str | None] = reactive(None, init=False)
    """Status filter: ``None`` for all, ``"open"`` for new + in work + qualified, or one status."""
    source: reactive[str | None] = reactive(None, init=False)
    """Source filter (utm_source), ``None`` for all."""
    mine: reactive[bool] = reactive(False, init=False)
    """Only leads I own."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] | None = None
        self.opened_lead: int | None = None
        """The lead whose detail is open over the inbox: its row is read again on the way back."""
        self.painted = False

    def compose(self) -> ComposeResult:
        t = self.crm.t
        yield Header()
        yield Static("", id="inbox-summary")
        yield PagedTable[LeadRow](
            [
                ("", 2),
                (t("inbox.col.name"), 22, 12),
                (t("inbox.col.phone"), 16),
                (t("inbox.col.age"), 7),
                (t("inbox.col.status"), 14),
                (t("inbox.col.source"), 32, 8),
                (t("inbox.col.owner"), 12, 6),
            ],
            key_of=lambda row: row.id,
            render=self.render_lead,
            id="leads",
        )
        yield Static(t("inbox.empty"), id="inbox-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.crm.leads_arrived.subscribe(self, self.leads_arrived)
        self.reload()

    # -- loading --------------------------------------------------------------------------------------

    @property
    def table(self) -> PagedTable[LeadRow]:
        return cast("PagedTable[LeadRow]", self.query_one("#leads", PagedTable))

    def filtered(self) -> bool:
        return bool(self.status or self.source or self.mine)

    def reload(self) -> None:
        owner = self.crm.user_id if self.mine else None
        self.table.load(partial(fetch_leads, self.status, self.source, owner))
        self.show_summary()

    def watch_status(self) -> None:
        self.reload()

    def watch_source(self) -> None:
        self.reload()

    def watch_mine(self) -> None:
        self.reload()

    def render_lead(self, row: LeadRow) -> list[str | Text]:
        lang = self.crm.lang
        source = " / ".join(p for p in (row.utm_source, row.utm_term) if p) or "—"
        return [
            Text("⚠", style="bold yellow") if row.possible_duplicate else Text(""),
            row.name,
            format_phone(row.phone),
            span(clock.age(row.created_at, self.crm.now()), self.crm.lang),
            Text(status_name(row.status, lang), style=STATUS_STYLES.get(row.status, "")),
            source,
            row.owner_login or "—",
        ]

    @on(PagedTable.Loaded, "#leads")
    def loaded(self, event: PagedTable.Loaded) -> None:
        empty = event.count == 0
        self.set_class(empty and not self.filtered(), "-empty")
        self.query_one("#inbox-empty", Static).update(
            self.crm.t("inbox.none-match") if self.filtered() else self.crm.t("inbox.empty")
        )
        self.set_class(empty and self.filtered(), "-none-match")
        self.show_summary()
        if not self.painted:
            self.painted = True
            self.crm.first_paint_done()

    def show_summary(self) -> None:
        t = self.crm.t
        lang = self.crm.lang
        status = status_name(self.status, lang) if self.status else t("filter.all")
        who = t("filter.mine") if self.mine else t("filter.everyone")
        source = self.source or t("filter.all")
        parts = [
            t("inbox.title"),
            f"{t('inbox.status').lower()}: {status} (s)",
            f"{t('inbox.source').lower()}: {source} (o)",
            f"{who} (m)",
        ]
        self.query_one("#inbox-summary", Static).update(" · ".join(parts))

    # -- live arrivals --------------------------------------------------------------------------------

    @work(group="inbox-arrivals", exclusive=True, exit_on_error=False)
    async def leads_arrived(self, message: LeadsArrived) -> None:
        table = self.table
        held = table.rows_held
        if not held:
            self.reload()
            return
        if table.first_page_index != 0:
            return
        top = max(row.id for row in held)
        rows = await self.crm.run_db(leads.newer_than, top)
        wanted = [row for row in rows if self.matches(row)]
        table.prepend(wanted)
        if wanted:
            self.notify(f"{len(wanted)} {self.crm.t('inbox.arrived')}", timeout=4)

    def matches(self, row: LeadRow) -> bool:
        if self.status == "open" and row.status not in leads.OPEN_STATUSES:
            return False
        if self.status not in (None, "open") and row.status != self.status:
            return False
        if self.source and row.utm_source != self.source:
            return False
        return not (self.mine and (self.crm.user is None or row.owner_login != self.crm.user.login))

    # -- filters --------------------------------------------------------------------------------------

    def action_cycle_status(self) -> None:
        index = STATUS_FILTERS.index(self.status) if self.status in STATUS_FILTERS else 0
        self.status = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]

    @work(group="inbox-sources", exclusive=True, exit_on_error=False)
    async def action_cycle_source(self) -> None:
        if self.sources is None:
            self.sources = await self.crm.run_db(leads.sources)
        choices: list[str | None] = [None, *self.sources]
        index = choices.index(self.source) if self.source in choices else 0
        self.source = choices[(index + 1) % len(choices)]

    def action_toggle_mine(self) -> None:
        self.mine = not self.mine

    def action_clear_filters(self) -> None:
        if self.filtered():
            self.set_reactive(LeadInboxScreen.status, None)
            self.set_reactive(LeadInboxScreen.source, None)
            self.set_reactive(LeadInboxScreen.mine, False)
            self.reload()

    # -- triage ---------------------------------------------------------------------------------------

    def selected(self) -> LeadRow | None:
        row = self.table.current()
        if row is None:
            self.notify("No lead here", severity="warning")
        return row

    @on(PagedTable.RowChosen, "#leads")
    async def chosen(self, event: PagedTable.RowChosen) -> None:
        await self.open_lead(event.row.id)

    async def action_open_lead(self) -> None:
        row = self.selected()
        if row is not None:
            await self.open_lead(row.id)

    async def open_lead(self, lead_id: int) -> None:
        self.opened_lead = lead_id
        await self.crm.open_lead(lead_id)

    async def on_screen_resume(self) -> None:
        """Back from a lead's detail: show what was done there (taken, converted...) on its row."""
        lead_id, self.opened_lead = self.opened_lead, None
        if lead_id is not None:
            self.table.replace_row(await self.crm.run_db(leads.row, lead_id))

    async def action_call(self) -> None:
        from crm_tui.widgets.call_script import CallScriptPane

        row = self.selected()
        if row is not None:
            await CallScriptPane.start(self, lead_id=row.id)

    async def on_call_script_pane_ended(self) -> None:
        self.table.focus()
        row = self.selected()
        if row is not None:
            self.changed(await self.crm.run_db(leads.row, row.id))

    def changed(self, row: LeadRow) -> None:
        self.table.replace_row(row)
        self.post_message(RecordChanged("lead", row.id))

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def action_take(self) -> None:
        row = self.selected()
        if row is None:
            return
        taken = await self.crm.run_rule(leads.take, row.id)
        if taken is not None:
            self.changed(taken)
            self.notify(f"{taken.name}: {status_name(taken.status, self.crm.lang)}")

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def action_convert(self) -> None:
        row = self.selected()
        if row is None:
            return
        result = await self.crm.run_rule(leads.convert, row.id, qualify_first=True)
        if result is None:
            return
        self.changed(await self.crm.run_db(leads.row, row.id))
        self.post_message(RecordChanged("contact", result.contact_id))
        linked = " (linked to the existing contact)" if result.linked_existing_contact else ""
        self.notify(f"{row.name} converted: deal #{result.deal_id}{linked}")
        await self.crm.open_contact(result.contact_id)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def action_disqualify(self) -> None:
        row = self.selected()
        if row is None:
            return
        matches = await self.crm.run_db(leads.duplicates, row.id) if row.possible_duplicate else []
        duplicate = matches[0] if matches else None
        reason = await self.app.push_screen_wait(ReasonForm.disqualify(self.crm.t, row.name, duplicate))
        if not reason:
            return
        closed = await self.crm.run_rule(leads.disqualify, row.id, reason)
        if closed is not None:
            self.changed(closed)

            async def undo() -> None:  # ctrl+z while the toast shows: the lead is back in work
                back = await self.crm.run_db(
                    leads.requalify, closed.id, by=self.crm.user_id, now=self.crm.now()
                )
                if self.is_attached:
                    self.changed(back)

            offer(self.crm, f"{closed.name}: {status_name(closed.status, self.crm.lang)}", undo)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def action_open_duplicate(self) -> None:
        row = self.selected()
        if row is None:
            return
        matches = await self.crm.run_db(leads.duplicates, row.id)
        if not matches:
            self.notify("No other lead or contact has this phone or e-mail")
        elif len(matches) == 1:
            await self.crm.open_record(matches[0].kind, matches[0].id)
        else:
            await self.crm.open_lead(row.id)  # the detail lists every match, enter opens one

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def action_new_lead(self) -> None:
        new = await self.app.push_screen_wait(LeadFormDialog(self.crm.lang))
        if new is None:
            return
        registered = await self.crm.run_rule(leads.register, new)
        if registered is None:
            return
        self.post_message(RecordChanged("lead", registered.id))
        self.notify(f"Lead {registered.name} registered; call task set for an hour from now")
        self.crm.latest_lead_id = max(self.crm.latest_lead_id, registered.id)
        if self.table.first_page_index == 0 and self.table.rows_held and self.matches(registered):
            self.table.prepend([registered])
            self.table.move_cursor(row=0)
        else:
            self.reload()
