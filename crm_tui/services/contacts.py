"""Contacts: the card everything about a client hangs on.

A contact is made by hand (``crm contact add``, ``n`` in the contact list) or by converting a lead. It
has at least a phone or an e-mail; a phone or an e-mail another contact already has is refused, naming
that contact, unless forced, and the forced one is marked as a possible duplicate of it. Archiving
takes a contact out of lists and search; its history, deals and tasks stay, and it can be restored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from peewee import JOIN

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Company, Contact, ContactChannel, Interaction, Lead, User
from crm_tui.services import companies
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import (
    clean_text,
    combined,
    format_phone,
    normalize_email,
    normalize_phone,
    optional_text,
    required_text,
)
from crm_tui.services.views import ContactCard, ContactOrigin, ContactRow, HistoryItem

PAGE_SIZE = 50
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@dataclass(frozen=True)
class ContactEdit:
    """Every field of a contact's header, as a form holds them (what is typed; checked by the service).

    ``company_name`` names the company (an existing one in any case, else a new one); ``company_id``, when
    given, wins over it. ``birthday`` is a date or what was typed (``1985-04-12``, ``12.04.1985``).
    """

    name: str
    company_name: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    birthday: date | str | None = None
    tags: tuple[str, ...] = ()
    owner_id: int | None = None
    company_id: int | None = None


@dataclass(frozen=True)
class ContactChange:
    """What ``crm contact edit`` changes; ``None`` keeps a field.

    ``phones`` / ``emails`` / ``tags`` replace the whole list; ``add_*`` and ``remove_*`` change it one
    value at a time. ``company`` is a name or an id (``""`` takes the contact out of its company);
    ``birthday`` ``""`` clears it.
    """

    name: str | None = None
    company: str | None = None
    phones: tuple[str, ...] | None = None
    add_phones: tuple[str, ...] = ()
    remove_phones: tuple[str, ...] = ()
    emails: tuple[str, ...] | None = None
    add_emails: tuple[str, ...] = ()
    remove_emails: tuple[str, ...] = ()
    birthday: str | None = None
    tags: tuple[str, ...] | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    owner_id: int | None = None


# --- checks ---------------------------------------------------------------------------------------------


def parse_birthday(value: date | str | None, *, today: date | None = None) -> date | None:
    """``1985-04-12`` or ``12.04.1985`` (as Russians write it); a date that does not exist, or one in the
    future, is refused."""
    if value is None or isinstance(value, date):
        parsed = value
    else:
        text = value.strip()
        if not text:
            return None
        dotted = _DOTTED_DATE.match(text)
        try:
            if dotted:
                parsed = date(int(dotted[3]), int(dotted[2]), int(dotted[1]))
            else:
                parsed = date.fromisoformat(text)
        except ValueError as error:
            raise InvalidInput(
                f"Not a date: {text!r} (YYYY-MM-DD or DD.MM.YYYY)",
                {"birthday": "not a date (YYYY-MM-DD)"},
                code="date.invalid",
                params={"value": text},
            ) from error
    if parsed is not None and today is not None and parsed > today:
        raise InvalidInput(
            f"Birthday {parsed.isoformat()} is in the future",
            {"birthday": "in the future"},
            code="birthday.future",
            params={"value": parsed.isoformat()},
        )
    return parsed


def _validate(edit: ContactEdit, *, today: date | None) -> dict[str, Any]:
    """Every field checked at once: one refusal naming each bad field (``validation.combined``; with
    several, ``params["fields"]`` also maps each field to its own code, for a face that words them)."""
    errors: list[InvalidInput] = []

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as error:
            errors.append(error)
            return None

    name = check(required_text, edit.name, "name", "Name") or ""
    check(optional_text, edit.company_name, "company", "Company")
    phones = [p for raw in edit.phones if raw.strip() and (p := check(normalize_phone, raw))]
    emails = [e for raw in edit.emails if (e := check(normalize_email, raw))]
    birthday = check(parse_birthday, edit.birthday, today=today)
    tags = [t for raw in edit.tags if (t := check(clean_text, raw, "tags", "A tag", 60))]
    if not errors and not phones and not emails:
        errors.append(
            InvalidInput(
                "A contact needs a phone or an e-mail",
                {"phone": "a phone or an e-mail is needed", "email": "a phone or an e-mail is needed"},
                code="contact.channel_required",
            )
        )
    if errors:
        refusal = combined(errors)
        refusal.params = {**refusal.params, "fields": {f: e.code for e in errors for f in e.fields}}
        raise refusal
    return {
        "name": name,
        "phones": list(dict.fromkeys(phones)),
        "emails": list(dict.fromkeys(emails)),
        "birthday": birthday,
        "tags": list(dict.fromkeys(t.replace(",", " ") for t in tags)),
    }


def _refuse_duplicates(phones: list[str], emails: list[str], exclude: int | None) -> int | None:
    """Refuse a phone or an e-mail another contact has (named, with the value); ``None`` when none does."""
    match = find_duplicate(phones, emails, exclude=exclude)
    if match is None:
        return None
    other_id, other_name, value, kind, archived = match
    shown = format_phone(value) if kind == "phone" else value
    state = " (archived)" if archived else ""
    raise InvalidInput(
        f"Contact #{other_id} {other_name}{state} already has the {'phone' if kind == 'phone' else 'e-mail'} "
        f"{shown}",
        {kind: f"already contact #{other_id} {other_name}{state}"},
        code="contact.duplicate",
        params={"id": other_id, "name": other_name, "value": value, "field": kind, "archived": archived},
    )


def find_duplicate(
    phones: list[str], emails: list[str], *, exclude: int | None = None
) -> tuple[int, str, str, str, bool] | None:
    """The oldest other contact with one of these (normalized) phones or e-mails:
    ``(id, name, value, kind, archived)``."""
    values = [*phones, *emails]
    if not values:
        return None
    query = (
        Contact.select(
            Contact.id, Contact.name, Contact.archived_at, ContactChannel.value, ContactChannel.kind
        )
        .join(ContactChannel)
        .where(ContactChannel.value.in_(values))
    )
    if exclude is not None:
        query = query.where(Contact.id != exclude)
    found = query.order_by(Contact.id).tuples().first()
    if found is None:
        return None
    contact_id, name, archived_at, value, kind = found
    return int(contact_id), name, value, kind, archived_at is not None


def _check_owner(owner_id: int | None) -> None:
    if owner_id is not None and not User.select().where(User.id == owner_id).exists():
        raise NotFound(f"No user #{owner_id}", code="user.not_found", params={"id": owner_id})


def _get(contact_id: int, *, lock: bool = False) -> Contact:
    """The contact, or NotFound; ``lock=True`` (in a transaction) locks its row on PostgreSQL."""
    query = Contact.select().where(Contact.id == contact_id)
    if lock and is_postgres():
        query = query.for_update()
    contact = query.get_or_none()
    if contact is None:
        raise NotFound(f"No contact #{contact_id}", code="contact.not_found", params={"id": contact_id})
    return contact


# --- writing --------------------------------------------------------------------------------------------


def company_for(name: str | None, *, owner_id: int | None, now: datetime) -> int | None:
    """The company with this exact name, created if new; ``None`` for no name (lead conversion)."""
    text = optional_text(name, "company", "Company", 300)
    if not text:
        return None
    company = (
        Company.select()
        .where(Company.name == text)
        .order_by(Company.archived_at.is_null(False), Company.id)
        .first()
    )
    if company is None:
        return companies.create_named(text, owner_id=owner_id, now=now)
    return int(company.id)


def reindex(contact_id: int) -> None:
    """Index the contact as it is now (an archived one is taken out). Call inside its transaction."""
    contact = Contact.get_by_id(contact_id)
    if contact.archived_at is not None:
        index.remove("contact", contact_id)
        return
    company = Company.get_or_none(Company.id == contact.company_id) if contact.company_id else None
    channels = list(ContactChannel.select().where(ContactChannel.contact == contact_id))
    index.upsert(
        "contact",
        contact_id,
        index.contact_body(
            contact.name,
            company.name if company else None,
            index.split_tags(contact.tags),
            [c.value for c in channels if c.kind == "email"],
            [c.value for c in channels if c.kind == "phone"],
        ),
    )


def _company_id(edit: ContactEdit, *, owner_id: int | None, now: datetime) -> int | None:
    if edit.company_id is not None:
        return companies.resolve(edit.company_id, owner_id=owner_id, now=now)
    return companies.resolve(edit.company_name, owner_id=owner_id, now=now)


def _same_company(edit: ContactEdit, contact: Contact) -> bool:
    if contact.company_id is None:
        return False
    if edit.company_id is not None:
        return int(edit.company_id) == contact.company_id
    current = Company.get_or_none(Company.id == contact.company_id)
    return current is not None and (edit.company_name or "").strip() == current.name


def create(edit: ContactEdit, *, by: int | None, now: datetime, force: bool = False) -> int:
    """Add a contact (and its company, when it names a new one). A phone or an e-mail another contact
    has is refused unless ``force``; then the new contact is marked a possible duplicate of that one."""
    clean = _validate(edit, today=now.date())
    with database.atomic():
        owner_id = edit.owner_id or by
        _check_owner(edit.owner_id)
        duplicate_of = None
        if force:
            match = find_duplicate(clean["phones"], clean["emails"])
            duplicate_of = match[0] if match else None
        else:
            _refuse_duplicates(clean["phones"], clean["emails"], None)
        company_id = _company_id(edit, owner_id=owner_id, now=now)
        contact = Contact.create(
            name=clean["name"],
            company=company_id,
            owner=owner_id,
            birthday=clean["birthday"],
            tags=",".join(clean["tags"]),
            created_at=now,
            duplicate_of=duplicate_of,
        )
        _write_channels(contact.id, clean["phones"], clean["emails"])
        reindex(contact.id)
    return int(contact.id)


def update(
    contact_id: int, edit: ContactEdit, *, by: int | None, now: datetime, force: bool = False
) -> ContactCard:
    """Replace the card's header fields (the contact form); all or nothing."""
    clean = _validate(edit, today=now.date())
    with database.atomic():
        contact = _get(contact_id, lock=True)
        _refuse_archived(contact)
        _check_owner(edit.owner_id)
        current = {c.value for c in ContactChannel.select().where(ContactChannel.contact == contact_id)}
        new_values = [v for v in (*clean["phones"], *clean["emails"]) if v not in current]
        added_phones = [p for p in clean["phones"] if p in new_values]
        added_emails = [e for e in clean["emails"] if e in new_values]
        if force:
            match = find_duplicate(added_phones, added_emails, exclude=contact_id)
            if match is not None and contact.duplicate_of is None:
                contact.duplicate_of = match[0]
        else:
            _refuse_duplicates(added_phones, added_emails, contact_id)
        contact.name = clean["name"]
        if not _same_company(edit, contact):  # the company it has stays, even archived since
            contact.company = _company_id(edit, owner_id=contact.owner_id, now=now)
        contact.birthday = clean["birthday"]
        contact.tags = ",".join(clean["tags"])
        if edit.owner_id is not None:
            contact.owner = edit.owner_id
        contact.save()
        ContactChannel.delete().where(ContactChannel.contact == contact_id).execute()
        _write_channels(contact_id, clean["phones"], clean["emails"])
        reindex(contact_id)
    return card(contact_id)


