"""``crm contact ...``: add, list, show (the contact card's twin), edit, archive, restore."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page, phone

if TYPE_CHECKING:
    from crm_tui.services.views import ContactCard, ContactRow, HistoryItem

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="Contact id.", metavar="ID")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Full name: 'Иван Смирнов'.")]
PhonesOpt = Annotated[
    list[str] | None, typer.Option("--phone", help="A phone in any usual form; repeat for several.")
]
EmailsOpt = Annotated[list[str] | None, typer.Option("--email", help="An e-mail; repeat for several.")]
CompanyOpt = Annotated[
    str | None,
    typer.Option("--company", help="Company name (an existing one, else a new one) or id (12 or #12)."),
]
BirthdayOpt = Annotated[
    str | None, typer.Option("--birthday", help="YYYY-MM-DD or DD.MM.YYYY.", metavar="DATE")
]
TagsOpt = Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Login of the manager who owns the contact (default: you).")
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force", help="Save even if another contact has the phone or e-mail (marked a duplicate)."
    ),
]


@contextmanager
def duplicate_hint() -> Iterator[None]:
    """A refused duplicate says how to add it anyway."""
    from crm_tui.services.errors import CrmError

    try:
        yield
    except CrmError as error:
        if error.code == "contact.duplicate":
            error.message += "; --force saves it anyway, marked as a possible duplicate"
        raise


def _owner_id(login: str | None) -> int | None:
    from crm_tui.services import users

    return users.by_login(login).id if login else None


def _header(card: ContactCard) -> list[str]:
    fields: list[tuple[str, str]] = [
        ("contact", f"#{card.id} {card.name}" + (" (archived)" if card.archived_at else "")),
        ("company", _company(card)),
        ("phones", ", ".join(phone(p) for p in card.phones)),
        ("e-mails", ", ".join(card.emails)),
        ("birthday", card.birthday.isoformat() if card.birthday else ""),
        ("tags", ", ".join(card.tags)),
        ("owner", f"{card.owner_name} ({card.owner_login})" if card.owner_login else ""),
        ("since", local(card.created_at)),
        ("archived", local(card.archived_at)),
        ("duplicate of", _duplicate(card)),
    ]
    width = max(len(k) for k, _ in fields)
    return [f"{k.ljust(width)}  {v}" for k, v in fields if v]


def _company(card: ContactCard) -> str:
    if card.company_id is None:
        return ""
    return f"#{card.company_id} {card.company_name}" + (" (archived)" if card.company_archived else "")


def _duplicate(card: ContactCard) -> str:
    if card.duplicate_of is None:
        return ""
    return f"possibly #{card.duplicate_of} {card.duplicate_of_name or ''}".rstrip()


def _saved(verb: str) -> Any:
    def render(card: ContactCard) -> list[str]:
        lines = [f"contact #{card.id} {card.name} {verb}"]
        if card.company_id is not None:
            lines.append(f"company #{card.company_id} {card.company_name}")
        if card.duplicate_of is not None:
            lines.append(f"possible duplicate of contact #{card.duplicate_of} {card.duplicate_of_name}")
        return lines

    return render


@app.command("add")
def add(
    name: NameOpt = None,
    phones: PhonesOpt = None,
    emails: EmailsOpt = None,
    company: CompanyOpt = None,
    birthday: BirthdayOpt = None,
    tags: TagsOpt = None,
    owner: OwnerOpt = None,
    force: ForceOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a contact: a name and at least a phone or an e-mail."""
    from crm_tui.services import contacts

    with session(db, user) as s, duplicate_hint():
        edit = contacts.ContactEdit(
            name=name or "",
            company_name=company or "",
            phones=tuple(phones or ()),
            emails=tuple(emails or ()),
            birthday=birthday,
            tags=tuple(tags or ()),
            owner_id=_owner_id(owner),
        )
        contact_id = contacts.create(edit, by=s.user_id, now=s.now, force=force)
        card = contacts.card(contact_id)
    emit(card, as_json, _saved("added"))


