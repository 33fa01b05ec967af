"""Every touch with a client: calls, e-mails, meetings, notes - and the timeline that shows them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from peewee import JOIN

from crm_tui.data.db import database
from crm_tui.data.models import Contact, Deal, Interaction, Lead, User
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.validation import optional_text
from crm_tui.services.views import InteractionRow

LOGGABLE = ("call_in", "call_out", "email_in", "email_out", "meeting", "note")
CALL_KINDS = ("call_in", "call_out")
PAGE_SIZE = 50


def log(
    kind: str,
    *,
    by: int | None,
    now: datetime,
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    duration: int | None = None,
    subject: str = "",
    summary: str = "",
    outcome: str = "",
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> InteractionRow:
    """Record an interaction linked to a lead, a contact and/or a deal."""
    if kind not in LOGGABLE:
        raise InvalidInput(
            f"Unknown interaction kind {kind!r}; one of: {', '.join(LOGGABLE)}", {"kind": "unknown"}
        )
    if lead_id is None and contact_id is None and deal_id is None:
        raise InvalidInput("An interaction needs a lead, a contact or a deal", {"contact": "required"})
    if kind in CALL_KINDS:
        if duration is None:
            raise InvalidInput("A call needs its duration in seconds", {"duration": "required"})
        if duration < 0 or duration > 24 * 3600:
            raise InvalidInput(
                "Call duration must be between 0 and 86400 seconds", {"duration": "out of range"}
            )
    subject = optional_text(subject, "subject", "Subject", 300)
    summary = optional_text(summary, "summary", "Text", 20000, multiline=True)
    outcome = optional_text(outcome, "outcome", "Outcome", 200)
    if kind == "note" and not summary:
        raise InvalidInput("A note needs some text", {"summary": "required"})
    with database.atomic():
        if lead_id is not None:
            lead = Lead.get_or_none(Lead.id == lead_id)
            if lead is None:
                raise NotFound(f"No lead #{lead_id}")
            if contact_id is None and lead.contact_id:
                contact_id = lead.contact_id
            if kind in CALL_KINDS and lead.status == "new":
                Lead.update(status="in_work").where(Lead.id == lead_id).execute()
        if contact_id is not None and not Contact.select().where(Contact.id == contact_id).exists():
            raise NotFound(f"No contact #{contact_id}")
        if deal_id is not None:
            deal = Deal.get_or_none(Deal.id == deal_id)
            if deal is None:
                raise NotFound(f"No deal #{deal_id}")
            if contact_id is None:
                contact_id = deal.contact_id
        item = Interaction.create(
            kind=kind,
            by=by,
            at=at or now,
            duration=duration,
            subject=subject,
            summary=summary,
            outcome=outcome,
            lead=lead_id,
            contact=contact_id,
            deal=deal_id,
            data=json.dumps(data, ensure_ascii=False) if data else "",
        )
        if kind in CALL_KINDS:
            note_call(item.at, lead_id=lead_id, contact_id=contact_id)
    return get(item.id)


def note_call(at: datetime, *, lead_id: int | None, contact_id: int | None) -> None:
    """Keep ``Lead.first_call_at`` (the reports' first call) up to date for a call made at ``at``.

    The call counts for the lead it is linked to when it is at or after the lead's creation, and for
    every lead converted into its contact when it is at or after that conversion (and the creation). Only
    the earliest call counts, so a call logged late (out of order) still moves the time back. Call it in
    the transaction that records the call.
    """
    earlier = Lead.first_call_at.is_null() | (Lead.first_call_at > at)
    if lead_id is not None:
        Lead.update(first_call_at=at).where(
            (Lead.id == lead_id) & (Lead.created_at <= at) & earlier
        ).execute()
    if contact_id is not None:
        Lead.update(first_call_at=at).where(
            (Lead.contact == contact_id)
            & Lead.converted_at.is_null(False)
            & (Lead.converted_at <= at)
            & (Lead.created_at <= at)
            & earlier
        ).execute()


# A lead's first call from scratch: the definition of ``Lead.first_call_at`` (the reports'), in SQL.
_FIRST_CALL = (
    "(SELECT MIN(c.at) FROM ("
    "SELECT i.at FROM interaction i WHERE i.lead_id = lead.id AND i.kind IN ('call_in', 'call_out') "
    "AND i.at >= lead.created_at "
    "UNION ALL "
    "SELECT i.at FROM interaction i WHERE lead.converted_at IS NOT NULL AND i.contact_id = lead.contact_id "
    "AND i.kind IN ('call_in', 'call_out') AND i.at >= lead.converted_at AND i.at >= lead.created_at"
    ") AS c)"
)


def refresh_first_calls(*, contact_id: int) -> None:
    """Recompute ``first_call_at`` of every lead converted into the contact (a handful of rows).

    For a conversion: the lead's own calls are linked to the contact then, so they may count for other
    leads converted into it before, and calls already on the contact count for the new one.
    """
    database.execute_sql(
        f"UPDATE lead SET first_call_at = {_FIRST_CALL} WHERE contact_id = {database.param}", (contact_id,)
    )


def _query():  # type: ignore[no-untyped-def]
    return Interaction.select(Interaction, User.name.alias("by_name")).join(
        User, JOIN.LEFT_OUTER, on=(Interaction.by == User.id)
    )


def _to_row(r: dict[str, Any]) -> InteractionRow:
    return InteractionRow(
        id=r["id"],
        kind=r["kind"],
        at=r["at"],
        by_name=r["by_name"],
        duration=r["duration"],
        subject=r["subject"],
        summary=r["summary"],
        outcome=r["outcome"],
        lead_id=r["lead"],
        contact_id=r["contact"],
        deal_id=r["deal"],
        data=(r["data"] or "") if r["kind"] == "deal_edit" else "",
    )


def get(interaction_id: int) -> InteractionRow:
    found = list(_query().where(Interaction.id == interaction_id).dicts())
    if not found:
        raise NotFound(f"No interaction #{interaction_id}")
    return _to_row(found[0])


def timeline(
    *,
    contact_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[InteractionRow]:
    """Newest first; ``before=(at, id)`` of the last row continues to older events (keyset)."""
    query = _query()
    if contact_id is not None:
        query = query.where(Interaction.contact == contact_id)
    elif lead_id is not None:
        query = query.where(Interaction.lead == lead_id)
    elif deal_id is not None:
        query = query.where(Interaction.deal == deal_id)
    else:
        raise InvalidInput("Timeline of what? Give a contact, a lead or a deal")
    if before is not None:
        at, iid = before
        query = query.where((Interaction.at < at) | ((Interaction.at == at) & (Interaction.id < iid)))
    query = query.order_by(Interaction.at.desc(), Interaction.id.desc()).limit(limit)
    return [_to_row(r) for r in query.dicts()]
