"""Deals and their moves through the pipeline. Every move is recorded; a refused move writes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from peewee import JOIN, fn

from crm_tui.data import search as index
from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Company, Contact, Deal, Interaction, Stage, StageHistory, StageTotal, User
from crm_tui.services import pipelines
from crm_tui.services.errors import InvalidInput, NeedsReason, NotFound, RuleViolation
from crm_tui.services.validation import optional_text, required_text
from crm_tui.services.views import DealRow, StageColumn, StageView

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
        raise NotFound(f"No deal #{deal_id}")
    return deal


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
    )


def row(deal_id: int) -> DealRow:
    found = list(_rows_query().where(Deal.id == deal_id).dicts())
    if not found:
        raise NotFound(f"No deal #{deal_id}")
    return _to_row(found[0])


def list_page(
    *,
    stage_id: int | None = None,
    owner_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[DealRow]:
    """Deals newest first (or one stage's), keyset-paged by id."""
    query = _rows_query()
    if stage_id is not None:
        query = query.where(Deal.stage == stage_id)
    if owner_id is not None:
        query = query.where(Deal.owner == owner_id)
    if after_id is not None:
        query = query.where(Deal.id < after_id)
    return [_to_row(r) for r in query.order_by(Deal.id.desc()).limit(limit).dicts()]


def for_contact(contact_id: int) -> list[DealRow]:
    query = _rows_query().where(Deal.contact == contact_id).order_by(Deal.id.desc()).limit(200)
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
            .where(Deal.stage.in_(stage_ids), Deal.owner == owner_id)
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
    text = required_text(title, "title", "Title")
    if amount < 0:
        raise InvalidInput("Amount cannot be negative", {"amount": "negative"})
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
        index.upsert("deal", deal.id, index.deal_body(text, company.name if company else None))
    return row(deal.id)


def update_amount(
    deal_id: int, amount: int, currency: str | None = None, *, by: int | None, now: datetime
) -> DealRow:
    if amount < 0:
        raise InvalidInput("Amount cannot be negative", {"amount": "negative"})
    with database.atomic():
        deal = _get(deal_id, lock=True)
        deal.amount = amount
        if currency:
            deal.currency = currency.upper()
        deal.save()
    return row(deal_id)


def _check_move(
    deal: Deal, current: StageView, target: StageView, all_stages: list[StageView], reason: str | None
) -> None:
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
        Interaction.create(
            kind="stage_change",
            by=by,
            at=now,
            contact=deal.contact_id,
            deal=deal.id,
            subject=f"{deal.title}: {current.name} → {target.name}",
            summary=(deal.lost_reason or "") if target.kind == "lost" else "",
            outcome=target.kind if target.kind != "open" else "",
            data=json.dumps({"from": current.id, "to": target.id}),
        )
    return row(deal_id)


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
