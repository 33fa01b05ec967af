"""The default pipeline of DOMAIN.md and the head of sales' edits to it."""

from __future__ import annotations

import pytest
from peewee import Database

from crm_tui.data.models import Pipeline, Stage
from crm_tui.services import deals, pipelines
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from tests.conftest import NOW, Desk


@pytest.fixture
def db(any_db: Database) -> Database:
    """These rules run on SQLite and on PostgreSQL."""
    return any_db


def names() -> list[str]:
    return [s.name for s in pipelines.stages()]


def test_default_pipeline_has_the_six_stages_in_english_and_russian_then_won_and_lost(db: Database) -> None:
    stages = pipelines.stages()
    assert [(s.position, s.name, s.name_ru, s.kind) for s in stages] == [
        (0, "Lead registered", "Первичное обращение", "open"),
        (1, "Need discovery", "Выяснение потребности", "open"),
        (2, "Proposal preparation", "Подготовка предложения", "open"),
        (3, "Proposal negotiation", "Согласование предложения", "open"),
        (4, "Service delivery", "Оказание услуги", "open"),
        (5, "Acts closed & feedback", "Закрытие актов и получение отзывов", "open"),
        (6, "Won", "Успешно", "won"),
        (7, "Lost", "Провалено", "lost"),
    ]
    probabilities = [s.probability for s in stages if s.kind == "open"]
    assert probabilities == sorted(probabilities)


def test_the_default_pipeline_is_created_once(db: Database) -> None:
    first = pipelines.ensure_default()
    assert pipelines.ensure_default() == first
    assert Pipeline.select().count() == 1
    assert Stage.select().count() == 8


def test_add_a_stage_after_service_delivery(db: Database) -> None:
    pid = pipelines.default_pipeline_id()
    added = pipelines.add_stage(pid, "Second delivery", after_position=4, name_ru="Второй этап услуги")
    assert (added.position, added.kind) == (5, "open")
    assert names()[4:8] == ["Service delivery", "Second delivery", "Acts closed & feedback", "Won"]
    assert [s.position for s in pipelines.stages()] == list(range(9))


def test_a_stage_needs_a_name(db: Database) -> None:
    with pytest.raises(InvalidInput):
        pipelines.add_stage(pipelines.default_pipeline_id(), "  ", after_position=1)
    assert len(names()) == 8


def test_rename_a_stage(db: Database) -> None:
    stage = pipelines.resolve_stage(pipelines.default_pipeline_id(), "5")
    renamed = pipelines.rename_stage(stage.id, "Installation", "Монтаж")
    assert (renamed.name, renamed.name_ru, renamed.position) == ("Installation", "Монтаж", 4)
    assert pipelines.resolve_stage(pipelines.default_pipeline_id(), "монтаж").id == stage.id


def test_rename_unknown_stage(db: Database) -> None:
    with pytest.raises(NotFound):
        pipelines.rename_stage(999, "X")


def test_reorder_stages(db: Database) -> None:
    stage = pipelines.resolve_stage(pipelines.default_pipeline_id(), "Proposal negotiation")
    reordered = pipelines.move_stage(stage.id, 1)
    assert [s.name for s in reordered][:4] == [
        "Lead registered",
        "Proposal negotiation",
        "Need discovery",
        "Proposal preparation",
    ]
    assert [s.position for s in reordered] == list(range(8))


def test_a_stage_with_deals_cannot_be_deleted(desk: Desk) -> None:
    with_deal = pipelines.resolve_stage(pipelines.default_pipeline_id(), "2")  # the converted lead's deal
    with pytest.raises(RuleViolation, match="still has deals"):
        pipelines.delete_stage(with_deal.id)
    empty = pipelines.resolve_stage(pipelines.default_pipeline_id(), "3")
    pipelines.delete_stage(empty.id)
    assert "Proposal preparation" not in names()
    assert [s.position for s in pipelines.stages()] == list(range(7))


def test_moves_follow_an_edited_pipeline(desk: Desk) -> None:
    pid = pipelines.default_pipeline_id()
    pipelines.add_stage(pid, "Pilot", after_position=0, name_ru="Пилот")
    row = deals.move(desk.deal_id, "2", by=desk.manager_id, now=NOW)
    assert row.stage_name == "Pilot"
    row = deals.step(desk.deal_id, +1, by=desk.manager_id, now=NOW)
    assert row.stage_name == "Need discovery"


def test_ambiguous_prefix_is_refused(db: Database) -> None:
    with pytest.raises(NotFound, match="stages: 1 Lead registered"):
        pipelines.resolve_stage(pipelines.default_pipeline_id(), "Proposal")


def test_won_and_lost_stay_at_the_end(db: Database) -> None:
    pid = pipelines.default_pipeline_id()
    won = pipelines.resolve_stage(pid, "Won")
    with pytest.raises(RuleViolation, match="Won and Lost stay at the end"):
        pipelines.add_stage(pid, "After won", after_position=won.position)
    with pytest.raises(RuleViolation, match="Won is a closing stage"):
        pipelines.move_stage(won.id, 0)
    first = pipelines.resolve_stage(pid, "1")
    reordered = pipelines.move_stage(first.id, 99)  # as far as it can go: the last open stage
    assert [s.name for s in reordered][5:] == ["Lead registered", "Won", "Lost"]
    assert len(names()) == 8
    added = pipelines.add_stage(pid, "Intake", after_position=-1)
    assert names()[0] == "Intake" and added.position == 0
