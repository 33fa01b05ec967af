"""``crm report NAME``: one set of figures as text, ``--json`` and ``--csv``; the period and owner filters."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_tui.cli import app
from crm_tui.data.db import database, open_database
from crm_tui.services import deals, interactions, leads, pipelines, users

runner = CliRunner()
NOW = datetime(2026, 3, 2, 9, 0)
DAY = timedelta(days=1)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two yandex leads (one converted, its deal of 1 500 ₽ won) and a google lead of anna's, in February."""
    path = str(tmp_path / "crm.db")
    opened = open_database(path)
    with opened.connection_context():
        users.ensure_default(NOW)
        pipelines.ensure_default()
        anna = users.create("anna", "Анна Петрова", "manager", now=NOW).id
        t = datetime(2026, 2, 10, 9, 0)
        a = leads.register(
            leads.NewLead("Иван", "+7 916 000-00-01", utm_source="yandex", utm_term="crm"), by=None, now=t
        ).id
        interactions.log("call_out", by=None, now=t, at=t + timedelta(minutes=20), lead_id=a, duration=60)
        leads.register(
            leads.NewLead("Ольга", "+7 916 000-00-02", utm_source="yandex", utm_term="crm"), by=None, now=t
        )
        leads.register(
            leads.NewLead("Maria", "+7 916 000-00-03", utm_source="google", owner_id=anna), by=None, now=t
        )
        deal = leads.convert(a, by=None, now=t + DAY, qualify_first=True).deal_id
        deals.update_amount(deal, 150_000, by=None, now=t + DAY)
        for _ in range(4):  # from Need discovery, where a converted lead's deal opens
            deals.step(deal, 1, by=None, now=t + 2 * DAY)
        deals.sign_acts(deal, by=None, now=t + 3 * DAY)
        deals.win(deal, by=None, now=t + 3 * DAY)
    opened.close()
    return path


def crm(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_funnel_as_text(db: str) -> None:
    code, out, _ = crm("report", "funnel", "--db", db, "--from", "2026-02-01", "--to", "2026-02-28")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "funnel: 2026-02-01 – 2026-02-28"
    assert any(line.split()[:2] == ["7", "Won"] and "1 500 ₽" in line for line in lines)
    chain = lines[lines.index("Lead → contact → won") :]
    assert chain[2].split() == ["leads", "3", "100.0"]
    assert chain[3].split() == ["contacts", "(converted)", "1", "33.3"]
    assert chain[4].split() == ["won", "deals", "1", "33.3"]


def test_sources_as_json_and_csv(db: str) -> None:
    code, out, _ = crm("report", "sources", "--db", db, "--json")
    assert code == 0
    rows = {(r["source"], r["term"]): r for r in json.loads(out)["rows"]}
    yandex = rows[("yandex", None)]
    assert (yandex["leads"], yandex["converted"], yandex["won"], yandex["won_amount"]) == (2, 1, 1, 150_000)
    assert (yandex["conversion_pct"], yandex["median_first_call_min"]) == (50.0, 20.0)

    code, out, _ = crm("report", "sources", "--db", db, "--csv")
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0][:4] == ["table", "source", "keyword", "leads"]
    assert "won amount (minor units)" in table[0]
    assert ["sources", "yandex", "crm", "2", "1", "1", "1", "150000", "50.0", "20.0"] in table


def test_owner_and_period_filters(db: str) -> None:
    code, out, _ = crm("report", "managers", "--db", db, "--owner", "anna", "--json")
    assert code == 0
    assert [(r["login"], r["leads"], r["called"]) for r in json.loads(out)["rows"]] == [("anna", 1, 0)]
    code, out, _ = crm("report", "funnel", "--db", db, "--from", "2026-03-01", "--json")
    assert code == 0
    assert json.loads(out)["leads"] == 0


@pytest.mark.parametrize("name", ["velocity", "forecast", "pareto"])
def test_every_report_answers(db: str, name: str) -> None:
    code, out, _ = crm("report", name, "--db", db, "--json")
    assert code == 0 and json.loads(out)["period"] == "all time"
    code, out, _ = crm("report", name, "--db", db)
    assert code == 0 and out.startswith(f"{name}: all time")


def test_pareto_numbers(db: str) -> None:
    code, out, _ = crm("report", "pareto", "--db", db, "--json")
    data = json.loads(out)
    assert (data["clients"], data["top_clients"], data["revenue"], data["top_share_pct"]) == (
        1,
        1,
        150_000,
        100.0,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-13-01"), "error: --from must be a date like 2026-03-01, not '2026-13-01'"),
        (
            ("--from", "2026-03-02", "--to", "2026-03-01"),
            "error: The period starts (2026-03-02) after it ends",
        ),
        (("--owner", "nobody"), "error: No user with login 'nobody'"),
        (("--pipeline", "Nope"), "error: No pipeline named 'Nope'"),
        (("--json", "--csv"), "error: choose one of --json and --csv"),
    ],
)
def test_bad_input_is_one_line_on_stderr(db: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = crm("report", "funnel", "--db", db, *args)
    assert code == 1 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert database.obj is not None
