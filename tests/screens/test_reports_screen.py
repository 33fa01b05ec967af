"""The Reports screen (mode 5): switch report and period with keys, sort a table, export CSV."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static
from textual_plotext import PlotextPlot

from crm_tui.app import CrmApp, make_app
from crm_tui.data.db import database, open_database
from crm_tui.screens.reports import ReportsScreen
from crm_tui.services import deals, interactions, leads, pipelines, reports, users

NOW = datetime(2026, 3, 2, 9, 0)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)
    monkeypatch.setenv("TEXTUAL_ANIMATION", "none")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Yandex: 3 leads this week (one won, 2 000 ₽); google: 1 lead this week and 1 lead 60 days ago."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    opened = open_database(url)
    with opened.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
        t = NOW - 2 * DAY
        ids = [
            leads.register(
                leads.NewLead(f"Клиент {i}", f"+7 916 000-00-{i:02d}", utm_source=src), by=None, now=t
            ).id
            for i, src in enumerate(["yandex", "yandex", "yandex", "google"], start=1)
        ]
        leads.register(
            leads.NewLead("Старый", "+7 916 000-00-99", utm_source="google"), by=None, now=NOW - 60 * DAY
        )
        interactions.log(
            "call_out", by=None, now=t, at=t + timedelta(minutes=15), lead_id=ids[0], duration=60
        )
        deal = leads.convert(ids[0], by=None, now=t, qualify_first=True).deal_id
        deals.update_amount(deal, 200_000, by=None, now=t)
        for _ in range(4):  # from Need discovery, where a converted lead's deal opens
            deals.step(deal, 1, by=None, now=t + DAY)
        deals.sign_acts(deal, by=None, now=t + DAY)
        deals.win(deal, by=None, now=t + DAY)
    opened.close()
    return url


def app_for(db_url: str) -> CrmApp:
    return make_app(db_url, clock=lambda: NOW)


async def open_reports(app: CrmApp, pilot) -> ReportsScreen:  # type: ignore[no-untyped-def]
    if "reports" in app.MODES:
        await pilot.press("5")
    else:
        await app.push_screen(ReportsScreen(export_dir=None))
    await settle(app, pilot)
    assert isinstance(app.screen, ReportsScreen)
    return app.screen


async def settle(app: CrmApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def bar(screen: ReportsScreen) -> str:
    return str(screen.query_one("#report-bar", Static).render())


def summary(screen: ReportsScreen) -> str:
    return str(screen.query_one("#report-summary", Static).render())


def grid(screen: ReportsScreen) -> list[list[str]]:
    table = screen.query_one("#report-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def headers(screen: ReportsScreen) -> list[str]:
    table = screen.query_one("#report-table", DataTable)
    return [str(c.label) for c in table.columns.values()]


async def test_funnel_first_with_its_chart(db_url: str) -> None:
    app = app_for(db_url)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_reports(app, pilot)
        assert bar(screen) == "Funnel · last 30 days (2026-02-01 – 2026-03-02)"
        rows = grid(screen)
        assert rows[0][:4] == ["1", "Lead registered", "open", "0"]
        assert rows[6][:5] == ["7", "Won", "won", "1", "2 000 ₽"]
        assert summary(screen) == "Leads 4 → contacts 1 (25.0%) → won 1 (25.0% of leads, 100.0% of contacts)"
        chart = screen.query_one("#report-chart", PlotextPlot)
        assert "Funnel: deals that reached each stage" in chart.render().plain  # type: ignore[union-attr]


async def test_sources_sorted_by_any_column_and_period_keys(db_url: str) -> None:
    app = app_for(db_url)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_reports(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert bar(screen).startswith("Sources · last 30 days")
        assert [r[:3] for r in grid(screen)] == [
            ["google", "(all)", "1"],
            ["google", "", "1"],
            ["yandex", "(all)", "3"],
            ["yandex", "", "3"],
        ]
        await pilot.press("c", "c", "c")  # sort by the third column: leads, ascending
        assert headers(screen)[2] == "leads ▲"
        await pilot.press("r")
        assert headers(screen)[2] == "leads ▼"
        assert [r[2] for r in grid(screen)] == ["3", "3", "1", "1"]
        assert grid(screen)[0][8] == "15.0"  # median first call of yandex, minutes

        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await settle(app, pilot)
        assert bar(screen) == "Sources · all time"
        assert [r[:3] for r in grid(screen)][:1] == [["google", "(all)", "2"]]
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert bar(screen).startswith("Sources · last 365 days")


async def test_switching_reports_and_exporting_csv(db_url: str, tmp_path: Path) -> None:
    app = app_for(db_url)
    async with app.run_test(size=(140, 50), notifications=True) as pilot:
        screen = await open_reports(app, pilot)
        screen.export_dir = tmp_path
        for key, title in (("v", "Velocity"), ("o", "Forecast"), ("m", "Managers"), ("p", "80/20")):
            await pilot.press(key)
            await settle(app, pilot)
            assert bar(screen).startswith(f"{title} · last 30 days")
        assert summary(screen) == "1 of 1 clients (100.0%) bring 100.0% of 2 000 ₽"
        await pilot.press("t")
        assert grid(screen)[0][2] == "Клиент 1"
        await pilot.press("e")
        await pilot.pause()
        saved = tmp_path / "crm-pareto-2026-02-01_2026-03-02.csv"
        assert saved.read_text(encoding="utf-8").splitlines()[0].startswith("table,clients,top clients")
        assert any(f"Saved {saved}" in str(n.message) for n in app._notifications)
    assert database.obj is not None


async def test_keys_answer_while_a_report_computes(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real_run = reports.run

    def held_run(*args: Any, **kwargs: Any) -> Any:
        gate.wait(timeout=30)
        return real_run(*args, **kwargs)

    app = app_for(db_url)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_reports(app, pilot)
        monkeypatch.setattr(reports, "run", held_run)
        await pilot.press("s")
        await pilot.pause()
        assert screen.query_one("#report-body").loading  # the loading indicator shows
        assert bar(screen) == "Sources · last 30 days (2026-02-01 – 2026-03-02)  computing…"
        await pilot.press("right_square_bracket")  # still answering keys: a longer period
        await pilot.pause()
        assert bar(screen).startswith("Sources · last 90 days")
        gate.set()
        await settle(app, pilot)
        assert not screen.query_one("#report-body").loading
        assert bar(screen) == "Sources · last 90 days (2025-12-03 – 2026-03-02)"
        assert grid(screen)[0][:3] == ["google", "(all)", "2"]


async def test_the_same_key_again_shows_fresh_figures(db_url: str) -> None:
    app = app_for(db_url)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_reports(app, pilot)
        assert summary(screen).startswith("Leads 4 →")
        await app.run_db(leads.register, leads.NewLead("Новый", "+7 916 000-00-50"), by=None, now=NOW)
        await pilot.press("f")
        await settle(app, pilot)
        assert summary(screen).startswith("Leads 5 →")
