"""A deal as the kanban shows it: title, company, amount, owner and days in the stage (stale ones marked)."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from crm_tui.services.views import DealRow
from crm_tui.widgets.text import clip

DEFAULT_WIDTH = 24


def days_in_stage(deal: DealRow, now: datetime) -> int:
    return max(0, (now - deal.stage_entered_at).days)


def is_stale(deal: DealRow, now: datetime, stale_days: int) -> bool:
    """Idle in an open stage longer than the stage allows (``Stage.stale_days``; 0 = never stale)."""
    return deal.stage_kind == "open" and stale_days > 0 and days_in_stage(deal, now) > stale_days


def deal_card(
    deal: DealRow, now: datetime, stale_days: int, width: int = DEFAULT_WIDTH, days_unit: str = "d"
) -> Content:
    """Three lines: the title; the company and owner; amount and days in the stage (``⚠`` when stale).

    ``days_unit`` is the short word for days in the desk's language (``d``, ``д``)."""
    width = max(12, width)
    days = days_in_stage(deal, now)
    stale = is_stale(deal, now, stale_days)
    age = f"{'⚠ ' if stale else ''}{days} {days_unit}"
    owner = f"@{deal.owner_login}" if deal.owner_login else ""
    money = deal.money
    third = Content.assemble(
        (money, "$text"),
        " " * max(1, width - len(money) - len(age)),
        (age, "bold $warning" if stale else "$text-muted"),
    )
    owner = clip(owner, max(0, width // 2))
    company = clip(deal.company_name or deal.contact_name or "—", width - len(owner) - 1)
    second = Content.assemble(
        (company, "$text-muted"), " " * max(1, width - len(company) - len(owner)), (owner, "$text-muted")
    )
    return Content.assemble((clip(deal.title, width), "bold"), "\n", second, "\n", third)
