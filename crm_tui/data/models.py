"""Peewee models: the whole desk. Money is stored in minor units (kopecks, cents) as integers."""

from __future__ import annotations

from datetime import datetime

from peewee import (
    SQL,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    DeferredForeignKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from crm_tui.data.db import database

ROLES = ("admin", "head", "manager", "operator", "freelancer")
LEAD_STATUSES = ("new", "in_work", "qualified", "converted", "disqualified")
STAGE_KINDS = ("open", "won", "lost")
INTERACTION_KINDS = (
    "call_in",
    "call_out",
    "email_in",
    "email_out",
    "meeting",
    "note",
    "stage_change",
    "conversion",
    "repeat_request",
    "deal_edit",
)


EMPTY = [SQL("DEFAULT ''")]
"""A text column's default in the database too: rows written by raw SQL (the demo loader, an older
version's INSERTs) that do not name a column added later still satisfy NOT NULL."""


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
        # ``save()`` writes only the fields that changed: a rule that takes a lead must not write back,
        # from its stale copy, a column another transaction set meanwhile (a first call logged).
        only_save_dirty = True


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = DateTimeField()


class User(BaseModel):
    login = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    role = CharField(max_length=16, default="manager")
    active = BooleanField(default=True)
    created_at = DateTimeField()


class Company(BaseModel):
    name = CharField(max_length=300, index=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()
    # requisites and channels (m0012): INN 10 digits (a company) or 12 (a sole trader), check digits valid
    inn = CharField(max_length=12, default="", constraints=EMPTY, index=True)
    kpp = CharField(max_length=9, default="", constraints=EMPTY)
    phone = CharField(max_length=32, default="", constraints=EMPTY)  # E.164
    email = CharField(max_length=320, default="", constraints=EMPTY)
    address = CharField(max_length=500, default="", constraints=EMPTY)
    website = CharField(max_length=300, default="", constraints=EMPTY)
    archived_at = DateTimeField(null=True)  # archived: out of lists and search, nothing deleted (m0012)
    merged_into = IntegerField(null=True)  # archived by a merge into this company (m0019)


class Contact(BaseModel):
    name = CharField(max_length=300)
    company = ForeignKeyField(Company, null=True, on_delete="SET NULL", backref="contacts")
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    birthday = DateField(null=True)
    tags = CharField(max_length=500, default="")
    created_at = DateTimeField()
    archived_at = DateTimeField(null=True)  # archived: out of lists and search, history kept (m0012)
    merged_into = IntegerField(null=True)  # archived by a merge into this contact (m0019)
    # added with --force although this contact had the same phone or e-mail: a possible duplicate (m0012)
    duplicate_of = IntegerField(null=True)


class ContactChannel(BaseModel):
    """A phone (E.164) or an e-mail (lower-cased) of a contact; a contact has any number of them."""

    contact = ForeignKeyField(Contact, on_delete="CASCADE", backref="channels")
    kind = CharField(max_length=8)  # "phone" | "email"
    value = CharField(max_length=320, index=True)
    label = CharField(max_length=32, default="")
    position = IntegerField(default=0)


class Pipeline(BaseModel):
    name = CharField(max_length=100, unique=True)
    is_default = BooleanField(default=False)


class Stage(BaseModel):
    pipeline = ForeignKeyField(Pipeline, on_delete="CASCADE", backref="stages")
    position = IntegerField()
    name = CharField(max_length=100)
    name_ru = CharField(max_length=100, default="")
    probability = IntegerField(default=0)  # percent, for the weighted forecast
    kind = CharField(max_length=8, default="open")
    stale_days = IntegerField(default=14)  # the kanban highlights deals idle longer than this

    class Meta:
        indexes = ((("pipeline", "position"), False),)


class Lead(BaseModel):
    name = CharField(max_length=300)
    phone = CharField(max_length=32, index=True)  # E.164
    email = CharField(max_length=320, null=True, index=True)
    company_name = CharField(max_length=300, default="")
    comment = TextField(default="")
    status = CharField(max_length=16, default="new", index=True)
    disqualify_reason = CharField(max_length=500, null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    utm_source = CharField(max_length=200, default="", index=True)
    utm_medium = CharField(max_length=200, default="")
    utm_campaign = CharField(max_length=200, default="")
    utm_term = CharField(max_length=300, default="")
    utm_content = CharField(max_length=300, default="")
    referrer = CharField(max_length=2000, default="")
    landing_page = CharField(max_length=2000, default="")
    created_at = DateTimeField(index=True)
    qualified_at = DateTimeField(null=True)
    converted_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    deal = DeferredForeignKey("Deal", null=True, on_delete="SET NULL")  # set on conversion
    repeat_count = IntegerField(default=0)  # repeat requests from the same phone
    # The earliest call_in/call_out at or after created_at linked to the lead, or to its contact at or
    # after the conversion (see services.reports); kept by interactions.log and leads.convert (m0007).
    first_call_at = DateTimeField(null=True)

    class Meta:
        # the inbox filtered by status and source, keyset-paged on id at any depth (m0006); the reports'
        # indexes on the first-call delay are expressions, created by migration 7 (data/durations.py)
        indexes = ((("status", "utm_source"), False),)


class Deal(BaseModel):
    title = CharField(max_length=300)
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="deals")
    company = ForeignKeyField(Company, null=True, on_delete="SET NULL")
    pipeline = ForeignKeyField(Pipeline, on_delete="RESTRICT")
    stage = ForeignKeyField(Stage, on_delete="RESTRICT")
    amount = BigIntegerField(default=0)  # minor units
    currency = CharField(max_length=3, default="RUB")
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    lead = ForeignKeyField(Lead, null=True, on_delete="SET NULL")
    expected_close = DateField(null=True)
    acts_signed_at = DateTimeField(null=True)
    lost_reason = CharField(max_length=500, null=True)
    won_at = DateTimeField(null=True)
    lost_at = DateTimeField(null=True)
    stage_entered_at = DateTimeField()
    created_at = DateTimeField()
    # a deal entered by mistake: off the board, the lists, the search and the reports; history kept (m0011)
    archived_at = DateTimeField(null=True)

    class Meta:
        # The counts and sums by (stage, currency, amount) read a partial index over the unarchived deals,
        # and a small one finds the archived deals: migration 11 creates both.
        indexes = ((("stage", "stage_entered_at"), False),)


class StageTotal(BaseModel):
    """Deals and their amounts per stage and currency, kept by database triggers on ``deal`` (migration
    10): the kanban's column headers read eight rows here instead of grouping every deal of the desk."""

    stage = ForeignKeyField(Stage, on_delete="CASCADE")
    currency = CharField(max_length=3)
    deals = IntegerField(default=0)
    amount = BigIntegerField(default=0)  # minor units

    class Meta:
        table_name = "stage_total"
        primary_key = CompositeKey("stage", "currency")


class StageHistory(BaseModel):
    deal = ForeignKeyField(Deal, on_delete="CASCADE", backref="history")
    from_stage = ForeignKeyField(Stage, null=True, on_delete="SET NULL")
    to_stage = ForeignKeyField(Stage, on_delete="CASCADE")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField()
    # when the deal moved on: the ``at`` of its next history row in (at, id) order; NULL while it is
    # still there. Kept by deals.move (m0007 filled it for older rows); the stay is left_at - at.
    left_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("deal", "at"), False),)


