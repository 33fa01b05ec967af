"""``crm demo`` from the shell: a demo desk with the counts printed, JSON on request."""

from __future__ import annotations

from pathlib import Path

from crm_tui.data.db import database, open_database
from crm_tui.data.models import Deal, Lead, Task
from tests.cli.conftest import Crm


def lead_count(db_path: Path) -> int:
    db = open_database(str(db_path))
    with db.connection_context():
        return Lead.select().count()


def test_demo_prints_the_counts(crm: Crm, db_path: Path) -> None:
    run = crm("demo", "--leads", "150")
    assert run.code == 0, run.err
    assert "150  leads" in run.out and "deals" in run.out and "Demo desk ready" in run.out
    assert lead_count(db_path) == 150


def test_demo_json_matches_the_database(crm: Crm, db_path: Path) -> None:
    data = crm("demo", "--leads", "300", "--seed", "11", "--json").json()
    assert data["seed"] == 11 and data["leads"] == 300
    open_database(str(db_path))
    with database.connection_context():
        assert Deal.select().count() == data["deals"] > 0
        assert Task.select().count() == data["tasks"]
    # the desk it made is usable at once from the other commands
    listed = crm("lead", "list", "--json").json()
    assert listed and listed[0]["id"] == 300


def test_demo_defaults_to_300_leads_and_appends(crm: Crm, db_path: Path) -> None:
    assert crm("demo").code == 0
    second = crm("demo", "--leads", "20", "--json").json()
    assert second["users"] == 0 and second["products"] == 0
    assert lead_count(db_path) == 320


def test_demo_refuses_a_negative_count(crm: Crm, db_path: Path) -> None:
    run = crm("demo", "--leads", "-5")
    assert run.code != 0
    assert "-5" in run.err or "leads" in run.err
