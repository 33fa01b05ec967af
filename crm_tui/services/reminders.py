"""Reminders: a task falling due, and an overdue task again every interval until it is done.

Shared by the app (a timer), ``crm remind`` (cron, a systemd timer) and ``crm remind --watch``.

Delivery protocol, so that a reminder is neither doubled nor lost whichever process sends it:

1. **Claim.** In one transaction a process moves the task's ``next_remind_at`` forward with a
   compare-and-set and inserts a :class:`ReminderDelivery` row, unique on (task, due moment, reminder
   moment). Only one process can win both; a loser skips the task.
2. **Send.** The winner shows the reminder (desktop notification, one for all it claimed in that
   check, else the in-app toast and bell, or the printed line of ``crm remind``).
3. **Mark.** It then sets ``delivered_at`` on its row (only if it still holds the claim).
4. **Take over.** A claim left undelivered longer than :data:`LEASE` (its process died or hung between
   1 and 3) is taken over by the next check of any process, with the same compare-and-set, and sent.
   A claim whose task was done or rescheduled meanwhile is dropped, not sent.

So each reminder moment of a task (its due moment, then each interval after it) is sent at least once
by some process, as long as any process keeps checking; it is sent a second time only if its sender
died (or stalled more than the lease) after sending and before marking it. A slot missed while nothing
ran is sent once at the next check (the latest slot only, not a burst).
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from peewee import fn

from crm_tui.data.db import database
from crm_tui.data.models import Task
from crm_tui.data.reminder_models import ReminderDelivery
from crm_tui.i18n import t as say
from crm_tui.i18n_format import span
from crm_tui.i18n_words import linked_text, task_title
from crm_tui.services import clock, settings, tasks
from crm_tui.services.errors import InvalidInput
from crm_tui.services.reminder_digest import desktop_text
from crm_tui.services.views import Reminder

DEFAULT_EVERY = tasks.REMIND_EVERY
LEASE = timedelta(minutes=2)
SETTING_KEY = "reminders.every"  # a desk setting (services/settings.py); older desks said remind_every
ENV_EVERY = "CRM_REMIND_EVERY"
BATCH = 200


class Notifier(Protocol):
    def notify(self, title: str, body: str) -> bool: ...


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    reminder: Reminder


@dataclass(frozen=True)
class Sent:
    """One reminder shown: ``channel`` is ``desktop`` when the desktop took it, else the fallback."""

    task_id: int
    slot: int
    title: str
    body: str
    channel: str
    assignee_login: str | None
    due_at: datetime
    overdue: bool
    task_title: str = ""
    """The task as the desk says it (``Call Иван Смирнов``), without the heading around it."""


def new_token() -> str:
    """Identifies one process's claims (so a late process cannot mark another one's claim)."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


