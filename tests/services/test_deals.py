"""Deals through the pipeline: every move recorded, the Won and Lost rules, closed deals stay closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import Database

from crm_tui.data.models import Deal, Interaction, StageHistory
from crm_tui.services import deals, pipelines
from crm_tui.services.errors import NeedsReason, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk

LATER = NOW + timedelta(days=3)


@pytest.fixture
def db(any_db: Database) -> Database:
    """These rules run on SQLite and on PostgreSQL."""
    return any_db


def stage_name(deal_id: int) -> str:
    return deals.row(deal_id).stage_name


def history(deal_id: int) -> list[tuple[str | None, str]]:
    return [(f, t) for f, t, _who, _at in deals.history(deal_id)]


def to_last_open_stage(desk: Desk) -> None:
    deals.move(desk.deal_id, "Acts closed & feedback", by=desk.manager_id, now=LATER)


def test_a_move_changes_the_stage_and_records_history(desk: Desk) -> None:
    row = deals.move(desk.deal_id, "3", by=desk.manager_id, now=LATER)
    assert (row.stage_name, row.stage_position, row.stage_entered_at) == ("Proposal preparation", 2, LATER)
    assert history(desk.deal_id) == [(None, "Need discovery"), ("Need discovery", "Proposal preparation")]
    (last,) = (
        StageHistory.select()
        .where(StageHistory.deal == desk.deal_id)
        .order_by(StageHistory.id.desc())
        .limit(1)
    )
    assert (last.by_id, last.at) == (desk.manager_id, LATER)
    change = Interaction.get((Interaction.deal == desk.deal_id) & (Interaction.kind == "stage_change"))
    assert change.subject.endswith("Need discovery → Proposal preparation")


@pytest.mark.parametrize(
    "ref", ["Proposal preparation", "proposal preparation", "Подготовка предложения", "подготовка", "3"]
)
def test_stage_by_english_or_russian_name_prefix_or_position(desk: Desk, ref: str) -> None:
    assert deals.move(desk.deal_id, ref, by=desk.manager_id, now=LATER).stage_name == "Proposal preparation"


@pytest.mark.parametrize(
    ("ref", "message"), [("42", "No stage number 42"), ("Нет такого", "No stage 'Нет такого'")]
)
def test_unknown_stage_is_refused(desk: Desk, counts: Counts, ref: str, message: str) -> None:
    before = counts()
    with pytest.raises(NotFound, match=message):
        deals.move(desk.deal_id, ref, by=desk.manager_id, now=LATER)
    assert counts() == before


def test_unknown_deal(desk: Desk) -> None:
    with pytest.raises(NotFound, match="No deal #999"):
        deals.move(999, "2", by=desk.manager_id, now=LATER)


def test_won_is_refused_without_signed_acts_and_nothing_is_written(desk: Desk, counts: Counts) -> None:
    to_last_open_stage(desk)
    before = counts()
    with pytest.raises(RuleViolation, match="Acts not signed"):
        deals.move(desk.deal_id, "Won", by=desk.manager_id, now=LATER)
    assert counts() == before
    assert stage_name(desk.deal_id) == "Acts closed & feedback"
    assert Deal.get_by_id(desk.deal_id).won_at is None


def test_won_is_refused_from_a_stage_before_the_last_open_one(desk: Desk, counts: Counts) -> None:
    deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
    deals.move(desk.deal_id, "Service delivery", by=desk.manager_id, now=LATER)
    before = counts()
    with pytest.raises(RuleViolation, match="won from 'Acts closed & feedback'"):
        deals.move(desk.deal_id, "Успешно", by=desk.manager_id, now=LATER)
    assert counts() == before
    assert stage_name(desk.deal_id) == "Service delivery"


def test_won_with_signed_acts_from_the_last_open_stage(desk: Desk) -> None:
    to_last_open_stage(desk)
    signed = deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
    assert signed.acts_signed_at == LATER
    won_at = LATER + timedelta(hours=1)
    row = deals.win(desk.deal_id, by=desk.manager_id, now=won_at)
    assert (row.stage_name, row.stage_kind) == ("Won", "won")
    assert Deal.get_by_id(desk.deal_id).won_at == won_at
    assert history(desk.deal_id)[-1] == ("Acts closed & feedback", "Won")


def test_acts_are_signed_once(desk: Desk, counts: Counts) -> None:
    deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
    before = counts()
    with pytest.raises(RuleViolation, match="already signed"):
        deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
    assert counts() == before


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_lost_needs_a_reason(desk: Desk, counts: Counts, reason: str | None) -> None:
    before = counts()
    with pytest.raises(NeedsReason, match="needs a reason"):
        deals.lose(desk.deal_id, reason, by=desk.manager_id, now=LATER)
    with pytest.raises(NeedsReason):
        deals.move(desk.deal_id, "Lost", by=desk.manager_id, now=LATER, reason=reason)
    assert counts() == before
    assert stage_name(desk.deal_id) == "Need discovery"


def test_lost_with_a_reason_from_any_open_stage(desk: Desk) -> None:
    row = deals.lose(desk.deal_id, " выбрали конкурента ", by=desk.manager_id, now=LATER)
    assert (row.stage_kind, row.lost_reason) == ("lost", "выбрали конкурента")
    assert Deal.get_by_id(desk.deal_id).lost_at == LATER
    assert history(desk.deal_id)[-1] == ("Need discovery", "Lost")


@pytest.mark.parametrize("close", ["won", "lost"])
def test_a_closed_deal_does_not_move(desk: Desk, counts: Counts, close: str) -> None:
    if close == "won":
        to_last_open_stage(desk)
        deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
        deals.win(desk.deal_id, by=desk.manager_id, now=LATER)
    else:
        deals.lose(desk.deal_id, "нет бюджета", by=desk.manager_id, now=LATER)
    before = counts()
    for attempt in (
        lambda: deals.move(desk.deal_id, "2", by=desk.manager_id, now=LATER),
        lambda: deals.step(desk.deal_id, -1, by=desk.manager_id, now=LATER),
        lambda: deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER),
    ):
        with pytest.raises(RuleViolation, match=f"already {close}"):
            attempt()
    assert counts() == before


def test_moving_to_the_current_stage_is_refused(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation, match="already at Need discovery"):
        deals.move(desk.deal_id, "2", by=desk.manager_id, now=LATER)
    assert counts() == before


def test_step_forward_and_back(desk: Desk) -> None:
    assert deals.step(desk.deal_id, -1, by=desk.manager_id, now=LATER).stage_name == "Lead registered"
    assert deals.step(desk.deal_id, +1, by=desk.manager_id, now=LATER).stage_name == "Need discovery"
    assert deals.step(desk.deal_id, +1, by=desk.manager_id, now=LATER).stage_name == "Proposal preparation"
    assert len(history(desk.deal_id)) == 4


def test_step_back_from_the_first_stage_is_refused(desk: Desk, counts: Counts) -> None:
    deals.move(desk.deal_id, "1", by=desk.manager_id, now=LATER)
    before = counts()
    with pytest.raises(RuleViolation, match="first stage"):
        deals.step(desk.deal_id, -1, by=desk.manager_id, now=LATER)
    assert counts() == before


def test_step_forward_from_the_last_open_stage_means_won_and_needs_acts(desk: Desk, counts: Counts) -> None:
    to_last_open_stage(desk)
    before = counts()
    with pytest.raises(RuleViolation, match="Acts not signed"):
        deals.step(desk.deal_id, +1, by=desk.manager_id, now=LATER)
    assert counts() == before
    deals.sign_acts(desk.deal_id, by=desk.manager_id, now=LATER)
    assert deals.step(desk.deal_id, +1, by=desk.manager_id, now=LATER).stage_kind == "won"


def test_create_and_list_by_stage_with_keyset_pages(desk: Desk) -> None:
    created = [
        deals.create(
            f"Сделка {i}", contact_id=desk.contact_id, amount=i * 100_00, by=desk.manager_id, now=NOW
        ).id
        for i in range(1, 5)
    ]
    first = deals.list_page(limit=2)
    assert [r.id for r in first] == created[::-1][:2]
    second = deals.list_page(limit=2, after_id=first[-1].id)
    assert [r.id for r in second] == created[::-1][2:4]
    deals.move(created[0], "2", by=desk.manager_id, now=LATER)
    stage_2 = pipelines.resolve_stage(pipelines.default_pipeline_id(), "2")
    assert [r.id for r in deals.list_page(stage_id=stage_2.id)] == [created[0], desk.deal_id]
    columns = {c.stage.name: c for c in deals.stage_columns()}
    assert columns["Need discovery"].count == 2
    assert columns["Need discovery"].totals == {"RUB": 15_000_000 + 100_00}
    assert columns["Lead registered"].count == 3
    assert columns["Lead registered"].totals == {"RUB": (200 + 300 + 400) * 100}


def test_a_new_deal_cannot_start_closed(desk: Desk, counts: Counts) -> None:
    before = counts()
    with pytest.raises(RuleViolation, match="open stage"):
        deals.create("X", contact_id=desk.contact_id, stage="Won", by=desk.manager_id, now=NOW)
    assert counts() == before
