"""Deals and their moves through the pipeline. Every move is recorded; a refused move writes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from peewee import JOIN, fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import (
    Company,
    Contact,
    Deal,
    Interaction,
    Stage,
    StageHistory,
    StageTotal,
    Task,
    User,
)
from crm_tui.services import money, pipelines
from crm_tui.services.errors import InvalidInput, NeedsReason, NotFound, RuleViolation
from crm_tui.services.validation import optional_text, required_text
from crm_tui.services.views import DealEvent, DealRow, StageColumn, StageView

PAGE_SIZE = 50


def _get(deal_id: int, *, lock: bool = False) -> Deal:
    """The deal, or NotFound. ``lock=True`` (inside a transaction) takes the row lock on PostgreSQL before
    a rule reads it, so two changes of one deal at once run one after the other and the second sees the
    first's result; SQLite's transactions already take the write lock when they begin."""
    query = Deal.select().where(Deal.id == deal_id)
    if lock and is_postgres():
        query = query.for_update()
    deal = query.get_or_none()
    if deal is None:
        raise NotFound(f"No deal #{deal_id}", code="deal.not_found", params={"deal": deal_id})
    return deal


def _live(deal: Deal) -> None:
    """An archived deal is out of the process: it neither moves nor changes until it is restored."""
    if deal.archived_at is not None:
        raise RuleViolation(
            f"Deal #{deal.id} is archived; restore it first (crm deal restore {deal.id})",
            code="deal.archived",
            params={"deal": deal.id},
        )


def _rows_query():  # type: ignore[no-untyped-def]
    return (
        Deal.select(
            Deal.id,
            Deal.title,
            Deal.contact,
            Contact.name.alias("contact_name"),
            Company.name.alias("company_name"),
            Deal.pipeline,
            Deal.stage,
            Stage.name.alias("stage_name"),
            Stage.name_ru.alias("stage_name_ru"),
            Stage.position.alias("stage_position"),
            Stage.kind.alias("stage_kind"),
            Deal.amount,
            Deal.currency,
            User.login.alias("owner_login"),
            User.name.alias("owner_name"),
            Deal.stage_entered_at,
            Deal.expected_close,
            Deal.acts_signed_at,
            Deal.lost_reason,
            Deal.created_at,
            Deal.archived_at,
            Deal.company,
        )
        .join(Stage, on=(Deal.stage == Stage.id))
        .switch(Deal)
        .join(Contact, JOIN.LEFT_OUTER, on=(Deal.contact == Contact.id))
        .switch(Deal)
        .join(Company, JOIN.LEFT_OUTER, on=(Deal.company == Company.id))
        .switch(Deal)
        .join(User, JOIN.LEFT_OUTER, on=(Deal.owner == User.id))
    )


def _to_row(r: dict) -> DealRow:  # type: ignore[type-arg]
    return DealRow(
        id=r["id"],
        title=r["title"],
        contact_id=r["contact"],
        contact_name=r["contact_name"],
        company_name=r["company_name"],
        pipeline_id=r["pipeline"],
        stage_id=r["stage"],
        stage_name=r["stage_name"],
        stage_position=r["stage_position"],
        stage_kind=r["stage_kind"],
        amount=r["amount"],
        currency=r["currency"],
        owner_login=r["owner_login"],
        owner_name=r["owner_name"],
        stage_entered_at=r["stage_entered_at"],
        expected_close=r["expected_close"],
        acts_signed_at=r["acts_signed_at"],
        lost_reason=r["lost_reason"],
        created_at=r["created_at"],
        stage_name_ru=r["stage_name_ru"],
        archived_at=r["archived_at"],
        company_id=r["company"],
    )


def row(deal_id: int) -> DealRow:
    found = list(_rows_query().where(Deal.id == deal_id).dicts())
    if not found:
        raise NotFound(f"No deal #{deal_id}", code="deal.not_found", params={"deal": deal_id})
    return _to_row(found[0])


def list_page(
    *,
    stage_id: int | None = None,
    owner_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[DealRow]:
    """Deals newest first (or one stage's), keyset-paged by id; archived deals are left out."""
    query = _rows_query().where(Deal.archived_at.is_null())
    if stage_id is not None:
        query = query.where(Deal.stage == stage_id)
    if owner_id is not None:
        query = query.where(Deal.owner == owner_id)
    if after_id is not None:
        query = query.where(Deal.id < after_id)
    return [_to_row(r) for r in query.order_by(Deal.id.desc()).limit(limit).dicts()]


def for_contact(contact_id: int) -> list[DealRow]:
    query = (
        _rows_query()
        .where((Deal.contact == contact_id) & Deal.archived_at.is_null())
        .order_by(Deal.id.desc())
        .limit(200)
    )
    return [_to_row(r) for r in query.dicts()]


def stage_columns(pipeline_id: int | None = None, *, owner_id: int | None = None) -> list[StageColumn]:
    """Each stage with its deal count and amount totals per currency.

    The whole desk's come from ``stage_total``, which triggers keep (migration 10): a few rows, whatever
    the number of deals. One owner's are grouped from the deals (on the (stage, currency, amount) index)."""
    pid = pipeline_id or pipelines.default_pipeline_id()
    all_stages = pipelines.stages(pid)
    stage_ids = [s.id for s in all_stages]
    query: Any
    if owner_id is None:
        total = StageTotal
        query = total.select(total.stage, total.currency, total.deals, total.amount).where(
            total.stage.in_(stage_ids), total.deals > 0
        )
    else:
        query = (
            Deal.select(Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount))
            .where(Deal.stage.in_(stage_ids), Deal.owner == owner_id, Deal.archived_at.is_null())
            .group_by(Deal.stage, Deal.currency)
        )
    counts: dict[int, int] = {}
    totals: dict[int, dict[str, int]] = {}
    for stage_id, currency, count, total in query.tuples():
        counts[stage_id] = counts.get(stage_id, 0) + count
        totals.setdefault(stage_id, {})[currency] = int(total or 0)
    return [StageColumn(s, counts.get(s.id, 0), totals.get(s.id, {})) for s in all_stages]


