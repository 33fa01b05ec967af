"""The import screen (command palette: "Import contacts from a file"): the kind, the file's path (``→``
takes the completion from the folder), then a preview: how the columns map and each row's verdict (created,
duplicate, rejected with the reason), as ``crm import KIND FILE --dry-run`` gives them. ``ctrl+s``
imports: all or nothing, one batch, which ``crm import revert`` takes back."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import DataTable, Input, Select, Static

from crm_tui.services import imports
from crm_tui.services.errors import CrmError
from crm_tui.widgets.app_bound import AppBound

KINDS = ("contacts", "companies", "leads", "deals")


class PathSuggester(Suggester):
    """Completes a path from what is in its folder (``~`` is the home folder)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return suggest_path(value)


def suggest_path(value: str) -> str | None:
    """``~/Downloads/con`` -> ``~/Downloads/contacts.csv``: the first name in the folder that goes on."""
    if not value:
        return None
    typed = Path(value).expanduser()
    folder, stem = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError:
        return None
    for name in names:
        if name.startswith(stem) and not name.startswith(".") and name != stem:
            return value + name[len(stem) :]
    return None


class ImportScreen(AppBound, ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+s", "confirm", "Import", id="import.confirm"),
        Binding("escape", "close", "Close", id="import.close"),
    ]
    DEFAULT_CSS = """
    ImportScreen { align: center middle; }
    ImportScreen > Vertical { width: 110; max-width: 100%; height: 90%; border: round $primary;
                              background: $surface; padding: 0 1; }
    ImportScreen #import-top { height: auto; }
    ImportScreen #import-kind { width: 24; }
    ImportScreen #import-path { width: 1fr; }
    ImportScreen #import-mapping, ImportScreen #import-status { color: $text-muted; height: auto; }
    ImportScreen #import-rows { height: 1fr; }
    """

    def __init__(self, kind: str = "contacts") -> None:
        super().__init__()
        self.kind = kind
        self.previewed: str | None = None

    def compose(self) -> ComposeResult:
        t = self.crm.t
        with Vertical():
            yield Static(t("import.title"), classes="section-title")
            with Horizontal(id="import-top"):
                yield Select(
                    [(t(f"import.kind.{k}"), k) for k in KINDS],
                    value=self.kind,
                    allow_blank=False,
                    id="import-kind",
                )
                yield Input(placeholder=t("import.path"), suggester=PathSuggester(), id="import-path")
            yield Static(t("import.hint"), id="import-mapping")
            yield DataTable(id="import-rows", cursor_type="row", zebra_stripes=True)
            yield Static("", id="import-status")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#import-rows", DataTable)
        t = self.crm.t
        table.add_columns(
            t("import.col.line"), t("import.col.verdict"), t("import.col.id"), t("import.col.note")
        )
        self.query_one("#import-path", Input).focus()

    @on(Select.Changed, "#import-kind")
    def kind_changed(self, event: Select.Changed) -> None:
        self.kind = str(event.value)
        self.previewed = None
        if self.query_one("#import-path", Input).value.strip():
            self.preview()

    @on(Input.Submitted, "#import-path")
    def path_submitted(self) -> None:
        self.preview()

    def _path(self) -> Path:
        return Path(self.query_one("#import-path", Input).value.strip()).expanduser()

    @work(group="import", exclusive=True, exit_on_error=False)
    async def preview(self) -> None:
        path = self._path()
        options = imports.ImportOptions(dry_run=True)
        try:
            result = await self.crm.run_db(
                imports.run, self.kind, path, options, by=self.crm.user_id, now=self.crm.now()
            )
        except CrmError as error:
            self.previewed = None
            self._show_error(error.message)
            return
        self.previewed = f"{self.kind}:{path}"
        self._show(result)
        self.query_one("#import-rows", DataTable).focus()

    def _show_error(self, message: str) -> None:
        self.query_one("#import-rows", DataTable).clear()
        self.query_one("#import-mapping", Static).update(self.crm.t("import.hint"))
        self.query_one("#import-status", Static).update(f"[b red]{message}[/]")

    def _show(self, result: imports.ImportResult) -> None:
        t = self.crm.t
        mapped = ", ".join(f"{h} → {f}" for f, hs in result.columns.items() for h in hs)
        text = f"{result.file_format}, {result.encoding}: {mapped}"
        if result.unknown_columns:
            text += f"\n{t('import.ignored')}: {', '.join(result.unknown_columns)}"
        self.query_one("#import-mapping", Static).update(text)
        table = self.query_one("#import-rows", DataTable)
        table.clear()
        for row in result.rows:
            table.add_row(
                str(row.line), t(f"import.verdict.{row.verdict}"), f"#{row.id}" if row.id else "", row.note
            )
        counts = " · ".join(f"{t(f'import.verdict.{v}')} {n}" for v, n in result.counts.items() if n)
        status = f"{t('import.rows')} {result.total}: {counts}"
        if result.counts["rejected"]:
            status += f"\n[b red]{t('import.has-errors')}[/]"
        elif result.counts["created"] or result.counts["updated"]:
            status += f"\n{t('import.confirm-hint')}"
        self.query_one("#import-status", Static).update(status)

    async def action_confirm(self) -> None:
        if self.previewed != f"{self.kind}:{self._path()}":
            self.preview()
            return
        try:
            result = await self.crm.run_db(
                imports.run,
                self.kind,
                self._path(),
                imports.ImportOptions(),
                by=self.crm.user_id,
                now=self.crm.now(),
            )
        except CrmError as error:
            self._show_error(error.message)
            return
        if result.refused:
            self._show(result)
            return
        c = result.counts
        self.crm.notify(
            self.crm.t("import.done").format(
                batch=result.batch_id, created=c["created"], updated=c["updated"]
            ),
            title=self.crm.t("import.title"),
        )
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
