"""The contact card: everything about a client on one screen, and the keys to add to it.

Header (name, company, phones, e-mails, birthday, owner, tags), the contact's deals with their stages,
open tasks, where the client came from (the converted lead's source, keyword, campaign, landing page),
and the whole interaction history newest first, paged as the user scrolls. ``l`` logs a call, ``a`` adds
a note, ``t`` plans a task, ``e`` edits the header, ``d`` edits a deal, ``o`` reopens a won or lost deal,
``c`` opens the company, ``x`` archives the contact (or restores it) after asking; what is saved shows at
once.

A call-script pane can dock beside the timeline in ``#call-pane`` (hidden until it is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Static

from crm_tui.i18n import t
from crm_tui.i18n_format import span, when
from crm_tui.i18n_words import task_title
from crm_tui.screens.dialogs.contact_form import ContactFormDialog
from crm_tui.screens.dialogs.deal_form import DealFormDialog, DealPickDialog, refusal_text
from crm_tui.screens.dialogs.log_call import LogCallDialog
from crm_tui.screens.dialogs.mail_form import MailDialog
from crm_tui.screens.dialogs.note import NoteDialog, QuestionDialog, ReasonForm
from crm_tui.screens.dialogs.task_form import TaskFormDialog
from crm_tui.services import clock, contacts, deals, interactions
from crm_tui.services.errors import CrmError
from crm_tui.services.validation import format_phone
from crm_tui.services.views import ContactCard, DealRow, InteractionRow, TaskRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.timeline import Timeline

TIMELINE_PAGE = 50


@dataclass(frozen=True)
class CardData:
    card: ContactCard
    first_page: list[InteractionRow]


def load_card(contact_id: int, limit: int = TIMELINE_PAGE) -> CardData:
    """The card and the newest page of its history (one thread-worker call)."""
    return CardData(contacts.card(contact_id), interactions.timeline(contact_id=contact_id, limit=limit))


def header_content(card: ContactCard, lang: str = "en") -> Content:
    company = card.company_name or t("card.no-company", lang)
    if card.company_name and card.company_archived:
        company += f" ({t('company.archived', lang)})"
    parts: list[str | tuple[str, str]] = [(card.name, "bold"), ("  ·  " + company, "$text-muted")]
    parts += [f"   #{card.id}"]
    if card.archived_at is not None:
        parts += ["   ", (t("card.archived", lang), "bold $warning")]
    if card.duplicate_of is not None:
        duplicate = t("card.duplicate-of", lang).format(
            id=card.duplicate_of, name=card.duplicate_of_name or ""
        )
        parts += ["   ", (duplicate, "$warning")]
    parts += ["\n"]
    phones = ", ".join(format_phone(p) for p in card.phones) or "—"
    emails = ", ".join(card.emails) or "—"
    parts += [("☎ ", "$success"), phones, ("   ✉ ", "$accent"), emails, "\n"]
    birthday = when(card.birthday, "%d %b %Y", lang) if card.birthday else "—"
    parts += [(t("card.birthday", lang) + " ", "$text-muted"), birthday]
    owner = f"{card.owner_name} (@{card.owner_login})" if card.owner_login else "—"
    parts += [("   " + t("card.owner", lang) + " ", "$text-muted"), owner]
    parts += [("   " + t("card.tags", lang) + " ", "$text-muted"), ", ".join(card.tags) or "—"]
    return Content.assemble(*parts)


def deals_content(card: ContactCard, lang: str = "en") -> Content:
    if not card.deals:
        return Content.styled(t("card.no-deals", lang), "$text-muted")
    parts: list[str | tuple[str, str]] = []
    for deal in card.deals:
        style = {"won": "$success", "lost": "$error"}.get(deal.stage_kind, "$primary")
        if parts:
            parts.append("\n")
        # The amount first: where the card is narrow the line wraps in the stage's name, never in the
        # middle of "393 000 ₽".
        parts += [(deal.title, "bold"), "\n  ", deal.money, " · ", (deal.stage_title(lang), style)]
    return Content.assemble(*parts)


def origin_content(card: ContactCard, lang: str = "en") -> Content:
    """Where the client came from: the converted lead's source, keyword, campaign and landing page."""
    origin = card.origin
    if origin is None:
        return Content.styled(t("card.origin-by-hand", lang), "$text-muted")
    parts: list[str | tuple[str, str]] = [(t("card.origin-lead", lang).format(id=origin.lead_id), "bold")]
    source = origin.source + (f" / {origin.medium}" if origin.medium else "")
    for key, value in (
        ("card.origin-source", source),
        ("card.origin-keyword", origin.keyword),
        ("card.origin-campaign", origin.campaign),
        ("card.origin-page", origin.landing_page),
    ):
        parts += ["\n", (t(key, lang) + " ", "$text-muted"), value or "—"]
    if card.later_leads:
        parts += ["\n", (t("card.origin-later", lang).format(count=len(card.later_leads)), "$text-muted")]
    return Content.assemble(*parts)


