"""Reminder deliveries: one row per reminder moment of a task, claimed by a process, marked when delivered."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField

from crm_tui.data.models import BaseModel, Task


class ReminderDelivery(BaseModel):
    """A reminder owed for ``task`` at ``owed_at`` (= ``due_at`` + ``slot`` intervals); claimed once.

    ``claimed_at``/``claim_token`` say which process holds it; ``delivered_at`` is set after the reminder
    reached the person (desktop, toast or printed line). A claim left undelivered past the lease (the
    process died) is taken over and sent by the next check. ``dropped_at`` marks one no longer owed.
    """

    task = ForeignKeyField(Task, on_delete="CASCADE", backref="deliveries")
    due_at = DateTimeField()
    slot = IntegerField()
    owed_at = DateTimeField()  # due_at + slot intervals: the moment this reminder is for
    claimed_at = DateTimeField()
    claim_token = CharField(max_length=64)
    attempts = IntegerField(default=1)
    delivered_at = DateTimeField(null=True)
    dropped_at = DateTimeField(null=True)
    channel = CharField(max_length=16, default="")  # desktop | app | print

    class Meta:
        indexes = (
            (("task", "due_at", "owed_at"), True),
            (("delivered_at", "dropped_at", "claimed_at"), False),
        )


REMINDER_MODELS: list[type[BaseModel]] = [ReminderDelivery]
