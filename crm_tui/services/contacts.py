"""Contacts and companies: the card everything about a client hangs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from peewee import JOIN

from crm_tui.data import search as index
from crm_tui.data.db import database
from crm_tui.data.models import Company, Contact, ContactChannel, User
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.validation import (
    combined,
    normalize_email,
    normalize_phone,
    optional_text,
    required_text,
)
from crm_tui.services.views import ContactCard, ContactRow

PAGE_SIZE = 50


@dataclass(frozen=True)
class ContactEdit:
    name: str
    company_name: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    birthday: date | None = None
    tags: tuple[str, ...] = ()
    owner_id: int | None = None


def company_for(name: str | None, *, owner_id: int | None, now: datetime) -> int | None:
    """The company with this exact name, created if new; ``None`` for no name."""
    text = optional_text(name, "company", "Company", 300)
    if not text:
        return None
    company = Company.get_or_none(Company.name == text)
    if company is None:
        company = Company.create(name=text, owner=owner_id, created_at=now)
        index.upsert("company", company.id, index.make_body(company.name))
    return int(company.id)


def reindex(contact_id: int) -> None:
    contact = Contact.get_by_id(contact_id)
    company = Company.get_or_none(Company.id == contact.company_id) if contact.company_id else None
    channels = list(ContactChannel.select().where(ContactChannel.contact == contact_id))
    index.upsert(
        "contact",
        contact_id,
        index.make_body(
            contact.name,
            company.name if company else None,
            *[c.value for c in channels if c.kind == "email"],
            phones=[c.value for c in channels if c.kind == "phone"],
        ),
    )


def create(edit: ContactEdit, *, by: int | None, now: datetime) -> int:
    clean = _validate(edit)
    with database.atomic():
        company_id = company_for(edit.company_name, owner_id=edit.owner_id or by, now=now)
        contact = Contact.create(
            name=clean["name"],
            company=company_id,
            owner=edit.owner_id or by,
            birthday=edit.birthday,
            tags=",".join(clean["tags"]),
            created_at=now,
        )
        _write_channels(contact.id, clean["phones"], clean["emails"])
        reindex(contact.id)
    return int(contact.id)


def update(contact_id: int, edit: ContactEdit, *, by: int | None, now: datetime) -> ContactCard:
    """Edit the card's header fields; all or nothing."""
    clean = _validate(edit)
    with database.atomic():
        contact = Contact.get_or_none(Contact.id == contact_id)
        if contact is None:
            raise NotFound(f"No contact #{contact_id}")
        contact.name = clean["name"]
        contact.company = company_for(edit.company_name, owner_id=contact.owner_id, now=now)
        contact.birthday = edit.birthday
        contact.tags = ",".join(clean["tags"])
        if edit.owner_id is not None:
            contact.owner = edit.owner_id
        contact.save()
        ContactChannel.delete().where(ContactChannel.contact == contact_id).execute()
        _write_channels(contact_id, clean["phones"], clean["emails"])
        reindex(contact_id)
    return card(contact_id)


def _validate(edit: ContactEdit) -> dict[str, list[str] | str]:
    problems: dict[str, str] = {}
    messages: list[str] = []
    errors: list[InvalidInput] = []
    name = ""
    try:
        name = required_text(edit.name, "name", "Name")
    except InvalidInput as error:
        problems.update(error.fields)
        messages.append(error.message)
        errors.append(error)
    phones: list[str] = []
    for raw in edit.phones:
        if raw.strip():
            try:
                phones.append(normalize_phone(raw))
            except InvalidInput as error:
                problems.update(error.fields)
                messages.append(error.message)
                errors.append(error)
    emails: list[str] = []
    for raw in edit.emails:
        try:
            value = normalize_email(raw)
        except InvalidInput as error:
            problems.update(error.fields)
            messages.append(error.message)
            errors.append(error)
            continue
        if value:
            emails.append(value)
    if problems:
        raise combined(errors)
    tags = [t.strip() for t in edit.tags if t.strip()]
    return {
        "name": name,
        "phones": list(dict.fromkeys(phones)),
        "emails": list(dict.fromkeys(emails)),
        "tags": tags,
    }


def _write_channels(contact_id: int, phones: list[str], emails: list[str]) -> None:
    rows = [{"contact": contact_id, "kind": "phone", "value": p, "position": i} for i, p in enumerate(phones)]
    rows += [
        {"contact": contact_id, "kind": "email", "value": e, "position": i} for i, e in enumerate(emails)
    ]
    if rows:
        ContactChannel.insert_many(rows).execute()


def card(contact_id: int) -> ContactCard:
    """The header, deals and open tasks of a contact (the timeline is paged by ``interactions.timeline``)."""
    from crm_tui.services import deals, tasks

    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        raise NotFound(f"No contact #{contact_id}")
    company = Company.get_or_none(Company.id == contact.company_id) if contact.company_id else None
    owner = User.get_or_none(User.id == contact.owner_id) if contact.owner_id else None
    channels = list(
        ContactChannel.select()
        .where(ContactChannel.contact == contact_id)
        .order_by(ContactChannel.kind, ContactChannel.position)
    )
    return ContactCard(
        id=contact.id,
        name=contact.name,
        company_id=contact.company_id,
        company_name=company.name if company else None,
        phones=[c.value for c in channels if c.kind == "phone"],
        emails=[c.value for c in channels if c.kind == "email"],
        birthday=contact.birthday,
        owner_login=owner.login if owner else None,
        owner_name=owner.name if owner else None,
        tags=[t for t in contact.tags.split(",") if t],
        created_at=contact.created_at,
        deals=deals.for_contact(contact_id),
        open_tasks=tasks.open_for(contact_id=contact_id),
    )


def list_page(
    *, after_id: int | None = None, owner_id: int | None = None, limit: int = PAGE_SIZE
) -> list[ContactRow]:
    """Contacts newest first, keyset-paged; first phone and e-mail from the channel index."""
    Owner = User.alias()
    query = (
        Contact.select(
            Contact.id,
            Contact.name,
            Contact.created_at,
            Company.name.alias("company_name"),
            Owner.name.alias("owner_name"),
        )
        .join(Company, JOIN.LEFT_OUTER, on=(Contact.company == Company.id))
        .switch(Contact)
        .join(Owner, JOIN.LEFT_OUTER, on=(Contact.owner == Owner.id))
    )
    if after_id is not None:
        query = query.where(Contact.id < after_id)
    if owner_id is not None:
        query = query.where(Contact.owner == owner_id)
    rows = list(query.order_by(Contact.id.desc()).limit(limit).dicts())
    ids = [r["id"] for r in rows]
    first: dict[tuple[int, str], str] = {}
    if ids:
        for cid, kind, value in (
            ContactChannel.select(ContactChannel.contact, ContactChannel.kind, ContactChannel.value)
            .where(ContactChannel.contact.in_(ids))
            .order_by(ContactChannel.position.desc())
            .tuples()
        ):
            first[(cid, kind)] = value
    return [
        ContactRow(
            id=r["id"],
            name=r["name"],
            company_name=r["company_name"],
            phone=first.get((r["id"], "phone")),
            email=first.get((r["id"], "email")),
            owner_name=r["owner_name"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def first_of_company(company_id: int) -> int | None:
    """The company's oldest contact (what opening a company shows), or ``None`` if it has none."""
    found = Contact.select(Contact.id).where(Contact.company == company_id).order_by(Contact.id).first()
    return int(found.id) if found else None
