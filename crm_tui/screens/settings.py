"""Settings (the command palette, ``ctrl+p`` -> Settings): the desk's settings, the stages' numbers, and
one's own theme and language. ``e``/``enter`` edits the highlighted row in a form that checks the value
before anything is saved; ``r`` puts a setting back to its default; ``escape`` goes back.

Desk settings and stages are the desk's, in the database (``services/settings.py``,
``services/pipelines.py``), the same ones ``crm config`` and ``crm stage set`` change; the theme and the
language are this person's, in ``~/.config/crm-tui/config.toml`` (``crm_tui/prefs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Static

from crm_tui import prefs
from crm_tui.i18n import t
from crm_tui.screens.dialogs.note import FormDialog
from crm_tui.services import pipelines, settings
from crm_tui.services.errors import CrmError, InvalidInput
from crm_tui.services.settings import SettingView
from crm_tui.services.views import StageView
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter


def refusal(error: CrmError, lang: str) -> str:
    """A refusal in ``lang``: the i18n key ``refusal.<code>`` filled with its params, else as written."""
    key = f"refusal.{error.code}"
    text = t(key, lang)
    if lang == "en" or text == key:
        return error.message
    try:
        return text.format(**error.params)
    except (KeyError, IndexError, ValueError):
        return error.message


@dataclass(frozen=True)
class Desk:
    """What the screen shows from the database, read in one go off the event loop."""

    settings: list[SettingView]
    stages: list[StageView]


def read_desk() -> Desk:
    return Desk(settings.listing(), pipelines.stages(pipelines.default_pipeline_id()))


class ValueForm(FormDialog[str | None]):
    """One value, checked by ``save`` (which raises the rule's refusal); returns the value as saved."""

    FIELDS = (("value", "settings-form.value", ""),)

    def __init__(self, title: str, current: str, hint: str) -> None:
        super().__init__()
        self.title = title
        self.current = current
        self.hint = hint

    def title_text(self) -> str:
        return self.title

    def initial(self, field: str) -> str:
        return self.current

    def compose_fields(self) -> ComposeResult:
        yield Label(self.crm.t("settings-form.value"), classes="field-label")
        yield Input(self.current, placeholder=self.hint, id="f-value")
        yield Label("", id="error-value", classes="field-error")

    def show_errors(self, error: CrmError) -> None:
        message = refusal(error, self.crm.lang)
        super().show_errors(InvalidInput(message, {}))

    async def save(self, value: str) -> str:
        raise NotImplementedError

    async def submit(self) -> str | None:
        return await self.save(self.value("value"))


class SettingForm(ValueForm):
    """A desk setting: the service checks and stores it (``settings.put``)."""

    def __init__(self, view: SettingView, lang: str) -> None:
        help_text = t(f"settings.help.{view.key}", lang)
        kinds = {"currency.default": "currency", "backups.keep": "count"}
        kind = kinds.get(view.key, "interval")
        super().__init__(f"{view.key}: {help_text}", view.value, t(f"settings-form.hint.{kind}", lang))
        self.key = view.key

    async def save(self, value: str) -> str:
        await self.crm.run_db(settings.put, self.key, value)
        view = await self.crm.run_db(settings.view, self.key)
        return view.value


class PrefForm(ValueForm):
    """A personal preference, written to the config file (``prefs.put``)."""

    def __init__(self, key: str, current: str, lang: str) -> None:
        hint = ", ".join(prefs.THEMES[:4]) + ", …" if key == "theme" else ", ".join(prefs.LANGS)
        super().__init__(f"{key}: {t(f'settings.help.{key}', lang)}", current, hint)
        self.key = key

    async def save(self, value: str) -> str:
        stored = prefs.put(self.key, value)
        if self.key == "theme" and stored in self.app.available_themes:
            self.app.theme = stored
        return stored


class StageForm(FormDialog[StageView | None]):
    """A stage's win probability and stale days, checked by ``pipelines.update_stage``."""

    FIELDS = (
        ("probability", "stage-form.probability", "stage-form.probability.hint"),
        ("stale_days", "stage-form.stale_days", "stage-form.stale_days.hint"),
    )

    def __init__(self, stage: StageView) -> None:
        super().__init__()
        self.stage = stage

    def title_text(self) -> str:
        return self.crm.t("stage-form.title").format(
            number=self.stage.position + 1, name=self.stage.title(self.crm.lang)
        )

    def initial(self, field: str) -> str:
        return str(self.stage.probability if field == "probability" else self.stage.stale_days)

    def number(self, field: str, problems: dict[str, str]) -> int | None:
        text = self.value(field).strip()
        try:
            return int(text)
        except ValueError:
            problems[field] = self.crm.t("stage-form.whole-number")
            return None

    def show_errors(self, error: CrmError) -> None:
        """Each problem beside its field: a number that is none, or the rule's refusal in the app's
        language (``pipelines.update_stage``)."""
        fields = error.fields if isinstance(error, InvalidInput) else {}
        lang = self.crm.lang
        if error.code != InvalidInput.code and lang != "en":
            fields = {
                field: t(f"refusal.field.stage.{field}", lang).format(value=error.params.get(field))
                for field in fields
            }
        message = refusal(error, lang)
        super().show_errors(InvalidInput(message, fields))
        if fields:
            self.query_one(".form-error").remove_class("-shown")

    async def submit(self) -> StageView | None:
        problems: dict[str, str] = {}
        probability = self.number("probability", problems)
        stale_days = self.number("stale_days", problems)
        if problems:
            raise InvalidInput("", problems)
        return await self.crm.run_db(
            pipelines.update_stage, self.stage.id, probability=probability, stale_days=stale_days
        )


class SettingsScreen(AppBound, Screen[None]):
    """Three tables: the desk's settings, the stages, one's own preferences; ``tab`` moves between them."""

    CSS_PATH = "settings.tcss"
    AUTO_FOCUS = "#desk-settings"
    BINDINGS = [
        Binding("e", "edit", "Edit", id="settings.edit", tooltip="Change the highlighted value"),
        Binding("r", "reset", "Default", id="settings.reset", tooltip="Put the setting back to its default"),
        Binding("escape", "close", "Back", id="settings.close", tooltip="Back to where you were"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk([], [])
        self.personal: list[prefs.PrefView] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="settings-body", can_focus=False):  # tab goes from table to table
            yield Static(self.crm.t("settings.desk"), classes="settings-title")
            yield DataTable(cursor_type="row", id="desk-settings")
            yield Static(self.crm.t("settings.stages"), classes="settings-title")
            yield DataTable(cursor_type="row", id="stage-settings")
            yield Static(self.crm.t("settings.personal").format(path=prefs.path()), classes="settings-title")
            yield DataTable(cursor_type="row", id="personal-settings")
        yield KeyFooter()

    async def on_mount(self) -> None:
        self.sub_title = self.crm.t("settings.title")
        say = self.crm.t
        self.query_one("#desk-settings", DataTable).add_columns(
            say("settings.col.key"),
            say("settings.col.value"),
            say("settings.col.default"),
            say("settings.col.help"),
        )
        self.query_one("#stage-settings", DataTable).add_columns(
            "#", say("settings.col.stage"), say("settings.col.probability"), say("settings.col.stale")
        )
        self.query_one("#personal-settings", DataTable).add_columns(
            say("settings.col.key"), say("settings.col.value"), say("settings.col.help")
        )
        await self.reload()

    async def reload(self) -> None:
        self.desk = await self.crm.run_db(read_desk)
        try:
            self.personal = prefs.listing()
        except prefs.PrefsFileError as error:
            self.personal = [prefs.PrefView(p, None, "") for p in prefs.PREFS]
            self.notify(error.message, title=error.title, severity="warning")
        self.fill()

    def fill(self) -> None:
        lang = self.crm.lang
        days = self.crm.t("settings.days")
        desk = self.query_one("#desk-settings", DataTable)
        row = desk.cursor_row
        desk.clear()
        for v in self.desk.settings:
            shown = v.value
            if v.source == "env":
                shown = f"{v.value} ({self.crm.t('settings.from-env').format(env=v.env)})"
            desk.add_row(v.key, shown, v.default, t(f"settings.help.{v.key}", lang), key=v.key)
        desk.move_cursor(row=row)
        stages = self.query_one("#stage-settings", DataTable)
        row = stages.cursor_row
        stages.clear()
        for s in self.desk.stages:
            stale = days.format(n=s.stale_days) if s.kind == "open" else "–"
            stages.add_row(str(s.position + 1), s.title(lang), f"{s.probability}%", stale, key=str(s.id))
        stages.move_cursor(row=row)
        personal = self.query_one("#personal-settings", DataTable)
        row = personal.cursor_row
        personal.clear()
        for p in self.personal:
            personal.add_row(
                p.key, p.value or self.crm.t("settings.not-set"), t(f"settings.help.{p.key}", lang), key=p.key
            )
        personal.move_cursor(row=row)

    def table(self) -> DataTable[str]:
        focused = self.focused
        if isinstance(focused, DataTable):
            return focused
        return self.query_one("#desk-settings", DataTable)

    def highlighted(self, table: DataTable[str]) -> str | None:
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected)
    def selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.edit(event.data_table)

    def action_edit(self) -> None:
        self.edit(self.table())

    @work(exclusive=True, group="settings-edit")
    async def edit(self, table: DataTable[str]) -> None:
        """The highlighted row's form; the tables are read again once it is closed."""
        key = self.highlighted(table)
        if key is None:
            return
        lang = self.crm.lang
        if table.id == "desk-settings":
            view = next(v for v in self.desk.settings if v.key == key)
            saved = await self.app.push_screen_wait(SettingForm(view, lang))
            if saved is not None:
                self.notify(f"{key} = {saved}")
                if view.source == "env":
                    self.notify(self.crm.t("settings.env-note").format(env=view.env), severity="warning")
        elif table.id == "stage-settings":
            stage = next(s for s in self.desk.stages if str(s.id) == key)
            updated = await self.app.push_screen_wait(StageForm(stage))
            if updated is not None:
                self.notify(
                    self.crm.t("stage-form.saved").format(
                        number=updated.position + 1,
                        name=updated.title(lang),
                        probability=updated.probability,
                        days=updated.stale_days,
                    )
                )
        else:
            current = next((p.value for p in self.personal if p.key == key), None) or ""
            saved = await self.app.push_screen_wait(PrefForm(key, current, lang))
            if saved is not None:
                self.notify(f"{key} = {saved}")
                if key == "lang" and saved != lang:
                    self.notify(self.crm.t("settings.lang-next-start"))
        await self.reload()

    async def action_reset(self) -> None:
        table = self.table()
        key = self.highlighted(table)
        if key is None:
            return
        if table.id == "stage-settings":
            self.notify(self.crm.t("settings.stage-no-default"), severity="warning")
            return
        if table.id == "desk-settings":
            await self.crm.run_db(settings.reset, key)
            view = await self.crm.run_db(settings.view, key)
            self.notify(self.crm.t("settings.reset-done").format(key=key, value=view.value))
        else:
            try:
                prefs.reset(key)
            except CrmError as error:
                self.notify(refusal(error, self.crm.lang), severity="error")
                return
            self.notify(
                self.crm.t("settings.reset-done").format(key=key, value=self.crm.t("settings.not-set"))
            )
        await self.reload()

    def action_close(self) -> None:
        self.app.pop_screen()