def create(
    title: str,
    *,
    contact_id: int | None,
    amount: int = 0,
    currency: str = "RUB",
    owner_id: int | None = None,
    expected_close: date | None = None,
    stage: str | int | None = None,
    by: int | None,
    now: datetime,
) -> DealRow:
    """A deal at ``stage`` (the pipeline's first open stage when None). A deal a person enters goes
    through :func:`add`, which reads what was typed and opens it at the stage after the entry stage."""
    text = required_text(title, "title", "Title")
    money.check_amount(amount)
    with database.atomic():
        pipeline_id = pipelines.default_pipeline_id()
        target = (
            pipelines.resolve_stage(pipeline_id, stage)
            if stage is not None
            else pipelines.first_open_stage(pipeline_id)
        )
        if target.kind != "open":
            raise RuleViolation("A new deal starts at an open stage")
        contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
        if contact_id and contact is None:
            raise NotFound(f"No contact #{contact_id}")
        deal = Deal.create(
            title=text,
            contact=contact_id,
            company=contact.company_id if contact else None,
            pipeline=pipeline_id,
            stage=target.id,
            amount=amount,
            currency=currency.upper(),
            owner=owner_id or by,
            expected_close=expected_close,
            stage_entered_at=now,
            created_at=now,
        )
        StageHistory.create(deal=deal.id, from_stage=None, to_stage=target.id, by=by, at=now)
        company = Company.get_or_none(Company.id == deal.company_id) if deal.company_id else None
        index.upsert("deal", deal.id, index.make_body(text, company.name if company else None))
    return row(deal.id)


def update_amount(
    deal_id: int, amount: int, currency: str | None = None, *, by: int | None, now: datetime
) -> DealRow:
    money.check_amount(amount)
    with database.atomic():
        deal = _get(deal_id, lock=True)
        _live(deal)
        deal.amount = amount
        if currency:
            deal.currency = currency.upper()
        deal.save()
    return row(deal_id)


