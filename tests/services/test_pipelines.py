"""The default pipeline of DOMAIN.md and the head of sales' edits to it."""

from __future__ import annotations

import pytest
from peewee import Database

from crm_tui.data.db import database
from crm_tui.data.models import Pipeline, Stage, StageTotal
from crm_tui.services import deals, pipelines
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from tests.conftest import NOW, Counts, Desk


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


def test_moves_follow_an_edited_pipeline(desk: Desk) -> None:
    pid = pipelines.default_pipeline_id()
    pipelines.add_stage(pid, "Pilot", after_position=0, name_ru="Пилот")
    row = deals.move(desk.deal_id, "2", by=desk.manager_id, now=NOW)
    assert row.stage_name == "Pilot"
    row = deals.step(desk.deal_id, +1, by=desk.manager_id, now=NOW)
    assert row.stage_name == "Need discovery"


def test_ambiguous_prefix_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput) as refused:
        pipelines.resolve_stage(pipelines.default_pipeline_id(), "Proposal")
    assert refused.value.message == (
        "Stage 'Proposal' is ambiguous: 3 Proposal preparation, 4 Proposal negotiation;"
        " give the stage's number"
    )
    assert refused.value.code == "stage.ambiguous"
    with pytest.raises(NotFound, match="stages: 1 Lead registered"):
        pipelines.resolve_stage(pipelines.default_pipeline_id(), "Negotiation")


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


# -- names are unique ---------------------------------------------------------------------------------


def test_a_rename_to_another_stages_name_is_refused_and_deals_keep_their_stage(
    desk: Desk, counts: Counts
) -> None:
    """Renaming stage 1 "Need discovery" made two stages answer to that name, and moving a deal at stage
    5 to "Need discovery" took it to stage 1 without a word."""
    pid = pipelines.default_pipeline_id()
    deals.move(desk.deal_id, "5", by=desk.manager_id, now=NOW)
    first = pipelines.resolve_stage(pid, "1")
    before = counts()
    for name, name_ru, taken in (
        ("Need discovery", None, "Need discovery"),
        ("NEED DISCOVERY", None, "NEED DISCOVERY"),
        ("First", "выяснение ПОТРЕБНОСТИ", "выяснение ПОТРЕБНОСТИ"),
        ("Успешно", None, "Успешно"),  # another stage's Russian name: `deal move` takes either
    ):
        with pytest.raises(InvalidInput) as refused:
            pipelines.rename_stage(first.id, name, name_ru)
        assert refused.value.code == "stage.name_taken"
        assert taken in refused.value.message
    assert counts() == before
    assert pipelines.resolve_stage(pid, "1").name == "Lead registered"
    row = deals.move(desk.deal_id, "Need discovery", by=desk.manager_id, now=NOW)
    assert row.stage_name == "Need discovery"  # stage 2, the one it names; a move back, asked for


def test_a_stage_keeps_its_own_names_in_another_case(db: Database) -> None:
    pid = pipelines.default_pipeline_id()
    first = pipelines.resolve_stage(pid, "1")
    renamed = pipelines.rename_stage(first.id, "LEAD REGISTERED", "первичное обращение")
    assert (renamed.name, renamed.name_ru) == ("LEAD REGISTERED", "первичное обращение")


def test_a_new_stage_cannot_take_a_name_in_use_nor_a_number(db: Database, counts: Counts) -> None:
    pid = pipelines.default_pipeline_id()
    before = counts()
    with pytest.raises(InvalidInput, match="Stage 3 is already called 'proposal PREPARATION'"):
        pipelines.add_stage(pid, "proposal PREPARATION", after_position=4)
    with pytest.raises(InvalidInput, match="Stage 5 is already called 'Оказание услуги'"):
        pipelines.add_stage(pid, "Delivery 2", after_position=4, name_ru="Оказание услуги")
    with pytest.raises(InvalidInput, match="A stage name cannot be a number"):
        pipelines.add_stage(pid, "7", after_position=4)
    assert counts() == before


def test_an_older_desks_duplicate_names_are_never_guessed(desk: Desk) -> None:
    """A desk renamed before names were checked: the name answers to two stages, so it picks none."""
    pid = pipelines.default_pipeline_id()
    # the converted lead's deal is at stage 2 Need discovery; stage 3 gets the same name
    Stage.update(name="Need discovery").where(Stage.id == pipelines.resolve_stage(pid, "3").id).execute()
    with pytest.raises(
        InvalidInput, match="'need discovery' is ambiguous: 2 Need discovery, 3 Need discovery"
    ):
        deals.move(desk.deal_id, "need discovery", by=desk.manager_id, now=NOW)
    assert deals.row(desk.deal_id).stage_position == 1  # stage 2 still, where it was
    moved = deals.move(desk.deal_id, "3", by=desk.manager_id, now=NOW)
    assert (moved.stage_position, moved.stage_name) == (2, "Need discovery")


# -- probability and stale days -----------------------------------------------------------------------


