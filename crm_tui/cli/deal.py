"""``crm deal ...``: list deals and move them through the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page

if TYPE_CHECKING:
    from crm_tui.services.views import DealRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, id_argument("Deal id.")]


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
    row: DealRow = data["deal"]
    fields = [
        ("deal", f"#{row.id} {row.title}"),
        ("stage", _stage(row) + (f" ({row.lost_reason})" if row.lost_reason else "")),
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
    lines.append("history:")
    for move in data["history"]:
        start = f"{move['from']} -> " if move["from"] else ""
        who = f" by {move['by']}" if move["by"] else ""
        lines.append(f"  {local(move['at'])}  {start}{move['to']}{who}")
    for task in data["tasks"]:
        lines.append(f"task #{task.id}: {task.title}, due {local(task.due_at)}")
    return lines


@app.command("show")
def show(deal_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A deal's fields, its stage history (who moved it, when) and its open tasks."""
    from crm_tui.services import deals, tasks

    with session(db, user):
        row = deals.row(deal_id)
        history = [
            {"from": from_stage, "to": to_stage, "by": by, "at": at}
            for from_stage, to_stage, by, at in deals.history(deal_id)
        ]
        open_tasks = tasks.open_for(deal_id=deal_id)
    emit({"deal": row, "history": history, "tasks": open_tasks}, as_json, _render_detail)


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
    from crm_tui.services import deals

    with session(db, user) as s:
        before = deals.row(deal_id)
        row = deals.move(deal_id, stage, by=s.user_id, now=s.now, reason=reason)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title}: {_stage(before)} -> {_stage(r)}"])


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
    from crm_tui.services import deals

    with session(db, user) as s:
        row = deals.lose(deal_id, reason, by=s.user_id, now=s.now)
    emit(row, as_json, lambda r: [f"deal #{r.id} {r.title} lost: {r.lost_reason}"])
