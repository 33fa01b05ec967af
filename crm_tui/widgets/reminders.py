"""The app's reminder loop: checks every ~20 s in a thread, shows toasts, rings, counts in the header.

``app.py`` calls :func:`start_reminders` once on mount. The rule lives in ``services/reminders.py``; the
desktop notification (``crm_tui.notify``) is tried first, and where there is none the app says so once
and falls back to the in-app toast and the terminal bell. Nothing here blocks the UI loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.app import App

from crm_tui.data.db import database
from crm_tui.i18n import t
from crm_tui.notify import DesktopNotifier, Notifier
from crm_tui.services import reminders
from crm_tui.services.reminders import Sent

CHECK_SECONDS = 20.0


@dataclass
class ReminderLoop:
    """State of the loop for one app: the claim token, what was shown, whether "no desktop" was said."""

    app: App[Any]
    notifier: Notifier
    now: Callable[[], datetime]
    user_id: Callable[[], int | None]
    token: str = field(default_factory=reminders.new_token)
    shown: int = 0
    overdue: int = 0
    said_no_desktop: bool = False
    base_sub_title: str = ""

    def start(self, every: float = CHECK_SECONDS) -> None:
        self.base_sub_title = self.app.sub_title
        self.app.set_interval(every, self.check, name="reminders")
        self.app.call_later(self.check)

    def check(self) -> None:
        self.app.run_worker(
            self._check_in_thread, thread=True, group="reminders", exclusive=True, exit_on_error=False
        )

    def _check_in_thread(self) -> None:
        now = self.now()
        with database.connection_context():
            sent = reminders.send_due(
                self.notifier, now=now, token=self.token, fallback="app", assignee_id=self.user_id(),
                lang=getattr(self.app, "lang", "en"),
            )
            overdue = reminders.overdue_count(now, assignee_id=self.user_id())
        self.app.call_from_thread(self.show, sent, overdue)

    def show(self, sent: list[Sent], overdue: int) -> None:
        """On the UI loop: one toast per reminder, the bell if the desktop did not take them, the count."""
        self.overdue = overdue
        lang = getattr(self.app, "lang", "en")
        unavailable = getattr(self.notifier, "unavailable", None)
        if sent and unavailable and not self.said_no_desktop:
            self.said_no_desktop = True
            self.app.notify(
                t("reminders.no-desktop", lang).format(why=unavailable),
                title=t("reminders.title", lang),
                severity="warning",
                timeout=10,
            )
        for item in sent:
            self.shown += 1
            self.app.notify(
                item.body,
                title=item.title,
                severity="warning" if item.overdue else "information",
                timeout=15,
            )
        if any(item.channel != "desktop" for item in sent):
            self.app.bell()
        parts = [p for p in (self.base_sub_title,) if p]
        if overdue:
            parts.append(t("reminders.overdue", lang).format(n=overdue))
        if self.shown:
            shown = "reminders.shown.one" if self.shown == 1 else "reminders.shown.many"
            parts.append(t(shown, lang).format(n=self.shown))
        self.app.sub_title = " · ".join(parts)


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
