"""Leads: registration (with the one-hour call task), triage, qualification and conversion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, fn

from crm_tui.data import search as index
from crm_tui.data.db import database
from crm_tui.data.models import (
    Contact,
    ContactChannel,
    Deal,
    Interaction,
    Lead,
    StageHistory,
    Task,
    User,
)
from crm_tui.services import interactions, pipelines
from crm_tui.services.errors import InvalidInput, NeedsReason, NotFound, RuleViolation
from crm_tui.services.validation import (
    combined,
    normalize_email,
    normalize_phone,
    optional_text,
    required_text,
)
from crm_tui.services.views import ConversionResult, LeadDetail, LeadRow, SearchHit

FIRST_CALL_DELAY = timedelta(hours=1)
PAGE_SIZE = 50
OPEN_STATUSES = ("new", "in_work", "qualified")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# The optional text a lead holds: (field, label, most characters, several lines allowed).
LEAD_TEXT = (
    ("company_name", "Company", 300, False),
    ("comment", "Comment", 5000, True),
    ("utm_source", "utm_source", 200, False),
    ("utm_medium", "utm_medium", 200, False),
    ("utm_campaign", "utm_campaign", 200, False),
    ("utm_term", "utm_term", 300, False),
    ("utm_content", "utm_content", 300, False),
    ("referrer", "Referrer", 2000, False),
    ("landing_page", "Landing page", 2000, False),
)


@dataclass(frozen=True)
class NewLead:
    name: str
    phone: str
    email: str | None = None
    company_name: str = ""
    comment: str = ""
    owner_id: int | None = None
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    referrer: str = ""
    landing_page: str = ""


def validate(new: NewLead) -> dict[str, object]:
    """Check every field at once; raise InvalidInput naming each bad field. Returns the clean values."""
    problems: dict[str, str] = {}
    messages: list[str] = []
    clean: dict[str, object] = {}
    errors: list[InvalidInput] = []
    checks: list[tuple[str, Callable[[], object]]] = [
        ("name", lambda: required_text(new.name, "name", "Name")),
        ("phone", lambda: normalize_phone(new.phone)),
        ("email", lambda: normalize_email(new.email)),
    ]
    for key, label, most, multiline in LEAD_TEXT:
        checks.append(
            (
                key,
                lambda key=key, label=label, most=most, multiline=multiline: optional_text(
                    getattr(new, key), key, label, most, multiline=multiline
                ),
            )
        )
    for key, check in checks:
        try:
            clean[key] = check()
        except InvalidInput as error:
            problems.update(error.fields)
            messages.append(error.message)
            errors.append(error)
    if errors:
        raise combined(errors)
    return clean


def register(new: NewLead, *, by: int | None, now: datetime) -> LeadRow:
    """Create the lead and, in the same transaction, the task to call it within an hour."""
    return row(register_id(new, by=by, now=now))


def register_id(new: NewLead, *, by: int | None, now: datetime) -> int:
    """:func:`register` without reading the row back: the new lead's id (the web intake's hot path)."""
    clean = validate(new)
    owner_id = new.owner_id if new.owner_id is not None else by
    with database.atomic():
        if owner_id is not None and not User.select().where(User.id == owner_id).exists():
            raise NotFound(f"No user #{owner_id}")
        lead = Lead.create(**clean, owner=owner_id, created_at=now, status="new")
        Task.create(
            title=f"Call {lead.name}",
            due_at=now + FIRST_CALL_DELAY,
            next_remind_at=now + FIRST_CALL_DELAY,
            assignee=owner_id,
            created_by=by,
            lead=lead.id,
            kind="first_call",
            created_at=now,
        )
        index.upsert("lead", lead.id, _lead_body(lead))
    return int(lead.id)


def _lead_body(lead: Lead) -> str:
    return index.lead_body(
        lead.name, lead.company_name, lead.email, lead.phone, lead.comment, lead.utm_term, lead.utm_campaign
    )


def _get(lead_id: int) -> Lead:
    lead = Lead.get_or_none(Lead.id == lead_id)
    if lead is None:
        raise NotFound(f"No lead #{lead_id}")
    return lead


def _select_rows():  # type: ignore[no-untyped-def]
    return Lead.select(
        Lead.id,
        Lead.name,
        Lead.phone,
        Lead.email,
        Lead.company_name,
        Lead.status,
        Lead.utm_source,
        Lead.utm_term,
        Lead.created_at,
        Lead.contact,
        User.login,
        User.name.alias("owner_name"),
    ).join(User, on=(Lead.owner == User.id), join_type=JOIN.LEFT_OUTER)


def _to_row(r: dict[str, object], duplicate: bool = False) -> LeadRow:
    return LeadRow(
        id=r["id"],  # type: ignore[arg-type]
        name=r["name"],  # type: ignore[arg-type]
        phone=r["phone"],  # type: ignore[arg-type]
        email=r["email"],  # type: ignore[arg-type]
        company_name=r["company_name"],  # type: ignore[arg-type]
        status=r["status"],  # type: ignore[arg-type]
        utm_source=r["utm_source"],  # type: ignore[arg-type]
        utm_term=r["utm_term"],  # type: ignore[arg-type]
        owner_login=r["login"],  # type: ignore[arg-type]
        owner_name=r["owner_name"],  # type: ignore[arg-type]
        created_at=r["created_at"],  # type: ignore[arg-type]
        possible_duplicate=duplicate,
    )


def row(lead_id: int) -> LeadRow:
    found = list(_select_rows().where(Lead.id == lead_id).dicts())
    if not found:
        raise NotFound(f"No lead #{lead_id}")
    flags = duplicate_flags([found[0]])
    return _to_row(found[0], flags.get(lead_id, False))


def list_page(
    *,
    status: str | None = None,
    source: str | None = None,
    owner_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[LeadRow]:
    """A page of leads, newest first; ``after_id`` continues after the last lead of the previous page.

    Keyset paging on the primary key: the same cost at any depth of a million-lead inbox.
    """
    query = _select_rows()
    if status:
        if status == "open":
            query = query.where(Lead.status.in_(OPEN_STATUSES))
        else:
            query = query.where(Lead.status == status)
    if source:
        query = query.where(Lead.utm_source == source)
    if owner_id is not None:
        query = query.where(Lead.owner == owner_id)
    if after_id is not None:
        query = query.where(Lead.id < after_id)
    rows = list(query.order_by(Lead.id.desc()).limit(limit).dicts())
    flags = duplicate_flags(rows)
    return [_to_row(r, flags.get(int(r["id"]), False)) for r in rows]  # type: ignore[call-overload]


def newer_than(lead_id: int, limit: int = PAGE_SIZE) -> list[LeadRow]:
    """Leads registered after ``lead_id`` (by any process), newest first: what to add to an open inbox."""
    rows = list(_select_rows().where(Lead.id > lead_id).order_by(Lead.id.desc()).limit(limit).dicts())
    flags = duplicate_flags(rows)
    return [_to_row(r, flags.get(int(r["id"]), False)) for r in rows]  # type: ignore[call-overload]


def latest_id() -> int:
    return int(Lead.select(fn.MAX(Lead.id)).scalar() or 0)


def duplicate_flags(rows: list[dict[str, object]]) -> dict[int, bool]:
    """Which of these leads share a phone or e-mail with another lead, or with a contact not their own.

    Two indexed queries per page, whatever the size of the desk.
    """
    if not rows:
        return {}
    phones = {str(r["phone"]) for r in rows}
    emails = {str(r["email"]) for r in rows if r.get("email")}
    lead_counts: dict[str, int] = {}
    for (phone,) in (
        Lead.select(Lead.phone)
        .where(Lead.phone.in_(phones))
        .group_by(Lead.phone)
        .having(fn.COUNT(Lead.id) > 1)
    ).tuples():
        lead_counts[phone] = 2
    if emails:
        for (email,) in (
            Lead.select(Lead.email)
            .where(Lead.email.in_(emails))
            .group_by(Lead.email)
            .having(fn.COUNT(Lead.id) > 1)
        ).tuples():
            lead_counts[email] = 2
    contacts_by_value: dict[str, set[int]] = {}
    for value, contact_id in (
        ContactChannel.select(ContactChannel.value, ContactChannel.contact).where(
            ContactChannel.value.in_(phones | emails)
        )
    ).tuples():
        contacts_by_value.setdefault(value, set()).add(contact_id)
    result: dict[int, bool] = {}
    for r in rows:
        own = r.get("contact")
        values = [str(r["phone"])] + ([str(r["email"])] if r.get("email") else [])
        result[int(r["id"])] = any(  # type: ignore[call-overload]
            value in lead_counts or bool(contacts_by_value.get(value, set()) - {own}) for value in values
        )
    return result


def duplicates(lead_id: int) -> list[SearchHit]:
    """Other leads and contacts with this lead's phone or e-mail: the match, one key away."""
    lead = _get(lead_id)
    values = [lead.phone] + ([lead.email] if lead.email else [])
    hits: list[SearchHit] = []
    others = (
        Lead.select(Lead.id, Lead.name, Lead.phone, Lead.status, Lead.created_at)
        .where(((Lead.phone == lead.phone) | (Lead.email.in_(values))) & (Lead.id != lead.id))
        .order_by(Lead.id.desc())
        .limit(10)
    )
    for other in others:
        hits.append(SearchHit("lead", other.id, other.name, f"lead {other.status}, {other.phone}"))
    contacts = (
        Contact.select(Contact.id, Contact.name)
        .join(ContactChannel)
        .where(ContactChannel.value.in_(values))
        .where(Contact.id != (lead.contact_id or 0))
        .distinct()
        .limit(10)
    )
    for contact in contacts:
        hits.append(SearchHit("contact", contact.id, contact.name, "contact"))
    return hits