def _render_rows(rows: list[ContactRow], hint: str | None) -> list[str]:
    if not rows:
        return ["no contacts"]
    body = [
        [
            str(r.id),
            r.name + (" (dup?)" if r.duplicate_of else ""),
            r.company_name or "",
            phone(r.phone),
            r.email or "",
            ", ".join(r.tags),
            r.owner_login or "",
            local(r.created_at)[:10],
        ]
        for r in rows
    ]
    lines = table(body, ["ID", "NAME", "COMPANY", "PHONE", "E-MAIL", "TAGS", "OWNER", "SINCE"])
    if hint:
        lines.append(hint)
    return lines


@app.command("list")
def list_(
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this manager's contacts (login).")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only contacts with this tag.")] = None,
    company: Annotated[
        str | None, typer.Option("--company", help="Only this company's contacts (name or id).")
    ] = None,
    archived: Annotated[bool, typer.Option("--archived", help="The archived contacts instead.")] = False,
    limit: LimitOpt = 50,
    after: AfterOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Contacts, newest first, a page at a time (archived ones are left out)."""
    from crm_tui.services import companies, contacts

    check_limit(limit)
    with session(db, user) as s:
        company_id = companies.resolve(company, owner_id=None, now=s.now, create=False) if company else None
        rows = contacts.list_page(
            owner_id=_owner_id(owner),
            tag=tag,
            company_id=company_id,
            archived=archived,
            after_id=after,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    options: dict[str, str | bool | None] = {
        "owner": owner,
        "tag": tag,
        "company": company,
        "archived": archived,
    }
    hint = next_page("contact list", options, rows[-1].id, limit) if more else None
    emit(rows, as_json, lambda data: _render_rows(data, hint))


def _history_line(item: HistoryItem) -> str:
    parts = [local(item.at), item.kind]
    if item.duration is not None:
        minutes, seconds = divmod(item.duration, 60)
        parts.append(f"{minutes}:{seconds:02d}")
    text = " · ".join(p for p in (item.subject, item.summary, item.outcome) if p)
    if text:
        parts.append(text)
    if item.deal is not None:
        parts.append(f"deal #{item.deal}")
    if item.by:
        parts.append(f"by {item.by}")
    return "  " + "  ".join(parts)


def _render_show(data: dict[str, Any]) -> list[str]:
    card: ContactCard = data["card"]
    lines = _header(card)
    origin = card.origin
    if origin is not None:
        came = [
            ("source", origin.source + (f" / {origin.medium}" if origin.medium else "")),
            ("keyword", origin.keyword),
            ("campaign", origin.campaign),
            ("landing page", origin.landing_page),
            ("referrer", origin.referrer),
        ]
        lines.append(f"came from: lead #{origin.lead_id}, registered {local(origin.registered_at)}")
        lines += [f"  {k}: {v}" for k, v in came if v]
        if card.later_leads:
            lines.append("  later requests: " + ", ".join(f"lead #{i}" for i in card.later_leads))
    lines.append("deals:" if card.deals else "deals: none")
    for deal in card.deals:
        lines.append(f"  #{deal.id} {deal.title}  {deal.stage_position + 1} {deal.stage_name}  {deal.money}")
    lines.append("open tasks:" if card.open_tasks else "open tasks: none")
    for task in card.open_tasks:
        who = f" @{task.assignee_login}" if task.assignee_login else ""
        lines.append(f"  task #{task.id}: {task.title}, due {local(task.due_at)}{who}")
    history: list[HistoryItem] = data["history"]
    lines.append(f"history ({len(history)}, newest first):" if history else "history: none")
    lines += [_history_line(item) for item in history]
    return lines


@app.command("show")
def show(contact_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """The contact card: fields, company, deals, open tasks, where the client came from, whole history."""
    from crm_tui.services import contacts
    from crm_tui.services.views import to_json

    with session(db, user):
        card = contacts.card(contact_id)
        history = contacts.history(contact_id)
    if as_json:
        data = to_json(card)
        data["history"] = [
            {
                "kind": h.kind,
                "at": h.at,
                "by": h.by,
                "by_name": h.by_name,
                "duration": h.duration,
                "subject": h.subject,
                "summary": h.summary,
                "outcome": h.outcome,
                "deal": h.deal,
                "lead": h.lead,
                "id": h.id,
            }
            for h in history
        ]
        emit(data, True)
        return
    emit({"card": card, "history": history}, False, _render_show)


@app.command("edit")
def edit(
    contact_id: IdArg,
    name: NameOpt = None,
    phones: Annotated[
        list[str] | None, typer.Option("--phone", help="Replace the phones with these (repeat for several).")
    ] = None,
    add_phones: Annotated[list[str] | None, typer.Option("--add-phone", help="Add a phone.")] = None,
    remove_phones: Annotated[list[str] | None, typer.Option("--remove-phone", help="Remove a phone.")] = None,
    emails: Annotated[
        list[str] | None, typer.Option("--email", help="Replace the e-mails with these (repeat for several).")
    ] = None,
    add_emails: Annotated[list[str] | None, typer.Option("--add-email", help="Add an e-mail.")] = None,
    remove_emails: Annotated[
        list[str] | None, typer.Option("--remove-email", help="Remove an e-mail.")
    ] = None,
    company: Annotated[
        str | None,
        typer.Option("--company", help="Company name or id; '' takes the contact out of its company."),
    ] = None,
    birthday: Annotated[
        str | None, typer.Option("--birthday", help="YYYY-MM-DD or DD.MM.YYYY; '' clears it.", metavar="DATE")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="Replace the tags with these (repeat for several).")
    ] = None,
    add_tags: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag.")] = None,
    remove_tags: Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Give the contact to this manager (login).")
    ] = None,
    force: ForceOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the fields given; `--phone` replaces the phones, `--add-phone` / `--remove-phone` change one."""
    from crm_tui.services import contacts

    with session(db, user) as s, duplicate_hint():
        changes = contacts.ContactChange(
            name=name,
            company=company,
            phones=tuple(phones) if phones is not None else None,
            add_phones=tuple(add_phones or ()),
            remove_phones=tuple(remove_phones or ()),
            emails=tuple(emails) if emails is not None else None,
            add_emails=tuple(add_emails or ()),
            remove_emails=tuple(remove_emails or ()),
            birthday=birthday,
            tags=tuple(tags) if tags is not None else None,
            add_tags=tuple(add_tags or ()),
            remove_tags=tuple(remove_tags or ()),
            owner_id=_owner_id(owner),
        )
        card = contacts.change(contact_id, changes, by=s.user_id, now=s.now, force=force)
    emit(card, as_json, _saved("saved"))


@app.command("archive")
def archive(contact_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Take the contact out of lists and search; its history, deals and tasks are kept."""
    from crm_tui.services import contacts

    with session(db, user) as s:
        card = contacts.archive(contact_id, by=s.user_id, now=s.now)

    def render(c: ContactCard) -> list[str]:
        lines = [f"contact #{c.id} {c.name} archived (crm contact restore {c.id} brings it back)"]
        open_deals = [d for d in c.deals if d.stage_kind == "open"]
        if open_deals or c.open_tasks:
            lines.append(
                f"kept as they are: {len(open_deals)} open deal(s), {len(c.open_tasks)} open task(s)"
            )
        return lines

    emit(card, as_json, render)


@app.command("restore")
def restore(contact_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Bring an archived contact back into lists and search."""
    from crm_tui.services import contacts

    with session(db, user) as s:
        card = contacts.restore(contact_id, by=s.user_id, now=s.now)
    emit(card, as_json, _saved("restored"))