def task_text(task: TaskRow, now: datetime, lang: str = "en") -> str:
    due = when(clock.to_local(task.due_at), "%d %b %H:%M", lang)
    return f"{due} ({span(clock.relative(task.due_at, now), lang)})"


def tasks_content(card: ContactCard, now: datetime, lang: str = "en") -> Content:
    if not card.open_tasks:
        return Content.styled(t("card.no-tasks", lang), "$text-muted")
    parts: list[str | tuple[str, str]] = []
    for task in card.open_tasks:
        if parts:
            parts.append("\n")
        style = "bold $warning" if task.due_at < now else "$text-muted"
        title = task_title(task.title, task.kind, lang, task.linked_label)
        parts += [(title, "bold"), "\n  ", (task_text(task, now, lang), style)]
    return Content.assemble(*parts)


class ContactCardScreen(AppBound, Screen[None]):
    """One contact (``self.contact_id``); ``escape`` goes back to where it was opened from."""

    CSS_PATH = "contact_card.tcss"
    AUTO_FOCUS = "#timeline"
    """Focused as the screen is composed, so its first frame already shows the history focused."""
    BINDINGS = [
        Binding("l", "log_call", "Log call", id="card.log-call", tooltip="Log a call with its outcome"),
        Binding("a", "add_note", "Note", id="card.note", tooltip="Add a note to the history"),
        Binding("t", "add_task", "Task", id="card.task", tooltip="Plan a task for this contact"),
        Binding("e", "edit", "Edit", id="card.edit", tooltip="Edit name, company, phones, e-mails, tags"),
        Binding("k", "call", "Call", id="card.call", tooltip="Call with a script; the pane docks beside"),
        Binding(
            "d", "edit_deal", "Edit deal", id="card.edit-deal", tooltip="Edit one of the contact's deals"
        ),
        Binding("i", "deal_lines", "Lines", id="card.lines", tooltip="A deal's lines: what is sold"),
        Binding(
            "o",
            "reopen_deal",
            "Reopen deal",
            id="card.reopen",
            tooltip="Reopen a won or lost deal, with a reason",
            show=False,  # seldom needed: in the help (?) and the palette, not in the footer
        ),
        Binding(
            "c", "company", "Company", id="card.company", tooltip="The contact's company: fields, contacts"
        ),
        Binding("x", "archive", "Archive", id="card.archive", tooltip="Archive the contact (or restore it)"),
        Binding(
            "m", "mail", "E-mail", id="card.mail", tooltip="E-mail from a template", show=False
        ),  # in the help, off the footer
        Binding("escape", "back", "Back", id="card.back", tooltip="Back to the previous screen"),
    ]

    def __init__(self, contact_id: int) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.card: ContactCard | None = None
        self.resumed = False
        """Set once the screen has been shown: a later resume (back from a dialog) reloads it."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.crm.t("card.loading"), id="card-header")
        with Horizontal(id="card-body"):
            with VerticalScroll(id="card-side"):
                yield Static(self.crm.t("card.deals"), classes="section-title", id="deals-title")
                yield Static("", id="card-deals")
                yield Static(self.crm.t("card.tasks"), classes="section-title", id="tasks-title")
                yield Static("", id="card-tasks")
                yield Static(self.crm.t("card.origin"), classes="section-title", id="origin-title")
                yield Static("", id="card-origin")
            with Vertical(id="card-main"):
                yield Static(self.crm.t("card.history"), classes="section-title", id="history-title")
                yield Timeline(id="timeline")
            yield Vertical(id="call-pane")
        yield KeyFooter()

    @property
    def timeline(self) -> Timeline:
        return self.query_one("#timeline", Timeline)

    async def on_mount(self) -> None:
        await self.reload()

    async def on_screen_resume(self) -> None:
        if self.resumed and self.card is not None:
            await self.reload()
        self.resumed = True

    async def reload(self) -> None:
        try:
            data = await self.crm.run_db(load_card, self.contact_id)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.show_card(data.card)
        self.timeline.show_first(data.first_page, TIMELINE_PAGE)
        self.show_history_title()

    def show_card(self, card: ContactCard) -> None:
        self.card = card
        self.sub_title = card.name
        lang = self.crm.lang
        self.query_one("#card-header", Static).update(header_content(card, lang))
        self.query_one("#card-deals", Static).update(deals_content(card, lang))
        self.query_one("#card-tasks", Static).update(tasks_content(card, self.crm.now(), lang))
        self.query_one("#card-origin", Static).update(origin_content(card, lang))

    def show_history_title(self) -> None:
        shown = len(self.timeline.rows)
        more = "" if self.timeline.exhausted else "+"
        title = self.crm.t("card.history-count").format(count=f"{shown}{more}")
        self.query_one("#history-title", Static).update(title, layout=False)  # one line, full width

    @on(Timeline.NeedMore)
    def more_history(self, event: Timeline.NeedMore) -> None:
        self.load_more(event.before)

    @work(group="card-timeline")
    async def load_more(self, before: tuple[datetime, int]) -> None:
        rows = await self.crm.run_db(
            interactions.timeline, contact_id=self.contact_id, before=before, limit=TIMELINE_PAGE
        )
        self.timeline.add_page(rows)
        self.show_history_title()

    # --- keys -------------------------------------------------------------------------------------------

    def added(self, row: InteractionRow | None) -> None:
        if row is not None:
            self.timeline.prepend(row)
            self.show_history_title()

    def action_log_call(self) -> None:
        self.app.push_screen(LogCallDialog(self.contact_id, self.open_deal_id()), self.added)

    def open_deal_id(self) -> int | None:
        """The deal a call from the card is about: the contact's first open deal as the card lists them
        (a call through a script, ``k``, goes to the same one)."""
        deals = self.card.deals if self.card is not None else []
        return next((d.id for d in deals if d.stage_kind == "open"), None)

    def action_add_note(self) -> None:
        self.app.push_screen(NoteDialog(self.contact_id), self.added)

    def action_mail(self) -> None:
        def sent(row: InteractionRow | None) -> None:
            if row is not None:
                self.added(row)
                self.notify(self.crm.t("mail.sent").format(subject=row.subject))

        self.app.push_screen(MailDialog(self.contact_id, self.open_deal_id()), sent)

    def action_add_task(self) -> None:
        async def created(task: TaskRow | None) -> None:
            if task is not None:
                due = task_text(task, self.crm.now(), self.crm.lang)
                self.notify(self.crm.t("card.task-planned").format(title=task.title, due=due))
                await self.refresh_card()

        self.app.push_screen(TaskFormDialog(self.contact_id), created)

    def action_edit(self) -> None:
        if self.card is None:
            return
        if self.card.archived_at is not None:
            self.notify(self.crm.t("card.restore-first"), severity="warning")
            return

        def saved(card: ContactCard | None) -> None:
            if card is not None:
                self.show_card(card)
                self.notify(self.crm.t("card.saved").format(name=card.name))

        self.app.push_screen(ContactFormDialog(self.card), saved)

    async def action_company(self) -> None:
        if self.card is None:
            return
        if self.card.company_id is None:
            self.notify(self.crm.t("card.no-company-yet"), severity="warning")
            return
        await self.crm.open_company(self.card.company_id)

    @work(group="card-archive", exclusive=True, exit_on_error=False)
    async def action_archive(self) -> None:
        """Archive after asking (the contact leaves lists and search, keeps its history), or restore."""
        if self.card is None:
            return
        t = self.crm.t
        restoring = self.card.archived_at is not None
        key = "card.restore" if restoring else "card.archive"
        question = t(f"{key}-question").format(name=self.card.name)
        if not await self.app.push_screen_wait(QuestionDialog(t(f"{key}-title"), question)):
            return
        rule = contacts.restore if restoring else contacts.archive
        card = await self.crm.run_rule(rule, self.contact_id)
        if card is not None:
            self.notify(t(f"{key}-done").format(name=card.name, id=card.id))
            await self.reload()

    async def action_call(self) -> None:
        from crm_tui.widgets.call_script import CallScriptPane

        pane = self.query_one("#call-pane", Vertical)
        if await CallScriptPane.start(
            self, contact_id=self.contact_id, deal_id=self.open_deal_id(), into=pane, fill=True
        ):
            pane.add_class("-open")

    async def on_call_script_pane_ended(self) -> None:
        self.query_one("#call-pane", Vertical).remove_class("-open")
        self.timeline.focus()
        await self.reload()

    async def pick_deal(self, title: str, choices: list[DealRow]) -> DealRow | None:
        """The one deal there is, or the one picked from a list; ``None`` when there is none or cancelled."""
        if len(choices) == 1:
            return choices[0]
        if not choices:
            return None
        picked = await self.app.push_screen_wait(DealPickDialog(title, choices))
        return next((d for d in choices if d.id == picked), None)

    @work(group="card-deal")
    async def action_edit_deal(self) -> None:
        """The deal form on one of the contact's deals (picked when there are several)."""
        if self.card is None:
            return
        if not self.card.deals:
            self.notify(self.crm.t("card.no-deals"), severity="warning")
            return
        deal = await self.pick_deal(self.crm.t("card.pick-deal"), self.card.deals)
        if deal is None:
            return
        saved = await self.app.push_screen_wait(DealFormDialog(deal))
        if saved is not None:
            self.notify(self.crm.t("deal-form.saved").format(title=saved.title, amount=saved.money))
            await self.reload()

    @work(group="card-deal")
    async def action_deal_lines(self) -> None:
        """The lines of one of the contact's deals (picked when there are several); the card follows."""
        from crm_tui.screens.deal_lines import DealLinesScreen

        if self.card is None:
            return
        if not self.card.deals:
            self.notify(self.crm.t("card.no-deals"), severity="warning")
            return
        deal = await self.pick_deal(self.crm.t("card.pick-deal"), self.card.deals)
        if deal is None:
            return
        await self.app.push_screen_wait(DealLinesScreen(deal.id))
        await self.reload()

    @work(group="card-deal")
    async def action_reopen_deal(self) -> None:
        """A won or lost deal back to the stage it closed from: picked, confirmed, with a reason."""
        if self.card is None:
            return
        closed = [d for d in self.card.deals if d.stage_kind != "open"]
        if not closed:
            self.notify(self.crm.t("card.no-closed"), severity="warning")
            return
        deal = await self.pick_deal(self.crm.t("card.pick-closed"), closed)
        if deal is None:
            return
        lang = self.crm.lang
        question = self.crm.t("card.reopen-question").format(title=deal.title, stage=deal.stage_title(lang))
        if not await self.app.push_screen_wait(QuestionDialog(self.crm.t("card.reopen"), question)):
            return
        reason = await self.app.push_screen_wait(
            ReasonForm(self.crm.t("card.reopen-why").format(title=deal.title))
        )
        if reason is None:
            return
        try:
            row = await self.crm.run_db(
                deals.reopen, deal.id, reason, by=self.crm.user_id, now=self.crm.now()
            )
        except CrmError as error:
            self.notify(refusal_text(error, self.crm.t), severity="error")
            return
        stage = row.stage_title(lang)
        self.notify(self.crm.t("card.reopened").format(title=row.title, stage=stage))
        await self.reload()

    async def refresh_card(self) -> None:
        card = await self.crm.run_db(contacts.card, self.contact_id)
        self.show_card(card)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