def get(lead_id: int) -> LeadDetail:
    lead = _get(lead_id)
    owner = User.get_or_none(User.id == lead.owner_id) if lead.owner_id else None
    return LeadDetail(
        id=lead.id,
        name=lead.name,
        phone=lead.phone,
        email=lead.email,
        company_name=lead.company_name,
        comment=lead.comment,
        status=lead.status,
        disqualify_reason=lead.disqualify_reason,
        owner_login=owner.login if owner else None,
        owner_name=owner.name if owner else None,
        utm_source=lead.utm_source,
        utm_medium=lead.utm_medium,
        utm_campaign=lead.utm_campaign,
        utm_term=lead.utm_term,
        utm_content=lead.utm_content,
        referrer=lead.referrer,
        landing_page=lead.landing_page,
        created_at=lead.created_at,
        qualified_at=lead.qualified_at,
        converted_at=lead.converted_at,
        contact_id=lead.contact_id,
        deal_id=lead.deal_id,
        repeat_count=lead.repeat_count,
        duplicates=duplicates(lead_id),
    )


def take(lead_id: int, *, by: int, now: datetime) -> LeadRow:
    """The manager takes the lead into work (and becomes its owner if it had none)."""
    with database.atomic():
        lead = _get(lead_id)
        if lead.status not in ("new", "in_work"):
            raise RuleViolation(f"Lead #{lead_id} is {lead.status}; only a new lead can be taken into work")
        lead.status = "in_work"
        if lead.owner_id is None:
            lead.owner = by
        lead.save()
    return row(lead_id)


