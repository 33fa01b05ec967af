"""Time. The database holds naive UTC; people see and type local time. Rules take ``now`` as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_tui.data.models import utcnow

__all__ = ["age", "relative", "to_local", "to_utc", "utcnow"]


def to_local(moment: datetime) -> datetime:
    """Naive UTC from the database -> naive local time for display."""
    return moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def to_utc(local: datetime) -> datetime:
    """Naive local time typed by a person -> naive UTC for the database."""
    return local.astimezone(UTC).replace(tzinfo=None)


def age(moment: datetime, now: datetime) -> str:
    """Short age for lists: ``"now"``, ``"12 min"``, ``"3 h"``, ``"5 d"``, ``"2 mo"``."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    days = int(seconds // 86400)
    if days < 60:
        return f"{days} d"
    if days < 730:
        return f"{days // 30} mo"
    return f"{days // 365} y"


def relative(moment: datetime, now: datetime) -> str:
    """``"in 25 min"`` / ``"2 h ago"``."""
    if moment >= now:
        delta = moment - now
        if delta < timedelta(minutes=1):
            return "now"
        return "in " + age(now - delta, now)
    return age(moment, now) + " ago"
