"""``crm lead ...``: register, list, show, qualify, disqualify, convert."""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, fail, id_argument, id_option, session, table

if TYPE_CHECKING:
    from crm_tui.services.views import ConversionResult, LeadDetail, LeadRow, TaskRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, id_argument("Lead id.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Rows per page (1-1000).")]
AfterOpt = Annotated[int | None, id_option("--after", "Continue after this id (the hint under a full page).")]
MAX_LIMIT = 1000


def local(moment: datetime | None) -> str:
    """A stored UTC time as the user's local ``YYYY-MM-DD HH:MM`` (empty for none)."""
    from crm_tui.services import clock

    return clock.to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def phone(e164: str | None) -> str:
    from crm_tui.services.validation import format_phone

    return format_phone(e164) if e164 else ""


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise fail(f"--limit must be between 1 and {MAX_LIMIT}")


def next_page(command: str, options: dict[str, str | bool | None], after: int, limit: int) -> str:
    """The line under a full page: the same command, filters included, continuing after the last id."""
    parts = [f"crm {command}"]
    for name, value in options.items():
        if value is True:
            parts.append(f"--{name}")
        elif value:
            parts.append(f"--{name} {shlex.quote(str(value))}")
    return "more: " + " ".join([*parts, f"--after {after}", f"--limit {limit}"])


def _task_line(task: TaskRow) -> str:
    who = f" @{task.assignee_login}" if task.assignee_login else ""
    return f"task #{task.id}: {task.title}, due {local(task.due_at)}{who}"


