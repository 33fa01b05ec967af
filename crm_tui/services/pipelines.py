"""Pipelines and their ordered stages. The default one is the services company's process of DOMAIN.md."""

from __future__ import annotations

from peewee import fn

from crm_tui.data.db import database
from crm_tui.data.models import Deal, Pipeline, Stage
from crm_tui.services.errors import NotFound, RuleViolation
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


def resolve_stage(pipeline_id: int, ref: str | int) -> StageView:
    """A stage by id, by position (as shown: 1-based), or by English or Russian name (case-insensitive)."""
    all_stages = stages(pipeline_id)
    text = str(ref).strip()
    if text.isdigit():
        number = int(text)
        for stage in all_stages:
            if stage.position + 1 == number:
                return stage
        raise NotFound(f"No stage number {number}; the pipeline has {len(all_stages)} stages")
    wanted = text.casefold()
    for stage in all_stages:
        if wanted in (stage.name.casefold(), stage.name_ru.casefold()):
            return stage
    matches = [
        s
        for s in all_stages
        if s.name.casefold().startswith(wanted) or s.name_ru.casefold().startswith(wanted)
    ]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f"{s.position + 1} {s.name}" for s in all_stages)
    raise NotFound(f"No stage {text!r}; stages: {names}")


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
    with database.atomic():
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


def rename_stage(stage_id: int, name: str, name_ru: str | None = None) -> StageView:
    name = required_text(name, "name", "Stage name", STAGE_NAME_MAX)
    if name_ru is not None:
        name_ru = optional_text(name_ru, "name_ru", "Russian stage name", STAGE_NAME_MAX)
    with database.atomic():
        stage = Stage.get_or_none(Stage.id == stage_id)
        if stage is None:
            raise NotFound(f"No stage #{stage_id}")
        stage.name = name
        if name_ru is not None:
            stage.name_ru = name_ru
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


def delete_stage(stage_id: int) -> None:
    with database.atomic():
        stage = Stage.get_or_none(Stage.id == stage_id)
        if stage is None:
            raise NotFound(f"No stage #{stage_id}")
        if Deal.select().where(Deal.stage == stage_id).exists():
            raise RuleViolation(f"Stage {stage.name!r} still has deals; move them first")
        stage.delete_instance()
        _renumber(stage.pipeline_id)


def _renumber(pipeline_id: int) -> None:
    ordered = list(Stage.select(Stage.id).where(Stage.pipeline == pipeline_id).order_by(Stage.position))
    for i, s in enumerate(ordered):
        Stage.update(position=i).where(Stage.id == s.id).execute()


def stage_count(pipeline_id: int) -> int:
    return int(Stage.select(fn.COUNT(Stage.id)).where(Stage.pipeline == pipeline_id).scalar() or 0)
