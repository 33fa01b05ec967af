"""``crm remind``: send the reminders that are due, once (cron, systemd timer) or ``--watch``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, session

if TYPE_CHECKING:
    from crm_tui.services.reminders import Sent


def _render(sent: list[Sent]) -> list[str]:
    if not sent:
        return ["no reminders due"]
    return [f"[{s.channel}] #{s.task_id} {s.title} - {s.body}" for s in sent]


def remind(
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep running and check every --period seconds.")
    ] = False,
    period: Annotated[int, typer.Option("--period", min=5, help="Seconds between checks with --watch.")] = 30,
    everyone: Annotated[
        bool, typer.Option("--all", help="Everyone's tasks, not only yours and unassigned ones.")
    ] = False,
    every: Annotated[
        str | None, typer.Option("--every", help="Save how often overdue tasks are reminded (30m, 1h).")
    ] = None,
    desktop: Annotated[
        bool,
        typer.Option(
            "--desktop/--no-desktop",
            help="Show them on the desktop (Linux: the D-Bus session bus; macOS, Windows: plyer).",
        ),
    ] = True,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send due reminders (desktop notification when there is one), print what was sent, exit.

    With a desk mailbox set up it also sends the outbox's messages that are due and fetches new mail
    (every 5 minutes with --watch); what it did is said on stderr."""
    from crm_tui.i18n import pick_lang
    from crm_tui.notify import DesktopNotifier, RecordingNotifier
    from crm_tui.services import mail_jobs, reminders
    from crm_tui.services.mail_jobs import FETCH_EVERY

    notifier = DesktopNotifier() if desktop else RecordingNotifier(works=False)
    token = reminders.new_token()
    said_no_desktop = False
    last_fetch: float | None = None
    while True:
        with session(db, user) as s:
            daily_backup(s.now)  # a look at the newest backup's time; a copy once a day
            if every:
                reminders.set_interval(every)
                every = None
            sent = reminders.send_due(
                notifier,
                now=s.now,
                token=token,
                fallback="print",
                assignee_id=None if everyone else s.user_id,
                lang=pick_lang(),  # CRM_LANG, as the app
            )
            fetch_now = last_fetch is None or time.monotonic() - last_fetch >= FETCH_EVERY.total_seconds()
            mail_round = mail_jobs.run(now=s.now, by=s.user_id, fetch=fetch_now)
            if fetch_now:
                last_fetch = time.monotonic()
        for line in mail_round.lines():  # the outbox's retries and new mail; stdout stays the reminders'
            typer.echo(f"note: {line}", err=True)
        if sent and isinstance(notifier, DesktopNotifier) and notifier.unavailable and not said_no_desktop:
            typer.echo(f"note: no desktop notifications: {notifier.unavailable}", err=True)
            said_no_desktop = True
        emit(sent, as_json, _render)
        if not watch:
            return
        try:
            time.sleep(period)
        except KeyboardInterrupt:
            return


def daily_backup(now: datetime) -> None:
    """Once a day, a backup of the desk beside it (``crm backup``): silent, as cron likes it; a failure is
    said on stderr, never fatal to the reminders."""
    from crm_tui.data.db import database
    from crm_tui.services import backup
    from crm_tui.services.errors import CrmError

    try:
        backup.auto_backup(database.obj, now=now, now_epoch=time.time())
    except (CrmError, OSError) as error:
        typer.echo(f"note: the daily backup failed: {getattr(error, 'message', error)}", err=True)
        return


def register(app: typer.Typer) -> None:
    app.command("remind")(remind)
