"""Search across leads, contacts, companies and deals: any fragment of a name, company, e-mail or phone."""

from __future__ import annotations

from collections.abc import Iterable

from peewee import JOIN

from crm_tui.data import search as index
from crm_tui.data.models import Company, Contact, Deal, Lead
from crm_tui.services.validation import format_phone
from crm_tui.services.views import SearchHit, format_money

MIN_CHARS = 3  # a shorter fragment (a phone's digits included) matches too much to be worth listing


def too_short(text: str) -> bool:
    """Whether ``text`` is shorter than the :data:`MIN_CHARS` a search needs (spaces around not counted)."""
    return len(text.strip()) < MIN_CHARS


def search(text: str, *, kinds: Iterable[str] | None = None, limit: int = 20) -> list[SearchHit]:
    """Newest first. ``"иван"`` finds ``"Иван"``; ``"916 123"`` and ``"123-45"`` find ``+79161234567``.

    Fewer than :data:`MIN_CHARS` characters find nothing.
    """
    if too_short(text):
        return []
    found = index.search_ids(text, kinds=kinds, limit=limit)
    by_kind: dict[str, list[int]] = {}
    for kind, rid in found:
        by_kind.setdefault(kind, []).append(rid)
    labels: dict[tuple[str, int], tuple[str, str]] = {}
    if "lead" in by_kind:
        for r in Lead.select(Lead.id, Lead.name, Lead.phone, Lead.status, Lead.company_name).where(
            Lead.id.in_(by_kind["lead"])
        ):
            detail = " · ".join(p for p in (format_phone(r.phone), r.company_name, r.status) if p)
            labels[("lead", r.id)] = (r.name, detail)
    if "contact" in by_kind:
        query = (
            Contact.select(Contact.id, Contact.name, Company.name.alias("company_name"))
            .join(Company, JOIN.LEFT_OUTER, on=(Contact.company == Company.id))
            .where(Contact.id.in_(by_kind["contact"]))
            .dicts()
        )
        for r in query:
            labels[("contact", r["id"])] = (r["name"], r["company_name"] or "")
    if "company" in by_kind:
        for r in Company.select(Company.id, Company.name).where(Company.id.in_(by_kind["company"])):
            labels[("company", r.id)] = (r.name, "")
    if "deal" in by_kind:
        for r in Deal.select(Deal.id, Deal.title, Deal.amount, Deal.currency).where(
            Deal.id.in_(by_kind["deal"]), Deal.archived_at.is_null()
        ):
            labels[("deal", r.id)] = (r.title, format_money(r.amount, r.currency))
    return [SearchHit(kind, rid, *labels[(kind, rid)]) for kind, rid in found if (kind, rid) in labels]
