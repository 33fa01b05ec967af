"""``crm dupes``, ``crm contact merge`` and ``crm company merge``: likely duplicates and merging them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, id_argument, session
from crm_tui.cli.lead import phone

if TYPE_CHECKING:
    from crm_tui.services.dupes import DupeGroup, MergeResult

KindOpt = Annotated[
    str, typer.Option("--kind", help="What to look through: contact, company or lead.", metavar="KIND")
]
LimitOpt = Annotated[int, typer.Option("--limit", help="At most this many groups, strongest first.", min=1)]
KeepArg = Annotated[int, id_argument("The one that stays (gets everything).")]
OtherArg = Annotated[int, id_argument("The one merged into KEEP and archived.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Say what the merge would do; change nothing.")]
TakeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--take", help="A field whose value comes from OTHER (repeat for several).", metavar="FIELD"
    ),
]


def _member_line(kind: str, m: Any) -> str:
    parts = [f"  {kind} #{m.id} {m.name}"]
    if m.company:
        parts.append(m.company)
    parts += [phone(p) for p in m.phones]
    parts += m.emails
    return "  ".join(parts)


def _render_groups(groups: list[DupeGroup]) -> list[str]:
    if not groups:
        return ["no likely duplicates"]
    lines: list[str] = []
    for number, group in enumerate(groups, start=1):
        lines.append(f"group {number}  score {group.score}  ({', '.join(group.reasons)})")
        lines += [_member_line(group.kind, m) for m in group.members]
    first = groups[0]
    keep, other = first.members[0].id, first.members[1].id
    tail = f"; merge with: crm {first.kind} merge {keep} {other}" if first.kind != "lead" else ""
    lines.append(f"{len(groups)} group(s){tail}")
    return lines


def dupes(
    kind: KindOpt = "contact",
    limit: LimitOpt = 100,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Groups of likely duplicates: a shared phone, e-mail (or INN), or names alike within one company."""
    from crm_tui.services import dupes as service

    with session(db, user):
        found = service.groups(kind, limit=limit)
    emit(found, as_json, _render_groups)


def _value(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _render_merge(result: MergeResult) -> list[str]:
    kind = result.kind
    head = "would merge" if result.dry_run else "merged"
    lines = [
        f"{head} {kind} #{result.other_id} {result.other_name} into #{result.keep_id} {result.keep_name}"
    ]
    moved = ", ".join(f"{n} {what}" for what, n in result.moved.items())
    lines.append(f"moved: {moved}")
    added = [phone(p) for p in result.added_phones] + result.added_emails + result.added_tags
    if added:
        lines.append(f"added: {', '.join(added)}")
    if result.filled:
        lines.append(f"filled from #{result.other_id}: {', '.join(result.filled)}")
    for c in result.conflicts:
        kept, dropped = (c.keep, c.other) if c.taken == "keep" else (c.other, c.keep)
        hint = f" (--take {c.field} keeps {_value(c.other)!s})" if c.taken == "keep" else ""
        lines.append(f"conflict {c.field}: {_value(kept)} kept, {_value(dropped)} dropped{hint}")
    if result.dry_run:
        lines.append("nothing changed (--dry-run)")
    else:
        lines.append(f"{kind} #{result.other_id} archived, merged into #{result.keep_id}")
    return lines


def contact_merge(
    keep: KeepArg,
    other: OtherArg,
    take: TakeOpt = None,
    dry_run: DryRunOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge contact OTHER into KEEP: its deals, history, tasks, leads, phones, e-mails and tags move to
    KEEP; KEEP's fields win a conflict unless --take FIELD (name, company, birthday, owner)."""
    from crm_tui.services import dupes as service

    with session(db, user) as s:
        result = service.merge_contacts(
            keep, other, take=tuple(take or ()), by=s.user_id, now=s.now, dry_run=dry_run
        )
    emit(result, as_json, _render_merge)


def company_merge(
    keep: KeepArg,
    other: OtherArg,
    take: TakeOpt = None,
    dry_run: DryRunOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge company OTHER into KEEP: its contacts and deals move to KEEP; KEEP's fields win a conflict
    unless --take FIELD (name, inn, kpp, phone, email, address, website, owner)."""
    from crm_tui.services import dupes as service

    with session(db, user) as s:
        result = service.merge_companies(
            keep, other, take=tuple(take or ()), by=s.user_id, now=s.now, dry_run=dry_run
        )
    emit(result, as_json, _render_merge)


def register(app: typer.Typer, contact_app: typer.Typer, company_app: typer.Typer) -> None:
    app.command("dupes")(dupes)
    contact_app.command("merge")(contact_merge)
    company_app.command("merge")(company_merge)
