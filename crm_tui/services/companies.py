"""Companies: the legal entity behind contacts and deals, with its requisites (INN, KPP) and channels.

A company is made by hand (``crm company add``, the company view), by naming a new one on a contact, or
by converting a lead. Its INN is checked with the Federal Tax Service's check digits; another company
with the same INN is refused (a branch with its own KPP is not the same company) unless forced.
Archiving takes a company out of lists and search; nothing is deleted, its contacts and deals stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from peewee import JOIN, fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Company, Contact, Deal, User
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import (
    combined,
    normalize_email,
    normalize_phone,
    optional_text,
    required_text,
)
from crm_tui.services.views import CompanyCard, CompanyRow, ContactRow, DealRow

PAGE_SIZE = 50
INN_WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_KPP = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")
_LIVE_FIRST = (Company.archived_at.is_null(False), Company.id)
_HOST = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?$")


@dataclass(frozen=True)
class CompanyEdit:
    """Every field of a company, as a form holds them (what is typed; checked by the service)."""

    name: str
    inn: str = ""
    kpp: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    website: str = ""
    owner_id: int | None = None


@dataclass(frozen=True)
class CompanyChange:
    """What ``crm company edit`` changes: ``None`` keeps a field, ``""`` clears it."""

    name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    website: str | None = None
    owner_id: int | None = None


# --- requisites ---------------------------------------------------------------------------------------


def check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def normalize_inn(raw: str | None) -> str:
    """An INN as 10 digits (a company) or 12 (a sole trader) whose check digits are right; ``""`` for none.

    The check digits are the Federal Tax Service's: the weighted sum of the digits before, modulo 11,
    modulo 10 (one for a company's INN, two for a person's).
    """
    text = re.sub(r"\s", "", raw or "")
    if not text:
        return ""
    if not text.isdigit() or len(text) not in (10, 12):
        raise InvalidInput(
            f"INN must be 10 digits (a company) or 12 (a sole trader): {text!r}",
            {"inn": "10 or 12 digits"},
            code="inn.invalid",
            params={"value": text},
        )
    if len(text) == 10:
        good = check_digit(text[:9], INN_WEIGHTS_10) == int(text[9])
    else:
        good = check_digit(text[:10], INN_WEIGHTS_11) == int(text[10]) and check_digit(
            text[:11], INN_WEIGHTS_12
        ) == int(text[11])
    if not good:
        raise InvalidInput(
            f"INN {text} has a wrong check digit: a typo?",
            {"inn": "wrong check digit"},
            code="inn.checksum",
            params={"value": text},
        )
    return text


def normalize_kpp(raw: str | None, inn: str) -> str:
    """A KPP: 9 characters (4 digits, 2 digits or capital letters, 3 digits); only a company has one."""
    text = re.sub(r"\s", "", raw or "").upper()
    if not text:
        return ""
    if len(inn) == 12:
        raise InvalidInput(
            "A sole trader (12-digit INN) has no KPP",
            {"kpp": "a sole trader has none"},
            code="kpp.sole_trader",
            params={"value": text},
        )
    if not _KPP.match(text):
        raise InvalidInput(
            f"KPP must be 9 characters, like 770101001: {text!r}",
            {"kpp": "9 characters, like 770101001"},
            code="kpp.invalid",
            params={"value": text},
        )
    return text


def normalize_website(raw: str | None) -> str:
    """``romashka.ru`` -> ``https://romashka.ru``; an address with no dotted host is refused."""
    text = (raw or "").strip()
    if not text:
        return ""
    url = text if re.match(r"^https?://", text, re.IGNORECASE) else f"https://{text}"
    host = re.sub(r"^https?://", "", url, flags=re.IGNORECASE).split("/", 1)[0]
    if " " in text or not _HOST.match(host):
        raise InvalidInput(
            f"Not a website address: {text!r}",
            {"website": "not a website address"},
            code="website.invalid",
            params={"value": text},
        )
    return url[:300]


def _clean(edit: CompanyEdit) -> dict[str, Any]:
    """Every field checked at once: one refusal naming each bad field (``validation.combined``; with
    several, ``params["fields"]`` also maps each field to its own code)."""
    errors: list[InvalidInput] = []
    clean: dict[str, Any] = {}

    def check(field: str, fn_: Any) -> None:
        try:
            clean[field] = fn_()
        except InvalidInput as error:
            errors.append(error)

    check("name", lambda: required_text(edit.name, "name", "Name"))
    check("inn", lambda: normalize_inn(edit.inn))
    check("kpp", lambda: normalize_kpp(edit.kpp, clean.get("inn", "")))
    check("phone", lambda: normalize_phone(edit.phone) if (edit.phone or "").strip() else "")
    check("email", lambda: normalize_email(edit.email) or "")
    check("website", lambda: normalize_website(edit.website))
    check("address", lambda: optional_text(edit.address, "address", "Address", 500))
    if errors:
        refusal = combined(errors)
        refusal.params = {**refusal.params, "fields": {f: e.code for e in errors for f in e.fields}}
        raise refusal
    return clean