def change(
    contact_id: int, changes: ContactChange, *, by: int | None, now: datetime, force: bool = False
) -> ContactCard:
    """Change the fields given (``crm contact edit``), keep the others; all or nothing."""
    with database.atomic():
        contact = _get(contact_id, lock=True)
        _refuse_archived(contact)
        now_card = card(contact_id)
        phones = _changed_list(
            "phone", now_card.phones, changes.phones, changes.add_phones, changes.remove_phones, _phone_key
        )
        emails = _changed_list(
            "email", now_card.emails, changes.emails, changes.add_emails, changes.remove_emails, _email_key
        )
        tags = _changed_list(
            "tag", now_card.tags, changes.tags, changes.add_tags, changes.remove_tags, lambda t: t.strip()
        )
        edit = ContactEdit(
            name=changes.name if changes.name is not None else now_card.name,
            phones=tuple(phones),
            emails=tuple(emails),
            birthday=changes.birthday if changes.birthday is not None else now_card.birthday,
            tags=tuple(tags),
            owner_id=changes.owner_id,
        )
        if changes.company is None:
            edit = replace(edit, company_id=now_card.company_id) if now_card.company_id else edit
        else:
            edit = replace(edit, company_name=changes.company)
        return update(contact_id, edit, by=by, now=now, force=force)