def _check_move(
    deal: Deal, current: StageView, target: StageView, all_stages: list[StageView], reason: str | None
) -> None:
    _live(deal)
    if current.kind != "open":
        raise RuleViolation(f"Deal #{deal.id} is already {current.kind}; a closed deal does not move")
    if target.id == current.id:
        raise RuleViolation(f"Deal #{deal.id} is already at {current.name}")
    if target.kind == "won":
        last_open = [s for s in all_stages if s.kind == "open"][-1]
        if deal.acts_signed_at is None:
            raise RuleViolation(
                "Acts not signed: a deal is won only when the service was delivered and the acts are signed"
            )
        if current.id != last_open.id:
            raise RuleViolation(f"A deal is won from {last_open.name!r}; move it through the stages first")
    if target.kind == "lost" and not (reason or "").strip():
        raise NeedsReason("A lost deal needs a reason")


def move(deal_id: int, to: str | int, *, by: int | None, now: datetime, reason: str | None = None) -> DealRow:
    """Move a deal to a stage (by id as ``int``, or position/name as ``str``) and record the history.

    Raises RuleViolation (nothing written) when the process does not allow the move; NeedsReason for a
    loss without a reason.
    """
    if reason is not None:
        reason = optional_text(reason, "reason", "Reason", 500, multiline=True)
    with database.atomic():
        deal = _get(deal_id, lock=True)
        all_stages = pipelines.stages(deal.pipeline_id)
        by_id = {s.id: s for s in all_stages}
        current = by_id[deal.stage_id]
        if isinstance(to, int):
            if to not in by_id:
                raise NotFound(f"No stage #{to} in the deal's pipeline")
            target = by_id[to]
        else:
            target = pipelines.resolve_stage(deal.pipeline_id, to)
        _check_move(deal, current, target, all_stages, reason)
        deal.stage = target.id
        deal.stage_entered_at = now
        if target.kind == "won":
            deal.won_at = now
        if target.kind == "lost":
            deal.lost_at = now
            deal.lost_reason = (reason or "").strip()[:500]
        deal.save()
        record_move(deal.id, current.id, target.id, by=by, at=now)
        closed = _close_tasks(deal.id, now) if target.kind != "open" else []
        event: dict[str, Any] = {"from": current.id, "to": target.id}
        if closed:
            event["closed_tasks"] = closed
        Interaction.create(
            kind="stage_change",
            by=by,
            at=now,
            contact=deal.contact_id,
            deal=deal.id,
            subject=f"{deal.title}: {current.name} → {target.name}",
            summary=(deal.lost_reason or "") if target.kind == "lost" else "",
            outcome=target.kind if target.kind != "open" else "",
            data=json.dumps(event),
        )
    return row(deal_id)


def _close_tasks(deal_id: int, now: datetime) -> list[int]:
    """A deal that closes (won or lost) closes its open tasks; returns their ids."""
    ids = [
        t.id
        for t in Task.select(Task.id)
        .where((Task.deal == deal_id) & Task.done_at.is_null())
        .order_by(Task.due_at, Task.id)
    ]
    if ids:
        Task.update(done_at=now).where(Task.id.in_(ids) & Task.done_at.is_null()).execute()
    return ids


