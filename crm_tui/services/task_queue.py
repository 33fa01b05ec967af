"""The task queue: overdue, today, upcoming and done today, each a bounded page with its full count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from peewee import fn

from crm_tui.data.models import Task
from crm_tui.services import clock, tasks
from crm_tui.services.views import TaskRow

GROUP_LIMIT = 50
GROUPS = (
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("upcoming", "Upcoming"),
    ("done", "Done today"),
)


@dataclass(frozen=True)
class QueueGroup:
    key: str
    title: str
    count: int  # all tasks in the group; ``rows`` holds at most the page limit
    rows: list[TaskRow]


def local_day(now: datetime) -> tuple[datetime, datetime]:
    """The person's (local) day around ``now``, as naive UTC bounds ``[start, end)``."""
    local = clock.to_local(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return clock.to_utc(start), clock.to_utc(start + timedelta(days=1))


def _conditions(key: str, now: datetime, day_start: datetime, day_end: datetime) -> Any:
    if key == "overdue":
        return Task.done_at.is_null() & (Task.due_at < now)
    if key == "today":
        return Task.done_at.is_null() & (Task.due_at >= now) & (Task.due_at < day_end)
    if key == "upcoming":
        return Task.done_at.is_null() & (Task.due_at >= day_end) & (Task.due_at >= now)
    return Task.done_at.is_null(False) & (Task.done_at >= day_start)


def queue(*, now: datetime, assignee_id: int | None = None, limit: int = GROUP_LIMIT) -> list[QueueGroup]:
    """The queue of ``assignee_id`` (everyone's with ``None``): four groups, each sorted for work."""
    day_start, day_end = local_day(now)
    groups: list[QueueGroup] = []
    for key, title in GROUPS:
        where = _conditions(key, now, day_start, day_end)
        if assignee_id is not None:
            where = where & (Task.assignee == assignee_id)
        count = int(Task.select(fn.COUNT(Task.id)).where(where).scalar() or 0)
        order = (Task.done_at.desc(), Task.id.desc()) if key == "done" else (Task.due_at, Task.id)
        rows = (
            [tasks._to_row(r) for r in tasks._query().where(where).order_by(*order).limit(limit).dicts()]
            if count
            else []
        )
        groups.append(QueueGroup(key, title, count, rows))
    return groups
