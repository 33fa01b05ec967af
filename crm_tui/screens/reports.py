"""Reports (mode ``5``): the funnel, sources, velocity, forecast, managers and 80/20, with a chart each.

Keys: ``f`` ``s`` ``v`` ``o`` ``m`` ``p`` switch the report; ``[`` / ``]`` change the period; ``t`` shows the
report's next table; ``c`` sorts the table by the next column and ``r`` reverses it (or click a header);
``e`` exports the report to CSV in the current directory. A report computes in a thread worker while the
screen shows a loading indicator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import WorkerCancelled, WorkerFailed
from textual_plotext import PlotextPlot

from crm_tui.i18n import t
from crm_tui.services import export, reports
from crm_tui.services.errors import CrmError
from crm_tui.services.reports import Report, ReportFilter, Table
from crm_tui.services.views import format_money
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter

TITLES = {name: f"reports.title.{name}" for name in reports.REPORTS}
"""Each report's i18n key (``Funnel``, ``Sources``, …)."""
VALUE_COLUMNS = frozenset({"step", "kind", "keyword", "month", "owner", "name", ""})
"""Columns whose fixed words (``leads``, ``won``, ``(all)``, ``no date``, ``total``) are translated."""


@dataclass(frozen=True)
class PeriodPreset:
    label: str  # i18n key
    days: int | None  # None: all time

    def bounds(self, today: date) -> tuple[date | None, date | None]:
        if self.days is None:
            return None, None
        return today - timedelta(days=self.days - 1), today


PERIODS = (
    PeriodPreset("reports.period.30", 30),
    PeriodPreset("reports.period.90", 90),
    PeriodPreset("reports.period.365", 365),
    PeriodPreset("reports.period.all", None),
)


def translated(key: str, fallback: str, lang: str) -> str:
    """The text of ``key`` in ``lang``; ``fallback`` (the service's English word) where there is none."""
    text = t(key, lang)
    return fallback if text == key else text


def table_title(report: str, table: Table, lang: str = "en") -> str:
    limits = {"limit": reports.STUCK_LIMIT if report == "velocity" else reports.PARETO_LIMIT}
    return translated(f"reports.table.{report}.{table.name}", table.title, lang).format(**limits)


def column_label(column: str, lang: str = "en") -> str:
    return translated(f"reports.col.{column}", column, lang) if column else column


def value_text(column: str, value: Any, lang: str = "en") -> Any:
    """A fixed word of the service (a chain step, a stage kind, ``(all)``, ``no date``) in ``lang``."""
    if lang == "en" or column not in VALUE_COLUMNS or not isinstance(value, str) or not value:
        return value
    return translated(f"reports.value.{value}", value, lang)


