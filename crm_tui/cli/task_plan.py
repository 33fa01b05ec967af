"""``crm task add`` and ``crm task snooze``: planning tasks from the shell."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, id_option, session
from crm_tui.services.views import TaskRow

WhenArg = Annotated[
    str, typer.Argument(help="ISO time ('2026-12-01 10:00'), '+30m', '+2h', 'tomorrow 9:00'.")
]


def _render(row: TaskRow) -> list[str]:
    from crm_tui.services import clock

    due = clock.to_local(row.due_at).strftime("%Y-%m-%d %H:%M")
    linked = f"  [{row.linked_label}]" if row.linked_label else ""
    who = f"  @{row.assignee_login}" if row.assignee_login else ""
    return [f"#{row.id}  {row.title}  due {due}{who}{linked}"]


def _due_utc(text: str, now_utc: datetime) -> datetime:
    from crm_tui.services import clock, tasks

    return clock.to_utc(tasks.parse_due(text, clock.to_local(now_utc)))


def add(
    title: Annotated[str, typer.Option("--title", help="What to do.")],
    due: Annotated[str, typer.Option("--due", help="When: ISO time, '+30m', 'tomorrow 9:00'.")],
    lead: Annotated[int | None, id_option("--lead", "Link to a lead id.")] = None,
    contact: Annotated[int | None, id_option("--contact", "Link to a contact id.")] = None,
    deal: Annotated[int | None, id_option("--deal", "Link to a deal id.")] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Login of who does it (default: you).")
    ] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a task, optionally linked to a lead, a contact or a deal."""
    from crm_tui.services import tasks, users

    with session(db, user) as s:
        assignee_id = users.by_login(assignee).id if assignee else None
        row = tasks.create(
            title,
            _due_utc(due, s.now),
            by=s.user_id,
            now=s.now,
            assignee_id=assignee_id,
            lead_id=lead,
            contact_id=contact,
            deal_id=deal,
        )
        emit(row, as_json, _render)


def snooze(
    task_id: Annotated[int, id_argument("Task id.")],
    when: WhenArg,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a task's due time; its reminders start again from the new time."""
    from crm_tui.services import tasks

    with session(db, user) as s:
        row = tasks.reschedule(task_id, _due_utc(when, s.now), by=s.user_id, now=s.now)
        emit(row, as_json, _render)


def register(task_app: typer.Typer) -> None:
    task_app.command("add")(add)
    task_app.command("snooze")(snooze)
