"""Call scripts and the calls made with them (kept in plain tables so the analytics are SQL aggregates)."""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui.data.models import BaseModel, Interaction, User


class CallScript(BaseModel):
    """A branching call script. ``source`` is the YAML as imported; ``tree`` the validated form (JSON)."""

    name = CharField(max_length=100, unique=True)
    title = CharField(max_length=300)
    lang = CharField(max_length=8, default="en")
    offer = CharField(max_length=500, default="")  # where it is offered: "lead:new,deal:proposal negotiation"
    source = TextField()
    tree = TextField()
    version = IntegerField(default=1)
    updated_at = DateTimeField()
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class ScriptCall(BaseModel):
    """One call made with a script: who, how it ended, linked to the interaction that logs it."""

    interaction = ForeignKeyField(Interaction, on_delete="CASCADE", unique=True)
    script = ForeignKeyField(CallScript, on_delete="CASCADE", backref="calls")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField()
    duration = IntegerField(default=0)
    outcome = CharField(max_length=100, default="")  # an outcome id, "" when the call was ended early
    success = BooleanField(default=False)
    no_answers = IntegerField(default=0)

    class Meta:
        indexes = ((("script", "by"), False), (("script", "outcome"), False))


class ScriptStep(BaseModel):
    """A node the call reached (``kind="visit"``, with the answer taken) or a ``"no_answer"`` note there."""

    call = ForeignKeyField(ScriptCall, on_delete="CASCADE", backref="steps")
    position = IntegerField()
    kind = CharField(max_length=16, default="visit")
    node = CharField(max_length=100)
    answer = IntegerField(null=True)  # 1-based index of the answer taken, None if the call ended here
    text = TextField(default="")  # what the client said, for "no_answer"

    class Meta:
        indexes = ((("call", "position"), False), (("node", "kind"), False))


SCRIPT_MODELS: list[type[BaseModel]] = [CallScript, ScriptCall, ScriptStep]