def sort_key(value: Any) -> tuple[int, Any]:
    """None sorts first; numbers as numbers; everything else as text (case-insensitive)."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value).casefold())


class ReportsScreen(AppBound, Screen[None]):
    """The head of sales' reports, one at a time, over a period chosen with ``[`` and ``]``."""

    CSS_PATH = "reports.tcss"
    BINDINGS = [
        Binding("f", "show('funnel')", "Funnel", id="reports.funnel", tooltip="Deals by stage, conversion"),
        Binding("s", "show('sources')", "Sources", id="reports.sources", tooltip="Channels and keywords"),
        Binding("v", "show('velocity')", "Velocity", id="reports.velocity", tooltip="Days in stage, stuck"),
        Binding("o", "show('forecast')", "Forecast", id="reports.forecast", tooltip="Weighted pipeline"),
        Binding("m", "show('managers')", "Managers", id="reports.managers", tooltip="Each manager's work"),
        Binding("p", "show('pareto')", "80/20", id="reports.pareto", tooltip="Clients with 80% of revenue"),
        Binding(
            "left_square_bracket",
            "period(-1)",
            "Period -",
            id="reports.period-back",
            tooltip="Shorter period",
        ),
        Binding(
            "right_square_bracket", "period(1)", "Period +", id="reports.period-on", tooltip="Longer period"
        ),
        Binding("t", "next_table", "Table", id="reports.table", tooltip="The report's next table"),
        Binding("c", "sort_next", "Sort", id="reports.sort", tooltip="Sort by the next column"),
        Binding("r", "sort_reverse", "Reverse", id="reports.reverse", tooltip="Reverse the sort order"),
        Binding("e", "export", "Export CSV", id="reports.export", tooltip="Save the report as CSV"),
        Binding(
            "E",
            "export(True)",
            "Excel CSV",
            id="reports.export-excel",
            tooltip="Save the report as CSV for Excel: ';', roubles, dd.mm.yyyy",
        ),
    ]

    report_name: reactive[str] = reactive("funnel", init=False)
    """The report on screen."""
    period_index: reactive[int] = reactive(0, init=False)
    """Which of :data:`PERIODS` is chosen."""

    def __init__(self, *, export_dir: Path | None = None) -> None:
        super().__init__()
        self.export_dir = export_dir
        self.report: Report | None = None
        self.table_index = 0
        self.sort_column: int | None = None
        self.sort_reverse = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="report-bar")
        with Vertical(id="report-body"):
            yield PlotextPlot(id="report-chart")
            yield Static(id="report-table-title")
            yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
            yield Static(id="report-summary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    def stage_name(self, name: Any) -> Any:
        """A stage as the app's language names it (stages carry an English and a Russian name)."""
        return self.crm.stage_names_ru.get(name, name) if self.crm.lang == "ru" else name

    # --- the filter -------------------------------------------------------------------------------------

    def current_filter(self) -> ReportFilter:
        start, end = PERIODS[self.period_index].bounds(self.crm.now().date())
        return ReportFilter(start=start, end=end)

    def _bar_text(self, state: str = "") -> str:
        preset = PERIODS[self.period_index]
        flt = self.current_filter()
        span = "" if preset.days is None else f" ({flt.period_label})"
        tail = f"  {self.crm.t(state)}" if state else ""
        return f"{self.crm.t(TITLES[self.report_name])} · {self.crm.t(preset.label)}{span}{tail}"

    def watch_report_name(self) -> None:
        self.load()

    def watch_period_index(self) -> None:
        self.load()

    # --- loading ----------------------------------------------------------------------------------------

    @work(exclusive=True, group="report", exit_on_error=False)
    async def load(self) -> None:
        """Compute the report off the event loop; the body shows a loading indicator meanwhile."""
        name, flt = self.report_name, self.current_filter()
        body = self.query_one("#report-body")
        self.query_one("#report-bar", Static).update(self._bar_text("reports.computing"))
        body.loading = True
        try:
            report = await self.crm.run_db(reports.run, name, flt, now=self.crm.now())
        except WorkerCancelled:
            return  # a newer load replaced this one (Worker.wait reports our cancellation this way)
        except (CrmError, WorkerFailed) as failure:
            body.loading = False
            message = failure.message if isinstance(failure, CrmError) else str(failure.error)
            self.notify(message, title=self.crm.t("reports.failed-title"), severity="error")
            self.query_one("#report-bar", Static).update(self._bar_text("reports.failed"))
            return
        if name != self.report_name:
            return  # switched meanwhile: a newer load is on its way
        self.report = report
        self.table_index = 0
        self.sort_column = None
        self.sort_reverse = False
        body.loading = False
        self.query_one("#report-bar", Static).update(self._bar_text())
        self.draw_chart(report)
        self.fill_table()
        self.query_one("#report-summary", Static).update(summary(report, self.crm.lang))

    # --- table ------------------------------------------------------------------------------------------

    def tables(self) -> list[Table]:
        return self.report.tables() if self.report is not None else []

    def fill_table(self) -> None:
        tables = self.tables()
        grid = self.query_one("#report-table", DataTable)
        grid.clear(columns=True)
        if not tables:
            return
        lang = self.crm.lang
        shown = tables[self.table_index % len(tables)]
        more = (
            self.crm.t("reports.next-table").format(number=self.table_index % len(tables) + 1, of=len(tables))
            if len(tables) > 1
            else ""
        )
        title = table_title(self.report_name, shown, lang)
        self.query_one("#report-table-title", Static).update(title + more)
        labels = [column_label(c, lang) for c in shown.columns]
        if self.sort_column is not None:
            labels[self.sort_column] += " ▼" if self.sort_reverse else " ▲"
        grid.add_columns(*labels)
        rows = list(shown.rows)
        if self.sort_column is not None:
            column = self.sort_column
            rows.sort(key=lambda row: sort_key(row[column]), reverse=self.sort_reverse)
        currency = getattr(self.report, "currency", "RUB")
        for row in rows:
            values = [
                self.stage_name(v) if shown.columns[i] == "stage" else value_text(shown.columns[i], v, lang)
                for i, v in enumerate(row)
            ]
            grid.add_row(*[reports.cell_text(v, i in shown.money, currency) for i, v in enumerate(values)])

    def shown_table(self) -> Table | None:
        tables = self.tables()
        return tables[self.table_index % len(tables)] if tables else None

    def action_next_table(self) -> None:
        if self.tables():
            self.table_index += 1
            self.sort_column = None
            self.fill_table()

    def action_sort_next(self) -> None:
        shown = self.shown_table()
        if shown is None:
            return
        self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % len(shown.columns)
        self.fill_table()

    def action_sort_reverse(self) -> None:
        if self.shown_table() is None:
            return
        if self.sort_column is None:
            self.sort_column = 0
        self.sort_reverse = not self.sort_reverse
        self.fill_table()

    @on(DataTable.HeaderSelected)
    def sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        if self.sort_column == event.column_index:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = event.column_index, False
        self.fill_table()

    # --- chart ------------------------------------------------------------------------------------------

    def draw_chart(self, report: Report) -> None:
        chart = self.query_one("#report-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_figure()
        title, labels, values, unit = chart_data(report, self.crm.lang, self.stage_name)
        funnel_shape = isinstance(report, reports.FunnelReport)  # a funnel reads top-down: horizontal bars
        if labels:
            plt.bar(labels, values, orientation="horizontal" if funnel_shape else "vertical")
        plt.title(title)
        if funnel_shape:
            plt.xlabel(unit)
        else:
            plt.ylabel(unit)
        chart.refresh()

    # --- actions ----------------------------------------------------------------------------------------

    def action_show(self, name: str) -> None:
        """Switch to a report; the key of the report on screen computes it again (fresh figures)."""
        if name == self.report_name:
            self.load()
        elif name in reports.REPORTS:
            self.report_name = name

    def action_period(self, step: int) -> None:
        self.period_index = (self.period_index + step) % len(PERIODS)

    def action_export(self, excel: bool | None = None) -> None:
        """Save the report as CSV; in Russian (and with ``E`` in any language) in the dialect Russian
        Excel opens right by a double click: ``;``, a BOM, money in roubles with a decimal comma."""
        if self.report is None:
            self.notify(self.crm.t("reports.nothing-to-export"), severity="warning")
            return
        excel = self.crm.lang == "ru" if excel is None else excel
        flt = self.current_filter()
        span = "all-time" if flt.start is None else f"{flt.start}_{flt.end}"
        name = f"crm-{self.report_name}-{span}{'-excel' if excel else ''}.csv"
        target = (self.export_dir or Path.cwd()) / name
        try:
            text = export.report_csv(self.report.tables(), excel=excel)
            target.write_bytes(text.encode("utf-8"))
        except OSError as error:
            self.notify(
                self.crm.t("reports.cannot-write").format(path=target, error=error.strerror),
                title=self.crm.t("reports.export-failed"),
                severity="error",
            )
            return
        self.notify(self.crm.t("reports.saved").format(path=target), title=self.crm.t("reports.exported"))


def chart_data(
    report: Report, lang: str = "en", stage_name: Callable[[str], str] = str
) -> tuple[str, list[str], list[float], str]:
    """(title, bar labels, bar values, unit) of the report's chart; ``stage_name`` names a stage."""

    def say(key: str, **values: Any) -> str:
        return t(f"reports.chart.{key}", lang).format(**values)

    if isinstance(report, reports.FunnelReport):
        stages = [s for s in report.stages if s.kind != "lost"]
        return (
            say("funnel"),
            [f"{s.position + 1} {stage_name(s.name)}" for s in stages][::-1],
            [float(s.reached) for s in stages][::-1],
            say("deals"),
        )
    if isinstance(report, reports.SourcesReport):
        totals = [r for r in report.rows if r.term is None]
        return (
            say("sources"),
            [r.source or say("no-source") for r in totals],
            [float(r.leads) for r in totals],
            say("leads"),
        )
    if isinstance(report, reports.VelocityReport):
        return (
            say("velocity"),
            [f"{s.position + 1}" for s in report.stages],
            [s.median_days or 0.0 for s in report.stages],
            say("days"),
        )
    thousands = say("thousand", currency=getattr(report, "currency", "RUB"))
    if isinstance(report, reports.ForecastReport):
        return (
            say("forecast", unit=thousands),
            [value_text("month", m.label, lang) for m in report.by_month],
            [m.weighted / 100_000 for m in report.by_month],
            thousands,
        )
    if isinstance(report, reports.ManagersReport):
        return (
            say("managers", unit=thousands),
            [r.login or say("no-owner") for r in report.rows],
            [r.won_amount / 100_000 for r in report.rows],
            thousands,
        )
    top = report.rows[:10]
    return (
        say("pareto", unit=thousands),
        [c.name[:16] for c in top],
        [c.revenue / 100_000 for c in top],
        thousands,
    )


def summary(report: Report, lang: str = "en") -> str:
    """One line of headline figures under the table."""

    def say(key: str, **values: Any) -> str:
        return t(f"reports.summary.{key}", lang).format(**values)

    if isinstance(report, reports.FunnelReport):
        return say(
            "funnel",
            leads=report.leads,
            converted=report.converted,
            converted_pct=_p(report.converted_pct),
            won=report.won,
            won_of_leads=_p(report.won_of_leads_pct),
            won_of_contacts=_p(report.won_of_converted_pct),
        )
    if isinstance(report, reports.SourcesReport):
        leads = sum(r.leads for r in report.rows if r.term is None)
        won = sum(r.won_amount for r in report.rows if r.term is None)
        return say("sources", leads=leads, won=format_money(won, report.currency))
    if isinstance(report, reports.VelocityReport):
        return say("velocity", stuck=sum(s.stuck for s in report.stages))
    if isinstance(report, reports.ForecastReport):
        return say(
            "forecast",
            deals=report.deals,
            amount=format_money(report.amount, report.currency),
            weighted=format_money(report.weighted, report.currency),
        )
    if isinstance(report, reports.ManagersReport):
        within = sum(r.called_within_hour for r in report.rows)
        leads = sum(r.leads for r in report.rows)
        return say("managers", within=within, leads=leads, pct=_p(reports.pct(within, leads)))
    return say(
        "pareto",
        top=report.top_clients,
        clients=report.clients,
        share=_p(report.top_share_pct),
        revenue_pct=_p(report.top_revenue_pct),
        revenue=format_money(report.revenue, report.currency),
    )


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value}%"
