"""Tasks and reminders: what was agreed, and who must be reminded of it, when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from peewee import JOIN

from crm_tui.data.db import database
from crm_tui.data.models import Contact, Deal, Lead, Task, User
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import required_text
from crm_tui.services.views import Reminder, TaskRow

REMIND_EVERY = timedelta(hours=1)
PAGE_SIZE = 50


def _get(task_id: int) -> Task:
    task = Task.get_or_none(Task.id == task_id)
    if task is None:
        raise NotFound(f"No task #{task_id}")
    return task


def _query():  # type: ignore[no-untyped-def]
    return (
        Task.select(
            Task,
            User.login.alias("assignee_login"),
            User.name.alias("assignee_name"),
            Lead.name.alias("lead_name"),
            Contact.name.alias("contact_name"),
            Deal.title.alias("deal_title"),
        )
        .join(User, JOIN.LEFT_OUTER, on=(Task.assignee == User.id))
        .switch(Task)
        .join(Lead, JOIN.LEFT_OUTER, on=(Task.lead == Lead.id))
        .switch(Task)
        .join(Contact, JOIN.LEFT_OUTER, on=(Task.contact == Contact.id))
        .switch(Task)
        .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
    )


def _label(r: dict[str, Any]) -> str:
    if r.get("deal_title"):
        return f"deal: {r['deal_title']}"
    if r.get("contact_name"):
        return f"contact: {r['contact_name']}"
    if r.get("lead_name"):
        return f"lead: {r['lead_name']}"
    return ""


def _to_row(r: dict[str, Any]) -> TaskRow:
    return TaskRow(
        id=r["id"],
        title=r["title"],
        due_at=r["due_at"],
        done_at=r["done_at"],
        assignee_login=r["assignee_login"],
        assignee_name=r["assignee_name"],
        lead_id=r["lead"],
        contact_id=r["contact"],
        deal_id=r["deal"],
        linked_label=_label(r),
        kind=r["kind"],
    )


def row(task_id: int) -> TaskRow:
    found = list(_query().where(Task.id == task_id).dicts())
    if not found:
        raise NotFound(f"No task #{task_id}")
    return _to_row(found[0])


def create(
    title: str,
    due_at: datetime,
    *,
    by: int | None,
    now: datetime,
    assignee_id: int | None = None,
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    kind: str = "todo",
) -> TaskRow:
    text = required_text(title, "title", "Title")
    with database.atomic():
        for model, value, name in (
            (Lead, lead_id, "lead"),
            (Contact, contact_id, "contact"),
            (Deal, deal_id, "deal"),
        ):
            if value is not None and not model.select().where(model.id == value).exists():
                raise NotFound(f"No {name} #{value}")
        assignee = assignee_id if assignee_id is not None else by
        if assignee is not None and not User.select().where(User.id == assignee).exists():
            raise NotFound(f"No user #{assignee}")
        task = Task.create(
            title=text,
            due_at=due_at,
            next_remind_at=due_at,
            assignee=assignee,
            created_by=by,
            lead=lead_id,
            contact=contact_id,
            deal=deal_id,
            kind=kind,
            created_at=now,
        )
    return row(task.id)


def complete(task_id: int, *, by: int | None, now: datetime) -> TaskRow:
    with database.atomic():
        task = _get(task_id)
        if task.done_at is not None:
            raise RuleViolation(f"Task #{task_id} is already done")
        task.done_at = now
        task.save()
    return row(task_id)


def reschedule(task_id: int, due_at: datetime, *, by: int | None, now: datetime) -> TaskRow:
    """New due time (snooze): reminders start again from it."""
    with database.atomic():
        task = _get(task_id)
        if task.done_at is not None:
            raise RuleViolation(f"Task #{task_id} is done; it cannot be rescheduled")
        task.due_at = due_at
        task.next_remind_at = due_at
        task.reminded_slot = -1
        task.save()
    return row(task_id)


def reassign(task_id: int, assignee_id: int, *, by: int | None, now: datetime) -> TaskRow:
    with database.atomic():
        task = _get(task_id)
        if not User.select().where(User.id == assignee_id).exists():
            raise NotFound(f"No user #{assignee_id}")
        task.assignee = assignee_id
        task.save()
    return row(task_id)


def list_open(
    *,
    assignee_id: int | None = None,
    due_before: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[TaskRow]:
    """Open tasks, soonest due first (overdue at the top); ``after=(due_at, id)`` continues a page."""
    query = _query().where(Task.done_at.is_null())
    if assignee_id is not None:
        query = query.where(Task.assignee == assignee_id)
    if due_before is not None:
        query = query.where(Task.due_at <= due_before)
    if after is not None:
        due, tid = after
        query = query.where((Task.due_at > due) | ((Task.due_at == due) & (Task.id > tid)))
    return [_to_row(r) for r in query.order_by(Task.due_at, Task.id).limit(limit).dicts()]


def open_for(
    *, contact_id: int | None = None, lead_id: int | None = None, deal_id: int | None = None
) -> list[TaskRow]:
    query = _query().where(Task.done_at.is_null())
    if contact_id is not None:
        query = query.where(Task.contact == contact_id)
    if lead_id is not None:
        query = query.where(Task.lead == lead_id)
    if deal_id is not None:
        query = query.where(Task.deal == deal_id)
    return [_to_row(r) for r in query.order_by(Task.due_at).limit(100).dicts()]


def due_reminders(
    now: datetime, *, every: timedelta = REMIND_EVERY, claim: bool = True, limit: int = 500
) -> list[Reminder]:
    """Tasks to remind about now: falling due, and overdue ones again every ``every`` until done.

    Each reminder is owed for a slot (0 = the due moment, 1 = one interval overdue, ...). With ``claim``
    the slot is taken by a compare-and-set UPDATE, so two processes checking at once never both send it;
    a slot missed while no process ran is sent at the next check (only the latest slot, not a burst).
    """
    candidates = list(
        _query()
        .where(Task.done_at.is_null() & (Task.next_remind_at <= now))
        .order_by(Task.next_remind_at)
        .limit(limit)
        .dicts()
    )
    reminders: list[Reminder] = []
    for r in candidates:
        slot = max(0, int((now - r["due_at"]) / every))
        next_at = r["due_at"] + every * (slot + 1)
        if claim:
            with database.atomic():
                won = (
                    Task.update(reminded_slot=slot, reminded_at=now, next_remind_at=next_at)
                    .where(
                        (Task.id == r["id"])
                        & (Task.next_remind_at == r["next_remind_at"])
                        & Task.done_at.is_null()
                    )
                    .execute()
                )
            if not won:
                continue
        reminders.append(Reminder(r["id"], r["title"], r["due_at"], slot, r["assignee_login"], _label(r)))
    return reminders


DUE_RANGE_DAYS = 3650  # a due time is within ten years of now, either way


def parse_due(text: str, now_local: datetime) -> datetime:
    """Local due time from ``ISO``, ``+30m`` / ``+2h`` / ``+1d``, ``today 17:00``, ``tomorrow 9:00``.

    Refused (``due.out_of_range``) beyond :data:`DUE_RANGE_DAYS` days from now, never an overflow.
    """
    span = timedelta(days=DUE_RANGE_DAYS)
    try:
        moment = _parse_due(text, now_local)
        if moment.tzinfo is not None:
            moment = moment.astimezone().replace(tzinfo=None)
        if now_local - span <= moment <= now_local + span:
            return moment
    except (OverflowError, ArithmeticError):
        pass
    shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "..."
    raise InvalidInput(
        f"Due time {shown!r} is out of range: at most {DUE_RANGE_DAYS // 365} years from now"
        f" (+{DUE_RANGE_DAYS}d, +{DUE_RANGE_DAYS * 24}h, +{DUE_RANGE_DAYS * 24 * 60}m)",
        {"due": "out of range"},
        code="due.out_of_range",
        params={"text": text, "days": DUE_RANGE_DAYS},
    )


def _parse_due(text: str, now_local: datetime) -> datetime:
    value = text.strip().lower()
    if not value:
        raise InvalidInput("A due time is required", {"due": "required"})
    if value.startswith("+") and len(value) > 2 and value[1:-1].isdigit():
        amount = int(value[1:-1])
        units = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
        if value[-1] in units:
            return now_local + amount * units[value[-1]]
    for word, days in (("today", 0), ("tomorrow", 1), ("сегодня", 0), ("завтра", 1)):
        if value.startswith(word):
            rest = value[len(word) :].strip() or "9:00"
            try:
                hour, minute = (int(p) for p in rest.split(":"))
                base = now_local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
                return base.replace(hour=hour, minute=minute)
            except ValueError as error:
                raise InvalidInput(
                    f"Not a time: {rest!r}", {"due": "bad time"}, code="due.invalid", params={"text": rest}
                ) from error
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(
            f"Not a due time: {text!r} (use ISO '2026-12-01 10:00', '+30m', '+2h', 'tomorrow 9:00')",
            {"due": "bad time"},
            code="due.invalid",
            params={"text": text},
        ) from error
