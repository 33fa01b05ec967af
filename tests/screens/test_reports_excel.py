"""The reports screen's CSV in Russian: the dialect Russian Excel opens by a double click, money in
roubles; ``E`` saves it in any language."""

from __future__ import annotations

import csv
from pathlib import Path

from crm_tui.app import make_app
from tests.screens.test_reports_screen import NOW, db_url, open_reports, settle, steady  # noqa: F401


def saved(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


def read_head(path: Path) -> bytes:
    return path.read_bytes()[:3]


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))


async def test_in_russian_e_saves_a_csv_excel_opens_right(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    app = make_app(db_url, clock=lambda: NOW, lang="ru")
    async with app.run_test(size=(140, 50), notifications=True) as pilot:
        screen = await open_reports(app, pilot)
        screen.export_dir = tmp_path
        await pilot.press("p")  # 80/20: the won deal's 2 000 ₽
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        (path,) = saved(tmp_path, "crm-pareto-*-excel.csv")
        rows = read(path)
        header = next(r for r in rows if r[0] == "table")
        money = [i for i, name in enumerate(header) if name.endswith("(₽)")]
        assert money, header
        values = [r[i] for r in rows if r[0] != "table" for i in money]
        assert "2000,00" in values  # roubles with a decimal comma, not 200000 kopecks
        assert any(f"Сохранено: {path}" in str(n.message) for n in app._notifications)


async def test_shift_e_saves_the_excel_dialect_in_english_too(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    app = make_app(db_url, clock=lambda: NOW)
    async with app.run_test(size=(140, 50), notifications=True) as pilot:
        screen = await open_reports(app, pilot)
        screen.export_dir = tmp_path
        await pilot.press("E")
        await pilot.pause()
        (path,) = saved(tmp_path, "crm-funnel-*-excel.csv")
        assert read(path)[0][0] == "table"
        await pilot.press("e")
        await pilot.pause()
        plain = [p for p in saved(tmp_path, "crm-funnel-*.csv") if not p.name.endswith("-excel.csv")]
        assert plain and not read_head(plain[0]).startswith(b"\xef\xbb\xbf")