def qualify(lead_id: int, *, by: int | None, now: datetime) -> LeadRow:
    """Ready to talk terms."""
    with database.atomic():
        lead = _get(lead_id)
        if lead.status not in ("new", "in_work"):
            raise RuleViolation(
                f"Lead #{lead_id} is {lead.status}; only a new or in-work lead can be qualified"
            )
        lead.status = "qualified"
        lead.qualified_at = now
        lead.save()
    return row(lead_id)


def disqualify(lead_id: int, reason: str | None, *, by: int | None, now: datetime) -> LeadRow:
    """Close a lead that will not buy (or is a duplicate); the reason is required."""
    text = optional_text(reason, "reason", "Reason", 500, multiline=True)
    if not text:
        raise NeedsReason("A reason is required to disqualify a lead")
    with database.atomic():
        lead = _get(lead_id)
        if lead.status not in OPEN_STATUSES:
            raise RuleViolation(f"Lead #{lead_id} is already {lead.status}")
        lead.status = "disqualified"
        lead.disqualify_reason = text[:500]
        lead.closed_at = now
        lead.save()
        Task.update(done_at=now).where((Task.lead == lead_id) & Task.done_at.is_null()).execute()
        Interaction.create(
            kind="note",
            by=by,
            at=now,
            lead=lead_id,
            subject="Disqualified",
            summary=text[:500],
            outcome="disqualified",
        )
    return row(lead_id)


