"""Web forms that feed leads into the desk: one row per form key a landing page posts to."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from crm_tui.data.models import BaseModel, User


class IntakeForm(BaseModel):
    """A form key: routes the leads posted with it to ``owner`` with ``default_source`` as their source.

    ``allowed_origins`` holds the sites (``https://example.ru``) allowed to post from a browser, one per
    line; empty means any. ``redirect_url`` is the thank-you page; empty means the built-in one. A revoked
    key (``revoked_at`` set) is refused from then on; its leads stay.
    """

    key = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    default_source = CharField(max_length=200, default="")
    redirect_url = CharField(max_length=2000, default="")
    allowed_origins = TextField(default="")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()
    revoked_at = DateTimeField(null=True)


INTAKE_MODELS: list[type[BaseModel]] = [IntakeForm]
