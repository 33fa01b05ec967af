"""``crm deal ...``: enter deals, edit them, move them through the pipeline, reopen and archive them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, id_option, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page

if TYPE_CHECKING:
    from crm_tui.services.views import DealRow, TaskRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, id_argument("Deal id.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="What is sold: 'CRM для отдела продаж'.")]
AmountOpt = Annotated[
    str | None,
    typer.Option("--amount", help="Amount as you type it: 150000, '150 000', '150 000,50'."),
]
CurrencyOpt = Annotated[
    str | None, typer.Option("--currency", help="Currency code (default: the desk's currency.default).")
]
CloseOpt = Annotated[
    str | None, typer.Option("--expected-close", help="Expected close date, 2027-01-31 ('' clears it).")
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="The manager who owns it (login).")]
ContactOpt = Annotated[int | None, id_option("--contact", "Contact id.")]


def _stage(row: DealRow) -> str:
    return f"{row.stage_position + 1} {row.stage_name}"


def _render_rows(rows: list[DealRow], hint: str | None) -> list[str]:
    if not rows:
        return ["no deals"]
    body = [
        [
            str(r.id),
            r.title,
            r.contact_name or "",
            _stage(r),
            r.money,
            "yes" if r.acts_signed_at else "",
            r.owner_login or "",
            local(r.stage_entered_at),
        ]
        for r in rows
    ]
    lines = table(body, ["ID", "TITLE", "CONTACT", "STAGE", "AMOUNT", "ACTS", "OWNER", "IN STAGE SINCE"])
    if hint:
        lines.append(hint)
    return lines


@app.command("list")
def list_(
    stage: Annotated[
        str | None, typer.Option("--stage", help="Stage number (as in `crm stage list`) or name.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this manager's deals (login).")] = None,
    limit: LimitOpt = 50,
    after: AfterOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deals, newest first, a page at a time."""
    from crm_tui.services import deals, pipelines, users

    check_limit(limit)
    with session(db, user):
        stage_id = pipelines.resolve_stage(pipelines.default_pipeline_id(), stage).id if stage else None
        owner_id = users.by_login(owner).id if owner else None
        rows = deals.list_page(stage_id=stage_id, owner_id=owner_id, after_id=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    hint = next_page("deal list", {"stage": stage, "owner": owner}, rows[-1].id, limit) if more else None
    emit(rows, as_json, lambda data: _render_rows(data, hint))


def _render_detail(data: dict[str, Any]) -> list[str]:
    from crm_tui.deal_words import by_text, event_text
    from crm_tui.i18n import pick_lang

    lang = pick_lang()
    row: DealRow = data["deal"]
    fields = [
        ("deal", f"#{row.id} {row.title}"),
        ("stage", _stage(row) + (f" ({row.lost_reason})" if row.lost_reason else "")),
        ("archived", local(row.archived_at)),
        ("amount", row.money),
        ("contact", f"#{row.contact_id} {row.contact_name}" if row.contact_id else ""),
        ("company", row.company_name or ""),
        ("owner", f"{row.owner_name} ({row.owner_login})" if row.owner_login else ""),
        ("created", local(row.created_at)),
        ("in stage since", local(row.stage_entered_at)),
        ("expected close", row.expected_close.isoformat() if row.expected_close else ""),
        ("acts signed", local(row.acts_signed_at)),
    ]
    width = max(len(k) for k, _ in fields)
    lines = [f"{k.ljust(width)}  {v}" for k, v in fields if v]
    if data.get("lines"):
        from crm_tui.cli.deal_line import line_table

        lines.append("lines:")
        lines += ["  " + line for line in line_table(data["lines"], row.currency)]
    for task in data["tasks"]:
        lines.append(f"task #{task.id}: {task.title}, due {local(task.due_at)}")
    lines.append("history (newest first):")
    names = data.get("stage_names", {})
    for event in data["events"]:
        lines.append(f"  {local(event.at)}  {by_text(event, lang)}  {event_text(event, lang, names)}")
    return lines


def _show_json(data: dict[str, Any]) -> dict[str, Any]:
    from crm_tui.services.views import to_json

    return {
        "deal": to_json(data["deal"]),
        "history": [event.as_json() for event in data["events"]],
        "tasks": to_json(data["tasks"]),
        "lines": to_json(data.get("lines") or []),
    }


def _closed_line(closed: list[TaskRow]) -> list[str]:
    return [f"closed task #{task.id}: {task.title}" for task in closed]


def _done(before: list[TaskRow]) -> list[TaskRow]:
    """Of the deal's open tasks before it closed, those the closing closed."""
    from crm_tui.services import tasks

    found = []
    for task in before:
        now = tasks.row(task.id)
        if now.done_at is not None:
            found.append(now)
    return found


@app.command("show")
def show(deal_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A deal's fields, its open tasks and its history newest first: calls, e-mails, meetings, notes,
    stage moves, edits (who, when, from, to), reopening and archiving."""
    from crm_tui.services import deal_lines, deals, pipelines, tasks

    with session(db, user):
        row = deals.row(deal_id)
        events = deals.events(deal_id)
        open_tasks = tasks.open_for(deal_id=deal_id)
        names = {s.name: s.name_ru for s in pipelines.stages(row.pipeline_id) if s.name_ru}
        lines = deal_lines.lines(deal_id)
    data = {"deal": row, "events": events, "tasks": open_tasks, "stage_names": names, "lines": lines}
    emit(_show_json(data) if as_json else data, as_json, _render_detail)


def _summary(r: DealRow) -> list[str]:
    lines = [f"deal #{r.id} {r.title}: {_stage(r)}, {r.money}"]
    extra = [
        f"owner {r.owner_login}" if r.owner_login else "",
        f"contact #{r.contact_id} {r.contact_name}" if r.contact_id else "",
        f"expected close {r.expected_close.isoformat()}" if r.expected_close else "",
    ]
    if any(extra):
        lines.append("  " + ", ".join(x for x in extra if x))
    return lines


@app.command("add")
def add(
    title: TitleOpt = None,
    contact: ContactOpt = None,
    company: Annotated[int | None, id_option("--company", "Company id.")] = None,
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    expected_close: CloseOpt = None,
    owner: OwnerOpt = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Stage number or name (default: Need discovery).")
    ] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Enter a deal by hand; it opens at the stage after "Lead registered" unless --stage says otherwise."""
    from crm_tui.services import deals

    with session(db, user) as s:
        row = deals.add(
            title or "",
            contact_id=contact,
            company_id=company,
            amount=amount if amount is not None else 0,
            currency=currency,
            expected_close=expected_close,
            owner=owner,
            stage=stage,
            by=s.user_id,
            now=s.now,
        )
    emit(row, as_json, _summary)


@app.command("edit")
def edit(
    deal_id: IdArg,
    title: TitleOpt = None,
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    expected_close: CloseOpt = None,
    owner: OwnerOpt = None,
    contact: ContactOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a deal's title, amount, currency, expected close, owner or contact; each change is kept in
    its history. A won or lost deal keeps its amount and dates until it is reopened."""
    from crm_tui.services import deals

    with session(db, user) as s:
        before = deals.row(deal_id)
        row = deals.edit(
            deal_id,
            title=title,
            amount=amount,
            currency=currency,
            expected_close=expected_close,
            owner=owner,
            contact_id=contact,
            by=s.user_id,
            now=s.now,
        )
    emit(row, as_json, lambda r: _summary(r) if r != before else [f"deal #{r.id}: nothing to change"])


@app.command("reopen")
def reopen(
    deal_id: IdArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required): 'клиент вернулся'.")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A won or lost deal goes back to the open stage it closed from."""
    from crm_tui.services import deals

    with session(db, user) as s:
        before = deals.row(deal_id)
        row = deals.reopen(deal_id, reason, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title} reopened: {_stage(before)} -> {_stage(r)}"])


@app.command("archive")
def archive(deal_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A deal entered by mistake leaves the board, lists, search and reports; its history is kept."""
    from crm_tui.services import deals

    with session(db, user) as s:
        row = deals.archive(deal_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title} archived (`crm deal restore {r.id}` undoes it)"])


@app.command("restore")
def restore(deal_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """An archived deal back on the board, in the lists, search and reports."""
    from crm_tui.services import deals

    with session(db, user) as s:
        row = deals.restore(deal_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title} restored at {_stage(r)}"])


@app.command("move")
def move(
    deal_id: IdArg,
    stage: Annotated[str, typer.Argument(help="Stage number (1-based) or name, English or Russian.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why the deal was lost (for Lost).")] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a deal to a stage; the move is recorded in its history."""
    from crm_tui.services import deals, tasks

    with session(db, user) as s:
        before = deals.row(deal_id)
        open_before = tasks.open_for(deal_id=deal_id)
        row = deals.move(deal_id, stage, by=s.user_id, now=s.now, reason=reason)
        closed = _done(open_before) if row.stage_kind != "open" else []
    emit(
        row,
        as_json,
        lambda r: [f"deal #{r.id} {r.title}: {_stage(before)} -> {_stage(r)}", *_closed_line(closed)],
    )


@app.command("sign-acts")
def sign_acts(deal_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Record that the acceptance acts are signed (a deal is won only after that)."""
    from crm_tui.services import deals

    with session(db, user) as s:
        row = deals.sign_acts(deal_id, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title}: acts signed {local(r.acts_signed_at)}"])


@app.command("lose")
def lose(
    deal_id: IdArg,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required): 'выбрали конкурента'.")
    ] = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a deal as lost, with the reason."""
    from crm_tui.services import deals, tasks

    with session(db, user) as s:
        open_before = tasks.open_for(deal_id=deal_id)
        row = deals.lose(deal_id, reason, by=s.user_id, now=s.now)
        closed = _done(open_before)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title} lost: {r.lost_reason}", *_closed_line(closed)])
