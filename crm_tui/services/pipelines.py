"""Pipelines and their ordered stages. The default one is the services company's process of DOMAIN.md."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from crm_tui.data.db import database, is_postgres
from crm_tui.data.models import Deal, Pipeline, Stage, StageHistory, StageTotal
from crm_tui.services.errors import InvalidInput, NotFound, RuleViolation
from crm_tui.services.validation import optional_text, required_text
from crm_tui.services.views import StageView

DEFAULT_PIPELINE = "Sales"
STAGE_NAME_MAX = 100  # the column's size

# (name, name_ru, probability %, kind, stale days)
DEFAULT_STAGES: list[tuple[str, str, int, str, int]] = [
    ("Lead registered", "Первичное обращение", 5, "open", 2),
    ("Need discovery", "Выяснение потребности", 10, "open", 7),
    ("Proposal preparation", "Подготовка предложения", 30, "open", 7),
    ("Proposal negotiation", "Согласование предложения", 50, "open", 14),
    ("Service delivery", "Оказание услуги", 80, "open", 30),
    ("Acts closed & feedback", "Закрытие актов и получение отзывов", 95, "open", 14),
    ("Won", "Успешно", 100, "won", 0),
    ("Lost", "Провалено", 0, "lost", 0),
]


def stage_view(stage: Stage) -> StageView:
    return StageView(
        stage.id,
        stage.pipeline_id,
        stage.position,
        stage.name,
        stage.name_ru,
        stage.probability,
        stage.kind,
        stage.stale_days,
    )


def ensure_default() -> int:
    """Create the default pipeline once; return its id. Read first: the usual call writes nothing."""
    existing = Pipeline.get_or_none(Pipeline.is_default == True)  # noqa: E712
    if existing is not None:
        return int(existing.id)
    with database.atomic():
        pipeline = Pipeline.get_or_none(Pipeline.is_default == True)  # noqa: E712
        if pipeline is not None:
            return int(pipeline.id)
        pipeline = Pipeline.create(name=DEFAULT_PIPELINE, is_default=True)
        Stage.insert_many(
            [
                {
                    "pipeline": pipeline.id,
                    "position": i,
                    "name": name,
                    "name_ru": name_ru,
                    "probability": prob,
                    "kind": kind,
                    "stale_days": stale,
                }
                for i, (name, name_ru, prob, kind, stale) in enumerate(DEFAULT_STAGES)
            ]
        ).execute()
        return int(pipeline.id)


def default_pipeline_id() -> int:
    pipeline = Pipeline.get_or_none(Pipeline.is_default == True)  # noqa: E712
    if pipeline is None:
        return ensure_default()
    return int(pipeline.id)


def resolve_pipeline(name: str | None) -> int:
    if not name:
        return default_pipeline_id()
    pipeline = Pipeline.get_or_none(Pipeline.name == name)
    if pipeline is None:
        raise NotFound(f"No pipeline named {name!r}")
    return int(pipeline.id)


def stages(pipeline_id: int | None = None) -> list[StageView]:
    pid = pipeline_id or default_pipeline_id()
    query = Stage.select().where(Stage.pipeline == pid).order_by(Stage.position)
    return [stage_view(s) for s in query]


def first_open_stage(pipeline_id: int) -> StageView:
    for stage in stages(pipeline_id):
        if stage.kind == "open":
            return stage
    raise RuleViolation("The pipeline has no open stage")


def _numbered(found: list[StageView]) -> str:
    return ", ".join(f"{s.position + 1} {s.name}" for s in found)


def resolve_stage(pipeline_id: int, ref: str | int) -> StageView:
    """A stage by position (as shown: 1-based), or by English or Russian name (case-insensitive), or by
    the start of one. A name or a start that more than one stage answers to is refused, never guessed."""
    all_stages = stages(pipeline_id)
    text = str(ref).strip()
    if text.isdigit():
        number = int(text)
        for stage in all_stages:
            if stage.position + 1 == number:
                return stage
        raise NotFound(
            f"No stage number {number}; the pipeline has {len(all_stages)} stages",
            code="stage.not_found",
            params={"stage": text, "count": len(all_stages)},
        )
    wanted = text.casefold()
    exact = [s for s in all_stages if wanted in (s.name.casefold(), s.name_ru.casefold())]
    matches = exact or [
        s
        for s in all_stages
        if s.name.casefold().startswith(wanted) or (s.name_ru and s.name_ru.casefold().startswith(wanted))
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidInput(
            f"Stage {text!r} is ambiguous: {_numbered(matches)}; give the stage's number",
            {"stage": "ambiguous"},
            code="stage.ambiguous",
            params={"stage": text, "numbers": [s.position + 1 for s in matches]},
        )
    raise NotFound(
        f"No stage {text!r}; stages: {_numbered(all_stages)}",
        code="stage.not_found",
        params={"stage": text},
    )


def _lock_pipeline(pipeline_id: int) -> None:
    """Hold the pipeline while its stages are checked and changed: two people adding or renaming stages at
    once cannot both pass the name check (PostgreSQL; a SQLite transaction holds the write lock already)."""
    if is_postgres():
        list(Pipeline.select(Pipeline.id).where(Pipeline.id == pipeline_id).for_update())


def _check_names(pipeline_id: int, name: str, name_ru: str, *, stage_id: int | None = None) -> None:
    """Stage names are unique in a pipeline, case-insensitively, across both languages (``crm deal move``
    takes either), and a name is never a bare number (a number picks a stage by its position)."""
    for field, value in (("name", name), ("name_ru", name_ru)):
        if value.isdigit():
            raise InvalidInput(
                f"A stage name cannot be a number ({value!r}): numbers pick stages by position",
                {field: "number"},
                code="stage.name_number",
                params={"name": value},
            )
    for other in stages(pipeline_id):
        if other.id == stage_id:
            continue
        taken = {other.name.casefold(), other.name_ru.casefold()} - {""}
        for field, value in (("name", name), ("name_ru", name_ru)):
            if value and value.casefold() in taken:
                raise InvalidInput(
                    f"Stage {other.position + 1} is already called {value!r}; stage names must differ",
                    {field: "taken"},
                    code="stage.name_taken",
                    params={"name": value, "stage": other.position + 1},
                )


def _check_numbers(probability: int | None, stale_days: int | None) -> None:
    """A probability is 0-100 %, stale days at least 1; both problems are named at once."""
    fields: dict[str, str] = {}
    messages: list[str] = []
    if probability is not None and not 0 <= probability <= 100:
        fields["probability"] = f"between 0 and 100 %, not {probability}"
        messages.append(f"A probability is between 0 and 100 %, not {probability}")
    if stale_days is not None and stale_days < 1:
        fields["stale_days"] = f"at least 1, not {stale_days}"
        messages.append(f"Stale days must be at least 1, not {stale_days}")
    if fields:
        code = "stage.numbers" if len(fields) > 1 else f"stage.{next(iter(fields))}"
        value = probability if "probability" in fields else stale_days
        raise InvalidInput(
            "; ".join([messages[0], *(m[0].lower() + m[1:] for m in messages[1:])]),
            fields,
            code=code,
            params={"probability": probability, "stale_days": stale_days, "value": value},
        )


def add_stage(
    pipeline_id: int,
    name: str,
    *,
    after_position: int,
    name_ru: str = "",
    probability: int = 0,
    stale_days: int = 14,
) -> StageView:
    """Insert an open stage after the given 0-based position (service delivery may be several stages)."""
    name = required_text(name, "name", "Stage name", STAGE_NAME_MAX)
    name_ru = optional_text(name_ru, "name_ru", "Russian stage name", STAGE_NAME_MAX)
    _check_numbers(probability, stale_days)
    with database.atomic():
        _lock_pipeline(pipeline_id)
        _check_names(pipeline_id, name, name_ru)
        open_positions = [s.position for s in stages(pipeline_id) if s.kind == "open"]
        if open_positions and not -1 <= after_position <= open_positions[-1]:
            raise RuleViolation("A new stage goes among the open stages: Won and Lost stay at the end")
        Stage.update(position=Stage.position + 1000).where(
            (Stage.pipeline == pipeline_id) & (Stage.position > after_position)
        ).execute()
        stage = Stage.create(
            pipeline=pipeline_id,
            position=after_position + 1,
            name=name,
            name_ru=name_ru,
            probability=probability,
            kind="open",
            stale_days=stale_days,
        )
        _renumber(pipeline_id)
        stage = Stage.get_by_id(stage.id)
    return stage_view(stage)


def _stage(stage_id: int, *, lock: bool = False) -> Stage:
    query = Stage.select().where(Stage.id == stage_id)
    if lock and is_postgres():
        query = query.for_update()
    stage = query.first()
    if stage is None:
        raise NotFound(f"No stage #{stage_id}", code="stage.not_found", params={"stage": stage_id})
    return stage


def rename_stage(stage_id: int, name: str, name_ru: str | None = None) -> StageView:
    name = required_text(name, "name", "Stage name", STAGE_NAME_MAX)
    if name_ru is not None:
        name_ru = optional_text(name_ru, "name_ru", "Russian stage name", STAGE_NAME_MAX)
    with database.atomic():
        stage = _stage(stage_id)
        _lock_pipeline(stage.pipeline_id)
        new_ru = stage.name_ru if name_ru is None else name_ru.strip()
        _check_names(stage.pipeline_id, name, new_ru, stage_id=stage.id)
        stage.name = name
        stage.name_ru = new_ru
        stage.save()
    return stage_view(stage)


def update_stage(
    stage_id: int, *, probability: int | None = None, stale_days: int | None = None
) -> StageView:
    """Set a stage's win probability (0-100 %, for the weighted forecast) and/or the days after which a
    deal idle at it is stale (at least 1: the kanban and the velocity report flag it)."""
    _check_numbers(probability, stale_days)
    with database.atomic():
        stage = _stage(stage_id, lock=True)
        if probability is not None:
            stage.probability = probability
        if stale_days is not None:
            stage.stale_days = stale_days
        stage.save()
    return stage_view(stage)


def move_stage(stage_id: int, new_position: int) -> list[StageView]:
    """Reorder: put the stage at ``new_position`` (0-based) among the pipeline's stages."""
    with database.atomic():
        stage = Stage.get_or_none(Stage.id == stage_id)
        if stage is None:
            raise NotFound(f"No stage #{stage_id}")
        if stage.kind != "open":
            raise RuleViolation(f"{stage.name} is a closing stage: Won and Lost stay at the end")
        ordered = list(Stage.select().where(Stage.pipeline == stage.pipeline_id).order_by(Stage.position))
        ordered = [s for s in ordered if s.id != stage.id]
        open_count = len([s for s in ordered if s.kind == "open"])
        ordered.insert(max(0, min(new_position, open_count)), stage)
        for i, s in enumerate(ordered):
            Stage.update(position=i).where(Stage.id == s.id).execute()
    return stages(stage.pipeline_id)


