"""The app's reminder loop: checks every ~20 s in a thread, shows one toast per check, rings, counts in
the header.

``app.py`` calls :func:`start_reminders` once on mount. The rule lives in ``services/reminders.py``; the
desktop notification (``crm_tui.notify``) is tried for what came due, and the app shows it in one toast
however many there are (``3 overdue tasks · press 4`` / ``Call Иван, Call Ольга, +1``; worded by
``services/reminder_digest.py``), so the work area stays readable. Where the desktop cannot take
them, the first such toast says why in one line and the bell rings. The header counts the overdue tasks
of the task queue's scope (``3 overdue · mine``, ``· all`` once the queue shows everyone's). Nothing
here blocks the UI loop.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.app import App
from textual.screen import Screen

from crm_tui.data.db import database
from crm_tui.i18n import t
from crm_tui.notify import DesktopNotifier, Notifier
from crm_tui.services import reminders
from crm_tui.services.reminder_digest import is_late, toast_text
from crm_tui.services.reminders import Sent

CHECK_SECONDS = 20.0
TOAST_SECONDS = 10.0
TASKS_MODE = "tasks"


def header_text(overdue: int, everyone: bool, lang: str) -> str:
    """``3 overdue · mine`` / ``просрочено: 3 · все``; nothing when nothing is overdue."""
    if not overdue:
        return ""
    scope = t("reminders.scope.all" if everyone else "reminders.scope.mine", lang)
    return f"{t('reminders.overdue', lang).format(n=overdue)} · {scope}"


@dataclass
class ReminderLoop:
    """State of the loop for one app: the claim token, what was shown, whether "no desktop" was said."""

    app: App[Any]
    notifier: Notifier
    now: Callable[[], datetime]
    user_id: Callable[[], int | None]
    token: str = field(default_factory=reminders.new_token)
    shown: int = 0
    """Reminders shown since the app started."""
    toasts: int = 0
    """Toasts they were shown in (one per check at most)."""
    overdue: dict[bool, int] = field(default_factory=lambda: {False: 0, True: 0})
    """Overdue tasks: the user's (``False``) and everyone's (``True``), as last counted."""
    said_no_desktop: bool = False
    base_sub_title: str = ""
    queue: weakref.ref[Screen[Any]] | None = None
    """The task queue once made: its ``everyone`` says whose overdue tasks the header counts."""

    def start(self, every: float = CHECK_SECONDS) -> None:
        self.base_sub_title = self.app.sub_title
        self.app.set_interval(every, self.check, name="reminders")
        self.app.mode_change_signal.subscribe(self.app, self._mode_changed)
        self.app.call_later(self.check)

    # -- whose tasks the header counts: the task queue's scope -------------------------------------------

    @property
    def everyone(self) -> bool:
        queue = self.queue() if self.queue is not None else None
        return bool(getattr(queue, "everyone", False))

    def _mode_changed(self, mode: str) -> None:
        if mode == TASKS_MODE and self.queue is None and hasattr(self.app.screen_stack[0], "everyone"):
            self.follow(self.app.screen_stack[0])

    def follow(self, queue: Screen[Any]) -> None:
        """Count what the task queue shows: mine, or everyone's after its ``m`` (or as a head of sales
        opens it). The header follows each change at once."""
        self.queue = weakref.ref(queue)
        self.app.watch(queue, "everyone", lambda _everyone: self.show_count(), init=False)
        queue.call_after_refresh(self.show_count)  # the queue sets its opening scope as it mounts

    # -- the check ---------------------------------------------------------------------------------------

    def check(self) -> None:
        self.app.run_worker(
            self._check_in_thread, thread=True, group="reminders", exclusive=True, exit_on_error=False
        )

    def _check_in_thread(self) -> None:
        now = self.now()
        user_id = self.user_id()
        with database.connection_context():
            sent = reminders.send_due(
                self.notifier,
                now=now,
                token=self.token,
                fallback="app",
                assignee_id=user_id,
                lang=getattr(self.app, "lang", "en"),
            )
            overdue = {
                False: reminders.overdue_count(now, assignee_id=user_id),
                True: reminders.overdue_count(now),
            }
        self.app.call_from_thread(self.show, sent, overdue, now)

    def show(self, sent: list[Sent], overdue: dict[bool, int], now: datetime | None = None) -> None:
        """On the UI loop: one toast for what came due, the bell if the desktop did not take it all, the
        count in the header."""
        self.overdue = overdue
        if sent:
            self.show_toast(sent, now or self.now())
        self.show_count()

    def show_toast(self, sent: list[Sent], now: datetime) -> None:
        lang = getattr(self.app, "lang", "en")
        me = getattr(getattr(self.app, "user", None), "login", None)
        title, body = toast_text(sent, now, lang, hint=self.app.current_mode != TASKS_MODE, me=me)
        code = getattr(self.notifier, "unavailable_code", None)
        missed = any(item.channel != "desktop" for item in sent)
        if missed and code and not self.said_no_desktop:
            self.said_no_desktop = True
            why = t(f"reminders.no-desktop.{code}", lang)
            body += "\n" + t("reminders.no-desktop", lang).format(why=why)
            why_in_english = getattr(self.notifier, "unavailable", code)
            self.app.log.warning(f"reminders: no desktop notifications: {why_in_english}")
        late = any(is_late(item, now) for item in sent)
        self.app.notify(
            body, title=title, severity="warning" if late else "information", timeout=TOAST_SECONDS
        )
        self.shown += len(sent)
        self.toasts += 1
        if missed:
            self.app.bell()

    def show_count(self) -> None:
        lang = getattr(self.app, "lang", "en")
        everyone = self.everyone
        parts = [self.base_sub_title, header_text(self.overdue[everyone], everyone, lang)]
        self.app.sub_title = " · ".join(p for p in parts if p)


def start_reminders(
    app: App[Any],
    *,
    now: Callable[[], datetime],
    user_id: Callable[[], int | None],
    notifier: Notifier | None = None,
    every: float = CHECK_SECONDS,
) -> ReminderLoop:
    """Start the loop on ``app`` (call from ``on_mount``); returns it (tests read its counters)."""
    loop = ReminderLoop(app, notifier or DesktopNotifier(), now, user_id)
    loop.start(every)
    return loop