def test_set_a_stages_probability_and_stale_days(db: Database) -> None:
    pid = pipelines.default_pipeline_id()
    stage = pipelines.resolve_stage(pid, "3")
    updated = pipelines.update_stage(stage.id, probability=35)
    assert (updated.probability, updated.stale_days) == (35, 7)
    updated = pipelines.update_stage(stage.id, stale_days=3)
    assert (updated.probability, updated.stale_days) == (35, 3)
    assert pipelines.resolve_stage(pid, "3") == updated


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"probability": 101}, "stage.probability"),
        ({"probability": -1}, "stage.probability"),
        ({"stale_days": 0}, "stage.stale_days"),
        ({"probability": 50, "stale_days": -3}, "stage.stale_days"),
    ],
)
def test_out_of_range_numbers_are_refused(
    db: Database, counts: Counts, change: dict[str, int], code: str
) -> None:
    stage = pipelines.resolve_stage(pipelines.default_pipeline_id(), "3")
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        pipelines.update_stage(stage.id, **change)
    assert refused.value.code == code
    assert counts() == before
    assert pipelines.resolve_stage(pipelines.default_pipeline_id(), "3") == stage


# -- removal ------------------------------------------------------------------------------------------


def test_a_stage_with_deals_is_not_removed_and_says_how_many(desk: Desk, counts: Counts) -> None:
    pid = pipelines.default_pipeline_id()
    at = pipelines.resolve_stage(pid, "2")  # where a converted lead's deal opens
    before = counts()
    with pytest.raises(RuleViolation) as refused:
        pipelines.remove_stage(at.id)
    assert refused.value.message == "1 deal is at stage 2 Need discovery; move it first"
    assert (refused.value.code, refused.value.params["deals"]) == ("stage.has_deals", 1)
    assert counts() == before


def test_won_and_lost_are_never_removed(desk: Desk) -> None:
    pid = pipelines.default_pipeline_id()
    for name in ("Won", "Lost"):
        with pytest.raises(RuleViolation, match=f"{name} is a closing stage"):
            pipelines.remove_stage(pipelines.resolve_stage(pid, name).id)
    assert len(names()) == 8


def test_an_empty_stage_is_removed_and_the_others_move_up(desk: Desk) -> None:
    pid = pipelines.default_pipeline_id()
    # the converted lead's deal opened at Need discovery: it goes back to stage 1, then on past stage 2
    deals.move(desk.deal_id, "1", by=desk.manager_id, now=NOW)
    deals.move(desk.deal_id, "3", by=desk.manager_id, now=NOW)
    removed = pipelines.remove_stage(pipelines.resolve_stage(pid, "Need discovery").id)
    assert (removed.stage.name, removed.history_dropped) == ("Need discovery", 1)
    assert names()[:2] == ["Lead registered", "Proposal preparation"]
    assert [s.position for s in pipelines.stages()] == list(range(7))
    history = deals.history(desk.deal_id)
    assert [(h[0], h[1]) for h in history] == [
        (None, "Lead registered"),
        ("Lead registered", "Proposal preparation"),
    ]
    assert deals.row(desk.deal_id).stage_name == "Proposal preparation"
    assert StageTotal.select().where(StageTotal.stage == removed.stage.id).count() == 0


def test_the_last_open_stage_stays(db: Database) -> None:
    pid = pipelines.default_pipeline_id()
    for _ in range(5):
        pipelines.remove_stage(pipelines.resolve_stage(pid, "1").id)
    assert names() == ["Acts closed & feedback", "Won", "Lost"]
    with pytest.raises(RuleViolation, match="Acts closed & feedback is the only open stage"):
        pipelines.remove_stage(pipelines.resolve_stage(pid, "1").id)
    assert len(names()) == 3


@pytest.mark.postgres
def test_two_people_renaming_two_stages_to_one_name_at_once_leave_one_of_them(pg_url: str) -> None:
    """The name check holds the pipeline's row: the second rename waits for the first to commit, then
    sees the name taken. Without the lock both read the names before either wrote, and both passed."""
    import threading

    from crm_tui.data.db import open_database

    desk = open_database(pg_url)
    with desk.connection_context():
        pipelines.ensure_default()
        pid = pipelines.default_pipeline_id()
        first, third = pipelines.resolve_stage(pid, "1"), pipelines.resolve_stage(pid, "3")
    refused: list[str] = []

    def other_person() -> None:
        with database.connection_context():
            try:
                pipelines.rename_stage(third.id, "intake")
            except InvalidInput as error:
                refused.append(error.code)

    with database.connection_context(), database.atomic():
        pipelines.rename_stage(first.id, "Intake")
        thread = threading.Thread(target=other_person)
        thread.start()
        thread.join(0.5)  # the other rename reads the names meanwhile, unless the pipeline is held
    thread.join(30)
    with database.connection_context():
        assert [s.name for s in pipelines.stages(pid)][:3] == [
            "Intake",
            "Need discovery",
            "Proposal preparation",
        ]
    assert refused == ["stage.name_taken"]
    desk.close()
