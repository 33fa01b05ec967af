"""The App: modes 1-5, global bindings, the command palette; ``make_app()`` builds it for the CLI and tests.

Keys promised to users: ``1`` leads, ``2`` deals, ``3`` contacts, ``4`` tasks, ``5`` reports, ``/`` search,
``?`` help for the current screen, ``ctrl+p`` the command palette, ``q`` quit. Each mode keeps its own
screen stack, so a card opened from the inbox is still there after ``2`` and back to ``1``.

Screens are imported when their mode is first opened, so start-up pays only for the inbox.
"""

from __future__ import annotations

import gc
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.signal import Signal
from textual.widget import AwaitMount
from textual.worker import Worker, WorkerState

from crm_tui.data.db import database, open_database
from crm_tui.i18n import pick_lang
from crm_tui.i18n import t as translate
from crm_tui.messages import LeadsArrived
from crm_tui.services import clock as clock_service
from crm_tui.services import leads, pipelines, users
from crm_tui.services.errors import CrmError
from crm_tui.services.views import UserView
from crm_tui.widgets.app_bound import translate_bindings

T = TypeVar("T")
Clock = Callable[[], datetime]
POLL_SECONDS = 2.0
SETTLE_MEMORY_AFTER = 1.0  # seconds after the first paint
DAILY_BACKUP_AFTER = 5.0  # seconds after the first paint: the daily backup stays out of start-up's way
COLLECT_CHECK_EVERY = 0.5  # seconds: how often the app looks whether it may collect garbage
IDLE_BEFORE_COLLECT = 0.5  # seconds without a key or a mouse event: the person is not waiting on the app
COLLECT_ANYWAY_AFTER = 200_000  # new container objects: collected then even in the middle of typing
ENV_EXIT_AFTER_PAINT = "CRM_EXIT_AFTER_PAINT"  # bench: quit once the first screen has painted its data


def _leads() -> Screen[Any]:
    from crm_tui.screens.lead_inbox import LeadInboxScreen

    return LeadInboxScreen()


def _deals(board: Any = None) -> Screen[Any]:
    from crm_tui.screens.deal_kanban import DealKanbanScreen

    return DealKanbanScreen(board)


def _read_board() -> Any:
    from crm_tui.screens.deal_kanban import load_board

    return load_board()


def _contacts(first_page: Any = None) -> Screen[Any]:
    from crm_tui.screens.contacts import ContactListScreen

    return ContactListScreen(first_page)


def _read_contacts() -> Any:
    from crm_tui.screens.contacts import first_page

    return first_page()


def _tasks() -> Screen[Any]:
    from crm_tui.screens.tasks import TaskQueueScreen

    return TaskQueueScreen()


def _reports() -> Screen[Any]:
    try:
        from crm_tui.screens.reports import ReportsScreen  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != "crm_tui.screens.reports":
            raise
        from crm_tui.screens.help import PlaceholderScreen

        return PlaceholderScreen("placeholder.reports")
    return ReportsScreen()  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class Refusal:
    """A rule's refusal carried out of a database worker as its result (see ``CrmApp.run_db``)."""

    error: CrmError


MODE_KEYS = {"1": "leads", "2": "deals", "3": "contacts", "4": "tasks", "5": "reports"}
LATER_SCREENS = (
    "crm_tui.screens.deal_kanban",
    "crm_tui.screens.contacts",
    "crm_tui.screens.contact_card",
    "crm_tui.screens.company",
    "crm_tui.screens.lead_detail",
    "crm_tui.screens.tasks",
    "crm_tui.screens.reports",
    "crm_tui.screens.search",
    "crm_tui.screens.help",
)
"""Screens imported only when first opened; the app imports them once it has started (``settle_memory``)."""
READ_FIRST: dict[str, Callable[[], Any]] = {"deals": _read_board, "contacts": _read_contacts}
"""What a mode's screen shows first, read before its first opening makes it (the factory takes it)."""