# --- reading --------------------------------------------------------------------------------------------


def _get(company_id: int, *, lock: bool = False) -> Company:
    """The company, or NotFound; ``lock=True`` (in a transaction) locks its row on PostgreSQL."""
    query = Company.select().where(Company.id == company_id)
    if lock and is_postgres():
        query = query.for_update()
    company = query.get_or_none()
    if company is None:
        raise NotFound(f"No company #{company_id}", code="company.not_found", params={"id": company_id})
    return company


def _rows_query():  # type: ignore[no-untyped-def]
    live = (
        Contact.select(fn.COUNT(Contact.id))
        .where((Contact.company == Company.id) & Contact.archived_at.is_null())
        .alias("contacts")
    )
    return Company.select(Company, User.login.alias("owner_login"), User.name.alias("owner_name"), live).join(
        User, JOIN.LEFT_OUTER, on=(Company.owner == User.id)
    )


def _to_row(r: dict[str, Any]) -> CompanyRow:
    return CompanyRow(
        id=r["id"],
        name=r["name"],
        inn=r["inn"],
        kpp=r["kpp"],
        phone=r["phone"],
        email=r["email"],
        address=r["address"],
        website=r["website"],
        owner_login=r["owner_login"],
        owner_name=r["owner_name"],
        created_at=r["created_at"],
        archived_at=r["archived_at"],
        contacts=int(r["contacts"] or 0),
    )


def row(company_id: int) -> CompanyRow:
    found = list(_rows_query().where(Company.id == company_id).dicts())
    if not found:
        raise NotFound(f"No company #{company_id}", code="company.not_found", params={"id": company_id})
    return _to_row(found[0])


def list_page(
    *,
    after_id: int | None = None,
    owner_id: int | None = None,
    archived: bool = False,
    limit: int = PAGE_SIZE,
) -> list[CompanyRow]:
    """Companies newest first, keyset-paged on id; archived ones only with ``archived=True``."""
    query = _rows_query().where(
        Company.archived_at.is_null(False) if archived else Company.archived_at.is_null()
    )
    if owner_id is not None:
        query = query.where(Company.owner == owner_id)
    if after_id is not None:
        query = query.where(Company.id < after_id)
    return [_to_row(r) for r in query.order_by(Company.id.desc()).limit(limit).dicts()]


def card(company_id: int) -> CompanyCard:
    """The company, its contacts (archived ones last) and its deals, newest first."""
    from crm_tui.services import contacts, deals

    company = row(company_id)
    people = contacts.list_page(company_id=company_id, limit=200)
    people += contacts.list_page(company_id=company_id, archived=True, limit=200)
    query = deals._rows_query().where(Deal.company == company_id).order_by(Deal.id.desc()).limit(200)
    company_deals: list[DealRow] = [deals._to_row(r) for r in query.dicts()]
    return CompanyCard(company=company, contacts=people, deals=company_deals)


def contact_rows(company_id: int) -> list[ContactRow]:
    from crm_tui.services import contacts

    return contacts.list_page(company_id=company_id, limit=200)


# --- which company a contact names ------------------------------------------------------------------------


def resolve(ref: str | int | None, *, owner_id: int | None, now: datetime, create: bool = True) -> int | None:
    """The company a contact names: ``None``/``""`` none; an id (``12`` or ``#12``) that company; a name
    the company of that exact name (any case), made anew when there is none and ``create`` is set.

    An archived company is refused when a contact is given to it (restore it first: a contact is not
    added to a company nobody sees); ``create=False`` (a filter) finds it as any other.
    """
    if ref is None:
        return None
    text = str(ref).strip()
    if not text:
        return None
    if re.fullmatch(r"#?\d+", text):
        company = _get(int(text.lstrip("#")))
        if create:
            _refuse_archived(company)
        return int(company.id)
    # the exact name first (indexed), then in any case (SQLite's lower() folds only ASCII letters);
    # a company in use before an archived one of the same name
    matches = list(Company.select().where(Company.name == text).order_by(*_LIVE_FIRST).limit(1))
    if not matches:
        matches = list(
            Company.select().where(fn.LOWER(Company.name) == text.lower()).order_by(*_LIVE_FIRST).limit(1)
        )
    if matches:
        if create:
            _refuse_archived(matches[0])
        return int(matches[0].id)
    if not create:
        raise NotFound(f"No company named {text!r}", code="company.not_found", params={"name": text})
    return create_named(text, owner_id=owner_id, now=now)


def _refuse_archived(company: Company) -> None:
    if company.archived_at is not None:
        raise RuleViolation(
            f"Company #{company.id} {company.name} is archived; restore it first "
            f"(crm company restore {company.id})",
            code="company.archived",
            params={"id": company.id, "name": company.name},
        )


def create_named(name: str, *, owner_id: int | None, now: datetime) -> int:
    """A company with only a name (named on a contact or a converted lead), indexed."""
    company = Company.create(name=name.strip(), owner=owner_id, created_at=now)
    index.upsert("company", company.id, index.company_body(company.name))
    return int(company.id)