def _phone_key(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidInput:
        return raw.strip()


def _email_key(raw: str) -> str:
    try:
        return normalize_email(raw) or ""
    except InvalidInput:
        return raw.strip().lower()


def _changed_list(
    kind: str,
    current: list[str],
    replace_with: tuple[str, ...] | None,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    key: Any,
) -> list[str]:
    """The list after ``--phone`` (replace), ``--add-phone`` and ``--remove-phone``; removing a value the
    contact does not have is refused (a typo would otherwise pass unnoticed)."""
    values = list(replace_with) if replace_with is not None else list(current)
    values += list(add)
    for raw in remove:
        wanted = key(raw)
        kept = [v for v in values if key(v) != wanted]
        if len(kept) == len(values):
            field = {"phone": "phone", "email": "email", "tag": "tags"}[kind]
            raise InvalidInput(
                f"The contact has no {kind} {raw.strip()!r} to remove",
                {field: f"no such {kind}"},
                code=f"contact.no_such_{kind}",
                params={"value": raw.strip()},
            )
        values = kept
    return values


def _refuse_archived(contact: Contact) -> None:
    if contact.archived_at is not None:
        raise RuleViolation(
            f"Contact #{contact.id} {contact.name} is archived; restore it to edit it "
            f"(crm contact restore {contact.id})",
            code="contact.archived",
            params={"id": contact.id, "name": contact.name},
        )


def archive(contact_id: int, *, by: int | None, now: datetime) -> ContactCard:
    """Out of lists and search; its history, deals and tasks stay (the history records who archived it)."""
    with database.atomic():
        contact = _get(contact_id, lock=True)
        if contact.archived_at is not None:
            raise RuleViolation(
                f"Contact #{contact_id} {contact.name} is already archived",
                code="contact.already_archived",
                params={"id": contact_id, "name": contact.name},
            )
        contact.archived_at = now
        contact.save()
        index.remove("contact", contact_id)
        Interaction.create(kind="note", by=by, at=now, contact=contact_id, subject="Contact archived")
    return card(contact_id)


def restore(contact_id: int, *, by: int | None, now: datetime) -> ContactCard:
    """Back in lists and search, as it was."""
    with database.atomic():
        contact = _get(contact_id, lock=True)
        if contact.archived_at is None:
            raise RuleViolation(
                f"Contact #{contact_id} {contact.name} is not archived",
                code="contact.not_archived",
                params={"id": contact_id, "name": contact.name},
            )
        contact.archived_at = None
        contact.save()
        reindex(contact_id)
        Interaction.create(kind="note", by=by, at=now, contact=contact_id, subject="Contact restored")
    return card(contact_id)


def _write_channels(contact_id: int, phones: list[str], emails: list[str]) -> None:
    rows = [{"contact": contact_id, "kind": "phone", "value": p, "position": i} for i, p in enumerate(phones)]
    rows += [
        {"contact": contact_id, "kind": "email", "value": e, "position": i} for i, e in enumerate(emails)
    ]
    if rows:
        ContactChannel.insert_many(rows).execute()


# --- reading --------------------------------------------------------------------------------------------


def card(contact_id: int) -> ContactCard:
    """The header, deals, open tasks and origin of a contact (the timeline is paged by
    ``interactions.timeline``; :func:`history` reads it whole)."""
    from crm_tui.services import deals, tasks

    contact = _get(contact_id)
    company = Company.get_or_none(Company.id == contact.company_id) if contact.company_id else None
    owner = User.get_or_none(User.id == contact.owner_id) if contact.owner_id else None
    channels = list(
        ContactChannel.select()
        .where(ContactChannel.contact == contact_id)
        .order_by(ContactChannel.kind, ContactChannel.position)
    )
    original = (
        Contact.select(Contact.name).where(Contact.id == contact.duplicate_of).first()
        if contact.duplicate_of
        else None
    )
    leads = list(
        Lead.select()
        .where(Lead.contact == contact_id, Lead.converted_at.is_null(False))
        .order_by(Lead.converted_at, Lead.id)
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
        tags=index.split_tags(contact.tags),
        created_at=contact.created_at,
        deals=deals.for_contact(contact_id),
        open_tasks=tasks.open_for(contact_id=contact_id),
        archived_at=contact.archived_at,
        duplicate_of=contact.duplicate_of,
        duplicate_of_name=original.name if original else None,
        company_archived=bool(company and company.archived_at is not None),
        origin=_origin(leads[0]) if leads else None,
        later_leads=[int(lead.id) for lead in leads[1:]],
    )


def _origin(lead: Lead) -> ContactOrigin:
    return ContactOrigin(
        lead_id=lead.id,
        source=lead.utm_source,
        medium=lead.utm_medium,
        campaign=lead.utm_campaign,
        keyword=lead.utm_term,
        content=lead.utm_content,
        landing_page=lead.landing_page,
        referrer=lead.referrer,
        registered_at=lead.created_at,
        converted_at=lead.converted_at,
    )


def history(contact_id: int) -> list[HistoryItem]:
    """The contact's whole history, newest first: calls, e-mails, meetings, notes, moves, conversions."""
    _get(contact_id)
    query = (
        Interaction.select(
            Interaction.id,
            Interaction.kind,
            Interaction.at,
            User.login,
            User.name,
            Interaction.duration,
            Interaction.subject,
            Interaction.summary,
            Interaction.outcome,
            Interaction.deal,
            Interaction.lead,
        )
        .join(User, JOIN.LEFT_OUTER, on=(Interaction.by == User.id))
        .where(Interaction.contact == contact_id)
        .order_by(Interaction.at.desc(), Interaction.id.desc())
    )
    return [HistoryItem(*r) for r in query.tuples()]


def list_page(
    *,
    after_id: int | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    company_id: int | None = None,
    archived: bool = False,
    limit: int = PAGE_SIZE,
) -> list[ContactRow]:
    """Contacts newest first, keyset-paged; first phone and e-mail from the channel index. Archived
    contacts only with ``archived=True``. ``tag`` is one tag, any case."""
    Owner = User.alias()
    query = (
        Contact.select(
            Contact.id,
            Contact.name,
            Contact.created_at,
            Contact.tags,
            Contact.company,
            Contact.duplicate_of,
            Contact.archived_at,
            Company.name.alias("company_name"),
            Owner.name.alias("owner_name"),
            Owner.login.alias("owner_login"),
        )
        .join(Company, JOIN.LEFT_OUTER, on=(Contact.company == Company.id))
        .switch(Contact)
        .join(Owner, JOIN.LEFT_OUTER, on=(Contact.owner == Owner.id))
        .where(Contact.archived_at.is_null(False) if archived else Contact.archived_at.is_null())
    )
    if after_id is not None:
        query = query.where(Contact.id < after_id)
    if owner_id is not None:
        query = query.where(Contact.owner == owner_id)
    if company_id is not None:
        query = query.where(Contact.company == company_id)
    wanted = (tag or "").strip()
    if wanted:
        # tags are stored "vip,опт": the tag between commas; compared folded in Python for Cyrillic case
        query = query.where(Contact.tags.contains(wanted) | Contact.tags.contains(wanted.lower()))
    rows: list[dict[str, Any]] = []
    cursor = query.order_by(Contact.id.desc()).dicts()
    for r in cursor if wanted else cursor.limit(limit):
        if wanted and index.fold(wanted) not in {index.fold(t) for t in index.split_tags(r["tags"])}:
            continue
        rows.append(r)
        if len(rows) >= limit:
            break
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
            owner_login=r["owner_login"],
            tags=index.split_tags(r["tags"]),
            company_id=r["company"],
            duplicate_of=r["duplicate_of"],
            archived_at=r["archived_at"],
        )
        for r in rows
    ]


def first_of_company(company_id: int) -> int | None:
    """The company's oldest contact not archived, or ``None`` if it has none."""
    found = (
        Contact.select(Contact.id)
        .where((Contact.company == company_id) & Contact.archived_at.is_null())
        .order_by(Contact.id)
        .first()
    )
    return int(found.id) if found else None
