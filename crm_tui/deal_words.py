"""A deal's history said in the reader's language: each event is stored as a code and its values
(``services.deals.events``), and worded here, for the CLI and the app alike. No Textual here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_tui.i18n import t
from crm_tui.i18n_words import event_words
from crm_tui.services.money import format_money
from crm_tui.services.views import DealEvent, stage_title

FIELDS = ("title", "amount", "currency", "expected_close", "owner", "contact")


def value_text(field: str, value: Any, currency: str, lang: str) -> str:
    """One side of a change: money with its sign, a contact by number, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if field == "amount":
        return format_money(int(value), currency)
    if field == "contact":
        return f"#{value}"
    return str(value)


def changes_text(event: DealEvent, lang: str) -> str:
    """``amount: 150 000 ₽ → 200 000 ₽, owner: anna → boris``."""
    currency = event.currency
    if "currency" in event.changes:
        currency = str(event.changes["currency"][1])
    parts = []
    for field, (old, new) in event.changes.items():
        name = t(f"history.field.{field}", lang)
        old_currency = str(event.changes["currency"][0]) if "currency" in event.changes else currency
        before = value_text(field, old, old_currency, lang)
        after = value_text(field, new, currency, lang)
        parts.append(t("history.change", lang).format(field=name, old=before, new=after))
    return ", ".join(parts)


def event_text(event: DealEvent, lang: str = "en", stage_names: Mapping[str, str] | None = None) -> str:
    """What happened, without when and who: ``Need discovery → Proposal preparation``. What the rules
    wrote in a call or a conversion is said in ``lang`` (``stage_names``: English names to the desk's)."""
    source = stage_title(event.from_stage or "", event.from_stage_ru, lang)
    target = stage_title(event.to_stage or "", event.to_stage_ru, lang)
    if event.kind == "created":
        text = t("history.created", lang).format(to=target)
    elif event.kind == "stage":
        text = t("history.stage", lang).format(**{"from": source, "to": target})
    elif event.kind == "reopened":
        text = t("history.reopened", lang).format(**{"from": source, "to": target})
    elif event.kind == "edited":
        text = t("history.edited", lang).format(changes=changes_text(event, lang))
    elif event.kind in ("archived", "restored"):
        text = t(f"history.{event.kind}", lang)
    else:
        label = t(f"history.kind.{event.kind}", lang)
        label = event.kind if label == f"history.kind.{event.kind}" else label
        text = label
        if event.duration is not None:
            minutes, seconds = divmod(event.duration, 60)
            text += f" {minutes}:{seconds:02d}"
        if event.outcome:
            text += f", {event.outcome}"
        if event.text:
            lines = [
                event_words(line, lang, stage_names or {}, event.kind) for line in event.text.splitlines()
            ]
            text += ": " + " / ".join(line for line in lines if line.strip())
    if event.reason:
        text += t("history.reason", lang).format(reason=event.reason)
    if event.closed_tasks:
        ids = ", ".join(f"#{i}" for i in event.closed_tasks)
        text += t("history.closed-tasks", lang).format(tasks=ids)
    return text


def stored_edit_text(data: str, lang: str = "en") -> str:
    """A ``deal_edit`` event as the timeline shows it, from its stored code and values (``data``)."""
    import json

    try:
        found = json.loads(data) if data else {}
    except ValueError:
        return ""
    if not isinstance(found, dict):
        return ""
    kind = {"deal.edited": "edited", "deal.archived": "archived", "deal.restored": "restored"}.get(
        str(found.get("code")), ""
    )
    if not kind:
        return ""
    from datetime import datetime

    changes = dict(found.get("changes") or {})
    event = DealEvent(
        kind, datetime.min, None, None, changes=changes, currency=str(found.get("currency") or "")
    )
    return event_text(event, lang)


def by_text(event: DealEvent, lang: str = "en") -> str:
    return event.by or t("timeline.system", lang)