# --- writing --------------------------------------------------------------------------------------------


def _same_inn(inn: str, kpp: str, exclude: int | None) -> Company | None:
    """Another company with this INN that is not a branch with a KPP of its own."""
    if not inn:
        return None
    query = Company.select().where(Company.inn == inn)
    if exclude is not None:
        query = query.where(Company.id != exclude)
    for other in query.order_by(Company.id):
        if not kpp or not other.kpp or other.kpp == kpp:
            return other
    return None


def _refuse_same_inn(clean: dict[str, Any], exclude: int | None) -> None:
    other = _same_inn(clean["inn"], clean["kpp"], exclude)
    if other is not None:
        archived = " (archived)" if other.archived_at is not None else ""
        raise InvalidInput(
            f"Company #{other.id} {other.name}{archived} already has INN {clean['inn']}",
            {"inn": f"already company #{other.id} {other.name}"},
            code="company.duplicate",
            params={"id": other.id, "name": other.name, "inn": clean["inn"]},
        )


def _owner(owner_id: int | None) -> None:
    if owner_id is not None and not User.select().where(User.id == owner_id).exists():
        raise NotFound(f"No user #{owner_id}", code="user.not_found", params={"id": owner_id})


def create(edit: CompanyEdit, *, by: int | None, now: datetime, force: bool = False) -> int:
    """Add a company; one with the same INN is refused unless ``force``."""
    clean = _clean(edit)
    with database.atomic():
        _owner(edit.owner_id)
        if not force:
            _refuse_same_inn(clean, None)
        company = Company.create(**clean, owner=edit.owner_id or by, created_at=now)
        reindex(company.id)
    return int(company.id)


def update(
    company_id: int, edit: CompanyEdit, *, by: int | None, now: datetime, force: bool = False
) -> CompanyCard:
    """Replace every field (the company form); a new name is searched for on its contacts and deals too."""
    clean = _clean(edit)
    with database.atomic():
        company = _get(company_id, lock=True)
        _refuse_archived_edit(company)
        _owner(edit.owner_id)
        if not force:
            _refuse_same_inn(clean, company_id)
        renamed = clean["name"] != company.name
        for key, value in clean.items():
            setattr(company, key, value)
        if edit.owner_id is not None:
            company.owner = edit.owner_id
        company.save()
        reindex(company_id, with_people=renamed)
    return card(company_id)


def change(
    company_id: int, changes: CompanyChange, *, by: int | None, now: datetime, force: bool = False
) -> CompanyCard:
    """Change the fields given (``crm company edit``), keep the others."""
    with database.atomic():
        company = _get(company_id, lock=True)
        current = CompanyEdit(
            name=company.name,
            inn=company.inn,
            kpp=company.kpp,
            phone=company.phone,
            email=company.email,
            address=company.address,
            website=company.website,
            owner_id=company.owner_id,
        )
        given = {k: v for k, v in vars(changes).items() if v is not None}
        return update(company_id, replace(current, **given), by=by, now=now, force=force)


def _refuse_archived_edit(company: Company) -> None:
    if company.archived_at is not None:
        raise RuleViolation(
            f"Company #{company.id} {company.name} is archived; restore it to edit it",
            code="company.archived",
            params={"id": company.id, "name": company.name},
        )


def archive(company_id: int, *, by: int | None, now: datetime) -> CompanyRow:
    """Out of lists and search; its contacts and deals stay as they are."""
    with database.atomic():
        company = _get(company_id, lock=True)
        if company.archived_at is not None:
            raise RuleViolation(
                f"Company #{company_id} {company.name} is already archived",
                code="company.already_archived",
                params={"id": company_id, "name": company.name},
            )
        company.archived_at = now
        company.save()
        index.remove("company", company_id)
    return row(company_id)


def restore(company_id: int, *, by: int | None, now: datetime) -> CompanyRow:
    with database.atomic():
        company = _get(company_id, lock=True)
        if company.archived_at is None:
            raise RuleViolation(
                f"Company #{company_id} {company.name} is not archived",
                code="company.not_archived",
                params={"id": company_id, "name": company.name},
            )
        company.archived_at = None
        company.save()
        reindex(company_id)
    return row(company_id)


def reindex(company_id: int, *, with_people: bool = False) -> None:
    """Index the company (unless archived); ``with_people``: its contacts and deals too (their entries
    hold its name). Call inside the transaction that wrote it."""
    from crm_tui.services import contacts

    company = Company.get_by_id(company_id)
    if company.archived_at is None:
        index.upsert(
            "company",
            company_id,
            index.company_body(
                company.name, company.inn, company.email, company.website, company.address, company.phone
            ),
        )
    else:
        index.remove("company", company_id)
    if with_people:
        for (contact_id,) in Contact.select(Contact.id).where(Contact.company == company_id).tuples():
            contacts.reindex(contact_id)
        for deal_id, title in Deal.select(Deal.id, Deal.title).where(Deal.company == company_id).tuples():
            index.upsert("deal", deal_id, index.deal_body(title, company.name))
