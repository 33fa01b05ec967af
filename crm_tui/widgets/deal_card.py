"""A deal as the kanban shows it: title, company, amount, owner and days in the stage (stale ones marked)."""

from __future__ import annotations

from datetime import datetime

from crm_tui.services.views import DealRow
from crm_tui.widgets.text import clip

DEFAULT_WIDTH = 24

Piece = tuple[str, str]
"""Some text and its role: ``title``, ``text``, ``muted`` or ``stale`` (the list styles each role)."""
CardLine = tuple[Piece, ...]
Card = tuple[CardLine, CardLine, CardLine]


def days_in_stage(deal: DealRow, now: datetime) -> int:
    return max(0, (now - deal.stage_entered_at).days)


def is_stale(deal: DealRow, now: datetime, stale_days: int) -> bool:
    """Idle in an open stage longer than the stage allows (``Stage.stale_days``; 0 = never stale)."""
    return deal.stage_kind == "open" and stale_days > 0 and days_in_stage(deal, now) > stale_days


def spread(left: Piece, right: Piece, width: int) -> CardLine:
    """``left`` at the start of the line and ``right`` at its end, at least one space between."""
    gap = max(1, width - len(left[0]) - len(right[0]))
    return (left, (" " * gap, "text"), right)


def deal_card(
    deal: DealRow, now: datetime, stale_days: int, width: int = DEFAULT_WIDTH, days_unit: str = "d"
) -> Card:
    """Three lines: the title; the company and owner; amount and days in the stage (``⚠`` when stale).

    ``days_unit`` is the short word for days in the desk's language (``d``, ``д``)."""
    width = max(12, width)
    days = days_in_stage(deal, now)
    stale = is_stale(deal, now, stale_days)
    age = f"{'⚠ ' if stale else ''}{days} {days_unit}"
    owner = clip(f"@{deal.owner_login}" if deal.owner_login else "", max(0, width // 2))
    company = clip(deal.company_name or deal.contact_name or "—", width - len(owner) - 1)
    return (
        ((clip(deal.title, width), "title"),),
        spread((company, "muted"), (owner, "muted"), width),
        spread((deal.money, "text"), (age, "stale" if stale else "muted"), width),
    )


def card_text(card: Card) -> str:
    """The card's three lines as plain text."""
    return "\n".join("".join(text for text, _role in line) for line in card)
