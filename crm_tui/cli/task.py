"""``crm task ...`` and ``crm log ...``"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_argument, id_option, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page

if TYPE_CHECKING:
    from datetime import datetime

    from crm_tui.services.views import InteractionRow, TaskRow

app = typer.Typer(no_args_is_help=True)
log_app = typer.Typer(no_args_is_help=True)

DIRECTIONS = {"in": "call_in", "out": "call_out"}


def _render_rows(rows: list[TaskRow], now: datetime, hint: str | None, due: bool) -> list[str]:
    from crm_tui.services import clock

    if not rows:
        return ["no tasks due" if due else "no open tasks"]
    body = [
        [
            str(r.id),
            local(r.due_at),
            ("OVERDUE " if r.due_at < now else "") + clock.relative(r.due_at, now),
            r.title,
            r.linked_label,
            r.assignee_login or "",
        ]
        for r in rows
    ]
    lines = table(body, ["ID", "DUE", "WHEN", "TASK", "ABOUT", "ASSIGNEE"])
    if hint:
        lines.append(hint)
    return lines


@app.command("list")
def list_(
    due: Annotated[bool, typer.Option("--due", help="Only tasks due now or overdue.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to you.")] = False,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Only this login's tasks.")] = None,
    limit: LimitOpt = 50,
    after: AfterOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open tasks, soonest due first (overdue ones on top), a page at a time."""
    from crm_tui.services import tasks, users

    check_limit(limit)
    with session(db, user) as s:
        assignee_id = users.by_login(assignee).id if assignee else (s.user_id if mine else None)
        cursor = None
        if after is not None:
            last = tasks.row(after)
            cursor = (last.due_at, last.id)
        rows = tasks.list_open(
            assignee_id=assignee_id, due_before=s.now if due else None, after=cursor, limit=limit + 1
        )
        now = s.now
    more = len(rows) > limit
    rows = rows[:limit]
    options: dict[str, str | bool | None] = {"due": due, "mine": mine, "assignee": assignee}
    hint = next_page("task list", options, rows[-1].id, limit) if more else None
    emit(rows, as_json, lambda data: _render_rows(data, now, hint, due))


@app.command("done")
def done(
    task_id: Annotated[int, id_argument("Task id.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a task done (its reminders stop)."""
    from crm_tui.services import tasks

    with session(db, user) as s:
        row = tasks.complete(task_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"task #{r.id} {r.title}: done"])


def _render_call(row: InteractionRow) -> list[str]:
    minutes, seconds = divmod(row.duration or 0, 60)
    about = [
        f"{name} #{value}"
        for name, value in (("contact", row.contact_id), ("deal", row.deal_id), ("lead", row.lead_id))
        if value
    ]
    direction = "incoming" if row.kind == "call_in" else "outgoing"
    return [f"call #{row.id} logged: {direction}, {minutes}:{seconds:02d}, {', '.join(about)}"]


@log_app.command("call")
def call(
    contact: Annotated[int | None, id_option("--contact", "Contact id.")] = None,
    duration: Annotated[int | None, typer.Option("--duration", help="Length in seconds.")] = None,
    summary: Annotated[str, typer.Option("--summary", help="What was said and agreed.")] = "",
    direction: Annotated[str, typer.Option("--direction", help="in or out.")] = "out",
    outcome: Annotated[str, typer.Option("--outcome", help="Short result: 'перезвонить', 'КП'.")] = "",
    subject: Annotated[str, typer.Option("--subject", help="Subject line.")] = "",
    deal: Annotated[int | None, id_option("--deal", "Deal id.")] = None,
    lead: Annotated[int | None, id_option("--lead", "Lead id (before it is converted).")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a call: who, when (now), how long, about what."""
    from crm_tui.services import interactions

    if direction not in DIRECTIONS:
        raise fail(f"--direction must be 'in' or 'out', not {direction!r}")
    with session(db, user) as s:
        row = interactions.log(
            DIRECTIONS[direction],
            by=s.user_id,
            now=s.now,
            lead_id=lead,
            contact_id=contact,
            deal_id=deal,
            duration=duration,
            subject=subject,
            summary=summary,
            outcome=outcome,
        )
    emit(row, as_json, _render_call)
