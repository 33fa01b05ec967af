"""What the services return: frozen dataclasses, never Peewee models (rendering never lazy-loads)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from crm_tui.services.money import CURRENCY_SIGNS, format_money

__all__ = ["CURRENCY_SIGNS", "format_money"]


def to_json(value: Any) -> Any:
    """A view (or a list of them) as plain JSON-ready data: datetimes as ISO strings."""
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class UserView:
    id: int
    login: str
    name: str
    role: str


def stage_title(name: str, name_ru: str | None, lang: str) -> str:
    """A stage's name in ``lang``: ``Stage.name_ru`` in Russian when it has one, else its own name."""
    return name_ru if lang == "ru" and name_ru else name


@dataclass(frozen=True)
class StageView:
    id: int
    pipeline_id: int
    position: int
    name: str
    name_ru: str
    probability: int
    kind: str
    stale_days: int

    def title(self, lang: str) -> str:
        """The stage as the desk's language names it."""
        return stage_title(self.name, self.name_ru, lang)


@dataclass(frozen=True)
class LeadRow:
    id: int
    name: str
    phone: str
    email: str | None
    company_name: str
    status: str
    utm_source: str
    utm_term: str
    owner_login: str | None
    owner_name: str | None
    created_at: datetime
    possible_duplicate: bool = False


@dataclass(frozen=True)
class LeadDetail:
    id: int
    name: str
    phone: str
    email: str | None
    company_name: str
    comment: str
    status: str
    disqualify_reason: str | None
    owner_login: str | None
    owner_name: str | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    referrer: str
    landing_page: str
    created_at: datetime
    qualified_at: datetime | None
    converted_at: datetime | None
    contact_id: int | None
    deal_id: int | None
    repeat_count: int
    duplicates: list[SearchHit] = field(default_factory=list)


@dataclass(frozen=True)
class ConversionResult:
    lead_id: int
    contact_id: int
    company_id: int | None
    deal_id: int
    linked_existing_contact: bool


@dataclass(frozen=True)
class DealRow:
    id: int
    title: str
    contact_id: int | None
    contact_name: str | None
    company_name: str | None
    pipeline_id: int
    stage_id: int
    stage_name: str
    stage_position: int
    stage_kind: str
    amount: int
    currency: str
    owner_login: str | None
    owner_name: str | None
    stage_entered_at: datetime
    expected_close: date | None
    acts_signed_at: datetime | None
    lost_reason: str | None
    created_at: datetime
    stage_name_ru: str | None = None
    archived_at: datetime | None = None
    company_id: int | None = None

    @property
    def money(self) -> str:
        return format_money(self.amount, self.currency)

    def stage_title(self, lang: str) -> str:
        """The deal's stage as the desk's language names it."""
        return stage_title(self.stage_name, self.stage_name_ru, lang)


@dataclass(frozen=True)
class DealEvent:
    """One event of a deal's history, with stable keys for every face and ``--json``.

    ``kind``: ``created``, ``stage`` (a move), ``reopened``, ``edited``, ``archived``, ``restored``, or an
    interaction's kind (``call_in``, ``call_out``, ``email_in``, ``email_out``, ``meeting``, ``note``...).
    ``from``/``to`` are stage names (English; ``from_ru``/``to_ru`` the desk's Russian names) for moves;
    ``changes`` maps an edited field to ``[old, new]`` (amount in minor units, owner by login, dates ISO);
    ``reason`` is why a deal was lost or reopened; ``text`` is what a person wrote (a call's subject and
    summary, a note)."""

    kind: str
    at: datetime
    by: str | None  # login
    by_name: str | None
    from_stage: str | None = None
    to_stage: str | None = None
    from_stage_ru: str | None = None
    to_stage_ru: str | None = None
    reason: str | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    text: str = ""
    duration: int | None = None
    outcome: str = ""
    currency: str = ""
    closed_tasks: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "by": self.by,
            "by_name": self.by_name,
            "from": self.from_stage,
            "to": self.to_stage,
            "reason": self.reason,
            "changes": self.changes,
            "text": self.text,
            "duration": self.duration,
            "outcome": self.outcome,
            "closed_tasks": self.closed_tasks,
        }


@dataclass(frozen=True)
class StageColumn:
    stage: StageView
    count: int
    totals: dict[str, int]  # currency -> sum in minor units


@dataclass(frozen=True)
class TaskRow:
    id: int
    title: str
    due_at: datetime
    done_at: datetime | None
    assignee_login: str | None
    assignee_name: str | None
    lead_id: int | None
    contact_id: int | None
    deal_id: int | None
    linked_label: str
    kind: str


@dataclass(frozen=True)
class Reminder:
    task_id: int
    title: str
    due_at: datetime
    slot: int  # 0 = the due moment, 1 = an hour overdue, ...
    assignee_login: str | None
    linked_label: str
    kind: str = ""  # the task's kind (``first_call`` for the one the rules make)

    @property
    def overdue(self) -> bool:
        return self.slot > 0


@dataclass(frozen=True)
class InteractionRow:
    id: int
    kind: str
    at: datetime
    by_name: str | None
    duration: int | None
    subject: str
    summary: str
    outcome: str
    lead_id: int | None
    contact_id: int | None
    deal_id: int | None
    data: str = ""  # a deal edit's stored code and values (JSON), worded when shown; "" for other kinds


@dataclass(frozen=True)
class SearchHit:
    kind: str  # lead | contact | company | deal
    id: int
    label: str
    detail: str


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    company_name: str | None
    phone: str | None
    email: str | None
    owner_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class ContactCard:
    id: int
    name: str
    company_id: int | None
    company_name: str | None
    phones: list[str]
    emails: list[str]
    birthday: date | None
    owner_login: str | None
    owner_name: str | None
    tags: list[str]
    created_at: datetime
    deals: list[DealRow]
    open_tasks: list[TaskRow]