def record_move(deal_id: int, from_stage: int | None, to_stage: int, *, by: int | None, at: datetime) -> int:
    """Add a row to the deal's stage history and keep ``left_at`` (when each stay ended) right.

    A deal's history is ordered by (at, id); the new row has the highest id, so it goes after every row
    at or before ``at``. The row before it now ends at ``at``, and the new row ends where that one ended
    (NULL when it is the latest, which is the normal case; a move recorded with an earlier time lands in
    the middle). Call it in the transaction that moves the deal.
    """
    if is_postgres():  # the caller's rule has locked the deal already; a caller that has not, waits here
        database.execute_sql("SELECT id FROM deal WHERE id = %s FOR UPDATE", (deal_id,))
    previous = (
        StageHistory.select(StageHistory.id, StageHistory.left_at)
        .where((StageHistory.deal == deal_id) & (StageHistory.at <= at))
        .order_by(StageHistory.at.desc(), StageHistory.id.desc())
        .first()
    )
    if previous is not None:
        left_at = previous.left_at
        StageHistory.update(left_at=at).where(StageHistory.id == previous.id).execute()
    else:
        following = (
            StageHistory.select(StageHistory.at)
            .where(StageHistory.deal == deal_id)
            .order_by(StageHistory.at, StageHistory.id)
            .first()
        )
        left_at = following.at if following is not None else None
    created = StageHistory.create(
        deal=deal_id, from_stage=from_stage, to_stage=to_stage, by=by, at=at, left_at=left_at
    )
    return int(created.id)


def step(
    deal_id: int, direction: int, *, by: int | None, now: datetime, reason: str | None = None
) -> DealRow:
    """One stage forward (+1) or back (-1). Forward from the last open stage means Won."""
    with database.atomic():
        return _step(deal_id, direction, by=by, now=now, reason=reason)


def _step(deal_id: int, direction: int, *, by: int | None, now: datetime, reason: str | None) -> DealRow:
    deal = _get(deal_id, lock=True)
    all_stages = pipelines.stages(deal.pipeline_id)
    current = next(s for s in all_stages if s.id == deal.stage_id)
    _live(deal)
    if current.kind != "open":
        raise RuleViolation(f"Deal #{deal.id} is already {current.kind}; a closed deal does not move")
    open_stages = [s for s in all_stages if s.kind == "open"]
    i = open_stages.index(current) + direction
    if i < 0:
        raise RuleViolation(f"{current.name} is the first stage")
    if i >= len(open_stages):
        won = next((s for s in all_stages if s.kind == "won"), None)
        if won is None:
            raise RuleViolation("The pipeline has no Won stage")
        return move(deal_id, won.id, by=by, now=now)
    return move(deal_id, open_stages[i].id, by=by, now=now, reason=reason)


def sign_acts(deal_id: int, *, by: int | None, now: datetime) -> DealRow:
    """Record that the acceptance acts are signed: the condition for winning the deal."""
    with database.atomic():
        deal = _get(deal_id, lock=True)
        _live(deal)
        stage = Stage.get_by_id(deal.stage_id)
        if stage.kind != "open":
            raise RuleViolation(f"Deal #{deal_id} is already {stage.kind}")
        if deal.acts_signed_at is not None:
            raise RuleViolation(
                f"Acts of deal #{deal_id} were already signed on {deal.acts_signed_at:%Y-%m-%d}"
            )
        deal.acts_signed_at = now
        deal.save()
        Interaction.create(
            kind="note",
            by=by,
            at=now,
            contact=deal.contact_id,
            deal=deal.id,
            subject="Acts signed",
            outcome="acts_signed",
        )
    return row(deal_id)


def win(deal_id: int, *, by: int | None, now: datetime) -> DealRow:
    with database.atomic():
        deal = _get(deal_id, lock=True)
        won = next((s for s in pipelines.stages(deal.pipeline_id) if s.kind == "won"), None)
        if won is None:
            raise RuleViolation("The pipeline has no Won stage")
        return move(deal_id, won.id, by=by, now=now)


def lose(deal_id: int, reason: str | None, *, by: int | None, now: datetime) -> DealRow:
    with database.atomic():
        deal = _get(deal_id, lock=True)
        lost = next((s for s in pipelines.stages(deal.pipeline_id) if s.kind == "lost"), None)
        if lost is None:
            raise RuleViolation("The pipeline has no Lost stage")
        return move(deal_id, lost.id, by=by, now=now, reason=reason)


