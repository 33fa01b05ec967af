"""E-mail: the desk's own templates, the outbox of messages not yet accepted, and the fetched messages."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui.data.models import BaseModel, Contact, Deal, Lead, User


class MailTemplate(BaseModel):
    """A desk's own version of a template (``proposal`` in ``ru``): it overrides the shipped one."""

    name = CharField(max_length=64)
    lang = CharField(max_length=8)
    source = TextField()  # "Subject: ..." line, blank line, body (Jinja2, rendered in a sandbox)
    updated_at = DateTimeField()
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("name", "lang"), True),)


class OutboxMessage(BaseModel):
    """A message the SMTP server has not accepted yet: kept with its error, retried with back-off.

    ``raw`` is the whole message as it will be sent (headers, body, attachments), so a retry sends
    exactly what was composed. ``sent_at`` is set when the server accepts it (the row then stays as the
    record of the attempt count); ``interaction_id`` is the ``email_out`` it was logged as.
    """

    recipient = CharField(max_length=320)
    subject = CharField(max_length=300, default="")
    raw = TextField()  # the RFC 5322 message, base64 for binary parts
    template = CharField(max_length=64, default="")
    attachments = TextField(default="")  # JSON list of file names
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    deal = ForeignKeyField(Deal, null=True, on_delete="SET NULL")
    lead = ForeignKeyField(Lead, null=True, on_delete="SET NULL")
    doc_id = IntegerField(null=True)  # the desk document attached, marked sent when the server takes it
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()
    attempts = IntegerField(default=0)
    last_error = TextField(default="")
    error_code = CharField(max_length=64, default="")
    next_try_at = DateTimeField(null=True, index=True)
    sent_at = DateTimeField(null=True, index=True)
    interaction_id = IntegerField(null=True)


class FetchedMail(BaseModel):
    """A message already taken from the desk mailbox, by its Message-ID: never logged twice."""

    message_id = CharField(max_length=500, unique=True)
    sender = CharField(max_length=320, default="")
    subject = CharField(max_length=300, default="")
    fetched_at = DateTimeField()
    interaction_id = IntegerField(null=True)
    folder = CharField(max_length=200, default="INBOX")
    uid_validity = BigIntegerField(default=0)  # the folder's UIDVALIDITY when it was fetched
    uid = BigIntegerField(default=0)  # its UID there: the next fetch asks only for higher ones

    class Meta:
        indexes = ((("folder", "uid_validity", "uid"), False),)


MAIL_MODELS: list[type[BaseModel]] = [MailTemplate, OutboxMessage, FetchedMail]
