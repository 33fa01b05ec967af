"""One lead: its fields and UTM, possible duplicates (``enter`` opens a match), open tasks, history.

``e`` edit, ``l`` log a call / e-mail / meeting / note, ``t`` take, ``c`` qualify and convert, ``x``
disqualify (undone with ``ctrl+z`` while its toast shows), ``r`` back to work (a disqualified lead),
``escape`` back to where it was opened from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.i18n import status_name
from crm_tui.i18n_format import span, when
from crm_tui.i18n_words import event_text, event_words, task_title
from crm_tui.messages import RecordChanged
from crm_tui.screens.dialogs.lead_form import LeadFormDialog
from crm_tui.screens.dialogs.log_call import LogCallDialog
from crm_tui.screens.dialogs.note import ReasonForm
from crm_tui.services import clock, leads, tasks
from crm_tui.services.errors import CrmError
from crm_tui.services.validation import format_phone
from crm_tui.services.views import InteractionRow, LeadDetail, LeadEdited, TaskRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.timeline import kind_label
from crm_tui.widgets.undo import offer


@dataclass(frozen=True)
class LeadPage:
    lead: LeadDetail
    tasks: list[TaskRow]
    history: list[InteractionRow]


def load_lead(lead_id: int) -> LeadPage:
    lead = leads.get(lead_id, history_limit=30)
    return LeadPage(lead, tasks.open_for(lead_id=lead_id), lead.history)


def edit_lead(lead_id: int, new: leads.NewLead, *, by: int, now: datetime) -> LeadEdited:
    """What the lead form returned, as a correction of the fields it shows."""
    changes = leads.LeadEdit(
        name=new.name,
        phone=new.phone,
        email=new.email or "",
        company_name=new.company_name,
        comment=new.comment,
        utm_source=new.utm_source,
    )
    return leads.edit(lead_id, changes, by=by, now=now)


class LeadDetailScreen(AppBound, Screen[None]):
    CSS_PATH = "lead_inbox.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="lead.back", tooltip="Back to the list"),
        Binding("t", "take", "Take", id="inbox.take", tooltip="Take the lead into work"),
        Binding(
            "c", "convert", "Convert", id="inbox.convert", tooltip="Qualify and convert; opens the contact"
        ),
        Binding(
            "x", "disqualify", "Disqualify", id="inbox.disqualify", tooltip="Close the lead, with a reason"
        ),
        Binding("k", "call", "Call", id="lead.call", tooltip="Call with a script; the pane docks beside"),
        Binding("e", "edit", "Edit", id="lead.edit", tooltip="Correct the lead's fields"),
        Binding("l", "log", "Log", id="lead.log", tooltip="Log a call, an e-mail, a meeting or a note"),
        Binding(
            "r",
            "requalify",
            "Back to work",
            id="lead.requalify",
            tooltip="A disqualified lead comes back to work, with a first-call task",
        ),
    ]

    def __init__(self, lead_id: int) -> None:
        super().__init__()
        self.lead_id = lead_id
        self.page: LeadPage | None = None

    def compose(self) -> ComposeResult:
        t = self.crm.t
        yield Header()
        yield Static("…", id="lead-header")
        with Horizontal(id="lead-body"):
            with Vertical(id="lead-left"):
                yield Static(t("lead.duplicates"), classes="section-title")
                yield OptionList(id="lead-duplicates")
                yield Static(t("lead.tasks"), classes="section-title")
                yield Static("", id="lead-tasks")
            with Vertical(id="lead-right"):
                yield Static(t("lead.history"), classes="section-title")
                yield Static("", id="lead-history")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(group="lead-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            self.page = await self.crm.run_db(load_lead, self.lead_id)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return
        self.show(self.page)

    def show(self, page: LeadPage) -> None:
        lead = page.lead
        now = self.crm.now()
        lang = self.crm.lang
        utm = " · ".join(
            f"{k}={v}"
            for k, v in (
                ("source", lead.utm_source),
                ("medium", lead.utm_medium),
                ("campaign", lead.utm_campaign),
                ("term", lead.utm_term),
                ("content", lead.utm_content),
            )
            if v
        )
        t = self.crm.t
        owner = f"{lead.owner_name} (@{lead.owner_login})" if lead.owner_login else "—"
        age = clock.age(lead.created_at, now)
        registered = when(clock.to_local(lead.created_at), "%d %b %Y %H:%M", lang)
        lines = [
            f"[b]{_esc(lead.name)}[/b]  ·  {status_name(lead.status, lang)}  ·  #{lead.id}",
            f"☎ {format_phone(lead.phone)}   ✉ {_esc(lead.email or '—')}"
            f"   {t('lead.company')} {_esc(lead.company_name or '—')}",
            f"{t('lead.registered')} {registered} ({span(age if age == 'now' else f'{age} ago', lang)})"
            f"   {t('lead.owner')} {_esc(owner)}"
            + (f"   {t('lead.repeats')} {lead.repeat_count}" if lead.repeat_count else ""),
            f"UTM {_esc(utm or '—')}",
        ]
        if lead.landing_page or lead.referrer:
            page_url, referrer = _esc(lead.landing_page or "—"), _esc(lead.referrer or "—")
            lines.append(f"{t('lead.page')} {page_url}   {t('lead.referrer')} {referrer}")
        if lead.comment:
            lines.append(f"{t('lead.comment')}: {_esc(lead.comment)}")
        if lead.disqualify_reason:
            lines.append(f"[b]{t('lead.disqualified')}:[/b] {_esc(lead.disqualify_reason)}")
        self.query_one("#lead-header", Static).update("\n".join(lines))
        options = self.query_one("#lead-duplicates", OptionList)
        if lead.duplicates:
            options.set_options(
                Option(f"{hit.kind}: {hit.label} — {hit.detail}", id=f"{hit.kind}-{hit.id}")
                for hit in lead.duplicates
            )
            options.disabled = False
        else:
            options.set_options([Option(self.crm.t("lead.no-duplicates"), disabled=True)])
        task_lines = [
            f"• {_esc(task_title(task.title, task.kind, lang, task.linked_label))}"
            f" — {span(clock.relative(task.due_at, now), lang)}"
            for task in page.tasks
        ]
        self.query_one("#lead-tasks", Static).update("\n".join(task_lines) or "—")
        history = [
            f"{when(clock.to_local(i.at), '%d %b %H:%M', lang)}  {kind_label(i.kind, lang)[0]:<12}"
            f" {_esc(history_text(i, lang, self.crm.stage_names_ru))}"
            for i in page.history
        ]
        self.query_one("#lead-history", Static).update("\n".join(history) or "—")

    @on(OptionList.OptionSelected, "#lead-duplicates")
    async def open_match(self, event: OptionList.OptionSelected) -> None:
        if not event.option.id:
            return
        kind, _, record_id = event.option.id.partition("-")
        await self.crm.open_record(kind, int(record_id))

    def action_back(self) -> None:
        self.dismiss(None)

    async def action_call(self) -> None:
        from crm_tui.widgets.call_script import CallScriptPane

        open_tasks = self.page.tasks if self.page is not None else []
        first_call = next((t.id for t in open_tasks if t.kind == "first_call"), None)
        await CallScriptPane.start(
            self, lead_id=self.lead_id, task_id=first_call, into=self.query_one("#lead-body", Horizontal)
        )

    def on_call_script_pane_ended(self) -> None:
        self.load()

    @work(group="lead-action", exclusive=True, exit_on_error=False)
    async def action_take(self) -> None:
        if await self.crm.run_rule(leads.take, self.lead_id) is not None:
            self.post_message(RecordChanged("lead", self.lead_id))
            self.load()

    @work(group="lead-action", exclusive=True, exit_on_error=False)
    async def action_convert(self) -> None:
        result = await self.crm.run_rule(leads.convert, self.lead_id, qualify_first=True)
        if result is not None:
            self.post_message(RecordChanged("lead", self.lead_id))
            self.load()
            await self.crm.open_contact(result.contact_id)

    @work(group="lead-action", exclusive=True, exit_on_error=False)
    async def action_disqualify(self) -> None:
        name = self.page.lead.name if self.page else f"#{self.lead_id}"
        duplicate = self.page.lead.duplicates[0] if self.page and self.page.lead.duplicates else None
        reason = await self.app.push_screen_wait(ReasonForm.disqualify(self.crm.t, name, duplicate))
        if reason and await self.crm.run_rule(leads.disqualify, self.lead_id, reason) is not None:
            self.post_message(RecordChanged("lead", self.lead_id))
            self.load()
            offer(self.crm, self.crm.t("lead.disqualified-note").format(name=name), self.undo_disqualify)

    async def undo_disqualify(self) -> None:
        await self.crm.run_db(leads.requalify, self.lead_id, by=self.crm.user_id, now=self.crm.now())
        self.post_message(RecordChanged("lead", self.lead_id))
        if self.is_attached:
            self.load()

    @work(group="lead-action", exclusive=True, exit_on_error=False)
    async def action_requalify(self) -> None:
        row = await self.crm.run_rule(leads.requalify, self.lead_id)
        if row is not None:
            self.notify(self.crm.t("lead.requalified").format(name=row.name))
            self.post_message(RecordChanged("lead", self.lead_id))
            self.load()

    @work(group="lead-action", exclusive=True, exit_on_error=False)
    async def action_edit(self) -> None:
        if self.page is None:
            return
        new = await self.app.push_screen_wait(LeadFormDialog(self.crm.lang, lead=self.page.lead))
        if new is None:
            return
        edited = await self.crm.run_rule(edit_lead, self.lead_id, new)
        if edited is None:
            return
        if not edited.changes:
            self.notify(self.crm.t("lead.unchanged"))
        else:
            self.notify(self.crm.t("lead.saved").format(name=edited.lead.name))
            self.post_message(RecordChanged("lead", self.lead_id))
            self.load()

    def action_log(self) -> None:
        contact_id = self.page.lead.contact_id if self.page else None

        def logged(row: object) -> None:
            if row is not None:
                self.load()

        self.app.push_screen(LogCallDialog(contact_id, lead_id=self.lead_id), logged)


def history_text(item: InteractionRow, lang: str, stage_names: dict[str, str]) -> str:
    """One event of the lead's history in ``lang``: a coded event worded from its parameters, else what
    the rules or a person wrote (with the outcome of a call)."""
    if item.code:
        return event_text(item.code, item.params, lang)
    text = event_words(item.subject or item.summary, lang, stage_names, item.kind)
    if item.outcome and item.kind in ("call_in", "call_out"):
        from crm_tui.i18n_words import outcome_word

        text = " · ".join(part for part in (outcome_word(item.outcome, lang), text) if part)
    return text


def _esc(text: str) -> str:
    return text.replace("[", r"\[")