def _find_contact(phone: str, email: str | None) -> Contact | None:
    values = [phone] + ([email] if email else [])
    return (
        Contact.select()
        .join(ContactChannel)
        .where(ContactChannel.value.in_(values))
        .order_by(Contact.id)
        .first()
    )


def convert(lead_id: int, *, by: int | None, now: datetime, qualify_first: bool = False) -> ConversionResult:
    """Turn a qualified lead into a contact (+ company) and a deal at the first open stage, atomically.

    A contact with the same phone or e-mail is linked instead of creating a duplicate.
    """
    from crm_tui.services import contacts as contact_service

    with database.atomic():
        lead = _get(lead_id)
        if lead.status in ("new", "in_work") and qualify_first:
            lead.status = "qualified"
            lead.qualified_at = now
        if lead.status != "qualified":
            if lead.status in ("new", "in_work"):
                raise RuleViolation(f"Lead #{lead_id} is not qualified yet; qualify it first")
            raise RuleViolation(f"Lead #{lead_id} is {lead.status}; only a qualified lead can be converted")
        owner_id = lead.owner_id or by
        contact = _find_contact(lead.phone, lead.email)
        linked = contact is not None
        company_id: int | None
        if contact is None:
            company_id = contact_service.company_for(lead.company_name, owner_id=owner_id, now=now)
            contact = Contact.create(name=lead.name, company=company_id, owner=owner_id, created_at=now)
            ContactChannel.create(contact=contact.id, kind="phone", value=lead.phone, position=0)
            if lead.email:
                ContactChannel.create(contact=contact.id, kind="email", value=lead.email, position=0)
            contact_service.reindex(contact.id)
        else:
            company_id = contact.company_id
            if contact.archived_at is not None:  # an archived client came back: in lists and search again
                contact_service.restore(contact.id, by=by, now=now)
        pipeline_id = pipelines.default_pipeline_id()
        stage = pipelines.first_open_stage(pipeline_id)
        title = lead.company_name or lead.name
        deal = Deal.create(
            title=title,
            contact=contact.id,
            company=company_id,
            pipeline=pipeline_id,
            stage=stage.id,
            owner=owner_id,
            lead=lead.id,
            stage_entered_at=now,
            created_at=now,
        )
        StageHistory.create(deal=deal.id, from_stage=None, to_stage=stage.id, by=by, at=now)
        index.upsert("deal", deal.id, index.deal_body(deal.title, lead.company_name))
        lead.status = "converted"
        lead.converted_at = now
        lead.contact = contact.id
        lead.deal = deal.id
        lead.save()
        Task.update(contact=contact.id).where((Task.lead == lead.id) & Task.done_at.is_null()).execute()
        Interaction.update(contact=contact.id).where(Interaction.lead == lead.id).execute()
        interactions.refresh_first_calls(contact_id=contact.id)  # the calls now shared with the contact
        Interaction.create(
            kind="conversion",
            by=by,
            at=now,
            lead=lead.id,
            contact=contact.id,
            deal=deal.id,
            subject=f"Lead #{lead.id} converted",
            summary=f"Deal #{deal.id} {title!r} opened at {stage.name}",
        )
    return ConversionResult(lead.id, contact.id, company_id, deal.id, linked)


def sources() -> list[str]:
    """The lead sources seen so far, in order (for the inbox filter): at most 100.

    One index seek per source (a recursive walk of the utm_source index, the same SQL on SQLite and
    PostgreSQL) instead of reading the whole index for DISTINCT: 0.3 ms instead of 230 ms at a million
    leads.
    """
    cursor = database.execute_sql(
        "WITH RECURSIVE seen(source, n) AS ("
        " SELECT (SELECT min(utm_source) FROM \"lead\" WHERE utm_source > ''), 1"
        " UNION ALL"
        ' SELECT (SELECT min(utm_source) FROM "lead" WHERE utm_source > seen.source), n + 1'
        " FROM seen WHERE seen.source IS NOT NULL AND n < 100"
        ") SELECT source FROM seen WHERE source IS NOT NULL"
    )
    return [source for (source,) in cursor.fetchall()]