@dataclass(frozen=True)
class Removed:
    """A stage removed: what it was, and how many moves into it left deals' stage history."""

    stage: StageView
    history_dropped: int


def remove_stage(stage_id: int) -> Removed:
    """Remove a stage no deal is at (archived deals count: they keep their stage). Won and Lost stay, and
    so does the pipeline's last open stage. The moves deals once made into it leave the stage history
    (reports); each deal's timeline keeps them as they were written."""
    with database.atomic():
        stage = _stage(stage_id)
        _lock_pipeline(stage.pipeline_id)
        stage = _stage(stage_id, lock=True)
        view = stage_view(stage)
        if stage.kind != "open":
            raise RuleViolation(
                f"{stage.name} is a closing stage: every pipeline keeps its Won and Lost",
                code="stage.closing",
                params={"stage": view.position + 1, "name": stage.name},
            )
        others_open = (
            Stage.select()
            .where((Stage.pipeline == stage.pipeline_id) & (Stage.kind == "open") & (Stage.id != stage.id))
            .count()
        )
        if not others_open:
            raise RuleViolation(
                f"{stage.name} is the only open stage; a pipeline keeps at least one",
                code="stage.last_open",
                params={"stage": view.position + 1, "name": stage.name},
            )
        at_it = Deal.select().where(Deal.stage == stage.id).count()
        if at_it:
            raise RuleViolation(
                f"{at_it} deal{'s' if at_it != 1 else ''} {'are' if at_it != 1 else 'is'} at stage "
                f"{view.position + 1} {stage.name}; move {'them' if at_it != 1 else 'it'} first",
                code="stage.has_deals",
                params={"stage": view.position + 1, "name": stage.name, "deals": at_it},
            )
        dropped = StageHistory.select().where(StageHistory.to_stage == stage.id).count()
        StageHistory.update(from_stage=None).where(StageHistory.from_stage == stage.id).execute()
        StageHistory.delete().where(StageHistory.to_stage == stage.id).execute()
        StageTotal.delete().where(StageTotal.stage == stage.id).execute()
        stage.delete_instance()
        _renumber(stage.pipeline_id)
    return Removed(view, dropped)


def _renumber(pipeline_id: int) -> None:
    ordered = list(Stage.select(Stage.id).where(Stage.pipeline == pipeline_id).order_by(Stage.position))
    for i, s in enumerate(ordered):
        Stage.update(position=i).where(Stage.id == s.id).execute()


def stage_count(pipeline_id: int) -> int:
    return int(Stage.select(fn.COUNT(Stage.id)).where(Stage.pipeline == pipeline_id).scalar() or 0)
