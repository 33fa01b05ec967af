"""Undo of a change made by one key (a task done, a snooze, a stage move, a disqualification).

The screen that made the change calls :func:`offer` with the toast's message and the coroutine that undoes
it; the toast says "ctrl+z or a click here: undo". While that toast is shown, ``ctrl+z`` anywhere in the
app (or a click on the toast) runs the undo, once. The undo itself is a rule of the services that records
honestly what happened (``tasks.reopen``, ``tasks.reschedule`` back, ``leads.requalify``, ``deals.move``
back to the stage the deal came from): the history keeps both the change and its undoing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.notifications import Notification, Notify

from crm_tui.services.errors import CrmError

if TYPE_CHECKING:
    from crm_tui.app import CrmApp

UNDO_SECONDS = 8.0
"""How long the toast, and with it the undo, stays."""


@dataclass
class Undo:
    what: str
    """What is undone, as the toast named it ("Done: Call Иван")."""
    run: Callable[[], Awaitable[Any]]
    """Undoes the change; returns the undone record (for the screen to show), or raises ``CrmError``."""
    notification: Notification | None
    """The toast that offers it (``None``: the screen says it itself, as the kanban does above the board)."""
    expires: float = 0.0
    """``time.monotonic()`` after which an undo without a toast is no longer offered."""

    def alive(self) -> bool:
        if self.notification is not None:
            return not self.notification.has_expired
        import time

        return time.monotonic() < self.expires


def offer(
    app: CrmApp,
    message: str,
    undo: Callable[[], Awaitable[Any]],
    *,
    title: str = "",
    toast: bool = True,
) -> None:
    """Say what was done (a toast ending "ctrl+z or a click here: undo") and keep ``undo`` for ``ctrl+z``
    while the toast is shown. ``toast=False``: the screen shows the message itself; the undo lasts as long
    as a toast would."""
    import time

    note = None
    if toast:
        note = Notification(
            f"{message}\n{app.t('undo.hint')}", title, "information", UNDO_SECONDS, markup=False
        )
        app.post_message(Notify(note))
    app.pending_undo = Undo(message, undo, note, time.monotonic() + UNDO_SECONDS)


def withdraw(app: CrmApp) -> None:
    """No undo on offer any more (a later change replaced what it would undo)."""
    app.pending_undo = None


async def run_pending(app: CrmApp, *, toast: Notification | None = None) -> bool:
    """Run the undo on offer (``toast``: only if it is the one that toast offers). Says what was undone,
    or that there is nothing to undo; a refusal (the record changed meanwhile) is shown as an error."""
    pending = app.pending_undo
    if pending is None or not pending.alive() or (toast is not None and pending.notification is not toast):
        if toast is None:
            app.notify(app.t("undo.nothing"), severity="warning", timeout=3)
        return False
    app.pending_undo = None
    try:
        await pending.run()
    except CrmError as error:
        app.notify(error.message, title=error.title, severity="error")
        return False
    app.notify(app.t("undo.done").format(what=pending.what), timeout=4)
    return True


def clicked_toast(event: Any) -> Notification | None:
    """The notification of the toast a click landed on, if it landed on one."""
    from textual.widgets._toast import Toast

    widget = getattr(event, "widget", None)
    while widget is not None and not isinstance(widget, Toast):
        widget = widget.parent
    return widget._notification if isinstance(widget, Toast) else None