def history(deal_id: int) -> list[tuple[str | None, str, str | None, datetime]]:
    """Every move of the deal: (from stage, to stage, who, when), oldest first."""
    _get(deal_id)
    From = Stage.alias()
    To = Stage.alias()
    query = (
        StageHistory.select(From.name, To.name, User.name, StageHistory.at)
        .join(To, on=(StageHistory.to_stage == To.id))
        .switch(StageHistory)
        .join(From, JOIN.LEFT_OUTER, on=(StageHistory.from_stage == From.id))
        .switch(StageHistory)
        .join(User, JOIN.LEFT_OUTER, on=(StageHistory.by == User.id))
        .where(StageHistory.deal == deal_id)
        .order_by(StageHistory.at, StageHistory.id)
    )
    return list(query.tuples())


# ------------------------------------------------------------------------------------------ by hand
EDIT_EVENT = "deal.edited"
REOPEN_EVENT = "deal.reopened"
ARCHIVE_EVENT = "deal.archived"
RESTORE_EVENT = "deal.restored"
EVENT_KINDS = {EDIT_EVENT: "edited", ARCHIVE_EVENT: "archived", RESTORE_EVENT: "restored"}
FROZEN_WHEN_CLOSED = ("amount", "currency", "expected_close")
"""What a won or lost deal keeps as it closed (reopen it to change them): the won revenue and the
lost amount that the reports count. Its title, owner and contact can still be put right."""


def default_stage(pipeline_id: int) -> StageView:
    """Where a deal entered by hand opens: the first open stage after the entry stage (in the default
    pipeline "Need discovery", after "Lead registered", where leads wait); the only open stage when the
    pipeline has one."""
    open_stages = [s for s in pipelines.stages(pipeline_id) if s.kind == "open"]
    if not open_stages:
        raise RuleViolation("The pipeline has no open stage", code="pipeline.no_open_stage")
    return open_stages[1] if len(open_stages) > 1 else open_stages[0]


def parse_date(text: str | date | None, field: str = "expected_close") -> date | None:
    """``"2027-01-31"`` -> a date; ``""`` -> None (no date); anything else is ``date.invalid``."""
    if text is None or isinstance(text, date):
        return text
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"Not a date: {cleaned!r} (write it as 2027-01-31)",
            {field: "not a date"},
            code="date.invalid",
            params={"value": cleaned},
        ) from None


def _amount(value: int | str) -> int:
    return money.parse_amount(value) if isinstance(value, str) else money.check_amount(value)


def _owner(ref: str | int) -> User:
    query = (
        User.select().where(User.id == ref)
        if isinstance(ref, int)
        else User.select().where(User.login == str(ref).strip().lower())
    )
    user = query.get_or_none()
    if user is None or not user.active:
        raise NotFound(
            f"No user with login {ref!r}" if not isinstance(ref, int) else f"No user #{ref}",
            code="owner.unknown",
            params={"owner": ref},
        )
    return user


def _contact(contact_id: int) -> Contact:
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        raise NotFound(f"No contact #{contact_id}", code="contact.not_found", params={"contact": contact_id})
    return contact


def _company(company_id: int) -> Company:
    company = Company.get_or_none(Company.id == company_id)
    if company is None:
        raise NotFound(f"No company #{company_id}", code="company.not_found", params={"company": company_id})
    return company


