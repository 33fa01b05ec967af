"""The task queue (mode ``4``): overdue, today, upcoming and done today; mine or everyone's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import WorkerCancelled

from crm_tui.i18n import t
from crm_tui.i18n_format import span, when
from crm_tui.i18n_words import linked_text, task_title
from crm_tui.screens.dialogs.task_dialogs import NewTask, NewTaskDialog, ReassignDialog, SnoozeDialog
from crm_tui.services import clock, task_queue, tasks, users
from crm_tui.services.task_queue import QueueGroup
from crm_tui.services.views import TaskRow
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter
from crm_tui.widgets.text import clip
from crm_tui.widgets.undo import offer

REFRESH_SECONDS = 10.0


def task_line(
    row: TaskRow, now: datetime, *, show_assignee: bool = True, lang: str = "en", width: int = 0
) -> Content:
    """One task as the queue shows it: title, linked record, due (relative and absolute), assignee.

    Within ``width`` cells (0: no limit) the title and the linked record give up characters first, so a
    task stays on one line at 80 columns.
    """
    moment = row.done_at or row.due_at
    at = when(clock.to_local(moment), "%a %d %b %H:%M", lang)
    relative = span(clock.relative(moment, now), lang)
    if row.done_at:
        relative = t("tasks.done-when", lang).format(when=relative)
    who = f"@{row.assignee_login}" if row.assignee_login else "-"
    tail = f"  {relative:>12}  {at}" + (f"  {who}" if show_assignee else "")
    title_width, linked_width = TITLE_WIDTH, LINKED_WIDTH
    if width:  # the same room on every line (an assignee counted at its widest), so columns align
        fixed = len(f"  {relative:>12}  {at}") + (2 + WHO_WIDTH if show_assignee else 0)
        room = max(MIN_TITLE + MIN_LINKED, width - fixed - 2)
        if room < TITLE_WIDTH + LINKED_WIDTH:
            title_width = max(MIN_TITLE, room * TITLE_WIDTH // (TITLE_WIDTH + LINKED_WIDTH))
            linked_width = max(MIN_LINKED, room - title_width)
    title = clip(task_title(row.title, row.kind, lang, row.linked_label), title_width)
    linked = clip(linked_text(row.linked_label, lang), linked_width)
    return Content(f"{title:<{title_width}}  {linked:<{linked_width}}{tail}")


TITLE_WIDTH, LINKED_WIDTH = 38, 28
MIN_TITLE, MIN_LINKED = 14, 10
WHO_WIDTH = 9


LEADING_ROLES = ("admin", "head")


class TaskQueueScreen(AppBound, Screen[None]):
    """What is due: each task can be done, snoozed, reassigned, opened or called from the keyboard."""

    CSS_PATH = "tasks.tcss"
    BINDINGS = [
        Binding("space", "done", "Done", id="tasks.done", tooltip="Mark the highlighted task done"),
        Binding("s", "snooze", "Snooze", id="tasks.snooze", tooltip="15 min, 1 h, tomorrow 9:00 or a time"),
        Binding("r", "reassign", "Reassign", id="tasks.reassign", tooltip="Give the task to someone else"),
        Binding("enter", "open", "Open", id="tasks.open", tooltip="Open the linked lead or contact card"),
        Binding("n", "new", "New task", id="tasks.new", tooltip="Plan a new task for yourself"),
        Binding("m", "toggle_scope", "Mine/all", id="tasks.scope", tooltip="My tasks or everyone's"),
        Binding("k", "call", "Call", id="tasks.call", tooltip="Call with a script (linked lead/contact)"),
        Binding(
            "a", "script_stats", "Script stats", id="tasks.script-stats", tooltip="How calls went, by script"
        ),
    ]

    everyone: reactive[bool] = reactive(False, init=False)
    """Show everyone's tasks (heads of sales), not only mine."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[QueueGroup] = []
        self.rows: dict[int, TaskRow] = {}
        self.resumed_once = False
        self.reads = 0
        self.shown_at: tuple[list[QueueGroup], datetime] | None = None
        """The groups and the moment last shown, to lay them out again for a new width."""
        self.shown_width = 0
        """The width the lines were last cut to."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="queue-summary")
        with Horizontal(id="queue-body"):
            yield OptionList(id="queue")
        yield KeyFooter()

    async def on_mount(self) -> None:
        user = self.crm.user
        # Heads of sales and admins open on everyone's tasks; the others on their own.
        self.set_reactive(TaskQueueScreen.everyone, user is not None and user.role in LEADING_ROLES)
        self.set_interval(REFRESH_SECONDS, self.reload)
        await self.reload()

    async def on_screen_resume(self) -> None:
        if self.resumed_once:  # coming back to the queue: it may have changed meanwhile
            await self.reload()
        self.resumed_once = True

    async def watch_everyone(self) -> None:
        await self.reload()

    # --- loading ----------------------------------------------------------------------------------------

    async def reload(self, keep: int | None = None) -> None:
        """Read the queue again. Reads can overlap (the timer, a key, a save): only the latest is shown,
        so an older read finishing last never puts back what a newer one already replaced."""
        self.reads += 1
        read = self.reads
        now = self.crm.now()
        try:
            groups = await self.crm.run_db(
                task_queue.queue, now=now, assignee_id=None if self.everyone else self.crm.user_id
            )
        except WorkerCancelled:
            # the app is closing (a call saved as interrupted on quit ends its pane, which reloads the
            # queue): there is nothing left to show it on
            return
        if read == self.reads:
            self.show(groups, now, keep)

    def show(self, groups: list[QueueGroup], now: datetime, keep: int | None = None) -> None:
        queue = self.query_one("#queue", OptionList)
        keep = keep if keep is not None else self.highlighted_id()
        width = self.line_width()
        self.shown_at, self.shown_width = (groups, now), width
        self.groups = groups
        self.rows = {}
        options: list[Option] = []
        for group in groups:
            title = self.group_title(group)
            shown = len(group.rows)
            more = self.crm.t("tasks.first").format(count=shown) if group.count > shown else ""
            options.append(
                Option(
                    Content.styled(f"{title} · {group.count}{more}", "bold"),
                    id=f"group-{group.key}",
                    disabled=True,
                )
            )
            for row in group.rows:
                if row.id in self.rows:  # read while a write moved it between groups: list it once
                    continue
                self.rows[row.id] = row
                line = task_line(row, now, show_assignee=self.everyone, lang=self.crm.lang, width=width)
                options.append(Option(line, id=f"task-{row.id}"))
        queue.set_options(options)
        target = keep if keep in self.rows else next(iter(self.rows), None)
        if target is not None:
            queue.highlighted = queue.get_option_index(f"task-{target}")
        scope = self.crm.t("tasks.everyone" if self.everyone else "tasks.mine")
        counts = " · ".join(f"{self.group_title(g).lower()} {g.count}" for g in groups)
        self.query_one("#queue-summary", Static).update(f"{scope} · {counts}")
        self.set_class(any(g.key == "overdue" and g.count for g in groups), "-overdue")

    def line_width(self) -> int:
        """The cells a task line may take: the queue's width less the scroll bar a long queue shows."""
        return max(0, self.query_one("#queue", OptionList).scrollable_content_region.width - 1)

    def on_resize(self) -> None:
        """Lines are cut to the queue's width: lay them out again for a new one."""
        if self.shown_at is not None and self.line_width() != self.shown_width:
            self.show(*self.shown_at)

    def group_title(self, group: QueueGroup) -> str:
        """``Overdue``, ``Today``… in the app's language (the service names groups in English)."""
        key = f"tasks.group.{group.key}"
        title = self.crm.t(key)
        return group.title if title == key else title

    def highlighted_id(self) -> int | None:
        queue = self.query_one("#queue", OptionList)
        if queue.highlighted is None or queue.option_count == 0:
            return None
        option_id = queue.get_option_at_index(queue.highlighted).id or ""
        return int(option_id.removeprefix("task-")) if option_id.startswith("task-") else None

    def current(self) -> TaskRow | None:
        task_id = self.highlighted_id()
        if task_id is None:
            self.notify(self.crm.t("tasks.no-task"), severity="warning")
            return None
        return self.rows.get(task_id)

    def next_task_id(self) -> int | None:
        """The task below the highlighted one (where the cursor goes when this one leaves the list)."""
        ids = [row.id for group in self.groups for row in group.rows]
        current = self.highlighted_id()
        if current not in ids:
            return None
        position = ids.index(current)
        return ids[position + 1] if position + 1 < len(ids) else None

    async def _write(
        self,
        fn: Any,
        *args: Any,
        done: str = "",
        keep: int | None = None,
        undo: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Run a rule with this user and clock; show its refusal; reload the queue. ``keep``: the task the
        cursor rests on afterwards (``-1``: the one the rule returned). ``undo``: a rule that undoes it
        (called with the task's id), offered from the toast and with ``ctrl+z``."""
        result = await self.crm.run_rule(fn, *args, **kwargs)
        if result is None:
            return None
        if undo is not None:
            task_id = result.id

            async def undone() -> None:
                back = await self.crm.run_db(undo, task_id, by=self.crm.user_id, now=self.crm.now())
                if self.is_attached:
                    await self.reload(back.id)

            offer(self.crm, done, undone)
        elif done:
            self.notify(done)
        await self.reload(result.id if keep == -1 else keep)
        return result

    # --- actions ----------------------------------------------------------------------------------------

    async def action_done(self) -> None:
        row = self.current()
        if row is not None:
            done = self.crm.t("tasks.done-note").format(title=row.title)
            await self._write(tasks.complete, row.id, done=done, keep=self.next_task_id(), undo=tasks.reopen)

    async def action_snooze(self) -> None:
        row = self.current()
        if row is None:
            return

        async def snoozed(due: object) -> None:
            if isinstance(due, datetime):
                at = when(clock.to_local(due), "%a %d %b %H:%M", self.crm.lang)
                done = self.crm.t("tasks.snoozed").format(when=at, title=row.title)
                before = row.due_at

                def back(task_id: int, *, by: int | None, now: datetime) -> TaskRow:
                    return tasks.reschedule(task_id, before, by=by, now=now)

                await self._write(tasks.reschedule, row.id, due, done=done, keep=row.id, undo=back)

        await self.app.push_screen(SnoozeDialog(row.title, self.crm.now), snoozed)

    async def action_reassign(self) -> None:
        row = self.current()
        if row is None:
            return
        people = await self.crm.run_db(users.list_all)

        async def reassigned(user_id: object) -> None:
            if isinstance(user_id, int) and user_id:
                name = next((u.login for u in people if u.id == user_id), "?")
                done = self.crm.t("tasks.reassigned").format(login=name, title=row.title)
                await self._write(tasks.reassign, row.id, user_id, done=done)

        await self.app.push_screen(ReassignDialog(row.title, people, row.assignee_login), reassigned)

    async def action_new(self) -> None:
        async def created(new: object) -> None:
            if isinstance(new, NewTask):
                done = self.crm.t("tasks.created").format(title=new.title)
                # the cursor goes to the new task: the next key acts on it, not on the row it left
                await self._write(tasks.create, new.title, new.due_at, done=done, keep=-1)

        await self.app.push_screen(NewTaskDialog(self.crm.now), created)

    async def action_toggle_scope(self) -> None:
        self.everyone = not self.everyone

    @on(OptionList.OptionSelected, "#queue")
    async def selected(self) -> None:
        await self.action_open()

    def linked(self) -> TaskRow | None:
        """The highlighted task when it is linked to a lead, a contact or a deal (else it says so)."""
        row = self.current()
        if row is not None and row.contact_id is None and row.lead_id is None and row.deal_id is None:
            self.notify(self.crm.t("tasks.not-linked"), severity="warning")
            return None
        return row

    async def action_open(self) -> None:
        row = self.linked()
        if row is None:
            return
        if row.contact_id is not None:
            await self.crm.open_record("contact", row.contact_id)
        elif row.lead_id is not None:
            await self.crm.open_record("lead", row.lead_id)
        elif row.deal_id is not None:
            await self.crm.open_record("deal", row.deal_id)

    async def action_call(self) -> None:
        row = self.linked()
        if row is None:
            return
        from crm_tui.widgets.call_script import CallScriptPane

        await CallScriptPane.start(
            self,
            lead_id=row.lead_id,
            contact_id=row.contact_id,
            deal_id=row.deal_id,
            task_id=row.id,
            into=self.query_one("#queue-body", Horizontal),
        )

    async def action_script_stats(self) -> None:
        from crm_tui.screens.script_stats import ScriptStatsScreen

        await self.app.push_screen(ScriptStatsScreen())

    async def on_call_script_pane_ended(self) -> None:
        self.query_one("#queue", OptionList).focus()
        await self.reload()