@app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="Who called or wrote: 'Иван Смирнов'.")] = "",
    phone_: Annotated[str, typer.Option("--phone", help="Any usual form: '8 (916) 123-45-67'.")] = "",
    email: Annotated[str | None, typer.Option("--email", help="E-mail.")] = None,
    company: Annotated[str, typer.Option("--company", help="Company name.")] = "",
    source: Annotated[str, typer.Option("--source", help="utm_source: yandex, google, ...")] = "",
    medium: Annotated[str, typer.Option("--medium", help="utm_medium: cpc, organic, ...")] = "",
    campaign: Annotated[str, typer.Option("--campaign", help="utm_campaign.")] = "",
    keyword: Annotated[str, typer.Option("--keyword", help="utm_term: the search keyword.")] = "",
    referrer: Annotated[str, typer.Option("--referrer", help="The page the lead came from.")] = "",
    comment: Annotated[str, typer.Option("--comment", help="What the lead asked for.")] = "",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Login of the manager who calls back (default: you).")
    ] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a lead; a task to call it within an hour is created for its owner."""
    from crm_tui.services import leads, tasks, users

    with session(db, user) as s:
        owner_id = users.by_login(owner).id if owner else None
        new = leads.NewLead(
            name=name,
            phone=phone_,
            email=email,
            company_name=company,
            comment=comment,
            owner_id=owner_id,
            utm_source=source,
            utm_medium=medium,
            utm_campaign=campaign,
            utm_term=keyword,
            referrer=referrer,
        )
        lead = leads.register(new, by=s.user_id, now=s.now)
        first_call = next((t for t in tasks.open_for(lead_id=lead.id) if t.kind == "first_call"), None)

    def render(_data: Any) -> list[str]:
        lines = [f"lead #{lead.id} registered: {lead.name}, {phone(lead.phone)}"]
        if first_call is not None:
            lines.append(_task_line(first_call))
        if lead.possible_duplicate:
            lines.append(f"possible duplicate: see crm lead show {lead.id}")
        return lines

    emit({"lead": lead, "task": first_call}, as_json, render)


def _render_rows(rows: list[LeadRow], hint: str | None) -> list[str]:
    if not rows:
        return ["no leads"]
    body = [
        [
            str(r.id),
            local(r.created_at),
            r.name + (" (dup?)" if r.possible_duplicate else ""),
            phone(r.phone),
            r.company_name,
            r.utm_source,
            r.status,
            r.owner_login or "",
        ]
        for r in rows
    ]
    lines = table(body, ["ID", "REGISTERED", "NAME", "PHONE", "COMPANY", "SOURCE", "STATUS", "OWNER"])
    if hint:
        lines.append(hint)
    return lines


@app.command("list")
def list_(
    status: Annotated[
        str | None,
        typer.Option("--status", help="new, in_work, qualified, converted, disqualified, or open."),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this utm_source.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this manager's leads (login).")] = None,
    limit: LimitOpt = 50,
    after: AfterOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Leads, newest first, a page at a time."""
    from crm_tui.data.models import LEAD_STATUSES
    from crm_tui.services import leads, users

    check_limit(limit)
    if status is not None and status not in (*LEAD_STATUSES, "open"):
        raise fail(f"unknown status {status!r}; one of: {', '.join((*LEAD_STATUSES, 'open'))}")
    with session(db, user):
        owner_id = users.by_login(owner).id if owner else None
        rows = leads.list_page(
            status=status, source=source, owner_id=owner_id, after_id=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    options: dict[str, str | bool | None] = {"status": status, "source": source, "owner": owner}
    hint = next_page("lead list", options, rows[-1].id, limit) if more else None
    emit(rows, as_json, lambda data: _render_rows(data, hint))


def _render_detail(lead: LeadDetail, open_tasks: list[TaskRow]) -> list[str]:
    fields: list[tuple[str, str]] = [
        ("lead", f"#{lead.id} {lead.name}"),
        ("status", lead.status + (f" ({lead.disqualify_reason})" if lead.disqualify_reason else "")),
        ("phone", phone(lead.phone)),
        ("e-mail", lead.email or ""),
        ("company", lead.company_name),
        ("owner", f"{lead.owner_name} ({lead.owner_login})" if lead.owner_login else ""),
        ("registered", local(lead.created_at)),
        ("qualified", local(lead.qualified_at)),
        ("converted", local(lead.converted_at)),
        ("contact", f"#{lead.contact_id}" if lead.contact_id else ""),
        ("deal", f"#{lead.deal_id}" if lead.deal_id else ""),
        ("comment", lead.comment),
        ("utm_source", lead.utm_source),
        ("utm_medium", lead.utm_medium),
        ("utm_campaign", lead.utm_campaign),
        ("utm_term", lead.utm_term),
        ("utm_content", lead.utm_content),
        ("referrer", lead.referrer),
        ("landing page", lead.landing_page),
        ("repeat requests", str(lead.repeat_count) if lead.repeat_count else ""),
    ]
    width = max(len(k) for k, _ in fields)
    lines = [f"{k.ljust(width)}  {v}" for k, v in fields if v]
    for task in open_tasks:
        lines.append(_task_line(task))
    if lead.duplicates:
        lines.append("possible duplicates:")
        lines += [f"  {h.kind} #{h.id} {h.label} ({h.detail})" for h in lead.duplicates]
    return lines


@app.command("show")
def show(lead_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Every field of a lead, its UTM tags, open tasks and possible duplicates."""
    from crm_tui.services import leads, tasks

    with session(db, user):
        lead = leads.get(lead_id)
        open_tasks = tasks.open_for(lead_id=lead_id)
    emit(lead, as_json, lambda data: _render_detail(data, open_tasks))


@app.command("qualify")
def qualify(lead_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """The lead is ready to talk terms (convert it next)."""
    from crm_tui.services import leads

    with session(db, user) as s:
        row = leads.qualify(lead_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"lead #{r.id} {r.name} qualified; next: crm lead convert {r.id}"])


@app.command("disqualify")
def disqualify(
    lead_id: IdArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required): 'нет бюджета'.")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a lead that will not buy; its open tasks are closed too."""
    from crm_tui.services import leads

    with session(db, user) as s:
        row = leads.disqualify(lead_id, reason, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"lead #{r.id} {r.name} disqualified: {(reason or '').strip()}"])


def _render_conversion(result: ConversionResult) -> list[str]:
    how = "linked to the existing contact" if result.linked_existing_contact else "new contact"
    lines = [f"lead #{result.lead_id} converted", f"contact #{result.contact_id} ({how})"]
    if result.company_id is not None:
        lines.append(f"company #{result.company_id}")
    lines.append(f"deal #{result.deal_id}")
    return lines


@app.command("convert")
def convert(
    lead_id: IdArg,
    qualify_first: Annotated[
        bool, typer.Option("--qualify", help="Qualify a new or in-work lead and convert it at once.")
    ] = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a qualified lead into a contact (and company) and a deal at the first stage."""
    from crm_tui.services import leads

    with session(db, user) as s:
        result = leads.convert(lead_id, by=s.user_id, now=s.now, qualify_first=qualify_first)
    emit(result, as_json, _render_conversion)