class CrmApp(App[None]):
    """The desk. Screens call services through :meth:`run_db`, off the event loop."""

    # Every screen's styles, read at start-up: read on a screen's first opening, they restyle the app.
    CSS_PATH = [
        "app.tcss",
        "screens/lead_inbox.tcss",
        "screens/deal_kanban.tcss",
        "screens/contacts.tcss",
        "screens/contact_card.tcss",
        "screens/company.tcss",
        "screens/tasks.tcss",
        "screens/reports.tcss",
    ]
    TITLE = "crm-tui"
    MODES = {
        "leads": _leads,
        "deals": _deals,  # made through mode_screen, with the board read beforehand (READ_FIRST)
        "contacts": _contacts,
        "tasks": _tasks,
        "reports": _reports,
    }
    DEFAULT_MODE = "leads"
    BINDINGS = [
        Binding("1", "switch_mode('leads')", "Leads", id="mode.leads", tooltip="The lead inbox"),
        Binding("2", "switch_mode('deals')", "Deals", id="mode.deals", tooltip="The deal kanban"),
        Binding("3", "switch_mode('contacts')", "Contacts", id="mode.contacts", tooltip="The contact list"),
        Binding("4", "switch_mode('tasks')", "Tasks", id="mode.tasks", tooltip="The task queue"),
        Binding("5", "switch_mode('reports')", "Reports", id="mode.reports", tooltip="Funnel and reports"),
        Binding(
            "slash", "search", "Search", id="app.search", tooltip="Search leads, contacts, companies, deals"
        ),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key of this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the app"),
    ]

    def __init__(
        self,
        db_url: str,
        *,
        clock: Clock | None = None,
        user: str | None = None,
        lang: str = "en",
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.lang = pick_lang(lang)
        self.MODES = {mode: partial(self.mode_screen, mode, factory) for mode, factory in self.MODES.items()}
        self.opened_modes: set[str] = {self.DEFAULT_MODE}
        self.read_first: dict[str, Any] = {}
        """What a mode's first opening read for its screen (``action_switch_mode``), until it is made."""
        super().__init__()
        self.db_url = db_url
        self.clock: Clock = clock or clock_service.utcnow
        self.user_login = user
        self.user_id = 0
        self.user: UserView | None = None
        self.poll_seconds = poll_seconds
        self.latest_lead_id = 0
        self.stage_names_ru: dict[str, str] = {}
        """The default pipeline's stages: English name -> Russian (``Stage.name_ru``), read at start-up."""
        self.last_input = 0.0
        """When the last key or mouse event came (``time.monotonic()``)."""
        self.memory_settled = False
        """Set by :meth:`settle_memory` (a second after the first paint) until the app unmounts."""
        self.leads_arrived = Signal[LeadsArrived](self, "leads-arrived")
        """Published on the UI loop when leads newer than the last poll exist (any process wrote them)."""
        translate_bindings(self, self.lang)
        from crm_tui.commands import CrmCommands, RecordSearch

        self.COMMANDS = App.COMMANDS | {CrmCommands, RecordSearch}

    # -- modes --------------------------------------------------------------------------------------------

    def switch_mode(self, mode: str) -> AwaitMount:
        self.opened_modes.add(mode)
        return super().switch_mode(mode)

    async def action_switch_mode(self, mode: str) -> None:
        """A mode's first opening reads what its screen shows first (the kanban's board, the first page of
        contacts) before the screen is made, so the screen is drawn whole with its first layout. Made
        empty and filled once shown, it took one or two layouts more."""
        read = READ_FIRST.get(mode)
        if read is not None and mode not in self.opened_modes:
            self.opened_modes.add(mode)
            try:
                self.read_first[mode] = await self.run_db(read)
            except Exception:  # noqa: BLE001 - any failure: the screen reads it itself, and says what went wrong
                self.log.warning(f"reading ahead for {mode} failed; the screen reads it itself")
        await super().action_switch_mode(mode)

    def mode_screen(self, mode: str, factory: Callable[..., Screen[Any]]) -> Screen[Any]:
        """A mode's screen, made by ``factory`` (with what was read for it, if anything) and marked as
        styled by the app's current CSS.

        Textual refreshes the whole app's CSS when a mode's screen is older than the last change of CSS,
        and a new screen counts as older than any: the first opening of each mode restyled and laid out
        the screen being left, for nothing. A new screen is styled as it mounts, with the CSS as it is."""
        read = self.read_first.pop(mode, None)
        screen = factory() if read is None else factory(read)
        screen._css_update_count = self._css_update_count
        return screen

    # -- the contract other screens use ---------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def t(self, key: str) -> str:
        return translate(key, self.lang)

    async def run_db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a service call in a thread worker with its own connection; await its result.

        A rule's refusal (``CrmError``) is raised here, as the service raised it, for the caller to word
        in its place (beside a field, a toast in the desk's language). It comes back as the worker's
        result, not as its failure: a failed worker is the unexpected, which the app reports itself, and a
        refusal reported there too was shown twice. Anything else still fails the worker.
        """
        worker = self._db_worker(fn, args, kwargs)
        result: T | Refusal = await worker.wait()
        if isinstance(result, Refusal):
            raise result.error
        return result

    async def run_rule(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """A rule as this user at this moment (``by``, ``now``); its refusal becomes a toast and ``None``."""
        try:
            return await self.run_db(fn, *args, by=self.user_id, now=self.now(), **kwargs)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")
            return None

    @work(thread=True, exit_on_error=False, group="db")
    def _db_worker(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T | Refusal:
        with database.connection_context():
            try:
                return fn(*args, **kwargs)
            except CrmError as error:
                return Refusal(error)

    async def open_contact(self, contact_id: int) -> None:
        from crm_tui.screens.contact_card import ContactCardScreen

        await self.push_screen(ContactCardScreen(contact_id))

    async def open_company(self, company_id: int) -> None:
        from crm_tui.screens.company import CompanyScreen

        await self.push_screen(CompanyScreen(company_id))

    async def open_lead(self, lead_id: int) -> None:
        from crm_tui.screens.lead_detail import LeadDetailScreen

        await self.push_screen(LeadDetailScreen(lead_id))

    async def open_record(self, kind: str, record_id: int) -> None:
        """Open a search or palette hit: lead, contact, company or deal (its contact)."""
        from crm_tui.services import deals
        from crm_tui.services.errors import CrmError

        try:
            if kind == "lead":
                await self.open_lead(record_id)
            elif kind == "contact":
                await self.open_contact(record_id)
            elif kind == "company":
                await self.open_company(record_id)
            elif kind == "deal":
                deal = await self.run_db(deals.row, record_id)
                if deal.contact_id is None:
                    self.notify(self.t("open.deal-no-contact").format(title=deal.title), severity="warning")
                else:
                    await self.open_contact(deal.contact_id)
        except CrmError as error:
            self.notify(error.message, title=error.title, severity="error")

    # -- start-up -------------------------------------------------------------------------------------

    def on_load(self) -> None:
        open_database(self.db_url)
        with database.connection_context():
            now = self.now()
            users.ensure_default(now)
            pipelines.ensure_default()
            self.stage_names_ru = {
                stage.name: stage.name_ru
                for stage in pipelines.stages(pipelines.default_pipeline_id())
                if stage.name_ru
            }
            self.user = users.current(self.user_login, now=now)
            self.user_id = self.user.id
            self.latest_lead_id = leads.latest_id()

    def on_mount(self) -> None:
        from crm_tui.widgets.reminders import start_reminders

        # Reminders: desktop notification when there is one, else toast + bell; count in the header.
        self.reminder_loop = start_reminders(
            self, now=self.now, user_id=lambda: self.user_id, notifier=getattr(self, "notifier", None)
        )
        if self.poll_seconds > 0:
            self.set_interval(self.poll_seconds, self.poll_leads, name="lead-poll")

    def first_paint_done(self) -> None:
        """Called by the first screen once its data is on screen (the start-up benchmark exits here)."""
        self.set_timer(SETTLE_MEMORY_AFTER, self.settle_memory)
        self.set_timer(DAILY_BACKUP_AFTER, self.daily_backup)
        if os.environ.get(ENV_EXIT_AFTER_PAINT):
            self.call_after_refresh(self.exit)

    def daily_backup(self) -> None:
        """The desk's daily backup (``services.backup.auto_backup``), in a thread a while after start-up:
        a cheap look at the newest backup's time, and a copy when it is a day old."""
        self.run_worker(
            self._backup_in_thread, thread=True, group="backup", exclusive=True, exit_on_error=False
        )

    def _backup_in_thread(self) -> None:
        from crm_tui.services import backup

        with database.connection_context():
            backup.auto_backup(database.obj, now=self.now(), now_epoch=time.time())

    def settle_memory(self) -> None:
        """Once the app has started, put what start-up built out of the garbage collector's way, and
        collect garbage while the person is not waiting on the app.

        Modules, styles and the first screen (some 160k objects) stay for the whole session, yet every
        full collection scanned them: 60-400 ms, landing in the middle of key presses. They are collected
        once and frozen. Runs a moment after the first paint, not in the way of it. The other screens'
        modules are imported first (some 70 ms, the reports' charts most of it), so a screen's first
        opening does not pay for its import, and they are frozen with the rest.

        Then the collector's own schedule is turned off: it struck wherever allocations crossed its
        threshold, often inside the opening of a screen (a screen closed leaves cycles of widgets to
        collect), for 50-190 ms. The app collects instead when no key or mouse event came for half a
        second (:meth:`collect_when_idle`), which takes 10-20 ms of a pause nobody waits on.
        """
        if not self.memory_settled:
            self.memory_settled = True
            for module in LATER_SCREENS:
                importlib.import_module(module)
            gc.collect()
            gc.freeze()
            gc.disable()
            self.set_interval(COLLECT_CHECK_EVERY, self.collect_when_idle, name="idle-gc")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def collect_when_idle(self) -> None:
        """Collect the garbage made since the last time (what is not frozen) when the app has been left
        alone for a moment, or when so much has piled up that it cannot wait (a key held down)."""
        waiting = gc.get_count()[0]
        idle = time.monotonic() - self.last_input >= IDLE_BEFORE_COLLECT
        if waiting >= COLLECT_ANYWAY_AFTER or (idle and waiting >= 1_000):
            gc.collect()

    def on_unmount(self) -> None:
        """Give the collector back what was frozen, and its own schedule (an app run inside a longer
        process: tests, benches)."""
        if self.memory_settled:
            gc.enable()
            gc.unfreeze()
            self.memory_settled = False

    # -- live updates ---------------------------------------------------------------------------------

    def poll_leads(self) -> None:
        """Look for leads registered by any process (the CLI, the web form); cheap: ``MAX(id)``."""
        self.run_worker(
            self._poll_in_thread, thread=True, group="lead-poll", exclusive=True, exit_on_error=False
        )

    def _poll_in_thread(self) -> None:
        with database.connection_context():
            latest = leads.latest_id()
        if latest > self.latest_lead_id:
            self.call_from_thread(self._leads_arrived, latest)

    def _leads_arrived(self, latest: int) -> None:
        if latest <= self.latest_lead_id:
            return
        message = LeadsArrived(self.latest_lead_id, latest)
        self.latest_lead_id = latest
        self.leads_arrived.publish(message)
        self.screen.post_message(LeadsArrived(message.after_id, message.latest_id))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for the unexpected: a worker that failed says so instead of failing silently."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            self.notify(message, title=getattr(error, "title", "Error"), severity="error", timeout=10)

    # -- global actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A dialog keeps the keys: ``1``-``5``, ``/`` and ``?`` do nothing while one is open."""
        if action in ("switch_mode", "search", "help") and isinstance(self.screen, ModalScreen):
            return False
        return True

    async def action_search(self) -> None:
        from crm_tui.screens.search import SearchScreen

        if not isinstance(self.screen, SearchScreen):
            await self.push_screen(SearchScreen())

    async def action_help(self) -> None:
        from crm_tui.screens.help import HelpScreen

        await self.push_screen(HelpScreen(self.screen))


def make_app(
    db_url: str | None = None,
    *,
    clock: Clock | None = None,
    user: str | None = None,
    lang: str | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> CrmApp:
    from crm_tui.data.db import resolve_url

    return CrmApp(
        resolve_url(db_url), clock=clock, user=user, lang=pick_lang(lang), poll_seconds=poll_seconds
    )


def run_app(*, db: str | None = None, user: str | None = None, lang: str | None = None) -> None:
    make_app(db, user=user, lang=lang).run()