def parse_interval(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1d"``; a bare number is minutes. At least one minute."""
    match = _INTERVAL.match(text.lower())
    if not match:
        raise InvalidInput(
            f"Not an interval: {text!r} (use 30m, 1h, 90s)",
            {"every": "bad interval"},
            code="interval.invalid",
            params={"value": text},
        )
    amount, unit = int(match.group(1)), match.group(2) or "m"
    seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if seconds < 60:
        raise InvalidInput(
            f"An interval must be at least one minute: {text!r}",
            {"every": "too short"},
            code="interval.too_short",
            params={"value": text},
        )
    if seconds > 366 * 86400:
        raise InvalidInput(
            f"An interval must be at most a year: {text!r}",
            {"every": "too long"},
            code="interval.too_long",
            params={"value": text},
        )
    return timedelta(seconds=seconds)


def interval() -> timedelta:
    """How often an overdue task is reminded again: ``CRM_REMIND_EVERY``, else the desk setting
    ``reminders.every``, else 1 h."""
    every: timedelta = settings.value(SETTING_KEY)
    return every


def set_interval(text: str) -> timedelta:
    """Store the desk's ``reminders.every`` (``crm remind --every``, ``crm config set``)."""
    every: timedelta = settings.put(SETTING_KEY, text)
    return every


def _mine(assignee_id: int | None) -> Any:
    if assignee_id is None:
        return True
    return (Task.assignee == assignee_id) | Task.assignee.is_null()


def _take_over_stale(now: datetime, token: str, assignee_id: int | None, limit: int) -> list[int]:
    """Claims older than the lease and never delivered: drop those no longer owed, take over the rest."""
    stale = list(
        ReminderDelivery.select(
            ReminderDelivery.id,
            ReminderDelivery.claimed_at,
            ReminderDelivery.due_at,
            Task.due_at.alias("task_due_at"),
            Task.done_at.alias("task_done_at"),
        )
        .join(Task, on=(ReminderDelivery.task == Task.id))
        .where(
            ReminderDelivery.delivered_at.is_null()
            & ReminderDelivery.dropped_at.is_null()
            & (ReminderDelivery.claimed_at <= now - LEASE)
            & _mine(assignee_id)
        )
        .order_by(ReminderDelivery.claimed_at)
        .limit(limit)
        .dicts()
    )
    taken: list[int] = []
    for d in stale:
        still_owed = d["task_done_at"] is None and d["task_due_at"] == d["due_at"]
        changes: dict[Any, Any] = (
            {
                ReminderDelivery.claimed_at: now,
                ReminderDelivery.claim_token: token,
                ReminderDelivery.attempts: ReminderDelivery.attempts + 1,
            }
            if still_owed
            else {ReminderDelivery.dropped_at: now}
        )
        with database.atomic():
            won = (
                ReminderDelivery.update(changes)
                .where(
                    (ReminderDelivery.id == d["id"])
                    & (ReminderDelivery.claimed_at == d["claimed_at"])
                    & ReminderDelivery.delivered_at.is_null()
                    & ReminderDelivery.dropped_at.is_null()
                )
                .execute()
            )
        if won and still_owed:
            taken.append(d["id"])
    return taken


def _claim_new(now: datetime, token: str, every: timedelta, assignee_id: int | None, limit: int) -> list[int]:
    candidates = list(
        Task.select(Task.id, Task.due_at, Task.next_remind_at)
        .where(Task.done_at.is_null() & (Task.next_remind_at <= now) & _mine(assignee_id))
        .order_by(Task.next_remind_at)
        .limit(limit)
        .dicts()
    )
    claimed: list[int] = []
    for t in candidates:
        slot = max(0, int((now - t["due_at"]) / every))
        next_at = t["due_at"] + every * (slot + 1)
        with database.atomic():
            won = (
                Task.update(reminded_slot=slot, reminded_at=now, next_remind_at=next_at)
                .where(
                    (Task.id == t["id"])
                    & (Task.next_remind_at == t["next_remind_at"])
                    & Task.done_at.is_null()
                )
                .execute()
            )
            if not won:
                continue
            (
                ReminderDelivery.insert(
                    task=t["id"],
                    due_at=t["due_at"],
                    slot=slot,
                    owed_at=t["due_at"] + every * slot,
                    claimed_at=now,
                    claim_token=token,
                )
                .on_conflict_ignore()
                .execute()
            )
            # An existing row means this reminder moment was claimed before: never send it twice.
            row = ReminderDelivery.get_or_none(
                (ReminderDelivery.task == t["id"])
                & (ReminderDelivery.due_at == t["due_at"])
                & (ReminderDelivery.owed_at == t["due_at"] + every * slot)
            )
        fresh = row is not None and row.claim_token == token and row.claimed_at == now
        if fresh and row is not None and row.delivered_at is None:
            claimed.append(row.id)
    return claimed


def claim_due(
    now: datetime,
    *,
    token: str,
    every: timedelta | None = None,
    assignee_id: int | None = None,
    limit: int = BATCH,
) -> list[Claim]:
    """Claim every reminder owed at ``now`` (for ``assignee_id``'s and unassigned tasks, or all)."""
    every = every or interval()
    ids = _take_over_stale(now, token, assignee_id, limit)
    ids += _claim_new(now, token, every, assignee_id, limit)
    if not ids:
        return []
    deliveries = {
        d["id"]: d
        for d in ReminderDelivery.select(
            ReminderDelivery.id, ReminderDelivery.task, ReminderDelivery.due_at, ReminderDelivery.slot
        )
        .where(ReminderDelivery.id.in_(ids))
        .dicts()
    }
    task_rows = {
        r["id"]: r
        for r in tasks._query().where(Task.id.in_([d["task"] for d in deliveries.values()])).dicts()
    }
    claims: list[Claim] = []
    for delivery_id in ids:
        d = deliveries[delivery_id]
        r = task_rows[d["task"]]
        reminder = Reminder(
            r["id"], r["title"], d["due_at"], d["slot"], r["assignee_login"], tasks._label(r), r["kind"]
        )
        claims.append(Claim(delivery_id, token, reminder))
    return claims


def mark_delivered(claim: Claim, channel: str, *, now: datetime) -> bool:
    """Record that the reminder reached the person; ``False`` if another process took the claim over."""
    with database.atomic():
        return bool(
            ReminderDelivery.update(delivered_at=now, channel=channel)
            .where(
                (ReminderDelivery.id == claim.delivery_id)
                & (ReminderDelivery.claim_token == claim.token)
                & ReminderDelivery.delivered_at.is_null()
            )
            .execute()
        )


def message(reminder: Reminder, now: datetime, lang: str = "en") -> tuple[str, str]:
    """Title and body of a reminder, as a person reads it (local time), in ``lang``."""
    due_local = clock.to_local(reminder.due_at).strftime("%Y-%m-%d %H:%M")
    title = task_title(reminder.title, reminder.kind, lang, reminder.linked_label)
    if reminder.slot > 0 or reminder.due_at < now - timedelta(minutes=1):
        age = span(clock.age(reminder.due_at, now), lang)
        heading = say("reminder.overdue", lang).format(age=age, title=title)
    else:
        heading = say("reminder.due", lang).format(title=title)
    parts = [say("reminder.due-at", lang).format(at=due_local)]
    if reminder.linked_label:
        parts.insert(0, linked_text(reminder.linked_label, lang))
    if reminder.assignee_login:
        parts.append(say("reminder.for", lang).format(login=reminder.assignee_login))
    return heading, " · ".join(parts)


def send_due(
    notifier: Notifier,
    *,
    now: datetime,
    token: str,
    fallback: str = "app",
    every: timedelta | None = None,
    assignee_id: int | None = None,
    lang: str = "en",
) -> list[Sent]:
    """Claim, send (desktop first, else ``fallback``), mark delivered; return what was sent. The
    messages are worded in ``lang``. What one check claims goes to the desktop as one notification
    (``reminder_digest.desktop_text``), however many reminders it holds."""
    claims = claim_due(now, token=token, every=every, assignee_id=assignee_id)
    worded: list[Sent] = []
    for claim in claims:
        r = claim.reminder
        title, body = message(r, now, lang)
        what = task_title(r.title, r.kind, lang, r.linked_label)
        worded.append(Sent(r.task_id, r.slot, title, body, "", r.assignee_login, r.due_at, r.overdue, what))
    if not worded:
        return []
    channel = "desktop" if notifier.notify(*desktop_text(worded, now, lang)) else fallback
    return [
        replace(item, channel=channel)
        for claim, item in zip(claims, worded, strict=True)
        if mark_delivered(claim, channel, now=now)
    ]


def overdue_count(now: datetime, *, assignee_id: int | None = None) -> int:
    """Open tasks past their due time (the number the app shows in its header)."""
    query = Task.select(fn.COUNT(Task.id)).where(Task.done_at.is_null() & (Task.due_at < now))
    if assignee_id is not None:
        query = query.where(Task.assignee == assignee_id)
    return int(query.scalar() or 0)


def deliveries(task_id: int) -> list[dict[str, Any]]:
    """The reminder history of one task (for tests and ``crm remind --json``)."""
    return list(
        ReminderDelivery.select(
            ReminderDelivery.slot,
            ReminderDelivery.due_at,
            ReminderDelivery.owed_at,
            ReminderDelivery.claimed_at,
            ReminderDelivery.delivered_at,
            ReminderDelivery.dropped_at,
            ReminderDelivery.attempts,
            ReminderDelivery.channel,
        )
        .where(ReminderDelivery.task == task_id)
        .order_by(ReminderDelivery.id)
        .dicts()
    )