def _title(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("Title is required", {"title": "required"}, code="title.required")
    return text[:300]


def add(
    title: str,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    amount: int | str = 0,
    currency: str | None = None,
    expected_close: date | str | None = None,
    owner: str | int | None = None,
    stage: str | int | None = None,
    by: int | None,
    now: datetime,
) -> DealRow:
    """A deal a person enters: the amount as typed (``150 000,50``), the currency (else the desk's
    ``currency.default``), the expected close (``2027-01-31``), the owner by login (else who adds it), at
    ``stage`` (an id as ``int``, a number or a name as ``str``; else :func:`default_stage`). Everything is
    checked before anything is written."""
    from crm_tui.services import settings

    text = _title(title)
    minor = _amount(amount)
    code = money.parse_currency(currency) if currency else str(settings.value("currency.default"))
    close = parse_date(expected_close)
    with database.atomic():
        pipeline_id = pipelines.default_pipeline_id()
        if stage is None:
            target = default_stage(pipeline_id)
        elif isinstance(stage, int):  # a stage by its id (the kanban's column); text is a number or name
            found = [s for s in pipelines.stages(pipeline_id) if s.id == stage]
            if not found:
                raise NotFound(f"No stage #{stage}", code="stage.unknown", params={"stage": stage})
            target = found[0]
        else:
            try:
                target = pipelines.resolve_stage(pipeline_id, stage)
            except NotFound as error:
                raise NotFound(error.message, code="stage.unknown", params={"stage": stage}) from None
        if target.kind != "open":
            raise RuleViolation(
                f"A new deal starts at an open stage, not at {target.name}",
                code="deal.closed_stage",
                params={"stage": target.name},
            )
        contact = _contact(contact_id) if contact_id else None
        company = _company(company_id) if company_id else None
        owner_id = _owner(owner).id if owner is not None and owner != "" else by
        deal = Deal.create(
            title=text,
            contact=contact.id if contact else None,
            company=company.id if company else (contact.company_id if contact else None),
            pipeline=pipeline_id,
            stage=target.id,
            amount=minor,
            currency=code,
            owner=owner_id,
            expected_close=close,
            stage_entered_at=now,
            created_at=now,
        )
        StageHistory.create(deal=deal.id, from_stage=None, to_stage=target.id, by=by, at=now)
        company_name = company.name if company else None
        if company is None and deal.company_id:
            company_name = Company.get_by_id(deal.company_id).name
        index.upsert("deal", deal.id, index.make_body(text, company_name))
    return row(deal.id)


_UNSET: Any = object()


def edit(
    deal_id: int,
    *,
    title: str | None = None,
    amount: int | str | None = None,
    currency: str | None = None,
    expected_close: date | str | None = None,
    owner: str | int | None = None,
    contact_id: int | None = None,
    by: int | None,
    now: datetime,
) -> DealRow:
    """Change what was entered: the title, amount, currency, expected close (``""`` clears it), owner
    (login), contact. ``None`` leaves a field as it is. Each change is recorded as one ``deal_edit``
    event, ``{"code": "deal.edited", "changes": {"amount": [old, new], ...}}``, worded when shown.

    A won or lost deal keeps its amount, currency and expected close (``deal.closed``); an archived
    deal changes nothing (``deal.archived``). Nothing is written on a refusal or when nothing changes."""
    new_title = _title(title) if title is not None else None
    new_amount = _amount(amount) if amount is not None else None
    new_currency = money.parse_currency(currency) if currency is not None else None
    new_close = parse_date(expected_close) if expected_close is not None else _UNSET
    with database.atomic():
        deal = _get(deal_id, lock=True)
        _live(deal)
        changes: dict[str, list[Any]] = {}
        if new_title is not None and new_title != deal.title:
            changes["title"] = [deal.title, new_title]
        if new_amount is not None and new_amount != deal.amount:
            changes["amount"] = [deal.amount, new_amount]
        if new_currency is not None and new_currency != deal.currency:
            changes["currency"] = [deal.currency, new_currency]
        if new_close is not _UNSET and new_close != deal.expected_close:
            old = deal.expected_close.isoformat() if deal.expected_close else None
            changes["expected_close"] = [old, new_close.isoformat() if new_close else None]
        new_owner: User | None = None
        if owner is not None and owner != "":
            new_owner = _owner(owner)
            if new_owner.id != deal.owner_id:
                old_login = User.get_by_id(deal.owner_id).login if deal.owner_id else None
                changes["owner"] = [old_login, new_owner.login]
        new_contact: Contact | None = None
        if contact_id is not None:
            new_contact = _contact(contact_id)
            if new_contact.id != deal.contact_id:
                changes["contact"] = [deal.contact_id, new_contact.id]
        stage = Stage.get_by_id(deal.stage_id)
        frozen = [name for name in FROZEN_WHEN_CLOSED if name in changes]
        if stage.kind != "open" and frozen:
            raise RuleViolation(
                f"Deal #{deal.id} is {stage.kind}: its amount, currency and expected close stay as it "
                f"closed; reopen it first (crm deal reopen {deal.id} --reason ...)",
                code="deal.closed",
                params={"deal": deal.id, "kind": stage.kind, "fields": frozen},
            )
        if not changes:
            return row(deal_id)
        if "title" in changes:
            deal.title = new_title
        if "amount" in changes:
            deal.amount = new_amount
        if "currency" in changes:
            deal.currency = new_currency
        if "expected_close" in changes:
            deal.expected_close = new_close
        if "owner" in changes and new_owner is not None:
            deal.owner = new_owner.id
        if "contact" in changes and new_contact is not None:
            deal.contact = new_contact.id
            if deal.company_id is None:
                deal.company = new_contact.company_id
        deal.save()
        _event(deal, EDIT_EVENT, by=by, now=now, changes=changes, currency=deal.currency)
        if "title" in changes:
            company = Company.get_or_none(Company.id == deal.company_id) if deal.company_id else None
            index.upsert("deal", deal.id, index.make_body(deal.title, company.name if company else None))
    return row(deal_id)


def _event(deal: Deal, code: str, *, by: int | None, now: datetime, **data: Any) -> None:
    """A ``deal_edit`` event: the code and its parameters, never a sentence (worded when shown)."""
    Interaction.create(
        kind="deal_edit",
        by=by,
        at=now,
        contact=deal.contact_id,
        deal=deal.id,
        subject=deal.title,  # the deal's own name, as people wrote it; the change is worded when shown
        data=json.dumps({"code": code, **data}, ensure_ascii=False),
    )


def reopen(deal_id: int, reason: str | None, *, by: int | None, now: datetime) -> DealRow:
    """A won or lost deal goes back to the open stage it closed from (its stage history knows it), its
    won/lost marks cleared; the reopening and its reason are in its history, and the reports count it as
    open again. Refused for an open deal (``deal.open``) and without a reason (``reason.required``)."""
    text = (reason or "").strip()
    with database.atomic():
        deal = _get(deal_id, lock=True)
        _live(deal)
        all_stages = pipelines.stages(deal.pipeline_id)
        by_id = {s.id: s for s in all_stages}
        current = by_id[deal.stage_id]
        if current.kind == "open":
            raise RuleViolation(
                f"Deal #{deal.id} is open; only a won or lost deal is reopened",
                code="deal.open",
                params={"deal": deal.id},
            )
        if not text:
            raise NeedsReason(
                "Reopening a deal needs a reason", code="reason.required", params={"deal": deal.id}
            )
        target = _closed_from(deal.id, current, by_id) or default_stage(deal.pipeline_id)
        deal.stage = target.id
        deal.stage_entered_at = now
        deal.won_at = None
        deal.lost_at = None
        deal.lost_reason = None
        deal.save()
        record_move(deal.id, current.id, target.id, by=by, at=now)
        Interaction.create(
            kind="stage_change",
            by=by,
            at=now,
            contact=deal.contact_id,
            deal=deal.id,
            subject=f"{deal.title}: {current.name} → {target.name}",
            summary=text[:500],
            outcome="reopened",
            data=json.dumps({"from": current.id, "to": target.id, "code": REOPEN_EVENT}),
        )
    return row(deal_id)


def _closed_from(deal_id: int, current: StageView, by_id: dict[int, StageView]) -> StageView | None:
    """The open stage the deal stood at before it closed: the latest history row into its closing stage
    that came from an open stage still in the pipeline."""
    rows = (
        StageHistory.select(StageHistory.from_stage)
        .where((StageHistory.deal == deal_id) & (StageHistory.to_stage == current.id))
        .order_by(StageHistory.at.desc(), StageHistory.id.desc())
    )
    for h in rows:
        stage = by_id.get(h.from_stage_id) if h.from_stage_id else None
        if stage is not None and stage.kind == "open":
            return stage
    return None


def archive(deal_id: int, *, by: int | None, now: datetime) -> DealRow:
    """A deal entered by mistake leaves the board, the lists, the search and the reports (the stage
    totals' triggers take it out); its row and history stay, and :func:`restore` brings it back."""
    with database.atomic():
        deal = _get(deal_id, lock=True)
        _live(deal)
        deal.archived_at = now
        deal.save()
        _event(deal, ARCHIVE_EVENT, by=by, now=now)
        index.remove("deal", deal.id)
    return row(deal_id)


def restore(deal_id: int, *, by: int | None, now: datetime) -> DealRow:
    """An archived deal back where it was: its stage, the board, the search and the reports."""
    with database.atomic():
        deal = _get(deal_id, lock=True)
        if deal.archived_at is None:
            raise RuleViolation(
                f"Deal #{deal.id} is not archived", code="deal.not_archived", params={"deal": deal.id}
            )
        deal.archived_at = None
        deal.save()
        _event(deal, RESTORE_EVENT, by=by, now=now)
        company = Company.get_or_none(Company.id == deal.company_id) if deal.company_id else None
        index.upsert("deal", deal.id, index.make_body(deal.title, company.name if company else None))
    return row(deal_id)


def events(deal_id: int, *, limit: int = 500) -> list[DealEvent]:
    """The deal's history, newest first: its creation and stage moves (with the reason of a loss or a
    reopening), the edits of what was entered, its archiving, and every call, e-mail, meeting and note."""
    deal = _get(deal_id)
    stage_rows = {s.id: s for s in pipelines.stages(deal.pipeline_id)}
    users = {u.id: (u.login, u.name) for u in User.select(User.id, User.login, User.name)}
    moves_said: dict[tuple[datetime, int], dict[str, Any]] = {}
    out: list[DealEvent] = []
    interactions = (
        Interaction.select()
        .where(Interaction.deal == deal_id)
        .order_by(Interaction.at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    for i in interactions:
        data = _data(i.data)
        login, name = users.get(i.by_id, (None, None)) if i.by_id else (None, None)
        if i.kind == "stage_change":
            to = data.get("to")
            if isinstance(to, int):
                moves_said[(i.at, to)] = {
                    "reason": i.summary or None,
                    "code": data.get("code"),
                    "closed_tasks": data.get("closed_tasks") or [],
                }
            continue
        if i.kind == "deal_edit":
            code = str(data.get("code") or "")
            kind = {EDIT_EVENT: "edited", ARCHIVE_EVENT: "archived", RESTORE_EVENT: "restored"}.get(
                code, code
            )
            out.append(
                DealEvent(
                    kind, i.at, login, name, changes=dict(data.get("changes") or {}), currency=deal.currency
                )
            )
            continue
        text = "\n".join(part for part in (i.subject, i.summary) if part)
        out.append(DealEvent(i.kind, i.at, login, name, text=text, duration=i.duration, outcome=i.outcome))
    history_rows = (
        StageHistory.select()
        .where(StageHistory.deal == deal_id)
        .order_by(StageHistory.at.desc(), StageHistory.id.desc())
        .limit(limit)
    )
    for h in history_rows:
        login, name = users.get(h.by_id, (None, None)) if h.by_id else (None, None)
        source = stage_rows.get(h.from_stage_id) if h.from_stage_id else None
        target = stage_rows.get(h.to_stage_id)
        said = moves_said.get((h.at, h.to_stage_id), {})
        kind = "created" if h.from_stage_id is None else "stage"
        if said.get("code") == REOPEN_EVENT:
            kind = "reopened"
        out.append(
            DealEvent(
                kind,
                h.at,
                login,
                name,
                from_stage=source.name if source else None,
                to_stage=target.name if target else None,
                from_stage_ru=source.name_ru if source else None,
                to_stage_ru=target.name_ru if target else None,
                reason=said.get("reason") if kind != "created" else None,
                closed_tasks=list(said.get("closed_tasks") or []),
            )
        )
    out.sort(key=lambda e: (e.at, e.kind != "created"), reverse=True)  # at one moment, "created" first
    return out[:limit]


def _data(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
