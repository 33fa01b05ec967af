"""A person's data on request (152-FZ, GDPR): everything the desk holds about a contact, and its erasure.

The person is the contact, the contacts merged into it, and their leads: those linked to them and those
with one of their phones or e-mails. :func:`export` gathers all of it as plain JSON-ready data.

:func:`erase` wipes what identifies the person in one transaction and keeps what the desk's figures are
made of: names become a placeholder, phones, e-mails, birthday and tags are removed, the free text
(interaction subjects and summaries, the leads' comments, referrers and landing pages, what the web forms
posted) is emptied, and the search index forgets them; amounts, stages, statuses, sources and dates stay,
so every report keeps its totals. The contact is archived. Each export and erasure is recorded in
``personal_data_request`` (who, when, why, how many rows), never the data itself.

Backups taken before an erasure still hold the data until they are rotated out (see the README).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Company, Contact, ContactChannel, Deal, Interaction, Lead, Stage, Task, User
from crm_tui.data.privacy_models import PersonalDataRequest
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.validation import optional_text

ERASED = "[erased]"
EXPORT_FORMAT = 1
# Keys of an interaction's ``data`` that hold what a web form posted about where the person came from.
_POSTED_KEYS = ("referrer", "landing_page")


def _contact(contact_id: int, *, lock: bool = False) -> Contact:
    query = Contact.select().where(Contact.id == contact_id)
    if lock and is_postgres():
        query = query.for_update()
    contact = query.get_or_none()
    if contact is None:
        raise NotFound(f"No contact #{contact_id}", code="contact.not_found", params={"id": contact_id})
    return contact


def _people(contact_id: int) -> list[int]:
    """The contact and every contact merged into it (a merged one's own merged ones too)."""
    ids = [contact_id]
    frontier = [contact_id]
    while frontier:
        found = [i for (i,) in Contact.select(Contact.id).where(Contact.merged_into.in_(frontier)).tuples()]
        found = [i for i in found if i not in ids]
        ids += found
        frontier = found
    return ids


def _lead_ids(people: list[int]) -> list[int]:
    values = [
        v
        for (v,) in ContactChannel.select(ContactChannel.value)
        .where(ContactChannel.contact.in_(people))
        .tuples()
    ]
    query = Lead.select(Lead.id).where(Lead.contact.in_(people))
    if values:
        query = Lead.select(Lead.id).where(
            Lead.contact.in_(people) | Lead.phone.in_(values) | Lead.email.in_(values)
        )
    return sorted(i for (i,) in query.tuples())


def _logins() -> dict[int, str]:
    return dict(User.select(User.id, User.login).tuples())


def _row(model_row: dict[str, Any], logins: dict[int, str], *user_keys: str) -> dict[str, Any]:
    out = dict(model_row)
    for key in user_keys:
        if key in out:
            out[key] = logins.get(out[key]) if out[key] is not None else None
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif hasattr(value, "isoformat"):
            out[key] = value.isoformat()
    return out


def _data(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def export(contact_id: int, *, by: int | None, now: datetime) -> dict[str, Any]:
    """Everything the desk holds about the person, JSON-ready; the request is recorded."""
    with database.atomic():
        contact = _contact(contact_id)
        people = _people(contact_id)
        lead_ids = _lead_ids(people)
        logins = _logins()
        stages = {s.id: s for s in Stage.select()}
        contacts_out = []
        for person in Contact.select().where(Contact.id.in_(people)).order_by(Contact.id).dicts():
            channels = list(
                ContactChannel.select()
                .where(ContactChannel.contact == person["id"])
                .order_by(ContactChannel.kind, ContactChannel.position)
            )
            company = Company.get_or_none(Company.id == person["company"]) if person["company"] else None
            row = _row(person, logins, "owner")
            row["company"] = {"id": company.id, "name": company.name, "inn": company.inn} if company else None
            row["phones"] = [c.value for c in channels if c.kind == "phone"]
            row["emails"] = [c.value for c in channels if c.kind == "email"]
            row["tags"] = index.split_tags(person["tags"])
            contacts_out.append(row)
        deal_ids = [i for (i,) in Deal.select(Deal.id).where(Deal.contact.in_(people)).tuples()]
        deals_out = []
        for deal in Deal.select().where(Deal.id.in_(deal_ids)).order_by(Deal.id).dicts():
            row = _row(deal, logins, "owner")
            stage = stages.get(deal["stage"])
            row["stage"] = {"id": deal["stage"], "name": stage.name if stage else None}
            deals_out.append(row)
        leads_out = [
            _row(lead, logins, "owner")
            for lead in Lead.select().where(Lead.id.in_(lead_ids)).order_by(Lead.id).dicts()
        ]
        links = Interaction.contact.in_(people)
        if lead_ids:
            links = links | Interaction.lead.in_(lead_ids)
        if deal_ids:
            links = links | Interaction.deal.in_(deal_ids)
        interactions_out = []
        submissions = []
        for item in Interaction.select().where(links).order_by(Interaction.at, Interaction.id).dicts():
            row = _row(item, logins, "by")
            row["data"] = _data(item["data"])
            interactions_out.append(row)
            if item["kind"] == "repeat_request":
                submissions.append(row)
        task_links = Task.contact.in_(people)
        if lead_ids:
            task_links = task_links | Task.lead.in_(lead_ids)
        if deal_ids:
            task_links = task_links | Task.deal.in_(deal_ids)
        tasks_out = [
            _row(t, logins, "assignee", "created_by")
            for t in Task.select().where(task_links).order_by(Task.due_at, Task.id).dicts()
        ]
        _record("export", contact_id, by=by, now=now, reason="", touched={})
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "contact_id": contact.id,
        "contacts": contacts_out,
        "leads": leads_out,
        "intake_submissions": [
            {"lead": lead["id"], "at": lead["created_at"], "kind": "first_request", **_posted(lead)}
            for lead in leads_out
        ]
        + [
            {
                "lead": s["lead"],
                "at": s["at"],
                "kind": "repeat_request",
                "summary": s["summary"],
                "data": s["data"],
            }
            for s in submissions
        ],
        "deals": deals_out,
        "interactions": interactions_out,
        "tasks": tasks_out,
    }


def _posted(lead: dict[str, Any]) -> dict[str, Any]:
    """What a lead's first request carried (the form's fields and where it came from)."""
    keys = ("name", "phone", "email", "company_name", "comment", "utm_source", "utm_medium", "utm_campaign")
    keys += ("utm_term", "utm_content", "referrer", "landing_page")
    return {k: lead.get(k) for k in keys}


def _record(
    kind: str, contact_id: int, *, by: int | None, now: datetime, reason: str, touched: dict[str, int]
) -> int:
    row = PersonalDataRequest.create(
        kind=kind, contact_id=contact_id, by=by, at=now, reason=reason, touched=json.dumps(touched)
    )
    return int(row.id)


def requests(contact_id: int | None = None) -> list[dict[str, Any]]:
    """The recorded exports and erasures, newest first."""
    logins = _logins()
    query = PersonalDataRequest.select().order_by(
        PersonalDataRequest.at.desc(), PersonalDataRequest.id.desc()
    )
    if contact_id is not None:
        query = query.where(PersonalDataRequest.contact_id == contact_id)
    out = []
    for r in query.dicts():
        row = _row(r, logins, "by")
        row["touched"] = _data(r["touched"]) or {}
        out.append(row)
    return out


def erase(contact_id: int, reason: str | None, *, by: int | None, now: datetime) -> dict[str, Any]:
    """Wipe the person's identifying data everywhere, in one transaction; figures stay. Returns the
    erasure's record (``id``, ``touched``: rows changed per table)."""
    text = optional_text(reason, "reason", "Reason", 1000, multiline=True)
    if not text:
        raise InvalidInput(
            "An erasure needs a reason (--reason: the request's date and channel, say)",
            {"reason": "required"},
            code="erase.reason_required",
            params={"id": contact_id},
        )
    with database.atomic():
        _contact(contact_id, lock=True)
        people = _people(contact_id)
        lead_ids = _lead_ids(people)
        names = [n for (n,) in Contact.select(Contact.name).where(Contact.id.in_(people)).tuples()]
        names += [n for (n,) in Lead.select(Lead.name).where(Lead.id.in_(lead_ids)).tuples()]
        deal_ids = [i for (i,) in Deal.select(Deal.id).where(Deal.contact.in_(people)).tuples()]
        touched: dict[str, int] = {}
        touched["contact_channel"] = (
            ContactChannel.delete().where(ContactChannel.contact.in_(people)).execute()
        )
        touched["contact"] = (
            Contact.update(name=ERASED, birthday=None, tags="", duplicate_of=None)
            .where(Contact.id.in_(people))
            .execute()
        )
        Contact.update(archived_at=now).where(Contact.id.in_(people), Contact.archived_at.is_null()).execute()
        for person in people:
            index.remove("contact", person)
        for lead in Lead.select(Lead.id).where(Lead.id.in_(lead_ids)):
            Lead.update(
                name=ERASED,
                phone=f"{ERASED} #{lead.id}",  # unique: erased leads are not each other's duplicates
                email=None,
                comment="",
                referrer="",
                landing_page="",
                utm_term="",
                utm_content="",
            ).where(Lead.id == lead.id).execute()
            index.remove("lead", lead.id)
        touched["lead"] = len(lead_ids)
        links = Interaction.contact.in_(people)
        if lead_ids:
            links = links | Interaction.lead.in_(lead_ids)
        if deal_ids:
            links = links | Interaction.deal.in_(deal_ids)
        count = 0
        for item in Interaction.select(Interaction.id, Interaction.kind, Interaction.data).where(links):
            data = _data(item.data)
            if isinstance(data, dict):
                data = {k: v for k, v in data.items() if k not in _POSTED_KEYS and k != "other_name"}
            Interaction.update(
                subject="" if item.kind == "deal_edit" else ERASED,
                summary="",
                data=json.dumps(data, ensure_ascii=False) if isinstance(data, dict) else "",
            ).where(Interaction.id == item.id).execute()
            count += 1
        touched["interaction"] = count
        task_links = Task.contact.in_(people)
        if lead_ids:
            task_links = task_links | Task.lead.in_(lead_ids)
        if deal_ids:
            task_links = task_links | Task.deal.in_(deal_ids)
        touched["task"] = Task.update(title=ERASED).where(task_links).execute()
        touched["deal"] = _erase_deal_titles(deal_ids, names)
        record = _record("erase", contact_id, by=by, now=now, reason=text, touched=touched)
    return {"id": record, "contact_id": contact_id, "at": now.isoformat(), "reason": text, "touched": touched}


def _erase_deal_titles(deal_ids: list[int], names: list[str]) -> int:
    """A deal titled with the person's name (as conversion titles it) gets a neutral title instead; the
    deal itself (amount, stage, dates) stays."""
    folded = [index.fold(n) for n in names if n and n != ERASED]
    changed = 0
    for deal in Deal.select().where(Deal.id.in_(deal_ids)):
        if any(n and n in index.fold(deal.title) for n in folded):
            deal.title = f"Deal #{deal.id}"
            Deal.update(title=deal.title).where(Deal.id == deal.id).execute()
            changed += 1
        company = Company.get_or_none(Company.id == deal.company_id) if deal.company_id else None
        if deal.archived_at is None:
            index.upsert("deal", deal.id, index.deal_body(deal.title, company.name if company else None))
    return changed
