"""One lead: its fields and UTM, possible duplicates (``enter`` opens a match), open tasks, history.

``t`` take, ``c`` qualify and convert, ``x`` disqualify, ``escape`` back to where it was opened from.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.i18n import status_name
from crm_tui.i18n_format import span, when
from crm_tui.i18n_words import event_words, task_title
from crm_tui.messages import RecordChanged
from crm_tui.screens.dialogs.note import ReasonForm
from crm_tui.services import clock, interactions, leads, tasks
from crm_tui.services.errors import CrmError
from crm_tui.services.validation import format_phone
from crm_tui.services.views import InteractionRow, LeadDetail, TaskRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.timeline import kind_label


@dataclass(frozen=True)
class LeadPage:
    lead: LeadDetail
    tasks: list[TaskRow]
    history: list[InteractionRow]


def load_lead(lead_id: int) -> LeadPage:
    return LeadPage(
        leads.get(lead_id),
        tasks.open_for(lead_id=lead_id),
        interactions.timeline(lead_id=lead_id, limit=30),
    )


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
            f" {_esc(event_words(i.subject or i.summary, lang, self.crm.stage_names_ru, i.kind))}"
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


def _esc(text: str) -> str:
    return text.replace("[", r"\[")
