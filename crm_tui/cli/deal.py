"""``crm deal ...``: list deals and move them through the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local

if TYPE_CHECKING:
    from crm_tui.services.views import DealRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="Deal id.", metavar="ID")]


def _stage(row: DealRow) -> str:
    return f"{row.stage_position + 1} {row.stage_name}"


def _render_rows(rows: list[DealRow], more: bool, limit: int, stage: str | None) -> list[str]:
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
    if more:
        stage_part = f" --stage {stage!r}" if stage else ""
        lines.append(f"more: crm deal list{stage_part} --after {rows[-1].id} --limit {limit}")
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
    emit(rows, as_json, lambda data: _render_rows(data, more, limit, stage))


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
