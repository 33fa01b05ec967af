"""``crm company ...``: add, list, show (with its contacts and deals), edit, archive, restore."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_tui.cli.common import DbOpt, JsonOpt, UserOpt, emit, session, table
from crm_tui.cli.lead import AfterOpt, LimitOpt, check_limit, local, next_page, phone

if TYPE_CHECKING:
    from crm_tui.services.views import CompanyCard, CompanyRow

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="Company id.", metavar="ID")]
InnOpt = Annotated[
    str | None, typer.Option("--inn", help="INN: 10 digits (a company) or 12 (a sole trader), check digits.")
]
KppOpt = Annotated[str | None, typer.Option("--kpp", help="KPP: 9 characters (a company only).")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Phone, any usual form.")]
EmailOpt = Annotated[str | None, typer.Option("--email", help="E-mail.")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="Address.")]
WebsiteOpt = Annotated[str | None, typer.Option("--website", help="Website: romashka.ru.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Login of the manager who owns it.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Save even if another company has this INN (and KPP).")
]


@contextmanager
def duplicate_hint() -> Iterator[None]:
    from crm_tui.services.errors import CrmError

    try:
        yield
    except CrmError as error:
        if error.code == "company.duplicate":
            error.message += "; --force saves it anyway (a branch has a KPP of its own)"
        raise


def _owner_id(login: str | None) -> int | None:
    from crm_tui.services import users

    return users.by_login(login).id if login else None


def _fields(row: CompanyRow) -> list[str]:
    fields: list[tuple[str, str]] = [
        ("company", f"#{row.id} {row.name}" + (" (archived)" if row.archived_at else "")),
        ("INN", row.inn),
        ("KPP", row.kpp),
        ("phone", phone(row.phone)),
        ("e-mail", row.email),
        ("address", row.address),
        ("website", row.website),
        ("owner", f"{row.owner_name} ({row.owner_login})" if row.owner_login else ""),
        ("since", local(row.created_at)),
        ("archived", local(row.archived_at)),
    ]
    width = max(len(k) for k, _ in fields)
    return [f"{k.ljust(width)}  {v}" for k, v in fields if v]


def _saved(verb: str) -> Any:
    def render(data: Any) -> list[str]:
        row: CompanyRow = getattr(data, "company", data)
        inn = f", INN {row.inn}" if row.inn else ""
        return [f"company #{row.id} {row.name}{inn} {verb}"]

    return render


@app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="Name: 'ООО Ромашка'.")] = "",
    inn: InnOpt = None,
    kpp: KppOpt = None,
    phone_: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    website: WebsiteOpt = None,
    owner: OwnerOpt = None,
    force: ForceOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a company; its INN is checked, and one already on the desk is refused."""
    from crm_tui.services import companies

    with session(db, user) as s, duplicate_hint():
        edit = companies.CompanyEdit(
            name=name,
            inn=inn or "",
            kpp=kpp or "",
            phone=phone_ or "",
            email=email or "",
            address=address or "",
            website=website or "",
            owner_id=_owner_id(owner),
        )
        company_id = companies.create(edit, by=s.user_id, now=s.now, force=force)
        row = companies.row(company_id)
    emit(row, as_json, _saved("added"))


def _render_rows(rows: list[CompanyRow], hint: str | None) -> list[str]:
    if not rows:
        return ["no companies"]
    body = [
        [
            str(r.id),
            r.name,
            r.inn,
            phone(r.phone),
            r.email,
            str(r.contacts),
            r.owner_login or "",
            local(r.created_at)[:10],
        ]
        for r in rows
    ]
    lines = table(body, ["ID", "NAME", "INN", "PHONE", "E-MAIL", "CONTACTS", "OWNER", "SINCE"])
    if hint:
        lines.append(hint)
    return lines


@app.command("list")
def list_(
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this manager's companies (login).")
    ] = None,
    archived: Annotated[bool, typer.Option("--archived", help="The archived companies instead.")] = False,
    limit: LimitOpt = 50,
    after: AfterOpt = None,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Companies, newest first, a page at a time (archived ones are left out)."""
    from crm_tui.services import companies

    check_limit(limit)
    with session(db, user):
        rows = companies.list_page(
            owner_id=_owner_id(owner), archived=archived, after_id=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    options: dict[str, str | bool | None] = {"owner": owner, "archived": archived}
    hint = next_page("company list", options, rows[-1].id, limit) if more else None
    emit(rows, as_json, lambda data: _render_rows(data, hint))


def _render_card(card: CompanyCard) -> list[str]:
    lines = _fields(card.company)
    lines.append("contacts:" if card.contacts else "contacts: none")
    for c in card.contacts:
        channels = ", ".join(x for x in (phone(c.phone), c.email or "") if x)
        archived = " (archived)" if c.archived_at else ""
        lines.append(f"  #{c.id} {c.name}{archived}  {channels}".rstrip())
    lines.append("deals:" if card.deals else "deals: none")
    for d in card.deals:
        lines.append(f"  #{d.id} {d.title}  {d.stage_position + 1} {d.stage_name}  {d.money}")
    return lines


@app.command("show")
def show(company_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """A company's fields, its contacts and its deals."""
    from crm_tui.services import companies

    with session(db, user):
        card = companies.card(company_id)
    emit(card, as_json, _render_card)


@app.command("edit")
def edit(
    company_id: IdArg,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    inn: InnOpt = None,
    kpp: KppOpt = None,
    phone_: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    website: WebsiteOpt = None,
    owner: OwnerOpt = None,
    force: ForceOpt = False,
    db: DbOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the fields given ('' clears one); a new name is found on its contacts and deals too."""
    from crm_tui.services import companies

    with session(db, user) as s, duplicate_hint():
        changes = companies.CompanyChange(
            name=name,
            inn=inn,
            kpp=kpp,
            phone=phone_,
            email=email,
            address=address,
            website=website,
            owner_id=_owner_id(owner),
        )
        card = companies.change(company_id, changes, by=s.user_id, now=s.now, force=force)
    emit(card, as_json, _saved("saved"))


@app.command("archive")
def archive(company_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Take the company out of lists and search; its contacts and deals are kept."""
    from crm_tui.services import companies

    with session(db, user) as s:
        row = companies.archive(company_id, by=s.user_id, now=s.now)
    emit(row, as_json, _saved(f"archived (crm company restore {company_id} brings it back)"))


@app.command("restore")
def restore(company_id: IdArg, db: DbOpt = None, user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """Bring an archived company back into lists and search."""
    from crm_tui.services import companies

    with session(db, user) as s:
        row = companies.restore(company_id, by=s.user_id, now=s.now)
    emit(row, as_json, _saved("restored"))