class Interaction(BaseModel):
    kind = CharField(max_length=16)
    by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField()
    duration = IntegerField(null=True)  # seconds, for calls
    subject = CharField(max_length=300, default="")
    summary = TextField(default="")
    outcome = CharField(max_length=200, default="")
    lead = ForeignKeyField(Lead, null=True, on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    deal = ForeignKeyField(Deal, null=True, on_delete="CASCADE")
    data = TextField(default="")  # JSON: script path, stage ids, ...

    class Meta:
        indexes = (
            (("contact", "at"), False),
            (("lead", "at"), False),
            (("deal", "at"), False),
            (("by", "kind", "at"), False),
        )


class Task(BaseModel):
    title = CharField(max_length=300)
    due_at = DateTimeField(index=True)
    done_at = DateTimeField(null=True)
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    lead = ForeignKeyField(Lead, null=True, on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    deal = ForeignKeyField(Deal, null=True, on_delete="CASCADE")
    kind = CharField(max_length=16, default="todo")  # "first_call" for the new-lead rule
    reminded_slot = IntegerField(default=-1)  # the last reminder slot claimed (0 = at due time)
    reminded_at = DateTimeField(null=True)
    next_remind_at = DateTimeField()  # when the next reminder is owed: due_at, then every interval
    created_at = DateTimeField()

    class Meta:
        indexes = (
            (("done_at", "due_at"), False),
            (("assignee", "done_at", "due_at"), False),
            (("done_at", "next_remind_at"), False),
            (("lead", "done_at", "due_at"), False),
            (("contact", "done_at", "due_at"), False),
            (("deal", "done_at", "due_at"), False),
        )


class Product(BaseModel):
    name = CharField(max_length=300)
    unit = CharField(max_length=32, default="pcs")
    price = BigIntegerField(default=0)  # minor units, VAT included
    currency = CharField(max_length=3, default="RUB")
    active = BooleanField(default=True)
    # the catalogue (migration 16): VAT as data (22, 10, 0 %; NULL is "no VAT"), a category, an SKU,
    # and archiving (an archived product leaves the catalogue's lists and pickers; lines keep it)
    vat_rate = IntegerField(null=True, default=22)
    category = CharField(max_length=100, null=True)
    sku = CharField(max_length=64, null=True)
    archived_at = DateTimeField(null=True)


class Setting(BaseModel):
    key = CharField(max_length=100, primary_key=True)
    value = TextField()


CORE_MODELS: list[type[BaseModel]] = [
    SchemaVersion,
    User,
    Company,
    Contact,
    ContactChannel,
    Pipeline,
    Stage,
    Lead,
    Deal,
    StageHistory,
    Interaction,
    Task,
    Product,
    Setting,
]


def utcnow() -> datetime:
    """Naive UTC now; services take ``now`` as a parameter and only entry points call this."""
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)
