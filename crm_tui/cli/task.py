"""``crm task ...`` and ``crm log ...``"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_argument, id_option, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page
from crm_tui.services.views import InteractionRow, TaskRow, to_json

if TYPE_CHECKING:
    from datetime import datetime

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


@app.command("reopen")
def reopen(
    task_id: Annotated[int, id_argument("Task id.")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a done task again (its reminders resume)."""
    from crm_tui.services import tasks

    with session(db, user) as s:
        row = tasks.reopen(task_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"task #{r.id} {r.title}: open again, due {local(r.due_at)}"])


@app.command("reassign")
def reassign(
    task_id: Annotated[int, id_argument("Task id.")],
    login: Annotated[str, typer.Argument(help="Login of the new assignee.", metavar="LOGIN")],
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give an open task to someone else."""
    from crm_tui.services import tasks, users

    with session(db, user) as s:
        row = tasks.reassign(task_id, users.by_login(login).id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"task #{r.id} {r.title}: assigned to @{r.assignee_login}"])


KIND_WORDS = {
    "call_in": "call",
    "call_out": "call",
    "email_in": "email",
    "email_out": "email",
    "meeting": "meeting",
    "note": "note",
}


def _render_logged(logged: Logged) -> list[str]:
    row = logged.interaction
    about = [
        f"{name} #{value}"
        for name, value in (("contact", row.contact_id), ("deal", row.deal_id), ("lead", row.lead_id))
        if value
    ]
    what = [KIND_WORDS.get(row.kind, row.kind) + f" #{row.id} logged:"]
    if row.kind in ("call_in", "email_in"):
        what.append("incoming,")
    elif row.kind in ("call_out", "email_out"):
        what.append("outgoing,")
    if row.duration is not None:
        minutes, seconds = divmod(row.duration, 60)
        what.append(f"{minutes}:{seconds:02d},")
    lines = [" ".join(what) + " " + ", ".join(about)]
    for task in logged.tasks:
        state = "done" if task.done_at else f"not reached, due again {local(task.due_at)}"
        lines.append(f"task #{task.id} {task.title}: {state}")
    return lines


@dataclass(frozen=True)
class Logged:
    interaction: InteractionRow
    tasks: list[TaskRow]
    """The call tasks the call fulfilled (done) or, not reached, moved to a later time."""


LeadOpt = Annotated[int | None, id_option("--lead", "Lead id (before it is converted).")]
ContactOpt = Annotated[int | None, id_option("--contact", "Contact id.")]
DealOpt = Annotated[int | None, id_option("--deal", "Deal id.")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When it happened, if not now: ISO, '-30m', 'today 9:40' (not in the future)."),
]
SubjectOpt = Annotated[str, typer.Option("--subject", help="Subject line.")]
SummaryOpt = Annotated[str, typer.Option("--summary", help="What was said and agreed.")]
OutcomeOpt = Annotated[
    str, typer.Option("--outcome", help="Short result: 'reached', 'no answer', 'busy', 'перезвонить'.")
]
DirectionOpt = Annotated[str, typer.Option("--direction", help="in or out.")]
DurationOpt = Annotated[int | None, typer.Option("--duration", help="Length in seconds.")]


def _log(
    kind: str,
    *,
    lead: int | None,
    contact: int | None,
    deal: int | None,
    at: str | None,
    direction: str | None,
    duration: int | None,
    subject: str,
    summary: str,
    outcome: str,
    db: str | None,
    user: str | None,
    as_json: bool,
) -> None:
    from crm_tui.services import clock, interactions, tasks

    if direction is not None and direction not in DIRECTIONS:
        raise fail(f"--direction must be 'in' or 'out', not {direction!r}")
    if kind in ("call", "email"):
        kind = f"{kind}_{direction or 'out'}"
    with session(db, user) as s:
        when = None
        if at is not None:
            when = clock.to_utc(tasks.parse_due(at, clock.to_local(s.now), field="at"))
            interactions.check_at(when, s.now)
        watched = [t.id for t in tasks.open_for(lead_id=lead)] if lead is not None else []
        row = interactions.log(
            kind,
            by=s.user_id,
            now=s.now,
            at=when,
            lead_id=lead,
            contact_id=contact,
            deal_id=deal,
            duration=duration,
            subject=subject,
            summary=summary,
            outcome=outcome,
        )
        touched = [tasks.row(t) for t in watched] if kind in interactions.CALL_KINDS else []
        touched = [t for t in touched if t.done_at is not None or t.kind in interactions.CALL_TASK_KINDS]
    logged = Logged(row, touched)
    # --json: the interaction's own keys (as before), with the call tasks it closed or moved under "tasks"
    emit({**to_json(row), "tasks": touched} if as_json else logged, as_json, _render_logged)


@log_app.command("call")
def call(
    contact: ContactOpt = None,
    duration: DurationOpt = None,
    summary: SummaryOpt = "",
    direction: DirectionOpt = "out",
    outcome: OutcomeOpt = "",
    subject: SubjectOpt = "",
    deal: DealOpt = None,
    lead: LeadOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a call: who, when (now, or --at), how long, about what. On a lead it closes the first-call
    task; an outcome like 'no answer' or 'busy' keeps it open, due again after the retry delay."""
    _log(
        "call",
        lead=lead,
        contact=contact,
        deal=deal,
        at=at,
        direction=direction,
        duration=duration,
        subject=subject,
        summary=summary,
        outcome=outcome,
        db=db,
        user=user,
        as_json=as_json,
    )


@log_app.command("email")
def email(
    contact: ContactOpt = None,
    summary: SummaryOpt = "",
    direction: DirectionOpt = "out",
    subject: SubjectOpt = "",
    outcome: OutcomeOpt = "",
    deal: DealOpt = None,
    lead: LeadOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log an e-mail sent (out, the default) or received (in)."""
    _log(
        "email",
        lead=lead,
        contact=contact,
        deal=deal,
        at=at,
        direction=direction,
        duration=None,
        subject=subject,
        summary=summary,
        outcome=outcome,
        db=db,
        user=user,
        as_json=as_json,
    )


@log_app.command("meeting")
def meeting(
    contact: ContactOpt = None,
    duration: DurationOpt = None,
    summary: SummaryOpt = "",
    subject: SubjectOpt = "",
    outcome: OutcomeOpt = "",
    deal: DealOpt = None,
    lead: LeadOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a meeting that took place (its length optional)."""
    _log(
        "meeting",
        lead=lead,
        contact=contact,
        deal=deal,
        at=at,
        direction=None,
        duration=duration,
        subject=subject,
        summary=summary,
        outcome=outcome,
        db=db,
        user=user,
        as_json=as_json,
    )


@log_app.command("note")
def note(
    contact: ContactOpt = None,
    summary: SummaryOpt = "",
    subject: SubjectOpt = "",
    deal: DealOpt = None,
    lead: LeadOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note (its text in --summary) to a lead, a contact or a deal."""
    _log(
        "note",
        lead=lead,
        contact=contact,
        deal=deal,
        at=at,
        direction=None,
        duration=None,
        subject=subject,
        summary=summary,
        outcome="",
        db=db,
        user=user,
        as_json=as_json,
    )
